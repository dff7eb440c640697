//! `CartObject`: one Durable Object per cart. It keeps the cart (lines,
//! currency, hold expiry) and its secret token in SQLite, and orchestrates
//! holds: a line change first asks the SKU's stock object to hold the new
//! quantity (idempotent by operation id), and only records the line when
//! the hold succeeded, so a cart never shows units it does not hold. Each
//! command runs alone (`blockConcurrencyWhile`), so one cart's changes
//! apply in order.
//!
//! Crash safety: a hold taken just before a crash, but not yet recorded in
//! the cart, expires by itself at its TTL; retrying the same request (same
//! operation id) finds the hold already applied and records it.
//!
//! The object keeps the cart, its token and its recent operation ids in
//! memory after the first command (SQLite stays the record: every change is
//! written before the reply, and a failed write drops the memory copy).
//!
//! Idle carts: the object's alarm is armed by the cart's idle deadline
//! (`Cart::idle_expiry`, with the idle period `CART_IDLE_MS`) as well as by
//! its checkouts' deadlines, whichever comes first. A cart is armed when it
//! is created, and once per instance by its first command (carts created
//! before idle expiry existed, or whose alarm was lost). Activity only
//! moves the deadline later, so it re-arms nothing: an alarm that finds the
//! cart active again sets itself to the new deadline. One that finds it
//! expired gives back the holds it still counts as live, then deletes all
//! the object's storage and its alarm. An object without a cart stores
//! nothing: reads, checkouts and provider events of a deleted (or unknown)
//! cart create no table.

use crate::cart_checkout::Attempt;
use crate::object::{answer, arm_by, delete_everything, serially, serve, Encoded, Handled, Tables};
use crate::protocol::cart::{self, CartCommand, CartRefusal, LineChangeDto, LineChanged};
use crate::protocol::send;
use crate::protocol::stock::{self, Applied, StockLevels};
use edgecart_domain::cart::{idle, Cart, CartLine, Expiry, LineChange};
use edgecart_domain::secret::{stored_token, token_opens};
use edgecart_domain::stock::{HoldBudget, StockError, StockOp};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use worker::{durable_object, DurableObject, Env, Request, Response, State, Storage};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cart (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL, json TEXT NOT NULL);
";
/// Line-change operation ids a cart remembers (the most recent ones): a
/// retry comes seconds after its request, well inside this window.
const OPS_KEPT: usize = 64;

#[durable_object]
pub struct CartObject {
    state: State,
    inner: Rc<Carts>,
}

pub(crate) struct Carts {
    pub(crate) storage: Storage,
    pub(crate) env: Env,
    /// Checkouts an attempt of this instance holds, by key (begun or
    /// running; a checkout in progress whose attempt is not here was cut
    /// off by a restart).
    pub(crate) attempts: RefCell<BTreeMap<String, Attempt>>,
    /// Whether the checkouts table exists (created once per instance).
    pub(crate) checkouts_ready: std::cell::Cell<bool>,
    /// Runs of the object's own (alarm, webhook) so far: their attempt ids.
    pub(crate) runs: std::cell::Cell<u64>,
    /// The stored cart, once read (`None` until the first command).
    loaded: RefCell<Option<Loaded>>,
    /// Whether this instance made sure the alarm is armed by the cart's
    /// idle deadline.
    idle_armed: std::cell::Cell<bool>,
}

/// Operation id → when it was applied.
type OpTimes = BTreeMap<String, i64>;

/// The stored row (`json` column): the cart with its recent operation ids,
/// so a line change is one row write.
#[derive(Serialize, Deserialize)]
struct CartRow {
    schema: u32,
    cart: Cart,
    ops: OpTimes,
}
const CART_ROW_SCHEMA: u32 = 1;

#[derive(Clone)]
pub(crate) struct Loaded {
    /// `None`: no cart was created in this object.
    pub(crate) cart: Option<(String, Cart)>,
    ops: OpTimes,
}

pub(crate) use crate::object::now_ms;

impl DurableObject for CartObject {
    fn new(state: State, env: Env) -> Self {
        let inner = Rc::new(Carts {
            storage: state.storage(),
            env,
            loaded: RefCell::new(None),
            attempts: RefCell::new(BTreeMap::new()),
            checkouts_ready: std::cell::Cell::new(false),
            runs: std::cell::Cell::new(0),
            idle_armed: std::cell::Cell::new(false),
        });
        CartObject { state, inner }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let carts = self.inner.clone();
        serve(req, |command: CartCommand| async move {
            // A checkout's saga runs outside the cart's queue (a concurrent
            // duplicate must be told it is in progress); its steps are
            // idempotent and the cart is locked meanwhile.
            if let CartCommand::CheckoutRun(c) = command {
                return answer(c, |cart::CheckoutRun { key, attempt, plan }| async move {
                    carts.checkout_run(&key, &attempt, plan.map(|p| *p)).await
                })
                .await;
            }
            // So does a run for the provider's webhook (which may wait on
            // the provider as long).
            if let CartCommand::PaymentChanged(c) = command {
                return answer(c, |cart::PaymentChanged { order, event }| async move {
                    carts.payment_changed(&order, &event).await
                })
                .await;
            }
            serially(&self.state, async move { carts.dispatch(command).await }).await
        })
        .await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let carts = self.inner.clone();
        crate::object::alarm_serially(&self.state, async move { carts.alarm().await }).await
    }
}

impl Carts {
    async fn dispatch(&self, command: CartCommand) -> Encoded {
        let now = now_ms();
        let encoded = self.handle(command, now).await;
        self.arm_idle_once(now).await;
        encoded
    }

    async fn handle(&self, command: CartCommand, now: i64) -> Encoded {
        match command {
            CartCommand::CheckoutBegin(c) => {
                answer(c, |c| async move { self.checkout_begin(c).await }).await
            }
            CartCommand::CheckoutFinish(c) => {
                answer(c, |c| async move {
                    self.checkout_finish(&c.key, &c.attempt, c.refusal)
                })
                .await
            }
            CartCommand::CheckoutRun(c) => {
                answer(c, |c| async move {
                    self.checkout_run(&c.key, &c.attempt, c.plan.map(|p| *p))
                        .await
                })
                .await
            }
            CartCommand::PaymentChanged(c) => {
                answer(c, |c| async move {
                    self.payment_changed(&c.order, &c.event).await
                })
                .await
            }
            CartCommand::Create(c) => answer(c, |c| self.create(c, now)).await,
            CartCommand::Get(c) => answer(c, |c| self.get(c, now)).await,
            CartCommand::Coupon(c) => answer(c, |c| self.coupon(c, now)).await,
            CartCommand::ChangeLine(c) => answer(c, |c| self.change_line(c, now)).await,
        }
    }

    /// The cart and its operation ids, read from SQLite once per instance.
    pub(crate) fn load(&self) -> Result<Loaded, String> {
        if let Some(l) = self.loaded.borrow().as_ref() {
            return Ok(l.clone());
        }
        // Looking creates nothing: only `Create` makes the table.
        let tables = Tables::opened(&self.storage);
        let row = match tables.has_table("cart")? {
            true => tables.token_row::<CartRow>("cart", "cart")?,
            false => None,
        };
        let (cart, ops) = match row {
            None => (None, OpTimes::new()),
            Some((token, row)) => (Some((token, row.cart)), row.ops),
        };
        let loaded = Loaded { cart, ops };
        *self.loaded.borrow_mut() = Some(loaded.clone());
        Ok(loaded)
    }

    /// Saves the cart and, for a line change, its operation id (keeping
    /// the [`OPS_KEPT`] most recent): one row, one atomic commit. Memory
    /// follows storage; a failed write drops it.
    pub(crate) fn save(
        &self,
        token: &str,
        cart: &Cart,
        op: Option<(&str, i64)>,
    ) -> Result<(), String> {
        let mut ops = self
            .loaded
            .borrow()
            .as_ref()
            .map(|l| l.ops.clone())
            .unwrap_or_default();
        if let Some((op_id, now)) = op {
            ops.insert(op_id.to_string(), now);
            keep_newest(&mut ops, OPS_KEPT);
        }
        let row = CartRow {
            schema: CART_ROW_SCHEMA,
            cart: cart.clone(),
            ops,
        };
        let written = Tables::opened(&self.storage).put_token_row("cart", "cart", token, &row);
        *self.loaded.borrow_mut() = written.is_ok().then(|| Loaded {
            cart: Some((stored_token(token), row.cart)),
            ops: row.ops,
        });
        written
    }

    /// Changes the cart in memory only (nothing when there is no cart);
    /// [`Carts::write_cart`] stores it.
    pub(crate) fn edit_cart(&self, change: impl FnOnce(&mut Cart)) -> Result<(), String> {
        self.load()?;
        if let Some((_, cart)) = self
            .loaded
            .borrow_mut()
            .as_mut()
            .and_then(|l| l.cart.as_mut())
        {
            change(cart);
        }
        Ok(())
    }

    /// Writes the cart's row as memory holds it.
    pub(crate) fn write_cart(&self) -> Result<(), String> {
        match self.load()?.cart {
            Some((token, cart)) => self.save(&token, &cart, None),
            None => Ok(()),
        }
    }

    /// The cart if `token` opens it, and its operation ids.
    pub(crate) fn open(&self, token: &str) -> Result<Option<(Cart, OpTimes)>, String> {
        let Loaded { cart, ops } = self.load()?;
        Ok(cart
            .filter(|(stored, _)| token_opens(stored, token))
            .map(|(_, cart)| (cart, ops)))
    }

    async fn create(&self, c: cart::Create, now: i64) -> Handled<cart::Create> {
        if self.load()?.cart.is_some() {
            return Ok(Err(CartRefusal::Exists));
        }
        let cart = Cart::new(c.id, c.currency, now);
        Tables::open(&self.storage, SCHEMA)?;
        self.save(&c.token, &cart, None)?;
        // The first deadline: the alarm is never missing for a new cart.
        self.arm_idle(&cart, now).await?;
        self.idle_armed.set(true);
        Ok(Ok(cart))
    }

    async fn get(&self, c: cart::Get, now: i64) -> Handled<cart::Get> {
        let Some((mut cart, _)) = self.open(&c.token)? else {
            return Ok(Err(CartRefusal::NotFound));
        };
        self.seen(&c.token, &mut cart, now)?;
        Ok(Ok(cart))
    }

    /// The idle period of this deployment (`CART_IDLE_MS`, else 30 days).
    pub(crate) fn idle_ms(&self) -> i64 {
        let raw = self.env.var("CART_IDLE_MS").ok().map(|v| v.to_string());
        idle::period(raw.as_deref())
    }

    /// A read (or a checkout's begin) of `cart` at `now` is activity: it is
    /// stored when the domain says it is due (at most once per 1/30 of the
    /// idle period). Not while an attempt runs a checkout here: the row in
    /// memory may then hold what only its next recovery point may store
    /// (and an open checkout keeps the cart anyway).
    pub(crate) fn seen(&self, token: &str, cart: &mut Cart, now: i64) -> Result<(), String> {
        if self.attempts.borrow().is_empty() && cart.seen(now, self.idle_ms()) {
            self.save(token, cart, None)?;
        }
        Ok(())
    }

    /// When the stored cart expires for idleness (`None`: no cart).
    fn idle_expiry(&self) -> Result<Option<(Cart, Expiry)>, String> {
        let Some((_, cart)) = self.load()?.cart else {
            return Ok(None);
        };
        let expiry = cart.idle_expiry(self.idle_ms(), self.checkouts_seen()?);
        Ok(Some((cart, expiry)))
    }

    /// Makes sure the alarm fires by `cart`'s idle deadline (an earlier
    /// alarm, a checkout's, is kept).
    async fn arm_idle(&self, cart: &Cart, now: i64) -> Result<(), String> {
        let expiry = cart.idle_expiry(self.idle_ms(), self.checkouts_seen()?);
        match expiry.wake_at() {
            Some(at) => arm_by(&self.storage, at, now).await,
            None => Ok(()),
        }
    }

    /// Once per instance, with its first command on a cart: arms the alarm
    /// by the idle deadline (a failure is logged and tried again by the
    /// next command).
    async fn arm_idle_once(&self, now: i64) {
        if self.idle_armed.get() {
            return;
        }
        let cart = match self.load() {
            Ok(Loaded {
                cart: Some((_, cart)),
                ..
            }) => cart,
            Ok(_) => return,
            Err(e) => return worker::console_error!("cart idle alarm: {e}"),
        };
        match self.arm_idle(&cart, now).await {
            Ok(()) => self.idle_armed.set(true),
            Err(e) => worker::console_error!("cart {} idle alarm: {e}", cart.id),
        }
    }

    /// The alarm: the checkouts' work first (carrying on, stuck lists,
    /// retention), then the cart's idleness: an expired cart is deleted,
    /// any other wakes the object again by its deadline (or, while a
    /// checkout is open, looks again after a lease).
    async fn alarm(&self) -> Result<(), String> {
        if self.load()?.cart.is_none() {
            // Nothing stored: nothing to carry on or delete.
            return Ok(());
        }
        if self.has_checkouts()? {
            self.checkout_alarm().await?;
        }
        let now = now_ms();
        // Begun attempts whose Worker never came back hold nothing.
        self.sweep(now)?;
        let Some((cart, expiry)) = self.idle_expiry()? else {
            return Ok(());
        };
        if !expiry.due(now) {
            let at = expiry
                .wake_at()
                .unwrap_or(now + crate::cart_checkout::lease_ms(&self.env) + 1_000);
            return arm_by(&self.storage, at, now).await;
        }
        self.delete_idle(&cart, now).await
    }

    /// Deletes expired `cart`: gives back the holds it still counts as live
    /// (they lapse by themselves too; an unreachable SKU object fails the
    /// alarm, which the runtime retries), then every row and the alarm.
    async fn delete_idle(&self, cart: &Cart, now: i64) -> Result<(), String> {
        let releases = join_all(cart.live_holds(now).into_iter().map(|sku| {
            let release = StockOp::Release {
                cart: cart.id.clone(),
            };
            self.stock(sku, format!("{}:idle:{sku}", cart.id), release)
        }))
        .await;
        for released in releases {
            match released? {
                Ok(_) | Err(StockError::NoHold) => {}
                Err(other) => worker::console_error!(
                    "cart {}: releasing a hold before deletion: {other:?}",
                    cart.id
                ),
            }
        }
        delete_everything(&self.storage)
            .await
            .map_err(|e| format!("cart {}: {e}", cart.id))?;
        *self.loaded.borrow_mut() = None;
        self.checkouts_ready.set(false);
        self.idle_armed.set(false);
        worker::console_log!(
            "cart {} idle since {}: deleted",
            cart.id,
            crate::object::rfc3339(cart.last_active_ms())
        );
        Ok(())
    }

    async fn coupon(
        &self,
        cart::Coupon { token, add, remove }: cart::Coupon,
        now: i64,
    ) -> Handled<cart::Coupon> {
        let Some((mut cart, _)) = self.open(&token)? else {
            return Ok(Err(CartRefusal::NotFound));
        };
        if self.locked(&cart)? {
            return Ok(Err(CartRefusal::CheckoutInProgress));
        }
        // A lock whose checkout is no longer open holds nothing.
        cart.checkout = None;
        let changed = match (add, remove) {
            (Some(code), _) => cart.add_coupon(&code, now),
            (None, code) => cart.remove_coupon(code.as_deref(), now),
        };
        if let Err(error) = changed {
            return Ok(Err(CartRefusal::Line { error }));
        }
        self.save(&token, &cart, None)?;
        Ok(Ok(cart))
    }

    async fn change_line(&self, c: cart::ChangeLine, now: i64) -> Handled<cart::ChangeLine> {
        let cart::ChangeLine {
            token,
            op_id,
            sku,
            change,
            prices,
            max_per_order,
            hold_ttl_ms,
            holds,
        } = c;
        let Some((mut cart, ops)) = self.open(&token)? else {
            return Ok(Err(CartRefusal::NotFound));
        };
        // A retried request (same operation id) changes nothing again.
        if ops.contains_key(&op_id) {
            return Ok(Ok(LineChanged {
                cart,
                levels: Vec::new(),
            }));
        }
        if self.locked(&cart)? {
            return Ok(Err(CartRefusal::CheckoutInProgress));
        }
        // A lock whose checkout is no longer open holds nothing.
        cart.checkout = None;
        // Adding needs the item on sale in this cart's currency.
        if let LineChangeDto::Add(_) = change {
            match &prices {
                None => return Ok(Err(CartRefusal::UnknownSku)),
                Some(p) if !p.contains_key(&cart.currency) => {
                    return Ok(Err(CartRefusal::NotSoldInCurrency {
                        currency: cart.currency,
                    }))
                }
                Some(_) => {}
            }
        }
        let change = match change {
            LineChangeDto::Add(n) => LineChange::Add(n),
            LineChangeDto::Set(n) => LineChange::Set(n),
            LineChangeDto::Remove => LineChange::Remove,
        };
        let target = match cart.plan_line(&sku, change, max_per_order) {
            Ok(t) => t,
            Err(error) => return Ok(Err(CartRefusal::Line { error })),
        };
        let expires = match &holds {
            Some(terms) => cart.hold_until(now, hold_ttl_ms, terms.lifetime_ms),
            None => now + hold_ttl_ms,
        };
        let budget = holds.as_ref().map(|terms| HoldBudget {
            holder: terms.holder.clone(),
            units: terms.per_client,
        });
        let hold = StockOp::Hold {
            cart: cart.id.clone(),
            quantity: target,
            expires_at_ms: expires,
            budget: budget.clone(),
        };
        let held = match self
            .stock(&sku, format!("{}:{op_id}", cart.id), hold)
            .await?
        {
            Ok(applied) => applied,
            Err(StockError::OutOfStock { available }) => {
                return Ok(Err(CartRefusal::OutOfStock { sku, available }))
            }
            Err(StockError::HoldLimit { available }) => {
                return Ok(Err(CartRefusal::HoldLimit { sku, available }))
            }
            Err(other) => return Err(format!("hold on {sku} refused: {other:?}")),
        };
        cart.set_line(&sku, target, expires, now);
        self.save(&token, &cart, Some((&op_id, now)))?;
        let mut levels = vec![(sku.clone(), held.levels)];
        let due = cart.holds_to_refresh(&sku, now, hold_ttl_ms);
        if !due.is_empty() {
            for (line, refreshed) in self.refresh(&cart.id, &op_id, due, expires, budget).await {
                if let Some((quantity, line_levels)) = refreshed {
                    cart.refreshed(&line, quantity, expires);
                    levels.push((line, line_levels));
                }
            }
            self.save(&token, &cart, None)?;
        }
        Ok(Ok(LineChanged { cart, levels }))
    }

    /// Applies a stock operation to `sku`'s object: what it did, or the
    /// ledger's refusal; an error when the object did not answer.
    pub(crate) async fn stock(
        &self,
        sku: &str,
        op_id: String,
        op: StockOp,
    ) -> Result<Result<Applied, StockError>, String> {
        send(&self.env, sku, stock::Apply { op_id, op })
            .await
            .map_err(|e| format!("stock object {sku}: {e}"))
    }

    /// Cart activity keeps the other lines' units held: their holds move to
    /// the new expiry (all SKUs at once), and a hold that lapsed meanwhile
    /// is taken again if the units are still there. Each line's result is
    /// its held quantity and levels, or `None` when its object could not be
    /// reached or the units are gone (the line then keeps its old expiry,
    /// shows what is available, and is tried again on the next change).
    async fn refresh(
        &self,
        cart: &str,
        op_id: &str,
        lines: Vec<CartLine>,
        expires: i64,
        budget: Option<HoldBudget>,
    ) -> Vec<(String, Option<(i64, StockLevels)>)> {
        let budget = &budget;
        join_all(lines.into_iter().map(|line| async move {
            let id = format!("{cart}:{op_id}:extend:{}", line.sku);
            let extend = StockOp::Extend {
                cart: cart.to_string(),
                expires_at_ms: expires,
            };
            let held = match self.stock(&line.sku, id.clone(), extend).await {
                Ok(Ok(r)) => Some((line.quantity, r.levels)),
                Ok(Err(StockError::NoHold)) => {
                    let hold = StockOp::Hold {
                        cart: cart.to_string(),
                        quantity: line.quantity,
                        expires_at_ms: expires,
                        budget: budget.clone(),
                    };
                    match self.stock(&line.sku, format!("{id}:rehold"), hold).await {
                        Ok(Ok(r)) => Some((line.quantity, r.levels)),
                        _ => None,
                    }
                }
                _ => None,
            };
            (line.sku, held)
        }))
        .await
    }
}

/// Keeps the `n` most recent operation ids (ties by id).
fn keep_newest(ops: &mut OpTimes, n: usize) {
    while ops.len() > n {
        let oldest = ops
            .iter()
            .min_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(b.0)))
            .map(|(id, _)| id.clone());
        match oldest {
            Some(id) => ops.remove(&id),
            None => break,
        };
    }
}
