//! Stock endpoints: availability at most a second old (`GET /v1/inventory/{sku}`) and the
//! admin inventory routes (set on hand, one SKU or a batch; adjustments;
//! movement history), each a command to the SKU's stock object. A SKU must
//! exist in the live catalog (its price shard names it).

use crate::catalog_api::Params;
use crate::catalog_store::CatalogStore;
use crate::http::{ApiError, ApiResponse, Result};
pub use crate::objects::stock_error;
use crate::objects::{ask, send};
use crate::stock_cache;
use edgecart_domain::stock::{
    bulk_op_id, BulkRefusal, BulkSetOnHandInput, StockOp, BULK_MAX_ITEMS, REASON_MAX,
};
use edgecart_domain::stores::StoreProfile;
use edgecart_durable_objects::protocol::stock::{self, Applied, MovementEntry, StockLevels};
use edgecart_durable_objects::protocol::FieldProblem;
use futures_util::future::join_all;
use serde::Serialize;
use worker::{Date, Env};

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
    require_sku_in(store, now_ms, sku, None).await
}

/// Refuses SKUs the live catalog, or `shop` (its selection), does not sell.
pub async fn require_sku_in(
    store: &CatalogStore<'_>,
    now_ms: u64,
    sku: &str,
    shop: Option<&StoreProfile>,
) -> Result<()> {
    let mut warnings = Vec::new();
    let catalog = store.current(now_ms, &mut warnings).await?;
    let selected = match shop {
        Some(shop) => Some(store.selected(&catalog, shop).await?),
        None => None,
    };
    let sold = |product: &str| {
        selected
            .as_ref()
            .is_none_or(|selected| catalog.find_selected(product, selected).is_some())
    };
    match store.sku_prices(&catalog, sku).await? {
        Some(p) if sold(&p.product) => Ok(()),
        _ => Err(sku_not_found()),
    }
}

/// The exact stock levels of `sku` now.
pub async fn levels(env: &Env, sku: &str) -> Result<StockLevels> {
    ask(env, sku, stock::Snapshot {}).await
}

/// `sku`'s stock levels at most [`crate::stock_cache::LEVELS_TTL_MS`] old
/// at `now_ms`: this isolate's copy, or a read of the SKU's object (then
/// kept). For what the public reads show; holds and admin reads are exact.
pub async fn recent_levels(env: &Env, sku: &str, now_ms: i64) -> Result<StockLevels> {
    if let Some(levels) = stock_cache::fresh(sku, now_ms) {
        return Ok(levels);
    }
    let began = stock_cache::begin();
    let levels = levels(env, sku).await?;
    stock_cache::remember(sku, levels, began, now_ms);
    Ok(levels)
}

/// Availability of one SKU, as its stock Durable Object held it at most a
/// second before the request.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"sku": "KTL-1-STEEL", "available": 7, "in_stock": true}])))]
pub struct InventoryAvailability<'a> {
    /// The SKU, as in the path.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["KTL-1-STEEL"])))]
    sku: &'a str,
    /// Units that can still be put in a cart: `on_hand − reserved − sold`,
    /// counting only holds that have not expired (a due hold no longer counts,
    /// even before it is released). 0 for a SKU whose stock was never set.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = 1000000000_i64), extend("format" = "int64"), extend("examples" = [7])))]
    available: i64,
    /// `available > 0`.
    in_stock: bool,
}

/// Answers `GET /v1/inventory/{sku}`: at most a second old (this
/// isolate's copy of the levels), never cached by HTTP caches.
pub async fn availability(env: &Env, sku: &str) -> Result<ApiResponse> {
    let levels = recent_levels(env, sku, Date::now().as_millis() as i64).await?;
    let mut r = ApiResponse::json(&InventoryAvailability {
        sku,
        available: levels.available,
        in_stock: levels.available > 0,
    });
    r.header("Cache-Control", "no-store");
    Ok(r)
}

fn check_reason(reason: &str) -> Result<()> {
    let n = edgecart_domain::text::trim_blank(reason).chars().count();
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
    let applied = send(env, sku, stock::Apply { op_id, op })
        .await?
        .map_err(|e| stock_error(e, field))?;
    stock_cache::wrote(sku, applied.levels, Date::now().as_millis() as i64);
    Ok(applied)
}

/// The answer to an accepted stock write: the SKU's levels after it (the
/// `StockLevels` fields) and whether this request applied it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"sku": "KTL-1-STEEL", "on_hand": 10, "reserved": 0, "sold": 0, "available": 10, "applied": true}])))]
pub struct InventoryWriteResult<'a> {
    /// The SKU, as in the path.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["KTL-1-STEEL"])))]
    sku: &'a str,
    #[serde(flatten)]
    levels: StockLevels,
    /// True when this request applied the change. False when its
    /// `Idempotency-Key` had already been applied by the same token on this SKU
    /// within 24 hours: nothing changed, and the levels are the current ones
    /// (which may include later changes), not those right after the first
    /// request.
    applied: bool,
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
    Ok(ApiResponse::json(&InventoryWriteResult {
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

/// One item's outcome, `status` `ok` or `error`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "InventoryBatchItemResult", extend("examples" = [{"status": "ok", "sku": "KTL-1-STEEL", "levels": {"on_hand": 10, "reserved": 0, "sold": 0, "available": 10}, "applied": true}, {"status": "error", "sku": "NO-SUCH-SKU", "code": "sku_not_found", "detail": "No variant of the live catalog has this SKU."}])))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BatchItem {
    /// The SKU's on hand is now the count sent: applied by this request
    /// (`applied: true`), or by an earlier request with the same
    /// `Idempotency-Key` (`applied: false`, nothing changed).
    #[cfg_attr(feature = "openapi", schemars(title = "ok"))]
    Ok {
        /// The item's SKU.
        #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["KTL-1-STEEL"])))]
        sku: String,
        /// The SKU's levels after the write (for `applied: false`, its levels
        /// now).
        levels: StockLevels,
        /// False when this item had already been applied under the same
        /// `Idempotency-Key` by the same token within 24 hours.
        applied: bool,
    },
    /// This item was refused or could not be applied; the other items are
    /// unaffected.
    #[cfg_attr(feature = "openapi", schemars(title = "error"))]
    Error {
        /// The item's SKU, as sent.
        #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["NO-SUCH-SKU"])))]
        sku: String,
        /// Stable code: `sku_not_found` (no variant of the live catalog version
        /// has this SKU; nothing was written), `invalid_quantity` (`on_hand`
        /// not from 0 to 1000000000), `invalid_length` (`reason` empty after
        /// trimming or longer than 200 characters), `below_committed` (on hand
        /// would drop below the units reserved by live holds plus the units
        /// sold), `storage_unavailable` (the SKU's stock object could not be
        /// reached or failed: the count may nonetheless have been applied;
        /// retry the batch with the same `Idempotency-Key`). A refused item
        /// changes nothing; a refusal by the stock ledger (`invalid_quantity`,
        /// `below_committed`) is remembered under the key like the first
        /// outcome of a single write.
        #[cfg_attr(feature = "openapi", schemars(extend("enum" = ["sku_not_found", "invalid_quantity", "invalid_length", "below_committed", "storage_unavailable"])))]
        code: String,
        /// What is wrong, for humans (names the field for `invalid_quantity`
        /// and `invalid_length`).
        #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["No variant of the live catalog has this SKU."])))]
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

/// The answer to a batch count: every item's outcome, in request order, and how
/// many succeeded and failed.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "InventoryBatchResult", extend("examples" = [{"items": [{"status": "ok", "sku": "KTL-1-STEEL", "levels": {"on_hand": 10, "reserved": 0, "sold": 0, "available": 10}, "applied": true}, {"status": "error", "sku": "NO-SUCH-SKU", "code": "sku_not_found", "detail": "No variant of the live catalog has this SKU."}], "updated": 1, "failed": 1}])))]
pub struct BatchReport {
    /// One outcome per item sent, in the same order.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 200)))]
    pub items: Vec<BatchItem>,
    /// Items with `status: ok` (including those an earlier request with the
    /// same key had applied).
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = 200)))]
    pub updated: usize,
    /// Items with `status: error`.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = 200)))]
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

/// One page of a SKU's movement history, oldest movement first, with the SKU's
/// current levels.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct MovementPage<'a> {
    /// The SKU, as in the path.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["KTL-1-STEEL"])))]
    sku: &'a str,
    /// The SKU's levels now, read just after the page (they may already include
    /// movements newer than the page's last).
    levels: StockLevels,
    /// At most `limit` movements in the order they were applied; empty for a
    /// SKU whose stock never moved.
    #[cfg_attr(feature = "openapi", schemars(length(max = HISTORY_MAX_PAGE)))]
    items: Vec<MovementEntry>,
    /// Opaque cursor for the next page: pass it back as `cursor`. Null when
    /// this page reaches the newest movement.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["m3"])))]
    next_cursor: Option<String>,
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
    Ok(ApiResponse::json(&MovementPage {
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
