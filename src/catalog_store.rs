//! Reads the published catalog from Workers KV and keeps it in isolate
//! memory: the pointer for `CATALOG_POINTER_TTL_MS`, the decoded index for
//! as long as the pointer names its version, product shards (immutable,
//! keyed by revision) in a bounded cache, and rendered list/search responses
//! of the live version. A list or search request costs no KV read once the
//! isolate is warm, and a repeated one is not even re-rendered.
//!
//! The stock snapshot (which SKUs have units available, for the listing's
//! `in_stock` filter) is read the same way: its pointer for
//! `CATALOG_POINTER_TTL_MS`, the snapshot by version, and per catalog
//! version the products' flags.
//!
//! Per store and catalog version, what the store makes of it
//! ([`CatalogStore::selected`]): the products it sells (a mask) at its own
//! prices, with their facets and price orders, computed once.
//!
//! Degraded mode: when KV cannot be read, or the new index has not reached
//! this location yet, the isolate keeps serving the version it has and logs
//! a warning; only an isolate with no catalog at all answers 503.

use crate::config::Config;
use crate::http::{ApiError, ApiResponse};
use edgecart_domain::records::{
    index_key, stock_snapshot_key, store_prices_key, CatalogPointer, PriceShard, ProductShard,
    SkuPrices, StockPointer, StockSnapshot, StorePriceRecord, POINTER_KEY, STOCK_POINTER_KEY,
};
use edgecart_domain::search::{Catalog, Listing, Selected, StockFlags};
use edgecart_domain::store::{store_key, StoreConfig, StoreSnapshot, STORE_SCHEMA};
use edgecart_domain::stores::{Selection, StoreProfile};
use serde::de::DeserializeOwned;
use std::any::Any;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use worker::kv::KvStore;

/// KV edge-cache time for immutable keys (index versions, product revisions).
const IMMUTABLE_CACHE_TTL_S: u64 = 86_400;
/// Shards kept per isolate (every product and price shard of a catalog).
const SHARD_CACHE_MAX: usize = 512;
/// Rendered list/search responses kept per isolate (for the live version).
const RENDERED_CACHE_MAX: usize = 512;

struct PointerState {
    pointer: Option<CatalogPointer>,
    fetched_at_ms: u64,
}

/// The stock flags of one catalog version from one snapshot version.
pub struct Stock {
    /// The snapshot's version ("none" before any was published).
    pub version: String,
    catalog_version: String,
    pub flags: StockFlags,
}

struct StockPointerState {
    pointer: Option<StockPointer>,
    fetched_at_ms: u64,
}

struct StoreState {
    snapshot: Rc<StoreSnapshot>,
    fetched_at_ms: u64,
}

#[derive(Default)]
struct IsolateCache {
    pointer: Option<PointerState>,
    /// Each store's display copy, by store id.
    stores: HashMap<String, StoreState>,
    /// Each store's selection of a catalog version, by store id.
    selections: HashMap<String, StoreSelection>,
    stock_pointer: Option<StockPointerState>,
    stock: Option<Rc<Stock>>,
    catalog: Option<Rc<Catalog>>,
    /// Product and price shards by key (each key names one type).
    shards: HashMap<String, Rc<dyn Any>>,
    shard_order: VecDeque<String>,
    rendered: RenderedCache,
}

/// What a store made of a catalog version, as last computed: for which
/// version and selection (its own prices are part of the version).
struct StoreSelection {
    version: String,
    selection: Selection,
    selected: Rc<Selected>,
}

/// Responses rendered from one catalog version, keyed by the parsed query.
/// A response is a pure function of (version, query), so an entry is valid
/// for as long as the version is live; a new version empties the cache.
#[derive(Default)]
struct RenderedCache {
    version: String,
    entries: HashMap<String, Rc<ApiResponse>>,
    order: VecDeque<String>,
}

/// The response for `key` rendered from catalog `version`: from the isolate's
/// cache, or rendered now and kept (only successes are kept).
pub fn rendered(
    version: &str,
    key: String,
    render: impl FnOnce() -> Result<ApiResponse, ApiError>,
) -> Result<ApiResponse, ApiError> {
    let hit = CACHE.with(|c| {
        let c = c.borrow();
        (c.rendered.version == version)
            .then(|| c.rendered.entries.get(&key).cloned())
            .flatten()
    });
    if let Some(r) = hit {
        return Ok((*r).clone());
    }
    let response = render()?;
    CACHE.with(|c| {
        let cache = &mut c.borrow_mut().rendered;
        if cache.version != version {
            *cache = RenderedCache {
                version: version.to_string(),
                ..RenderedCache::default()
            };
        }
        if cache.entries.len() >= RENDERED_CACHE_MAX {
            if let Some(oldest) = cache.order.pop_front() {
                cache.entries.remove(&oldest);
            }
        }
        if cache
            .entries
            .insert(key.clone(), Rc::new(response.clone()))
            .is_none()
        {
            cache.order.push_back(key);
        }
    });
    Ok(response)
}

thread_local! {
    static CACHE: RefCell<IsolateCache> = RefCell::new(IsolateCache::default());
    static ALL: Rc<Selected> = Rc::new(Selected::all());
}

/// Adopts a pointer this isolate just published through the catalog writer,
/// so its next read sees the write (unless it already knows a newer one).
pub fn note_published(pointer: &CatalogPointer, now_ms: u64) {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let newer = c
            .pointer
            .as_ref()
            .and_then(|p| p.pointer.as_ref())
            .is_none_or(|known| known.seq <= pointer.seq);
        if newer {
            c.pointer = Some(PointerState {
                pointer: Some(pointer.clone()),
                fetched_at_ms: now_ms,
            });
        }
    });
}

/// Things worth logging that did not fail the request.
pub type Warnings = Vec<String>;

pub struct CatalogStore<'a> {
    kv: KvStore,
    config: &'a Config,
}

impl<'a> CatalogStore<'a> {
    pub fn new(kv: KvStore, config: &'a Config) -> Self {
        CatalogStore { kv, config }
    }

    /// The store over the `CATALOG` binding.
    pub fn from_env(env: &worker::Env, config: &'a Config) -> Result<Self, ApiError> {
        let kv = env.kv("CATALOG").map_err(|e| ApiError::Misconfigured {
            cause: format!("KV binding CATALOG: {e}"),
        })?;
        Ok(CatalogStore::new(kv, config))
    }

    /// The live catalog, decoded.
    pub async fn current(
        &self,
        now_ms: u64,
        warnings: &mut Warnings,
    ) -> Result<Rc<Catalog>, ApiError> {
        let fresh = CACHE.with(|c| {
            c.borrow()
                .pointer
                .as_ref()
                .filter(|p| now_ms.saturating_sub(p.fetched_at_ms) < self.config.pointer_ttl_ms)
                .map(|p| p.pointer.clone())
        });
        let pointer = match fresh {
            Some(p) => p,
            None => match self.read_pointer().await {
                Ok(p) => {
                    CACHE.with(|c| {
                        c.borrow_mut().pointer = Some(PointerState {
                            pointer: p.clone(),
                            fetched_at_ms: now_ms,
                        })
                    });
                    p
                }
                Err(cause) => return self.fallback(cause, warnings),
            },
        };
        let Some(pointer) = pointer else {
            let currencies = vec![self.config.default_currency];
            return Ok(self.keep(Catalog::empty(currencies)));
        };
        let cached = CACHE.with(|c| c.borrow().catalog.clone());
        if let Some(catalog) = cached.filter(|c| c.version() == pointer.version) {
            return Ok(catalog);
        }
        let key = index_key(&pointer.version);
        match self
            .kv
            .get(&key)
            .cache_ttl(IMMUTABLE_CACHE_TTL_S)
            .text()
            .await
        {
            Ok(Some(json)) => match Catalog::decode(pointer.version.clone(), &json) {
                Ok(catalog) => Ok(self.keep(catalog)),
                Err(e) => self.fallback(format!("{key} does not decode: {e}"), warnings),
            },
            Ok(None) => self.fallback(format!("{key} is not visible here yet"), warnings),
            Err(e) => self.fallback(format!("reading {key}: {e}"), warnings),
        }
    }

    async fn read_pointer(&self) -> Result<Option<CatalogPointer>, String> {
        self.read_json(POINTER_KEY).await
    }

    pub(crate) async fn read_json<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, String> {
        let raw = self
            .kv
            .get(key)
            .text()
            .await
            .map_err(|e| format!("reading {key}: {e}"))?;
        raw.map(|json| {
            serde_json::from_str(&json).map_err(|e| format!("{key} does not decode: {e}"))
        })
        .transpose()
    }

    /// Store `store`'s display copy (configuration and promotions) as
    /// published to KV, re-read every `CATALOG_POINTER_TTL_MS`; before the
    /// first publication, the default configuration and no promotions. On
    /// a KV failure the isolate keeps what it has (warning).
    pub async fn store(
        &self,
        store: &str,
        now_ms: u64,
        warnings: &mut Warnings,
    ) -> Rc<StoreSnapshot> {
        let cached = CACHE.with(|c| {
            c.borrow()
                .stores
                .get(store)
                .map(|s| (s.snapshot.clone(), now_ms.saturating_sub(s.fetched_at_ms)))
        });
        if let Some((snapshot, age)) = &cached {
            if *age < self.config.pointer_ttl_ms {
                return snapshot.clone();
            }
        }
        let snapshot = match self.read_json::<StoreSnapshot>(&store_key(store)).await {
            Ok(Some(s)) => Rc::new(s),
            Ok(None) => Rc::new(StoreSnapshot {
                schema: STORE_SCHEMA,
                config: StoreConfig::default_config(),
                promotions: Vec::new(),
            }),
            Err(cause) => match cached {
                Some((old, _)) => {
                    warnings.push(format!(
                        "serving the store copy this isolate has because {cause}"
                    ));
                    old
                }
                None => {
                    warnings.push(format!("default store configuration because {cause}"));
                    Rc::new(StoreSnapshot {
                        schema: STORE_SCHEMA,
                        config: StoreConfig::default_config(),
                        promotions: Vec::new(),
                    })
                }
            },
        };
        CACHE.with(|c| {
            c.borrow_mut().stores.insert(
                store.to_string(),
                StoreState {
                    snapshot: snapshot.clone(),
                    fetched_at_ms: now_ms,
                },
            )
        });
        snapshot
    }

    /// Which products of `catalog` the live stock snapshot has in stock.
    /// Degraded mode as for the catalog: on a KV failure the isolate keeps
    /// the snapshot it has (warning); with none, nothing is in stock.
    pub async fn stock(
        &self,
        catalog: &Catalog,
        now_ms: u64,
        warnings: &mut Warnings,
    ) -> Rc<Stock> {
        let fresh = CACHE.with(|c| {
            c.borrow()
                .stock_pointer
                .as_ref()
                .filter(|p| now_ms.saturating_sub(p.fetched_at_ms) < self.config.pointer_ttl_ms)
                .map(|p| p.pointer.clone())
        });
        let pointer = match fresh {
            Some(p) => Ok(p),
            None => self
                .read_json::<StockPointer>(STOCK_POINTER_KEY)
                .await
                .inspect(|p| {
                    CACHE.with(|c| {
                        c.borrow_mut().stock_pointer = Some(StockPointerState {
                            pointer: p.clone(),
                            fetched_at_ms: now_ms,
                        })
                    })
                }),
        };
        let cached = CACHE.with(|c| c.borrow().stock.clone());
        let version = match &pointer {
            Ok(Some(p)) => p.version.clone(),
            Ok(None) => "none".to_string(),
            Err(cause) => {
                if let Some(stock) = cached.filter(|s| s.catalog_version == catalog.version()) {
                    warnings.push(format!(
                        "serving stock snapshot {} because {cause}",
                        stock.version
                    ));
                    return stock;
                }
                warnings.push(format!("no stock snapshot because {cause}"));
                return Rc::new(Stock {
                    version: "none".into(),
                    catalog_version: catalog.version().to_string(),
                    flags: StockFlags::none(),
                });
            }
        };
        if let Some(stock) = cached
            .clone()
            .filter(|s| s.version == version && s.catalog_version == catalog.version())
        {
            return stock;
        }
        let snapshot = if version == "none" {
            Ok(StockSnapshot::new(Vec::new()))
        } else {
            let key = stock_snapshot_key(&version);
            match self
                .kv
                .get(&key)
                .cache_ttl(IMMUTABLE_CACHE_TTL_S)
                .text()
                .await
            {
                Ok(Some(json)) => serde_json::from_str::<StockSnapshot>(&json)
                    .map_err(|e| format!("{key} does not decode: {e}")),
                Ok(None) => Err(format!("{key} is not visible here yet")),
                Err(e) => Err(format!("reading {key}: {e}")),
            }
        };
        let stock = match snapshot {
            Ok(snapshot) => Rc::new(Stock {
                flags: catalog.stock_flags(&snapshot),
                version,
                catalog_version: catalog.version().to_string(),
            }),
            Err(cause) => {
                warnings.push(format!("stock snapshot {version} unavailable: {cause}"));
                match cached {
                    // Keep the flags this isolate has for this catalog version.
                    Some(old) if old.catalog_version == catalog.version() => return old,
                    _ => Rc::new(Stock {
                        version: "none".into(),
                        catalog_version: catalog.version().to_string(),
                        flags: StockFlags::none(),
                    }),
                }
            }
        };
        CACHE.with(|c| c.borrow_mut().stock = Some(stock.clone()));
        stock
    }

    fn keep(&self, catalog: Catalog) -> Rc<Catalog> {
        let catalog = Rc::new(catalog);
        CACHE.with(|c| c.borrow_mut().catalog = Some(catalog.clone()));
        catalog
    }

    /// Serves the version this isolate already has, or fails with 503.
    fn fallback(&self, cause: String, warnings: &mut Warnings) -> Result<Rc<Catalog>, ApiError> {
        match CACHE.with(|c| c.borrow().catalog.clone()) {
            Some(catalog) => {
                warnings.push(format!(
                    "serving catalog {} because {cause}",
                    catalog.version()
                ));
                Ok(catalog)
            }
            None => Err(ApiError::CatalogUnavailable { cause }),
        }
    }

    /// What `store` makes of `catalog`: the products it sells at its own
    /// prices, computed once per catalog version and selection in this
    /// isolate (a mask and the prices it has of its own, not a copy). Its
    /// own prices are an immutable record the version names, read like a
    /// shard: if it cannot be read the request fails (503) rather than
    /// show base prices as the store's.
    pub async fn selected(
        &self,
        catalog: &Catalog,
        store: &StoreProfile,
    ) -> Result<Rc<Selected>, ApiError> {
        let own_key = catalog
            .store_prices_rev(&store.id)
            .map(|rev| store_prices_key(&store.id, rev));
        if own_key.is_none() && matches!(store.selection, Selection::All {}) {
            return Ok(ALL.with(Rc::clone));
        }
        let cached = CACHE.with(|c| {
            c.borrow()
                .selections
                .get(&store.id)
                .filter(|s| s.version == catalog.version() && s.selection == store.selection)
                .map(|s| s.selected.clone())
        });
        if let Some(selected) = cached {
            return Ok(selected);
        }
        // Read for this computation only (the result keeps what it needs).
        let own: Option<StorePriceRecord> = match own_key {
            Some(key) => Some(self.immutable(&key).await?),
            None => None,
        };
        let selected = Rc::new(catalog.select(&store.selection, own));
        CACHE.with(|c| {
            c.borrow_mut().selections.insert(
                store.id.clone(),
                StoreSelection {
                    version: catalog.version().to_string(),
                    selection: store.selection.clone(),
                    selected: selected.clone(),
                },
            )
        });
        Ok(selected)
    }

    /// The shard holding a listing's full record, at the revision the
    /// catalog's index names.
    pub async fn product_shard(
        &self,
        catalog: &Catalog,
        listing: &Listing,
    ) -> Result<Rc<ProductShard>, ApiError> {
        let key = catalog
            .record_key(listing)
            .ok_or_else(|| ApiError::CatalogUnavailable {
                cause: format!("no shard names {}", listing.id),
            })?;
        self.shard(key).await
    }

    /// A SKU's price list in the live catalog, `None` for an unknown SKU.
    pub async fn sku_prices(
        &self,
        catalog: &Catalog,
        sku: &str,
    ) -> Result<Option<SkuPrices>, ApiError> {
        let Some(key) = catalog.price_key(sku) else {
            return Ok(None);
        };
        let shard: Rc<PriceShard> = self.shard(key).await?;
        Ok(shard.skus.get(sku).cloned())
    }

    /// An immutable KV record (content-addressed: KV may cache it at the
    /// edge), read and decoded; not kept in the isolate.
    async fn immutable<T: DeserializeOwned>(&self, key: &str) -> Result<T, ApiError> {
        let unavailable = |cause: String| ApiError::CatalogUnavailable { cause };
        let json = self
            .kv
            .get(key)
            .cache_ttl(IMMUTABLE_CACHE_TTL_S)
            .text()
            .await
            .map_err(|e| unavailable(format!("reading {key}: {e}")))?
            .ok_or_else(|| unavailable(format!("{key} is not visible here yet")))?;
        serde_json::from_str(&json).map_err(|e| unavailable(format!("{key} does not decode: {e}")))
    }

    /// An immutable shard, from the isolate's cache or KV.
    async fn shard<T: DeserializeOwned + 'static>(&self, key: String) -> Result<Rc<T>, ApiError> {
        if let Some(shard) = CACHE.with(|c| c.borrow().shards.get(&key).cloned()) {
            return shard
                .downcast::<T>()
                .map_err(|_| ApiError::CatalogUnavailable {
                    cause: format!("{key} is cached as another type"),
                });
        }
        let shard: Rc<T> = Rc::new(self.immutable(&key).await?);
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.shards.len() >= SHARD_CACHE_MAX {
                if let Some(oldest) = c.shard_order.pop_front() {
                    c.shards.remove(&oldest);
                }
            }
            let erased: Rc<dyn Any> = shard.clone();
            if c.shards.insert(key.clone(), erased).is_none() {
                c.shard_order.push_back(key);
            }
        });
        Ok(shard)
    }
}
