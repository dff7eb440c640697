//! The request pipeline: request id, routing, CORS, conditional GETs,
//! `Server-Timing`, and one JSON log line per request. Handlers return
//! `ApiResponse` or `ApiError`; only this module touches the runtime's
//! request and response types.

use crate::admin_api;
use crate::cart_api;
use crate::catalog_api::{self, Params, DETAIL_PARAMS, LIST_PARAMS};
use crate::catalog_store::{rendered, CatalogStore, Warnings};
use crate::checkout_api;
use crate::config::{Config, Role};
use crate::http::{etag_matches, not_modified, ApiError, ApiResponse, Result};
use crate::inventory_api;
use crate::routes::{self, Route};
use crate::shop_pages;
use crate::store_api;
use edgecart_domain::order::OrderEvent;
use edgecart_durable_objects::protocol::LineChangeDto;
use futures_util::future::join_all;
use serde::Serialize;
use std::cell::OnceCell;
use worker::{console_log, Date, Env, Headers, Request, Response};

/// Catalog reads may be stored but must be revalidated (cheap: a 304 by
/// ETag), so a published change is seen on the next request.
const CATALOG_CACHE_CONTROL: &str = "public, no-cache";
const OPENAPI: &str = include_str!("openapi.json");

thread_local! {
    static CONFIG: OnceCell<std::result::Result<Config, String>> = const { OnceCell::new() };
}

fn config(env: &Env) -> Result<Config> {
    CONFIG.with(|c| {
        c.get_or_init(|| Config::from_vars(|name| env.var(name).ok().map(|v| v.to_string())))
            .clone()
            .map_err(|cause| ApiError::Misconfigured { cause })
    })
}

/// What a request did, for its log line.
#[derive(Default)]
struct Trace {
    catalog_version: Option<String>,
    catalog_ms: Option<u64>,
    warnings: Warnings,
}

/// Serves one request; never fails (every error becomes problem+json).
pub async fn handle(mut req: Request, env: &Env) -> Response {
    let started = Date::now().as_millis();
    // The method as sent: `worker::Method` reads any method it does not
    // know (QUERY, TRACE, FOO) as GET, which would serve it as a GET.
    let method = req.inner().method().to_ascii_uppercase();
    let request_id = request_id(req.headers().get("X-Request-Id").ok().flatten());
    let (path, instance, pairs) = match req.url() {
        Ok(url) => {
            let instance = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            };
            let pairs = url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            (url.path().to_string(), instance, pairs)
        }
        Err(_) => ("/".to_string(), "/".to_string(), Vec::new()),
    };
    let if_none_match = req.headers().get("If-None-Match").ok().flatten();
    let accept = req.headers().get("Accept").ok().flatten();
    let mut trace = Trace::default();

    let page = match method.as_str() {
        "GET" | "HEAD" => shop_pages::match_page(&path),
        _ => None,
    };
    let outcome = if let Some(page) = page {
        // A page of the demo shop: HTML, whatever happens.
        match config(env) {
            Ok(config) => {
                let request = shop_pages::PageRequest {
                    page,
                    pairs,
                    cookie: req.headers().get("Cookie").ok().flatten(),
                    env,
                    config: &config,
                    now_ms: started,
                };
                Ok(shop_pages::serve(request, &mut trace.warnings).await)
            }
            Err(e) => Err(e),
        }
    } else if method == "OPTIONS" {
        preflight(&path)
    } else {
        dispatch(
            &mut req,
            &method,
            &path,
            pairs,
            if_none_match.as_deref(),
            env,
            started,
            &mut trace,
        )
        .await
    };

    let (mut response, error) = match outcome {
        Ok(r) => (r, None),
        // A browser that follows a dead link outside the API gets a page.
        Err(ApiError::RouteNotFound)
            if shop_pages::wants_page(&method, &path, accept.as_deref()) =>
        {
            (shop_pages::not_found(), Some(ApiError::RouteNotFound))
        }
        Err(e) => (e.to_response(&instance, &request_id), Some(e)),
    };

    if path.starts_with("/admin/") || path.starts_with("/v1/carts") {
        // Admin and cart answers are never cacheable, errors included.
        response
            .headers
            .retain(|(name, _)| *name != "Cache-Control");
        response.header("Cache-Control", "no-store");
    }
    let total_ms = Date::now().as_millis().saturating_sub(started);
    response.header("X-Request-Id", request_id.clone());
    response.header("Access-Control-Allow-Origin", "*");
    response.header(
        "Access-Control-Expose-Headers",
        "ETag, X-Request-Id, Server-Timing, Retry-After, Idempotent-Replayed",
    );
    let mut timing = format!("app;dur={total_ms}");
    if let Some(ms) = trace.catalog_ms {
        timing.push_str(&format!(", catalog;dur={ms}"));
    }
    response.header("Server-Timing", timing);

    log(&LogLine {
        ts: iso_time(started),
        level: if response.status >= 500 {
            "error"
        } else {
            "info"
        },
        request_id: &request_id,
        method: &method,
        path: &path,
        status: response.status,
        duration_ms: total_ms,
        code: error.as_ref().map(ApiError::code),
        cause: error.as_ref().and_then(ApiError::cause),
        catalog_version: trace.catalog_version.as_deref(),
        warnings: &trace.warnings,
    });
    into_response(response)
}

#[allow(clippy::too_many_arguments)]
async fn dispatch(
    req: &mut Request,
    method: &str,
    path: &str,
    pairs: Vec<(String, String)>,
    if_none_match: Option<&str>,
    env: &Env,
    now_ms: u64,
    trace: &mut Trace,
) -> Result<ApiResponse> {
    let route = routes::resolve(method, path)?;
    match route {
        Route::AdminProduct { .. }
        | Route::AdminPrice { .. }
        | Route::AdminCategory { .. }
        | Route::AdminImport
        | Route::AdminAudit
        | Route::AdminInventory { .. }
        | Route::AdminInventoryBatch
        | Route::AdminAdjustments { .. }
        | Route::AdminMovements { .. } => {
            let config = config(env)?;
            admin_api::handle(route, method, req, pairs, env, &config, now_ms).await
        }
        Route::AdminStore | Route::AdminPromotions | Route::AdminPromotion { .. } => {
            Params::parse(pairs, &[])?;
            let config = config(env)?;
            store_api::handle(route, method, req, env, &config).await
        }
        Route::Health => {
            Params::parse(pairs, &[])?;
            Ok(ApiResponse::json(&serde_json::json!({ "status": "ok" })))
        }
        Route::OpenApi => {
            Params::parse(pairs, &[])?;
            let etag = format!(
                "\"{}\"",
                edgecart_domain::records::content_hash(OPENAPI.as_bytes())
            );
            conditional(if_none_match, &etag, CATALOG_CACHE_CONTROL, || {
                Ok(ApiResponse::new(
                    200,
                    "application/json; charset=utf-8",
                    OPENAPI.as_bytes().to_vec(),
                ))
            })
        }
        Route::Carts
        | Route::Cart { .. }
        | Route::CartLines { .. }
        | Route::CartLine { .. }
        | Route::CartCoupons { .. }
        | Route::CartCoupon { .. }
        | Route::CartCheckout { .. } => {
            // Only reading a cart takes parameters: where it would ship.
            let allowed: &[&str] = match route {
                Route::Cart { .. } => cart_api::PRICING_PARAMS,
                _ => &[],
            };
            let params = Params::parse(pairs, allowed)?;
            let (destination, shipping_method) = cart_api::parse_pricing_params(&params)?;
            let config = config(env)?;
            let store = CatalogStore::from_env(env, &config)?;
            let catalog = store.current(now_ms, &mut trace.warnings).await?;
            trace.catalog_version = Some(catalog.version().to_string());
            let ctx = cart_api::CartContext {
                env,
                catalog: &catalog,
                store: &store,
                pricing: cart_api::Pricing {
                    store: store.store(now_ms, &mut trace.warnings).await,
                    destination,
                    shipping_method,
                    now_ms: now_ms as i64,
                },
            };
            carts(req, route, &config, &ctx).await
        }
        Route::Order { id } | Route::OrderCancel { id } => {
            Params::parse(pairs, &[])?;
            let token = bearer_token(req);
            if matches!(route, Route::OrderCancel { .. }) {
                let token = token.ok_or(ApiError::NotFound {
                    code: "order_not_found",
                    detail: "No order has this id, or the token does not open it.".into(),
                })?;
                checkout_api::transition(env, id, Some(token), OrderEvent::Cancel).await
            } else {
                checkout_api::get_order(env, id, token, false).await
            }
        }
        Route::AdminOrders | Route::AdminOrder { .. } | Route::AdminOrderAction { .. } => {
            let config = config(env)?;
            let authorization = req.headers().get("Authorization").ok().flatten();
            let needs = if method == "GET" || method == "HEAD" {
                Role::Viewer
            } else {
                Role::Admin
            };
            admin_api::authorize(&config, authorization.as_deref(), needs)?;
            match route {
                Route::AdminOrders => {
                    let params = Params::parse(pairs, checkout_api::ORDER_LIST_PARAMS)?;
                    checkout_api::list_orders(env, &params).await
                }
                Route::AdminOrder { id } => {
                    Params::parse(pairs, &[])?;
                    checkout_api::get_order(env, id, None, true).await
                }
                Route::AdminOrderAction { id, action } => {
                    Params::parse(pairs, &[])?;
                    let event = match action {
                        "fulfil" => OrderEvent::Fulfil,
                        "refund" => OrderEvent::Refund,
                        _ => OrderEvent::Cancel,
                    };
                    checkout_api::transition(env, id, None, event).await
                }
                _ => Err(ApiError::RouteNotFound),
            }
        }
        Route::Inventory { sku } => {
            Params::parse(pairs, &[])?;
            let config = config(env)?;
            let store = CatalogStore::from_env(env, &config)?;
            inventory_api::require_sku(&store, now_ms, sku).await?;
            inventory_api::availability(env, sku).await
        }
        Route::ListProducts | Route::ListCategories | Route::GetProduct { .. } => {
            let config = config(env)?;
            let store = CatalogStore::from_env(env, &config)?;
            let catalog = store.current(now_ms, &mut trace.warnings).await?;
            trace.catalog_ms = Some(Date::now().as_millis().saturating_sub(now_ms));
            trace.catalog_version = Some(catalog.version().to_string());
            // The default currency shapes responses too, so it is part of the validator.
            let etag = format!("\"{}.{}\"", catalog.version(), config.default_currency);
            match route {
                Route::ListProducts => {
                    let params = Params::parse(pairs, LIST_PARAMS)?;
                    let query =
                        catalog_api::parse_list_query(&params, &catalog, config.default_currency)?;
                    // Refuse a bad query even when the client holds a matching ETag.
                    catalog.validate(&query).map_err(catalog_api::query_error)?;
                    // Listings show the stock snapshot too: it is part of
                    // the validator and of the rendered-response key.
                    let stock = store.stock(&catalog, now_ms, &mut trace.warnings).await;
                    let version = format!("{}.{}", catalog.version(), stock.version);
                    let etag = format!("\"{version}.{}\"", config.default_currency);
                    conditional(if_none_match, &etag, CATALOG_CACHE_CONTROL, || {
                        rendered(&version, format!("list {query:?}"), || {
                            catalog_api::list_products(&catalog, &query, &stock.flags)
                        })
                    })
                }
                Route::ListCategories => {
                    Params::parse(pairs, &[])?;
                    conditional(if_none_match, &etag, CATALOG_CACHE_CONTROL, || {
                        Ok(catalog_api::list_categories(&catalog))
                    })
                }
                Route::GetProduct { id_or_slug } => {
                    let params = Params::parse(pairs, DETAIL_PARAMS)?;
                    let currency =
                        catalog_api::parse_currency(&params, &catalog, config.default_currency)?;
                    let r = product_response(
                        env,
                        &store,
                        &catalog,
                        id_or_slug,
                        currency,
                        &mut trace.warnings,
                    )
                    .await?;
                    // The body changes with stock, so its validator is its own hash.
                    let etag = format!("\"{}\"", edgecart_domain::records::content_hash(&r.body));
                    conditional(if_none_match, &etag, CATALOG_CACHE_CONTROL, || Ok(r))
                }
                _ => unreachable!("handled above"),
            }
        }
    }
}

/// The `GET /v1/products/{id_or_slug}` body: the product's full record and
/// the exact availability of every variant, read from the SKUs' stock
/// objects in parallel (a variant whose object cannot answer shows `null`).
pub(crate) async fn product_response(
    env: &Env,
    store: &CatalogStore<'_>,
    catalog: &edgecart_domain::search::Catalog,
    id_or_slug: &str,
    currency: edgecart_domain::money::Currency,
    warnings: &mut Warnings,
) -> Result<ApiResponse> {
    let listing = catalog.find(id_or_slug).ok_or(ApiError::ProductNotFound)?;
    let shard = store.product_shard(catalog, listing).await?;
    let record = shard
        .products
        .get(&listing.id)
        .ok_or_else(|| ApiError::CatalogUnavailable {
            cause: format!("{} is missing from its shard", listing.id),
        })?;
    let reads = record
        .variants
        .iter()
        .map(|v| inventory_api::levels(env, &v.sku));
    let mut available = std::collections::BTreeMap::new();
    for (v, levels) in record.variants.iter().zip(join_all(reads).await) {
        match levels {
            Ok(levels) => {
                available.insert(v.sku.clone(), levels.available);
            }
            Err(e) => warnings.push(format!("stock of {}: {}", v.sku, e.cause().unwrap_or(""))),
        }
    }
    Ok(catalog_api::product_detail(
        catalog, listing, record, currency, &available,
    ))
}

/// The cart routes: every one but creation needs the cart's bearer token.
async fn carts(
    req: &mut Request,
    route: Route<'_>,
    config: &Config,
    ctx: &cart_api::CartContext<'_>,
) -> Result<ApiResponse> {
    let (env, catalog) = (ctx.env, ctx.catalog);
    let token = bearer_token(req);
    let op_id = idempotency_key(req)?.unwrap_or_else(random_id);
    let ttl = config.cart_hold_ttl_ms;
    match route {
        Route::Carts => {
            let body = req.text().await.unwrap_or_default();
            if body.len() > edgecart_domain::admin::MAX_ITEM_BYTES {
                return Err(ApiError::PayloadTooLarge {
                    detail: "The body may be at most 65536 bytes.".into(),
                });
            }
            let input: cart_api::CreateCartInput = if body.trim().is_empty() {
                cart_api::CreateCartInput { currency: None }
            } else {
                cart_api::parse_line_body(&body)?
            };
            let params = Params::parse(
                input
                    .currency
                    .map(|c| vec![("currency".to_string(), c)])
                    .unwrap_or_default(),
                catalog_api::DETAIL_PARAMS,
            )?;
            let currency = catalog_api::parse_currency(&params, catalog, config.default_currency)?;
            cart_api::create(ctx, currency).await
        }
        Route::Cart { id } => {
            let cart = cart_api::get(env, id, token).await?;
            Ok(ApiResponse::json(&cart_api::render(ctx, &cart, &[]).await?))
        }
        Route::CartLines { id } => {
            cart_api::require_credentials(id, token.as_deref())?;
            let input: cart_api::AddLineInput =
                cart_api::parse_line_body(&admin_api::small_json_body(req).await?)?;
            let change = LineChangeDto::Add(input.quantity);
            cart_api::change_line(ctx, id, token, op_id, &input.sku, change, ttl).await
        }
        Route::CartLine { id, sku } => {
            cart_api::require_credentials(id, token.as_deref())?;
            let change = if req.inner().method() == "PATCH" {
                let input: cart_api::SetLineInput =
                    cart_api::parse_line_body(&admin_api::small_json_body(req).await?)?;
                LineChangeDto::Set(input.quantity)
            } else {
                LineChangeDto::Remove
            };
            cart_api::change_line(ctx, id, token, op_id, sku, change, ttl).await
        }
        Route::CartCoupons { id } => {
            cart_api::require_credentials(id, token.as_deref())?;
            if req.inner().method() == "POST" {
                let input: cart_api::CouponInput =
                    cart_api::parse_line_body(&admin_api::small_json_body(req).await?)?;
                cart_api::change_coupons(ctx, id, token, Some(input.code), None).await
            } else {
                cart_api::change_coupons(ctx, id, token, None, None).await
            }
        }
        Route::CartCoupon { id, code } => {
            cart_api::require_credentials(id, token.as_deref())?;
            cart_api::change_coupons(ctx, id, token, None, Some(code.to_string())).await
        }
        Route::CartCheckout { id } => {
            cart_api::require_credentials(id, token.as_deref())?;
            // Checkout refuses a missing or malformed key alike (`idempotency_key_required`).
            let key = idempotency_key(req).ok().flatten();
            let body = admin_api::small_json_body(req).await?;
            checkout_api::checkout(ctx, id, token, key, &body, ttl).await
        }
        _ => Err(ApiError::RouteNotFound),
    }
}

/// Answers 304 when the client's copy is current, else renders and tags.
fn conditional(
    if_none_match: Option<&str>,
    etag: &str,
    cache_control: &str,
    render: impl FnOnce() -> Result<ApiResponse>,
) -> Result<ApiResponse> {
    if if_none_match.is_some_and(|h| etag_matches(h, etag)) {
        return Ok(not_modified(etag, cache_control));
    }
    let mut r = render()?;
    r.header("ETag", etag.to_string());
    r.header("Cache-Control", cache_control.to_string());
    Ok(r)
}

/// CORS preflight for any served path.
fn preflight(path: &str) -> Result<ApiResponse> {
    let route = routes::match_path(path).ok_or(ApiError::RouteNotFound)?;
    let mut r = ApiResponse {
        status: 204,
        headers: Vec::new(),
        body: Vec::new(),
    };
    r.header("Allow", route.allow());
    r.header("Access-Control-Allow-Methods", route.allow());
    r.header(
        "Access-Control-Allow-Headers",
        "Authorization, Content-Type, Idempotency-Key, If-None-Match, X-Request-Id",
    );
    r.header("Access-Control-Max-Age", "86400");
    Ok(r)
}

/// The client's `X-Request-Id` when it is sane, else a fresh random one.
fn request_id(given: Option<String>) -> String {
    if let Some(id) = given.filter(|id| {
        !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    }) {
        return id;
    }
    random_id()
}

/// The request's `Idempotency-Key`, when it has one: 1 to 128 visible
/// ASCII characters, else 400 `invalid_idempotency_key` (a key the server
/// ignored would make a retry unsafe without the client knowing).
pub fn idempotency_key(req: &Request) -> Result<Option<String>> {
    let key = req.headers().get("Idempotency-Key").ok().flatten();
    match key {
        Some(k) if !valid_idempotency_key(&k) => Err(ApiError::invalid(
            "Idempotency-Key",
            "invalid_idempotency_key",
            "An Idempotency-Key must be 1 to 128 visible ASCII characters (`!` to `~`).",
        )),
        key => Ok(key),
    }
}

fn valid_idempotency_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The bearer token of a cart or order request, if any.
fn bearer_token(req: &Request) -> Option<String> {
    req.headers()
        .get("Authorization")
        .ok()
        .flatten()
        .and_then(|h| h.strip_prefix("Bearer ").map(|t| t.trim().to_string()))
}

/// 24 random hex digits.
pub fn random_id() -> String {
    let mut bytes = [0u8; 12];
    if getrandom::fill(&mut bytes).is_err() {
        // The platform always has a random source; fall back to the clock.
        bytes[..8].copy_from_slice(&Date::now().as_millis().to_be_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn iso_time(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

#[derive(Serialize)]
struct LogLine<'a> {
    ts: String,
    level: &'a str,
    request_id: &'a str,
    method: &'a str,
    path: &'a str,
    status: u16,
    duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    catalog_version: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

fn log(line: &LogLine) {
    if let Ok(json) = serde_json::to_string(line) {
        console_log!("{json}");
    }
}

fn into_response(r: ApiResponse) -> Response {
    let headers = Headers::new();
    for (name, value) in &r.headers {
        let _ = headers.append(name, value);
    }
    let builder = Response::builder()
        .with_status(r.status)
        .with_headers(headers);
    if r.body.is_empty() {
        builder.empty()
    } else {
        builder.fixed(r.body)
    }
}
