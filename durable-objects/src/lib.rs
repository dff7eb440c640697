//! Edgecart's Durable Object classes, each SQLite-backed, and the typed
//! protocol the Worker uses to reach them.
//!
//! - [`catalog_writer::CatalogWriter`]: the single writer of the catalog
//!   (admin writes, imports, audit trail, publishing to KV).
//! - [`sku_stock::SkuStock`]: one per SKU, its stock ledger (holds with
//!   expiry by alarm, commits, adjustments, movement history).
//! - [`cart_object::CartObject`]: one per cart, its lines and token; it
//!   takes and extends the holds of its lines.
//! - [`availability::AvailabilityPublisher`]: one object that publishes
//!   the stock snapshot (which SKUs have units available) to KV from the
//!   SKU objects' reports, for the listing's `in_stock` filter.
//! - [`store_object::StoreObject`]: one per store, its configuration
//!   (tax, shipping, payment provider), promotions and coupon redemptions.
//! - [`order_object::OrderObject`]: one per order, its record and token.
//! - Later: one object per points ledger.
//!
//! Objects stay thin: load state, call the pure rules in `edgecart-domain`,
//! persist in one atomic block. They must not compute prices, validate
//! products or apply stock rules themselves, and they are called only
//! through the command enums in [`protocol`], never ad-hoc URLs.

pub mod availability;
pub mod cart_checkout;
pub mod cart_object;
pub mod catalog_writer;
pub mod order_object;
pub mod payment;
pub mod protocol;
pub mod sku_stock;
pub mod store_object;

/// Creates an object's tables: `schema` holds `;`-separated idempotent
/// `CREATE … IF NOT EXISTS` statements.
fn create_schema(sql: &worker::SqlStorage, schema: &str) -> Result<(), String> {
    for statement in schema.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        sql.exec(statement, None)
            .map_err(|e| format!("schema: {e}"))?;
    }
    Ok(())
}

/// Reads an object's single `(token, json)` row (`id = 1` of `table`) and
/// decodes its JSON; `None` before the object was created. `what` names
/// the record in error causes.
fn load_token_row<T: serde::de::DeserializeOwned>(
    sql: &worker::SqlStorage,
    table: &str,
    what: &str,
) -> Result<Option<(String, T)>, String> {
    #[derive(serde::Deserialize)]
    struct Row {
        token: String,
        json: String,
    }
    let rows = sql
        .exec(
            &format!("SELECT token, json FROM {table} WHERE id = 1"),
            None,
        )
        .and_then(|c| c.to_array::<Row>())
        .map_err(|e| format!("loading the {what}: {e}"))?;
    rows.into_iter()
        .next()
        .map(|r| {
            serde_json::from_str(&r.json)
                .map(|v| (r.token, v))
                .map_err(|e| format!("stored {what}: {e}"))
        })
        .transpose()
}

/// An object's answer to the Worker: the reply's JSON, or 500 with the
/// cause (which the Worker logs and never shows).
fn respond(reply: Result<String, String>) -> worker::Result<worker::Response> {
    match reply {
        Ok(json) => Ok(worker::Response::builder()
            .with_header("Content-Type", "application/json")?
            .fixed(json.into_bytes())),
        Err(cause) => worker::Response::error(cause, 500),
    }
}

/// Serializes an object's reply.
fn json<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}
