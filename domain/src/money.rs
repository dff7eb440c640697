//! Money: integer minor units with an ISO 4217 currency. No floats anywhere.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An ISO 4217 alphabetic currency code this shop knows how to price in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

/// Currencies the shop knows, with their number of minor units (ISO 4217).
const KNOWN: &[(&str, u8)] = &[
    ("AUD", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("JPY", 0),
    ("USD", 2),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CurrencyError {
    /// Not three ASCII letters.
    Malformed,
    /// Well formed, but not a currency this shop prices in.
    Unknown,
}

impl Currency {
    /// Parses a three-letter code, case-insensitively; only known currencies pass.
    pub fn parse(code: &str) -> Result<Self, CurrencyError> {
        let bytes = code.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(CurrencyError::Malformed);
        }
        let upper = [
            bytes[0].to_ascii_uppercase(),
            bytes[1].to_ascii_uppercase(),
            bytes[2].to_ascii_uppercase(),
        ];
        if KNOWN.iter().any(|(c, _)| c.as_bytes() == upper) {
            Ok(Currency(upper))
        } else {
            Err(CurrencyError::Unknown)
        }
    }

    /// Every currency the shop knows, in code order.
    pub fn known() -> impl Iterator<Item = Currency> {
        KNOWN
            .iter()
            .map(|(c, _)| Currency(c.as_bytes().try_into().unwrap_or(*b"XXX")))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Number of digits after the decimal point (2 for USD, 0 for JPY).
    pub fn minor_units(&self) -> u8 {
        KNOWN
            .iter()
            .find(|(c, _)| c.as_bytes() == self.0)
            .map_or(2, |(_, m)| *m)
    }

    /// One major unit (1 USD) expressed in minor units (100).
    pub fn major_unit(&self) -> i64 {
        10_i64.pow(u32::from(self.minor_units()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(|_| serde::de::Error::custom(format!("unknown currency {s:?}")))
    }
}

/// An amount of money: an integer number of minor units of one currency (no
/// floats). `{"amount": 1999, "currency": "USD"}` is $19.99; JPY has no minor
/// unit, so `{"amount": 1999, "currency": "JPY"}` is ¥1999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"amount": 1999, "currency": "USD"}])))]
pub struct Money {
    /// Amount in minor units of `currency` (cents for USD and EUR, yen for
    /// JPY). Catalog prices are never negative and at most 100000000000.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64"), extend("examples" = [1999])))]
    pub amount: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Self {
        Money { amount, currency }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_currencies_case_insensitively() {
        assert_eq!(Currency::parse("usd").unwrap().as_str(), "USD");
        assert_eq!(Currency::parse("EuR").unwrap().as_str(), "EUR");
        assert_eq!(Currency::parse("JPY").unwrap().minor_units(), 0);
        assert_eq!(Currency::parse("USD").unwrap().major_unit(), 100);
    }

    #[test]
    fn refuses_malformed_and_unknown_codes() {
        for bad in ["", "US", "USDX", "U$D", "12A", "ÉUR"] {
            assert_eq!(Currency::parse(bad), Err(CurrencyError::Malformed), "{bad}");
        }
        assert_eq!(Currency::parse("XYZ"), Err(CurrencyError::Unknown));
    }

    #[test]
    fn money_serializes_as_amount_and_code() {
        let m = Money::new(1999, Currency::parse("USD").unwrap());
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"amount":1999,"currency":"USD"}"#
        );
    }
}
