//! The saga's table, pair by pair; its I/O budget, counted; and a crash at
//! every point of every path, recovered by the alarm against a simulated
//! shop (stock, store, provider, orders) that holds the product's promises.

use super::*;
use crate::checkout::stock_op_id;
use crate::money::Currency;
use crate::order::{OrderDetails, Payment, ShippingAddress};
use crate::pricing::{quote_cart, PricingInput, PricingLine, PromotionCandidate};
use crate::promotion::{Discount, Promotion, PromotionRefusal, Target, PROMOTION_SCHEMA};
use crate::store::PaymentSettings;
use crate::tax::TaxConfig;
use std::collections::{BTreeMap, BTreeSet};

const SKUS: [&str; 3] = ["A", "B", "C"];

/// How a plan pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pay {
    /// By card only.
    Card,
    /// Points for part, the card for the rest.
    Mixed,
    /// Points for all: no provider.
    Points,
}

/// A plan for three lines (A, B, C), with an automatic promotion when
/// `redeems`, paid through Stripe (which may charge unanswered) when
/// `late`, else the test provider; by card.
fn plan(redeems: bool, late: bool) -> CheckoutPlan {
    plan_paying(redeems, late, Pay::Card)
}

/// The same plan, paid as `pay` says (by a member of a programme of 1
/// point per cent).
fn plan_paying(redeems: bool, late: bool, pay: Pay) -> CheckoutPlan {
    let usd = Currency::parse("USD").unwrap();
    let promotions = if redeems {
        vec![PromotionCandidate {
            promotion: Promotion {
                schema: PROMOTION_SCHEMA,
                id: "ten".into(),
                code: None,
                description: String::new(),
                discount: Discount::Percentage { basis_points: 1000 },
                target: Target::Cart {},
                min_subtotal: BTreeMap::new(),
                starts_at_ms: None,
                ends_at_ms: None,
                usage_limit: Some(10),
                per_customer_limit: None,
                active: true,
            },
            redemptions_so_far: 0,
            customer_redemptions: 0,
        }]
    } else {
        vec![]
    };
    let quote = quote_cart(&PricingInput {
        currency: usd,
        lines: SKUS
            .iter()
            .map(|sku| PricingLine {
                sku: sku.to_string(),
                quantity: 2,
                unit_price: 1000,
                category: "kitchen".into(),
            })
            .collect(),
        promotions,
        tax: TaxConfig::default(),
        shipping_method: None,
        destination: None,
        now_ms: 0,
    })
    .unwrap();
    let payment = if late {
        PaymentSettings::Stripe { base_url: None }
    } else {
        PaymentSettings::Test {}
    };
    let order = Order::from_quote(
        OrderDetails {
            id: "ord_1".into(),
            cart_id: "crt_1".into(),
            store: crate::stores::DEFAULT_STORE.into(),
            email: "ada@example.com".into(),
            shipping_address: ShippingAddress {
                name: "Ada".into(),
                line1: "1 Main St".into(),
                line2: None,
                city: "New York".into(),
                region: None,
                postal_code: "10001".into(),
                country: "US".into(),
            },
            shipping_method: "standard".into(),
            payment: Payment {
                provider: payment.provider_name().into(),
                reference: String::new(),
            },
        },
        &quote,
        0,
    );
    let mut plan = CheckoutPlan {
        order,
        order_token: "secret".into(),
        payment,
        payment_token: "tok_visa".into(),
        hold_ttl_ms: 600_000,
        held_by_cart: Vec::new(),
        points: None,
    };
    if pay != Pay::Card {
        let total = plan.order.totals.grand_total;
        let value = if pay == Pay::Points { total } else { total / 2 };
        plan.order.points = Some(crate::order::OrderPoints {
            member: "m-1".into(),
            unit: "points".into(),
            spent: value,
            value,
            earned: (total - value) / 100,
        });
        plan.points = Some(super::super::PointsPlan {
            ledger: "points:default:m-1".into(),
            programme: crate::points::Programme {
                unit: "points".into(),
                earn_per_unit: 1,
                category_multipliers: BTreeMap::new(),
                points_per_minor: BTreeMap::from([(usd, 1)]),
                pending_days: 14,
                expiry_days: None,
                member_key: None,
            },
        });
    }
    assert_eq!(plan.points_spent() > 0, pay != Pay::Card);
    assert_eq!(plan.card_amount() > 0, pay != Pay::Points);
    assert_eq!(plan.redeems(), redeems);
    assert_eq!(plan.payment.may_charge_unanswered(), late);
    plan
}

fn refusal(r: Refusal) -> Answer {
    Answer::Refused { refusal: r }
}

fn short() -> Vec<ShortLine> {
    vec![ShortLine {
        sku: "B".into(),
        requested: 2,
        available: 1,
    }]
}

fn limit_reached() -> RedemptionRefused {
    RedemptionRefused {
        promotion: "ten".into(),
        refusal: PromotionRefusal::UsageLimitReached,
    }
}

fn recorded() -> Box<Order> {
    Box::new(plan(false, false).paid_order("pi_1", 5).unwrap())
}

fn steps() -> Vec<Step> {
    vec![
        Step::Planned,
        Step::Held,
        Step::Redeemed,
        Step::Charging,
        Step::Paid {
            reference: "pi_1".into(),
        },
        Step::Finished,
        Step::Refunding {
            reference: "pi_1".into(),
            sold: vec![],
        },
        Step::Refunding {
            reference: "pi_1".into(),
            sold: vec!["A".into()],
        },
        Step::Verifying,
        awaiting_action(),
        awaiting_processing(),
    ]
}

fn action() -> crate::payments::PaymentAction {
    crate::payments::PaymentAction {
        client_secret: "pi_1_secret_x".into(),
        next_action: crate::payments::NextAction {
            kind: "use_stripe_sdk".into(),
            redirect_url: None,
        },
    }
}

/// The provider asks the shopper to authenticate, at 5.
fn action_required() -> Outcome {
    Outcome::ActionRequired {
        reference: "pi_1".into(),
        action: action(),
        at_ms: 5,
    }
}

/// Waiting for the shopper: until 5 + two fifths of the plans' 600 s TTL.
fn awaiting_action() -> Step {
    Step::Awaiting {
        reference: "pi_1".into(),
        action: Some(action()),
        until_ms: Some(240_005),
    }
}

fn awaiting_processing() -> Step {
    Step::Awaiting {
        reference: "pi_1".into(),
        action: None,
        until_ms: None,
    }
}

fn action_reply() -> Effect {
    Effect::Reply(refusal(Refusal::PaymentActionRequired {
        action: action(),
        expires_at_ms: 240_005,
    }))
}

fn processing_reply() -> Effect {
    Effect::Reply(refusal(Refusal::PaymentProcessing))
}

fn outcomes() -> Vec<Outcome> {
    vec![
        Outcome::Resume,
        Outcome::Lapsed,
        Outcome::AllHeld,
        Outcome::Short { lines: short() },
        Outcome::Redeemed,
        Outcome::RedemptionRefused {
            refused: Some(limit_reached()),
        },
        Outcome::RedemptionRefused { refused: None },
        Outcome::PointsHeld,
        Outcome::PointsShort { available: 7 },
        Outcome::PointsCommitted,
        Outcome::PointsRefused,
        Outcome::Paid {
            reference: "pi_1".into(),
        },
        Outcome::Declined {
            code: "stolen_card".into(),
        },
        action_required(),
        Outcome::Processing {
            reference: "pi_1".into(),
        },
        Outcome::Expired,
        Outcome::ChargeUnanswered,
        Outcome::AllCommitted,
        Outcome::CommitsRefused {
            sold: vec!["A".into()],
        },
        Outcome::Recorded { order: recorded() },
        Outcome::Refunded,
        Outcome::RefundUnanswered,
        Outcome::Restocked,
        Outcome::Unanswered,
    ]
}

/// What kind of plan a row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kind {
    redeems: bool,
    late: bool,
    /// The plan spends points.
    points: bool,
    /// The card pays some of it.
    card: bool,
}

/// One condition on the kind of plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cond {
    /// The plan redeems promotions.
    R,
    NotR,
    /// The provider may charge unanswered.
    L,
    NotL,
    /// The plan spends points.
    P,
    NotP,
    /// The card pays some of it.
    C,
    NotC,
}

/// For which plans a row holds: every condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct When(&'static [Cond]);

#[allow(non_upper_case_globals)]
impl When {
    const Always: When = When(&[]);
    const R: When = When(&[Cond::R]);
    const L: When = When(&[Cond::L]);
    const NotL: When = When(&[Cond::NotL]);
    const C: When = When(&[Cond::C]);
    const NotC: When = When(&[Cond::NotC]);
    const P: When = When(&[Cond::P]);
    const NotP: When = When(&[Cond::NotP]);

    fn holds(self, k: Kind) -> bool {
        self.0.iter().all(|c| match c {
            Cond::R => k.redeems,
            Cond::NotR => !k.redeems,
            Cond::L => k.late,
            Cond::NotL => !k.late,
            Cond::P => k.points,
            Cond::NotP => !k.points,
            Cond::C => k.card,
            Cond::NotC => !k.card,
        })
    }
}

/// The module doc's table, as data: (step, outcome, when, next, effects).
/// Effects that depend on the kind of plan are built by the closure.
type Row = (Step, Outcome, When, Step, fn(Kind) -> Vec<Effect>);

fn give_back(k: Kind, then: Vec<Effect>) -> Vec<Effect> {
    let mut v = Vec::new();
    if k.redeems {
        v.push(Effect::ReleaseRedemptions);
    }
    if k.points {
        v.push(Effect::ReleasePoints);
    }
    v.push(Effect::ReleaseHolds);
    v.extend(then);
    v
}

fn unavailable_reply() -> Vec<Effect> {
    vec![
        Effect::RetryLater,
        Effect::Unlock,
        Effect::Reply(refusal(Refusal::PaymentUnavailable)),
    ]
}

/// A decline: everything given back, and the shopper told a generic
/// decline (the provider's code was one that helps card testers).
fn declined_finish(k: Kind) -> Vec<Effect> {
    give_back(
        k,
        vec![Effect::Finish(refusal(Refusal::PaymentDeclined {
            code: "card_declined".into(),
            message: "The card was declined.".into(),
        }))],
    )
}

/// The end of verifying: the redemptions given back (again: a crash may
/// have cut giving them back short).
fn verified(k: Kind) -> Vec<Effect> {
    let mut v = Vec::new();
    if k.redeems {
        v.push(Effect::ReleaseRedemptions);
    }
    v.push(Effect::Finish(refusal(Refusal::PaymentUnavailable)));
    v
}

fn table() -> Vec<Row> {
    use Effect as E;
    use Outcome as O;
    use Step as S;
    let paid = || S::Paid {
        reference: "pi_1".into(),
    };
    let points_paid = || S::Paid {
        reference: "points_ord_1".into(),
    };
    let refunding = |sold: &[&str]| S::Refunding {
        reference: "pi_1".into(),
        sold: sold.iter().map(|s| s.to_string()).collect(),
    };
    // A code that would help a card tester: the shopper learns a generic one.
    let declined = || O::Declined {
        code: "stolen_card".into(),
    };
    vec![
        (S::Planned, O::Resume, When::Always, S::Planned, |_| {
            vec![E::HoldLines]
        }),
        (S::Planned, O::AllHeld, When::R, S::Held, |_| {
            vec![E::Save, E::RedeemCoupons]
        }),
        (
            S::Planned,
            O::AllHeld,
            When(&[Cond::NotR, Cond::NotP]),
            S::Charging,
            |_| vec![E::Save, E::Charge],
        ),
        (
            S::Planned,
            O::AllHeld,
            When(&[Cond::NotR, Cond::P]),
            S::Planned,
            |_| vec![E::HoldPoints],
        ),
        (
            S::Planned,
            O::Short { lines: short() },
            When::Always,
            S::Finished,
            |_| vec![E::Finish(refusal(Refusal::OutOfStock { lines: short() }))],
        ),
        (S::Held, O::Resume, When::R, S::Held, |_| {
            vec![E::RedeemCoupons]
        }),
        (
            S::Held,
            O::Resume,
            When(&[Cond::NotR, Cond::NotP]),
            S::Charging,
            |_| vec![E::Save, E::Charge],
        ),
        (
            S::Held,
            O::Resume,
            When(&[Cond::NotR, Cond::P]),
            S::Held,
            |_| vec![E::HoldPoints],
        ),
        (S::Held, O::Redeemed, When::NotP, S::Charging, |_| {
            vec![E::Save, E::Charge]
        }),
        (S::Held, O::Redeemed, When::P, S::Held, |_| {
            vec![E::HoldPoints]
        }),
        (
            S::Held,
            O::RedemptionRefused {
                refused: Some(limit_reached()),
            },
            When::Always,
            S::Finished,
            |_| {
                vec![
                    E::ReleaseHolds,
                    E::Finish(refusal(Refusal::CouponUnavailable {
                        refused: Some(limit_reached()),
                    })),
                ]
            },
        ),
        (
            S::Held,
            O::RedemptionRefused { refused: None },
            When::Always,
            S::Finished,
            |_| {
                vec![
                    E::ReleaseHolds,
                    E::Finish(refusal(Refusal::CouponUnavailable { refused: None })),
                ]
            },
        ),
        (S::Redeemed, O::Resume, When::NotP, S::Charging, |_| {
            vec![E::Save, E::Charge]
        }),
        (S::Redeemed, O::Resume, When::P, S::Redeemed, |_| {
            vec![E::HoldPoints]
        }),
        (
            S::Planned,
            O::PointsHeld,
            When(&[Cond::P, Cond::C]),
            S::Charging,
            |_| vec![E::Save, E::Charge],
        ),
        (
            S::Held,
            O::PointsHeld,
            When(&[Cond::P, Cond::C]),
            S::Charging,
            |_| vec![E::Save, E::Charge],
        ),
        (
            S::Redeemed,
            O::PointsHeld,
            When(&[Cond::P, Cond::C]),
            S::Charging,
            |_| vec![E::Save, E::Charge],
        ),
        (
            S::Planned,
            O::PointsHeld,
            When(&[Cond::P, Cond::NotC]),
            points_paid(),
            |_| vec![E::Save, E::CommitLines],
        ),
        (
            S::Held,
            O::PointsHeld,
            When(&[Cond::P, Cond::NotC]),
            points_paid(),
            |_| vec![E::Save, E::CommitLines],
        ),
        (
            S::Redeemed,
            O::PointsHeld,
            When(&[Cond::P, Cond::NotC]),
            points_paid(),
            |_| vec![E::Save, E::CommitLines],
        ),
        (
            S::Planned,
            O::PointsShort { available: 7 },
            When::Always,
            S::Finished,
            |k| {
                give_back(
                    k,
                    vec![E::Finish(refusal(Refusal::InsufficientPoints {
                        available: 7,
                    }))],
                )
            },
        ),
        (
            S::Held,
            O::PointsShort { available: 7 },
            When::Always,
            S::Finished,
            |k| {
                give_back(
                    k,
                    vec![E::Finish(refusal(Refusal::InsufficientPoints {
                        available: 7,
                    }))],
                )
            },
        ),
        (
            S::Redeemed,
            O::PointsShort { available: 7 },
            When::Always,
            S::Finished,
            |k| {
                give_back(
                    k,
                    vec![E::Finish(refusal(Refusal::InsufficientPoints {
                        available: 7,
                    }))],
                )
            },
        ),
        (S::Planned, O::Lapsed, When::Always, S::Planned, |r| {
            give_back(r, vec![E::Forget])
        }),
        (S::Held, O::Lapsed, When::Always, S::Held, |r| {
            give_back(r, vec![E::Forget])
        }),
        (S::Redeemed, O::Lapsed, When::Always, S::Redeemed, |r| {
            give_back(r, vec![E::Forget])
        }),
        (S::Charging, O::Resume, When::Always, S::Charging, |_| {
            vec![E::Charge]
        }),
        (S::Charging, O::Lapsed, When::Always, S::Charging, |_| {
            vec![E::Charge]
        }),
        (
            S::Charging,
            O::Paid {
                reference: "pi_1".into(),
            },
            When::Always,
            paid(),
            |_| vec![E::CommitLines],
        ),
        (
            S::Charging,
            declined(),
            When::Always,
            S::Finished,
            declined_finish,
        ),
        (
            S::Charging,
            action_required(),
            When::Always,
            awaiting_action(),
            |_| vec![E::Save, E::RetryLater, action_reply()],
        ),
        (
            S::Charging,
            O::Processing {
                reference: "pi_1".into(),
            },
            When::Always,
            awaiting_processing(),
            |_| vec![E::Save, E::RetryLater, processing_reply()],
        ),
        (
            awaiting_action(),
            O::Resume,
            When::Always,
            awaiting_action(),
            |_| {
                vec![E::ReadPayment {
                    reference: "pi_1".into(),
                }]
            },
        ),
        (
            awaiting_action(),
            O::Lapsed,
            When::Always,
            awaiting_action(),
            |_| {
                vec![E::ReadPayment {
                    reference: "pi_1".into(),
                }]
            },
        ),
        (
            awaiting_action(),
            O::Expired,
            When::Always,
            awaiting_action(),
            |_| {
                vec![E::CancelPayment {
                    reference: "pi_1".into(),
                }]
            },
        ),
        (
            awaiting_action(),
            O::Paid {
                reference: "pi_1".into(),
            },
            When::Always,
            paid(),
            |_| vec![E::CommitLines],
        ),
        (
            awaiting_action(),
            declined(),
            When::Always,
            S::Finished,
            declined_finish,
        ),
        (
            awaiting_action(),
            O::ChargeUnanswered,
            When::Always,
            awaiting_action(),
            |_| vec![E::RetryLater, processing_reply()],
        ),
        (
            awaiting_processing(),
            O::Resume,
            When::Always,
            awaiting_processing(),
            |_| {
                vec![E::ReadPayment {
                    reference: "pi_1".into(),
                }]
            },
        ),
        (
            awaiting_processing(),
            O::Lapsed,
            When::Always,
            awaiting_processing(),
            |_| {
                vec![E::ReadPayment {
                    reference: "pi_1".into(),
                }]
            },
        ),
        (
            awaiting_processing(),
            O::Expired,
            When::Always,
            awaiting_processing(),
            |_| {
                vec![E::CancelPayment {
                    reference: "pi_1".into(),
                }]
            },
        ),
        (
            awaiting_processing(),
            O::Paid {
                reference: "pi_1".into(),
            },
            When::Always,
            paid(),
            |_| vec![E::CommitLines],
        ),
        (
            awaiting_processing(),
            declined(),
            When::Always,
            S::Finished,
            declined_finish,
        ),
        (
            awaiting_processing(),
            O::ChargeUnanswered,
            When::Always,
            awaiting_processing(),
            |_| vec![E::RetryLater, processing_reply()],
        ),
        (
            awaiting_action(),
            action_required(),
            When::Always,
            awaiting_action(),
            |_| vec![E::RetryLater, action_reply()],
        ),
        (
            awaiting_processing(),
            action_required(),
            When::Always,
            awaiting_action(),
            |_| vec![E::Save, E::RetryLater, action_reply()],
        ),
        (
            awaiting_processing(),
            O::Processing {
                reference: "pi_1".into(),
            },
            When::Always,
            awaiting_processing(),
            |_| vec![E::RetryLater, processing_reply()],
        ),
        (
            awaiting_action(),
            O::Processing {
                reference: "pi_1".into(),
            },
            When::Always,
            awaiting_processing(),
            |_| vec![E::Save, E::RetryLater, processing_reply()],
        ),
        (
            S::Verifying,
            action_required(),
            When::Always,
            S::Verifying,
            |_| {
                vec![E::CancelPayment {
                    reference: "pi_1".into(),
                }]
            },
        ),
        (
            S::Verifying,
            O::Processing {
                reference: "pi_1".into(),
            },
            When::Always,
            S::Verifying,
            |_| unavailable_reply(),
        ),
        (
            S::Charging,
            O::ChargeUnanswered,
            When::NotL,
            S::Finished,
            |r| give_back(r, vec![E::Finish(refusal(Refusal::PaymentUnavailable))]),
        ),
        (
            S::Charging,
            O::ChargeUnanswered,
            When::L,
            S::Verifying,
            |r| {
                let mut effects = vec![E::Save];
                effects.extend(give_back(r, unavailable_reply()));
                effects
            },
        ),
        (paid(), O::Resume, When::Always, paid(), |_| {
            vec![E::CommitLines]
        }),
        (paid(), O::Lapsed, When::Always, paid(), |_| {
            vec![E::CommitLines]
        }),
        (paid(), O::AllCommitted, When::NotP, paid(), |_| {
            vec![E::RecordOrder {
                reference: "pi_1".into(),
            }]
        }),
        (paid(), O::AllCommitted, When::P, paid(), |_| {
            vec![E::CommitPoints]
        }),
        (paid(), O::PointsCommitted, When::Always, paid(), |_| {
            vec![E::RecordOrder {
                reference: "pi_1".into(),
            }]
        }),
        (
            paid(),
            O::CommitsRefused {
                sold: vec!["A".into()],
            },
            When::C,
            refunding(&["A"]),
            |_| {
                vec![
                    E::Save,
                    E::Refund {
                        reference: "pi_1".into(),
                    },
                ]
            },
        ),
        (
            paid(),
            O::CommitsRefused {
                sold: vec!["A".into()],
            },
            When::NotC,
            refunding(&["A"]),
            |_| {
                vec![
                    E::Save,
                    E::Restock {
                        skus: vec!["A".into()],
                    },
                ]
            },
        ),
        (paid(), O::PointsRefused, When::C, refunding(&SKUS), |_| {
            vec![
                E::Save,
                E::Refund {
                    reference: "pi_1".into(),
                },
            ]
        }),
        (
            paid(),
            O::PointsRefused,
            When::NotC,
            refunding(&SKUS),
            |_| {
                vec![
                    E::Save,
                    E::Restock {
                        skus: SKUS.iter().map(|s| s.to_string()).collect(),
                    },
                ]
            },
        ),
        (
            paid(),
            O::Recorded { order: recorded() },
            When::Always,
            S::Finished,
            |_| {
                vec![
                    E::EmptyCart,
                    E::Finish(Answer::Placed {
                        order: recorded(),
                        order_token: "secret".into(),
                    }),
                ]
            },
        ),
        (refunding(&[]), O::Resume, When::C, refunding(&[]), |_| {
            vec![E::Refund {
                reference: "pi_1".into(),
            }]
        }),
        (refunding(&[]), O::Resume, When::NotC, S::Finished, |k| {
            give_back(k, vec![E::Finish(refusal(Refusal::RefundedOutOfStock))])
        }),
        (refunding(&[]), O::Lapsed, When::C, refunding(&[]), |_| {
            vec![E::Refund {
                reference: "pi_1".into(),
            }]
        }),
        (refunding(&[]), O::Lapsed, When::NotC, S::Finished, |k| {
            give_back(k, vec![E::Finish(refusal(Refusal::RefundedOutOfStock))])
        }),
        (
            refunding(&["A"]),
            O::Resume,
            When::C,
            refunding(&["A"]),
            |_| {
                vec![E::Refund {
                    reference: "pi_1".into(),
                }]
            },
        ),
        (
            refunding(&["A"]),
            O::Resume,
            When::NotC,
            refunding(&["A"]),
            |_| {
                vec![E::Restock {
                    skus: vec!["A".into()],
                }]
            },
        ),
        (
            refunding(&["A"]),
            O::Lapsed,
            When::C,
            refunding(&["A"]),
            |_| {
                vec![E::Refund {
                    reference: "pi_1".into(),
                }]
            },
        ),
        (
            refunding(&["A"]),
            O::Lapsed,
            When::NotC,
            refunding(&["A"]),
            |_| {
                vec![E::Restock {
                    skus: vec!["A".into()],
                }]
            },
        ),
        (
            refunding(&["A"]),
            O::Refunded,
            When::Always,
            refunding(&["A"]),
            |_| {
                vec![E::Restock {
                    skus: vec!["A".into()],
                }]
            },
        ),
        (
            refunding(&[]),
            O::Refunded,
            When::Always,
            S::Finished,
            |r| give_back(r, vec![E::Finish(refusal(Refusal::RefundedOutOfStock))]),
        ),
        (
            refunding(&["A"]),
            O::Restocked,
            When::Always,
            S::Finished,
            |r| give_back(r, vec![E::Finish(refusal(Refusal::RefundedOutOfStock))]),
        ),
        (
            refunding(&[]),
            O::Restocked,
            When::Always,
            S::Finished,
            |r| give_back(r, vec![E::Finish(refusal(Refusal::RefundedOutOfStock))]),
        ),
        (
            refunding(&[]),
            O::RefundUnanswered,
            When::Always,
            refunding(&[]),
            |_| unavailable_reply(),
        ),
        (
            refunding(&["A"]),
            O::RefundUnanswered,
            When::Always,
            refunding(&["A"]),
            |_| unavailable_reply(),
        ),
        (S::Verifying, O::Resume, When::Always, S::Verifying, |_| {
            vec![E::Charge]
        }),
        (S::Verifying, O::Lapsed, When::Always, S::Verifying, |_| {
            vec![E::Charge]
        }),
        (
            S::Verifying,
            O::Paid {
                reference: "pi_1".into(),
            },
            When::Always,
            S::Verifying,
            |_| {
                vec![E::Refund {
                    reference: "pi_1".into(),
                }]
            },
        ),
        (
            S::Verifying,
            declined(),
            When::Always,
            S::Finished,
            verified,
        ),
        (
            S::Verifying,
            O::Refunded,
            When::Always,
            S::Finished,
            verified,
        ),
        (
            S::Verifying,
            O::ChargeUnanswered,
            When::Always,
            S::Verifying,
            |_| unavailable_reply(),
        ),
        (
            S::Verifying,
            O::RefundUnanswered,
            When::Always,
            S::Verifying,
            |_| unavailable_reply(),
        ),
    ]
}

/// Every step × outcome pair, for every kind of plan: the listed rows as
/// the table says, every other pair suspends (an object that did not
/// answer also has the alarm retry), and every list of effects has the
/// shape the interpreter relies on.
#[test]
fn every_step_and_outcome_pair() {
    let rows = table();
    let mut used = vec![false; rows.len()];
    for redeems in [false, true] {
        for (late, pay) in [false, true]
            .into_iter()
            .flat_map(|l| [Pay::Card, Pay::Mixed, Pay::Points].map(|p| (l, p)))
        {
            let p = plan_paying(redeems, late, pay);
            let kind = Kind {
                redeems,
                late,
                points: pay != Pay::Card,
                card: pay != Pay::Points,
            };
            for step in steps() {
                for outcome in outcomes() {
                    let listed: Vec<usize> = rows
                        .iter()
                        .enumerate()
                        .filter(|(_, (s, o, when, _, _))| {
                            *s == step && *o == outcome && when.holds(kind)
                        })
                        .map(|(i, _)| i)
                        .collect();
                    assert!(listed.len() <= 1, "{step:?} + {outcome:?}: two rows");
                    let want = match listed.first() {
                        Some(&i) => {
                            used[i] = true;
                            (rows[i].3.clone(), (rows[i].4)(kind))
                        }
                        None if outcome == Outcome::Unanswered && step != Step::Finished => {
                            (step.clone(), vec![Effect::RetryLater, Effect::Suspend])
                        }
                        None => (step.clone(), vec![Effect::Suspend]),
                    };
                    let got = transition(&p, &step, outcome.clone());
                    assert_eq!(got, want, "{step:?} + {outcome:?} ({kind:?})");
                    // The shape: one effect that reports or ends the run, last.
                    let (last, rest) = got.1.split_last().expect("some effect");
                    assert!(last.reports() || last.ends_run(), "{step:?} + {outcome:?}");
                    assert!(
                        rest.iter().all(|e| !e.reports() && !e.ends_run()),
                        "{step:?} + {outcome:?}: {:?}",
                        got.1
                    );
                    // Crash safety: no charge or redemption without its
                    // recovery point written first (or already stored).
                    if got.1.contains(&Effect::Charge) {
                        assert!(
                            got.1.contains(&Effect::Save) || step.payment_may_exist(),
                            "{step:?} + {outcome:?}"
                        );
                        assert!(got.0.payment_may_exist());
                    }
                    if got.1.contains(&Effect::RedeemCoupons) {
                        assert!(
                            got.1.contains(&Effect::Save) || step == Step::Held,
                            "{step:?} + {outcome:?}"
                        );
                    }
                    // Giving back never happens once a payment may exist,
                    // unless nothing was paid or it was refunded (or the
                    // points paid it all, and nothing was sold).
                    if got.1.contains(&Effect::ReleaseHolds)
                        && step.payment_may_exist()
                        && kind.card
                    {
                        assert!(
                            matches!(
                                outcome,
                                Outcome::Declined { .. }
                                    | Outcome::ChargeUnanswered
                                    | Outcome::Refunded
                                    | Outcome::Restocked
                            ),
                            "{step:?} + {outcome:?}"
                        );
                    }
                }
            }
        }
    }
    let dead: Vec<_> = rows
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|((s, o, _, _, _), _)| format!("{s:?} + {o:?}"))
        .collect();
    assert!(dead.is_empty(), "rows no pair reaches: {dead:?}");
}

#[test]
fn steps_say_whether_a_payment_may_exist() {
    let may: Vec<bool> = steps().iter().map(Step::payment_may_exist).collect();
    assert_eq!(
        may,
        [false, false, false, true, true, false, true, true, true, true, true]
    );
    let waits: Vec<bool> = steps().iter().map(Step::awaits_provider).collect();
    assert_eq!(
        waits,
        [false, false, false, false, false, false, true, true, true, true, true]
    );
    let deadlines: Vec<Option<i64>> = steps().iter().map(Step::deadline).collect();
    assert_eq!(deadlines[..9], [None; 9]);
    assert_eq!(deadlines[9..], [Some(240_005), None]);
    // Runs start on what the step and the time say.
    let a = awaiting_action();
    assert_eq!(start(&a, true, 240_004), Outcome::Resume);
    assert_eq!(start(&a, false, 240_004), Outcome::Lapsed);
    assert_eq!(start(&a, true, 240_005), Outcome::Expired);
    assert_eq!(start(&a, false, i64::MAX), Outcome::Expired);
    assert_eq!(
        start(&awaiting_processing(), false, i64::MAX),
        Outcome::Lapsed
    );
    assert_eq!(start(&Step::Charging, true, i64::MAX), Outcome::Resume);
    let json = serde_json::to_string(&Step::Paid {
        reference: "pi_1".into(),
    })
    .unwrap();
    assert_eq!(json, r#"{"step":"paid","reference":"pi_1"}"#);
}

// ---------------------------------------------------------------------------
// A simulated shop, to run the saga end to end.

/// How the card behaves at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Card {
    Pays,
    Declines,
    /// The first `n` charge requests time out; `charged`: the first one
    /// took the payment nonetheless.
    TimesOut {
        n: u32,
        charged: bool,
    },
    /// The provider asks the shopper to authenticate (3-D Secure); by the
    /// next read of the payment the shopper succeeded (`Some(true)`),
    /// failed (`Some(false)`) or did nothing (`None`).
    Authenticates(Option<bool>),
    /// The provider is processing; by the next read it paid or declined.
    Processes(bool),
}

/// A payment the provider has not decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Action,
    Processing,
}

/// The world the cart's object talks to, with what it promises: stock
/// operations idempotent by operation id, redemptions per order, the
/// provider's idempotency by order id, the order object's first record.
#[derive(Debug, Clone)]
struct Shop {
    /// SKUs that cannot be held (out of stock).
    short: BTreeSet<String>,
    /// SKUs whose hold lapses before it can be sold.
    lapses: BTreeSet<String>,
    /// The promotion's uses left.
    uses_left: u32,
    card: Card,
    /// Stock operation ids applied, with their first outcome (`true`: ok).
    ops: BTreeMap<String, bool>,
    held: BTreeSet<String>,
    sold: BTreeSet<String>,
    restocked: BTreeSet<String>,
    redeemed: bool,
    /// The member has too few points for the order.
    points_short: bool,
    /// The points hold lapses before it can be spent.
    points_lapse: bool,
    points_held: bool,
    points_spent: bool,
    charge_requests: u32,
    /// The provider's payment for the order, once taken.
    charged: Option<String>,
    /// Its payment, while undecided.
    pending: Option<Pending>,
    /// Its payment was declined (or canceled), with the provider's code:
    /// nothing taken.
    failed: Option<&'static str>,
    refunded: bool,
    order: Option<Box<Order>>,
    trips: Trips,
}

/// Round trips by whom they reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Trips {
    stock: u32,
    store: u32,
    ledger: u32,
    provider: u32,
    order: u32,
}

impl Shop {
    fn new(card: Card) -> Self {
        Shop {
            short: BTreeSet::new(),
            lapses: BTreeSet::new(),
            uses_left: 10,
            card,
            ops: BTreeMap::new(),
            held: BTreeSet::new(),
            sold: BTreeSet::new(),
            restocked: BTreeSet::new(),
            redeemed: false,
            points_short: false,
            points_lapse: false,
            points_held: false,
            points_spent: false,
            charge_requests: 0,
            charged: None,
            pending: None,
            failed: None,
            refunded: false,
            order: None,
            trips: Trips::default(),
        }
    }

    /// Applies a stock operation once per id; a retry answers the first outcome.
    fn stock(
        &mut self,
        order: &str,
        step: &str,
        sku: &str,
        apply: impl FnOnce(&mut Self) -> bool,
    ) -> bool {
        self.trips.stock += 1;
        let id = stock_op_id(order, step, sku);
        if let Some(first) = self.ops.get(&id) {
            return *first;
        }
        let ok = apply(self);
        self.ops.insert(id, ok);
        ok
    }

    /// Performs a reporting effect.
    fn perform(&mut self, plan: &CheckoutPlan, effect: &Effect) -> Outcome {
        let order = plan.order.id.clone();
        match effect {
            Effect::HoldLines => {
                let mut lines = Vec::new();
                for l in plan.lines_to_hold() {
                    let sku = l.sku.clone();
                    let ok = self.stock(&order, "hold", &sku, |s| {
                        if s.short.contains(&sku) {
                            return false;
                        }
                        if !s.lapses.contains(&sku) {
                            s.held.insert(sku.clone());
                        }
                        true
                    });
                    if !ok {
                        lines.push(ShortLine {
                            sku: l.sku.clone(),
                            requested: l.quantity,
                            available: 0,
                        });
                    }
                }
                if lines.is_empty() {
                    Outcome::AllHeld
                } else {
                    Outcome::Short { lines }
                }
            }
            Effect::RedeemCoupons => {
                self.trips.store += 1;
                if !self.redeemed {
                    if self.uses_left == 0 {
                        return Outcome::RedemptionRefused {
                            refused: Some(limit_reached()),
                        };
                    }
                    self.uses_left -= 1;
                    self.redeemed = true;
                }
                Outcome::Redeemed
            }
            Effect::HoldPoints => {
                self.trips.ledger += 1;
                if self.points_spent {
                    return Outcome::PointsHeld;
                }
                if self.points_short {
                    return Outcome::PointsShort { available: 0 };
                }
                if !self.points_lapse {
                    self.points_held = true;
                }
                Outcome::PointsHeld
            }
            Effect::CommitPoints => {
                self.trips.ledger += 1;
                if self.points_held {
                    self.points_held = false;
                    self.points_spent = true;
                }
                if self.points_spent {
                    Outcome::PointsCommitted
                } else {
                    Outcome::PointsRefused
                }
            }
            Effect::Charge => {
                assert!(
                    plan.card_amount() > 0,
                    "the provider is asked for a card's part only"
                );
                self.trips.provider += 1;
                self.charge_requests += 1;
                if let Card::TimesOut { n, charged } = self.card {
                    if self.charge_requests <= n {
                        if charged && self.charge_requests == 1 {
                            self.charged = Some(format!("pi_{order}"));
                        }
                        return Outcome::ChargeUnanswered;
                    }
                }
                // The same idempotent create answers the payment there is.
                if self.charged.is_none() && self.pending.is_none() && self.failed.is_none() {
                    match self.card {
                        Card::Declines => self.failed = Some("card_declined"),
                        Card::Pays | Card::TimesOut { .. } => {
                            self.charged = Some(format!("pi_{order}"))
                        }
                        Card::Authenticates(_) => self.pending = Some(Pending::Action),
                        Card::Processes(_) => self.pending = Some(Pending::Processing),
                    }
                }
                self.payment(&order)
            }
            Effect::ReadPayment { reference } => {
                self.trips.provider += 1;
                assert_eq!(reference, &format!("pi_{order}"), "reads its own payment");
                self.decide();
                self.payment(&order)
            }
            Effect::CancelPayment { reference } => {
                self.trips.provider += 1;
                assert_eq!(reference, &format!("pi_{order}"), "cancels its own payment");
                self.decide();
                if self.pending.take().is_some() {
                    self.failed = Some("payment_canceled");
                }
                self.payment(&order)
            }
            Effect::CommitLines => {
                let mut sold = Vec::new();
                for l in &plan.order.lines {
                    let sku = l.sku.clone();
                    let ok = self.stock(&order, "commit", &sku, |s| {
                        if s.held.remove(&sku) {
                            s.sold.insert(sku.clone());
                            true
                        } else {
                            false
                        }
                    });
                    if ok {
                        sold.push(l.sku.clone());
                    }
                }
                if sold.len() == plan.order.lines.len() {
                    Outcome::AllCommitted
                } else {
                    Outcome::CommitsRefused { sold }
                }
            }
            Effect::RecordOrder { reference } => {
                self.trips.order += 1;
                let placed = self
                    .order
                    .get_or_insert_with(|| Box::new(plan.paid_order(reference, 7).unwrap()));
                Outcome::Recorded {
                    order: placed.clone(),
                }
            }
            Effect::Refund { reference } => {
                self.trips.provider += 1;
                assert_eq!(
                    self.charged.as_ref(),
                    Some(reference),
                    "refunds what was paid"
                );
                self.refunded = true;
                Outcome::Refunded
            }
            Effect::Restock { skus } => {
                for sku in skus {
                    self.stock(&order, "restock", sku, |s| {
                        s.sold.remove(sku);
                        s.restocked.insert(sku.clone());
                        true
                    });
                }
                Outcome::Restocked
            }
            other => panic!("{other:?} reports nothing"),
        }
    }

    /// What the provider says of the order's payment now.
    fn payment(&self, order: &str) -> Outcome {
        let reference = format!("pi_{order}");
        if self.charged.is_some() {
            return Outcome::Paid { reference };
        }
        match self.pending {
            Some(Pending::Action) => Outcome::ActionRequired {
                reference,
                action: action(),
                at_ms: 5,
            },
            Some(Pending::Processing) => Outcome::Processing { reference },
            None => Outcome::Declined {
                code: self.failed.expect("a payment was asked for").into(),
            },
        }
    }

    /// The shopper acts (or not), the provider finishes processing.
    fn decide(&mut self) {
        let (paid, code) = match (self.pending, self.card) {
            (Some(Pending::Action), Card::Authenticates(Some(ok))) => {
                (ok, "payment_intent_authentication_failure")
            }
            (Some(Pending::Processing), Card::Processes(ok)) => (ok, "generic_decline"),
            _ => return,
        };
        self.pending = None;
        if paid {
            self.charged = Some("pi_ord_1".into());
        } else {
            self.failed = Some(code);
        }
    }

    /// Carries out an effect that reports nothing (those that end the run
    /// are the driver's).
    fn apply(&mut self, plan: &CheckoutPlan, effect: &Effect) {
        let order = plan.order.id.clone();
        match effect {
            Effect::ReleaseHolds => {
                for l in &plan.order.lines {
                    let sku = l.sku.clone();
                    self.stock(&order, "release", &sku, |s| s.held.remove(&sku));
                }
            }
            Effect::ReleasePoints => {
                self.trips.ledger += 1;
                self.points_held = false;
            }
            Effect::ReleaseRedemptions => {
                self.trips.store += 1;
                if self.redeemed {
                    self.redeemed = false;
                    self.uses_left += 1;
                }
            }
            _ => {}
        }
    }

    /// The product's promises, once nothing is owed any more.
    fn assert_settled(&self, plan: &CheckoutPlan, answer: Option<&Answer>, context: &str) {
        let kept = self.charged.is_some() && !self.refunded;
        if plan.card_amount() > 0 {
            assert_eq!(
                kept,
                self.order.is_some(),
                "{context}: a payment kept iff an order: {self:?}"
            );
        } else {
            assert!(self.charged.is_none(), "{context}: no provider asked");
        }
        assert_eq!(
            self.points_spent,
            self.order.is_some() && plan.points_spent() > 0,
            "{context}: points spent iff an order that spends them: {self:?}"
        );
        match &self.order {
            Some(order) => {
                let all: BTreeSet<String> = SKUS.iter().map(|s| s.to_string()).collect();
                assert_eq!(self.sold, all, "{context}: the order's units are sold");
                assert_eq!(
                    self.redeemed,
                    plan.redeems(),
                    "{context}: its promotions redeemed"
                );
                if plan.card_amount() > 0 {
                    assert_eq!(order.payment.reference, self.charged.clone().unwrap());
                }
            }
            None => {
                assert!(
                    self.sold.is_empty(),
                    "{context}: nothing sold without an order: {self:?}"
                );
                assert!(
                    !self.redeemed,
                    "{context}: no redemption without an order: {self:?}"
                );
            }
        }
        if let Some(answer) = answer {
            let placed = matches!(answer, Answer::Placed { .. });
            assert_eq!(placed, self.order.is_some(), "{context}: answer {answer:?}");
        }
    }
}

/// What the cart's object did in one run, as counted.
#[derive(Debug, Default)]
struct Run {
    /// Every effect, in order.
    effects: Vec<Effect>,
    /// Recovery points written (`Save`).
    saves: u32,
    /// Durable commits: writes made between two round trips commit at once.
    commits: u32,
    /// The step last written (`None`: nothing durable yet).
    durable: Option<Step>,
    /// How the run ended.
    end: Option<Effect>,
}

/// Where to crash a run: before effect `at` (counting every effect of the
/// run), or right after a reporting effect's far side acted but before
/// its outcome came back (`after_far_side`); `pending_durable`: whether
/// writes not yet committed at the crash made it to disk anyway.
#[derive(Debug, Clone, Copy)]
struct Crash {
    at: usize,
    after_far_side: bool,
    pending_durable: bool,
}

/// Interprets the saga from `step` on `outcome` as the cart's object does,
/// against `shop`, until the run ends (or crashes).
fn drive(
    plan: &CheckoutPlan,
    shop: &mut Shop,
    mut step: Step,
    mut outcome: Outcome,
    durable: Option<Step>,
    crash: Option<Crash>,
) -> Run {
    let mut run = Run {
        durable,
        ..Run::default()
    };
    let mut pending: Option<Option<Step>> = None;
    let commit = |run: &mut Run, pending: &mut Option<Option<Step>>| {
        if let Some(saved) = pending.take() {
            run.commits += 1;
            if saved.is_some() {
                run.durable = saved;
            }
        }
    };
    for _ in 0..100 {
        let (next, effects) = transition(plan, &step, outcome);
        step = next;
        let mut reported = None;
        for effect in effects {
            let round_trip = effect.reports()
                || matches!(
                    effect,
                    Effect::ReleaseHolds | Effect::ReleaseRedemptions | Effect::ReleasePoints
                );
            if let Some(c) = crash {
                if run.effects.len() == c.at {
                    if c.after_far_side && round_trip {
                        // The output gate: the request left only once the
                        // writes before it were durable.
                        commit(&mut run, &mut pending);
                        if effect.reports() {
                            shop.perform(plan, &effect);
                        } else {
                            shop.apply(plan, &effect);
                        }
                    }
                    if c.pending_durable {
                        commit(&mut run, &mut pending);
                    }
                    run.end = Some(Effect::Suspend);
                    return run;
                }
            }
            run.effects.push(effect.clone());
            if effect == Effect::ReleaseHolds {
                // The cart's row notes the holds given back before they go.
                pending.get_or_insert(None);
            }
            if round_trip {
                commit(&mut run, &mut pending);
            }
            match &effect {
                Effect::Save => {
                    run.saves += 1;
                    pending = Some(Some(step.clone()));
                }
                Effect::EmptyCart | Effect::Unlock | Effect::RetryLater | Effect::Forget => {
                    pending.get_or_insert(None);
                }
                Effect::Finish(_) => pending = Some(Some(Step::Finished)),
                _ => {}
            }
            if effect.reports() {
                if effect == Effect::Charge {
                    assert!(
                        run.durable.as_ref().is_some_and(Step::payment_may_exist),
                        "a charge is asked only once a crash would resume it: {:?}",
                        run.durable
                    );
                }
                if effect == Effect::RedeemCoupons {
                    assert!(
                        run.durable.is_some(),
                        "a redemption only once the plan is stored"
                    );
                }
                reported = Some(shop.perform(plan, &effect));
            } else if effect.ends_run() {
                commit(&mut run, &mut pending);
                if effect == Effect::Forget {
                    run.durable = None;
                }
                run.end = Some(effect);
                return run;
            } else {
                shop.apply(plan, &effect);
            }
        }
        outcome = reported.expect("a transition ends with an effect that reports");
    }
    panic!("the saga did not end: {:?}", run.effects)
}

/// Round trips and commits of one whole checkout, run from its plan.
fn count(redeems: bool, card: Card) -> (Trips, u32, u32, Option<Effect>, Shop) {
    count_with(plan(redeems, true), card)
}

/// The same for a cart whose own holds still cover the checkout.
fn count_fresh(redeems: bool, card: Card) -> (Trips, u32, u32, Option<Effect>, Shop) {
    let mut p = plan(redeems, true);
    held_by_cart(&mut p);
    count_with(p, card)
}

/// Plans `p` as for a cart whose own holds cover every line.
fn held_by_cart(p: &mut CheckoutPlan) {
    p.held_by_cart = p.order.lines.iter().map(|l| l.sku.clone()).collect();
}

fn count_with(p: CheckoutPlan, card: Card) -> (Trips, u32, u32, Option<Effect>, Shop) {
    let mut shop = Shop::new(card);
    // The cart's own holds, whether or not the checkout counts on them.
    shop.held = p.order.lines.iter().map(|l| l.sku.clone()).collect();
    let run = drive(&p, &mut shop, Step::Planned, Outcome::Resume, None, None);
    (shop.trips, run.saves, run.commits, run.end, shop)
}

/// The I/O budget of the module doc: a regression fails here.
#[test]
fn a_checkout_costs_its_budget() {
    let n = SKUS.len() as u32;
    let placed = |end: &Option<Effect>| matches!(end, Some(Effect::Finish(Answer::Placed { .. })));
    let declined = |end: &Option<Effect>| {
        matches!(
            end,
            Some(Effect::Finish(Answer::Refused {
                refusal: Refusal::PaymentDeclined { .. }
            }))
        )
    };
    // Placed, no promotions: holds, charge, commits, record; two commits.
    let (trips, saves, commits, end, _) = count(false, Card::Pays);
    assert!(placed(&end), "{end:?}");
    assert_eq!(
        trips,
        Trips {
            stock: 2 * n,
            store: 0,
            ledger: 0,
            provider: 1,
            order: 1
        }
    );
    assert_eq!((saves, commits), (1, 2));
    // Placed, with promotions: one redemption more, one commit more.
    let (trips, saves, commits, end, _) = count(true, Card::Pays);
    assert!(placed(&end), "{end:?}");
    assert_eq!(
        trips,
        Trips {
            stock: 2 * n,
            store: 1,
            ledger: 0,
            provider: 1,
            order: 1
        }
    );
    assert_eq!((saves, commits), (2, 3));
    // Declined: the holds (and redemptions) given back, one commit more
    // (the cart's row notes the holds given back before they go).
    let (trips, saves, commits, end, _) = count(false, Card::Declines);
    assert!(declined(&end), "{end:?}");
    assert_eq!(
        trips,
        Trips {
            stock: 2 * n,
            store: 0,
            ledger: 0,
            provider: 1,
            order: 0
        }
    );
    assert_eq!((saves, commits), (1, 3));
    let (trips, saves, commits, end, _) = count(true, Card::Declines);
    assert!(declined(&end), "{end:?}");
    assert_eq!(
        trips,
        Trips {
            stock: 2 * n,
            store: 2,
            ledger: 0,
            provider: 1,
            order: 0
        }
    );
    assert_eq!((saves, commits), (2, 4));
    // A cart active in the last half of the hold TTL: its holds cover the
    // checkout, which takes none of its own, only the commits.
    let (trips, saves, commits, end, shop) = count_fresh(false, Card::Pays);
    assert!(placed(&end), "{end:?}");
    assert_eq!(
        trips,
        Trips {
            stock: n,
            store: 0,
            ledger: 0,
            provider: 1,
            order: 1
        }
    );
    assert_eq!((saves, commits), (1, 2));
    assert_eq!(shop.sold.len(), SKUS.len());
    let (trips, _, _, end, shop) = count_fresh(false, Card::Declines);
    assert!(declined(&end), "{end:?}");
    assert_eq!(trips.stock, n, "the releases only: {trips:?}");
    assert!(shop.held.is_empty(), "the cart's holds given back");
    // Points and card: the points held beside the stock and spent beside
    // it, one round trip each to the member's ledger; no commit more.
    let (trips, saves, commits, end, shop) =
        count_with(plan_paying(false, true, Pay::Mixed), Card::Pays);
    assert!(placed(&end), "{end:?}");
    assert_eq!(
        trips,
        Trips {
            stock: 2 * n,
            store: 0,
            ledger: 2,
            provider: 1,
            order: 1
        }
    );
    assert_eq!((saves, commits), (1, 2));
    assert!(shop.points_spent);
    // Declined: the points hold given back too.
    let (trips, _, _, end, shop) = count_with(plan_paying(false, true, Pay::Mixed), Card::Declines);
    assert!(declined(&end), "{end:?}");
    assert_eq!(trips.ledger, 2, "hold and release: {trips:?}");
    assert!(!shop.points_held && !shop.points_spent);
    // All by points: no provider at all.
    let (trips, saves, commits, end, _) =
        count_with(plan_paying(false, true, Pay::Points), Card::Declines);
    assert!(placed(&end), "{end:?}");
    assert_eq!(
        trips,
        Trips {
            stock: 2 * n,
            store: 0,
            ledger: 2,
            provider: 0,
            order: 1
        }
    );
    assert_eq!((saves, commits), (1, 2));
}

/// Every path a checkout can take, as (name, plan, shop) to start from:
/// with and without promotions, a provider that may charge unanswered or
/// not, and a cart whose own holds cover the checkout (`fresh`) or not.
fn scenarios() -> Vec<(String, CheckoutPlan, Shop)> {
    let mut out = Vec::new();
    let kinds = (0..8).flat_map(|i| {
        [Pay::Card, Pay::Mixed, Pay::Points].map(|pay| (i & 1 == 1, i & 2 == 2, i & 4 == 4, pay))
    });
    for (redeems, late, fresh, pay) in kinds {
        let mut add = |name: &str, mut shop: Shop| {
            let mut p = plan_paying(redeems, late, pay);
            if fresh {
                held_by_cart(&mut p);
                shop.held = SKUS
                    .iter()
                    .map(|s| s.to_string())
                    .filter(|s| !shop.lapses.contains(s))
                    .collect();
            }
            out.push((
                format!("{name} (redeems {redeems}, late {late}, fresh {fresh}, {pay:?})"),
                p,
                shop,
            ))
        };
        if pay != Pay::Card {
            let mut s = Shop::new(Card::Pays);
            s.points_short = true;
            add("not enough points", s);
            let mut s = Shop::new(Card::Pays);
            s.points_lapse = true;
            add("points hold lapsed before the spending", s);
        }
        add("paid", Shop::new(Card::Pays));
        add("declined", Shop::new(Card::Declines));
        // The test provider answers by card token: a timeout stays one.
        add(
            "unanswered, not charged",
            Shop::new(Card::TimesOut {
                n: if late { 1 } else { u32::MAX },
                charged: false,
            }),
        );
        // Only a provider that may charge unanswered does (the test
        // provider never charges on a timeout).
        if late {
            add(
                "unanswered, charged",
                Shop::new(Card::TimesOut {
                    n: 1,
                    charged: true,
                }),
            );
            add(
                "unanswered twice, charged",
                Shop::new(Card::TimesOut {
                    n: 2,
                    charged: true,
                }),
            );
        }
        // Only a real provider asks for 3-D Secure or processes.
        if late && pay != Pay::Points {
            add("authenticated", Shop::new(Card::Authenticates(Some(true))));
            add(
                "authentication failed",
                Shop::new(Card::Authenticates(Some(false))),
            );
            add("never authenticated", Shop::new(Card::Authenticates(None)));
            add("processed, paid", Shop::new(Card::Processes(true)));
            add("processed, declined", Shop::new(Card::Processes(false)));
        }
        let mut s = Shop::new(Card::Pays);
        s.short.insert("B".into());
        add("out of stock", s);
        let mut s = Shop::new(Card::Pays);
        s.lapses.insert("C".into());
        add("hold lapsed before the sale", s);
        if redeems {
            let mut s = Shop::new(Card::Pays);
            s.uses_left = 0;
            add("promotion used up", s);
        }
    }
    out
}

/// The cart's alarm, until nothing is owed: a stored record is carried on
/// (`Lapsed`) until it is finished or forgotten.
fn alarm_until_settled(
    plan: &CheckoutPlan,
    shop: &mut Shop,
    mut durable: Option<Step>,
    context: &str,
) -> Option<Answer> {
    let mut answer = None;
    // Each run a while after the last: the shopper's time to act runs out
    // by the fourth.
    for now in (0..10).map(|k| k * 100_000) {
        let Some(step) = durable.clone() else {
            return answer;
        };
        if step == Step::Finished {
            return answer;
        }
        let outcome = start(&step, false, now);
        let run = drive(plan, shop, step, outcome, durable.clone(), None);
        durable = run.durable.clone();
        match run.end {
            Some(Effect::Finish(a)) => return Some(a),
            Some(Effect::Forget) => return answer,
            Some(Effect::Reply(a)) => answer = Some(a),
            other => panic!("{context}: the alarm's run ended with {other:?}"),
        }
    }
    panic!("{context}: the alarm never settled the checkout")
}

/// Without a crash, each path ends with the shop's promises kept (after
/// the alarm finished what the attempt answered early).
#[test]
fn every_path_keeps_the_promises() {
    for (name, p, shop) in scenarios() {
        let mut shop = shop;
        let run = drive(&p, &mut shop, Step::Planned, Outcome::Resume, None, None);
        let answer = match run.end.clone() {
            Some(Effect::Finish(a)) => Some(a),
            Some(Effect::Reply(_)) => {
                alarm_until_settled(&p, &mut shop, run.durable.clone(), &name)
            }
            other => panic!("{name}: ended with {other:?}"),
        };
        shop.assert_settled(&p, answer.as_ref(), &name);
    }
}

/// A crash anywhere — before any effect, or after a request reached its
/// object or the provider but before the answer came back, with the
/// writes not yet committed lost or kept — and the alarm's recovery from
/// whatever was durable: never a payment without an order or a refund,
/// never an order twice, never a sale or redemption without an order.
#[test]
fn a_crash_anywhere_is_recovered() {
    let mut crashes = 0;
    for (name, p, shop) in scenarios() {
        let full = drive(
            &p,
            &mut shop.clone(),
            Step::Planned,
            Outcome::Resume,
            None,
            None,
        );
        for at in 0..=full.effects.len() {
            for after_far_side in [false, true] {
                for pending_durable in [false, true] {
                    let context = format!("{name}, crash at {at} (far side {after_far_side}, pending durable {pending_durable})");
                    let mut world = shop.clone();
                    let crash = Crash {
                        at,
                        after_far_side,
                        pending_durable,
                    };
                    let run = drive(
                        &p,
                        &mut world,
                        Step::Planned,
                        Outcome::Resume,
                        None,
                        Some(crash),
                    );
                    crashes += 1;
                    // The restart: a real provider answers again (the test
                    // provider answers a timeout token with a timeout).
                    if let (true, Card::TimesOut { n, .. }) =
                        (p.payment.may_charge_unanswered(), world.card)
                    {
                        world.card = Card::TimesOut {
                            n: n.min(world.charge_requests),
                            charged: false,
                        };
                    }
                    let answer = match run.end {
                        Some(Effect::Finish(a)) => Some(a),
                        _ => alarm_until_settled(&p, &mut world, run.durable.clone(), &context),
                    };
                    world.assert_settled(&p, answer.as_ref(), &context);
                    if run.durable.is_none() {
                        assert!(
                            world.charged.is_none() && !world.redeemed,
                            "{context}: nothing durable, nothing taken"
                        );
                    }
                }
            }
        }
    }
    assert!(crashes > 500, "{crashes} crashes tried");
}

/// 3-D Secure and processing, from the shopper's side: the attempt answers
/// what to do (the holds kept, a recovery point written), then the
/// shopper's retry with the key, or the alarm, reads the payment (never a
/// second create) and ends as the shopper or the provider decided; a
/// shopper who never acts has the payment canceled at the deadline.
#[test]
fn three_d_secure_and_processing_end_as_decided() {
    let placed = |a: &Option<Answer>| matches!(a, Some(Answer::Placed { .. }));
    let declined = |a: &Option<Answer>, code: &str| matches!(a, Some(Answer::Refused { refusal: Refusal::PaymentDeclined { code: c, .. } }) if c == code);
    for redeems in [false, true] {
        for (card, want) in [
            (Card::Authenticates(Some(true)), "placed"),
            (Card::Authenticates(Some(false)), "authentication_required"),
            (Card::Authenticates(None), "payment_canceled"),
            (Card::Processes(true), "placed"),
            (Card::Processes(false), "card_declined"),
        ] {
            let p = plan(redeems, true);
            let mut shop = Shop::new(card);
            let first = drive(&p, &mut shop, Step::Planned, Outcome::Resume, None, None);
            let reply = match (&first.end, card) {
                (Some(Effect::Reply(a)), Card::Authenticates(_)) => {
                    assert_eq!(
                        a,
                        &refusal(Refusal::PaymentActionRequired {
                            action: action(),
                            expires_at_ms: 240_005
                        })
                    );
                    a
                }
                (Some(Effect::Reply(a)), _) => {
                    assert_eq!(a, &refusal(Refusal::PaymentProcessing));
                    a
                }
                other => panic!("{card:?}: {other:?}"),
            };
            assert!(
                first.durable.as_ref().is_some_and(Step::awaits_payment),
                "{reply:?}"
            );
            assert_eq!(
                shop.held.len(),
                3,
                "the holds stay while the provider waits"
            );
            assert_eq!(shop.trips.provider, 1);
            // The shopper acted (or not); the retry with the key, before the deadline.
            let step = first.durable.clone().unwrap();
            let again = drive(
                &p,
                &mut shop,
                step.clone(),
                start(&step, true, 1_000),
                first.durable.clone(),
                None,
            );
            assert_eq!(
                shop.charge_requests, 1,
                "{card:?}: the payment is read, never created again"
            );
            let answer = match again.end {
                Some(Effect::Finish(a)) => Some(a),
                Some(Effect::Reply(_)) => {
                    alarm_until_settled(&p, &mut shop, again.durable.clone(), "3ds")
                }
                other => panic!("{card:?}: {other:?}"),
            };
            shop.assert_settled(&p, answer.as_ref(), &format!("{card:?}"));
            if want == "placed" {
                assert!(placed(&answer), "{card:?}: {answer:?}");
            } else {
                assert!(declined(&answer, want), "{card:?}: {answer:?}");
                assert!(shop.held.is_empty(), "{card:?}: holds given back");
            }
            assert_eq!(shop.charge_requests, 1, "{card:?}");
        }
    }
}
