//! The whole price of a cart at checkout, as one pure function: lines,
//! promotions, shipping and tax in, a [`Quote`] out. Everything is integer
//! minor units of the cart's currency.
//!
//! The rules, in the order they apply:
//!
//! 1. **Lines.** A line's subtotal is unit price × quantity; the cart's
//!    subtotal is their sum. Quantities are 1–99 and unit prices 0 to
//!    [`PRICE_MAX`]; anything else is an [`PricingError::InvalidLine`].
//! 2. **Promotion order.** Promotions are deduplicated by id, then applied
//!    in a fixed order: automatic ones (no code) before coupons, then by id
//!    (byte order). Each applies to what earlier ones left of each line,
//!    so a line is never discounted below zero and later promotions see the
//!    reduced amounts.
//! 3. **Eligibility.** Each promotion is checked with
//!    [`Promotion::eligibility`] against the subtotal *before* any discount
//!    (so the minimum subtotal ignores other promotions). A refused coupon
//!    is reported in [`Quote::refused_coupons`] with its reason; a refused
//!    automatic promotion is silently left out. An eligible promotion that
//!    finds nothing to discount (no targeted line, or targeted lines already
//!    at zero) is refused the same way with
//!    [`PromotionRefusal::NoEligibleItems`].
//! 4. **Targets.** A cart promotion targets every line, a SKU promotion the
//!    lines of that SKU, a category promotion the lines whose product is in
//!    that category.
//! 5. **Percentage discounts** are computed per targeted line on what is
//!    left of it: round_half_even(left × bp / 10 000).
//! 6. **Fixed amounts** (cart, SKU or category alike) are one amount for
//!    the whole set of targeted lines, not per unit: capped at what is left
//!    of those lines, then allocated across them in proportion to what is
//!    left of each ([`allocate_proportionally`]): each line gets the floor
//!    of its exact share, and the cents still missing go one each to the
//!    lines with the largest remainders (ties: the earlier line). The line
//!    discounts therefore always add up exactly to the promotion's amount.
//! 7. **Shipping** is quoted by the chosen [`ShippingMethod`] for the
//!    destination country, on the subtotal after discounts. A method without
//!    a destination is an error; no method means no shipping charge.
//!    Shipping is not taxed.
//! 8. **Tax** is computed per line, on the line's amount after discounts, at
//!    the destination's rate ([`TaxConfig::rate_for`]), rounding half to
//!    even (see [`crate::tax`]). Without a destination there is no tax:
//!    `tax_total` is 0 whether or not prices include tax. When prices
//!    include tax the line's tax is the part its amount already contains
//!    and adds nothing to the total; otherwise it is added on top.
//! 9. **Totals.** `grand_total = subtotal − discount_total + shipping +
//!    tax_total` when tax is added on top, `subtotal − discount_total +
//!    shipping` when prices include it. Each line's `line_total` is its
//!    subtotal − discount (+ tax when added on top), so the line totals plus
//!    shipping make the grand total, which is never negative.
//!
//! What this module must not do: look anything up (prices, promotions,
//! redemption counts, tax settings and the shipping method are passed in),
//! read a clock (`now_ms` is passed in), use floats, or know about HTTP.

use crate::cart::limits::MAX_LINE_QUANTITY;
use crate::cart::Cart;
use crate::catalog::limits::PRICE_MAX;
use crate::money::{Currency, Money};
use crate::promotion::{normalize_code, Discount, Promotion, PromotionRefusal};
use crate::shipping::{ShippingMethod, ShippingRefusal};
use crate::tax::{round_half_even_div, TaxConfig};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One line to price, in the cart's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingLine {
    pub sku: String,
    pub quantity: i64,
    /// Minor units of the cart's currency, from the catalog's price list.
    pub unit_price: i64,
    /// Slug of the category of the SKU's product.
    pub category: String,
}

/// What the live catalog says of one SKU of a cart: its price list and the
/// category of its product (category promotions target it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSku {
    pub prices: BTreeMap<Currency, i64>,
    /// Slug of the category of the SKU's product (empty: none).
    pub category: String,
}

/// The lines of `cart` as pricing takes them, in the cart's order: those
/// whose SKU `listed` prices in the cart's currency (the others are left
/// out: a SKU no longer in the catalog, or not sold in that currency).
pub fn cart_lines(cart: &Cart, listed: &BTreeMap<String, ListedSku>) -> Vec<PricingLine> {
    cart.lines
        .iter()
        .filter_map(|l| {
            let sku = listed.get(&l.sku)?;
            Some(PricingLine {
                sku: l.sku.clone(),
                quantity: l.quantity,
                unit_price: *sku.prices.get(&cart.currency)?,
                category: sku.category.clone(),
            })
        })
        .collect()
}

/// A promotion that may apply, with how often it was redeemed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionCandidate {
    pub promotion: Promotion,
    /// Redemptions by anyone.
    pub redemptions_so_far: u32,
    /// Redemptions by the customer of this cart.
    pub customer_redemptions: u32,
}

/// Where the cart would ship, as the `country` and `region` query parameters of
/// `GET /v1/carts/{id}` named it (uppercased).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "CartDestination", extend("examples" = [{"country": "US", "region": "CA"}])))]
pub struct Destination {
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::CountryCode"))]
    pub country: String,
    /// The region; absent when none was given.
    #[cfg_attr(feature = "openapi", schemars(regex(pattern = r"^[A-Z0-9-]{1,10}$"), extend("examples" = ["CA"])))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Everything a quote depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingInput {
    pub currency: Currency,
    pub lines: Vec<PricingLine>,
    /// The automatic promotions, and the coupons the cart carries.
    pub promotions: Vec<PromotionCandidate>,
    pub tax: TaxConfig,
    pub shipping_method: Option<ShippingMethod>,
    pub destination: Option<Destination>,
    pub now_ms: i64,
}

/// One line of a checkout quote. Every amount is in the cart's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"sku": "KTL-1-STEEL", "quantity": 2, "unit_price": {"amount": 2500, "currency": "USD"}, "line_subtotal": {"amount": 5000, "currency": "USD"}, "discount": {"amount": 500, "currency": "USD"}, "tax": {"amount": 326, "currency": "USD"}, "line_total": {"amount": 4826, "currency": "USD"}}])))]
pub struct QuotedLine {
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::Sku"))]
    pub sku: String,
    /// Units in the cart.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 99), extend("examples" = [2])))]
    pub quantity: i64,
    /// The live catalog's price of one unit.
    pub unit_price: Money,
    /// `unit_price` × `quantity`, before discounts.
    pub line_subtotal: Money,
    /// All the applied promotions' share of this line.
    pub discount: Money,
    /// Tax of this line at the address's rate, on its amount after discounts:
    /// added on top, or contained (see `prices_include_tax`).
    pub tax: Money,
    /// `line_subtotal` − `discount`, + `tax` when tax is added on top.
    pub line_total: Money,
}

/// A promotion that took something off the cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "CartDiscount", extend("examples" = [{"id": "save10", "code": "SAVE10", "description": "10 % off everything", "amount": {"amount": 500, "currency": "USD"}}])))]
pub struct AppliedPromotion {
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::PromotionId"))]
    pub id: String,
    /// Its coupon code, or null for an automatic promotion.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["SAVE10"])))]
    pub code: Option<String>,
    /// The promotion's description.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["10 % off everything"])))]
    pub description: String,
    /// What it took off the cart in total (more than 0), in the cart's
    /// currency: the sum of its share of each line.
    pub amount: Money,
}

/// A coupon on the cart whose promotion does not apply now: its code and the
/// `PromotionRefusal` fields (`reason`, and `min` with `below_minimum`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"code": "BIGSPENDER", "reason": "below_minimum", "min": {"amount": 10000, "currency": "USD"}}])))]
pub struct RefusedCoupon {
    pub code: String,
    #[serde(flatten)]
    pub refusal: PromotionRefusal,
}

/// A cart as checkout priced it: from the live catalog's price lists in the
/// cart's currency and from the store object itself (its tax settings for the
/// shipping address, the chosen shipping method, and the automatic promotions
/// and the cart's coupons' promotions, checked with their current redemption
/// counts, in total and for the order's email), by the rules of *Store
/// configuration, promotions and cart pricing*. Every amount is `Money` in the
/// cart's currency. Carried by 409 `total_changed`: show it, and let the
/// shopper confirm `grand_total` with a new checkout (new `expected_total`, new
/// `Idempotency-Key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"currency": "USD", "prices_include_tax": false, "lines": [{"sku": "KTL-1-STEEL", "quantity": 2, "unit_price": {"amount": 2500, "currency": "USD"}, "line_subtotal": {"amount": 5000, "currency": "USD"}, "discount": {"amount": 500, "currency": "USD"}, "tax": {"amount": 326, "currency": "USD"}, "line_total": {"amount": 4826, "currency": "USD"}}], "subtotal": {"amount": 5000, "currency": "USD"}, "discount_total": {"amount": 500, "currency": "USD"}, "shipping": {"amount": 499, "currency": "USD"}, "tax_total": {"amount": 326, "currency": "USD"}, "grand_total": {"amount": 5325, "currency": "USD"}, "applied": [{"id": "save10", "code": "SAVE10", "description": "10 % off everything", "amount": {"amount": 500, "currency": "USD"}}], "refused_coupons": [{"code": "BIGSPENDER", "reason": "below_minimum", "min": {"amount": 10000, "currency": "USD"}}]}])))]
pub struct Quote {
    pub currency: Currency,
    /// Whether each line's `tax` is contained in its amounts (true) or added on
    /// top (false), as the store's tax settings say.
    pub prices_include_tax: bool,
    /// The cart's lines, in the cart's order.
    pub lines: Vec<QuotedLine>,
    /// The sum of the lines' `line_subtotal`, before discounts.
    pub subtotal: Money,
    /// The sum of the lines' `discount`: what the applied promotions took off.
    pub discount_total: Money,
    /// The chosen method's rate in the cart's currency, or 0 when the subtotal
    /// after discounts reaches the method's `free_above`. Not taxed.
    pub shipping: Money,
    /// The sum of the lines' `tax`.
    pub tax_total: Money,
    /// `subtotal` − `discount_total` + `shipping`, + `tax_total` when tax is
    /// added on top; never negative. What checkout would charge, and what
    /// `expected_total` must equal.
    pub grand_total: Money,
    /// The promotions that took something off, in the order they were applied
    /// (automatic ones before coupons, then by promotion id).
    pub applied: Vec<AppliedPromotion>,
    /// The cart's coupons whose promotion does not apply now, with the reason,
    /// in the order they were considered; at checkout this includes
    /// `usage_limit_reached` and `customer_limit_reached`. Codes that no
    /// promotion has are left out (and ignored).
    pub refused_coupons: Vec<RefusedCoupon>,
}

/// A shipping method the shopper can pick for this cart and destination, with
/// what it costs. Computed like `shipping` is for a chosen method (rule 7 of
/// *Store configuration, promotions and cart pricing*), so reading the cart
/// again with `shipping_method` set to this `id` shows `shipping` equal to
/// `amount`, and checkout with that method charges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"id": "standard", "name": "Standard (3–5 days)", "amount": {"amount": 499, "currency": "USD"}}])))]
pub struct ShippingOption {
    /// The method's id, as the store configuration names it: pass it as
    /// `shipping_method` (cart read, checkout).
    #[cfg_attr(feature = "openapi", schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"), extend("examples" = ["standard"])))]
    pub id: String,
    /// The method's name, for the shopper.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["Standard (3–5 days)"])))]
    pub name: String,
    /// What shipping this cart with this method costs, in the cart's currency:
    /// the method's rate, or 0 when the cart's subtotal after discounts reaches
    /// the method's `free_above` in that currency.
    pub amount: Money,
}

/// Why a cart cannot be quoted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum PricingError {
    /// The line at `index` has a quantity outside 1–99 or a unit price
    /// outside 0–[`PRICE_MAX`].
    InvalidLine { index: usize },
    /// A shipping method was chosen but no destination given.
    MissingDestination,
    /// The chosen method cannot ship this cart.
    Shipping { refusal: ShippingRefusal },
}

/// Splits `amount` across lines in proportion to `weights`, exactly: each
/// share is the floor of amount × weight / Σ weights, and the units still
/// missing go one each to the largest remainders (ties: the earlier line).
///
/// `amount` is first clamped to 0..=Σ weights, and negative weights count
/// as 0, so every share lies between 0 and its weight and the shares add up
/// to the clamped amount.
pub fn allocate_proportionally(amount: i64, weights: &[i64]) -> Vec<i64> {
    let weights: Vec<i128> = weights.iter().map(|w| i128::from((*w).max(0))).collect();
    let total: i128 = weights.iter().sum();
    let amount = i128::from(amount).clamp(0, total);
    if amount == 0 {
        return vec![0; weights.len()];
    }
    let mut shares: Vec<i128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = amount * w;
        shares.push(exact / total);
        remainders.push((exact % total, i));
    }
    let missing = amount - shares.iter().sum::<i128>();
    // Largest remainder first, earlier line first among equals.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders
        .into_iter()
        .take(usize::try_from(missing).unwrap_or(0))
    {
        shares[i] += 1;
    }
    // Every share ≤ its weight ≤ Σ weights, which came from i64 values.
    shares
        .into_iter()
        .map(|s| i64::try_from(s).unwrap_or(i64::MAX))
        .collect()
}

/// What one promotion takes off each line, given what is left of each.
fn line_discounts(
    promotion: &Promotion,
    currency: Currency,
    lines: &[PricingLine],
    left: &[i64],
) -> Vec<i64> {
    let targeted: Vec<i64> = lines
        .iter()
        .zip(left)
        .map(|(l, rest)| {
            if promotion.target.matches(&l.sku, &l.category) {
                *rest
            } else {
                0
            }
        })
        .collect();
    match &promotion.discount {
        Discount::Percentage { basis_points } => targeted
            .iter()
            .map(|rest| {
                let bp = i128::from((*basis_points).min(10_000));
                round_half_even_div(i128::from(*rest) * bp, 10_000).clamp(0, *rest)
            })
            .collect(),
        Discount::AmountOff { amounts } => {
            allocate_proportionally(amounts.get(&currency).copied().unwrap_or(0), &targeted)
        }
    }
}

/// Prices a cart: see the module doc for every rule.
pub fn quote_cart(input: &PricingInput) -> Result<Quote, PricingError> {
    let currency = input.currency;
    let money = |amount: i64| Money::new(amount, currency);
    for (index, l) in input.lines.iter().enumerate() {
        if !(1..=MAX_LINE_QUANTITY).contains(&l.quantity)
            || !(0..=PRICE_MAX).contains(&l.unit_price)
        {
            return Err(PricingError::InvalidLine { index });
        }
    }
    let line_subtotals: Vec<i64> = input
        .lines
        .iter()
        .map(|l| l.unit_price * l.quantity)
        .collect();
    let subtotal: i64 = line_subtotals.iter().sum();

    // Promotions, in their fixed order, each on what is left.
    let mut order: Vec<&PromotionCandidate> = input.promotions.iter().collect();
    order.sort_by_key(|c| (!c.promotion.is_automatic(), c.promotion.id.clone()));
    let mut seen = BTreeSet::new();
    let mut left = line_subtotals.clone();
    let mut applied = Vec::new();
    let mut refused_coupons = Vec::new();
    for candidate in order {
        let p = &candidate.promotion;
        if !seen.insert(p.id.as_str()) {
            continue;
        }
        let outcome = p
            .eligibility(
                input.now_ms,
                money(subtotal),
                candidate.redemptions_so_far,
                candidate.customer_redemptions,
            )
            .and_then(|()| {
                let off = line_discounts(p, currency, &input.lines, &left);
                if off.iter().sum::<i64>() > 0 {
                    Ok(off)
                } else {
                    Err(PromotionRefusal::NoEligibleItems)
                }
            });
        match (outcome, &p.code) {
            (Ok(off), _) => {
                for (rest, o) in left.iter_mut().zip(&off) {
                    *rest -= o;
                }
                applied.push(AppliedPromotion {
                    id: p.id.clone(),
                    code: p.code.clone(),
                    description: p.description.clone(),
                    amount: money(off.iter().sum()),
                });
            }
            (Err(refusal), Some(code)) => refused_coupons.push(RefusedCoupon {
                code: code.clone(),
                refusal,
            }),
            (Err(_), None) => {}
        }
    }
    let discount_total = subtotal - left.iter().sum::<i64>();

    let shipping = match (&input.shipping_method, &input.destination) {
        (None, _) => 0,
        (Some(_), None) => return Err(PricingError::MissingDestination),
        (Some(method), Some(d)) => {
            method
                .quote(&d.country, currency, subtotal - discount_total)
                .map_err(|refusal| PricingError::Shipping { refusal })?
                .amount
        }
    };

    let rate = input
        .destination
        .as_ref()
        .map_or(0, |d| input.tax.rate_for(&d.country, d.region.as_deref()));
    let inclusive = input.tax.prices_include_tax;
    let lines: Vec<QuotedLine> = input
        .lines
        .iter()
        .zip(line_subtotals.iter().zip(&left))
        .map(|(l, (line_subtotal, net))| {
            let tax = input.tax.line_tax(*net, rate);
            QuotedLine {
                sku: l.sku.clone(),
                quantity: l.quantity,
                unit_price: money(l.unit_price),
                line_subtotal: money(*line_subtotal),
                discount: money(line_subtotal - net),
                tax: money(tax),
                line_total: money(if inclusive { *net } else { net + tax }),
            }
        })
        .collect();
    let tax_total: i64 = lines.iter().map(|l| l.tax.amount).sum();
    let added_tax = if inclusive { 0 } else { tax_total };
    Ok(Quote {
        currency,
        prices_include_tax: inclusive,
        lines,
        subtotal: money(subtotal),
        discount_total: money(discount_total),
        shipping: money(shipping),
        tax_total: money(tax_total),
        grand_total: money(subtotal - discount_total + shipping + added_tax),
        applied,
        refused_coupons,
    })
}

/// Why a coupon code does not go on a cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum CouponRefusal {
    /// No promotion has this code.
    Unknown,
    /// The code's promotion does not apply to the cart now, for `reason`.
    NotApplicable { reason: PromotionRefusal },
}

/// Whether coupon `code` (as entered) applies to the cart that `input`
/// prices. `input.promotions` are the cart's candidates with the code
/// among its coupons (the automatic promotions and each coupon's
/// promotion, as [`crate::store::StoreSnapshot::candidates`] picks them):
/// only pricing the whole cart tells whether the promotions applied before
/// the coupon (rule 2) left it anything to discount. The outer error is a
/// cart that cannot be priced at all.
pub fn coupon_applies(
    input: &PricingInput,
    code: &str,
) -> Result<Result<(), CouponRefusal>, PricingError> {
    if !input
        .promotions
        .iter()
        .any(|c| c.promotion.matches_code(code))
    {
        return Ok(Err(CouponRefusal::Unknown));
    }
    let code = normalize_code(code);
    let quote = quote_cart(input)?;
    Ok(
        match quote.refused_coupons.iter().find(|r| r.code == code) {
            Some(refused) => Err(CouponRefusal::NotApplicable {
                reason: refused.refusal.clone(),
            }),
            None => Ok(()),
        },
    )
}

/// The methods among `methods` (in their order) that can ship the cart
/// quoted as `quote` to `destination`, each with its price for this cart:
/// every method that ships to the destination country and has a rate in
/// the quote's currency. The price is rule 7's, the method's quote on the
/// subtotal after discounts, so picking an option and quoting the cart
/// with it yields exactly `amount` as the quote's `shipping`. No
/// destination: no options.
pub fn shipping_options(
    methods: &[ShippingMethod],
    destination: Option<&Destination>,
    quote: &Quote,
) -> Vec<ShippingOption> {
    let Some(destination) = destination else {
        return Vec::new();
    };
    let discounted = quote.subtotal.amount - quote.discount_total.amount;
    methods
        .iter()
        .filter_map(|m| {
            let amount = m
                .quote(&destination.country, quote.currency, discounted)
                .ok()?;
            Some(ShippingOption {
                id: m.id.clone(),
                name: m.name.clone(),
                amount,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promotion::{Target, PROMOTION_SCHEMA};
    use crate::tax::TaxRate;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn line(sku: &str, quantity: i64, unit_price: i64, category: &str) -> PricingLine {
        PricingLine {
            sku: sku.into(),
            quantity,
            unit_price,
            category: category.into(),
        }
    }

    fn promo(id: &str, code: Option<&str>, discount: Discount, target: Target) -> Promotion {
        Promotion {
            schema: PROMOTION_SCHEMA,
            id: id.into(),
            code: code.map(str::to_string),
            description: format!("promotion {id}"),
            discount,
            target,
            min_subtotal: BTreeMap::new(),
            starts_at_ms: None,
            ends_at_ms: None,
            usage_limit: None,
            per_customer_limit: None,
            active: true,
        }
    }

    fn pct(bp: u32) -> Discount {
        Discount::Percentage { basis_points: bp }
    }

    fn off(amount: i64) -> Discount {
        Discount::AmountOff {
            amounts: BTreeMap::from([(usd(), amount)]),
        }
    }

    fn candidate(p: Promotion) -> PromotionCandidate {
        PromotionCandidate {
            promotion: p,
            redemptions_so_far: 0,
            customer_redemptions: 0,
        }
    }

    fn input(lines: Vec<PricingLine>, promotions: Vec<Promotion>) -> PricingInput {
        PricingInput {
            currency: usd(),
            lines,
            promotions: promotions.into_iter().map(candidate).collect(),
            tax: TaxConfig::default(),
            shipping_method: None,
            destination: None,
            now_ms: 0,
        }
    }

    fn discounts(q: &Quote) -> Vec<i64> {
        q.lines.iter().map(|l| l.discount.amount).collect()
    }

    fn to(country: &str, region: Option<&str>) -> Option<Destination> {
        Some(Destination {
            country: country.into(),
            region: region.map(str::to_string),
        })
    }

    #[test]
    fn plain_cart_totals() {
        let q = quote_cart(&input(
            vec![line("A", 2, 1250, "kitchen"), line("B", 1, 999, "garden")],
            vec![],
        ))
        .unwrap();
        assert_eq!(q.subtotal, Money::new(3499, usd()));
        assert_eq!(q.lines[0].line_subtotal.amount, 2500);
        assert_eq!(q.lines[0].line_total.amount, 2500);
        assert_eq!(q.discount_total.amount, 0);
        assert_eq!(q.shipping.amount, 0);
        assert_eq!(q.tax_total.amount, 0);
        assert_eq!(q.grand_total.amount, 3499);
        assert!(q.applied.is_empty() && q.refused_coupons.is_empty());
    }

    #[test]
    fn percentages_round_half_even_per_line() {
        // 10 % of 1.25 is 12.5 ¢ → 12; of 1.35 is 13.5 ¢ → 14; of 1.00 is 10.
        let q = quote_cart(&input(
            vec![
                line("A", 1, 125, "c"),
                line("B", 1, 135, "c"),
                line("C", 1, 100, "c"),
            ],
            vec![promo("ten", None, pct(1000), Target::Cart {})],
        ))
        .unwrap();
        assert_eq!(discounts(&q), [12, 14, 10]);
        assert_eq!(q.discount_total.amount, 36);
        assert_eq!(q.applied[0].amount.amount, 36);
        assert_eq!(q.grand_total.amount, 360 - 36);
    }

    #[test]
    fn fixed_amounts_allocate_exactly_by_largest_remainder() {
        let q = quote_cart(&input(
            vec![
                line("A", 1, 1000, "c"),
                line("B", 2, 1000, "c"),
                line("C", 3, 1000, "c"),
            ],
            vec![promo("ten-off", None, off(1000), Target::Cart {})],
        ))
        .unwrap();
        // Exact shares 166.67, 333.33, 500: the missing cent goes to A.
        assert_eq!(discounts(&q), [167, 333, 500]);
        // Equal remainders: the earlier line gets the cent.
        let q = quote_cart(&input(
            vec![
                line("A", 1, 100, "c"),
                line("B", 1, 100, "c"),
                line("C", 1, 100, "c"),
            ],
            vec![promo("one-off", None, off(100), Target::Cart {})],
        ))
        .unwrap();
        assert_eq!(discounts(&q), [34, 33, 33]);
        assert_eq!(allocate_proportionally(2, &[100, 100, 100]), [1, 1, 0]);
        assert_eq!(allocate_proportionally(5, &[0, 0]), [0, 0]);
        assert_eq!(allocate_proportionally(-5, &[3]), [0]);
        assert_eq!(allocate_proportionally(10, &[1, -4, 2]), [1, 0, 2]);
        assert!(allocate_proportionally(1, &[]).is_empty());
    }

    #[test]
    fn fixed_amounts_are_capped_and_lines_never_go_negative() {
        let q = quote_cart(&input(
            vec![line("A", 1, 1200, "c"), line("B", 1, 1800, "c")],
            vec![promo("fifty-off", None, off(5000), Target::Cart {})],
        ))
        .unwrap();
        assert_eq!(discounts(&q), [1200, 1800]);
        assert_eq!(q.applied[0].amount.amount, 3000);
        assert_eq!(q.grand_total.amount, 0);
        assert!(q.lines.iter().all(|l| l.line_total.amount == 0));
    }

    #[test]
    fn sku_and_category_targets_discount_only_their_lines() {
        let q = quote_cart(&input(
            vec![
                line("KTL-1", 2, 2500, "kitchen"),
                line("PAN-1", 1, 3000, "kitchen"),
                line("HOE-1", 1, 4000, "garden"),
            ],
            vec![
                promo(
                    "kettles",
                    None,
                    pct(2000),
                    Target::Sku {
                        sku: "KTL-1".into(),
                    },
                ),
                promo(
                    "kitchen",
                    None,
                    off(600),
                    Target::Category {
                        category: "kitchen".into(),
                    },
                ),
            ],
        ))
        .unwrap();
        // kettles (by id first): 20 % of 50.00 = 10.00 on KTL-1.
        // kitchen: 6.00 over what is left, 40.00 and 30.00 → 3.43 / 2.57.
        assert_eq!(discounts(&q), [1000 + 343, 257, 0]);
        assert_eq!(
            q.applied
                .iter()
                .map(|a| a.amount.amount)
                .collect::<Vec<_>>(),
            [1000, 600]
        );
        assert_eq!(q.discount_total.amount, 1600);
        assert_eq!(q.grand_total.amount, 12000 - 1600);
    }

    #[test]
    fn automatic_before_coupons_then_by_id_each_on_what_is_left() {
        let lines = vec![line("A", 1, 10000, "c")];
        // Listed out of order on purpose.
        let q = quote_cart(&input(
            lines.clone(),
            vec![
                promo("a-coupon", Some("TENOFF"), off(1000), Target::Cart {}),
                promo("b-half", None, pct(5000), Target::Cart {}),
                promo("a-fixed", None, off(3000), Target::Cart {}),
            ],
        ))
        .unwrap();
        let order: Vec<_> = q
            .applied
            .iter()
            .map(|a| (a.id.as_str(), a.amount.amount))
            .collect();
        // a-fixed: 30.00; b-half: half of 70.00; the coupon: 10.00 of 35.00.
        assert_eq!(
            order,
            [("a-fixed", 3000), ("b-half", 3500), ("a-coupon", 1000)]
        );
        assert_eq!(q.applied[2].code.as_deref(), Some("TENOFF"));
        assert_eq!(q.grand_total.amount, 2500);
        // The same promotion twice applies once.
        let q = quote_cart(&input(
            lines,
            vec![
                promo("half", None, pct(5000), Target::Cart {}),
                promo("half", None, pct(5000), Target::Cart {}),
            ],
        ))
        .unwrap();
        assert_eq!(q.applied.len(), 1);
        assert_eq!(q.discount_total.amount, 5000);
    }

    #[test]
    fn cart_lines_are_the_lines_priced_in_the_cart_currency() {
        let mut cart = Cart::new("crt_1".into(), usd(), 0);
        for sku in ["A", "B", "C"] {
            cart.set_line(sku, 2, 10, 0);
        }
        let eur = Currency::parse("EUR").unwrap();
        let listed = BTreeMap::from([
            (
                "A".to_string(),
                ListedSku {
                    prices: BTreeMap::from([(usd(), 500), (eur, 450)]),
                    category: "kitchen".into(),
                },
            ),
            (
                "B".to_string(),
                ListedSku {
                    prices: BTreeMap::from([(eur, 900)]),
                    category: "garden".into(),
                },
            ),
        ]);
        // B has no USD price, C is not listed: both left out.
        assert_eq!(cart_lines(&cart, &listed), [line("A", 2, 500, "kitchen")]);
    }

    #[test]
    fn a_coupon_applies_or_says_why_not() {
        let min = |amount| Promotion {
            min_subtotal: BTreeMap::from([(usd(), amount)]),
            ..promo("big", Some("BIG"), off(500), Target::Cart {})
        };
        let garden = promo(
            "garden",
            Some("GARDEN"),
            pct(1000),
            Target::Category {
                category: "garden".into(),
            },
        );
        let all_off = promo("free", None, pct(10_000), Target::Cart {});
        let lines = vec![line("A", 1, 5000, "kitchen")];
        let check = |promotions: Vec<Promotion>, code: &str| {
            coupon_applies(&input(lines.clone(), promotions), code).unwrap()
        };
        assert_eq!(check(vec![min(1000)], " big "), Ok(()));
        assert_eq!(
            check(vec![min(6000)], "BIG"),
            Err(CouponRefusal::NotApplicable {
                reason: PromotionRefusal::BelowMinimum {
                    min: Money::new(6000, usd())
                }
            })
        );
        // Nothing of its category in the cart.
        assert_eq!(
            check(vec![garden], "garden"),
            Err(CouponRefusal::NotApplicable {
                reason: PromotionRefusal::NoEligibleItems
            })
        );
        // An automatic promotion took everything before the coupon.
        assert_eq!(
            check(vec![all_off, min(1000)], "BIG"),
            Err(CouponRefusal::NotApplicable {
                reason: PromotionRefusal::NoEligibleItems
            })
        );
        assert_eq!(check(vec![min(1000)], "OTHER"), Err(CouponRefusal::Unknown));
        // Counts are the caller's: an exhausted one says so.
        let mut limited = input(lines.clone(), vec![min(1000)]);
        limited.promotions[0].promotion.usage_limit = Some(3);
        limited.promotions[0].redemptions_so_far = 3;
        assert_eq!(
            coupon_applies(&limited, "BIG").unwrap(),
            Err(CouponRefusal::NotApplicable {
                reason: PromotionRefusal::UsageLimitReached
            })
        );
        // A cart that cannot be priced is the outer error.
        let bad = input(vec![line("A", 0, 5000, "kitchen")], vec![min(1000)]);
        assert_eq!(
            coupon_applies(&bad, "BIG"),
            Err(PricingError::InvalidLine { index: 0 })
        );
    }

    #[test]
    fn refused_coupons_are_reported_and_refused_automatics_left_out() {
        let expired = |id: &str, code: Option<&str>| Promotion {
            ends_at_ms: Some(0),
            ..promo(id, code, pct(1000), Target::Cart {})
        };
        let with_min = Promotion {
            min_subtotal: BTreeMap::from([(usd(), 6000)]),
            ..promo("big-spender", Some("BIG"), off(500), Target::Cart {})
        };
        let mut i = input(
            vec![line("A", 1, 5000, "kitchen")],
            vec![
                expired("old-auto", None),
                expired("old-coupon", Some("OLD")),
                promo(
                    "garden",
                    Some("GARDEN"),
                    pct(1000),
                    Target::Category {
                        category: "garden".into(),
                    },
                ),
                with_min,
                promo("limited", Some("ONCE"), pct(1000), Target::Cart {}),
            ],
        );
        i.promotions[4].promotion.per_customer_limit = Some(1);
        i.promotions[4].customer_redemptions = 1;
        let q = quote_cart(&i).unwrap();
        assert!(q.applied.is_empty());
        let refused: Vec<_> = q
            .refused_coupons
            .iter()
            .map(|r| (r.code.as_str(), r.refusal.clone()))
            .collect();
        assert_eq!(
            refused,
            [
                (
                    "BIG",
                    PromotionRefusal::BelowMinimum {
                        min: Money::new(6000, usd())
                    }
                ),
                ("GARDEN", PromotionRefusal::NoEligibleItems),
                ("ONCE", PromotionRefusal::CustomerLimitReached),
                ("OLD", PromotionRefusal::Expired),
            ]
        );
        assert_eq!(q.grand_total.amount, 5000);
    }

    #[test]
    fn minimum_is_checked_before_discounts_and_zeroed_lines_refuse_later_coupons() {
        let with_min = Promotion {
            min_subtotal: BTreeMap::from([(usd(), 5000)]),
            ..promo("five-off", Some("FIVE"), off(500), Target::Cart {})
        };
        let q = quote_cart(&input(
            vec![line("A", 1, 5000, "c")],
            vec![promo("half", None, pct(5000), Target::Cart {}), with_min],
        ))
        .unwrap();
        // 25.00 left after the automatic half, yet the 50.00 minimum holds.
        assert_eq!(q.discount_total.amount, 3000);
        let q = quote_cart(&input(
            vec![line("A", 1, 5000, "c")],
            vec![
                promo("all", None, pct(10_000), Target::Cart {}),
                promo("more", Some("MORE"), off(100), Target::Cart {}),
            ],
        ))
        .unwrap();
        assert_eq!(q.grand_total.amount, 0);
        assert_eq!(
            q.refused_coupons[0].refusal,
            PromotionRefusal::NoEligibleItems
        );
    }

    #[test]
    fn exclusive_tax_per_discounted_line_and_untaxed_shipping() {
        let mut i = input(
            vec![line("A", 1, 1000, "c"), line("B", 1, 2000, "c")],
            vec![promo("ten", None, pct(1000), Target::Cart {})],
        );
        i.tax = TaxConfig {
            prices_include_tax: false,
            rates: vec![
                TaxRate {
                    country: "US".into(),
                    region: Some("CA".into()),
                    basis_points: 725,
                },
                TaxRate {
                    country: "US".into(),
                    region: None,
                    basis_points: 500,
                },
            ],
        };
        i.shipping_method = Some(ShippingMethod {
            id: "standard".into(),
            name: "Standard".into(),
            countries: vec!["US".into()],
            rates: BTreeMap::from([(usd(), 800)]),
            free_above: BTreeMap::from([(usd(), 3000)]),
        });
        i.destination = to("US", Some("CA"));
        let q = quote_cart(&i).unwrap();
        // Net 9.00 and 18.00; 7.25 % → 65.25 ¢ → 65, 130.5 ¢ → 130 (even).
        let taxes: Vec<_> = q.lines.iter().map(|l| l.tax.amount).collect();
        assert_eq!(taxes, [65, 130]);
        assert_eq!(q.lines[0].line_total.amount, 900 + 65);
        assert_eq!(q.tax_total.amount, 195);
        // 27.00 after discounts is below the 30.00 threshold: shipping charged, untaxed.
        assert_eq!(q.shipping.amount, 800);
        assert_eq!(q.grand_total.amount, 3000 - 300 + 800 + 195);
        // Another region falls back to the US rate.
        i.destination = to("US", Some("TX"));
        assert_eq!(quote_cart(&i).unwrap().tax_total.amount, 45 + 90);
        // No destination: no tax, and a method cannot be quoted.
        i.destination = None;
        assert_eq!(quote_cart(&i), Err(PricingError::MissingDestination));
        i.shipping_method = None;
        let q = quote_cart(&i).unwrap();
        assert_eq!((q.tax_total.amount, q.grand_total.amount), (0, 2700));
    }

    #[test]
    fn inclusive_tax_is_contained_and_adds_nothing() {
        let mut i = input(vec![line("A", 2, 1200, "c")], vec![]);
        i.tax = TaxConfig {
            prices_include_tax: true,
            rates: vec![TaxRate {
                country: "DE".into(),
                region: None,
                basis_points: 2000,
            }],
        };
        i.destination = to("DE", None);
        let q = quote_cart(&i).unwrap();
        assert!(q.prices_include_tax);
        assert_eq!(q.tax_total.amount, 400);
        assert_eq!(q.lines[0].line_total.amount, 2400);
        assert_eq!(q.grand_total.amount, 2400);
        i.destination = None;
        assert_eq!(quote_cart(&i).unwrap().tax_total.amount, 0);
    }

    #[test]
    fn shipping_is_free_from_the_discounted_subtotal_and_may_refuse() {
        let mut i = input(
            vec![line("A", 1, 5000, "c")],
            vec![promo("one", None, off(100), Target::Cart {})],
        );
        i.shipping_method = Some(ShippingMethod {
            id: "standard".into(),
            name: "Standard".into(),
            countries: vec!["US".into()],
            rates: BTreeMap::from([(usd(), 500)]),
            free_above: BTreeMap::from([(usd(), 4900)]),
        });
        i.destination = to("US", None);
        assert_eq!(
            quote_cart(&i).unwrap().shipping.amount,
            0,
            "49.00 after discount"
        );
        i.promotions[0].promotion.discount = off(101);
        assert_eq!(quote_cart(&i).unwrap().shipping.amount, 500);
        i.destination = to("FR", None);
        assert_eq!(
            quote_cart(&i),
            Err(PricingError::Shipping {
                refusal: ShippingRefusal::NotToCountry
            })
        );
    }

    fn method(id: &str, countries: &[&str], rate: i64, free_above: Option<i64>) -> ShippingMethod {
        ShippingMethod {
            id: id.into(),
            name: format!("Method {id}"),
            countries: countries.iter().map(|c| c.to_string()).collect(),
            rates: BTreeMap::from([(usd(), rate)]),
            free_above: free_above
                .map(|a| BTreeMap::from([(usd(), a)]))
                .unwrap_or_default(),
        }
    }

    #[test]
    fn shipping_options_are_the_methods_that_ship_priced_as_checkout_would() {
        let eur = Currency::parse("EUR").unwrap();
        let methods = vec![
            method("standard", &["US", "CA"], 500, Some(5000)),
            method("express", &[], 1500, None),
            method("eu-only", &["DE"], 300, None),
            ShippingMethod {
                rates: BTreeMap::from([(eur, 450)]),
                ..method("euro-rate", &[], 0, None)
            },
        ];
        let options = |i: &PricingInput| {
            let q = quote_cart(i).unwrap();
            shipping_options(&methods, i.destination.as_ref(), &q)
                .into_iter()
                .map(|o| (o.id, o.amount.amount))
                .collect::<Vec<_>>()
        };
        let own = |id: &str| (id.to_string(), 0);
        let mut i = input(vec![line("A", 2, 2000, "c")], vec![]);
        assert_eq!(options(&i), [], "no destination, no options");
        i.destination = to("us", Some("NY"));
        assert_eq!(
            options(&i),
            [("standard".into(), 500), ("express".into(), 1500)],
            "country and currency filter, case-insensitive country"
        );
        i.destination = to("DE", None);
        assert_eq!(
            options(&i),
            [("express".into(), 1500), ("eu-only".into(), 300)]
        );
        // From the threshold (after discounts) standard is free.
        i.destination = to("US", None);
        i.lines = vec![line("A", 1, 5100, "c")];
        assert_eq!(options(&i)[0], own("standard"));
        i.promotions = vec![candidate(promo("p", None, off(101), Target::Cart {}))];
        assert_eq!(
            options(&i)[0],
            ("standard".into(), 500),
            "50.99 − 1.01 < 50.00"
        );
        // Every option's amount is what quoting the cart with it charges.
        for lines in [
            vec![],
            vec![line("A", 1, 4999, "c")],
            vec![line("A", 3, 2000, "c")],
        ] {
            i.lines = lines;
            let q = quote_cart(&i).unwrap();
            let found = shipping_options(&methods, i.destination.as_ref(), &q);
            assert_eq!(found.len(), 2);
            for o in found {
                let chosen = PricingInput {
                    shipping_method: methods.iter().find(|m| m.id == o.id).cloned(),
                    ..i.clone()
                };
                assert_eq!(quote_cart(&chosen).unwrap().shipping, o.amount, "{}", o.id);
                assert_eq!(o.name, format!("Method {}", o.id));
            }
        }
        // The cart's own method choice does not change the options.
        i.shipping_method = Some(methods[1].clone());
        let q = quote_cart(&i).unwrap();
        assert_eq!(
            shipping_options(&methods, i.destination.as_ref(), &q).len(),
            2
        );
    }

    #[test]
    fn invalid_lines_are_refused() {
        for (bad, index) in [
            (line("A", 0, 100, "c"), 1),
            (line("A", 100, 100, "c"), 1),
            (line("A", 1, -1, "c"), 1),
            (line("A", 1, PRICE_MAX + 1, "c"), 1),
        ] {
            assert_eq!(
                quote_cart(&input(vec![line("OK", 1, 1, "c"), bad], vec![])),
                Err(PricingError::InvalidLine { index })
            );
        }
        let q = quote_cart(&input(
            vec![],
            vec![promo("x", Some("X-1"), pct(1), Target::Cart {})],
        ))
        .unwrap();
        assert_eq!(q.grand_total.amount, 0);
        assert_eq!(
            q.refused_coupons[0].refusal,
            PromotionRefusal::NoEligibleItems
        );
    }

    #[test]
    fn quotes_serialize_with_flat_refusals() {
        let q = quote_cart(&input(
            vec![line("A", 1, 100, "c")],
            vec![promo(
                "x",
                Some("GARDEN"),
                pct(1),
                Target::Sku { sku: "B".into() },
            )],
        ))
        .unwrap();
        let json = serde_json::to_value(&q).unwrap();
        assert_eq!(
            json["refused_coupons"],
            serde_json::json!([{"code": "GARDEN", "reason": "no_eligible_items"}])
        );
        assert_eq!(
            json["grand_total"],
            serde_json::json!({"amount": 100, "currency": "USD"})
        );
        let back: Quote = serde_json::from_value(json).unwrap();
        assert_eq!(back, q);
        assert_eq!(
            serde_json::to_string(&PricingError::Shipping {
                refusal: ShippingRefusal::NotInCurrency
            })
            .unwrap(),
            r#"{"error":"shipping","refusal":"not_in_currency"}"#
        );
    }

    fn arb_promotion() -> impl Strategy<Value = PromotionCandidate> {
        let discount = prop_oneof![(1u32..=10_000).prop_map(pct), (1i64..20_000).prop_map(off),];
        let target = prop_oneof![
            Just(Target::Cart {}),
            prop::sample::select(vec!["A", "B", "C", "D"])
                .prop_map(|s| Target::Sku { sku: s.into() }),
            prop::sample::select(vec!["x", "y"])
                .prop_map(|c| Target::Category { category: c.into() }),
        ];
        (
            0u8..6,
            prop::option::of(prop::sample::select(vec!["CODE-A", "CODE-B"])),
            discount,
            target,
            prop::option::of(0i64..10_000),
            any::<bool>(),
        )
            .prop_map(|(id, code, discount, target, min, active)| {
                let mut p = promo(&format!("p{id}"), code, discount, target);
                p.active = active;
                if let Some(min) = min {
                    p.min_subtotal = BTreeMap::from([(usd(), min)]);
                }
                candidate(p)
            })
    }

    fn arb_input() -> impl Strategy<Value = PricingInput> {
        let line = (
            prop::sample::select(vec!["A", "B", "C", "D", "E"]),
            1i64..=99,
            0i64..50_000,
            prop::sample::select(vec!["x", "y", "z"]),
        )
            .prop_map(|(s, q, p, c)| line(s, q, p, c));
        (
            prop::collection::vec(line, 0..7),
            prop::collection::vec(arb_promotion(), 0..6),
            any::<bool>(),
            0u32..=10_000,
            prop::option::of(0i64..2_000),
            any::<bool>(),
        )
            .prop_map(
                |(lines, promotions, inclusive, bp, ship, dest)| PricingInput {
                    currency: usd(),
                    lines,
                    promotions,
                    tax: TaxConfig {
                        prices_include_tax: inclusive,
                        rates: vec![TaxRate {
                            country: "US".into(),
                            region: None,
                            basis_points: bp,
                        }],
                    },
                    shipping_method: ship.filter(|_| dest).map(|rate| ShippingMethod {
                        id: "standard".into(),
                        name: "Standard".into(),
                        countries: vec![],
                        rates: BTreeMap::from([(usd(), rate)]),
                        free_above: BTreeMap::from([(usd(), 100_000)]),
                    }),
                    destination: if dest { to("US", None) } else { None },
                    now_ms: 0,
                },
            )
    }

    proptest! {
        #[test]
        fn allocation_is_exact_and_bounded(
            amount in -10i64..2_000_000,
            weights in prop::collection::vec(0i64..1_000_000, 0..10),
        ) {
            let shares = allocate_proportionally(amount, &weights);
            let total: i64 = weights.iter().sum();
            prop_assert_eq!(shares.len(), weights.len());
            prop_assert_eq!(shares.iter().sum::<i64>(), amount.clamp(0, total));
            for (s, w) in shares.iter().zip(&weights) {
                prop_assert!(0 <= *s && s <= w);
            }
        }

        #[test]
        fn totals_add_up(input in arb_input()) {
            let q = quote_cart(&input).unwrap();
            let sum = |f: fn(&QuotedLine) -> i64| q.lines.iter().map(f).sum::<i64>();
            prop_assert_eq!(sum(|l| l.line_subtotal.amount), q.subtotal.amount);
            prop_assert_eq!(sum(|l| l.discount.amount), q.discount_total.amount);
            prop_assert_eq!(
                q.applied.iter().map(|a| a.amount.amount).sum::<i64>(),
                q.discount_total.amount
            );
            prop_assert!(q.applied.iter().all(|a| a.amount.amount > 0));
            prop_assert_eq!(sum(|l| l.tax.amount), q.tax_total.amount);
            prop_assert_eq!(sum(|l| l.line_total.amount) + q.shipping.amount, q.grand_total.amount);
            let added = if q.prices_include_tax { 0 } else { q.tax_total.amount };
            prop_assert_eq!(
                q.grand_total.amount,
                q.subtotal.amount - q.discount_total.amount + q.shipping.amount + added
            );
            prop_assert!(q.grand_total.amount >= 0);
            for l in &q.lines {
                prop_assert_eq!(l.line_subtotal.amount, l.unit_price.amount * l.quantity);
                prop_assert!(0 <= l.discount.amount && l.discount.amount <= l.line_subtotal.amount);
                prop_assert!(l.tax.amount >= 0 && l.line_total.amount >= 0);
                prop_assert_eq!(l.line_subtotal.currency, usd());
            }
            if input.destination.is_none() {
                prop_assert_eq!(q.tax_total.amount, 0);
            }
            // Each promotion shows up at most once, applied or refused.
            let mut ids: Vec<_> = q.applied.iter().map(|a| a.id.clone()).collect();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len(), q.applied.len());
            // Pricing is deterministic and ignores the order promotions come in.
            let mut reversed = input.clone();
            reversed.promotions.reverse();
            let again = quote_cart(&reversed).unwrap();
            if input.promotions.iter().map(|c| &c.promotion.id).collect::<BTreeSet<_>>().len()
                == input.promotions.len()
            {
                prop_assert_eq!(again, q);
            }
        }
    }
}
