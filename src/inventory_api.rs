//! Stock endpoints: exact availability (`GET /v1/inventory/{sku}`) and the
//! admin inventory routes (set on hand, one SKU or a batch; adjustments;
//! movement history), each a command to the SKU's stock object. A SKU must
//! exist in the live catalog (its price shard names it).

use crate::catalog_api::Params;
use crate::catalog_store::CatalogStore;
use crate::http::{ApiError, ApiResponse, Result};
pub use crate::objects::stock_error;
use crate::objects::{ask, send};
use edgecart_domain::stock::{
    bulk_op_id, BulkRefusal, BulkSetOnHandInput, StockOp, BULK_MAX_ITEMS, REASON_MAX,
};
use edgecart_durable_objects::protocol::stock::{self, Applied, MovementEntry, StockLevels};
use edgecart_durable_objects::protocol::FieldProblem;
use futures_util::future::join_all;
use serde::Serialize;
use worker::Env;

const HISTORY_DEFAULT_PAGE: u32 = 50;
const HISTORY_MAX_PAGE: u32 = 200;
/// Largest body of a batch count: 200 items with long reasons fit.
pub const BATCH_BODY_MAX: usize = 256 * 1024;

fn sku_not_found() -> ApiError {
    ApiError::NotFound {
        code: "sku_not_found",
        detail: "No variant of the live catalog has this SKU.".into(),
    }
}

/// Refuses SKUs the live catalog does not sell.
pub async fn require_sku(store: &CatalogStore<'_>, now_ms: u64, sku: &str) -> Result<()> {
    let mut warnings = Vec::new();
    let catalog = store.current(now_ms, &mut warnings).await?;
    match store.sku_prices(&catalog, sku).await? {
        Some(_) => Ok(()),
        None => Err(sku_not_found()),
    }
}

/// The exact stock levels of `sku` now.
pub async fn levels(env: &Env, sku: &str) -> Result<StockLevels> {
    ask(env, sku, stock::Snapshot {}).await
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

/// Sends an admin stock operation to the SKU's object (`op_id` makes
/// retries safe): the levels after it and whether this call applied it.
async fn apply_op(
    env: &Env,
    sku: &str,
    op_id: String,
    op: StockOp,
    field: &str,
) -> Result<Applied> {
    if let StockOp::SetOnHand { reason, .. } | StockOp::Adjust { reason, .. } = &op {
        check_reason(reason)?;
    }
    edgecart_domain::stock::StockLedger::check_op(&op).map_err(|e| stock_error(e, field))?;
    send(env, sku, stock::Apply { op_id, op })
        .await?
        .map_err(|e| stock_error(e, field))
}

/// Applies an admin stock operation (`op_id` makes retries safe).
pub async fn apply(
    env: &Env,
    sku: &str,
    op_id: String,
    op: StockOp,
    field: &str,
) -> Result<ApiResponse> {
    let reply = apply_op(env, sku, op_id, op, field).await?;
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

/// Maps a refused batch to the 400 that answers it (nothing was applied).
pub fn batch_refusal(refusal: BulkRefusal) -> ApiError {
    let (code, field, detail) = match refusal {
        BulkRefusal::Empty => (
            "empty_batch",
            "items".to_string(),
            format!("Send 1 to {BULK_MAX_ITEMS} items."),
        ),
        BulkRefusal::TooMany { count } => (
            "too_many_items",
            "items".to_string(),
            format!(
                "A batch takes at most {BULK_MAX_ITEMS} items; this one has {count}. Split it."
            ),
        ),
        BulkRefusal::DuplicateSku { index, first } => (
            "duplicate_sku",
            format!("items[{index}].sku"),
            format!("This SKU is already item {first} of the batch; send each SKU once."),
        ),
    };
    ApiError::InvalidBody {
        code: code.into(),
        field: Some(field),
        detail,
    }
}

/// One item's outcome in a batch answer.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BatchItem {
    Ok {
        sku: String,
        levels: StockLevels,
        /// False when this batch's Idempotency-Key was applied to the SKU before.
        applied: bool,
    },
    Error {
        sku: String,
        code: String,
        detail: String,
    },
}

impl BatchItem {
    /// The item's error as its stable code and a detail naming the field.
    fn failed(sku: String, e: &ApiError) -> Self {
        let (code, detail) = match e {
            ApiError::Validation { errors } if !errors.is_empty() => {
                let p = &errors[0];
                let detail = match &p.field {
                    Some(f) => format!("{f} {}", p.message),
                    None => p.message.clone(),
                };
                (p.code.clone(), detail)
            }
            _ => (e.code().to_string(), e.detail()),
        };
        BatchItem::Error { sku, code, detail }
    }
}

/// The answer to a batch count: every item in request order.
#[derive(Debug, Serialize)]
pub struct BatchReport {
    pub items: Vec<BatchItem>,
    /// Items whose count is now set (`status: ok`).
    pub updated: usize,
    /// Items refused or not reached (`status: error`).
    pub failed: usize,
}

impl BatchReport {
    pub fn new(items: Vec<BatchItem>) -> Self {
        let updated = items
            .iter()
            .filter(|i| matches!(i, BatchItem::Ok { .. }))
            .count();
        BatchReport {
            failed: items.len() - updated,
            updated,
            items,
        }
    }
}

/// Answers `POST /admin/v1/inventory`: sets the on-hand count of every item
/// at once, each through its SKU's object as the single-SKU route does.
/// Catalog membership is decided by one read of the live catalog; an
/// unknown SKU, a refused count or an unreachable object fails its item
/// only. Item `i`'s operation id is `{op_id}:{sku}`, so a retried batch
/// (same Idempotency-Key) changes nothing twice.
pub async fn set_on_hand_batch(
    env: &Env,
    store: &CatalogStore<'_>,
    now_ms: u64,
    op_id: &str,
    input: BulkSetOnHandInput,
) -> Result<ApiResponse> {
    input.check().map_err(batch_refusal)?;
    let mut warnings = Vec::new();
    let catalog = store.current(now_ms, &mut warnings).await?;
    let skus: Vec<&str> = input.items.iter().map(|i| i.sku.as_str()).collect();
    let known = match catalog.known_skus(&skus) {
        Some(known) => known,
        // An index from before listings carried their SKUs: ask the price shards.
        None => {
            let found = join_all(skus.iter().map(|sku| store.sku_prices(&catalog, sku))).await;
            found
                .into_iter()
                .map(|f| f.map(|p| p.is_some()))
                .collect::<Result<Vec<bool>>>()?
        }
    };
    let results = join_all(
        input
            .items
            .into_iter()
            .zip(known)
            .map(|(item, known)| async move {
                if !known {
                    return (BatchItem::failed(item.sku, &sku_not_found()), None);
                }
                let op = StockOp::SetOnHand {
                    quantity: item.on_hand,
                    reason: item.reason.unwrap_or_else(|| "count".into()),
                };
                let id = bulk_op_id(op_id, &item.sku);
                match apply_op(env, &item.sku, id, op, "on_hand").await {
                    Ok(reply) => {
                        let ok = BatchItem::Ok {
                            sku: item.sku,
                            levels: reply.levels,
                            applied: reply.applied,
                        };
                        (ok, None)
                    }
                    Err(e) => {
                        let cause = e.cause().map(|c| format!("{}: {c}", item.sku));
                        (BatchItem::failed(item.sku, &e), cause)
                    }
                }
            }),
    )
    .await;
    // Causes are logged, never shown: one line for the whole batch.
    let causes: Vec<&String> = results.iter().filter_map(|(_, c)| c.as_ref()).collect();
    if let Some(first) = causes.first() {
        worker::console_error!(
            "batch count: {} item(s) failed in storage; first: {first}",
            causes.len()
        );
    }
    let items = results.into_iter().map(|(item, _)| item).collect();
    Ok(ApiResponse::json(&BatchReport::new(items)))
}

/// Answers `GET /admin/v1/inventory/{sku}/movements`.
pub async fn movements(env: &Env, sku: &str, params: &Params<'_>) -> Result<ApiResponse> {
    let (limit, after) =
        crate::admin_api::page_params(params, HISTORY_DEFAULT_PAGE, HISTORY_MAX_PAGE, "m")?;
    let command = stock::History {
        after,
        limit: limit + 1,
    };
    let reply = ask(env, sku, command).await?;
    let (entries, next_cursor) = crate::admin_api::page(reply.entries, limit, "m", |e| e.seq);
    let levels = levels(env, sku).await?;
    #[derive(Serialize)]
    struct Body<'a> {
        sku: &'a str,
        levels: StockLevels,
        items: Vec<MovementEntry>,
        next_cursor: Option<String>,
    }
    Ok(ApiResponse::json(&Body {
        sku,
        levels,
        items: entries,
        next_cursor,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgecart_domain::stock::StockError;

    #[test]
    fn batch_refusals_are_400s_naming_the_field() {
        let table = [
            (BulkRefusal::Empty, "empty_batch", "items"),
            (
                BulkRefusal::TooMany { count: 201 },
                "too_many_items",
                "items",
            ),
            (
                BulkRefusal::DuplicateSku { index: 3, first: 1 },
                "duplicate_sku",
                "items[3].sku",
            ),
        ];
        for (refusal, code, field) in table {
            let e = batch_refusal(refusal);
            assert_eq!((e.status(), e.code()), (400, code));
            assert!(
                matches!(&e, ApiError::InvalidBody { field: Some(f), .. } if f == field),
                "{e:?}"
            );
        }
    }

    #[test]
    fn batch_items_report_codes_and_counts() {
        let levels = StockLevels {
            on_hand: 5,
            reserved: 0,
            sold: 0,
            available: 5,
        };
        let report = BatchReport::new(vec![
            BatchItem::Ok {
                sku: "A".into(),
                levels,
                applied: true,
            },
            BatchItem::failed(
                "B".into(),
                &stock_error(StockError::InvalidQuantity, "on_hand"),
            ),
            BatchItem::failed(
                "C".into(),
                &stock_error(StockError::BelowCommitted { minimum: 2 }, "on_hand"),
            ),
        ]);
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(
            (v["updated"].as_u64(), v["failed"].as_u64()),
            (Some(1), Some(2))
        );
        assert_eq!(
            v["items"][0],
            serde_json::json!({"status": "ok", "sku": "A", "applied": true,
                "levels": {"on_hand": 5, "reserved": 0, "sold": 0, "available": 5}})
        );
        assert_eq!(v["items"][1]["status"], "error");
        assert_eq!(v["items"][1]["code"], "invalid_quantity");
        assert!(v["items"][1]["detail"]
            .as_str()
            .unwrap()
            .starts_with("on_hand must be"));
        assert_eq!(v["items"][2]["code"], "below_committed");
    }
}
