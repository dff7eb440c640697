//! `SkuStock`: one Durable Object per SKU, holding its stock ledger in
//! SQLite (totals, live holds by cart, the movement history and the
//! operation ids applied in the last 24 h). Its memory holds the ledger
//! (totals and one entry per live hold) and nothing else: an operation's
//! id is looked up in storage (by primary key, or by the movement rows it
//! wrote), so the memory does not grow with the traffic, and a refused
//! hold leaves nothing at all.
//!
//! A command loads the ledger (once per object instance), calls the domain
//! (`StockLedger::apply_once`), and writes the changed rows in one
//! synchronous block: one atomic SQLite commit, durable before the reply
//! leaves the object (output gate). Holds expire by alarm, set to the next
//! expiry after every change; the alarm handler is idempotent (expiring
//! what is due twice changes nothing) and reschedules itself.
//!
//! When the SKU's availability flips between none and some, the object
//! tells the availability publisher (for the listing's `in_stock` filter)
//! and records what it reported. Until a report is acknowledged the alarm
//! stays armed within [`REPORT_RETRY_MS`], so a crash or an unreachable
//! publisher delays the snapshot but never leaves it wrong for good.
//! The same report goes out when the SKU's unsold units cross the low
//! mark, either way, or change while at or below it
//! (`edgecart_domain::reports::low_stock`): the publisher keeps the
//! low-stock list from it. Stock moving above the mark reports nothing.

use crate::object::{alarm_done, answer, json, now_ms, rfc3339, serve, Encoded, Handled, Tables};
use crate::outbox::{self, Source, SourceClass};
use crate::protocol::availability::{self, Changed};
use crate::protocol::send;
use crate::protocol::stock::{
    Applied, Apply, HistoryPage, MovementEntry, Snapshot, StockCommand, StockLevels,
};
use edgecart_domain::events::{stock_event, stock_event_id, Event, EventBody, StockNews};
use edgecart_domain::reports::low_stock;
use edgecart_domain::stock::{
    remembers, Hold, Movement, RememberedOp, StockLedger, StockOp, OP_MEMORY_MS,
};
use serde::Deserialize;
use std::cell::{Cell, RefCell};
use worker::{console_error, durable_object, DurableObject, Env, Request, Response, State};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY CHECK (id = 1), on_hand INTEGER NOT NULL, sold INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS holds (cart TEXT PRIMARY KEY, quantity INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS movements (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, op_id TEXT NOT NULL, kind TEXT NOT NULL,
  cart TEXT, on_hand_delta INTEGER NOT NULL, reserved_delta INTEGER NOT NULL, sold_delta INTEGER NOT NULL, reason TEXT);
CREATE INDEX IF NOT EXISTS movements_at ON movements (at_ms);
CREATE INDEX IF NOT EXISTS movements_op ON movements (op_id);
CREATE TABLE IF NOT EXISTS ops (op_id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, outcome TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reported (id INTEGER PRIMARY KEY CHECK (id = 1), in_stock INTEGER NOT NULL);
";
/// How soon an availability flip not yet acknowledged by the publisher is
/// reported again (by alarm).
pub const REPORT_RETRY_MS: i64 = 5_000;

#[durable_object]
pub struct SkuStock {
    state: State,
    env: Env,
    loaded: RefCell<Option<Loaded>>,
    /// When operation ids were last pruned (hourly at most: it scans them all).
    forgot_at_ms: Cell<i64>,
    /// When this instance last set the alarm to fire (`None`: not known).
    alarm_at_ms: Cell<Option<i64>>,
    /// The low mark (`STOCK_LOW_MARK`), read once.
    low_mark: i64,
}

struct Loaded {
    ledger: StockLedger,
    /// What the publisher last acknowledged: units available or not (a SKU
    /// never reported counts as not, like a SKU missing from the snapshot).
    reported_in_stock: bool,
    /// What it last acknowledged of the unsold units: `Some` while at or
    /// below the low mark (`None`: above, or never reported).
    reported_low: Option<i64>,
}

/// The low mark (`STOCK_LOW_MARK`, 5 by default).
pub fn low_mark(env: &Env) -> i64 {
    env.var("STOCK_LOW_MARK")
        .ok()
        .and_then(|v| v.to_string().parse::<i64>().ok())
        .filter(|m| *m >= 0)
        .unwrap_or(5)
}

fn levels(ledger: &StockLedger, now: i64) -> StockLevels {
    StockLevels {
        on_hand: ledger.on_hand(),
        reserved: ledger.reserved_at(now),
        sold: ledger.sold(),
        available: ledger.available_at(now),
    }
}

impl DurableObject for SkuStock {
    fn new(state: State, env: Env) -> Self {
        let low_mark = low_mark(&env);
        SkuStock {
            state,
            env,
            low_mark,
            loaded: RefCell::new(None),
            forgot_at_ms: Cell::new(0),
            alarm_at_ms: Cell::new(None),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        serve(req, |command: StockCommand| self.handle(command)).await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        alarm_done(self.expire().await)
    }
}

impl SkuStock {
    /// Where this SKU's events come from.
    fn source(&self) -> Source {
        Source {
            class: SourceClass::Stock,
            name: self.state.id().name().unwrap_or_default(),
        }
    }

    /// The event a change from `before` unsold units to now makes, if it
    /// crossed the low mark (`STOCK_LOW_MARK`, 5 by default) or reached 0.
    fn stock_news(&self, op_id: &str, before: i64, now: i64) -> Option<Event> {
        let low_mark = self.low_mark;
        let guard = self.loaded.borrow();
        let ledger = &guard.as_ref()?.ledger;
        let after = ledger.on_hand() - ledger.sold();
        let kind = stock_event(before, after, low_mark)?;
        let sku = self.state.id().name()?;
        let news = StockNews {
            sku: sku.clone(),
            on_hand: ledger.on_hand(),
            sold: ledger.sold(),
            unsold: after,
            low_mark,
        };
        let body = if kind == "stock.out_of_stock" {
            EventBody::StockOut(news)
        } else {
            EventBody::StockLow(news)
        };
        Some(Event {
            id: stock_event_id(&sku, kind, op_id),
            store: None,
            occurred_at_ms: now,
            body,
        })
    }

    /// The alarm: expires the holds that are due, forgets old operation
    /// ids (hourly), sets the next alarm and reports a flip.
    async fn expire(&self) -> Result<(), String> {
        let now = now_ms();
        // This alarm has fired: the next one is set below.
        self.alarm_at_ms.set(None);
        self.load()?;
        let moves = self
            .with_ledger(|l| l.apply(&StockOp::Expire, now))
            .unwrap_or_default();
        self.persist("alarm", now, &moves, None)?;
        if now - self.forgot_at_ms.get() > 3_600_000 {
            self.forget_old_ops(now)?;
            self.forgot_at_ms.set(now);
        }
        self.schedule().await?;
        self.report_flip(now).await;
        // Events not acknowledged yet are sent again (after the schedule:
        // forwarding only ever moves the alarm earlier).
        outbox::forward(&self.env, &self.state.storage(), &self.source(), now).await?;
        Ok(())
    }

    async fn handle(&self, command: StockCommand) -> Encoded {
        let now = now_ms();
        match command {
            StockCommand::Apply(c) => answer(c, |c| self.apply(c, now)).await,
            StockCommand::Snapshot(c) => {
                answer(c, |Snapshot {}| async move {
                    self.load()?;
                    Ok(Ok(self.with_ledger(|l| levels(l, now))))
                })
                .await
            }
            StockCommand::History(c) => {
                answer(c, |c| async move {
                    self.load()?;
                    Ok(Ok(HistoryPage {
                        entries: self.history(c.after, c.limit)?,
                    }))
                })
                .await
            }
            StockCommand::OutboxAck(c) => {
                answer(c, |c| async move {
                    outbox::ack(
                        &Tables::open(&self.state.storage(), outbox::OUTBOX_SCHEMA)?,
                        &c.events,
                    )?;
                    Ok(Ok(crate::protocol::stock::OutboxAcked {}))
                })
                .await
            }
        }
    }

    /// Applies an operation once (by its id) and persists what it moved.
    async fn apply(&self, Apply { op_id, op }: Apply, now: i64) -> Handled<Apply> {
        self.load()?;
        let seen = self.remembered(&op_id)?;
        let unsold = |l: &StockLedger| l.on_hand() - l.sold();
        let (outcome, applied, before) = {
            let mut guard = self.loaded.borrow_mut();
            let l = guard.as_mut().ok_or("not loaded")?;
            let before = unsold(&l.ledger);
            let (outcome, applied) = l.ledger.apply_once(seen.as_ref(), &op, now);
            (outcome, applied, before)
        };
        // A refused hold is not remembered (`remembers`): it changed
        // nothing and leaves no row, so a flood of them costs no storage.
        if applied && remembers(&op, &outcome) {
            let moves = outcome.clone().unwrap_or_default();
            // The movement and its news (if it is news) commit together.
            let news = self.stock_news(&op_id, before, now);
            let written = self
                .persist(&op_id, now, &moves, Some(&outcome))
                .and_then(|()| match &news {
                    Some(event) => outbox::add(
                        &Tables::open(&self.state.storage(), outbox::OUTBOX_SCHEMA)?,
                        event,
                        now,
                    ),
                    None => Ok(()),
                });
            if let Err(e) = written {
                // Memory may be ahead of storage: reload next time.
                *self.loaded.borrow_mut() = None;
                return Err(e);
            }
            self.schedule().await?;
            self.report_flip(now).await;
            if news.is_some() {
                // Rare (a crossing of the low mark): forwarded at once; the
                // alarm sends it again until it is acknowledged.
                if let Err(e) =
                    outbox::forward(&self.env, &self.state.storage(), &self.source(), now).await
                {
                    console_error!("stock event: {e}");
                }
            }
        }
        let levels = self.with_ledger(|l| levels(l, now));
        Ok(outcome.map(|_| Applied { applied, levels }))
    }

    fn with_ledger<T>(&self, f: impl FnOnce(&mut StockLedger) -> T) -> T {
        let mut guard = self.loaded.borrow_mut();
        f(&mut guard.as_mut().expect("loaded").ledger)
    }

    fn load(&self) -> Result<(), String> {
        if self.loaded.borrow().is_some() {
            return Ok(());
        }
        let tables = Tables::open(&self.state.storage(), SCHEMA)?;
        // The client a hold counts against (its budget); absent from holds
        // placed before there were budgets.
        tables.add_column("holds", "holder", "TEXT")?;
        #[derive(Deserialize)]
        struct Totals {
            on_hand: f64,
            sold: f64,
        }
        #[derive(Deserialize)]
        struct HoldRow {
            cart: String,
            quantity: f64,
            expires_at_ms: f64,
            holder: Option<String>,
        }
        let totals: Vec<Totals> = tables.rows(
            "loading ledger",
            "SELECT on_hand, sold FROM ledger WHERE id = 1",
            Vec::new(),
        )?;
        let holds: Vec<HoldRow> = tables.rows(
            "loading holds",
            "SELECT cart, quantity, expires_at_ms, holder FROM holds",
            Vec::new(),
        )?;
        // What was reported of the low mark; absent from rows reported
        // before there was a low-stock list.
        tables.add_column("reported", "low_unsold", "INTEGER")?;
        #[derive(Deserialize)]
        struct ReportedRow {
            in_stock: f64,
            low_unsold: Option<f64>,
        }
        let reported = tables.rows::<ReportedRow>(
            "loading reported availability",
            "SELECT in_stock, low_unsold FROM reported WHERE id = 1",
            Vec::new(),
        )?;
        let reported_in_stock = reported.first().is_some_and(|r| r.in_stock > 0.0);
        let reported_low = reported
            .first()
            .and_then(|r| r.low_unsold)
            .map(|u| u as i64);
        let (on_hand, sold) = totals
            .first()
            .map_or((0, 0), |t| (t.on_hand as i64, t.sold as i64));
        let holds = holds
            .into_iter()
            .map(|h| {
                (
                    h.cart,
                    Hold {
                        quantity: h.quantity as i64,
                        expires_at_ms: h.expires_at_ms as i64,
                        holder: h.holder,
                    },
                )
            })
            .collect();
        let ledger = StockLedger::from_parts(on_hand, sold, holds);
        *self.loaded.borrow_mut() = Some(Loaded {
            ledger,
            reported_in_stock,
            reported_low,
        });
        Ok(())
    }

    /// Writes the totals, the holds the movements touched, the movements and
    /// the operation's outcome: synchronous, so one atomic commit.
    fn persist(
        &self,
        op_id: &str,
        now: i64,
        moves: &[Movement],
        outcome: Option<&edgecart_domain::stock::Outcome>,
    ) -> Result<(), String> {
        let sql = Tables::opened(&self.state.storage());
        let guard = self.loaded.borrow();
        let ledger = &guard.as_ref().ok_or("not loaded")?.ledger;
        // Holds change only the hold rows: the totals row is written when on
        // hand or sold moved.
        if moves
            .iter()
            .any(|m| m.on_hand_delta != 0 || m.sold_delta != 0)
        {
            sql.exec(
                "saving ledger",
                "INSERT OR REPLACE INTO ledger (id, on_hand, sold) VALUES (1, ?, ?)",
                vec![ledger.on_hand().into(), ledger.sold().into()],
            )?;
        }
        for m in moves {
            if let Some(cart) = &m.cart {
                match ledger.hold(cart) {
                    Some(h) => sql.exec(
                        "saving hold",
                        "INSERT OR REPLACE INTO holds (cart, quantity, expires_at_ms, holder) VALUES (?, ?, ?, ?)",
                        vec![
                            cart.as_str().into(),
                            h.quantity.into(),
                            h.expires_at_ms.into(),
                            h.holder.clone().into(),
                        ],
                    ),
                    None => sql.exec(
                        "saving hold",
                        "DELETE FROM holds WHERE cart = ?",
                        vec![cart.as_str().into()],
                    ),
                }?;
            }
            sql.exec(
                "saving movement",
                "INSERT INTO movements (at_ms, op_id, kind, cart, on_hand_delta, reserved_delta, sold_delta, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    now.into(),
                    op_id.into(),
                    m.kind.as_str().into(),
                    m.cart.clone().into(),
                    m.on_hand_delta.into(),
                    m.reserved_delta.into(),
                    m.sold_delta.into(),
                    m.reason.clone().into(),
                ],
            )?;
        }
        // A refusal, or a success that moved nothing, has no movement rows
        // to be remembered by: its outcome gets a row of its own.
        if let Some(outcome) = outcome.filter(|o| o.as_ref().map_or(true, Vec::is_empty)) {
            sql.exec(
                "saving operation id",
                "INSERT OR REPLACE INTO ops (op_id, at_ms, outcome) VALUES (?, ?, ?)",
                vec![op_id.into(), now.into(), json(outcome)?.into()],
            )?;
        }
        Ok(())
    }

    fn forget_old_ops(&self, now: i64) -> Result<(), String> {
        Tables::opened(&self.state.storage()).exec(
            "forgetting operation ids",
            "DELETE FROM ops WHERE at_ms < ?",
            vec![(now - OP_MEMORY_MS).into()],
        )
    }

    /// What operation `op_id` did, if this object remembers it: its own row
    /// (a refusal, or a success that moved nothing), or the movement rows
    /// it wrote, in order. One lookup by key either way; whether it is
    /// still fresh is the domain's to say.
    fn remembered(&self, op_id: &str) -> Result<Option<RememberedOp>, String> {
        #[derive(Deserialize)]
        struct OpRow {
            at_ms: f64,
            outcome: String,
        }
        let own: Vec<OpRow> = Tables::opened(&self.state.storage()).rows(
            "reading an operation id",
            "SELECT at_ms, outcome FROM ops WHERE op_id = ?",
            vec![op_id.into()],
        )?;
        if let Some(row) = own.into_iter().next() {
            let outcome = serde_json::from_str(&row.outcome)
                .map_err(|e| format!("stored operation {op_id}: {e}"))?;
            return Ok(Some(RememberedOp {
                at_ms: row.at_ms as i64,
                outcome,
            }));
        }
        // The alarm's expiries are not operations.
        if op_id == "alarm" {
            return Ok(None);
        }
        let rows = self.movement_rows(MovementQuery::Op(op_id))?;
        let Some(at_ms) = rows.last().map(|r| r.at_ms as i64) else {
            return Ok(None);
        };
        // An id used again after it was forgotten wrote rows of its own:
        // the latest application is the one remembered.
        let moves = rows
            .into_iter()
            .filter(|r| r.at_ms as i64 == at_ms)
            .map(MovementRow::movement)
            .collect();
        Ok(Some(RememberedOp {
            at_ms,
            outcome: Ok(moves),
        }))
    }

    /// Makes sure the alarm fires by the next expiry (or for the daily
    /// clean-up of operation ids). An alarm already set no later than that
    /// is kept (a hot SKU's new holds expire after the oldest one, so most
    /// operations set nothing); an early alarm finds nothing due and
    /// reschedules itself.
    async fn schedule(&self) -> Result<(), String> {
        let now = now_ms();
        let next = self.with_ledger(|l| l.next_expiry_ms());
        let mut at = next.unwrap_or(now + OP_MEMORY_MS);
        if self.unreported_flip(now) {
            at = at.min(now + REPORT_RETRY_MS);
        }
        if self.alarm_at_ms.get().is_some_and(|set| set <= at) {
            return Ok(());
        }
        self.alarm_at_ms.set(None);
        crate::object::arm_in(&self.state.storage(), at - now).await?;
        self.alarm_at_ms.set(Some(at));
        Ok(())
    }

    /// True when availability (none or some), or the unsold units as the
    /// low-stock list sees them, differ from what the publisher last
    /// acknowledged.
    fn unreported_flip(&self, now: i64) -> bool {
        let low_mark = self.low_mark;
        let guard = self.loaded.borrow();
        guard.as_ref().is_some_and(|l| {
            (l.ledger.available_at(now) > 0) != l.reported_in_stock
                || low_stock(l.ledger.on_hand() - l.ledger.sold(), low_mark) != l.reported_low
        })
    }

    /// Reports a flip of availability to the publisher and records the
    /// acknowledgement. Failures are logged; the armed alarm retries.
    async fn report_flip(&self, now: i64) {
        if !self.unreported_flip(now) {
            return;
        }
        let in_stock = self.with_ledger(|l| l.available_at(now) > 0);
        let low_mark = self.low_mark;
        let low = self.with_ledger(|l| low_stock(l.on_hand() - l.sold(), low_mark));
        let Some(sku) = self.state.id().name() else {
            console_error!("SkuStock without a name cannot report its availability");
            return;
        };
        let command = Changed { sku: sku.clone() };
        if let Err(e) = send(&self.env, availability::NAME, command).await {
            console_error!("reporting availability of {sku}: {e}");
            return;
        }
        let saved = Tables::opened(&self.state.storage()).exec(
            "recording the availability report",
            "INSERT OR REPLACE INTO reported (id, in_stock, low_unsold) VALUES (1, ?, ?)",
            vec![i64::from(in_stock).into(), low.into()],
        );
        match saved {
            Ok(_) => {
                if let Some(l) = self.loaded.borrow_mut().as_mut() {
                    l.reported_in_stock = in_stock;
                    l.reported_low = low;
                }
            }
            Err(e) => console_error!("recording the availability report of {sku}: {e}"),
        }
    }

    /// Movement rows, oldest first: those after sequence number `after`
    /// (at most `limit`), or those recorded at or after `since_ms`.
    fn movement_rows(&self, query: MovementQuery) -> Result<Vec<MovementRow>, String> {
        const COLUMNS: &str =
            "seq, at_ms, op_id, kind, cart, on_hand_delta, reserved_delta, sold_delta, reason";
        let (sql, bindings): (String, Vec<worker::SqlStorageValue>) = match query {
            MovementQuery::After { after, limit } => (
                format!("SELECT {COLUMNS} FROM movements WHERE seq > ? ORDER BY seq LIMIT ?"),
                vec![(after as i64).into(), i64::from(limit).into()],
            ),
            MovementQuery::Op(op_id) => (
                format!("SELECT {COLUMNS} FROM movements WHERE op_id = ? ORDER BY seq"),
                vec![op_id.into()],
            ),
        };
        Tables::opened(&self.state.storage()).rows("reading movements", &sql, bindings)
    }

    fn history(&self, after: u64, limit: u32) -> Result<Vec<MovementEntry>, String> {
        Ok(self
            .movement_rows(MovementQuery::After { after, limit })?
            .into_iter()
            .map(|r| MovementEntry {
                seq: r.seq as u64,
                at: rfc3339(r.at_ms as i64),
                op_id: r.op_id.clone(),
                movement: r.movement(),
            })
            .collect())
    }
}

enum MovementQuery<'a> {
    After {
        after: u64,
        limit: u32,
    },
    /// The movements an operation wrote.
    Op(&'a str),
}

/// One row of the `movements` table.
#[derive(Deserialize)]
struct MovementRow {
    seq: f64,
    at_ms: f64,
    op_id: String,
    kind: String,
    cart: Option<String>,
    on_hand_delta: f64,
    reserved_delta: f64,
    sold_delta: f64,
    reason: Option<String>,
}

impl MovementRow {
    fn movement(self) -> Movement {
        Movement {
            kind: self.kind,
            cart: self.cart,
            on_hand_delta: self.on_hand_delta as i64,
            reserved_delta: self.reserved_delta as i64,
            sold_delta: self.sold_delta as i64,
            reason: self.reason,
        }
    }
}
