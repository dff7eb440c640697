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
use edgecart_domain::search::{Catalog, Selected};
use edgecart_domain::shipping::ShippingRefusal;
use edgecart_domain::store::StoreSnapshot;
use edgecart_domain::stores::{object_name, StoreProfile};
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

/// The body of `POST /v1/carts/{id}/coupons`. Unknown fields are refused (400
/// `unknown_field`), a missing `code` is 400 `missing_field` and a non-string
/// one 400 `invalid_type`. A price or total key is refused first (422
/// `client_price_refused`).
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "AddCouponInput", extend("examples" = [{"code": "save10"}])))]
#[serde(deny_unknown_fields)]
pub struct CouponInput {
    /// The coupon code as the shopper entered it: case-insensitive and trimmed,
    /// then stored uppercase (`save10` is `SAVE10`).
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["save10"])))]
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

/// The optional body of `POST /v1/carts`. Unknown fields are refused (400
/// `unknown_field`); a price or total key (`price`, `prices`, `unit_price`,
/// `amount`, `total`, `line_total`, `subtotal`, `grand_total`, `discount`,
/// `discount_total`, `tax`, `tax_total`, `shipping`, `status`) is refused
/// first, with 422 `client_price_refused`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"currency": "EUR"}])))]
#[serde(deny_unknown_fields)]
pub struct CreateCartInput {
    /// The cart's currency, a three-letter ISO 4217 code, case-insensitive
    /// (`eur` is `EUR`). It must be a currency the shop knows and one this
    /// catalog is priced in, else 400 `unknown_currency` (`param: currency`); a
    /// non-string is 400 `invalid_type`. Absent, null or empty: the store's
    /// default currency (USD unless configured otherwise) if the catalog is
    /// priced in it, else the first currency of the catalog's price lists, as
    /// for the `currency` query parameter. Fixed for the cart's life.
    #[cfg_attr(feature = "openapi", schemars(regex(pattern = r"^([A-Za-z]{3})?$"), extend("examples" = ["EUR"])))]
    #[serde(default)]
    pub currency: Option<String>,
}

/// The body of `POST /v1/carts/{id}/lines`. Unknown fields are refused (400
/// `unknown_field`), a missing one is 400 `missing_field` and a wrong JSON type
/// (e.g. a fractional or string `quantity`) 400 `invalid_type`, each naming the
/// field. A price or total key (`price`, `prices`, `unit_price`, `amount`,
/// `total`, `line_total`, `subtotal`, `grand_total`, `discount`,
/// `discount_total`, `tax`, `tax_total`, `shipping`, `status`) is refused
/// before anything else with 422 `client_price_refused`: prices come from the
/// catalog.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "AddCartLineInput", extend("examples" = [{"sku": "KTL-1-STEEL", "quantity": 2}])))]
#[serde(deny_unknown_fields)]
pub struct AddLineInput {
    /// The variant to add: a SKU of the live catalog (else 404 `sku_not_found`)
    /// with a price in the cart's currency (else 422 `not_sold_in_currency`). A
    /// new SKU beyond the cart's 50th is 422 `too_many_lines`.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["KTL-1-STEEL"])))]
    pub sku: String,
    /// Units to add, at least 1 (else 422 `invalid_quantity`). The line after
    /// adding may hold at most 99 units, or the product's `max_per_order` (else
    /// 422 `quantity_limit`).
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 99), extend("format" = "int64"), extend("examples" = [2])))]
    pub quantity: i64,
}

/// The body of `PATCH /v1/carts/{id}/lines/{sku}`. Unknown fields are refused
/// (400 `unknown_field`), a missing `quantity` is 400 `missing_field` and a
/// wrong JSON type 400 `invalid_type`. A price or total key (`price`, `prices`,
/// `unit_price`, `amount`, `total`, `line_total`, `subtotal`, `grand_total`,
/// `discount`, `discount_total`, `tax`, `tax_total`, `shipping`, `status`) is
/// refused before anything else with 422 `client_price_refused`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "SetCartLineInput", extend("examples" = [{"quantity": 3}])))]
#[serde(deny_unknown_fields)]
pub struct SetLineInput {
    /// The line's new number of units; 0 removes the line. Negative is 422
    /// `invalid_quantity`; more than 99, or than the product's `max_per_order`,
    /// is 422 `quantity_limit`.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = 99), extend("format" = "int64"), extend("examples" = [3])))]
    pub quantity: i64,
}

/// A new cart: its id, its secret token (shown only this once) and the cart
/// itself.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CreateCartResult {
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::CartId")
    )]
    id: String,
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::CartToken")
    )]
    token: String,
    #[cfg_attr(feature = "openapi", schemars(with = "CartView<'static>"))]
    cart: Box<RawValue>,
}

/// Creates a cart priced in `currency` (already checked against the catalog).
pub async fn create(ctx: &CartContext<'_>, currency: Currency) -> Result<ApiResponse> {
    let env = ctx.env;
    let id = format!("crt_{}", crate::app::random_id()?);
    let token = format!("{}{}", crate::app::random_id()?, crate::app::random_id()?);
    let command = cart::Create {
        id: id.clone(),
        token: token.clone(),
        currency,
    };
    let cart = ask(env, &object_name(&ctx.shop.id, &id), command).await?;
    let view = render(ctx, &cart, &[]).await?;
    let mut r = ApiResponse::json(&CreateCartResult {
        id,
        token,
        cart: view,
    });
    r.status = 201;
    Ok(r)
}

/// Reads cart `id` of `store` with the token; a wrong token, or a cart of
/// another store, is a 404.
pub async fn get(env: &Env, store: &str, id: &str, token: Option<String>) -> Result<Cart> {
    let token = token.filter(|_| is_cart_id(id)).ok_or_else(not_found)?;
    ask(env, &object_name(store, id), cart::Get { token }).await
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
    client: &str,
) -> Result<ApiResponse> {
    let (env, catalog, store) = (ctx.env, ctx.catalog, ctx.store);
    let token = token.filter(|_| is_cart_id(id)).ok_or_else(not_found)?;
    // A SKU of a product the store does not sell is not for sale here.
    let prices = sold_here(ctx, sku, store.sku_prices(catalog, sku).await?);
    let command = cart::ChangeLine {
        token,
        op_id,
        sku: sku.to_string(),
        change,
        max_per_order: prices.as_ref().and_then(|p| p.max_per_order),
        prices: prices.map(|p| p.prices),
        hold_ttl_ms,
        // The store's hold policy, from its published copy.
        holds: Some(cart::HoldTerms {
            holder: client.to_string(),
            per_client: ctx.pricing.store.config.holds.per_client,
            lifetime_ms: ctx.pricing.store.config.holds.lifetime_ms(),
        }),
    };
    let changed = ask(env, &object_name(&ctx.shop.id, id), command).await?;
    for (sku, levels) in &changed.levels {
        crate::stock_cache::wrote(sku, *levels, ctx.pricing.now_ms);
    }
    Ok(ApiResponse::json(
        &render(ctx, &changed.cart, &changed.levels).await?,
    ))
}

/// What the cart routes work with.
pub struct CartContext<'a> {
    pub env: &'a Env,
    /// The store the request resolved to: its carts are objects named
    /// under it (`stores::object_name`).
    pub shop: &'a StoreProfile,
    pub catalog: &'a Catalog,
    /// What the store makes of the catalog: what it sells, at which prices.
    pub selected: &'a Selected,
    pub store: &'a CatalogStore<'a>,
    pub pricing: Pricing,
}

/// Adds (`add`) or removes (`remove`, or all when both are `None`) a
/// coupon of cart `id`. A code that cannot go on the cart now, whether no
/// promotion has it or its promotion does not apply, is one and the same
/// 422 `coupon_not_applicable` ([`coupon_refused`]): codes cannot be told
/// apart by probing. The cart is then unchanged.
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
        let cart = get(ctx.env, &ctx.shop.id, id, Some(token.clone())).await?;
        check_coupon(ctx, &cart, code).await?;
    }
    let remove = remove.map(|code| normalize_code(&code));
    let name = object_name(&ctx.shop.id, id);
    let cart = ask(ctx.env, &name, cart::Coupon { token, add, remove }).await?;
    Ok(ApiResponse::json(&render(ctx, &cart, &[]).await?))
}

/// Whether coupon `code` may go on `cart` now, as the domain decides it
/// ([`coupon_applies`], with the store's published promotions): any code
/// that cannot is [`coupon_refused`], whatever the reason. A cart that
/// cannot take another coupon is left to the cart's object, which refuses
/// any code alike (422 `too_many_coupons`).
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
        Err(_) if !fits => Ok(()),
        Err(CouponRefusal::Unknown | CouponRefusal::NotApplicable { .. }) => Err(coupon_refused()),
    }
}

/// The one answer to a coupon code that cannot go on a cart: the same for a
/// code no promotion has and for one whose promotion is inactive, not
/// started, ended or does not fit the cart, so a card or coupon tester
/// learns nothing from it. (Once a code is on a cart, its `status` and
/// `reason` are shown: only a code that applied once gets there.)
pub fn coupon_refused() -> ApiError {
    ApiError::Validation {
        errors: vec![FieldProblem {
            field: Some("code".into()),
            code: "coupon_not_applicable".into(),
            message: "This code cannot be applied to this cart.".into(),
        }],
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

/// A coupon code the cart carries and whether it applies to the cart now
/// (re-evaluated at every response).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "CartCoupon", extend("examples" = [{"code": "BIGSPENDER", "status": "not_applicable", "reason": {"reason": "below_minimum", "min": {"amount": 10000, "currency": "USD"}}}])))]
pub struct CouponView {
    /// The code as stored on the cart: trimmed and uppercase.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["SAVE10"])))]
    pub code: String,
    /// `applied`: its promotion took something off (see `discounts`).
    /// `not_applicable`: its promotion does not apply to the cart now; `reason`
    /// says why. `unknown`: no promotion has this code now (it was deleted or
    /// its code changed since it was added).
    #[cfg_attr(feature = "openapi", schemars(extend("enum" = ["applied", "not_applicable", "unknown"])))]
    pub status: &'static str,
    /// Why it does not apply. Present only when `status` is `not_applicable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<PromotionRefusal>,
}

/// The price lists of the cart's SKUs in the live catalog (SKUs no longer
/// in it, or of products the store does not sell, are absent).
pub async fn line_prices(
    ctx: &CartContext<'_>,
    cart: &Cart,
) -> Result<BTreeMap<String, SkuPrices>> {
    let mut found = BTreeMap::new();
    for line in &cart.lines {
        if let Some(p) = sold_here(
            ctx,
            &line.sku,
            ctx.store.sku_prices(ctx.catalog, &line.sku).await?,
        ) {
            found.insert(line.sku.clone(), p);
        }
    }
    Ok(found)
}

/// A SKU's base price list as this store charges it (its own prices in
/// place of the base ones), if the store sells its product (its
/// selection). Carts and checkout price from this alone.
fn sold_here(ctx: &CartContext<'_>, sku: &str, prices: Option<SkuPrices>) -> Option<SkuPrices> {
    let selected = ctx.selected;
    prices
        .filter(|p| ctx.catalog.find_selected(&p.product, selected).is_some())
        .map(|p| SkuPrices {
            prices: ctx
                .catalog
                .sku_prices_in(selected, &p.product, sku, &p.prices),
            ..p
        })
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

/// The product a cart line's SKU belongs to, from the live catalog.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CartProductRef<'a> {
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::ProductId")
    )]
    id: &'a str,
    #[cfg_attr(feature = "openapi", schemars(with = "edgecart_domain::openapi::Slug"))]
    slug: &'a str,
    /// Display name.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["Stovetop Kettle"])))]
    name: &'a str,
}

/// One line of a cart: units of one SKU, priced from the live catalog in the
/// cart's currency.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CartLine<'a> {
    /// The line's SKU.
    #[cfg_attr(feature = "openapi", schemars(with = "edgecart_domain::openapi::Sku"))]
    sku: &'a str,
    /// The product the SKU belongs to, or null when the SKU is no longer in the
    /// live catalog (the line can then only be lowered or removed).
    product: Option<CartProductRef<'a>>,
    /// Units in the line.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 99), extend("format" = "int64"), extend("examples" = [2])))]
    quantity: i64,
    /// The SKU's current price in the cart's currency, from the live catalog's
    /// price lists; null when it has no price in that currency any more, or has
    /// left the catalog.
    unit_price: Option<Money>,
    /// `unit_price` × `quantity`, before discounts and tax; null when
    /// `unit_price` is null.
    line_total: Option<Money>,
    /// The promotions' share of this line (0 when none applies), in the cart's
    /// currency; null when the line has no price in the cart's currency.
    discount: Option<Money>,
    /// This line's tax, computed on the line total after its discount at the
    /// destination's rate and rounded half to even on minor units: added on top
    /// when `prices_include_tax` is false, the part the amount already contains
    /// when it is true. 0 without a destination; null when the line has no
    /// price in the cart's currency.
    tax: Option<Money>,
    /// Units of this SKU that anyone could still add, exact at response time:
    /// read from the SKU's stock object, as `GET /v1/inventory/{sku}` reads
    /// them. The units this cart holds are not included; for a line whose hold
    /// lapsed and could not be taken again, this is what the line could get
    /// back.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = 1000000000_i64), extend("format" = "int64"), extend("examples" = [5])))]
    available: i64,
    /// The product's limit on units per cart, or null when it sets none (the
    /// line limit of 99 applies) or the SKU has left the catalog.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 99), extend("examples" = [3])))]
    max_per_order: Option<i64>,
}

/// A cart as the API shows it. Prices, line totals, discounts, shipping, tax
/// and totals are computed at each request from the live catalog's price lists
/// in the cart's currency and the store's published configuration and
/// promotions (never sent by the client), and each line's `available` is read
/// from the SKU's stock object at that moment. Only `GET /v1/carts/{id}` takes
/// a destination (`country`, `region`) and a `shipping_method`; every other
/// cart route answers the cart without them: no tax, no shipping, `destination`
/// and `shipping_method` null, `shipping_options` empty. With a `country`,
/// `shipping_options` lists the methods the shopper can pick, each priced for
/// this cart. Lines without a price in the cart's currency count for nothing in
/// any total.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "Cart", extend("examples" = [{"id": "crt_5f0c3a9b1e2d4c6a8b7f9e01", "currency": "USD", "lines": [{"sku": "KTL-1-STEEL", "product": {"id": "prd_kettle1", "slug": "stovetop-kettle", "name": "Stovetop Kettle"}, "quantity": 2, "unit_price": {"amount": 2500, "currency": "USD"}, "line_total": {"amount": 5000, "currency": "USD"}, "discount": {"amount": 500, "currency": "USD"}, "tax": {"amount": 326, "currency": "USD"}, "available": 5, "max_per_order": null}], "item_count": 2, "subtotal": {"amount": 5000, "currency": "USD"}, "coupons": [{"code": "SAVE10", "status": "applied"}, {"code": "BIGSPENDER", "status": "not_applicable", "reason": {"reason": "below_minimum", "min": {"amount": 10000, "currency": "USD"}}}], "discounts": [{"id": "save10", "code": "SAVE10", "description": "10 % off everything", "amount": {"amount": 500, "currency": "USD"}}], "discount_total": {"amount": 500, "currency": "USD"}, "shipping_method": "standard", "destination": {"country": "US", "region": "CA"}, "shipping_options": [{"id": "standard", "name": "Standard (3–5 days)", "amount": {"amount": 499, "currency": "USD"}}, {"id": "express", "name": "Express (1–2 days)", "amount": {"amount": 1499, "currency": "USD"}}], "shipping": {"amount": 499, "currency": "USD"}, "prices_include_tax": false, "tax_total": {"amount": 326, "currency": "USD"}, "grand_total": {"amount": 5325, "currency": "USD"}, "all_priced": true, "holds_expire_at": "2026-11-21T12:15:00.000Z"}, {"id": "crt_0a1b2c3d4e5f60718293a4b5", "currency": "EUR", "lines": [{"sku": "KTL-1-STEEL", "product": {"id": "prd_kettle1", "slug": "stovetop-kettle", "name": "Stovetop Kettle"}, "quantity": 2, "unit_price": {"amount": 2300, "currency": "EUR"}, "line_total": {"amount": 4600, "currency": "EUR"}, "discount": {"amount": 500, "currency": "EUR"}, "tax": {"amount": 655, "currency": "EUR"}, "available": 5, "max_per_order": null}], "item_count": 2, "subtotal": {"amount": 4600, "currency": "EUR"}, "coupons": [], "discounts": [{"id": "autumn-5", "code": null, "description": "5 € off this autumn", "amount": {"amount": 500, "currency": "EUR"}}], "discount_total": {"amount": 500, "currency": "EUR"}, "shipping_method": "express", "destination": {"country": "DE"}, "shipping_options": [{"id": "standard", "name": "Standard (3–5 days)", "amount": {"amount": 449, "currency": "EUR"}}, {"id": "express", "name": "Express (1–2 days)", "amount": {"amount": 1299, "currency": "EUR"}}], "shipping": {"amount": 1299, "currency": "EUR"}, "prices_include_tax": true, "tax_total": {"amount": 655, "currency": "EUR"}, "grand_total": {"amount": 5399, "currency": "EUR"}, "all_priced": true, "holds_expire_at": "2026-11-21T12:15:00.000Z"}])))]
pub struct CartView<'a> {
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::CartId")
    )]
    id: &'a str,
    /// The cart's currency, chosen at creation; every amount of the cart is in
    /// it.
    currency: Currency,
    /// The lines, in the order their SKUs were first added. Empty for a new
    /// cart.
    #[cfg_attr(feature = "openapi", schemars(length(max = 50)))]
    lines: Vec<CartLine<'a>>,
    /// Total units over all lines.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64"), extend("examples" = [3])))]
    item_count: i64,
    /// Sum of the line totals of the priced lines, before discounts, in the
    /// cart's currency (0 for an empty cart). Lines without a price count for
    /// nothing; see `all_priced`.
    subtotal: Money,
    /// The coupon codes the cart carries, in the order they were added (at most
    /// 5), each with whether it applies now. Empty when none.
    #[cfg_attr(feature = "openapi", schemars(length(max = 5)))]
    coupons: Vec<CouponView>,
    /// The promotions that took something off, automatic ones and coupons
    /// alike, in the order they were applied: automatic promotions before
    /// coupons, then by promotion id. Empty when none.
    discounts: &'a [AppliedPromotion],
    /// The sum of `discounts` (0 when none): what the promotions took off
    /// `subtotal`. Never more than `subtotal`.
    discount_total: Money,
    /// The `shipping_method` query parameter of this request, as given; null
    /// when none was given.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["standard"])))]
    shipping_method: Option<&'a str>,
    /// The destination of this request (`country`, `region` query parameters),
    /// uppercased; null when none was given.
    destination: Option<&'a Destination>,
    /// The shipping methods the shopper can pick for this cart and
    /// `destination`, in the order of the store configuration's
    /// `shipping_methods`: every method that ships to the destination country
    /// (its `countries` is empty or lists it) and has a rate in the cart's
    /// currency, each with its price for this cart (0 when the subtotal after
    /// discounts reaches its `free_above`). Listed whether or not a
    /// `shipping_method` was chosen; the chosen one's `amount` equals
    /// `shipping`. Empty without a destination `country`, and when no method
    /// can ship there in the cart's currency. Like discounts and tax, it
    /// follows the store's published configuration.
    #[cfg_attr(feature = "openapi", schemars(length(max = 20)))]
    shipping_options: Vec<ShippingOption>,
    /// What the chosen shipping method costs for this cart and destination: its
    /// rate in the cart's currency, or 0 when the subtotal after discounts
    /// reaches the method's `free_above` in that currency. 0 when no method was
    /// chosen. Shipping is not taxed.
    shipping: Money,
    /// The store's setting: true when catalog prices already contain tax (the
    /// lines' `tax` is the part they contain and does not add to
    /// `grand_total`), false when tax is added on top.
    prices_include_tax: bool,
    /// The sum of the lines' `tax`: 0 without a destination, whether or not
    /// prices include tax. Contained in the totals when `prices_include_tax` is
    /// true, added to `grand_total` when it is false.
    tax_total: Money,
    /// What the shopper would pay: `subtotal` − `discount_total` + `shipping` +
    /// `tax_total` when tax is added on top, `subtotal` − `discount_total` +
    /// `shipping` when prices include it. Never negative.
    grand_total: Money,
    /// False when some line has no price in the cart's currency any more (its
    /// `unit_price` is null and `subtotal` leaves it out).
    all_priced: bool,
    /// When the first of the cart's line holds expires (RFC 3339, UTC,
    /// milliseconds): the earliest of its lines' hold expiries. Null for an
    /// empty cart. Each line's units are held in its SKU's stock object until
    /// that line's own expiry: a line change holds the changed line for the
    /// full `CART_HOLD_TTL_MS` (15 minutes by default, configurable by the
    /// operator) and refreshes every other line whose hold has less than half
    /// the TTL left, so cart activity leaves every line held for at least half
    /// the TTL. Reading the cart does not move it. Once a line's hold has
    /// lapsed, its units are no longer held and other carts may take them; the
    /// line stays, and the next line change takes its hold again if the units
    /// are still there. A line whose hold lapsed and could not be taken again
    /// keeps its old expiry, so this may be in the past.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time"), extend("examples" = ["2026-11-21T12:15:00.000Z"])))]
    holds_expire_at: Option<String>,
    /// The total in the store's points, for a member paying with them;
    /// absent when the store has no points programme or its points do not
    /// pay in the cart's currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    points: Option<CartPoints<'a>>,
}

/// A cart's total in the store's points.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"unit": "points", "per_minor": 1, "grand_total": 5325}])))]
pub struct CartPoints<'a> {
    /// What the store calls its points.
    unit: &'a str,
    /// Points per minor unit of the cart's currency: `points` of a
    /// `points_and_card` checkout are a multiple of it.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 1000000)))]
    per_minor: u32,
    /// `grand_total` in points: what a `points` checkout spends.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    grand_total: i64,
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
    // Availability of every line: the levels the cart object just saw,
    // and one read per other SKU (at most a second old), all at once.
    let now_ms = pricing.now_ms;
    let levels = join_all(totals.lines.iter().map(|l| async move {
        match known.iter().find(|(sku, _)| *sku == l.sku) {
            Some((_, levels)) => Ok(*levels),
            None => crate::inventory_api::recent_levels(env, &l.sku, now_ms).await,
        }
    }))
    .await;
    let mut lines = Vec::with_capacity(totals.lines.len());
    for (l, levels) in totals.lines.iter().zip(levels) {
        let levels = levels?;
        let sku_prices = found.get(&l.sku);
        let quoted = quote.lines.iter().find(|q| q.sku == l.sku);
        lines.push(CartLine {
            sku: &l.sku,
            product: sku_prices
                .and_then(|p| catalog.find(&p.product))
                .map(|p| CartProductRef {
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
    let view = CartView {
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
        holds_expire_at: cart.holds_expire_at_ms.and_then(crate::http::rfc3339_ms),
        points: pricing.store.config.points.as_ref().and_then(|p| {
            Some(CartPoints {
                unit: &p.unit,
                per_minor: *p.points_per_minor.get(&cart.currency)?,
                grand_total: p.points_for(cart.currency, quote.grand_total.amount)?,
            })
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
