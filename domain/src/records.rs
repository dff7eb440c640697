//! Serialized records: the exact shapes stored in Workers KV. They are
//! contracts between versions of the Worker, so each carries a `schema`
//! number and refuses unknown fields. Domain code reads them through the
//! types in [`crate::catalog`] and [`crate::search`].
//!
//! KV layout (see ARCHITECTURE.md):
//! - `catalog/current` → [`CatalogPointer`], the only mutable key;
//! - `catalog/index/{version}` → [`CatalogIndex`], immutable;
//! - `catalog/products/{shard}/{rev}` → [`ProductShard`], immutable;
//! - `catalog/prices/{shard}/{rev}` → [`PriceShard`], immutable;
//! - `catalog/store-prices/{store}/{rev}` → [`StorePriceRecord`], one
//!   store's price list resolved against one version, immutable.
//!
//! Products are spread over [`SHARDS`] shards by a hash of their id, SKU
//! prices by a hash of the SKU, so a publish writes at most 2 × SHARDS + 2
//! keys however large the catalog, and a reader fetches one small shard.

use crate::money::Currency;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const PRODUCT_SCHEMA: u32 = 1;
pub const INDEX_SCHEMA: u32 = 3;
pub const POINTER_SCHEMA: u32 = 1;
pub const SHARD_SCHEMA: u32 = 1;

/// Number of product shards and of price shards.
pub const SHARDS: usize = 256;

/// The KV key of the mutable pointer to the published catalog version.
pub const POINTER_KEY: &str = "catalog/current";

/// The KV key of the stock snapshot pointer ([`StockPointer`]).
pub const STOCK_POINTER_KEY: &str = "stock/current";
pub const STOCK_SNAPSHOT_SCHEMA: u32 = 1;

/// The KV key of one published stock snapshot ([`StockSnapshot`]).
pub fn stock_snapshot_key(version: &str) -> String {
    format!("stock/snapshots/{version}")
}

/// The KV key of one published version's search index.
pub fn index_key(version: &str) -> String {
    format!("catalog/index/{version}")
}

/// The shard a product id or a SKU belongs to.
pub fn shard_of(key: &str) -> usize {
    (fnv1a64(key.as_bytes()) % SHARDS as u64) as usize
}

/// The KV key of one revision of one product shard.
pub fn product_shard_key(shard: usize, rev: &str) -> String {
    format!("catalog/products/{shard:03}/{rev}")
}

/// The KV key of one revision of one price shard.
pub fn price_shard_key(shard: usize, rev: &str) -> String {
    format!("catalog/prices/{shard:03}/{rev}")
}

/// The KV key of one revision of one store's price list.
pub fn store_prices_key(store: &str, rev: &str) -> String {
    format!("catalog/store-prices/{store}/{rev}")
}

pub const STORE_PRICES_SCHEMA: u32 = 1;

/// One store's price list as published with one catalog version: the
/// store's own prices of SKUs of that version (they replace the base
/// price in their currency, for that store only), and what they make of
/// each product they touch. Only the store's listings read it; the base
/// catalog is shared by every store, so a hundred stores cost a hundred of
/// these, not a hundred catalogs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorePriceRecord {
    pub schema: u32,
    /// SKU → currency → amount in minor units: the store's own prices.
    pub skus: BTreeMap<String, BTreeMap<Currency, i64>>,
    /// Product id → currency → lowest and highest variant price in the
    /// store, in every currency a variant of it has a price in (its own or
    /// the base one), for each product with a SKU in `skus`.
    pub products: BTreeMap<String, BTreeMap<Currency, [i64; 2]>>,
}

/// A product as the catalog writer stores it, after defaults are applied: the
/// record behind `GET /v1/products/{id_or_slug}`, read as it is by `GET
/// /admin/v1/products/{id}` (base prices, whatever the store). Without
/// `schema` it is a `ProductInput` that changes nothing when sent back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ProductRecord {
    /// Version of the record format.
    #[cfg_attr(feature = "openapi", schemars(extend("const" = 1)))]
    pub schema: u32,
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::ProductId"))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::Slug"))]
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Plain-text description (may be empty).
    pub description: String,
    /// Slug of the product's category.
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::Slug"))]
    pub category: String,
    /// Merchant tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Merchandising rank: lower comes first in the featured order.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = 4294967295_i64)))]
    #[serde(default)]
    pub position: u32,
    /// RFC 3339 timestamp, as given or as stamped by the writer (UTC,
    /// milliseconds).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time"), extend("examples" = ["2026-11-21T12:00:00.000Z"])))]
    pub created_at: String,
    /// Product images, the main one first.
    #[serde(default)]
    pub images: Vec<ImageRecord>,
    /// The product's variants, in input order.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1)))]
    pub variants: Vec<VariantRecord>,
    /// Most units of each variant one cart may hold. Absent when the product
    /// sets no limit (a cart line still holds at most 99 units).
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 99), extend("examples" = [3])))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_order: Option<i64>,
}

/// A product image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "Image"))]
#[serde(deny_unknown_fields)]
pub struct ImageRecord {
    /// An absolute `https://` URL, or a path starting with `/` on the API's
    /// origin.
    #[cfg_attr(feature = "openapi", schemars(length(max = 2048), extend("format" = "uri-reference"), extend("examples" = ["/img/coffee-tea.svg"])))]
    pub url: String,
    /// Alternative text for the image.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1)))]
    pub alt: String,
}

/// A stored variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct VariantRecord {
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::Sku"))]
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Option names and values (may be empty).
    #[cfg_attr(feature = "openapi", schemars(extend("additionalProperties" = {"type": "string"})))]
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Price list: upper-case ISO 4217 code → integer minor units, ordered by
    /// code.
    #[cfg_attr(feature = "openapi", schemars(extend("propertyNames" = {"$ref": "#/components/schemas/CurrencyCode"}, "additionalProperties" = {"type": "integer", "format": "int64", "minimum": 0, "maximum": 100000000000_i64}, "minProperties" = 1), extend("examples" = [{"EUR": 2300, "USD": 2500}])))]
    pub prices: BTreeMap<Currency, i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRecord {
    pub slug: String,
    pub name: String,
}

/// The mutable pointer: which catalog version is live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogPointer {
    pub schema: u32,
    /// Content hash of the index: changes whenever anything shown changes.
    pub version: String,
    /// Publication counter, increasing with every publish.
    pub seq: u64,
}

/// The mutable pointer to the live stock snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockPointer {
    pub schema: u32,
    /// Content hash of the snapshot.
    pub version: String,
    /// When the snapshot was taken (ms since the Unix epoch).
    pub taken_at_ms: i64,
}

/// Which SKUs had units available when the snapshot was taken: the
/// listing's `in_stock` filter. Published by the availability publisher
/// from the SKU objects' reports; it lags the exact per-SKU ledgers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockSnapshot {
    pub schema: u32,
    /// Sorted, without duplicates.
    pub in_stock: Vec<String>,
}

impl StockSnapshot {
    pub fn new(mut in_stock: Vec<String>) -> Self {
        in_stock.sort_unstable();
        in_stock.dedup();
        StockSnapshot {
            schema: STOCK_SNAPSHOT_SCHEMA,
            in_stock,
        }
    }

    /// The snapshot's version: the content hash of its JSON.
    pub fn version(&self) -> String {
        content_hash(serde_json::to_string(self).unwrap_or_default().as_bytes())
    }

    pub fn contains(&self, sku: &str) -> bool {
        self.in_stock
            .binary_search_by(|s| s.as_str().cmp(sku))
            .is_ok()
    }
}

/// One published catalog version's search index, decoded once per isolate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogIndex {
    pub schema: u32,
    pub currencies: Vec<Currency>,
    pub categories: Vec<CategoryRecord>,
    pub products: Vec<IndexedProduct>,
    /// Revision of each product shard ("" for an empty shard).
    pub product_shards: Vec<String>,
    /// Revision of each price shard ("" for an empty shard).
    pub price_shards: Vec<String>,
    /// Store id → revision of its price list ([`store_prices_key`]), for
    /// every store with prices of its own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub store_prices: BTreeMap<String, String>,
}

/// The full records of the products whose id hashes to one shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductShard {
    pub schema: u32,
    pub products: BTreeMap<String, ProductRecord>,
}

/// The price lists of the SKUs that hash to one shard: what checkout charges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceShard {
    pub schema: u32,
    pub skus: BTreeMap<String, SkuPrices>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkuPrices {
    /// Id of the product the SKU belongs to.
    pub product: String,
    pub prices: BTreeMap<Currency, i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_order: Option<i64>,
}

/// What the index keeps of a product: enough to search, filter, sort and
/// render a listing card, plus the revision of its full record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexedProduct {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub category: String,
    pub tags: Vec<String>,
    pub description: String,
    pub position: u32,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
    pub image: Option<ImageRecord>,
    pub variant_count: u32,
    /// Lowest and highest variant price per currency, in minor units.
    pub prices: BTreeMap<Currency, [i64; 2]>,
    /// The variants' SKUs (the `in_stock` filter looks them up in the stock
    /// snapshot). Absent in indexes published before it existed.
    #[serde(default)]
    pub skus: Vec<String>,
}

/// FNV-1a, 64 bit: a stable content hash for revisions and versions (not a
/// security boundary: it only names content).
pub fn content_hash(bytes: &[u8]) -> String {
    format!("{:016x}", fnv1a64(bytes))
}

/// The FNV-1a 64-bit hash behind [`content_hash`].
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
