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
//! An admin's grant or adjustment is remembered by its key with what it
//! asked (a repeat answers the balance, `replayed`; the same key for
//! anything else is refused), and its audit entry is committed with it,
//! then delivered to the store's trail (once per key there); what is not
//! delivered stays owed and the alarm retries it.
//!
//! It must not decide how many points anything costs or earns: that is the
//! domain's (`Programme`), done by the caller.

use crate::object::{
    alarm_serially, answer, arm_by, json, now_ms, rfc3339, serially, serve, Handled, Tables,
};
use crate::outbox::{self, Source, SourceClass};
use crate::protocol::audit::{AuditRecord, PendingEntry};
use crate::protocol::points::{self as protocol, Changed, Held, PointsCommand, PointsView};
use crate::protocol::{send, store};
use edgecart_domain::audit;
use edgecart_domain::events::{points_event_id, Event, EventBody, PointsNews};
use edgecart_domain::points::{Ledger, Origin, Row, RowKind};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;
use worker::{durable_object, DurableObject, Env, Request, Response, State, Storage};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (seq INTEGER PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, kind TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS owed (key TEXT PRIMARY KEY, store TEXT NOT NULL, json TEXT NOT NULL);
";

/// Most history rows one view answers.
const PAGE_MAX: u32 = 200;

/// How soon an audit entry that could not be delivered is tried again.
const RETRY_MS: i64 = 5_000;

/// What an admin operation asked, remembered under its key: a repeat of
/// the key with anything else is refused.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Asked {
    kind: RowKind,
    amount: i64,
    reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<i64>,
}

/// An audit entry owed to a store's trail.
#[derive(Deserialize)]
struct OwedRow {
    store: String,
    json: String,
}

#[durable_object]
pub struct PointsLedger {
    state: State,
    inner: Rc<Book>,
}

struct Book {
    storage: Storage,
    env: Env,
    ledger: RefCell<Option<Ledger>>,
    /// The ledger's name (`points:{store}:{member}`).
    name: String,
}

/// An admin operation: its key, what it asked, and its audit entry's
/// store, member and actor.
struct AdminOp {
    key: String,
    asked: Asked,
    store: String,
    member: String,
    actor: String,
}

impl DurableObject for PointsLedger {
    fn new(state: State, env: Env) -> Self {
        let inner = Rc::new(Book {
            storage: state.storage(),
            env,
            ledger: RefCell::new(None),
            name: state.id().name().unwrap_or_default(),
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

    /// Writes the ledger, its new rows and, for an admin operation, its key
    /// and its owed audit entry, in one synchronous block; then sets the
    /// alarm for its next deadline.
    async fn save(
        &self,
        ledger: Ledger,
        rows: &[Row],
        admin: Option<(&AdminOp, PendingEntry)>,
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
            if let Some((op, entry)) = &admin {
                sql.exec(
                    "saving a points key",
                    "INSERT INTO keys (key, kind) VALUES (?, ?)",
                    vec![op.key.as_str().into(), json(&op.asked)?.into()],
                )?;
                sql.exec(
                    "saving an owed audit entry",
                    "INSERT OR REPLACE INTO owed (key, store, json) VALUES (?, ?, ?)",
                    vec![
                        entry.key.as_str().into(),
                        op.store.as_str().into(),
                        json(entry)?.into(),
                    ],
                )?;
            }
            // Each row's news, in the same commit.
            let news = self.news(&ledger, rows);
            if !news.is_empty() {
                let outbox_table = Tables::open(&self.storage, outbox::OUTBOX_SCHEMA)?;
                for event in &news {
                    outbox::add(&outbox_table, event, now_ms())?;
                }
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
        if !rows.is_empty() {
            outbox::wake(&self.storage, now).await?;
        }
        Ok(())
    }

    /// The `points.changed` events of `rows`, with the balance after them.
    fn news(&self, ledger: &Ledger, rows: &[Row]) -> Vec<Event> {
        let mut parts = self.name.splitn(3, ':').skip(1);
        let (Some(store), Some(member)) = (parts.next(), parts.next()) else {
            return Vec::new();
        };
        let now = now_ms();
        let balance = ledger.balance(now);
        rows.iter()
            .map(|row| Event {
                id: points_event_id(store, member, row.seq as i64),
                store: Some(store.to_string()),
                occurred_at_ms: row.at_ms,
                body: EventBody::PointsChanged(PointsNews {
                    member: member.to_string(),
                    points: row.amount,
                    reason: serde_json::to_value(row.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    available: balance.available,
                    pending: balance.pending,
                }),
            })
            .collect()
    }

    /// What an admin operation with `key` asked, if one was applied.
    fn seen(&self, key: &str) -> Result<Option<Asked>, String> {
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

    /// Delivers the audit entries owed to the store's trail; what fails stays
    /// owed, with the alarm set to retry.
    async fn deliver(&self) -> Result<(), String> {
        let sql = Tables::opened(&self.storage);
        let owed: Vec<OwedRow> = sql.rows(
            "reading owed audit entries",
            "SELECT store, json FROM owed ORDER BY key",
            Vec::new(),
        )?;
        if owed.is_empty() {
            return Ok(());
        }
        // One ledger is one store's (its name says so): every entry owed
        // goes to that store's trail, in one delivery.
        let store_id = owed[0].store.clone();
        let entries = owed
            .iter()
            .map(|row| serde_json::from_str::<PendingEntry>(&row.json))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("stored audit entry: {e}"))?;
        let keys: Vec<String> = entries.iter().map(|e| e.key.clone()).collect();
        if let Err(e) = send(&self.env, &store_id, store::RecordAudit { entries }).await {
            let now = now_ms();
            arm_by(&self.storage, now + RETRY_MS, now).await?;
            return Err(format!("audit entries for {store_id}: {e}"));
        }
        for key in keys {
            sql.exec(
                "dropping a delivered audit entry",
                "DELETE FROM owed WHERE key = ?",
                vec![key.into()],
            )?;
        }
        Ok(())
    }

    async fn handle(&self, command: PointsCommand) -> crate::object::Encoded {
        match command {
            PointsCommand::View(c) => answer(c, |c| self.view(c)).await,
            PointsCommand::Grant(c) => {
                answer(c, |c| {
                    let op = AdminOp {
                        key: c.key.clone(),
                        asked: Asked {
                            kind: RowKind::Grant,
                            amount: c.amount,
                            reason: c.reason.clone(),
                            expires_at_ms: c.expires_at_ms,
                        },
                        store: c.store.clone(),
                        member: c.member.clone(),
                        actor: c.actor.clone(),
                    };
                    self.admin(op, move |l, now| {
                        let o = Origin {
                            key: &c.key,
                            actor: &c.actor,
                            reason: &c.reason,
                            order: None,
                        };
                        l.grant(&c.programme, c.amount, c.expires_at_ms, &o, now)
                    })
                })
                .await
            }
            PointsCommand::Adjust(c) => {
                answer(c, |c| {
                    let op = AdminOp {
                        key: c.key.clone(),
                        asked: Asked {
                            kind: RowKind::Adjust,
                            amount: c.delta,
                            reason: c.reason.clone(),
                            expires_at_ms: None,
                        },
                        store: c.store.clone(),
                        member: c.member.clone(),
                        actor: c.actor.clone(),
                    };
                    self.admin(op, move |l, now| {
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
            PointsCommand::OutboxAck(c) => {
                answer(c, |c| async move {
                    outbox::ack(
                        &Tables::open(&self.storage, outbox::OUTBOX_SCHEMA)?,
                        &c.events,
                    )?;
                    Ok(Ok(crate::protocol::points::OutboxAcked {}))
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

    /// An admin's grant or adjustment: once per key (a repeat of what it
    /// asked answers the balance now, `replayed`; the key with anything
    /// else is refused), its audit entry committed with it and delivered.
    async fn admin(
        &self,
        op: AdminOp,
        apply: impl FnOnce(&mut Ledger, i64) -> Applied,
    ) -> Result<Result<Changed, protocol::PointsRefusal>, String> {
        // Loading creates the tables a new ledger has not yet.
        self.load()?;
        if let Some(seen) = self.seen(&op.key)? {
            if seen != op.asked {
                return Ok(Err(protocol::PointsRefusal::KeyReused));
            }
            return Ok(Ok(Changed {
                balance: self.load()?.balance(now_ms()),
                replayed: true,
            }));
        }
        let changed = self.apply_and_save(Some(&op), apply).await?;
        if changed.is_ok() {
            if let Err(e) = self.deliver().await {
                worker::console_error!("points ledger: audit entry owed: {e}");
            }
        }
        Ok(changed)
    }

    async fn apply_and_save(
        &self,
        admin: Option<&AdminOp>,
        apply: impl FnOnce(&mut Ledger, i64) -> Applied,
    ) -> Result<Result<Changed, protocol::PointsRefusal>, String> {
        let mut ledger = self.load()?;
        let now = now_ms();
        let mut rows = settle(&mut ledger, now);
        let before = ledger.balance(now).available;
        match apply(&mut ledger, now) {
            Ok(new) => rows.extend(new),
            Err(refusal) => return Ok(Err(refusal)),
        }
        let balance = ledger.balance(now);
        let admin = admin.map(|op| {
            let change = audit::points_moved(
                &op.member,
                op.asked.kind == RowKind::Grant,
                op.asked.amount,
                &op.asked.reason,
                before,
                balance.available,
            );
            let entry = PendingEntry {
                key: audit::points_key(&op.member, &op.key),
                record: AuditRecord::of(rfc3339(now), &op.actor, &change),
            };
            (op, entry)
        });
        self.save(ledger, &rows, admin).await?;
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

    /// The alarm: expires lots, drops lapsed holds, delivers owed audit
    /// entries.
    async fn tick(&self) -> Result<(), String> {
        let mut ledger = self.load()?;
        let rows = settle(&mut ledger, now_ms());
        self.save(ledger, &rows, None).await?;
        let source = Source {
            class: SourceClass::Points,
            name: self.name.clone(),
        };
        let forwarded = outbox::forward(&self.env, &self.storage, &source, now_ms()).await;
        self.deliver().await?;
        forwarded
    }
}

/// Drops lapsed holds, then expires what is due: the ledger as of `now`.
fn settle(ledger: &mut Ledger, now: i64) -> Vec<Row> {
    ledger.lapse_holds(now);
    ledger.expire(now)
}
