//! `CatalogWriter`: the one Durable Object every catalog write goes through.
//!
//! It holds the authoritative catalog in SQLite (products, categories, the
//! audit trail, publication metadata) and in memory as a domain
//! `CatalogState`. Each command runs alone (`blockConcurrencyWhile`): load,
//! apply the domain rule, persist the changed rows and the audit entry in
//! one synchronous block (committed atomically before the reply leaves the
//! object), then publish to KV: immutable shards and index first, the
//! pointer last. Concurrent admin writes therefore apply one after another
//! to the latest state and none is lost.
//!
//! Recovery point: a committed change sets `dirty` and an alarm. If the
//! object dies before publishing, the alarm (or the next write) publishes
//! the committed state; publishing is idempotent because every key but the
//! pointer is content-addressed.

use crate::audit_trail;
use crate::object::{
    alarm_serially, answer, arm_unless_set, json, now_ms, serially, serve, Tables,
};
use crate::outbox::{self, Source, SourceClass};
use crate::protocol::catalog::{
    self as protocol, AuditEntry, AuditPage, CatalogCommand, CatalogRefusal, Imported, Published,
    RejectedLine, StorePricePage, StorePricesWritten, StoredProduct, WriteOutcome, Written,
};
use crate::protocol::FieldProblem;
use edgecart_domain::admin::{
    parse_input, AdminError, Applied, CatalogState, CategoryInput, Change, ProductInput,
    StorePricesError,
};
use edgecart_domain::catalog::FieldError;
use edgecart_domain::catalog::StorePrices;
use edgecart_domain::events::{catalog_event_id, CatalogNews, Event, EventBody};
use edgecart_domain::money::Currency;
use edgecart_domain::records::{CatalogPointer, CategoryRecord, ProductRecord, POINTER_KEY};
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::collections::HashSet;
use std::ops::Bound;
use std::rc::Rc;
use worker::{durable_object, Date, DurableObject, Env, Request, Response, State, Storage};

/// How long after an unpublished commit the alarm publishes it. Writes
/// publish before they answer and imports when they end, so the alarm only
/// matters when the object died in between (or an import was abandoned).
const PUBLISH_ALARM_MS: i64 = 30_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS categories (slug TEXT PRIMARY KEY, name TEXT NOT NULL, ord INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS products (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
  fields TEXT NOT NULL, before TEXT, after TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS store_prices (store TEXT PRIMARY KEY, json TEXT NOT NULL);
";

/// Columns added to `SCHEMA`'s tables since objects first created them
/// (`CREATE TABLE IF NOT EXISTS` leaves an existing table as it was):
/// table, column, declaration. `store`: the store whose records an audit
/// entry's change concerns (null for the shared catalog).
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[("audit", "store", "TEXT")];

#[durable_object]
pub struct CatalogWriter {
    state: State,
    inner: Rc<Writer>,
}

struct Writer {
    storage: Storage,
    env: Env,
    catalog: RefCell<Option<CatalogState>>,
    /// Immutable KV keys this instance has written (content-addressed, so
    /// writing them again would only cost time).
    written: RefCell<HashSet<String>>,
}

impl DurableObject for CatalogWriter {
    fn new(state: State, env: Env) -> Self {
        let inner = Rc::new(Writer {
            storage: state.storage(),
            env,
            catalog: RefCell::new(None),
            written: RefCell::new(HashSet::new()),
        });
        CatalogWriter { state, inner }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let writer = self.inner.clone();
        // One command at a time: no other event reaches the object until this
        // one has committed and published.
        serve(req, |command: CatalogCommand| {
            serially(&self.state, async move { writer.handle(command).await })
        })
        .await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let writer = self.inner.clone();
        alarm_serially(&self.state, async move {
            writer.publish().await?;
            let source = Source {
                class: SourceClass::Catalog,
                name: crate::protocol::catalog::NAME.into(),
            };
            outbox::forward(&writer.env, &writer.storage, &source, now_ms()).await
        })
        .await
    }
}

fn problem(e: &FieldError) -> FieldProblem {
    FieldProblem::from(e)
}

fn refusal(e: AdminError) -> CatalogRefusal {
    match e {
        AdminError::Invalid(errors) => CatalogRefusal::Invalid {
            errors: errors.iter().map(problem).collect(),
        },
        AdminError::NotFound(missing) => CatalogRefusal::NotFound { missing },
        AdminError::Conflict(conflict) => CatalogRefusal::Conflict { conflict },
    }
}

fn now_rfc3339() -> String {
    chrono::DateTime::from_timestamp_millis(Date::now().as_millis() as i64)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// What a single write's handler comes to (every write command answers
/// [`Written`] or a [`CatalogRefusal`]).
type WriteHandled = Result<Result<Written, CatalogRefusal>, String>;

/// What a write touched, so the right rows are persisted (stores' own
/// prices are persisted whenever they changed, whatever the write).
enum Touched {
    Product(String),
    Categories,
    StorePrices,
}

impl Writer {
    async fn handle(&self, command: CatalogCommand) -> crate::object::Encoded {
        if let Err(cause) = self.load() {
            return crate::object::Encoded::failure(crate::protocol::Failure::Unavailable {
                cause,
            });
        }
        let now = now_rfc3339();
        match command {
            CatalogCommand::UpsertProduct(c) => {
                answer(c, |c| async move {
                    let protocol::UpsertProduct { actor, id, product } = c;
                    let input: ProductInput = match parse_input(&product) {
                        Ok(input) => input,
                        Err(e) => {
                            return Ok(Err(CatalogRefusal::BadInput {
                                problem: FieldProblem::from(e),
                            }))
                        }
                    };
                    if input.id != id {
                        return Ok(Err(CatalogRefusal::Invalid {
                            errors: vec![FieldProblem {
                                field: Some("id".into()),
                                code: "id_mismatch".into(),
                                message: format!("the body's id must be {id}, as in the path"),
                            }],
                        }));
                    }
                    let result =
                        self.apply(|s| s.upsert_product(input, &now).map_err(AdminError::Invalid));
                    self.finish(&actor, &now, result, Touched::Product(id))
                        .await
                })
                .await
            }
            CatalogCommand::DeleteProduct(c) => {
                answer(c, |protocol::DeleteProduct { actor, id }| async move {
                    let result = self.apply(|s| s.delete_product(&id).map(Applied::Changed));
                    self.finish(&actor, &now, result, Touched::Product(id))
                        .await
                })
                .await
            }
            CatalogCommand::SetPrice(c) => {
                answer(c, |c| async move {
                    let protocol::SetPrice {
                        actor,
                        sku,
                        currency,
                        amount,
                    } = c;
                    let owner = self.owner_of(&sku);
                    let result = self.apply(|s| s.set_price(&sku, currency, amount));
                    self.finish(&actor, &now, result, Touched::Product(owner))
                        .await
                })
                .await
            }
            CatalogCommand::DeletePrice(c) => {
                answer(c, |c| async move {
                    let protocol::DeletePrice {
                        actor,
                        sku,
                        currency,
                    } = c;
                    let owner = self.owner_of(&sku);
                    let result =
                        self.apply(|s| s.delete_price(&sku, currency).map(Applied::Changed));
                    self.finish(&actor, &now, result, Touched::Product(owner))
                        .await
                })
                .await
            }
            CatalogCommand::UpsertCategory(c) => {
                answer(
                    c,
                    |protocol::UpsertCategory { actor, slug, name }| async move {
                        let result =
                            self.apply(|s| s.upsert_category(&slug, CategoryInput { name }));
                        self.finish(&actor, &now, result, Touched::Categories).await
                    },
                )
                .await
            }
            CatalogCommand::ImportBatch(c) => {
                answer(c, |protocol::ImportBatch { actor, lines }| async move {
                    Ok(Ok(self.import(&actor, &now, lines).await?))
                })
                .await
            }
            CatalogCommand::Publish(c) => {
                answer(c, |_| async move {
                    Ok(Ok(Published {
                        pointer: self.publish().await?,
                    }))
                })
                .await
            }
            CatalogCommand::SetStorePrices(c) => {
                answer(c, |c| async move {
                    let protocol::SetStorePrices {
                        actor,
                        store,
                        prices,
                    } = c;
                    let changes = match self.apply(|s| s.set_store_prices(&store, &prices)) {
                        Ok(changes) => changes,
                        Err(StorePricesError::UnknownSku { index }) => {
                            return Ok(Err(CatalogRefusal::UnknownSku {
                                index: index as u32,
                            }))
                        }
                        Err(StorePricesError::Admin(e)) => return Ok(Err(refusal(e))),
                    };
                    if !changes.is_empty() {
                        let refs: Vec<(&Change, &Touched)> =
                            changes.iter().map(|c| (c, &Touched::StorePrices)).collect();
                        self.commit(&actor, Some(&store), &now, &refs).await?;
                    }
                    Ok(Ok(StorePricesWritten {
                        changed: changes.len() as u32,
                        pointer: self.publish().await?,
                    }))
                })
                .await
            }
            CatalogCommand::ListStorePrices(c) => {
                answer(
                    c,
                    |protocol::ListStorePrices {
                         store,
                         after,
                         limit,
                     }| async move {
                        let limit = limit.clamp(1, 1000) as usize;
                        Ok(Ok(self.apply(|s| {
                            let mut skus: Vec<(String, BTreeMap<Currency, i64>)> = s
                                .store_prices(&store)
                                .into_iter()
                                .flat_map(|p| {
                                    p.range::<String, _>((
                                        after.clone().map_or(Bound::Unbounded, Bound::Excluded),
                                        Bound::Unbounded,
                                    ))
                                })
                                .take(limit + 1)
                                .map(|(sku, prices)| (sku.clone(), prices.clone()))
                                .collect();
                            let more = skus.len() > limit;
                            skus.truncate(limit);
                            StorePricePage { skus, more }
                        })))
                    },
                )
                .await
            }
            CatalogCommand::GetProduct(c) => {
                answer(c, |protocol::GetProduct { id }| async move {
                    Ok(Ok(StoredProduct {
                        product: self.apply(|s| s.product(&id).cloned()),
                    }))
                })
                .await
            }
            CatalogCommand::Audit(c) => {
                answer(c, |protocol::Audit { after, limit }| async move {
                    Ok(Ok(AuditPage {
                        entries: self.audit(after, limit)?,
                    }))
                })
                .await
            }
            CatalogCommand::OutboxAck(c) => {
                answer(c, |c| async move {
                    outbox::ack(
                        &Tables::open(&self.storage, outbox::OUTBOX_SCHEMA)?,
                        &c.events,
                    )?;
                    Ok(Ok(protocol::OutboxAcked {}))
                })
                .await
            }
        }
    }

    /// Creates the tables and loads the state once per object instance.
    fn load(&self) -> Result<(), String> {
        if self.catalog.borrow().is_some() {
            return Ok(());
        }
        let tables = Tables::open(&self.storage, SCHEMA)?;
        for (table, column, declaration) in ADDED_COLUMNS {
            tables.add_column(table, column, declaration)?;
        }
        let products: Vec<ProductRecord> =
            tables.documents("product", "SELECT json FROM products", Vec::new())?;
        let categories: Vec<CategoryRecord> = tables.rows(
            "loading categories",
            "SELECT slug, name FROM categories ORDER BY ord",
            Vec::new(),
        )?;
        #[derive(Deserialize)]
        struct StoreRow {
            store: String,
            json: String,
        }
        let rows: Vec<StoreRow> = tables.rows(
            "loading store prices",
            "SELECT store, json FROM store_prices",
            Vec::new(),
        )?;
        let mut stored = Vec::with_capacity(rows.len());
        for row in rows {
            let prices: StorePrices = serde_json::from_str(&row.json)
                .map_err(|e| format!("store prices of {}: {e}", row.store))?;
            stored.push((row.store, prices));
        }
        *self.catalog.borrow_mut() =
            Some(CatalogState::new(categories, products).with_store_prices(stored));
        Ok(())
    }

    fn apply<T>(&self, f: impl FnOnce(&mut CatalogState) -> T) -> T {
        let mut guard = self.catalog.borrow_mut();
        f(guard.as_mut().expect("loaded before applying"))
    }

    fn owner_of(&self, sku: &str) -> String {
        self.apply(|s| s.product_of_sku(sku).map(|p| p.id.clone()))
            .unwrap_or_default()
    }

    /// Persists an applied change with its audit entry, then publishes.
    async fn finish(
        &self,
        actor: &str,
        now: &str,
        result: Result<Applied, AdminError>,
        touched: Touched,
    ) -> WriteHandled {
        let (outcome, change) = match result {
            Err(e) => return Ok(Err(refusal(e))),
            Ok(Applied::Unchanged) => (WriteOutcome::Unchanged, None),
            Ok(Applied::Changed(change)) => {
                let outcome = match change.action {
                    "product.create" | "category.create" => WriteOutcome::Created,
                    "product.delete" | "price.delete" => WriteOutcome::Deleted,
                    _ => WriteOutcome::Updated,
                };
                (outcome, Some(change))
            }
        };
        if let Some(change) = &change {
            self.commit(actor, None, now, &[(change, &touched)]).await?;
        }
        let pointer = self.publish().await?;
        let product = match &touched {
            Touched::Product(id) if outcome != WriteOutcome::Deleted => {
                self.apply(|s| s.product(id).cloned())
            }
            _ => None,
        };
        Ok(Ok(Written {
            outcome,
            pointer,
            product,
        }))
    }

    /// Writes the touched rows, the audit entries and the dirty flag in one
    /// synchronous block (atomic), then arms the publish alarm. `store`:
    /// the store the changes concern (recorded in their audit entries),
    /// `None` for the shared catalog.
    async fn commit(
        &self,
        actor: &str,
        store: Option<&str>,
        now: &str,
        changes: &[(&Change, &Touched)],
    ) -> Result<(), String> {
        if let Err(e) = self.persist(actor, store, now, changes) {
            // Memory may be ahead of storage now: reload from storage next time.
            *self.catalog.borrow_mut() = None;
            return Err(e);
        }
        arm_unless_set(&self.storage, PUBLISH_ALARM_MS).await
    }

    fn persist(
        &self,
        actor: &str,
        store: Option<&str>,
        now: &str,
        changes: &[(&Change, &Touched)],
    ) -> Result<(), String> {
        let sql = Tables::opened(&self.storage);
        let stores = self.apply(CatalogState::take_changed_stores);
        let guard = self.catalog.borrow();
        let state = guard.as_ref().ok_or("state not loaded")?;
        for store in &stores {
            match state.store_prices(store) {
                Some(prices) => sql.exec(
                    "saving store prices",
                    "INSERT OR REPLACE INTO store_prices (store, json) VALUES (?, ?)",
                    vec![store.as_str().into(), json(prices)?.into()],
                )?,
                None => sql.exec(
                    "deleting store prices",
                    "DELETE FROM store_prices WHERE store = ?",
                    vec![store.as_str().into()],
                )?,
            }
        }
        for (change, touched) in changes {
            match touched {
                Touched::Product(id) => match state.product(id) {
                    Some(p) => {
                        sql.exec(
                            "saving product",
                            "INSERT OR REPLACE INTO products (id, json) VALUES (?, ?)",
                            vec![id.as_str().into(), json(p)?.into()],
                        )?;
                    }
                    None => {
                        sql.exec(
                            "deleting product",
                            "DELETE FROM products WHERE id = ?",
                            vec![id.as_str().into()],
                        )?;
                    }
                },
                Touched::StorePrices => {}
                Touched::Categories => {
                    sql.exec("saving categories", "DELETE FROM categories", Vec::new())?;
                    for (i, c) in state.categories().iter().enumerate() {
                        sql.exec(
                            "saving categories",
                            "INSERT INTO categories (slug, name, ord) VALUES (?, ?, ?)",
                            vec![
                                c.slug.as_str().into(),
                                c.name.as_str().into(),
                                (i as i64).into(),
                            ],
                        )?;
                    }
                }
            }
            let opt = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
            sql.exec(
                "writing the audit entry",
                "INSERT INTO audit (at, actor, store, action, target, fields, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    now.into(),
                    actor.into(),
                    store.into(),
                    change.action.into(),
                    change.target.as_str().into(),
                    audit_trail::fields_text(&change.fields).into(),
                    opt(&change.before).into(),
                    opt(&change.after).into(),
                ],
            )?;
        }
        sql.exec(
            "marking dirty",
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('dirty', '1')",
            Vec::new(),
        )
    }

    async fn import(
        &self,
        actor: &str,
        now: &str,
        lines: Vec<(u32, String)>,
    ) -> Result<Imported, String> {
        let mut reply = Imported::default();
        let mut changes: Vec<(Change, Touched)> = Vec::new();
        for (line, raw) in lines {
            let input: ProductInput = match parse_input(&raw) {
                Ok(input) => input,
                Err(e) => {
                    reply.rejected.push(RejectedLine {
                        line,
                        errors: vec![FieldProblem::from(e)],
                    });
                    continue;
                }
            };
            let id = input.id.clone();
            match self.apply(|s| s.upsert_product(input, now)) {
                Ok(Applied::Unchanged) => reply.unchanged += 1,
                Ok(Applied::Changed(change)) => {
                    if change.action == "product.create" {
                        reply.created += 1;
                    } else {
                        reply.updated += 1;
                    }
                    changes.push((change, Touched::Product(id)));
                }
                Err(errors) => reply.rejected.push(RejectedLine {
                    line,
                    errors: errors.iter().map(problem).collect(),
                }),
            }
        }
        if !changes.is_empty() {
            let refs: Vec<(&Change, &Touched)> = changes.iter().map(|(c, t)| (c, t)).collect();
            self.commit(actor, None, now, &refs).await?;
        }
        Ok(reply)
    }

    fn meta(&self, key: &str) -> Result<Option<String>, String> {
        #[derive(Deserialize)]
        struct Row {
            value: String,
        }
        let rows: Vec<Row> = Tables::opened(&self.storage).rows(
            &format!("reading meta {key}"),
            "SELECT value FROM meta WHERE key = ?",
            vec![key.into()],
        )?;
        Ok(rows.into_iter().next().map(|r| r.value))
    }

    /// Publishes the committed state if it changed since the last publish;
    /// returns the live pointer.
    async fn publish(&self) -> Result<Option<CatalogPointer>, String> {
        self.load()?;
        let last: Option<CatalogPointer> = self
            .meta("pointer")?
            .and_then(|p| serde_json::from_str(&p).ok());
        if self.meta("dirty")?.as_deref() != Some("1") {
            return Ok(last);
        }
        let seq = last.as_ref().map_or(1, |p| p.seq + 1);
        let publication = self.apply(|s| s.publish(seq));
        let pointer = if last
            .as_ref()
            .is_some_and(|p| p.version == publication.pointer.version)
        {
            last
        } else {
            let kv = self
                .env
                .kv("CATALOG")
                .map_err(|e| format!("KV binding: {e}"))?;
            for (key, value) in &publication.entries {
                if self.written.borrow().contains(key) {
                    continue;
                }
                kv.put(key, value.as_str())
                    .map_err(|e| format!("put {key}: {e}"))?
                    .execute()
                    .await
                    .map_err(|e| format!("put {key}: {e}"))?;
                self.written.borrow_mut().insert(key.clone());
            }
            let pointer_json = json(&publication.pointer)?;
            kv.put(POINTER_KEY, pointer_json.as_str())
                .map_err(|e| format!("put pointer: {e}"))?
                .execute()
                .await
                .map_err(|e| format!("put pointer: {e}"))?;
            Tables::opened(&self.storage).exec(
                "saving pointer",
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('pointer', ?)",
                vec![pointer_json.into()],
            )?;
            // The version's news commits with its pointer.
            let news = Event {
                id: catalog_event_id(&publication.pointer.version),
                store: None,
                occurred_at_ms: now_ms(),
                body: EventBody::CatalogPublished(CatalogNews {
                    version: publication.pointer.version.clone(),
                }),
            };
            outbox::add(
                &Tables::open(&self.storage, outbox::OUTBOX_SCHEMA)?,
                &news,
                now_ms(),
            )?;
            outbox::wake(&self.storage, now_ms()).await?;
            Some(publication.pointer)
        };
        Tables::opened(&self.storage).exec(
            "clearing dirty",
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('dirty', '0')",
            Vec::new(),
        )?;
        Ok(pointer)
    }

    fn audit(&self, after: u64, limit: u32) -> Result<Vec<AuditEntry>, String> {
        audit_trail::entries(
            &Tables::opened(&self.storage),
            "SELECT seq, at, actor, store, action, target, fields, before, after FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
            after,
            limit,
        )
    }
}
