//! Which store a request is for. The isolate holds the store directory the
//! `StoreDirectory` object publishes to KV, re-read every
//! `CATALOG_POINTER_TTL_MS`; a request names its store with the `store`
//! query parameter (the explicit selector, for local development and
//! headless clients) or by its host. A store the isolate's copy does not
//! know makes it ask the directory object itself, at most once per
//! [`MISS_RECHECK_MS`], so a store created elsewhere serves at once. An
//! unknown or disabled store is 404 `store_not_found`: never the default
//! store.
//!
//! Until an operator writes the default store's profile, the directory
//! holds a built-in one ([`builtin_default`]): the deployment's
//! `DEFAULT_CURRENCY`, every currency, every product, and the hosts of
//! `DEFAULT_STORE_HOSTS`.

use crate::catalog_store::{CatalogStore, Warnings};
use crate::config::Config;
use crate::http::{ApiError, Result};
use crate::objects::ask;
use edgecart_domain::money::Currency;
use edgecart_domain::stores::{
    Directory, Selection, Skin, StoreProfile, DEFAULT_STORE, DIRECTORY_KEY, PROFILE_SCHEMA,
};
use edgecart_durable_objects::protocol::directory::{self, DIRECTORY};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use worker::Env;

/// How often an isolate may ask the directory object about a store its copy
/// does not know.
pub const MISS_RECHECK_MS: u64 = 1_000;

struct Held {
    directory: Rc<Directory>,
    read_at_ms: u64,
}

thread_local! {
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
    static ASKED_AT_MS: RefCell<Option<u64>> = const { RefCell::new(None) };
}

/// The default store's profile until an operator writes one.
pub fn builtin_default(config: &Config) -> StoreProfile {
    let mut currencies = vec![config.default_currency];
    for c in Currency::known() {
        if !currencies.contains(&c) {
            currencies.push(c);
        }
    }
    StoreProfile {
        schema: PROFILE_SCHEMA,
        id: DEFAULT_STORE.into(),
        name: "Edgecart".into(),
        hosts: config.default_store_hosts.clone(),
        default_currency: config.default_currency,
        currencies,
        enabled: true,
        skin: Skin {
            name: "Edgecart".into(),
            logo: None,
            colours: BTreeMap::new(),
            hero: String::new(),
            footer: String::new(),
        },
        selection: Selection::All {},
    }
}

/// `stored` as requests see it: with the built-in default store when no
/// profile of it is stored.
pub fn with_default(mut stored: Directory, config: &Config) -> Directory {
    if stored.get(DEFAULT_STORE).is_none() {
        stored.put(builtin_default(config));
    }
    stored
}

/// Adopts `stored`, the directory a write through this isolate just
/// published: this isolate's next request resolves with it.
pub fn adopt(stored: Directory, config: &Config, now_ms: u64) -> Rc<Directory> {
    let directory = Rc::new(with_default(stored, config));
    HELD.with(|h| {
        *h.borrow_mut() = Some(Held {
            directory: directory.clone(),
            read_at_ms: now_ms,
        })
    });
    directory
}

/// The isolate's directory: re-read from KV when older than the pointer
/// TTL. On a KV failure it keeps what it has (warning); with nothing, only
/// the built-in default store exists.
pub async fn directory(
    kv: &CatalogStore<'_>,
    config: &Config,
    now_ms: u64,
    warnings: &mut Warnings,
) -> Rc<Directory> {
    let held = HELD.with(|h| {
        h.borrow()
            .as_ref()
            .map(|h| (h.directory.clone(), now_ms.saturating_sub(h.read_at_ms)))
    });
    if let Some((d, age)) = &held {
        if *age < config.pointer_ttl_ms {
            return d.clone();
        }
    }
    match kv.read_json::<Directory>(DIRECTORY_KEY).await {
        Ok(stored) => adopt(stored.unwrap_or_default(), config, now_ms),
        Err(cause) => {
            warnings.push(format!(
                "serving the store directory this isolate has because {cause}"
            ));
            match held {
                Some((d, _)) => d,
                None => Rc::new(with_default(Directory::default(), config)),
            }
        }
    }
}

/// A store of the isolate's directory: a handle on the shared copy, so
/// that resolving a request copies no profile.
#[derive(Clone)]
pub struct Store {
    directory: Rc<Directory>,
    index: usize,
}

impl std::ops::Deref for Store {
    type Target = StoreProfile;

    fn deref(&self) -> &StoreProfile {
        &self.directory.stores[self.index]
    }
}

/// The store of `directory` a request for `host` or `selector` is for.
fn find(directory: Rc<Directory>, host: Option<&str>, selector: Option<&str>) -> Option<Store> {
    let index = directory.position(host, selector).ok()?;
    Some(Store { directory, index })
}

/// The enabled store a request is for: the one its `store` parameter
/// names, else the one answering on `host`; 404 `store_not_found`
/// otherwise.
pub async fn resolve(
    env: &Env,
    kv: &CatalogStore<'_>,
    config: &Config,
    host: Option<&str>,
    selector: Option<&str>,
    now_ms: u64,
    warnings: &mut Warnings,
) -> Result<Store> {
    if let Some(store) = find(
        directory(kv, config, now_ms, warnings).await,
        host,
        selector,
    ) {
        return Ok(store);
    }
    // Not in this isolate's copy: ask the directory itself, now and then.
    let may_ask = ASKED_AT_MS.with(|a| {
        let mut a = a.borrow_mut();
        let due = a.is_none_or(|at| now_ms.saturating_sub(at) >= MISS_RECHECK_MS);
        if due {
            *a = Some(now_ms);
        }
        due
    });
    if may_ask {
        match ask(env, DIRECTORY, directory::Get {}).await {
            Ok(stored) => {
                if let Some(store) = find(adopt(stored, config, now_ms), host, selector) {
                    return Ok(store);
                }
            }
            Err(e) => warnings.push(format!("asking the store directory: {e:?}")),
        }
    }
    Err(store_not_found())
}

/// 404 `store_not_found`.
pub fn store_not_found() -> ApiError {
    ApiError::NotFound {
        code: "store_not_found",
        detail: "No store is served at this host or under this `store` id.".into(),
    }
}
