//! Promotions and coupons: what a promotion takes off, what it applies to,
//! when and how often it may be used, the admin input that defines one, and
//! whether one may apply to a cart right now.
//!
//! A promotion without a code is *automatic*: it applies to every eligible
//! cart. A promotion with a code is a *coupon* the shopper enters; codes are
//! stored uppercase and matched ignoring case and surrounding spaces.
//!
//! Currencies: a promotion applies in a currency only if it can say what it
//! is worth there. An amount-off promotion applies only in the currencies
//! of its `amounts`. A non-empty `min_subtotal` also restricts the
//! promotion to the currencies it lists (a merchant who sets a USD minimum
//! and no EUR one has not thought about EUR carts, so they get nothing);
//! list a currency with a minimum of 0 to apply there without a minimum.
//! An empty `min_subtotal` means no minimum in any currency.
//!
//! How discounts are computed and combined on a cart is [`crate::pricing`]'s
//! job; counting redemptions is the caller's (they are passed in).
//!
//! What this module must not do: read a clock (time is `now_ms`), store or
//! count anything, use floats, or know about HTTP.

use crate::catalog::{is_sku, is_slug, FieldError};
use crate::money::{Currency, CurrencyError, Money};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Schema number of the stored [`Promotion`] record.
pub const PROMOTION_SCHEMA: u32 = 1;

/// Limits on a promotion (admin input).
pub mod limits {
    /// Longest promotion id.
    pub const ID_MAX: usize = 64;
    /// Shortest and longest coupon code.
    pub const CODE_MIN: usize = 3;
    pub const CODE_MAX: usize = 32;
    /// Longest description, in characters.
    pub const DESCRIPTION_MAX: usize = 200;
    /// 100 %.
    pub const BASIS_POINTS_MAX: u32 = 10_000;
    /// Largest amount off or minimum subtotal, in minor units.
    pub const AMOUNT_MAX: i64 = 100_000_000_000;
}

/// What a promotion takes off, by `type`: `percentage` or `amount_off`. Another
/// type is 400 `invalid_type`; unknown fields are refused (400
/// `unknown_field`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Discount {
    /// A share of each targeted line: per line, round_half_even(what is left of
    /// the line × basis_points / 10000), on minor units.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"type": "percentage", "basis_points": 1000}])))]
    Percentage {
        /// The share in basis points: 1 to 10000, where 1000 is 10 % (else 422
        /// `invalid_rate`, field `discount.basis_points`; a fractional number
        /// is 400 `invalid_type`).
        #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 10000), extend("examples" = [1000])))]
        basis_points: u32,
    },
    /// A fixed amount per currency, for the whole set of targeted lines (not
    /// per unit or per line): capped at what is left of those lines and
    /// allocated across them in proportion to what is left of each, exactly
    /// (each line gets the floor of its share, and the cents still missing go
    /// one each to the lines with the largest remainders, ties to the earlier
    /// line), so the line discounts add up to the amount. The promotion applies
    /// only in the currencies listed.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"type": "amount_off", "amounts": {"EUR": 450, "USD": 500}}])))]
    AmountOff {
        /// Minor units off per currency: at least one (else 422
        /// `missing_amount`, field `discount.amounts`); keys are currencies the
        /// shop knows, case-insensitive, shown uppercase (else 422
        /// `unknown_currency`, field `discount.amounts.XYZ`); each value a JSON
        /// integer from 1 to 100000000000 (else 422 `invalid_amount`, field
        /// `discount.amounts.USD`).
        #[cfg_attr(feature = "openapi", schemars(extend("propertyNames" = {"type": "string", "pattern": "^([Aa][Uu][Dd]|[Cc][Aa][Dd]|[Cc][Hh][Ff]|[Ee][Uu][Rr]|[Gg][Bb][Pp]|[Jj][Pp][Yy]|[Uu][Ss][Dd])$"}, "additionalProperties" = {"type": "integer", "format": "int64", "minimum": 1, "maximum": 100000000000_i64}, "minProperties" = 1), extend("examples" = [{"USD": 500, "EUR": 450}])))]
        amounts: BTreeMap<Currency, i64>,
    },
}

/// Which lines a promotion applies to, by `type`: `cart`, `sku` or `category`.
/// Another type is 400 `invalid_type`; unknown fields are refused (400
/// `unknown_field`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "PromotionTarget"))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// Every line of the cart.
    ///
    /// (An empty struct variant, not a unit one: serde ignores
    /// `deny_unknown_fields` on the unit variants of an internally tagged
    /// enum.)
    Cart {},
    /// The cart's line for one SKU.
    Sku {
        /// The SKU: uppercase letters, digits and hyphens (else 422
        /// `invalid_sku`, field `target.sku`). It is not checked against the
        /// catalog.
        #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::Sku"))]
        sku: String,
    },
    /// The lines whose product is in one category.
    Category {
        /// The category's slug (else 422 `invalid_slug`, field
        /// `target.category`). It is not checked against the catalog.
        #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::Slug"))]
        category: String,
    },
}

impl Target {
    /// Whether a line of `sku`, whose product is in `category`, is targeted.
    pub fn matches(&self, sku: &str, category: &str) -> bool {
        match self {
            Target::Cart {} => true,
            Target::Sku { sku: s } => s == sku,
            Target::Category { category: c } => c == category,
        }
    }
}

/// A promotion as the admin API shows it: the stored record (instants in Unix
/// milliseconds; optional members omitted when unset) plus `starts_at` and
/// `ends_at` in RFC 3339 and the `redemptions` so far. Without `code` it is
/// automatic (it applies to every eligible cart); with one it is a coupon (it
/// applies to carts that carry the code). It applies in a currency only if it
/// can say what it is worth there: an `amount_off` promotion only in the
/// currencies of its `amounts`, and a promotion with a non-empty `min_subtotal`
/// only in the currencies listed there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "PromotionRecord"))]
#[serde(deny_unknown_fields)]
pub struct Promotion {
    /// Version of the promotion record's format (1).
    #[cfg_attr(feature = "openapi", schemars(extend("const" = 1)))]
    pub schema: u32,
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::PromotionId"))]
    pub id: String,
    /// The coupon code, uppercase; absent for an automatic promotion. No two
    /// promotions share a code.
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "Option<crate::openapi::CouponCode>")
    )]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What the shopper is told, e.g. in the cart's `discounts` (empty when
    /// none was given).
    #[cfg_attr(feature = "openapi", schemars(length(max = 200), extend("examples" = ["10 % off everything"])))]
    #[serde(default)]
    pub description: String,
    pub discount: Discount,
    pub target: Target,
    /// The least cart subtotal before discounts, in minor units per currency.
    /// When present, the promotion applies only in the currencies listed (a
    /// minimum of 0 applies without one); omitted when empty (no minimum, in
    /// any currency).
    #[cfg_attr(feature = "openapi", schemars(extend("propertyNames" = {"pattern": "^[A-Za-z]{3}$"}, "additionalProperties" = {"type": "integer", "format": "int64", "minimum": 0, "maximum": 100000000000_i64}), extend("examples" = [{"USD": 10000}])))]
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub min_subtotal: BTreeMap<Currency, i64>,
    /// The first instant it applies (inclusive), in Unix milliseconds; omitted
    /// when it applies from the start.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64"), extend("examples" = [1793491200000_i64])))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at_ms: Option<i64>,
    /// The first instant it no longer applies (exclusive), in Unix
    /// milliseconds; omitted when it does not end.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64"), extend("examples" = [1796083200000_i64])))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at_ms: Option<i64>,
    /// The most redemptions in total; omitted when unlimited.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 4294967295_i64), extend("examples" = [1000])))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_limit: Option<u32>,
    /// The most redemptions by one customer (their email compared without
    /// case and without a `+tag`); omitted when unlimited.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 4294967295_i64), extend("examples" = [1])))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_customer_limit: Option<u32>,
    /// False when the merchant switched it off: it then applies to no cart.
    pub active: bool,
}

/// Why a promotion does not apply to a cart now. `reason` is, in the order the
/// checks run: `inactive` (switched off), `not_started` (its `starts_at` is
/// ahead), `expired` (its `ends_at` has passed), `not_in_currency` (it says
/// nothing about the cart's currency), `below_minimum` (the subtotal before
/// discounts is below `min`), `usage_limit_reached` and
/// `customer_limit_reached` (redeemed as often as allowed, in total or by this
/// customer: checked when an order redeems it, never in cart responses, which
/// are priced without redemption counts), and `no_eligible_items` (nothing in
/// the cart is left for it to discount: no targeted line, or earlier promotions
/// took the targeted lines to zero).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "openapi",
    schemars(extend("examples" = [{"reason": "below_minimum", "min": {"amount": 10000, "currency": "USD"}}, {"reason": "expired"}]))
)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum PromotionRefusal {
    /// Switched off by the merchant.
    Inactive,
    /// Its start is still ahead.
    NotStarted,
    /// Its end has passed.
    Expired,
    /// It says nothing about the cart's currency.
    NotInCurrency,
    /// The subtotal before discounts is below `min`.
    BelowMinimum { min: Money },
    /// Redeemed as often as allowed in total.
    UsageLimitReached,
    /// Redeemed as often as allowed by this customer.
    CustomerLimitReached,
    /// Nothing in the cart is left for it to discount (no targeted line, or
    /// earlier promotions took the targeted lines to zero). Only pricing a
    /// cart finds this; [`Promotion::eligibility`] never returns it.
    NoEligibleItems,
}

impl PromotionRefusal {
    /// The stable name of the reason (its `reason` tag in JSON).
    pub fn code(&self) -> &'static str {
        match self {
            PromotionRefusal::Inactive => "inactive",
            PromotionRefusal::NotStarted => "not_started",
            PromotionRefusal::Expired => "expired",
            PromotionRefusal::NotInCurrency => "not_in_currency",
            PromotionRefusal::BelowMinimum { .. } => "below_minimum",
            PromotionRefusal::UsageLimitReached => "usage_limit_reached",
            PromotionRefusal::CustomerLimitReached => "customer_limit_reached",
            PromotionRefusal::NoEligibleItems => "no_eligible_items",
        }
    }
}

/// A code as entered, in its stored form: trimmed and uppercased.
pub fn normalize_code(entered: &str) -> String {
    entered.trim().to_ascii_uppercase()
}

/// A stored coupon code: 3–32 of `A–Z`, `0–9` and `-`.
pub fn is_code(s: &str) -> bool {
    (limits::CODE_MIN..=limits::CODE_MAX).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// A promotion id: 1–64 lowercase ASCII letters, digits, `-` or `_`.
pub fn is_promotion_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= limits::ID_MAX
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Promotion {
    /// Automatic (no code) rather than a coupon.
    pub fn is_automatic(&self) -> bool {
        self.code.is_none()
    }

    /// Whether a code the shopper entered is this coupon's (ignoring case
    /// and surrounding spaces). An automatic promotion matches no code.
    pub fn matches_code(&self, entered: &str) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| c == normalize_code(entered))
    }

    /// Whether this promotion can say what it is worth in `currency` (see
    /// the module doc).
    pub fn applies_in(&self, currency: Currency) -> bool {
        let priced = match &self.discount {
            Discount::Percentage { .. } => true,
            Discount::AmountOff { amounts } => amounts.contains_key(&currency),
        };
        priced && (self.min_subtotal.is_empty() || self.min_subtotal.contains_key(&currency))
    }

    /// Whether the promotion may apply at `now_ms` to a cart whose subtotal
    /// before discounts is `subtotal`, given how often it was redeemed in
    /// total and by this customer. Checks, in this order: active, started,
    /// not ended, currency, minimum subtotal, total limit, customer limit;
    /// the first that fails is the refusal.
    pub fn eligibility(
        &self,
        now_ms: i64,
        subtotal: Money,
        redemptions_so_far: u32,
        customer_redemptions: u32,
    ) -> Result<(), PromotionRefusal> {
        if !self.active {
            return Err(PromotionRefusal::Inactive);
        }
        if self.starts_at_ms.is_some_and(|s| now_ms < s) {
            return Err(PromotionRefusal::NotStarted);
        }
        if self.ends_at_ms.is_some_and(|e| now_ms >= e) {
            return Err(PromotionRefusal::Expired);
        }
        if !self.applies_in(subtotal.currency) {
            return Err(PromotionRefusal::NotInCurrency);
        }
        if let Some(min) = self.min_subtotal.get(&subtotal.currency) {
            if subtotal.amount < *min {
                return Err(PromotionRefusal::BelowMinimum {
                    min: Money::new(*min, subtotal.currency),
                });
            }
        }
        if self.usage_limit.is_some_and(|l| redemptions_so_far >= l) {
            return Err(PromotionRefusal::UsageLimitReached);
        }
        if self
            .per_customer_limit
            .is_some_and(|l| customer_redemptions >= l)
        {
            return Err(PromotionRefusal::CustomerLimitReached);
        }
        Ok(())
    }
}

/// The body of `PUT /admin/v1/promotions/{id}`: the whole promotion, which
/// replaces any stored under this id. Unknown fields are refused (400
/// `unknown_field`), a missing one is 400 `missing_field` and a wrong JSON type
/// 400 `invalid_type`, each naming the field. Rule violations are 422
/// `validation_failed` listing every problem at once, each naming its field
/// (`id`, `code`, `description`, `discount.basis_points`, `discount.amounts`,
/// `discount.amounts.USD`, `target.sku`, `target.category`, `min_subtotal.USD`,
/// `starts_at`, `ends_at`, `usage_limit`, `per_customer_limit`).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"code": "save10", "description": "10 % off everything", "discount": {"type": "percentage", "basis_points": 1000}, "target": {"type": "cart"}, "starts_at": "2026-11-01T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z", "usage_limit": 1000, "per_customer_limit": 1}])))]
#[serde(deny_unknown_fields)]
pub struct PromotionInput {
    /// Optional: the path's `{id}` is used. When given it must equal the path's
    /// `{id}` (else 422 `id_mismatch`, field `id`, reported alone). The id must
    /// be 1 to 64 lowercase ASCII letters, digits, `-` or `_` (else 422
    /// `invalid_id`, field `id`).
    #[cfg_attr(feature = "openapi", schemars(default, extend("examples" = ["save10"])))]
    pub id: String,
    /// The coupon code; absent or null for an automatic promotion. Trimmed and
    /// uppercased, it must be 3 to 32 letters, digits or hyphens (else 422
    /// `invalid_code`, field `code`) and used by no other promotion (else 409
    /// `code_taken`).
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["save10"])))]
    #[serde(default)]
    pub code: Option<String>,
    /// What the shopper is told: at most 200 characters after trimming (else
    /// 422 `invalid_length`); stored trimmed. Default: empty.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["10 % off everything"])))]
    #[serde(default)]
    pub description: String,
    pub discount: DiscountInput,
    pub target: Target,
    /// The least cart subtotal before discounts, per currency: keys are
    /// currencies the shop knows, case-insensitive (else 422
    /// `unknown_currency`, field `min_subtotal.XYZ`); values JSON integers from
    /// 0 to 100000000000 (else 422 `invalid_amount`, field `min_subtotal.USD`).
    /// When non-empty the promotion applies only in the currencies listed; list
    /// a currency with 0 to apply there without a minimum. Default: empty (no
    /// minimum, any currency).
    #[cfg_attr(feature = "openapi", schemars(extend("propertyNames" = {"type": "string", "pattern": "^([Aa][Uu][Dd]|[Cc][Aa][Dd]|[Cc][Hh][Ff]|[Ee][Uu][Rr]|[Gg][Bb][Pp]|[Jj][Pp][Yy]|[Uu][Ss][Dd])$"}, "additionalProperties" = {"type": "integer", "format": "int64", "minimum": 0, "maximum": 100000000000_i64}), extend("examples" = [{"USD": 10000, "EUR": 0}])))]
    #[serde(default)]
    pub min_subtotal: BTreeMap<String, Value>,
    /// The first instant it applies (inclusive), an RFC 3339 timestamp (else
    /// 422 `invalid_timestamp`). Absent or null: no start (it applies at once).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time"), extend("examples" = ["2026-11-01T00:00:00Z"])))]
    #[serde(default)]
    pub starts_at: Option<String>,
    /// The first instant it no longer applies (exclusive), an RFC 3339
    /// timestamp (else 422 `invalid_timestamp`) after `starts_at` (else 422
    /// `ends_before_start`). Absent or null: no end.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time"), extend("examples" = ["2026-12-01T00:00:00Z"])))]
    #[serde(default)]
    pub ends_at: Option<String>,
    /// The most redemptions in total: an integer from 1 to 4294967295 (else 422
    /// `invalid_limit`). Absent or null: unlimited.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 4294967295_i64), extend("examples" = [1000])))]
    #[serde(default)]
    pub usage_limit: Option<i64>,
    /// The most redemptions by one customer: an integer from 1 to 4294967295
    /// (else 422 `invalid_limit`). Absent or null: unlimited. A customer is
    /// the order's email compared without case and without a `+tag`
    /// (`Bob@Example.com` and `bob+2@example.com` are one customer).
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 4294967295_i64), extend("examples" = [1])))]
    #[serde(default)]
    pub per_customer_limit: Option<i64>,
    /// False switches the promotion off without deleting it. Default: true.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// What a promotion takes off, by `type`: `percentage` or `amount_off`. Another
/// type is 400 `invalid_type`; unknown fields are refused (400
/// `unknown_field`).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DiscountInput {
    /// A share of each targeted line: per line, round_half_even(what is left of
    /// the line × basis_points / 10000), on minor units.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"type": "percentage", "basis_points": 1000}])))]
    Percentage {
        /// The share in basis points: 1 to 10000, where 1000 is 10 % (else 422
        /// `invalid_rate`, field `discount.basis_points`; a fractional number
        /// is 400 `invalid_type`).
        #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 10000), extend("examples" = [1000])))]
        basis_points: i64,
    },
    /// A fixed amount per currency, for the whole set of targeted lines (not
    /// per unit or per line): capped at what is left of those lines and
    /// allocated across them in proportion to what is left of each, exactly
    /// (each line gets the floor of its share, and the cents still missing go
    /// one each to the lines with the largest remainders, ties to the earlier
    /// line), so the line discounts add up to the amount. The promotion applies
    /// only in the currencies listed.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"type": "amount_off", "amounts": {"EUR": 450, "USD": 500}}])))]
    AmountOff {
        /// Minor units off per currency: at least one (else 422
        /// `missing_amount`, field `discount.amounts`); keys are currencies the
        /// shop knows, case-insensitive, shown uppercase (else 422
        /// `unknown_currency`, field `discount.amounts.XYZ`); each value a JSON
        /// integer from 1 to 100000000000 (else 422 `invalid_amount`, field
        /// `discount.amounts.USD`).
        #[cfg_attr(feature = "openapi", schemars(extend("propertyNames" = {"type": "string", "pattern": "^([Aa][Uu][Dd]|[Cc][Aa][Dd]|[Cc][Hh][Ff]|[Ee][Uu][Rr]|[Gg][Bb][Pp]|[Jj][Pp][Yy]|[Uu][Ss][Dd])$"}, "additionalProperties" = {"type": "integer", "format": "int64", "minimum": 1, "maximum": 100000000000_i64}, "minProperties" = 1), extend("examples" = [{"USD": 500, "EUR": 450}])))]
        amounts: BTreeMap<String, Value>,
    },
}

fn problem(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        code,
        message: message.into(),
    }
}

/// Unix milliseconds of an RFC 3339 timestamp.
fn parse_instant_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Checks a per-currency list of amounts in `range`, naming `{field}.{code}`.
fn parse_amounts(
    field: &str,
    amounts: BTreeMap<String, Value>,
    range: std::ops::RangeInclusive<i64>,
    errors: &mut Vec<FieldError>,
) -> BTreeMap<Currency, i64> {
    let mut out = BTreeMap::new();
    for (code, value) in amounts {
        let f = format!("{field}.{code}");
        match Currency::parse(&code) {
            Err(CurrencyError::Malformed | CurrencyError::Unknown) => errors.push(problem(
                f,
                "unknown_currency",
                "not a known ISO 4217 currency code",
            )),
            Ok(c) => match crate::admin::integer_value(&value).filter(|a| range.contains(a)) {
                Some(a) => {
                    out.insert(c, a);
                }
                None => errors.push(problem(
                    f,
                    "invalid_amount",
                    format!(
                        "must be an integer of minor units from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )),
            },
        }
    }
    out
}

fn parse_limit(field: &str, value: Option<i64>, errors: &mut Vec<FieldError>) -> Option<u32> {
    let value = value?;
    match u32::try_from(value).ok().filter(|v| *v >= 1) {
        Some(v) => Some(v),
        None => {
            errors.push(problem(
                field,
                "invalid_limit",
                format!("must be an integer from 1 to {}", u32::MAX),
            ));
            None
        }
    }
}

impl PromotionInput {
    /// The promotion this input describes, or every problem it has (all of
    /// them at once, each naming its field).
    pub fn validate(self) -> Result<Promotion, Vec<FieldError>> {
        let mut errors = Vec::new();
        if !is_promotion_id(&self.id) {
            errors.push(problem(
                "id",
                "invalid_id",
                "must be 1 to 64 lowercase letters, digits, hyphens or underscores",
            ));
        }
        let code = self.code.as_deref().map(normalize_code);
        if code.as_deref().is_some_and(|c| !is_code(c)) {
            errors.push(problem(
                "code",
                "invalid_code",
                "must be 3 to 32 letters, digits or hyphens",
            ));
        }
        let description = self.description.trim().to_string();
        if description.chars().count() > limits::DESCRIPTION_MAX {
            errors.push(problem(
                "description",
                "invalid_length",
                "must be at most 200 characters",
            ));
        }
        let discount = match self.discount {
            DiscountInput::Percentage { basis_points } => {
                match u32::try_from(basis_points)
                    .ok()
                    .filter(|bp| (1..=limits::BASIS_POINTS_MAX).contains(bp))
                {
                    Some(bp) => Discount::Percentage { basis_points: bp },
                    None => {
                        errors.push(problem(
                            "discount.basis_points",
                            "invalid_rate",
                            "must be 1 to 10000 basis points",
                        ));
                        Discount::Percentage { basis_points: 0 }
                    }
                }
            }
            DiscountInput::AmountOff { amounts } => {
                if amounts.is_empty() {
                    errors.push(problem(
                        "discount.amounts",
                        "missing_amount",
                        "needs an amount in at least one currency",
                    ));
                }
                Discount::AmountOff {
                    amounts: parse_amounts(
                        "discount.amounts",
                        amounts,
                        1..=limits::AMOUNT_MAX,
                        &mut errors,
                    ),
                }
            }
        };
        match &self.target {
            Target::Cart {} => {}
            Target::Sku { sku } => {
                if !is_sku(sku) {
                    errors.push(problem(
                        "target.sku",
                        "invalid_sku",
                        "must be uppercase letters, digits and hyphens",
                    ));
                }
            }
            Target::Category { category } => {
                if !is_slug(category) {
                    errors.push(problem(
                        "target.category",
                        "invalid_slug",
                        "must be lowercase words of letters and digits joined by single hyphens",
                    ));
                }
            }
        }
        let min_subtotal = parse_amounts(
            "min_subtotal",
            self.min_subtotal,
            0..=limits::AMOUNT_MAX,
            &mut errors,
        );
        let mut instant = |field: &str, value: Option<String>| {
            let value = value?;
            let ms = parse_instant_ms(&value);
            if ms.is_none() {
                errors.push(problem(
                    field,
                    "invalid_timestamp",
                    "must be an RFC 3339 timestamp",
                ));
            }
            ms
        };
        let starts_at_ms = instant("starts_at", self.starts_at);
        let ends_at_ms = instant("ends_at", self.ends_at);
        if let (Some(s), Some(e)) = (starts_at_ms, ends_at_ms) {
            if e <= s {
                errors.push(problem(
                    "ends_at",
                    "ends_before_start",
                    "must be after starts_at",
                ));
            }
        }
        let usage_limit = parse_limit("usage_limit", self.usage_limit, &mut errors);
        let per_customer_limit =
            parse_limit("per_customer_limit", self.per_customer_limit, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Promotion {
            schema: PROMOTION_SCHEMA,
            id: self.id,
            code,
            description,
            discount,
            target: self.target,
            min_subtotal,
            starts_at_ms,
            ends_at_ms,
            usage_limit,
            per_customer_limit,
            active: self.active,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::parse_input;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn ten_percent() -> Promotion {
        Promotion {
            schema: PROMOTION_SCHEMA,
            id: "summer".into(),
            code: Some("SUMMER10".into()),
            description: "10 % off everything".into(),
            discount: Discount::Percentage { basis_points: 1000 },
            target: Target::Cart {},
            min_subtotal: BTreeMap::new(),
            starts_at_ms: Some(1_000),
            ends_at_ms: Some(2_000),
            usage_limit: Some(100),
            per_customer_limit: Some(1),
            active: true,
        }
    }

    #[test]
    fn refusal_codes_are_their_json_tags() {
        let all = [
            PromotionRefusal::Inactive,
            PromotionRefusal::NotStarted,
            PromotionRefusal::Expired,
            PromotionRefusal::NotInCurrency,
            PromotionRefusal::BelowMinimum {
                min: Money::new(1, usd()),
            },
            PromotionRefusal::UsageLimitReached,
            PromotionRefusal::CustomerLimitReached,
            PromotionRefusal::NoEligibleItems,
        ];
        for r in all {
            let json = serde_json::to_value(&r).unwrap();
            assert_eq!(json["reason"], r.code(), "{r:?}");
        }
    }

    #[test]
    fn eligibility_table() {
        let p = ten_percent();
        let with_min = Promotion {
            min_subtotal: BTreeMap::from([(usd(), 5000)]),
            ..ten_percent()
        };
        let off = Promotion {
            active: false,
            ..ten_percent()
        };
        let five_usd = Promotion {
            discount: Discount::AmountOff {
                amounts: BTreeMap::from([(usd(), 500)]),
            },
            ..ten_percent()
        };
        let open = Promotion {
            starts_at_ms: None,
            ends_at_ms: None,
            usage_limit: None,
            per_customer_limit: None,
            ..ten_percent()
        };
        let usd_cart = |a| Money::new(a, usd());
        use PromotionRefusal::*;
        /// (promotion, now, subtotal, redemptions, by this customer, expected)
        type Row<'a> = (
            &'a Promotion,
            i64,
            Money,
            u32,
            u32,
            Result<(), PromotionRefusal>,
        );
        let table: Vec<Row> = vec![
            (&p, 1_000, usd_cart(1), 0, 0, Ok(())),
            (&p, 1_999, usd_cart(1), 99, 0, Ok(())),
            (&p, 999, usd_cart(1), 0, 0, Err(NotStarted)),
            (&p, 2_000, usd_cart(1), 0, 0, Err(Expired)),
            (&p, 1_500, usd_cart(1), 100, 0, Err(UsageLimitReached)),
            (&p, 1_500, usd_cart(1), 0, 1, Err(CustomerLimitReached)),
            (&p, 1_500, usd_cart(1), 100, 1, Err(UsageLimitReached)),
            (&p, 1_500, Money::new(1, eur()), 0, 0, Ok(())),
            (&off, 1_500, usd_cart(1), 0, 0, Err(Inactive)),
            (&off, 5_000, usd_cart(1), 0, 0, Err(Inactive)),
            (&with_min, 1_500, usd_cart(5000), 0, 0, Ok(())),
            (
                &with_min,
                1_500,
                usd_cart(4999),
                0,
                0,
                Err(BelowMinimum {
                    min: usd_cart(5000),
                }),
            ),
            (
                &with_min,
                1_500,
                Money::new(9999, eur()),
                0,
                0,
                Err(NotInCurrency),
            ),
            (&five_usd, 1_500, usd_cart(1), 0, 0, Ok(())),
            (
                &five_usd,
                1_500,
                Money::new(1, eur()),
                0,
                0,
                Err(NotInCurrency),
            ),
            (&open, i64::MIN, usd_cart(0), u32::MAX, u32::MAX, Ok(())),
            (&open, i64::MAX, usd_cart(0), 0, 0, Ok(())),
        ];
        for (i, (promo, now, subtotal, total, mine, want)) in table.into_iter().enumerate() {
            assert_eq!(
                promo.eligibility(now, subtotal, total, mine),
                want,
                "row {i}"
            );
        }
    }

    #[test]
    fn codes_match_ignoring_case_and_spaces() {
        let p = ten_percent();
        assert!(p.matches_code("summer10"));
        assert!(p.matches_code("  Summer10 "));
        assert!(!p.matches_code("SUMMER1"));
        let auto = Promotion {
            code: None,
            ..ten_percent()
        };
        assert!(auto.is_automatic() && !p.is_automatic());
        assert!(!auto.matches_code(""));
        assert!(is_code("ABC") && is_code("BLACK-FRIDAY-2026"));
        assert!(!is_code("AB") && !is_code("abc") && !is_code("A_B") && !is_code(&"A".repeat(33)));
    }

    #[test]
    fn targets_match_lines() {
        assert!(Target::Cart {}.matches("A", "x"));
        let sku = Target::Sku {
            sku: "KTL-1".into(),
        };
        assert!(sku.matches("KTL-1", "kitchen") && !sku.matches("KTL-2", "kitchen"));
        let cat = Target::Category {
            category: "kitchen".into(),
        };
        assert!(cat.matches("A", "kitchen") && !cat.matches("A", "garden"));
    }

    #[test]
    fn records_round_trip_and_refuse_unknown_fields() {
        let p = Promotion {
            discount: Discount::AmountOff {
                amounts: BTreeMap::from([(usd(), 500)]),
            },
            target: Target::Category {
                category: "kitchen".into(),
            },
            min_subtotal: BTreeMap::from([(usd(), 2000)]),
            ..ten_percent()
        };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"schema":1,"id":"summer","code":"SUMMER10","description":"10 % off everything","discount":{"type":"amount_off","amounts":{"USD":500}},"target":{"type":"category","category":"kitchen"},"min_subtotal":{"USD":2000},"starts_at_ms":1000,"ends_at_ms":2000,"usage_limit":100,"per_customer_limit":1,"active":true}"#
        );
        assert_eq!(serde_json::from_str::<Promotion>(&json).unwrap(), p);
        let extra = json.replace(r#""active":true"#, r#""active":true,"stackable":false"#);
        assert!(serde_json::from_str::<Promotion>(&extra).is_err());
        let extra_in_discount = json.replace(r#""amounts":"#, r#""cap":1,"amounts":"#);
        assert!(serde_json::from_str::<Promotion>(&extra_in_discount).is_err());
        // A field-less target refuses fields too.
        let cart = r#"{"type":"cart"}"#;
        assert_eq!(
            serde_json::from_str::<Target>(cart).unwrap(),
            Target::Cart {}
        );
        assert!(serde_json::from_str::<Target>(r#"{"type":"cart","sku":"A"}"#).is_err());
        let refusal = PromotionRefusal::BelowMinimum {
            min: Money::new(5000, usd()),
        };
        assert_eq!(
            serde_json::to_string(&refusal).unwrap(),
            r#"{"reason":"below_minimum","min":{"amount":5000,"currency":"USD"}}"#
        );
        assert_eq!(
            serde_json::to_string(&PromotionRefusal::UsageLimitReached).unwrap(),
            r#"{"reason":"usage_limit_reached"}"#
        );
    }

    #[test]
    fn input_becomes_a_normalized_promotion() {
        let input: PromotionInput = parse_input(
            r#"{"id":"summer","code":" summer10 ","description":" 10 % off everything ",
                "discount":{"type":"percentage","basis_points":1000},"target":{"type":"cart"},
                "starts_at":"1970-01-01T00:00:01Z","ends_at":"1970-01-01T00:00:02Z",
                "usage_limit":100,"per_customer_limit":1}"#,
        )
        .unwrap();
        assert_eq!(input.validate().unwrap(), ten_percent());
        let auto: PromotionInput = parse_input(
            r#"{"id":"five-off","discount":{"type":"amount_off","amounts":{"usd":500,"EUR":450}},
                "target":{"type":"sku","sku":"KTL-1"},"min_subtotal":{"USD":0},"active":false}"#,
        )
        .unwrap();
        let p = auto.validate().unwrap();
        assert_eq!(p.code, None);
        assert_eq!(
            p.discount,
            Discount::AmountOff {
                amounts: BTreeMap::from([(usd(), 500), (eur(), 450)])
            }
        );
        assert_eq!(p.min_subtotal, BTreeMap::from([(usd(), 0)]));
        assert!(!p.active);
        assert!(p.applies_in(usd()) && !p.applies_in(eur()));
    }

    #[test]
    fn input_reports_every_problem_at_once() {
        let input: PromotionInput = parse_input(&format!(
            r#"{{"id":"Summer Sale","code":"x!","description":"{}",
                "discount":{{"type":"amount_off","amounts":{{"USD":0,"XYZ":5,"EUR":"5"}}}},
                "target":{{"type":"sku","sku":"ktl-1"}},"min_subtotal":{{"USD":-1}},
                "starts_at":"2026-12-01T00:00:00Z","ends_at":"2026-11-01T00:00:00Z",
                "usage_limit":0,"per_customer_limit":5000000000}}"#,
            "d".repeat(201)
        ))
        .unwrap();
        let found: Vec<_> = input
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect();
        let want = [
            ("id", "invalid_id"),
            ("code", "invalid_code"),
            ("description", "invalid_length"),
            ("discount.amounts.EUR", "invalid_amount"),
            ("discount.amounts.USD", "invalid_amount"),
            ("discount.amounts.XYZ", "unknown_currency"),
            ("target.sku", "invalid_sku"),
            ("min_subtotal.USD", "invalid_amount"),
            ("ends_at", "ends_before_start"),
            ("usage_limit", "invalid_limit"),
            ("per_customer_limit", "invalid_limit"),
        ];
        let want: Vec<_> = want.iter().map(|(f, c)| (f.to_string(), *c)).collect();
        assert_eq!(found, want);

        let input: PromotionInput = parse_input(
            r#"{"id":"p","discount":{"type":"percentage","basis_points":10001},
                "target":{"type":"category","category":"Kitchen"},"starts_at":"tomorrow",
                "code":""}"#,
        )
        .unwrap();
        let found: Vec<_> = input
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect();
        let want = [
            ("code", "invalid_code"),
            ("discount.basis_points", "invalid_rate"),
            ("target.category", "invalid_slug"),
            ("starts_at", "invalid_timestamp"),
        ];
        let want: Vec<_> = want.iter().map(|(f, c)| (f.to_string(), *c)).collect();
        assert_eq!(found, want);

        let empty: PromotionInput = parse_input(
            r#"{"id":"p","discount":{"type":"amount_off","amounts":{}},"target":{"type":"cart"}}"#,
        )
        .unwrap();
        assert_eq!(empty.validate().unwrap_err()[0].field, "discount.amounts");
        let zero: PromotionInput = parse_input(
            r#"{"id":"p","discount":{"type":"percentage","basis_points":0},"target":{"type":"cart"}}"#,
        )
        .unwrap();
        assert_eq!(zero.validate().unwrap_err()[0].code, "invalid_rate");
    }

    #[test]
    fn input_refuses_unknown_and_missing_fields() {
        let e = parse_input::<PromotionInput>(
            r#"{"id":"p","discount":{"type":"percentage","basis_points":5},"target":{"type":"cart"},"stackable":true}"#,
        )
        .unwrap_err();
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("unknown_field", Some("stackable"))
        );
        let e = parse_input::<PromotionInput>(
            r#"{"id":"p","discount":{"type":"percentage","basis_points":5}}"#,
        )
        .unwrap_err();
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("missing_field", Some("target"))
        );
        let e = parse_input::<PromotionInput>(
            r#"{"id":"p","discount":{"type":"percentage","basis_points":5,"cap":3},"target":{"type":"cart"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.code, "unknown_field", "{e:?}");
        let e = parse_input::<PromotionInput>(
            r#"{"id":"p","discount":{"type":"bogo"},"target":{"type":"cart"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.code, "invalid_type", "{e:?}");
    }
}
