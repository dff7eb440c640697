//! Events other systems can trust, as pure rules: what each event says,
//! the id that names it however often it is sent, the Standard Webhooks
//! signature of a delivery, the retry schedule, and what an endpoint's
//! answer means.
//!
//! - **Types.** [`EVENT_TYPES`]: an order's `order.created`, `order.paid`,
//!   `order.fulfilled`, `order.cancelled`, `order.refunded`; a SKU's
//!   `stock.low` (available fell to the low mark or below) and
//!   `stock.out_of_stock` (to 0); `catalog.published`; a member's
//!   `points.changed`. Order and points events belong to their store;
//!   stock and catalog events to every store (the catalog and stock are
//!   shared).
//! - **Ids.** An event's id derives from the change it reports (the order
//!   and its history's position, the SKU and its movement, the catalog
//!   version, the member's history row), so an outbox row sent twice, a
//!   retry and a replay all carry the same `webhook-id`.
//! - **Signatures** ([Standard Webhooks]): `webhook-id`,
//!   `webhook-timestamp` (Unix seconds) and `webhook-signature`:
//!   `v1,` + base64 of HMAC-SHA256, keyed by the endpoint secret's bytes
//!   (`whsec_` + base64), of `"{id}.{timestamp}.{body}"`; during a
//!   rotation one signature per live secret, separated by spaces.
//! - **Retries** ([`retry_delay_ms`]): 5 s, 30 s, 2 min, 10 min, 30 min,
//!   1 h, 2 h, 4 h, 8 h, then 12 h five times (about 3 days in all), each
//!   ±20 % of jitter; then the delivery has failed (an admin may replay
//!   it).
//! - **Answers** ([`Verdict::of`]): 2xx delivered; 410 Gone disables the
//!   endpoint; anything else, or no answer within 10 s, is retried.
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com/
//!
//! What this module must not do: send anything, read a clock or a random
//! source (times and jitter are passed in).

use crate::order::Order;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Every event type, as endpoints subscribe to them.
pub const EVENT_TYPES: &[&str] = &[
    "order.created",
    "order.paid",
    "order.fulfilled",
    "order.cancelled",
    "order.refunded",
    "stock.low",
    "stock.out_of_stock",
    "catalog.published",
    "points.changed",
];

/// How long a delivery may take before it counts as failed.
pub const DELIVERY_TIMEOUT_MS: i64 = 10_000;
/// How long every attempt is kept in the delivery log.
pub const LOG_RETENTION_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// How long the previous secret still signs after a rotation.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 60 * 60 * 1000;

/// The delay before each retry (after attempt 1, 2, …), before jitter.
const SCHEDULE_MS: &[i64] = &[
    5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000,
    43_200_000, 43_200_000, 43_200_000, 43_200_000, 43_200_000,
];

/// How many attempts a delivery gets in all.
pub const MAX_ATTEMPTS: u32 = SCHEDULE_MS.len() as u32 + 1;

/// The wait before the next attempt after attempt `attempt` (1-based)
/// failed, with `jitter` in [0, 1) spreading it ±20 %; `None` once every
/// attempt was made.
pub fn retry_delay_ms(attempt: u32, jitter: f64) -> Option<i64> {
    let base = *SCHEDULE_MS.get(attempt.checked_sub(1)? as usize)?;
    let jitter = jitter.clamp(0.0, 1.0);
    // ±20 %: 0.8 + 0.4 × jitter of the base, in whole milliseconds.
    Some(base * 4 / 5 + ((base as f64) * 0.4 * jitter) as i64)
}

/// One event, as it is sent: the body of every delivery of it
/// (`{"id", "type", "store", "occurred_at_ms", "data"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Stable: the same change always has the same id (`webhook-id`).
    pub id: String,
    /// The store it belongs to; `None`: shared (catalog, stock), sent to
    /// every store's endpoints that take it.
    pub store: Option<String>,
    /// When the change was committed, in milliseconds since the epoch.
    pub occurred_at_ms: i64,
    /// Its type and what changed.
    #[serde(flatten)]
    pub body: EventBody,
}

/// An event's type (`type`) and what it says (`data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum EventBody {
    /// An order was placed (the order as recorded).
    #[serde(rename = "order.created")]
    OrderCreated(Box<Order>),
    /// An order's payment was taken.
    #[serde(rename = "order.paid")]
    OrderPaid(Box<Order>),
    #[serde(rename = "order.fulfilled")]
    OrderFulfilled(Box<Order>),
    #[serde(rename = "order.cancelled")]
    OrderCancelled(Box<Order>),
    #[serde(rename = "order.refunded")]
    OrderRefunded(Box<Order>),
    /// A SKU's unsold units fell to the low mark or below.
    #[serde(rename = "stock.low")]
    StockLow(StockNews),
    /// A SKU has no unsold units left.
    #[serde(rename = "stock.out_of_stock")]
    StockOut(StockNews),
    /// A catalog version went live.
    #[serde(rename = "catalog.published")]
    CatalogPublished(CatalogNews),
    /// A member's points changed.
    #[serde(rename = "points.changed")]
    PointsChanged(PointsNews),
}

impl EventBody {
    /// The event's type, as endpoints subscribe to it.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::OrderCreated(_) => "order.created",
            EventBody::OrderPaid(_) => "order.paid",
            EventBody::OrderFulfilled(_) => "order.fulfilled",
            EventBody::OrderCancelled(_) => "order.cancelled",
            EventBody::OrderRefunded(_) => "order.refunded",
            EventBody::StockLow(_) => "stock.low",
            EventBody::StockOut(_) => "stock.out_of_stock",
            EventBody::CatalogPublished(_) => "catalog.published",
            EventBody::PointsChanged(_) => "points.changed",
        }
    }

    /// The order an order's event carries (as it was when the event was
    /// made: every event of one change carries the order after it).
    pub fn order(&self) -> Option<&Order> {
        match self {
            EventBody::OrderCreated(o)
            | EventBody::OrderPaid(o)
            | EventBody::OrderFulfilled(o)
            | EventBody::OrderCancelled(o)
            | EventBody::OrderRefunded(o) => Some(o),
            EventBody::StockLow(_)
            | EventBody::StockOut(_)
            | EventBody::CatalogPublished(_)
            | EventBody::PointsChanged(_) => None,
        }
    }
}

/// A SKU's stock, when it became news.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockNews {
    pub sku: String,
    pub on_hand: i64,
    pub sold: i64,
    /// On hand less sold: what is left to sell (cart holds not counted).
    pub unsold: i64,
    /// The low mark it crossed.
    pub low_mark: i64,
}

/// A catalog version that went live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogNews {
    pub version: String,
}

/// A member's points after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointsNews {
    pub member: String,
    /// The change, in points (negative: taken).
    pub points: i64,
    /// What made it (`grant`, `adjust`, `earn`, `spend`, `restore`,
    /// `revoke`, `expire`, …).
    pub reason: String,
    pub available: i64,
    pub pending: i64,
}

/// The orders `events` carry, each once, as the latest of its events has
/// it (the longest history: an order's history only grows), in the order
/// they first appear: what a store's order index takes from a batch.
pub fn latest_orders<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<&'a Order> {
    let mut latest: Vec<&Order> = Vec::new();
    for order in events.into_iter().filter_map(|e| e.body.order()) {
        match latest.iter_mut().find(|o| o.id == order.id) {
            Some(seen) if seen.history.len() < order.history.len() => *seen = order,
            Some(_) => {}
            None => latest.push(order),
        }
    }
    latest
}

/// The id of an order's event: the order and the position, in its
/// history, of the change it reports (`created` has its own).
pub fn order_event_id(order: &str, kind: &str, position: usize) -> String {
    format!(
        "evt_{order}_{}_{position}",
        kind.trim_start_matches("order.")
    )
}

/// The events of `order`'s history from position `from` on (its
/// placement is `order.created`, then one event per status it reached),
/// each named by its position: recording an order or moving it makes the
/// events of the entries it added.
pub fn order_events(order: &Order, from: usize) -> Vec<Event> {
    use crate::order::OrderStatus as S;
    order
        .history
        .iter()
        .enumerate()
        .skip(from)
        .map(|(position, change)| {
            let o = Box::new(order.clone());
            let body = match change.status {
                S::PendingPayment => EventBody::OrderCreated(o),
                S::Paid => EventBody::OrderPaid(o),
                S::Fulfilled => EventBody::OrderFulfilled(o),
                S::Cancelled => EventBody::OrderCancelled(o),
                S::Refunded => EventBody::OrderRefunded(o),
            };
            Event {
                id: order_event_id(&order.id, body.kind(), position),
                store: Some(order.store.clone()),
                occurred_at_ms: change.at_ms,
                body,
            }
        })
        .collect()
}

/// The id of a SKU's stock event: the SKU and the operation that made it.
pub fn stock_event_id(sku: &str, kind: &str, op_id: &str) -> String {
    format!(
        "evt_stock_{}_{}_{}",
        crate::records::content_hash(sku.as_bytes()),
        crate::records::content_hash(op_id.as_bytes()),
        kind.trim_start_matches("stock.")
    )
}

/// The id of a catalog version's publication.
pub fn catalog_event_id(version: &str) -> String {
    format!("evt_catalog_{version}")
}

/// The id of a member's points change: the ledger and its history row.
pub fn points_event_id(store: &str, member: &str, seq: i64) -> String {
    format!(
        "evt_points_{}_{seq}",
        hex(format!("{store}:{member}").as_bytes())
    )
}

/// Whether available stock crossing from `before` to `after` is news:
/// `stock.out_of_stock` when it reached 0, `stock.low` when it fell to
/// `low` or below (from above it).
pub fn stock_event(before: i64, after: i64, low: i64) -> Option<&'static str> {
    if after >= before {
        return None;
    }
    if after <= 0 && before > 0 {
        Some("stock.out_of_stock")
    } else if after <= low && before > low {
        Some("stock.low")
    } else {
        None
    }
}

/// What an endpoint's answer to a delivery means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// 410 Gone: the endpoint asks to hear no more; it is disabled.
    Gone,
    /// Anything else (or no answer): try again by the schedule.
    Retry,
}

impl Verdict {
    /// The verdict of HTTP `status` (`None`: no answer).
    pub fn of(status: Option<u16>) -> Verdict {
        match status {
            Some(200..=299) => Verdict::Delivered,
            Some(410) => Verdict::Gone,
            _ => Verdict::Retry,
        }
    }
}

/// Why an endpoint secret cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSecret;

/// The key bytes of a `whsec_…` secret.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, BadSecret> {
    let b64 = secret.strip_prefix("whsec_").ok_or(BadSecret)?;
    let key = base64_decode(b64).ok_or(BadSecret)?;
    if key.len() < 24 {
        return Err(BadSecret);
    }
    Ok(key)
}

/// A `whsec_…` secret for `bytes` of randomness (at least 24).
pub fn new_secret(bytes: &[u8]) -> String {
    format!("whsec_{}", base64_encode(bytes))
}

/// The `webhook-signature` header of a delivery: one `v1,…` per secret.
pub fn sign(
    id: &str,
    timestamp_s: i64,
    body: &[u8],
    secrets: &[&str],
) -> Result<String, BadSecret> {
    let mut signatures = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let key = secret_key(secret)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes a key of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp_s.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        signatures.push(format!(
            "v1,{}",
            base64_encode(&mac.finalize().into_bytes())
        ));
    }
    Ok(signatures.join(" "))
}

/// A merchant's webhook endpoint, as the store's webhook object keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    /// The event types it takes; empty: every type.
    pub events: Vec<String>,
    pub description: String,
    /// False once disabled (by a 410 answer, or by an admin).
    pub enabled: bool,
    /// Why it was disabled (`gone`: it answered 410; `admin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Its signing secret (`whsec_…`).
    pub secret: String,
    /// The secret before the last rotation, and until when it still signs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<(String, i64)>,
    pub created_at_ms: i64,
}

impl Endpoint {
    /// Whether it takes events of `kind` now.
    pub fn takes(&self, kind: &str) -> bool {
        self.enabled && (self.events.is_empty() || self.events.iter().any(|e| e == kind))
    }

    /// The secrets that sign a delivery at `now_ms`: the current one, and
    /// the previous one during the day after a rotation.
    pub fn signing_secrets(&self, now_ms: i64) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let Some((previous, until)) = &self.previous_secret {
            if now_ms < *until {
                secrets.push(previous);
            }
        }
        secrets
    }

    /// Rotates to `secret` at `now_ms`: the current one keeps signing for
    /// [`ROTATION_OVERLAP_MS`].
    pub fn rotate(&mut self, secret: String, now_ms: i64) {
        let old = std::mem::replace(&mut self.secret, secret);
        self.previous_secret = Some((old, now_ms + ROTATION_OVERLAP_MS));
    }
}

/// The body of `POST /admin/v1/webhooks` (and, every field optional, of a
/// `PATCH`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"url": "https://merchant.example/hooks/edgecart", "events": ["order.paid", "order.refunded"], "description": "Fulfilment system"}])))]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    /// Where deliveries are POSTed: an `https://` URL (or `http://` to
    /// 127.0.0.1 or localhost, for local development), at most 2,048
    /// characters (else 422 `invalid_url`).
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 2048), extend("examples" = ["https://merchant.example/hooks/edgecart"])))]
    pub url: Option<String>,
    /// The event types it takes, each once (each one of the documented
    /// types, else 422 `unknown_event_type`; named twice, 422
    /// `duplicate_event_type`); empty or absent: every type.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "Option<Vec<EventType>>", length(max = 9))
    )]
    pub events: Option<Vec<String>>,
    /// Free text for the merchant, at most 200 characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(length(max = 200)))]
    pub description: Option<String>,
    /// `false` disables it; `true` enables it again (also after a 410).
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// An event type, as endpoints name them (for the OpenAPI document).
#[cfg(feature = "openapi")]
#[derive(schemars::JsonSchema)]
#[schemars(rename = "WebhookEventType")]
#[allow(dead_code)]
pub enum EventType {
    #[schemars(rename = "order.created")]
    OrderCreated,
    #[schemars(rename = "order.paid")]
    OrderPaid,
    #[schemars(rename = "order.fulfilled")]
    OrderFulfilled,
    #[schemars(rename = "order.cancelled")]
    OrderCancelled,
    #[schemars(rename = "order.refunded")]
    OrderRefunded,
    #[schemars(rename = "stock.low")]
    StockLow,
    #[schemars(rename = "stock.out_of_stock")]
    StockOut,
    #[schemars(rename = "catalog.published")]
    CatalogPublished,
    #[schemars(rename = "points.changed")]
    PointsChanged,
}

/// A field of an endpoint input that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointProblem {
    pub field: &'static str,
    pub code: &'static str,
    pub message: &'static str,
}

impl EndpointInput {
    /// Every problem of the input; `creating`: the URL is required.
    pub fn problems(&self, creating: bool) -> Vec<EndpointProblem> {
        let mut out = Vec::new();
        match &self.url {
            None if creating => out.push(EndpointProblem {
                field: "url",
                code: "required",
                message: "An endpoint needs the URL deliveries are sent to.",
            }),
            None => {}
            Some(url) if !endpoint_url_ok(url) => out.push(EndpointProblem {
                field: "url",
                code: "invalid_url",
                message: "The URL must be https:// (or http:// to 127.0.0.1 or localhost), at most 2048 characters, without spaces.",
            }),
            Some(_) => {}
        }
        if let Some(events) = &self.events {
            if events.iter().any(|e| !EVENT_TYPES.contains(&e.as_str())) {
                out.push(EndpointProblem {
                    field: "events",
                    code: "unknown_event_type",
                    message: "Each event type must be one of the documented types.",
                });
            }
            let distinct: std::collections::BTreeSet<&String> = events.iter().collect();
            if distinct.len() != events.len() {
                out.push(EndpointProblem {
                    field: "events",
                    code: "duplicate_event_type",
                    message: "Name each event type once.",
                });
            }
        }
        if self
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 200)
        {
            out.push(EndpointProblem {
                field: "description",
                code: "invalid_length",
                message: "At most 200 characters.",
            });
        }
        out
    }
}

/// Whether `url` may receive deliveries.
pub fn endpoint_url_ok(url: &str) -> bool {
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://") {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if !matches!(host, "127.0.0.1" | "localhost") {
            return false;
        }
        r
    } else {
        return false;
    };
    !rest.is_empty()
        && !rest.starts_with('/')
        && url.len() <= 2048
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut n = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = B64.iter().position(|b| *b == c)? as u32;
        n = (n << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((n >> bits) as u8);
            n &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_spans_about_three_days_with_bounded_jitter() {
        let total: i64 = (1..MAX_ATTEMPTS)
            .map(|a| retry_delay_ms(a, 0.5).unwrap())
            .sum();
        let days = total as f64 / 86_400_000.0;
        assert!((2.9..3.3).contains(&days), "{days} days");
        assert_eq!(retry_delay_ms(1, 0.0), Some(4_000));
        assert_eq!(retry_delay_ms(1, 1.0), Some(6_000));
        assert_eq!(retry_delay_ms(MAX_ATTEMPTS, 0.5), None);
        assert_eq!(retry_delay_ms(0, 0.5), None);
    }

    #[test]
    fn answers_mean_delivered_gone_or_retry() {
        assert_eq!(Verdict::of(Some(204)), Verdict::Delivered);
        assert_eq!(Verdict::of(Some(410)), Verdict::Gone);
        for s in [Some(301), Some(400), Some(404), Some(500), None] {
            assert_eq!(Verdict::of(s), Verdict::Retry, "{s:?}");
        }
    }

    #[test]
    fn stock_news_is_a_crossing_downwards() {
        assert_eq!(stock_event(10, 5, 5), Some("stock.low"));
        assert_eq!(stock_event(5, 4, 5), None, "already low");
        assert_eq!(stock_event(3, 0, 5), Some("stock.out_of_stock"));
        assert_eq!(stock_event(10, 0, 5), Some("stock.out_of_stock"));
        assert_eq!(stock_event(0, 0, 5), None);
        assert_eq!(stock_event(4, 9, 5), None, "restocked");
    }

    #[test]
    fn an_index_takes_each_order_once_as_its_latest_event_has_it() {
        use crate::order::{OrderEvent, OrderStatus};
        let mut order = crate::order::tests::order();
        order.apply(OrderEvent::PaymentCaptured, 2_000).unwrap();
        let mut cancelled = order.clone();
        cancelled
            .apply(OrderEvent::Cancel, 3_000)
            .expect("a paid order may be cancelled");
        let mut other = order.clone();
        other.id = "ord_other".into();
        let stock = Event {
            id: "evt_stock".into(),
            store: None,
            occurred_at_ms: 0,
            body: EventBody::StockOut(StockNews {
                sku: "A".into(),
                on_hand: 0,
                sold: 0,
                unsold: 0,
                low_mark: 0,
            }),
        };
        let placed = order_events(&order, 0);
        let moved = order_events(&cancelled, order.history.len());
        // The later change first (a retried message may come after it).
        let batch: Vec<Event> = moved
            .iter()
            .chain(&placed)
            .chain(&order_events(&other, 0))
            .chain([&stock])
            .cloned()
            .collect();
        let latest = latest_orders(&batch);
        assert_eq!(latest.len(), 2);
        assert_eq!(latest[0].status, OrderStatus::Cancelled);
        assert_eq!(latest[1].id, "ord_other");
        assert!(latest_orders(&placed)
            .iter()
            .all(|o| o.status == order.status));
    }

    #[test]
    fn ids_name_the_change() {
        assert_eq!(order_event_id("ord_1", "order.paid", 1), "evt_ord_1_paid_1");
        assert_ne!(
            stock_event_id("A", "stock.low", "op3"),
            stock_event_id("A", "stock.low", "op4")
        );
        assert_eq!(catalog_event_id("v7"), "evt_catalog_v7");
        assert_ne!(points_event_id("s", "m", 1), points_event_id("s", "n", 1));
    }

    #[test]
    fn endpoints_take_their_types_and_sign_with_live_secrets() {
        let mut e = Endpoint {
            id: "we_1".into(),
            url: "https://x.example/h".into(),
            events: vec!["order.paid".into()],
            description: String::new(),
            enabled: true,
            disabled_reason: None,
            secret: new_secret(&[1; 32]),
            previous_secret: None,
            created_at_ms: 0,
        };
        assert!(e.takes("order.paid") && !e.takes("order.created"));
        e.rotate(new_secret(&[2; 32]), 1_000);
        assert_eq!(e.signing_secrets(1_000).len(), 2);
        assert_eq!(
            e.signing_secrets(1_000 + ROTATION_OVERLAP_MS),
            vec![e.secret.as_str()]
        );
        e.enabled = false;
        assert!(!e.takes("order.paid"));
        for (url, ok) in [
            ("https://x.example/h", true),
            ("http://127.0.0.1:9/h", true),
            ("http://localhost/h", true),
            ("http://x.example/h", false),
            ("ftp://x", false),
            ("https://", false),
            ("https://a b", false),
        ] {
            assert_eq!(endpoint_url_ok(url), ok, "{url}");
        }
        let twice = EndpointInput {
            url: Some("https://x.example/h".into()),
            events: Some(vec!["stock.low".into(), "stock.low".into()]),
            description: None,
            enabled: None,
        };
        let codes: Vec<&str> = twice.problems(true).iter().map(|p| p.code).collect();
        assert_eq!(codes, ["duplicate_event_type"]);
        let input = EndpointInput {
            url: None,
            events: Some(vec!["order.lost".into()]),
            description: Some("x".repeat(201)),
            enabled: None,
        };
        let codes: Vec<&str> = input.problems(true).iter().map(|p| p.code).collect();
        assert_eq!(codes, ["required", "unknown_event_type", "invalid_length"]);
        assert!(input.problems(false).iter().all(|p| p.code != "required"));
    }

    /// The example of the Standard Webhooks specification.
    #[test]
    fn signatures_are_standard_webhooks() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let signed = sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, &[secret]).unwrap();
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let two = sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body,
            &[secret, &new_secret(&[7; 32])],
        )
        .unwrap();
        assert!(two.starts_with("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,"));
        assert_eq!(sign("x", 1, b"", &["nope"]), Err(BadSecret));
        assert_eq!(secret_key(&new_secret(&[1; 32])).unwrap(), vec![1; 32]);
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    }
}
