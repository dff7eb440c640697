//! The stock objects: one per SKU (named by the SKU), each its ledger.

use super::{bind, Protocol};
use edgecart_domain::stock::{Movement, StockError, StockOp};
use serde::{Deserialize, Serialize};

/// A command to one SKU's stock object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum StockCommand {
    Apply(Apply),
    Snapshot(Snapshot),
    History(History),
}

impl Protocol for StockCommand {
    const BINDING: &'static str = "SKU_STOCK";
    /// The ledger's refusal of an operation (a retry with the same
    /// operation id gets the first refusal again).
    type Refusal = StockError;
}

bind!(StockCommand {
    Apply => Applied,
    Snapshot => StockLevels,
    History => HistoryPage,
});

/// Applies `op` once: a retry with the same `op_id` gets the first outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Apply {
    pub op_id: String,
    pub op: StockOp,
}

/// The exact stock now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {}

/// Movements after sequence number `after`, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub after: u64,
    pub limit: u32,
}

/// Stock levels of one SKU at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevels {
    pub on_hand: i64,
    pub reserved: i64,
    pub sold: i64,
    pub available: i64,
}

/// An operation the ledger took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// False when `op_id` had been applied before (nothing moved now).
    pub applied: bool,
    /// The levels right after.
    pub levels: StockLevels,
}

/// One recorded movement of a SKU's stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovementEntry {
    pub seq: u64,
    /// RFC 3339.
    pub at: String,
    pub op_id: String,
    #[serde(flatten)]
    pub movement: Movement,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub entries: Vec<MovementEntry>,
}
