//! A member's points ledger: one object per (store, member), named by
//! `edgecart_domain::member::ledger_name`. Checkout holds, commits and
//! releases points through it; cancellations and refunds restore spent
//! points and revoke earned ones; admins grant and adjust; the member
//! reads the balance and a page of the history.

use super::audit::Actor;
use super::{bind, Protocol};
pub use edgecart_domain::points::PointsRefusal;
use edgecart_domain::points::{Balance, Hold as LedgerHold, Programme, Row};
use serde::{Deserialize, Serialize};

/// A command to a points ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum PointsCommand {
    View(View),
    Grant(Grant),
    Adjust(Adjust),
    Hold(Hold),
    Release(Release),
    Commit(Commit),
    Earn(Earn),
    Restore(Restore),
    Revoke(Revoke),
    OutboxAck(OutboxAck),
}

impl Protocol for PointsCommand {
    const BINDING: &'static str = "POINTS";
    type Refusal = PointsRefusal;
}

bind!(PointsCommand {
    View => PointsView,
    Grant => Changed,
    Adjust => Changed,
    Hold => Held,
    Release => Changed,
    Commit => Changed,
    Earn => Changed,
    Restore => Changed,
    Revoke => Changed,
    OutboxAck => OutboxAcked,
});

super::outbox_ack!();

/// The balance now, and up to `limit` history rows before row `before`
/// (newest first; `None`: from the newest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    pub before: Option<u64>,
    pub limit: u32,
}

/// An admin's grant of `amount` points to `member` of `store`, once per
/// `key`; expiring at `expires_at_ms` if given, else per the programme.
/// Its audit entry goes to the store's trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub store: String,
    pub member: String,
    pub key: String,
    pub actor: Actor,
    pub reason: String,
    pub amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
    pub programme: Programme,
}

/// An admin's correction of `member`'s points by `delta` (up or down),
/// once per `key`. Its audit entry goes to the store's trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjust {
    pub store: String,
    pub member: String,
    pub key: String,
    pub actor: Actor,
    pub reason: String,
    pub delta: i64,
    pub programme: Programme,
}

/// Sets `amount` points aside for `order` for `ttl_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub order: String,
    pub amount: i64,
    pub ttl_ms: i64,
}

/// Gives `order`'s hold back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub order: String,
}

/// Spends `order`'s hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    pub order: String,
}

/// Records what `order` earned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Earn {
    pub order: String,
    pub amount: i64,
    pub programme: Programme,
}

/// Puts what `order` spent back into its lots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restore {
    pub order: String,
    pub actor: Actor,
}

/// Takes back what `order` earned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoke {
    pub order: String,
    pub actor: Actor,
}

/// The balance and a page of the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsView {
    pub balance: Balance,
    /// Newest first.
    pub rows: Vec<Row>,
    /// More rows follow the last one.
    pub more: bool,
}

/// What a change left: the balance after it, and whether it was a repeat
/// that changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changed {
    pub balance: Balance,
    pub replayed: bool,
}

/// The hold an order has, and the balance after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub hold: LedgerHold,
    pub balance: Balance,
}
