//! `StoreObject`: one Durable Object per store (named by the store's id).
//! It keeps the store's configuration (tax, shipping methods, payment
//! provider), its promotions, the coupon redemption ledger, its order
//! index and its audit trail in SQLite, and publishes a display copy
//! (configuration and promotions) to KV for carts. Checkout reads the
//! configuration and redemption counts from here, strongly consistent, so
//! a provider switch applies to the next checkout and a coupon's usage
//! limit holds under concurrency: the object applies one command at a
//! time (`blockConcurrencyWhile`).
//!
//! Redemptions live in rows: one per order (`redemptions`: its customer and
//! promotions, so redeeming is once per order and can be given back), and
//! the counts that enforce usage limits (`redemption_counts` per promotion,
//! `customer_redemptions` per promotion and customer), updated in the same
//! synchronous block as the order's row. A checkout reads only the counts
//! of the promotions at hand (and a customer's counts by the key's prefix:
//! the customer comes first); the object keeps only the configuration and
//! the promotions in memory, so what a command costs does not grow with the
//! store's history. Rows written before the counts existed are counted once
//! when the object first opens its tables (`counted` records that).
//!
//! The order index (table `orders`: a summary of each order of the store,
//! for the admin API's list) is fed by the events queue's consumer, one
//! command per batch of the store's order events: it follows the orders
//! within about a batch's time (a second), and no checkout waits for it.
//!
//! The audit trail (table `audit`): a configuration or promotion write
//! that changes something records its entry (`edgecart_domain::audit`
//! decides what changed) in the same synchronous block as the change, so
//! both commit together. Entries other objects make for the store (an
//! order's status change, the store's profile written) arrive by
//! `RecordAudit` under a key each, recorded once however often they are
//! delivered.
//!
//! It must not price carts or decide eligibility itself: the rules are in
//! `edgecart_domain::store` and `edgecart_domain::promotion`.

use crate::audit_trail;
use crate::object::{answer, json, now_ms, rfc3339, serially, serve, Encoded, Handled, Tables};
use crate::protocol::store::{
    self as protocol, AuditPage, AuditRecord, OrderPage, OrderSummary, PendingEntry,
    PromotionSaved, PromotionState, StoreCommand, StoreRefusal, StoreState,
};
use edgecart_domain::admin::Change;
use edgecart_domain::audit;
use edgecart_domain::order::OrderStatus;
use edgecart_domain::promotion::Promotion;
use edgecart_domain::store::{
    admit_redemption, customer_key, store_key, RedemptionCounts, Redemptions, StoreConfig,
    StoreSnapshot, STORE_SCHEMA,
};
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use worker::{durable_object, DurableObject, Env, Request, Response, State, Storage};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS config (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS promotions (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS redemptions (order_id TEXT PRIMARY KEY, customer TEXT NOT NULL, promotions TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS redemption_counts (promotion TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS customer_redemptions (customer TEXT NOT NULL, promotion TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (customer, promotion));
CREATE TABLE IF NOT EXISTS counted (id INTEGER PRIMARY KEY CHECK (id = 1));
CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, status TEXT NOT NULL, created_ms INTEGER NOT NULL, json TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS orders_by_time ON orders (created_ms, id);
CREATE TABLE IF NOT EXISTS stuck_checkouts (order_id TEXT PRIMARY KEY, since_ms INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE,
  at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
  fields TEXT NOT NULL, before TEXT, after TEXT);
";

/// Columns added to `SCHEMA`'s tables since objects first created them:
/// table, column, declaration. `version`: which version of its order an
/// index row comes from (rows from before it count as the oldest).
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[("orders", "version", "INTEGER NOT NULL DEFAULT 0")];

/// How the index's `status` column names a status: its API name.
fn status_column(status: OrderStatus) -> Option<String> {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
}

#[durable_object]
pub struct StoreObject {
    state: State,
    inner: Rc<Store>,
}

struct Store {
    storage: Storage,
    env: Env,
    name: String,
    loaded: RefCell<Option<Rc<Loaded>>>,
}

/// What the object keeps in memory: small, whatever the store's history.
#[derive(Clone)]
struct Loaded {
    config: StoreConfig,
    promotions: BTreeMap<String, Promotion>,
}

/// A redemption's row: the order's customer (keyed) and its promotions.
#[derive(Deserialize)]
struct RedemptionRow {
    order_id: String,
    customer: String,
    promotions: String,
}

impl RedemptionRow {
    fn promotions(&self) -> Result<Vec<String>, String> {
        serde_json::from_str(&self.promotions).map_err(|e| format!("stored redemption: {e}"))
    }
}

#[derive(Deserialize)]
struct CountRow {
    promotion: String,
    count: u32,
}

impl DurableObject for StoreObject {
    fn new(state: State, env: Env) -> Self {
        let name = state.id().name().unwrap_or_else(|| "default".into());
        let inner = Rc::new(Store {
            storage: state.storage(),
            env,
            name,
            loaded: RefCell::new(None),
        });
        StoreObject { state, inner }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let store = self.inner.clone();
        serve(req, |command: StoreCommand| {
            serially(&self.state, async move { store.handle(command).await })
        })
        .await
    }
}

impl Store {
    fn load(&self) -> Result<Rc<Loaded>, String> {
        if let Some(l) = self.loaded.borrow().as_ref() {
            return Ok(l.clone());
        }
        let tables = Tables::open(&self.storage, SCHEMA)?;
        for (table, column, declaration) in ADDED_COLUMNS {
            tables.add_column(table, column, declaration)?;
        }
        count_redemptions(&tables)?;
        let config = tables
            .document("config", "SELECT json FROM config WHERE id = 1", Vec::new())?
            .unwrap_or_else(StoreConfig::default_config);
        let mut promotions = BTreeMap::new();
        for p in
            tables.documents::<Promotion>("promotion", "SELECT json FROM promotions", Vec::new())?
        {
            promotions.insert(p.id.clone(), p);
        }
        let loaded = Rc::new(Loaded { config, promotions });
        *self.loaded.borrow_mut() = Some(loaded.clone());
        Ok(loaded)
    }

    /// `promotion`'s redemption counts so far, by anyone and by `customer`
    /// (keyed).
    fn counts(
        &self,
        sql: &Tables,
        promotion: &str,
        customer: &str,
    ) -> Result<RedemptionCounts, String> {
        let one = |query: &str, bindings: Vec<worker::SqlStorageValue>| {
            sql.rows::<CountRow>("reading redemption counts", query, bindings)
                .map(|rows| rows.first().map_or(0, |r| r.count))
        };
        Ok(RedemptionCounts {
            total: one(
                "SELECT promotion, count FROM redemption_counts WHERE promotion = ?",
                vec![promotion.into()],
            )?,
            customer: one(
                "SELECT promotion, count FROM customer_redemptions WHERE promotion = ? AND customer = ?",
                vec![promotion.into(), customer.into()],
            )?,
        })
    }

    /// The store's state for a reader: configuration, promotions and their
    /// counts (by `customer` too when named).
    fn state(&self, l: &Loaded, customer: Option<&str>) -> Result<StoreState, String> {
        let sql = Tables::opened(&self.storage);
        let totals = count_map(sql.rows(
            "reading redemption counts",
            "SELECT promotion, count FROM redemption_counts",
            Vec::new(),
        )?);
        let mine = match customer {
            Some(c) => count_map(sql.rows(
                "reading a customer's redemption counts",
                "SELECT promotion, count FROM customer_redemptions WHERE customer = ?",
                vec![customer_key(c).into()],
            )?),
            None => BTreeMap::new(),
        };
        Ok(StoreState {
            config: l.config.clone(),
            promotions: l
                .promotions
                .values()
                .map(|p| PromotionState {
                    promotion: p.clone(),
                    redemptions: totals.get(&p.id).copied().unwrap_or(0),
                    customer_redemptions: mine.get(&p.id).copied().unwrap_or(0),
                })
                .collect(),
        })
    }

    async fn handle(&self, command: StoreCommand) -> Encoded {
        match command {
            StoreCommand::Get(c) => answer(c, |c| self.get(c)).await,
            StoreCommand::PutConfig(c) => answer(c, |c| self.put_config(c)).await,
            StoreCommand::PutPromotion(c) => answer(c, |c| self.put_promotion(c)).await,
            StoreCommand::DeletePromotion(c) => answer(c, |c| self.delete_promotion(c)).await,
            StoreCommand::Redeem(c) => answer(c, |c| self.redeem(c)).await,
            StoreCommand::Release(c) => answer(c, |c| self.release(c)).await,
            StoreCommand::IndexOrders(c) => answer(c, |c| self.index_orders(c)).await,
            StoreCommand::ListOrders(c) => answer(c, |c| self.list_orders(c)).await,
            StoreCommand::RecordAudit(c) => answer(c, |c| self.record_audit(c)).await,
            StoreCommand::Audit(c) => answer(c, |c| self.audit(c)).await,
            StoreCommand::ListStuck(c) => answer(c, |c| self.list_stuck(c)).await,
            StoreCommand::UnlistStuck(c) => answer(c, |c| self.unlist_stuck(c)).await,
            StoreCommand::StuckCheckouts(c) => answer(c, |c| self.stuck_checkouts(c)).await,
        }
    }

    async fn get(&self, protocol::Get { customer }: protocol::Get) -> Handled<protocol::Get> {
        let l = self.load()?;
        Ok(Ok(self.state(&l, customer.as_deref())?))
    }

    async fn put_config(
        &self,
        protocol::PutConfig { actor, config }: protocol::PutConfig,
    ) -> Handled<protocol::PutConfig> {
        let mut l = (*self.load()?).clone();
        let change = audit::config_set(&self.name, &l.config, &config);
        // One synchronous block: the configuration and its entry commit together.
        let sql = Tables::opened(&self.storage);
        sql.exec(
            "saving config",
            "INSERT OR REPLACE INTO config (id, json) VALUES (1, ?)",
            vec![json(&config)?.into()],
        )?;
        self.audited(&sql, &actor, change.as_ref())?;
        l.config = config;
        self.published(&l).await?;
        Ok(Ok(self.state(&l, None)?))
    }

    async fn put_promotion(
        &self,
        protocol::PutPromotion { actor, promotion }: protocol::PutPromotion,
    ) -> Handled<protocol::PutPromotion> {
        let mut l = (*self.load()?).clone();
        if let Some(code) = &promotion.code {
            let taken = l
                .promotions
                .values()
                .find(|p| p.id != promotion.id && p.code.as_deref() == Some(code));
            if let Some(other) = taken {
                return Ok(Err(StoreRefusal::CodeTaken {
                    code: code.clone(),
                    by: other.id.clone(),
                }));
            }
        }
        let change = audit::promotion_set(l.promotions.get(&promotion.id), &promotion);
        let sql = Tables::opened(&self.storage);
        sql.exec(
            "saving promotion",
            "INSERT OR REPLACE INTO promotions (id, json) VALUES (?, ?)",
            vec![promotion.id.as_str().into(), json(&promotion)?.into()],
        )?;
        self.audited(&sql, &actor, change.as_ref())?;
        let saved = match l.promotions.insert(promotion.id.clone(), promotion) {
            None => PromotionSaved::Created,
            Some(_) => PromotionSaved::Replaced,
        };
        self.published(&l).await?;
        Ok(Ok(saved))
    }

    async fn delete_promotion(
        &self,
        protocol::DeletePromotion { actor, id }: protocol::DeletePromotion,
    ) -> Handled<protocol::DeletePromotion> {
        let mut l = (*self.load()?).clone();
        let Some(deleted) = l.promotions.remove(&id) else {
            return Ok(Err(StoreRefusal::UnknownPromotion));
        };
        let sql = Tables::opened(&self.storage);
        sql.exec(
            "saving promotion",
            "DELETE FROM promotions WHERE id = ?",
            vec![id.into()],
        )?;
        self.audited(&sql, &actor, Some(&audit::promotion_delete(&deleted)))?;
        self.published(&l).await?;
        Ok(Ok(protocol::Deleted {}))
    }

    async fn redeem(
        &self,
        protocol::Redeem {
            order,
            customer,
            promotions,
        }: protocol::Redeem,
    ) -> Handled<protocol::Redeem> {
        let l = self.load()?;
        let sql = Tables::opened(&self.storage);
        if redemption(&sql, &order)?.is_some() {
            // Redeeming an order again changes nothing: the first stands.
            return Ok(Ok(protocol::Redeemed {}));
        }
        let customer = customer_key(&customer);
        let mut counted = Vec::with_capacity(promotions.len());
        for id in &promotions {
            match l.promotions.get(id) {
                Some(p) => counted.push((p, self.counts(&sql, id, &customer)?)),
                None => return Ok(Err(StoreRefusal::UnknownPromotion)),
            }
        }
        if let Err(refused) = admit_redemption(&counted) {
            return Ok(Err(StoreRefusal::RedemptionRefused { refused }));
        }
        // One synchronous block: the order's row and the counts commit together.
        sql.exec(
            "saving redemption",
            "INSERT INTO redemptions (order_id, customer, promotions) VALUES (?, ?, ?)",
            vec![
                order.into(),
                customer.as_str().into(),
                json(&promotions)?.into(),
            ],
        )?;
        for id in &promotions {
            count(&sql, id, &customer, false)?;
        }
        Ok(Ok(protocol::Redeemed {}))
    }

    async fn list_stuck(
        &self,
        protocol::ListStuck { entry }: protocol::ListStuck,
    ) -> Handled<protocol::ListStuck> {
        self.load()?;
        Tables::opened(&self.storage).exec(
            "listing a stuck checkout",
            "INSERT OR REPLACE INTO stuck_checkouts (order_id, since_ms, json) VALUES (?, ?, ?)",
            vec![
                entry.order.as_str().into(),
                entry.since_ms.into(),
                json(&entry)?.into(),
            ],
        )?;
        Ok(Ok(protocol::Recorded {}))
    }

    async fn unlist_stuck(
        &self,
        protocol::UnlistStuck { order }: protocol::UnlistStuck,
    ) -> Handled<protocol::UnlistStuck> {
        self.load()?;
        Tables::opened(&self.storage).exec(
            "unlisting a stuck checkout",
            "DELETE FROM stuck_checkouts WHERE order_id = ?",
            vec![order.as_str().into()],
        )?;
        Ok(Ok(protocol::Recorded {}))
    }

    async fn stuck_checkouts(
        &self,
        protocol::StuckCheckouts { limit }: protocol::StuckCheckouts,
    ) -> Handled<protocol::StuckCheckouts> {
        self.load()?;
        let checkouts = Tables::opened(&self.storage).documents(
            "stuck checkout",
            "SELECT json FROM stuck_checkouts ORDER BY since_ms, order_id LIMIT ?",
            vec![i64::from(limit).into()],
        )?;
        Ok(Ok(protocol::StuckPage { checkouts }))
    }

    async fn index_orders(
        &self,
        protocol::IndexOrders { orders }: protocol::IndexOrders,
    ) -> Handled<protocol::IndexOrders> {
        self.load()?;
        let sql = Tables::opened(&self.storage);
        // One commit for the batch; a row from a later version of its
        // order stays.
        for protocol::IndexedOrder { summary, version } in &orders {
            let status = status_column(summary.status).unwrap_or_default();
            sql.exec(
                "saving order index",
                "INSERT INTO orders (id, status, created_ms, json, version) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
                 created_ms = excluded.created_ms, json = excluded.json, version = excluded.version \
                 WHERE excluded.version >= orders.version",
                vec![
                    summary.id.as_str().into(),
                    status.into(),
                    summary.created_at_ms.into(),
                    json(summary)?.into(),
                    i64::from(*version).into(),
                ],
            )?;
        }
        Ok(Ok(protocol::Indexed {}))
    }

    async fn list_orders(
        &self,
        protocol::ListOrders {
            status,
            from_ms,
            to_ms,
            before,
            limit,
        }: protocol::ListOrders,
    ) -> Handled<protocol::ListOrders> {
        self.load()?;
        let status = status.and_then(status_column);
        // The largest integer JavaScript holds exactly: later than any order.
        const LATEST: i64 = (1 << 53) - 1;
        let (before_ms, before_id) = before.unwrap_or((LATEST, String::new()));
        let orders: Vec<OrderSummary> = Tables::opened(&self.storage).documents(
            "order summary",
            "SELECT json FROM orders WHERE (? IS NULL OR status = ?) AND created_ms >= ? AND created_ms < ? \
             AND (created_ms < ? OR (created_ms = ? AND id < ?) OR ? = '') \
             ORDER BY created_ms DESC, id DESC LIMIT ?",
            vec![
                status.clone().into(),
                status.into(),
                from_ms.unwrap_or(0).into(),
                to_ms.unwrap_or(LATEST).into(),
                before_ms.into(),
                before_ms.into(),
                before_id.as_str().into(),
                before_id.as_str().into(),
                i64::from(limit).into(),
            ],
        )?;
        Ok(Ok(OrderPage { orders }))
    }

    /// Records entries other objects made for this store's trail; a key
    /// already recorded is skipped.
    async fn record_audit(
        &self,
        protocol::RecordAudit { entries }: protocol::RecordAudit,
    ) -> Handled<protocol::RecordAudit> {
        self.load()?;
        let sql = Tables::opened(&self.storage);
        for PendingEntry { key, record } in &entries {
            insert_entry(&sql, Some(key), record)?;
        }
        Ok(Ok(protocol::Recorded {}))
    }

    async fn audit(
        &self,
        protocol::Audit { after, limit }: protocol::Audit,
    ) -> Handled<protocol::Audit> {
        self.load()?;
        let mut entries = audit_trail::entries(
            &Tables::opened(&self.storage),
            "SELECT seq, at, actor, action, target, fields, before, after FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
            after,
            limit,
        )?;
        for e in &mut entries {
            e.store = Some(self.name.clone());
        }
        Ok(Ok(AuditPage { entries }))
    }

    /// Writes the entry of this object's own `change`, if any, by `actor`
    /// (in the caller's synchronous block, so it commits with the change).
    fn audited(&self, sql: &Tables, actor: &str, change: Option<&Change>) -> Result<(), String> {
        let Some(change) = change else {
            return Ok(());
        };
        insert_entry(
            sql,
            None,
            &AuditRecord::of(rfc3339(now_ms()), actor, change),
        )
    }

    async fn release(
        &self,
        protocol::Release { order }: protocol::Release,
    ) -> Handled<protocol::Release> {
        self.load()?;
        let sql = Tables::opened(&self.storage);
        // Releasing twice changes nothing: the row is gone after the first.
        if let Some(row) = redemption(&sql, &order)? {
            // Rows written before customers were keyed count under the key.
            let customer = customer_key(&row.customer);
            for id in &row.promotions()? {
                count(&sql, id, &customer, true)?;
            }
            sql.exec(
                "releasing redemption",
                "DELETE FROM redemptions WHERE order_id = ?",
                vec![order.into()],
            )?;
        }
        Ok(Ok(protocol::Released {}))
    }

    /// Keeps the changed configuration or promotions and publishes the
    /// display copy. A failure is reported; the next write publishes again.
    async fn published(&self, l: &Loaded) -> Result<(), String> {
        *self.loaded.borrow_mut() = Some(Rc::new(l.clone()));
        self.publish(l).await
    }

    async fn publish(&self, l: &Loaded) -> Result<(), String> {
        let snapshot = StoreSnapshot {
            schema: STORE_SCHEMA,
            config: l.config.clone(),
            promotions: l.promotions.values().cloned().collect(),
        };
        let kv = self
            .env
            .kv("CATALOG")
            .map_err(|e| format!("KV binding CATALOG: {e}"))?;
        kv.put(&store_key(&self.name), json(&snapshot)?.as_str())
            .map_err(|e| e.to_string())?
            .execute()
            .await
            .map_err(|e| format!("publishing the store: {e}"))
    }
}

/// Appends `record` to the trail: under `key` for a delivered record (a
/// key recorded already is skipped), without one for the object's own.
fn insert_entry(sql: &Tables, key: Option<&str>, record: &AuditRecord) -> Result<(), String> {
    sql.exec(
        "writing the audit entry",
        "INSERT OR IGNORE INTO audit (key, at, actor, action, target, fields, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            key.map(str::to_string).into(),
            record.at.as_str().into(),
            record.actor.as_str().into(),
            record.action.as_str().into(),
            record.target.as_str().into(),
            audit_trail::fields_text(&record.fields).into(),
            record.before.clone().into(),
            record.after.clone().into(),
        ],
    )
}

/// `order`'s redemption row, if it redeemed anything.
fn redemption(sql: &Tables, order: &str) -> Result<Option<RedemptionRow>, String> {
    Ok(sql
        .rows(
            "reading a redemption",
            "SELECT order_id, customer, promotions FROM redemptions WHERE order_id = ?",
            vec![order.into()],
        )?
        .into_iter()
        .next())
}

/// Counts one more redemption of `promotion` by `customer` (keyed), or
/// one less when `released` (a count never goes below 0).
fn count(sql: &Tables, promotion: &str, customer: &str, released: bool) -> Result<(), String> {
    let (total, by_customer) = if released {
        (
            "UPDATE redemption_counts SET count = MAX(count - 1, 0) WHERE promotion = ?",
            "UPDATE customer_redemptions SET count = MAX(count - 1, 0) WHERE promotion = ? AND customer = ?",
        )
    } else {
        (
            "INSERT INTO redemption_counts (promotion, count) VALUES (?, 1) \
             ON CONFLICT (promotion) DO UPDATE SET count = count + 1",
            "INSERT INTO customer_redemptions (promotion, customer, count) VALUES (?, ?, 1) \
             ON CONFLICT (customer, promotion) DO UPDATE SET count = count + 1",
        )
    };
    sql.exec("counting a redemption", total, vec![promotion.into()])?;
    sql.exec(
        "counting a customer's redemption",
        by_customer,
        vec![promotion.into(), customer.into()],
    )
}

fn count_map(rows: Vec<CountRow>) -> BTreeMap<String, u32> {
    rows.into_iter().map(|r| (r.promotion, r.count)).collect()
}

/// Counts the redemption rows written before the counts existed, once
/// (the domain's model restores them, keyed as a redemption is now); in
/// the caller's synchronous block, so the counts and `counted` commit
/// together.
fn count_redemptions(sql: &Tables) -> Result<(), String> {
    let done: Vec<serde::de::IgnoredAny> =
        sql.rows("reading counted", "SELECT id FROM counted", Vec::new())?;
    if !done.is_empty() {
        return Ok(());
    }
    let mut model = Redemptions::default();
    for row in sql.rows::<RedemptionRow>(
        "loading redemptions",
        "SELECT order_id, customer, promotions FROM redemptions",
        Vec::new(),
    )? {
        model.restore(&row.order_id, &row.customer, row.promotions()?);
    }
    for (promotion, n) in &model.by_promotion {
        sql.exec(
            "counting redemptions",
            "INSERT OR REPLACE INTO redemption_counts (promotion, count) VALUES (?, ?)",
            vec![promotion.as_str().into(), i64::from(*n).into()],
        )?;
    }
    for ((promotion, customer), n) in &model.by_customer {
        sql.exec(
            "counting a customer's redemptions",
            "INSERT OR REPLACE INTO customer_redemptions (promotion, customer, count) VALUES (?, ?, ?)",
            vec![
                promotion.as_str().into(),
                customer.as_str().into(),
                i64::from(*n).into(),
            ],
        )?;
    }
    sql.exec(
        "marking redemptions counted",
        "INSERT INTO counted (id) VALUES (1)",
        Vec::new(),
    )
}
