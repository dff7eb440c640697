//! The checkout saga: how a [`CheckoutPlan`] is carried out, as one pure
//! transition function. The cart's object performs the [`Effect`]s it is
//! given, in order, and reports what the last one came to as an
//! [`Outcome`]; [`transition`] says which [`Step`] that leads to and what to
//! do next. The object decides nothing itself.
//!
//! Every transition's effects end either with one effect that reports an
//! outcome (hold, redeem, charge, commit, record, refund, restock) or with
//! one that ends the run (`Finish`, `Reply`, `Forget`, `Suspend`).
//!
//! `R` = the plan redeems promotions ([`CheckoutPlan::redeems`]); `P` =
//! the plan spends points ([`CheckoutPlan::points_spent`]); `C` = the card
//! pays some of it ([`CheckoutPlan::card_amount`]; not `C`: the points pay
//! it all and no provider is asked); "give back" = `ReleaseRedemptions`
//! (only when `R`), `ReleasePoints` (only when `P`), then `ReleaseHolds`;
//! "pay" = `Save, Charge` to `charging` when `C`, else `Save, CommitLines`
//! to `paid` (reference [`settled_reference`]: `points_{order}`, or
//! `free_{order}` when there is nothing to pay); `L` =
//! the provider may have taken a payment it did not answer (Stripe, not
//! the test provider: [`crate::store::PaymentSettings::may_charge_unanswered`]). `Resume`: an attempt runs the plan from this step (its first
//! run, or a retry with the key); `Lapsed`: the cart's alarm found the
//! attempt dead.
//!
//! | step        | outcome                       | next step   | effects                                                       |
//! |-------------|-------------------------------|-------------|---------------------------------------------------------------|
//! | planned     | resume                        | planned     | HoldLines (the lines the cart's holds may not cover: [`CheckoutPlan::lines_to_hold`]) |
//! | planned     | all held (R)                  | held        | Save, RedeemCoupons                                           |
//! | planned     | all held (not R, P)           | planned     | HoldPoints                                                    |
//! | planned     | all held (not R, not P)       | charging    | pay                                                           |
//! | planned     | short (lines)                 | finished    | Finish(out of stock)                                          |
//! | held        | resume (R)                    | held        | RedeemCoupons                                                 |
//! | held        | resume (not R), redeemed (P)  | held        | HoldPoints                                                    |
//! | held        | resume (not R), redeemed (not P) | charging | pay                                                           |
//! | held        | redemption refused            | finished    | ReleaseHolds, Finish(coupon unavailable)                      |
//! | redeemed    | resume (P)                    | redeemed    | HoldPoints                                                    |
//! | redeemed    | resume (not P)                | charging    | pay                                                           |
//! | planned, held, redeemed | points held (P)     | charging, or paid (not C) | pay                                     |
//! | planned, held, redeemed | points short        | finished    | give back, Finish(insufficient points)                        |
//! | planned, held, redeemed | lapsed              | (same)      | give back, Forget                                             |
//! | charging    | resume, lapsed                | charging    | Charge                                                        |
//! | charging    | paid (reference)              | paid        | CommitLines                                                   |
//! | charging, awaiting | declined (code)         | finished    | give back, Finish(payment declined: [`shopper_decline`] of the code) |
//! | charging    | action required (ref, at)     | awaiting (ref, action, until = at + [`CheckoutPlan::action_window_ms`]) | Save, RetryLater, Reply(action required) |
//! | charging    | processing (ref)              | awaiting (ref, no action) | Save, RetryLater, Reply(processing)                     |
//! | awaiting    | resume, lapsed                | awaiting    | ReadPayment                                                   |
//! | awaiting    | expired                       | awaiting    | CancelPayment                                                 |
//! | awaiting    | paid (reference)              | paid        | CommitLines                                                   |
//! | awaiting (action) | action required         | awaiting    | RetryLater, Reply(action required, the same deadline)         |
//! | awaiting (no action) | action required      | awaiting (action, until) | Save, RetryLater, Reply(action required)         |
//! | awaiting (no action) | processing           | awaiting    | RetryLater, Reply(processing)                                 |
//! | awaiting (action) | processing              | awaiting (no action) | Save, RetryLater, Reply(processing)                  |
//! | awaiting    | charge unanswered             | awaiting    | RetryLater, Reply(processing)                                 |
//! | charging    | charge unanswered (not L)     | finished    | give back, Finish(payment unavailable)                        |
//! | charging    | charge unanswered (L)         | verifying   | Save, give back, RetryLater, Unlock, Reply(payment unavailable) |
//! | paid        | resume, lapsed                | paid        | CommitLines                                                   |
//! | paid        | all committed (P)             | paid        | CommitPoints                                                  |
//! | paid        | all committed (not P), points committed | paid | RecordOrder                                              |
//! | paid        | commits refused (sold SKUs)   | refunding   | Save, Refund (C), else Save, Restock(sold) (or finish, none sold) |
//! | paid        | points refused (every SKU sold) | refunding | Save, Refund (C), else Save, Restock(every SKU)               |
//! | paid        | recorded (order)              | finished    | EmptyCart, Finish(placed)                                     |
//! | refunding   | resume, lapsed (C)            | refunding   | Refund                                                        |
//! | refunding   | resume, lapsed (not C)        | (as refunded) | Restock(sold), or give back, Finish(refunded, out of stock) |
//! | refunding   | refunded (some sold)          | refunding   | Restock(sold)                                                 |
//! | refunding   | refunded (none sold), restocked | finished  | give back, Finish(refunded, out of stock)                     |
//! | refunding   | refund unanswered             | refunding   | RetryLater, Unlock, Reply(payment unavailable)                |
//! | verifying   | resume, lapsed                | verifying   | Charge                                                        |
//! | verifying   | paid (reference)              | verifying   | Refund                                                        |
//! | verifying   | action required (ref)         | verifying   | CancelPayment                                                 |
//! | verifying   | processing                    | verifying   | RetryLater, Unlock, Reply(payment unavailable)                |
//! | verifying   | declined, refunded            | finished    | ReleaseRedemptions (R), Finish(payment unavailable)           |
//! | verifying   | charge or refund unanswered   | verifying   | RetryLater, Unlock, Reply(payment unavailable)                |
//! | any but finished | unanswered (an object)   | (same)      | RetryLater, Suspend                                           |
//! | any other pair   |                          | (same)      | Suspend                                                       |
//!
//! A payment the provider has not decided (`awaiting`): 3-D Secure asks
//! the shopper to authenticate, so the attempt answers at once with what
//! to do (`PaymentActionRequired`, not stored under the key) and the
//! checkout stays open, its holds and the cart's lock kept, until the
//! deadline; the shopper's retry with the same key, the provider's
//! webhook or the alarm reads the payment (`ReadPayment`, never a second
//! create) and carries the checkout on. Past the deadline the payment is
//! canceled; one that succeeded first is carried through like any other.
//! A payment that is processing waits the same way, without a deadline.
//!
//! Points are held like stock: after the lines (and the redemption), before
//! the payment, for the plan's TTL, so a checkout abandoned before its
//! payment lets them lapse by themselves; they are spent after the units
//! are sold and before the order is recorded (both idempotent per order,
//! so a resumed `paid` spends them once). A points hold that lapsed before
//! the spending is refused like a lapsed stock hold: the card's part is
//! refunded and every unit goes back on sale.
//!
//! Compensation in words: holds are given back when the checkout ends
//! without a payment (declined, unanswered, a coupon gone, or the alarm
//! abandoning a checkout that cannot have been paid); redemptions too,
//! except when the redemption itself was refused (nothing was redeemed).
//! Out of stock at the holds gives nothing back: no hold of the checkout
//! exists to release beyond the cart's own. A payment that cannot be
//! fulfilled (the commits were refused: holds lapsed during an outage) is
//! refunded, the units sold meanwhile go back on sale, then holds and
//! redemptions are given back. A payment found while verifying an
//! unanswered charge is refunded: the shopper was told it failed. When a
//! charge goes unanswered, `verifying` is written before anything is given
//! back, and the end of verifying gives the redemptions back again
//! (idempotent): a crash in between can neither resume as paid a checkout
//! whose promotions were released nor leave a redemption behind.
//!
//! # Recovery points and the I/O budget
//!
//! `Save` writes the checkout's record (plan and step) as its recovery
//! point; the cart's object commits every write made between two round
//! trips at once (the runtime's output gate holds the next message until
//! the commit is durable). A checkout of a cart with N lines costs:
//!
//! | I/O                                      | without promotions | with promotions |
//! |------------------------------------------|-------------------:|----------------:|
//! | Worker → cart object                     | 2 (begin, run)     | 2               |
//! | Worker → store object (`Get`, alongside the begin) | 0 or 1   | 1               |
//! | cart → stock objects: holds (in parallel) | H                 | H               |
//! | cart → stock objects: commits (in parallel) | N               | N               |
//! | cart → store object (`Redeem`)           | 0                  | 1               |
//! | cart → member's ledger (hold, spend)     | 2 with points, else 0 | the same     |
//! | cart → payment provider (charge; none when points pay it all) | 1 | 1             |
//! | cart → order object (record)             | 1                  | 1               |
//! | commits in the cart's object             | 2                  | 3               |
//!
//! The order object asks no other object to record the order: the store's
//! order index, its reports and its webhooks follow the order's events,
//! which the events queue's consumer hands over in batches.
//!
//! The store's `Get` is skipped when the Worker's copy of the store's
//! state, read less than a second before, may plan the cart: no coupon on
//! it and no automatic promotion in the store
//! ([`crate::store::StoreState::counts_matter`]).
//!
//! H counts the lines [`CheckoutPlan::lines_to_hold`] names: those whose
//! cart's hold has less than half the hold TTL to run. A cart changed in
//! the last half TTL has none (its holds outlast any checkout attempt,
//! and a commit that finds its hold gone is refused and refunded like any
//! lapsed hold), so a typical checkout costs N stock round trips, not 2N.
//!
//! A declined payment costs N releases of the holds (and one release of
//! the redemptions with promotions) and one commit more: the cart's row
//! notes that its holds were given back before they go, so that no later
//! checkout counts on them. Why each commit:
//!
//! - **Before the redemption** (`Save` at `held`, with promotions only):
//!   once coupons may be redeemed, a crash must find the plan to give them
//!   back (the alarm releases them by order id).
//! - **Before the charge** (`Save` at `charging`): from here a payment may
//!   exist, so a crash must be carried through (the same idempotent charge
//!   asked again), never abandoned. Without promotions this is the first
//!   write; it carries the plan, the cart's lock and the alarm.
//! - **The end** (`Finish`): the answer under the key, for replays, and the
//!   cart emptied (when placed) and unlocked: two rows in one commit.
//!
//! Not written, because a crash there loses or repeats nothing: the begin
//! (until the plan is saved nothing was taken that does not give itself
//! back, since holds expire; the idempotency record and the lock stay in
//! memory, where concurrent duplicates see them, and a retry after a
//! restart starts over), `planned` (the same), `redeemed` (`held` resumes
//! by redeeming again, idempotent per order) and `paid` (`charging`
//! resumes by asking the provider again with the same idempotency key,
//! which answers the first outcome; the commits and the order's record are
//! idempotent too; should the provider not answer that second time, the
//! checkout goes to `verifying` and a payment found is refunded). Failure
//! paths write what they then owe: `verifying` and `refunding`, and the
//! alarm that retries them.
//!
//! What this module must not do: perform any effect, read a clock, or
//! know about HTTP.

use super::{Answer, CheckoutPlan, Refusal, ShortLine};
use crate::order::Order;
use crate::payments::{shopper_decline, PaymentAction};
use crate::store::RedemptionRefused;
use serde::{Deserialize, Serialize};

/// How far a checkout got: in memory, how far its attempt got; stored, its
/// last recovery point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Priced and planned; nothing taken yet.
    Planned,
    /// Every line held for the checkout.
    Held,
    /// Coupons redeemed. (Recorded by earlier versions; resumed as `held`
    /// with the redemption done.)
    Redeemed,
    /// The payment was asked for: its outcome may be unknown.
    Charging,
    /// Paid: the units must now be sold and the order recorded.
    Paid { reference: String },
    /// Nothing is owed any more (the answer is stored).
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
    /// The provider has the payment `reference` but has not decided: it
    /// waits for the shopper to authenticate (`action`, until `until_ms`,
    /// after which the payment is canceled), or it is processing (no
    /// action, no deadline: its webhook, or the alarm reading the payment,
    /// tells the outcome). The holds and the cart's lock stay.
    Awaiting {
        reference: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        action: Option<PaymentAction>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until_ms: Option<i64>,
    },
}

impl Step {
    /// Whether a crash at this point needs the saga to be resumed (a
    /// payment may have been taken) rather than just compensated.
    pub fn payment_may_exist(&self) -> bool {
        matches!(
            self,
            Step::Charging
                | Step::Paid { .. }
                | Step::Refunding { .. }
                | Step::Verifying
                | Step::Awaiting { .. }
        )
    }

    /// Whether the checkout waits for the provider (a refund or a charge
    /// that went unanswered, or a payment it has not decided): the alarm
    /// carries it on whatever its lease.
    pub fn awaits_provider(&self) -> bool {
        matches!(
            self,
            Step::Verifying | Step::Refunding { .. } | Step::Awaiting { .. }
        )
    }

    /// Whether the checkout waits for the shopper or the provider to decide
    /// a payment that exists: the cart stays locked even when no attempt
    /// runs (another checkout of the cart is refused meanwhile).
    pub fn awaits_payment(&self) -> bool {
        matches!(self, Step::Awaiting { .. })
    }

    /// When the shopper's time to act runs out, if it does.
    pub fn deadline(&self) -> Option<i64> {
        match self {
            Step::Awaiting { until_ms, .. } => *until_ms,
            _ => None,
        }
    }
}

/// The outcome a run from `step` starts on at `now_ms`: `Resume` for an
/// attempt (a retry with the key, or the first run), `Lapsed` for the
/// alarm or a provider's webhook, and `Expired` for either once the
/// shopper's time to act ran out.
pub fn start(step: &Step, attempt: bool, now_ms: i64) -> Outcome {
    match step.deadline() {
        Some(until) if now_ms >= until => Outcome::Expired,
        _ if attempt => Outcome::Resume,
        _ => Outcome::Lapsed,
    }
}

/// What an effect came to, as the cart's object reports it (or what
/// starts a run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An attempt runs the plan from this step: its first run, or a retry
    /// with the key after a crash.
    Resume,
    /// The cart's alarm found the attempt dead (its lease ran out, or its
    /// object instance restarted), or waiting for the provider.
    Lapsed,
    /// `HoldLines`: every line is held.
    AllHeld,
    /// `HoldLines`: these lines could not be held in full.
    Short { lines: Vec<ShortLine> },
    /// `RedeemCoupons`: every promotion redeemed for the order.
    Redeemed,
    /// `RedeemCoupons`: nothing redeemed; a promotion reached its limit or
    /// ended (`Some`), or no longer exists (`None`).
    RedemptionRefused { refused: Option<RedemptionRefused> },
    /// `HoldPoints`: the order's points are set aside.
    PointsHeld,
    /// `HoldPoints`: the member has fewer spendable points (`available`).
    PointsShort { available: i64 },
    /// `CommitPoints`: the held points are spent.
    PointsCommitted,
    /// `CommitPoints`: the hold was gone (it lapsed); nothing was spent.
    PointsRefused,
    /// `Charge`, `ReadPayment`, `CancelPayment`: the provider took the
    /// payment.
    Paid { reference: String },
    /// `Charge`, `ReadPayment`, `CancelPayment`: the provider declined, or
    /// the payment was canceled; nothing was charged. `code`: the
    /// provider's (the shopper learns [`shopper_decline`] of it).
    Declined { code: String },
    /// `Charge`, `ReadPayment`: the shopper must authenticate the payment
    /// `reference` (3-D Secure); reported at `at_ms`.
    ActionRequired {
        reference: String,
        action: PaymentAction,
        at_ms: i64,
    },
    /// `Charge`, `ReadPayment`: the provider is processing the payment.
    Processing { reference: String },
    /// The shopper's time to act ran out (the alarm, or a retry, found the
    /// deadline passed).
    Expired,
    /// `Charge`: the provider did not answer; a payment may exist or not.
    ChargeUnanswered,
    /// `CommitLines`: every held unit is sold.
    AllCommitted,
    /// `CommitLines`: some lines could not be sold (their holds lapsed);
    /// `sold`: the SKUs whose units were.
    CommitsRefused { sold: Vec<String> },
    /// `RecordOrder`: the order as the order object keeps it (the first
    /// record, when it was recorded before).
    Recorded { order: Box<Order> },
    /// `Refund`: the payment was refunded.
    Refunded,
    /// `Refund`: the provider did not answer.
    RefundUnanswered,
    /// `Restock`: the sold units are back on sale.
    Restocked,
    /// A stock, store or order object did not answer (or not as it must):
    /// the effect may or may not have happened.
    Unanswered,
}

/// What the cart's object must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    // Effects that report an outcome (one per transition, always last).
    /// Hold every line of the order for the plan's TTL, all at once
    /// (operation ids `hold`): reports `AllHeld` or `Short`.
    HoldLines,
    /// Redeem the order's promotions at the store, all or none, idempotent
    /// per order: reports `Redeemed` or `RedemptionRefused`.
    RedeemCoupons,
    /// Set the order's points aside in the member's ledger for the plan's
    /// TTL (idempotent per order): reports `PointsHeld` or `PointsShort`.
    HoldPoints,
    /// Ask the provider for the card's part of the total (idempotency key:
    /// the order id): reports `Paid`, `Declined` or `ChargeUnanswered`.
    Charge,
    /// Read the payment `reference` at the provider (never create it
    /// again): reports `Paid`, `ActionRequired`, `Processing`, `Declined`
    /// or `ChargeUnanswered`.
    ReadPayment { reference: String },
    /// Cancel the payment `reference` (the shopper did not act in time, or
    /// was told it failed): reports `Declined` once canceled, `Paid` when it
    /// succeeded first, or `ChargeUnanswered`.
    CancelPayment { reference: String },
    /// Sell the held units of every line (operation ids `commit`): reports
    /// `AllCommitted` or `CommitsRefused`.
    CommitLines,
    /// Spend the order's held points (idempotent per order): reports
    /// `PointsCommitted` or `PointsRefused`.
    CommitPoints,
    /// Record the order, paid by `reference` (the order object keeps the
    /// first record): reports `Recorded`.
    RecordOrder { reference: String },
    /// Refund the payment `reference` (idempotent per order): reports
    /// `Refunded` or `RefundUnanswered`.
    Refund { reference: String },
    /// Put the units sold for the order back on sale, for these SKUs
    /// (operation ids `restock`): reports `Restocked`.
    Restock { skus: Vec<String> },
    // Effects carried out at once (best effort where they talk to others).
    /// Release the checkout's holds (operation ids `release`).
    ReleaseHolds,
    /// Give the order's redemptions back to the store.
    ReleaseRedemptions,
    /// Give the order's points hold back to the member's ledger.
    ReleasePoints,
    /// Write the recovery point: the record with the new step (and the
    /// plan; the first write also locks the cart's row and arms the alarm).
    Save,
    /// The order is placed: the cart starts over, empty.
    EmptyCart,
    /// The cart's lines may change again (the record stays open).
    Unlock,
    /// Have the alarm carry the checkout on soon.
    RetryLater,
    // Effects that end the run.
    /// Store the answer under the key (the record is complete), unlock the
    /// cart, and answer.
    Finish(Answer),
    /// Answer now, keeping the record open for the alarm.
    Reply(Answer),
    /// Drop the record (nothing is owed and nobody waits for an answer; a
    /// retry with the key starts over) and unlock the cart.
    Forget,
    /// Stop here: the last recovery point stands, and the alarm or a retry
    /// with the key carries on from it.
    Suspend,
}

impl Effect {
    /// Whether the effect reports an outcome.
    pub fn reports(&self) -> bool {
        matches!(
            self,
            Effect::HoldLines
                | Effect::RedeemCoupons
                | Effect::HoldPoints
                | Effect::Charge
                | Effect::ReadPayment { .. }
                | Effect::CancelPayment { .. }
                | Effect::CommitLines
                | Effect::CommitPoints
                | Effect::RecordOrder { .. }
                | Effect::Refund { .. }
                | Effect::Restock { .. }
        )
    }

    /// Whether the effect ends the run.
    pub fn ends_run(&self) -> bool {
        matches!(
            self,
            Effect::Finish(_) | Effect::Reply(_) | Effect::Forget | Effect::Suspend
        )
    }
}

fn refused(refusal: Refusal) -> Answer {
    Answer::Refused { refusal }
}

/// Where checkout `plan` goes from `step` on `outcome`, and what the cart's
/// object must do (see the table in the module doc).
pub fn transition(plan: &CheckoutPlan, step: &Step, outcome: Outcome) -> (Step, Vec<Effect>) {
    use Effect as E;
    use Outcome as O;
    use Step as S;
    let points = plan.points_spent() > 0;
    let by_card = plan.card_amount() > 0;
    let give_back = |then: Vec<Effect>| -> Vec<Effect> {
        let mut effects = Vec::with_capacity(then.len() + 3);
        if plan.redeems() {
            effects.push(E::ReleaseRedemptions);
        }
        if points {
            effects.push(E::ReleasePoints);
        }
        effects.push(E::ReleaseHolds);
        effects.extend(then);
        effects
    };
    let stay = |effects: Vec<Effect>| (step.clone(), effects);
    // The payment: the card's part, or, when the points pay it all, no
    // provider at all (paid at once, the recovery point written first).
    let charge = || {
        if by_card {
            (S::Charging, vec![E::Save, E::Charge])
        } else {
            (
                S::Paid {
                    reference: settled_reference(plan),
                },
                vec![E::Save, E::CommitLines],
            )
        }
    };
    // Lines held and coupons redeemed: the points next, then the payment.
    let then_points = || {
        if points {
            stay(vec![E::HoldPoints])
        } else {
            charge()
        }
    };
    // What is left once the card's part is refunded (or there was none).
    let after_refund = |sold: &[String]| {
        if sold.is_empty() {
            (
                S::Finished,
                give_back(vec![E::Finish(refused(Refusal::RefundedOutOfStock))]),
            )
        } else {
            stay(vec![E::Restock {
                skus: sold.to_vec(),
            }])
        }
    };
    // A paid checkout that cannot be fulfilled: the card's part is
    // refunded (when there is one), then the units sold meanwhile go back.
    let refunding = |reference: &str, sold: Vec<String>| {
        if !by_card && sold.is_empty() {
            return after_refund(&[]);
        }
        let first = if by_card {
            E::Refund {
                reference: reference.to_string(),
            }
        } else {
            E::Restock { skus: sold.clone() }
        };
        (
            S::Refunding {
                reference: reference.to_string(),
                sold,
            },
            vec![E::Save, first],
        )
    };
    let unavailable = || {
        vec![
            E::RetryLater,
            E::Unlock,
            E::Reply(refused(Refusal::PaymentUnavailable)),
        ]
    };
    let declined = |code: &str| {
        let (code, message) = shopper_decline(code);
        (
            S::Finished,
            give_back(vec![E::Finish(refused(Refusal::PaymentDeclined {
                code: code.into(),
                message: message.into(),
            }))]),
        )
    };
    // The provider waits for the shopper: the holds stay until the
    // deadline, and the shopper is told what to do.
    let must_act = |reference: String, action: PaymentAction, at_ms: i64| {
        let until_ms = at_ms + plan.action_window_ms();
        let reply = Refusal::PaymentActionRequired {
            action: action.clone(),
            expires_at_ms: until_ms,
        };
        (
            S::Awaiting {
                reference,
                action: Some(action),
                until_ms: Some(until_ms),
            },
            vec![E::Save, E::RetryLater, E::Reply(refused(reply))],
        )
    };
    let processing = |reference: String| {
        (
            S::Awaiting {
                reference,
                action: None,
                until_ms: None,
            },
            vec![
                E::Save,
                E::RetryLater,
                E::Reply(refused(Refusal::PaymentProcessing)),
            ],
        )
    };
    match (step, outcome) {
        (S::Planned, O::Resume) => stay(vec![E::HoldLines]),
        (S::Planned, O::AllHeld) if plan.redeems() => (S::Held, vec![E::Save, E::RedeemCoupons]),
        (S::Planned, O::AllHeld) => then_points(),
        (S::Planned, O::Short { lines }) => (
            S::Finished,
            vec![E::Finish(refused(Refusal::OutOfStock { lines }))],
        ),
        (S::Held, O::Resume) if plan.redeems() => stay(vec![E::RedeemCoupons]),
        (S::Held | S::Redeemed, O::Resume) | (S::Held, O::Redeemed) => then_points(),
        (S::Held, O::RedemptionRefused { refused: r }) => (
            S::Finished,
            vec![
                E::ReleaseHolds,
                E::Finish(refused(Refusal::CouponUnavailable { refused: r })),
            ],
        ),
        (S::Planned | S::Held | S::Redeemed, O::PointsHeld) if points => charge(),
        (S::Planned | S::Held | S::Redeemed, O::PointsShort { available }) => (
            S::Finished,
            give_back(vec![E::Finish(refused(Refusal::InsufficientPoints {
                available,
            }))]),
        ),
        (S::Planned | S::Held | S::Redeemed, O::Lapsed) => stay(give_back(vec![E::Forget])),
        (S::Charging | S::Verifying, O::Resume | O::Lapsed) => stay(vec![E::Charge]),
        (S::Charging, O::Paid { reference }) => (S::Paid { reference }, vec![E::CommitLines]),
        (S::Charging | S::Awaiting { .. }, O::Declined { code }) => declined(&code),
        (
            S::Charging,
            O::ActionRequired {
                reference,
                action,
                at_ms,
            },
        ) => must_act(reference, action, at_ms),
        (S::Charging, O::Processing { reference }) => processing(reference),
        (S::Awaiting { reference, .. }, O::Resume | O::Lapsed) => stay(vec![E::ReadPayment {
            reference: reference.clone(),
        }]),
        (S::Awaiting { reference, .. }, O::Expired) => stay(vec![E::CancelPayment {
            reference: reference.clone(),
        }]),
        (S::Awaiting { .. }, O::Paid { reference }) => {
            (S::Paid { reference }, vec![E::CommitLines])
        }
        // Still waiting for the shopper: the same deadline.
        (
            S::Awaiting {
                action: Some(action),
                until_ms: Some(until_ms),
                ..
            },
            O::ActionRequired { .. },
        ) => stay(vec![
            E::RetryLater,
            E::Reply(refused(Refusal::PaymentActionRequired {
                action: action.clone(),
                expires_at_ms: *until_ms,
            })),
        ]),
        (
            S::Awaiting { .. },
            O::ActionRequired {
                reference,
                action,
                at_ms,
            },
        ) => must_act(reference, action, at_ms),
        (S::Awaiting { action: None, .. }, O::Processing { .. }) => stay(vec![
            E::RetryLater,
            E::Reply(refused(Refusal::PaymentProcessing)),
        ]),
        (S::Awaiting { .. }, O::Processing { reference }) => processing(reference),
        // The provider did not answer the read: the payment is still
        // pending, as far as anyone knows.
        (S::Awaiting { .. }, O::ChargeUnanswered) => stay(vec![
            E::RetryLater,
            E::Reply(refused(Refusal::PaymentProcessing)),
        ]),
        (S::Charging, O::ChargeUnanswered) if !plan.payment.may_charge_unanswered() => (
            S::Finished,
            give_back(vec![E::Finish(refused(Refusal::PaymentUnavailable))]),
        ),
        // Verifying is written before anything is given back: a crash
        // while giving back must not resume the checkout as if nothing had
        // been (its end gives the redemptions back again, idempotently).
        (S::Charging, O::ChargeUnanswered) => {
            let mut effects = vec![E::Save];
            effects.extend(give_back(unavailable()));
            (S::Verifying, effects)
        }
        (S::Paid { .. }, O::Resume | O::Lapsed) => stay(vec![E::CommitLines]),
        (S::Paid { .. }, O::AllCommitted) if points => stay(vec![E::CommitPoints]),
        (S::Paid { reference }, O::AllCommitted | O::PointsCommitted) => {
            stay(vec![E::RecordOrder {
                reference: reference.clone(),
            }])
        }
        // The points hold lapsed: every line was sold, so every line goes
        // back once the card's part is refunded.
        (S::Paid { reference }, O::PointsRefused) => {
            let sold = plan.order.lines.iter().map(|l| l.sku.clone()).collect();
            refunding(reference, sold)
        }
        (S::Paid { reference }, O::CommitsRefused { sold }) => refunding(reference, sold),
        (S::Paid { .. }, O::Recorded { order }) => (
            S::Finished,
            vec![
                E::EmptyCart,
                E::Finish(Answer::Placed {
                    order,
                    order_token: plan.order_token.clone(),
                }),
            ],
        ),
        (S::Refunding { sold, .. }, O::Resume | O::Lapsed) if !by_card => after_refund(sold),
        (S::Refunding { reference, .. }, O::Resume | O::Lapsed) => stay(vec![E::Refund {
            reference: reference.clone(),
        }]),
        (S::Refunding { sold, .. }, O::Refunded) => after_refund(sold),
        (S::Refunding { .. }, O::Restocked) => after_refund(&[]),
        (S::Refunding { .. }, O::RefundUnanswered) => stay(unavailable()),
        (S::Verifying, O::Paid { reference }) => stay(vec![E::Refund { reference }]),
        // The lost charge waits for an authentication nobody will give (the
        // shopper was told it failed): it is canceled.
        (S::Verifying, O::ActionRequired { reference, .. }) => {
            stay(vec![E::CancelPayment { reference }])
        }
        (S::Verifying, O::Processing { .. }) => stay(unavailable()),
        (S::Verifying, O::Declined { .. } | O::Refunded) => {
            let mut effects = Vec::new();
            if plan.redeems() {
                effects.push(E::ReleaseRedemptions);
            }
            effects.push(E::Finish(refused(Refusal::PaymentUnavailable)));
            (S::Finished, effects)
        }
        (S::Verifying, O::ChargeUnanswered | O::RefundUnanswered) => stay(unavailable()),
        (S::Finished, _) => stay(vec![E::Suspend]),
        (_, O::Unanswered) => stay(vec![E::RetryLater, E::Suspend]),
        _ => stay(vec![E::Suspend]),
    }
}

/// The payment reference of an order the card pays nothing of:
/// `points_{order}` when the points paid it all, `free_{order}` when there
/// was nothing to pay.
pub fn settled_reference(plan: &CheckoutPlan) -> String {
    if plan.points_spent() > 0 {
        format!("points_{}", plan.order.id)
    } else {
        format!("free_{}", plan.order.id)
    }
}

#[cfg(test)]
mod tests;
