//! `CartObject`: one Durable Object per cart. It keeps the cart (lines,
//! currency, hold expiry) and its secret token in SQLite, and orchestrates
//! holds: a line change first asks the SKU's stock object to hold the new
//! quantity (idempotent by operation id), and only records the line when
//! the hold succeeded, so a cart never shows units it does not hold. Each
//! command runs alone (`blockConcurrencyWhile`), so one cart's changes
//! apply in order.
//!
//! Crash safety: a hold taken just before a crash, but not yet recorded in
//! the cart, expires by itself at its TTL; retrying the same request (same
//! operation id) finds the hold already applied and records it.

use crate::json;
use crate::protocol::{
    call_stock, ApplyReply, CartCommand, CartRefusal, CartReply, LineChangeDto, StockCommand,
};
use edgecart_domain::cart::{Cart, LineChange};
use edgecart_domain::secret::constant_time_eq;
use edgecart_domain::stock::{StockError, StockOp};
use serde::Deserialize;
use std::rc::Rc;
use worker::{durable_object, Date, DurableObject, Env, Request, Response, State, Storage};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cart (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ops (op_id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL);
";
/// Line-change operation ids a cart remembers (the most recent ones).
const OPS_KEPT: i64 = 200;

#[durable_object]
pub struct CartObject {
    state: State,
    inner: Rc<Carts>,
}

struct Carts {
    storage: Storage,
    env: Env,
}

fn now_ms() -> i64 {
    Date::now().as_millis() as i64
}

fn refused(refusal: CartRefusal) -> CartReply {
    CartReply {
        cart: None,
        refusal: Some(refusal),
        levels: None,
    }
}

fn answer(cart: Cart) -> CartReply {
    CartReply {
        cart: Some(cart),
        refusal: None,
        levels: None,
    }
}

impl DurableObject for CartObject {
    fn new(state: State, env: Env) -> Self {
        let inner = Rc::new(Carts {
            storage: state.storage(),
            env,
        });
        CartObject { state, inner }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let command: CartCommand = match req.json().await {
            Ok(c) => c,
            Err(e) => return Response::error(format!("unreadable command: {e}"), 400),
        };
        let carts = self.inner.clone();
        let reply = self
            .state
            .block_concurrency_while(async move { Ok(carts.handle(command).await) })
            .await?;
        crate::respond(reply.and_then(|r| json(&r)))
    }
}

impl Carts {
    fn sql_load(&self) -> Result<Option<(String, Cart)>, String> {
        let sql = self.storage.sql();
        crate::create_schema(&sql, SCHEMA)?;
        #[derive(Deserialize)]
        struct Row {
            token: String,
            json: String,
        }
        let rows = sql
            .exec("SELECT token, json FROM cart WHERE id = 1", None)
            .and_then(|c| c.to_array::<Row>())
            .map_err(|e| format!("loading the cart: {e}"))?;
        rows.into_iter()
            .next()
            .map(|r| {
                serde_json::from_str(&r.json)
                    .map(|cart| (r.token, cart))
                    .map_err(|e| format!("stored cart: {e}"))
            })
            .transpose()
    }

    /// Saves the cart and, for a line change, its operation id: one
    /// synchronous block, so one atomic commit.
    fn save(&self, token: &str, cart: &Cart, op: Option<(&str, i64)>) -> Result<(), String> {
        let sql = self.storage.sql();
        let err = |e: worker::Error| format!("saving the cart: {e}");
        sql.exec(
            "INSERT OR REPLACE INTO cart (id, token, json) VALUES (1, ?, ?)",
            vec![token.into(), json(cart)?.into()],
        )
        .map_err(err)?;
        if let Some((op_id, now)) = op {
            sql.exec(
                "INSERT OR REPLACE INTO ops (op_id, at_ms) VALUES (?, ?)",
                vec![op_id.into(), now.into()],
            )
            .map_err(err)?;
            sql.exec(
                "DELETE FROM ops WHERE op_id NOT IN (SELECT op_id FROM ops ORDER BY at_ms DESC LIMIT ?)",
                vec![OPS_KEPT.into()],
            )
            .map_err(err)?;
        }
        Ok(())
    }

    fn seen(&self, op_id: &str) -> Result<bool, String> {
        #[derive(Deserialize)]
        struct Row {
            #[allow(dead_code)]
            at_ms: f64,
        }
        self.storage
            .sql()
            .exec("SELECT at_ms FROM ops WHERE op_id = ?", vec![op_id.into()])
            .and_then(|c| c.to_array::<Row>())
            .map(|rows| !rows.is_empty())
            .map_err(|e| format!("reading operation ids: {e}"))
    }

    /// The cart if `token` opens it.
    fn open(&self, token: &str) -> Result<Option<Cart>, String> {
        Ok(self
            .sql_load()?
            .filter(|(stored, _)| constant_time_eq(stored.as_bytes(), token.as_bytes()))
            .map(|(_, cart)| cart))
    }

    async fn handle(&self, command: CartCommand) -> Result<CartReply, String> {
        let now = now_ms();
        match command {
            CartCommand::Create {
                id,
                token,
                currency,
            } => {
                if self.sql_load()?.is_some() {
                    return Ok(refused(CartRefusal::NotFound));
                }
                let cart = Cart::new(id, currency, now);
                self.save(&token, &cart, None)?;
                Ok(answer(cart))
            }
            CartCommand::Get { token } => Ok(match self.open(&token)? {
                Some(cart) => answer(cart),
                None => refused(CartRefusal::NotFound),
            }),
            CartCommand::ChangeLine {
                token,
                op_id,
                sku,
                change,
                prices,
                max_per_order,
                hold_ttl_ms,
            } => {
                let Some(mut cart) = self.open(&token)? else {
                    return Ok(refused(CartRefusal::NotFound));
                };
                // A retried request (same operation id) changes nothing again.
                if self.seen(&op_id)? {
                    return Ok(answer(cart));
                }
                // Adding needs the item on sale in this cart's currency.
                if let LineChangeDto::Add(_) = change {
                    match &prices {
                        None => return Ok(refused(CartRefusal::UnknownSku)),
                        Some(p) if !p.contains_key(&cart.currency) => {
                            return Ok(refused(CartRefusal::NotSoldInCurrency {
                                currency: cart.currency,
                            }))
                        }
                        Some(_) => {}
                    }
                }
                let change = match change {
                    LineChangeDto::Add(n) => LineChange::Add(n),
                    LineChangeDto::Set(n) => LineChange::Set(n),
                    LineChangeDto::Remove => LineChange::Remove,
                };
                let target = match cart.plan_line(&sku, change, max_per_order) {
                    Ok(t) => t,
                    Err(error) => return Ok(refused(CartRefusal::Line { error })),
                };
                let expires = now + hold_ttl_ms;
                let hold = StockOp::Hold {
                    cart: cart.id.clone(),
                    quantity: target,
                    expires_at_ms: expires,
                };
                let reply = self
                    .stock(&sku, format!("{}:{op_id}", cart.id), hold)
                    .await?;
                match reply.outcome {
                    Ok(_) => {}
                    Err(StockError::OutOfStock { available }) => {
                        return Ok(refused(CartRefusal::OutOfStock { sku, available }))
                    }
                    Err(other) => return Err(format!("hold on {sku} refused: {other:?}")),
                }
                cart.set_line(&sku, target, now);
                cart.holds_expire_at_ms = (!cart.lines.is_empty()).then_some(expires);
                self.save(&token, &cart, Some((&op_id, now)))?;
                self.extend_others(&cart, &sku, &op_id, expires).await;
                Ok(CartReply {
                    cart: Some(cart),
                    refusal: None,
                    levels: Some((sku, reply.levels)),
                })
            }
        }
    }

    async fn stock(&self, sku: &str, op_id: String, op: StockOp) -> Result<ApplyReply, String> {
        call_stock(&self.env, sku, &StockCommand::Apply { op_id, op })
            .await
            .map_err(|e| format!("stock object {sku}: {e}"))
    }

    /// Cart activity keeps every other line's units held: their holds move
    /// to the new expiry, and a hold that lapsed meanwhile is taken again if
    /// the units are still there (the line then shows what is available).
    async fn extend_others(&self, cart: &Cart, changed: &str, op_id: &str, expires: i64) {
        for line in cart.lines.iter().filter(|l| l.sku != changed) {
            let extend = StockOp::Extend {
                cart: cart.id.clone(),
                expires_at_ms: expires,
            };
            let id = format!("{}:{op_id}:extend:{}", cart.id, line.sku);
            if let Ok(reply) = self.stock(&line.sku, id.clone(), extend).await {
                if reply.outcome == Err(StockError::NoHold) {
                    let hold = StockOp::Hold {
                        cart: cart.id.clone(),
                        quantity: line.quantity,
                        expires_at_ms: expires,
                    };
                    let _ = self.stock(&line.sku, format!("{id}:rehold"), hold).await;
                }
            }
        }
    }
}
