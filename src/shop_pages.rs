//! The demo shop's pages: which addresses are pages, and loading what each
//! needs through the same functions that answer the public `/v1` API (so a
//! page never knows more than a third-party frontend could fetch). HTML
//! comes from `shop_html`; the modules in `static/js/` take over in the
//! browser. Files in `static/` (CSS, JavaScript, images) are served as
//! assets before a request reaches the Worker.

use crate::app::product_response;
use crate::catalog_api::{self, Params, LIST_PARAMS};
use crate::catalog_store::{CatalogStore, Warnings};
use crate::config::Config;
use crate::http::{ApiError, ApiResponse, Result};
use crate::shop_html::{self, Layout, ListingState};
use edgecart_domain::money::Currency;
use edgecart_domain::search::Catalog;
use edgecart_domain::search::Selected;
use edgecart_domain::stores::{Skin, StoreProfile};
use serde_json::Value;
use std::sync::LazyLock;
use worker::Env;

/// A page of the demo shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page<'a> {
    Home,
    Listing,
    Product {
        slug: &'a str,
    },
    Cart,
    Checkout,
    Order {
        id: &'a str,
    },
    /// `/skin.css`: the store's colour tokens, as CSS custom properties.
    Skin,
}

/// The page at `path`, if it is one.
pub fn match_page(path: &str) -> Option<Page<'_>> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    Some(match path {
        "/" => Page::Home,
        "/skin.css" => Page::Skin,
        "/products" => Page::Listing,
        "/cart" => Page::Cart,
        "/checkout" => Page::Checkout,
        _ => {
            let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
            match segments.as_slice() {
                ["products", slug] if !slug.is_empty() => Page::Product { slug },
                ["orders", id] if !id.is_empty() => Page::Order { id },
                _ => return None,
            }
        }
    })
}

/// The shopper's currency: the `currency` cookie the currency switcher
/// sets, when the catalog sells in it; else the store's default.
pub fn cookie_currency(
    cookie: Option<&str>,
    catalog: &Catalog,
    selected: &Selected,
    default: Currency,
) -> Currency {
    cookie
        .into_iter()
        .flat_map(|c| c.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "currency")
        .and_then(|(_, value)| Currency::parse(value).ok())
        .filter(|c| catalog.currencies_in(selected).any(|p| p == *c))
        .unwrap_or(default)
}

/// Everything a page request brings.
pub struct PageRequest<'a> {
    pub page: Page<'a>,
    /// The store the page is for.
    pub shop: &'a StoreProfile,
    pub pairs: Vec<(String, String)>,
    pub cookie: Option<String>,
    pub env: &'a Env,
    pub config: &'a Config,
    pub now_ms: u64,
}

/// Renders a page. Every failure is a page too (with its status), never
/// problem+json: a browser asked.
pub async fn serve(req: PageRequest<'_>, warnings: &mut Warnings) -> ApiResponse {
    if req.page == Page::Skin {
        return skin_css(&req.shop.skin);
    }
    let unavailable = |e: &ApiError| {
        let currency = req.shop.default_currency.as_str();
        failure(e, bare_layout(currency, &req.shop.skin, &req.shop.id))
    };
    let store = match CatalogStore::from_env(req.env, req.config) {
        Ok(store) => store,
        Err(e) => return unavailable(&e),
    };
    let catalog = match store.current(req.now_ms, warnings).await {
        Ok(c) => c,
        Err(e) => return unavailable(&e),
    };
    let selected = match store.selected(&catalog, req.shop).await {
        Ok(s) => s,
        Err(e) => return unavailable(&e),
    };
    let currency = cookie_currency(
        req.cookie.as_deref(),
        &catalog,
        &selected,
        req.shop.default_currency,
    );
    let currency = if req.shop.sells_in(currency) {
        currency
    } else {
        req.shop.default_currency
    };
    let currencies: Vec<String> = catalog
        .currencies_in(&selected)
        .filter(|c| req.shop.sells_in(*c))
        .map(|c| c.as_str().to_string())
        .collect();
    // The store's configuration (the copy carts read): whether it runs a
    // points programme, and what it calls its points.
    let profile = store.store(&req.shop.id, req.now_ms, warnings).await;
    let points = profile.config.points.as_ref();
    let source = Source {
        store: &store,
        skin: &req.shop.skin,
        catalog: &catalog,
        selected: &selected,
        currency,
        now_ms: req.now_ms,
    };
    let mut layout = Layout {
        skin: &req.shop.skin,
        store: &req.shop.id,
        title: "",
        description: "The Edgecart demo shop: a storefront served at the edge.",
        script: "home",
        currency: currency.as_str(),
        currencies: &currencies,
        query: "",
        canonical: None,
        data: None,
        points: points.map(|p| p.unit.as_str()),
    };
    let rendered = match req.page {
        Page::Home | Page::Skin => home(&source, warnings).await,
        Page::Listing => listing(&source, &req.pairs, warnings).await,
        Page::Product { slug } => {
            product_response(
                req.env, &store, &catalog, &selected, slug, currency, points, warnings,
            )
            .await
        }
        .map(|r| {
            let p: Value = serde_json::from_slice(&r.body).unwrap_or_default();
            Rendered {
                title: p["name"].as_str().unwrap_or("").to_string(),
                description: p["description"].as_str().unwrap_or("").to_string(),
                script: "product",
                canonical: Some(format!(
                    "/products/{}",
                    shop_html::url_component(p["slug"].as_str().unwrap_or(slug))
                )),
                query: String::new(),
                main: shop_html::product(&p, points.map(|p| p.unit.as_str())),
                data: Some(p),
            }
        }),
        Page::Cart => Ok(Rendered::shell("Your cart", "cart", "cart")),
        Page::Checkout => Ok(Rendered::shell("Checkout", "checkout", "checkout")),
        Page::Order { id } => Ok(Rendered::shell(&format!("Order {id}"), "order", "order")),
    };
    match rendered {
        Ok(r) => {
            layout.title = &r.title;
            layout.description = if r.description.is_empty() {
                layout.description
            } else {
                &r.description
            };
            layout.script = r.script;
            layout.query = &r.query;
            layout.canonical = r.canonical.as_deref();
            layout.data = r.data.as_ref();
            let html = shop_html::document(&layout, &r.main);
            let mut response = page_response(200, html);
            if matches!(req.page, Page::Cart | Page::Checkout | Page::Order { .. }) {
                // Shells: nothing personal in them, but never worth indexing.
                response.header("X-Robots-Tag", "noindex");
            }
            response
        }
        Err(e) => failure(&e, layout),
    }
}

/// What a failed page says: the API's detail for the shopper's own
/// mistakes, a plain apology for ours.
fn page_detail(e: &ApiError) -> String {
    match e.status() {
        404 => "Nothing lives at this address. It may have been removed from the catalog.".into(),
        400..=499 => e.detail(),
        _ => "Please try again in a moment.".into(),
    }
}

/// Whether an unknown address should be answered with the shop's 404 page:
/// a browser (it accepts HTML) reading outside the API's paths.
pub fn wants_page(method: &str, path: &str, accept: Option<&str>) -> bool {
    matches!(method, "GET" | "HEAD")
        && !path.starts_with("/v1/")
        && !path.starts_with("/admin/")
        && accept.is_some_and(|a| a.contains("text/html"))
}

/// The shop's page for an address that has nothing.
pub fn not_found() -> ApiResponse {
    failure(
        &ApiError::RouteNotFound,
        bare_layout("USD", &PLAIN, "default"),
    )
}

/// The look of a page no store could be found for.
static PLAIN: LazyLock<Skin> = LazyLock::new(|| Skin {
    name: "Edgecart".into(),
    logo: None,
    colours: Default::default(),
    hero: String::new(),
    footer: String::new(),
});

/// A layout before the catalog could be read: no currency choice.
fn bare_layout<'a>(currency: &'a str, skin: &'a Skin, store: &'a str) -> Layout<'a> {
    Layout {
        skin,
        store,
        title: "",
        description: "",
        script: "shop",
        currency,
        currencies: &[],
        query: "",
        canonical: None,
        data: None,
        points: None,
    }
}

/// The error page for `e` in `layout` (its header and currency choice).
fn failure(e: &ApiError, layout: Layout) -> ApiResponse {
    let layout = Layout {
        title: "Not available",
        script: "shop",
        canonical: None,
        data: None,
        ..layout
    };
    let html = shop_html::document(&layout, &shop_html::error_page(e.status(), &page_detail(e)));
    page_response(e.status(), html)
}

/// The store's colour tokens as a stylesheet (pages may not carry inline
/// style): `:root { --token: #rrggbb; … }`, which `shop.css` reads. Names
/// and values were validated (`[a-z0-9-]`, `#rrggbb`).
fn skin_css(skin: &Skin) -> ApiResponse {
    let mut css = String::from(":root {");
    for (name, value) in &skin.colours {
        css.push_str(&format!(" --{name}: {value};"));
    }
    css.push_str(" }\n");
    let mut r = ApiResponse::new(200, "text/css; charset=utf-8", css.into_bytes());
    r.header("Cache-Control", "no-cache");
    r.header("X-Content-Type-Options", "nosniff");
    r
}

fn page_response(status: u16, html: String) -> ApiResponse {
    let mut r = ApiResponse::new(status, "text/html; charset=utf-8", html.into_bytes());
    // Pages follow live stock and the shopper's currency cookie: always
    // revalidated, cached per cookie.
    r.header("Cache-Control", "no-cache");
    r.header("Vary", "Cookie");
    r.header("X-Content-Type-Options", "nosniff");
    // Only the shop's own files and API (and images over https: a store's
    // logo may live elsewhere): no inline script or style, no framing. The
    // embedded page data is a JSON block, never executed.
    r.header(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; \
         connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    r.header("Referrer-Policy", "same-origin");
    r
}

struct Rendered {
    title: String,
    description: String,
    script: &'static str,
    canonical: Option<String>,
    query: String,
    main: String,
    data: Option<Value>,
}

impl Rendered {
    fn shell(title: &str, script: &'static str, id: &str) -> Self {
        Rendered {
            title: title.to_string(),
            description: String::new(),
            script,
            canonical: None,
            query: String::new(),
            main: shop_html::shell(title, id),
            data: None,
        }
    }
}

fn body_json(r: &ApiResponse) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_default()
}

/// Where a page's data comes from: the catalog as the API sees it, in the
/// shopper's currency.
struct Source<'a> {
    store: &'a CatalogStore<'a>,
    /// The store's look.
    skin: &'a Skin,
    catalog: &'a Catalog,
    /// The products the store sells.
    selected: &'a Selected,
    currency: Currency,
    now_ms: u64,
}

impl Source<'_> {
    /// The `GET /v1/products` body for `pairs` (API parameters).
    async fn list(&self, pairs: Vec<(String, String)>, warnings: &mut Warnings) -> Result<Value> {
        let params = Params::parse(pairs, LIST_PARAMS)?;
        let query = catalog_api::parse_list_query(
            &params,
            self.catalog,
            self.selected,
            self.currency,
            |_| true,
        )?;
        self.catalog
            .validate(&query, self.selected)
            .map_err(catalog_api::query_error)?;
        let stock = self.store.stock(self.catalog, self.now_ms, warnings).await;
        Ok(body_json(&catalog_api::list_products(
            self.catalog,
            &query,
            &stock.flags,
            self.selected,
        )?))
    }

    /// The `GET /v1/categories` body.
    fn categories(&self) -> Value {
        body_json(&catalog_api::list_categories(self.catalog, self.selected))
    }
}

async fn home(source: &Source<'_>, warnings: &mut Warnings) -> Result<Rendered> {
    let featured = source
        .list(vec![("limit".into(), "8".into())], warnings)
        .await?;
    let categories = source.categories();
    Ok(Rendered {
        title: String::new(),
        description: String::new(),
        script: "home",
        canonical: Some("/".into()),
        query: String::new(),
        main: shop_html::home(&source.skin.hero, &categories, &featured),
        data: None,
    })
}

/// The page's parameters (q, category, price band, in_stock, sort, cursor)
/// as its state and as API parameters. Parameters the page does not know
/// (a campaign's tags, say) are left out rather than refused.
pub fn listing_params(pairs: &[(String, String)]) -> (ListingState, Vec<(String, String)>) {
    let mut state = ListingState::default();
    let mut api = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (name, value) in pairs {
        if value.is_empty() || !seen.insert(name.as_str()) {
            continue;
        }
        match name.as_str() {
            "q" => state.q = value.clone(),
            "category" => state.category = value.clone(),
            "sort" => state.sort = value.clone(),
            "in_stock" => state.in_stock = value == "true",
            "price" => {
                if let Some((min, max)) = shop_html::parse_band(value) {
                    state.min_price = Some(min);
                    state.max_price = max;
                }
                continue;
            }
            "cursor" => {}
            _ => continue,
        }
        api.push((name.clone(), value.clone()));
    }
    if let Some(min) = state.min_price {
        api.push(("min_price".into(), min.to_string()));
    }
    if let Some(max) = state.max_price {
        api.push(("max_price".into(), max.to_string()));
    }
    api.push(("limit".into(), "24".into()));
    (state, api)
}

async fn listing(
    source: &Source<'_>,
    pairs: &[(String, String)],
    warnings: &mut Warnings,
) -> Result<Rendered> {
    let (state, api) = listing_params(pairs);
    let list = source.list(api, warnings).await?;
    let categories = source.categories();
    let title = if state.q.is_empty() {
        "Products".to_string()
    } else {
        format!("Search: {}", state.q)
    };
    Ok(Rendered {
        title,
        description: "Browse and search the Edgecart demo catalog.".into(),
        script: "listing",
        canonical: Some(state.href(None)),
        query: state.q.clone(),
        main: shop_html::listing(&state, &list, &categories),
        data: Some(list),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_get_a_page_for_dead_links_outside_the_api() {
        let html = Some("text/html,application/xhtml+xml,*/*;q=0.8");
        assert!(wants_page("GET", "/prodcts", html));
        assert!(!wants_page("GET", "/prodcts", Some("application/json")));
        assert!(!wants_page("GET", "/prodcts", None));
        assert!(!wants_page("GET", "/v1/nope", html));
        assert!(!wants_page("GET", "/admin/v1/nope", html));
        assert!(!wants_page("POST", "/prodcts", html));
        let r = not_found();
        assert_eq!(r.status, 404);
        assert!(String::from_utf8_lossy(&r.body).contains("could not find that page"));
    }

    #[test]
    fn pages_are_matched_by_path() {
        assert_eq!(match_page("/"), Some(Page::Home));
        assert_eq!(match_page("/products"), Some(Page::Listing));
        assert_eq!(match_page("/products/"), Some(Page::Listing));
        assert_eq!(
            match_page("/products/blue-mug"),
            Some(Page::Product { slug: "blue-mug" })
        );
        assert_eq!(
            match_page("/orders/ord_1"),
            Some(Page::Order { id: "ord_1" })
        );
        assert_eq!(match_page("/cart"), Some(Page::Cart));
        assert_eq!(match_page("/checkout/"), Some(Page::Checkout));
        assert_eq!(match_page("/v1/products"), None);
        assert_eq!(match_page("/products/a/b"), None);
        assert_eq!(match_page("/health"), None);
    }

    fn pairs(q: &str) -> Vec<(String, String)> {
        worker::Url::parse(&format!("http://x/?{q}"))
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn listing_parameters_map_to_the_api() {
        let (state, api) = listing_params(&pairs(
            "q=mug&price=1000-2500&in_stock=true&utm_source=x&sort=name",
        ));
        assert_eq!(state.q, "mug");
        assert_eq!((state.min_price, state.max_price), (Some(1000), Some(2500)));
        assert!(state.in_stock);
        assert_eq!(
            api,
            pairs("q=mug&in_stock=true&sort=name&min_price=1000&max_price=2500&limit=24")
        );
        let (state, api) = listing_params(&pairs("price=bogus&category=&q=a&q=b"));
        assert_eq!(state.min_price, None);
        assert_eq!(api, pairs("q=a&limit=24"));
    }
}
