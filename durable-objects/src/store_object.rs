//! `StoreObject`: one Durable Object per store (named by the store, today
//! `default`). It keeps the store's configuration (tax, shipping methods,
//! payment provider), its promotions and the coupon redemption ledger in
//! SQLite, and publishes a display copy (configuration and promotions) to
//! KV for carts. Checkout reads the configuration and redemption counts
//! from here, strongly consistent, so a provider switch applies to the
//! next checkout and a coupon's usage limit holds under concurrency: the
//! object applies one command at a time (`blockConcurrencyWhile`).
//!
//! It must not price carts or decide eligibility itself: the rules are in
//! `edgecart_domain::store` and `edgecart_domain::promotion`.

use crate::object::{answer, json, serially, serve, Encoded, Handled, Tables};
use crate::protocol::store::{
    self as protocol, OrderPage, OrderSummary, PromotionSaved, PromotionState, StoreCommand,
    StoreRefusal, StoreState,
};
use edgecart_domain::promotion::Promotion;
use edgecart_domain::store::{store_key, Redemptions, StoreConfig, StoreSnapshot, STORE_SCHEMA};
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use worker::{durable_object, DurableObject, Env, Request, Response, State, Storage};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS config (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS promotions (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS redemptions (order_id TEXT PRIMARY KEY, customer TEXT NOT NULL, promotions TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, status TEXT NOT NULL, created_ms INTEGER NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS orders_by_time ON orders (created_ms, id);
";

#[durable_object]
pub struct StoreObject {
    state: State,
    inner: Rc<Store>,
}

struct Store {
    storage: Storage,
    env: Env,
    name: String,
    loaded: RefCell<Option<Loaded>>,
}

#[derive(Clone)]
struct Loaded {
    config: StoreConfig,
    promotions: BTreeMap<String, Promotion>,
    redemptions: Redemptions,
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
    fn load(&self) -> Result<Loaded, String> {
        if let Some(l) = self.loaded.borrow().as_ref() {
            return Ok(l.clone());
        }
        let tables = Tables::open(&self.storage, SCHEMA)?;
        #[derive(Deserialize)]
        struct RedemptionRow {
            order_id: String,
            customer: String,
            promotions: String,
        }
        let config = tables
            .document("config", "SELECT json FROM config WHERE id = 1", Vec::new())?
            .unwrap_or_else(StoreConfig::default_config);
        let mut promotions = BTreeMap::new();
        for p in
            tables.documents::<Promotion>("promotion", "SELECT json FROM promotions", Vec::new())?
        {
            promotions.insert(p.id.clone(), p);
        }
        let mut redemptions = Redemptions::default();
        for row in tables.rows::<RedemptionRow>(
            "loading redemptions",
            "SELECT order_id, customer, promotions FROM redemptions",
            Vec::new(),
        )? {
            let ids: Vec<String> = serde_json::from_str(&row.promotions)
                .map_err(|e| format!("stored redemption: {e}"))?;
            redemptions.restore(&row.order_id, &row.customer, ids);
        }
        let loaded = Loaded {
            config,
            promotions,
            redemptions,
        };
        *self.loaded.borrow_mut() = Some(loaded.clone());
        Ok(loaded)
    }

    async fn handle(&self, command: StoreCommand) -> Encoded {
        match command {
            StoreCommand::Get(c) => answer(c, |c| self.get(c)).await,
            StoreCommand::PutConfig(c) => answer(c, |c| self.put_config(c)).await,
            StoreCommand::PutPromotion(c) => answer(c, |c| self.put_promotion(c)).await,
            StoreCommand::DeletePromotion(c) => answer(c, |c| self.delete_promotion(c)).await,
            StoreCommand::Redeem(c) => answer(c, |c| self.redeem(c)).await,
            StoreCommand::Release(c) => answer(c, |c| self.release(c)).await,
            StoreCommand::IndexOrder(c) => answer(c, |c| self.index_order(c)).await,
            StoreCommand::ListOrders(c) => answer(c, |c| self.list_orders(c)).await,
        }
    }

    async fn get(&self, protocol::Get { customer }: protocol::Get) -> Handled<protocol::Get> {
        Ok(Ok(state(&self.load()?, customer.as_deref())))
    }

    async fn put_config(
        &self,
        protocol::PutConfig { config }: protocol::PutConfig,
    ) -> Handled<protocol::PutConfig> {
        let mut l = self.load()?;
        Tables::opened(&self.storage).exec(
            "saving config",
            "INSERT OR REPLACE INTO config (id, json) VALUES (1, ?)",
            vec![json(&config)?.into()],
        )?;
        l.config = config;
        self.published(&l).await?;
        Ok(Ok(state(&l, None)))
    }

    async fn put_promotion(
        &self,
        protocol::PutPromotion { promotion }: protocol::PutPromotion,
    ) -> Handled<protocol::PutPromotion> {
        let mut l = self.load()?;
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
        Tables::opened(&self.storage).exec(
            "saving promotion",
            "INSERT OR REPLACE INTO promotions (id, json) VALUES (?, ?)",
            vec![promotion.id.as_str().into(), json(&promotion)?.into()],
        )?;
        let saved = match l.promotions.insert(promotion.id.clone(), promotion) {
            None => PromotionSaved::Created,
            Some(_) => PromotionSaved::Replaced,
        };
        self.published(&l).await?;
        Ok(Ok(saved))
    }

    async fn delete_promotion(
        &self,
        protocol::DeletePromotion { id }: protocol::DeletePromotion,
    ) -> Handled<protocol::DeletePromotion> {
        let mut l = self.load()?;
        if l.promotions.remove(&id).is_none() {
            return Ok(Err(StoreRefusal::UnknownPromotion));
        }
        Tables::opened(&self.storage).exec(
            "saving promotion",
            "DELETE FROM promotions WHERE id = ?",
            vec![id.into()],
        )?;
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
        let mut l = self.load()?;
        let mut found = Vec::with_capacity(promotions.len());
        for id in &promotions {
            match l.promotions.get(id) {
                Some(p) => found.push(p),
                None => return Ok(Err(StoreRefusal::UnknownPromotion)),
            }
        }
        if let Err(refused) = l.redemptions.redeem(&order, &customer, &found) {
            return Ok(Err(StoreRefusal::RedemptionRefused { refused }));
        }
        Tables::opened(&self.storage).exec(
            "saving redemption",
            "INSERT OR IGNORE INTO redemptions (order_id, customer, promotions) VALUES (?, ?, ?)",
            vec![order.into(), customer.into(), json(&promotions)?.into()],
        )?;
        *self.loaded.borrow_mut() = Some(l);
        Ok(Ok(protocol::Redeemed {}))
    }

    async fn index_order(
        &self,
        protocol::IndexOrder { summary }: protocol::IndexOrder,
    ) -> Handled<protocol::IndexOrder> {
        self.load()?;
        let status = serde_json::to_value(summary.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        Tables::opened(&self.storage).exec(
            "saving order index",
            "INSERT OR REPLACE INTO orders (id, status, created_ms, json) VALUES (?, ?, ?, ?)",
            vec![
                summary.id.as_str().into(),
                status.into(),
                summary.created_at_ms.into(),
                json(&summary)?.into(),
            ],
        )?;
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
        let status = status
            .and_then(|s| serde_json::to_value(s).ok())
            .and_then(|v| v.as_str().map(str::to_string));
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

    async fn release(
        &self,
        protocol::Release { order }: protocol::Release,
    ) -> Handled<protocol::Release> {
        let mut l = self.load()?;
        l.redemptions.release(&order);
        Tables::opened(&self.storage).exec(
            "saving redemption",
            "DELETE FROM redemptions WHERE order_id = ?",
            vec![order.into()],
        )?;
        *self.loaded.borrow_mut() = Some(l);
        Ok(Ok(protocol::Released {}))
    }

    /// Keeps the changed configuration or promotions and publishes the
    /// display copy. A failure is reported; the next write publishes again.
    async fn published(&self, l: &Loaded) -> Result<(), String> {
        *self.loaded.borrow_mut() = Some(l.clone());
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

fn state(l: &Loaded, customer: Option<&str>) -> StoreState {
    StoreState {
        config: l.config.clone(),
        promotions: l
            .promotions
            .values()
            .map(|p| PromotionState {
                promotion: p.clone(),
                redemptions: l.redemptions.count(&p.id),
                customer_redemptions: customer
                    .map_or(0, |c| l.redemptions.customer_count(&p.id, c)),
            })
            .collect(),
    }
}
