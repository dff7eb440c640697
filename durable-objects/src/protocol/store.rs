//! The store objects: one per store (named by the store's id), its
//! configuration, promotions, coupon redemptions, order index and audit
//! trail.

pub use super::audit::{Actor, AuditEntry, AuditPage, AuditRecord, PendingEntry};
use super::{bind, Protocol};
use edgecart_domain::money::Currency;
use edgecart_domain::order::OrderStatus;
use edgecart_domain::promotion::Promotion;
pub use edgecart_domain::store::{PromotionState, StoreState};
use edgecart_domain::store::{RedemptionRefused, StoreConfig};
use serde::{Deserialize, Serialize};

pub use edgecart_domain::stores::DEFAULT_STORE;

/// A command to a store object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum StoreCommand {
    Get(Get),
    PutConfig(PutConfig),
    PutPromotion(PutPromotion),
    DeletePromotion(DeletePromotion),
    Redeem(Redeem),
    Release(Release),
    IndexOrders(IndexOrders),
    ListOrders(ListOrders),
    RecordAudit(RecordAudit),
    Audit(Audit),
    ListStuck(ListStuck),
    UnlistStuck(UnlistStuck),
    StuckCheckouts(StuckCheckouts),
}

impl Protocol for StoreCommand {
    const BINDING: &'static str = "STORE";
    type Refusal = StoreRefusal;
}

bind!(StoreCommand {
    Get => StoreState,
    PutConfig => StoreState,
    PutPromotion => PromotionSaved,
    DeletePromotion => Deleted,
    Redeem => Redeemed,
    Release => Released,
    IndexOrders => Indexed,
    ListOrders => OrderPage,
    RecordAudit => Recorded,
    Audit => AuditPage,
    ListStuck => Recorded,
    UnlistStuck => Recorded,
    StuckCheckouts => StuckPage,
});

/// Configuration and promotions, with redemption counts (and those of
/// `customer` when given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Get {
    pub customer: Option<String>,
}

/// Replaces the configuration; answers the state after. A change is
/// recorded in the store's audit trail, by `actor`, in the same commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutConfig {
    pub actor: Actor,
    pub config: StoreConfig,
}

/// Creates or replaces a promotion (by id); a change is audited as for
/// [`PutConfig`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutPromotion {
    pub actor: Actor,
    pub promotion: Promotion,
}

/// Deletes a promotion; audited as for [`PutConfig`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletePromotion {
    pub actor: Actor,
    pub id: String,
}

/// Redeems promotions for an order, all or none, within their limits;
/// idempotent per order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redeem {
    pub order: String,
    pub customer: String,
    pub promotions: Vec<String>,
}

/// Gives back an order's redemptions (idempotent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub order: String,
}

/// Records (or updates) orders in the store's order index: each entry
/// replaces the order's row unless that row came from a later version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexOrders {
    pub orders: Vec<IndexedOrder>,
}

/// An order as the index keeps it, and which version of the order it
/// comes from (the length of its history, which only grows): entries may
/// arrive out of order, and an older one never replaces a newer one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedOrder {
    pub summary: OrderSummary,
    pub version: u32,
}

impl IndexedOrder {
    /// `order`'s entry, as it is now.
    pub fn of(order: &edgecart_domain::order::Order) -> Self {
        IndexedOrder {
            summary: OrderSummary {
                id: order.id.clone(),
                status: order.status,
                created_at_ms: order.created_at_ms,
                email: order.email.clone(),
                currency: order.currency,
                grand_total: order.totals.grand_total,
            },
            version: u32::try_from(order.history.len()).unwrap_or(u32::MAX),
        }
    }
}

/// Orders by creation time, newest first: with `status`, created in
/// [`from_ms`, `to_ms`), before the cursor (created_at_ms, id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOrders {
    pub status: Option<OrderStatus>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub before: Option<(i64, String)>,
    pub limit: u32,
}

/// Records entries other objects made for the store's audit trail (an
/// order's status change, the store's profile written); an entry whose
/// key the trail has already recorded is skipped, so a delivery may be
/// repeated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordAudit {
    pub entries: Vec<PendingEntry>,
}

/// The store's audit entries after `after` (a sequence number), oldest
/// first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    pub after: u64,
    pub limit: u32,
}

/// Lists a checkout that cannot settle (it waited for the payment
/// provider longer than the operator allows) in the store's stuck list;
/// idempotent per order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListStuck {
    pub entry: StuckCheckout,
}

/// Takes a checkout that settled off the stuck list (idempotent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlistStuck {
    pub order: String,
}

/// The stuck list, longest stuck first, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StuckCheckouts {
    pub limit: u32,
}

/// A checkout that cannot settle: the cart's object keeps it open and
/// retries it; an operator looks at the provider. Also the stored row of
/// the list: its shape is a storage format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StuckCheckout {
    /// The order the checkout would place (or placed and must refund).
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::OrderId")
    )]
    pub order: String,
    /// The cart whose object runs it.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["crt_5f0c3a9b1e2d4c6a8b7f9e01"])))]
    pub cart: String,
    /// Where it waits: `verifying` (a charge the provider did not answer,
    /// to be refunded if it was taken), `refunding` (a refund the provider
    /// refuses or does not answer), `awaiting_payment` (a payment the
    /// provider still processes).
    #[cfg_attr(feature = "openapi", schemars(extend("enum" = ["charging", "paid", "verifying", "refunding", "awaiting_payment"])))]
    pub step: String,
    /// The provider's payment id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 255), extend("examples" = ["pi_3Nabc"])))]
    pub reference: Option<String>,
    pub currency: Currency,
    /// What the card pays, in minor units of `currency`.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("examples" = [5325])))]
    pub card_amount: i64,
    /// When the payment was first asked for, in milliseconds since the
    /// Unix epoch.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = [1795262400000_i64])))]
    pub since_ms: i64,
    /// When it was listed.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = [1795266000000_i64])))]
    pub listed_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StuckPage {
    pub checkouts: Vec<StuckCheckout>,
}

/// One order in the store's index (for the admin listing, which adds
/// `created_at`). Also the stored row of the index (`orders.json`): its
/// shape is a storage format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct OrderSummary {
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::OrderId")
    )]
    pub id: String,
    pub status: OrderStatus,
    /// The order's `created_at_ms`: when checkout priced the cart, in
    /// milliseconds since the Unix epoch.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = [1795262400000_i64])))]
    pub created_at_ms: i64,
    /// The shopper's email address.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["ada@example.com"])))]
    pub email: String,
    pub currency: Currency,
    /// What was charged, in minor units of `currency`.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("examples" = [5325])))]
    pub grand_total: i64,
}

/// What [`PutPromotion`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromotionSaved {
    Created,
    Replaced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redeemed {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indexed {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPage {
    pub orders: Vec<OrderSummary>,
}

/// Why a store refused a command. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum StoreRefusal {
    /// No promotion has the id (to delete, or to redeem).
    UnknownPromotion,
    /// Another promotion (`by`) already uses this coupon code.
    CodeTaken { code: String, by: String },
    /// A promotion cannot be redeemed for the order (nothing was).
    RedemptionRefused { refused: RedemptionRefused },
}
