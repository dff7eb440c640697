//! The request pipeline: request id, routing, CORS, conditional GETs,
//! `Server-Timing`, and one JSON log line per request. The route table
//! (`routes`) resolves each request to an operation; `dispatch` admits the
//! caller and checks the query from the table, then runs the operation's
//! handler with an [`ApiRequest`]. Handlers return `ApiResponse` or
//! `ApiError`; only this module touches the runtime's request and response
//! types (`worker::Request`, `worker::Response`).

use crate::admin_api;
use crate::cart_api;
use crate::catalog_api::{self, Params};
use crate::catalog_store::{rendered, CatalogStore, Warnings};
use crate::checkout_api;
use crate::config::Config;
use crate::http::{etag_matches, not_modified, ApiError, ApiResponse, Result};
use crate::inventory_api;
use crate::limits;
use crate::routes::{
    self, Access, Caller, Handler, MethodSet, Operation, PathMatch, Resolved, Scope,
};
use crate::shop_pages;
use crate::store_api;
use crate::store_prices_api;
use crate::stores;
use edgecart_domain::money::Currency;
use edgecart_domain::order::OrderEvent;
use edgecart_domain::search::Selected;
use edgecart_domain::stores::StoreProfile;
use edgecart_durable_objects::protocol::cart::LineChangeDto;
use futures_util::future::join_all;
use serde::Serialize;
use std::cell::OnceCell;
use worker::{console_log, Date, Env, Headers, Request, Response};
use Handler as H;

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
    let host = req.headers().get("Host").ok().flatten();
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
                let store = match take_selector(pairs) {
                    Ok((selector, pairs)) => {
                        resolve_store(env, &config, host.as_deref(), selector, started, &mut trace)
                            .await
                            .map(|store| (store, pairs))
                    }
                    Err(e) => Err(e),
                };
                match store {
                    Ok((store, pairs)) => {
                        let request = shop_pages::PageRequest {
                            page,
                            shop: &store,
                            pairs,
                            cookie: req.headers().get("Cookie").ok().flatten(),
                            env,
                            config: &config,
                            now_ms: started,
                        };
                        Ok(shop_pages::serve(request, &mut trace.warnings).await)
                    }
                    Err(_) => Ok(shop_pages::not_found()),
                }
            }
            Err(e) => Err(e),
        }
    } else {
        match routes::resolve(&method, &path) {
            Ok(Resolved::Preflight { allow }) => Ok(preflight(allow)),
            Ok(Resolved::Serve { operation, path }) => {
                dispatch(
                    &mut req,
                    operation,
                    path,
                    pairs,
                    host.as_deref(),
                    if_none_match.as_deref(),
                    env,
                    started,
                    &mut trace,
                )
                .await
            }
            Err(e) => Err(e),
        }
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
        ts: crate::http::rfc3339_ms(started as i64).unwrap_or_default(),
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

/// One API request as the dispatcher hands it to a handler, after the
/// route table's checks: the operation's handler, the path's parameters,
/// the query (only the operation's parameters, each at most once), the
/// caller its access let through, and the rest of the request.
pub struct ApiRequest<'r> {
    /// The client's key, for abuse controls (`limits`).
    pub client: String,
    pub handler: Handler,
    pub path: PathMatch<'r>,
    pub query: Params<'static>,
    pub caller: Caller,
    /// The store a store's route resolved to (none on shared routes).
    pub store: Option<stores::Store>,
    pub incoming: Incoming<'r>,
}

impl ApiRequest<'_> {
    /// The store the request resolved to; a shared route has none (a bug
    /// to ask: 404).
    pub fn store(&self) -> Result<&StoreProfile> {
        self.store.as_deref().ok_or(ApiError::RouteNotFound)
    }
}

type Pairs = Vec<(String, String)>;

/// Takes the `store` selector out of a query: its value (empty counts as
/// absent), and the other parameters; `Err` when it is given twice.
fn take_selector(pairs: Pairs) -> std::result::Result<(Option<String>, Pairs), ApiError> {
    let mut selector = None;
    let mut seen = false;
    let mut rest = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        if k != "store" {
            rest.push((k, v));
        } else if seen {
            return Err(ApiError::invalid(
                "store",
                "duplicate_parameter",
                "Query parameter \"store\" is given more than once.",
            ));
        } else {
            seen = true;
            selector = Some(v).filter(|v| !v.is_empty());
        }
    }
    Ok((selector, rest))
}

/// The store a page or a store's route is for.
async fn resolve_store(
    env: &Env,
    config: &Config,
    host: Option<&str>,
    selector: Option<String>,
    now_ms: u64,
    trace: &mut Trace,
) -> Result<stores::Store> {
    let kv = CatalogStore::from_env(env, config)?;
    stores::resolve(
        env,
        &kv,
        config,
        host,
        selector.as_deref(),
        now_ms,
        &mut trace.warnings,
    )
    .await
}

/// What a handler may read of its request beyond [`ApiRequest`]'s parsed
/// parts: headers, and the body, once. Handlers get this, never
/// `worker::Request`, which no module but this one touches.
pub struct Incoming<'r> {
    req: &'r mut Request,
}

impl Incoming<'_> {
    pub fn header(&self, name: &str) -> Option<String> {
        self.req.headers().get(name).ok().flatten()
    }

    /// The `Idempotency-Key` header, when there is one: 1 to 128 visible
    /// ASCII characters, else 400 `invalid_idempotency_key` (a key the
    /// server ignored would make a retry unsafe without the client knowing).
    pub fn idempotency_key(&self) -> Result<Option<String>> {
        match self.header("Idempotency-Key") {
            Some(k) if !valid_idempotency_key(&k) => Err(ApiError::invalid(
                "Idempotency-Key",
                "invalid_idempotency_key",
                "An Idempotency-Key must be 1 to 128 visible ASCII characters (`!` to `~`).",
            )),
            key => Ok(key),
        }
    }

    /// The body if it is at most `max` bytes (`Ok(None)` if longer). A
    /// body whose `Content-Length` is declared is that long (HTTP framing):
    /// one over `max` is refused unread, one within it read in one call.
    /// Any other is read chunk by chunk and abandoned at the first byte
    /// past `max`, so a body without `Content-Length` is never held whole
    /// before its size is known. A request without a body has an empty one.
    pub async fn bytes_at_most(&mut self, max: usize) -> worker::Result<Option<Vec<u8>>> {
        use futures_util::StreamExt;
        match self
            .header("Content-Length")
            .map(|l| l.trim().parse::<usize>())
        {
            Some(Ok(n)) if n > max => return Ok(None),
            Some(Ok(_)) => {
                let body = self.req.bytes().await?;
                return Ok((body.len() <= max).then_some(body));
            }
            _ => {}
        }
        let Ok(mut stream) = self.req.stream() else {
            return Ok(Some(Vec::new()));
        };
        let mut body = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if body.len() + chunk.len() > max {
                return Ok(None);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    }

    /// The body as a stream of chunks, for bodies too large to hold.
    pub fn stream(&mut self) -> worker::Result<worker::ByteStream> {
        self.req.stream()
    }
}

/// Runs the operation the route table resolved: the caller is admitted and
/// the query checked, both as the table says, before any handler runs.
#[allow(clippy::too_many_arguments)]
async fn dispatch(
    req: &mut Request,
    operation: &'static Operation,
    path: PathMatch<'_>,
    pairs: Vec<(String, String)>,
    host: Option<&str>,
    if_none_match: Option<&str>,
    env: &Env,
    now_ms: u64,
    trace: &mut Trace,
) -> Result<ApiResponse> {
    let incoming = Incoming { req };
    let authorization = incoming.header("Authorization");
    // Who is asking, for the abuse controls: the address Cloudflare's edge
    // saw (workerd fills in the caller's locally).
    let rates_on = config(env).map_or(true, |c| c.rate_limits);
    let client = limits::Client::of(incoming.header("CF-Connecting-IP").as_deref(), rates_on);
    let member_token = match operation.access {
        Access::Member => incoming.header("Member-Token"),
        _ => None,
    };
    // An admin route checks the token first (401, or 403 for its role), so
    // a caller without one learns nothing of stores; then a store's route
    // resolves its store (404 for an unknown one, whoever asks), and the
    // token's store is checked against it (403).
    let admit = |store: Option<&str>| {
        routes::admit(
            operation.access,
            store,
            authorization.as_deref(),
            member_token.as_deref(),
            || config(env),
        )
    };
    // A token presented and refused is a failed sign-in: counted per
    // client, and answered 429 once the client has failed too often.
    let signed_in = |admitted: Result<Caller>| async {
        match admitted {
            Err(e @ ApiError::Unauthorized) if authorization.is_some() => {
                Err(limits::sign_in_failed(env, &client, e).await)
            }
            other => other,
        }
    };
    let (caller, store, pairs) = match path.route.scope {
        Scope::Shared => (signed_in(admit(None)).await?, None, pairs),
        Scope::Store => {
            let staff = matches!(
                operation.access,
                Access::Viewer | Access::Admin | Access::Operator
            );
            if staff {
                signed_in(admit(None)).await?;
            }
            let (selector, pairs) = take_selector(pairs)?;
            let store = resolve_store(env, &config(env)?, host, selector, now_ms, trace).await?;
            (signed_in(admit(Some(&store.id))).await?, Some(store), pairs)
        }
    };
    // Request rates, per client, cart and store, as the route's class says.
    if let Some(limit) = limits::limit_of(operation.handler) {
        let store_id = store.as_ref().map_or("shared", |s| s.id.as_str());
        let cart = limits::names_cart(operation.handler).then(|| path.param("id"));
        limits::admit(env, &client, limit, store_id, cart).await?;
    }
    let query = operation.parse_query(pairs)?;
    let mut request = ApiRequest {
        client: client.key,
        handler: operation.handler,
        path,
        query,
        caller,
        store,
        incoming,
    };
    match operation.handler {
        H::Health => Ok(ApiResponse::json(&Health { status: "ok" })),
        H::OpenApi => {
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
        H::ListProducts | H::GetProduct | H::ListCategories => {
            catalog(&request, if_none_match, env, now_ms, trace).await
        }
        H::Availability => {
            let sku = request.path.param("sku");
            let config = config(env)?;
            let store = CatalogStore::from_env(env, &config)?;
            inventory_api::require_sku_in(&store, now_ms, sku, request.store.as_deref()).await?;
            inventory_api::availability(env, sku).await
        }
        H::CreateCart
        | H::GetCart
        | H::AddLine
        | H::SetLine
        | H::RemoveLine
        | H::AddCoupon
        | H::RemoveCoupons
        | H::RemoveCoupon
        | H::Checkout => {
            // Only reading a cart takes parameters: where it would ship.
            let (destination, shipping_method) = match request.handler {
                H::GetCart => cart_api::parse_pricing_params(&request.query)?,
                _ => (None, None),
            };
            let config = config(env)?;
            let shop = request.store.take().ok_or(ApiError::RouteNotFound)?;
            let store = CatalogStore::from_env(env, &config)?;
            let catalog = store.current(now_ms, &mut trace.warnings).await?;
            trace.catalog_version = Some(catalog.version().to_string());
            let selected = store.selected(&catalog, &shop).await?;
            let ctx = cart_api::CartContext {
                env,
                shop: &shop,
                catalog: &catalog,
                selected: &selected,
                store: &store,
                pricing: cart_api::Pricing {
                    store: store.store(&shop.id, now_ms, &mut trace.warnings).await,
                    destination,
                    shipping_method,
                    now_ms: now_ms as i64,
                },
            };
            carts(&mut request, &config, &ctx).await
        }
        H::GetOrder => {
            let (store, id) = (&request.store()?.id, request.path.param("id"));
            checkout_api::get_order(env, store, id, request.caller.token(), false).await
        }
        H::CancelOrder => {
            let token = request.caller.token().ok_or(ApiError::NotFound {
                code: "order_not_found",
                detail: "No order has this id, or the token does not open it.".into(),
            })?;
            let (store, id) = (&request.store()?.id, request.path.param("id"));
            let actor = edgecart_domain::audit::SHOPPER;
            checkout_api::transition(env, store, id, Some(token), actor, OrderEvent::Cancel).await
        }
        H::ListOrders => checkout_api::list_orders(env, &request.store()?.id, &request.query).await,
        H::ListCheckouts => {
            checkout_api::list_checkouts(env, &request.store()?.id, &request.query).await
        }
        H::ListWebhooks
        | H::CreateWebhook
        | H::GetWebhook
        | H::UpdateWebhook
        | H::DeleteWebhook
        | H::RotateWebhook
        | H::ListWebhookDeliveries
        | H::ReplayWebhook => crate::webhook_endpoints::handle(&mut request, env).await,
        H::StripeWebhook => {
            let config = config(env)?;
            crate::webhooks::stripe(&mut request, env, &config, now_ms).await
        }
        H::AdminGetOrder => {
            let (store, id) = (&request.store()?.id, request.path.param("id"));
            checkout_api::get_order(env, store, id, None, true).await
        }
        H::FulfilOrder | H::RefundOrder | H::AdminCancelOrder => {
            let event = match request.handler {
                H::FulfilOrder => OrderEvent::Fulfil,
                H::RefundOrder => OrderEvent::Refund,
                _ => OrderEvent::Cancel,
            };
            let (store, id) = (&request.store()?.id, request.path.param("id"));
            let actor = request.caller.label();
            checkout_api::transition(env, store, id, None, actor, event).await
        }
        H::AdminGetProduct
        | H::PutProduct
        | H::DeleteProduct
        | H::PutPrice
        | H::DeletePrice
        | H::PutCategory
        | H::ImportCatalog
        | H::ListAudit
        | H::SetOnHandBatch
        | H::GetStock
        | H::SetOnHand
        | H::AdjustStock
        | H::ListMovements => {
            let config = config(env)?;
            admin_api::handle(&mut request, env, &config, now_ms).await
        }
        H::GetStore
        | H::PutStore
        | H::ListPromotions
        | H::GetPromotion
        | H::PutPromotion
        | H::DeletePromotion
        | H::ListStoreAudit => store_api::handle(&mut request, env).await,
        H::ListStorePrices | H::SetStorePrices => {
            store_prices_api::handle(&mut request, env, now_ms).await
        }
        H::Session => admin_api::session(&config(env)?, authorization.as_deref()),
        H::ListStores | H::GetStoreProfile | H::PutStoreProfile => {
            let config = config(env)?;
            store_api::handle_stores(&mut request, env, &config, now_ms).await
        }
        H::SalesReport | H::BestSellersReport | H::PointsReport | H::LowStockReport => {
            let config = config(env)?;
            crate::reports_api::handle(&request, env, &config, now_ms).await
        }
        H::GetPoints | H::DevMemberToken | H::AdminGetPoints | H::GrantPoints | H::AdjustPoints => {
            let config = config(env)?;
            let shop = request.store()?.id.clone();
            // Grants and adjustments read the programme as the store
            // object has it now; reads and sign-in, from the KV copy.
            let store_config = match request.handler {
                H::GrantPoints | H::AdjustPoints => store_api::state(env, &shop).await?.config,
                _ => CatalogStore::from_env(env, &config)?
                    .store(&shop, now_ms, &mut trace.warnings)
                    .await
                    .config
                    .clone(),
            };
            crate::points_api::handle(&mut request, env, &config, &store_config, now_ms).await
        }
    }
}

/// The catalog reads: the live catalog version, and ETags from it.
async fn catalog(
    request: &ApiRequest<'_>,
    if_none_match: Option<&str>,
    env: &Env,
    now_ms: u64,
    trace: &mut Trace,
) -> Result<ApiResponse> {
    let config = config(env)?;
    let shop = request.store()?;
    let store = CatalogStore::from_env(env, &config)?;
    let catalog = store.current(now_ms, &mut trace.warnings).await?;
    trace.catalog_ms = Some(Date::now().as_millis().saturating_sub(now_ms));
    trace.catalog_version = Some(catalog.version().to_string());
    let params = &request.query;
    let currency = shop.default_currency;
    let selected = store.selected(&catalog, shop).await?;
    match request.handler {
        H::ListProducts => {
            let query =
                catalog_api::parse_list_query(params, &catalog, &selected, currency, |c| {
                    shop.sells_in(c)
                })?;
            sold_in(shop, query.currency)?;
            // Refuse a bad query even when the client holds a matching ETag.
            catalog
                .validate(&query, &selected)
                .map_err(catalog_api::query_error)?;
            // Listings show the stock snapshot too: it is part of
            // the validator and of the rendered-response key.
            let stock = store.stock(&catalog, now_ms, &mut trace.warnings).await;
            let version = format!("{}.{}", catalog.version(), stock.version);
            let etag = format!("\"{version}.{}.{currency}\"", shop.id);
            conditional(if_none_match, &etag, CATALOG_CACHE_CONTROL, || {
                rendered(&version, format!("list {} {query:?}", shop.id), || {
                    catalog_api::list_products(&catalog, &query, &stock.flags, &selected)
                })
            })
        }
        H::ListCategories => {
            // The default currency shapes responses too, so it is part of the validator.
            let etag = format!("\"{}.{}.{currency}\"", catalog.version(), shop.id);
            conditional(if_none_match, &etag, CATALOG_CACHE_CONTROL, || {
                Ok(catalog_api::list_categories(&catalog, &selected))
            })
        }
        H::GetProduct => {
            let currency = sold_in(
                shop,
                catalog_api::parse_currency(params, &catalog, &selected, currency, |c| {
                    shop.sells_in(c)
                })?,
            )?;
            let profile = store.store(&shop.id, now_ms, &mut trace.warnings).await;
            let r = product_response(
                env,
                &store,
                &catalog,
                &selected,
                request.path.param("id_or_slug"),
                currency,
                profile.config.points.as_ref(),
                &mut trace.warnings,
            )
            .await?;
            // The body changes with stock, so its validator is its own hash.
            let etag = format!("\"{}\"", edgecart_domain::records::content_hash(&r.body));
            conditional(if_none_match, &etag, CATALOG_CACHE_CONTROL, || Ok(r))
        }
        _ => Err(ApiError::RouteNotFound),
    }
}

/// `currency`, if `shop` sells in it; else 400 `unknown_currency`.
pub(crate) fn sold_in(shop: &StoreProfile, currency: Currency) -> Result<Currency> {
    if shop.sells_in(currency) {
        return Ok(currency);
    }
    let sold: Vec<&str> = shop.currencies.iter().map(Currency::as_str).collect();
    Err(ApiError::invalid(
        "currency",
        "unknown_currency",
        format!(
            "This store does not sell in {currency}; it sells in {}.",
            sold.join(", ")
        ),
    ))
}

/// The `GET /v1/products/{id_or_slug}` body: the product's full record and
/// the availability of every variant, at most a second old (this isolate's
/// copy, else read from the SKUs' stock objects in parallel; a variant
/// whose object cannot answer shows `null`).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn product_response(
    env: &Env,
    store: &CatalogStore<'_>,
    catalog: &edgecart_domain::search::Catalog,
    selected: &Selected,
    id_or_slug: &str,
    currency: edgecart_domain::money::Currency,
    points: Option<&edgecart_domain::points::Programme>,
    warnings: &mut Warnings,
) -> Result<ApiResponse> {
    let listing = catalog
        .find_selected(id_or_slug, selected)
        .ok_or(ApiError::ProductNotFound)?;
    let shard = store.product_shard(catalog, listing).await?;
    let record = shard
        .products
        .get(&listing.id)
        .ok_or_else(|| ApiError::CatalogUnavailable {
            cause: format!("{} is missing from its shard", listing.id),
        })?;
    let now_ms = Date::now().as_millis() as i64;
    let reads = record
        .variants
        .iter()
        .map(|v| inventory_api::recent_levels(env, &v.sku, now_ms));
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
        catalog, selected, listing, record, currency, points, &available,
    ))
}

/// The cart routes: every one but creation needs the cart's bearer token.
async fn carts(
    request: &mut ApiRequest<'_>,
    config: &Config,
    ctx: &cart_api::CartContext<'_>,
) -> Result<ApiResponse> {
    let (env, catalog) = (ctx.env, ctx.catalog);
    let token = request.caller.token();
    let body = &mut request.incoming;
    let op_id = match body.idempotency_key()? {
        Some(key) => key,
        None => random_id()?,
    };
    let ttl = config.cart_hold_ttl_ms;
    let id = match request.handler {
        H::CreateCart => "",
        _ => request.path.param("id"),
    };
    match request.handler {
        H::CreateCart => {
            let max = edgecart_domain::admin::MAX_ITEM_BYTES;
            let body = match body.bytes_at_most(max).await {
                Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
                Ok(None) => {
                    return Err(ApiError::PayloadTooLarge {
                        detail: "The body may be at most 65536 bytes.".into(),
                    })
                }
                Err(_) => String::new(),
            };
            let input: cart_api::CreateCartInput = if body
                .trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
                .is_empty()
            {
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
            let currency = catalog_api::parse_currency(
                &params,
                catalog,
                ctx.selected,
                ctx.shop.default_currency,
                |c| ctx.shop.sells_in(c),
            )?;
            let currency = sold_in(ctx.shop, currency)?;
            cart_api::create(ctx, currency).await
        }
        H::GetCart => {
            let cart = cart_api::get(env, &ctx.shop.id, id, token).await?;
            Ok(ApiResponse::json(&cart_api::render(ctx, &cart, &[]).await?))
        }
        H::AddLine => {
            cart_api::require_credentials(id, token.as_deref())?;
            let input: cart_api::AddLineInput =
                cart_api::parse_line_body(&admin_api::small_json_body(body).await?)?;
            let change = LineChangeDto::Add(input.quantity);
            let client = &request.client;
            cart_api::change_line(ctx, id, token, op_id, &input.sku, change, ttl, client).await
        }
        H::SetLine | H::RemoveLine => {
            cart_api::require_credentials(id, token.as_deref())?;
            let change = if request.handler == H::SetLine {
                let input: cart_api::SetLineInput =
                    cart_api::parse_line_body(&admin_api::small_json_body(body).await?)?;
                LineChangeDto::Set(input.quantity)
            } else {
                LineChangeDto::Remove
            };
            let sku = request.path.param("sku");
            cart_api::change_line(ctx, id, token, op_id, sku, change, ttl, &request.client).await
        }
        H::AddCoupon => {
            cart_api::require_credentials(id, token.as_deref())?;
            let input: cart_api::CouponInput =
                cart_api::parse_line_body(&admin_api::small_json_body(body).await?)?;
            cart_api::change_coupons(ctx, id, token, Some(input.code), None).await
        }
        H::RemoveCoupons => {
            cart_api::require_credentials(id, token.as_deref())?;
            cart_api::change_coupons(ctx, id, token, None, None).await
        }
        H::RemoveCoupon => {
            cart_api::require_credentials(id, token.as_deref())?;
            let code = request.path.param("code").to_string();
            cart_api::change_coupons(ctx, id, token, None, Some(code)).await
        }
        H::Checkout => {
            cart_api::require_credentials(id, token.as_deref())?;
            // Checkout refuses a missing or malformed key alike (`idempotency_key_required`).
            let key = body.idempotency_key().ok().flatten();
            // A member signed in by the store's site: checked before the
            // key is taken, so a refused token is never the key's answer.
            // (A store without a points programme has no members.)
            let member = match body.header("Member-Token").filter(|t| !t.trim().is_empty()) {
                None => None,
                Some(t) => match ctx.pricing.store.config.points.as_ref() {
                    Some(programme) => Some(crate::points_api::member(
                        t.trim(),
                        &ctx.shop.id,
                        config,
                        Some(programme),
                        ctx.pricing.now_ms as u64,
                    )?),
                    None => None,
                },
            };
            let body = admin_api::small_json_body(body).await?;
            let declines = checkout_api::Declines {
                client: &request.client,
                policy: config.declines,
            };
            checkout_api::checkout(ctx, id, token, key, &body, member, ttl, declines).await
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

/// The answer to a CORS preflight on a served path: its methods.
fn preflight(allow: MethodSet) -> ApiResponse {
    let mut r = ApiResponse {
        status: 204,
        headers: Vec::new(),
        body: Vec::new(),
    };
    let allow = allow.to_string();
    r.header("Allow", allow.clone());
    r.header("Access-Control-Allow-Methods", allow);
    r.header(
        "Access-Control-Allow-Headers",
        "Authorization, Content-Type, Idempotency-Key, If-None-Match, Member-Token, X-Request-Id",
    );
    r.header("Access-Control-Max-Age", "86400");
    r
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
    fresh_request_id()
}

fn valid_idempotency_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_graphic())
}

/// 24 random hex digits.
pub fn random_id() -> Result<String> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Misconfigured {
        cause: format!("no random source: {e}"),
    })?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh request id: random, or (a runtime without randomness) the
/// clock's reading; a request id names a request in logs, it is no
/// secret. Ids and tokens that are secrets come from [`random_id`], which
/// has no such fallback.
fn fresh_request_id() -> String {
    random_id().unwrap_or_else(|_| hex(&Date::now().as_millis().to_be_bytes()))
}

/// Liveness report.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Health {
    #[cfg_attr(feature = "openapi", schemars(extend("const" = "ok")))]
    status: &'static str,
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
