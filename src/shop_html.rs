//! The demo shop's HTML, rendered at the edge from the same bodies the
//! public `/v1` API answers (so a page shows exactly what a frontend would
//! fetch), for pages that must be meaningful before JavaScript runs: home,
//! listing and product pages. The cart, checkout and order pages are shells
//! their modules in `static/js/` fill from the API.
//!
//! Pure: values in, HTML text out. No I/O, no clock, no `worker` types.
//! The markup of a product card here and in `static/js/shop.js` is the same,
//! so a listing looks identical whether the edge or the browser drew it.

use edgecart_domain::stores::Skin;
use serde_json::Value;
use std::fmt::Write;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// JSON made safe to embed in a `<script>` element: no `</script>`, no
/// HTML comment openers, no line separators JavaScript chokes on.
pub fn script_json(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Percent-encodes a query-string value.
pub fn url_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A money amount as the shop shows it (`$1,234.56`, `€17.49`): the same
/// text `Intl.NumberFormat('en-US', {style: 'currency'})` gives in the
/// browser, so server and client renderings agree.
pub fn money(amount: i64, currency: &str, minor_units: u32) -> String {
    let symbol = match currency {
        "USD" => "$".to_string(),
        "EUR" => "€".to_string(),
        "GBP" => "£".to_string(),
        "JPY" => "¥".to_string(),
        other => format!("{other}\u{a0}"),
    };
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    let scale = 10u64.pow(minor_units);
    let (whole, frac) = (abs / scale, abs % scale);
    let grouped = group_digits(whole);
    if minor_units == 0 {
        format!("{sign}{symbol}{grouped}")
    } else {
        format!(
            "{sign}{symbol}{grouped}.{frac:0width$}",
            width = minor_units as usize
        )
    }
}

/// `n` with its thousands grouped by commas (`50,000`): the browser's
/// `n.toLocaleString('en-US')`.
fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

/// A number of points in the store's `unit` (`2,000 points`): the same
/// text `static/js/shop.js`'s `points` gives.
pub fn points(n: i64, unit: &str) -> String {
    let sign = if n < 0 { "-" } else { "" };
    format!("{sign}{} {unit}", group_digits(n.unsigned_abs()))
}

/// A `Money` JSON value (`{amount, currency}`) as text; empty for null.
fn money_value(m: &Value) -> String {
    match (m["amount"].as_i64(), m["currency"].as_str()) {
        (Some(a), Some(c)) => money(a, c, minor_units(c)),
        _ => String::new(),
    }
}

fn minor_units(currency: &str) -> u32 {
    edgecart_domain::money::Currency::parse(currency)
        .map(|c| u32::from(c.minor_units()))
        .unwrap_or(2)
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// What every page shares: the header (search, currency, cart), the
/// footer, and the page's module.
pub struct Layout<'a> {
    pub title: &'a str,
    pub description: &'a str,
    /// The page's module in `static/js/` (without `.js`).
    pub script: &'a str,
    pub currency: &'a str,
    pub currencies: &'a [String],
    /// The search box's current text.
    pub query: &'a str,
    /// Path and query of this page's canonical address.
    pub canonical: Option<&'a str>,
    /// Data the page's module starts from (an API body), instead of
    /// fetching it again.
    pub data: Option<&'a Value>,
    /// The store's look: name, logo, colour tokens, footer.
    pub skin: &'a Skin,
    /// The store's id.
    pub store: &'a str,
    /// What the store calls its points, when it runs a points programme
    /// (as its cart views and product pages show it): the header gets the
    /// member's place (`#member`, drawn by `static/js/member.js`).
    pub points: Option<&'a str>,
}

/// The link to the store's colour tokens (`/skin.css`, CSS custom
/// properties the stylesheet's rules read; pages carry no inline style),
/// when it has any.
fn colour_tokens(layout: &Layout) -> String {
    if layout.skin.colours.is_empty() {
        return String::new();
    }
    format!(
        "<link rel=\"stylesheet\" href=\"/skin.css?store={}\">\n",
        esc(layout.store)
    )
}

/// A whole HTML document: `layout` around `main`.
pub fn document(layout: &Layout, main: &str) -> String {
    let mut html = String::with_capacity(main.len() + 4096);
    let skin = layout.skin;
    let title = if layout.title.is_empty() {
        skin.name.clone()
    } else {
        format!("{} · {}", layout.title, skin.name)
    };
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{}</title>\n<meta name=\"description\" content=\"{}\">\n",
        esc(&title),
        esc(layout.description)
    );
    if let Some(c) = layout.canonical {
        let _ = writeln!(html, "<link rel=\"canonical\" href=\"{}\">", esc(c));
    }
    let _ = write!(
        html,
        "<link rel=\"icon\" href=\"/img/favicon.svg\" type=\"image/svg+xml\">\n\
<link rel=\"stylesheet\" href=\"/shop.css\">\n{}\
<link rel=\"modulepreload\" href=\"/js/shop.js\">\n\
<script type=\"module\" src=\"/js/{}.js\"></script>\n{}</head>\n\
<body data-currency=\"{}\"{}>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n\
<header class=\"site\">\n<a class=\"brand\" href=\"/\">{}{}</a>\n\
<form class=\"search\" role=\"search\" action=\"/products\" method=\"get\">\
<label for=\"q\" class=\"sr-only\">Search products</label>\
<input id=\"q\" name=\"q\" type=\"search\" value=\"{}\" placeholder=\"Search products\" \
autocomplete=\"off\" maxlength=\"200\"><button type=\"submit\">Search</button></form>\n\
<label class=\"currency\"><span class=\"sr-only\">Currency</span>\
<select id=\"currency\" name=\"currency\">",
        colour_tokens(layout),
        esc(layout.script),
        if layout.points.is_some() {
            "<script type=\"module\" src=\"/js/member.js\"></script>\n"
        } else {
            ""
        },
        esc(layout.currency),
        layout
            .points
            .map(|unit| format!(" data-points-unit=\"{}\"", esc(unit)))
            .unwrap_or_default(),
        skin.logo
            .as_deref()
            .map(|src| format!(
                "<img class=\"logo\" src=\"{}\" alt=\"\" height=\"28\"> ",
                esc(src)
            ))
            .unwrap_or_default(),
        esc(&skin.name),
        esc(layout.query),
    );
    for c in layout.currencies {
        let selected = if c == layout.currency {
            " selected"
        } else {
            ""
        };
        let _ = write!(html, "<option{selected}>{}</option>", esc(c));
    }
    html.push_str("</select></label>\n");
    if layout.points.is_some() {
        // Filled by member.js: the demo sign-in, or the member and balance.
        html.push_str("<div id=\"member\" class=\"member\" aria-live=\"polite\"></div>\n");
    }
    html.push_str(
        "<a class=\"cart-link\" href=\"/cart\">Cart \
<span id=\"cart-count\" class=\"badge\"></span></a>\n</header>\n\
<div id=\"notice\" class=\"notice\" role=\"alert\" hidden></div>\n<main id=\"main\">\n",
    );
    html.push_str(main);
    if skin.footer.is_empty() {
        html.push_str(
            "\n</main>\n<footer class=\"site\"><p>Edgecart demo shop: payments go to the \
built-in test provider, no money moves. Served at the edge by one Rust Worker; \
everything dynamic comes from the public <a href=\"/openapi.json\">/v1 API</a>.</p></footer>\n",
        );
    } else {
        let _ = write!(
            html,
            "\n</main>\n<footer class=\"site\"><p>{}</p></footer>\n",
            esc(&skin.footer)
        );
    }
    if let Some(data) = layout.data {
        let _ = writeln!(
            html,
            "<script type=\"application/json\" id=\"page-data\">{}</script>",
            script_json(data)
        );
    }
    html.push_str("</body>\n</html>\n");
    html
}

/// One product card: the same markup `static/js/shop.js` draws.
pub fn card(item: &Value) -> String {
    let slug = text(item, "slug");
    let name = text(item, "name");
    let price = money_value(&item["price"]);
    let from = item["price_max"]["amount"].as_i64() != item["price"]["amount"].as_i64();
    let (src, alt) = match item.get("image").filter(|i| !i.is_null()) {
        Some(i) => (text(i, "url"), text(i, "alt")),
        None => ("/img/placeholder.svg", name),
    };
    let mut html = format!(
        "<li class=\"card\"><a href=\"/products/{}\"><img src=\"{}\" alt=\"{}\" width=\"240\" \
height=\"240\" loading=\"lazy\"><span class=\"name\">{}</span></a><p class=\"price\">{}{}</p>",
        url_component(slug),
        esc(src),
        esc(alt),
        esc(name),
        if from && !price.is_empty() {
            "from "
        } else {
            ""
        },
        esc(&price),
    );
    if item["in_stock"] == Value::Bool(false) {
        html.push_str("<p class=\"stock out\">Sold out</p>");
    }
    html.push_str("</li>");
    html
}

/// The listing's state as its address names it (the page's own query
/// string; `price` is a band `min-max` or `min-`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ListingState {
    pub q: String,
    pub category: String,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub in_stock: bool,
    pub sort: String,
}

impl ListingState {
    /// The listing page's address for this state (and an optional cursor).
    pub fn href(&self, cursor: Option<&str>) -> String {
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!("q={}", url_component(&self.q)));
        }
        if !self.category.is_empty() {
            parts.push(format!("category={}", url_component(&self.category)));
        }
        if let Some(p) = self.price_band() {
            parts.push(format!("price={p}"));
        }
        if self.in_stock {
            parts.push("in_stock=true".into());
        }
        if !self.sort.is_empty() && self.sort != "relevance" {
            parts.push(format!("sort={}", url_component(&self.sort)));
        }
        if let Some(c) = cursor {
            parts.push(format!("cursor={}", url_component(c)));
        }
        if parts.is_empty() {
            "/products".into()
        } else {
            format!("/products?{}", parts.join("&"))
        }
    }

    fn price_band(&self) -> Option<String> {
        match (self.min_price, self.max_price) {
            (None, None) => None,
            (min, max) => Some(format!(
                "{}-{}",
                min.unwrap_or(0),
                max.map(|m| m.to_string()).unwrap_or_default()
            )),
        }
    }
}

/// Parses a price band value `min-max` or `min-` (minor units).
pub fn parse_band(s: &str) -> Option<(i64, Option<i64>)> {
    let (min, max) = s.split_once('-')?;
    let min = min.parse().ok().filter(|m: &i64| *m >= 0)?;
    let max = if max.is_empty() {
        None
    } else {
        Some(max.parse().ok().filter(|m: &i64| *m >= min)?)
    };
    Some((min, max))
}

const SORTS: [(&str, &str); 5] = [
    ("relevance", "Featured"),
    ("price_asc", "Price: low to high"),
    ("price_desc", "Price: high to low"),
    ("name", "Name"),
    ("newest", "Newest"),
];

/// The listing page's main content from a `GET /v1/products` body.
pub fn listing(state: &ListingState, list: &Value, categories: &Value) -> String {
    let currency = text(list, "currency");
    let category_name = categories["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| text(c, "slug") == state.category)
        .map(|c| text(c, "name"));
    let heading = match (state.q.is_empty(), category_name) {
        (false, _) => format!("Results for “{}”", state.q),
        (true, Some(name)) => name.to_string(),
        (true, None) => "All products".to_string(),
    };
    let mut html = format!(
        "<h1 id=\"listing-title\">{}</h1>\n<div class=\"listing\">\n\
<form id=\"filters\" class=\"filters\" action=\"/products\" method=\"get\" aria-label=\"Filters\">\n\
<input type=\"hidden\" name=\"q\" value=\"{}\">\n<fieldset><legend>Category</legend>\n",
        esc(&heading),
        esc(&state.q)
    );
    let radio = |name: &str, value: &str, checked: bool, label: &str, count: Option<u64>| {
        format!(
            "<label><input type=\"radio\" name=\"{name}\" value=\"{}\"{}> {}{}</label>\n",
            esc(value),
            if checked { " checked" } else { "" },
            esc(label),
            count
                .map(|n| format!(" <span class=\"count\">({n})</span>"))
                .unwrap_or_default()
        )
    };
    html.push_str(&radio(
        "category",
        "",
        state.category.is_empty(),
        "All",
        None,
    ));
    for c in list["facets"]["categories"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let slug = text(c, "slug");
        html.push_str(&radio(
            "category",
            slug,
            slug == state.category,
            text(c, "name"),
            c["count"].as_u64(),
        ));
    }
    html.push_str("</fieldset>\n<fieldset><legend>Price</legend>\n");
    html.push_str(&radio(
        "price",
        "",
        state.min_price.is_none() && state.max_price.is_none(),
        "Any price",
        None,
    ));
    let units = minor_units(currency);
    for b in list["facets"]["price_bands"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let min = b["min_price"].as_i64().unwrap_or(0);
        let max = b["max_price"].as_i64();
        let label = match max {
            Some(max) => format!(
                "{} – {}",
                money(min, currency, units),
                money(max, currency, units)
            ),
            None => format!("{} and up", money(min, currency, units)),
        };
        let value = format!("{min}-{}", max.map(|m| m.to_string()).unwrap_or_default());
        let checked = state.min_price == Some(min) && state.max_price == max;
        html.push_str(&radio(
            "price",
            &value,
            checked,
            &label,
            b["count"].as_u64(),
        ));
    }
    let _ = write!(
        html,
        "</fieldset>\n<fieldset><legend>Availability</legend>\
<label><input type=\"checkbox\" name=\"in_stock\" value=\"true\"{}> In stock only</label></fieldset>\n\
<label class=\"sort\">Sort by <select name=\"sort\">",
        if state.in_stock { " checked" } else { "" }
    );
    for (value, label) in SORTS {
        let selected = if state.sort == value || (state.sort.is_empty() && value == "relevance") {
            " selected"
        } else {
            ""
        };
        let _ = write!(html, "<option value=\"{value}\"{selected}>{label}</option>");
    }
    let total = list["total"].as_u64().unwrap_or(0);
    let _ = write!(
        html,
        "</select></label>\n<button type=\"submit\" class=\"apply\">Apply filters</button>\n</form>\n\
<section class=\"results\" aria-labelledby=\"listing-title\">\n\
<p id=\"result-count\" role=\"status\">{}</p>\n<ul id=\"products\" class=\"grid\">",
        result_count(total)
    );
    for item in list["items"].as_array().into_iter().flatten() {
        html.push_str(&card(item));
    }
    html.push_str("</ul>\n");
    if total == 0 {
        html.push_str(
            "<p class=\"empty\">Nothing matches. Try fewer words or clear a filter.</p>\n",
        );
    }
    match list["next_cursor"].as_str() {
        Some(cursor) => {
            let _ = writeln!(
                html,
                "<a id=\"more\" class=\"button more\" rel=\"next\" href=\"{}\">More products</a>",
                esc(&state.href(Some(cursor)))
            );
        }
        None => html.push_str(
            "<a id=\"more\" class=\"button more\" rel=\"next\" hidden>More products</a>\n",
        ),
    }
    html.push_str("</section>\n</div>");
    html
}

fn result_count(total: u64) -> String {
    match total {
        1 => "1 product".into(),
        n => format!("{n} products"),
    }
}

/// The home page: the store's headline (`hero`; the demo shop's without
/// one), categories and featured products.
pub fn home(hero: &str, categories: &Value, featured: &Value) -> String {
    let mut html = if hero.is_empty() {
        String::from(
            "<section class=\"hero\"><h1>Everything for home, kitchen and the outdoors</h1>\
<p>Real stock, live prices, checkout in seconds. This is the Edgecart demo shop.</p>",
        )
    } else {
        format!("<section class=\"hero\"><h1>{}</h1>", esc(hero))
    };
    html.push_str(
        "<a class=\"button\" href=\"/products\">Browse all products</a></section>\n\
<section aria-labelledby=\"categories-title\"><h2 id=\"categories-title\">Shop by category</h2>\n\
<ul class=\"categories\">",
    );
    for c in categories["items"].as_array().into_iter().flatten() {
        let slug = text(c, "slug");
        let _ = write!(
            html,
            "<li><a href=\"/products?category={}\"><img src=\"/img/{}.svg\" alt=\"\" width=\"64\" \
height=\"64\"><span>{}</span> <span class=\"count\">{} products</span></a></li>",
            url_component(slug),
            esc(slug),
            esc(text(c, "name")),
            c["product_count"].as_u64().unwrap_or(0)
        );
    }
    html.push_str(
        "</ul></section>\n<section aria-labelledby=\"featured-title\">\
<h2 id=\"featured-title\">Featured</h2>\n<ul id=\"products\" class=\"grid\">",
    );
    for item in featured["items"].as_array().into_iter().flatten() {
        html.push_str(&card(item));
    }
    html.push_str("</ul></section>");
    html
}

/// What a variant's availability reads as.
pub fn availability_text(available: Option<i64>) -> String {
    match available {
        None => "Availability unknown right now".into(),
        Some(n) if n <= 0 => "Sold out".into(),
        Some(n) if n <= 5 => format!("Only {n} left"),
        Some(n) => format!("In stock ({n} available)"),
    }
}

/// The product page from a `GET /v1/products/{slug}` body; `points`: the
/// store's unit when it runs a points programme (a variant's
/// `price_points` then reads "or 2,000 points").
pub fn product(p: &Value, points: Option<&str>) -> String {
    let name = text(p, "name");
    let variants: Vec<&Value> = p["variants"].as_array().into_iter().flatten().collect();
    // The first variant with stock is preselected, else the first.
    let chosen = variants
        .iter()
        .position(|v| v["available"].as_i64().unwrap_or(0) > 0)
        .unwrap_or(0);
    let mut html =
        String::from("<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"/\">Home</a> › ");
    if let Some(c) = p.get("category").filter(|c| !c.is_null()) {
        let _ = write!(
            html,
            "<a href=\"/products?category={}\">{}</a> › ",
            url_component(text(c, "slug")),
            esc(text(c, "name"))
        );
    }
    let _ = write!(
        html,
        "<span aria-current=\"page\">{}</span></nav>\n<article class=\"product\">\n",
        esc(name)
    );
    if let Some(img) = p["images"].as_array().and_then(|i| i.first()) {
        let _ = writeln!(
            html,
            "<img class=\"hero-image\" src=\"{}\" alt=\"{}\" width=\"480\" height=\"480\">",
            esc(text(img, "url")),
            esc(text(img, "alt"))
        );
    }
    let price = variants
        .get(chosen)
        .map(|v| money_value(&v["price"]))
        .unwrap_or_default();
    let _ = write!(
        html,
        "<div class=\"buy\">\n<h1>{}</h1>\n<p class=\"price\" id=\"price\">{}</p>\n",
        esc(name),
        esc(if price.is_empty() {
            "Not sold in this currency"
        } else {
            &price
        })
    );
    if let Some(unit) = points {
        // Present (maybe hidden) whenever the store has points, so that
        // product.js can show the price of whichever variant is chosen.
        let in_points = variants
            .get(chosen)
            .and_then(|v| v["price_points"].as_i64());
        let _ = writeln!(
            html,
            "<p class=\"price-points\" id=\"price-points\"{}>{}</p>",
            if in_points.is_none() { " hidden" } else { "" },
            in_points
                .map(|n| esc(&format!("or {}", self::points(n, unit))))
                .unwrap_or_default()
        );
    }
    html.push_str("<form id=\"add-form\" class=\"add\" novalidate>\n");
    let legend = variants
        .first()
        .and_then(|v| v["options"].as_object())
        .and_then(|o| o.keys().next())
        .map(|k| {
            let mut c = k.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .unwrap_or_else(|| "Option".into());
    let _ = writeln!(
        html,
        "<fieldset class=\"variants\"{}><legend>{}</legend>",
        if variants.len() < 2 { " hidden" } else { "" },
        esc(&legend)
    );
    for (i, v) in variants.iter().enumerate() {
        let available = v["available"].as_i64();
        let _ = writeln!(
            html,
            "<label><input type=\"radio\" name=\"sku\" value=\"{}\"{}> {} \
<span class=\"variant-price\">{}</span> <span class=\"avail\">{}</span></label>",
            esc(text(v, "sku")),
            if i == chosen { " checked" } else { "" },
            esc(text(v, "name")),
            esc(&money_value(&v["price"])),
            esc(&availability_text(available)),
        );
    }
    let available = variants.get(chosen).and_then(|v| v["available"].as_i64());
    let _ = write!(
        html,
        "</fieldset>\n<p id=\"availability\" class=\"availability\" role=\"status\">{}</p>\n\
<div class=\"qty-row\"><label for=\"qty\">Quantity</label>\
<input id=\"qty\" name=\"quantity\" type=\"number\" inputmode=\"numeric\" min=\"1\" max=\"{}\" value=\"1\">\
<button type=\"submit\" id=\"add\" class=\"primary\"{}>Add to cart</button></div>\n\
<p id=\"add-status\" class=\"form-status\" role=\"status\" aria-live=\"polite\"></p>\n</form>\n",
        esc(&availability_text(available)),
        p["max_per_order"].as_i64().unwrap_or(99),
        if available.unwrap_or(1) <= 0 {
            " disabled"
        } else {
            ""
        },
    );
    if let Some(limit) = p["max_per_order"].as_i64() {
        let _ = writeln!(
            html,
            "<p class=\"limit\">Limited: at most {limit} per order.</p>"
        );
    }
    let _ = write!(
        html,
        "<p class=\"description\">{}</p>\n<p class=\"tags\">{}</p>\n</div>\n</article>",
        esc(text(p, "description")),
        p["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|t| format!("<span class=\"tag\">{}</span>", esc(t)))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let _ = write!(
        html,
        "\n<script type=\"application/ld+json\">{}</script>",
        script_json(&structured_data(p))
    );
    html
}

/// The product as schema.org `Product` data for search engines: one offer
/// per priced variant, with its availability.
pub fn structured_data(p: &Value) -> Value {
    let offers: Vec<Value> = p["variants"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let amount = v["price"]["amount"].as_i64()?;
            let currency = v["price"]["currency"].as_str()?;
            // A decimal string from integer minor units (no float touches money).
            let units = minor_units(currency);
            let scale = 10i64.pow(units);
            let price = if units == 0 {
                amount.to_string()
            } else {
                format!(
                    "{}.{:0width$}",
                    amount / scale,
                    amount % scale,
                    width = units as usize
                )
            };
            let available = v["available"].as_i64().unwrap_or(0) > 0;
            Some(serde_json::json!({
                "@type": "Offer",
                "sku": v["sku"],
                "name": v["name"],
                "price": price,
                "priceCurrency": currency,
                "availability": if available { "https://schema.org/InStock" } else { "https://schema.org/OutOfStock" },
            }))
        })
        .collect();
    serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": p["name"],
        "description": p["description"],
        "image": p["images"].as_array().and_then(|i| i.first()).map(|i| i["url"].clone()),
        "category": p["category"]["name"],
        "offers": offers,
    })
}

/// A page for an address that has nothing, or that could not be served.
pub fn error_page(status: u16, detail: &str) -> String {
    let heading = match status {
        404 => "We could not find that page",
        400 => "That request did not make sense",
        _ => "The shop could not answer just now",
    };
    format!(
        "<section class=\"error-page\"><h1>{}</h1><p>{}</p><p><a class=\"button\" href=\"/\">Back to the shop</a> \
<a class=\"button\" href=\"\">Try again</a></p></section>",
        esc(heading),
        esc(detail)
    )
}

/// The shell of a page its module draws from the API (cart, checkout,
/// order): a heading and a place to draw, plus what shows without
/// JavaScript.
pub fn shell(heading: &str, id: &str) -> String {
    format!(
        "<h1>{}</h1>\n<div id=\"{}\" class=\"app\" aria-live=\"polite\"><p class=\"loading\">Loading…</p></div>\n\
<noscript><p>This page needs JavaScript: it talks to the shop's API from your browser.</p></noscript>",
        esc(heading),
        esc(id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_markup_and_script_breakouts() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let s = script_json(&json!({"name": "</script><script>alert(1)</script>"}));
        assert!(!s.contains("</script>"));
        assert_eq!(
            serde_json::from_str::<Value>(&s).unwrap()["name"],
            "</script><script>alert(1)</script>"
        );
        assert_eq!(url_component("a b&c/ü"), "a%20b%26c%2F%C3%BC");
    }

    #[test]
    fn formats_money_like_the_browser() {
        assert_eq!(money(1899, "USD", 2), "$18.99");
        assert_eq!(money(123_456_789, "USD", 2), "$1,234,567.89");
        assert_eq!(money(5, "EUR", 2), "€0.05");
        assert_eq!(money(-1050, "EUR", 2), "-€10.50");
        assert_eq!(money(100_000, "USD", 2), "$1,000.00");
        assert_eq!(money(1500, "JPY", 0), "¥1,500");
    }

    #[test]
    fn listing_state_round_trips_through_its_address() {
        let s = ListingState {
            q: "blue mug".into(),
            category: "kitchen".into(),
            min_price: Some(1000),
            max_price: None,
            in_stock: true,
            sort: "price_asc".into(),
        };
        assert_eq!(
            s.href(Some("c1")),
            "/products?q=blue%20mug&category=kitchen&price=1000-&in_stock=true&sort=price_asc&cursor=c1"
        );
        assert_eq!(ListingState::default().href(None), "/products");
        assert_eq!(parse_band("1000-"), Some((1000, None)));
        assert_eq!(parse_band("0-2500"), Some((0, Some(2500))));
        assert_eq!(parse_band("3000-2500"), None);
        assert_eq!(parse_band("x-1"), None);
        assert_eq!(parse_band("100"), None);
    }

    fn item(name: &str, in_stock: bool) -> Value {
        json!({
            "slug": "blue-mug", "name": name, "in_stock": in_stock,
            "image": {"url": "/img/kitchen.svg", "alt": name},
            "price": {"amount": 1899, "currency": "USD"},
            "price_max": {"amount": 2399, "currency": "USD"},
        })
    }

    #[test]
    fn cards_are_escaped_and_show_from_prices_and_sold_out() {
        let html = card(&item("Mug <b>", false));
        assert!(html.contains("href=\"/products/blue-mug\""));
        assert!(html.contains("alt=\"Mug &lt;b&gt;\""));
        assert!(html.contains(">Mug &lt;b&gt;</span>"));
        assert!(html.contains("from $18.99"));
        assert!(html.contains("Sold out"));
        assert!(!card(&item("Mug", true)).contains("Sold out"));
    }

    #[test]
    fn listing_renders_cards_facets_and_the_next_page_link() {
        let list = json!({
            "items": [item("Mug", true)], "total": 31, "currency": "USD",
            "facets": {
                "categories": [{"slug": "kitchen", "name": "Kitchen", "count": 31}],
                "price_bands": [{"min_price": 0, "max_price": 2500, "count": 20},
                                 {"min_price": 2500, "max_price": null, "count": 11}],
            },
            "next_cursor": "abc",
        });
        let state = ListingState {
            q: "mug".into(),
            min_price: Some(2500),
            ..Default::default()
        };
        let html = listing(&state, &list, &json!({"items": []}));
        assert!(html.contains("Results for “mug”"));
        assert!(html.contains("31 products"));
        assert!(html.contains("value=\"kitchen\"> Kitchen <span class=\"count\">(31)</span>"));
        assert!(html.contains("value=\"2500-\" checked> $25.00 and up"));
        assert!(html.contains("$0.00 – $25.00"));
        assert!(html.contains("href=\"/products?q=mug&amp;price=2500-&amp;cursor=abc\""));
        assert_eq!(html.matches("class=\"card\"").count(), 1);
    }

    #[test]
    fn product_page_preselects_an_available_variant() {
        let p = json!({
            "name": "Kettle", "description": "Boils.", "tags": ["steel"],
            "category": {"slug": "kitchen", "name": "Kitchen"},
            "images": [{"url": "/img/kitchen.svg", "alt": "A kettle"}],
            "max_per_order": 3,
            "variants": [
                {"sku": "K-1", "name": "Small", "options": {"size": "Small"},
                 "price": {"amount": 2000, "currency": "EUR"}, "available": 0},
                {"sku": "K-2", "name": "Large", "options": {"size": "Large"},
                 "price": {"amount": 2500, "currency": "EUR"}, "available": 2},
            ],
        });
        let html = product(&p, None);
        assert!(html.contains("<h1>Kettle</h1>"));
        assert!(!html.contains("price-points"), "no programme, no points");
        assert!(html.contains("<legend>Size</legend>"));
        assert!(html.contains("value=\"K-2\" checked"));
        assert!(html.contains("id=\"price\">€25.00"));
        assert!(html.contains("Only 2 left"));
        assert!(html.contains("Sold out"));
        assert!(html.contains("at most 3 per order"));
        assert!(html.contains("alt=\"A kettle\""));
        let data = structured_data(&p);
        assert_eq!(data["offers"][1]["price"], "25.00");
        assert_eq!(data["offers"][1]["priceCurrency"], "EUR");
        assert_eq!(
            data["offers"][0]["availability"],
            "https://schema.org/OutOfStock"
        );
        assert_eq!(
            data["offers"][1]["availability"],
            "https://schema.org/InStock"
        );
        assert!(html.contains("<script type=\"application/ld+json\">"));
    }

    #[test]
    fn documents_embed_their_data_safely() {
        let data = json!({"x": "</script>"});
        let html = document(
            &Layout {
                title: "Mugs",
                description: "d",
                script: "listing",
                currency: "EUR",
                currencies: &["USD".into(), "EUR".into()],
                query: "\"mug\"",
                canonical: Some("/products?q=mug"),
                data: Some(&data),
                skin: &skin(),
                store: "default",
                points: None,
            },
            "<p>hi</p>",
        );
        assert!(html.contains("<title>Mugs · Edgecart demo shop</title>"));
        assert!(html.contains("<option selected>EUR</option>"));
        assert!(html.contains("value=\"&quot;mug&quot;\""));
        assert!(html.contains("src=\"/js/listing.js\""));
        assert_eq!(html.matches("</script>").count(), 2);
        assert!(
            !html.contains("skin.css"),
            "no colour tokens, no stylesheet for them"
        );
    }

    #[test]
    fn a_store_with_points_shows_prices_in_points_and_the_member_place() {
        let p = json!({
            "name": "Kettle", "description": "", "tags": [],
            "variants": [
                {"sku": "K-1", "name": "Small", "options": {"size": "Small"},
                 "price": {"amount": 2000, "currency": "GBP"}, "price_points": 200000, "available": 3},
                {"sku": "K-2", "name": "Large", "options": {"size": "Large"},
                 "price": {"amount": 2500, "currency": "GBP"}, "available": 3},
            ],
        });
        let html = product(&p, Some("miles"));
        assert!(html.contains("<p class=\"price-points\" id=\"price-points\">or 200,000 miles</p>"));
        // The chosen variant has no price in points: the place is kept, hidden.
        let mut other = p.clone();
        other["variants"][0]["price_points"] = Value::Null;
        assert!(product(&other, Some("miles"))
            .contains("<p class=\"price-points\" id=\"price-points\" hidden></p>"));
        assert_eq!(points(1_234_567, "points"), "1,234,567 points");
        assert_eq!(points(0, "points"), "0 points");
        assert_eq!(points(-50, "points"), "-50 points");

        let skin = skin();
        let mut layout = Layout {
            title: "",
            description: "",
            script: "home",
            currency: "GBP",
            currencies: &[],
            query: "",
            canonical: None,
            data: None,
            skin: &skin,
            store: "bank",
            points: Some("miles"),
        };
        let html = document(&layout, "");
        assert!(html.contains("<body data-currency=\"GBP\" data-points-unit=\"miles\">"));
        assert!(html.contains("<script type=\"module\" src=\"/js/member.js\"></script>"));
        assert!(html.contains("<div id=\"member\" class=\"member\""));
        layout.points = None;
        let html = document(&layout, "");
        assert!(!html.contains("member"));
        assert!(!html.contains("data-points-unit"));
    }

    fn skin() -> Skin {
        Skin {
            name: "Edgecart demo shop".into(),
            logo: None,
            colours: Default::default(),
            hero: String::new(),
            footer: String::new(),
        }
    }

    #[test]
    fn a_store_skin_names_colours_and_words_the_pages() {
        let skin = Skin {
            name: "Harbour <Bank>".into(),
            logo: Some("/img/harbour.svg".into()),
            colours: [("brand".to_string(), "#0b5fff".to_string())].into(),
            hero: "Spend your points".into(),
            footer: "Run by Harbour & Co.".into(),
        };
        let layout = Layout {
            title: "",
            description: "",
            script: "home",
            currency: "EUR",
            currencies: &[],
            query: "",
            canonical: None,
            data: None,
            skin: &skin,
            store: "bank",
            points: None,
        };
        let html = document(
            &layout,
            &home(&skin.hero, &json!({"items": []}), &json!({"items": []})),
        );
        assert!(html.contains("<title>Harbour &lt;Bank&gt;</title>"));
        assert!(html.contains("<link rel=\"stylesheet\" href=\"/skin.css?store=bank\">"));
        assert!(html.contains("<img class=\"logo\" src=\"/img/harbour.svg\""));
        assert!(html.contains("<h1>Spend your points</h1>"));
        assert!(html.contains("<p>Run by Harbour &amp; Co.</p>"));
        assert!(!html.contains("Edgecart demo shop: payments"));
    }
}
