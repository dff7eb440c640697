//! `Guard`: one per (store, kind, shard), the strikes an abuse control
//! counts against the keys of that shard (declined payments of clients,
//! carts or cards), so the next attempt of a key can be refused before it
//! is made.
//!
//! Each key that struck has one row, the domain's `Strikes` (at most the
//! policy's `max` times), written before the answer, with when it is
//! spent. Nothing is kept in memory: the rows are bounded by the keys that
//! struck within a window, and each command reads one row by its key. The
//! alarm, armed for the soonest spent row, deletes the spent ones, so keys
//! that stop striking leave nothing behind. A key is in one shard only
//! (`edgecart_domain::abuse::strike_shard`), so counts are exact; a new
//! key costs a row, not an object. The rules (when a key is blocked, until
//! when) are `edgecart_domain::abuse`'s.

use crate::object::{alarm_serially, answer, arm_by, now_ms, serve, Handled, Tables};
use crate::protocol::guard::{Check, GuardCommand, Strike, Verdict};
use edgecart_domain::abuse::{spent_at, StrikePolicy, Strikes};
use serde::Deserialize;
use std::cell::Cell;
use worker::{durable_object, DurableObject, Env, Request, Response, State};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS key_strikes (key TEXT PRIMARY KEY, json TEXT NOT NULL, spent_at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS key_strikes_spent ON key_strikes (spent_at_ms);
";

#[durable_object]
pub struct Guard {
    state: State,
    /// Whether this instance created (or found) the table.
    ready: Cell<bool>,
}

impl DurableObject for Guard {
    fn new(state: State, _env: Env) -> Self {
        Guard {
            state,
            ready: Cell::new(false),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        // Each command reads and writes its row in one synchronous block:
        // no other command interleaves.
        serve(req, |command: GuardCommand| async move {
            match command {
                GuardCommand::Check(c) => answer(c, |c| self.check(c)).await,
                GuardCommand::Strike(c) => answer(c, |c| self.strike(c)).await,
            }
        })
        .await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let storage = self.state.storage();
        alarm_serially(&self.state, async move { sweep(&storage).await }).await
    }
}

impl Guard {
    fn tables(&self) -> Result<Tables, String> {
        let storage = self.state.storage();
        if self.ready.get() {
            return Ok(Tables::opened(&storage));
        }
        let tables = Tables::open(&storage, SCHEMA)?;
        self.ready.set(true);
        Ok(tables)
    }

    fn load(tables: &Tables, key: &str) -> Result<Strikes, String> {
        Ok(tables
            .document::<Strikes>(
                "strikes",
                "SELECT json FROM key_strikes WHERE key = ?",
                vec![key.into()],
            )?
            .unwrap_or_default())
    }

    async fn check(&self, Check { key, policy }: Check) -> Handled<Check> {
        let strikes = Self::load(&self.tables()?, &key)?;
        Ok(Ok(verdict(&strikes, now_ms(), policy)))
    }

    async fn strike(&self, Strike { key, policy }: Strike) -> Handled<Strike> {
        let tables = self.tables()?;
        let now = now_ms();
        let mut strikes = Self::load(&tables, &key)?;
        strikes.record(now, policy);
        let spent = spent_at(&strikes, policy).unwrap_or(now);
        tables.exec(
            "recording the strike",
            "INSERT OR REPLACE INTO key_strikes (key, json, spent_at_ms) VALUES (?, ?, ?)",
            vec![
                key.as_str().into(),
                crate::object::json(&strikes)?.into(),
                spent.into(),
            ],
        )?;
        // The row is looked at again once it is spent.
        arm_by(&self.state.storage(), spent, now).await?;
        Ok(Ok(verdict(&strikes, now, policy)))
    }
}

/// Deletes the spent rows, and arms the alarm for the soonest of the
/// others.
async fn sweep(storage: &worker::Storage) -> Result<(), String> {
    let tables = Tables::open(storage, SCHEMA)?;
    let now = now_ms();
    tables.exec(
        "forgetting spent strikes",
        "DELETE FROM key_strikes WHERE spent_at_ms <= ?",
        vec![now.into()],
    )?;
    #[derive(Deserialize)]
    struct Next {
        at: Option<i64>,
    }
    let next: Vec<Next> = tables.rows(
        "the next spent strikes",
        "SELECT MIN(spent_at_ms) AS at FROM key_strikes",
        Vec::new(),
    )?;
    match next.first().and_then(|n| n.at) {
        Some(at) => arm_by(storage, at, now).await,
        None => Ok(()),
    }
}

fn verdict(strikes: &Strikes, now: i64, policy: StrikePolicy) -> Verdict {
    Verdict {
        strikes: strikes.count(now, policy) as u32,
        blocked_until_ms: strikes.blocked_until(now, policy),
    }
}
