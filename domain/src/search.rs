//! Catalog search: a decoded, in-memory snapshot of one catalog version that
//! answers list and search queries (full text, filters, facets, sorting and
//! keyset pagination) without further I/O.
//!
//! Ranking: every query word must match (AND). Words are matched exactly,
//! except the last one, which also matches as a prefix while it is being
//! typed. A word scores its inverse document frequency times the weight of
//! the fields it occurs in (name 8, tags 4, category 3, description 1); a
//! prefix match scores three quarters of an exact one. Ties fall back to the
//! product id, so every ordering is total and stable.

use crate::cursor::{self, CursorKey};
use crate::money::{Currency, Money};
use crate::records::{
    fnv1a64, price_shard_key, product_shard_key, shard_of, CatalogIndex, ImageRecord,
    StockSnapshot, StorePriceRecord,
};
use crate::stores::Selection;
use crate::text;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Limits on list queries, shared by the API and its documentation.
pub mod limits {
    pub const DEFAULT_PAGE: usize = 20;
    pub const MAX_PAGE: usize = 100;
    /// Longest accepted `q`, in characters.
    pub const MAX_QUERY_CHARS: usize = 200;
    /// Most words of `q` that are used; more are refused.
    pub const MAX_QUERY_WORDS: usize = 12;
}

const WEIGHT_NAME: u32 = 8;
const WEIGHT_TAG: u32 = 4;
const WEIGHT_CATEGORY: u32 = 3;
const WEIGHT_DESCRIPTION: u32 = 1;

/// The orders a listing can be sorted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortOrder {
    /// Best text match first; without `q`, the merchant's featured order.
    Relevance,
    PriceAsc,
    PriceDesc,
    Name,
    Newest,
}

impl SortOrder {
    pub const ALL: [SortOrder; 5] = [
        SortOrder::Relevance,
        SortOrder::PriceAsc,
        SortOrder::PriceDesc,
        SortOrder::Name,
        SortOrder::Newest,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            SortOrder::Relevance => "relevance",
            SortOrder::PriceAsc => "price_asc",
            SortOrder::PriceDesc => "price_desc",
            SortOrder::Name => "name",
            SortOrder::Newest => "newest",
        }
    }
}

/// A category with the number of products in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub slug: String,
    pub name: String,
    pub product_count: u32,
}

/// A product as a listing shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub id: String,
    pub slug: String,
    pub name: String,
    category: usize,
    pub tags: Vec<String>,
    pub image: Option<ImageRecord>,
    pub variant_count: u32,
    pub position: u32,
    pub created_at: i64,
    /// Lowest and highest price, per catalog currency (same order).
    prices: Vec<Option<[i64; 2]>>,
    sort_name: String,
    /// Its position in the catalog's products.
    doc: u32,
    /// The variants' SKUs.
    pub skus: Vec<String>,
}

/// Price range of one listing in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceRange {
    pub from: Money,
    pub to: Money,
}

/// A price band of the facet counts: both bounds inclusive, so they can be
/// sent back as `min_price`/`max_price` as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceBand {
    pub min_price: i64,
    pub max_price: Option<i64>,
    pub count: u32,
}

/// Band edges in major units; the last band is open-ended.
const BAND_EDGES: [i64; 5] = [25, 50, 100, 250, 500];

/// A list/search request, already parsed into domain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductQuery {
    pub text: Option<String>,
    pub category: Option<String>,
    pub currency: Currency,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub sort: SortOrder,
    pub limit: usize,
    pub cursor: Option<String>,
    /// Only products with (`true`) or without (`false`) a SKU in stock,
    /// according to the [`StockFlags`] passed with the query.
    pub in_stock: Option<bool>,
}

impl ProductQuery {
    pub fn new(currency: Currency) -> Self {
        ProductQuery {
            text: None,
            category: None,
            currency,
            min_price: None,
            max_price: None,
            sort: SortOrder::Relevance,
            limit: limits::DEFAULT_PAGE,
            cursor: None,
            in_stock: None,
        }
    }
}

/// Why a query cannot be answered against this catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// The catalog has no price list in that currency.
    UnsupportedCurrency,
    UnknownCategory,
    /// The cursor is malformed or belongs to another query.
    InvalidCursor,
    /// `min_price` is above `max_price`.
    InvalidPriceRange,
    /// `q` has more than [`limits::MAX_QUERY_WORDS`] words.
    TooManyWords,
}

/// Which products of one catalog version have at least one SKU in stock,
/// according to one stock snapshot (indexed like the catalog's products).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StockFlags {
    flags: Vec<bool>,
}

impl StockFlags {
    /// No snapshot: nothing is known to be in stock.
    pub fn none() -> Self {
        StockFlags::default()
    }

    fn get(&self, doc: u32) -> bool {
        self.flags.get(doc as usize).copied().unwrap_or(false)
    }
}

/// What one store makes of one catalog version: the products it sells
/// (its [`Selection`], a mask over the catalog's products) and its own
/// prices ([`StorePriceRecord`], which replace base prices for the
/// products they touch), with the facets and price orders they make,
/// computed once per version and store. Nothing of the catalog is copied:
/// a store costs one slot per product and what its own prices touch.
/// [`Selected::all`] is every product at base prices.
#[derive(Debug, Clone)]
pub struct Selected {
    /// Whether the store sells every product (its selection is `all`).
    sells_all: bool,
    /// Per product (as the catalog indexes them): [`NOT_SOLD`], [`AT_BASE`]
    /// (sold at base prices), or sold at the store's own prices (row
    /// `slot - REPRICED` of `ranges`). Empty for [`Selected::all`]: every
    /// product, at base prices. One array read answers both questions the
    /// filter-and-facet scan asks of each product.
    slots: Vec<u32>,
    /// Currencies the store's own prices use that the catalog has none in
    /// (they follow the catalog's in the store's currency order).
    extra_currencies: Vec<Currency>,
    /// Per currency (the catalog's, then the extra ones): the facets of
    /// the products sold and priced in it, and the repriced products in
    /// price order (empty for [`Selected::all`]).
    columns: Vec<Column>,
    /// Per category: how many selected products it has.
    categories: Vec<u32>,
    /// Per repriced product sold, per currency (same order as `columns`),
    /// the store's lowest and highest price ([`NOT_PRICED`] for none).
    ranges: Vec<[i64; 2]>,
    /// The store's own prices, by (product, variant, currency).
    own: Vec<OwnPrice>,
}

/// One of a store's own prices, by where its SKU is in the catalog.
#[derive(Debug, Clone, Copy)]
struct OwnPrice {
    amount: i64,
    doc: u32,
    /// Index of the variant in the listing's SKUs.
    variant: u16,
    currency: Currency,
}

#[derive(Debug, Clone)]
struct Column {
    facets: Facets,
    /// Repriced products priced in this currency, by the store's lowest
    /// price ascending and descending (ties by id).
    asc: Vec<u32>,
    desc: Vec<u32>,
}

impl Selected {
    /// Every product, at base prices.
    pub fn all() -> Self {
        Selected {
            sells_all: true,
            slots: Vec::new(),
            extra_currencies: Vec::new(),
            columns: Vec::new(),
            categories: Vec::new(),
            ranges: Vec::new(),
            own: Vec::new(),
        }
    }

    fn slot(&self, doc: u32) -> u32 {
        if self.slots.is_empty() {
            return AT_BASE;
        }
        self.slots.get(doc as usize).copied().unwrap_or(NOT_SOLD)
    }

    fn includes(&self, doc: u32) -> bool {
        self.slot(doc) != NOT_SOLD
    }

    /// Whether the store prices `doc` itself.
    fn repriced(&self, doc: u32) -> bool {
        self.slot(doc) >= REPRICED
    }

    /// How many products are sold (`None`: every product).
    pub fn count(&self) -> Option<usize> {
        (!self.sells_all).then(|| self.slots.iter().filter(|&&s| s != NOT_SOLD).count())
    }

    /// How many prices of its own the store has.
    pub fn own_price_count(&self) -> usize {
        self.own.len()
    }

    /// The store's price range of repriced doc `doc` in column `ci`.
    fn range(&self, doc: u32, ci: usize) -> Option<Option<[i64; 2]>> {
        let row = self.slot(doc).checked_sub(REPRICED)? as usize;
        let width = self.columns.len();
        let r = self.ranges[row * width + ci];
        Some((r[0] != NOT_PRICED).then_some(r))
    }
}

/// One page of results with facet counts over the whole filtered set.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductPage<'a> {
    pub items: Vec<&'a Listing>,
    /// Per item (same order): whether the stock snapshot has it in stock.
    pub in_stock: Vec<bool>,
    pub total: usize,
    pub categories: Vec<(&'a Category, u32)>,
    pub price_bands: Vec<PriceBand>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct Posting {
    doc: u32,
    weight: u32,
}

#[derive(Debug)]
struct Term {
    text: String,
    postings: Vec<Posting>,
}

/// One catalog version, decoded and indexed for queries.
#[derive(Debug)]
pub struct Catalog {
    version: String,
    /// Revision of each product shard and price shard, as the index names them.
    product_shards: Vec<String>,
    price_shards: Vec<String>,
    currencies: Vec<Currency>,
    categories: Vec<Category>,
    products: Vec<Listing>,
    by_id: HashMap<String, u32>,
    by_slug: HashMap<String, u32>,
    /// Sorted by text, for exact lookup and prefix ranges.
    terms: Vec<Term>,
    featured: Vec<u32>,
    newest: Vec<u32>,
    by_name: Vec<u32>,
    /// Per currency: docs priced in it, by lowest price ascending / descending.
    price_asc: Vec<Vec<u32>>,
    price_desc: Vec<Vec<u32>>,
    /// Per currency: facets of every product priced in it.
    all_facets: Vec<Facets>,
    /// Columns for the filter-and-facet scan, indexed by doc: category, and
    /// per currency the lowest price ([`NOT_PRICED`] if none) and its band.
    doc_category: Vec<u16>,
    from_price: Vec<Vec<i64>>,
    price_band: Vec<Vec<u8>>,
    /// Store id → revision of its own prices in this version.
    store_prices: BTreeMap<String, String>,
}

impl Catalog {
    /// The catalog of a shop that has published nothing yet.
    pub fn empty(currencies: Vec<Currency>) -> Self {
        Self::from_index(
            "empty".into(),
            CatalogIndex {
                schema: crate::records::INDEX_SCHEMA,
                currencies,
                categories: vec![],
                products: vec![],
                product_shards: vec![],
                price_shards: vec![],
                store_prices: BTreeMap::new(),
            },
        )
    }

    /// Decodes a serialized index (`catalog/index/{version}`).
    pub fn decode(version: String, json: &str) -> Result<Self, serde_json::Error> {
        let index: CatalogIndex = serde_json::from_str(json)?;
        Ok(Self::from_index(version, index))
    }

    pub fn from_index(version: String, index: CatalogIndex) -> Self {
        let currencies = index.currencies;
        let mut categories: Vec<Category> = index
            .categories
            .into_iter()
            .map(|c| Category {
                slug: c.slug,
                name: c.name,
                product_count: 0,
            })
            .collect();
        let category_pos: HashMap<String, usize> = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.slug.clone(), i))
            .collect();
        let category_tokens: Vec<Vec<String>> =
            categories.iter().map(|c| text::tokens(&c.name)).collect();

        let mut products = Vec::with_capacity(index.products.len());
        let mut term_map: HashMap<String, Vec<Posting>> = HashMap::new();
        for (doc, p) in index.products.into_iter().enumerate() {
            let doc = doc as u32;
            // A product whose category vanished is still listed, under the
            // first category; publishing refuses such a catalog anyway.
            let category = category_pos.get(&p.category).copied().unwrap_or(0);
            if let Some(c) = categories.get_mut(category) {
                c.product_count += 1;
            }
            let mut weights: HashMap<String, u32> = HashMap::new();
            let add = |tokens: Vec<String>, w: u32, seen: &mut HashMap<String, u32>| {
                let mut local: Vec<String> = tokens;
                local.sort();
                local.dedup();
                for t in local {
                    if !text::is_stop_word(&t) {
                        *seen.entry(t).or_insert(0) += w;
                    }
                }
            };
            add(text::tokens(&p.name), WEIGHT_NAME, &mut weights);
            add(
                p.tags.iter().flat_map(|t| text::tokens(t)).collect(),
                WEIGHT_TAG,
                &mut weights,
            );
            if let Some(ct) = category_tokens.get(category) {
                add(ct.clone(), WEIGHT_CATEGORY, &mut weights);
            }
            add(
                text::tokens(&p.description),
                WEIGHT_DESCRIPTION,
                &mut weights,
            );
            for (t, weight) in weights {
                term_map.entry(t).or_default().push(Posting { doc, weight });
            }
            let prices = currencies
                .iter()
                .map(|c| p.prices.get(c).copied())
                .collect();
            products.push(Listing {
                sort_name: text::fold(&p.name),
                id: p.id,
                slug: p.slug,
                name: p.name,
                category,
                tags: p.tags,
                image: p.image,
                variant_count: p.variant_count,
                position: p.position,
                created_at: p.created_at,
                prices,
                skus: p.skus,
                doc,
            });
        }

        let mut terms: Vec<Term> = term_map
            .into_iter()
            .map(|(text, mut postings)| {
                postings.sort_by_key(|p| p.doc);
                Term { text, postings }
            })
            .collect();
        terms.sort_by(|a, b| a.text.cmp(&b.text));

        let by_id = products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i as u32))
            .collect();
        let by_slug = products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.slug.clone(), i as u32))
            .collect();

        let mut catalog = Catalog {
            version,
            product_shards: index.product_shards,
            price_shards: index.price_shards,
            currencies,
            categories,
            products,
            by_id,
            by_slug,
            terms,
            featured: vec![],
            newest: vec![],
            by_name: vec![],
            price_asc: vec![],
            price_desc: vec![],
            all_facets: vec![],
            doc_category: vec![],
            from_price: vec![],
            price_band: vec![],
            store_prices: index.store_prices,
        };
        catalog.doc_category = catalog.products.iter().map(|p| p.category as u16).collect();
        for (ci, currency) in catalog.currencies.iter().enumerate() {
            let unit = currency.major_unit();
            let from: Vec<i64> = catalog
                .products
                .iter()
                .map(|p| p.prices[ci].map_or(NOT_PRICED, |r| r[0]))
                .collect();
            catalog
                .price_band
                .push(from.iter().map(|&f| band_of(f.max(0), unit)).collect());
            catalog.from_price.push(from);
        }
        let all: Vec<u32> = (0..catalog.products.len() as u32).collect();
        catalog.featured = catalog.presort(&all, SortOrder::Relevance, 0);
        catalog.newest = catalog.presort(&all, SortOrder::Newest, 0);
        catalog.by_name = catalog.presort(&all, SortOrder::Name, 0);
        for ci in 0..catalog.currencies.len() {
            let priced: Vec<u32> = all
                .iter()
                .copied()
                .filter(|&d| catalog.products[d as usize].prices[ci].is_some())
                .collect();
            let asc = catalog.presort(&priced, SortOrder::PriceAsc, ci);
            let desc = catalog.presort(&priced, SortOrder::PriceDesc, ci);
            let mut facets = Facets::new(catalog.categories.len());
            for &d in &priced {
                let d = d as usize;
                facets.count(catalog.doc_category[d], catalog.price_band[ci][d]);
            }
            catalog.all_facets.push(facets);
            catalog.price_asc.push(asc);
            catalog.price_desc.push(desc);
        }
        catalog
    }

    fn presort(&self, docs: &[u32], sort: SortOrder, currency: usize) -> Vec<u32> {
        let mut keyed: Vec<(CursorKey, u32)> = docs
            .iter()
            .map(|&d| {
                let from = self.products[d as usize]
                    .prices
                    .get(currency)
                    .copied()
                    .flatten();
                (self.key(d, sort, from.map_or(0, |r| r[0]), 0), d)
            })
            .collect();
        keyed.sort_by(|a, b| self.cmp_keyed(a, b));
        keyed.into_iter().map(|(_, d)| d).collect()
    }

    fn cmp_keyed(&self, a: &(CursorKey, u32), b: &(CursorKey, u32)) -> Ordering {
        a.0.cmp(&b.0).then_with(|| {
            self.products[a.1 as usize]
                .id
                .cmp(&self.products[b.1 as usize].id)
        })
    }

    /// The primary sort key of a doc whose lowest price is `from`,
    /// ascending (descending orders negate).
    fn key(&self, doc: u32, sort: SortOrder, from: i64, score: u32) -> CursorKey {
        let p = &self.products[doc as usize];
        match sort {
            SortOrder::Relevance if score > 0 => CursorKey::Int(-i64::from(score)),
            SortOrder::Relevance => CursorKey::Int(i64::from(p.position)),
            SortOrder::PriceAsc => CursorKey::Int(from),
            SortOrder::PriceDesc => CursorKey::Int(-from),
            SortOrder::Name => CursorKey::Text(p.sort_name.clone()),
            SortOrder::Newest => CursorKey::Int(-p.created_at),
        }
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// Finds a product by id (`prd_…`) or slug.
    pub fn find(&self, id_or_slug: &str) -> Option<&Listing> {
        self.by_id
            .get(id_or_slug)
            .or_else(|| self.by_slug.get(id_or_slug))
            .map(|&d| &self.products[d as usize])
    }

    /// The KV key of the shard holding a listing's full record, if published.
    pub fn record_key(&self, listing: &Listing) -> Option<String> {
        let shard = shard_of(&listing.id);
        self.product_shards
            .get(shard)
            .filter(|rev| !rev.is_empty())
            .map(|rev| product_shard_key(shard, rev))
    }

    /// The KV key of the shard holding a SKU's price list, if any SKU of
    /// this version hashes there (the SKU itself may still be absent).
    pub fn price_key(&self, sku: &str) -> Option<String> {
        let shard = shard_of(sku);
        self.price_shards
            .get(shard)
            .filter(|rev| !rev.is_empty())
            .map(|rev| price_shard_key(shard, rev))
    }

    pub fn category_of(&self, listing: &Listing) -> Option<&Category> {
        self.categories.get(listing.category)
    }

    /// The listing's price range in `currency` in the store `selected`
    /// describes, if it is sold in it there.
    pub fn price_range_in(
        &self,
        selected: &Selected,
        listing: &Listing,
        currency: Currency,
    ) -> Option<PriceRange> {
        let ci = self.column_of(selected, currency)?;
        let range = match selected.range(listing.doc, ci) {
            Some(r) => r,
            None => listing.prices.get(ci).copied().flatten(),
        };
        range.map(|[lo, hi]| PriceRange {
            from: Money::new(lo, currency),
            to: Money::new(hi, currency),
        })
    }

    /// The currencies a store can price in: the catalog's, then those only
    /// its own prices use.
    pub fn currencies_in<'a>(
        &'a self,
        selected: &'a Selected,
    ) -> impl Iterator<Item = Currency> + 'a {
        self.currencies
            .iter()
            .chain(&selected.extra_currencies)
            .copied()
    }

    fn column_of(&self, selected: &Selected, currency: Currency) -> Option<usize> {
        self.currencies_in(selected).position(|c| c == currency)
    }

    /// The revision of a store's own prices in this version, if it has any.
    pub fn store_prices_rev(&self, store: &str) -> Option<&str> {
        self.store_prices.get(store).map(String::as_str)
    }

    /// A doc's lowest price in column `ci` for the store ([`NOT_PRICED`]
    /// if it has none there).
    fn lowest_in(&self, selected: &Selected, ci: usize, doc: u32) -> i64 {
        match selected.range(doc, ci) {
            Some(r) => r.map_or(NOT_PRICED, |r| r[0]),
            None => self
                .from_price
                .get(ci)
                .map_or(NOT_PRICED, |f| f[doc as usize]),
        }
    }

    /// A doc's price band in column `ci` for the store.
    fn band_in(&self, selected: &Selected, ci: usize, unit: i64, doc: u32) -> u8 {
        if selected.repriced(doc) {
            band_of(self.lowest_in(selected, ci, doc).max(0), unit)
        } else {
            self.price_band.get(ci).map_or(0, |b| b[doc as usize])
        }
    }

    /// A SKU's price list in the store `selected` describes: its base
    /// prices (`base`, of product `product`) with the store's own in their
    /// place.
    pub fn sku_prices_in(
        &self,
        selected: &Selected,
        product: &str,
        sku: &str,
        base: &BTreeMap<Currency, i64>,
    ) -> BTreeMap<Currency, i64> {
        let mut prices = base.clone();
        if selected.own.is_empty() {
            return prices;
        }
        let Some(&doc) = self.by_id.get(product) else {
            return prices;
        };
        let Some(variant) = self.products[doc as usize]
            .skus
            .iter()
            .position(|s| s == sku)
        else {
            return prices;
        };
        let key = (doc, variant as u16);
        let start = selected.own.partition_point(|o| (o.doc, o.variant) < key);
        for o in selected.own[start..]
            .iter()
            .take_while(|o| (o.doc, o.variant) == key)
        {
            prices.insert(o.currency, o.amount);
        }
        prices
    }

    /// Checks a query against this catalog, as the store `selected`
    /// describes sells it, without running it.
    pub fn validate(&self, q: &ProductQuery, selected: &Selected) -> Result<(), QueryError> {
        self.plan(q, selected).map(|_| ())
    }

    fn plan(&self, q: &ProductQuery, selected: &Selected) -> Result<Plan, QueryError> {
        let ci = self
            .column_of(selected, q.currency)
            .ok_or(QueryError::UnsupportedCurrency)?;
        let category = match &q.category {
            Some(slug) => Some(
                self.categories
                    .iter()
                    .position(|c| &c.slug == slug)
                    .ok_or(QueryError::UnknownCategory)?,
            ),
            None => None,
        };
        if let (Some(lo), Some(hi)) = (q.min_price, q.max_price) {
            if lo > hi {
                return Err(QueryError::InvalidPriceRange);
            }
        }
        let words = QueryWords::parse(q.text.as_deref().unwrap_or(""));
        if words.words.len() > limits::MAX_QUERY_WORDS {
            return Err(QueryError::TooManyWords);
        }
        let fingerprint = fingerprint(q, &words);
        let after = match &q.cursor {
            Some(c) => Some(cursor::decode(c, fingerprint).ok_or(QueryError::InvalidCursor)?),
            None => None,
        };
        Ok(Plan {
            ci,
            category,
            words,
            fingerprint,
            after,
        })
    }

    /// Which of `skus` a variant of this version has (same order, exact
    /// match), in one pass over the listings' SKU lists. `None` when the
    /// index was published before listings carried their SKUs (some
    /// listing lists fewer SKUs than it has variants): only the price
    /// shards can tell then.
    pub fn known_skus(&self, skus: &[&str]) -> Option<Vec<bool>> {
        if self
            .products
            .iter()
            .any(|p| p.skus.len() < p.variant_count as usize)
        {
            return None;
        }
        let wanted: HashSet<&str> = skus.iter().copied().collect();
        let mut found: HashSet<&str> = HashSet::with_capacity(wanted.len());
        for sku in self.products.iter().flat_map(|p| &p.skus) {
            if wanted.contains(sku.as_str()) {
                found.insert(sku.as_str());
            }
        }
        Some(skus.iter().map(|s| found.contains(s)).collect())
    }

    /// What a store makes of this catalog version: the products
    /// `selection` names, at the store's own prices (`own`, the record
    /// this version names for the store, if any).
    pub fn select(&self, selection: &Selection, own: Option<StorePriceRecord>) -> Selected {
        let all = matches!(selection, Selection::All {});
        if all && own.is_none() {
            return Selected::all();
        }
        let mut slots: Vec<u32> = self
            .products
            .iter()
            .enumerate()
            .map(|(d, p)| {
                let category = self
                    .categories
                    .get(usize::from(self.doc_category[d]))
                    .map(|c| c.slug.as_str());
                if all || selection.includes(&p.id, category) {
                    AT_BASE
                } else {
                    NOT_SOLD
                }
            })
            .collect();
        let mut extra_currencies: Vec<Currency> = own
            .iter()
            .flat_map(|o| o.products.values().flat_map(|r| r.keys().copied()))
            .filter(|c| !self.currencies.contains(c))
            .collect();
        extra_currencies.sort();
        extra_currencies.dedup();
        let currencies: Vec<Currency> = self
            .currencies
            .iter()
            .chain(&extra_currencies)
            .copied()
            .collect();
        let mut repriced_docs: Vec<u32> = Vec::new();
        let mut ranges = Vec::new();
        let mut own_prices = Vec::new();
        if let Some(o) = &own {
            for (id, r) in &o.products {
                // Products the store does not sell need no prices of its own.
                let Some(&doc) = self
                    .by_id
                    .get(id)
                    .filter(|&&d| slots[d as usize] != NOT_SOLD)
                else {
                    continue;
                };
                slots[doc as usize] = REPRICED + repriced_docs.len() as u32;
                repriced_docs.push(doc);
                ranges.extend(
                    currencies
                        .iter()
                        .map(|c| r.get(c).copied().unwrap_or([NOT_PRICED, NOT_PRICED])),
                );
                for (variant, sku) in self.products[doc as usize].skus.iter().enumerate() {
                    for (currency, amount) in o.skus.get(sku).into_iter().flatten() {
                        own_prices.push(OwnPrice {
                            amount: *amount,
                            doc,
                            variant: variant as u16,
                            currency: *currency,
                        });
                    }
                }
            }
        }
        own_prices.sort_by_key(|o| (o.doc, o.variant, o.currency));
        own_prices.shrink_to_fit();
        ranges.shrink_to_fit();
        let mut selected = Selected {
            sells_all: all,
            slots,
            extra_currencies,
            // One per currency from the start: `range` reads rows of that width.
            columns: currencies
                .iter()
                .map(|_| Column {
                    facets: Facets::new(0),
                    asc: Vec::new(),
                    desc: Vec::new(),
                })
                .collect(),
            categories: Vec::new(),
            ranges,
            own: own_prices,
        };
        repriced_docs.sort_unstable();
        for (ci, currency) in currencies.iter().enumerate() {
            let unit = currency.major_unit();
            let mut facets = Facets::new(self.categories.len());
            for d in 0..self.products.len() as u32 {
                if selected.includes(d) && self.lowest_in(&selected, ci, d) != NOT_PRICED {
                    facets.count(
                        self.doc_category[d as usize],
                        self.band_in(&selected, ci, unit, d),
                    );
                }
            }
            let priced: Vec<u32> = repriced_docs
                .iter()
                .copied()
                .filter(|&d| self.lowest_in(&selected, ci, d) != NOT_PRICED)
                .collect();
            let order = |sort: SortOrder| {
                let mut keyed: Vec<(CursorKey, u32)> = priced
                    .iter()
                    .map(|&d| (self.key(d, sort, self.lowest_in(&selected, ci, d), 0), d))
                    .collect();
                keyed.sort_by(|a, b| self.cmp_keyed(a, b));
                keyed.into_iter().map(|(_, d)| d).collect::<Vec<u32>>()
            };
            selected.columns[ci] = Column {
                facets,
                asc: order(SortOrder::PriceAsc),
                desc: order(SortOrder::PriceDesc),
            };
        }
        if !all {
            let mut categories = vec![0u32; self.categories.len()];
            for (d, &slot) in selected.slots.iter().enumerate() {
                if let Some(c) = categories.get_mut(usize::from(self.doc_category[d])) {
                    *c += u32::from(slot != NOT_SOLD);
                }
            }
            selected.categories = categories;
        }
        selected
    }

    /// Docs in price order for the store: the catalog's order (`base`,
    /// without the repriced docs) merged with the store's order of the
    /// repriced ones (`own`), both by (key, id).
    fn merged_order<'a>(
        &'a self,
        selected: &'a Selected,
        ci: usize,
        sort: SortOrder,
        base: &'a [u32],
        own: &'a [u32],
    ) -> impl Iterator<Item = u32> + 'a {
        let mut a = base
            .iter()
            .copied()
            .filter(move |&d| !selected.repriced(d))
            .peekable();
        let mut b = own.iter().copied().peekable();
        let keyed = move |d: u32| (self.key(d, sort, self.lowest_in(selected, ci, d), 0), d);
        std::iter::from_fn(move || match (a.peek().copied(), b.peek().copied()) {
            (Some(x), Some(y)) => {
                if self.cmp_keyed(&keyed(x), &keyed(y)) == Ordering::Greater {
                    b.next()
                } else {
                    a.next()
                }
            }
            (Some(_), None) => a.next(),
            (None, _) => b.next(),
        })
    }

    /// The product with this id or slug, if `selected` sells it.
    pub fn find_selected(&self, id_or_slug: &str, selected: &Selected) -> Option<&Listing> {
        self.by_id
            .get(id_or_slug)
            .or_else(|| self.by_slug.get(id_or_slug))
            .filter(|&&d| selected.includes(d))
            .map(|&d| &self.products[d as usize])
    }

    /// The categories with a product `selected` sells, with how many (all
    /// of them, with their own counts, without a mask).
    pub fn categories_selected<'a>(
        &'a self,
        selected: &'a Selected,
    ) -> impl Iterator<Item = (&'a Category, u32)> {
        self.categories
            .iter()
            .enumerate()
            .filter_map(move |(i, c)| {
                if selected.sells_all {
                    return Some((c, c.product_count));
                }
                let n = selected.categories.get(i).copied().unwrap_or(0);
                (n > 0).then_some((c, n))
            })
    }

    /// The products with a SKU in `snapshot`.
    pub fn stock_flags(&self, snapshot: &StockSnapshot) -> StockFlags {
        StockFlags {
            flags: self
                .products
                .iter()
                .map(|p| p.skus.iter().any(|sku| snapshot.contains(sku)))
                .collect(),
        }
    }

    /// Answers a list/search query over the products `selected` sells;
    /// `stock` serves its `in_stock` filter and the items' stock flags.
    pub fn query(
        &self,
        q: &ProductQuery,
        stock: &StockFlags,
        selected: &Selected,
    ) -> Result<ProductPage<'_>, QueryError> {
        let Plan {
            ci,
            category,
            words,
            fingerprint,
            after,
        } = self.plan(q, selected)?;

        let unit = q.currency.major_unit();
        let passes = |doc: u32| -> bool {
            let from = self.lowest_in(selected, ci, doc);
            from != NOT_PRICED
                && selected.includes(doc)
                && category.is_none_or(|c| usize::from(self.doc_category[doc as usize]) == c)
                && q.min_price.is_none_or(|lo| from >= lo)
                && q.max_price.is_none_or(|hi| from <= hi)
                && q.in_stock.is_none_or(|want| stock.get(doc) == want)
        };
        let count = |facets: &mut Facets, doc: u32| {
            facets.count(
                self.doc_category[doc as usize],
                self.band_in(selected, ci, unit, doc),
            );
        };

        // Without filters the facets are the catalog's own, counted at decode.
        let unfiltered = words.words.is_empty()
            && category.is_none()
            && q.min_price.is_none()
            && q.max_price.is_none()
            && q.in_stock.is_none();
        let mut scratch = Facets::new(self.categories.len());
        let limit = q.limit.max(1);
        let mut page: Vec<(CursorKey, u32)> =
            Vec::with_capacity(limit.min(self.products.len()) + 1);
        let is_after = |key: &CursorKey, doc: u32| match &after {
            None => true,
            Some((ck, cid)) => match key.cmp(ck) {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal => self.products[doc as usize].id.as_str() > cid.as_str(),
            },
        };

        if words.words.is_empty() {
            let none: &[u32] = &[];
            let column = selected.columns.get(ci);
            let (base, own) = match q.sort {
                SortOrder::PriceAsc => (&self.price_asc, column.map(|c| &c.asc)),
                SortOrder::PriceDesc => (&self.price_desc, column.map(|c| &c.desc)),
                _ => (&self.price_asc, None),
            };
            let base = base.get(ci).map_or(none, Vec::as_slice);
            let own = own.map_or(none, Vec::as_slice);
            let order: Box<dyn Iterator<Item = u32>> = match q.sort {
                SortOrder::Relevance => Box::new(self.featured.iter().copied()),
                SortOrder::Newest => Box::new(self.newest.iter().copied()),
                SortOrder::Name => Box::new(self.by_name.iter().copied()),
                SortOrder::PriceAsc | SortOrder::PriceDesc => {
                    Box::new(self.merged_order(selected, ci, q.sort, base, own))
                }
            };
            let mut started = after.is_none();
            for doc in order {
                if !passes(doc) {
                    continue;
                }
                if unfiltered {
                    if page.len() > limit {
                        break;
                    }
                } else {
                    count(&mut scratch, doc);
                }
                if page.len() <= limit {
                    let key = self.key(doc, q.sort, self.lowest_in(selected, ci, doc), 0);
                    if !started {
                        started = is_after(&key, doc);
                    }
                    if started {
                        page.push((key, doc));
                    }
                }
            }
        } else {
            let mut matched: Vec<(CursorKey, u32)> = Vec::new();
            for (doc, score) in self.text_matches(&words) {
                if !passes(doc) {
                    continue;
                }
                count(&mut scratch, doc);
                let key = self.key(doc, q.sort, self.lowest_in(selected, ci, doc), score);
                if is_after(&key, doc) {
                    matched.push((key, doc));
                }
            }
            // Only the first limit + 1 need ordering.
            if matched.len() > limit + 1 {
                matched.select_nth_unstable_by(limit, |a, b| self.cmp_keyed(a, b));
                matched.truncate(limit + 1);
            }
            matched.sort_by(|a, b| self.cmp_keyed(a, b));
            page = matched;
        }

        if unfiltered {
            scratch = match selected.columns.get(ci) {
                None => self.all_facets[ci].clone(),
                Some(column) => column.facets.clone(),
            };
        }
        let next_cursor = if page.len() > limit {
            page.truncate(limit);
            page.last().map(|(key, doc)| {
                cursor::encode(fingerprint, key, &self.products[*doc as usize].id)
            })
        } else {
            None
        };
        Ok(ProductPage {
            items: page
                .iter()
                .map(|(_, d)| &self.products[*d as usize])
                .collect(),
            in_stock: page.iter().map(|(_, d)| stock.get(*d)).collect(),
            total: scratch.total,
            categories: self.categories.iter().zip(scratch.categories).collect(),
            price_bands: scratch
                .bands
                .iter()
                .enumerate()
                .map(|(i, &count)| PriceBand {
                    min_price: if i == 0 { 0 } else { BAND_EDGES[i - 1] * unit },
                    max_price: BAND_EDGES.get(i).map(|e| e * unit - 1),
                    count,
                })
                .collect(),
            next_cursor,
        })
    }

    /// Docs matching every word, with their scores. A word's matches share
    /// one idf, computed from how many docs the word (with its prefix
    /// expansions) matches, so a rare expansion cannot outrank the word.
    fn text_matches(&self, words: &QueryWords) -> Vec<(u32, u32)> {
        let n = self.products.len();
        let mut scores = vec![0u32; n];
        let mut hits = vec![0u8; n];
        // Best field weight per doc for the current word, in quarters
        // (exact 4/4, prefix 3/4); `touched` lists the non-zero entries.
        let mut best = vec![0u32; n];
        let mut touched: Vec<u32> = Vec::new();
        for (i, word) in words.words.iter().enumerate() {
            let prefix = words.last_is_prefix && i + 1 == words.words.len();
            let start = self
                .terms
                .partition_point(|t| t.text.as_str() < word.as_str());
            for term in &self.terms[start..] {
                let exact = term.text == *word;
                let expands = prefix && term.text.starts_with(word.as_str());
                if !exact && !expands {
                    break;
                }
                let quarters = if exact { 4 } else { 3 };
                for p in &term.postings {
                    let b = &mut best[p.doc as usize];
                    if *b == 0 {
                        touched.push(p.doc);
                    }
                    *b = (*b).max(p.weight * quarters);
                }
                if !prefix {
                    break;
                }
            }
            let idf = idf(n, touched.len());
            for doc in touched.drain(..) {
                let d = doc as usize;
                if usize::from(hits[d]) == i {
                    hits[d] += 1;
                    scores[d] += idf * best[d];
                }
                best[d] = 0;
            }
        }
        let need = words.words.len();
        (0..n as u32)
            .filter(|&d| usize::from(hits[d as usize]) == need)
            .map(|d| (d, scores[d as usize].max(1)))
            .collect()
    }
}

/// Inverse document frequency in thousandths: ln(1 + n / df).
fn idf(n: usize, df: usize) -> u32 {
    (1000.0 * (1.0 + n.max(1) as f64 / df.max(1) as f64).ln()).round() as u32
}

/// A validated query, resolved against one catalog.
struct Plan {
    /// Index of the query currency among the catalog's.
    ci: usize,
    category: Option<usize>,
    words: QueryWords,
    fingerprint: u64,
    after: Option<(CursorKey, String)>,
}

/// Facet counters over a filtered set.
#[derive(Debug, Clone)]
struct Facets {
    total: usize,
    categories: Vec<u32>,
    bands: [u32; BAND_EDGES.len() + 1],
}

impl Facets {
    fn new(categories: usize) -> Self {
        Facets {
            total: 0,
            categories: vec![0; categories],
            bands: [0; BAND_EDGES.len() + 1],
        }
    }

    fn count(&mut self, category: u16, band: u8) {
        self.total += 1;
        if let Some(c) = self.categories.get_mut(usize::from(category)) {
            *c += 1;
        }
        self.bands[usize::from(band)] += 1;
    }
}

/// The price band (index into the facet bands) of a price in minor units.
fn band_of(price: i64, unit: i64) -> u8 {
    BAND_EDGES
        .iter()
        .take_while(|&&e| price >= e * unit)
        .count() as u8
}

/// Marks a doc without a price in a currency in [`Catalog::from_price`].
const NOT_PRICED: i64 = -1;

/// [`Selected`]'s slots: not sold, sold at base prices, and the first row
/// of the store's own price ranges.
const NOT_SOLD: u32 = 0;
const AT_BASE: u32 = 1;
const REPRICED: u32 = 2;

/// The words of a query, normalised: stop words dropped (except the last,
/// which may still be typed out), duplicates dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
struct QueryWords {
    words: Vec<String>,
    last_is_prefix: bool,
}

impl QueryWords {
    fn parse(q: &str) -> Self {
        let tokens = text::tokens(q);
        let last_is_prefix = q.chars().last().is_some_and(|c| c.is_alphanumeric());
        let n = tokens.len();
        let mut words: Vec<String> = Vec::with_capacity(n);
        for (i, t) in tokens.into_iter().enumerate() {
            let is_last = i + 1 == n;
            if (is_last && last_is_prefix) || !text::is_stop_word(&t) {
                if let Some(pos) = words.iter().position(|w| *w == t) {
                    words.remove(pos);
                }
                words.push(t);
            }
        }
        QueryWords {
            words,
            last_is_prefix,
        }
    }
}

/// Identifies everything about a query that its pages must share.
fn fingerprint(q: &ProductQuery, words: &QueryWords) -> u64 {
    let mut canonical = format!(
        "{:?}|{}|{:?}|{}|{:?}|{:?}|{}",
        words.words,
        words.last_is_prefix,
        q.category,
        q.currency,
        q.min_price,
        q.max_price,
        q.sort.as_str()
    );
    // Appended only when set, so cursors of queries without it stay valid.
    if let Some(want) = q.in_stock {
        canonical.push_str(&format!("|in_stock={want}"));
    }
    fnv1a64(canonical.as_bytes())
}
