//! `PointsLedger`: one Durable Object per (store, member), named by
//! `edgecart_domain::member::ledger_name`. It keeps the member's
//! `edgecart_domain::points::Ledger` (lots, holds, spendings, debt) as one
//! row, and the history as rows of their own, in SQLite. Each command runs
//! alone (`blockConcurrencyWhile`): apply the domain rule, then write the
//! ledger, the new history rows and, for an admin's grant or adjustment,
//! its key, in one synchronous block. Reading a balance costs the ledger
//! row (kept in memory) and one page of history, however long the history.
//!
//! The alarm fires at the ledger's next deadline (a lot expires or becomes
//! spendable, a hold lapses): it expires lots and drops lapsed holds, so
//! points expire with no traffic at all.
//!
//! It must not decide how many points anything costs or earns: that is the
//! domain's (`Programme`), done by the caller.

use crate::object::{
    alarm_serially, answer, arm_by, json, now_ms, serially, serve, Handled, Tables,
};
use crate::protocol::points::{self as protocol, Changed, Held, PointsCommand, PointsView};
use edgecart_domain::points::{Ledger, Origin, Row, RowKind};
use serde::Deserialize;
use std::cell::RefCell;
use std::rc::Rc;
use worker::{durable_object, DurableObject, Env, Request, Response, State, Storage};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (seq INTEGER PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, kind TEXT NOT NULL);
";

/// Most history rows one view answers.
const PAGE_MAX: u32 = 200;

#[durable_object]
pub struct PointsLedger {
    state: State,
    inner: Rc<Book>,
}

struct Book {
    storage: Storage,
    ledger: RefCell<Option<Ledger>>,
}

impl DurableObject for PointsLedger {
    fn new(state: State, _env: Env) -> Self {
        let inner = Rc::new(Book {
            storage: state.storage(),
            ledger: RefCell::new(None),
        });
        PointsLedger { state, inner }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let book = self.inner.clone();
        serve(req, |command: PointsCommand| {
            serially(&self.state, async move { book.handle(command).await })
        })
        .await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let book = self.inner.clone();
        alarm_serially(&self.state, async move { book.tick().await }).await
    }
}

/// The result of applying a change to the ledger: the new rows, or the
/// refusal (nothing changed).
type Applied = Result<Vec<Row>, protocol::PointsRefusal>;

impl Book {
    fn load(&self) -> Result<Ledger, String> {
        if let Some(l) = self.ledger.borrow().as_ref() {
            return Ok(l.clone());
        }
        let tables = Tables::open(&self.storage, SCHEMA)?;
        let ledger: Ledger = tables
            .document(
                "points ledger",
                "SELECT json FROM ledger WHERE id = 1",
                Vec::new(),
            )?
            .unwrap_or_default();
        *self.ledger.borrow_mut() = Some(ledger.clone());
        Ok(ledger)
    }

    /// Writes the ledger, its new rows and `key` (an admin operation's) in
    /// one synchronous block, then sets the alarm for its next deadline.
    async fn save(
        &self,
        ledger: Ledger,
        rows: &[Row],
        key: Option<(&str, RowKind)>,
    ) -> Result<(), String> {
        let sql = Tables::opened(&self.storage);
        let written = (|| {
            sql.exec(
                "saving the points ledger",
                "INSERT OR REPLACE INTO ledger (id, json) VALUES (1, ?)",
                vec![json(&ledger)?.into()],
            )?;
            for row in rows {
                sql.exec(
                    "saving a points row",
                    "INSERT INTO rows (seq, json) VALUES (?, ?)",
                    vec![(row.seq as i64).into(), json(row)?.into()],
                )?;
            }
            if let Some((key, kind)) = key {
                sql.exec(
                    "saving a points key",
                    "INSERT INTO keys (key, kind) VALUES (?, ?)",
                    vec![key.into(), json(&kind)?.into()],
                )?;
            }
            Ok::<(), String>(())
        })();
        if let Err(e) = written {
            // Memory may be ahead of storage: read storage again next time.
            *self.ledger.borrow_mut() = None;
            return Err(e);
        }
        let now = now_ms();
        let deadline = ledger.next_deadline(now);
        *self.ledger.borrow_mut() = Some(ledger);
        if let Some(at) = deadline {
            arm_by(&self.storage, at, now).await?;
        }
        Ok(())
    }

    /// Whether an admin operation with `key` was applied before (as `kind`).
    fn seen(&self, key: &str) -> Result<Option<RowKind>, String> {
        #[derive(Deserialize)]
        struct KeyRow {
            kind: String,
        }
        let rows: Vec<KeyRow> = Tables::opened(&self.storage).rows(
            "reading a points key",
            "SELECT kind FROM keys WHERE key = ?",
            vec![key.into()],
        )?;
        rows.into_iter()
            .next()
            .map(|r| serde_json::from_str(&r.kind).map_err(|e| format!("stored key: {e}")))
            .transpose()
    }

    async fn handle(&self, command: PointsCommand) -> crate::object::Encoded {
        match command {
            PointsCommand::View(c) => answer(c, |c| self.view(c)).await,
            PointsCommand::Grant(c) => {
                answer(c, |c| {
                    self.admin(c.key.clone(), RowKind::Grant, move |l, now| {
                        let o = Origin {
                            key: &c.key,
                            actor: &c.actor,
                            reason: &c.reason,
                            order: None,
                        };
                        l.grant(&c.programme, c.amount, &o, now)
                    })
                })
                .await
            }
            PointsCommand::Adjust(c) => {
                answer(c, |c| {
                    self.admin(c.key.clone(), RowKind::Adjust, move |l, now| {
                        let o = Origin {
                            key: &c.key,
                            actor: &c.actor,
                            reason: &c.reason,
                            order: None,
                        };
                        l.adjust(&c.programme, c.delta, &o, now)
                    })
                })
                .await
            }
            PointsCommand::Hold(c) => answer(c, |c| self.hold(c)).await,
            PointsCommand::Release(c) => {
                answer(c, |c| {
                    self.change(move |l, _| {
                        l.release(&c.order);
                        Ok(Vec::new())
                    })
                })
                .await
            }
            PointsCommand::Commit(c) => {
                answer(c, |c| self.change(move |l, now| l.commit(&c.order, now))).await
            }
            PointsCommand::Earn(c) => {
                answer(c, |c| {
                    self.change(move |l, now| Ok(l.earn(&c.programme, &c.order, c.amount, now)))
                })
                .await
            }
            PointsCommand::Restore(c) => {
                answer(c, |c| {
                    self.change(move |l, now| Ok(l.restore(&c.order, &c.actor, now)))
                })
                .await
            }
            PointsCommand::Revoke(c) => {
                answer(c, |c| {
                    self.change(move |l, now| Ok(l.revoke(&c.order, &c.actor, now)))
                })
                .await
            }
        }
    }

    async fn view(
        &self,
        protocol::View { before, limit }: protocol::View,
    ) -> Handled<protocol::View> {
        let ledger = self.load()?;
        let limit = limit.clamp(1, PAGE_MAX);
        let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
        let mut rows: Vec<Row> = Tables::opened(&self.storage).documents(
            "points rows",
            "SELECT json FROM rows WHERE seq < ? ORDER BY seq DESC LIMIT ?",
            vec![before.into(), (i64::from(limit) + 1).into()],
        )?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        Ok(Ok(PointsView {
            balance: ledger.balance(now_ms()),
            rows,
            more,
        }))
    }

    /// Applies an operation that changes the ledger (expiring and lapsing
    /// first, so it sees the ledger as of now).
    async fn change(
        &self,
        apply: impl FnOnce(&mut Ledger, i64) -> Applied,
    ) -> Result<Result<Changed, protocol::PointsRefusal>, String> {
        self.apply_and_save(None, apply).await
    }

    /// An admin's grant or adjustment: once per key (a repeat answers the
    /// balance now, `replayed`); a key used for the other kind is refused.
    async fn admin(
        &self,
        key: String,
        kind: RowKind,
        apply: impl FnOnce(&mut Ledger, i64) -> Applied,
    ) -> Result<Result<Changed, protocol::PointsRefusal>, String> {
        if let Some(seen) = self.seen(&key)? {
            if seen != kind {
                return Ok(Err(protocol::PointsRefusal::KeyReused));
            }
            return Ok(Ok(Changed {
                balance: self.load()?.balance(now_ms()),
                replayed: true,
            }));
        }
        self.apply_and_save(Some((&key, kind)), apply).await
    }

    async fn apply_and_save(
        &self,
        key: Option<(&str, RowKind)>,
        apply: impl FnOnce(&mut Ledger, i64) -> Applied,
    ) -> Result<Result<Changed, protocol::PointsRefusal>, String> {
        let mut ledger = self.load()?;
        let now = now_ms();
        let mut rows = settle(&mut ledger, now);
        match apply(&mut ledger, now) {
            Ok(new) => rows.extend(new),
            Err(refusal) => return Ok(Err(refusal)),
        }
        let balance = ledger.balance(now);
        self.save(ledger, &rows, key).await?;
        Ok(Ok(Changed {
            balance,
            replayed: false,
        }))
    }

    async fn hold(&self, c: protocol::Hold) -> Handled<protocol::Hold> {
        let mut ledger = self.load()?;
        let now = now_ms();
        let rows = settle(&mut ledger, now);
        let hold = match ledger.hold(&c.order, c.amount, now + c.ttl_ms.max(1), now) {
            Ok(h) => h.clone(),
            Err(refusal) => return Ok(Err(refusal)),
        };
        let balance = ledger.balance(now);
        self.save(ledger, &rows, None).await?;
        Ok(Ok(Held { hold, balance }))
    }

    /// The alarm: expires lots and drops lapsed holds.
    async fn tick(&self) -> Result<(), String> {
        let mut ledger = self.load()?;
        let rows = settle(&mut ledger, now_ms());
        self.save(ledger, &rows, None).await
    }
}

/// Drops lapsed holds, then expires what is due: the ledger as of `now`.
fn settle(ledger: &mut Ledger, now: i64) -> Vec<Row> {
    ledger.lapse_holds(now);
    ledger.expire(now)
}
