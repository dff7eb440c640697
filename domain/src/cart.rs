//! Carts: lines of SKUs and quantities, their limits, and the totals a cart
//! shows. Prices always come from the catalog's price lists, never from the
//! client; holding stock for the lines is the stock ledger's job.
//!
//! Idle carts (see [`idle`]): a cart with no activity for the idle period
//! expires ([`Cart::idle_expiry`]) and its object deletes it, but never
//! while one of its checkouts is open, and not before the replay window of
//! its last finished checkout has passed.

use crate::abuse::Strikes;
use crate::checkout::Checkout;
use crate::idempotency::{IdempotencyState, RETENTION_MS};
use crate::money::{Currency, Money};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Limits on a cart (documented in ARCHITECTURE.md and OpenAPI).
pub mod limits {
    /// Distinct SKUs in one cart.
    pub const MAX_LINES: usize = 50;
    /// Units of one SKU in one cart (a product's `max_per_order` may be lower).
    pub const MAX_LINE_QUANTITY: i64 = 99;
    /// Coupon codes on one cart.
    pub const MAX_COUPONS: usize = 5;
}

/// How long a cart lives without activity (documented in README.md,
/// ARCHITECTURE.md and the OpenAPI description of carts).
pub mod idle {
    const DAY_MS: i64 = 24 * 60 * 60 * 1000;
    /// The idle period unless the operator sets `CART_IDLE_MS`: 30 days.
    /// A shopper comes back to a cart over weeks (a pay day, a gift list);
    /// a month outlasts those visits, while a deployment's abandoned
    /// carts, each one object with its rows, do not pile up for ever.
    pub const DEFAULT_MS: i64 = 30 * DAY_MS;
    /// The shortest idle period an operator may set (a second: tests).
    pub const MIN_MS: i64 = 1_000;
    /// The longest (ten years: beyond it, an alarm time is meaningless).
    pub const MAX_MS: i64 = 3_650 * DAY_MS;
    /// A read records its activity only once the recorded one is older
    /// than this share of the period (1/30: a day, for 30 days), so reads
    /// cost a write at most that often.
    pub const READ_GRAIN_DIVISOR: i64 = 30;

    /// The idle period `CART_IDLE_MS` sets (`raw`: its text): whole
    /// milliseconds from [`MIN_MS`] to [`MAX_MS`], else [`DEFAULT_MS`].
    pub fn period(raw: Option<&str>) -> i64 {
        raw.and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|ms| (MIN_MS..=MAX_MS).contains(ms))
            .unwrap_or(DEFAULT_MS)
    }
}

/// One of a cart's checkouts, as idle expiry sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutSeen {
    /// Not finished: in progress, awaiting the shopper or the provider,
    /// being verified or refunded, stuck. Payment may be pending and its
    /// recovery points live in the cart's object.
    Open,
    /// Its answer was stored at `at_ms`; a retry with its key replays it
    /// for [`RETENTION_MS`] after that.
    Finished { at_ms: i64 },
}

impl CheckoutSeen {
    /// What a stored (or running) checkout record is.
    pub fn of(c: &Checkout) -> Self {
        match c.record.state {
            IdempotencyState::InProgress { .. } => CheckoutSeen::Open,
            IdempotencyState::Completed {
                completed_at_ms, ..
            } => CheckoutSeen::Finished {
                at_ms: completed_at_ms,
            },
        }
    }

    /// What a stored checkout record is, from the two fields of its JSON
    /// that say so ([`CheckoutSeen::STATE_PATH`] and
    /// [`CheckoutSeen::COMPLETED_PATH`]), so a store can answer without
    /// reading every record with its plan.
    pub fn stored(state: Option<&str>, completed_at_ms: Option<i64>) -> Self {
        match (state, completed_at_ms) {
            (Some("completed"), Some(at_ms)) => CheckoutSeen::Finished { at_ms },
            _ => CheckoutSeen::Open,
        }
    }

    /// The JSON path of a stored [`Checkout`]'s idempotency state tag.
    pub const STATE_PATH: &'static str = "$.record.state.state";
    /// The JSON path of when a stored [`Checkout`] finished.
    pub const COMPLETED_PATH: &'static str = "$.record.state.completed_at_ms";
}

/// When an idle cart expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Never while a checkout of the cart is open (its own alarm keeps
    /// carrying it on; the cart's deadline is decided again once it ends).
    WhileCheckoutOpen,
    /// At this instant, unless activity comes first.
    At(i64),
}

impl Expiry {
    /// Whether the cart has expired at `now_ms` (and may be deleted).
    pub fn due(self, now_ms: i64) -> bool {
        matches!(self, Expiry::At(at) if now_ms >= at)
    }

    /// When the cart's object should wake to look again, if ever.
    pub fn wake_at(self) -> Option<i64> {
        match self {
            Expiry::At(at) => Some(at),
            Expiry::WhileCheckoutOpen => None,
        }
    }
}

/// One line: units of one SKU, held in its stock ledger until
/// `hold_expires_at_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub sku: String,
    pub quantity: i64,
    /// When this line's hold lapses unless the cart refreshes it.
    #[serde(default)]
    pub hold_expires_at_ms: i64,
}

/// A cart as its object stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub id: String,
    pub currency: Currency,
    /// In the order they were added.
    pub lines: Vec<CartLine>,
    /// When the first line's hold lapses unless the cart is active again
    /// (the earliest line expiry; `None` for an empty cart).
    pub holds_expire_at_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// Coupon codes the shopper entered (normalized, in entry order).
    #[serde(default)]
    pub coupons: Vec<String>,
    /// The idempotency key of a checkout in progress: the cart's lines and
    /// coupons cannot change until it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<String>,
    /// When the cart began holding stock (it held nothing live before): its
    /// holds never outlast this plus the store's hold lifetime, however
    /// active the cart (see [`Cart::hold_until`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holds_since_ms: Option<i64>,
    /// When a read or a checkout last recorded the shopper's activity
    /// (line and coupon changes count through `updated_at_ms`); see
    /// [`Cart::last_active_ms`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_at_ms: Option<i64>,
    /// The declined payments of the cart's checkouts (card testing: the
    /// cart's own count, kept with it rather than in a guard object).
    #[serde(default, skip_serializing_if = "Strikes::is_empty")]
    pub declines: Strikes,
}

/// Why a line change is refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum CartError {
    /// Quantity below 1 for an add, below 0 for a set.
    InvalidQuantity,
    /// More than the line limit or the product's `max_per_order`.
    QuantityTooLarge { max: i64 },
    /// A new SKU beyond [`limits::MAX_LINES`].
    TooManyLines { max: usize },
    /// The cart has no line for this SKU.
    NoSuchLine,
    /// More coupons than [`limits::MAX_COUPONS`].
    TooManyCoupons { max: usize },
    /// The cart carries no such coupon.
    NoSuchCoupon,
}

impl Cart {
    pub fn new(id: String, currency: Currency, now_ms: i64) -> Self {
        Cart {
            id,
            currency,
            lines: Vec::new(),
            holds_expire_at_ms: None,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            coupons: Vec::new(),
            checkout: None,
            holds_since_ms: None,
            seen_at_ms: None,
            declines: Strikes::default(),
        }
    }

    /// The cart's last activity: its creation, its last line or coupon
    /// change, or the last read or checkout that was recorded.
    pub fn last_active_ms(&self) -> i64 {
        self.updated_at_ms
            .max(self.created_at_ms)
            .max(self.seen_at_ms.unwrap_or(i64::MIN))
    }

    /// A read (or a checkout's begin) at `now_ms` counts as activity: true
    /// when it must be stored, which is once the recorded activity is
    /// older than `idle_ms /` [`idle::READ_GRAIN_DIVISOR`] (so a cart only
    /// read expires at the earliest that much before a full period after
    /// its last read). Writes need nothing: they move `updated_at_ms`.
    pub fn seen(&mut self, now_ms: i64, idle_ms: i64) -> bool {
        let grain = (idle_ms / idle::READ_GRAIN_DIVISOR).max(1);
        if now_ms - self.last_active_ms() < grain {
            return false;
        }
        self.seen_at_ms = Some(now_ms);
        true
    }

    /// When the cart expires for idleness, given the idle period and every
    /// checkout of the cart (stored, or running in its object): `idle_ms`
    /// after its last activity, but never while a checkout is open, and
    /// not before the last finished checkout's answer stops being replayed
    /// ([`RETENTION_MS`] after it was stored: a retry with its
    /// `Idempotency-Key` must still find the same order).
    pub fn idle_expiry(
        &self,
        idle_ms: i64,
        checkouts: impl IntoIterator<Item = CheckoutSeen>,
    ) -> Expiry {
        let mut at = self.last_active_ms().saturating_add(idle_ms);
        for c in checkouts {
            match c {
                CheckoutSeen::Open => return Expiry::WhileCheckoutOpen,
                CheckoutSeen::Finished { at_ms } => at = at.max(at_ms + RETENTION_MS),
            }
        }
        Expiry::At(at)
    }

    /// The SKUs whose holds the cart still counts as live at `now_ms`
    /// (what an expired cart gives back before it is deleted).
    pub fn live_holds(&self, now_ms: i64) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| l.hold_expires_at_ms > now_ms)
            .map(|l| l.sku.as_str())
            .collect()
    }

    /// Until when a line change at `now_ms` holds the cart's units: the hold
    /// TTL from now, but never past `lifetime_ms` after the cart began
    /// holding, so activity cannot keep units held for ever. A cart that
    /// holds nothing live begins anew now (the TTL lets a held cart's lines
    /// lapse only after a pause; the lifetime ends them all at once).
    pub fn hold_until(&mut self, now_ms: i64, ttl_ms: i64, lifetime_ms: i64) -> i64 {
        let holding = self.lines.iter().any(|l| l.hold_expires_at_ms > now_ms);
        let since = match self.holds_since_ms {
            Some(since) if holding && since + lifetime_ms > now_ms => since,
            _ => now_ms,
        };
        self.holds_since_ms = Some(since);
        (now_ms + ttl_ms).min(since + lifetime_ms)
    }

    /// Adds a (normalized) coupon code; adding one already there changes
    /// nothing.
    pub fn add_coupon(&mut self, code: &str, now_ms: i64) -> Result<(), CartError> {
        if self.coupons.iter().any(|c| c == code) {
            return Ok(());
        }
        if self.coupons.len() >= limits::MAX_COUPONS {
            return Err(CartError::TooManyCoupons {
                max: limits::MAX_COUPONS,
            });
        }
        self.coupons.push(code.to_string());
        self.updated_at_ms = now_ms;
        Ok(())
    }

    /// Removes a coupon code (`None`: all of them).
    pub fn remove_coupon(&mut self, code: Option<&str>, now_ms: i64) -> Result<(), CartError> {
        match code {
            None => self.coupons.clear(),
            Some(code) => {
                let before = self.coupons.len();
                self.coupons.retain(|c| c != code);
                if self.coupons.len() == before {
                    return Err(CartError::NoSuchCoupon);
                }
            }
        }
        self.updated_at_ms = now_ms;
        Ok(())
    }

    pub fn quantity_of(&self, sku: &str) -> i64 {
        self.lines
            .iter()
            .find(|l| l.sku == sku)
            .map_or(0, |l| l.quantity)
    }

    /// The quantity a line would have after adding `add` units (or setting
    /// it to `set`), checked against the limits; the cart is not changed.
    pub fn plan_line(
        &self,
        sku: &str,
        change: LineChange,
        max_per_order: Option<i64>,
    ) -> Result<i64, CartError> {
        let current = self.quantity_of(sku);
        let target = match change {
            LineChange::Add(n) if n >= 1 => current + n,
            LineChange::Set(n) if n >= 0 => n,
            LineChange::Remove if current > 0 => 0,
            LineChange::Remove => return Err(CartError::NoSuchLine),
            _ => return Err(CartError::InvalidQuantity),
        };
        if matches!(change, LineChange::Set(_)) && current == 0 {
            return Err(CartError::NoSuchLine);
        }
        let max = max_per_order.map_or(limits::MAX_LINE_QUANTITY, |m| {
            m.min(limits::MAX_LINE_QUANTITY)
        });
        if target > max {
            return Err(CartError::QuantityTooLarge { max });
        }
        if current == 0 && target > 0 && self.lines.len() >= limits::MAX_LINES {
            return Err(CartError::TooManyLines {
                max: limits::MAX_LINES,
            });
        }
        Ok(target)
    }

    /// Records a line at `quantity` (0 removes it), held until `held_until_ms`.
    pub fn set_line(&mut self, sku: &str, quantity: i64, held_until_ms: i64, now_ms: i64) {
        match self.lines.iter().position(|l| l.sku == sku) {
            Some(i) if quantity == 0 => {
                self.lines.remove(i);
            }
            Some(i) => {
                self.lines[i].quantity = quantity;
                self.lines[i].hold_expires_at_ms = held_until_ms;
            }
            None if quantity > 0 => self.lines.push(CartLine {
                sku: sku.to_string(),
                quantity,
                hold_expires_at_ms: held_until_ms,
            }),
            None => {}
        }
        self.updated_at_ms = now_ms;
        self.note_expiry();
    }

    /// The lines (other than `changed`) whose holds a change at `now_ms`
    /// should refresh to a new `ttl_ms`: those with less than half the TTL
    /// left. Cart activity thus always leaves every line held for at least
    /// `ttl_ms / 2`, while a burst of changes refreshes each hold about
    /// once per half TTL instead of on every change.
    pub fn holds_to_refresh(&self, changed: &str, now_ms: i64, ttl_ms: i64) -> Vec<CartLine> {
        self.lines
            .iter()
            .filter(|l| l.sku != changed && l.hold_expires_at_ms < now_ms + ttl_ms / 2)
            .cloned()
            .collect()
    }

    /// Records that `sku`'s hold now lasts until `held_until_ms`, at
    /// `quantity` units (a lapsed hold taken again may get fewer; 0 removes
    /// the line).
    pub fn refreshed(&mut self, sku: &str, quantity: i64, held_until_ms: i64) {
        if let Some(i) = self.lines.iter().position(|l| l.sku == sku) {
            if quantity <= 0 {
                self.lines.remove(i);
            } else {
                self.lines[i].quantity = quantity;
                self.lines[i].hold_expires_at_ms = held_until_ms;
            }
        }
        self.note_expiry();
    }

    /// Records that the holds of `skus` were given back at `now_ms` (a
    /// checkout that ended without a payment): their lines stay, with holds
    /// that lapsed, so the next checkout or activity takes them again.
    pub fn holds_given_back<'a>(&mut self, skus: impl IntoIterator<Item = &'a str>, now_ms: i64) {
        for sku in skus {
            if let Some(line) = self.lines.iter_mut().find(|l| l.sku == sku) {
                line.hold_expires_at_ms = line.hold_expires_at_ms.min(now_ms);
            }
        }
        self.note_expiry();
    }

    fn note_expiry(&mut self) {
        self.holds_expire_at_ms = self.lines.iter().map(|l| l.hold_expires_at_ms).min();
    }
}

/// A requested change to one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineChange {
    /// Add units (creating the line if needed).
    Add(i64),
    /// Set the units of an existing line (0 removes it).
    Set(i64),
    Remove,
}

/// A priced line as the cart shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PricedLine {
    pub sku: String,
    pub quantity: i64,
    /// `None` when the SKU has no price in the cart's currency (any more).
    pub unit_price: Option<Money>,
    pub line_total: Option<Money>,
}

/// The cart's totals from current price lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CartTotals {
    pub lines: Vec<PricedLine>,
    pub item_count: i64,
    pub subtotal: Money,
    /// False when some line has no price in the cart's currency.
    pub all_priced: bool,
}

/// Prices `cart` with `prices` (SKU → price list in minor units).
pub fn price_cart(cart: &Cart, prices: &BTreeMap<String, BTreeMap<Currency, i64>>) -> CartTotals {
    let mut subtotal = 0;
    let mut all_priced = true;
    let lines = cart
        .lines
        .iter()
        .map(|l| {
            let unit = prices
                .get(&l.sku)
                .and_then(|p| p.get(&cart.currency))
                .copied();
            match unit {
                Some(u) => subtotal += u * l.quantity,
                None => all_priced = false,
            }
            PricedLine {
                sku: l.sku.clone(),
                quantity: l.quantity,
                unit_price: unit.map(|u| Money::new(u, cart.currency)),
                line_total: unit.map(|u| Money::new(u * l.quantity, cart.currency)),
            }
        })
        .collect();
    CartTotals {
        lines,
        item_count: cart.lines.iter().map(|l| l.quantity).sum(),
        subtotal: Money::new(subtotal, cart.currency),
        all_priced,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_cannot_keep_units_held_past_the_lifetime() {
        const MIN: i64 = 60_000;
        let (ttl, life) = (15 * MIN, 60 * MIN);
        let mut c = Cart::new("crt_1".into(), Currency::parse("USD").unwrap(), 0);
        // A bot touching its cart every 5 minutes.
        let mut until = c.hold_until(0, ttl, life);
        c.set_line("A", 1, until, 0);
        assert_eq!(until, 15 * MIN);
        for minute in (5..=55).step_by(5) {
            until = c.hold_until(minute * MIN, ttl, life);
            c.set_line("A", 1, until, minute * MIN);
            assert_eq!(until, ((minute + 15) * MIN).min(60 * MIN));
        }
        assert_eq!(
            until,
            60 * MIN,
            "activity never moves the end past the lifetime"
        );
        // Once all lapsed, holding begins anew.
        assert_eq!(c.hold_until(60 * MIN, ttl, life), 75 * MIN);
        assert_eq!(c.holds_since_ms, Some(60 * MIN));
    }

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    #[test]
    fn line_changes_respect_limits() {
        let mut c = Cart::new("crt_1".into(), usd(), 0);
        assert_eq!(c.plan_line("A", LineChange::Add(2), None), Ok(2));
        c.set_line("A", 2, 100, 1);
        assert_eq!(c.plan_line("A", LineChange::Add(3), None), Ok(5));
        assert_eq!(
            c.plan_line("A", LineChange::Add(3), Some(4)),
            Err(CartError::QuantityTooLarge { max: 4 })
        );
        assert_eq!(
            c.plan_line("A", LineChange::Set(100), None),
            Err(CartError::QuantityTooLarge { max: 99 })
        );
        assert_eq!(
            c.plan_line("A", LineChange::Add(0), None),
            Err(CartError::InvalidQuantity)
        );
        assert_eq!(
            c.plan_line("A", LineChange::Set(-1), None),
            Err(CartError::InvalidQuantity)
        );
        assert_eq!(
            c.plan_line("B", LineChange::Set(1), None),
            Err(CartError::NoSuchLine)
        );
        assert_eq!(
            c.plan_line("B", LineChange::Remove, None),
            Err(CartError::NoSuchLine)
        );
        assert_eq!(c.plan_line("A", LineChange::Remove, None), Ok(0));
        for i in 1..limits::MAX_LINES {
            c.set_line(&format!("S{i}"), 1, 100, 2);
        }
        assert_eq!(
            c.plan_line("ONE-MORE", LineChange::Add(1), None),
            Err(CartError::TooManyLines { max: 50 })
        );
        assert_eq!(
            c.plan_line("A", LineChange::Add(1), None),
            Ok(3),
            "existing lines may grow"
        );
        c.set_line("A", 0, 100, 3);
        assert_eq!(c.quantity_of("A"), 0);
        assert_eq!(c.lines.len(), 49);
    }

    #[test]
    fn totals_come_from_price_lists_in_the_cart_currency() {
        let mut c = Cart::new("crt_1".into(), usd(), 0);
        c.set_line("A", 2, 100, 0);
        c.set_line("B", 1, 100, 0);
        c.set_line("C", 1, 100, 0);
        let eur = Currency::parse("EUR").unwrap();
        let prices = BTreeMap::from([
            (
                "A".to_string(),
                BTreeMap::from([(usd(), 1250), (eur, 1100)]),
            ),
            ("B".to_string(), BTreeMap::from([(usd(), 999)])),
            ("C".to_string(), BTreeMap::from([(eur, 500)])),
        ]);
        let t = price_cart(&c, &prices);
        assert_eq!(t.subtotal, Money::new(3499, usd()));
        assert_eq!(t.item_count, 4);
        assert!(!t.all_priced);
        assert_eq!(t.lines[0].line_total, Some(Money::new(2500, usd())));
        assert_eq!(t.lines[2].unit_price, None);
    }

    #[test]
    fn holds_given_back_lapse_and_are_taken_again_by_activity() {
        let mut c = Cart::new("crt_1".into(), Currency::parse("USD").unwrap(), 0);
        c.set_line("A", 1, 1_000, 0);
        c.set_line("B", 2, 1_000, 0);
        c.holds_given_back(["A", "Z"], 100);
        assert_eq!(c.lines[0].hold_expires_at_ms, 100);
        assert_eq!(c.lines[1].hold_expires_at_ms, 1_000);
        assert_eq!(c.holds_expire_at_ms, Some(100));
        assert_eq!(c.lines.len(), 2);
        let refresh: Vec<_> = c
            .holds_to_refresh("B", 200, 1_000)
            .into_iter()
            .map(|l| l.sku)
            .collect();
        assert_eq!(refresh, ["A"]);
    }

    #[test]
    fn activity_refreshes_only_holds_past_half_their_ttl() {
        let ttl = 1_000;
        let mut c = Cart::new("crt_1".into(), usd(), 0);
        c.set_line("A", 1, 1_000, 0);
        c.set_line("B", 1, 1_400, 400);
        assert_eq!(c.holds_expire_at_ms, Some(1_000));
        // At 450, A has 550 ms left (> ttl/2) and B 950: nothing to refresh.
        assert!(c.holds_to_refresh("C", 450, ttl).is_empty());
        // At 600, A has 400 ms left: refresh A only; the changed line never.
        let due: Vec<_> = c
            .holds_to_refresh("C", 600, ttl)
            .into_iter()
            .map(|l| l.sku)
            .collect();
        assert_eq!(due, ["A"]);
        assert!(c.holds_to_refresh("A", 600, ttl).is_empty());
        c.refreshed("A", 1, 1_600);
        assert_eq!(c.holds_expire_at_ms, Some(1_400));
        // A lapsed hold taken again with fewer units, or none.
        c.refreshed("B", 0, 1_600);
        assert_eq!(c.lines.len(), 1);
        assert_eq!(c.holds_expire_at_ms, Some(1_600));
        c.set_line("A", 0, 0, 700);
        assert_eq!(c.holds_expire_at_ms, None);
    }

    #[test]
    fn carts_stored_before_line_expiries_still_load() {
        let stored = r#"{"id":"crt_1","currency":"USD","lines":[{"sku":"A","quantity":2}],"holds_expire_at_ms":5,"created_at_ms":0,"updated_at_ms":0}"#;
        let c: Cart = serde_json::from_str(stored).unwrap();
        assert_eq!(c.lines[0].hold_expires_at_ms, 0);
        assert_eq!(c.holds_to_refresh("B", 0, 10).len(), 1);
    }

    const DAY: i64 = 24 * 60 * 60 * 1000;

    #[test]
    fn an_idle_cart_expires_its_period_after_its_last_write() {
        let idle = 30 * DAY;
        let mut c = Cart::new("crt_1".into(), usd(), 0);
        assert_eq!(c.idle_expiry(idle, []), Expiry::At(30 * DAY));
        assert!(!c.idle_expiry(idle, []).due(30 * DAY - 1));
        assert!(c.idle_expiry(idle, []).due(30 * DAY));
        // Line and coupon changes push it, each to a full period.
        c.set_line("A", 1, 0, 10 * DAY);
        assert_eq!(c.idle_expiry(idle, []), Expiry::At(40 * DAY));
        c.add_coupon("SAVE10", 12 * DAY).unwrap();
        assert_eq!(c.idle_expiry(idle, []).wake_at(), Some(42 * DAY));
        // Refreshed holds and holds given back are not the shopper's activity.
        c.refreshed("A", 1, 13 * DAY);
        c.holds_given_back(["A"], 14 * DAY);
        assert_eq!(c.idle_expiry(idle, []), Expiry::At(42 * DAY));
    }

    #[test]
    fn reads_push_the_deadline_but_are_stored_at_most_once_per_grain() {
        let idle = 30 * DAY;
        let mut c = Cart::new("crt_1".into(), usd(), 0);
        // Within a day (1/30 of the period) of the last activity: nothing to store.
        assert!(!c.seen(DAY - 1, idle));
        assert_eq!(c.idle_expiry(idle, []), Expiry::At(30 * DAY));
        assert!(c.seen(DAY, idle));
        assert_eq!(c.seen_at_ms, Some(DAY));
        assert_eq!(c.idle_expiry(idle, []), Expiry::At(31 * DAY));
        // A cart only read lives at least 29/30 of a period after its last read.
        assert!(!c.seen(2 * DAY - 1, idle));
        assert!(c.idle_expiry(idle, []).wake_at().unwrap() >= 2 * DAY - 1 + idle - idle / 30);
        // A write after a read counts from the write.
        c.set_line("A", 1, 0, 5 * DAY);
        assert_eq!(c.last_active_ms(), 5 * DAY);
        // A period of a few milliseconds still records reads.
        let mut tiny = Cart::new("crt_2".into(), usd(), 0);
        assert!(tiny.seen(1, 10));
    }

    fn record(state: &str) -> Checkout {
        let json = format!(
            r#"{{"record":{{"key":"k","fingerprint":"f","state":{state},"created_at_ms":5}},"attempt":"a","plan":null,"step":{{"step":"planned"}}}}"#
        );
        serde_json::from_str(&json).unwrap()
    }

    /// The value at a `$.a.b` path of a JSON document.
    fn at_path<'a>(v: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
        path.trim_start_matches("$.")
            .split('.')
            .fold(v, |v, k| &v[k])
    }

    #[test]
    fn a_stored_checkout_is_seen_from_two_fields_of_its_json() {
        for (state, seen) in [
            (
                r#"{"state":"in_progress","started_at_ms":5}"#,
                CheckoutSeen::Open,
            ),
            (
                r#"{"state":"completed","status":201,"body":"{}","completed_at_ms":7000}"#,
                CheckoutSeen::Finished { at_ms: 7000 },
            ),
        ] {
            let c = record(state);
            let json = serde_json::to_value(&c).unwrap();
            let from_fields = CheckoutSeen::stored(
                at_path(&json, CheckoutSeen::STATE_PATH).as_str(),
                at_path(&json, CheckoutSeen::COMPLETED_PATH).as_i64(),
            );
            assert_eq!(from_fields, CheckoutSeen::of(&c));
            assert_eq!(from_fields, seen);
        }
    }

    #[test]
    fn a_cart_with_an_open_checkout_never_expires() {
        let c = Cart::new("crt_1".into(), usd(), 0);
        let open = CheckoutSeen::of(&record(r#"{"state":"in_progress","started_at_ms":5}"#));
        assert_eq!(open, CheckoutSeen::Open);
        let done = CheckoutSeen::Finished { at_ms: 1 };
        for checkouts in [vec![open], vec![done, open], vec![open, done]] {
            let expiry = c.idle_expiry(1_000, checkouts);
            assert_eq!(expiry, Expiry::WhileCheckoutOpen);
            assert!(!expiry.due(i64::MAX), "however long it waits");
            assert_eq!(expiry.wake_at(), None);
        }
    }

    #[test]
    fn a_checked_out_cart_expires_only_after_its_answer_stops_being_replayed() {
        let finished =
            record(r#"{"state":"completed","status":201,"body":"{}","completed_at_ms":7000}"#);
        let seen = CheckoutSeen::of(&finished);
        assert_eq!(seen, CheckoutSeen::Finished { at_ms: 7_000 });
        let c = Cart::new("crt_1".into(), usd(), 0);
        // A short period waits for the replay window (a retry with the key
        // must still answer the same order) ...
        assert_eq!(
            c.idle_expiry(1_000, [seen]),
            Expiry::At(7_000 + RETENTION_MS)
        );
        // ... a long one outlasts it anyway.
        assert_eq!(c.idle_expiry(30 * DAY, [seen]), Expiry::At(30 * DAY));
        // The latest finished checkout counts.
        let later = CheckoutSeen::Finished { at_ms: 9_000 };
        assert_eq!(
            c.idle_expiry(1_000, [seen, later]),
            Expiry::At(9_000 + RETENTION_MS)
        );
    }

    #[test]
    fn the_idle_period_is_read_from_its_variable_or_defaults() {
        assert_eq!(idle::DEFAULT_MS, 2_592_000_000);
        assert_eq!(idle::period(None), idle::DEFAULT_MS);
        assert_eq!(idle::period(Some("6000")), 6_000);
        assert_eq!(idle::period(Some(" 86400000 ")), DAY);
        for bad in ["", "soon", "999", "-5", "1.5e3", "999999999999999999"] {
            assert_eq!(idle::period(Some(bad)), idle::DEFAULT_MS, "{bad:?}");
        }
    }

    #[test]
    fn an_expired_cart_gives_back_only_the_holds_still_live() {
        let mut c = Cart::new("crt_1".into(), usd(), 0);
        c.set_line("A", 1, 100, 0);
        c.set_line("B", 1, 500, 0);
        assert_eq!(c.live_holds(99), ["A", "B"]);
        assert_eq!(c.live_holds(100), ["B"]);
        assert!(c.live_holds(500).is_empty());
    }

    #[test]
    fn carts_stored_before_activity_was_recorded_count_their_last_write() {
        let stored = r#"{"id":"crt_1","currency":"USD","lines":[],"holds_expire_at_ms":null,"created_at_ms":3,"updated_at_ms":8,"coupons":[]}"#;
        let mut c: Cart = serde_json::from_str(stored).unwrap();
        assert_eq!(c.seen_at_ms, None);
        assert_eq!(c.last_active_ms(), 8);
        assert_eq!(c.idle_expiry(100, []), Expiry::At(108));
        // Written back without a read, it keeps its shape.
        assert_eq!(serde_json::to_string(&c).unwrap(), stored);
        assert!(c.seen(50, 100));
        assert!(serde_json::to_string(&c)
            .unwrap()
            .ends_with(r#""seen_at_ms":50}"#));
    }

    #[test]
    fn coupons_are_kept_once_each_up_to_the_limit() {
        let mut c = Cart::new("crt_1".into(), usd(), 0);
        c.add_coupon("SAVE10", 1).unwrap();
        c.add_coupon("SAVE10", 2).unwrap();
        assert_eq!(c.coupons, ["SAVE10"]);
        for i in 0..4 {
            c.add_coupon(&format!("C{i}"), 3).unwrap();
        }
        assert_eq!(
            c.add_coupon("ONE-MORE", 4),
            Err(CartError::TooManyCoupons { max: 5 })
        );
        assert_eq!(
            c.remove_coupon(Some("NOPE"), 5),
            Err(CartError::NoSuchCoupon)
        );
        c.remove_coupon(Some("SAVE10"), 6).unwrap();
        assert_eq!(c.coupons.len(), 4);
        c.remove_coupon(None, 7).unwrap();
        assert!(c.coupons.is_empty());
    }
}
