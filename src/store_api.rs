//! The store's admin API: its configuration (`/admin/v1/store`: tax,
//! shipping methods, payment provider) and promotions and coupons
//! (`/admin/v1/promotions`), over the `StoreObject`. Inputs are validated
//! by the domain (`StoreConfigInput`, `PromotionInput`), every problem at
//! once; the object applies one write at a time and publishes the display
//! copy carts read from KV.

use crate::admin_api::small_json_body;
use crate::app::ApiRequest;
use crate::http::{ApiError, ApiResponse, Result};
use crate::objects::{ask, promotion_not_found};
use crate::routes::Handler as H;
use edgecart_domain::admin::parse_input;
use edgecart_domain::catalog::FieldError;
use edgecart_domain::promotion::{Promotion, PromotionInput};
use edgecart_domain::store::StoreConfigInput;
use edgecart_durable_objects::protocol::store::{
    self, PromotionSaved, PromotionState, StoreState, DEFAULT_STORE,
};
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

/// The admin view of promotion `id` as the store holds it now.
async fn promotion_response(env: &Env, id: &str) -> Result<ApiResponse> {
    let s = state(env).await?;
    let p = s
        .promotions
        .iter()
        .find(|p| p.promotion.id == id)
        .ok_or_else(promotion_not_found)?;
    Ok(ApiResponse::json(&view(p)))
}

/// A promotion as the admin API shows it (instants in RFC 3339).
#[derive(Serialize)]
struct PromotionView<'a> {
    #[serde(flatten)]
    promotion: &'a Promotion,
    starts_at: Option<String>,
    ends_at: Option<String>,
    redemptions: u32,
}

fn rfc3339(ms: Option<i64>) -> Option<String> {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

fn view(p: &PromotionState) -> PromotionView<'_> {
    PromotionView {
        promotion: &p.promotion,
        starts_at: rfc3339(p.promotion.starts_at_ms),
        ends_at: rfc3339(p.promotion.ends_at_ms),
        redemptions: p.redemptions,
    }
}

async fn state(env: &Env) -> Result<StoreState> {
    ask(env, DEFAULT_STORE, store::Get { customer: None }).await
}

/// Serves `/admin/v1/store` and `/admin/v1/promotions[/{id}]`, for the
/// caller the route table admitted.
pub async fn handle(request: &mut ApiRequest<'_>, env: &Env) -> Result<ApiResponse> {
    let body = &mut request.incoming;
    match request.handler {
        H::GetStore => Ok(ApiResponse::json(&state(env).await?.config)),
        H::PutStore => {
            let input: StoreConfigInput =
                parse_input(&small_json_body(body).await?).map_err(bad_json)?;
            let config = input.validate().map_err(invalid)?;
            let s = ask(env, DEFAULT_STORE, store::PutConfig { config }).await?;
            Ok(ApiResponse::json(&s.config))
        }
        H::ListPromotions => {
            let s = state(env).await?;
            #[derive(Serialize)]
            struct Body<'a> {
                items: Vec<PromotionView<'a>>,
            }
            Ok(ApiResponse::json(&Body {
                items: s.promotions.iter().map(view).collect(),
            }))
        }
        H::GetPromotion => promotion_response(env, request.path.param("id")).await,
        H::DeletePromotion => {
            let id = request.path.param("id");
            let command = store::DeletePromotion { id: id.into() };
            ask(env, DEFAULT_STORE, command).await?;
            Ok(ApiResponse::json(
                &serde_json::json!({ "id": id, "deleted": true }),
            ))
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
            let saved = ask(env, DEFAULT_STORE, store::PutPromotion { promotion }).await?;
            let mut r = promotion_response(env, id).await?;
            if saved == PromotionSaved::Created {
                r.status = 201;
            }
            Ok(r)
        }
        _ => Err(ApiError::RouteNotFound),
    }
}
