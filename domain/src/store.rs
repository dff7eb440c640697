//! A store's configuration (tax, shipping methods, payment provider) and
//! the coupon redemption ledger that keeps usage limits exact under
//! concurrent checkouts.
//!
//! What this module must not do: talk to a payment provider, read secrets
//! (a provider's API key lives in the Worker's secrets; the configuration
//! only names the provider and where it answers), read a clock, or know
//! about HTTP.

use crate::catalog::FieldError;
use crate::points::Programme;
use crate::pricing::PromotionCandidate;
use crate::promotion::{Promotion, PromotionRefusal};
use crate::shipping::{is_method_id, ShippingMethod};
use crate::tax::TaxConfig;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const STORE_SCHEMA: u32 = 1;

/// Limits on a store's configuration.
pub mod limits {
    /// Shipping methods per store.
    pub const SHIPPING_METHODS_MAX: usize = 20;
}

/// The KV key of a store's published display copy ([`StoreSnapshot`]).
pub fn store_key(store: &str) -> String {
    format!("store/{store}")
}

/// What carts show before checkout reads from KV: the configuration and
/// the promotions (without redemption counts, which only checkout needs,
/// strongly consistent, from the store object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSnapshot {
    pub schema: u32,
    pub config: StoreConfig,
    pub promotions: Vec<Promotion>,
}

impl StoreSnapshot {
    /// The promotions a cart with `coupons` is priced with: every automatic
    /// one, and the promotion of each coupon code; `counts` gives a
    /// promotion's redemptions (total, by this customer). Also returns the
    /// codes no promotion has.
    pub fn candidates(
        promotions: &[Promotion],
        coupons: &[String],
        counts: impl Fn(&str) -> (u32, u32),
    ) -> (Vec<PromotionCandidate>, Vec<String>) {
        let mut unknown = Vec::new();
        let mut chosen: Vec<&Promotion> = promotions.iter().filter(|p| p.is_automatic()).collect();
        for code in coupons {
            match promotions.iter().find(|p| p.matches_code(code)) {
                Some(p) => chosen.push(p),
                None => unknown.push(code.clone()),
            }
        }
        let candidates = chosen
            .into_iter()
            .map(|p| {
                let (total, customer) = counts(&p.id);
                PromotionCandidate {
                    promotion: p.clone(),
                    redemptions_so_far: total,
                    customer_redemptions: customer,
                }
            })
            .collect();
        (candidates, unknown)
    }
}

/// A promotion with how often it was redeemed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionState {
    pub promotion: Promotion,
    pub redemptions: u32,
    /// Redemptions by the customer the reader named (0 otherwise).
    pub customer_redemptions: u32,
}

/// The store as its object holds it: what checkout prices with, strongly
/// consistent (configuration, promotions and their redemption counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreState {
    pub config: StoreConfig,
    pub promotions: Vec<PromotionState>,
}

impl StoreState {
    /// Whether a checkout of a cart with `coupons` must be planned from the
    /// store's state as it is now, not from a copy read a moment ago (what a
    /// Worker may keep for a second, `StoreState::for_copy`): with coupons or
    /// an automatic promotion, the promotions and their redemption counts
    /// decide the total and whether a coupon still applies. Without any, a
    /// copy prices the cart the same unless the configuration (tax,
    /// shipping, payment) changed meanwhile, which a quote may miss the same
    /// way: `expected_total` refuses a total the shopper did not see.
    pub fn counts_matter(&self, coupons: &[String]) -> bool {
        !coupons.is_empty() || self.promotions.iter().any(|p| p.promotion.is_automatic())
    }

    /// This state without what it says of one customer (their redemption
    /// counts), so that it may plan any customer's checkout that
    /// [`StoreState::counts_matter`] does not concern.
    pub fn for_copy(mut self) -> Self {
        for p in &mut self.promotions {
            p.customer_redemptions = 0;
        }
        self
    }

    /// The promotions a cart with `coupons` is priced with at checkout,
    /// with their redemption counts (see [`StoreSnapshot::candidates`]),
    /// and the codes no promotion has.
    pub fn candidates(&self, coupons: &[String]) -> (Vec<PromotionCandidate>, Vec<String>) {
        let promotions: Vec<Promotion> = self
            .promotions
            .iter()
            .map(|p| p.promotion.clone())
            .collect();
        StoreSnapshot::candidates(&promotions, coupons, |id| {
            self.promotions
                .iter()
                .find(|p| p.promotion.id == id)
                .map_or((0, 0), |p| (p.redemptions, p.customer_redemptions))
        })
    }
}

/// Which payment provider takes the store's payments, by `provider`: `test` or
/// `stripe`. Another value is 400 `invalid_type`; unknown fields are refused
/// (400 `unknown_field`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(tag = "provider", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaymentSettings {
    /// The built-in test provider: outcomes are decided by card token and no
    /// money moves. The default of a new store; a checkout with it is
    /// refused (503 `test_payments_disabled`) unless the operator enables
    /// it with the Worker variable `TEST_PAYMENTS=on` (`wrangler.toml`
    /// leaves it off).
    ///
    /// (An empty struct variant so that unknown fields are refused.)
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"provider": "test"}])))]
    Test {},
    /// Stripe's PaymentIntents API at Stripe's own host. Neither the host
    /// nor the secret key is part of the configuration: the key is the
    /// Worker secret `STRIPE_SECRET_KEY`, set by the operator, and only the
    /// operator may point the adapter at a test host (`STRIPE_TEST_API_BASE`).
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"provider": "stripe"}])))]
    Stripe {
        /// Written by earlier versions (the host was configurable then):
        /// read and ignored; refused in a new configuration (422
        /// `not_configurable`, field `payment.base_url`).
        #[serde(default, skip_serializing)]
        #[cfg_attr(feature = "openapi", schemars(skip))]
        base_url: Option<String>,
    },
}

impl PaymentSettings {
    /// The provider's name, as orders record it.
    pub fn provider_name(&self) -> &'static str {
        match self {
            PaymentSettings::Test {} => "test",
            PaymentSettings::Stripe { .. } => "stripe",
        }
    }

    /// Whether a charge the provider did not answer may still have been
    /// taken (and must be verified later). The test provider never charges
    /// on a timeout; a real provider may have.
    pub fn may_charge_unanswered(&self) -> bool {
        !matches!(self, PaymentSettings::Test {})
    }
}

/// The store's configuration as stored and as `GET /admin/v1/store` shows it:
/// tax settings, shipping methods and payment provider. A new store's
/// configuration, until the first `PUT /admin/v1/store`: no tax
/// (`prices_include_tax: false`, no rates), shipping method `standard` (USD
/// 4.99 / EUR 4.49, free from a subtotal after discounts of USD 50.00 / EUR
/// 45.00) and `express` (USD 14.99 / EUR 12.99, never free), both to every
/// country, and the `test` payment provider. Secrets are never part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"schema": 1, "tax": {"prices_include_tax": false, "rates": [{"country": "US", "region": "CA", "basis_points": 725}, {"country": "US", "region": "NY", "basis_points": 400}, {"country": "DE", "basis_points": 1900}]}, "shipping_methods": [{"id": "standard", "name": "Standard (3–5 days)", "countries": [], "rates": {"EUR": 449, "USD": 499}, "free_above": {"EUR": 4500, "USD": 5000}}, {"id": "express", "name": "Express (1–2 days)", "countries": ["US", "CA"], "rates": {"USD": 1499}}], "payment": {"provider": "stripe"}, "holds": {"per_client": 99, "lifetime_minutes": 60}}])))]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Version of the configuration record's format (1). Not part of the input.
    #[cfg_attr(feature = "openapi", schemars(extend("const" = 1)))]
    pub schema: u32,
    pub tax: TaxConfig,
    /// The methods carts may choose from, in the merchant's order; at most 20.
    #[cfg_attr(feature = "openapi", schemars(length(max = 20)))]
    pub shipping_methods: Vec<ShippingMethod>,
    pub payment: PaymentSettings,
    /// The store's points programme; absent when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<Programme>,
    /// How the store's carts hold stock (absent in records written before
    /// there was a policy: the defaults).
    #[serde(default)]
    pub holds: HoldPolicy,
}

/// How a store's carts hold stock, against hoarding: how many units of one
/// SKU one client may hold across all its carts, and how long a cart may
/// keep holding, however active it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"per_client": 99, "lifetime_minutes": 60}])))]
#[serde(deny_unknown_fields)]
pub struct HoldPolicy {
    /// Units of one SKU one client (its address; an IPv6 client by its /64)
    /// may hold across all its carts' live holds: 1 to 1000000000 (else 422
    /// `invalid_quantity`, field `holds.per_client`); default 99, one line's
    /// most. A line change past it is 409 `hold_limit` with `available`.
    #[serde(default = "default_per_client")]
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 1000000000_i64), extend("format" = "int64", "default" = 99)))]
    pub per_client: i64,
    /// Minutes a cart keeps its units held from when it began holding them,
    /// however active it is (the hold TTL ends holds sooner after a pause):
    /// 1 to 1440 (else 422 `invalid_minutes`, field `holds.lifetime_minutes`);
    /// default 60. A cart whose holds all ended begins anew.
    #[serde(default = "default_lifetime_minutes")]
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 1440), extend("default" = 60)))]
    pub lifetime_minutes: i64,
}

fn default_per_client() -> i64 {
    99
}

fn default_lifetime_minutes() -> i64 {
    60
}

impl Default for HoldPolicy {
    fn default() -> Self {
        HoldPolicy {
            per_client: default_per_client(),
            lifetime_minutes: default_lifetime_minutes(),
        }
    }
}

impl HoldPolicy {
    pub fn lifetime_ms(&self) -> i64 {
        self.lifetime_minutes * 60_000
    }

    fn problems(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !(1..=1_000_000_000).contains(&self.per_client) {
            errors.push(problem(
                "per_client",
                "invalid_quantity",
                "From 1 to 1000000000 units.",
            ));
        }
        if !(1..=1440).contains(&self.lifetime_minutes) {
            errors.push(problem(
                "lifetime_minutes",
                "invalid_minutes",
                "From 1 to 1440 minutes.",
            ));
        }
        errors
    }
}

/// The body of `PUT /admin/v1/store`: the whole configuration, which replaces
/// the stored one (there is no partial update). It is `StoreConfig` without
/// `schema`: unknown fields, `schema` included, are refused (400
/// `unknown_field`), a missing one is 400 `missing_field` and a wrong JSON type
/// 400 `invalid_type`, each naming the field. Rule violations are 422
/// `validation_failed` listing every problem at once, each with its field path:
/// `tax.rates` (`too_many`), `tax.rates[i]` (`duplicate_rate`),
/// `tax.rates[i].country` (`invalid_country`), `tax.rates[i].region`
/// (`invalid_region`), `tax.rates[i].basis_points` (`invalid_rate`),
/// `shipping_methods` (`too_many`: more than 20), `shipping_methods[i].id`
/// (`invalid_id`, `duplicate_method`), `shipping_methods[i].name`
/// (`invalid_length`), `shipping_methods[i].countries` (`too_many`),
/// `shipping_methods[i].countries[j]` (`invalid_country`, `duplicate_country`),
/// `shipping_methods[i].rates` (`missing_rate`),
/// `shipping_methods[i].rates.USD` and `shipping_methods[i].free_above.USD`
/// (`invalid_amount`), `shipping_methods[i].free_above.USD` (`no_rate`),
/// `payment.base_url` (`not_configurable`: Stripe's host is fixed), and for the points programme
/// `points.unit` (`invalid_unit`), `points.earn_per_unit`,
/// `points.category_multipliers.{slug}` and `points.points_per_minor.{code}`
/// (`invalid_rate`), `points.category_multipliers` (`too_many`),
/// `points.points_per_minor` (`missing_rate`), `points.pending_days` and
/// `points.expiry_days` (`invalid_days`), `points.member_key`
/// (`invalid_key`), and for the hold policy `holds.per_client`
/// (`invalid_quantity`) and `holds.lifetime_minutes` (`invalid_minutes`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"tax": {"prices_include_tax": false, "rates": [{"country": "US", "region": "CA", "basis_points": 725}, {"country": "US", "region": "NY", "basis_points": 400}, {"country": "DE", "basis_points": 1900}]}, "shipping_methods": [{"id": "standard", "name": "Standard (3–5 days)", "countries": [], "rates": {"EUR": 449, "USD": 499}, "free_above": {"EUR": 4500, "USD": 5000}}, {"id": "express", "name": "Express (1–2 days)", "countries": ["US", "CA"], "rates": {"USD": 1499}}], "payment": {"provider": "stripe"}}])))]
#[serde(deny_unknown_fields)]
pub struct StoreConfigInput {
    pub tax: TaxConfig,
    /// Every shipping method, at most 20 (else 422 `too_many`, field
    /// `shipping_methods`), with distinct ids. An empty list leaves carts no
    /// method to choose.
    #[cfg_attr(feature = "openapi", schemars(length(max = 20)))]
    pub shipping_methods: Vec<ShippingMethod>,
    pub payment: PaymentSettings,
    /// The store's points programme (what members earn, what points are
    /// worth); absent or null: none.
    #[serde(default)]
    pub points: Option<Programme>,
    /// How carts hold stock; absent: the defaults (99 units per client and
    /// SKU, 60 minutes).
    #[serde(default)]
    pub holds: HoldPolicy,
}

impl StoreConfig {
    /// A new store's configuration: no tax, standard and express shipping
    /// everywhere (free standard shipping from 50.00), the test provider.
    pub fn default_config() -> Self {
        use crate::money::Currency;
        let money = |pairs: &[(&str, i64)]| -> BTreeMap<Currency, i64> {
            pairs
                .iter()
                .filter_map(|(c, a)| Currency::parse(c).ok().map(|c| (c, *a)))
                .collect()
        };
        StoreConfig {
            schema: STORE_SCHEMA,
            tax: TaxConfig::default(),
            shipping_methods: vec![
                ShippingMethod {
                    id: "standard".into(),
                    name: "Standard (3–5 days)".into(),
                    countries: vec![],
                    rates: money(&[("USD", 499), ("EUR", 449)]),
                    free_above: money(&[("USD", 5_000), ("EUR", 4_500)]),
                },
                ShippingMethod {
                    id: "express".into(),
                    name: "Express (1–2 days)".into(),
                    countries: vec![],
                    rates: money(&[("USD", 1_499), ("EUR", 1_299)]),
                    free_above: BTreeMap::new(),
                },
            ],
            payment: PaymentSettings::Test {},
            points: None,
            holds: HoldPolicy::default(),
        }
    }

    pub fn shipping_method(&self, id: &str) -> Option<&ShippingMethod> {
        self.shipping_methods.iter().find(|m| m.id == id)
    }
}

impl StoreConfigInput {
    /// The configuration, or every problem at once.
    pub fn validate(self) -> Result<StoreConfig, Vec<FieldError>> {
        let mut errors: Vec<FieldError> = Vec::new();
        let mut nested = |prefix: String, found: Vec<FieldError>| {
            errors.extend(found.into_iter().map(|mut e| {
                e.field = if e.field.is_empty() {
                    prefix.clone()
                } else {
                    format!("{prefix}.{}", e.field)
                };
                e
            }))
        };
        nested("tax".into(), self.tax.validate());
        let mut ids = BTreeSet::new();
        for (i, m) in self.shipping_methods.iter().enumerate() {
            nested(format!("shipping_methods[{i}]"), m.validate());
            if is_method_id(&m.id) && !ids.insert(m.id.clone()) {
                nested(
                    format!("shipping_methods[{i}].id"),
                    vec![problem(
                        "",
                        "duplicate_method",
                        "Another method has this id.",
                    )],
                );
            }
        }
        if self.shipping_methods.len() > limits::SHIPPING_METHODS_MAX {
            nested(
                "shipping_methods".into(),
                vec![problem(
                    "",
                    "too_many",
                    format!("At most {} methods.", limits::SHIPPING_METHODS_MAX),
                )],
            );
        }
        if let PaymentSettings::Stripe { base_url: Some(_) } = &self.payment {
            nested(
                "payment.base_url".into(),
                vec![problem(
                    "",
                    "not_configurable",
                    "Stripe is always reached at its own host: a store cannot name another one.",
                )],
            );
        }
        if let Some(p) = &self.points {
            nested("points".into(), p.problems());
        }
        nested("holds".into(), self.holds.problems());
        if errors.is_empty() {
            Ok(StoreConfig {
                schema: STORE_SCHEMA,
                tax: self.tax,
                shipping_methods: self.shipping_methods,
                payment: self.payment,
                points: self.points,
                holds: self.holds,
            })
        } else {
            Err(errors)
        }
    }
}

fn problem(field: &str, code: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        code,
        message: message.into(),
    }
}

/// How often a promotion has been redeemed so far: by anyone, and by the
/// customer who is redeeming it now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedemptionCounts {
    pub total: u32,
    pub customer: u32,
}

/// Whether a customer may redeem every promotion of `promotions` (each with
/// its counts so far) in one order: all of them, or none with the first
/// refusal. The rule a store's object applies to the counts it keeps in
/// rows, reading only the counts of the promotions at hand.
pub fn admit_redemption(
    promotions: &[(&Promotion, RedemptionCounts)],
) -> Result<(), RedemptionRefused> {
    for (p, counts) in promotions {
        let refusal = if p.usage_limit.is_some_and(|limit| counts.total >= limit) {
            PromotionRefusal::UsageLimitReached
        } else if p
            .per_customer_limit
            .is_some_and(|limit| counts.customer >= limit)
        {
            PromotionRefusal::CustomerLimitReached
        } else {
            continue;
        };
        return Err(RedemptionRefused {
            promotion: p.id.clone(),
            refusal,
        });
    }
    Ok(())
}

/// Who redeemed what: the counts that enforce usage limits, and each
/// order's redemptions, so redeeming is idempotent per order and can be
/// undone when the order does not happen. The in-memory model of what a
/// store's object keeps in rows (and how rows written before the counts
/// existed are counted once).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redemptions {
    /// Promotion id → redemptions by anyone.
    pub by_promotion: BTreeMap<String, u32>,
    /// (promotion id, customer) → redemptions by that customer.
    pub by_customer: BTreeMap<(String, String), u32>,
    /// Order id → (customer, promotion ids) it redeemed.
    pub by_order: BTreeMap<String, (String, Vec<String>)>,
}

/// Why an order could not redeem its promotions (nothing was redeemed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedemptionRefused {
    pub promotion: String,
    pub refusal: PromotionRefusal,
}

/// Who a customer is, for per-customer limits: their email with its
/// local part lowercased and any `+tag` dropped, and the domain
/// lowercased, so `Bob@Example.com` and `bob+2@example.com` are one
/// customer.
pub fn customer_key(email: &str) -> String {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let local = local.split_once('+').map_or(local, |(base, _)| base);
    format!("{}@{}", local.to_lowercase(), domain.to_lowercase())
}

impl Redemptions {
    pub fn count(&self, promotion: &str) -> u32 {
        self.by_promotion.get(promotion).copied().unwrap_or(0)
    }

    pub fn customer_count(&self, promotion: &str, customer: &str) -> u32 {
        self.by_customer
            .get(&(promotion.to_string(), customer_key(customer)))
            .copied()
            .unwrap_or(0)
    }

    /// Redeems every promotion of `promotions` for `order` by `customer`,
    /// all or none, within their usage limits. Redeeming an order again
    /// changes nothing (the first redemption stands).
    pub fn redeem(
        &mut self,
        order: &str,
        customer: &str,
        promotions: &[&Promotion],
    ) -> Result<(), RedemptionRefused> {
        if self.by_order.contains_key(order) {
            return Ok(());
        }
        let customer = &customer_key(customer);
        let counted: Vec<_> = promotions
            .iter()
            .map(|p| {
                let counts = RedemptionCounts {
                    total: self.count(&p.id),
                    customer: self.customer_count(&p.id, customer),
                };
                (*p, counts)
            })
            .collect();
        admit_redemption(&counted)?;
        for p in promotions {
            *self.by_promotion.entry(p.id.clone()).or_default() += 1;
            *self
                .by_customer
                .entry((p.id.clone(), customer.to_string()))
                .or_default() += 1;
        }
        self.by_order.insert(
            order.to_string(),
            (
                customer.to_string(),
                promotions.iter().map(|p| p.id.clone()).collect(),
            ),
        );
        Ok(())
    }

    /// Records a redemption loaded from storage (it was within its limits
    /// when it was made).
    pub fn restore(&mut self, order: &str, customer: &str, promotions: Vec<String>) {
        if self.by_order.contains_key(order) {
            return;
        }
        // Rows stored before customers were keyed count under the key too.
        let customer = &customer_key(customer);
        for id in &promotions {
            *self.by_promotion.entry(id.clone()).or_default() += 1;
            *self
                .by_customer
                .entry((id.clone(), customer.to_string()))
                .or_default() += 1;
        }
        self.by_order
            .insert(order.to_string(), (customer.to_string(), promotions));
    }

    /// Gives back what `order` redeemed (its checkout failed or the order
    /// was cancelled before payment). Releasing twice changes nothing.
    pub fn release(&mut self, order: &str) {
        let Some((customer, ids)) = self.by_order.remove(order) else {
            return;
        };
        for id in ids {
            if let Some(n) = self.by_promotion.get_mut(&id) {
                *n = n.saturating_sub(1);
            }
            if let Some(n) = self.by_customer.get_mut(&(id, customer.clone())) {
                *n = n.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promotion::{Discount, Target, PROMOTION_SCHEMA};

    fn coupon(id: &str, limit: Option<u32>, per_customer: Option<u32>) -> Promotion {
        Promotion {
            schema: PROMOTION_SCHEMA,
            id: id.into(),
            code: Some(id.to_uppercase()),
            description: String::new(),
            discount: Discount::Percentage { basis_points: 1000 },
            target: Target::Cart {},
            min_subtotal: BTreeMap::new(),
            starts_at_ms: None,
            ends_at_ms: None,
            usage_limit: limit,
            per_customer_limit: per_customer,
            active: true,
        }
    }

    #[test]
    fn usage_limits_hold_and_redeeming_is_idempotent_per_order() {
        let five = coupon("five", Some(2), None);
        let mut r = Redemptions::default();
        assert_eq!(r.redeem("ord_1", "a@x.io", &[&five]), Ok(()));
        assert_eq!(r.redeem("ord_1", "a@x.io", &[&five]), Ok(()), "retry");
        assert_eq!(r.count("five"), 1);
        assert_eq!(r.redeem("ord_2", "b@x.io", &[&five]), Ok(()));
        let refused = r.redeem("ord_3", "c@x.io", &[&five]).unwrap_err();
        assert_eq!(refused.refusal, PromotionRefusal::UsageLimitReached);
        assert_eq!(r.count("five"), 2);
        r.release("ord_2");
        r.release("ord_2");
        assert_eq!(r.count("five"), 1);
        assert_eq!(r.redeem("ord_3", "c@x.io", &[&five]), Ok(()));
    }

    #[test]
    fn a_customer_is_their_email_without_case_or_plus_tags() {
        assert_eq!(customer_key("Bob@Example.COM"), "bob@example.com");
        assert_eq!(customer_key("bob+1@example.com"), "bob@example.com");
        assert_eq!(customer_key("BOB+promo+x@EXAMPLE.com"), "bob@example.com");
        assert_ne!(
            customer_key("bobby@example.com"),
            customer_key("bob@example.com")
        );
        let once = coupon("once", None, Some(1));
        let mut r = Redemptions::default();
        assert_eq!(r.redeem("ord_1", "Bob@example.com", &[&once]), Ok(()));
        let refused = r
            .redeem("ord_2", "bob+2@Example.com", &[&once])
            .unwrap_err();
        assert_eq!(refused.refusal, PromotionRefusal::CustomerLimitReached);
        assert_eq!(r.customer_count("once", "BOB+x@example.com"), 1);
        assert_eq!(r.redeem("ord_3", "alice@example.com", &[&once]), Ok(()));
        // Released, the customer may redeem again.
        r.release("ord_1");
        assert_eq!(r.redeem("ord_2", "bob+2@example.com", &[&once]), Ok(()));
        // Redemptions stored under the email as typed count under its key.
        let mut loaded = Redemptions::default();
        loaded.restore("ord_9", "Bob+old@Example.com", vec!["once".into()]);
        assert_eq!(loaded.customer_count("once", "bob@example.com"), 1);
    }

    #[test]
    fn a_copy_plans_only_carts_no_promotion_concerns() {
        let state = |promotions: Vec<Promotion>| StoreState {
            config: StoreConfig::default_config(),
            promotions: promotions
                .into_iter()
                .map(|promotion| PromotionState {
                    promotion,
                    redemptions: 3,
                    customer_redemptions: 1,
                })
                .collect(),
        };
        let none: Vec<String> = Vec::new();
        let code = vec!["FIVE".to_string()];
        assert!(!state(vec![]).counts_matter(&none));
        assert!(
            state(vec![]).counts_matter(&code),
            "an unknown code may be new"
        );
        assert!(!state(vec![coupon("five", Some(2), None)]).counts_matter(&none));
        assert!(state(vec![coupon("five", Some(2), None)]).counts_matter(&code));
        let mut automatic = coupon("auto", None, None);
        automatic.code = None;
        assert!(state(vec![automatic]).counts_matter(&none));
        let copy = state(vec![coupon("five", Some(2), None)]).for_copy();
        assert_eq!(copy.promotions[0].customer_redemptions, 0);
        assert_eq!(copy.promotions[0].redemptions, 3);
    }

    #[test]
    fn admitting_reads_only_the_counts_of_the_promotions_at_hand() {
        let capped = coupon("capped", Some(3), Some(2));
        let open = coupon("open", None, None);
        let counts = |total, customer| RedemptionCounts { total, customer };
        assert_eq!(admit_redemption(&[]), Ok(()));
        assert_eq!(
            admit_redemption(&[(&open, counts(u32::MAX, u32::MAX)), (&capped, counts(2, 1))]),
            Ok(())
        );
        let refused = admit_redemption(&[(&open, counts(0, 0)), (&capped, counts(3, 0))]);
        assert_eq!(
            refused,
            Err(RedemptionRefused {
                promotion: "capped".into(),
                refusal: PromotionRefusal::UsageLimitReached
            })
        );
        let refused = admit_redemption(&[(&capped, counts(2, 2))]).unwrap_err();
        assert_eq!(refused.refusal, PromotionRefusal::CustomerLimitReached);
        // The counts the model keeps are the counts admitted by the rule.
        let mut r = Redemptions::default();
        assert_eq!(r.redeem("ord_1", "a@x.io", &[&capped]), Ok(()));
        assert_eq!(r.redeem("ord_2", "A+1@x.io", &[&capped]), Ok(()));
        let at = RedemptionCounts {
            total: r.count("capped"),
            customer: r.customer_count("capped", "a@x.io"),
        };
        assert_eq!(at, counts(2, 2));
        assert_eq!(
            r.redeem("ord_3", "a@x.io", &[&capped]),
            admit_redemption(&[(&capped, at)])
        );
    }

    #[test]
    fn per_customer_limits_and_all_or_nothing() {
        let once = coupon("once", None, Some(1));
        let capped = coupon("capped", Some(1), None);
        let mut r = Redemptions::default();
        assert_eq!(r.redeem("ord_1", "a@x.io", &[&once]), Ok(()));
        let refused = r.redeem("ord_2", "a@x.io", &[&once]).unwrap_err();
        assert_eq!(refused.refusal, PromotionRefusal::CustomerLimitReached);
        assert_eq!(r.redeem("ord_3", "b@x.io", &[&capped]), Ok(()));
        // b may use `once`, but `capped` is exhausted: neither is redeemed.
        assert!(r.redeem("ord_4", "b@x.io", &[&once, &capped]).is_err());
        assert_eq!(r.customer_count("once", "b@x.io"), 0);
    }

    #[test]
    fn configuration_is_validated_with_every_problem() {
        let mut input: StoreConfigInput = serde_json::from_value(serde_json::json!({
            "tax": {"prices_include_tax": false, "rates": []},
            "shipping_methods": [
                {"id": "standard", "name": "Standard", "rates": {"USD": 499}},
                {"id": "standard", "name": "Again", "rates": {"USD": 1}}
            ],
            "payment": {"provider": "stripe", "base_url": "https://api.stripe.com"}
        }))
        .unwrap();
        let errors = input.clone().validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"shipping_methods[1].id"), "{fields:?}");
        assert!(fields.contains(&"payment.base_url"), "{fields:?}");
        let code = errors.iter().find(|e| e.field == "payment.base_url");
        assert_eq!(code.map(|e| e.code), Some("not_configurable"));
        input.shipping_methods.pop();
        input.payment = PaymentSettings::Stripe { base_url: None };
        assert_eq!(
            serde_json::to_value(&input.payment).unwrap(),
            serde_json::json!({"provider": "stripe"})
        );
        let config = input.validate().unwrap();
        assert_eq!(config.shipping_method("standard").unwrap().name, "Standard");
        assert!(StoreConfig::default_config()
            .shipping_method("express")
            .is_some());
        let unknown = serde_json::from_value::<StoreConfigInput>(serde_json::json!({
            "tax": {"prices_include_tax": false}, "shipping_methods": [], "payment": {"provider": "test"}, "extra": 1
        }));
        assert!(unknown.is_err());
        let test = serde_json::json!({ "provider": "test" });
        assert_eq!(
            serde_json::from_value::<PaymentSettings>(test).unwrap(),
            PaymentSettings::Test {}
        );
        let extra = serde_json::json!({ "provider": "test", "base_url": "https://x" });
        assert!(serde_json::from_value::<PaymentSettings>(extra).is_err());
        // A configuration an earlier version stored with Stripe's host
        // still reads; the host is dropped when it is written again.
        let legacy = serde_json::json!({ "provider": "stripe", "base_url": "http://127.0.0.1:9" });
        let read = serde_json::from_value::<PaymentSettings>(legacy).unwrap();
        assert_eq!(
            serde_json::to_value(&read).unwrap(),
            serde_json::json!({ "provider": "stripe" })
        );
    }
}
