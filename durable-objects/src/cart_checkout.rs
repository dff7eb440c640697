//! Checkout, carried out by the cart's object: the idempotency record of
//! each key, the plan, and the saga with its recovery points (see
//! `edgecart_domain::checkout`). Every step is idempotent by ids derived
//! from the order id (stock operation ids, the store's redemption per
//! order, the provider's idempotency key, the order object's first
//! record), so running a stored plan again, after a crash or on a retry
//! with the same key, continues where it stopped and repeats nothing.
//!
//! The cart's alarm resumes checkouts whose attempt died: a plan that may
//! have taken a payment is carried through (or refunded); one that cannot
//! have is abandoned (its coupons given back, its holds left to expire).

use crate::cart_object::{now_ms, Carts};
use crate::json;
use crate::payment::{self, ChargeOutcome, RefundOutcome};
use crate::protocol::{
    call_order, call_stock, call_store, problem, ApplyReply, CheckoutBeginReply, CheckoutResponse,
    OrderCommand, OrderReply, StockCommand, StoreCommand, StoreReply,
};
use edgecart_domain::checkout::{stock_op_id, Checkout, CheckoutPlan, Step};
use edgecart_domain::idempotency::{self, Begin, IdempotencyRecord, IdempotencyState};
use edgecart_domain::order::{OrderEvent, Payment};
use edgecart_domain::stock::{StockError, StockOp};
use edgecart_domain::store::PaymentSettings;
use futures_util::future::join_all;
use serde::Deserialize;
use serde_json::json as body;

pub(crate) const CHECKOUT_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS checkouts (key TEXT PRIMARY KEY, json TEXT NOT NULL, updated_ms INTEGER NOT NULL);
";
/// How long an attempt holds its key before another may resume it.
pub const LEASE_MS: i64 = 60_000;
/// How soon the alarm asks a provider again about an unanswered charge.
const VERIFY_RETRY_MS: i64 = 30_000;

/// The answer for an attempt that may not carry on with checkout `c`: the
/// stored response once it finished, or 409 when another attempt runs it.
fn not_this_attempt(c: &Checkout, attempt: &str) -> Option<CheckoutResponse> {
    if let IdempotencyState::Completed { status, body, .. } = &c.record.state {
        return Some(CheckoutResponse {
            status: *status,
            body: body.clone(),
        });
    }
    (c.attempt != attempt).then(|| {
        problem(
            409,
            "idempotency_in_progress",
            "Checkout in progress",
            "Another attempt with this Idempotency-Key is running; retry shortly.",
            body!({}),
        )
    })
}

impl Carts {
    pub(crate) fn checkout(&self, key: &str) -> Result<Option<Checkout>, String> {
        let sql = self.storage.sql();
        crate::create_schema(&sql, CHECKOUT_SCHEMA)?;
        #[derive(Deserialize)]
        struct Row {
            json: String,
        }
        sql.exec("SELECT json FROM checkouts WHERE key = ?", vec![key.into()])
            .and_then(|c| c.to_array::<Row>())
            .map_err(|e| format!("loading checkout: {e}"))?
            .first()
            .map(|r| serde_json::from_str(&r.json).map_err(|e| format!("stored checkout: {e}")))
            .transpose()
    }

    fn put_checkout(&self, c: &Checkout) -> Result<(), String> {
        self.storage
            .sql()
            .exec(
                "INSERT OR REPLACE INTO checkouts (key, json, updated_ms) VALUES (?, ?, ?)",
                vec![
                    c.record.key.as_str().into(),
                    json(c)?.into(),
                    now_ms().into(),
                ],
            )
            .map(|_| ())
            .map_err(|e| format!("saving checkout: {e}"))
    }

    /// Sets or clears the cart's checkout lock.
    fn lock_cart(&self, key: Option<&str>) -> Result<(), String> {
        let loaded = self.load()?;
        let Some((token, mut cart)) = loaded.cart else {
            return Ok(());
        };
        cart.checkout = key.map(str::to_string);
        self.save(&token, &cart, None)
    }

    /// Whether `c`'s attempt is gone: its lease ran out, or it ran in an
    /// earlier instance of this object (which a crash or restart ended).
    fn stale(&self, c: &Checkout, now: i64) -> bool {
        let started = match c.record.state {
            IdempotencyState::InProgress { started_at_ms } => started_at_ms,
            IdempotencyState::Completed { .. } => return false,
        };
        now >= started + LEASE_MS || !self.live.borrow().contains(&c.attempt)
    }

    pub(crate) async fn checkout_begin(
        &self,
        token: &str,
        key: &str,
        fingerprint: &str,
        attempt: &str,
        lease_ms: i64,
    ) -> Result<CheckoutBeginReply, String> {
        let now = now_ms();
        let Some((cart, _)) = self.open(token)? else {
            return Ok(CheckoutBeginReply::NotFound);
        };
        let existing = self.checkout(key)?;
        let record = existing.as_ref().map(|c| &c.record);
        match idempotency::begin(record, key, fingerprint, now, lease_ms) {
            Begin::Replay { status, body } => {
                return Ok(CheckoutBeginReply::Replay {
                    status,
                    body: body.to_string(),
                })
            }
            Begin::Mismatch => return Ok(CheckoutBeginReply::Mismatch),
            Begin::InProgress if !existing.as_ref().is_some_and(|c| self.stale(c, now)) => {
                return Ok(CheckoutBeginReply::InProgress)
            }
            Begin::InProgress | Begin::Start => {}
        }
        if let Some(other) = cart.checkout.as_deref().filter(|k| *k != key) {
            let busy = self.checkout(other)?.is_some_and(|c| {
                !self.stale(&c, now)
                    && matches!(c.record.state, IdempotencyState::InProgress { .. })
            });
            if busy {
                return Ok(CheckoutBeginReply::CartBusy);
            }
        }
        // A crashed attempt that planned already is resumed, not restarted.
        let resume = existing.as_ref().filter(|c| {
            matches!(c.record.state, IdempotencyState::InProgress { .. }) && c.plan.is_some()
        });
        let checkout = match resume {
            Some(c) => Checkout {
                attempt: attempt.to_string(),
                record: IdempotencyRecord::in_progress(key, fingerprint, now),
                ..c.clone()
            },
            None => Checkout {
                record: IdempotencyRecord::in_progress(key, fingerprint, now),
                attempt: attempt.to_string(),
                plan: None,
                step: Step::Planned,
            },
        };
        self.put_checkout(&checkout)?;
        self.lock_cart(Some(key))?;
        self.live.borrow_mut().insert(attempt.to_string());
        self.arm(now + lease_ms + 1_000).await?;
        Ok(if checkout.plan.is_some() {
            CheckoutBeginReply::Resume
        } else {
            CheckoutBeginReply::Start { cart }
        })
    }

    /// Stores the response of checkout `key` and releases the cart.
    fn finish(&self, mut c: Checkout, response: &CheckoutResponse) -> Result<(), String> {
        c.record = c
            .record
            .completed(response.status, response.body.clone(), now_ms());
        c.step = Step::Finished;
        self.put_checkout(&c)?;
        self.live.borrow_mut().remove(&c.attempt);
        self.lock_cart(None)
    }

    pub(crate) fn checkout_finish(
        &self,
        key: &str,
        attempt: &str,
        keep: bool,
        response: CheckoutResponse,
    ) -> Result<CheckoutResponse, String> {
        let Some(c) = self.checkout(key)? else {
            return Err(format!("checkout {key} finished before it began"));
        };
        if let Some(answer) = not_this_attempt(&c, attempt) {
            return Ok(answer);
        }
        if keep {
            self.finish(c, &response)?;
        } else {
            self.storage
                .sql()
                .exec("DELETE FROM checkouts WHERE key = ?", vec![key.into()])
                .map_err(|e| format!("dropping checkout: {e}"))?;
            self.live.borrow_mut().remove(attempt);
            self.lock_cart(None)?;
        }
        Ok(response)
    }

    /// Carries out checkout `key` from its recovery point.
    pub(crate) async fn checkout_run(
        &self,
        key: &str,
        attempt: &str,
        plan: Option<CheckoutPlan>,
    ) -> Result<CheckoutResponse, String> {
        let Some(mut c) = self.checkout(key)? else {
            return Err(format!("checkout {key} runs before it began"));
        };
        if let Some(answer) = not_this_attempt(&c, attempt) {
            return Ok(answer);
        }
        if c.plan.is_none() {
            c.plan = plan;
            c.step = Step::Planned;
            // Recovery point: from here on the alarm can finish the checkout.
            self.put_checkout(&c)?;
        }
        let outcome = self.advance(c).await;
        self.live.borrow_mut().remove(attempt);
        outcome
    }

    /// Runs the saga from `c.step` until it finishes (or must wait).
    async fn advance(&self, mut c: Checkout) -> Result<CheckoutResponse, String> {
        let plan = c.plan.clone().ok_or("checkout without a plan")?;
        let order = plan.order.id.clone();
        let cart_id = plan.order.cart_id.clone();
        loop {
            match c.step.clone() {
                Step::Planned => {
                    let expires = now_ms() + plan.hold_ttl_ms;
                    let holds = join_all(plan.order.lines.iter().map(|l| {
                        let op = StockOp::Hold {
                            cart: cart_id.clone(),
                            quantity: l.quantity,
                            expires_at_ms: expires,
                        };
                        self.stock_op(&l.sku, stock_op_id(&order, "hold", &l.sku), op)
                    }))
                    .await;
                    let mut short = Vec::new();
                    for (line, reply) in plan.order.lines.iter().zip(holds) {
                        match reply?.outcome {
                            Ok(_) => {}
                            Err(StockError::OutOfStock { available }) => short.push(body!({
                                "sku": line.sku, "requested": line.quantity, "available": available
                            })),
                            Err(other) => return Err(format!("hold on {}: {other:?}", line.sku)),
                        }
                    }
                    if !short.is_empty() {
                        let r = problem(409, "out_of_stock", "Out of stock", "Some lines are no longer available in the quantity in the cart; nothing was charged.", body!({ "lines": short }));
                        self.finish(c, &r)?;
                        return Ok(r);
                    }
                    c.step = Step::Held;
                    self.put_checkout(&c)?;
                }
                Step::Held => {
                    let ids: Vec<String> =
                        plan.order.promotions.iter().map(|p| p.id.clone()).collect();
                    if !ids.is_empty() {
                        let command = StoreCommand::Redeem {
                            order: order.clone(),
                            customer: plan.order.email.clone(),
                            promotions: ids,
                        };
                        match call_store(&self.env, &command)
                            .await
                            .map_err(|e| e.to_string())?
                        {
                            StoreReply::Redeemed => {}
                            StoreReply::RedemptionRefused(refused) => {
                                let r = problem(409, "coupon_unavailable", "Coupon unavailable", "A promotion of this cart reached its usage limit or ended; read the cart again for its new total. Nothing was charged.", body!({ "promotion": refused.promotion, "reason": refused.refusal }));
                                self.release_holds(&plan).await;
                                self.finish(c, &r)?;
                                return Ok(r);
                            }
                            StoreReply::NotFound => {
                                let r = problem(409, "coupon_unavailable", "Coupon unavailable", "A promotion of this cart no longer exists; read the cart again for its new total. Nothing was charged.", body!({}));
                                self.release_holds(&plan).await;
                                self.finish(c, &r)?;
                                return Ok(r);
                            }
                            other => return Err(format!("store answered {other:?}")),
                        }
                    }
                    c.step = Step::Redeemed;
                    self.put_checkout(&c)?;
                }
                Step::Redeemed => {
                    c.step = Step::Charging;
                    // Recovery point before the provider is asked.
                    self.put_checkout(&c)?;
                }
                Step::Charging => {
                    match self.charge(&plan).await {
                        ChargeOutcome::Paid { reference } => {
                            c.step = Step::Paid { reference };
                            self.put_checkout(&c)?;
                        }
                        ChargeOutcome::Declined { code, message } => {
                            self.compensate(&plan).await;
                            let r = problem(
                                402,
                                "payment_declined",
                                "Payment declined",
                                &format!("{message} Nothing was charged; the cart is unchanged."),
                                body!({ "decline_code": code }),
                            );
                            self.finish(c, &r)?;
                            return Ok(r);
                        }
                        ChargeOutcome::Unavailable { cause } => {
                            worker::console_error!(
                                "checkout {order}: provider unavailable: {cause}"
                            );
                            self.compensate(&plan).await;
                            if plan.payment == (PaymentSettings::Test {}) {
                                // The test provider never charges on a timeout.
                                self.finish(c, &unavailable())?;
                                return Ok(unavailable());
                            }
                            c.step = Step::Verifying;
                            self.put_checkout(&c)?;
                            self.arm(now_ms() + VERIFY_RETRY_MS).await?;
                            self.lock_cart(None)?;
                            // Answered now; the record completes once verified.
                            return Ok(unavailable());
                        }
                    }
                }
                Step::Paid { reference } => {
                    let commits = join_all(plan.order.lines.iter().map(|l| {
                        let op = StockOp::Commit {
                            cart: cart_id.clone(),
                            quantity: l.quantity,
                        };
                        self.stock_op(&l.sku, stock_op_id(&order, "commit", &l.sku), op)
                    }))
                    .await;
                    let mut lost = Vec::new();
                    let mut sold = Vec::new();
                    for (line, reply) in plan.order.lines.iter().zip(commits) {
                        match reply?.outcome {
                            Ok(_) => sold.push(line.sku.clone()),
                            Err(e) => lost.push(body!({ "sku": line.sku, "requested": line.quantity, "reason": format!("{e:?}") })),
                        }
                    }
                    if !lost.is_empty() {
                        // The holds lapsed before the units could be sold
                        // (a crash outlived them): refund, sell nothing more.
                        worker::console_error!("checkout {order}: commits refused: {lost:?}");
                        c.step = Step::Refunding { reference, sold };
                        self.put_checkout(&c)?;
                        continue;
                    }
                    let mut recorded = plan.order.clone();
                    recorded.payment = Payment {
                        provider: payment::provider_name(&plan.payment).into(),
                        reference: reference.clone(),
                    };
                    recorded
                        .apply(OrderEvent::PaymentCaptured, now_ms())
                        .map_err(|e| format!("order {order}: {e:?}"))?;
                    let command = OrderCommand::Record {
                        order: Box::new(recorded),
                        token: plan.order_token.clone(),
                        settings: plan.payment.clone(),
                    };
                    let stored = match call_order(&self.env, &order, &command)
                        .await
                        .map_err(|e| e.to_string())?
                    {
                        OrderReply::Order { order } => order,
                        OrderReply::NotFound | OrderReply::Illegal { .. } => {
                            return Err(format!("order {order} was not recorded"))
                        }
                    };
                    self.empty_cart()?;
                    let r = CheckoutResponse {
                        status: 201,
                        body: body!({ "order": *stored, "order_token": plan.order_token })
                            .to_string(),
                    };
                    self.finish(c, &r)?;
                    return Ok(r);
                }
                Step::Refunding { reference, sold } => {
                    match payment::refund(&self.env, &plan.payment, &order, &reference).await {
                        RefundOutcome::Refunded => {
                            // What was sold for this order goes back on sale.
                            let restocks = join_all(
                                plan.order
                                    .lines
                                    .iter()
                                    .filter(|l| sold.contains(&l.sku))
                                    .map(|l| {
                                        let op = StockOp::Restock {
                                            quantity: l.quantity,
                                            reason: format!("checkout {order} refunded"),
                                        };
                                        self.stock_op(
                                            &l.sku,
                                            stock_op_id(&order, "restock", &l.sku),
                                            op,
                                        )
                                    }),
                            )
                            .await;
                            if let Some(e) = restocks.into_iter().find_map(Result::err) {
                                self.arm(now_ms() + VERIFY_RETRY_MS).await?;
                                return Err(format!("restocking {order}: {e}"));
                            }
                            self.compensate(&plan).await;
                            let r = problem(409, "out_of_stock", "Out of stock", "The items could not be reserved in time; the payment was refunded.", body!({}));
                            self.finish(c, &r)?;
                            return Ok(r);
                        }
                        RefundOutcome::Unavailable { cause } => {
                            worker::console_error!("refund of {order} pending: {cause}");
                            self.arm(now_ms() + VERIFY_RETRY_MS).await?;
                            self.lock_cart(None)?;
                            return Ok(unavailable());
                        }
                    }
                }
                Step::Verifying => {
                    match self.charge(&plan).await {
                        ChargeOutcome::Paid { reference } => {
                            // The shopper was told it failed: give it back.
                            match payment::refund(&self.env, &plan.payment, &order, &reference)
                                .await
                            {
                                RefundOutcome::Refunded => {
                                    self.finish(c, &unavailable())?;
                                    return Ok(unavailable());
                                }
                                RefundOutcome::Unavailable { cause } => {
                                    worker::console_error!("refund of {order} pending: {cause}");
                                    self.arm(now_ms() + VERIFY_RETRY_MS).await?;
                                    self.lock_cart(None)?;
                                    return Ok(unavailable());
                                }
                            }
                        }
                        ChargeOutcome::Declined { .. } => {
                            self.finish(c, &unavailable())?;
                            return Ok(unavailable());
                        }
                        ChargeOutcome::Unavailable { cause } => {
                            worker::console_error!("verifying the charge of {order}: {cause}");
                            self.arm(now_ms() + VERIFY_RETRY_MS).await?;
                            self.lock_cart(None)?;
                            return Ok(unavailable());
                        }
                    }
                }
                Step::Finished => {
                    return match &c.record.state {
                        IdempotencyState::Completed { status, body, .. } => Ok(CheckoutResponse {
                            status: *status,
                            body: body.clone(),
                        }),
                        IdempotencyState::InProgress { .. } => Ok(unavailable()),
                    }
                }
            }
        }
    }

    /// Asks the provider for the plan's total: idempotent by the order id,
    /// so asking again learns the first outcome.
    async fn charge(&self, plan: &CheckoutPlan) -> ChargeOutcome {
        let total =
            edgecart_domain::money::Money::new(plan.order.totals.grand_total, plan.order.currency);
        payment::charge(
            &self.env,
            &plan.payment,
            &plan.order.id,
            total,
            &plan.payment_token,
        )
        .await
    }

    async fn stock_op(&self, sku: &str, op_id: String, op: StockOp) -> Result<ApplyReply, String> {
        call_stock(&self.env, sku, &StockCommand::Apply { op_id, op })
            .await
            .map_err(|e| format!("stock object {sku}: {e}"))
    }

    /// Gives back what a checkout that will not be paid took: its coupon
    /// redemptions and its holds (best effort: holds expire anyway).
    async fn compensate(&self, plan: &CheckoutPlan) {
        if !plan.order.promotions.is_empty() {
            let command = StoreCommand::Release {
                order: plan.order.id.clone(),
            };
            if let Err(e) = call_store(&self.env, &command).await {
                worker::console_error!("releasing the coupons of {}: {e}", plan.order.id);
            }
        }
        self.release_holds(plan).await;
    }

    async fn release_holds(&self, plan: &CheckoutPlan) {
        let order = &plan.order.id;
        join_all(plan.order.lines.iter().map(|l| {
            let op = StockOp::Release {
                cart: plan.order.cart_id.clone(),
            };
            self.stock_op(&l.sku, stock_op_id(order, "release", &l.sku), op)
        }))
        .await;
    }

    /// The order is placed: the cart starts over, empty.
    fn empty_cart(&self) -> Result<(), String> {
        let loaded = self.load()?;
        let Some((token, mut cart)) = loaded.cart else {
            return Ok(());
        };
        cart.lines.clear();
        cart.coupons.clear();
        cart.holds_expire_at_ms = None;
        self.save(&token, &cart, None)
    }

    /// Makes sure the alarm fires by `at`.
    async fn arm(&self, at: i64) -> Result<(), String> {
        let storage = &self.storage;
        let current = storage
            .get_alarm()
            .await
            .map_err(|e| format!("reading the alarm: {e}"))?;
        if current.is_some_and(|t| t <= at) {
            return Ok(());
        }
        storage
            .set_alarm((at - now_ms()).max(0))
            .await
            .map_err(|e| format!("setting the alarm: {e}"))
    }

    /// The alarm: resumes or abandons checkouts whose attempt died, and
    /// forgets finished ones after their retention.
    pub(crate) async fn checkout_alarm(&self) -> Result<(), String> {
        let now = now_ms();
        let sql = self.storage.sql();
        crate::create_schema(&sql, CHECKOUT_SCHEMA)?;
        sql.exec(
            "DELETE FROM checkouts WHERE updated_ms < ?",
            vec![(now - idempotency::RETENTION_MS).into()],
        )
        .map_err(|e| format!("forgetting checkouts: {e}"))?;
        #[derive(Deserialize)]
        struct Row {
            json: String,
        }
        let rows = sql
            .exec("SELECT json FROM checkouts", None)
            .and_then(|c| c.to_array::<Row>())
            .map_err(|e| format!("loading checkouts: {e}"))?;
        let mut next: Option<i64> = None;
        for row in rows {
            let c: Checkout =
                serde_json::from_str(&row.json).map_err(|e| format!("stored checkout: {e}"))?;
            let waiting = matches!(c.step, Step::Verifying | Step::Refunding { .. });
            let open = matches!(c.record.state, IdempotencyState::InProgress { .. });
            if !open {
                continue;
            }
            if !waiting && !self.stale(&c, now) {
                next = Some(next.map_or(now + LEASE_MS, |n: i64| n.min(now + LEASE_MS)));
                continue;
            }
            if c.plan.is_some() && c.step.payment_may_exist() {
                if let Err(e) = self.advance(c).await {
                    worker::console_error!("resuming a checkout: {e}");
                    next = Some(now + VERIFY_RETRY_MS);
                }
            } else {
                // Nothing can have been paid: give back, let a retry start over.
                if let Some(plan) = &c.plan {
                    self.compensate(plan).await;
                }
                sql.exec(
                    "DELETE FROM checkouts WHERE key = ?",
                    vec![c.record.key.as_str().into()],
                )
                .map_err(|e| format!("dropping checkout: {e}"))?;
                self.lock_cart(None)?;
            }
        }
        if let Some(at) = next {
            self.arm(at).await?;
        }
        Ok(())
    }
}

fn unavailable() -> CheckoutResponse {
    problem(503, "payment_unavailable", "Payment unavailable", "The payment provider did not answer. Nothing was charged (any payment it took later is refunded); try again with a new Idempotency-Key.", body!({}))
}
