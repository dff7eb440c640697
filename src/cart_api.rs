//! Cart endpoints: create a cart (id + secret token), read it, and add,
//! change or remove lines. Every line change holds stock at once through
//! the cart's object; prices, line totals and the subtotal always come from
//! the live catalog's price lists, and a client that sends a price or total
//! is refused.

use crate::catalog_api::Params;
use crate::catalog_store::CatalogStore;
use crate::http::{ApiError, ApiResponse, Result};
use crate::objects::ask;
pub use crate::objects::{cart_not_found as not_found, coupon_not_found};
use edgecart_domain::cart::{price_cart, Cart};
use edgecart_domain::money::{Currency, Money};
use edgecart_domain::pricing::{
    cart_lines, coupon_applies, quote_cart, shipping_options, AppliedPromotion, CouponRefusal,
    Destination, ListedSku, PricingError, PricingInput, Quote, ShippingOption,
};
use edgecart_domain::promotion::{normalize_code, PromotionRefusal};
use edgecart_domain::records::SkuPrices;
use edgecart_domain::search::Catalog;
use edgecart_domain::shipping::ShippingRefusal;
use edgecart_domain::store::StoreSnapshot;
use edgecart_durable_objects::protocol::cart::{self, LineChangeDto};
use edgecart_durable_objects::protocol::stock::StockLevels;
use edgecart_durable_objects::protocol::FieldProblem;
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;
use std::rc::Rc;
use worker::Env;

/// Body keys that would carry a client-computed price: always refused.
const PRICE_KEYS: &[&str] = &[
    "price",
    "prices",
    "unit_price",
    "amount",
    "total",
    "line_total",
    "subtotal",
    "grand_total",
    "discount",
    "discount_total",
    "tax",
    "tax_total",
    "shipping",
    "status",
];

/// A cart id: `crt_` and 24 lowercase hex digits.
pub fn is_cart_id(id: &str) -> bool {
    id.strip_prefix("crt_").is_some_and(|h| {
        h.len() == 24
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// A cart id of the right shape and some token, or 404 before anything
/// else is looked at (the token itself is checked by the cart).
pub fn require_credentials(id: &str, token: Option<&str>) -> Result<()> {
    if is_cart_id(id) && token.is_some_and(|t| !t.is_empty()) {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// Refuses bodies that carry prices or totals, then parses the input.
pub fn parse_line_body<T: for<'de> Deserialize<'de>>(body: &str) -> Result<T> {
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) {
        if let Some(key) = map.keys().find(|k| PRICE_KEYS.contains(&k.as_str())) {
            return Err(ApiError::Validation {
                errors: vec![FieldProblem {
                    field: Some(key.clone()),
                    code: "client_price_refused".into(),
                    message: "Prices and totals are computed by the server; do not send them."
                        .into(),
                }],
            });
        }
    }
    edgecart_domain::admin::parse_input(body).map_err(|e| ApiError::InvalidBody {
        code: e.code.into(),
        field: e.field,
        detail: e.message,
    })
}

/// `POST /v1/carts/{id}/coupons`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponInput {
    pub code: String,
}

/// Query parameters of `GET /v1/carts/{id}`: where the cart would ship.
pub const PRICING_PARAMS: &[&str] = &["country", "region", "shipping_method"];

/// The destination and shipping method a cart read names (both optional;
/// a method needs a country).
pub fn parse_pricing_params(params: &Params) -> Result<(Option<Destination>, Option<String>)> {
    let country = match params.get("country") {
        None => None,
        Some(c) => {
            let upper = c.to_ascii_uppercase();
            if !edgecart_domain::tax::is_country_code(&upper) {
                return Err(ApiError::invalid(
                    "country",
                    "invalid_country",
                    "country must be an ISO 3166-1 alpha-2 code such as US or DE.",
                ));
            }
            Some(upper)
        }
    };
    let region = match params.get("region") {
        None => None,
        Some(r) if r.len() <= 10 && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {
            Some(r.to_ascii_uppercase())
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "region",
                "invalid_region",
                "region must be up to 10 letters, digits or hyphens (CA, QC, BY).",
            ))
        }
    };
    let method = params.get("shipping_method").map(str::to_string);
    if method.is_some() && country.is_none() {
        return Err(ApiError::invalid(
            "country",
            "missing_destination",
            "A shipping method needs a destination country.",
        ));
    }
    if region.is_some() && country.is_none() {
        return Err(ApiError::invalid(
            "country",
            "missing_destination",
            "A region needs a country.",
        ));
    }
    Ok((
        country.map(|country| Destination { country, region }),
        method,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCartInput {
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddLineInput {
    pub sku: String,
    pub quantity: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetLineInput {
    pub quantity: i64,
}

/// Creates a cart priced in `currency` (already checked against the catalog).
pub async fn create(ctx: &CartContext<'_>, currency: Currency) -> Result<ApiResponse> {
    let env = ctx.env;
    let id = format!("crt_{}", crate::app::random_id());
    let token = format!("{}{}", crate::app::random_id(), crate::app::random_id());
    let command = cart::Create {
        id: id.clone(),
        token: token.clone(),
        currency,
    };
    let cart = ask(env, &id, command).await?;
    #[derive(Serialize)]
    struct Body {
        id: String,
        token: String,
        cart: Box<RawValue>,
    }
    let view = render(ctx, &cart, &[]).await?;
    let mut r = ApiResponse::json(&Body {
        id,
        token,
        cart: view,
    });
    r.status = 201;
    Ok(r)
}

/// Reads a cart with the token; a wrong token is a 404.
pub async fn get(env: &Env, id: &str, token: Option<String>) -> Result<Cart> {
    let token = token.filter(|_| is_cart_id(id)).ok_or_else(not_found)?;
    ask(env, id, cart::Get { token }).await
}

/// Changes a line of cart `id` (opened by `token`) and answers the cart as
/// it is now: one round trip to the cart, which holds the stock itself.
#[allow(clippy::too_many_arguments)]
pub async fn change_line(
    ctx: &CartContext<'_>,
    id: &str,
    token: Option<String>,
    op_id: String,
    sku: &str,
    change: LineChangeDto,
    hold_ttl_ms: i64,
) -> Result<ApiResponse> {
    let (env, catalog, store) = (ctx.env, ctx.catalog, ctx.store);
    let token = token.filter(|_| is_cart_id(id)).ok_or_else(not_found)?;
    let prices = store.sku_prices(catalog, sku).await?;
    let command = cart::ChangeLine {
        token,
        op_id,
        sku: sku.to_string(),
        change,
        max_per_order: prices.as_ref().and_then(|p| p.max_per_order),
        prices: prices.map(|p| p.prices),
        hold_ttl_ms,
    };
    let changed = ask(env, id, command).await?;
    Ok(ApiResponse::json(
        &render(ctx, &changed.cart, &changed.levels).await?,
    ))
}

/// What the cart routes work with.
pub struct CartContext<'a> {
    pub env: &'a Env,
    pub catalog: &'a Catalog,
    pub store: &'a CatalogStore<'a>,
    pub pricing: Pricing,
}

/// Adds (`add`) or removes (`remove`, or all when both are `None`) a
/// coupon of cart `id`. A code no promotion has is 404 `coupon_not_found`;
/// one whose promotion does not apply to the cart now is 422
/// `coupon_not_applicable` with the reason; the cart is then unchanged.
pub async fn change_coupons(
    ctx: &CartContext<'_>,
    id: &str,
    token: Option<String>,
    add: Option<String>,
    remove: Option<String>,
) -> Result<ApiResponse> {
    let token = token.filter(|_| is_cart_id(id)).ok_or_else(not_found)?;
    let add = add.map(|code| normalize_code(&code));
    if let Some(code) = &add {
        // The token is checked first: codes cannot be probed without a cart.
        let cart = get(ctx.env, id, Some(token.clone())).await?;
        check_coupon(ctx, &cart, code).await?;
    }
    let remove = remove.map(|code| normalize_code(&code));
    let cart = ask(ctx.env, id, cart::Coupon { token, add, remove }).await?;
    Ok(ApiResponse::json(&render(ctx, &cart, &[]).await?))
}

/// Whether coupon `code` may go on `cart` now, as the domain decides it
/// ([`coupon_applies`], with the store's published promotions): a code no
/// promotion has is 404, one whose promotion does not apply is 422 with
/// the reason. A cart that cannot take another coupon is left to the
/// cart's object, which refuses it (422 `too_many_coupons`).
async fn check_coupon(ctx: &CartContext<'_>, cart: &Cart, code: &str) -> Result<()> {
    let mut with = cart.clone();
    let fits = with.add_coupon(code, ctx.pricing.now_ms).is_ok();
    if !fits {
        with.coupons.push(code.to_string());
    }
    // Only a coupon the cart can take is priced.
    let listed = if fits {
        listed_skus(&line_prices(ctx, cart).await?, ctx.catalog)
    } else {
        BTreeMap::new()
    };
    let store = &ctx.pricing.store;
    let (promotions, _) = StoreSnapshot::candidates(&store.promotions, &with.coupons, |_| (0, 0));
    let input = PricingInput {
        currency: cart.currency,
        lines: cart_lines(&with, &listed),
        promotions,
        tax: store.config.tax.clone(),
        shipping_method: None,
        destination: None,
        now_ms: ctx.pricing.now_ms,
    };
    match coupon_applies(&input, code).map_err(pricing_error)? {
        Ok(()) => Ok(()),
        Err(CouponRefusal::Unknown) => Err(coupon_not_found()),
        Err(CouponRefusal::NotApplicable { .. }) if !fits => Ok(()),
        Err(CouponRefusal::NotApplicable { reason }) => Err(ApiError::Validation {
            errors: vec![FieldProblem {
                field: Some("code".into()),
                code: "coupon_not_applicable".into(),
                message: format!(
                    "This coupon does not apply to the cart now ({}).",
                    reason.code()
                ),
            }],
        }),
    }
}

/// How a cart is priced for display: the store's published copy, where it
/// would ship (optional), and the request's clock reading.
pub struct Pricing {
    pub store: Rc<StoreSnapshot>,
    pub destination: Option<Destination>,
    pub shipping_method: Option<String>,
    pub now_ms: i64,
}

/// A coupon on the cart and whether it applies now.
#[derive(Debug, Serialize)]
pub struct CouponView {
    pub code: String,
    /// `applied`, `not_applicable` or `unknown` (no promotion has it now).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<PromotionRefusal>,
}

/// The price lists of the cart's SKUs in the live catalog (SKUs no longer
/// in it are absent).
pub async fn line_prices(
    ctx: &CartContext<'_>,
    cart: &Cart,
) -> Result<BTreeMap<String, SkuPrices>> {
    let mut found = BTreeMap::new();
    for line in &cart.lines {
        if let Some(p) = ctx.store.sku_prices(ctx.catalog, &line.sku).await? {
            found.insert(line.sku.clone(), p);
        }
    }
    Ok(found)
}

/// What the live catalog says of the SKUs in `found`: their price lists
/// and their product's category (category promotions target it).
pub fn listed_skus(
    found: &BTreeMap<String, SkuPrices>,
    catalog: &Catalog,
) -> BTreeMap<String, ListedSku> {
    found
        .iter()
        .map(|(sku, p)| {
            let category = catalog
                .find(&p.product)
                .and_then(|listing| catalog.category_of(listing))
                .map(|c| c.slug.clone())
                .unwrap_or_default();
            (
                sku.clone(),
                ListedSku {
                    prices: p.prices.clone(),
                    category,
                },
            )
        })
        .collect()
}

/// The quote of `cart` (its priced lines only) and its coupons' status.
/// Pure: every input is passed in.
pub fn quote_cart_view(
    cart: &Cart,
    found: &BTreeMap<String, SkuPrices>,
    catalog: &Catalog,
    pricing: &Pricing,
) -> Result<(Quote, Vec<CouponView>)> {
    let lines = cart_lines(cart, &listed_skus(found, catalog));
    let (promotions, unknown) =
        StoreSnapshot::candidates(&pricing.store.promotions, &cart.coupons, |_| (0, 0));
    let method = match &pricing.shipping_method {
        None => None,
        Some(id) => Some(
            pricing
                .store
                .config
                .shipping_method(id)
                .cloned()
                .ok_or_else(|| {
                    ApiError::invalid(
                        "shipping_method",
                        "unknown_shipping_method",
                        "The store has no shipping method with this id.",
                    )
                })?,
        ),
    };
    let input = PricingInput {
        currency: cart.currency,
        lines,
        promotions,
        tax: pricing.store.config.tax.clone(),
        shipping_method: method,
        destination: pricing.destination.clone(),
        now_ms: pricing.now_ms,
    };
    let quote = quote_cart(&input).map_err(pricing_error)?;
    let coupons = cart
        .coupons
        .iter()
        .map(|code| {
            let refused = quote.refused_coupons.iter().find(|r| &r.code == code);
            CouponView {
                code: code.clone(),
                status: if unknown.contains(code) {
                    "unknown"
                } else if refused.is_some() {
                    "not_applicable"
                } else {
                    "applied"
                },
                reason: refused.map(|r| r.refusal.clone()),
            }
        })
        .collect();
    Ok((quote, coupons))
}

/// Maps a pricing refusal to the parameter that caused it.
pub fn pricing_error(e: PricingError) -> ApiError {
    match e {
        PricingError::MissingDestination => ApiError::invalid(
            "country",
            "missing_destination",
            "A shipping method needs a destination country.",
        ),
        PricingError::Shipping { refusal } => ApiError::Validation {
            errors: vec![FieldProblem {
                field: Some("shipping_method".into()),
                code: "shipping_not_available".into(),
                message: match refusal {
                    ShippingRefusal::NotToCountry => {
                        "This method does not ship to that country.".into()
                    }
                    ShippingRefusal::NotInCurrency => {
                        "This method has no rate in the cart's currency.".into()
                    }
                },
            }],
        },
        PricingError::InvalidLine { index } => ApiError::StorageUnavailable {
            cause: format!("cart line {index} is outside the pricing limits"),
        },
    }
}

/// The cart as the API shows it: server prices, discounts, shipping (and
/// the shipping options for its destination), tax and totals, exact
/// availability.
pub async fn render(
    ctx: &CartContext<'_>,
    cart: &Cart,
    known: &[(String, StockLevels)],
) -> Result<Box<RawValue>> {
    let (env, catalog, pricing) = (ctx.env, ctx.catalog, &ctx.pricing);
    let found = line_prices(ctx, cart).await?;
    let price_lists: BTreeMap<String, BTreeMap<Currency, i64>> = found
        .iter()
        .map(|(sku, p)| (sku.clone(), p.prices.clone()))
        .collect();
    let totals = price_cart(cart, &price_lists);
    let (quote, coupons) = quote_cart_view(cart, &found, catalog, pricing)?;
    #[derive(Serialize)]
    struct ProductRef<'a> {
        id: &'a str,
        slug: &'a str,
        name: &'a str,
    }
    #[derive(Serialize)]
    struct Line<'a> {
        sku: &'a str,
        product: Option<ProductRef<'a>>,
        quantity: i64,
        unit_price: Option<Money>,
        /// unit_price × quantity, before discounts.
        line_total: Option<Money>,
        /// Promotions' share of this line.
        discount: Option<Money>,
        /// Tax of this line (contained or added, see `prices_include_tax`).
        tax: Option<Money>,
        /// Units of this SKU anyone could still add (exact, now).
        available: i64,
        max_per_order: Option<i64>,
    }
    // Exact availability of every line: the levels the cart object just
    // saw, and one read per other SKU, all at once.
    let levels = join_all(totals.lines.iter().map(|l| async move {
        match known.iter().find(|(sku, _)| *sku == l.sku) {
            Some((_, levels)) => Ok(*levels),
            None => crate::inventory_api::levels(env, &l.sku).await,
        }
    }))
    .await;
    let mut lines = Vec::with_capacity(totals.lines.len());
    for (l, levels) in totals.lines.iter().zip(levels) {
        let levels = levels?;
        let sku_prices = found.get(&l.sku);
        let quoted = quote.lines.iter().find(|q| q.sku == l.sku);
        lines.push(Line {
            sku: &l.sku,
            product: sku_prices
                .and_then(|p| catalog.find(&p.product))
                .map(|p| ProductRef {
                    id: &p.id,
                    slug: &p.slug,
                    name: &p.name,
                }),
            quantity: l.quantity,
            unit_price: l.unit_price,
            line_total: l.line_total,
            discount: quoted.map(|q| q.discount),
            tax: quoted.map(|q| q.tax),
            available: levels.available,
            max_per_order: sku_prices.and_then(|p| p.max_per_order),
        });
    }
    #[derive(Serialize)]
    struct View<'a> {
        id: &'a str,
        currency: Currency,
        lines: Vec<Line<'a>>,
        item_count: i64,
        subtotal: Money,
        coupons: Vec<CouponView>,
        discounts: &'a [AppliedPromotion],
        discount_total: Money,
        shipping_method: Option<&'a str>,
        destination: Option<&'a Destination>,
        /// The methods that can ship this cart to `destination`, priced.
        shipping_options: Vec<ShippingOption>,
        shipping: Money,
        prices_include_tax: bool,
        tax_total: Money,
        grand_total: Money,
        all_priced: bool,
        holds_expire_at: Option<String>,
    }
    let view = View {
        id: &cart.id,
        currency: cart.currency,
        lines,
        item_count: totals.item_count,
        subtotal: totals.subtotal,
        coupons,
        discounts: &quote.applied,
        discount_total: quote.discount_total,
        shipping_method: pricing.shipping_method.as_deref(),
        destination: pricing.destination.as_ref(),
        shipping_options: shipping_options(
            &pricing.store.config.shipping_methods,
            pricing.destination.as_ref(),
            &quote,
        ),
        shipping: quote.shipping,
        prices_include_tax: quote.prices_include_tax,
        tax_total: quote.tax_total,
        grand_total: quote.grand_total,
        all_priced: totals.all_priced,
        holds_expire_at: cart.holds_expire_at_ms.and_then(|ms| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        }),
    };
    serde_json::to_string(&view)
        .and_then(RawValue::from_string)
        .map_err(|e| ApiError::StorageUnavailable {
            cause: format!("rendering cart: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cart_ids_have_one_shape() {
        assert!(is_cart_id("crt_0123456789abcdef01234567"));
        for bad in [
            "crt_",
            "crt_0123456789ABCDEF01234567",
            "prd_0123456789abcdef01234567",
            "crt_0123",
        ] {
            assert!(!is_cart_id(bad), "{bad}");
        }
    }

    #[test]
    fn client_prices_are_refused_before_anything_else() {
        let e = parse_line_body::<AddLineInput>(r#"{"sku":"A","quantity":1,"unit_price":1}"#)
            .unwrap_err();
        assert_eq!((e.status(), e.code()), (422, "validation_failed"));
        let e = parse_line_body::<AddLineInput>(r#"{"sku":"A","quantity":1,"colour":"red"}"#)
            .unwrap_err();
        assert_eq!((e.status(), e.code()), (400, "unknown_field"));
        assert!(parse_line_body::<AddLineInput>(r#"{"sku":"A","quantity":2}"#).is_ok());
    }
}
