//! Checkout, carried out by the cart's object: the idempotency record of
//! each key, and the interpreter of the saga. Every rule is the domain's
//! (`edgecart_domain::checkout`): the object performs the effects that
//! [`transition`] gives it, reports what each came to, and writes the
//! recovery points the table asks for. It decides nothing itself.
//!
//! Every effect is idempotent by ids derived from the order id (stock
//! operation ids, the store's redemption per order, the provider's
//! idempotency key, the order object's first record), so running a stored
//! plan again, after a crash or on a retry with the same key, continues
//! from its last recovery point and repeats nothing.
//!
//! A checkout begun in this instance lives in memory ([`Attempt`]) until
//! its first recovery point: nothing durable was taken before it (holds
//! expire by themselves), so the record, and the cart's lock, are written
//! with that point and not at the begin (see the saga's I/O budget). The
//! attempts held here also say which checkouts are alive: one whose
//! attempt is not here (a restart ended it) or whose lease ran out is
//! stale, and may be resumed by a retry with its key or by the alarm.
//!
//! The cart's alarm carries on the stored checkouts no attempt holds: the
//! saga's `Lapsed` outcome resumes one that may have taken a payment and
//! abandons one that cannot have (its coupons and holds given back).

use crate::cart_object::{now_ms, Carts};
use crate::object::{arm_by, arm_in, Handled, Tables};
use crate::payment::{self, ChargeOutcome, ForOrder, RefundOutcome};
use crate::protocol::cart::{self, CartRefusal, CheckoutBeginReply, CheckoutReply};
use crate::protocol::points::{self, PointsRefusal};
use crate::protocol::store::{self, StoreRefusal};
use crate::protocol::{order, send};
use edgecart_domain::abuse::{retry_after_secs, StrikePolicy};
use edgecart_domain::cart::CheckoutSeen;
use edgecart_domain::checkout::saga::start;
use edgecart_domain::checkout::{
    stock_op_id, transition, Answer, Checkout, CheckoutPlan, Effect, Outcome, Refusal, ShortLine,
    Step, StoredAnswer,
};
use edgecart_domain::idempotency::{self, Begin, IdempotencyRecord, IdempotencyState};
use edgecart_domain::money::Money;
use edgecart_domain::stock::{StockError, StockOp};
use edgecart_domain::stores::object_name;
use futures_util::future::join_all;

pub(crate) const CHECKOUT_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS checkouts (key TEXT PRIMARY KEY, json TEXT NOT NULL, updated_ms INTEGER NOT NULL);
";
/// The provider's events a cart acted on: made by the first one (rare), not
/// by every cart's first checkout.
const PROVIDER_EVENTS_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS provider_events (id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL);
";
/// How long a provider's event id is remembered: Stripe retries a webhook
/// for up to three days.
const EVENTS_KEPT_MS: i64 = 72 * 60 * 60 * 1000;
/// How long an attempt holds its key before another may resume it, unless
/// the operator says otherwise (`CHECKOUT_LEASE_MS`).
pub const LEASE_MS: i64 = 60_000;

/// The lease of this deployment: `CHECKOUT_LEASE_MS` (at least a second),
/// else [`LEASE_MS`].
pub fn lease_ms(env: &worker::Env) -> i64 {
    env.var("CHECKOUT_LEASE_MS")
        .ok()
        .and_then(|v| v.to_string().parse::<i64>().ok())
        .filter(|ms| *ms >= 1_000)
        .unwrap_or(LEASE_MS)
}
/// How soon the alarm carries on a checkout that waits (`RetryLater`).
const VERIFY_RETRY_MS: i64 = 30_000;
/// How long a checkout may wait for the provider before it is listed as
/// stuck, unless the operator says otherwise (`CHECKOUT_STUCK_AFTER_MS`).
const STUCK_AFTER_MS: i64 = 60 * 60 * 1000;

/// A checkout an attempt of this object instance holds: begun (waiting for
/// the Worker's plan) or running its saga.
pub(crate) struct Attempt {
    checkout: Checkout,
    /// Whether its record is stored (a recovery point was written, or it
    /// was read from storage); otherwise it exists only here.
    durable: bool,
    /// Whether its saga runs; else the Worker has not sent the plan yet.
    running: bool,
    /// A run of the object's own (the alarm, a provider's webhook): a
    /// retry with the key takes it over at once (it stops before its next
    /// effect), as nobody waits for its answer.
    own: bool,
    /// The Worker's decline policy for the cart's own count (absent for a
    /// run of the object's own: nobody is told, nothing is counted).
    declines: Option<StrikePolicy>,
}

/// When an in-progress record's attempt started.
fn started(c: &Checkout) -> Option<i64> {
    match c.record.state {
        IdempotencyState::InProgress { started_at_ms } => Some(started_at_ms),
        IdempotencyState::Completed { .. } => None,
    }
}

/// Logs why an effect's outcome is unknown.
fn unanswered(cause: String) -> Outcome {
    worker::console_error!("checkout: {cause}");
    Outcome::Unanswered
}

impl Carts {
    /// The SQL storage, with the checkouts table created (once per instance).
    fn checkouts_table(&self) -> Result<Tables, String> {
        if self.checkouts_ready.get() {
            return Ok(Tables::opened(&self.storage));
        }
        let tables = Tables::open(&self.storage, CHECKOUT_SCHEMA)?;
        self.checkouts_ready.set(true);
        Ok(tables)
    }

    /// Whether the checkouts table exists (a cart that never began a
    /// checkout has none, and an alarm does not create it).
    pub(crate) fn has_checkouts(&self) -> Result<bool, String> {
        Ok(self.checkouts_ready.get() || Tables::opened(&self.storage).has_table("checkouts")?)
    }

    /// Every checkout of the cart as idle expiry sees it: the stored
    /// records and the attempts of this instance (begun ones are open even
    /// before their first recovery point).
    pub(crate) fn checkouts_seen(&self) -> Result<Vec<CheckoutSeen>, String> {
        let mut seen: Vec<CheckoutSeen> = self
            .attempts
            .borrow()
            .values()
            .map(|a| CheckoutSeen::of(&a.checkout))
            .collect();
        if self.has_checkouts()? {
            // Only what idle expiry reads of each record (its state, and
            // when it finished), not the records with their plans.
            #[derive(serde::Deserialize)]
            struct Seen {
                state: Option<String>,
                completed_at_ms: Option<f64>,
            }
            let stored: Vec<Seen> = self.checkouts_table()?.rows(
                "reading the checkouts' states",
                "SELECT json_extract(json, ?) AS state, json_extract(json, ?) AS completed_at_ms \
                 FROM checkouts",
                vec![
                    CheckoutSeen::STATE_PATH.into(),
                    CheckoutSeen::COMPLETED_PATH.into(),
                ],
            )?;
            seen.extend(stored.into_iter().map(|s| {
                CheckoutSeen::stored(s.state.as_deref(), s.completed_at_ms.map(|at| at as i64))
            }));
        }
        Ok(seen)
    }

    /// The stored record of checkout `key`.
    fn stored_checkout(&self, key: &str) -> Result<Option<Checkout>, String> {
        self.checkouts_table()?.document(
            "checkout",
            "SELECT json FROM checkouts WHERE key = ?",
            vec![key.into()],
        )
    }

    /// Checkout `key` as an attempt here holds it, else as stored; and
    /// whether it is stored.
    pub(crate) fn checkout(&self, key: &str) -> Result<Option<(Checkout, bool)>, String> {
        if let Some(a) = self.attempts.borrow().get(key) {
            return Ok(Some((a.checkout.clone(), a.durable)));
        }
        Ok(self.stored_checkout(key)?.map(|c| (c, true)))
    }

    fn put_checkout(&self, c: &Checkout) -> Result<(), String> {
        self.checkouts_table()?.exec(
            "saving checkout",
            "INSERT OR REPLACE INTO checkouts (key, json, updated_ms) VALUES (?, ?, ?)",
            vec![
                c.record.key.as_str().into(),
                crate::object::json(c)?.into(),
                now_ms().into(),
            ],
        )
    }

    fn delete_checkout(&self, key: &str) -> Result<(), String> {
        self.checkouts_table()?.exec(
            "dropping checkout",
            "DELETE FROM checkouts WHERE key = ?",
            vec![key.into()],
        )
    }

    /// Clears the cart's lock if checkout `key` holds it, in memory; true
    /// when it did (the caller writes the row when the lock was stored).
    fn unlock(&self, key: &str) -> Result<bool, String> {
        let mut changed = false;
        self.edit_cart(|cart| {
            if cart.checkout.as_deref() == Some(key) {
                cart.checkout = None;
                changed = true;
            }
        })?;
        Ok(changed)
    }

    /// Ends the attempt that holds checkout `key`, if it is `attempt`: a
    /// record that was never stored is dropped with it (and its lock).
    fn end_attempt(&self, key: &str, attempt: &str) -> Result<(), String> {
        let ended = {
            let mut attempts = self.attempts.borrow_mut();
            match attempts.get(key) {
                Some(a) if a.checkout.attempt == attempt => attempts.remove(key),
                _ => None,
            }
        };
        if ended.is_some_and(|a| !a.durable) {
            self.unlock(key)?;
        }
        Ok(())
    }

    /// Drops begun attempts whose Worker never sent the plan within the
    /// lease (it died, or gave up): nothing was taken for them.
    pub(crate) fn sweep(&self, now: i64) -> Result<(), String> {
        let gone: Vec<(String, String)> = self
            .attempts
            .borrow()
            .iter()
            .filter(|(_, a)| {
                !a.running && started(&a.checkout).is_none_or(|s| now >= s + lease_ms(&self.env))
            })
            .map(|(key, a)| (key.clone(), a.checkout.attempt.clone()))
            .collect();
        for (key, attempt) in gone {
            self.end_attempt(&key, &attempt)?;
        }
        Ok(())
    }

    /// Whether `c`'s attempt is gone: its lease ran out, or no attempt of
    /// this instance holds it (a crash or restart ended it), or only a run
    /// of the object's own does (which a retry with the key takes over).
    fn stale(&self, c: &Checkout, now: i64) -> bool {
        let Some(started) = started(c) else {
            return false;
        };
        let held = self
            .attempts
            .borrow()
            .get(&c.record.key)
            .is_some_and(|a| a.checkout.attempt == c.attempt && !a.own);
        now >= started + lease_ms(&self.env) || !held
    }

    /// Whether a checkout freezes the cart's lines and coupons: the cart
    /// names one, and its record is still open (a lock whose checkout
    /// ended or was dropped does not count).
    pub(crate) fn locked(&self, cart: &edgecart_domain::cart::Cart) -> Result<bool, String> {
        let Some(key) = cart.checkout.as_deref() else {
            return Ok(false);
        };
        self.sweep(now_ms())?;
        Ok(self
            .checkout(key)?
            .is_some_and(|(c, _)| c.record.response().is_none()))
    }

    pub(crate) async fn checkout_begin(
        &self,
        cart::CheckoutBegin {
            token,
            key,
            fingerprint,
            attempt,
            lease_ms,
            declines,
        }: cart::CheckoutBegin,
    ) -> Handled<cart::CheckoutBegin> {
        let (token, key, fingerprint, attempt) = (&*token, &*key, &*fingerprint, &*attempt);
        let now = now_ms();
        self.sweep(now)?;
        let Some((mut cart, _)) = self.open(token)? else {
            return Ok(Err(CartRefusal::NotFound));
        };
        self.seen(token, &mut cart, now)?;
        let existing = self.checkout(key)?;
        let record = existing.as_ref().map(|(c, _)| &c.record);
        match idempotency::begin(record, key, fingerprint, now, lease_ms) {
            Begin::Replay(answer) => {
                return Ok(Ok(CheckoutBeginReply::Replay {
                    answer: answer.clone(),
                }))
            }
            Begin::Mismatch => return Ok(Err(CartRefusal::KeyMismatch)),
            Begin::InProgress if !existing.as_ref().is_some_and(|(c, _)| self.stale(c, now)) => {
                return Ok(Err(CartRefusal::KeyInProgress))
            }
            Begin::InProgress | Begin::Start => {}
        }
        if let Some(other) = cart.checkout.as_deref().filter(|k| *k != key) {
            // A checkout whose payment waits for the shopper (or the
            // provider) keeps the cart, even with no attempt running.
            let busy = self.checkout(other)?.is_some_and(|(c, _)| {
                c.record.response().is_none() && (!self.stale(&c, now) || c.step.awaits_payment())
            });
            if busy {
                return Ok(Err(CartRefusal::CartBusy));
            }
        }
        // A crashed attempt that planned already is resumed, not restarted.
        let record = IdempotencyRecord::in_progress(key, fingerprint, now);
        let resume = existing.filter(|(c, _)| c.record.response().is_none() && c.plan.is_some());
        // Card testing on this cart: a new checkout waits out the block (a
        // replay or a resumed one was not refused before and is not now).
        if resume.is_none() {
            if let Some(until) = cart.declines.blocked_until(now, declines) {
                return Ok(Err(CartRefusal::TooManyDeclines {
                    retry_after_secs: retry_after_secs(now, until),
                }));
            }
        }
        let (checkout, durable) = match resume {
            Some((c, durable)) => (
                Checkout {
                    attempt: attempt.to_string(),
                    record,
                    ..c
                },
                durable,
            ),
            None => (
                Checkout {
                    record,
                    attempt: attempt.to_string(),
                    plan: None,
                    step: Step::Planned,
                    charge_asked_ms: None,
                    stuck_since_ms: None,
                },
                false,
            ),
        };
        // The lock is stored with the first recovery point; a stored
        // checkout resumed here keeps its alarm armed meanwhile.
        self.edit_cart(|cart| cart.checkout = Some(key.to_string()))?;
        if durable {
            self.arm(now + lease_ms + 1_000).await?;
        }
        let resumed = checkout.plan.is_some();
        self.attempts.borrow_mut().insert(
            key.to_string(),
            Attempt {
                checkout,
                durable,
                running: false,
                own: false,
                declines: Some(declines),
            },
        );
        Ok(Ok(if resumed {
            CheckoutBeginReply::Resume
        } else {
            CheckoutBeginReply::Start { cart }
        }))
    }

    /// The answer for an attempt that may not carry on with checkout `c`:
    /// the stored answer once it finished, or in progress when another
    /// attempt runs it.
    fn not_this_attempt(
        c: &Checkout,
        attempt: &str,
    ) -> Option<crate::protocol::Answer<cart::CheckoutRun>> {
        if let Some(answer) = c.record.response() {
            return Some(Ok(CheckoutReply::Answered {
                answer: answer.clone(),
            }));
        }
        (c.attempt != attempt).then_some(Err(CartRefusal::KeyInProgress))
    }

    pub(crate) fn checkout_finish(
        &self,
        key: &str,
        attempt: &str,
        refusal: Option<Refusal>,
    ) -> Handled<cart::CheckoutFinish> {
        let Some((c, durable)) = self.checkout(key)? else {
            return Err(format!("checkout {key} finished before it began"));
        };
        if let Some(reply) = Self::not_this_attempt(&c, attempt) {
            return Ok(reply);
        }
        let reply = match refusal {
            Some(refusal) => CheckoutReply::Answered {
                answer: self.finish(c, Answer::Refused { refusal }, durable, false)?,
            },
            None => {
                self.forget(&c, durable)?;
                CheckoutReply::Dropped
            }
        };
        self.end_attempt(key, attempt)?;
        Ok(Ok(reply))
    }

    /// Carries out checkout `key` from its recovery point (with `plan` the
    /// first time).
    pub(crate) async fn checkout_run(
        &self,
        key: &str,
        attempt: &str,
        plan: Option<CheckoutPlan>,
    ) -> Handled<cart::CheckoutRun> {
        let Some((mut c, durable)) = self.checkout(key)? else {
            return Err(format!("checkout {key} runs before it began"));
        };
        if let Some(reply) = Self::not_this_attempt(&c, attempt) {
            return Ok(reply);
        }
        if c.plan.is_none() {
            c.plan = plan;
            c.step = Step::Planned;
        }
        let declines = self.attempts.borrow_mut().get_mut(key).and_then(|a| {
            a.running = true;
            a.checkout = c.clone();
            a.declines
        });
        let outcome = start(&c.step, true, now_ms());
        let reply = self.run_saga(c, durable, outcome).await;
        // A declined payment counts against the cart, in the commit that
        // stored its answer (no await since).
        if let (Some(policy), Ok(Some(answer))) = (declines, &reply) {
            if answer.is_declined() {
                self.edit_cart(|cart| cart.declines.record(now_ms(), policy))?;
                self.write_cart()?;
            }
        }
        self.end_attempt(key, attempt)?;
        if reply.is_ok() {
            // The checkout's answer stands: an alarm not moved only wakes
            // the object once for nothing.
            if let Err(e) = self.alarm_after_checkout().await {
                worker::console_error!("checkout {key}: moving the alarm: {e}");
            }
        }
        // Taken over by a later attempt with the key: that one answers.
        Ok(reply?.ok_or(CartRefusal::KeyInProgress))
    }

    /// Once no checkout of the cart is open (stored or running here), the
    /// alarm has nothing to do before the cart's idle deadline: the one a
    /// recovery point armed a lease ahead is moved there, so the object is
    /// not woken a lease after every checkout for nothing. While one is
    /// open, the alarm stays as it is.
    async fn alarm_after_checkout(&self) -> Result<(), String> {
        let Some((_, cart)) = self.load()?.cart else {
            return Ok(());
        };
        match cart
            .idle_expiry(self.idle_ms(), self.checkouts_seen()?)
            .wake_at()
        {
            Some(at) => arm_in(&self.storage, at - now_ms()).await,
            None => Ok(()),
        }
    }

    /// Whether `attempt` still runs checkout `key` (a later attempt with
    /// the key, or the alarm, may have taken it over: compare and set).
    fn owns(&self, key: &str, attempt: &str) -> bool {
        self.attempts
            .borrow()
            .get(key)
            .is_some_and(|a| a.checkout.attempt == attempt)
    }

    /// Takes stored checkout `c` over for a run of this object's own (the
    /// alarm's, or a provider's webhook's): `None` when an attempt of this
    /// instance holds it (it carries it on itself).
    fn take_over(&self, mut c: Checkout) -> Option<Checkout> {
        let mut attempts = self.attempts.borrow_mut();
        if attempts.contains_key(&c.record.key) {
            return None;
        }
        let n = self.runs.get() + 1;
        self.runs.set(n);
        c.attempt = format!("object-{}-{n}", now_ms());
        attempts.insert(
            c.record.key.clone(),
            Attempt {
                checkout: c.clone(),
                durable: true,
                running: true,
                own: true,
                declines: None,
            },
        );
        Some(c)
    }

    /// Runs stored checkout `c` for the object itself (the alarm, or a
    /// provider's webhook), from its recovery point.
    async fn carry_on(&self, c: Checkout, now: i64) -> Result<(), String> {
        let Some(c) = self.take_over(c) else {
            return Ok(());
        };
        let (key, attempt) = (c.record.key.clone(), c.attempt.clone());
        let outcome = start(&c.step, false, now);
        let result = self.run_saga(c, true, outcome).await;
        self.end_attempt(&key, &attempt)?;
        result.map(|_| ())
    }

    /// Interprets the saga from `c.step` on `outcome` until it ends:
    /// performs each effect [`transition`] asks for and reports what it
    /// came to. `durable`: whether `c` is stored.
    ///
    /// Only the attempt that holds the checkout acts: one taken over (by a
    /// later attempt with the key, once its lease ran out) stops before its
    /// next effect and answers `None`; its outcomes are the other's to
    /// learn again (every effect is idempotent).
    async fn run_saga(
        &self,
        mut c: Checkout,
        mut durable: bool,
        mut outcome: Outcome,
    ) -> Result<Option<CheckoutReply>, String> {
        let plan = c.plan.clone().ok_or("checkout without a plan")?;
        let key = c.record.key.clone();
        let me = c.attempt.clone();
        // The cart's row changed in memory, to be written before the end.
        let mut cart_changed = false;
        loop {
            let (step, effects) = transition(&plan, &c.step, outcome);
            c.step = step;
            let mut reported = None;
            for effect in effects {
                if !self.owns(&key, &me) {
                    worker::console_log!(
                        "checkout {}: taken over by a later attempt; this one stops",
                        plan.order.id
                    );
                    if cart_changed {
                        self.write_cart()?;
                    }
                    return Ok(None);
                }
                match effect {
                    Effect::HoldLines => reported = Some(self.hold_lines(&plan).await),
                    Effect::RedeemCoupons => reported = Some(self.redeem(&plan).await),
                    Effect::HoldPoints => reported = Some(self.hold_points(&plan).await),
                    Effect::CommitPoints => reported = Some(self.commit_points(&plan).await),
                    Effect::Charge => reported = Some(self.charge(&plan, &c).await),
                    Effect::ReadPayment { reference } => {
                        reported = Some(self.read_payment(&plan, &reference, false).await)
                    }
                    Effect::CancelPayment { reference } => {
                        reported = Some(self.read_payment(&plan, &reference, true).await)
                    }
                    Effect::CommitLines => reported = Some(self.commit_lines(&plan).await),
                    Effect::RecordOrder { reference } => {
                        reported = Some(self.record_order(&plan, &reference).await)
                    }
                    Effect::Refund { reference } => {
                        reported = Some(self.refund(&plan, &reference).await)
                    }
                    Effect::Restock { skus } => reported = Some(self.restock(&plan, &skus).await),
                    Effect::ReleaseHolds => {
                        // The cart learns first that its holds are gone (the
                        // row commits before the releases leave: output gate),
                        // so no later checkout counts on them.
                        self.edit_cart(|cart| {
                            cart.holds_given_back(
                                plan.order.lines.iter().map(|l| l.sku.as_str()),
                                now_ms(),
                            )
                        })?;
                        if durable {
                            self.write_cart()?;
                        } else {
                            cart_changed = true;
                        }
                        self.release_holds(&plan).await
                    }
                    Effect::ReleaseRedemptions => self.release_redemptions(&plan).await,
                    Effect::ReleasePoints => self.release_points(&plan).await,
                    Effect::Save => {
                        if c.step == Step::Charging && c.charge_asked_ms.is_none() {
                            c.charge_asked_ms = Some(now_ms());
                        }
                        self.save_point(&c, durable).await?;
                        durable = true;
                    }
                    Effect::EmptyCart => {
                        self.edit_cart(|cart| {
                            cart.lines.clear();
                            cart.coupons.clear();
                            cart.holds_expire_at_ms = None;
                        })?;
                        cart_changed = true;
                    }
                    Effect::Unlock => cart_changed |= self.unlock(&key)? && durable,
                    Effect::RetryLater => {
                        if durable {
                            let mut at = now_ms() + VERIFY_RETRY_MS;
                            if let Some(deadline) = c.step.deadline() {
                                at = at.min(deadline);
                            }
                            self.arm(at).await?;
                        }
                    }
                    Effect::Finish(answer) => {
                        let stuck = c.stuck_since_ms.is_some();
                        let answer = self.finish(c, answer, durable, cart_changed)?;
                        if stuck {
                            self.settled(&plan).await;
                        }
                        return Ok(Some(CheckoutReply::Answered { answer }));
                    }
                    Effect::Reply(answer) => {
                        if cart_changed {
                            self.write_cart()?;
                        }
                        return Ok(Some(CheckoutReply::Answered {
                            answer: StoredAnswer::Typed { answer },
                        }));
                    }
                    Effect::Forget => {
                        self.forget(&c, durable)?;
                        return Ok(Some(CheckoutReply::Dropped));
                    }
                    Effect::Suspend => {
                        if cart_changed {
                            self.write_cart()?;
                        }
                        return Err(format!(
                            "checkout {} stopped at {:?}; it resumes from its recovery point",
                            plan.order.id, c.step
                        ));
                    }
                }
            }
            outcome = reported.ok_or("a transition ended without an effect to report")?;
        }
    }

    /// Writes the recovery point. The first one of a checkout also stores
    /// the cart's lock and arms the alarm: from here on a crash leaves
    /// something the alarm must finish or give back.
    async fn save_point(&self, c: &Checkout, durable: bool) -> Result<(), String> {
        self.put_checkout(c)?;
        if !durable {
            self.write_cart()?;
            self.arm(now_ms() + lease_ms(&self.env) + 1_000).await?;
            if let Some(a) = self.attempts.borrow_mut().get_mut(&c.record.key) {
                if a.checkout.attempt == c.attempt {
                    a.durable = true;
                }
            }
        }
        Ok(())
    }

    /// Stores `answer` under checkout `c`'s key and unlocks the cart: the
    /// record and the cart's row in one commit.
    fn finish(
        &self,
        mut c: Checkout,
        answer: Answer,
        durable: bool,
        mut cart_changed: bool,
    ) -> Result<StoredAnswer, String> {
        let answer = StoredAnswer::Typed { answer };
        c.record = c.record.completed(answer.clone(), now_ms());
        c.step = Step::Finished;
        self.put_checkout(&c)?;
        cart_changed |= self.unlock(&c.record.key)? && durable;
        if cart_changed {
            self.write_cart()?;
        }
        Ok(answer)
    }

    /// Drops checkout `c`'s record and its lock.
    fn forget(&self, c: &Checkout, durable: bool) -> Result<(), String> {
        if durable {
            self.delete_checkout(&c.record.key)?;
        }
        if self.unlock(&c.record.key)? && durable {
            self.write_cart()?;
        }
        Ok(())
    }

    async fn stock_op(
        &self,
        sku: &str,
        op_id: String,
        op: StockOp,
    ) -> Result<Result<crate::protocol::stock::Applied, StockError>, String> {
        self.stock(sku, op_id, op).await
    }

    async fn hold_lines(&self, plan: &CheckoutPlan) -> Outcome {
        let order = &plan.order.id;
        let expires = now_ms() + plan.hold_ttl_ms;
        let holds = join_all(plan.lines_to_hold().map(|l| {
            // The purchase itself: no hold budget (the cart's own holds,
            // taken under it, are replaced).
            let op = StockOp::Hold {
                cart: plan.order.cart_id.clone(),
                quantity: l.quantity,
                expires_at_ms: expires,
                budget: None,
            };
            self.stock_op(&l.sku, stock_op_id(order, "hold", &l.sku), op)
        }))
        .await;
        let mut lines = Vec::new();
        for (line, reply) in plan.lines_to_hold().zip(holds) {
            match reply {
                Ok(Ok(_)) => {}
                Ok(Err(StockError::OutOfStock { available })) => lines.push(ShortLine {
                    sku: line.sku.clone(),
                    requested: line.quantity,
                    available,
                }),
                Ok(Err(other)) => return unanswered(format!("hold on {}: {other:?}", line.sku)),
                Err(e) => return unanswered(e),
            }
        }
        if lines.is_empty() {
            Outcome::AllHeld
        } else {
            Outcome::Short { lines }
        }
    }

    async fn redeem(&self, plan: &CheckoutPlan) -> Outcome {
        let command = store::Redeem {
            order: plan.order.id.clone(),
            customer: plan.order.email.clone(),
            promotions: plan.order.promotions.iter().map(|p| p.id.clone()).collect(),
        };
        match send(&self.env, &plan.order.store, command).await {
            Ok(Ok(store::Redeemed {})) => Outcome::Redeemed,
            Ok(Err(StoreRefusal::RedemptionRefused { refused })) => Outcome::RedemptionRefused {
                refused: Some(refused),
            },
            Ok(Err(StoreRefusal::UnknownPromotion)) => Outcome::RedemptionRefused { refused: None },
            Ok(Err(other)) => unanswered(format!("store refused {other:?}")),
            Err(e) => unanswered(format!("redeeming: {e}")),
        }
    }

    /// The member's ledger, for a plan that spends points.
    fn ledger(plan: &CheckoutPlan) -> Result<&str, String> {
        plan.points
            .as_ref()
            .map(|p| p.ledger.as_str())
            .ok_or_else(|| format!("checkout {} spends points without a ledger", plan.order.id))
    }

    /// Sets the order's points aside in the member's ledger for the plan's
    /// TTL (a repeat answers the hold the order has).
    async fn hold_points(&self, plan: &CheckoutPlan) -> Outcome {
        let ledger = match Self::ledger(plan) {
            Ok(l) => l,
            Err(e) => return unanswered(e),
        };
        let command = points::Hold {
            order: plan.order.id.clone(),
            amount: plan.points_spent(),
            ttl_ms: plan.hold_ttl_ms,
        };
        match send(&self.env, ledger, command).await {
            Ok(Ok(_)) => Outcome::PointsHeld,
            Ok(Err(PointsRefusal::InsufficientPoints { available })) => {
                Outcome::PointsShort { available }
            }
            // Spent already: the order's points are taken; spending them
            // again changes nothing.
            Ok(Err(PointsRefusal::AlreadySpent)) => Outcome::PointsHeld,
            Ok(Err(other)) => unanswered(format!("points ledger refused a hold: {other:?}")),
            Err(e) => unanswered(format!("holding points: {e}")),
        }
    }

    /// Spends the order's held points (a repeat changes nothing).
    async fn commit_points(&self, plan: &CheckoutPlan) -> Outcome {
        let ledger = match Self::ledger(plan) {
            Ok(l) => l,
            Err(e) => return unanswered(e),
        };
        let command = points::Commit {
            order: plan.order.id.clone(),
        };
        match send(&self.env, ledger, command).await {
            Ok(Ok(_)) => Outcome::PointsCommitted,
            Ok(Err(PointsRefusal::NoSuchOrder)) => {
                worker::console_error!("checkout {}: points hold lapsed", plan.order.id);
                Outcome::PointsRefused
            }
            Ok(Err(other)) => unanswered(format!("points ledger refused a spending: {other:?}")),
            Err(e) => unanswered(format!("spending points: {e}")),
        }
    }

    /// Gives the order's points hold back (best effort: it lapses anyway).
    async fn release_points(&self, plan: &CheckoutPlan) {
        let Ok(ledger) = Self::ledger(plan) else {
            return;
        };
        let command = points::Release {
            order: plan.order.id.clone(),
        };
        if let Err(e) = send(&self.env, ledger, command).await {
            worker::console_error!("checkout {}: releasing points: {e}", plan.order.id);
        }
    }

    /// The order the card pays for, as the provider must show it.
    fn paying(plan: &CheckoutPlan) -> ForOrder<'_> {
        ForOrder {
            store: &plan.order.store,
            order: &plan.order.id,
            cart: &plan.order.cart_id,
            total: Money::new(plan.card_amount(), plan.order.currency),
        }
    }

    /// Asks the provider for the card's part of the total: idempotent by
    /// the order id, so asking again learns the first outcome (once the
    /// provider forgot the key, the order's payment is searched for).
    async fn charge(&self, plan: &CheckoutPlan, c: &Checkout) -> Outcome {
        let now = now_ms();
        let asked = c.charge_asked_ms.unwrap_or(now);
        let outcome = payment::charge(
            &self.env,
            &plan.payment,
            Self::paying(plan),
            &plan.payment_token,
            asked,
            now,
        )
        .await;
        Self::payment_outcome(plan, outcome)
    }

    /// Reads the payment `reference` (or cancels it, when `cancel`).
    async fn read_payment(&self, plan: &CheckoutPlan, reference: &str, cancel: bool) -> Outcome {
        let pay = Self::paying(plan);
        let outcome = if cancel {
            payment::cancel(&self.env, &plan.payment, pay, reference).await
        } else {
            payment::read(&self.env, &plan.payment, pay, reference).await
        };
        Self::payment_outcome(plan, outcome)
    }

    /// The saga's outcome of what the provider said (a decline's real code
    /// is logged; the shopper learns what the saga lets through).
    fn payment_outcome(plan: &CheckoutPlan, outcome: ChargeOutcome) -> Outcome {
        match outcome {
            ChargeOutcome::Paid { reference } => Outcome::Paid { reference },
            ChargeOutcome::Declined { code } => {
                worker::console_log!("checkout {}: payment declined ({code})", plan.order.id);
                Outcome::Declined { code }
            }
            ChargeOutcome::ActionRequired { reference, action } => Outcome::ActionRequired {
                reference,
                action,
                at_ms: now_ms(),
            },
            ChargeOutcome::Processing { reference } => Outcome::Processing { reference },
            ChargeOutcome::Unavailable { cause } => {
                worker::console_error!("checkout {}: provider unavailable: {cause}", plan.order.id);
                Outcome::ChargeUnanswered
            }
        }
    }

    async fn commit_lines(&self, plan: &CheckoutPlan) -> Outcome {
        let order = &plan.order.id;
        let commits = join_all(plan.order.lines.iter().map(|l| {
            let op = StockOp::Commit {
                cart: plan.order.cart_id.clone(),
                quantity: l.quantity,
            };
            self.stock_op(&l.sku, stock_op_id(order, "commit", &l.sku), op)
        }))
        .await;
        let mut sold = Vec::new();
        let mut lost = Vec::new();
        for (line, reply) in plan.order.lines.iter().zip(commits) {
            match reply {
                Err(e) => return unanswered(e),
                Ok(outcome) => match outcome {
                    Ok(_) => sold.push(line.sku.clone()),
                    Err(e) => lost.push((line.sku.clone(), e)),
                },
            }
        }
        if lost.is_empty() {
            return Outcome::AllCommitted;
        }
        // The holds lapsed before the units could be sold (a crash
        // outlived them).
        worker::console_error!("checkout {order}: commits refused: {lost:?}");
        Outcome::CommitsRefused { sold }
    }

    async fn record_order(&self, plan: &CheckoutPlan, reference: &str) -> Outcome {
        let order = match plan.paid_order(reference, now_ms()) {
            Ok(order) => order,
            Err(e) => return unanswered(format!("order {}: {e:?}", plan.order.id)),
        };
        let command = order::Record {
            order: Box::new(order),
            token: plan.order_token.clone(),
            settings: plan.payment.clone(),
            programme: plan.points.as_ref().map(|p| p.programme.clone()),
        };
        let name = object_name(&plan.order.store, &plan.order.id);
        match send(&self.env, &name, command).await {
            Ok(Ok(order)) => Outcome::Recorded { order },
            Ok(Err(other)) => {
                unanswered(format!("order {} not recorded: {other:?}", plan.order.id))
            }
            Err(e) => unanswered(format!("order {}: {e}", plan.order.id)),
        }
    }

    async fn refund(&self, plan: &CheckoutPlan, reference: &str) -> Outcome {
        match payment::refund(&self.env, &plan.payment, &plan.order.id, reference).await {
            RefundOutcome::Refunded => Outcome::Refunded,
            RefundOutcome::Unavailable { cause } => {
                worker::console_error!("refund of {} pending: {cause}", plan.order.id);
                Outcome::RefundUnanswered
            }
        }
    }

    /// Puts what was sold for the order back on sale, for `skus`.
    async fn restock(&self, plan: &CheckoutPlan, skus: &[String]) -> Outcome {
        let order = &plan.order.id;
        let restocks = join_all(
            plan.order
                .lines
                .iter()
                .filter(|l| skus.contains(&l.sku))
                .map(|l| {
                    let op = StockOp::Restock {
                        quantity: l.quantity,
                        reason: format!("checkout {order} refunded"),
                    };
                    self.stock_op(&l.sku, stock_op_id(order, "restock", &l.sku), op)
                }),
        )
        .await;
        match restocks.into_iter().find_map(Result::err) {
            Some(e) => unanswered(format!("restocking {order}: {e}")),
            None => Outcome::Restocked,
        }
    }

    /// Releases the checkout's holds (best effort: holds expire anyway).
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

    /// Gives the order's redemptions back (idempotent; a failure is logged
    /// and the alarm or a later step gives them back again).
    async fn release_redemptions(&self, plan: &CheckoutPlan) {
        let command = store::Release {
            order: plan.order.id.clone(),
        };
        if let Err(e) = send(&self.env, &plan.order.store, command).await {
            worker::console_error!("releasing the coupons of {}: {e}", plan.order.id);
        }
    }

    /// Makes sure the alarm fires by `at`.
    async fn arm(&self, at: i64) -> Result<(), String> {
        arm_by(&self.storage, at, now_ms()).await
    }

    /// The alarm: carries on the open checkouts no attempt of this
    /// instance holds (the saga's `Lapsed`, or `Expired` past the
    /// shopper's deadline), lists those that waited too long for the
    /// provider as stuck, and forgets finished ones after their retention.
    /// An open checkout is never deleted, however old.
    pub(crate) async fn checkout_alarm(&self) -> Result<(), String> {
        let now = now_ms();
        self.sweep(now)?;
        let tables = self.checkouts_table()?;
        let old: Vec<Checkout> = tables.documents(
            "checkout",
            "SELECT json FROM checkouts WHERE updated_ms < ?",
            vec![(now - idempotency::RETENTION_MS).into()],
        )?;
        for c in old.iter().filter(|c| c.record.response().is_some()) {
            self.delete_checkout(&c.record.key)?;
        }
        if tables.has_table("provider_events")? {
            tables.exec(
                "forgetting provider events",
                "DELETE FROM provider_events WHERE at_ms < ?",
                vec![(now - EVENTS_KEPT_MS).into()],
            )?;
        }
        let checkouts: Vec<Checkout> =
            tables.documents("checkout", "SELECT json FROM checkouts", Vec::new())?;
        let mut next: Option<i64> = None;
        let mut later = |at: i64| next = Some(next.map_or(at, |n: i64| n.min(at)));
        for mut c in checkouts {
            if c.record.response().is_some() {
                continue;
            }
            if self.attempts.borrow().contains_key(&c.record.key) {
                // An attempt of this instance holds it: look again later.
                later(now + lease_ms(&self.env));
                continue;
            }
            if c.plan.is_none() {
                // Begun by an earlier version and never planned: nothing
                // was taken; a retry starts over.
                self.forget(&c, true)?;
                continue;
            }
            if self.is_stuck(&c, now) {
                c = self.report_stuck(c, now).await?;
            }
            if let Err(e) = self.carry_on(c, now).await {
                worker::console_error!("carrying on a checkout: {e}");
                later(now + VERIFY_RETRY_MS);
            }
        }
        if let Some(at) = next {
            self.arm(at).await?;
        }
        Ok(())
    }

    /// Whether open checkout `c` waited for the provider longer than the
    /// operator allows (`CHECKOUT_STUCK_AFTER_MS`) and is not listed yet.
    fn is_stuck(&self, c: &Checkout, now: i64) -> bool {
        let after = self
            .env
            .var("CHECKOUT_STUCK_AFTER_MS")
            .ok()
            .and_then(|v| v.to_string().parse::<i64>().ok())
            .filter(|ms| *ms > 0)
            .unwrap_or(STUCK_AFTER_MS);
        let since = c.charge_asked_ms.unwrap_or(c.record.created_at_ms);
        c.stuck_since_ms.is_none()
            && c.step.awaits_provider()
            && c.step.deadline().is_none()
            && now - since >= after
    }

    /// Lists checkout `c` as stuck in the store's list (an error log line
    /// says so too), and notes it in the record: listed once.
    async fn report_stuck(&self, mut c: Checkout, now: i64) -> Result<Checkout, String> {
        let plan = c.plan.as_ref().ok_or("checkout without a plan")?;
        let since = c.charge_asked_ms.unwrap_or(c.record.created_at_ms);
        let entry = store::StuckCheckout {
            order: plan.order.id.clone(),
            cart: plan.order.cart_id.clone(),
            step: step_name(&c.step).into(),
            reference: step_reference(&c.step),
            currency: plan.order.currency,
            card_amount: plan.card_amount(),
            since_ms: since,
            listed_at_ms: now,
        };
        worker::console_error!(
            "checkout {} of cart {} is stuck at {} since {since}: it stays open and is retried; listed at GET /admin/v1/checkouts?state=stuck",
            entry.order,
            entry.cart,
            entry.step
        );
        send(&self.env, &plan.order.store, store::ListStuck { entry })
            .await
            .map_err(|e| format!("listing a stuck checkout: {e}"))?
            .map_err(|e| format!("listing a stuck checkout: {e:?}"))?;
        c.stuck_since_ms = Some(now);
        self.put_checkout(&c)?;
        Ok(c)
    }

    /// Takes a settled checkout off the store's stuck list (best effort:
    /// logged when it fails).
    async fn settled(&self, plan: &CheckoutPlan) {
        let command = store::UnlistStuck {
            order: plan.order.id.clone(),
        };
        match send(&self.env, &plan.order.store, command).await {
            Ok(Ok(_)) => {}
            other => worker::console_error!(
                "checkout {} settled, but stays on the stuck list: {other:?}",
                plan.order.id
            ),
        }
    }

    /// The provider says the payment of `order` changed (its webhook):
    /// the checkout that waits for it reads it now. Nothing to do when no
    /// open checkout of this cart has the order (it settled before, or
    /// never began here), or a running attempt holds it.
    pub(crate) async fn payment_changed(
        &self,
        order: &str,
        event: &str,
    ) -> Handled<cart::PaymentChanged> {
        let now = now_ms();
        if self.load()?.cart.is_none() {
            // A deleted (or unknown) cart: no checkout to carry on, and
            // nothing is stored for the event.
            return Ok(Ok(cart::Noted { checkout: false }));
        }
        let tables = self.checkouts_table()?;
        let events = Tables::open(&self.storage, PROVIDER_EVENTS_SCHEMA)?;
        #[derive(serde::Deserialize)]
        struct Seen {
            #[allow(dead_code)]
            id: String,
        }
        let seen: Vec<Seen> = events.rows(
            "provider event",
            "SELECT id FROM provider_events WHERE id = ?",
            vec![event.into()],
        )?;
        if !seen.is_empty() {
            return Ok(Ok(cart::Noted { checkout: false }));
        }
        let checkouts: Vec<Checkout> =
            tables.documents("checkout", "SELECT json FROM checkouts", Vec::new())?;
        let open = checkouts.into_iter().find(|c| {
            c.record.response().is_none()
                && c.plan.as_ref().is_some_and(|p| p.order.id == order)
                && c.step.payment_may_exist()
        });
        let carried = match open {
            Some(c) => {
                self.carry_on(c, now).await?;
                true
            }
            None => false,
        };
        // Noted once acted on: an event whose run failed is acted on when
        // the provider delivers it again.
        events.exec(
            "noting a provider event",
            "INSERT OR IGNORE INTO provider_events (id, at_ms) VALUES (?, ?)",
            vec![event.into(), now.into()],
        )?;
        Ok(Ok(cart::Noted { checkout: carried }))
    }
}

/// The step's name, as the stuck list shows it.
fn step_name(step: &Step) -> &'static str {
    match step {
        Step::Planned => "planned",
        Step::Held => "held",
        Step::Redeemed => "redeemed",
        Step::Charging => "charging",
        Step::Paid { .. } => "paid",
        Step::Finished => "finished",
        Step::Refunding { .. } => "refunding",
        Step::Verifying => "verifying",
        Step::Awaiting { .. } => "awaiting_payment",
    }
}

/// The provider's payment the step names, if any.
fn step_reference(step: &Step) -> Option<String> {
    match step {
        Step::Paid { reference }
        | Step::Refunding { reference, .. }
        | Step::Awaiting { reference, .. } => Some(reference.clone()),
        _ => None,
    }
}
