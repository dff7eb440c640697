//! The cart objects: one per cart (named by its id), its lines, coupons,
//! token, and the checkouts it runs. Every command but [`Create`] carries
//! the cart's secret token; a wrong one is refused as if the cart did not
//! exist.

use super::{bind, Protocol};
use crate::protocol::stock::StockLevels;
use edgecart_domain::abuse::StrikePolicy;
use edgecart_domain::cart::{Cart, CartError};
use edgecart_domain::checkout::{CheckoutPlan, Refusal as CheckoutRefusal, StoredAnswer};
use edgecart_domain::money::Currency;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A command to one cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum CartCommand {
    Create(Create),
    Get(Get),
    ChangeLine(ChangeLine),
    Coupon(Coupon),
    CheckoutBegin(CheckoutBegin),
    CheckoutFinish(CheckoutFinish),
    CheckoutRun(CheckoutRun),
    PaymentChanged(PaymentChanged),
}

impl Protocol for CartCommand {
    const BINDING: &'static str = "CART";
    type Refusal = CartRefusal;
}

bind!(CartCommand {
    Create => Cart,
    Get => Cart,
    ChangeLine => LineChanged,
    Coupon => Cart,
    CheckoutBegin => CheckoutBeginReply,
    CheckoutFinish => CheckoutReply,
    CheckoutRun => CheckoutReply,
    PaymentChanged => Noted,
});

/// Creates cart `id` (the object's name) with its secret token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Create {
    pub id: String,
    pub token: String,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Get {
    pub token: String,
}

/// A change to one cart line, as the cart object receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "quantity", rename_all = "snake_case")]
pub enum LineChangeDto {
    Add(i64),
    Set(i64),
    Remove,
}

/// Changes a line and holds its units for `hold_ttl_ms`; other lines'
/// holds with less than half that TTL left are refreshed too (cart
/// activity, see `Cart::holds_to_refresh`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeLine {
    pub token: String,
    pub op_id: String,
    pub sku: String,
    pub change: LineChangeDto,
    /// The SKU's price list in the live catalog (`None`: not sold any more;
    /// lines may then only be lowered or removed).
    pub prices: Option<BTreeMap<Currency, i64>>,
    pub max_per_order: Option<i64>,
    pub hold_ttl_ms: i64,
    /// The store's hold policy and the client asking: the client's live
    /// holds of the SKU across its carts stay within the policy's units,
    /// and the cart's holds end by its lifetime (absent: no budget, no
    /// lifetime, as before there were any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holds: Option<HoldTerms>,
}

/// What a line change's holds answer to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldTerms {
    /// The client's key (`edgecart_domain::abuse::client_key`).
    pub holder: String,
    pub per_client: i64,
    pub lifetime_ms: i64,
}

/// Adds a coupon code (`add`), or removes one (`remove`) or all (neither).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coupon {
    pub token: String,
    pub add: Option<String>,
    pub remove: Option<String>,
}

/// Opens checkout `key` (idempotency) for the request `fingerprint`, run
/// by `attempt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutBegin {
    pub token: String,
    pub key: String,
    pub fingerprint: String,
    pub attempt: String,
    pub lease_ms: i64,
    /// How many declined payments block the cart's checkouts: the cart
    /// counts its own (the client's and the card's are the Worker's).
    pub declines: StrikePolicy,
}

/// Ends checkout `key` with a refusal decided before any plan (the total
/// changed, the cart is empty…): stored and replayed. `None`: a passing
/// failure (the Worker could not read prices or the store), so the record
/// is dropped and a retry with the key starts over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutFinish {
    pub key: String,
    pub attempt: String,
    pub refusal: Option<CheckoutRefusal>,
}

/// Carries out checkout `key`: with `plan` the first time, without it to
/// resume the stored plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutRun {
    pub key: String,
    pub attempt: String,
    pub plan: Option<Box<CheckoutPlan>>,
}

/// The payment provider says the payment of `order` changed (a verified
/// webhook, event `event`): the open checkout of the order reads it now.
/// Needs no token (the Worker verified the provider's signature); changes
/// nothing but by the saga's own rules. An event id seen in the last 72
/// hours is not acted on again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentChanged {
    pub order: String,
    pub event: String,
}

/// The answer to [`PaymentChanged`]: whether an open checkout of the
/// order was carried on (or a running attempt carries it on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Noted {
    pub checkout: bool,
}

/// A line changed: the cart, and the levels of the SKUs whose holds the
/// change touched, right after (saves the Worker a read each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineChanged {
    pub cart: Cart,
    pub levels: Vec<(String, StockLevels)>,
}

/// The answer to [`CheckoutBegin`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckoutBeginReply {
    /// Price the cart and plan: the cart as it is now.
    Start { cart: Cart },
    /// A crashed attempt planned already: run the stored plan.
    Resume,
    /// Done before: answer this again.
    Replay { answer: StoredAnswer },
}

/// The answer to [`CheckoutRun`] and [`CheckoutFinish`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckoutReply {
    /// The checkout's answer (stored under the key, except a payment still
    /// being verified, which the alarm finishes).
    Answered { answer: StoredAnswer },
    /// The record was dropped (`CheckoutFinish` without a refusal, or a
    /// checkout given up before anything was taken).
    Dropped,
}

impl CheckoutReply {
    /// Whether the answer is a declined payment (what counts as a strike
    /// against the cart, the client and the card).
    pub fn is_declined(&self) -> bool {
        matches!(
            self,
            CheckoutReply::Answered {
                answer: StoredAnswer::Typed {
                    answer: edgecart_domain::checkout::Answer::Refused {
                        refusal: CheckoutRefusal::PaymentDeclined { .. }
                    }
                }
            }
        )
    }
}

/// Why a cart refused a command. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum CartRefusal {
    /// No such cart, or the token does not match.
    NotFound,
    /// [`Create`]: this object holds a cart already.
    Exists,
    /// The cart's rules refuse the line or coupon change.
    Line { error: CartError },
    /// The SKU is not in the live catalog (adding needs it).
    UnknownSku,
    /// The SKU has no price in the cart's currency.
    NotSoldInCurrency { currency: Currency },
    /// The SKU has only `available` units this cart could hold.
    OutOfStock { sku: String, available: i64 },
    /// The client's hold budget leaves this cart at most `available` units
    /// of the SKU.
    HoldLimit { sku: String, available: i64 },
    /// A checkout of this cart is running: lines and coupons are frozen.
    CheckoutInProgress,
    /// [`CheckoutBegin`]: the key was used for another request.
    KeyMismatch,
    /// Another attempt with this key runs the checkout.
    KeyInProgress,
    /// [`CheckoutBegin`]: another checkout (another key) of this cart runs.
    CartBusy,
    /// [`CheckoutBegin`]: the cart's checkouts were declined too often;
    /// a new one may begin in `retry_after_secs`.
    TooManyDeclines { retry_after_secs: u64 },
}
