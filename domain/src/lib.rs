//! Edgecart's domain: the rules of the shop as pure Rust.
//!
//! Money, the catalog model and its validation, publishing a catalog
//! version, merchant changes to the catalog, catalog search (full text,
//! filters, facets, sorting, keyset pagination), the per-SKU stock ledger,
//! plus the deterministic demo catalog. For checkout: promotions and
//! coupons, tax rates and tax arithmetic, shipping methods, the price of a
//! whole cart (lines, discounts, shipping, tax), the order record and its
//! status machine, and idempotency keys.
//!
//! What this crate must not do: depend on `worker` or any runtime, perform
//! I/O, read a clock or a random source, or know about HTTP (no status
//! codes, no headers). Time and randomness, when rules need them, are
//! passed in as values. Everything here is tested natively with `cargo test`.

pub mod abuse;
pub mod admin;
pub mod audit;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod cursor;
pub mod demo;
pub mod events;
pub mod idempotency;
pub mod member;
pub mod money;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod order;
pub mod payments;
pub mod points;
pub mod pricing;
pub mod promotion;
pub mod records;
pub mod reports;
pub mod search;
pub mod secret;
pub mod shipping;
pub mod stock;
pub mod store;
pub mod stores;
pub mod tax;
pub mod text;
