//! The availability publisher: one object (named [`NAME`]) that turns the
//! SKU objects' availability flips into the stock snapshot in KV.

use super::{bind, Never, Protocol};
use serde::{Deserialize, Serialize};

/// The one object that publishes the stock snapshot.
pub const NAME: &str = "availability";

/// A command to the availability publisher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum AvailabilityCommand {
    Changed(Changed),
}

impl Protocol for AvailabilityCommand {
    const BINDING: &'static str = "AVAILABILITY";
    type Refusal = Never;
}

bind!(AvailabilityCommand { Changed => Noted });

/// `sku`'s availability may have flipped between none and some: re-read
/// it and publish (after a short gathering delay).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changed {
    pub sku: String,
}

/// The report is recorded (and the publication scheduled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Noted {}
