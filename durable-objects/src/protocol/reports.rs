//! The reports objects: one per store (named `reports:{store}`), the
//! store's sales, best-seller and points figures, fed by the events
//! queue's consumer with the store's own events.

use super::{bind, Never, Protocol};
use edgecart_domain::events::Event;
use edgecart_domain::money::Currency;
use edgecart_domain::reports::{PointsFigures, SalesFigures};
use serde::{Deserialize, Serialize};

/// The name of a store's reports object.
pub fn name(store: &str) -> String {
    format!("reports:{store}")
}

/// A command to a store's reports object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum ReportsCommand {
    Accept(Accept),
    Sales(Sales),
    BestSellers(BestSellers),
    Points(Points),
}

impl Protocol for ReportsCommand {
    const BINDING: &'static str = "REPORTS";
    type Refusal = Never;
}

bind!(ReportsCommand {
    Accept => Taken,
    Sales => SalesRows,
    BestSellers => BestSellerRows,
    Points => PointsRows,
});

/// Takes the store's events in: order events by the order's state (a
/// newer state replaces what the order contributed), points changes once
/// per id; other events are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accept {
    pub events: Vec<Event>,
}

/// The hourly sales rows in [`from_ms`, `to_ms`), of one currency or all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sales {
    pub from_ms: i64,
    pub to_ms: i64,
    pub currency: Option<Currency>,
}

/// The SKUs sold most (units, then revenue, then SKU) on the days in
/// [`from_ms`, `to_ms`), of one currency or all, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BestSellers {
    pub from_ms: i64,
    pub to_ms: i64,
    pub currency: Option<Currency>,
    pub limit: u32,
}

/// The hourly points rows in [`from_ms`, `to_ms`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Points {
    pub from_ms: i64,
    pub to_ms: i64,
}

/// What an `Accept` changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taken {
    /// Order events newer than what was kept of their order.
    pub orders: u32,
    /// Points changes not seen before.
    pub points: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesRow {
    pub hour_ms: i64,
    pub currency: Currency,
    #[serde(flatten)]
    pub figures: SalesFigures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesRows {
    /// By hour, then currency.
    pub rows: Vec<SalesRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BestSeller {
    pub sku: String,
    pub currency: Currency,
    pub units: i64,
    pub revenue: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BestSellerRows {
    pub items: Vec<BestSeller>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsRow {
    pub hour_ms: i64,
    #[serde(flatten)]
    pub figures: PointsFigures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsRows {
    /// By hour.
    pub rows: Vec<PointsRow>,
}
