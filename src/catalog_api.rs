//! The catalog endpoints without the runtime: query-string parsing into
//! domain queries, and rendering domain results as API bodies. Loading the
//! catalog is `catalog_store`'s job; this module only sees values.

use crate::http::{ApiError, ApiResponse, Result};
use edgecart_domain::catalog::limits::PRICE_MAX;
use edgecart_domain::money::{Currency, CurrencyError, Money};
use edgecart_domain::points::Programme;
use edgecart_domain::records::{ImageRecord, ProductRecord};
use edgecart_domain::search::{
    limits, Catalog, Listing, ProductQuery, QueryError, Selected, SortOrder, StockFlags,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// Query parameters of a request, each given at most once.
pub struct Params<'a> {
    pairs: Vec<(String, String)>,
    allowed: &'a [&'static str],
}

impl<'a> Params<'a> {
    /// Refuses unknown and repeated parameters. An empty value counts as
    /// absent, as HTML forms send them.
    pub fn parse(pairs: Vec<(String, String)>, allowed: &'a [&'static str]) -> Result<Self> {
        for (i, (name, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&name.as_str()) {
                return Err(ApiError::invalid(
                    name,
                    "unknown_parameter",
                    format!(
                        "Unknown query parameter {name:?}; this route accepts: {}.",
                        if allowed.is_empty() {
                            "none".to_string()
                        } else {
                            allowed.join(", ")
                        }
                    ),
                ));
            }
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(ApiError::invalid(
                    name,
                    "duplicate_parameter",
                    format!("Query parameter {name:?} is given more than once."),
                ));
            }
        }
        Ok(Params { pairs, allowed })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        debug_assert!(self.allowed.contains(&name));
        self.pairs
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
}

pub const LIST_PARAMS: &[&str] = &[
    "q",
    "category",
    "min_price",
    "max_price",
    "sort",
    "currency",
    "limit",
    "cursor",
    "in_stock",
];
pub const DETAIL_PARAMS: &[&str] = &["currency"];

fn parse_price(params: &Params, name: &str) -> Result<Option<i64>> {
    let Some(raw) = params.get(name) else {
        return Ok(None);
    };
    match raw.parse::<i64>() {
        Ok(n) if raw.bytes().all(|b| b.is_ascii_digit()) && n <= PRICE_MAX => Ok(Some(n)),
        _ => Err(ApiError::invalid(
            name,
            "invalid_price",
            format!("{name} must be a non-negative integer of minor units (at most {PRICE_MAX})."),
        )),
    }
}

/// The currency a request asks for: `currency` if given, else the store's
/// default, else the first currency the store sells (`sells`) that its
/// catalog is priced in (the catalog's, or its own prices'). A currency
/// nothing is priced in is refused.
pub fn parse_currency(
    params: &Params,
    catalog: &Catalog,
    selected: &Selected,
    default: Currency,
    sells: impl Fn(Currency) -> bool,
) -> Result<Currency> {
    let unknown = |detail: String| ApiError::invalid("currency", "unknown_currency", detail);
    let priced: Vec<Currency> = catalog.currencies_in(selected).collect();
    match params.get("currency") {
        Some(raw) => {
            let c = Currency::parse(raw).map_err(|e| match e {
                CurrencyError::Malformed => {
                    unknown(format!("{raw:?} is not an ISO 4217 currency code."))
                }
                CurrencyError::Unknown => unknown(format!("{raw:?} is not a known currency.")),
            })?;
            if priced.contains(&c) {
                Ok(c)
            } else {
                Err(unknown(format!(
                    "This catalog has no prices in {c}; it is priced in {}.",
                    join(&priced)
                )))
            }
        }
        None if priced.is_empty() || priced.contains(&default) => Ok(default),
        None => Ok(priced
            .iter()
            .copied()
            .find(|c| sells(*c))
            .unwrap_or(default)),
    }
}

fn join(currencies: &[Currency]) -> String {
    currencies
        .iter()
        .map(Currency::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses `GET /v1/products` parameters into a domain query.
pub fn parse_list_query(
    params: &Params,
    catalog: &Catalog,
    selected: &Selected,
    default: Currency,
    sells: impl Fn(Currency) -> bool,
) -> Result<ProductQuery> {
    let currency = parse_currency(params, catalog, selected, default, sells)?;
    let text = params.get("q").map(str::to_string);
    if let Some(q) = &text {
        if q.chars().count() > limits::MAX_QUERY_CHARS {
            return Err(ApiError::invalid(
                "q",
                "query_too_long",
                format!("q must be at most {} characters.", limits::MAX_QUERY_CHARS),
            ));
        }
    }
    let sort = match params.get("sort") {
        None => SortOrder::Relevance,
        Some(raw) => SortOrder::parse(raw).ok_or_else(|| {
            ApiError::invalid(
                "sort",
                "invalid_sort",
                format!(
                    "sort must be one of: {}.",
                    SortOrder::ALL.map(|s| s.as_str()).join(", ")
                ),
            )
        })?,
    };
    let limit = match params.get("limit") {
        None => limits::DEFAULT_PAGE,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n)
                if (1..=limits::MAX_PAGE).contains(&n)
                    && raw.bytes().all(|b| b.is_ascii_digit()) =>
            {
                n
            }
            _ => {
                return Err(ApiError::invalid(
                    "limit",
                    "invalid_limit",
                    format!("limit must be an integer from 1 to {}.", limits::MAX_PAGE),
                ))
            }
        },
    };
    Ok(ProductQuery {
        text,
        category: params.get("category").map(str::to_string),
        currency,
        min_price: parse_price(params, "min_price")?,
        max_price: parse_price(params, "max_price")?,
        sort,
        limit,
        cursor: params.get("cursor").map(str::to_string),
        in_stock: match params.get("in_stock") {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => {
                return Err(ApiError::invalid(
                    "in_stock",
                    "invalid_in_stock",
                    "in_stock must be true or false.",
                ))
            }
        },
    })
}

/// Maps a domain query error to the parameter that caused it.
pub fn query_error(e: QueryError) -> ApiError {
    match e {
        QueryError::UnsupportedCurrency => {
            ApiError::invalid("currency", "unknown_currency", "This catalog has no prices in that currency.")
        }
        QueryError::UnknownCategory => ApiError::invalid(
            "category",
            "unknown_category",
            "No category has this slug; GET /v1/categories lists them.",
        ),
        QueryError::InvalidCursor => ApiError::invalid(
            "cursor",
            "invalid_cursor",
            "The cursor is malformed or belongs to a different query; pass next_cursor back with the same filters and sort.",
        ),
        QueryError::InvalidPriceRange => ApiError::invalid(
            "min_price",
            "invalid_price_range",
            "min_price must not be greater than max_price.",
        ),
        QueryError::TooManyWords => ApiError::invalid(
            "q",
            "query_too_long",
            format!("q may have at most {} words.", limits::MAX_QUERY_WORDS),
        ),
    }
}

/// The category a product is listed under.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CategoryRef<'a> {
    #[cfg_attr(feature = "openapi", schemars(with = "edgecart_domain::openapi::Slug"))]
    slug: &'a str,
    /// Display name.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["Coffee & Tea"])))]
    name: &'a str,
}

/// A product as a listing shows it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "ProductListItem"))]
pub struct ListItem<'a> {
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::ProductId")
    )]
    id: &'a str,
    #[cfg_attr(feature = "openapi", schemars(with = "edgecart_domain::openapi::Slug"))]
    slug: &'a str,
    /// Display name.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1), extend("examples" = ["Classic Ethiopian Coffee Beans"])))]
    name: &'a str,
    /// The product's category; null only if the catalog has no categories.
    category: Option<CategoryRef<'a>>,
    /// Merchant tags.
    #[cfg_attr(feature = "openapi", schemars(length(max = 20)))]
    tags: &'a [String],
    /// The product's first image, or null if it has none.
    image: Option<&'a ImageRecord>,
    /// Number of variants (SKUs).
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 50)))]
    variant_count: u32,
    /// Lowest variant price in the response currency. Listings only include
    /// products priced in that currency, so in practice this is never null.
    price: Option<Money>,
    /// Highest variant price in the response currency (equal to `price` when
    /// all variants cost the same).
    price_max: Option<Money>,
    /// When the product was added to the catalog (RFC 3339, UTC); the `newest`
    /// sort orders by it.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    created_at: String,
    /// Path of the product's detail route, `/v1/products/{slug}`.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "uri-reference"), extend("examples" = ["/v1/products/classic-ethiopian-coffee-beans"])))]
    url: String,
    /// Whether the stock snapshot has at least one of this product's SKUs in
    /// stock (a SKU whose stock was never set counts as out of stock). Like the
    /// `in_stock` filter, it may lag the exact stock by a few seconds at the
    /// location where the snapshot is written and by KV's propagation window
    /// (about 60 seconds) elsewhere; `GET /v1/inventory/{sku}` and the product
    /// detail give availability at most a second old.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = [true])))]
    in_stock: bool,
}

fn list_item<'a>(
    catalog: &'a Catalog,
    selected: &Selected,
    l: &'a Listing,
    currency: Currency,
    in_stock: bool,
) -> ListItem<'a> {
    let range = catalog.price_range_in(selected, l, currency);
    ListItem {
        id: &l.id,
        slug: &l.slug,
        name: &l.name,
        category: catalog.category_of(l).map(|c| CategoryRef {
            slug: &c.slug,
            name: &c.name,
        }),
        tags: &l.tags,
        image: l.image.as_ref(),
        variant_count: l.variant_count,
        price: range.map(|r| r.from),
        price_max: range.map(|r| r.to),
        created_at: rfc3339(l.created_at),
        url: format!("/v1/products/{}", l.slug),
        in_stock,
    }
}

fn rfc3339(unix_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(unix_seconds, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// How many of the matching products are in one category.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CategoryFacet<'a> {
    #[cfg_attr(feature = "openapi", schemars(with = "edgecart_domain::openapi::Slug"))]
    slug: &'a str,
    /// Display name.
    name: &'a str,
    /// Matching products in this category (may be 0).
    #[cfg_attr(feature = "openapi", schemars(range(min = 0)))]
    count: u32,
}

/// How many of the matching products have their lowest price in one band.
/// Bounds are minor units of the response currency and both inclusive, so they
/// can be sent back as `min_price` and `max_price` as they are. Band edges are
/// at 25, 50, 100, 250 and 500 major units: in USD the bands are 0–2499,
/// 2500–4999, 5000–9999, 10000–24999, 25000–49999 and 50000 and up.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct PriceBand {
    /// Lowest price in the band, inclusive.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    min_price: i64,
    /// Highest price in the band, inclusive; null for the last, open-ended
    /// band.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    max_price: Option<i64>,
    /// Matching products whose lowest price is in the band.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0)))]
    count: u32,
}

/// Counts over the whole filtered result set (all filters applied, including
/// `category`, the price filters and `in_stock`; not just the current page),
/// for building filter UIs.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Facets<'a> {
    /// One entry per catalog category, in the merchant's order, including those
    /// with a count of 0.
    categories: Vec<CategoryFacet<'a>>,
    /// Six bands in ascending order; the last has `max_price` null.
    #[cfg_attr(feature = "openapi", schemars(length(min = 6, max = 6)))]
    price_bands: Vec<PriceBand>,
}

/// One page of a product listing or search.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ProductList<'a> {
    /// At most `limit` products, in the requested order.
    #[cfg_attr(feature = "openapi", schemars(length(max = 100)))]
    items: Vec<ListItem<'a>>,
    /// Number of products matching the query across all pages (independent of
    /// `cursor` and `limit`).
    #[cfg_attr(feature = "openapi", schemars(range(min = 0)))]
    total: usize,
    /// The currency of every price and price bound in this response.
    currency: Currency,
    facets: Facets<'a>,
    /// Opaque cursor for the next page: pass it as `cursor` with the same
    /// filters and sort. Null on the last page.
    next_cursor: Option<String>,
}

/// Answers `GET /v1/products`.
pub fn list_products(
    catalog: &Catalog,
    query: &ProductQuery,
    stock: &StockFlags,
    selected: &Selected,
) -> Result<ApiResponse> {
    let page = catalog.query(query, stock, selected).map_err(query_error)?;
    let body = ProductList {
        items: page
            .items
            .iter()
            .zip(&page.in_stock)
            .map(|(l, in_stock)| list_item(catalog, selected, l, query.currency, *in_stock))
            .collect(),
        total: page.total,
        currency: query.currency,
        facets: Facets {
            categories: page
                .categories
                .iter()
                .map(|(c, n)| CategoryFacet {
                    slug: &c.slug,
                    name: &c.name,
                    count: *n,
                })
                .collect(),
            price_bands: page
                .price_bands
                .iter()
                .map(|b| PriceBand {
                    min_price: b.min_price,
                    max_price: b.max_price,
                    count: b.count,
                })
                .collect(),
        },
        next_cursor: page.next_cursor,
    };
    Ok(ApiResponse::json(&body))
}

/// A category of the live catalog.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Category<'a> {
    /// Pass it as `category` to `GET /v1/products` to list the category's
    /// products.
    #[cfg_attr(feature = "openapi", schemars(with = "edgecart_domain::openapi::Slug"))]
    slug: &'a str,
    /// Display name.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["Coffee & Tea"])))]
    name: &'a str,
    /// Number of products in this category in the live catalog version,
    /// whatever currencies they are priced in.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0)))]
    product_count: u32,
}

/// Every category of the live catalog version, in the merchant's order.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CategoryList<'a> {
    items: Vec<Category<'a>>,
}

/// Answers `GET /v1/categories`.
pub fn list_categories(catalog: &Catalog, selected: &Selected) -> ApiResponse {
    ApiResponse::json(&CategoryList {
        items: catalog
            .categories_selected(selected)
            .map(|(c, n)| Category {
                slug: &c.slug,
                name: &c.name,
                product_count: n,
            })
            .collect(),
    })
}

/// One purchasable variant (SKU) of a product.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Variant<'a> {
    #[cfg_attr(feature = "openapi", schemars(with = "edgecart_domain::openapi::Sku"))]
    sku: &'a str,
    /// Display name of the variant.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1), extend("examples" = ["500 g"])))]
    name: &'a str,
    /// Option names and values that distinguish this variant, e.g. `{"size":
    /// "Large"}`. May be empty.
    #[cfg_attr(feature = "openapi", schemars(extend("additionalProperties" = {"type": "string"}, "maxProperties" = 10), extend("examples" = [{"weight": "500 g"}])))]
    options: &'a BTreeMap<String, String>,
    /// The variant's price in the response currency, or null if it is not
    /// priced in it.
    price: Option<Money>,
    /// The variant's full price list: one price per currency it is priced in,
    /// ordered by currency code.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1)))]
    prices: Vec<Money>,
    /// `price` in the store's points (its programme's points per minor
    /// unit × the amount); absent when the store has no points programme,
    /// its points do not pay in the response currency, or `price` is null.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64", "examples" = [1999])))]
    #[serde(skip_serializing_if = "Option::is_none")]
    price_points: Option<i64>,
    /// Exact units of this variant that can be added to a cart now, read from
    /// its stock object at request time; null if that object could not answer.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0)))]
    available: Option<i64>,
    /// `available > 0`; null when `available` is null.
    in_stock: Option<bool>,
}

/// A product's full record, as its detail page shows it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Product<'a> {
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::ProductId")
    )]
    id: &'a str,
    #[cfg_attr(feature = "openapi", schemars(with = "edgecart_domain::openapi::Slug"))]
    slug: &'a str,
    /// Display name.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1), extend("examples" = ["Classic Ethiopian Coffee Beans"])))]
    name: &'a str,
    /// Plain-text description (may be empty).
    #[cfg_attr(feature = "openapi", schemars(length(max = 5000)))]
    description: &'a str,
    /// The product's category; null only if the catalog has no categories.
    category: Option<CategoryRef<'a>>,
    /// Merchant tags.
    #[cfg_attr(feature = "openapi", schemars(length(max = 20)))]
    tags: &'a [String],
    /// Product images, the main one first. May be empty.
    #[cfg_attr(feature = "openapi", schemars(length(max = 10)))]
    images: &'a [ImageRecord],
    /// When the product was added to the catalog (RFC 3339).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time"), extend("examples" = ["2026-03-14T09:26:53Z"])))]
    created_at: &'a str,
    /// The response currency: `price`, `price_max` and each variant's `price`
    /// are in it.
    currency: Currency,
    /// Lowest variant price in the response currency, or null if no variant is
    /// priced in it.
    price: Option<Money>,
    /// Highest variant price in the response currency, or null if no variant is
    /// priced in it.
    price_max: Option<Money>,
    /// Most units of one variant a single cart or order may hold; null when
    /// only the cart limit (99) applies.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 99)))]
    max_per_order: Option<i64>,
    /// The product's variants.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 50)))]
    variants: Vec<Variant<'a>>,
}

/// Answers `GET /v1/products/{id_or_slug}` from the product's full record
/// and the availability of its variants (SKU → units; absent when its
/// stock object could not answer).
pub fn product_detail(
    catalog: &Catalog,
    selected: &Selected,
    listing: &Listing,
    record: &ProductRecord,
    currency: Currency,
    points: Option<&Programme>,
    available: &BTreeMap<String, i64>,
) -> ApiResponse {
    let range = catalog.price_range_in(selected, listing, currency);
    let in_points = |amount: i64| points.and_then(|p| p.points_for(currency, amount));
    ApiResponse::json(&Product {
        id: &record.id,
        slug: &record.slug,
        name: &record.name,
        description: &record.description,
        category: catalog.category_of(listing).map(|c| CategoryRef {
            slug: &c.slug,
            name: &c.name,
        }),
        tags: &record.tags,
        images: &record.images,
        created_at: &record.created_at,
        currency,
        price: range.map(|r| r.from),
        price_max: range.map(|r| r.to),
        max_per_order: record.max_per_order,
        variants: record
            .variants
            .iter()
            .map(|v| {
                // The store's price where it has its own, else the base one.
                let prices = catalog.sku_prices_in(selected, &record.id, &v.sku, &v.prices);
                Variant {
                    sku: &v.sku,
                    name: &v.name,
                    options: &v.options,
                    price: prices.get(&currency).map(|&a| Money::new(a, currency)),
                    price_points: prices.get(&currency).and_then(|&a| in_points(a)),
                    prices: prices.iter().map(|(c, a)| Money::new(*a, *c)).collect(),
                    available: available.get(&v.sku).copied(),
                    in_stock: available.get(&v.sku).map(|&n| n > 0),
                }
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgecart_domain::catalog::publish;
    use edgecart_domain::demo;

    fn catalog() -> Catalog {
        let products = demo::products(demo::DEFAULT_SEED, 200);
        let p = publish(1, demo::currencies(), demo::categories(), &products).unwrap();
        Catalog::from_index(p.pointer.version, p.index)
    }

    fn pairs(q: &str) -> Vec<(String, String)> {
        q.split('&')
            .filter(|s| !s.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    fn parse(q: &str) -> Result<ProductQuery> {
        let c = catalog();
        let params = Params::parse(pairs(q), LIST_PARAMS)?;
        let query = parse_list_query(
            &params,
            &c,
            &Selected::all(),
            Currency::parse("USD").unwrap(),
            |_| true,
        )?;
        c.query(&query, &StockFlags::none(), &Selected::all())
            .map_err(query_error)?;
        Ok(query)
    }

    #[test]
    fn bad_parameters_get_stable_codes() {
        let long = format!("q={}", "a".repeat(201));
        let table = [
            ("sort=cheapest", "invalid_sort"),
            ("limit=0", "invalid_limit"),
            ("limit=1000", "invalid_limit"),
            ("limit=+5", "invalid_limit"),
            ("limit=ten", "invalid_limit"),
            ("in_stock=yes", "invalid_in_stock"),
            ("in_stock=1", "invalid_in_stock"),
            ("min_price=-1", "invalid_price"),
            ("max_price=1.5", "invalid_price"),
            ("min_price=500&max_price=100", "invalid_price_range"),
            ("cursor=%%%", "invalid_cursor"),
            ("cursor=abc", "invalid_cursor"),
            ("currency=XYZ", "unknown_currency"),
            ("currency=dollars", "unknown_currency"),
            ("currency=GBP", "unknown_currency"),
            (long.as_str(), "query_too_long"),
            ("category=garden", "unknown_category"),
            ("color=red", "unknown_parameter"),
            ("limit=5&limit=6", "duplicate_parameter"),
        ];
        for (q, code) in table {
            let e = parse(q).unwrap_err();
            assert_eq!(e.code(), code, "{q}");
            assert_eq!(e.status(), 400, "{q}");
        }
    }

    #[test]
    fn good_parameters_parse() {
        let q = parse("q=coffee&category=kitchen&min_price=0&max_price=5000&sort=price_desc&currency=eur&limit=100").unwrap();
        assert_eq!(q.currency.as_str(), "EUR");
        assert_eq!(q.sort, SortOrder::PriceDesc);
        assert_eq!(q.limit, 100);
        // Empty values are absent values.
        let q = parse("q=&category=&limit=&sort=").unwrap();
        assert_eq!(q, ProductQuery::new(Currency::parse("USD").unwrap()));
    }

    #[test]
    fn list_body_has_items_facets_total_and_cursor() {
        let c = catalog();
        let q = ProductQuery {
            limit: 3,
            ..ProductQuery::new(Currency::parse("EUR").unwrap())
        };
        let r = list_products(&c, &q, &StockFlags::none(), &Selected::all()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 3);
        assert_eq!(v["total"], 200);
        assert_eq!(v["currency"], "EUR");
        assert_eq!(v["items"][0]["price"]["currency"], "EUR");
        assert!(v["next_cursor"].is_string());
        assert_eq!(v["facets"]["categories"].as_array().unwrap().len(), 10);
        assert_eq!(v["facets"]["price_bands"].as_array().unwrap().len(), 6);
    }
}
