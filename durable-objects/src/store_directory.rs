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
//! It must not validate a profile's fields itself: that is
//! `edgecart_domain::stores`.

use crate::object::{answer, json, serially, serve, Handled, Tables};
use crate::protocol::directory::{self as protocol, DirectoryCommand, DirectoryRefusal, Stored};
use edgecart_domain::stores::{Directory, StoreProfile, DIRECTORY_KEY};
use std::cell::RefCell;
use std::rc::Rc;
use worker::{durable_object, DurableObject, Env, Request, Response, State, Storage};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS stores (id TEXT PRIMARY KEY, json TEXT NOT NULL);
";

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

    async fn put(&self, protocol::Put { profile }: protocol::Put) -> Handled<protocol::Put> {
        let mut directory = self.load()?;
        if let Some(conflict) = directory.conflict(&profile) {
            return Ok(Err(DirectoryRefusal::Conflict { conflict }));
        }
        let row = json(&profile)?;
        Tables::opened(&self.storage).exec(
            "writing a store",
            "INSERT OR REPLACE INTO stores (id, json) VALUES (?, ?)",
            vec![profile.id.clone().into(), row.into()],
        )?;
        let created = directory.put(profile);
        *self.loaded.borrow_mut() = Some(directory.clone());
        self.publish(&directory).await?;
        Ok(Ok(Stored { created, directory }))
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
