//! Catalog search rules: ranking, filters, sort orders, facets, pagination.

use edgecart_domain::catalog::{publish, publish_with_stores, StorePrices};
use edgecart_domain::demo;
use edgecart_domain::money::Currency;
use edgecart_domain::records::{store_prices_key, StorePriceRecord};
use edgecart_domain::records::{CatalogIndex, StockSnapshot};
use edgecart_domain::records::{CategoryRecord, ProductRecord, VariantRecord, PRODUCT_SCHEMA};
use edgecart_domain::search::{Catalog, ProductQuery, QueryError, Selected, SortOrder, StockFlags};
use edgecart_domain::stores::Selection;
use std::sync::LazyLock;

/// Every product: the default store's selection.
static ALL: LazyLock<Selected> = LazyLock::new(Selected::all);
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

fn eur() -> Currency {
    Currency::parse("EUR").unwrap()
}

struct Item {
    id: u32,
    name: &'static str,
    category: &'static str,
    tags: &'static [&'static str],
    description: &'static str,
    usd: &'static [i64],
    eur: Option<i64>,
    position: u32,
    day: u32,
}

fn item(id: u32, name: &'static str, category: &'static str, usd: &'static [i64]) -> Item {
    Item {
        id,
        name,
        category,
        tags: &[],
        description: "",
        usd,
        eur: Some(usd[0]),
        position: id,
        day: id,
    }
}

fn fixture() -> Catalog {
    let (version, index) = fixture_index();
    Catalog::from_index(version, index)
}

/// The fixture's published version and index.
fn fixture_index() -> (String, CatalogIndex) {
    let items = vec![
        Item {
            tags: &["breakfast"],
            description: "Dark roast whole beans.",
            ..item(1, "Ethiopian Coffee Beans", "coffee", &[1500, 2500])
        },
        Item {
            description: "Smooth coffee for the fridge.",
            position: 0,
            ..item(2, "Cold Brew Concentrate", "coffee", &[900])
        },
        Item {
            tags: &["coffee"],
            ..item(3, "Café Crème Mug", "kitchen", &[1200])
        },
        Item {
            description: "Coffee stains wipe off.",
            ..item(4, "Walnut Cutting Board", "kitchen", &[4500])
        },
        Item {
            tags: &["camping"],
            ..item(5, "Copper Kettle", "kitchen", &[7500])
        },
        Item {
            eur: None,
            ..item(6, "Alpine Tent", "outdoor", &[30000, 45000])
        },
        item(7, "Coffee Grinder", "kitchen", &[6000]),
        item(8, "Coffeehouse Playlist Book", "books", &[1500]),
    ];
    let categories = ["coffee", "kitchen", "outdoor", "books"]
        .into_iter()
        .map(|s| CategoryRecord {
            slug: s.into(),
            name: format!("{}{}", s[..1].to_uppercase(), &s[1..]),
        })
        .collect();
    let products: Vec<ProductRecord> = items
        .into_iter()
        .map(|i| ProductRecord {
            schema: PRODUCT_SCHEMA,
            id: format!("prd_{}", i.id),
            slug: format!("p-{}", i.id),
            name: i.name.into(),
            description: i.description.into(),
            category: i.category.into(),
            tags: i.tags.iter().map(|t| t.to_string()).collect(),
            position: i.position,
            created_at: format!("2026-01-{:02}T00:00:00Z", i.day),
            images: vec![],
            max_per_order: None,
            variants: i
                .usd
                .iter()
                .enumerate()
                .map(|(v, &amount)| {
                    let mut prices = BTreeMap::from([(usd(), amount)]);
                    if let Some(e) = i.eur {
                        prices.insert(eur(), e + v as i64);
                    }
                    VariantRecord {
                        sku: format!("SKU-{}-{v}", i.id),
                        name: format!("v{v}"),
                        options: BTreeMap::new(),
                        prices,
                    }
                })
                .collect(),
        })
        .collect();
    let publication = publish(1, vec![usd(), eur()], categories, &products).unwrap();
    (publication.pointer.version, publication.index)
}

fn ids(catalog: &Catalog, q: &ProductQuery) -> Vec<String> {
    catalog
        .query(q, &StockFlags::none(), &ALL)
        .unwrap()
        .items
        .iter()
        .map(|l| l.id.trim_start_matches("prd_").to_string())
        .collect()
}

fn search(text: &str) -> ProductQuery {
    ProductQuery {
        text: Some(text.into()),
        ..ProductQuery::new(usd())
    }
}

#[test]
fn ranking_table() {
    let c = fixture();
    let table: &[(&str, &[&str])] = &[
        // Name matches outrank tag, category and description matches; the
        // last word also matches as a prefix ("coffeehouse"), below an exact match.
        ("coffee", &["1", "7", "8", "2", "3", "4"]),
        ("coff", &["1", "7", "8", "2", "3", "4"]),
        // Case and accents do not matter.
        ("CAFE CREME", &["3"]),
        ("café", &["3"]),
        // Every word must match.
        ("coffee beans", &["1"]),
        ("coffee tent", &[]),
        // Stop words are ignored, except as the word being typed.
        ("the kettle", &["5"]),
        // A finished last word (trailing space) no longer matches as a prefix.
        ("coff ", &[]),
        // Nothing searchable means no text filter at all.
        ("!!!", &["2", "1", "3", "4", "5", "6", "7", "8"]),
    ];
    for (q, want) in table {
        assert_eq!(ids(&c, &search(q)), *want, "q={q:?}");
    }
}

#[test]
fn filters_table() {
    let c = fixture();
    let base = ProductQuery::new(usd());
    let table: Vec<(&str, ProductQuery, &[&str])> = vec![
        (
            "category",
            ProductQuery {
                category: Some("kitchen".into()),
                ..base.clone()
            },
            &["3", "4", "5", "7"],
        ),
        (
            "price range on the lowest variant price, inclusive",
            ProductQuery {
                min_price: Some(1200),
                max_price: Some(4500),
                ..base.clone()
            },
            &["1", "3", "4", "8"],
        ),
        (
            "products without a price in the currency are not listed",
            ProductQuery::new(eur()),
            &["2", "1", "3", "4", "5", "7", "8"],
        ),
        (
            "text and category together",
            ProductQuery {
                text: Some("coffee".into()),
                category: Some("coffee".into()),
                ..base.clone()
            },
            &["1", "2"],
        ),
    ];
    for (what, q, want) in table {
        assert_eq!(ids(&c, &q), want, "{what}");
    }
}

#[test]
fn sort_orders_table() {
    let c = fixture();
    let table: &[(SortOrder, &[&str])] = &[
        (
            SortOrder::Relevance,
            &["2", "1", "3", "4", "5", "6", "7", "8"],
        ),
        (
            SortOrder::PriceAsc,
            &["2", "3", "1", "8", "4", "7", "5", "6"],
        ),
        (
            SortOrder::PriceDesc,
            &["6", "5", "7", "4", "1", "8", "3", "2"],
        ),
        (SortOrder::Name, &["6", "3", "7", "8", "2", "5", "1", "4"]),
        (SortOrder::Newest, &["8", "7", "6", "5", "4", "3", "2", "1"]),
    ];
    for (sort, want) in table {
        let q = ProductQuery {
            sort: *sort,
            ..ProductQuery::new(usd())
        };
        assert_eq!(ids(&c, &q), *want, "{sort:?}");
    }
    // A sort order applies to search results too.
    let q = ProductQuery {
        sort: SortOrder::PriceDesc,
        ..search("coffee")
    };
    assert_eq!(ids(&c, &q), ["7", "4", "1", "8", "3", "2"]);
}

#[test]
fn facets_count_the_filtered_set() {
    let c = fixture();
    let page = c
        .query(&search("coffee"), &StockFlags::none(), &ALL)
        .unwrap();
    assert_eq!(page.total, 6);
    let cats: Vec<(&str, u32)> = page
        .categories
        .iter()
        .map(|(cat, n)| (cat.slug.as_str(), *n))
        .collect();
    assert_eq!(
        cats,
        [("coffee", 2), ("kitchen", 3), ("outdoor", 0), ("books", 1)]
    );
    let bands: Vec<(i64, Option<i64>, u32)> = page
        .price_bands
        .iter()
        .map(|b| (b.min_price, b.max_price, b.count))
        .collect();
    assert_eq!(
        bands,
        [
            (0, Some(2499), 4),
            (2500, Some(4999), 1),
            (5000, Some(9999), 1),
            (10000, Some(24999), 0),
            (25000, Some(49999), 0),
            (50000, None, 0),
        ]
    );
    let sum: u32 = page.categories.iter().map(|(_, n)| n).sum();
    assert_eq!(sum as usize, page.total);
}

#[test]
fn query_errors() {
    let c = fixture();
    let cases = [
        (
            ProductQuery::new(Currency::parse("GBP").unwrap()),
            QueryError::UnsupportedCurrency,
        ),
        (
            ProductQuery {
                category: Some("garden".into()),
                ..ProductQuery::new(usd())
            },
            QueryError::UnknownCategory,
        ),
        (
            ProductQuery {
                min_price: Some(10),
                max_price: Some(9),
                ..ProductQuery::new(usd())
            },
            QueryError::InvalidPriceRange,
        ),
        (
            ProductQuery {
                cursor: Some("bm90IGEgY3Vyc29y".into()),
                ..ProductQuery::new(usd())
            },
            QueryError::InvalidCursor,
        ),
        (
            search("a b c d e f g h i j k l m n"),
            QueryError::TooManyWords,
        ),
    ];
    for (q, want) in cases {
        assert_eq!(
            c.query(&q, &StockFlags::none(), &ALL).unwrap_err(),
            want,
            "{q:?}"
        );
    }
}

#[test]
fn the_in_stock_filter_follows_the_stock_snapshot() {
    let c = fixture();
    let sku_of = |id: &str| c.find(id).unwrap().skus[0].clone();
    let snapshot = StockSnapshot::new(vec![sku_of("prd_3"), sku_of("prd_1"), "GONE-SKU".into()]);
    let stock = c.stock_flags(&snapshot);
    let query = |in_stock| ProductQuery {
        in_stock,
        sort: SortOrder::Name,
        limit: 100,
        ..ProductQuery::new(usd())
    };
    let page = c.query(&query(Some(true)), &stock, &ALL).unwrap();
    let mut got: Vec<&str> = page.items.iter().map(|l| l.id.as_str()).collect();
    got.sort();
    assert_eq!(got, ["prd_1", "prd_3"]);
    assert_eq!(page.total, 2);
    assert_eq!(page.in_stock, [true, true]);
    let out = c.query(&query(Some(false)), &stock, &ALL).unwrap();
    assert_eq!(out.total, c.len() - 2);
    assert!(out.in_stock.iter().all(|s| !s));
    let all = c.query(&query(None), &stock, &ALL).unwrap();
    assert_eq!(all.in_stock.iter().filter(|s| **s).count(), 2);
    // Without a snapshot nothing is known to be in stock.
    assert_eq!(
        c.query(&query(Some(true)), &StockFlags::none(), &ALL)
            .unwrap()
            .total,
        0
    );
    // A cursor of the filtered query does not continue the unfiltered one.
    let first = c
        .query(
            &ProductQuery {
                limit: 1,
                ..query(Some(false))
            },
            &stock,
            &ALL,
        )
        .unwrap();
    let other = ProductQuery {
        limit: 1,
        cursor: first.next_cursor,
        ..query(None)
    };
    assert_eq!(
        c.query(&other, &stock, &ALL).unwrap_err(),
        QueryError::InvalidCursor
    );
}

#[test]
fn known_skus_answers_in_request_order_from_the_index() {
    let c = fixture();
    assert_eq!(
        c.known_skus(&["SKU-6-1", "NO-SUCH", "SKU-1-0", "sku-1-0", "SKU-6-1"]),
        Some(vec![true, false, true, false, true])
    );
    assert_eq!(c.known_skus(&[]), Some(vec![]));
    // An index whose listings predate their SKU lists cannot tell.
    let (version, mut index) = fixture_index();
    for p in &mut index.products {
        p.skus.clear();
    }
    assert_eq!(
        Catalog::from_index(version, index).known_skus(&["SKU-1-0"]),
        None
    );
}

#[test]
fn a_cursor_only_continues_its_own_query() {
    let c = fixture();
    let first = c
        .query(
            &ProductQuery {
                limit: 2,
                ..ProductQuery::new(usd())
            },
            &StockFlags::none(),
            &ALL,
        )
        .unwrap();
    let cursor = first.next_cursor.clone().unwrap();
    let other = ProductQuery {
        limit: 2,
        sort: SortOrder::Name,
        cursor: Some(cursor.clone()),
        ..ProductQuery::new(usd())
    };
    assert_eq!(
        c.query(&other, &StockFlags::none(), &ALL).unwrap_err(),
        QueryError::InvalidCursor
    );
    // A different page size is the same query.
    let next = ProductQuery {
        limit: 3,
        cursor: Some(cursor),
        ..ProductQuery::new(usd())
    };
    assert_eq!(ids(&c, &next), ["3", "4", "5"]);
}

#[test]
fn finds_by_id_or_slug_and_counts_categories() {
    let c = fixture();
    assert_eq!(c.find("prd_3").unwrap().name, "Café Crème Mug");
    assert_eq!(c.find("p-3").unwrap().id, "prd_3");
    assert!(c.find("prd_99").is_none());
    let counts: Vec<_> = c
        .categories()
        .iter()
        .map(|c| (c.slug.as_str(), c.product_count))
        .collect();
    assert_eq!(
        counts,
        [("coffee", 2), ("kitchen", 4), ("outdoor", 1), ("books", 1)]
    );
}

fn demo_catalog() -> &'static Catalog {
    use std::sync::OnceLock;
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let products = demo::products(demo::DEFAULT_SEED, 1_500);
        let publication = publish(1, demo::currencies(), demo::categories(), &products).unwrap();
        Catalog::from_index(publication.pointer.version, publication.index)
    })
}

fn arb_query() -> impl Strategy<Value = ProductQuery> {
    let texts = prop::option::of(prop::sample::select(vec![
        "coffee",
        "cof",
        "kettle ",
        "wireless head",
        "crème",
        "organic",
        "gift",
        "the",
        "zzz",
        "classic b",
        "s",
    ]));
    let cats = prop::option::of(prop::sample::select(vec![
        "coffee-tea",
        "kitchen",
        "audio",
        "books",
        "toys",
    ]));
    let sorts = prop::sample::select(SortOrder::ALL.to_vec());
    let currency = prop::sample::select(vec!["USD", "EUR"]);
    (
        texts,
        cats,
        sorts,
        currency,
        prop::option::of(0i64..20_000),
        prop::option::of(10_000i64..80_000),
        1usize..=100,
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(text, cat, sort, cur, lo, hi, limit, in_stock)| ProductQuery {
                text: text.map(String::from),
                category: cat.map(String::from),
                currency: Currency::parse(cur).unwrap(),
                min_price: lo,
                max_price: hi.map(|h| h.max(lo.unwrap_or(0))),
                sort,
                limit,
                cursor: None,
                in_stock,
            },
        )
}

/// A stock snapshot with every third product's first SKU in stock.
fn demo_stock() -> &'static StockFlags {
    use std::sync::OnceLock;
    static FLAGS: OnceLock<StockFlags> = OnceLock::new();
    FLAGS.get_or_init(|| {
        let products = demo::products(demo::DEFAULT_SEED, 1_500);
        let skus = products
            .iter()
            .step_by(3)
            .map(|p| p.variants[0].sku.clone())
            .collect();
        demo_catalog().stock_flags(&StockSnapshot::new(skus))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    /// Paging with `next_cursor` through any filtered query returns every
    /// matching product exactly once, in the order of one unpaged query.
    #[test]
    fn paging_returns_every_match_exactly_once_in_order(q in arb_query()) {
        let c = demo_catalog();
        let all = c
            .query(&ProductQuery { limit: usize::MAX - 1, cursor: None, ..q.clone() }, demo_stock(), &ALL)
            .unwrap();
        let want: Vec<&str> = all.items.iter().map(|l| l.id.as_str()).collect();
        prop_assert_eq!(want.len(), all.total);

        let mut got: Vec<&str> = Vec::new();
        let mut seen = HashSet::new();
        let mut cursor = None;
        for _ in 0..=c.len() {
            let page = c.query(&ProductQuery { cursor: cursor.clone(), ..q.clone() }, demo_stock(), &ALL).unwrap();
            prop_assert!(page.items.len() <= q.limit);
            prop_assert_eq!(page.total, all.total);
            for l in &page.items {
                prop_assert!(seen.insert(l.id.as_str()), "{} twice", l.id);
                got.push(l.id.as_str());
            }
            match page.next_cursor {
                Some(next) => {
                    prop_assert_eq!(page.items.len(), q.limit);
                    cursor = Some(next);
                }
                None => break,
            }
        }
        prop_assert_eq!(got, want);
    }
}

#[test]
fn a_store_sees_its_selection_only_with_its_facets() {
    let c = fixture();
    let coffee = c.select(
        &Selection::Categories {
            categories: vec!["coffee".into(), "books".into()],
        },
        None,
    );
    assert_eq!(coffee.count(), Some(3));
    // Unfiltered: the selection's products, and its own facets.
    let page = c
        .query(&ProductQuery::new(usd()), &StockFlags::none(), &coffee)
        .unwrap();
    let mut got: Vec<&str> = page.items.iter().map(|l| l.id.as_str()).collect();
    got.sort();
    assert_eq!(got.len(), 3);
    assert_eq!(page.total, 3);
    let cats: Vec<(&str, u32)> = page
        .categories
        .iter()
        .map(|(cat, n)| (cat.slug.as_str(), *n))
        .collect();
    assert_eq!(
        cats,
        [("coffee", 2), ("kitchen", 0), ("outdoor", 0), ("books", 1)]
    );
    // A search only finds what the store sells.
    let found = c
        .query(&search("coffee"), &StockFlags::none(), &coffee)
        .unwrap();
    assert_eq!(
        found.total, 3,
        "the kitchen's coffee products are not sold here"
    );
    assert!(found
        .items
        .iter()
        .all(|l| c.category_of(l).is_some_and(|k| k.slug != "kitchen")));
    // Reads by id, and the categories listed.
    let kettle = c.find("prd_5").unwrap();
    assert!(c.find_selected(&kettle.id, &coffee).is_none());
    assert!(c.find_selected(&kettle.id, &Selected::all()).is_some());
    let slugs: Vec<(&str, u32)> = c
        .categories_selected(&coffee)
        .map(|(k, n)| (k.slug.as_str(), n))
        .collect();
    assert_eq!(slugs, [("coffee", 2), ("books", 1)]);
    // By product ids.
    let one = c.select(
        &Selection::Products {
            products: vec![kettle.id.clone(), "prd_nope".into()],
        },
        None,
    );
    let page = c
        .query(&ProductQuery::new(usd()), &StockFlags::none(), &one)
        .unwrap();
    assert_eq!(
        page.items.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        [kettle.id.as_str()]
    );
    assert_eq!(c.select(&Selection::All {}, None).count(), None);
}

/// The demo catalog with a rewards store's own prices: every 7th SKU
/// repriced in USD, every 5th given a GBP price (a currency the base
/// catalog has none in), every 11th repriced in EUR; with the categories
/// it sells.
fn demo_store() -> &'static (Catalog, Selected, Vec<ProductRecord>, StorePrices) {
    use std::sync::OnceLock;
    static STORE: OnceLock<(Catalog, Selected, Vec<ProductRecord>, StorePrices)> = OnceLock::new();
    STORE.get_or_init(|| {
        let products = demo::products(demo::DEFAULT_SEED, 1_500);
        let gbp = Currency::parse("GBP").unwrap();
        let mut own: StorePrices = BTreeMap::new();
        for (i, v) in products.iter().flat_map(|p| &p.variants).enumerate() {
            let mut set = |c: Currency, a: i64| {
                own.entry(v.sku.clone()).or_default().insert(c, a);
            };
            if i % 7 == 0 {
                set(usd(), (i as i64 * 37) % 9_000);
            }
            if i % 5 == 0 {
                set(gbp, 500 + (i as i64 * 53) % 20_000);
            }
            if i % 11 == 0 {
                set(eur(), 1 + (i as i64 * 91) % 60_000);
            }
        }
        let stores = BTreeMap::from([("bank".to_string(), own.clone())]);
        let publication = publish_with_stores(
            1,
            demo::currencies(),
            demo::categories(),
            &products,
            &stores,
        )
        .unwrap();
        let rev = publication.index.store_prices["bank"].clone();
        let key = store_prices_key("bank", &rev);
        let json = &publication
            .entries
            .iter()
            .find(|(k, _)| *k == key)
            .unwrap()
            .1;
        let record: StorePriceRecord = serde_json::from_str(json).unwrap();
        let catalog = Catalog::from_index(publication.pointer.version, publication.index);
        let selection = Selection::Categories {
            categories: vec!["coffee-tea".into(), "kitchen".into(), "audio".into()],
        };
        let selected = catalog.select(&selection, Some(record));
        (catalog, selected, products, own)
    })
}

/// The store's lowest price of a product in `currency`, from the records.
fn store_from(p: &ProductRecord, own: &StorePrices, currency: Currency) -> Option<i64> {
    p.variants
        .iter()
        .filter_map(|v| {
            own.get(&v.sku)
                .and_then(|o| o.get(&currency))
                .or_else(|| v.prices.get(&currency))
                .copied()
        })
        .min()
}

#[test]
fn a_store_lists_its_own_prices_in_price_order() {
    let (catalog, selected, products, own) = demo_store();
    let sold = ["coffee-tea", "kitchen", "audio"];
    for currency in ["USD", "EUR", "GBP"].map(|c| Currency::parse(c).unwrap()) {
        let mut want: Vec<(i64, &str)> = products
            .iter()
            .filter(|p| sold.contains(&p.category.as_str()))
            .filter_map(|p| Some((store_from(p, own, currency)?, p.id.as_str())))
            .collect();
        assert!(!want.is_empty());
        want.sort();
        for sort in [SortOrder::PriceAsc, SortOrder::PriceDesc] {
            let q = ProductQuery {
                sort,
                limit: usize::MAX - 1,
                ..ProductQuery::new(currency)
            };
            let page = catalog.query(&q, &StockFlags::none(), selected).unwrap();
            let got: Vec<(i64, &str)> = page
                .items
                .iter()
                .map(|l| {
                    let range = catalog.price_range_in(selected, l, currency).unwrap();
                    (range.from.amount, l.id.as_str())
                })
                .collect();
            let mut expected = want.clone();
            if sort == SortOrder::PriceDesc {
                expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
            }
            assert_eq!(got, expected, "{currency} {sort:?}");
            assert_eq!(page.total, want.len());
            let banded: u32 = page.price_bands.iter().map(|b| b.count).sum();
            assert_eq!(banded as usize, want.len());
        }
        // A price filter reads the store's prices.
        let q = ProductQuery {
            min_price: Some(1_000),
            max_price: Some(5_000),
            limit: usize::MAX - 1,
            ..ProductQuery::new(currency)
        };
        let page = catalog.query(&q, &StockFlags::none(), selected).unwrap();
        let in_band = want
            .iter()
            .filter(|(f, _)| (1_000..=5_000).contains(f))
            .count();
        assert_eq!(page.total, in_band, "{currency}");
        assert_eq!(page.items.len(), in_band);
    }
    // The base catalog has no GBP at all: only the store sells in it.
    let gbp = Currency::parse("GBP").unwrap();
    assert_eq!(
        catalog.validate(&ProductQuery::new(gbp), &ALL),
        Err(QueryError::UnsupportedCurrency)
    );
    assert!(catalog.currencies_in(selected).any(|c| c == gbp));
}

#[test]
fn a_sku_costs_the_store_price_where_it_has_one() {
    let (catalog, selected, products, own) = demo_store();
    let mut checked = 0;
    let sold = ["coffee-tea", "kitchen", "audio"];
    for p in products
        .iter()
        .filter(|p| sold.contains(&p.category.as_str()))
        .take(300)
    {
        for v in &p.variants {
            let got = catalog.sku_prices_in(selected, &p.id, &v.sku, &v.prices);
            let mut want = v.prices.clone();
            if let Some(o) = own.get(&v.sku) {
                want.extend(o.iter().map(|(c, a)| (*c, *a)));
                checked += 1;
            }
            assert_eq!(got, want, "{}", v.sku);
            // The base catalog (every other store) keeps the base prices.
            assert_eq!(
                catalog.sku_prices_in(&ALL, &p.id, &v.sku, &v.prices),
                v.prices
            );
        }
    }
    assert!(checked > 50);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(80))]

    /// In a store with its own prices, paging through any query returns
    /// every match exactly once, in the order of one unpaged query.
    #[test]
    fn paging_in_a_store_with_own_prices_returns_every_match_once(
        q in arb_query(),
        gbp in any::<bool>(),
    ) {
        let (c, selected, _, _) = demo_store();
        let q = if gbp {
            ProductQuery { currency: Currency::parse("GBP").unwrap(), ..q }
        } else {
            q
        };
        let all = c
            .query(&ProductQuery { limit: usize::MAX - 1, cursor: None, ..q.clone() }, demo_stock(), selected)
            .unwrap();
        let want: Vec<&str> = all.items.iter().map(|l| l.id.as_str()).collect();
        prop_assert_eq!(want.len(), all.total);
        let mut got: Vec<&str> = Vec::new();
        let mut cursor = None;
        for _ in 0..=c.len() {
            let page = c.query(&ProductQuery { cursor: cursor.clone(), ..q.clone() }, demo_stock(), selected).unwrap();
            prop_assert_eq!(page.total, all.total);
            got.extend(page.items.iter().map(|l| l.id.as_str()));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        prop_assert_eq!(got, want);
    }
}
