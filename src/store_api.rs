//! The store's admin API: its configuration (`/admin/v1/store`: tax,
//! shipping methods, payment provider), promotions and coupons
//! (`/admin/v1/promotions`) and audit trail (`/admin/v1/store/audit`),
//! over the `StoreObject`. Inputs are validated by the domain
//! (`StoreConfigInput`, `PromotionInput`), every problem at once; the
//! object applies one write at a time, records it in the store's audit
//! trail with the caller's label, and publishes the display copy carts
//! read from KV. Every write drops this isolate's copy of the store's
//! state (`store_cache`), whatever its outcome.

use crate::admin_api::{audit_page, small_json_body};
use crate::app::ApiRequest;
use crate::config::Config;
use crate::http::{ApiError, ApiResponse, Result};
use crate::objects::{ask, promotion_not_found, store_conflict};
use crate::routes::Handler as H;
use crate::store_cache;
use crate::stores;
use edgecart_domain::admin::parse_input;
use edgecart_domain::catalog::FieldError;
use edgecart_domain::promotion::{Promotion, PromotionInput};
use edgecart_domain::store::StoreConfigInput;
use edgecart_domain::stores::{StoreProfile, StoreProfileInput};
use edgecart_durable_objects::protocol::directory::{self, DIRECTORY};
use edgecart_durable_objects::protocol::store::{self, PromotionSaved, PromotionState, StoreState};
use edgecart_durable_objects::protocol::FieldProblem;
use serde::Serialize;
use serde_json::Value;
use worker::Env;

fn invalid(errors: Vec<FieldError>) -> ApiError {
    ApiError::Validation {
        errors: errors.iter().map(FieldProblem::from).collect(),
    }
}

fn bad_json(e: edgecart_domain::admin::InputError) -> ApiError {
    ApiError::InvalidBody {
        code: e.code.into(),
        field: e.field,
        detail: e.message,
    }
}

/// The admin view of promotion `id` as `store` holds it now.
async fn promotion_response(env: &Env, store: &str, id: &str) -> Result<ApiResponse> {
    let s = state(env, store).await?;
    let p = s
        .promotions
        .iter()
        .find(|p| p.promotion.id == id)
        .ok_or_else(promotion_not_found)?;
    Ok(ApiResponse::json(&view(p)))
}

/// A promotion as the admin API shows it: the stored record (instants in Unix
/// milliseconds; optional members omitted when unset) plus `starts_at` and
/// `ends_at` in RFC 3339 and the `redemptions` so far. Without `code` it is
/// automatic (it applies to every eligible cart); with one it is a coupon (it
/// applies to carts that carry the code). It applies in a currency only if it
/// can say what it is worth there: an `amount_off` promotion only in the
/// currencies of its `amounts`, and a promotion with a non-empty `min_subtotal`
/// only in the currencies listed there.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "Promotion", extend("examples" = [{"schema": 1, "id": "save10", "code": "SAVE10", "description": "10 % off everything", "discount": {"type": "percentage", "basis_points": 1000}, "target": {"type": "cart"}, "starts_at_ms": 1793491200000_i64, "ends_at_ms": 1796083200000_i64, "usage_limit": 1000, "per_customer_limit": 1, "active": true, "starts_at": "2026-11-01T00:00:00.000Z", "ends_at": "2026-12-01T00:00:00.000Z", "redemptions": 42}, {"schema": 1, "id": "autumn-5", "description": "5 € off this autumn", "discount": {"type": "amount_off", "amounts": {"EUR": 500}}, "target": {"type": "cart"}, "active": true, "starts_at": null, "ends_at": null, "redemptions": 0}])))]
pub struct PromotionView<'a> {
    #[serde(flatten)]
    promotion: &'a Promotion,
    /// `starts_at_ms` in RFC 3339 (UTC, milliseconds), or null when unset.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time"), extend("examples" = ["2026-11-01T00:00:00.000Z"])))]
    starts_at: Option<String>,
    /// `ends_at_ms` in RFC 3339 (UTC, milliseconds), or null when unset.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time"), extend("examples" = ["2026-12-01T00:00:00.000Z"])))]
    ends_at: Option<String>,
    /// How many orders have redeemed it so far, from the store object's
    /// redemption ledger (an order whose checkout fails, or that is cancelled
    /// before payment, gives its redemption back). The ledger is kept by
    /// promotion id: deleting a promotion does not clear it.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("examples" = [42])))]
    redemptions: u32,
}

/// The answer to a promotion deletion.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"id": "save10", "deleted": true}])))]
pub struct PromotionDeleted<'a> {
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::PromotionId")
    )]
    id: &'a str,
    #[cfg_attr(feature = "openapi", schemars(extend("const" = true)))]
    deleted: bool,
}

fn rfc3339(ms: Option<i64>) -> Option<String> {
    ms.and_then(crate::http::rfc3339_ms)
}

fn view(p: &PromotionState) -> PromotionView<'_> {
    PromotionView {
        promotion: &p.promotion,
        starts_at: rfc3339(p.promotion.starts_at_ms),
        ends_at: rfc3339(p.promotion.ends_at_ms),
        redemptions: p.redemptions,
    }
}

/// The store's configuration and promotions as its object holds them now.
pub async fn state(env: &Env, store: &str) -> Result<StoreState> {
    ask(env, store, store::Get { customer: None }).await
}

/// Every promotion of the store, in id order (byte order). There is no paging.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"items": [{"schema": 1, "id": "autumn-5", "description": "5 € off this autumn", "discount": {"type": "amount_off", "amounts": {"EUR": 500}}, "target": {"type": "cart"}, "active": true, "starts_at": null, "ends_at": null, "redemptions": 0}, {"schema": 1, "id": "bigspender", "code": "BIGSPENDER", "description": "15 off kitchenware from 100", "discount": {"type": "amount_off", "amounts": {"USD": 1500}}, "target": {"type": "category", "category": "kitchen"}, "min_subtotal": {"USD": 10000}, "active": true, "starts_at": null, "ends_at": null, "redemptions": 3}, {"schema": 1, "id": "save10", "code": "SAVE10", "description": "10 % off everything", "discount": {"type": "percentage", "basis_points": 1000}, "target": {"type": "cart"}, "starts_at_ms": 1793491200000_i64, "ends_at_ms": 1796083200000_i64, "usage_limit": 1000, "per_customer_limit": 1, "active": true, "starts_at": "2026-11-01T00:00:00.000Z", "ends_at": "2026-12-01T00:00:00.000Z", "redemptions": 42}]}])))]
pub struct PromotionList<'a> {
    items: Vec<PromotionView<'a>>,
}

/// Serves `/admin/v1/store` and `/admin/v1/promotions[/{id}]`, for the
/// caller the route table admitted.
pub async fn handle(request: &mut ApiRequest<'_>, env: &Env) -> Result<ApiResponse> {
    let shop = request.store()?.id.clone();
    let shop = shop.as_str();
    let actor = request.caller.label().to_string();
    let body = &mut request.incoming;
    match request.handler {
        H::ListStoreAudit => {
            audit_page(&request.query, |after, limit| async move {
                Ok(ask(env, shop, store::Audit { after, limit }).await?.entries)
            })
            .await
        }
        H::GetStore => Ok(ApiResponse::json(&state(env, shop).await?.config)),
        H::PutStore => {
            let input: StoreConfigInput =
                parse_input(&small_json_body(body).await?).map_err(bad_json)?;
            let config = input.validate().map_err(invalid)?;
            let s = ask(env, shop, store::PutConfig { actor, config }).await;
            store_cache::forget();
            let s = s?;
            Ok(ApiResponse::json(&s.config))
        }
        H::ListPromotions => {
            let s = state(env, shop).await?;
            Ok(ApiResponse::json(&PromotionList {
                items: s.promotions.iter().map(view).collect(),
            }))
        }
        H::GetPromotion => promotion_response(env, shop, request.path.param("id")).await,
        H::DeletePromotion => {
            let id = request.path.param("id");
            let command = store::DeletePromotion {
                actor,
                id: id.into(),
            };
            let deleted = ask(env, shop, command).await;
            store_cache::forget();
            deleted?;
            Ok(ApiResponse::json(&PromotionDeleted { id, deleted: true }))
        }
        H::PutPromotion => {
            let id = request.path.param("id");
            let body = small_json_body(body).await?;
            // The id comes from the path; a body naming another is refused.
            let mut value: Value = parse_input(&body).map_err(bad_json)?;
            if let Some(map) = value.as_object_mut() {
                match map.get("id") {
                    None => {
                        map.insert("id".into(), Value::String(id.into()));
                    }
                    Some(Value::String(s)) if s == id => {}
                    Some(_) => {
                        return Err(invalid(vec![FieldError {
                            field: "id".into(),
                            code: "id_mismatch",
                            message: "The body's id differs from the path's.".into(),
                        }]))
                    }
                }
            }
            let input: PromotionInput = parse_input(&value.to_string()).map_err(bad_json)?;
            let promotion = input.validate().map_err(invalid)?;
            let saved = ask(env, shop, store::PutPromotion { actor, promotion }).await;
            store_cache::forget();
            let saved = saved?;
            let mut r = promotion_response(env, shop, id).await?;
            if saved == PromotionSaved::Created {
                r.status = 201;
            }
            Ok(r)
        }
        _ => Err(ApiError::RouteNotFound),
    }
}

/// The stores, in id order (the built-in default store among them until
/// its profile is written).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct StoreList {
    items: Vec<StoreProfile>,
}

/// Serves `/admin/v1/stores[/{store_id}]` (operators only): the directory
/// as the `StoreDirectory` object holds it now.
pub async fn handle_stores(
    request: &mut ApiRequest<'_>,
    env: &Env,
    config: &Config,
    now_ms: u64,
) -> Result<ApiResponse> {
    let stored = || async { ask(env, DIRECTORY, directory::Get {}).await };
    match request.handler {
        H::ListStores => {
            let directory = stores::with_default(stored().await?, config);
            Ok(ApiResponse::json(&StoreList {
                items: directory.stores,
            }))
        }
        H::GetStoreProfile => {
            let id = request.path.param("store_id");
            let directory = stores::with_default(stored().await?, config);
            let profile = directory.get(id).ok_or_else(stores::store_not_found)?;
            Ok(ApiResponse::json(profile))
        }
        H::PutStoreProfile => {
            let id = request.path.param("store_id").to_string();
            let body = small_json_body(&mut request.incoming).await?;
            let input: StoreProfileInput = parse_input(&body).map_err(bad_json)?;
            let profile = input.validate(&id).map_err(invalid)?;
            // The built-in default store answers on its hosts until its
            // profile is stored: another store may not take them.
            if let Some(c) = stores::with_default(stored().await?, config).conflict(&profile) {
                return Err(store_conflict(c));
            }
            let actor = request.caller.label().to_string();
            let written = ask(env, DIRECTORY, directory::Put { actor, profile }).await?;
            let directory = stores::adopt(written.directory, config, now_ms);
            let profile = directory.get(&id).ok_or_else(stores::store_not_found)?;
            let mut r = ApiResponse::json(profile);
            if written.created {
                r.status = 201;
            }
            Ok(r)
        }
        _ => Err(ApiError::RouteNotFound),
    }
}
