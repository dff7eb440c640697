//! Tax: a store's tax rates by destination and the arithmetic that turns a
//! rate into minor units.
//!
//! A rate is in basis points (1 bp = 0.01 %, so 20 % VAT is 2 000 bp) and
//! belongs to a country (ISO 3166-1 alpha-2, uppercase), optionally narrowed
//! to a region of it (a state, a province). Looking up `(country, region)`
//! takes the region's rate when the store has one, else the country's rate
//! without region, else zero.
//!
//! Tax is computed per line, on integers only, rounding **half to even** on
//! minor units (banker's rounding: 0.5 ¢ goes to the even cent, so rounding
//! errors do not drift in one direction over many lines):
//! - prices without tax (exclusive): tax = round_half_even(amount × bp / 10 000),
//!   added on top of the amount;
//! - prices with tax (inclusive): the tax contained in the amount is
//!   round_half_even(amount × bp / (10 000 + bp)); it does not add to what
//!   the shopper pays.
//!
//! Intermediate products are `i128`, so no amount × rate can overflow.
//!
//! What this module must not do: use floats, know where the store's
//! settings are stored, or decide which destination an order ships to.

use crate::catalog::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Limits on a store's tax settings.
pub mod limits {
    /// Highest rate: 100 %.
    pub const BASIS_POINTS_MAX: u32 = 10_000;
    /// Most rates one store may define.
    pub const RATES_MAX: usize = 500;
    /// Longest region code.
    pub const REGION_MAX: usize = 16;
}

/// One tax rate: a country's own rate (no `region`), or the rate of one region
/// of it (a state, a province). A country and region pair has at most one rate
/// (else 422 `duplicate_rate`, field `tax.rates[i]`). Unknown fields are
/// refused (400 `unknown_field`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"country": "US", "region": "CA", "basis_points": 725}])))]
#[serde(deny_unknown_fields)]
pub struct TaxRate {
    /// The country, two uppercase ASCII letters (else 422 `invalid_country`,
    /// field `tax.rates[i].country`).
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::CountryCode"))]
    pub country: String,
    /// A region of the country (`CA` for California, `QC` for Québec): 1 to 16
    /// uppercase ASCII letters, digits or hyphens (else 422 `invalid_region`,
    /// field `tax.rates[i].region`). Absent for the country's own rate, which
    /// also applies to the country's regions that have no rate of their own.
    #[cfg_attr(feature = "openapi", schemars(regex(pattern = r"^[A-Z0-9-]{1,16}$"), extend("examples" = ["CA"])))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The rate in basis points (1 bp = 0.01 %, so 20 % is 2000): 0 to 10000
    /// (else 422 `invalid_rate`; a negative or fractional number is 400
    /// `invalid_type`).
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = 10000), extend("examples" = [725])))]
    pub basis_points: u32,
}

/// The store's tax settings. The rate for a destination is its region's rate
/// when the store has one, else the country's own rate (without region), else
/// 0; codes are compared ignoring case. Tax is computed per cart line on the
/// line's amount after discounts, on integers, rounding half to even on minor
/// units (0.5 ¢ goes to the even cent): with prices that exclude tax, tax =
/// round_half_even(amount × bp / 10000), added on top; with prices that include
/// tax, the line contains round_half_even(amount × bp / (10000 + bp)), which
/// does not add to the total. Shipping is not taxed. Unknown fields are refused
/// (400 `unknown_field`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"prices_include_tax": true, "rates": [{"country": "DE", "basis_points": 1900}]}])))]
#[serde(deny_unknown_fields)]
pub struct TaxConfig {
    /// Whether catalog prices already contain tax (VAT-style: true) or tax is
    /// added on top (sales-tax-style: false). Required in the input.
    pub prices_include_tax: bool,
    /// The rates, at most 500 (else 422 `too_many`, field `tax.rates`).
    /// Optional in the input (default: none, so no tax anywhere); always
    /// present in responses.
    #[cfg_attr(feature = "openapi", schemars(length(max = 500)))]
    #[serde(default)]
    pub rates: Vec<TaxRate>,
}

/// A country code: two ASCII uppercase letters.
pub fn is_country_code(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

fn is_region_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= limits::REGION_MAX
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

impl TaxConfig {
    /// The rate (basis points) for a destination: the region's rate, else
    /// the country's rate without region, else 0. Codes are compared
    /// ignoring ASCII case.
    pub fn rate_for(&self, country: &str, region: Option<&str>) -> u32 {
        let country = country.trim();
        let in_country = |r: &&TaxRate| r.country.eq_ignore_ascii_case(country);
        let regional = region.map(str::trim).and_then(|region| {
            self.rates.iter().filter(in_country).find(|r| {
                r.region
                    .as_deref()
                    .is_some_and(|rr| rr.eq_ignore_ascii_case(region))
            })
        });
        regional
            .or_else(|| {
                self.rates
                    .iter()
                    .filter(in_country)
                    .find(|r| r.region.is_none())
            })
            .map_or(0, |r| r.basis_points)
    }

    /// The tax of one line amount at `basis_points`, following this store's
    /// `prices_include_tax` (see the module doc for the rule).
    pub fn line_tax(&self, amount: i64, basis_points: u32) -> i64 {
        line_tax(amount, basis_points, self.prices_include_tax)
    }

    /// Every rule these settings break (empty when valid).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.rates.len() > limits::RATES_MAX {
            errors.push(field_error(
                "rates",
                "too_many",
                format!("at most {} rates", limits::RATES_MAX),
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, r) in self.rates.iter().enumerate() {
            if !is_country_code(&r.country) {
                errors.push(field_error(
                    format!("rates[{i}].country"),
                    "invalid_country",
                    "must be an ISO 3166-1 alpha-2 code in uppercase",
                ));
            }
            if let Some(region) = &r.region {
                if !is_region_code(region) {
                    errors.push(field_error(
                        format!("rates[{i}].region"),
                        "invalid_region",
                        format!(
                            "must be 1 to {} uppercase letters, digits or hyphens",
                            limits::REGION_MAX
                        ),
                    ));
                }
            }
            if r.basis_points > limits::BASIS_POINTS_MAX {
                errors.push(field_error(
                    format!("rates[{i}].basis_points"),
                    "invalid_rate",
                    "must be 0 to 10000 basis points",
                ));
            }
            if !seen.insert((r.country.clone(), r.region.clone())) {
                errors.push(field_error(
                    format!("rates[{i}]"),
                    "duplicate_rate",
                    "this country and region already have a rate",
                ));
            }
        }
        errors
    }
}

fn field_error(
    field: impl Into<String>,
    code: &'static str,
    message: impl Into<String>,
) -> FieldError {
    FieldError {
        field: field.into(),
        code,
        message: message.into(),
    }
}

/// Tax added on top of an amount that does not contain it:
/// round_half_even(amount × bp / 10 000).
pub fn tax_exclusive(amount: i64, basis_points: u32) -> i64 {
    round_half_even_div(
        i128::from(amount) * i128::from(basis_points),
        i128::from(limits::BASIS_POINTS_MAX),
    )
}

/// Tax contained in an amount that includes it:
/// round_half_even(amount × bp / (10 000 + bp)).
pub fn tax_included(amount: i64, basis_points: u32) -> i64 {
    round_half_even_div(
        i128::from(amount) * i128::from(basis_points),
        i128::from(limits::BASIS_POINTS_MAX) + i128::from(basis_points),
    )
}

/// The tax of one line amount: contained in it when `prices_include_tax`,
/// else added on top of it.
pub fn line_tax(amount: i64, basis_points: u32, prices_include_tax: bool) -> i64 {
    if prices_include_tax {
        tax_included(amount, basis_points)
    } else {
        tax_exclusive(amount, basis_points)
    }
}

/// `numerator / denominator` rounded to the nearest integer, ties to the
/// even one (2.5 → 2, 3.5 → 4, −2.5 → −2, −3.5 → −4). A quotient beyond
/// `i64` saturates.
///
/// # Panics
///
/// When `denominator` is 0, like integer division.
pub fn round_half_even_div(numerator: i128, denominator: i128) -> i64 {
    assert!(denominator != 0, "round_half_even_div by zero");
    let (n, d) = if denominator < 0 {
        (-numerator, -denominator)
    } else {
        (numerator, denominator)
    };
    // Floor division: n = q·d + r with 0 ≤ r < d, so n/d = q + r/d.
    let mut q = n.div_euclid(d);
    let r = n.rem_euclid(d);
    let above_half = r > d - r;
    let exactly_half = r == d - r;
    if above_half || (exactly_half && q % 2 != 0) {
        q += 1;
    }
    i64::try_from(q).unwrap_or(if q > 0 { i64::MAX } else { i64::MIN })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rate(country: &str, region: Option<&str>, bp: u32) -> TaxRate {
        TaxRate {
            country: country.into(),
            region: region.map(str::to_string),
            basis_points: bp,
        }
    }

    #[test]
    fn rounds_half_to_even_both_ways_and_for_negatives() {
        let table: &[(i128, i128, i64)] = &[
            (0, 7, 0),
            (5, 2, 2),   // 2.5 → 2
            (7, 2, 4),   // 3.5 → 4
            (1, 2, 0),   // 0.5 → 0
            (3, 2, 2),   // 1.5 → 2
            (-5, 2, -2), // −2.5 → −2
            (-7, 2, -4), // −3.5 → −4
            (-1, 2, 0),  // −0.5 → 0
            (-3, 2, -2), // −1.5 → −2
            (26, 10, 3), // 2.6 → 3
            (24, 10, 2), // 2.4 → 2
            (-26, 10, -3),
            (-24, 10, -2),
            (10, 5, 2), // exact
            (-10, 5, -2),
            (5, -2, -2), // negative denominator: −2.5 → −2
            (-7, -2, 4), // 3.5 → 4
            (125, 100, 1),
            (135, 100, 1),
            (150, 100, 2),
            (250, 100, 2),
            (1, 3, 0),
            (2, 3, 1),
        ];
        for &(n, d, want) in table {
            assert_eq!(round_half_even_div(n, d), want, "{n}/{d}");
        }
    }

    #[test]
    fn round_half_even_saturates_beyond_i64() {
        assert_eq!(round_half_even_div(i128::from(i64::MAX) * 4, 2), i64::MAX);
        assert_eq!(round_half_even_div(i128::from(i64::MIN) * 4, 2), i64::MIN);
    }

    #[test]
    #[should_panic(expected = "by zero")]
    fn round_half_even_refuses_zero_denominator() {
        round_half_even_div(1, 0);
    }

    #[test]
    fn exclusive_and_inclusive_tax() {
        // 19.99 at 20 %: 3.998 → 4.00.
        assert_eq!(tax_exclusive(1999, 2000), 400);
        // 0.25 at 10 % = 2.5 ¢ → 2; 0.35 at 10 % = 3.5 ¢ → 4.
        assert_eq!(tax_exclusive(25, 1000), 2);
        assert_eq!(tax_exclusive(35, 1000), 4);
        // 12.00 including 20 % VAT contains 2.00.
        assert_eq!(tax_included(1200, 2000), 200);
        // 1.05 including 5 % contains 0.05.
        assert_eq!(tax_included(105, 500), 5);
        // 0.21 including 5 %: 1 ¢ (21 × 500 / 10500 = 1.0).
        assert_eq!(tax_included(21, 500), 1);
        // 0.63 including 5 %: 3.0 ¢; 0.105 → ties: 210 × 500 / 10500 = 10.
        assert_eq!(tax_included(63, 500), 3);
        assert_eq!(tax_exclusive(0, 2000), 0);
        assert_eq!(tax_included(1000, 0), 0);
        assert_eq!(line_tax(1000, 2000, false), 200);
        assert_eq!(line_tax(1200, 2000, true), 200);
        // The largest amounts do not overflow.
        assert_eq!(tax_exclusive(i64::MAX, 10_000), i64::MAX);
    }

    #[test]
    fn lookup_prefers_region_then_country_then_zero() {
        let config = TaxConfig {
            prices_include_tax: false,
            rates: vec![
                rate("US", Some("CA"), 725),
                rate("US", Some("NY"), 400),
                rate("DE", None, 1900),
                rate("CA", None, 500),
                rate("CA", Some("QC"), 1498),
            ],
        };
        assert_eq!(config.rate_for("US", Some("CA")), 725);
        assert_eq!(config.rate_for("us", Some("ny")), 400);
        assert_eq!(config.rate_for("US", Some("TX")), 0, "no US-wide rate");
        assert_eq!(config.rate_for("US", None), 0);
        assert_eq!(
            config.rate_for("DE", Some("BY")),
            1900,
            "falls back to the country"
        );
        assert_eq!(config.rate_for("DE", None), 1900);
        assert_eq!(config.rate_for("CA", Some("QC")), 1498);
        assert_eq!(config.rate_for("CA", Some("ON")), 500);
        assert_eq!(config.rate_for("FR", None), 0);
        assert_eq!(config.line_tax(1000, 1900), 190);
    }

    #[test]
    fn validation_names_every_problem() {
        let config = TaxConfig {
            prices_include_tax: true,
            rates: vec![
                rate("DE", None, 1900),
                rate("de", None, 700),
                rate("FR", Some("idf"), 20_000),
                rate("DE", None, 700),
            ],
        };
        let found: Vec<_> = config
            .validate()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect();
        assert_eq!(
            found,
            [
                ("rates[1].country".to_string(), "invalid_country"),
                ("rates[2].region".to_string(), "invalid_region"),
                ("rates[2].basis_points".to_string(), "invalid_rate"),
                ("rates[3]".to_string(), "duplicate_rate"),
            ]
        );
        assert!(TaxConfig::default().validate().is_empty());
    }

    #[test]
    fn settings_round_trip_and_refuse_unknown_fields() {
        let json = r#"{"prices_include_tax":true,"rates":[{"country":"DE","basis_points":1900},{"country":"US","region":"CA","basis_points":725}]}"#;
        let config: TaxConfig = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&config).unwrap(), json);
        assert!(serde_json::from_str::<TaxConfig>(
            r#"{"prices_include_tax":true,"rates":[],"default_rate":5}"#
        )
        .is_err());
    }

    proptest! {
        /// The rounded quotient is within half a unit of the exact one, and
        /// exactly half a unit away only when it is even.
        #[test]
        fn rounding_is_nearest_with_ties_to_even(n in -1_000_000_000_000i128..1_000_000_000_000, d in 1i128..1_000_000) {
            let q = i128::from(round_half_even_div(n, d));
            let diff = (n - q * d).abs() * 2; // 2·|n/d − q|·d
            prop_assert!(diff <= d);
            if diff == d {
                prop_assert_eq!(q % 2, 0);
            }
            prop_assert_eq!(round_half_even_div(-n, d), -round_half_even_div(n, d));
            prop_assert_eq!(round_half_even_div(n, -d), round_half_even_div(-n, d));
        }

        /// Inclusive tax never exceeds the amount, and net + exclusive tax on
        /// the net gives back the gross within a cent.
        #[test]
        fn inclusive_and_exclusive_agree(amount in 0i64..100_000_000_000, bp in 0u32..=10_000) {
            let contained = tax_included(amount, bp);
            prop_assert!((0..=amount).contains(&contained));
            let net = amount - contained;
            prop_assert!((net + tax_exclusive(net, bp) - amount).abs() <= 1);
        }
    }
}
