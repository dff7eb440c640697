//! The admin API (`/admin/v1/*`): bearer-token authentication compared in
//! constant time, single writes and the streamed NDJSON import, all sent to
//! the catalog writer object, and the audit trail. The pure parts (token
//! check, line splitting, reply mapping) are tested natively.

use crate::app::{ApiRequest, Incoming};
use crate::catalog_api::Params;
use crate::catalog_store::{self, CatalogStore};
use crate::config::{AdminToken, Config, Role};
use crate::http::{ApiError, ApiResponse, Result};
use crate::inventory_api;
use crate::objects::{self, ask};
use crate::routes::Handler as H;
use edgecart_domain::admin::parse_amount;
use edgecart_domain::admin::{CategoryInput, PriceInput, MAX_ITEM_BYTES};
use edgecart_domain::money::Currency;
use edgecart_domain::secret::constant_time_eq;
use edgecart_domain::stock::{AdjustmentInput, BulkSetOnHandInput, SetOnHandInput, StockOp};
use edgecart_durable_objects::protocol::catalog::{
    self, AuditEntry, Imported, WriteOutcome, Written, NAME,
};
use edgecart_durable_objects::protocol::FieldProblem;
use futures_util::StreamExt;
use serde::Serialize;
use worker::Env;

/// Lines sent to the writer per batch, and bytes at most.
const BATCH_LINES: usize = 500;
const BATCH_BYTES: usize = 1 << 20;
/// Most lines one import reads; later lines are rejected.
pub const MAX_IMPORT_LINES: u32 = 100_000;
/// Most rejected lines listed in an import report (all are counted).
const MAX_LISTED_ERRORS: usize = 1_000;
const AUDIT_DEFAULT_PAGE: u32 = 50;
const AUDIT_MAX_PAGE: u32 = 200;

/// The token in `authorization` if it may use a route that needs `needs`
/// (of `store`, for a store's route): 401 for no valid token, 403 for one
/// whose role or store does not cover the route. Every configured token is
/// compared, always.
pub fn authorize<'c>(
    config: &'c Config,
    authorization: Option<&str>,
    needs: Role,
    store: Option<&str>,
) -> Result<&'c AdminToken> {
    let tokens = config
        .admin_tokens
        .as_ref()
        .map_err(|cause| ApiError::Misconfigured {
            cause: cause.clone(),
        })?;
    let presented = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::Unauthorized)?;
    let mut found = None;
    for t in tokens {
        if constant_time_eq(t.secret.as_bytes(), presented.as_bytes()) {
            found = Some(t);
        }
    }
    let token = found.ok_or(ApiError::Unauthorized)?;
    let allowed = match (needs, token.role) {
        (_, Role::Operator) => true,
        (Role::Operator, _) | (Role::Admin, Role::Viewer) => false,
        // An admin or viewer token covers its own store only.
        _ => store.is_none_or(|s| token.store.as_deref() == Some(s)),
    };
    if allowed {
        Ok(token)
    } else {
        Err(ApiError::Forbidden)
    }
}

/// What an admin token may do, as `GET /admin/v1/session` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub enum SessionRole {
    /// Every store, the stores themselves, the shared catalog and stock.
    Operator,
    /// Every admin route of its store; reads of the shared catalog and stock.
    Admin,
    /// The read-only admin routes of its store and of the shared catalog and stock.
    Viewer,
}

/// The answer of `GET /admin/v1/session`: who the presented token is, so a
/// back office can shape its UI (the API still decides every call).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct AdminSession {
    /// The token's label: the actor its writes are recorded under.
    pub label: String,
    pub role: SessionRole,
    /// The store an admin or viewer token belongs to; null for an operator.
    pub store: Option<String>,
}

/// `GET /admin/v1/session`: the presented token's label, role and store.
/// The dispatcher has admitted it (any valid token); nothing is read but
/// the configuration.
pub fn session(config: &Config, authorization: Option<&str>) -> Result<ApiResponse> {
    let token = authorize(config, authorization, Role::Viewer, None)?;
    Ok(ApiResponse::json(&session_of(token)))
}

fn session_of(token: &AdminToken) -> AdminSession {
    AdminSession {
        label: token.label.clone(),
        role: match token.role {
            Role::Operator => SessionRole::Operator,
            Role::Admin => SessionRole::Admin,
            Role::Viewer => SessionRole::Viewer,
        },
        store: token.store.clone(),
    }
}

/// One line of an NDJSON body, numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Text(u32, String),
    TooLong(u32),
    NotUtf8(u32),
}

/// Splits a streamed body into lines without holding more than one line
/// (at most `max` bytes) in memory. Blank lines are skipped but counted.
pub struct LineSplitter {
    buf: Vec<u8>,
    line: u32,
    skipping: bool,
    max: usize,
}

impl LineSplitter {
    pub fn new(max: usize) -> Self {
        LineSplitter {
            buf: Vec::new(),
            line: 0,
            skipping: false,
            max,
        }
    }

    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Line>) {
        let mut start = 0;
        for (i, &b) in chunk.iter().enumerate() {
            if b == b'\n' {
                self.take(&chunk[start..i], true, out);
                start = i + 1;
            }
        }
        self.take(&chunk[start..], false, out);
    }

    pub fn finish(&mut self, out: &mut Vec<Line>) {
        if !self.buf.is_empty() || self.skipping {
            self.take(&[], true, out);
        }
    }

    fn take(&mut self, part: &[u8], complete: bool, out: &mut Vec<Line>) {
        if !self.skipping {
            self.buf.extend_from_slice(part);
            if self.buf.len() > self.max {
                self.skipping = true;
                self.buf = Vec::new();
            }
        }
        if !complete {
            return;
        }
        self.line += 1;
        if std::mem::take(&mut self.skipping) {
            out.push(Line::TooLong(self.line));
            return;
        }
        let mut bytes = std::mem::take(&mut self.buf);
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        out.push(match String::from_utf8(bytes) {
            Ok(s) => Line::Text(self.line, s),
            Err(_) => Line::NotUtf8(self.line),
        });
    }
}

/// What an import did, line by line. `received` = `created` + `updated` +
/// `unchanged` + `rejected`.
#[derive(Debug, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ImportReport {
    /// Non-blank lines read (blank lines are skipped).
    #[cfg_attr(feature = "openapi", schemars(range(min = 0)))]
    pub received: u32,
    /// Lines that created a product.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0)))]
    pub created: u32,
    /// Lines that replaced a product with different content.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0)))]
    pub updated: u32,
    /// Lines identical to the stored product (re-importing the same file counts
    /// every line here).
    #[cfg_attr(feature = "openapi", schemars(range(min = 0)))]
    pub unchanged: u32,
    /// Lines refused; all are counted, the first 1,000 are listed in `errors`.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0)))]
    pub rejected: u32,
    /// The first 1,000 rejected lines, in file order, each with every problem
    /// found.
    #[cfg_attr(feature = "openapi", schemars(length(max = 1000)))]
    pub errors: Vec<LineErrors>,
    /// True when more lines were rejected than `errors` lists.
    pub errors_truncated: bool,
    /// The live catalog version after the import, published before this answer.
    /// Null only if the catalog writer has never published a catalog.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["3b9f0c6a1d2e4f58"])))]
    pub catalog_version: Option<String>,
}

/// One rejected import line with every problem found in it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "ImportLineErrors"))]
pub struct LineErrors {
    /// Line number in the file, counting from 1 (blank lines count).
    #[cfg_attr(feature = "openapi", schemars(range(min = 1)))]
    pub line: u32,
    #[cfg_attr(
        feature = "openapi",
        schemars(schema_with = "crate::openapi::schemas::field_problems")
    )]
    pub errors: Vec<FieldProblem>,
}

impl ImportReport {
    fn reject(&mut self, line: u32, errors: Vec<FieldProblem>) {
        self.rejected += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(LineErrors { line, errors });
        } else {
            self.errors_truncated = true;
        }
    }

    fn reject_one(&mut self, line: u32, code: &str, message: &str) {
        self.reject(
            line,
            vec![FieldProblem {
                field: None,
                code: code.into(),
                message: message.into(),
            }],
        );
    }

    fn merge(&mut self, reply: Imported) {
        self.created += reply.created;
        self.updated += reply.updated;
        self.unchanged += reply.unchanged;
        for r in reply.rejected {
            self.reject(r.line, r.errors);
        }
    }
}

/// The answer to an accepted single write.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct WriteResult {
    /// What the write did. `created` answers 201, the others 200. `unchanged`:
    /// the target already was so; nothing was written, audited or published.
    #[cfg_attr(feature = "openapi", schemars(with = "String", extend("enum" = ["created", "updated", "deleted", "unchanged"])))]
    outcome: WriteOutcome,
    /// The live catalog version after the write, published before this answer
    /// (the version catalog reads' `ETag` is derived from). Null only if the
    /// catalog writer has never published a catalog.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["3b9f0c6a1d2e4f58"])))]
    catalog_version: Option<String>,
    /// The stored product after the write. Present on product upserts and price
    /// sets (the product the SKU belongs to); absent on deletes and category
    /// writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "Option<edgecart_domain::records::ProductRecord>")
    )]
    product: Option<serde_json::Value>,
}

/// The response to an accepted single write.
pub fn write_response(reply: Written) -> ApiResponse {
    let created = reply.outcome == WriteOutcome::Created;
    let mut response = ApiResponse::json(&WriteResult {
        outcome: reply.outcome,
        catalog_version: reply.pointer.map(|p| p.version),
        product: reply
            .product
            .map(|p| serde_json::to_value(p).unwrap_or_default()),
    });
    if created {
        response.status = 201;
    }
    response
}

fn require_media_type(req: &Incoming<'_>, accepted: &[&str]) -> Result<()> {
    let given = req.header("Content-Type").unwrap_or_default();
    let essence = given
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if accepted.contains(&essence.as_str()) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType {
            detail: format!("Send the body as {}.", accepted.join(" or ")),
        })
    }
}

/// Reads a JSON body of at most [`MAX_ITEM_BYTES`].
pub async fn small_json_body(req: &mut Incoming<'_>) -> Result<String> {
    json_body(req, MAX_ITEM_BYTES).await
}

/// Reads a JSON body of at most `max` bytes.
pub async fn json_body(req: &mut Incoming<'_>, max: usize) -> Result<String> {
    require_media_type(req, &["application/json"])?;
    let too_large = || ApiError::PayloadTooLarge {
        detail: format!("The body may be at most {max} bytes."),
    };
    // A declared length over `max` is refused unread by `bytes_at_most`.
    let bytes = req
        .bytes_at_most(max)
        .await
        .map_err(|_| ApiError::InvalidBody {
            code: "invalid_body".into(),
            field: None,
            detail: "The body could not be read.".into(),
        })?
        .ok_or_else(too_large)?;
    String::from_utf8(bytes).map_err(|_| ApiError::InvalidBody {
        code: "invalid_json".into(),
        field: None,
        detail: "The body is not UTF-8.".into(),
    })
}

pub fn parse_body<T: for<'de> serde::Deserialize<'de>>(body: &str) -> Result<T> {
    edgecart_domain::admin::parse_input(body).map_err(|e| ApiError::InvalidBody {
        code: e.code.into(),
        field: e.field,
        detail: e.message,
    })
}

/// A SKU's exact stock levels now, as its stock Durable Object has them: the
/// SKU and the `StockLevels` fields.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"sku": "KTL-1-STEEL", "on_hand": 10, "reserved": 2, "sold": 1, "available": 7}])))]
pub struct InventoryLevels<'a> {
    /// The SKU, as in the path.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["KTL-1-STEEL"])))]
    sku: &'a str,
    #[serde(flatten)]
    levels: edgecart_durable_objects::protocol::stock::StockLevels,
}

/// Serves an admin catalog or stock operation, for the caller the route
/// table admitted. `now_ms` is the request's clock reading.
pub async fn handle(
    request: &mut ApiRequest<'_>,
    env: &Env,
    config: &Config,
    now_ms: u64,
) -> Result<ApiResponse> {
    let actor = request.caller.label().to_string();
    let path = request.path;
    let body = &mut request.incoming;
    // Stock operations are idempotent by key: the client's Idempotency-Key
    // (per token label), else a fresh one.
    let key = match body.idempotency_key()? {
        Some(key) => key,
        None => crate::app::random_id()?,
    };
    let op_id = format!("{actor}:{key}");
    let reply = match request.handler {
        H::ListAudit => {
            return audit_page(&request.query, |after, limit| async move {
                Ok(ask(env, NAME, catalog::Audit { after, limit })
                    .await?
                    .entries)
            })
            .await
        }
        H::ListMovements => {
            let sku = path.param("sku");
            inventory_api::require_sku(&CatalogStore::from_env(env, config)?, now_ms, sku).await?;
            return inventory_api::movements(env, sku, &request.query).await;
        }
        H::GetStock => {
            let sku = path.param("sku");
            inventory_api::require_sku(&CatalogStore::from_env(env, config)?, now_ms, sku).await?;
            let levels = inventory_api::levels(env, sku).await?;
            return Ok(ApiResponse::json(&InventoryLevels { sku, levels }));
        }
        H::SetOnHand => {
            let sku = path.param("sku");
            let input: SetOnHandInput = parse_body(&small_json_body(body).await?)?;
            inventory_api::require_sku(&CatalogStore::from_env(env, config)?, now_ms, sku).await?;
            let op = StockOp::SetOnHand {
                quantity: input.on_hand,
                reason: input.reason.unwrap_or_else(|| "count".into()),
            };
            return inventory_api::apply(env, sku, op_id, op, "on_hand").await;
        }
        H::SetOnHandBatch => {
            let body = json_body(body, inventory_api::BATCH_BODY_MAX).await?;
            let input: BulkSetOnHandInput = parse_body(&body)?;
            let store = CatalogStore::from_env(env, config)?;
            return inventory_api::set_on_hand_batch(env, &store, now_ms, &op_id, input).await;
        }
        H::AdjustStock => {
            let sku = path.param("sku");
            let input: AdjustmentInput = parse_body(&small_json_body(body).await?)?;
            inventory_api::require_sku(&CatalogStore::from_env(env, config)?, now_ms, sku).await?;
            let op = StockOp::Adjust {
                delta: input.delta,
                reason: input.reason,
            };
            return inventory_api::apply(env, sku, op_id, op, "delta").await;
        }
        H::ImportCatalog => return import(body, env, &actor, now_ms).await,
        H::AdminGetProduct => {
            let id = path.param("id").to_string();
            let stored = ask(env, NAME, catalog::GetProduct { id }).await?;
            let product = stored
                .product
                .ok_or_else(|| objects::missing_error(edgecart_domain::admin::Missing::Product))?;
            return Ok(ApiResponse::json(&product));
        }
        H::PutProduct => {
            let command = catalog::UpsertProduct {
                actor,
                id: path.param("id").to_string(),
                product: small_json_body(body).await?,
            };
            ask(env, NAME, command).await?
        }
        H::DeleteProduct => {
            let command = catalog::DeleteProduct {
                actor,
                id: path.param("id").to_string(),
            };
            ask(env, NAME, command).await?
        }
        H::PutPrice => {
            let input: PriceInput = parse_body(&small_json_body(body).await?)?;
            // Refused here, before the writer: a code that is no currency,
            // an amount that is no integer of minor units within limits.
            let currency =
                Currency::parse(path.param("currency")).map_err(|_| objects::unknown_currency())?;
            let amount = parse_amount(&input.amount).ok_or_else(objects::invalid_price)?;
            let command = catalog::SetPrice {
                actor,
                sku: path.param("sku").to_string(),
                currency,
                amount,
            };
            ask(env, NAME, command).await?
        }
        H::DeletePrice => {
            // A code that is no currency names no price.
            let currency = Currency::parse(path.param("currency"))
                .map_err(|_| objects::missing_error(edgecart_domain::admin::Missing::Price))?;
            let command = catalog::DeletePrice {
                actor,
                sku: path.param("sku").to_string(),
                currency,
            };
            ask(env, NAME, command).await?
        }
        H::PutCategory => {
            let input: CategoryInput = parse_body(&small_json_body(body).await?)?;
            let command = catalog::UpsertCategory {
                actor,
                slug: path.param("slug").to_string(),
                name: input.name,
            };
            ask(env, NAME, command).await?
        }
        _ => return Err(ApiError::RouteNotFound),
    };
    if let Some(pointer) = &reply.pointer {
        catalog_store::note_published(pointer, now_ms);
    }
    Ok(write_response(reply))
}

async fn import(
    req: &mut Incoming<'_>,
    env: &Env,
    actor: &str,
    now_ms: u64,
) -> Result<ApiResponse> {
    require_media_type(req, &["application/x-ndjson", "application/jsonl"])?;
    let mut stream = req.stream().map_err(|_| ApiError::InvalidBody {
        code: "invalid_body".into(),
        field: None,
        detail: "The body could not be read.".into(),
    })?;
    let mut splitter = LineSplitter::new(MAX_ITEM_BYTES);
    let mut report = ImportReport::default();
    let mut batch: Vec<(u32, String)> = Vec::new();
    let mut batch_bytes = 0;
    let mut lines = Vec::new();
    let mut ended = false;
    while !ended {
        match stream.next().await {
            Some(Ok(chunk)) => splitter.push(&chunk, &mut lines),
            Some(Err(_)) => {
                return Err(ApiError::InvalidBody {
                    code: "invalid_body".into(),
                    field: None,
                    detail: "The body stream broke; lines read so far may have been applied."
                        .into(),
                })
            }
            None => {
                splitter.finish(&mut lines);
                ended = true;
            }
        }
        for line in lines.drain(..) {
            report.received += 1;
            match line {
                Line::Text(n, _) if report.received > MAX_IMPORT_LINES => report.reject_one(
                    n,
                    "too_many_lines",
                    &format!("An import reads at most {MAX_IMPORT_LINES} lines."),
                ),
                Line::Text(n, text) => {
                    batch_bytes += text.len();
                    batch.push((n, text));
                }
                Line::TooLong(n) => report.reject_one(
                    n,
                    "line_too_long",
                    &format!("A line may be at most {MAX_ITEM_BYTES} bytes."),
                ),
                Line::NotUtf8(n) => report.reject_one(n, "invalid_utf8", "The line is not UTF-8."),
            }
        }
        if batch.len() >= BATCH_LINES || batch_bytes >= BATCH_BYTES || (ended && !batch.is_empty())
        {
            let command = catalog::ImportBatch {
                actor: actor.to_string(),
                lines: std::mem::take(&mut batch),
            };
            batch_bytes = 0;
            report.merge(ask(env, NAME, command).await?);
        }
    }
    let published = ask(env, NAME, catalog::Publish {}).await?;
    if let Some(pointer) = &published.pointer {
        catalog_store::note_published(pointer, now_ms);
    }
    report.catalog_version = published.pointer.map(|p| p.version);
    Ok(ApiResponse::json(&report))
}

/// One change, as an audit trail records it: the shared trail (`GET
/// /admin/v1/audit`: the catalog) or a store's (`GET /admin/v1/store/audit`:
/// its configuration, promotions, order actions and profile). Entries are
/// append-only and numbered in the order their trail recorded them; each
/// was committed atomically with its change (an order action or a profile
/// change is then delivered to the store's trail, and numbered when it
/// arrives: `at` is when it was committed).
// (An audit entry as the API shows it: its snapshots are the JSON
// documents as stored, verbatim; an unreadable one shows as null.)
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "AuditEntry", extend("examples" = [{"seq": 42, "at": "2026-11-21T12:00:00.000Z", "actor": "ops", "store": null, "action": "price.set", "target": "price:KTL-1-STEEL:USD", "fields": ["prices.USD"], "before": {"amount": 2500, "currency": "USD"}, "after": {"amount": 2600, "currency": "USD"}}, {"seq": 7, "at": "2026-11-21T12:05:00.000Z", "actor": "bank-ops", "store": "bank", "action": "order.refund", "target": "order:ord_3b9d2f4a6c8e0a1b2c3d4e5f", "fields": ["status"], "before": {"status": "paid"}, "after": {"status": "refunded"}}])))]
pub struct AuditItem {
    /// Position in the trail: increases with each entry the trail records.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1), extend("format" = "int64")))]
    seq: u64,
    /// When the change was committed (RFC 3339, UTC, milliseconds).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time", "examples" = ["2026-11-21T12:00:00.000Z"])))]
    at: String,
    /// Label of the admin token that made the change; `shopper` for an order
    /// the shopper cancelled with its order token (no admin token has that
    /// label).
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["ops"])))]
    actor: String,
    /// The store whose records changed (the trail's store, in a store's
    /// trail; in the shared trail, the store whose own price changed); null
    /// for a change of the shared catalog.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["bank"])))]
    store: Option<String>,
    /// What was done. The shared trail: `product.*`, `price.*`,
    /// `category.*`, and `store_price.set` and `store_price.delete` (a
    /// store's own prices, with their store). A store's trail: `store.config.set` (its configuration),
    /// `promotion.set` and `promotion.delete`, `order.fulfil`, `order.refund`
    /// and `order.cancel`, `store.create` and `store.update` (its profile,
    /// written by an operator), `points.grant` and `points.adjust` (an
    /// admin's change of a member's points, target `member:{member}`).
    #[cfg_attr(feature = "openapi", schemars(extend("enum" = edgecart_domain::audit::ACTIONS)))]
    action: String,
    /// What changed: `product:{id}`, `price:{sku}:{currency}`,
    /// `store-price:{store}:{sku}:{currency}` or `category:{slug}`; in a
    /// store's trail `store:{store_id}` (its
    /// configuration or profile), `promotion:{id}`, `order:{id}` or
    /// `member:{member}` (a member's points).
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["price:KTL-1-STEEL:USD"])))]
    target: String,
    /// Names of the fields that differ: for `product.update` some of `slug`,
    /// `name`, `description`, `category`, `tags`, `position`, `created_at`,
    /// `images`, `variants`; `prices.{currency}` for price changes; `name` for
    /// `category.rename`; the top-level fields of the configuration,
    /// promotion or profile that differ, in byte order, for
    /// `store.config.set`, `promotion.set` and `store.update`; `status` for
    /// order actions; `available` for points actions (`before` and `after`
    /// give the member's available points, `after` also the `points` moved
    /// and the `reason`); empty for creations and deletions (`product.create`,
    /// `product.delete`, `category.create`, a `promotion.set` that creates
    /// the promotion, `promotion.delete`, `store.create`).
    fields: Vec<String>,
    /// Summary of the target before the change; null for a creation (and for a
    /// price set in a new currency). Products: `{slug, name, category, variants
    /// (count), prices: {currency: [lowest, highest]}}`; prices: `{amount,
    /// currency}`; categories: `{slug, name}`; a store's configuration,
    /// promotions and profiles: the whole record as stored (a configuration
    /// never written is the default one); orders: `{status}`.
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")
    )]
    before: Option<Box<serde_json::value::RawValue>>,
    /// Summary of the target after the change, shaped like `before`; null for a
    /// deletion.
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")
    )]
    after: Option<Box<serde_json::value::RawValue>>,
}

impl From<AuditEntry> for AuditItem {
    fn from(e: AuditEntry) -> Self {
        let snapshot = |text: Option<String>| {
            text.and_then(|t| serde_json::value::RawValue::from_string(t).ok())
        };
        AuditItem {
            seq: e.seq,
            at: e.at,
            actor: e.actor,
            store: e.store,
            action: e.action,
            target: e.target,
            fields: e.fields,
            before: snapshot(e.before),
            after: snapshot(e.after),
        }
    }
}

/// A paged listing's `limit`: digits only, from 1 to `max` (`default`
/// when absent), else 400 `invalid_limit`.
pub fn page_limit(params: &Params, default: u32, max: u32) -> Result<u32> {
    match params.get("limit") {
        None => Ok(default),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n) && raw.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                ApiError::invalid(
                    "limit",
                    "invalid_limit",
                    format!("limit must be an integer from 1 to {max}."),
                )
            }),
    }
}

/// The query parameters of a paged admin listing (`page_params`).
pub const PAGE_PARAMS: &[&str] = &["limit", "cursor"];

/// 400 `invalid_cursor`: a paged admin listing's `cursor` is not one it
/// gave as `next_cursor`.
pub fn invalid_cursor() -> ApiError {
    ApiError::invalid(
        "cursor",
        "invalid_cursor",
        "Pass back next_cursor as it is.",
    )
}

/// `limit` (1..=`max`, default `default`) and `cursor` (`{prefix}{seq}`, as
/// a previous page's `next_cursor` gave it) of a paged admin listing.
pub fn page_params(params: &Params, default: u32, max: u32, prefix: &str) -> Result<(u32, u64)> {
    let limit = page_limit(params, default, max)?;
    let after = match params.get("cursor") {
        None => 0,
        Some(raw) => raw
            .strip_prefix(prefix)
            .filter(|n| (1..=19).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(invalid_cursor)?,
    };
    Ok((limit, after))
}

/// Cuts `limit + 1` fetched entries to a page of `limit` and the cursor of
/// the next page (`{prefix}{seq}` of the last entry shown), if there is one.
pub fn page<T>(
    mut entries: Vec<T>,
    limit: u32,
    prefix: &str,
    seq: impl Fn(&T) -> u64,
) -> (Vec<T>, Option<String>) {
    let next = if entries.len() > limit as usize {
        entries.truncate(limit as usize);
        entries.last().map(|e| format!("{prefix}{}", seq(e)))
    } else {
        None
    };
    (entries, next)
}

/// One page of the audit trail, oldest entry first.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct AuditPage {
    /// At most `limit` entries in commit order.
    #[cfg_attr(feature = "openapi", schemars(length(max = AUDIT_MAX_PAGE)))]
    items: Vec<AuditItem>,
    /// Opaque cursor for the next page: pass it back as `cursor`. Null when
    /// this page reaches the end of the trail.
    next_cursor: Option<String>,
}

/// A page of an audit trail (the shared one, `GET /admin/v1/audit`, or a
/// store's, `GET /admin/v1/store/audit`: the same parameters and paging),
/// `read` giving the trail's entries after a sequence number, at most a
/// limit.
pub async fn audit_page<F, Fut>(params: &Params<'_>, read: F) -> Result<ApiResponse>
where
    F: FnOnce(u64, u32) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<AuditEntry>>>,
{
    let (limit, after) = page_params(params, AUDIT_DEFAULT_PAGE, AUDIT_MAX_PAGE, "a")?;
    let entries = read(after, limit + 1).await?;
    let (entries, next_cursor) = page(entries, limit, "a", |e| e.seq);
    let items = entries.into_iter().map(AuditItem::from).collect();
    Ok(ApiResponse::json(&AuditPage { items, next_cursor }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(tokens: &str) -> Config {
        Config::from_vars(|k| (k == "ADMIN_TOKENS").then(|| tokens.to_string())).unwrap()
    }

    #[test]
    fn page_cursors_are_exactly_the_documented_pattern() {
        let cursor = |raw: &str| {
            let pairs = vec![("cursor".to_string(), raw.to_string())];
            let params = Params::parse(pairs, PAGE_PARAMS).unwrap();
            page_params(&params, 50, 200, "a").map(|(_, after)| after)
        };
        assert_eq!(cursor("a42").ok(), Some(42));
        assert_eq!(
            cursor("a9999999999999999999").ok(),
            Some(9_999_999_999_999_999_999)
        );
        for bad in [
            "a+5",
            "a",
            "a-1",
            "42",
            "m42",
            "a 4",
            "a12345678901234567890",
        ] {
            assert!(cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn authorization_table() {
        let c = config("ops:admin:0123456789abcdef,audit:viewer:fedcba9876543210");
        let table = [
            (None, Role::Viewer, Err("unauthorized")),
            (Some("0123456789abcdef"), Role::Viewer, Err("unauthorized")),
            (Some("Bearer nope"), Role::Viewer, Err("unauthorized")),
            (
                Some("Bearer 0123456789abcde"),
                Role::Admin,
                Err("unauthorized"),
            ),
            (
                Some("Bearer 0123456789abcdef0"),
                Role::Admin,
                Err("unauthorized"),
            ),
            (Some("Bearer 0123456789abcdef"), Role::Admin, Ok("ops")),
            (Some("Bearer fedcba9876543210"), Role::Viewer, Ok("audit")),
            (
                Some("Bearer fedcba9876543210"),
                Role::Admin,
                Err("forbidden"),
            ),
        ];
        for (header, needs, want) in table {
            let got = authorize(&c, header, needs, None);
            match want {
                Ok(label) => assert_eq!(got.unwrap().label, label, "{header:?}"),
                Err(code) => assert_eq!(got.unwrap_err().code(), code, "{header:?}"),
            }
        }
        let none = config("");
        assert_eq!(
            authorize(&none, Some("Bearer 0123456789abcdef"), Role::Viewer, None)
                .unwrap_err()
                .code(),
            "unauthorized"
        );
    }

    #[test]
    fn splits_lines_across_chunks_and_bounds_them() {
        let mut s = LineSplitter::new(10);
        let mut out = Vec::new();
        for chunk in [
            &b"{\"a\":1}\n\n{\"b\""[..],
            b":2}\r\n0123456789ABC",
            b"DEF\n\xff\xfe\nlast",
        ] {
            s.push(chunk, &mut out);
        }
        s.finish(&mut out);
        assert_eq!(
            out,
            vec![
                Line::Text(1, "{\"a\":1}".into()),
                Line::Text(3, "{\"b\":2}".into()),
                Line::TooLong(4),
                Line::NotUtf8(5),
                Line::Text(6, "last".into()),
            ]
        );
    }

    #[test]
    fn write_responses_name_the_outcome_and_show_the_product_with_sorted_keys() {
        let product: edgecart_domain::records::ProductRecord =
            edgecart_domain::demo::products(7, 1)
                .into_iter()
                .next()
                .unwrap();
        let pointer = edgecart_domain::records::CatalogPointer {
            schema: 1,
            version: "v1".into(),
            seq: 2,
        };
        for (outcome, status, text) in [
            (WriteOutcome::Created, 201, "created"),
            (WriteOutcome::Updated, 200, "updated"),
            (WriteOutcome::Unchanged, 200, "unchanged"),
        ] {
            let r = write_response(Written {
                outcome,
                pointer: Some(pointer.clone()),
                product: Some(product.clone()),
            });
            assert_eq!(r.status, status);
            let body = String::from_utf8(r.body).unwrap();
            assert!(
                body.starts_with(&format!(
                    r#"{{"outcome":"{text}","catalog_version":"v1","product":{{"category":"#
                )),
                "{body}"
            );
        }
        let r = write_response(Written {
            outcome: WriteOutcome::Deleted,
            pointer: None,
            product: None,
        });
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            r#"{"outcome":"deleted","catalog_version":null}"#
        );
    }

    #[test]
    fn audit_snapshots_show_as_stored() {
        let item = AuditItem::from(AuditEntry {
            seq: 3,
            at: "2026-12-06T17:00:00.000Z".into(),
            actor: "ops".into(),
            store: None,
            action: "price.set".into(),
            target: "price:A:USD".into(),
            fields: vec!["prices.USD".into()],
            before: Some("not json".into()),
            after: Some(r#"{"amount":2500,"currency":"USD"}"#.into()),
        });
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            r#"{"seq":3,"at":"2026-12-06T17:00:00.000Z","actor":"ops","store":null,"action":"price.set","target":"price:A:USD","fields":["prices.USD"],"before":null,"after":{"amount":2500,"currency":"USD"}}"#
        );
    }
}
