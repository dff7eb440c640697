//! The audit trail's types, shared by the trails that keep them: the
//! catalog writer's (the shared catalog) and each store object's (its
//! configuration, promotions, orders and profile).

use edgecart_domain::admin::Change;
use serde::{Deserialize, Serialize};

/// Who made a change: the label of the admin token used, or
/// `edgecart_domain::audit::SHOPPER` for a shopper with their order's
/// token.
pub type Actor = String;

/// A page of an audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
}

/// One audit entry: append-only, numbered in the order its trail recorded
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    /// RFC 3339 time the change was committed.
    pub at: String,
    /// Label of the admin token that made the change (see [`Actor`]).
    pub actor: String,
    /// The store whose records changed; `None` for the shared catalog.
    pub store: Option<String>,
    /// `product.create`, `price.set`, `promotion.set`, … (`admin::Change::action`).
    pub action: String,
    pub target: String,
    pub fields: Vec<String>,
    /// The snapshots before and after, raw JSON text as stored. Why text:
    /// an entry keeps the shape its change was recorded in (a product
    /// summary, a price, a category, a promotion, as the version that
    /// wrote it made them), so the trail is passed through, never re-typed.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A change as a trail records it, before the trail numbers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339 time the change was committed.
    pub at: String,
    pub actor: Actor,
    pub action: String,
    pub target: String,
    pub fields: Vec<String>,
    /// Snapshots as raw JSON text (see [`AuditEntry::before`]).
    pub before: Option<String>,
    pub after: Option<String>,
}

impl AuditRecord {
    /// The record of `change`, made by `actor`, committed at `at`.
    pub fn of(at: String, actor: &str, change: &Change) -> Self {
        let text = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
        AuditRecord {
            at,
            actor: actor.into(),
            action: change.action.into(),
            target: change.target.clone(),
            fields: change.fields.clone(),
            before: text(&change.before),
            after: text(&change.after),
        }
    }
}

/// A record one object made for another's trail (an order's status
/// change, a store profile written), committed with its change and
/// delivered until the trail acknowledges it. `key` names it, so a
/// delivery repeated after a failure records it once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEntry {
    pub key: String,
    pub record: AuditRecord,
}
