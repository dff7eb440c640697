//! The audit trails' SQLite rows, shared by the objects that keep a trail:
//! the catalog writer (the shared catalog) and each store object (its
//! configuration, promotions, orders and profile). Both keep a table
//! `audit` numbered by an autoincrement `seq` in the order they record
//! entries; no code path updates or deletes a row.

use crate::object::Tables;
use crate::protocol::audit::AuditEntry;
use serde::Deserialize;

/// Reads the entries after `after`, oldest first, at most `limit`, with
/// `query`: it selects `seq, at, actor, action, target, fields, before,
/// after` (and `store`, where the table has one) and binds `after` and
/// `limit`.
pub(crate) fn entries(
    tables: &Tables,
    query: &str,
    after: u64,
    limit: u32,
) -> Result<Vec<AuditEntry>, String> {
    #[derive(Deserialize)]
    struct Row {
        seq: f64,
        at: String,
        actor: String,
        #[serde(default)]
        store: Option<String>,
        action: String,
        target: String,
        fields: String,
        before: Option<String>,
        after: Option<String>,
    }
    let rows: Vec<Row> = tables.rows(
        "reading audit",
        query,
        vec![(after as i64).into(), i64::from(limit).into()],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            seq: r.seq as u64,
            at: r.at,
            actor: r.actor,
            store: r.store,
            action: r.action,
            target: r.target,
            fields: serde_json::from_str(&r.fields).unwrap_or_default(),
            before: r.before,
            after: r.after,
        })
        .collect())
}

/// The text stored in `fields`.
pub(crate) fn fields_text(fields: &[String]) -> String {
    serde_json::to_string(fields).unwrap_or_default()
}
