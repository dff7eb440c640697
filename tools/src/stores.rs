//! `edgecart-catalog stores`: the stores of the stores benchmark, and the
//! memory an isolate spends on them.
//!
//! It defines `--count` stores over the demo catalog (store `i` sells two
//! categories, `i` and `i + 3` modulo their number, and has USD prices of
//! its own for up to 1,000 of their SKUs, 9/10 of the base price), writes
//! them to `--out` as the bodies the admin API takes (the benchmark creates
//! them through it), and measures, with a counting allocator, what the
//! isolate's structures cost: the decoded catalog index (`Catalog`), then
//! what one store and all of them add (`Catalog::select` with the store's
//! published price record, which is what the Worker keeps per store). It
//! prints the measurement as JSON. Native (64-bit) sizes: the wasm build's
//! pointers and `usize` are half as wide, so these are upper bounds.

use edgecart_domain::admin::{parse_input, CatalogState, ProductInput, StorePriceChange};
use edgecart_domain::money::Currency;
use edgecart_domain::records::{store_prices_key, CategoryRecord, StorePriceRecord};
use edgecart_domain::search::{Catalog, Selected};
use edgecart_domain::stores::Selection;
use serde_json::json;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes live.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Most own prices a benchmark store gets (one admin batch).
const OWN_PRICES: usize = 1_000;

/// One benchmark store: its id, categories and own prices.
struct BenchStore {
    id: String,
    categories: Vec<String>,
    prices: Vec<StorePriceChange>,
}

fn define(
    products: &[ProductInputLine],
    categories: &[CategoryRecord],
    count: usize,
) -> Vec<BenchStore> {
    let usd = Currency::parse("USD").expect("known");
    (0..count)
        .map(|i| {
            let mut picked = vec![
                categories[i % categories.len()].slug.clone(),
                categories[(i + 3) % categories.len()].slug.clone(),
            ];
            picked.dedup();
            let prices = products
                .iter()
                .filter(|p| picked.contains(&p.category))
                .flat_map(|p| &p.variants)
                .filter_map(|(sku, base)| {
                    Some(StorePriceChange {
                        sku: sku.clone(),
                        currency: usd,
                        amount: Some(base.get(&usd)? * 9 / 10),
                    })
                })
                .take(OWN_PRICES)
                .collect();
            BenchStore {
                id: format!("s{i:03}"),
                categories: picked,
                prices,
            }
        })
        .collect()
}

/// What the benchmark needs of an import line.
struct ProductInputLine {
    category: String,
    variants: Vec<(String, std::collections::BTreeMap<Currency, i64>)>,
}

/// Runs the command; the error is for the user.
pub fn run(products: &str, categories: &str, count: usize, out: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(products).map_err(|e| format!("{products}: {e}"))?;
    let categories: Vec<CategoryRecord> = serde_json::from_str(
        &std::fs::read_to_string(categories).map_err(|e| format!("{categories}: {e}"))?,
    )
    .map_err(|e| format!("{categories}: {e}"))?;
    let mut state = CatalogState::new(categories.clone(), Vec::new());
    let mut lines = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let input: ProductInput = parse_input(line).map_err(|e| e.message)?;
        state
            .upsert_product(input, "2026-12-06T00:00:00Z")
            .map_err(|e| format!("{e:?}"))?;
        let value: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let record: edgecart_domain::records::ProductRecord = state
            .product(value["id"].as_str().unwrap_or_default())
            .cloned()
            .ok_or("a product vanished")?;
        lines.push(ProductInputLine {
            category: record.category.clone(),
            variants: record
                .variants
                .iter()
                .map(|v| (v.sku.clone(), v.prices.clone()))
                .collect(),
        });
    }
    let stores = define(&lines, &categories, count);
    for s in &stores {
        state
            .set_store_prices(&s.id, &s.prices)
            .map_err(|e| format!("{}: {e:?}", s.id))?;
    }
    let bodies: Vec<serde_json::Value> = stores
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "categories": s.categories,
                "prices": s.prices.iter().map(|p| json!({"sku": p.sku, "currency": p.currency, "amount": p.amount})).collect::<Vec<_>>(),
            })
        })
        .collect();
    std::fs::write(
        out,
        serde_json::to_string(&bodies).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("{out}: {e}"))?;

    let publication = state.publish(1);
    let index_json = serde_json::to_string(&publication.index).map_err(|e| e.to_string())?;
    let records: Vec<(Selection, String)> = stores
        .iter()
        .map(|s| {
            let key = store_prices_key(&s.id, &publication.index.store_prices[&s.id]);
            let json = publication
                .entries
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            (
                Selection::Categories {
                    categories: s.categories.clone(),
                },
                json,
            )
        })
        .collect();
    drop(publication);
    drop(state);

    // What the isolate holds: the catalog once, then each store's share.
    let before = live();
    let catalog =
        Catalog::decode("bench".into(), &index_json).map_err(|e| format!("the index: {e}"))?;
    let catalog_bytes = live() - before;
    let select = |(selection, json): &(Selection, String)| -> Result<Selected, String> {
        let record: StorePriceRecord = serde_json::from_str(json).map_err(|e| e.to_string())?;
        Ok(catalog.select(selection, Some(record)))
    };
    let before = live();
    let one = select(&records[0])?;
    let one_store = live() - before;
    let before = live();
    let mut all = vec![one];
    for r in &records[1..] {
        all.push(select(r)?);
    }
    let all_stores = live() - before;
    let own: usize = all.iter().map(Selected::own_price_count).sum();
    Ok(json!({
        "products": catalog.len(),
        "stores": count,
        "own_prices": own,
        "catalog_bytes": catalog_bytes,
        "one_store_bytes": one_store,
        "all_stores_bytes": all_stores,
    })
    .to_string())
}
