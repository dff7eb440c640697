//! Edgecart's Durable Object classes, each SQLite-backed, and the typed
//! protocol the Worker uses to reach them.
//!
//! - [`catalog_writer::CatalogWriter`]: the single writer of the catalog
//!   (admin writes, imports, audit trail, publishing to KV).
//! - Later: one object per SKU stock ledger, cart, order and points ledger.
//!
//! Objects stay thin: load state, call the pure rules in `edgecart-domain`,
//! persist in one atomic block. They must not compute prices, validate
//! products or apply stock rules themselves, and they are called only
//! through the command enums in [`protocol`], never ad-hoc URLs.

pub mod catalog_writer;
pub mod protocol;
