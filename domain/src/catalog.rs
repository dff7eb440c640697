//! The catalog as merchants define it: validation rules for products and
//! categories, and publishing a set of products as one immutable catalog
//! version (index + per-product records) behind a pointer.

use crate::money::Currency;
use crate::records::{
    content_hash, index_key, price_shard_key, product_shard_key, shard_of, store_prices_key,
    CatalogIndex, CatalogPointer, CategoryRecord, IndexedProduct, PriceShard, ProductRecord,
    SkuPrices, StorePriceRecord, INDEX_SCHEMA, POINTER_SCHEMA, PRODUCT_SCHEMA, SHARDS,
    SHARD_SCHEMA, STORE_PRICES_SCHEMA,
};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Limits on a product record (documented in ARCHITECTURE.md and OpenAPI).
pub mod limits {
    pub const NAME_MAX: usize = 200;
    pub const DESCRIPTION_MAX: usize = 5_000;
    pub const TAGS_MAX: usize = 20;
    pub const TAG_MAX: usize = 40;
    pub const VARIANTS_MAX: usize = 50;
    pub const VARIANT_NAME_MAX: usize = 100;
    pub const OPTIONS_MAX: usize = 10;
    pub const IMAGES_MAX: usize = 10;
    pub const URL_MAX: usize = 2_048;
    pub const ALT_MAX: usize = 200;
    pub const SLUG_MAX: usize = 120;
    pub const ID_MAX: usize = 44;
    pub const SKU_MAX: usize = 64;
    /// Highest price in minor units (one billion major units).
    pub const PRICE_MAX: i64 = 100_000_000_000;
}

/// A product id: `prd_` then 1–40 lowercase letters or digits. Ids contain
/// an underscore and slugs never do, so one path segment names either.
pub fn is_product_id(s: &str) -> bool {
    s.len() <= limits::ID_MAX
        && s.strip_prefix("prd_").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A slug: lowercase letters and digits in words joined by single hyphens.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= limits::SLUG_MAX
        && s.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A SKU: uppercase letters, digits and hyphens, starting with a letter or digit.
pub fn is_sku(s: &str) -> bool {
    s.len() <= limits::SKU_MAX
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// One rule a record breaks, naming the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field, e.g. `variants[1].sku`.
    pub field: String,
    /// Stable machine code, e.g. `invalid_sku`.
    pub code: &'static str,
    pub message: String,
}

fn err(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        code,
        message: message.into(),
    }
}

fn check_len(errors: &mut Vec<FieldError>, field: &str, value: &str, min: usize, max: usize) {
    let n = value.chars().count();
    if n < min || n > max {
        errors.push(err(
            field,
            "invalid_length",
            format!("must be {min} to {max} characters, got {n}"),
        ));
    }
}

/// Seconds since the Unix epoch of an RFC 3339 timestamp.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp())
}

/// Checks one product record on its own (uniqueness across the catalog is
/// checked by [`publish`]).
pub fn validate_product(p: &ProductRecord, categories: &[CategoryRecord]) -> Vec<FieldError> {
    let mut e = Vec::new();
    if p.schema != PRODUCT_SCHEMA {
        e.push(err(
            "schema",
            "unsupported_schema",
            format!("expected {PRODUCT_SCHEMA}"),
        ));
    }
    if !is_product_id(&p.id) {
        e.push(err(
            "id",
            "invalid_id",
            "must be prd_ followed by 1 to 40 lowercase letters or digits",
        ));
    }
    if !is_slug(&p.slug) {
        e.push(err(
            "slug",
            "invalid_slug",
            "must be lowercase words of letters and digits joined by single hyphens, at most 120 characters",
        ));
    }
    check_len(&mut e, "name", p.name.trim(), 1, limits::NAME_MAX);
    check_len(
        &mut e,
        "description",
        &p.description,
        0,
        limits::DESCRIPTION_MAX,
    );
    if !categories.iter().any(|c| c.slug == p.category) {
        e.push(err("category", "unknown_category", "no such category"));
    }
    if p.tags.len() > limits::TAGS_MAX {
        e.push(err(
            "tags",
            "too_many",
            format!("at most {} tags", limits::TAGS_MAX),
        ));
    }
    for (i, t) in p.tags.iter().enumerate() {
        check_len(&mut e, &format!("tags[{i}]"), t.trim(), 1, limits::TAG_MAX);
    }
    if parse_timestamp(&p.created_at).is_none() {
        e.push(err(
            "created_at",
            "invalid_timestamp",
            "must be an RFC 3339 timestamp",
        ));
    }
    if p.images.len() > limits::IMAGES_MAX {
        e.push(err(
            "images",
            "too_many",
            format!("at most {} images", limits::IMAGES_MAX),
        ));
    }
    for (i, img) in p.images.iter().enumerate() {
        let ok_url = img.url.len() <= limits::URL_MAX
            && (img.url.starts_with("https://") || img.url.starts_with('/'))
            && !img.url.chars().any(char::is_whitespace);
        if !ok_url {
            e.push(err(
                format!("images[{i}].url"),
                "invalid_url",
                "must be an https:// URL or a path starting with /",
            ));
        }
        check_len(
            &mut e,
            &format!("images[{i}].alt"),
            img.alt.trim(),
            1,
            limits::ALT_MAX,
        );
    }
    if p.max_per_order
        .is_some_and(|m| !(1..=crate::cart::limits::MAX_LINE_QUANTITY).contains(&m))
    {
        e.push(err(
            "max_per_order",
            "invalid_quantity",
            "must be from 1 to 99 when given",
        ));
    }
    if p.variants.is_empty() || p.variants.len() > limits::VARIANTS_MAX {
        e.push(err(
            "variants",
            "invalid_length",
            format!("must have 1 to {} variants", limits::VARIANTS_MAX),
        ));
    }
    let mut skus = HashSet::new();
    for (i, v) in p.variants.iter().enumerate() {
        let f = |name: &str| format!("variants[{i}].{name}");
        if !is_sku(&v.sku) {
            e.push(err(
                f("sku"),
                "invalid_sku",
                "must be 1 to 64 uppercase letters, digits or hyphens",
            ));
        } else if !skus.insert(v.sku.as_str()) {
            e.push(err(
                f("sku"),
                "duplicate_sku",
                "appears twice in this product",
            ));
        }
        check_len(
            &mut e,
            &f("name"),
            v.name.trim(),
            1,
            limits::VARIANT_NAME_MAX,
        );
        if v.options.len() > limits::OPTIONS_MAX {
            e.push(err(f("options"), "too_many", "at most 10 options"));
        }
        if v.prices.is_empty() {
            e.push(err(
                f("prices"),
                "missing_price",
                "needs a price in at least one currency",
            ));
        }
        for (cur, amount) in &v.prices {
            if !(0..=limits::PRICE_MAX).contains(amount) {
                e.push(err(
                    format!("variants[{i}].prices.{cur}"),
                    "invalid_price",
                    "must be a non-negative integer of minor units",
                ));
            }
        }
    }
    e
}

/// Why a set of products could not be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishError {
    /// A product breaks a rule; `product` is its id.
    InvalidProduct {
        product: String,
        errors: Vec<FieldError>,
    },
    /// Two products share an id, slug or SKU.
    Duplicate { field: &'static str, value: String },
    /// A category slug is malformed or defined twice.
    InvalidCategory { slug: String },
}

/// One catalog version ready to write: immutable entries first, pointer last.
#[derive(Debug, Clone)]
pub struct Publication {
    pub pointer: CatalogPointer,
    pub index: CatalogIndex,
    /// `(key, JSON value)` of every non-empty shard, then of the index.
    pub entries: Vec<(String, String)>,
}

/// Publishes `products` as catalog version number `seq`. The version name is
/// a hash of the index, so the same content always gets the same version.
pub fn publish<'a>(
    seq: u64,
    currencies: Vec<Currency>,
    categories: Vec<CategoryRecord>,
    products: impl IntoIterator<Item = &'a ProductRecord>,
) -> Result<Publication, PublishError> {
    publish_with_stores(seq, currencies, categories, products, &BTreeMap::new())
}

/// One store's own prices: SKU → currency → amount in minor units.
pub type StorePrices = BTreeMap<String, BTreeMap<Currency, i64>>;

/// [`publish`], with each store's own prices resolved against the
/// published products ([`StorePriceRecord`]): a price of a SKU the
/// catalog no longer has is left out, and a store whose prices all are
/// gets no record.
pub fn publish_with_stores<'a>(
    seq: u64,
    currencies: Vec<Currency>,
    categories: Vec<CategoryRecord>,
    products: impl IntoIterator<Item = &'a ProductRecord>,
    store_prices: &BTreeMap<String, StorePrices>,
) -> Result<Publication, PublishError> {
    let products: Vec<&ProductRecord> = products.into_iter().collect();
    let mut seen_categories = HashSet::new();
    for c in &categories {
        if !is_slug(&c.slug) || !seen_categories.insert(c.slug.as_str()) || c.name.trim().is_empty()
        {
            return Err(PublishError::InvalidCategory {
                slug: c.slug.clone(),
            });
        }
    }
    let mut ids = HashSet::new();
    let mut slugs = HashSet::new();
    let mut skus = HashSet::new();
    for p in &products {
        let errors = validate_product(p, &categories);
        if !errors.is_empty() {
            return Err(PublishError::InvalidProduct {
                product: p.id.clone(),
                errors,
            });
        }
        if !ids.insert(p.id.as_str()) {
            return Err(PublishError::Duplicate {
                field: "id",
                value: p.id.clone(),
            });
        }
        if !slugs.insert(p.slug.as_str()) {
            return Err(PublishError::Duplicate {
                field: "slug",
                value: p.slug.clone(),
            });
        }
        for v in &p.variants {
            if !skus.insert(v.sku.as_str()) {
                return Err(PublishError::Duplicate {
                    field: "sku",
                    value: v.sku.clone(),
                });
            }
        }
    }

    let owner: HashMap<&str, &ProductRecord> = if store_prices.is_empty() {
        HashMap::new()
    } else {
        products
            .iter()
            .flat_map(|p| p.variants.iter().map(move |v| (v.sku.as_str(), *p)))
            .collect()
    };
    let mut sorted = products.clone();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    // Shards borrow the records: a 20,000-product catalog is not copied.
    let mut product_shards: Vec<BTreeMap<&str, &ProductRecord>> =
        (0..SHARDS).map(|_| BTreeMap::new()).collect();
    let mut price_shards: Vec<PriceShard> = (0..SHARDS)
        .map(|_| PriceShard {
            schema: SHARD_SCHEMA,
            skus: BTreeMap::new(),
        })
        .collect();
    let mut indexed = Vec::with_capacity(sorted.len());
    for p in sorted {
        indexed.push(index_entry(p));
        for v in &p.variants {
            price_shards[shard_of(&v.sku)].skus.insert(
                v.sku.clone(),
                SkuPrices {
                    product: p.id.clone(),
                    prices: v.prices.clone(),
                    max_per_order: p.max_per_order,
                },
            );
        }
        product_shards[shard_of(&p.id)].insert(p.id.as_str(), p);
    }
    let mut entries = Vec::new();
    let mut write_shards = |jsons: Vec<Option<String>>, key: fn(usize, &str) -> String| {
        jsons
            .into_iter()
            .enumerate()
            .map(|(i, json)| match json {
                Some(json) => {
                    let rev = content_hash(json.as_bytes());
                    entries.push((key(i, &rev), json));
                    rev
                }
                None => String::new(),
            })
            .collect::<Vec<String>>()
    };
    let product_revs = write_shards(
        product_shards
            .iter()
            .map(|products| {
                (!products.is_empty()).then(|| {
                    to_json(&ProductShardOut {
                        schema: SHARD_SCHEMA,
                        products,
                    })
                })
            })
            .collect(),
        product_shard_key,
    );
    let price_revs = write_shards(
        price_shards
            .iter()
            .map(|s| (!s.skus.is_empty()).then(|| to_json(s)))
            .collect(),
        price_shard_key,
    );
    let mut store_revs = BTreeMap::new();
    for (store, prices) in store_prices {
        let record = resolve_store_prices(prices, &owner);
        if record.skus.is_empty() {
            continue;
        }
        let json = to_json(&record);
        let rev = content_hash(json.as_bytes());
        entries.push((store_prices_key(store, &rev), json));
        store_revs.insert(store.clone(), rev);
    }
    let index = CatalogIndex {
        schema: INDEX_SCHEMA,
        currencies,
        categories,
        products: indexed,
        product_shards: product_revs,
        price_shards: price_revs,
        store_prices: store_revs,
    };
    let index_json = to_json(&index);
    let version = content_hash(index_json.as_bytes());
    entries.push((index_key(&version), index_json));
    Ok(Publication {
        pointer: CatalogPointer {
            schema: POINTER_SCHEMA,
            version,
            seq,
        },
        index,
        entries,
    })
}

/// A store's prices against the products of one version (`owner`: SKU →
/// its product): the prices of SKUs the version has, and the price range
/// they make of each product they touch (the store's price of each
/// variant where it has one, else the base price).
fn resolve_store_prices(
    prices: &StorePrices,
    owner: &HashMap<&str, &ProductRecord>,
) -> StorePriceRecord {
    let skus: StorePrices = prices
        .iter()
        .filter(|(sku, own)| !own.is_empty() && owner.contains_key(sku.as_str()))
        .map(|(sku, own)| (sku.clone(), own.clone()))
        .collect();
    let mut products = BTreeMap::new();
    for sku in skus.keys() {
        let p = owner[sku.as_str()];
        if products.contains_key(&p.id) {
            continue;
        }
        let mut ranges: BTreeMap<Currency, [i64; 2]> = BTreeMap::new();
        for v in &p.variants {
            let mut merged = v.prices.clone();
            if let Some(own) = skus.get(&v.sku) {
                merged.extend(own.iter().map(|(c, a)| (*c, *a)));
            }
            for (c, a) in merged {
                let r = ranges.entry(c).or_insert([a, a]);
                r[0] = r[0].min(a);
                r[1] = r[1].max(a);
            }
        }
        products.insert(p.id.clone(), ranges);
    }
    StorePriceRecord {
        schema: STORE_PRICES_SCHEMA,
        skus,
        products,
    }
}

/// Serializes exactly as [`ProductShard`], from borrowed records.
#[derive(serde::Serialize)]
struct ProductShardOut<'a> {
    schema: u32,
    products: &'a BTreeMap<&'a str, &'a ProductRecord>,
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("records always serialize")
}

fn index_entry(p: &ProductRecord) -> IndexedProduct {
    let mut prices: BTreeMap<Currency, [i64; 2]> = BTreeMap::new();
    for v in &p.variants {
        for (cur, amount) in &v.prices {
            let e = prices.entry(*cur).or_insert([*amount, *amount]);
            e[0] = e[0].min(*amount);
            e[1] = e[1].max(*amount);
        }
    }
    IndexedProduct {
        id: p.id.clone(),
        slug: p.slug.clone(),
        name: p.name.clone(),
        category: p.category.clone(),
        tags: p.tags.clone(),
        description: p.description.clone(),
        position: p.position,
        created_at: parse_timestamp(&p.created_at).unwrap_or(0),
        image: p.images.first().cloned(),
        variant_count: p.variants.len() as u32,
        prices,
        skus: p.variants.iter().map(|v| v.sku.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::VariantRecord;

    fn cat() -> Vec<CategoryRecord> {
        vec![CategoryRecord {
            slug: "kitchen".into(),
            name: "Kitchen".into(),
        }]
    }

    fn product(id: &str, slug: &str, sku: &str) -> ProductRecord {
        ProductRecord {
            schema: PRODUCT_SCHEMA,
            id: id.into(),
            slug: slug.into(),
            name: "Kettle".into(),
            description: "Boils water.".into(),
            category: "kitchen".into(),
            tags: vec!["tea".into()],
            position: 0,
            created_at: "2026-01-02T03:04:05Z".into(),
            images: vec![],
            max_per_order: None,
            variants: vec![VariantRecord {
                sku: sku.into(),
                name: "Default".into(),
                options: BTreeMap::new(),
                prices: BTreeMap::from([(Currency::parse("USD").unwrap(), 2500)]),
            }],
        }
    }

    #[test]
    fn ids_slugs_and_skus_have_disjoint_shapes() {
        let table = [
            ("prd_00042", true, false, false),
            ("steel-kettle-2", false, true, false),
            ("KTL-0001-S", false, false, true),
            ("Steel-Kettle", false, false, false),
            ("a--b", false, false, false),
            ("-a", false, false, false),
            ("prd_", false, false, false),
        ];
        for (s, id, slug, sku) in table {
            assert_eq!(is_product_id(s), id, "id {s}");
            assert_eq!(is_slug(s), slug, "slug {s}");
            assert_eq!(is_sku(s), sku, "sku {s}");
        }
    }

    #[test]
    fn validation_names_each_offending_field() {
        let mut p = product("prd_1", "kettle", "KTL-1");
        p.name = " ".into();
        p.category = "garden".into();
        p.created_at = "yesterday".into();
        p.variants[0]
            .prices
            .insert(Currency::parse("EUR").unwrap(), -1);
        let fields: Vec<_> = validate_product(&p, &cat())
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("name".to_string(), "invalid_length"),
                ("category".to_string(), "unknown_category"),
                ("created_at".to_string(), "invalid_timestamp"),
                ("variants[0].prices.EUR".to_string(), "invalid_price"),
            ]
        );
    }

    #[test]
    fn publish_refuses_duplicates_across_products() {
        let usd = vec![Currency::parse("USD").unwrap()];
        let dup_slug = [
            product("prd_1", "kettle", "KTL-1"),
            product("prd_2", "kettle", "KTL-2"),
        ];
        assert_eq!(
            publish(1, usd.clone(), cat(), &dup_slug).unwrap_err(),
            PublishError::Duplicate {
                field: "slug",
                value: "kettle".into()
            }
        );
        let dup_sku = [
            product("prd_1", "kettle", "KTL-1"),
            product("prd_2", "kettle-2", "KTL-1"),
        ];
        assert!(matches!(
            publish(1, usd, cat(), &dup_sku),
            Err(PublishError::Duplicate { field: "sku", .. })
        ));
    }

    #[test]
    fn same_content_publishes_the_same_version_and_any_change_a_new_one() {
        let usd = vec![Currency::parse("USD").unwrap()];
        let a = [product("prd_1", "kettle", "KTL-1")];
        let v1 = publish(1, usd.clone(), cat(), &a).unwrap();
        let v1_again = publish(2, usd.clone(), cat(), &a).unwrap();
        assert_eq!(v1.pointer.version, v1_again.pointer.version);
        let mut b = a.clone();
        b[0].variants[0]
            .prices
            .insert(Currency::parse("USD").unwrap(), 2600);
        let v2 = publish(3, usd, cat(), &b).unwrap();
        assert_ne!(v1.pointer.version, v2.pointer.version);
        assert_eq!(
            v2.index.products[0].prices.values().next(),
            Some(&[2600, 2600])
        );
    }

    #[test]
    fn shards_hold_every_record_and_every_sku_price() {
        use crate::records::{PriceShard, ProductShard};
        let usd = vec![Currency::parse("USD").unwrap()];
        let products: Vec<_> = (1..=40)
            .map(|n| {
                product(
                    &format!("prd_{n}"),
                    &format!("kettle-{n}"),
                    &format!("KTL-{n}"),
                )
            })
            .collect();
        let p = publish(1, usd, cat(), &products).unwrap();
        let mut records = 0;
        let mut skus = 0;
        for (key, json) in &p.entries {
            if key.starts_with("catalog/products/") {
                records += serde_json::from_str::<ProductShard>(json)
                    .unwrap()
                    .products
                    .len();
            } else if key.starts_with("catalog/prices/") {
                let shard: PriceShard = serde_json::from_str(json).unwrap();
                skus += shard.skus.len();
                assert!(shard.skus.values().all(|s| s.prices.len() == 1));
            }
        }
        assert_eq!((records, skus), (40, 40));
        assert_eq!(
            p.entries.last().unwrap().0,
            format!("catalog/index/{}", p.pointer.version)
        );
    }
}
