//! Merchant changes to the catalog: the inputs the admin API accepts and
//! the rules that apply them to the authoritative catalog state, each
//! yielding the [`Change`] that the audit trail records.
//!
//! Inputs are explicit types that refuse unknown fields (no mass
//! assignment). Applying is all-or-nothing per item: a refused change leaves
//! the state exactly as it was.

use crate::catalog::{
    is_slug, limits, publish_with_stores, validate_product, FieldError, Publication, StorePrices,
};
use crate::money::{Currency, CurrencyError};
use crate::records::{CategoryRecord, ImageRecord, ProductRecord, VariantRecord, PRODUCT_SCHEMA};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Largest accepted JSON body of a single admin write, and of one import line.
pub const MAX_ITEM_BYTES: usize = 64 * 1024;

/// A product as the admin API accepts it: the body of `PUT
/// /admin/v1/products/{id}` and each line of an import. It replaces the whole
/// product (fields left out take their defaults, they do not keep stored
/// values, except `created_at`). Unknown fields are refused (400
/// `unknown_field`, no mass assignment); a missing required field is 400
/// `missing_field` and a wrong JSON type 400 `invalid_type`, each naming the
/// field. Rule violations are 422 `validation_failed` (on an import line, a
/// rejected line) listing every problem found. The stored product (`GET
/// /admin/v1/products/{id}`) without its `schema` is one, which sent back
/// unedited changes nothing.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"id": "prd_kettle1", "slug": "stovetop-kettle", "name": "Stovetop Kettle", "description": "A 1.7 l kettle for gas and induction hobs.", "category": "kitchen", "tags": ["tea", "induction"], "position": 10, "images": [{"url": "/img/kitchen.svg", "alt": "Stovetop Kettle"}], "variants": [{"sku": "KTL-1-STEEL", "name": "Steel", "options": {"finish": "Steel"}, "prices": {"USD": 2500, "EUR": 2300}}]}])))]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// The product's id (422 `invalid_id` when malformed). In `PUT
    /// /admin/v1/products/{id}` it must equal the path's `{id}` (else 422
    /// `id_mismatch`).
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::ProductId"))]
    pub id: String,
    /// Unique across products (422 `duplicate_slug`); malformed is 422
    /// `invalid_slug`.
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::Slug"))]
    pub slug: String,
    /// Display name, 1 to 200 characters (422 `invalid_length`). Leading and
    /// trailing whitespace does not count towards the length.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 200), extend("examples" = ["Stovetop Kettle"])))]
    pub name: String,
    /// Plain-text description, at most 5000 characters (422 `invalid_length`).
    #[cfg_attr(feature = "openapi", schemars(length(max = 5000)))]
    #[serde(default)]
    pub description: String,
    /// Slug of an existing category (else 422 `unknown_category`); create
    /// categories first with `PUT /admin/v1/categories/{slug}`.
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::Slug", extend("examples" = ["kitchen"])))]
    pub category: String,
    /// Merchant tags: at most 20 (422 `too_many`), each 1 to 40 characters (422
    /// `invalid_length`). Leading and trailing whitespace does not count
    /// towards the length.
    #[cfg_attr(
        feature = "openapi",
        schemars(length(max = 20), inner(length(min = 1, max = 40)))
    )]
    #[serde(default)]
    pub tags: Vec<String>,
    /// Merchandising rank: lower comes first in the merchant's featured order
    /// (`sort=relevance` without `q`). A negative, fractional or larger number
    /// is 400 `invalid_type`.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = 4294967295_i64)))]
    #[serde(default)]
    pub position: u32,
    /// When the product was added (RFC 3339, else 422 `invalid_timestamp`),
    /// stored as given. Optional: when absent or null, a replaced product keeps
    /// its stored timestamp and a new one gets the time of the write, so
    /// re-sending the same input changes nothing.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time"), extend("examples" = ["2026-03-14T09:26:53Z"])))]
    pub created_at: Option<String>,
    /// Product images, the main one first: at most 10 (422 `too_many`). Each
    /// `url` is an `https://` URL or a path starting with `/`, without
    /// whitespace, at most 2048 characters (422 `invalid_url`); each `alt` is 1
    /// to 200 characters (422 `invalid_length`). Leading and trailing
    /// whitespace does not count towards the length. Unknown image fields are
    /// 400 `unknown_field`.
    #[cfg_attr(feature = "openapi", schemars(length(max = 10)))]
    #[serde(default)]
    pub images: Vec<ImageRecord>,
    /// The product's variants: 1 to 50 (422 `invalid_length`).
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 50)))]
    pub variants: Vec<VariantInput>,
    /// Most units of each of this product's variants one cart may hold, from 1
    /// to 99 (else 422 `invalid_quantity`; a non-integer is 400
    /// `invalid_type`). Optional: absent or null sets no product limit, and a
    /// cart line still holds at most 99 units. Lowering it does not change
    /// carts, but a line change that would leave a line above it is refused
    /// (422 `quantity_limit`).
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 99), extend("examples" = [3])))]
    #[serde(default)]
    pub max_per_order: Option<i64>,
}

/// One variant (SKU) of a product input. Unknown fields are refused (400
/// `unknown_field`).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct VariantInput {
    /// Unique across the catalog: used twice in this product, or by another
    /// product, is 422 `duplicate_sku`; malformed is 422 `invalid_sku`.
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::Sku"))]
    pub sku: String,
    /// Display name, 1 to 100 characters (422 `invalid_length`). Leading and
    /// trailing whitespace does not count towards the length.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 100), extend("examples" = ["Steel"])))]
    pub name: String,
    /// Option names and values that distinguish this variant; at most 10 (422
    /// `too_many`).
    #[cfg_attr(feature = "openapi", schemars(extend("maxProperties" = 10), extend("examples" = [{"finish": "Steel"}])))]
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Price list: ISO 4217 currency code (case-insensitive, stored upper case)
    /// → amount in integer minor units of that currency. At least one price
    /// (empty is 422 `missing_price`). A code the shop does not know (AUD, CAD,
    /// CHF, EUR, GBP, JPY, USD) is 422 `unknown_currency`; an amount that is
    /// not an integer from 0 to 100000000000 (a float, string, negative number
    /// …) is 422 `invalid_price`, not 400. Every problem of the product is
    /// reported at once.
    #[cfg_attr(feature = "openapi", schemars(extend("propertyNames" = {"type": "string", "pattern": "^([Aa][Uu][Dd]|[Cc][Aa][Dd]|[Cc][Hh][Ff]|[Ee][Uu][Rr]|[Gg][Bb][Pp]|[Jj][Pp][Yy]|[Uu][Ss][Dd])$"}, "additionalProperties" = {"type": "integer", "format": "int64", "minimum": 0, "maximum": 100000000000_i64}, "minProperties" = 1), extend("examples" = [{"USD": 2500, "EUR": 2300}])))]
    pub prices: BTreeMap<String, Value>,
}

/// The body of `PUT /admin/v1/categories/{slug}`. Unknown fields are refused
/// (400 `unknown_field`).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    /// Display name, 1 to 200 characters after trimming (else 422
    /// `invalid_length`); stored trimmed.
    #[cfg_attr(feature = "openapi", schemars(regex(pattern = r"\S"), length(min = 1, max = 200), extend("examples" = ["Kitchen & Dining"])))]
    pub name: String,
}

/// The body of `PUT /admin/v1/prices/{sku}/{currency}`. Unknown fields
/// (including `currency`, which is in the path) are refused (400
/// `unknown_field`).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    /// The price in integer minor units of the path's currency (cents for USD,
    /// yen for JPY). Anything but an integer from 0 to 100000000000 (a float, a
    /// string, a negative number …) is 422 `invalid_price` with `field`
    /// `amount`.
    #[cfg_attr(feature = "openapi", schemars(extend("type" = "integer", "format" = "int64", "minimum" = 0, "maximum" = 100000000000_i64), extend("examples" = [2600])))]
    pub amount: Value,
}

/// The body of `POST /admin/v1/store/prices`: the store's own prices to
/// set or remove, all or nothing. A later entry for the same SKU and
/// currency wins.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"prices": [{"sku": "KTL-1-STEEL", "currency": "GBP", "amount": 1999}, {"sku": "KTL-1-STEEL", "currency": "EUR", "amount": null}]}])))]
#[serde(deny_unknown_fields)]
pub struct StorePricesInput {
    /// 1 to 1,000 prices.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 1000)))]
    pub prices: Vec<StorePriceInput>,
}

/// One of a store's own prices: it replaces the base price of `sku` in
/// `currency` in this store only.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StorePriceInput {
    /// A SKU of the live catalog (else 404 `sku_not_found`).
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::Sku"))]
    pub sku: String,
    /// An ISO 4217 code (an unknown one is 404 `unknown_currency`). It
    /// need not be one the base catalog is priced in: a store may sell in
    /// a currency of its own.
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::CurrencyCode"))]
    pub currency: String,
    /// Integer minor units from 0 to 100000000000; `null` removes the
    /// store's own price (the base price applies again).
    #[cfg_attr(feature = "openapi", schemars(extend("type" = ["integer", "null"], "format" = "int64", "minimum" = 0, "maximum" = 100000000000_i64), extend("examples" = [1999])))]
    pub amount: Value,
}

/// Why a body could not be read as the expected input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// `invalid_json`, `unknown_field`, `missing_field` or `invalid_type`.
    pub code: &'static str,
    /// Path of the offending field, when known (`variants[0].name`).
    pub field: Option<String>,
    pub message: String,
}

/// The largest integer a JSON number written with a fraction part can
/// stand for exactly (2^53): `25.0` is the integer 25, as JSON Schema's
/// `integer` type counts it; a larger float is no exact integer.
const MAX_EXACT_FLOAT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// Rewrites every number written as an integral float (`25.0`, `1e3`)
/// within ±2^53 as the integer it is, so integer fields accept what JSON
/// Schema calls an integer; other floats stay floats (and integer fields
/// refuse them).
fn integral_numbers(value: &mut Value) {
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| !n.is_i64() && !n.is_u64()) {
                if f.fract() == 0.0 && f.abs() <= MAX_EXACT_FLOAT_INTEGER {
                    *n = serde_json::Number::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// Parses a JSON body into an input type, naming the offending field.
/// Integral floats count as integers (see `integral_numbers`): a body
/// an integer field refuses for a float is read again with its integral
/// floats rewritten.
pub fn parse_input<T: for<'de> Deserialize<'de>>(json: &str) -> Result<T, InputError> {
    // Every input is a JSON object; serde would also read a struct from
    // an array of its fields in order, which no client means.
    if json.trim_start().starts_with('[') {
        return Err(InputError {
            code: "invalid_type",
            field: None,
            message: "invalid type: array, expected a JSON object".into(),
        });
    }
    match deserialize_input(&mut serde_json::Deserializer::from_str(json)) {
        Err(e)
            if e.code == "invalid_type"
                && e.message.starts_with("invalid type: floating point") =>
        {
            let mut value: Value = serde_json::from_str(json).map_err(|_| e)?;
            integral_numbers(&mut value);
            deserialize_input(value)
        }
        parsed => parsed,
    }
}

fn deserialize_input<'de, T, D>(de: D) -> Result<T, InputError>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de, Error = serde_json::Error>,
{
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        let field = (path != ".").then_some(path);
        let code = if inner.is_syntax() || inner.is_eof() {
            "invalid_json"
        } else if message.starts_with("unknown field") {
            "unknown_field"
        } else if message.starts_with("missing field") {
            "missing_field"
        } else {
            "invalid_type"
        };
        let field = match code {
            // serde reports a missing field at its parent object: name the field itself.
            "missing_field" => {
                let name = message.split('`').nth(1).unwrap_or_default();
                Some(match field {
                    Some(parent) => format!("{parent}.{name}"),
                    None => name.to_string(),
                })
            }
            "invalid_json" => None,
            _ => field,
        };
        InputError {
            code,
            field,
            message,
        }
    })
}

/// A price amount: a JSON integer of minor units within limits.
pub fn parse_amount(value: &Value) -> Option<i64> {
    integer_value(value).filter(|a| (0..=limits::PRICE_MAX).contains(a))
}

/// A JSON number as an `i64` when it is an integer, written as one or as
/// an integral float within ±2^53 (`2500.0`, as JSON Schema counts it).
pub fn integer_value(value: &Value) -> Option<i64> {
    let mut value = value.clone();
    integral_numbers(&mut value);
    value.as_i64()
}

impl ProductInput {
    /// The record this input describes, with the problems of its price
    /// lists (currency codes, amounts); `created_at` falls back to `existing`
    /// (the stored timestamp) and then to `now`.
    fn into_record(self, existing: Option<&str>, now: &str) -> (ProductRecord, Vec<FieldError>) {
        let mut errors = Vec::new();
        let variants =
            self.variants
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let mut prices = BTreeMap::new();
                    for (code, amount) in v.prices {
                        let field = format!("variants[{i}].prices.{code}");
                        match (Currency::parse(&code), parse_amount(&amount)) {
                            (Err(CurrencyError::Malformed), _)
                            | (Err(CurrencyError::Unknown), _) => errors.push(field_error(
                                field,
                                "unknown_currency",
                                "not a known ISO 4217 currency code",
                            )),
                            (Ok(_), None) => errors.push(field_error(
                                field,
                                "invalid_price",
                                "must be a non-negative integer of minor units",
                            )),
                            (Ok(c), Some(a)) => {
                                prices.insert(c, a);
                            }
                        }
                    }
                    VariantRecord {
                        sku: v.sku,
                        name: v.name,
                        options: v.options,
                        prices,
                    }
                })
                .collect();
        let record = ProductRecord {
            schema: PRODUCT_SCHEMA,
            id: self.id,
            slug: self.slug,
            name: self.name,
            description: self.description,
            category: self.category,
            tags: self.tags,
            position: self.position,
            created_at: self
                .created_at
                .or_else(|| existing.map(str::to_string))
                .unwrap_or_else(|| now.to_string()),
            images: self.images,
            variants,
            max_per_order: self.max_per_order,
        };
        (record, errors)
    }
}

fn field_error(field: impl Into<String>, code: &'static str, message: &str) -> FieldError {
    FieldError {
        field: field.into(),
        code,
        message: message.to_string(),
    }
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminError {
    /// The input breaks rules; nothing changed.
    Invalid(Vec<FieldError>),
    /// The target does not exist.
    NotFound(Missing),
    /// The change contradicts the current state.
    Conflict(Conflict),
}

/// What a change named that the catalog does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    Product,
    Sku,
    /// The SKU has no price in the currency.
    Price,
}

/// A change the current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "conflict", rename_all = "snake_case")]
pub enum Conflict {
    /// Deleting a variant's last price (`currency` is its only one).
    LastPrice { sku: String, currency: Currency },
    /// A store would have more than [`STORE_PRICES_MAX`] prices of its own.
    TooManyPrices { limit: usize },
}

/// Most prices of its own one store may have (SKU × currency).
pub const STORE_PRICES_MAX: usize = 20_000;

/// One of a store's own prices to set (`Some`) or remove (`None`), read
/// from a [`StorePriceInput`] by the Worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorePriceChange {
    pub sku: String,
    pub currency: Currency,
    pub amount: Option<i64>,
}

/// Why a [`StorePriceInput`] is refused before it reaches the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorePriceInputError {
    /// Entry `index`'s currency is no ISO 4217 code.
    UnknownCurrency { index: usize },
    /// Entry `index`'s amount is neither null nor an integer within limits.
    InvalidAmount { index: usize },
    /// No entries, or more than [`STORE_PRICES_BATCH_MAX`].
    BatchSize,
}

/// Most entries of one store price batch.
pub const STORE_PRICES_BATCH_MAX: usize = 1_000;

impl StorePricesInput {
    /// The changes the body asks for, in order.
    pub fn changes(self) -> Result<Vec<StorePriceChange>, StorePriceInputError> {
        if !(1..=STORE_PRICES_BATCH_MAX).contains(&self.prices.len()) {
            return Err(StorePriceInputError::BatchSize);
        }
        self.prices
            .into_iter()
            .enumerate()
            .map(|(index, p)| {
                let currency = Currency::parse(&p.currency)
                    .map_err(|_| StorePriceInputError::UnknownCurrency { index })?;
                let amount = match &p.amount {
                    Value::Null => None,
                    v => {
                        Some(parse_amount(v).ok_or(StorePriceInputError::InvalidAmount { index })?)
                    }
                };
                Ok(StorePriceChange {
                    sku: p.sku,
                    currency,
                    amount,
                })
            })
            .collect()
    }
}

/// Why a store price batch was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorePricesError {
    /// Entry `index` names a SKU the catalog does not have.
    UnknownSku {
        index: usize,
    },
    Admin(AdminError),
}

/// One applied change, as the audit trail records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// `product.create`, `product.update`, `product.delete`, `price.set`,
    /// `price.delete`, `category.create`, `category.rename`.
    pub action: &'static str,
    /// What changed: `product:prd_1`, `price:SKU-1:USD`, `category:kitchen`.
    pub target: String,
    /// Names of the fields that differ (empty for create/delete).
    pub fields: Vec<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The outcome of an accepted change: applied, or already so.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    Changed(Change),
    Unchanged,
}

/// The authoritative catalog as the publisher holds it.
#[derive(Debug, Clone, Default)]
pub struct CatalogState {
    categories: Vec<CategoryRecord>,
    products: BTreeMap<String, ProductRecord>,
    /// slug → product id, SKU → product id: uniqueness across products.
    slugs: HashMap<String, String>,
    skus: HashMap<String, String>,
    /// Each store's own prices (stores without any are absent).
    store_prices: BTreeMap<String, StorePrices>,
    /// Stores whose own prices changed since [`CatalogState::take_changed_stores`].
    changed_stores: BTreeSet<String>,
}

fn summary(p: &ProductRecord) -> Value {
    let mut ranges: BTreeMap<String, [i64; 2]> = BTreeMap::new();
    for v in &p.variants {
        for (c, a) in &v.prices {
            let r = ranges.entry(c.to_string()).or_insert([*a, *a]);
            r[0] = r[0].min(*a);
            r[1] = r[1].max(*a);
        }
    }
    json!({
        "slug": p.slug,
        "name": p.name,
        "category": p.category,
        "variants": p.variants.len(),
        "prices": ranges,
    })
}

fn changed_fields(a: &ProductRecord, b: &ProductRecord) -> Vec<String> {
    let mut f = Vec::new();
    let mut check = |name: &str, same: bool| {
        if !same {
            f.push(name.to_string());
        }
    };
    check("slug", a.slug == b.slug);
    check("name", a.name == b.name);
    check("description", a.description == b.description);
    check("category", a.category == b.category);
    check("tags", a.tags == b.tags);
    check("position", a.position == b.position);
    check("created_at", a.created_at == b.created_at);
    check("images", a.images == b.images);
    check("variants", a.variants == b.variants);
    f
}

impl CatalogState {
    pub fn new(categories: Vec<CategoryRecord>, products: Vec<ProductRecord>) -> Self {
        let mut state = CatalogState {
            categories,
            ..CatalogState::default()
        };
        for p in products {
            state.index(&p);
            state.products.insert(p.id.clone(), p);
        }
        state
    }

    fn index(&mut self, p: &ProductRecord) {
        self.slugs.insert(p.slug.clone(), p.id.clone());
        for v in &p.variants {
            self.skus.insert(v.sku.clone(), p.id.clone());
        }
    }

    fn unindex(&mut self, p: &ProductRecord) {
        self.slugs.remove(&p.slug);
        for v in &p.variants {
            self.skus.remove(&v.sku);
        }
    }

    /// Drops the stores' own prices of SKUs the catalog no longer has (a
    /// SKU created again later starts at its base price everywhere).
    fn prune_store_prices(&mut self, gone: &ProductRecord) {
        let gone: Vec<&str> = gone
            .variants
            .iter()
            .map(|v| v.sku.as_str())
            .filter(|sku| !self.skus.contains_key(*sku))
            .collect();
        if gone.is_empty() {
            return;
        }
        for (store, prices) in &mut self.store_prices {
            let before = prices.len();
            prices.retain(|sku, _| !gone.contains(&sku.as_str()));
            if prices.len() != before {
                self.changed_stores.insert(store.clone());
            }
        }
        self.store_prices.retain(|_, p| !p.is_empty());
    }

    /// Loads the stores' own prices as stored (a SKU the catalog does not
    /// have is dropped, and the store marked changed).
    pub fn with_store_prices(mut self, stored: Vec<(String, StorePrices)>) -> Self {
        for (store, mut prices) in stored {
            let before = prices.len();
            prices.retain(|sku, own| !own.is_empty() && self.skus.contains_key(sku));
            if prices.len() != before {
                self.changed_stores.insert(store.clone());
            }
            if !prices.is_empty() {
                self.store_prices.insert(store, prices);
            }
        }
        self
    }

    /// A store's own prices (empty if it has none).
    pub fn store_prices(&self, store: &str) -> Option<&StorePrices> {
        self.store_prices.get(store)
    }

    /// The stores whose own prices changed since the last call (to persist).
    pub fn take_changed_stores(&mut self) -> Vec<String> {
        std::mem::take(&mut self.changed_stores)
            .into_iter()
            .collect()
    }

    /// Sets or removes some of a store's own prices, all or nothing: every
    /// SKU must be in the catalog, and the store may have at most
    /// [`STORE_PRICES_MAX`] prices of its own. Answers the changes (none if
    /// every price already was so).
    pub fn set_store_prices(
        &mut self,
        store: &str,
        changes: &[StorePriceChange],
    ) -> Result<Vec<Change>, StorePricesError> {
        if let Some(index) = changes.iter().position(|c| !self.skus.contains_key(&c.sku)) {
            return Err(StorePricesError::UnknownSku { index });
        }
        let mut prices = self.store_prices.get(store).cloned().unwrap_or_default();
        let mut applied: BTreeMap<(String, Currency), (Option<i64>, Option<i64>)> = BTreeMap::new();
        for c in changes {
            let own = prices.entry(c.sku.clone()).or_default();
            let before = match c.amount {
                Some(a) => own.insert(c.currency, a),
                None => own.remove(&c.currency),
            };
            if own.is_empty() {
                prices.remove(&c.sku);
            }
            applied
                .entry((c.sku.clone(), c.currency))
                .and_modify(|e| e.1 = c.amount)
                .or_insert((before, c.amount));
        }
        let count: usize = prices.values().map(BTreeMap::len).sum();
        if count > STORE_PRICES_MAX {
            return Err(StorePricesError::Admin(AdminError::Conflict(
                Conflict::TooManyPrices {
                    limit: STORE_PRICES_MAX,
                },
            )));
        }
        let money = |a: Option<i64>, c: Currency| a.map(|a| json!({ "amount": a, "currency": c }));
        let changed: Vec<Change> = applied
            .into_iter()
            .filter(|(_, (before, after))| before != after)
            .map(|((sku, currency), (before, after))| Change {
                action: if after.is_some() {
                    "store_price.set"
                } else {
                    "store_price.delete"
                },
                target: format!("store-price:{store}:{sku}:{currency}"),
                fields: vec![format!("prices.{currency}")],
                before: money(before, currency),
                after: money(after, currency),
            })
            .collect();
        if changed.is_empty() {
            return Ok(changed);
        }
        if prices.is_empty() {
            self.store_prices.remove(store);
        } else {
            self.store_prices.insert(store.to_string(), prices);
        }
        self.changed_stores.insert(store.to_string());
        Ok(changed)
    }

    pub fn product(&self, id: &str) -> Option<&ProductRecord> {
        self.products.get(id)
    }

    /// The product a SKU belongs to.
    pub fn product_of_sku(&self, sku: &str) -> Option<&ProductRecord> {
        self.skus.get(sku).and_then(|id| self.products.get(id))
    }

    pub fn categories(&self) -> &[CategoryRecord] {
        &self.categories
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// Creates or replaces a product. `now` (RFC 3339) stamps a new product
    /// that names no `created_at`.
    pub fn upsert_product(
        &mut self,
        input: ProductInput,
        now: &str,
    ) -> Result<Applied, Vec<FieldError>> {
        let existing = self.products.get(&input.id);
        let (record, mut errors) = input.into_record(existing.map(|p| p.created_at.as_str()), now);
        // A variant whose only prices were refused already has its errors.
        let refused_prices: Vec<String> = errors
            .iter()
            .filter_map(|e| e.field.split_once(".prices").map(|(v, _)| v.to_string()))
            .collect();
        errors.extend(
            validate_product(&record, &self.categories)
                .into_iter()
                .filter(|e| {
                    !(e.code == "missing_price"
                        && refused_prices
                            .iter()
                            .any(|v| e.field == format!("{v}.prices")))
                }),
        );
        if let Some(owner) = self.slugs.get(&record.slug).filter(|o| **o != record.id) {
            errors.push(field_error(
                "slug",
                "duplicate_slug",
                &format!("already used by {owner}"),
            ));
        }
        for (i, v) in record.variants.iter().enumerate() {
            if let Some(owner) = self.skus.get(&v.sku).filter(|o| **o != record.id) {
                errors.push(field_error(
                    format!("variants[{i}].sku"),
                    "duplicate_sku",
                    &format!("already used by {owner}"),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let before = self.products.get(&record.id).cloned();
        if before.as_ref() == Some(&record) {
            return Ok(Applied::Unchanged);
        }
        let change = Change {
            action: if before.is_some() {
                "product.update"
            } else {
                "product.create"
            },
            target: format!("product:{}", record.id),
            fields: before
                .as_ref()
                .map(|b| changed_fields(b, &record))
                .unwrap_or_default(),
            before: before.as_ref().map(summary),
            after: Some(summary(&record)),
        };
        if let Some(b) = &before {
            self.unindex(b);
        }
        self.index(&record);
        self.products.insert(record.id.clone(), record);
        if let Some(b) = &before {
            self.prune_store_prices(b);
        }
        Ok(Applied::Changed(change))
    }

    pub fn delete_product(&mut self, id: &str) -> Result<Change, AdminError> {
        let before = self
            .products
            .remove(id)
            .ok_or(AdminError::NotFound(Missing::Product))?;
        self.unindex(&before);
        self.prune_store_prices(&before);
        Ok(Change {
            action: "product.delete",
            target: format!("product:{id}"),
            fields: vec![],
            before: Some(summary(&before)),
            after: None,
        })
    }

    fn variant_mut(&mut self, sku: &str) -> Result<(&str, &mut VariantRecord), AdminError> {
        let id = self
            .skus
            .get(sku)
            .ok_or(AdminError::NotFound(Missing::Sku))?;
        let product = self
            .products
            .get_mut(id)
            .ok_or(AdminError::NotFound(Missing::Sku))?;
        let variant = product
            .variants
            .iter_mut()
            .find(|v| v.sku == sku)
            .ok_or(AdminError::NotFound(Missing::Sku))?;
        Ok((id.as_str(), variant))
    }

    /// Sets one SKU's price in one currency.
    pub fn set_price(
        &mut self,
        sku: &str,
        currency: Currency,
        amount: i64,
    ) -> Result<Applied, AdminError> {
        if !(0..=limits::PRICE_MAX).contains(&amount) {
            return Err(AdminError::Invalid(vec![field_error(
                "amount",
                "invalid_price",
                "must be a non-negative integer of minor units",
            )]));
        }
        let (_, variant) = self.variant_mut(sku)?;
        let before = variant.prices.insert(currency, amount);
        if before == Some(amount) {
            return Ok(Applied::Unchanged);
        }
        Ok(Applied::Changed(Change {
            action: "price.set",
            target: format!("price:{sku}:{currency}"),
            fields: vec![format!("prices.{currency}")],
            before: before.map(|a| json!({ "amount": a, "currency": currency })),
            after: Some(json!({ "amount": amount, "currency": currency })),
        }))
    }

    /// Removes one SKU's price in one currency; a variant keeps at least one price.
    pub fn delete_price(&mut self, sku: &str, currency: Currency) -> Result<Change, AdminError> {
        let (_, variant) = self.variant_mut(sku)?;
        if !variant.prices.contains_key(&currency) {
            return Err(AdminError::NotFound(Missing::Price));
        }
        if variant.prices.len() == 1 {
            return Err(AdminError::Conflict(Conflict::LastPrice {
                sku: sku.to_string(),
                currency,
            }));
        }
        let before = variant.prices.remove(&currency);
        Ok(Change {
            action: "price.delete",
            target: format!("price:{sku}:{currency}"),
            fields: vec![format!("prices.{currency}")],
            before: before.map(|a| json!({ "amount": a, "currency": currency })),
            after: None,
        })
    }

    /// Creates a category or renames an existing one.
    pub fn upsert_category(
        &mut self,
        slug: &str,
        input: CategoryInput,
    ) -> Result<Applied, AdminError> {
        let mut errors = Vec::new();
        if !is_slug(slug) {
            errors.push(field_error(
                "slug",
                "invalid_slug",
                "must be lowercase words of letters and digits joined by single hyphens",
            ));
        }
        let name = crate::text::trim_blank(&input.name).to_string();
        if name.is_empty() || name.chars().count() > limits::NAME_MAX {
            errors.push(field_error(
                "name",
                "invalid_length",
                "must be 1 to 200 characters",
            ));
        }
        if !errors.is_empty() {
            return Err(AdminError::Invalid(errors));
        }
        let after = json!({ "slug": slug, "name": name });
        match self.categories.iter_mut().find(|c| c.slug == slug) {
            Some(c) if c.name == name => Ok(Applied::Unchanged),
            Some(c) => {
                let before = json!({ "slug": slug, "name": c.name });
                c.name = name;
                Ok(Applied::Changed(Change {
                    action: "category.rename",
                    target: format!("category:{slug}"),
                    fields: vec!["name".into()],
                    before: Some(before),
                    after: Some(after),
                }))
            }
            None => {
                self.categories.push(CategoryRecord {
                    slug: slug.to_string(),
                    name,
                });
                Ok(Applied::Changed(Change {
                    action: "category.create",
                    target: format!("category:{slug}"),
                    fields: vec![],
                    before: None,
                    after: Some(after),
                }))
            }
        }
    }

    /// The catalog as one publication (version `seq`), priced in every
    /// currency any variant has a price in.
    pub fn publish(&self, seq: u64) -> Publication {
        let currencies: BTreeSet<Currency> = self
            .products
            .values()
            .flat_map(|p| p.variants.iter().flat_map(|v| v.prices.keys().copied()))
            .collect();
        // Every record was validated on the way in, so publishing cannot fail.
        publish_with_stores(
            seq,
            currencies.into_iter().collect(),
            self.categories.clone(),
            self.products.values(),
            &self.store_prices,
        )
        .expect("the catalog state holds only valid, unique products")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-21T12:00:00Z";

    fn kitchen() -> CatalogState {
        let mut s = CatalogState::default();
        s.upsert_category(
            "kitchen",
            CategoryInput {
                name: "Kitchen".into(),
            },
        )
        .unwrap();
        s
    }

    fn input(json: &str) -> ProductInput {
        parse_input(json).unwrap()
    }

    const KETTLE: &str = r#"{"id":"prd_1","slug":"kettle","name":"Kettle","category":"kitchen",
        "variants":[{"sku":"KTL-1","name":"Steel","prices":{"USD":2500,"EUR":2300}}]}"#;

    const KETTLES: &str = r#"{"id":"prd_2","slug":"kettles","name":"Kettles","category":"kitchen",
        "variants":[{"sku":"KTL-2-A","name":"A","prices":{"USD":3000}},
                    {"sku":"KTL-2-B","name":"B","prices":{"USD":4000,"EUR":3900}}]}"#;

    fn cur(c: &str) -> Currency {
        Currency::parse(c).unwrap()
    }

    fn own(sku: &str, c: &str, amount: Option<i64>) -> StorePriceChange {
        StorePriceChange {
            sku: sku.into(),
            currency: cur(c),
            amount,
        }
    }

    fn with_kettles() -> CatalogState {
        let mut s = kitchen();
        s.upsert_product(input(KETTLE), NOW).unwrap();
        s.upsert_product(input(KETTLES), NOW).unwrap();
        s
    }

    #[test]
    fn store_prices_are_all_or_nothing_and_audited() {
        let mut s = with_kettles();
        // An unknown SKU refuses the whole batch, naming its entry.
        assert_eq!(
            s.set_store_prices(
                "bank",
                &[own("KTL-1", "GBP", Some(1999)), own("NOPE", "GBP", Some(1))]
            ),
            Err(StorePricesError::UnknownSku { index: 1 })
        );
        assert!(s.store_prices("bank").is_none());
        assert!(s.take_changed_stores().is_empty());
        let changes = s
            .set_store_prices(
                "bank",
                &[
                    own("KTL-1", "GBP", Some(1999)),
                    own("KTL-2-A", "USD", Some(2000)),
                ],
            )
            .unwrap();
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].action, "store_price.set");
        assert_eq!(changes[0].target, "store-price:bank:KTL-1:GBP");
        assert_eq!(changes[0].before, None);
        assert_eq!(
            changes[0].after,
            Some(json!({"amount": 1999, "currency": "GBP"}))
        );
        assert_eq!(s.take_changed_stores(), vec!["bank".to_string()]);
        // The same again changes nothing; a later entry for the same price wins.
        assert!(s
            .set_store_prices("bank", &[own("KTL-1", "GBP", Some(1999))])
            .unwrap()
            .is_empty());
        let changes = s
            .set_store_prices(
                "bank",
                &[
                    own("KTL-1", "GBP", Some(5)),
                    own("KTL-1", "GBP", Some(1899)),
                ],
            )
            .unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].before,
            Some(json!({"amount": 1999, "currency": "GBP"}))
        );
        assert_eq!(
            changes[0].after,
            Some(json!({"amount": 1899, "currency": "GBP"}))
        );
        // Null removes; removing what is not there changes nothing.
        let changes = s
            .set_store_prices(
                "bank",
                &[own("KTL-2-A", "USD", None), own("KTL-2-B", "USD", None)],
            )
            .unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].action, "store_price.delete");
        assert_eq!(s.store_prices("bank").unwrap().len(), 1);
        // Other stores are untouched.
        assert!(s.store_prices("default").is_none());
    }

    #[test]
    fn a_store_has_at_most_its_limit_of_own_prices() {
        let mut s = kitchen();
        let many: Vec<String> = (0..STORE_PRICES_MAX / 2 + 1)
            .map(|i| {
                format!(
                    r#"{{"id":"prd_{i}","slug":"p-{i}","name":"P","category":"kitchen","variants":[{{"sku":"S-{i}","name":"V","prices":{{"USD":100}}}}]}}"#
                )
            })
            .collect();
        for p in &many {
            s.upsert_product(input(p), NOW).unwrap();
        }
        let changes: Vec<StorePriceChange> = (0..STORE_PRICES_MAX / 2 + 1)
            .flat_map(|i| {
                [
                    own(&format!("S-{i}"), "GBP", Some(1)),
                    own(&format!("S-{i}"), "EUR", Some(1)),
                ]
            })
            .collect();
        assert_eq!(
            s.set_store_prices("bank", &changes),
            Err(StorePricesError::Admin(AdminError::Conflict(
                Conflict::TooManyPrices {
                    limit: STORE_PRICES_MAX
                }
            )))
        );
        assert!(s.store_prices("bank").is_none());
        assert!(s
            .set_store_prices("bank", &changes[..STORE_PRICES_MAX])
            .is_ok());
    }

    #[test]
    fn store_prices_leave_with_their_sku_and_publish_resolved() {
        let mut s = with_kettles();
        s.set_store_prices(
            "bank",
            &[
                own("KTL-1", "GBP", Some(1999)),
                own("KTL-2-A", "USD", Some(5000)),
                own("KTL-2-A", "GBP", Some(2500)),
            ],
        )
        .unwrap();
        s.set_store_prices("shop", &[own("KTL-1", "USD", Some(100))])
            .unwrap();
        s.take_changed_stores();
        let publication = s.publish(2);
        assert_eq!(
            publication.index.store_prices.keys().collect::<Vec<_>>(),
            ["bank", "shop"]
        );
        let record = |p: &Publication, store: &str| -> crate::records::StorePriceRecord {
            let key = crate::records::store_prices_key(store, &p.index.store_prices[store]);
            let json = &p.entries.iter().find(|(k, _)| *k == key).unwrap().1;
            serde_json::from_str(json).unwrap()
        };
        let bank = record(&publication, "bank");
        // prd_2 in the bank: A at 5000 (its own), B at 4000 (base) in USD;
        // GBP only for A; EUR only B's base price.
        assert_eq!(
            bank.products["prd_2"],
            BTreeMap::from([
                (cur("USD"), [4000, 5000]),
                (cur("GBP"), [2500, 2500]),
                (cur("EUR"), [3900, 3900]),
            ])
        );
        assert_eq!(
            bank.products["prd_1"],
            BTreeMap::from([
                (cur("USD"), [2500, 2500]),
                (cur("EUR"), [2300, 2300]),
                (cur("GBP"), [1999, 1999])
            ])
        );
        // The base catalog is priced as before, in its own currencies only.
        assert_eq!(publication.index.currencies, vec![cur("EUR"), cur("USD")]);
        // A product's SKU leaving takes the stores' prices of it along.
        s.upsert_product(
            input(
                r#"{"id":"prd_2","slug":"kettles","name":"Kettles","category":"kitchen",
                "variants":[{"sku":"KTL-2-B","name":"B","prices":{"USD":4000}}]}"#,
            ),
            NOW,
        )
        .unwrap();
        assert_eq!(s.take_changed_stores(), vec!["bank".to_string()]);
        assert!(!s.store_prices("bank").unwrap().contains_key("KTL-2-A"));
        s.delete_product("prd_1").unwrap();
        assert_eq!(
            s.take_changed_stores(),
            vec!["bank".to_string(), "shop".to_string()]
        );
        assert!(s.store_prices("bank").is_none());
        assert!(s.store_prices("shop").is_none());
        let after = s.publish(3);
        assert!(after.index.store_prices.is_empty());
        // Without store prices the index is what it always was (no field).
        let json = serde_json::to_string(&after.index).unwrap();
        assert!(!json.contains("store_prices"));
    }

    #[test]
    fn stored_store_prices_of_unknown_skus_are_dropped_on_load() {
        let s = with_kettles();
        let stored = vec![(
            "bank".to_string(),
            BTreeMap::from([
                ("KTL-1".to_string(), BTreeMap::from([(cur("GBP"), 10)])),
                ("GONE".to_string(), BTreeMap::from([(cur("GBP"), 10)])),
            ]),
        )];
        let mut s = s.with_store_prices(stored);
        assert_eq!(s.store_prices("bank").unwrap().len(), 1);
        assert_eq!(s.take_changed_stores(), vec!["bank".to_string()]);
    }

    #[test]
    fn store_price_inputs_read_currency_and_amount() {
        let body: StorePricesInput = parse_input(
            r#"{"prices":[{"sku":"KTL-1","currency":"GBP","amount":1999},{"sku":"KTL-1","currency":"EUR","amount":null}]}"#,
        )
        .unwrap();
        assert_eq!(
            body.changes().unwrap(),
            vec![own("KTL-1", "GBP", Some(1999)), own("KTL-1", "EUR", None)]
        );
        for (json, err) in [
            (
                r#"{"prices":[{"sku":"A","currency":"ZZZ","amount":1}]}"#,
                StorePriceInputError::UnknownCurrency { index: 0 },
            ),
            (
                r#"{"prices":[{"sku":"A","currency":"USD","amount":1},{"sku":"A","currency":"USD","amount":-1}]}"#,
                StorePriceInputError::InvalidAmount { index: 1 },
            ),
            (
                r#"{"prices":[{"sku":"A","currency":"USD","amount":1.5}]}"#,
                StorePriceInputError::InvalidAmount { index: 0 },
            ),
        ] {
            let body: StorePricesInput = parse_input(json).unwrap();
            assert_eq!(body.changes(), Err(err), "{json}");
        }
    }

    #[test]
    fn bodies_are_objects() {
        let e = parse_input::<ProductInput>(r#"["prd_1","k"]"#).unwrap_err();
        assert_eq!((e.code, e.field), ("invalid_type", None));
        let e = parse_input::<PriceInput>("[]").unwrap_err();
        assert_eq!(e.code, "invalid_type");
    }

    #[test]
    fn integral_floats_are_integers_and_other_floats_are_refused() {
        // JSON Schema's `integer` admits 10.0: so do integer fields.
        let p = input(
            r#"{"id":"prd_1","slug":"k","name":"K","category":"c","position":10.0,
            "variants":[{"sku":"A","name":"a","prices":{"USD":2.5e3}}]}"#,
        );
        assert_eq!(p.position, 10);
        assert_eq!(parse_amount(&p.variants[0].prices["USD"]), Some(2500));
        for (position, field) in [("10.5", "position"), ("1e300", "position")] {
            let json = format!(
                r#"{{"id":"prd_1","slug":"k","name":"K","category":"c","position":{position},"variants":[]}}"#
            );
            let e = parse_input::<ProductInput>(&json).unwrap_err();
            assert_eq!((e.code, e.field.as_deref()), ("invalid_type", Some(field)));
        }
        // Beyond 2^53 a float is no exact integer: refused, never rounded.
        #[derive(Debug, Deserialize)]
        struct Quantity {
            #[allow(dead_code)]
            quantity: i64,
        }
        assert!(parse_input::<Quantity>(r#"{"quantity":9007199254740992.0}"#).is_ok());
        let e = parse_input::<Quantity>(r#"{"quantity":1.8e19}"#).unwrap_err();
        assert_eq!(e.code, "invalid_type");
        // Exact integers of any size stay exact.
        let q: Quantity = parse_input(r#"{"quantity":1152921504606846976}"#).unwrap();
        assert_eq!(q.quantity, 1 << 60);
    }

    #[test]
    fn parse_errors_name_the_field_and_code() {
        let table = [
            (r#"{"id":"prd_1","#, "invalid_json", None),
            (
                r#"{"id":"prd_1","slug":"k","name":"K","category":"c","variants":[],"price":1}"#,
                "unknown_field",
                Some("price"),
            ),
            (
                r#"{"id":"prd_1","slug":"k","category":"c","variants":[]}"#,
                "missing_field",
                Some("name"),
            ),
            (
                r#"{"id":"prd_1","slug":"k","name":"K","category":"c","position":-1,"variants":[]}"#,
                "invalid_type",
                Some("position"),
            ),
            (
                r#"{"id":"prd_1","slug":"k","name":"K","category":"c","variants":[{"sku":"A","name":"a","prices":{},"total":5}]}"#,
                "unknown_field",
                Some("variants[0].total"),
            ),
        ];
        for (json, code, field) in table {
            let e = parse_input::<ProductInput>(json).unwrap_err();
            assert_eq!(e.code, code, "{json}: {e:?}");
            assert_eq!(e.field.as_deref(), field, "{json}: {e:?}");
        }
    }

    #[test]
    fn upsert_creates_then_updates_then_is_idempotent() {
        let mut s = kitchen();
        let Applied::Changed(c) = s.upsert_product(input(KETTLE), NOW).unwrap() else {
            panic!("created")
        };
        assert_eq!(c.action, "product.create");
        assert_eq!(s.product("prd_1").unwrap().created_at, NOW);
        assert_eq!(
            s.upsert_product(input(KETTLE), "2027-01-01T00:00:00Z")
                .unwrap(),
            Applied::Unchanged
        );
        let renamed = KETTLE.replace("\"Kettle\"", "\"Tea Kettle\"");
        let Applied::Changed(c) = s.upsert_product(input(&renamed), NOW).unwrap() else {
            panic!("updated")
        };
        assert_eq!(c.action, "product.update");
        assert_eq!(c.fields, ["name"]);
        assert_eq!(c.before.unwrap()["name"], "Kettle");
        assert_eq!(c.after.unwrap()["name"], "Tea Kettle");
    }

    /// The stored record (`GET /admin/v1/products/{id}`) without `schema`
    /// is a `ProductInput`, and sending it back changes nothing: a back
    /// office edits the stored product, losing no field it does not show.
    #[test]
    fn a_stored_product_without_its_schema_is_an_input_that_changes_nothing() {
        let full = r#"{"id":"prd_3","slug":"full-kettle","name":" Full Kettle ","category":"kitchen",
            "description":"Every field set.","tags":["tea","induction"],"position":41,
            "created_at":"2026-03-14T09:26:53Z","max_per_order":3,
            "images":[{"url":"/img/kitchen.svg","alt":"Full Kettle"}],
            "variants":[{"sku":"KTL-3-A","name":"A","options":{"finish":"Steel"},"prices":{"usd":2500,"EUR":2300.0}},
                        {"sku":"KTL-3-B","name":"B","prices":{"JPY":400}}]}"#;
        for body in [KETTLE, KETTLES, full] {
            let mut s = with_kettles();
            s.upsert_product(input(body), NOW).unwrap();
            let id = input(body).id;
            s.set_store_prices("bank", &[own(&input(body).variants[0].sku, "USD", Some(1))])
                .unwrap();
            let stored = s.product(&id).unwrap().clone();
            let mut sent = serde_json::to_value(&stored).unwrap();
            sent.as_object_mut().unwrap().remove("schema");
            let back: ProductInput = input(&sent.to_string());
            assert_eq!(
                s.upsert_product(back, "2027-01-01T00:00:00Z").unwrap(),
                Applied::Unchanged,
                "{sent}"
            );
            assert_eq!(s.product(&id), Some(&stored));
        }
        // `schema` itself is not an input field.
        let mut with_schema = serde_json::to_value(with_kettles().product("prd_1")).unwrap();
        with_schema["id"] = json!("prd_1");
        let refused = parse_input::<ProductInput>(&with_schema.to_string()).unwrap_err();
        assert_eq!(
            (refused.code, refused.field.as_deref()),
            ("unknown_field", Some("schema"))
        );
    }

    #[test]
    fn refused_changes_name_fields_and_change_nothing() {
        let mut s = kitchen();
        s.upsert_product(input(KETTLE), NOW).unwrap();
        let clash = KETTLE.replace("prd_1", "prd_2");
        let Err(errors) = s.upsert_product(input(&clash), NOW) else {
            panic!("refused")
        };
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            [
                ("slug", "duplicate_slug"),
                ("variants[0].sku", "duplicate_sku")
            ]
        );
        assert!(s.product("prd_2").is_none());
        let bad_price = KETTLE.replace("2500", "-5").replace("\"EUR\"", "\"XXX\"");
        let Err(errors) = s.upsert_product(input(&bad_price), NOW) else {
            panic!("refused")
        };
        let codes: BTreeSet<_> = errors.iter().map(|e| e.code).collect();
        assert_eq!(codes, BTreeSet::from(["invalid_price", "unknown_currency"]));
        assert_eq!(s.product("prd_1").unwrap().variants[0].prices.len(), 2);
    }

    #[test]
    fn prices_set_delete_and_keep_one() {
        let mut s = kitchen();
        s.upsert_product(input(KETTLE), NOW).unwrap();
        let usd = Currency::parse("USD").unwrap();
        let eur = Currency::parse("EUR").unwrap();
        assert!(matches!(
            s.set_price("KTL-1", usd, 2600),
            Ok(Applied::Changed(_))
        ));
        assert_eq!(s.set_price("KTL-1", usd, 2600), Ok(Applied::Unchanged));
        assert_eq!(
            s.set_price("NOPE", usd, 1),
            Err(AdminError::NotFound(Missing::Sku))
        );
        assert!(matches!(
            s.set_price("KTL-1", usd, -1),
            Err(AdminError::Invalid(_))
        ));
        assert_eq!(s.delete_price("KTL-1", eur).unwrap().action, "price.delete");
        assert_eq!(
            s.delete_price("KTL-1", eur),
            Err(AdminError::NotFound(Missing::Price))
        );
        assert!(matches!(
            s.delete_price("KTL-1", usd),
            Err(AdminError::Conflict(Conflict::LastPrice { .. }))
        ));
        let published = s.publish(1);
        assert_eq!(published.index.products[0].prices[&usd], [2600, 2600]);
        assert_eq!(published.index.currencies, vec![usd]);
    }

    #[test]
    fn deleting_frees_slug_and_skus() {
        let mut s = kitchen();
        s.upsert_product(input(KETTLE), NOW).unwrap();
        assert_eq!(s.delete_product("prd_1").unwrap().action, "product.delete");
        assert_eq!(
            s.delete_product("prd_1"),
            Err(AdminError::NotFound(Missing::Product))
        );
        let reuse = KETTLE.replace("prd_1", "prd_2");
        assert!(matches!(
            s.upsert_product(input(&reuse), NOW),
            Ok(Applied::Changed(_))
        ));
    }

    #[test]
    fn categories_create_rename_and_validate() {
        let mut s = kitchen();
        let Applied::Changed(c) = s
            .upsert_category(
                "kitchen",
                CategoryInput {
                    name: "Kitchen & Dining".into(),
                },
            )
            .unwrap()
        else {
            panic!("renamed")
        };
        assert_eq!(c.action, "category.rename");
        assert!(matches!(
            s.upsert_category("Bad Slug", CategoryInput { name: "x".into() }),
            Err(AdminError::Invalid(_))
        ));
        assert_eq!(s.categories().len(), 1);
    }
}
