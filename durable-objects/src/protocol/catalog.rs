//! The catalog writer: the one object (named [`NAME`]) every catalog write
//! goes through, and its audit trail.

use super::{bind, FieldProblem, Protocol};
use edgecart_domain::admin::{Conflict, Missing, StorePriceChange};
use edgecart_domain::money::Currency;
use edgecart_domain::records::{CatalogPointer, ProductRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// All catalog writes go through this one object, which serializes them.
pub const NAME: &str = "catalog";

pub use super::audit::{Actor, AuditEntry, AuditPage};

/// A command to the catalog writer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum CatalogCommand {
    UpsertProduct(UpsertProduct),
    DeleteProduct(DeleteProduct),
    SetPrice(SetPrice),
    DeletePrice(DeletePrice),
    UpsertCategory(UpsertCategory),
    ImportBatch(ImportBatch),
    Publish(Publish),
    Audit(Audit),
    SetStorePrices(SetStorePrices),
    ListStorePrices(ListStorePrices),
    GetProduct(GetProduct),
    OutboxAck(OutboxAck),
}

impl Protocol for CatalogCommand {
    const BINDING: &'static str = "CATALOG_WRITER";
    type Refusal = CatalogRefusal;
}

bind!(CatalogCommand {
    UpsertProduct => Written,
    DeleteProduct => Written,
    SetPrice => Written,
    DeletePrice => Written,
    UpsertCategory => Written,
    ImportBatch => Imported,
    Publish => Published,
    Audit => AuditPage,
    SetStorePrices => StorePricesWritten,
    ListStorePrices => StorePricePage,
    GetProduct => StoredProduct,
    OutboxAck => OutboxAcked,
});

super::outbox_ack!();

/// Creates or replaces product `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpsertProduct {
    pub actor: Actor,
    pub id: String,
    /// The admin's body, raw JSON text. Why text: the writer reads it with
    /// `admin::parse_input` into a `ProductInput`, whose price amounts stay
    /// unchecked JSON until the rule checks them field by field; the text
    /// is parsed once, there, so its problems name the admin's fields.
    pub product: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteProduct {
    pub actor: Actor,
    pub id: String,
}

/// Sets a SKU's price: the Worker has read the amount as an integer of
/// minor units within limits (refusing anything else with a 422).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetPrice {
    pub actor: Actor,
    pub sku: String,
    pub currency: Currency,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletePrice {
    pub actor: Actor,
    pub sku: String,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpsertCategory {
    pub actor: Actor,
    pub slug: String,
    pub name: String,
}

/// Applies import lines (line number, raw JSON text, for the reason given
/// at [`UpsertProduct::product`]); publishing waits for [`Publish`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportBatch {
    pub actor: Actor,
    pub lines: Vec<(u32, String)>,
}

/// Publishes pending changes (if any) and answers the live pointer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publish {}

/// Audit entries after `after` (a sequence number), oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    pub after: u64,
    pub limit: u32,
}

/// Sets or removes some of one store's own prices, all or nothing (the
/// Worker has read each currency and amount).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetStorePrices {
    pub actor: Actor,
    pub store: String,
    pub prices: Vec<StorePriceChange>,
}

/// A page of one store's own prices, by SKU, after SKU `after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListStorePrices {
    pub store: String,
    pub after: Option<String>,
    pub limit: u32,
}

/// Reads product `id` as the writer stores it: the shared catalog's own
/// record (base prices, `position`, `created_at`), not any store's view of
/// it. Changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetProduct {
    pub id: String,
}

/// Product `id` as stored, the record a product write answers with; `None`
/// when the catalog has no such product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredProduct {
    pub product: Option<ProductRecord>,
}

/// What a store price batch did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorePricesWritten {
    /// How many prices changed (the others already were so).
    pub changed: u32,
    /// The live catalog after the write (published before replying).
    pub pointer: Option<CatalogPointer>,
}

/// SKUs with prices of the store's own, in SKU order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorePricePage {
    pub skus: Vec<(String, BTreeMap<Currency, i64>)>,
    /// More follow.
    pub more: bool,
}

/// Why the writer refused a write; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum CatalogRefusal {
    /// The body is not the expected JSON.
    BadInput { problem: FieldProblem },
    /// The input breaks rules: every problem.
    Invalid { errors: Vec<FieldProblem> },
    /// The target does not exist.
    NotFound { missing: Missing },
    /// The write contradicts the current state.
    Conflict { conflict: Conflict },
    /// Entry `index` of a store price batch names a SKU the catalog does
    /// not have.
    UnknownSku { index: u32 },
}

/// What a single write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteOutcome {
    Created,
    Updated,
    Deleted,
    /// Already so: nothing was written.
    Unchanged,
}

/// The answer to a single write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Written {
    pub outcome: WriteOutcome,
    /// The live catalog after the write (published before replying).
    pub pointer: Option<CatalogPointer>,
    /// The stored product after a product or price write (none once deleted).
    pub product: Option<ProductRecord>,
}

/// Per-line results of one import batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imported {
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
    pub rejected: Vec<RejectedLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedLine {
    pub line: u32,
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub pointer: Option<CatalogPointer>,
}
