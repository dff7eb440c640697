//! The checkout plan: every rule that decides, before anything is taken,
//! whether a cart may be checked out and what the checkout commits to.
//!
//! [`plan`] applies them in this order; the first that fails is the
//! [`Refusal`]:
//!
//! 1. **The body.** The email ([`parse_email`]), the shipping address
//!    ([`ShippingAddressInput::validate`], fields prefixed
//!    `shipping_address.`), the payment method (only `card`) and the card
//!    token (1–255 bytes): every problem at once → [`Refusal::Invalid`].
//! 2. **The cart** has lines → else [`Refusal::CartEmpty`].
//! 3. **Prices.** Every line's SKU has a price in the cart's currency in
//!    the live catalog → else [`Refusal::NotSoldInCurrency`] (the first
//!    such line).
//! 4. **Shipping.** The chosen method is one of the store's → else
//!    [`Refusal::UnknownShippingMethod`].
//! 5. **The quote.** [`quote_cart`] with the automatic promotions and the
//!    cart's coupons (redemption counts as the store holds them, by this
//!    customer's email), the store's tax and the method, to the address →
//!    its errors are [`Refusal::Unpriced`].
//! 6. **The total** is exactly `expected_total` (amount and currency) →
//!    else [`Refusal::TotalChanged`] with the new quote: checkout charges
//!    the total the shopper saw or nothing.
//! 7. **The order**: [`Order::from_quote`] with the caller's order id,
//!    pending payment, the store's provider; the plan keeps the order
//!    token, the provider settings, the card token and the holds' TTL.
//!
//! What this module must not do: look anything up (the caller passes the
//! cart, the prices it found and the store's state), generate ids, read a
//! clock, or know about HTTP.

use super::{CheckoutPlan, InvalidField, PointsPlan, Refusal};
use crate::cart::Cart;
use crate::catalog::FieldError;
use crate::member::ledger_name;
use crate::money::Currency;
use crate::order::OrderPoints;
use crate::order::{parse_email, Order, OrderDetails, Payment, ShippingAddressInput};
use crate::points::Programme;
use crate::pricing::Quote;
use crate::pricing::{cart_lines, quote_cart, Destination, ListedSku, PricingInput};
use crate::store::StoreState;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Longest card token, in bytes.
pub const PAYMENT_TOKEN_MAX: usize = 255;

/// The body of `POST /v1/carts/{id}/checkout`, read strictly: an unknown field
/// is 400 `unknown_field`, a missing field 400 `missing_field`, a value of the
/// wrong JSON type 400 `invalid_type` (each naming `field`, e.g.
/// `payment.token`). A top-level price, total or status key (`price`, `prices`,
/// `unit_price`, `amount`, `total`, `line_total`, `subtotal`, `grand_total`,
/// `discount`, `discount_total`, `tax`, `tax_total`, `shipping`, `status`) is
/// refused first, with 422 `client_price_refused`: prices come from the catalog
/// and the store. The email, the address and the payment are then checked
/// together and every problem is reported at once (422 `validation_failed`).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "CheckoutRequest", extend("examples" = [{"email": "ada@example.com", "shipping_address": {"name": "Ada Lovelace", "line1": "1 Market St", "line2": "Suite 300", "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"}, "shipping_method": "standard", "payment": {"method": "card", "token": "tok_visa"}, "expected_total": {"amount": 5325, "currency": "USD"}}])))]
#[serde(deny_unknown_fields)]
pub struct CheckoutInput {
    /// The shopper's email address, for the order and for promotions'
    /// per-customer limits. Trimmed; it must be one `@` between a non-empty
    /// local part of at most 64 bytes and a domain of at least two non-empty
    /// dot-separated labels, without spaces, control characters or
    /// `<>()[],;:"\`, at most 254 bytes, else 422 `invalid_email` (field
    /// `email`). The domain is lowercased; the local part is kept as given.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["ada@example.com"])))]
    pub email: String,
    pub shipping_address: ShippingAddressInput,
    /// The id of one of the store's shipping methods (`GET /admin/v1/store`),
    /// as checkout reads them from the store object. An id the store does not
    /// have is 400 `unknown_shipping_method`; a method that does not ship to
    /// the address's country, or has no rate in the cart's currency, is 422
    /// `validation_failed` with error code `shipping_not_available` (field
    /// `shipping_method`).
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["standard"])))]
    pub shipping_method: String,
    pub payment: PaymentInput,
    pub expected_total: ExpectedTotal,
}

/// How the shopper pays. Unknown fields are refused (400 `unknown_field`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "CheckoutPayment", extend("examples" = [{"method": "card", "token": "tok_visa"}, {"method": "points_and_card", "points": 2000, "token": "tok_visa"}, {"method": "points"}])))]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    /// `card`: a card charged through the store's payment provider;
    /// `points`: the member's points pay the whole total (no provider is
    /// asked); `points_and_card`: `points` pay part and the card the rest.
    /// The points methods need the member's token (`Member-Token`, else 401
    /// `member_token_required`) and a store with a points programme that
    /// pays in the cart's currency (else 422 `points_not_accepted`, field
    /// `payment.method`). Any other value is 422
    /// `unsupported_payment_method` (field `payment.method`).
    #[cfg_attr(feature = "openapi", schemars(extend("enum" = ["card", "points", "points_and_card"])))]
    pub method: String,
    /// The provider's card token, as the shopper's frontend obtained it from
    /// the provider (never card numbers). Empty or longer than 255 bytes is 422
    /// `invalid_payment_token` (field `payment.token`). With the `test`
    /// provider the token decides the outcome: `tok_visa`, `tok_mastercard` and
    /// `pm_card_visa` are paid; `tok_decline` and `pm_card_chargeDeclined` are
    /// declined (402 `payment_declined`, `decline_code: card_declined`);
    /// `tok_timeout` gets no answer (503 `payment_unavailable`); any other
    /// token is declined with `decline_code: invalid_payment_token`. With
    /// `stripe` it is a PaymentMethod id (`pm_…`). Required by `card` and
    /// `points_and_card`, refused by `points` (422 `invalid_payment_token`).
    #[cfg_attr(feature = "openapi", schemars(length(min = 1), extend("examples" = ["tok_visa"])))]
    #[serde(default)]
    pub token: Option<String>,
    /// The points to spend. `points_and_card`: required, a multiple of the
    /// programme's points per minor unit (so they pay whole minor units),
    /// leaving at least one minor unit for the card. `points`: optional, and
    /// if given exactly the total's price in points. `card`: refused. Else
    /// 422 `invalid_points` (field `payment.points`). Not enough spendable
    /// points is 409 `insufficient_points`, with `available`.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1), extend("format" = "int64", "examples" = [2000])))]
    #[serde(default)]
    pub points: Option<i64>,
}

/// How a checkout pays, once the body's payment is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Card,
    Points,
    PointsAndCard,
}

/// The grand total the shopper saw and confirmed: checkout charges exactly this
/// or nothing. It must equal the `grand_total` checkout computes (amount and
/// currency), else 409 `total_changed` with the new `quote`. Read it from `GET
/// /v1/carts/{id}` with the same `country`, `region` and `shipping_method`
/// (that read uses the store's published copy, which may lag the store by up to
/// about 60 seconds, and no redemption counts; checkout uses the store itself).
/// Unknown fields are refused (400 `unknown_field`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"amount": 5325, "currency": "USD"}])))]
#[serde(deny_unknown_fields)]
pub struct ExpectedTotal {
    /// The grand total in minor units of `currency`. A fractional number or a
    /// string is 400 `invalid_type`.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64"), extend("examples" = [5325])))]
    pub amount: i64,
    /// The cart's currency code (any case). Another currency, or a value that
    /// is not a known currency code, is 409 `total_changed`.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["USD"])))]
    pub currency: String,
}

/// Everything a checkout is planned from. The caller looked it up and
/// generated the ids; nothing here is read from anywhere else.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// The id of the store the cart belongs to.
    pub store_id: &'a str,
    pub cart: &'a Cart,
    /// The cart's SKUs in the live catalog (a SKU missing is not for sale).
    pub listed: &'a BTreeMap<String, ListedSku>,
    /// The store's configuration and promotions, with redemption counts
    /// (the customer's ones for this checkout's email).
    pub store: &'a StoreState,
    pub input: CheckoutInput,
    /// The new order's id (`ord_…`).
    pub order_id: String,
    /// The secret the shopper will read the order with.
    pub order_token: String,
    /// The member the request's member token signed in, if any: their
    /// points may pay, and the card part earns for them.
    pub member: Option<String>,
    pub hold_ttl_ms: i64,
    pub now_ms: i64,
}

fn invalid(field: &str, code: &str, message: &str) -> InvalidField {
    InvalidField {
        field: field.into(),
        code: code.into(),
        message: message.into(),
    }
}

impl From<FieldError> for InvalidField {
    fn from(e: FieldError) -> Self {
        InvalidField {
            field: e.field,
            code: e.code.into(),
            message: e.message,
        }
    }
}

/// Plans the checkout of `p.cart`, or says why it cannot happen (see the
/// module doc for the rules and their order).
pub fn plan(p: PlanInput<'_>) -> Result<CheckoutPlan, Refusal> {
    let PlanInput {
        store_id,
        cart,
        listed,
        store,
        input,
        order_id,
        order_token,
        member,
        hold_ttl_ms,
        now_ms,
    } = p;
    // 1. The body: every problem at once.
    let mut errors = Vec::new();
    let email = parse_email(&input.email).map_err(|_| {
        errors.push(invalid(
            "email",
            "invalid_email",
            "Not a valid email address.",
        ))
    });
    let address = input.shipping_address.validate().map_err(|found| {
        errors.extend(found.into_iter().map(|e| InvalidField {
            field: format!("shipping_address.{}", e.field),
            ..e.into()
        }))
    });
    let method = match input.payment.method.as_str() {
        "card" => Some(Method::Card),
        "points" => Some(Method::Points),
        "points_and_card" => Some(Method::PointsAndCard),
        _ => {
            errors.push(invalid(
                "payment.method",
                "unsupported_payment_method",
                "The payment method is `card`, `points` or `points_and_card`.",
            ));
            None
        }
    };
    let token = input.payment.token.clone().unwrap_or_default();
    let token_ok = match method {
        Some(Method::Points) => input.payment.token.is_none(),
        _ => !token.is_empty() && token.len() <= PAYMENT_TOKEN_MAX,
    };
    if !token_ok {
        errors.push(invalid(
            "payment.token",
            "invalid_payment_token",
            match method {
                Some(Method::Points) => "A points payment takes no card token.",
                _ => "The card token is missing or too long.",
            },
        ));
    }
    let points_ok = match (method, input.payment.points) {
        (Some(Method::Card), Some(_)) => false,
        (Some(Method::PointsAndCard), None) => false,
        (_, Some(n)) => n > 0,
        _ => true,
    };
    if !points_ok {
        errors.push(invalid(
            "payment.points",
            "invalid_points",
            "Points are named by the points methods only, and are at least 1.",
        ));
    }
    let (Ok(email), Ok(address), Some(paying), true) = (email, address, method, errors.is_empty())
    else {
        return Err(Refusal::Invalid { errors });
    };
    // A points payment needs a signed-in member (the Worker verified the
    // token); said before anything about the cart.
    if paying != Method::Card && member.is_none() {
        return Err(Refusal::MemberRequired);
    }
    // 2. The cart.
    if cart.lines.is_empty() {
        return Err(Refusal::CartEmpty);
    }
    // 3. Every line priced in the cart's currency.
    let lines = cart_lines(cart, listed);
    if let Some(line) = cart
        .lines
        .iter()
        .find(|l| !lines.iter().any(|p| p.sku == l.sku))
    {
        return Err(Refusal::NotSoldInCurrency {
            sku: line.sku.clone(),
            currency: cart.currency,
        });
    }
    // 4. The shipping method.
    let Some(method) = store
        .config
        .shipping_method(&input.shipping_method)
        .cloned()
    else {
        return Err(Refusal::UnknownShippingMethod);
    };
    // 5. The quote.
    let (promotions, _unknown) = store.candidates(&cart.coupons);
    let quote = quote_cart(&PricingInput {
        currency: cart.currency,
        lines,
        promotions,
        tax: store.config.tax.clone(),
        shipping_method: Some(method),
        destination: Some(Destination {
            country: address.country.clone(),
            region: address.region.clone(),
        }),
        now_ms,
    })
    .map_err(|error| Refusal::Unpriced { error })?;
    // 6. Exactly the total the shopper saw.
    let expected_currency = Currency::parse(&input.expected_total.currency).ok();
    if expected_currency != Some(quote.currency)
        || input.expected_total.amount != quote.grand_total.amount
    {
        return Err(Refusal::TotalChanged {
            quote: Box::new(quote),
        });
    }
    // 7. The points: what they pay and what the card part earns.
    let (points, points_plan) = match (&member, &store.config.points) {
        (Some(member), Some(programme)) => {
            let (spent, value) = points_part(paying, input.payment.points, programme, &quote)?;
            let card = quote.grand_total.amount - value;
            let earned = earned(programme, &quote, listed, card);
            (
                Some(OrderPoints {
                    member: member.clone(),
                    unit: programme.unit.clone(),
                    spent,
                    value,
                    earned,
                }),
                Some(PointsPlan {
                    ledger: ledger_name(store_id, member),
                    programme: programme.clone(),
                }),
            )
        }
        _ if paying != Method::Card => {
            return Err(Refusal::Invalid {
                errors: vec![invalid(
                    "payment.method",
                    "points_not_accepted",
                    "This store has no points programme.",
                )],
            })
        }
        _ => (None, None),
    };
    // 8. The order.
    let mut order = Order::from_quote(
        OrderDetails {
            id: order_id,
            cart_id: cart.id.clone(),
            store: store_id.to_string(),
            email,
            shipping_address: address,
            shipping_method: input.shipping_method,
            payment: Payment {
                provider: store.config.payment.provider_name().into(),
                reference: String::new(),
            },
        },
        &quote,
        now_ms,
    );
    order.points = points;
    if order.card_amount() == 0 {
        order.payment.provider = unpaid_provider(&order).into();
    }
    Ok(CheckoutPlan {
        order,
        order_token,
        payment: store.config.payment.clone(),
        payment_token: token,
        points: points_plan,
        hold_ttl_ms,
        held_by_cart: cart
            .lines
            .iter()
            .filter(|l| l.hold_expires_at_ms >= now_ms + hold_ttl_ms / 2)
            .map(|l| l.sku.clone())
            .collect(),
    })
}

/// The provider name of an order the points paid in full (no provider
/// was asked).
pub const POINTS_PROVIDER: &str = "points";
/// The provider name of an order with nothing to pay (a total of 0, no
/// points): no provider is asked, nothing is charged.
pub const NO_PROVIDER: &str = "none";

/// The provider name of an order the card pays nothing of.
pub fn unpaid_provider(order: &Order) -> &'static str {
    if order.points.as_ref().is_some_and(|p| p.spent > 0) {
        POINTS_PROVIDER
    } else {
        NO_PROVIDER
    }
}

fn points_refusal(message: String) -> Refusal {
    Refusal::Invalid {
        errors: vec![invalid("payment.points", "invalid_points", &message)],
    }
}

/// The points a payment spends and the money they pay (minor units), by
/// the programme's rate in the quote's currency.
fn points_part(
    method: Method,
    asked: Option<i64>,
    programme: &Programme,
    quote: &Quote,
) -> Result<(i64, i64), Refusal> {
    if method == Method::Card {
        return Ok((0, 0));
    }
    let total = quote.grand_total.amount;
    let Some(rate) = programme.points_per_minor.get(&quote.currency).copied() else {
        return Err(Refusal::Invalid {
            errors: vec![invalid(
                "payment.method",
                "points_not_accepted",
                &format!("Points do not pay in {}.", quote.currency),
            )],
        });
    };
    let rate = i64::from(rate);
    match method {
        Method::Points => {
            let whole = programme
                .points_for(quote.currency, total)
                .ok_or_else(|| points_refusal("The total is too large for points.".into()))?;
            match asked {
                Some(n) if n != whole => Err(points_refusal(format!(
                    "A points payment spends the whole total: {whole}."
                ))),
                _ => Ok((whole, total)),
            }
        }
        _ => {
            let n = asked.unwrap_or(0);
            match programme.money_for(quote.currency, n) {
                Some(value) if value > 0 && value < total => Ok((n, value)),
                Some(_) => Err(points_refusal(format!(
                    "Points must leave the card at least one minor unit: at most {}.",
                    (total - 1).max(0) * rate
                ))),
                None => Err(points_refusal(format!(
                    "Points pay whole minor units: a multiple of {rate}."
                ))),
            }
        }
    }
}

/// What the part of `quote` paid by card (`card` minor units) earns: the
/// card's share of each line's amount after discounts (rounded down),
/// at the rate of the line's category.
fn earned(
    programme: &Programme,
    quote: &Quote,
    listed: &BTreeMap<String, ListedSku>,
    card: i64,
) -> i64 {
    let total = quote.grand_total.amount;
    if total <= 0 || card <= 0 {
        return 0;
    }
    let lines: Vec<(&str, i64)> = quote
        .lines
        .iter()
        .map(|l| {
            let goods = l.unit_price.amount * l.quantity - l.discount.amount;
            let paid = i128::from(goods.max(0)) * i128::from(card) / i128::from(total);
            let category = listed.get(&l.sku).map_or("", |s| s.category.as_str());
            (category, i64::try_from(paid).unwrap_or(0))
        })
        .collect();
    programme.earned(quote.currency, &lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;
    use crate::order::{OrderStatus, ShippingAddressInput};
    use crate::pricing::PricingError;
    use crate::promotion::{Discount, Promotion, Target, PROMOTION_SCHEMA};
    use crate::shipping::ShippingRefusal;
    use crate::store::{PaymentSettings, PromotionState, StoreConfig};

    const NOW: i64 = 1_700_000_000_000;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn cart(lines: &[(&str, i64)], coupons: &[&str]) -> Cart {
        let mut c = Cart::new("crt_1".into(), usd(), NOW);
        for (sku, quantity) in lines {
            c.set_line(sku, *quantity, NOW + 60_000, NOW);
        }
        c.coupons = coupons.iter().map(|c| c.to_string()).collect();
        c
    }

    fn listed(entries: &[(&str, &str, i64)]) -> BTreeMap<String, ListedSku> {
        entries
            .iter()
            .map(|(sku, currency, amount)| {
                (
                    sku.to_string(),
                    ListedSku {
                        prices: BTreeMap::from([(Currency::parse(currency).unwrap(), *amount)]),
                        category: "kitchen".into(),
                    },
                )
            })
            .collect()
    }

    fn store(promotions: Vec<PromotionState>) -> StoreState {
        StoreState {
            config: StoreConfig::default_config(),
            promotions,
        }
    }

    fn coupon(code: &str, usage_limit: Option<u32>, redemptions: u32) -> PromotionState {
        PromotionState {
            promotion: Promotion {
                schema: PROMOTION_SCHEMA,
                id: code.to_ascii_lowercase(),
                code: Some(code.into()),
                description: String::new(),
                discount: Discount::Percentage { basis_points: 1000 },
                target: Target::Cart {},
                min_subtotal: BTreeMap::new(),
                starts_at_ms: None,
                ends_at_ms: None,
                usage_limit,
                per_customer_limit: None,
                active: true,
            },
            redemptions,
            customer_redemptions: 0,
        }
    }

    fn address() -> ShippingAddressInput {
        ShippingAddressInput {
            name: "Ada Lovelace".into(),
            line1: "1 Main St".into(),
            city: "New York".into(),
            region: Some("NY".into()),
            postal_code: "10001".into(),
            country: "us".into(),
            ..Default::default()
        }
    }

    fn input(amount: i64) -> CheckoutInput {
        CheckoutInput {
            email: " ada@Example.COM ".into(),
            shipping_address: address(),
            shipping_method: "standard".into(),
            payment: PaymentInput {
                method: "card".into(),
                token: Some("tok_visa".into()),
                points: None,
            },
            expected_total: ExpectedTotal {
                amount,
                currency: "USD".into(),
            },
        }
    }

    fn run(
        cart: &Cart,
        listed: &BTreeMap<String, ListedSku>,
        store: &StoreState,
        input: CheckoutInput,
    ) -> Result<CheckoutPlan, Refusal> {
        run_as(cart, listed, store, input, None)
    }

    fn run_as(
        cart: &Cart,
        listed: &BTreeMap<String, ListedSku>,
        store: &StoreState,
        input: CheckoutInput,
        member: Option<&str>,
    ) -> Result<CheckoutPlan, Refusal> {
        plan(PlanInput {
            store_id: "bank",
            cart,
            listed,
            store,
            input,
            order_id: "ord_1".into(),
            order_token: "secret".into(),
            member: member.map(str::to_string),
            hold_ttl_ms: 600_000,
            now_ms: NOW,
        })
    }

    #[test]
    fn a_confirmed_total_plans_the_order_from_the_quote() {
        // 2 × 12.50 + 1 × 9.99 = 34.99, below 50.00: standard shipping 4.99.
        let c = cart(&[("A", 2), ("B", 1)], &[]);
        let l = listed(&[("A", "USD", 1250), ("B", "USD", 999)]);
        let p = run(&c, &l, &store(vec![]), input(3499 + 499)).unwrap();
        assert_eq!(p.order.id, "ord_1");
        assert_eq!(p.order.cart_id, "crt_1");
        assert_eq!(
            p.order.store, "bank",
            "the order belongs to the cart's store"
        );
        assert_eq!(p.order.email, "ada@example.com");
        assert_eq!(p.order.shipping_address.country, "US");
        assert_eq!(p.order.status, OrderStatus::PendingPayment);
        assert_eq!(p.order.created_at_ms, NOW);
        assert_eq!(p.order.payment.provider, "test");
        assert_eq!(p.order.payment.reference, "");
        assert_eq!(p.order.totals.grand_total, 3998);
        assert_eq!(p.order.totals.shipping, 499);
        let lines: Vec<_> = p
            .order
            .lines
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity, l.unit_price))
            .collect();
        assert_eq!(lines, [("A", 2, 1250), ("B", 1, 999)]);
        assert_eq!(p.order_token, "secret");
        assert_eq!(p.payment, PaymentSettings::Test {});
        assert_eq!(p.payment_token, "tok_visa");
        assert_eq!(p.hold_ttl_ms, 600_000);
        assert!(!p.redeems());
        // Paid: the provider's reference and the status history.
        let paid = p.paid_order("test_ord_1", NOW + 5).unwrap();
        assert_eq!(paid.payment.reference, "test_ord_1");
        assert_eq!(paid.status, OrderStatus::Paid);
        assert_eq!(paid.history.last().unwrap().at_ms, NOW + 5);
    }

    #[test]
    fn lines_whose_cart_hold_lasts_half_the_ttl_are_not_held_again() {
        let mut c = cart(&[("A", 1), ("B", 2), ("C", 1)], &[]);
        // A: 5 min left of a 10 min TTL (exactly half), B: a moment less,
        // C: lapsed.
        c.refreshed("A", 1, NOW + 300_000);
        c.refreshed("B", 2, NOW + 299_999);
        c.refreshed("C", 1, NOW - 1);
        let l = listed(&[("A", "USD", 1000), ("B", "USD", 1000), ("C", "USD", 1000)]);
        let p = run(&c, &l, &store(vec![]), input(4000 + 499)).unwrap();
        assert_eq!(p.held_by_cart, ["A"]);
        let held: Vec<_> = p.lines_to_hold().map(|l| l.sku.as_str()).collect();
        assert_eq!(held, ["B", "C"]);
        // A record of an earlier version names none: every line is held.
        let mut old = serde_json::to_value(&p).unwrap();
        old.as_object_mut().unwrap().remove("held_by_cart");
        let old: CheckoutPlan = serde_json::from_value(old).unwrap();
        assert_eq!(old.lines_to_hold().count(), 3);
        // Nothing to hold when every hold is fresh.
        let fresh = cart(&[("A", 1)], &[]);
        let mut fresh = fresh;
        fresh.refreshed("A", 1, NOW + 600_000);
        let p = run(&fresh, &l, &store(vec![]), input(1000 + 499)).unwrap();
        assert_eq!(p.lines_to_hold().count(), 0);
    }

    #[test]
    fn coupons_are_priced_with_the_store_counts_and_carried_to_the_order() {
        let c = cart(&[("A", 4)], &["TENOFF"]);
        let l = listed(&[("A", "USD", 1250)]);
        // 50.00 − 10 % = 45.00, below 50.00 after discounts: shipping 4.99.
        let s = store(vec![coupon("TENOFF", Some(5), 4)]);
        let p = run(&c, &l, &s, input(4500 + 499)).unwrap();
        assert!(p.redeems());
        assert_eq!(p.order.promotions[0].id, "tenoff");
        assert_eq!(p.order.totals.discount_total, 500);
        // Exhausted meanwhile: the coupon no longer applies, so the total moved.
        let s = store(vec![coupon("TENOFF", Some(5), 5)]);
        let Err(Refusal::TotalChanged { quote }) = run(&c, &l, &s, input(4500 + 499)) else {
            panic!("an exhausted coupon changes the total");
        };
        assert_eq!(quote.grand_total, Money::new(5000, usd()));
        assert_eq!(quote.refused_coupons[0].code, "TENOFF");
    }

    /// Each refusal, in the order the rules apply.
    #[test]
    fn every_refusal() {
        let c = cart(&[("A", 1)], &[]);
        let l = listed(&[("A", "USD", 1000)]);
        let s = store(vec![]);
        let total = 1000 + 499;
        assert!(run(&c, &l, &s, input(total)).is_ok());

        // 1. Every field problem at once, email first, prefixed address fields.
        let mut bad = input(total);
        bad.email = "nope".into();
        bad.shipping_address.city = " ".into();
        bad.shipping_address.country = "USA".into();
        bad.payment.method = "cash".into();
        bad.payment.token = Some("t".repeat(PAYMENT_TOKEN_MAX + 1));
        let Err(Refusal::Invalid { errors }) = run(&c, &l, &s, bad) else {
            panic!("invalid body");
        };
        let found: Vec<_> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("email", "invalid_email"),
                ("shipping_address.city", "required"),
                ("shipping_address.country", "invalid_country"),
                ("payment.method", "unsupported_payment_method"),
                ("payment.token", "invalid_payment_token"),
            ]
        );
        let mut no_token = input(total);
        no_token.payment.token = None;
        assert!(matches!(
            run(&c, &l, &s, no_token),
            Err(Refusal::Invalid { errors }) if errors.len() == 1 && errors[0].field == "payment.token"
        ));
        // The body is checked before the cart.
        let mut bad_email = input(total);
        bad_email.email = String::new();
        assert!(matches!(
            run(&cart(&[], &[]), &l, &s, bad_email),
            Err(Refusal::Invalid { .. })
        ));

        // 2. An empty cart.
        assert_eq!(
            run(&cart(&[], &[]), &l, &s, input(total)),
            Err(Refusal::CartEmpty)
        );

        // 3. A line without a price in the cart's currency, or not listed.
        let two = cart(&[("A", 1), ("B", 1), ("C", 1)], &[]);
        let eur_only = listed(&[("A", "USD", 1000), ("B", "EUR", 900)]);
        assert_eq!(
            run(&two, &eur_only, &s, input(total)),
            Err(Refusal::NotSoldInCurrency {
                sku: "B".into(),
                currency: usd()
            })
        );
        assert_eq!(
            run(&cart(&[("C", 1)], &[]), &l, &s, input(total)),
            Err(Refusal::NotSoldInCurrency {
                sku: "C".into(),
                currency: usd()
            })
        );

        // 4. A shipping method the store does not have.
        let mut unknown = input(total);
        unknown.shipping_method = "teleport".into();
        assert_eq!(
            run(&c, &l, &s, unknown),
            Err(Refusal::UnknownShippingMethod)
        );

        // 5. A method that does not ship there.
        let mut only_de = store(vec![]);
        only_de.config.shipping_methods[0].countries = vec!["DE".into()];
        assert_eq!(
            run(&c, &l, &only_de, input(total)),
            Err(Refusal::Unpriced {
                error: PricingError::Shipping {
                    refusal: ShippingRefusal::NotToCountry
                }
            })
        );

        // 6. Any other total, or another currency, is a changed total.
        for (amount, currency) in [
            (total - 1, "USD"),
            (total + 1, "USD"),
            (total, "EUR"),
            (total, "XYZ"),
        ] {
            let mut other = input(total);
            other.expected_total = ExpectedTotal {
                amount,
                currency: currency.into(),
            };
            let Err(Refusal::TotalChanged { quote }) = run(&c, &l, &s, other) else {
                panic!("{amount} {currency} is not the total");
            };
            assert_eq!(quote.grand_total, Money::new(total, usd()));
        }
    }

    /// A store whose points pay in USD at 1 point per cent, earning 10
    /// points per dollar (audio ×2), with a 14-day return window.
    fn points_store() -> StoreState {
        let mut s = store(vec![]);
        s.config.points = Some(Programme {
            unit: "points".into(),
            earn_per_unit: 10,
            category_multipliers: BTreeMap::from([("audio".into(), 20_000)]),
            points_per_minor: BTreeMap::from([(usd(), 1)]),
            pending_days: 14,
            expiry_days: None,
            member_key: None,
        });
        s
    }

    fn paying(method: &str, points: Option<i64>, token: Option<&str>, total: i64) -> CheckoutInput {
        let mut i = input(total);
        i.payment = PaymentInput {
            method: method.into(),
            token: token.map(str::to_string),
            points,
        };
        i
    }

    #[test]
    fn points_pay_part_or_all_and_the_card_part_earns() {
        let c = cart(&[("A", 2)], &[]);
        let l = listed(&[("A", "USD", 1250)]);
        let s = points_store();
        let total = 2500 + 499;
        // A member paying by card earns on all of it (goods only: 25.00).
        let p = run_as(&c, &l, &s, input(total), Some("m-1")).unwrap();
        let pts = p.order.points.clone().unwrap();
        assert_eq!((pts.spent, pts.value, pts.earned), (0, 0, 250));
        assert_eq!(p.card_amount(), total);
        assert_eq!(p.points.as_ref().unwrap().ledger, "points:bank:m-1");
        assert_eq!(p.points_spent(), 0);
        // Part by points: 1000 points pay 10.00; the card pays the rest and
        // earns on its share of the goods, 2500 × 1999 / 2999 = 1666 → 166.
        let p = run_as(
            &c,
            &l,
            &s,
            paying("points_and_card", Some(1000), Some("tok_visa"), total),
            Some("m-1"),
        )
        .unwrap();
        let pts = p.order.points.clone().unwrap();
        assert_eq!((pts.spent, pts.value, pts.earned), (1000, 1000, 166));
        assert_eq!(p.card_amount(), total - 1000);
        assert_eq!(p.order.payment.provider, "test");
        // All by points: the whole total, nothing earned, no provider.
        for named in [None, Some(total)] {
            let p = run_as(
                &c,
                &l,
                &s,
                paying("points", named, None, total),
                Some("m-1"),
            )
            .unwrap();
            let pts = p.order.points.clone().unwrap();
            assert_eq!((pts.spent, pts.value, pts.earned), (total, total, 0));
            assert_eq!(p.card_amount(), 0);
            assert_eq!(p.order.payment.provider, POINTS_PROVIDER);
        }
        // Anyone else pays by card and earns nothing.
        let p = run(&c, &l, &s, input(total)).unwrap();
        assert!(p.order.points.is_none() && p.points.is_none());
    }

    #[test]
    fn points_payments_are_refused_when_they_cannot_be_exact() {
        let c = cart(&[("A", 2)], &[]);
        let l = listed(&[("A", "USD", 1250)]);
        let s = points_store();
        let total = 2500 + 499;
        let field = |r: Result<CheckoutPlan, Refusal>| match r {
            Err(Refusal::Invalid { errors }) => (errors[0].field.clone(), errors[0].code.clone()),
            other => panic!("{other:?}"),
        };
        // Without a member: 401 before anything else about the cart.
        assert_eq!(
            run(&c, &l, &s, paying("points", None, None, total)),
            Err(Refusal::MemberRequired)
        );
        // The body's shape.
        for (method, points, token) in [
            ("points", None, Some("tok_visa")),
            ("points_and_card", Some(100), None),
        ] {
            assert_eq!(
                field(run_as(
                    &c,
                    &l,
                    &s,
                    paying(method, points, token, total),
                    Some("m")
                ))
                .0,
                "payment.token"
            );
        }
        for (method, points, token) in [
            ("card", Some(100), Some("tok_visa")),
            ("points_and_card", None, Some("tok_visa")),
            ("points_and_card", Some(0), Some("tok_visa")),
        ] {
            assert_eq!(
                field(run_as(
                    &c,
                    &l,
                    &s,
                    paying(method, points, token, total),
                    Some("m")
                ))
                .0,
                "payment.points"
            );
        }
        // Not the whole total; the whole total by points_and_card; more.
        for (method, points, token) in [
            ("points", Some(total - 1), None),
            ("points_and_card", Some(total), Some("tok_visa")),
            ("points_and_card", Some(total + 5), Some("tok_visa")),
        ] {
            assert_eq!(
                field(run_as(
                    &c,
                    &l,
                    &s,
                    paying(method, points, token, total),
                    Some("m")
                )),
                ("payment.points".into(), "invalid_points".into())
            );
        }
        // Points that would pay a fraction of a cent.
        let mut s5 = points_store();
        s5.config.points.as_mut().unwrap().points_per_minor = BTreeMap::from([(usd(), 5)]);
        assert_eq!(
            field(run_as(
                &c,
                &l,
                &s5,
                paying("points_and_card", Some(1002), Some("tok_visa"), total),
                Some("m")
            ))
            .1,
            "invalid_points"
        );
        let ok = run_as(
            &c,
            &l,
            &s5,
            paying("points_and_card", Some(1000), Some("tok_visa"), total),
            Some("m"),
        )
        .unwrap();
        assert_eq!(ok.order.points.unwrap().value, 200);
        // No programme, or none in this currency.
        assert_eq!(
            field(run_as(
                &c,
                &l,
                &store(vec![]),
                paying("points", None, None, total),
                Some("m")
            )),
            ("payment.method".into(), "points_not_accepted".into())
        );
        let mut eur = points_store();
        eur.config.points.as_mut().unwrap().points_per_minor =
            BTreeMap::from([(Currency::parse("EUR").unwrap(), 1)]);
        assert_eq!(
            field(run_as(
                &c,
                &l,
                &eur,
                paying("points", None, None, total),
                Some("m")
            ))
            .1,
            "points_not_accepted"
        );
        // A card checkout in a store without a programme plans no points.
        let p = run_as(&c, &l, &store(vec![]), input(total), Some("m")).unwrap();
        assert!(p.order.points.is_none());
    }
}
