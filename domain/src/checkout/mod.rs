//! Checkout: how a cart becomes a paid order, as pure rules.
//!
//! - [`plan`](fn@plan) ([`mod@plan`]): whether a checkout may start and what it
//!   commits to. The body's fields, the cart, the live prices and the
//!   store's state (configuration, promotions with redemption counts) in;
//!   the [`CheckoutPlan`] (the order to record, priced by
//!   [`crate::pricing::quote_cart`] and equal to the `expected_total` the
//!   shopper saw) or a [`Refusal`] out.
//! - [`saga`]: how a plan is carried out (hold every line, redeem the
//!   coupons, take the payment, sell the units, record the order), as a
//!   transition table `(Step, Outcome) → (Step, Effects)` that the cart's
//!   object interprets, with the recovery points it writes and what is
//!   given back when a step fails.
//! - [`Checkout`]: one checkout as the cart's object stores it under its
//!   idempotency key, and its [`Answer`], replayed to every retry.
//!
//! Each step of the saga is idempotent by ids derived from the order id
//! (stock operation ids, the store's redemption per order, the provider's
//! idempotency key, the order object's first record), so a retry with the
//! same idempotency key, or the cart's alarm after a crash, continues from
//! the last recovery point: a payment is never taken twice, and never left
//! without an order or a refund.
//!
//! What this module must not do: talk to stock objects, stores or payment
//! providers, read a clock or a random source (ids and `now_ms` are passed
//! in), or know about HTTP (a [`Refusal`] is mapped to its status and
//! problem by the Worker, in one place).

pub mod plan;
pub mod saga;

pub use plan::{plan, CheckoutInput, ExpectedTotal, PaymentInput, PlanInput};
pub use saga::{transition, Effect, Outcome, Step};

use crate::idempotency::IdempotencyRecord;
use crate::money::Currency;
use crate::order::{IllegalTransition, Order, OrderEvent, Payment};
use crate::pricing::{PricingError, Quote};
use crate::store::{PaymentSettings, RedemptionRefused};
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
    /// The SKUs of the lines whose hold, taken by the cart, still had at
    /// least half the hold TTL to run when the checkout was planned: the
    /// saga does not take them again (their commits find the cart's hold,
    /// or are refused and the payment refunded). Records of earlier
    /// versions have none: every line is held.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_by_cart: Vec<String>,
    /// The member's ledger and the programme, when a signed-in member
    /// checks out (what points pay and earn is the order's `points`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<PointsPlan>,
}

/// Where a checkout's points are kept, and by what programme they earn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointsPlan {
    /// The member's ledger object (`member::ledger_name`).
    pub ledger: String,
    pub programme: crate::points::Programme,
}

impl CheckoutPlan {
    /// Whether the order redeems promotions (coupons or automatic ones
    /// with usage limits): only then does the saga talk to the store.
    pub fn redeems(&self) -> bool {
        !self.order.promotions.is_empty()
    }

    /// The points the order spends (0: none; only then does the saga
    /// talk to the member's ledger).
    pub fn points_spent(&self) -> i64 {
        self.order.points.as_ref().map_or(0, |p| p.spent)
    }

    /// How long the shopper has to authenticate a payment (3-D Secure) from
    /// when the provider asked: two fifths of the hold TTL. Every hold of
    /// the checkout lasts at least half the TTL from the plan (those with
    /// less were taken again), so the holds outlive the deadline by a tenth
    /// of the TTL, more than the charge takes to answer.
    pub fn action_window_ms(&self) -> i64 {
        self.hold_ttl_ms * 2 / 5
    }

    /// What the card is charged (0: the points pay it all, or there is
    /// nothing to pay, and no provider is asked).
    pub fn card_amount(&self) -> i64 {
        self.order.card_amount()
    }

    /// The lines the saga's `HoldLines` takes holds for: those whose
    /// cart's hold might lapse before the checkout ends (none: every line
    /// is already held, and holding costs no round trip).
    pub fn lines_to_hold(&self) -> impl Iterator<Item = &crate::order::OrderLine> {
        self.order
            .lines
            .iter()
            .filter(|l| !self.held_by_cart.contains(&l.sku))
    }

    /// The order as recorded once paid by `reference` at `now_ms`.
    pub fn paid_order(&self, reference: &str, now_ms: i64) -> Result<Order, IllegalTransition> {
        let mut order = self.order.clone();
        let provider = if self.card_amount() > 0 {
            self.payment.provider_name()
        } else {
            plan::unpaid_provider(&self.order)
        };
        order.payment = Payment {
            provider: provider.into(),
            reference: reference.to_string(),
        };
        order.apply(OrderEvent::PaymentCaptured, now_ms)?;
        Ok(order)
    }
}

/// A field of the checkout body that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvalidField {
    /// JSON path of the field (`email`, `shipping_address.country`).
    pub field: String,
    /// Stable machine code (`invalid_email`, `required`, …).
    pub code: String,
    pub message: String,
}

/// A line checkout could not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "OutOfStockLine", extend("examples" = [{"sku": "KTL-1-STEEL", "requested": 2, "available": 1}])))]
#[serde(deny_unknown_fields)]
pub struct ShortLine {
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::Sku"))]
    pub sku: String,
    /// The line's quantity in the cart.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 99), extend("examples" = [2])))]
    pub requested: i64,
    /// The most units of `sku` this cart could hold now: what anyone could
    /// still add plus what this cart already holds.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64"), extend("examples" = [1])))]
    pub available: i64,
}

/// Why a checkout placed no order. Stored under the idempotency key and
/// replayed; the Worker maps each one to its problem (status, code) in one
/// place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case", deny_unknown_fields)]
pub enum Refusal {
    // Decided by the plan, before anything is taken.
    /// The body breaks rules: every problem, each naming its field.
    Invalid { errors: Vec<InvalidField> },
    /// The cart has no lines.
    CartEmpty,
    /// The SKU of a line has no price in the cart's currency in the live
    /// catalog (or is not in it any more).
    NotSoldInCurrency { sku: String, currency: Currency },
    /// The store has no shipping method with the chosen id.
    UnknownShippingMethod,
    /// The cart cannot be priced for this address and method.
    Unpriced { error: PricingError },
    /// The total is not the `expected_total` the shopper confirmed (prices,
    /// promotions or shipping changed): nothing was taken. The new quote.
    TotalChanged { quote: Box<Quote> },
    /// A points payment without a signed-in member.
    MemberRequired,
    // Met by the saga.
    /// Some lines could not be held in the cart's quantity; nothing was
    /// charged.
    OutOfStock { lines: Vec<ShortLine> },
    /// A promotion of the order reached a usage limit or ended (`refused`),
    /// or no longer exists (`None`); nothing was charged.
    CouponUnavailable { refused: Option<RedemptionRefused> },
    /// The member has fewer spendable points than the payment names
    /// (`available`); nothing was held or charged.
    InsufficientPoints { available: i64 },
    /// The provider declined the payment (`code`: its decline code);
    /// nothing was charged.
    PaymentDeclined { code: String, message: String },
    /// The provider did not answer; a payment it turns out to have taken is
    /// refunded.
    PaymentUnavailable,
    /// Not final (never stored): the shopper must authenticate the payment
    /// (`action`) before `expires_at_ms`, then confirm the checkout again
    /// with the same key; the holds stay until then.
    PaymentActionRequired {
        action: crate::payments::PaymentAction,
        expires_at_ms: i64,
    },
    /// Not final (never stored): the provider has not decided the payment
    /// yet; the same key answers the outcome once it has.
    PaymentProcessing,
    /// Paid, but the units could not be sold (their holds lapsed meanwhile):
    /// the payment was refunded.
    RefundedOutOfStock,
}

/// How a checkout ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Answer {
    /// The order, as the order object recorded it, and the secret the
    /// shopper reads it with.
    Placed {
        order: Box<Order>,
        order_token: String,
    },
    Refused {
        refusal: Refusal,
    },
}

/// A checkout's answer as stored under its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StoredAnswer {
    Typed {
        answer: Answer,
    },
    /// Written by an earlier version (an HTTP status and body): replayed
    /// as it is.
    Legacy {
        status: u16,
        body: String,
    },
}

/// One checkout of a cart, by idempotency key, as the cart object keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkout {
    pub record: IdempotencyRecord<StoredAnswer>,
    /// The attempt running it (a resumed checkout gets a new one).
    pub attempt: String,
    /// Absent until the cart was priced and the total confirmed.
    #[serde(default)]
    pub plan: Option<CheckoutPlan>,
    /// The last recovery point (in memory: how far the running attempt got).
    pub step: Step,
    /// When the card's payment was first asked for (the recovery point
    /// `charging` written): how long the provider still keeps the create's
    /// idempotency key, and how long the checkout has waited to settle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_asked_ms: Option<i64>,
    /// When the checkout was reported stuck (listed for the operator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stuck_since_ms: Option<i64>,
}

/// The operation id of a stock step of `order` on `sku` (`hold`, `commit`,
/// `release`, `restock`): stable across retries, distinct between steps.
pub fn stock_op_id(order: &str, step: &str, sku: &str) -> String {
    format!("{order}:{step}:{sku}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idempotency::IdempotencyState;

    #[test]
    fn op_ids_are_stable_and_distinct() {
        assert_eq!(stock_op_id("ord_1", "hold", "A"), "ord_1:hold:A");
        assert_ne!(
            stock_op_id("ord_1", "hold", "A"),
            stock_op_id("ord_1", "commit", "A")
        );
    }

    /// A record the previous version wrote: a plan resumed at `paid`, and a
    /// finished one whose answer is an HTTP status and body.
    const LEGACY_OPEN: &str = r#"{"record":{"key":"k1","fingerprint":"f","state":{"state":"in_progress","started_at_ms":5},"created_at_ms":5},"attempt":"a1","plan":null,"step":{"step":"paid","reference":"pi_1"}}"#;
    const LEGACY_DONE: &str = r#"{"record":{"key":"k2","fingerprint":"f","state":{"state":"completed","status":402,"body":"{\"code\":\"payment_declined\"}","completed_at_ms":9},"created_at_ms":5},"attempt":"a1","plan":null,"step":{"step":"finished"}}"#;

    #[test]
    fn records_of_the_previous_version_stay_readable() {
        let open: Checkout = serde_json::from_str(LEGACY_OPEN).unwrap();
        assert_eq!(
            open.step,
            Step::Paid {
                reference: "pi_1".into()
            }
        );
        assert!(open.record.response().is_none());
        let done: Checkout = serde_json::from_str(LEGACY_DONE).unwrap();
        assert_eq!(
            done.record.response(),
            Some(&StoredAnswer::Legacy {
                status: 402,
                body: r#"{"code":"payment_declined"}"#.into()
            })
        );
        // Written again, it keeps its shape.
        assert_eq!(serde_json::to_string(&done).unwrap(), LEGACY_DONE);
        let refunding = r#"{"step":"refunding","reference":"pi_1"}"#;
        assert_eq!(
            serde_json::from_str::<Step>(refunding).unwrap(),
            Step::Refunding {
                reference: "pi_1".into(),
                sold: vec![]
            }
        );
    }

    #[test]
    fn typed_answers_round_trip_under_the_record() {
        let answer = StoredAnswer::Typed {
            answer: Answer::Refused {
                refusal: Refusal::OutOfStock {
                    lines: vec![ShortLine {
                        sku: "A".into(),
                        requested: 3,
                        available: 1,
                    }],
                },
            },
        };
        let record = IdempotencyRecord::in_progress("k", "f", 1).completed(answer.clone(), 2);
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(
            json,
            r#"{"key":"k","fingerprint":"f","state":{"state":"completed","answer":{"kind":"refused","refusal":{"refusal":"out_of_stock","lines":[{"sku":"A","requested":3,"available":1}]}},"completed_at_ms":2},"created_at_ms":1}"#
        );
        let back: IdempotencyRecord<StoredAnswer> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, record);
        assert!(matches!(
            back.state,
            IdempotencyState::Completed {
                completed_at_ms: 2,
                ..
            }
        ));
    }
}
