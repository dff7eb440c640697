//! Shipping methods of a store and what one costs for a cart: a flat rate
//! per currency, free from a subtotal (after discounts) per currency, to a
//! list of countries or everywhere.
//!
//! What this module must not do: talk to carriers, weigh parcels, tax
//! shipping (shipping is not taxed, see [`crate::pricing`]) or use floats.

use crate::catalog::{limits::PRICE_MAX, FieldError};
use crate::money::{Currency, Money};
use crate::tax::is_country_code;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Limits on a shipping method.
pub mod limits {
    /// Longest method id.
    pub const ID_MAX: usize = 64;
    /// Longest method name, in characters.
    pub const NAME_MAX: usize = 200;
    /// Most countries one method may list.
    pub const COUNTRIES_MAX: usize = 250;
}

/// One way to ship an order: a flat rate per currency, free from a subtotal
/// after discounts per currency, to a list of countries or everywhere. A cart
/// chooses one with the `shipping_method` query parameter of `GET
/// /v1/carts/{id}`; the country is checked first (else the method cannot ship
/// there), then the currency (else it has no rate in the cart's currency).
/// Unknown fields are refused (400 `unknown_field`). In the validation errors
/// below, `i` is the method's index in `shipping_methods`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"id": "standard", "name": "Standard (3–5 days)", "countries": [], "rates": {"EUR": 449, "USD": 499}, "free_above": {"EUR": 4500, "USD": 5000}}])))]
#[serde(deny_unknown_fields)]
pub struct ShippingMethod {
    /// The method's id, what carts name in `shipping_method`: 1 to 64 lowercase
    /// ASCII letters, digits, `-` or `_` (else 422 `invalid_id`, field
    /// `shipping_methods[i].id`), unique in the store (else 422
    /// `duplicate_method`, same field).
    #[cfg_attr(feature = "openapi", schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"), extend("examples" = ["standard", "express-eu"])))]
    pub id: String,
    /// What the shopper sees: 1 to 200 characters after trimming (else 422
    /// `invalid_length`, field `shipping_methods[i].name`).
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["Standard (3–5 days)"])))]
    pub name: String,
    /// The countries it ships to, each two uppercase ASCII letters (else 422
    /// `invalid_country`, field `shipping_methods[i].countries[j]`), each once
    /// (else 422 `duplicate_country`), at most 250 (else 422 `too_many`). Empty
    /// (the default) ships everywhere. Always present in responses.
    #[cfg_attr(feature = "openapi", schemars(with = "Vec<crate::openapi::CountryCode>", length(max = 250), extend("examples" = [["US", "CA"]])))]
    #[serde(default)]
    pub countries: Vec<String>,
    /// Its price in minor units per currency (keys: currencies the shop knows,
    /// case-insensitive, shown uppercase; another key is 400 `invalid_type`).
    /// At least one (else 422 `missing_rate`, field
    /// `shipping_methods[i].rates`); each an integer from 0 to 100000000000
    /// (else 422 `invalid_amount`, field `shipping_methods[i].rates.USD`; a
    /// fractional number is 400 `invalid_type`). A cart in a currency missing
    /// here cannot ship with this method.
    #[cfg_attr(feature = "openapi", schemars(extend("propertyNames" = {"type": "string", "pattern": "^([Aa][Uu][Dd]|[Cc][Aa][Dd]|[Cc][Hh][Ff]|[Ee][Uu][Rr]|[Gg][Bb][Pp]|[Jj][Pp][Yy]|[Uu][Ss][Dd])$"}, "additionalProperties" = {"type": "integer", "format": "int64", "minimum": 0, "maximum": 100000000000_i64}, "minProperties" = 1)))]
    pub rates: BTreeMap<Currency, i64>,
    /// Per currency, the cart subtotal after discounts (minor units) at or
    /// above which this method is free. Each an integer from 0 to 100000000000
    /// (else 422 `invalid_amount`, field `shipping_methods[i].free_above.USD`)
    /// in a currency that `rates` has (else 422 `no_rate`). A currency missing
    /// is never free. Optional; omitted from responses when empty.
    #[cfg_attr(feature = "openapi", schemars(extend("propertyNames" = {"type": "string", "pattern": "^([Aa][Uu][Dd]|[Cc][Aa][Dd]|[Cc][Hh][Ff]|[Ee][Uu][Rr]|[Gg][Bb][Pp]|[Jj][Pp][Yy]|[Uu][Ss][Dd])$"}, "additionalProperties" = {"type": "integer", "format": "int64", "minimum": 0, "maximum": 100000000000_i64})))]
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub free_above: BTreeMap<Currency, i64>,
}

/// Why a method cannot ship a cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShippingRefusal {
    /// The method does not ship to the destination country.
    NotToCountry,
    /// The method has no rate in the cart's currency.
    NotInCurrency,
}

/// A method id: 1–64 lowercase ASCII letters, digits, `-` or `_`.
pub fn is_method_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= limits::ID_MAX
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl ShippingMethod {
    /// Whether this method ships to `country` (ignoring ASCII case).
    pub fn ships_to(&self, country: &str) -> bool {
        let country = country.trim();
        self.countries.is_empty()
            || self
                .countries
                .iter()
                .any(|c| c.eq_ignore_ascii_case(country))
    }

    /// What shipping a cart to `country` costs in `currency`, given the
    /// cart's subtotal after discounts (minor units of `currency`). The
    /// country is checked first, then the currency.
    pub fn quote(
        &self,
        country: &str,
        currency: Currency,
        discounted_subtotal: i64,
    ) -> Result<Money, ShippingRefusal> {
        if !self.ships_to(country) {
            return Err(ShippingRefusal::NotToCountry);
        }
        let rate = *self
            .rates
            .get(&currency)
            .ok_or(ShippingRefusal::NotInCurrency)?;
        let free = self
            .free_above
            .get(&currency)
            .is_some_and(|threshold| discounted_subtotal >= *threshold);
        Ok(Money::new(if free { 0 } else { rate }, currency))
    }

    /// Every rule this method breaks (empty when valid).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut push = |field: String, code: &'static str, message: &str| {
            errors.push(FieldError {
                field,
                code,
                message: message.to_string(),
            })
        };
        if !is_method_id(&self.id) {
            push(
                "id".into(),
                "invalid_id",
                "must be 1 to 64 lowercase letters, digits, hyphens or underscores",
            );
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > limits::NAME_MAX {
            push(
                "name".into(),
                "invalid_length",
                "must be 1 to 200 characters",
            );
        }
        if self.countries.len() > limits::COUNTRIES_MAX {
            push("countries".into(), "too_many", "at most 250 countries");
        }
        let mut seen = BTreeSet::new();
        for (i, c) in self.countries.iter().enumerate() {
            if !is_country_code(c) {
                push(
                    format!("countries[{i}]"),
                    "invalid_country",
                    "must be an ISO 3166-1 alpha-2 code in uppercase",
                );
            } else if !seen.insert(c.as_str()) {
                push(
                    format!("countries[{i}]"),
                    "duplicate_country",
                    "listed twice",
                );
            }
        }
        if self.rates.is_empty() {
            push(
                "rates".into(),
                "missing_rate",
                "needs a rate in at least one currency",
            );
        }
        for (c, a) in &self.rates {
            if !(0..=PRICE_MAX).contains(a) {
                push(
                    format!("rates.{c}"),
                    "invalid_amount",
                    "must be a non-negative integer of minor units",
                );
            }
        }
        for (c, a) in &self.free_above {
            if !(0..=PRICE_MAX).contains(a) {
                push(
                    format!("free_above.{c}"),
                    "invalid_amount",
                    "must be a non-negative integer of minor units",
                );
            } else if !self.rates.contains_key(c) {
                push(
                    format!("free_above.{c}"),
                    "no_rate",
                    "the method has no rate in this currency",
                );
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn standard() -> ShippingMethod {
        ShippingMethod {
            id: "standard".into(),
            name: "Standard".into(),
            countries: vec!["US".into(), "CA".into()],
            rates: BTreeMap::from([(usd(), 500), (eur(), 450)]),
            free_above: BTreeMap::from([(usd(), 5000)]),
        }
    }

    #[test]
    fn quotes_flat_rate_free_above_and_refusals() {
        let m = standard();
        assert_eq!(m.quote("US", usd(), 4999), Ok(Money::new(500, usd())));
        assert_eq!(
            m.quote("us", usd(), 5000),
            Ok(Money::new(0, usd())),
            "at the threshold is free"
        );
        assert_eq!(m.quote("CA", usd(), 9000), Ok(Money::new(0, usd())));
        assert_eq!(
            m.quote("CA", eur(), 1_000_000),
            Ok(Money::new(450, eur())),
            "no threshold in EUR: never free"
        );
        assert_eq!(
            m.quote("DE", usd(), 100),
            Err(ShippingRefusal::NotToCountry)
        );
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(m.quote("US", jpy, 100), Err(ShippingRefusal::NotInCurrency));
        assert_eq!(
            m.quote("DE", jpy, 100),
            Err(ShippingRefusal::NotToCountry),
            "country is checked first"
        );
    }

    #[test]
    fn no_countries_ships_everywhere() {
        let m = ShippingMethod {
            countries: vec![],
            ..standard()
        };
        assert!(m.ships_to("JP"));
        assert_eq!(m.quote("JP", eur(), 0), Ok(Money::new(450, eur())));
    }

    #[test]
    fn validation_names_every_problem() {
        assert!(standard().validate().is_empty());
        let bad = ShippingMethod {
            id: "Standard Shipping".into(),
            name: " ".into(),
            countries: vec!["US".into(), "usa".into(), "US".into()],
            rates: BTreeMap::from([(usd(), -1)]),
            free_above: BTreeMap::from([(eur(), 100)]),
        };
        let found: Vec<_> = bad
            .validate()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect();
        assert_eq!(
            found,
            [
                ("id".to_string(), "invalid_id"),
                ("name".to_string(), "invalid_length"),
                ("countries[1]".to_string(), "invalid_country"),
                ("countries[2]".to_string(), "duplicate_country"),
                ("rates.USD".to_string(), "invalid_amount"),
                ("free_above.EUR".to_string(), "no_rate"),
            ]
        );
        let no_rates = ShippingMethod {
            rates: BTreeMap::new(),
            free_above: BTreeMap::new(),
            ..standard()
        };
        assert_eq!(no_rates.validate()[0].code, "missing_rate");
    }

    #[test]
    fn methods_round_trip_and_refuse_unknown_fields() {
        let json = r#"{"id":"standard","name":"Standard","countries":["US","CA"],"rates":{"EUR":450,"USD":500},"free_above":{"USD":5000}}"#;
        let m: ShippingMethod = serde_json::from_str(json).unwrap();
        assert_eq!(m, standard());
        assert_eq!(serde_json::to_string(&m).unwrap(), json);
        assert!(serde_json::from_str::<ShippingMethod>(
            r#"{"id":"x","name":"X","rates":{},"weight_limit":3}"#
        )
        .is_err());
        assert_eq!(
            serde_json::to_string(&ShippingRefusal::NotToCountry).unwrap(),
            r#""not_to_country""#
        );
    }
}
