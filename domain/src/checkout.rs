//! Checkout: the plan a checkout commits to once the cart is priced, and
//! the recovery points of the saga that carries it out (hold every line,
//! redeem the coupons, take the payment, sell the units, record the
//! order). Each step is idempotent by ids derived from the order id, so a
//! retry with the same idempotency key, or the cart's alarm after a crash,
//! continues from the last recovery point: a payment is never taken twice,
//! and never left without an order or a refund.
//!
//! What this module must not do: talk to stock objects, stores or payment
//! providers, read a clock, or know about HTTP (responses are stored as an
//! opaque status and body by [`crate::idempotency`]).

use crate::idempotency::IdempotencyRecord;
use crate::order::Order;
use crate::store::PaymentSettings;
use serde::{Deserialize, Serialize};

/// Everything needed to finish a checkout without pricing it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutPlan {
    /// The order as it will be recorded (status pending payment; its
    /// payment reference is filled in once paid).
    pub order: Order,
    /// The secret the shopper reads the order with.
    pub order_token: String,
    /// The store's provider when the checkout began.
    pub payment: PaymentSettings,
    /// The card token the shopper's frontend obtained from the provider.
    pub payment_token: String,
    /// How long the holds taken for the checkout last.
    pub hold_ttl_ms: i64,
}

/// How far a checkout got: its recovery point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Priced and planned; nothing taken yet.
    Planned,
    /// Every line held for the checkout.
    Held,
    /// Coupons redeemed.
    Redeemed,
    /// The payment was asked for: its outcome may be unknown.
    Charging,
    /// Paid: the units must now be sold and the order recorded.
    Paid { reference: String },
    /// Nothing is owed any more (the response is stored).
    Finished,
    /// Charged but could not be fulfilled (stock gone): refund owed, and
    /// the lines that were sold meanwhile (`sold`: their SKUs) go back.
    Refunding {
        reference: String,
        #[serde(default)]
        sold: Vec<String>,
    },
    /// The provider did not answer the charge: the shopper was told it
    /// failed, so the same (idempotent) charge is asked again later and a
    /// payment it turns out to have taken is refunded.
    Verifying,
}

/// One checkout of a cart, by idempotency key, as the cart object keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkout {
    pub record: IdempotencyRecord,
    /// The attempt running it (a resumed checkout gets a new one).
    pub attempt: String,
    /// Absent until the cart was priced and the total confirmed.
    #[serde(default)]
    pub plan: Option<CheckoutPlan>,
    pub step: Step,
}

impl Step {
    /// Whether a crash at this point needs the saga to be resumed (a
    /// payment may have been taken) rather than just compensated.
    pub fn payment_may_exist(&self) -> bool {
        matches!(
            self,
            Step::Charging | Step::Paid { .. } | Step::Refunding { .. } | Step::Verifying
        )
    }
}

/// The operation id of a stock step of `order` on `sku` (`hold`, `commit`,
/// `release`): stable across retries, distinct between steps.
pub fn stock_op_id(order: &str, step: &str, sku: &str) -> String {
    format!("{order}:{step}:{sku}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_ids_are_stable_and_distinct() {
        assert_eq!(stock_op_id("ord_1", "hold", "A"), "ord_1:hold:A");
        assert_ne!(
            stock_op_id("ord_1", "hold", "A"),
            stock_op_id("ord_1", "commit", "A")
        );
        assert!(Step::Charging.payment_may_exist());
        assert!(!Step::Held.payment_may_exist());
        let json = serde_json::to_string(&Step::Paid {
            reference: "pi_1".into(),
        })
        .unwrap();
        assert_eq!(json, r#"{"step":"paid","reference":"pi_1"}"#);
    }
}
