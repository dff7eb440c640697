//! `AvailabilityPublisher`: one object (named `availability`) that turns
//! the SKU objects' "my availability flipped" reports into the stock
//! snapshot the listing's `in_stock` filter reads from KV.
//!
//! A report only marks the SKU dirty (one row) and arms a short alarm, so
//! a burst of flips becomes one publication. The alarm asks each dirty
//! SKU's object for its exact levels now (so late or reordered reports
//! cannot publish a stale flag), records which SKUs have units available,
//! and publishes the sorted set under its content hash, then the pointer.
//! A crash anywhere leaves the SKUs dirty and the alarm armed: the next
//! run redoes the work, and publishing is idempotent. It must not decide
//! availability itself: the ledgers are the truth, this is a lagging copy.
//!
//! The same re-read keeps the low-stock list (`low`): SKU objects also
//! report crossing the low mark (`STOCK_LOW_MARK`) in either direction, so
//! a SKU enters the list when its unsold units fall to the mark and leaves
//! it when they are replenished above, from its exact levels, without
//! anything ever reading every SKU.

use crate::object::{alarm_done, answer, arm_unless_set, json, now_ms, serve, Tables};
use crate::protocol::availability::{
    AvailabilityCommand, Changed, LowList, LowStock, LowStockList, Noted,
};
use crate::protocol::send;
use crate::protocol::stock::Snapshot;
use edgecart_domain::records::{
    stock_snapshot_key, StockPointer, StockSnapshot, STOCK_POINTER_KEY, STOCK_SNAPSHOT_SCHEMA,
};
use futures_util::future::join_all;
use serde::Deserialize;
use worker::{durable_object, DurableObject, Env, Request, Response, State};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS skus (sku TEXT PRIMARY KEY, in_stock INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dirty (sku TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS published (id INTEGER PRIMARY KEY CHECK (id = 1), version TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS low (sku TEXT PRIMARY KEY, on_hand INTEGER NOT NULL, sold INTEGER NOT NULL, unsold INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS low_by_unsold ON low (unsold, sku);
";
/// How long reports gather before a publication (KV allows one write per
/// second to a key: the pointer is written at most once per run).
const GATHER_MS: i64 = 2_000;
/// Dirty SKUs re-read per alarm run (the rest wait for the next run).
const BATCH: usize = 500;
/// Concurrent reads of SKU objects.
const READ_PARALLELISM: usize = 50;

#[durable_object]
pub struct AvailabilityPublisher {
    state: State,
    env: Env,
    /// The low mark (`STOCK_LOW_MARK`, 5 by default), as the SKU objects
    /// read it.
    low_mark: i64,
}

impl DurableObject for AvailabilityPublisher {
    fn new(state: State, env: Env) -> Self {
        let low_mark = crate::sku_stock::low_mark(&env);
        AvailabilityPublisher {
            state,
            env,
            low_mark,
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        serve(req, |command: AvailabilityCommand| async move {
            match command {
                AvailabilityCommand::Changed(c) => answer(c, |c| self.changed(c)).await,
                AvailabilityCommand::LowList(c) => answer(c, |c| self.low_list(c)).await,
            }
        })
        .await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        alarm_done(self.publish().await.map(|_| ()))
    }
}

impl AvailabilityPublisher {
    /// Marks the SKU dirty and arms the gathering alarm.
    async fn changed(&self, Changed { sku }: Changed) -> crate::object::Handled<Changed> {
        let tables = Tables::open(&self.state.storage(), SCHEMA)?;
        tables.exec(
            "marking dirty",
            "INSERT OR IGNORE INTO dirty (sku) VALUES (?)",
            vec![sku.into()],
        )?;
        arm_unless_set(&self.state.storage(), GATHER_MS).await?;
        Ok(Ok(Noted {}))
    }

    /// The low-stock list: by unsold units, then SKU.
    async fn low_list(&self, LowList { limit }: LowList) -> crate::object::Handled<LowList> {
        let tables = Tables::open(&self.state.storage(), SCHEMA)?;
        #[derive(Deserialize)]
        struct Row {
            sku: String,
            on_hand: f64,
            sold: f64,
            unsold: f64,
        }
        let rows: Vec<Row> = tables.rows(
            "reading low stock",
            "SELECT sku, on_hand, sold, unsold FROM low ORDER BY unsold, sku LIMIT ?",
            vec![i64::from(limit).into()],
        )?;
        Ok(Ok(LowStockList {
            low_mark: self.low_mark,
            items: rows
                .into_iter()
                .map(|r| LowStock {
                    sku: r.sku,
                    on_hand: r.on_hand as i64,
                    sold: r.sold as i64,
                    unsold: r.unsold as i64,
                })
                .collect(),
        }))
    }

    /// Re-reads up to [`BATCH`] dirty SKUs, records their flags, publishes
    /// the snapshot and the pointer; arms the alarm again if SKUs remain
    /// dirty. Returns the published version.
    async fn publish(&self) -> Result<String, String> {
        let tables = Tables::open(&self.state.storage(), SCHEMA)?;
        #[derive(Deserialize)]
        struct SkuRow {
            sku: String,
        }
        let dirty: Vec<String> = tables
            .rows::<SkuRow>(
                "reading dirty SKUs",
                "SELECT sku FROM dirty LIMIT ?",
                vec![(BATCH as i64).into()],
            )?
            .into_iter()
            .map(|r| r.sku)
            .collect();
        for chunk in dirty.chunks(READ_PARALLELISM) {
            let reads = join_all(chunk.iter().map(|sku| async move {
                let levels = send(&self.env, sku, Snapshot {}).await;
                (sku, levels)
            }))
            .await;
            // One synchronous block per chunk: flags and dirty marks commit together.
            for (sku, levels) in reads {
                let Ok(Ok(levels)) = levels else { continue };
                let recording = format!("recording {sku}");
                tables.exec(
                    &recording,
                    "INSERT OR REPLACE INTO skus (sku, in_stock) VALUES (?, ?)",
                    vec![sku.as_str().into(), i64::from(levels.available > 0).into()],
                )?;
                let unsold = levels.on_hand - levels.sold;
                if unsold <= self.low_mark {
                    tables.exec(
                        &recording,
                        "INSERT OR REPLACE INTO low (sku, on_hand, sold, unsold) VALUES (?, ?, ?, ?)",
                        vec![
                            sku.as_str().into(),
                            levels.on_hand.into(),
                            levels.sold.into(),
                            unsold.into(),
                        ],
                    )?;
                } else {
                    tables.exec(
                        &recording,
                        "DELETE FROM low WHERE sku = ?",
                        vec![sku.as_str().into()],
                    )?;
                }
                tables.exec(
                    &recording,
                    "DELETE FROM dirty WHERE sku = ?",
                    vec![sku.as_str().into()],
                )?;
            }
        }
        let in_stock: Vec<String> = tables
            .rows::<SkuRow>(
                "reading flags",
                "SELECT sku FROM skus WHERE in_stock = 1 ORDER BY sku",
                Vec::new(),
            )?
            .into_iter()
            .map(|r| r.sku)
            .collect();
        let snapshot = StockSnapshot::new(in_stock);
        let version = snapshot.version();
        #[derive(Deserialize)]
        struct Published {
            version: String,
        }
        let last: Vec<Published> = tables.rows(
            "reading the last version",
            "SELECT version FROM published WHERE id = 1",
            Vec::new(),
        )?;
        if last.first().is_none_or(|p| p.version != version) {
            let kv = self
                .env
                .kv("CATALOG")
                .map_err(|e| format!("KV binding CATALOG: {e}"))?;
            let body = json(&snapshot)?;
            kv.put(&stock_snapshot_key(&version), body.as_str())
                .map_err(|e| e.to_string())?
                .execute()
                .await
                .map_err(|e| format!("writing the snapshot: {e}"))?;
            let pointer = StockPointer {
                schema: STOCK_SNAPSHOT_SCHEMA,
                version: version.clone(),
                taken_at_ms: now_ms(),
            };
            kv.put(STOCK_POINTER_KEY, json(&pointer)?.as_str())
                .map_err(|e| e.to_string())?
                .execute()
                .await
                .map_err(|e| format!("writing the pointer: {e}"))?;
            tables.exec(
                "recording the version",
                "INSERT OR REPLACE INTO published (id, version) VALUES (1, ?)",
                vec![version.as_str().into()],
            )?;
        }
        #[derive(Deserialize)]
        struct Count {
            n: f64,
        }
        let left: Vec<Count> = tables.rows(
            "counting dirty SKUs",
            "SELECT COUNT(*) AS n FROM dirty",
            Vec::new(),
        )?;
        if left.first().is_some_and(|c| c.n > 0.0) {
            arm_unless_set(&self.state.storage(), GATHER_MS).await?;
        }
        Ok(version)
    }
}
