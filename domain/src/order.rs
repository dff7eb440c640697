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
//! | paid            | fulfil           | fulfilled | —                            |
//! | paid            | cancel           | cancelled | restock sold units, refund   |
//! | paid            | refund           | refunded  | restock sold units, refund   |
//! | fulfilled       | refund           | refunded  | refund (goods left the shop) |
//!
//! A refund after fulfilment does not restock: the goods are with the
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

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

/// One line of an order, in minor units of the order's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    pub sku: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub discount: i64,
    pub tax: i64,
    pub line_total: i64,
}

/// An order's totals, in minor units of the order's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderTotals {
    pub subtotal: i64,
    pub discount_total: i64,
    pub shipping: i64,
    pub tax_total: i64,
    pub grand_total: i64,
}

/// A promotion the order redeemed (what usage limits count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderPromotion {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub amount: i64,
}

/// Where an order ships, validated ([`ShippingAddressInput::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingAddress {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, uppercase.
    pub country: String,
}

/// How an order is paid: the provider and its reference for the payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    /// `stripe`, `test`…
    pub provider: String,
    /// The provider's id of the payment.
    pub reference: String,
}

/// One status an order reached, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub at_ms: i64,
    pub status: OrderStatus,
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub schema: u32,
    pub id: String,
    pub cart_id: String,
    pub currency: Currency,
    /// Whether line taxes are contained in the amounts or were added on top.
    pub prices_include_tax: bool,
    pub lines: Vec<OrderLine>,
    pub totals: OrderTotals,
    #[serde(default)]
    pub promotions: Vec<OrderPromotion>,
    pub email: String,
    pub shipping_address: ShippingAddress,
    pub shipping_method: String,
    pub payment: Payment,
    pub status: OrderStatus,
    /// Every status reached, oldest first; the first is the placement.
    pub history: Vec<StatusChange>,
    pub created_at_ms: i64,
}

/// What checkout knows of an order besides its price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDetails {
    pub id: String,
    pub cart_id: String,
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

/// A shipping address as checkout accepts it. Every field may be missing
/// so that [`ShippingAddressInput::validate`] reports them all at once.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingAddressInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub postal_code: String,
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
mod tests {
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
            (S::Paid, E::Fulfil, Some(S::Fulfilled), none),
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

    fn order() -> Order {
        Order::from_quote(
            OrderDetails {
                id: "ord_1".into(),
                cart_id: "crt_1".into(),
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
