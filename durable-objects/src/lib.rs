//! Edgecart's Durable Object classes, each SQLite-backed, and the typed
//! protocol the Worker uses to reach them.
//!
//! - [`catalog_writer::CatalogWriter`]: the single writer of the catalog
//!   (admin writes, imports, audit trail, publishing to KV).
//! - [`sku_stock::SkuStock`]: one per SKU, its stock ledger (holds with
//!   expiry by alarm, commits, adjustments, movement history).
//! - [`cart_object::CartObject`]: one per cart, its lines and token; it
//!   takes and extends the holds of its lines.
//! - [`availability::AvailabilityPublisher`]: one object that publishes
//!   the stock snapshot (which SKUs have units available) to KV from the
//!   SKU objects' reports, for the listing's `in_stock` filter.
//! - [`store_object::StoreObject`]: one per store, its configuration
//!   (tax, shipping, payment provider), promotions, coupon redemptions,
//!   order index and audit trail.
//! - [`order_object::OrderObject`]: one per order, its record and token.
//! - [`store_directory::StoreDirectory`]: one object holding every store's
//!   profile (hosts unique across stores), published to KV for resolving
//!   requests to stores.
//! - [`points_ledger::PointsLedger`]: one per (store, member), the
//!   member's points (lots, holds, spendings, debt) and their history.
//! - [`webhook_hub::WebhookHub`]: one per store, its merchant webhook
//!   endpoints and the deliveries of events to them (retried for about
//!   three days, every attempt logged). Objects that change state write
//!   their events to an [`outbox`] in the same transaction; the events
//!   queue carries them to the hub.
//! - [`guard::Guard`]: one per (store, kind, key), the strikes an abuse
//!   control counts against a client, a cart or a card (declined
//!   payments), so the next attempt is refused before it is made.
//!
//! Objects stay thin: load state, call the pure rules in `edgecart-domain`,
//! persist in one atomic block. They must not compute prices, validate
//! products or apply stock rules themselves, and they are called only
//! through the typed commands in [`protocol`], never ad-hoc URLs.
//!
//! What this crate must not contain:
//! - HTTP meaning: no status code, no problem+json, no response wording.
//!   An object answers its command's reply, its class's refusal enum, or
//!   a `Failure`; the Worker alone turns those into responses. The only
//!   HTTP here is outbound, to payment providers (`payment`), reduced to
//!   typed outcomes at once.
//!   (The doc comments of the protocol types the API shows are their
//!   OpenAPI descriptions: they say what a value means, never which status
//!   carries it; the Worker's generator adds that.)
//! - `serde_json::Value` or stringly outcomes in the protocol, or a reply
//!   type chosen by the caller: each command names its reply.
//! - A per-object copy of the plumbing: fetch entry points, SQLite rows
//!   and alarms go through the scaffold in `object`.
//! - A change to a stored row shape without a test that earlier rows
//!   still load.

mod audit_trail;
pub mod availability;
pub mod cart_checkout;
pub mod cart_object;
pub mod catalog_writer;
pub mod guard;
mod object;
pub mod order_object;
pub mod outbox;
pub mod payment;
pub mod points_ledger;
pub mod protocol;
pub mod reports;
pub mod sku_stock;
pub mod store_directory;
pub mod store_object;
pub mod webhook_hub;
