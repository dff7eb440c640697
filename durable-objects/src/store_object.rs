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

use crate::json;
use crate::protocol::{PromotionState, StoreCommand, StoreReply, StoreState};
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

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let command: StoreCommand = match crate::protocol::read_command(&mut req).await {
            Ok(c) => c,
            Err(e) => return Response::error(e, 400),
        };
        let store = self.inner.clone();
        let reply = self
            .state
            .block_concurrency_while(async move { Ok(store.handle(command).await) })
            .await?;
        crate::respond(reply.and_then(|r| json(&r)))
    }
}

impl Store {
    fn load(&self) -> Result<Loaded, String> {
        if let Some(l) = self.loaded.borrow().as_ref() {
            return Ok(l.clone());
        }
        let sql = self.storage.sql();
        crate::create_schema(&sql, SCHEMA)?;
        #[derive(Deserialize)]
        struct JsonRow {
            json: String,
        }
        #[derive(Deserialize)]
        struct RedemptionRow {
            order_id: String,
            customer: String,
            promotions: String,
        }
        let err = |what: &'static str| move |e: worker::Error| format!("loading {what}: {e}");
        let config = match sql
            .exec("SELECT json FROM config WHERE id = 1", None)
            .and_then(|c| c.to_array::<JsonRow>())
            .map_err(err("config"))?
            .first()
        {
            Some(row) => {
                serde_json::from_str(&row.json).map_err(|e| format!("stored config: {e}"))?
            }
            None => StoreConfig::default_config(),
        };
        let mut promotions = BTreeMap::new();
        for row in sql
            .exec("SELECT json FROM promotions", None)
            .and_then(|c| c.to_array::<JsonRow>())
            .map_err(err("promotions"))?
        {
            let p: Promotion =
                serde_json::from_str(&row.json).map_err(|e| format!("stored promotion: {e}"))?;
            promotions.insert(p.id.clone(), p);
        }
        let mut redemptions = Redemptions::default();
        for row in sql
            .exec(
                "SELECT order_id, customer, promotions FROM redemptions",
                None,
            )
            .and_then(|c| c.to_array::<RedemptionRow>())
            .map_err(err("redemptions"))?
        {
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

    async fn handle(&self, command: StoreCommand) -> Result<StoreReply, String> {
        let mut l = self.load()?;
        let sql = self.storage.sql();
        let err = |what: &'static str| move |e: worker::Error| format!("saving {what}: {e}");
        let reply = match command {
            StoreCommand::Get { customer } => {
                return Ok(StoreReply::State(state(&l, customer.as_deref())))
            }
            StoreCommand::PutConfig { config } => {
                sql.exec(
                    "INSERT OR REPLACE INTO config (id, json) VALUES (1, ?)",
                    vec![json(&config)?.into()],
                )
                .map_err(err("config"))?;
                l.config = config;
                StoreReply::State(state(&l, None))
            }
            StoreCommand::PutPromotion { promotion } => {
                if let Some(code) = &promotion.code {
                    let taken = l
                        .promotions
                        .values()
                        .find(|p| p.id != promotion.id && p.code.as_deref() == Some(code));
                    if let Some(other) = taken {
                        return Ok(StoreReply::CodeTaken {
                            code: code.clone(),
                            by: other.id.clone(),
                        });
                    }
                }
                sql.exec(
                    "INSERT OR REPLACE INTO promotions (id, json) VALUES (?, ?)",
                    vec![promotion.id.as_str().into(), json(&promotion)?.into()],
                )
                .map_err(err("promotion"))?;
                let created = l
                    .promotions
                    .insert(promotion.id.clone(), promotion)
                    .is_none();
                StoreReply::Saved { created }
            }
            StoreCommand::DeletePromotion { id } => {
                if l.promotions.remove(&id).is_none() {
                    return Ok(StoreReply::NotFound);
                }
                sql.exec("DELETE FROM promotions WHERE id = ?", vec![id.into()])
                    .map_err(err("promotion"))?;
                StoreReply::Deleted
            }
            StoreCommand::Redeem {
                order,
                customer,
                promotions,
            } => {
                let mut found = Vec::with_capacity(promotions.len());
                for id in &promotions {
                    match l.promotions.get(id) {
                        Some(p) => found.push(p),
                        None => return Ok(StoreReply::NotFound),
                    }
                }
                if let Err(refused) = l.redemptions.redeem(&order, &customer, &found) {
                    return Ok(StoreReply::RedemptionRefused(refused));
                }
                sql.exec(
                    "INSERT OR IGNORE INTO redemptions (order_id, customer, promotions) VALUES (?, ?, ?)",
                    vec![order.into(), customer.into(), json(&promotions)?.into()],
                )
                .map_err(err("redemption"))?;
                *self.loaded.borrow_mut() = Some(l);
                return Ok(StoreReply::Redeemed);
            }
            StoreCommand::IndexOrder { summary } => {
                let status = serde_json::to_value(summary.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                sql.exec(
                    "INSERT OR REPLACE INTO orders (id, status, created_ms, json) VALUES (?, ?, ?, ?)",
                    vec![
                        summary.id.as_str().into(),
                        status.into(),
                        summary.created_at_ms.into(),
                        json(&summary)?.into(),
                    ],
                )
                .map_err(err("order index"))?;
                return Ok(StoreReply::Indexed);
            }
            StoreCommand::ListOrders {
                status,
                from_ms,
                to_ms,
                before,
                limit,
            } => {
                #[derive(Deserialize)]
                struct Row {
                    json: String,
                }
                let status = status
                    .and_then(|s| serde_json::to_value(s).ok())
                    .and_then(|v| v.as_str().map(str::to_string));
                // The largest integer JavaScript holds exactly: later than any order.
                const LATEST: i64 = (1 << 53) - 1;
                let (before_ms, before_id) = before.unwrap_or((LATEST, String::new()));
                let rows = sql
                    .exec(
                        "SELECT json FROM orders WHERE (? IS NULL OR status = ?) AND created_ms >= ? AND created_ms < ?                          AND (created_ms < ? OR (created_ms = ? AND id < ?) OR ? = '')                          ORDER BY created_ms DESC, id DESC LIMIT ?",
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
                    )
                    .and_then(|c| c.to_array::<Row>())
                    .map_err(|e| format!("listing orders: {e}"))?;
                let orders = rows
                    .iter()
                    .map(|r| {
                        serde_json::from_str(&r.json)
                            .map_err(|e| format!("stored order summary: {e}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(StoreReply::Orders { orders });
            }
            StoreCommand::Release { order } => {
                l.redemptions.release(&order);
                sql.exec(
                    "DELETE FROM redemptions WHERE order_id = ?",
                    vec![order.into()],
                )
                .map_err(err("redemption"))?;
                *self.loaded.borrow_mut() = Some(l);
                return Ok(StoreReply::Released);
            }
        };
        *self.loaded.borrow_mut() = Some(l.clone());
        // Configuration and promotions changed: publish the display copy.
        // A failure is reported; the next write publishes again.
        self.publish(&l).await?;
        Ok(reply)
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
