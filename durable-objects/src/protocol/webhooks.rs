//! The webhook objects: one per store (named `webhooks:{store}`), its
//! merchant endpoints, the events they take, every delivery attempt, and
//! the retries still owed.

use super::{bind, Protocol};
use edgecart_domain::events::Event;
use serde::{Deserialize, Serialize};

/// A command to a store's webhook object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum WebhookCommand {
    Accept(Accept),
    Create(Create),
    List(List),
    Get(Get),
    Update(Update),
    Delete(Delete),
    Rotate(Rotate),
    Deliveries(Deliveries),
    Replay(Replay),
}

impl Protocol for WebhookCommand {
    const BINDING: &'static str = "WEBHOOKS";
    type Refusal = WebhookRefusal;
}

bind!(WebhookCommand {
    Accept => Accepted,
    Create => EndpointView,
    List => EndpointList,
    Get => EndpointView,
    Update => EndpointView,
    Delete => Deleted,
    Rotate => EndpointView,
    Deliveries => DeliveryPage,
    Replay => Replayed,
});

/// Takes events in (each id once): a delivery to every enabled endpoint
/// that takes its type, attempted at once and retried by the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accept {
    pub events: Vec<Event>,
}

/// Creates endpoint `id` with its signing `secret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Create {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct List {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Get {
    pub id: String,
}

/// Changes what is given; disabling cancels its pending deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    pub id: String,
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// Deletes the endpoint and its pending deliveries (its log stays).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delete {
    pub id: String,
}

/// Rotates the endpoint's secret to `secret`; the old one keeps signing
/// for a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotate {
    pub id: String,
    pub secret: String,
}

/// The endpoint's delivery attempts, newest first, before `before` (a
/// sequence number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliveries {
    pub id: String,
    pub before: Option<i64>,
    pub limit: u32,
}

/// Delivers again to the endpoint one event (`event`) or every event that
/// occurred in [`from_ms`, `to_ms`) and that it takes (kept 30 days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replay {
    pub id: String,
    pub event: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// Deliveries created.
    pub deliveries: u32,
}

/// An endpoint as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "WebhookEndpoint", extend("examples" = [{"id": "we_3b9d2f4a6c8e0a1b2c3d4e5f", "url": "https://merchant.example/hooks/edgecart", "events": ["order.paid"], "description": "Fulfilment system", "enabled": true, "created_at_ms": 1795262400000_i64}])))]
pub struct EndpointView {
    /// `we_` and 24 hexadecimal digits.
    #[cfg_attr(feature = "openapi", schemars(regex(pattern = "^we_[0-9a-f]{24}$")))]
    pub id: String,
    pub url: String,
    /// The event types it takes; empty: every type.
    pub events: Vec<String>,
    pub description: String,
    /// False once disabled: by an admin, or because it answered 410 Gone.
    pub enabled: bool,
    /// Why it is disabled: `gone` (it answered 410) or `admin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schemars(extend("enum" = ["gone", "admin"])))]
    pub disabled_reason: Option<String>,
    /// The signing secret (`whsec_…`): answered only when the endpoint is
    /// created and when its secret is rotated. Keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Until when the secret before the last rotation still signs (each
    /// delivery then carries both signatures), in milliseconds since the
    /// epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_until_ms: Option<i64>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointList {
    pub endpoints: Vec<EndpointView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {}

/// One delivery attempt, as the log keeps it (30 days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "WebhookAttempt", extend("examples" = [{"seq": 42, "event": "evt_ord_3b9d2f4a6c8e0a1b2c3d4e5f_paid_1", "type": "order.paid", "attempt": 1, "at_ms": 1795262400512_i64, "status": 500, "duration_ms": 31, "outcome": "retry", "next_attempt_at_ms": 1795262405512_i64}])))]
pub struct Attempt {
    /// Its place in the log (the `cursor` of the next page).
    pub seq: i64,
    /// The event's id (`webhook-id`).
    pub event: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// 1 for the first attempt of this delivery.
    pub attempt: u32,
    pub at_ms: i64,
    /// The endpoint's HTTP status; absent when it did not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why it did not answer (a timeout, a refused connection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: i64,
    /// `delivered` (2xx), `retry` (tried again at `next_attempt_at_ms`),
    /// `failed` (every attempt made), `gone` (410: the endpoint is now
    /// disabled).
    #[cfg_attr(feature = "openapi", schemars(extend("enum" = ["delivered", "retry", "failed", "gone"])))]
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryPage {
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replayed {
    /// Deliveries scheduled.
    pub deliveries: u32,
}

/// Why a webhook object refused a command. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum WebhookRefusal {
    /// No endpoint has this id.
    NotFound,
    /// No event with this id is kept (older than 30 days, or never).
    NoSuchEvent,
    /// The store has as many endpoints as it may (20).
    TooMany,
}
