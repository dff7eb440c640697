//! Stock endpoints: exact availability (`GET /v1/inventory/{sku}`) and the
//! admin inventory routes (set on hand, adjustments, movement history),
//! each a command to the SKU's stock object. A SKU must exist in the live
//! catalog (its price shard names it).

use crate::catalog_api::Params;
use crate::catalog_store::CatalogStore;
use crate::http::{ApiError, ApiResponse, Result};
use edgecart_domain::stock::{StockError, StockOp, REASON_MAX};
use edgecart_durable_objects::protocol::{
    call_stock, ApplyReply, FieldProblem, HistoryReply, StockCommand, StockLevels,
};
use serde::Serialize;
use worker::Env;

const HISTORY_DEFAULT_PAGE: u32 = 50;
const HISTORY_MAX_PAGE: u32 = 200;

fn storage(e: worker::Error) -> ApiError {
    ApiError::StorageUnavailable {
        cause: format!("stock object: {e}"),
    }
}

/// Refuses SKUs the live catalog does not sell.
pub async fn require_sku(store: &CatalogStore<'_>, now_ms: u64, sku: &str) -> Result<()> {
    let mut warnings = Vec::new();
    let catalog = store.current(now_ms, &mut warnings).await?;
    match store.sku_prices(&catalog, sku).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound {
            code: "sku_not_found",
            detail: "No variant of the live catalog has this SKU.".into(),
        }),
    }
}

/// The exact stock levels of `sku` now.
pub async fn levels(env: &Env, sku: &str) -> Result<StockLevels> {
    call_stock(env, sku, &StockCommand::Snapshot)
        .await
        .map_err(storage)
}

/// Answers `GET /v1/inventory/{sku}`: exact, never cached.
pub async fn availability(env: &Env, sku: &str) -> Result<ApiResponse> {
    let levels = levels(env, sku).await?;
    #[derive(Serialize)]
    struct Body<'a> {
        sku: &'a str,
        available: i64,
        in_stock: bool,
    }
    let mut r = ApiResponse::json(&Body {
        sku,
        available: levels.available,
        in_stock: levels.available > 0,
    });
    r.header("Cache-Control", "no-store");
    Ok(r)
}

/// Maps a refused stock operation to the HTTP error.
pub fn stock_error(e: StockError, field: &str) -> ApiError {
    match e {
        StockError::BelowCommitted { minimum } => ApiError::Conflict {
            code: "below_committed".into(),
            detail: format!("On hand may not go below {minimum}, the units reserved and sold."),
        },
        StockError::OutOfStock { available } => ApiError::Conflict {
            code: "out_of_stock".into(),
            detail: format!("Only {available} available."),
        },
        StockError::InvalidQuantity => ApiError::Validation {
            errors: vec![FieldProblem {
                field: Some(field.into()),
                code: "invalid_quantity".into(),
                message: "must be an integer from 0 to 1000000000 (on hand after the change too)"
                    .into(),
            }],
        },
        StockError::NoHold | StockError::QuantityMismatch { .. } => ApiError::Conflict {
            code: "no_hold".into(),
            detail: "No live hold matches.".into(),
        },
    }
}

fn check_reason(reason: &str) -> Result<()> {
    let n = reason.trim().chars().count();
    if n == 0 || n > REASON_MAX {
        return Err(ApiError::Validation {
            errors: vec![FieldProblem {
                field: Some("reason".into()),
                code: "invalid_length".into(),
                message: format!("must be 1 to {REASON_MAX} characters"),
            }],
        });
    }
    Ok(())
}

/// Applies an admin stock operation (`op_id` makes retries safe).
pub async fn apply(
    env: &Env,
    sku: &str,
    op_id: String,
    op: StockOp,
    field: &str,
) -> Result<ApiResponse> {
    if let StockOp::SetOnHand { reason, .. } | StockOp::Adjust { reason, .. } = &op {
        check_reason(reason)?;
    }
    let reply: ApplyReply = call_stock(env, sku, &StockCommand::Apply { op_id, op })
        .await
        .map_err(storage)?;
    reply.outcome.map_err(|e| stock_error(e, field))?;
    #[derive(Serialize)]
    struct Body<'a> {
        sku: &'a str,
        #[serde(flatten)]
        levels: StockLevels,
        /// False when this Idempotency-Key was applied before.
        applied: bool,
    }
    Ok(ApiResponse::json(&Body {
        sku,
        levels: reply.levels,
        applied: reply.applied,
    }))
}

/// Answers `GET /admin/v1/inventory/{sku}/movements`.
pub async fn movements(env: &Env, sku: &str, pairs: Vec<(String, String)>) -> Result<ApiResponse> {
    let params = Params::parse(pairs, &["limit", "cursor"])?;
    let (limit, after) =
        crate::admin_api::page_params(&params, HISTORY_DEFAULT_PAGE, HISTORY_MAX_PAGE, "m")?;
    let reply: HistoryReply = call_stock(
        env,
        sku,
        &StockCommand::History {
            after,
            limit: limit + 1,
        },
    )
    .await
    .map_err(storage)?;
    let (entries, next_cursor) = crate::admin_api::page(reply.entries, limit, "m", |e| e.seq);
    let levels = levels(env, sku).await?;
    #[derive(Serialize)]
    struct Body<'a> {
        sku: &'a str,
        levels: StockLevels,
        items: Vec<edgecart_durable_objects::protocol::MovementEntry>,
        next_cursor: Option<String>,
    }
    Ok(ApiResponse::json(&Body {
        sku,
        levels,
        items: entries,
        next_cursor,
    }))
}
