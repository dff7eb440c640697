//! A store's own prices (`/admin/v1/store/prices`): they replace the base
//! price of a SKU in a currency for that store only, so a rewards shop can
//! sell the shared catalog at its own prices, in a currency of its own.
//! They are part of the catalog: the catalog writer keeps them beside the
//! products, audits every change, and publishes them with the catalog
//! version (one immutable record per store with prices of its own), so a
//! store's listings, product pages, carts and checkout all read the same
//! prices from the same version.

use crate::admin_api::{invalid_cursor, json_body, page_limit, parse_body};
use crate::app::ApiRequest;
use crate::catalog_api::Params;
use crate::catalog_store;
use crate::http::{ApiError, ApiResponse, Result};
use crate::inventory_api::BATCH_BODY_MAX;
use crate::objects::ask;
use crate::routes::Handler as H;
use edgecart_domain::admin::{StorePriceInputError, StorePricesInput, STORE_PRICES_BATCH_MAX};
use edgecart_domain::catalog::is_sku;
use edgecart_domain::money::Money;
use edgecart_durable_objects::protocol::catalog::{self, NAME};
use edgecart_durable_objects::protocol::FieldProblem;
use serde::Serialize;
use worker::Env;

/// Default and largest page of `GET /admin/v1/store/prices`.
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1_000;

/// One SKU's prices of the store's own.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct StorePriceItem {
    #[cfg_attr(feature = "openapi", schemars(with = "edgecart_domain::openapi::Sku"))]
    sku: String,
    /// The store's own prices of the SKU, by currency code; the SKU's other
    /// prices are the base ones.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1)))]
    prices: Vec<Money>,
}

/// A page of the store's own prices, by SKU (byte order).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"items": [{"sku": "KTL-1-STEEL", "prices": [{"amount": 1999, "currency": "GBP"}]}], "next_cursor": null}])))]
pub struct StorePricePage {
    items: Vec<StorePriceItem>,
    /// Pass it back as `cursor` for the next page; null on the last page.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["sKTL-1-STEEL"])))]
    next_cursor: Option<String>,
}

/// What a store price batch did.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"changed": 2, "catalog_version": "5e1c0a7f9b3d2c41"}])))]
pub struct StorePricesResult {
    /// How many prices changed (the others already were so; 0 changes
    /// nothing and publishes nothing).
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = 1000)))]
    changed: u32,
    /// The live catalog version after the write, which carries the store's
    /// prices (null before any catalog was published).
    catalog_version: Option<String>,
}

/// The `cursor` of the page after SKU `sku`.
fn cursor_after(sku: &str) -> String {
    format!("s{sku}")
}

/// Serves `GET` and `POST /admin/v1/store/prices` for the store the
/// request resolved to, for the caller the route table admitted.
pub async fn handle(request: &mut ApiRequest<'_>, env: &Env, now_ms: u64) -> Result<ApiResponse> {
    let store = request.store()?.id.clone();
    match request.handler {
        H::ListStorePrices => list(env, store, &request.query).await,
        H::SetStorePrices => {
            let body = json_body(&mut request.incoming, BATCH_BODY_MAX).await?;
            let input: StorePricesInput = parse_body(&body)?;
            let prices = input.changes().map_err(input_error)?;
            let command = catalog::SetStorePrices {
                actor: request.caller.label().to_string(),
                store,
                prices,
            };
            let reply = ask(env, NAME, command).await?;
            if let Some(pointer) = &reply.pointer {
                catalog_store::note_published(pointer, now_ms);
            }
            Ok(ApiResponse::json(&StorePricesResult {
                changed: reply.changed,
                catalog_version: reply.pointer.map(|p| p.version),
            }))
        }
        _ => Err(ApiError::RouteNotFound),
    }
}

async fn list(env: &Env, store: String, params: &Params<'_>) -> Result<ApiResponse> {
    let limit = page_limit(params, DEFAULT_PAGE, MAX_PAGE)?;
    let after = match params.get("cursor") {
        None => None,
        Some(raw) => Some(
            raw.strip_prefix('s')
                .filter(|sku| is_sku(sku))
                .map(str::to_string)
                .ok_or_else(invalid_cursor)?,
        ),
    };
    let page = ask(
        env,
        NAME,
        catalog::ListStorePrices {
            store,
            after,
            limit,
        },
    )
    .await?;
    let next_cursor = page
        .more
        .then(|| page.skus.last().map(|(sku, _)| cursor_after(sku)))
        .flatten();
    let items = page
        .skus
        .into_iter()
        .map(|(sku, prices)| StorePriceItem {
            sku,
            prices: prices.into_iter().map(|(c, a)| Money::new(a, c)).collect(),
        })
        .collect();
    Ok(ApiResponse::json(&StorePricePage { items, next_cursor }))
}

fn input_error(e: StorePriceInputError) -> ApiError {
    let field = |field: String, code: &str, message: String| ApiError::Validation {
        errors: vec![FieldProblem {
            field: Some(field),
            code: code.into(),
            message,
        }],
    };
    match e {
        StorePriceInputError::UnknownCurrency { index } => ApiError::NotFound {
            code: "unknown_currency",
            detail: format!("prices[{index}].currency is not a known ISO 4217 currency code."),
        },
        StorePriceInputError::InvalidAmount { index } => field(
            format!("prices[{index}].amount"),
            "invalid_price",
            "must be null or a non-negative integer of minor units".into(),
        ),
        StorePriceInputError::BatchSize => field(
            "prices".into(),
            "invalid_length",
            format!("must hold 1 to {STORE_PRICES_BATCH_MAX} prices"),
        ),
    }
}
