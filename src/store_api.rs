//! The store's admin API: its configuration (`/admin/v1/store`: tax,
//! shipping methods, payment provider) and promotions and coupons
//! (`/admin/v1/promotions`), over the `StoreObject`. Inputs are validated
//! by the domain (`StoreConfigInput`, `PromotionInput`), every problem at
//! once; the object applies one write at a time and publishes the display
//! copy carts read from KV.

use crate::admin_api::small_json_body;
use crate::app::ApiRequest;
use crate::http::{ApiError, ApiResponse, Result};
use crate::routes::Handler as H;
use edgecart_domain::admin::parse_input;
use edgecart_domain::catalog::FieldError;
use edgecart_domain::promotion::{Promotion, PromotionInput};
use edgecart_domain::store::StoreConfigInput;
use edgecart_durable_objects::protocol::{
    call_store, FieldProblem, PromotionState, StoreCommand, StoreReply,
};
use serde::Serialize;
use serde_json::Value;
use worker::Env;

fn storage(e: worker::Error) -> ApiError {
    ApiError::StorageUnavailable {
        cause: format!("store object: {e}"),
    }
}

fn invalid(errors: Vec<FieldError>) -> ApiError {
    ApiError::Validation {
        errors: errors.iter().map(FieldProblem::from).collect(),
    }
}

fn unexpected(reply: StoreReply) -> ApiError {
    ApiError::StorageUnavailable {
        cause: format!("store object answered {reply:?}"),
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

fn promotion_not_found() -> ApiError {
    ApiError::NotFound {
        code: "promotion_not_found",
        detail: "No promotion has this id.".into(),
    }
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

async fn state(env: &Env) -> Result<edgecart_durable_objects::protocol::StoreState> {
    match call_store(env, &StoreCommand::Get { customer: None })
        .await
        .map_err(storage)?
    {
        StoreReply::State(s) => Ok(s),
        other => Err(unexpected(other)),
    }
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
            match call_store(env, &StoreCommand::PutConfig { config })
                .await
                .map_err(storage)?
            {
                StoreReply::State(s) => Ok(ApiResponse::json(&s.config)),
                other => Err(unexpected(other)),
            }
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
            match call_store(env, &StoreCommand::DeletePromotion { id: id.into() })
                .await
                .map_err(storage)?
            {
                StoreReply::Deleted => Ok(ApiResponse::json(
                    &serde_json::json!({ "id": id, "deleted": true }),
                )),
                StoreReply::NotFound => Err(promotion_not_found()),
                other => Err(unexpected(other)),
            }
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
            match call_store(env, &StoreCommand::PutPromotion { promotion })
                .await
                .map_err(storage)?
            {
                StoreReply::Saved { created } => {
                    let mut r = promotion_response(env, id).await?;
                    if created {
                        r.status = 201;
                    }
                    Ok(r)
                }
                StoreReply::CodeTaken { code, by } => Err(ApiError::Conflict {
                    code: "code_taken".into(),
                    detail: format!("Promotion {by} already uses the coupon code {code}."),
                }),
                other => Err(unexpected(other)),
            }
        }
        _ => Err(ApiError::RouteNotFound),
    }
}
