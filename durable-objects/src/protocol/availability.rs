//! The availability publisher: one object (named [`NAME`]) that turns the
//! SKU objects' availability flips into the stock snapshot in KV, and
//! their crossings of the low mark into the low-stock list.

use super::{bind, Never, Protocol};
use serde::{Deserialize, Serialize};

/// The one object that publishes the stock snapshot.
pub const NAME: &str = "availability";

/// A command to the availability publisher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum AvailabilityCommand {
    Changed(Changed),
    LowList(LowList),
}

impl Protocol for AvailabilityCommand {
    const BINDING: &'static str = "AVAILABILITY";
    type Refusal = Never;
}

bind!(AvailabilityCommand {
    Changed => Noted,
    LowList => LowStockList,
});

/// `sku`'s availability may have flipped between none and some, or its
/// unsold units crossed the low mark (either way): re-read it, publish and
/// update the low-stock list (after a short gathering delay).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changed {
    pub sku: String,
}

/// The report is recorded (and the publication scheduled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Noted {}

/// The SKUs whose unsold units are at or below the low mark, as last
/// re-read: by unsold units, then SKU, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowList {
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowStockList {
    /// The low mark (`STOCK_LOW_MARK`).
    pub low_mark: i64,
    pub items: Vec<LowStock>,
}

/// A SKU whose unsold units are at or below the low mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"sku": "KTL-1-STEEL", "on_hand": 12, "sold": 9, "unsold": 3}])))]
pub struct LowStock {
    #[cfg_attr(feature = "openapi", schemars(with = "edgecart_domain::openapi::Sku"))]
    pub sku: String,
    /// Units in the warehouse.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64")))]
    pub on_hand: i64,
    /// Units sold and not yet shipped.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64")))]
    pub sold: i64,
    /// On hand less sold: what is left to sell (cart holds not counted).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64")))]
    pub unsold: i64,
}
