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
    OutboxAck(OutboxAck),
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
    OutboxAck => OutboxAcked,
});

super::outbox_ack!();

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

/// The stock of one SKU at one moment. Always `available = on_hand − reserved −
/// sold ≥ 0`. A SKU whose stock was never set has all four at 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"on_hand": 10, "reserved": 2, "sold": 1, "available": 7}])))]
pub struct StockLevels {
    /// Units counted in stock, as set by `PUT /admin/v1/inventory/{sku}` and
    /// changed by adjustments and shipments. Sales do not lower it (they raise
    /// `sold`) until their order is fulfilled, which ships the units out of
    /// both; it never drops below `reserved + sold`.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = edgecart_domain::stock::MAX_QUANTITY), extend("examples" = [10])))]
    pub on_hand: i64,
    /// Units held by carts' holds that have not expired.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = edgecart_domain::stock::MAX_QUANTITY), extend("examples" = [2])))]
    pub reserved: i64,
    /// Units sold and not shipped yet (committed): checkouts' committed
    /// holds, until their order is fulfilled (shipped: the units leave
    /// `sold` and `on_hand` together), cancelled or refunded (back on sale).
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = edgecart_domain::stock::MAX_QUANTITY), extend("examples" = [1])))]
    pub sold: i64,
    /// `on_hand − reserved − sold`: units that can still be held.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = edgecart_domain::stock::MAX_QUANTITY), extend("examples" = [7])))]
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

/// One recorded movement of a SKU's stock. Movements are append-only and
/// numbered in the order they were applied; each was written atomically with
/// the change it records. One operation may record several movements (e.g.
/// `expire` movements for holds found due, then its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"seq": 3, "at": "2026-11-21T12:00:00.000Z", "op_id": "ops:delivery-42", "kind": "adjust", "cart": null, "on_hand_delta": 5, "reserved_delta": 0, "sold_delta": 0, "reason": "delivery 42"}])))]
pub struct MovementEntry {
    /// Position in the SKU's history: increases with each recorded movement.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1), extend("format" = "int64", "examples" = [3])))]
    pub seq: u64,
    /// When the movement was applied (RFC 3339, UTC, milliseconds).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time", "examples" = ["2026-11-21T12:00:00.000Z"])))]
    pub at: String,
    /// The operation that recorded it. For admin stock writes `{token
    /// label}:{Idempotency-Key}`, with a fresh 24-hex-digit key when the
    /// request sent none (or an invalid one); `alarm` for holds released by the
    /// object's expiry alarm; `{cart id}:{key}` for a cart's line change (its
    /// `Idempotency-Key`, or a fresh key); `{order id}:hold:{sku}`, `{order
    /// id}:commit:{sku}` and `{order id}:release:{sku}` for a checkout's steps;
    /// `{order id}:restock-cancel:{sku}` and `{order id}:restock-refund:{sku}`
    /// for an order's restock. Movements recorded by one operation share its
    /// id.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["ops:delivery-42"])))]
    pub op_id: String,
    #[serde(flatten)]
    pub movement: Movement,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub entries: Vec<MovementEntry>,
}
