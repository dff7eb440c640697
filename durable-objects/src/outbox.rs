//! The transactional outbox every object that emits events shares: an
//! event row is written in the same storage transaction as the change it
//! reports (the caller adds it between the same two awaits as its own
//! writes, so both commit at once), then forwarded by the object's alarm
//! to the `EVENTS` Queue, and kept until the queue's consumer says the
//! store's webhook object took it in ([`ack`]). A row sent and not
//! acknowledged within [`RESEND_MS`] is sent again, so an event survives a
//! message the queue lost (or a consumer that died) as well as a crash of
//! the object itself; the webhook object takes each event id once.

use crate::object::{arm_by, json, Tables};
use edgecart_domain::events::Event;
use serde::{Deserialize, Serialize};
use worker::{Env, Storage};

pub(crate) const OUTBOX_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, json TEXT NOT NULL, at_ms INTEGER NOT NULL, sent_ms INTEGER);
";
/// How long a forwarded event may go unacknowledged before it is sent
/// again.
pub const RESEND_MS: i64 = 30_000;
/// Events forwarded per alarm run (the queue's batch limit is 100).
const BATCH: i64 = 100;

/// Where an event came from: the object that keeps it until it is
/// acknowledged (its binding's class and its name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub class: SourceClass,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceClass {
    Order,
    Stock,
    Catalog,
    Points,
}

/// A message of the `EVENTS` queue (sent as its JSON text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub source: Source,
    pub event: Event,
}

/// Writes `event` to the outbox (once per id), in the caller's transaction.
pub(crate) fn add(tables: &Tables, event: &Event, now: i64) -> Result<(), String> {
    tables.exec(
        "writing an event",
        "INSERT OR IGNORE INTO outbox (id, json, at_ms, sent_ms) VALUES (?, ?, ?, NULL)",
        vec![event.id.as_str().into(), json(event)?.into(), now.into()],
    )
}

/// Forwards the outbox's due events (never sent, or sent more than
/// [`RESEND_MS`] ago) to the queue, notes when, and keeps the alarm for
/// what is left or unacknowledged. Errors leave the rows for the next run.
pub(crate) async fn forward(
    env: &Env,
    storage: &Storage,
    source: &Source,
    now: i64,
) -> Result<(), String> {
    let tables = Tables::open(storage, OUTBOX_SCHEMA)?;
    #[derive(Deserialize)]
    struct Row {
        json: String,
    }
    let due: Vec<Row> = tables.rows(
        "reading the outbox",
        "SELECT json FROM outbox WHERE sent_ms IS NULL OR sent_ms < ? ORDER BY at_ms LIMIT ?",
        vec![(now - RESEND_MS).into(), BATCH.into()],
    )?;
    if !due.is_empty() {
        let events = due
            .iter()
            .map(|row| serde_json::from_str(&row.json).map_err(|e| format!("an outbox row: {e}")))
            .collect::<Result<Vec<Event>, String>>()?;
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        send(env, source, events).await?;
        for id in &ids {
            tables.exec(
                "noting an event sent",
                "UPDATE outbox SET sent_ms = ? WHERE id = ?",
                vec![now.into(), id.as_str().into()],
            )?;
        }
    }
    // More due now, or sent and waiting for their acknowledgement.
    #[derive(Deserialize)]
    struct Next {
        at: Option<f64>,
    }
    let next: Vec<Next> = tables.rows(
        "reading the outbox",
        "SELECT MIN(CASE WHEN sent_ms IS NULL THEN 0 ELSE sent_ms + ? END) AS at FROM outbox",
        vec![RESEND_MS.into()],
    )?;
    if let Some(at) = next.first().and_then(|n| n.at) {
        arm_by(storage, (at as i64).max(now), now).await?;
    }
    Ok(())
}

/// Sends `events` from `source` to the `EVENTS` queue, in one batch.
pub(crate) async fn send(env: &Env, source: &Source, events: Vec<Event>) -> Result<(), String> {
    let messages = events
        .into_iter()
        .map(|event| {
            // As JSON text: the queue's own encoding of structured values
            // does not carry every serde shape (flattened enums).
            json(&Message {
                source: source.clone(),
                event,
            })
        })
        .collect::<Result<Vec<String>, String>>()?;
    env.queue("EVENTS")
        .map_err(|e| format!("the EVENTS queue binding: {e}"))?
        .send_batch(messages)
        .await
        .map_err(|e| format!("sending events to the queue: {e}"))
}

/// Arms the alarm now, so an event just written is forwarded at once.
pub(crate) async fn wake(storage: &Storage, now: i64) -> Result<(), String> {
    arm_by(storage, now, now).await
}

/// Arms the alarm [`RESEND_MS`] from now (or keeps an earlier one), for an
/// owner that sends the events it just wrote itself ([`send`]): should
/// they go unacknowledged, or never leave, the alarm's [`forward`] sends
/// them again (a row never marked sent counts as due).
pub(crate) async fn arm_resend(storage: &Storage, now: i64) -> Result<(), String> {
    arm_by(storage, now + RESEND_MS, now).await
}

/// The consumer's acknowledgement: the webhook objects took these events
/// in; their rows go. Answers whether the outbox is empty now (its owner
/// may then drop an alarm that only waited for acknowledgements).
pub(crate) fn ack(tables: &Tables, ids: &[String]) -> Result<bool, String> {
    for id in ids {
        tables.exec(
            "acknowledging an event",
            "DELETE FROM outbox WHERE id = ?",
            vec![id.as_str().into()],
        )?;
    }
    #[derive(Deserialize)]
    struct Left {
        n: i64,
    }
    let left: Vec<Left> = tables.rows(
        "counting the outbox",
        "SELECT COUNT(*) AS n FROM outbox",
        Vec::new(),
    )?;
    Ok(left.first().is_none_or(|l| l.n == 0))
}
