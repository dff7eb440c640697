//! The store objects: one per store (named by the store's id), its
//! configuration, promotions, coupon redemptions and order index.

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
    IndexOrder(IndexOrder),
    ListOrders(ListOrders),
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
    IndexOrder => Indexed,
    ListOrders => OrderPage,
});

/// Configuration and promotions, with redemption counts (and those of
/// `customer` when given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Get {
    pub customer: Option<String>,
}

/// Replaces the configuration; answers the state after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutConfig {
    pub config: StoreConfig,
}

/// Creates or replaces a promotion (by id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutPromotion {
    pub promotion: Promotion,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletePromotion {
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

/// Records (or updates) an order in the store's order index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexOrder {
    pub summary: OrderSummary,
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
