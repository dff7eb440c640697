//! `Guard`: one per (store, kind, key), the strikes an abuse control counts
//! against that key (declined payments of a client, a cart or a card), so
//! the next attempt can be refused before it is made.
//!
//! It keeps one row, the domain's `Strikes` (at most the policy's `max`
//! times: bounded whatever the traffic), written before the answer. An
//! alarm at the end of the window deletes the row once nothing in it
//! counts, so a key that stops striking leaves nothing behind. The rules
//! (when a key is blocked, until when) are `edgecart_domain::abuse`'s.

use crate::object::{alarm_serially, answer, arm_in, now_ms, serve, Handled, Tables};
use crate::protocol::guard::{Check, GuardCommand, Strike, Verdict};
use edgecart_domain::abuse::{StrikePolicy, Strikes};
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Request, Response, State};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS strikes (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
";

/// The stored row: the strikes and the policy they were counted under (the
/// alarm needs it to know when they are spent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Row {
    strikes: Strikes,
    policy: Option<StrikePolicy>,
}

#[durable_object]
pub struct Guard {
    state: State,
}

impl DurableObject for Guard {
    fn new(state: State, _env: Env) -> Self {
        Guard { state }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        // Each command reads and writes its row in one synchronous block:
        // no other command interleaves.
        let storage = self.state.storage();
        serve(req, |command: GuardCommand| async move {
            match command {
                GuardCommand::Check(c) => answer(c, |c| check(&storage, c)).await,
                GuardCommand::Strike(c) => answer(c, |c| strike(&storage, c)).await,
            }
        })
        .await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let storage = self.state.storage();
        alarm_serially(&self.state, async move { sweep(&storage).await }).await
    }
}

fn load(tables: &Tables) -> Result<Row, String> {
    Ok(tables
        .document::<Row>(
            "strikes",
            "SELECT json FROM strikes WHERE id = 1",
            Vec::new(),
        )?
        .unwrap_or_default())
}

fn verdict(row: &Row, now: i64, policy: StrikePolicy) -> Verdict {
    Verdict {
        strikes: row.strikes.count(now, policy) as u32,
        blocked_until_ms: row.strikes.blocked_until(now, policy),
    }
}

/// Reads only: a key that never struck (nearly every one a checkout asks
/// about) has no table, and a check creates none, so it writes nothing.
async fn check(storage: &worker::Storage, Check { policy }: Check) -> Handled<Check> {
    let tables = Tables::opened(storage);
    let row = load(&tables).unwrap_or_default();
    Ok(Ok(verdict(&row, now_ms(), policy)))
}

async fn strike(storage: &worker::Storage, Strike { policy }: Strike) -> Handled<Strike> {
    let tables = Tables::open(storage, SCHEMA)?;
    let now = now_ms();
    let mut row = load(&tables)?;
    row.strikes.record(now, policy);
    row.policy = Some(policy);
    let json = crate::object::json(&row)?;
    tables.exec(
        "recording the strike",
        "INSERT OR REPLACE INTO strikes (id, json) VALUES (1, ?)",
        vec![json.into()],
    )?;
    // The row is looked at again when this strike leaves the window.
    arm_in(storage, policy.window_ms).await?;
    Ok(Ok(verdict(&row, now, policy)))
}

/// Deletes the row once nothing in it counts (each strike arms the alarm
/// for when it leaves the window, so normally all have); otherwise looks
/// again a window later.
async fn sweep(storage: &worker::Storage) -> Result<(), String> {
    let tables = Tables::open(storage, SCHEMA)?;
    let row = load(&tables)?;
    match row.policy {
        Some(policy) if !row.strikes.is_spent(now_ms(), policy) => {
            arm_in(storage, policy.window_ms).await
        }
        _ => tables.exec("forgetting the strikes", "DELETE FROM strikes", Vec::new()),
    }
}
