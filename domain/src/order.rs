//! Orders: the record of a placed order, the state machine its status
//! follows, what each transition asks of the outside world (stock,
//! payment), and the shopper inputs checkout takes (email, shipping
//! address).
//!
//! The status machine (every other pair of status and event is illegal):
//!
//! | from            | event            | to        | effects                      |
//! |-----------------|------------------|-----------|------------------------------|
//! | pending_payment | payment_captured | paid      | commit held stock to sold    |
//! | pending_payment | payment_failed   | cancelled | release held stock           |
//! | pending_payment | cancel           | cancelled | release held stock           |
//! | paid            | fulfil           | fulfilled | ship sold units              |
//! | paid            | cancel           | cancelled | restock sold units, refund   |
//! | paid            | refund           | refunded  | restock sold units, refund   |
//! | fulfilled       | refund           | refunded  | refund (goods left the shop) |
//!
//! Shipping takes the order's units out of the SKU's stock: they leave
//! `sold` (committed) and `on_hand` together, so on hand counts what is
//! physically in the shop, as Shopify's on hand / committed / available
//! do. A refund after fulfilment does not restock: the goods are with the
//! shopper, and returned units come back through a stock adjustment.
//!
//! What this module must not do: move stock or money itself (it says what
//! must happen, the caller does it), read a clock, or know about HTTP.

use crate::catalog::FieldError;
use crate::money::Currency;
use crate::pricing::Quote;
use crate::tax::is_country_code;
use serde::{Deserialize, Serialize};

/// Schema number of the stored [`Order`] record.
pub const ORDER_SCHEMA: u32 = 1;

/// Limits on shopper inputs.
pub mod limits {
    /// Longest email address, in bytes (RFC 5321 path limit).
    pub const EMAIL_MAX: usize = 254;
    /// Longest local part of an email address, in bytes.
    pub const EMAIL_LOCAL_MAX: usize = 64;
    /// Longest field of a shipping address, in characters.
    pub const ADDRESS_FIELD_MAX: usize = 200;
}

/// Where an order is in its life: `pending_payment` (placed, its stock held,
/// waiting for the payment), `paid` (paid; its units are sold), `fulfilled`
/// (shipped), `cancelled` (will not be fulfilled; final), `refunded` (paid
/// back; final). Checkout plans an order as `pending_payment` and records it
/// once paid, so a recorded order starts as `paid` with both statuses in its
/// `history`. The allowed moves, and what each does besides being recorded in
/// `history`: `pending_payment` → `paid` (payment captured: the held units are
/// sold) or → `cancelled` (the held stock is released); `paid` → `fulfilled`
/// (`POST /admin/v1/orders/{id}/fulfil`; nothing else), → `cancelled` (`POST
/// /v1/orders/{id}/cancel` by the shopper or `POST
/// /admin/v1/orders/{id}/cancel`) or → `refunded` (`POST
/// /admin/v1/orders/{id}/refund`), both putting the sold units back on sale and
/// refunding the payment; `fulfilled` → `refunded` (refund only: the goods left
/// the shop, and returned units come back through a stock adjustment). Any
/// other move is 409 `illegal_transition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = ["paid"])))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed; stock is held for it; waiting for the payment.
    PendingPayment,
    /// Paid; its units are sold.
    Paid,
    /// Shipped.
    Fulfilled,
    /// Will not be fulfilled (final).
    Cancelled,
    /// Paid back (final).
    Refunded,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::PendingPayment,
        OrderStatus::Paid,
        OrderStatus::Fulfilled,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
    ];

    /// No event moves the order any more.
    pub fn is_final(self) -> bool {
        matches!(self, OrderStatus::Cancelled | OrderStatus::Refunded)
    }
}

/// Something that happens to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    /// The payment provider captured the payment.
    PaymentCaptured,
    /// The payment provider gave up on the payment.
    PaymentFailed,
    /// The merchant shipped the order.
    Fulfil,
    /// The merchant (or the shopper, while unpaid) cancels the order.
    Cancel,
    /// The merchant pays the order back.
    Refund,
}

impl OrderEvent {
    pub const ALL: [OrderEvent; 5] = [
        OrderEvent::PaymentCaptured,
        OrderEvent::PaymentFailed,
        OrderEvent::Fulfil,
        OrderEvent::Cancel,
        OrderEvent::Refund,
    ];
}

/// An event that does not apply to an order in status `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub event: OrderEvent,
}

/// The status an order in `status` moves to on `event` (see the table in
/// the module doc).
pub fn transition(
    status: OrderStatus,
    event: OrderEvent,
) -> Result<OrderStatus, IllegalTransition> {
    use OrderEvent as E;
    use OrderStatus as S;
    match (status, event) {
        (S::PendingPayment, E::PaymentCaptured) => Ok(S::Paid),
        (S::PendingPayment, E::PaymentFailed | E::Cancel) => Ok(S::Cancelled),
        (S::Paid, E::Fulfil) => Ok(S::Fulfilled),
        (S::Paid, E::Cancel) => Ok(S::Cancelled),
        (S::Paid | S::Fulfilled, E::Refund) => Ok(S::Refunded),
        (from, event) => Err(IllegalTransition { from, event }),
    }
}

/// What a transition requires the caller to do, besides recording it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effects {
    /// Turn the order's stock holds into sold units.
    pub commit_stock: bool,
    /// Release the order's stock holds.
    pub release_stock: bool,
    /// Put the order's sold units back on sale.
    pub restock_sold: bool,
    /// Take the order's sold units out of stock: they left the shop.
    pub ship_sold: bool,
    /// Pay the shopper back.
    pub refund: bool,
}

/// What the transition from `from` on `event` requires (see the table in
/// the module doc); nothing for an illegal pair, which
/// [`transition`] refuses.
pub fn effects(from: OrderStatus, event: OrderEvent) -> Effects {
    use OrderEvent as E;
    use OrderStatus as S;
    let none = Effects::default();
    match (from, event) {
        (S::PendingPayment, E::PaymentCaptured) => Effects {
            commit_stock: true,
            ..none
        },
        (S::PendingPayment, E::PaymentFailed | E::Cancel) => Effects {
            release_stock: true,
            ..none
        },
        (S::Paid, E::Fulfil) => Effects {
            ship_sold: true,
            ..none
        },
        (S::Paid, E::Cancel | E::Refund) => Effects {
            restock_sold: true,
            refund: true,
            ..none
        },
        (S::Fulfilled, E::Refund) => Effects {
            refund: true,
            ..none
        },
        _ => none,
    }
}

/// One line of an order. Amounts are integers in minor units of the order's
/// `currency` (not `Money` objects), as checkout priced them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"sku": "KTL-1-STEEL", "quantity": 2, "unit_price": 2500, "discount": 500, "tax": 326, "line_total": 4826}])))]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::Sku"))]
    pub sku: String,
    /// Units ordered.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 99), extend("examples" = [2])))]
    pub quantity: i64,
    /// The price of one unit.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64"), extend("examples" = [2500])))]
    pub unit_price: i64,
    /// All the applied promotions' share of this line.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64"), extend("examples" = [500])))]
    pub discount: i64,
    /// This line's tax, added on top or contained (see the order's
    /// `prices_include_tax`).
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64"), extend("examples" = [326])))]
    pub tax: i64,
    /// `unit_price` × `quantity` − `discount`, + `tax` when tax is added on
    /// top.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64"), extend("examples" = [4826])))]
    pub line_total: i64,
}

/// An order's totals, integers in minor units of the order's `currency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"subtotal": 5000, "discount_total": 500, "shipping": 499, "tax_total": 326, "grand_total": 5325}])))]
#[serde(deny_unknown_fields)]
pub struct OrderTotals {
    /// The sum of the lines' `unit_price` × `quantity`, before discounts.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64"), extend("examples" = [5000])))]
    pub subtotal: i64,
    /// The sum of the lines' `discount`.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64"), extend("examples" = [500])))]
    pub discount_total: i64,
    /// What the shipping method cost (0 when free).
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64"), extend("examples" = [499])))]
    pub shipping: i64,
    /// The sum of the lines' `tax`.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64"), extend("examples" = [326])))]
    pub tax_total: i64,
    /// `subtotal` − `discount_total` + `shipping`, + `tax_total` when tax is
    /// added on top: exactly what was charged (the checkout's
    /// `expected_total`).
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64"), extend("examples" = [5325])))]
    pub grand_total: i64,
}

/// A promotion the order redeemed: what its usage limits count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"id": "save10", "code": "SAVE10", "amount": 500}])))]
#[serde(deny_unknown_fields)]
pub struct OrderPromotion {
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::PromotionId"))]
    pub id: String,
    /// Its coupon code; absent for an automatic promotion.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["SAVE10"])))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What it took off the order in total, in minor units of the order's
    /// currency (more than 0).
    #[cfg_attr(feature = "openapi", schemars(range(min = 1), extend("format" = "int64"), extend("examples" = [500])))]
    pub amount: i64,
}

/// Where an order ships, as checkout validated it: text fields trimmed, the
/// country uppercased, empty optional fields left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"name": "Ada Lovelace", "line1": "1 Market St", "line2": "Suite 300", "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"}])))]
#[serde(deny_unknown_fields)]
pub struct ShippingAddress {
    /// The recipient's name.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 200)))]
    pub name: String,
    /// The first address line.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 200)))]
    pub line1: String,
    /// The second address line; absent when none was given.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 200)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// The city.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 200)))]
    pub city: String,
    /// The region (state, province), as given (trimmed); absent when none was
    /// given.
    #[cfg_attr(
        feature = "openapi",
        schemars(regex(pattern = r"\S"), length(min = 1, max = 200))
    )]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The postal code.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 200)))]
    pub postal_code: String,
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::CountryCode"))]
    pub country: String,
}

/// How the order was paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "OrderPayment", extend("examples" = [{"provider": "test", "reference": "test_ord_3b9d2f4a6c8e0a1b2c3d4e5f"}])))]
#[serde(deny_unknown_fields)]
pub struct Payment {
    /// The store's payment provider when the checkout began; `points` when
    /// the member's points paid it all, `none` when there was nothing to
    /// pay (no provider was asked in either case).
    #[cfg_attr(feature = "openapi", schemars(extend("enum" = ["test", "stripe", "points", "none"])))]
    pub provider: String,
    /// The provider's id of the payment: `test_{order id}` for the test
    /// provider, the PaymentIntent id (`pi_…`) for Stripe, `points_{order
    /// id}` for an order the points paid in full, `free_{order id}` for one
    /// with nothing to pay.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["test_ord_3b9d2f4a6c8e0a1b2c3d4e5f"])))]
    pub reference: String,
}

/// A dispute (chargeback) of an order's payment, as the provider reported
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"id": "dp_1Nabc", "reason": "fraudulent", "status": "needs_response", "amount": 5325, "reported_at_ms": 1795266000000_i64}])))]
#[serde(deny_unknown_fields)]
pub struct Dispute {
    /// The provider's id of the dispute (`dp_…`).
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 255)))]
    pub id: String,
    /// The provider's reason (`fraudulent`, `product_not_received`, …).
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 64), extend("examples" = ["fraudulent"])))]
    pub reason: String,
    /// The provider's status when reported (`needs_response`, …).
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 64), extend("examples" = ["needs_response"])))]
    pub status: String,
    /// The disputed amount, in minor units of the order's currency.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    pub amount: i64,
    /// When it was reported, in milliseconds since the Unix epoch.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64")))]
    pub reported_at_ms: i64,
}

/// The points side of an order: its member, what points paid and what the
/// card part earns. The card was charged `grand_total` − `value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"member": "m-1001", "unit": "points", "spent": 2000, "value": 2000, "earned": 33}])))]
#[serde(deny_unknown_fields)]
pub struct OrderPoints {
    /// The member whose points paid and earned.
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::MemberId"))]
    pub member: String,
    /// What the store calls its points.
    pub unit: String,
    /// Points spent on the order (0: the card paid it all).
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    pub spent: i64,
    /// What they paid, in minor units of the order's currency.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    pub value: i64,
    /// Points the part paid by card earns: pending for the programme's
    /// return window, taken back if the order is cancelled or refunded.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    pub earned: i64,
}

impl Order {
    /// What the card pays: the grand total less what points paid.
    pub fn card_amount(&self) -> i64 {
        self.totals.grand_total - self.points.as_ref().map_or(0, |p| p.value)
    }
}

/// One status an order reached, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "OrderStatusChange", extend("examples" = [{"at_ms": 1795262400000_i64, "status": "pending_payment"}])))]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// When, in milliseconds since the Unix epoch.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64"), extend("examples" = [1795262400000_i64])))]
    pub at_ms: i64,
    pub status: OrderStatus,
}

/// An order as checkout recorded it in the order's own Durable Object: what was
/// bought at which prices, the discounts, shipping and tax, where it ships, how
/// it was paid and its status history. Amounts are integers in minor units of
/// `currency`. Checkout writes it once (a checkout resumed after a crash finds
/// it and does not write it again); each status change since updates `status`
/// and appends to `history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"schema": 1, "id": "ord_3b9d2f4a6c8e0a1b2c3d4e5f", "cart_id": "crt_5f0c3a9b1e2d4c6a8b7f9e01", "currency": "USD", "prices_include_tax": false, "lines": [{"sku": "KTL-1-STEEL", "quantity": 2, "unit_price": 2500, "discount": 500, "tax": 326, "line_total": 4826}], "totals": {"subtotal": 5000, "discount_total": 500, "shipping": 499, "tax_total": 326, "grand_total": 5325}, "promotions": [{"id": "save10", "code": "SAVE10", "amount": 500}], "email": "ada@example.com", "shipping_address": {"name": "Ada Lovelace", "line1": "1 Market St", "line2": "Suite 300", "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"}, "shipping_method": "standard", "payment": {"provider": "test", "reference": "test_ord_3b9d2f4a6c8e0a1b2c3d4e5f"}, "status": "paid", "history": [{"at_ms": 1795262400000_i64, "status": "pending_payment"}, {"at_ms": 1795262400412_i64, "status": "paid"}], "created_at_ms": 1795262400000_i64}])))]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// The version of this record's layout (currently 1).
    #[cfg_attr(feature = "openapi", schemars(extend("const" = 1)))]
    pub schema: u32,
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::OrderId"))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::CartId"))]
    pub cart_id: String,
    /// The store the order was placed in; absent for the default store (as
    /// in orders placed before there were stores).
    #[serde(
        default = "crate::stores::default_store",
        skip_serializing_if = "crate::stores::is_default_store"
    )]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>", extend("examples" = ["bank"])))]
    pub store: String,
    pub currency: Currency,
    /// Whether the lines' taxes are contained in the amounts (true) or were
    /// added on top (false).
    pub prices_include_tax: bool,
    /// The cart's lines at checkout, in the cart's order.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 50)))]
    pub lines: Vec<OrderLine>,
    pub totals: OrderTotals,
    /// The promotions applied, automatic and by coupon, in the order they were
    /// applied; empty when none.
    #[serde(default)]
    pub promotions: Vec<OrderPromotion>,
    /// The shopper's email address as checkout normalized it (trimmed, domain
    /// lowercased).
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["ada@example.com"])))]
    pub email: String,
    pub shipping_address: ShippingAddress,
    /// The id of the store's shipping method chosen at checkout.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["standard"])))]
    pub shipping_method: String,
    pub payment: Payment,
    /// How points paid for and were earned by the order: absent when the
    /// shopper was not a signed-in member of the store's programme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<OrderPoints>,
    pub status: OrderStatus,
    /// Every status the order reached, oldest first; the first is its placement
    /// (`pending_payment`, at `created_at_ms`), then `paid` when the payment
    /// was captured, then one entry per later change (`fulfilled`, `cancelled`,
    /// `refunded`).
    #[cfg_attr(feature = "openapi", schemars(length(min = 1)))]
    pub history: Vec<StatusChange>,
    /// Disputes (chargebacks) the payment provider reported for the
    /// order's payment, oldest first; absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disputes: Vec<Dispute>,
    /// When the checkout priced the cart, in milliseconds since the Unix epoch.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64"), extend("examples" = [1795262400000_i64])))]
    pub created_at_ms: i64,
}

/// What checkout knows of an order besides its price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDetails {
    pub id: String,
    pub cart_id: String,
    /// The store the cart belongs to.
    pub store: String,
    /// As returned by [`parse_email`].
    pub email: String,
    pub shipping_address: ShippingAddress,
    pub shipping_method: String,
    pub payment: Payment,
}

impl Order {
    /// A new order, pending payment, for a quoted cart.
    pub fn from_quote(details: OrderDetails, quote: &Quote, now_ms: i64) -> Order {
        Order {
            schema: ORDER_SCHEMA,
            id: details.id,
            cart_id: details.cart_id,
            store: details.store,
            currency: quote.currency,
            prices_include_tax: quote.prices_include_tax,
            lines: quote
                .lines
                .iter()
                .map(|l| OrderLine {
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price.amount,
                    discount: l.discount.amount,
                    tax: l.tax.amount,
                    line_total: l.line_total.amount,
                })
                .collect(),
            totals: OrderTotals {
                subtotal: quote.subtotal.amount,
                discount_total: quote.discount_total.amount,
                shipping: quote.shipping.amount,
                tax_total: quote.tax_total.amount,
                grand_total: quote.grand_total.amount,
            },
            promotions: quote
                .applied
                .iter()
                .map(|a| OrderPromotion {
                    id: a.id.clone(),
                    code: a.code.clone(),
                    amount: a.amount.amount,
                })
                .collect(),
            email: details.email,
            shipping_address: details.shipping_address,
            shipping_method: details.shipping_method,
            payment: details.payment,
            points: None,
            disputes: Vec::new(),
            status: OrderStatus::PendingPayment,
            history: vec![StatusChange {
                at_ms: now_ms,
                status: OrderStatus::PendingPayment,
            }],
            created_at_ms: now_ms,
        }
    }

    /// Moves the order on `event` at `at_ms`, recording it in the history,
    /// and says what the caller must do. A refused event changes nothing.
    pub fn apply(&mut self, event: OrderEvent, at_ms: i64) -> Result<Effects, IllegalTransition> {
        let to = transition(self.status, event)?;
        let effects = effects(self.status, event);
        self.status = to;
        self.history.push(StatusChange { at_ms, status: to });
        Ok(effects)
    }
}

/// Where the order ships, as checkout accepts it. Every field may be missing,
/// so that every problem is reported at once: each problem is a 422
/// `validation_failed` error whose `field` is `shipping_address.` followed by
/// the field's name. Text fields are trimmed; a required field that is missing
/// or empty after trimming is `required`; a text field longer than 200
/// characters is `invalid_length`, one with a control character
/// `invalid_characters`. Unknown fields are refused (400 `unknown_field`, e.g.
/// field `shipping_address.phone`).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"name": "Ada Lovelace", "line1": "1 Market St", "line2": "Suite 300", "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"}])))]
#[serde(deny_unknown_fields)]
pub struct ShippingAddressInput {
    /// The recipient's name. Required: 1 to 200 characters after trimming.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["Ada Lovelace"])))]
    #[serde(default)]
    pub name: String,
    /// The first address line. Required: 1 to 200 characters after trimming.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["1 Market St"])))]
    #[serde(default)]
    pub line1: String,
    /// An optional second address line, at most 200 characters after trimming;
    /// null, missing or empty after trimming means none.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["Suite 300"])))]
    #[serde(default)]
    pub line2: Option<String>,
    /// The city. Required: 1 to 200 characters after trimming.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["San Francisco"])))]
    #[serde(default)]
    pub city: String,
    /// An optional region (state, province), at most 200 characters after
    /// trimming; null, missing or empty means none. It selects the region's tax
    /// rate when the store has one (compared ignoring case), else the country's
    /// rate applies.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["CA"])))]
    #[serde(default)]
    pub region: Option<String>,
    /// The postal code. Required: 1 to 200 characters after trimming.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["94105"])))]
    #[serde(default)]
    pub postal_code: String,
    /// The ISO 3166-1 alpha-2 country code, in any case (trimmed and
    /// uppercased): two ASCII letters, else 422 `invalid_country` (also when
    /// missing). It selects the tax rate and must be a country the chosen
    /// shipping method ships to.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["US"])))]
    #[serde(default)]
    pub country: String,
}

impl ShippingAddressInput {
    /// The address, trimmed (empty optional fields become `None`, the
    /// country is uppercased), or every problem it has. Field names are
    /// relative to the address (`name`, `country`); a caller nesting it in
    /// a larger body prefixes them.
    pub fn validate(self) -> Result<ShippingAddress, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut text = |field: &str, value: &str, required: bool| -> Option<String> {
            let value = value.trim();
            if value.is_empty() {
                if required {
                    errors.push(problem(field, "required", "must not be empty"));
                }
                return None;
            }
            if value.chars().count() > limits::ADDRESS_FIELD_MAX {
                errors.push(problem(
                    field,
                    "invalid_length",
                    "must be at most 200 characters",
                ));
            } else if value.chars().any(char::is_control) {
                errors.push(problem(
                    field,
                    "invalid_characters",
                    "must not contain control characters",
                ));
            }
            Some(value.to_string())
        };
        let name = text("name", &self.name, true);
        let line1 = text("line1", &self.line1, true);
        let line2 = text("line2", self.line2.as_deref().unwrap_or(""), false);
        let city = text("city", &self.city, true);
        let region = text("region", self.region.as_deref().unwrap_or(""), false);
        let postal_code = text("postal_code", &self.postal_code, true);
        let country = self.country.trim().to_ascii_uppercase();
        if !is_country_code(&country) {
            errors.push(problem(
                "country",
                "invalid_country",
                "must be an ISO 3166-1 alpha-2 code",
            ));
        }
        match (name, line1, city, postal_code) {
            (Some(name), Some(line1), Some(city), Some(postal_code)) if errors.is_empty() => {
                Ok(ShippingAddress {
                    name,
                    line1,
                    line2,
                    city,
                    region,
                    postal_code,
                    country,
                })
            }
            _ => Err(errors),
        }
    }
}

fn problem(field: &str, code: &'static str, message: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        code,
        message: message.to_string(),
    }
}

/// Why an email address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailError {
    Empty,
    /// Longer than [`limits::EMAIL_MAX`] bytes, or a local part longer than
    /// [`limits::EMAIL_LOCAL_MAX`].
    TooLong,
    /// Not `local@domain.tld`.
    Malformed,
}

/// A sane email address: trimmed, one `@`, a non-empty local part, a
/// domain of at least two non-empty dot-separated labels, no spaces,
/// control characters or `<>()[],;:"\`, at most 254 bytes. The domain is
/// lowercased; the local part is kept as given (it may be case-sensitive).
pub fn parse_email(input: &str) -> Result<String, EmailError> {
    let email = input.trim();
    if email.is_empty() {
        return Err(EmailError::Empty);
    }
    if email.len() > limits::EMAIL_MAX {
        return Err(EmailError::TooLong);
    }
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c);
    if email.chars().any(forbidden) {
        return Err(EmailError::Malformed);
    }
    let (local, domain) = match email.split_once('@') {
        Some((l, d)) if !d.contains('@') => (l, d),
        _ => return Err(EmailError::Malformed),
    };
    if local.len() > limits::EMAIL_LOCAL_MAX {
        return Err(EmailError::TooLong);
    }
    let labels_ok = domain.contains('.') && domain.split('.').all(|l| !l.is_empty());
    if local.is_empty() || !labels_ok {
        return Err(EmailError::Malformed);
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::admin::parse_input;
    use crate::money::Money;
    use crate::pricing::{AppliedPromotion, QuotedLine};

    #[test]
    fn every_status_and_event_pair() {
        use OrderEvent as E;
        use OrderStatus as S;
        let none = Effects::default();
        let commit = Effects {
            commit_stock: true,
            ..none
        };
        let release = Effects {
            release_stock: true,
            ..none
        };
        let restock_refund = Effects {
            restock_sold: true,
            refund: true,
            ..none
        };
        let refund = Effects {
            refund: true,
            ..none
        };
        let ship = Effects {
            ship_sold: true,
            ..none
        };
        // (from, event, Some(to) when legal, effects)
        let table: [(S, E, Option<S>, Effects); 25] = [
            (S::PendingPayment, E::PaymentCaptured, Some(S::Paid), commit),
            (
                S::PendingPayment,
                E::PaymentFailed,
                Some(S::Cancelled),
                release,
            ),
            (S::PendingPayment, E::Fulfil, None, none),
            (S::PendingPayment, E::Cancel, Some(S::Cancelled), release),
            (S::PendingPayment, E::Refund, None, none),
            (S::Paid, E::PaymentCaptured, None, none),
            (S::Paid, E::PaymentFailed, None, none),
            (S::Paid, E::Fulfil, Some(S::Fulfilled), ship),
            (S::Paid, E::Cancel, Some(S::Cancelled), restock_refund),
            (S::Paid, E::Refund, Some(S::Refunded), restock_refund),
            (S::Fulfilled, E::PaymentCaptured, None, none),
            (S::Fulfilled, E::PaymentFailed, None, none),
            (S::Fulfilled, E::Fulfil, None, none),
            (S::Fulfilled, E::Cancel, None, none),
            (S::Fulfilled, E::Refund, Some(S::Refunded), refund),
            (S::Cancelled, E::PaymentCaptured, None, none),
            (S::Cancelled, E::PaymentFailed, None, none),
            (S::Cancelled, E::Fulfil, None, none),
            (S::Cancelled, E::Cancel, None, none),
            (S::Cancelled, E::Refund, None, none),
            (S::Refunded, E::PaymentCaptured, None, none),
            (S::Refunded, E::PaymentFailed, None, none),
            (S::Refunded, E::Fulfil, None, none),
            (S::Refunded, E::Cancel, None, none),
            (S::Refunded, E::Refund, None, none),
        ];
        // The table covers every pair exactly once.
        let mut pairs: Vec<_> = table.iter().map(|(s, e, _, _)| (*s, *e)).collect();
        pairs.sort();
        pairs.dedup();
        assert_eq!(pairs.len(), S::ALL.len() * E::ALL.len());
        for (from, event, to, fx) in table {
            let want = to.ok_or(IllegalTransition { from, event });
            assert_eq!(transition(from, event), want, "{from:?} + {event:?}");
            assert_eq!(effects(from, event), fx, "{from:?} + {event:?}");
        }
        for s in S::ALL {
            let moves = E::ALL.iter().any(|e| transition(s, *e).is_ok());
            assert_eq!(s.is_final(), !moves, "{s:?}");
        }
    }

    #[test]
    fn statuses_and_events_serialize_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&OrderStatus::PendingPayment).unwrap(),
            r#""pending_payment""#
        );
        assert_eq!(
            serde_json::to_string(&OrderEvent::PaymentCaptured).unwrap(),
            r#""payment_captured""#
        );
        assert_eq!(
            serde_json::to_string(&IllegalTransition {
                from: OrderStatus::Refunded,
                event: OrderEvent::Fulfil
            })
            .unwrap(),
            r#"{"from":"refunded","event":"fulfil"}"#
        );
    }

    fn address() -> ShippingAddress {
        ShippingAddress {
            name: "Ada Lovelace".into(),
            line1: "12 St James's Square".into(),
            line2: None,
            city: "London".into(),
            region: None,
            postal_code: "SW1Y 4JH".into(),
            country: "GB".into(),
        }
    }

    fn quote() -> Quote {
        let gbp = Currency::parse("GBP").unwrap();
        let m = |a| Money::new(a, gbp);
        Quote {
            currency: gbp,
            prices_include_tax: true,
            lines: vec![QuotedLine {
                sku: "KTL-1".into(),
                quantity: 2,
                unit_price: m(1200),
                line_subtotal: m(2400),
                discount: m(240),
                tax: m(360),
                line_total: m(2160),
            }],
            subtotal: m(2400),
            discount_total: m(240),
            shipping: m(500),
            tax_total: m(360),
            grand_total: m(2660),
            applied: vec![AppliedPromotion {
                id: "ten".into(),
                code: Some("TEN".into()),
                description: "10 %".into(),
                amount: m(240),
            }],
            refused_coupons: vec![],
        }
    }

    /// A placed order (pending payment) of the default store.
    pub(crate) fn order() -> Order {
        Order::from_quote(
            OrderDetails {
                id: "ord_1".into(),
                cart_id: "crt_1".into(),
                store: crate::stores::DEFAULT_STORE.into(),
                email: "ada@example.com".into(),
                shipping_address: address(),
                shipping_method: "standard".into(),
                payment: Payment {
                    provider: "test".into(),
                    reference: "pi_1".into(),
                },
            },
            &quote(),
            1_000,
        )
    }

    #[test]
    fn orders_come_from_quotes_and_record_their_history() {
        let mut o = order();
        assert_eq!(o.status, OrderStatus::PendingPayment);
        assert_eq!(o.totals.grand_total, 2660);
        assert_eq!(o.lines[0].line_total, 2160);
        assert_eq!(o.promotions[0].code.as_deref(), Some("TEN"));
        assert_eq!(
            o.apply(OrderEvent::PaymentCaptured, 2_000),
            Ok(Effects {
                commit_stock: true,
                ..Effects::default()
            })
        );
        let before = o.clone();
        assert_eq!(
            o.apply(OrderEvent::PaymentCaptured, 2_500),
            Err(IllegalTransition {
                from: OrderStatus::Paid,
                event: OrderEvent::PaymentCaptured
            })
        );
        assert_eq!(o, before, "a refused event changes nothing");
        o.apply(OrderEvent::Fulfil, 3_000).unwrap();
        assert!(!o.apply(OrderEvent::Refund, 4_000).unwrap().restock_sold);
        let history: Vec<_> = o.history.iter().map(|h| (h.at_ms, h.status)).collect();
        assert_eq!(
            history,
            [
                (1_000, OrderStatus::PendingPayment),
                (2_000, OrderStatus::Paid),
                (3_000, OrderStatus::Fulfilled),
                (4_000, OrderStatus::Refunded),
            ]
        );
    }

    #[test]
    fn order_records_round_trip_and_refuse_unknown_fields() {
        let o = order();
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(json["status"], "pending_payment");
        assert_eq!(json["currency"], "GBP");
        assert_eq!(json["schema"], ORDER_SCHEMA);
        assert!(json["shipping_address"].get("line2").is_none());
        assert_eq!(serde_json::from_value::<Order>(json.clone()).unwrap(), o);
        let mut extra = json;
        extra["totals"]["fees"] = 3.into();
        assert!(serde_json::from_value::<Order>(extra).is_err());
    }

    #[test]
    fn addresses_are_trimmed_and_normalized() {
        let input: ShippingAddressInput = parse_input(
            r#"{"name":" Ada Lovelace ","line1":"12 St James's Square","line2":"  ",
                "city":"London","postal_code":"SW1Y 4JH","country":"gb"}"#,
        )
        .unwrap();
        assert_eq!(input.validate().unwrap(), address());
        let input: ShippingAddressInput = parse_input(
            r#"{"name":"A","line1":"1 Main St","line2":"Apt 2","city":"Springfield",
                "region":"IL","postal_code":"62701","country":"US"}"#,
        )
        .unwrap();
        let a = input.validate().unwrap();
        assert_eq!(
            (a.line2.as_deref(), a.region.as_deref()),
            (Some("Apt 2"), Some("IL"))
        );
    }

    #[test]
    fn addresses_report_every_problem_at_once() {
        let input: ShippingAddressInput = parse_input(&format!(
            r#"{{"name":"","line1":"{}","line2":"a\u0007b","city":" ","country":"GBR"}}"#,
            "x".repeat(201)
        ))
        .unwrap();
        let found: Vec<_> = input
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect();
        let want = [
            ("name", "required"),
            ("line1", "invalid_length"),
            ("line2", "invalid_characters"),
            ("city", "required"),
            ("postal_code", "required"),
            ("country", "invalid_country"),
        ];
        let want: Vec<_> = want.iter().map(|(f, c)| (f.to_string(), *c)).collect();
        assert_eq!(found, want);
        let e = parse_input::<ShippingAddressInput>(r#"{"name":"A","phone":"1"}"#).unwrap_err();
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("unknown_field", Some("phone"))
        );
        let found: Vec<_> = ShippingAddressInput::default()
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(found, ["name", "line1", "city", "postal_code", "country"]);
    }

    #[test]
    fn emails_are_checked_sanely() {
        let ok = [
            ("ada@example.com", "ada@example.com"),
            (
                "  Ada.Lovelace+shop@Example.CO.uk ",
                "Ada.Lovelace+shop@example.co.uk",
            ),
            ("a@b.io", "a@b.io"),
        ];
        for (input, want) in ok {
            assert_eq!(parse_email(input).as_deref(), Ok(want), "{input}");
        }
        let bad = [
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("ada", EmailError::Malformed),
            ("ada@", EmailError::Malformed),
            ("@example.com", EmailError::Malformed),
            ("ada@example", EmailError::Malformed),
            ("ada@@example.com", EmailError::Malformed),
            ("ada@b@example.com", EmailError::Malformed),
            ("ada@example..com", EmailError::Malformed),
            ("ada@.example.com", EmailError::Malformed),
            ("ada@example.com.", EmailError::Malformed),
            ("a da@example.com", EmailError::Malformed),
            ("<ada@example.com>", EmailError::Malformed),
            ("ada@exa\nmple.com", EmailError::Malformed),
        ];
        for (input, want) in bad {
            assert_eq!(parse_email(input), Err(want), "{input:?}");
        }
        let long_domain = format!("a@{}.com", "d".repeat(250));
        assert_eq!(parse_email(&long_domain), Err(EmailError::TooLong));
        let edge = format!("a@{}.com", "d".repeat(248));
        assert_eq!(edge.len(), 254);
        assert!(parse_email(&edge).is_ok());
        let long_local = format!("{}@example.com", "l".repeat(65));
        assert_eq!(parse_email(&long_local), Err(EmailError::TooLong));
    }
}
