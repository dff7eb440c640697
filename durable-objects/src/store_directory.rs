//! `StoreDirectory`: one object (named `directory`) holding every store's
//! profile in SQLite, one row per store. A write is checked against the
//! others (no host answered by two stores, at most `STORES_MAX` stores),
//! stored, then the whole directory is published to KV under
//! `DIRECTORY_KEY` before the answer, which carries it: the isolate that
//! made the write resolves with it at once, the others within their
//! re-read interval. Writes are applied one at a time.
//!
//! A publication that fails leaves the row written and the answer failed:
//! the operator's retry writes the same profile and publishes again (the
//! next write of any store publishes every profile too).
//!
//! A write that changes a profile records it in that store's audit trail,
//! which its `StoreObject` keeps: the entry is committed with the profile
//! (table `pending_audit`, numbered by an autoincrement `seq` that keys
//! it), then delivered to the store's object, and deleted once the object
//! has it. A delivery that fails is retried by the alarm (every
//! `RETRY_MS`, and on every write); the store's object records a key once,
//! however often it is delivered. The answer does not wait for a failed
//! delivery.
//!
//! It must not validate a profile's fields itself: that is
//! `edgecart_domain::stores`.

use crate::object::{
    alarm_serially, answer, arm_in, arm_unless_set, json, now_ms, rfc3339, serially, serve,
    Handled, Tables,
};
use crate::protocol::directory::{self as protocol, DirectoryCommand, DirectoryRefusal, Stored};
use crate::protocol::send;
use crate::protocol::store::{self, AuditRecord, PendingEntry};
use edgecart_domain::audit;
use edgecart_domain::stores::{Directory, StoreProfile, DIRECTORY_KEY};
use serde::Deserialize;
use std::cell::RefCell;
use std::rc::Rc;
use worker::{
    console_error, durable_object, DurableObject, Env, Request, Response, State, Storage,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS stores (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, store TEXT NOT NULL, json TEXT NOT NULL);
";

/// How soon an undelivered audit entry is tried again.
const RETRY_MS: i64 = 30_000;

#[durable_object]
pub struct StoreDirectory {
    state: State,
    inner: Rc<Stores>,
}

struct Stores {
    storage: Storage,
    env: Env,
    loaded: RefCell<Option<Directory>>,
}

impl DurableObject for StoreDirectory {
    fn new(state: State, env: Env) -> Self {
        let inner = Rc::new(Stores {
            storage: state.storage(),
            env,
            loaded: RefCell::new(None),
        });
        StoreDirectory { state, inner }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let stores = self.inner.clone();
        serve(req, |command: DirectoryCommand| {
            serially(&self.state, async move {
                match command {
                    DirectoryCommand::Get(c) => answer(c, |_| stores.get()).await,
                    DirectoryCommand::Put(c) => answer(*c, |c| stores.put(c)).await,
                }
            })
        })
        .await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let stores = self.inner.clone();
        alarm_serially(&self.state, async move {
            stores.load()?;
            stores.deliver().await
        })
        .await
    }
}

impl Stores {
    /// The directory, read from SQLite once per instance.
    fn load(&self) -> Result<Directory, String> {
        if let Some(d) = self.loaded.borrow().as_ref() {
            return Ok(d.clone());
        }
        let tables = Tables::open(&self.storage, SCHEMA)?;
        let profiles: Vec<StoreProfile> =
            tables.documents("stores", "SELECT json FROM stores ORDER BY id", Vec::new())?;
        let mut directory = Directory::default();
        for profile in profiles {
            directory.put(profile);
        }
        *self.loaded.borrow_mut() = Some(directory.clone());
        Ok(directory)
    }

    async fn get(&self) -> Handled<protocol::Get> {
        Ok(Ok(self.load()?))
    }

    async fn put(&self, protocol::Put { actor, profile }: protocol::Put) -> Handled<protocol::Put> {
        let mut directory = self.load()?;
        if let Some(conflict) = directory.conflict(&profile) {
            return Ok(Err(DirectoryRefusal::Conflict { conflict }));
        }
        let change = audit::profile_put(directory.get(&profile.id), &profile);
        if change.is_some() {
            // Should the object stop before delivering, the alarm delivers.
            arm_unless_set(&self.storage, RETRY_MS).await?;
        }
        // One synchronous block: the profile and its audit entry commit
        // together.
        let sql = Tables::opened(&self.storage);
        sql.exec(
            "writing a store",
            "INSERT OR REPLACE INTO stores (id, json) VALUES (?, ?)",
            vec![profile.id.clone().into(), json(&profile)?.into()],
        )?;
        if let Some(change) = &change {
            let record = AuditRecord::of(rfc3339(now_ms()), &actor, change);
            sql.exec(
                "writing the store's audit entry",
                "INSERT INTO pending_audit (store, json) VALUES (?, ?)",
                vec![profile.id.clone().into(), json(&record)?.into()],
            )?;
        }
        let created = directory.put(profile);
        *self.loaded.borrow_mut() = Some(directory.clone());
        self.publish(&directory).await?;
        if let Err(e) = self.deliver().await {
            console_error!("store directory: audit entries pending: {e}");
        }
        Ok(Ok(Stored { created, directory }))
    }

    /// Delivers every pending audit entry to its store's object, deleting
    /// each one delivered; arms the alarm for what fails.
    async fn deliver(&self) -> Result<(), String> {
        #[derive(Deserialize)]
        struct Row {
            seq: f64,
            store: String,
            json: String,
        }
        let sql = Tables::opened(&self.storage);
        let rows: Vec<Row> = sql.rows(
            "reading pending audit entries",
            "SELECT seq, store, json FROM pending_audit ORDER BY seq",
            Vec::new(),
        )?;
        let mut failures = Vec::new();
        for row in rows {
            let seq = row.seq as u64;
            let record: AuditRecord = serde_json::from_str(&row.json)
                .map_err(|e| format!("stored audit entry {seq}: {e}"))?;
            let entries = vec![PendingEntry {
                key: audit::directory_key(seq),
                record,
            }];
            match send(&self.env, &row.store, store::RecordAudit { entries }).await {
                Ok(_) => sql.exec(
                    "deleting a delivered audit entry",
                    "DELETE FROM pending_audit WHERE seq = ?",
                    vec![(seq as i64).into()],
                )?,
                Err(e) => failures.push(format!("{}: {e}", row.store)),
            }
        }
        if failures.is_empty() {
            return Ok(());
        }
        arm_in(&self.storage, RETRY_MS).await?;
        Err(failures.join("; "))
    }

    async fn publish(&self, directory: &Directory) -> Result<(), String> {
        let kv = self
            .env
            .kv("CATALOG")
            .map_err(|e| format!("KV binding CATALOG: {e}"))?;
        kv.put(DIRECTORY_KEY, json(directory)?.as_str())
            .map_err(|e| e.to_string())?
            .execute()
            .await
            .map_err(|e| format!("publishing the directory: {e}"))
    }
}
