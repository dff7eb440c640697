//! The typed protocol between the Worker and its Durable Objects: per
//! class one command enum, its replies and its binding constant, shared by
//! caller and object, and one function that sends a command. Nothing else
//! addresses the objects.

use edgecart_domain::cart::{Cart, CartError};
use edgecart_domain::checkout::{CheckoutPlan, Refusal as CheckoutRefusal, StoredAnswer};
use edgecart_domain::money::Currency;
use edgecart_domain::order::{Order, OrderEvent, OrderStatus};
use edgecart_domain::promotion::Promotion;
use edgecart_domain::records::CatalogPointer;
use edgecart_domain::stock::{Movement, Outcome, StockOp};
use edgecart_domain::store::{PaymentSettings, RedemptionRefused, StoreConfig};
pub use edgecart_domain::store::{PromotionState, StoreState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use worker::{Env, Request};

/// The wrangler.toml binding of the catalog writer namespace.
pub const CATALOG_WRITER_BINDING: &str = "CATALOG_WRITER";
/// All catalog writes go through this one object, which serializes them.
pub const CATALOG_WRITER_NAME: &str = "catalog";

/// Who made a change: the label of the admin token used.
pub type Actor = String;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum CatalogCommand {
    /// Create or replace product `id`; `product` is the raw JSON body, whose
    /// `id` must match.
    UpsertProduct {
        actor: Actor,
        id: String,
        product: String,
    },
    DeleteProduct {
        actor: Actor,
        id: String,
    },
    SetPrice {
        actor: Actor,
        sku: String,
        currency: String,
        amount: Value,
    },
    DeletePrice {
        actor: Actor,
        sku: String,
        currency: String,
    },
    UpsertCategory {
        actor: Actor,
        slug: String,
        name: String,
    },
    /// Apply import lines (line number, raw JSON); publishing waits for `Publish`.
    ImportBatch {
        actor: Actor,
        lines: Vec<(u32, String)>,
    },
    /// Publish pending changes (if any) and return the live pointer.
    Publish,
    /// Audit entries after `after` (a sequence number), oldest first.
    Audit {
        after: u64,
        limit: u32,
    },
}

/// A field-level problem, as the admin API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub field: Option<String>,
    pub code: String,
    pub message: String,
}

impl From<&edgecart_domain::catalog::FieldError> for FieldProblem {
    fn from(e: &edgecart_domain::catalog::FieldError) -> Self {
        FieldProblem {
            field: Some(e.field.clone()),
            code: e.code.to_string(),
            message: e.message.clone(),
        }
    }
}

/// Why the object refused a write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    /// The body is not the expected JSON (400).
    BadInput { problem: FieldProblem },
    /// The input breaks rules (422).
    Invalid { errors: Vec<FieldProblem> },
    /// The target does not exist (404); `what` is product, sku or price.
    NotFound { what: String },
    /// The write contradicts the current state (409).
    Conflict { code: String, message: String },
}

/// The answer to a single write.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WriteReply {
    /// `created`, `updated`, `deleted`, or `unchanged`; absent when refused.
    pub outcome: Option<String>,
    pub refusal: Option<Refusal>,
    /// The live catalog after the write (published before replying).
    pub pointer: Option<CatalogPointer>,
    /// The stored product after the write, for product upserts.
    pub product: Option<Value>,
}

/// Per-line results of one import batch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportReply {
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
    pub rejected: Vec<RejectedLine>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RejectedLine {
    pub line: u32,
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishReply {
    pub pointer: Option<CatalogPointer>,
}

/// One audit entry: append-only, numbered in commit order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    /// RFC 3339 time the change was committed.
    pub at: String,
    /// Label of the admin token that made the change.
    pub actor: String,
    pub action: String,
    pub target: String,
    pub fields: Vec<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditReply {
    pub entries: Vec<AuditEntry>,
}

/// Sends a command to the catalog writer and decodes its reply.
pub async fn call<R: for<'de> Deserialize<'de>>(
    env: &Env,
    command: &CatalogCommand,
) -> worker::Result<R> {
    send(env, CATALOG_WRITER_BINDING, CATALOG_WRITER_NAME, command).await
}

/// The wrangler.toml binding of the per-SKU stock objects.
pub const SKU_STOCK_BINDING: &str = "SKU_STOCK";

/// A command to one SKU's stock object (named by the SKU).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum StockCommand {
    /// Apply `op` once: a retry with the same `op_id` gets the first outcome.
    Apply { op_id: String, op: StockOp },
    /// The exact stock now.
    Snapshot,
    /// Movements after sequence number `after`, oldest first.
    History { after: u64, limit: u32 },
}

/// Stock levels of one SKU at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevels {
    pub on_hand: i64,
    pub reserved: i64,
    pub sold: i64,
    pub available: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApplyReply {
    pub outcome: Outcome,
    /// False when `op_id` had been applied before (the outcome is the first one).
    pub applied: bool,
    pub levels: StockLevels,
}

/// One recorded movement of a SKU's stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovementEntry {
    pub seq: u64,
    /// RFC 3339.
    pub at: String,
    pub op_id: String,
    #[serde(flatten)]
    pub movement: Movement,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryReply {
    pub entries: Vec<MovementEntry>,
}

/// The wrangler.toml binding of the cart objects (one per cart, named by its id).
pub const CART_BINDING: &str = "CART";

/// A change to one cart line, as the cart object receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "quantity", rename_all = "snake_case")]
pub enum LineChangeDto {
    Add(i64),
    Set(i64),
    Remove,
}

/// A command to one cart. Every command but `Create` carries the cart's
/// secret token; a wrong one is answered as if the cart did not exist.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum CartCommand {
    /// Creates cart `id` (the object's name) with its secret token.
    Create {
        id: String,
        token: String,
        currency: Currency,
    },
    Get {
        token: String,
    },
    /// Change a line and hold its units for `hold_ttl_ms`; other lines'
    /// holds with less than half that TTL left are refreshed too (cart
    /// activity, see `Cart::holds_to_refresh`).
    ChangeLine {
        token: String,
        op_id: String,
        sku: String,
        change: LineChangeDto,
        /// The SKU's price list in the live catalog (`None`: not sold any more;
        /// lines may then only be lowered or removed).
        prices: Option<BTreeMap<Currency, i64>>,
        max_per_order: Option<i64>,
        hold_ttl_ms: i64,
    },
    /// Adds a coupon code (`Some`) or removes one (`remove: Some`) or all.
    Coupon {
        token: String,
        add: Option<String>,
        remove: Option<String>,
    },
    /// Opens checkout `key` (idempotency) for the request `fingerprint`,
    /// run by `attempt`.
    CheckoutBegin {
        token: String,
        key: String,
        fingerprint: String,
        attempt: String,
        lease_ms: i64,
    },
    /// Ends checkout `key` with a refusal decided before any plan (the
    /// total changed, the cart is empty…): stored and replayed. `None`: a
    /// passing failure (the Worker could not read prices or the store), so
    /// the record is dropped and a retry with the key starts over.
    CheckoutFinish {
        key: String,
        attempt: String,
        refusal: Option<CheckoutRefusal>,
    },
    /// Carries out checkout `key`: with `plan` the first time, without it
    /// to resume the stored plan. Answers the checkout's answer.
    CheckoutRun {
        key: String,
        attempt: String,
        plan: Option<Box<CheckoutPlan>>,
    },
}

/// The answer to `CheckoutBegin`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckoutBeginReply {
    /// Price the cart and plan: the cart as it is now.
    Start {
        cart: Cart,
    },
    /// A crashed attempt planned already: run the stored plan.
    Resume,
    /// Done before: answer this again.
    Replay {
        answer: StoredAnswer,
    },
    /// The key was used for another request.
    Mismatch,
    /// Another attempt with this key is running.
    InProgress,
    /// Another checkout (another key) of this cart is running.
    CartBusy,
    NotFound,
}

/// The answer to `CheckoutRun` and `CheckoutFinish`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckoutReply {
    /// The checkout's answer (stored under the key, except a payment still
    /// being verified, which the alarm finishes).
    Answered { answer: StoredAnswer },
    /// Another attempt with this key runs the checkout.
    InProgress,
    /// The record was dropped (`CheckoutFinish` without a refusal).
    Dropped,
}

/// Why a cart command was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CartRefusal {
    /// No such cart, or the token does not match.
    NotFound,
    Line {
        error: CartError,
    },
    /// The SKU is not in the live catalog (adding needs it).
    UnknownSku,
    /// The SKU has no price in the cart's currency.
    NotSoldInCurrency {
        currency: Currency,
    },
    /// The SKU has only `available` units this cart could hold.
    OutOfStock {
        sku: String,
        available: i64,
    },
    /// A checkout of this cart is running: lines and coupons are frozen.
    CheckoutInProgress,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CartReply {
    pub cart: Option<Cart>,
    pub refusal: Option<CartRefusal>,
    /// Levels of the SKUs whose holds this command touched, right after
    /// (saves the Worker a read each).
    #[serde(default)]
    pub levels: Vec<(String, StockLevels)>,
}

/// The wrangler.toml binding of the store objects (one per store).
pub const STORE_BINDING: &str = "STORE";
/// The shop's one store (more stores later: one object each).
pub const DEFAULT_STORE: &str = "default";

/// A command to a store object: its configuration, promotions and coupon
/// redemptions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum StoreCommand {
    /// Configuration and promotions, with redemption counts (and those of
    /// `customer` when given).
    Get {
        customer: Option<String>,
    },
    PutConfig {
        config: StoreConfig,
    },
    /// Creates or replaces a promotion (by id).
    PutPromotion {
        promotion: Promotion,
    },
    DeletePromotion {
        id: String,
    },
    /// Redeems promotions for an order, all or none, within their limits;
    /// idempotent per order.
    Redeem {
        order: String,
        customer: String,
        promotions: Vec<String>,
    },
    /// Gives back an order's redemptions (idempotent).
    Release {
        order: String,
    },
    /// Records (or updates) an order in the store's order index.
    IndexOrder {
        summary: OrderSummary,
    },
    /// Orders by creation time, newest first: with `status`, created in
    /// [`from_ms`, `to_ms`), before the cursor (created_at_ms, id).
    ListOrders {
        status: Option<OrderStatus>,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
        before: Option<(i64, String)>,
        limit: u32,
    },
}

/// A store object's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoreReply {
    State(StoreState),
    /// The promotion was created (`created`) or replaced.
    Saved {
        created: bool,
    },
    Deleted,
    Redeemed,
    Released,
    Indexed,
    Orders {
        orders: Vec<OrderSummary>,
    },
    NotFound,
    /// Another promotion already uses this coupon code.
    CodeTaken {
        code: String,
        by: String,
    },
    RedemptionRefused(RedemptionRefused),
}

/// Sends a command to a store object and decodes its reply.
pub async fn call_store(env: &Env, command: &StoreCommand) -> worker::Result<StoreReply> {
    send(env, STORE_BINDING, DEFAULT_STORE, command).await
}

/// The wrangler.toml binding of the order objects (one per order).
pub const ORDER_BINDING: &str = "ORDER";

/// A command to one order (the object named by its id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum OrderCommand {
    /// Records the order with its token and the payment settings it was
    /// paid with (refunds use them); an order already recorded stays as it
    /// is (and is returned).
    Record {
        order: Box<Order>,
        token: String,
        settings: PaymentSettings,
    },
    /// Reads the order: with the shopper's token, or (`token: None`) for
    /// the admin API.
    Get { token: Option<String> },
    /// Moves the order on `event` (shopper: only `cancel`, with the token;
    /// admin: `token: None`) and carries out its effects (restock, refund).
    Transition {
        token: Option<String>,
        event: OrderEvent,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OrderReply {
    Order {
        order: Box<Order>,
    },
    /// No such order, or the token does not open it.
    NotFound,
    /// The order's status does not allow the event.
    Illegal {
        from: OrderStatus,
        event: OrderEvent,
    },
}

/// One order in the store's index (for the admin listing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub id: String,
    pub status: OrderStatus,
    pub created_at_ms: i64,
    pub email: String,
    pub currency: Currency,
    pub grand_total: i64,
}

/// Sends a command to order `id` and decodes its reply.
pub async fn call_order(env: &Env, id: &str, command: &OrderCommand) -> worker::Result<OrderReply> {
    send(env, ORDER_BINDING, id, command).await
}

/// The wrangler.toml binding of the availability publisher namespace.
pub const AVAILABILITY_BINDING: &str = "AVAILABILITY";
/// The one object that publishes the stock snapshot.
pub const AVAILABILITY_NAME: &str = "availability";

/// A command to the availability publisher.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum AvailabilityCommand {
    /// `sku`'s availability may have flipped between none and some: re-read
    /// it and publish (after a short gathering delay). Replies `true`.
    Changed { sku: String },
}

/// Sends a command to the availability publisher and decodes its reply.
pub async fn call_availability<R: for<'de> Deserialize<'de>>(
    env: &Env,
    command: &AvailabilityCommand,
) -> worker::Result<R> {
    send(env, AVAILABILITY_BINDING, AVAILABILITY_NAME, command).await
}

/// Sends a command to cart `id` and decodes its reply.
pub async fn call_cart<R: for<'de> Deserialize<'de>>(
    env: &Env,
    id: &str,
    command: &CartCommand,
) -> worker::Result<R> {
    send(env, CART_BINDING, id, command).await
}

/// Sends a command to the stock object of `sku` and decodes its reply.
pub async fn call_stock<R: for<'de> Deserialize<'de>>(
    env: &Env,
    sku: &str,
    command: &StockCommand,
) -> worker::Result<R> {
    send(env, SKU_STOCK_BINDING, sku, command).await
}

async fn send<C: Serialize, R: for<'de> Deserialize<'de>>(
    env: &Env,
    binding: &str,
    name: &str,
    command: &C,
) -> worker::Result<R> {
    let body =
        serde_json::to_string(command).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let (status, text) = raw::post(env, binding, name, &body).await?;
    if status != 200 {
        return Err(worker::Error::RustError(format!(
            "{binding} answered {status}: {text}"
        )));
    }
    // serde_json, not the runtime's JSON.parse: integers stay exact i64s.
    serde_json::from_str(&text)
        .map_err(|e| worker::Error::RustError(format!("{binding} reply: {e}")))
}

/// The one POST of a command to an object, on the runtime's own types.
/// The worker crate's stub wraps the request and the reply in its own types
/// (reading the reply's headers, `cf` and body stream) and reads the body
/// chunk by chunk: together about a tenth of a checkout's CPU, measured
/// with `npm run profile:checkout`.
mod raw {
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use worker::js_sys::{Promise, Reflect};
    use worker::wasm_bindgen_futures::JsFuture;
    use worker::web_sys;

    #[wasm_bindgen]
    extern "C" {
        type Namespace;
        #[wasm_bindgen(method, catch, js_name = getByName)]
        fn get_by_name(this: &Namespace, name: &str) -> Result<Stub, JsValue>;
        type Stub;
        #[wasm_bindgen(method, catch)]
        fn fetch(this: &Stub, url: &str, init: &web_sys::RequestInit) -> Result<Promise, JsValue>;
    }

    /// POSTs `body` to object `name` of namespace `binding`: the reply's
    /// status and text.
    pub(super) async fn post(
        env: &worker::Env,
        binding: &str,
        name: &str,
        body: &str,
    ) -> worker::Result<(u16, String)> {
        let namespace = Reflect::get(env, &JsValue::from_str(binding))?;
        if namespace.is_undefined() {
            return Err(worker::Error::RustError(format!("no binding {binding}")));
        }
        let stub = namespace.unchecked_into::<Namespace>().get_by_name(name)?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&JsValue::from_str(body));
        let reply = JsFuture::from(stub.fetch("https://object/command", &init)?).await?;
        let reply: web_sys::Response = reply.dyn_into()?;
        let text = JsFuture::from(reply.text()?).await?;
        let text = text
            .as_string()
            .ok_or_else(|| worker::Error::RustError("a reply that is not text".into()))?;
        Ok((reply.status(), text))
    }
}

/// Reads the command an object was sent, with serde_json (not the
/// runtime's JSON.parse, which turns integers past 2^53 into floats).
pub async fn read_command<C: for<'de> Deserialize<'de>>(req: &mut Request) -> Result<C, String> {
    let text = req
        .text()
        .await
        .map_err(|e| format!("unreadable command: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("unreadable command: {e}"))
}
