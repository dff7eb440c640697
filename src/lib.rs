//! The Edgecart Worker: HTTP routing, the public catalog API served from
//! Workers KV, edge caching, request ids and structured logs.
//!
//! This crate is glue. Shop rules (money, search, validation, publishing)
//! live in `edgecart-domain`; Durable Object classes live in
//! `edgecart-durable-objects`. Here we only parse requests, load what the
//! domain needs, call it, and render its answer. Modules that do not touch
//! the runtime (`http`, `routes`, `catalog_api`, `config`) are tested
//! natively with `cargo test`.

pub mod admin_api;
pub mod app;
pub mod cart_api;
pub mod catalog_api;
pub mod catalog_store;
pub mod checkout_api;
pub mod config;
pub mod events;
pub mod http;
pub mod inventory_api;
pub mod limits;
pub mod members;
pub mod objects;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod points_api;
pub mod reports_api;
pub mod routes;
pub mod shop_html;
pub mod shop_pages;
pub mod stock_cache;
pub mod store_api;
pub mod store_cache;
pub mod store_prices_api;
pub mod stores;
pub mod webhook_endpoints;
pub mod webhooks;

use worker::{event, Context, Env, MessageBatch, Request, Response};

/// Durable Object classes must be exported by the Worker's module.
pub use edgecart_durable_objects::availability::AvailabilityPublisher;
pub use edgecart_durable_objects::cart_object::CartObject;
pub use edgecart_durable_objects::catalog_writer::CatalogWriter;
pub use edgecart_durable_objects::order_object::OrderObject;
pub use edgecart_durable_objects::points_ledger::PointsLedger;
pub use edgecart_durable_objects::reports::Reports;
pub use edgecart_durable_objects::sku_stock::SkuStock;
pub use edgecart_durable_objects::store_object::StoreObject;

pub use edgecart_durable_objects::webhook_hub::WebhookHub;

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    Ok(app::handle(req, &env).await)
}

/// The events queue (`EVENTS`): events forwarded from the objects'
/// outboxes, handed to the stores' webhook objects.
#[event(queue)]
async fn queue(batch: MessageBatch<String>, env: Env, _ctx: Context) -> worker::Result<()> {
    events::consume(batch, &env).await
}
