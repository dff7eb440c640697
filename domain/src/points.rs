//! Loyalty points: a store's programme (what a member earns, what points
//! are worth) and one member's ledger of lots, holds and debt.
//!
//! A member's points live in **lots**: each grant or earning is one lot
//! with its amount, when it becomes spendable (`available_at_ms`: earned
//! points wait out the return window) and when it expires. Spending takes
//! from the soonest-expiring spendable lots first (a lot that never
//! expires last; ties by lot number), and remembers which lots it took
//! from, so a refund puts the points back into those very lots, with their
//! own expiry.
//!
//! Checkout spends in two steps, like the stock: a **hold** (the points are
//! set aside for one order, until the hold's deadline) and a **commit**
//! (the order is placed) or a **release** (it is not). Order operations
//! are idempotent by the order (a retried saga step changes nothing);
//! grants and adjustments carry a key the ledger's keeper remembers with
//! their rows (a replayed admin request changes nothing).
//!
//! Taking back points earned by an order that is refunded may find them
//! already spent: what is missing becomes **debt**, paid first by the next
//! points the member receives. Nothing is ever skipped silently.
//!
//! Every operation answers the rows it adds to the member's append-only
//! history ([`Row`]); the ledger itself keeps only what the next operation
//! needs (lots, holds, what each order spent, the debt), so its cost does
//! not grow with the history.
//!
//! The invariant (checked by [`Ledger::check`], and by the property tests):
//! the sum of every row's amount equals the lots' remaining points minus
//! the debt; no lot holds more than it received nor less than zero; a hold
//! never takes more of a lot than the lot has; and the spendable balance
//! (`available`) is the spendable lots' remaining points minus the held
//! points minus the debt.
//!
//! What this module must not do: read a clock (every operation takes
//! `now_ms`), know about HTTP or storage, or round money: points and
//! money convert only exactly (see [`Programme::points_for`]).

use crate::catalog::FieldError;
use crate::money::Currency;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Limits of a programme and a ledger.
pub mod limits {
    /// Longest name of the unit ("points", "miles").
    pub const UNIT_MAX: usize = 20;
    /// Longest pending window and lot life, in days.
    pub const DAYS_MAX: u32 = 3_650;
    /// Most points one operation moves (and most a lot holds).
    pub const AMOUNT_MAX: i64 = 1_000_000_000_000;
    /// Longest reason.
    pub const REASON_MAX: usize = 200;
    /// Most category multipliers.
    pub const MULTIPLIERS_MAX: usize = 50;
}

const DAY_MS: i64 = 86_400_000;

/// A store's points programme: what members earn and what points are
/// worth. Checkout earns and spends by it; members read it with their
/// balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"unit": "points", "earn_per_unit": 10, "category_multipliers": {"audio": 20000}, "points_per_minor": {"GBP": 1}, "pending_days": 14, "expiry_days": 365}])))]
#[serde(deny_unknown_fields)]
pub struct Programme {
    /// What the store calls its points ("points", "miles"): 1 to 20 ASCII
    /// letters, spaces or hyphens, starting with a letter (else 422
    /// `invalid_unit`).
    #[cfg_attr(
        feature = "openapi",
        schemars(regex(pattern = r"^[A-Za-z][A-Za-z -]{0,19}$"))
    )]
    pub unit: String,
    /// Points earned per major unit of money paid (per 1.00 of a
    /// two-decimal currency), from 0 to 100000; only the part of an order
    /// paid with money earns, never the part paid with points.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = 100000)))]
    pub earn_per_unit: u32,
    /// Category slug → what its lines earn, in basis points of the rate
    /// (10000 = ×1, 20000 = ×2), from 0 to 1000000; at most 50 categories.
    /// Categories not listed earn ×1.
    #[cfg_attr(feature = "openapi", schemars(extend("propertyNames" = {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 120}, "additionalProperties" = {"type": "integer", "minimum": 0, "maximum": 1000000}, "maxProperties" = 50)))]
    #[serde(default)]
    pub category_multipliers: BTreeMap<String, u32>,
    /// Currency → how many points one minor unit costs, from 1 to 1000000
    /// (1: 100 points pay 1.00 of a two-decimal currency). Points pay only
    /// in the currencies listed (at least one).
    #[cfg_attr(feature = "openapi", schemars(extend("propertyNames" = {"enum": ["AUD", "CAD", "CHF", "EUR", "GBP", "JPY", "USD"]}, "patternProperties" = {"^[A-Z]{3}$": {"type": "integer", "minimum": 1, "maximum": 1000000}}, "additionalProperties" = {"type": "integer", "minimum": 1, "maximum": 1000000}, "minProperties" = 1)))]
    pub points_per_minor: BTreeMap<Currency, u32>,
    /// Days earned points wait before they can be spent (the return
    /// window), from 0 to 3650; a cancellation or refund within it takes
    /// them back.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = 3650)))]
    #[serde(default)]
    pub pending_days: u32,
    /// Days a lot lives once spendable, from 1 to 3650; absent or null:
    /// points never expire.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 3650)))]
    #[serde(default)]
    pub expiry_days: Option<u32>,
    /// The P-256 public key (a JWK) the operator's site signs member
    /// tokens with (ES256); absent or null: members sign in with HS256
    /// tokens signed with the store's secret, set by the deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_key: Option<crate::member::PublicJwk>,
}

impl Programme {
    /// Every problem with this programme, with its field path.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut error = |field: &str, code: &'static str, message: &str| {
            errors.push(FieldError {
                field: field.into(),
                code,
                message: message.into(),
            })
        };
        let b = self.unit.as_bytes();
        let unit_ok = (1..=limits::UNIT_MAX).contains(&b.len())
            && b[0].is_ascii_alphabetic()
            && b.iter()
                .all(|c| c.is_ascii_alphabetic() || *c == b' ' || *c == b'-');
        if !unit_ok {
            error(
                "unit",
                "invalid_unit",
                "1 to 20 ASCII letters, spaces or hyphens, starting with a letter",
            );
        }
        if self.earn_per_unit > 100_000 {
            error("earn_per_unit", "invalid_rate", "must be at most 100000");
        }
        if self.category_multipliers.len() > limits::MULTIPLIERS_MAX {
            error("category_multipliers", "too_many", "at most 50 categories");
        }
        for (slug, bp) in &self.category_multipliers {
            if !crate::catalog::is_slug(slug) || *bp > 1_000_000 {
                error(
                    &format!("category_multipliers.{slug}"),
                    "invalid_rate",
                    "a category slug, and at most 1000000 basis points",
                );
            }
        }
        if self.points_per_minor.is_empty() {
            error(
                "points_per_minor",
                "missing_rate",
                "name at least one currency",
            );
        }
        for (c, rate) in &self.points_per_minor {
            if *rate == 0 || *rate > 1_000_000 {
                error(
                    &format!("points_per_minor.{c}"),
                    "invalid_rate",
                    "must be 1 to 1000000",
                );
            }
        }
        if self.pending_days > limits::DAYS_MAX {
            error("pending_days", "invalid_days", "must be at most 3650");
        }
        if self
            .expiry_days
            .is_some_and(|d| d == 0 || d > limits::DAYS_MAX)
        {
            error("expiry_days", "invalid_days", "must be 1 to 3650");
        }
        if self.member_key.as_ref().is_some_and(|k| !k.is_valid()) {
            error(
                "member_key",
                "invalid_key",
                "a P-256 public JWK: kty EC, crv P-256, x and y of 43 base64url characters",
            );
        }
        errors
    }

    /// What `amount` minor units of `currency` cost in points, if points
    /// pay in that currency.
    pub fn points_for(&self, currency: Currency, amount: i64) -> Option<i64> {
        let rate = i64::from(*self.points_per_minor.get(&currency)?);
        amount.checked_mul(rate)
    }

    /// What `points` pay in minor units of `currency`: only whole minor
    /// units (`None` if points do not pay in it, or `points` is not a
    /// multiple of the rate).
    pub fn money_for(&self, currency: Currency, points: i64) -> Option<i64> {
        let rate = i64::from(*self.points_per_minor.get(&currency)?);
        (points % rate == 0).then_some(points / rate)
    }

    /// What a paid order earns: per line (its category slug and the amount
    /// paid for it with money, in minor units of `currency`), the
    /// programme's rate times the category's multiplier, each rounded down;
    /// summed.
    pub fn earned(&self, currency: Currency, lines: &[(&str, i64)]) -> i64 {
        let per_major = i64::from(self.earn_per_unit);
        let minor_per_major = currency.major_unit();
        lines
            .iter()
            .map(|(category, paid)| {
                let bp = i64::from(
                    self.category_multipliers
                        .get(*category)
                        .copied()
                        .unwrap_or(10_000),
                );
                let num = i128::from((*paid).max(0)) * i128::from(per_major) * i128::from(bp);
                let den = i128::from(minor_per_major) * 10_000;
                i64::try_from(num / den).unwrap_or(i64::MAX)
            })
            .sum()
    }

    /// When points received at `now_ms` become spendable, and when they
    /// expire, for an earning (`pending`) or a grant.
    pub fn lot_times(&self, now_ms: i64, pending: bool) -> (i64, Option<i64>) {
        let available = if pending {
            now_ms + i64::from(self.pending_days) * DAY_MS
        } else {
            now_ms
        };
        let expires = self.expiry_days.map(|d| available + i64::from(d) * DAY_MS);
        (available, expires)
    }
}

/// One lot of points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    /// Its number in the ledger (1, 2, ...).
    pub id: u64,
    /// What it received.
    pub original: i64,
    /// What is left of it.
    pub remaining: i64,
    pub available_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    /// The order that earned it, if an order did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// Whether a cancellation or refund took it back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revoked: bool,
}

impl Lot {
    fn spendable(&self, now_ms: i64) -> bool {
        self.available_at_ms <= now_ms && self.expires_at_ms.is_none_or(|e| e > now_ms)
    }

    /// The order spending takes lots in: soonest expiry first, never last,
    /// then by number.
    fn spend_order(&self) -> (i64, u64) {
        (self.expires_at_ms.unwrap_or(i64::MAX), self.id)
    }
}

/// Points set aside for one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub order: String,
    pub amount: i64,
    /// Lot → points taken from it.
    pub parts: Vec<(u64, i64)>,
    pub expires_at_ms: i64,
}

/// Points an order spent, by lot (kept so a refund can put them back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spent {
    pub order: String,
    pub parts: Vec<(u64, i64)>,
    /// Whether they were put back (a cancel or refund).
    pub restored: bool,
}

/// What a row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub enum RowKind {
    /// An admin gave points.
    Grant,
    /// An admin corrected the balance (up or down).
    Adjust,
    /// A paid order earned points.
    Earn,
    /// An order spent points.
    Spend,
    /// A cancelled or refunded order's points went back to their lots.
    Restore,
    /// A cancelled or refunded order's earned points were taken back.
    Revoke,
    /// A lot expired.
    Expire,
    /// New points paid off debt.
    Repay,
}

/// One row of the append-only ledger: every change of the points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub seq: u64,
    pub at_ms: i64,
    pub kind: RowKind,
    /// Signed: what the member's points changed by.
    pub amount: i64,
    /// The lot it concerns, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    pub reason: String,
    pub actor: String,
    /// The operation's key (rows of one operation share it).
    pub key: String,
    /// The lot's expiry and spendable time, when the row made a lot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_until_ms: Option<i64>,
}

/// Why an operation was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum PointsRefusal {
    /// Not enough spendable points: `available` is what there is.
    InsufficientPoints { available: i64 },
    /// An amount of zero, below zero where it must be above, or too large.
    InvalidAmount,
    /// A reason that is blank or too long.
    InvalidReason,
    /// A grant's expiry that is not ahead, or further than the longest lot
    /// life (3650 days).
    InvalidExpiry,
    /// The order already spent points (a new hold for it is refused).
    AlreadySpent,
    /// The key was used before for another admin operation (of the other
    /// kind, or another amount, reason or expiry).
    KeyReused,
    /// No hold (or spending) for that order.
    NoSuchOrder,
}

/// The member's balance at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// What can be spent now: spendable lots, less what is held and owed.
    /// Negative only through debt.
    pub available: i64,
    /// Earned points still in their return window.
    pub pending: i64,
    /// Set aside for checkouts in progress.
    pub held: i64,
    /// Owed: earned points taken back after they were spent.
    pub debt: i64,
    /// The soonest expiry of spendable points: how many, and when.
    pub next_expiry: Option<(i64, i64)>,
}

/// One member's points: what the next operation needs (the history is
/// the rows each operation answers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub lots: Vec<Lot>,
    pub holds: Vec<Hold>,
    pub spent: Vec<Spent>,
    pub debt: i64,
    /// The last lot number and row number given.
    pub next_lot: u64,
    pub next_seq: u64,
}

/// The rows one operation added, oldest first.
pub type Rows = Vec<Row>;

/// Who did an operation and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin<'a> {
    pub key: &'a str,
    pub actor: &'a str,
    pub reason: &'a str,
    pub order: Option<&'a str>,
}

impl Ledger {
    /// The balance at `now_ms`.
    pub fn balance(&self, now_ms: i64) -> Balance {
        // A hold past its deadline holds nothing, whether or not the
        // keeper has dropped it yet.
        let live = || self.holds.iter().filter(|h| h.expires_at_ms > now_ms);
        let held: i64 = live().map(|h| h.amount).sum();
        let spendable: i64 = self
            .lots
            .iter()
            .filter(|l| l.spendable(now_ms))
            .map(|l| l.remaining)
            .sum();
        // Only what is held of spendable lots counts against them.
        let held_spendable: i64 = live()
            .flat_map(|h| &h.parts)
            .filter(|(id, _)| self.lot(*id).is_some_and(|l| l.spendable(now_ms)))
            .map(|(_, n)| n)
            .sum();
        let pending = self
            .lots
            .iter()
            .filter(|l| l.available_at_ms > now_ms)
            .map(|l| l.remaining)
            .sum();
        let next_expiry = self
            .lots
            .iter()
            .filter(|l| l.spendable(now_ms) && l.remaining > 0)
            .filter_map(|l| Some((l.expires_at_ms?, l.remaining)))
            .min_by_key(|(at, _)| *at)
            .map(|(at, _)| {
                let amount = self
                    .lots
                    .iter()
                    .filter(|l| l.spendable(now_ms) && l.expires_at_ms == Some(at))
                    .map(|l| l.remaining)
                    .sum();
                (amount, at)
            });
        Balance {
            available: spendable - held_spendable - self.debt,
            pending,
            held,
            debt: self.debt,
            next_expiry,
        }
    }

    /// The soonest time something changes by itself: a lot expires or
    /// becomes spendable, or a hold lapses (for the alarm).
    pub fn next_deadline(&self, now_ms: i64) -> Option<i64> {
        let lots = self.lots.iter().filter(|l| l.remaining > 0).flat_map(|l| {
            [Some(l.available_at_ms), l.expires_at_ms]
                .into_iter()
                .flatten()
        });
        lots.chain(self.holds.iter().map(|h| h.expires_at_ms))
            .filter(|t| *t > now_ms)
            .min()
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        rows: &mut Rows,
        now_ms: i64,
        kind: RowKind,
        amount: i64,
        lot: Option<u64>,
        o: &Origin,
    ) {
        self.next_seq += 1;
        let (expires_at_ms, pending_until_ms) = match lot.and_then(|id| self.lot(id)) {
            // Only a row that made the lot tells its times.
            Some(l)
                if matches!(kind, RowKind::Grant | RowKind::Earn)
                    || (kind == RowKind::Adjust && amount > 0) =>
            {
                (
                    l.expires_at_ms,
                    (l.available_at_ms > now_ms).then_some(l.available_at_ms),
                )
            }
            _ => (None, None),
        };
        rows.push(Row {
            seq: self.next_seq,
            at_ms: now_ms,
            kind,
            amount,
            lot,
            order: o.order.map(str::to_string),
            reason: o.reason.to_string(),
            actor: o.actor.to_string(),
            key: o.key.to_string(),
            expires_at_ms,
            pending_until_ms,
        });
    }

    /// What the holds have set aside of lot `id`.
    fn held_of(&self, id: u64) -> i64 {
        self.holds
            .iter()
            .flat_map(|h| &h.parts)
            .filter(|(lot, _)| *lot == id)
            .map(|(_, n)| n)
            .sum()
    }

    fn lot(&self, id: u64) -> Option<&Lot> {
        self.lots.iter().find(|l| l.id == id)
    }

    fn lot_mut(&mut self, id: u64) -> Option<&mut Lot> {
        self.lots.iter_mut().find(|l| l.id == id)
    }

    fn check_reason(reason: &str) -> Result<(), PointsRefusal> {
        if reason.trim().is_empty() || reason.chars().count() > limits::REASON_MAX {
            return Err(PointsRefusal::InvalidReason);
        }
        Ok(())
    }

    fn check_amount(amount: i64) -> Result<(), PointsRefusal> {
        if amount <= 0 || amount > limits::AMOUNT_MAX {
            return Err(PointsRefusal::InvalidAmount);
        }
        Ok(())
    }

    /// A new lot of `amount` points (a grant, a positive adjustment or an
    /// earning): debt is paid from it first.
    fn receive(
        &mut self,
        now_ms: i64,
        kind: RowKind,
        amount: i64,
        (available_at_ms, expires_at_ms): (i64, Option<i64>),
        o: &Origin,
    ) -> Rows {
        let mut rows = Vec::new();
        self.next_lot += 1;
        let id = self.next_lot;
        self.lots.push(Lot {
            id,
            original: amount,
            remaining: amount,
            available_at_ms,
            expires_at_ms,
            order: o.order.map(str::to_string),
            revoked: false,
        });
        self.row(&mut rows, now_ms, kind, amount, Some(id), o);
        let repay = self.debt.min(amount);
        if repay > 0 {
            self.debt -= repay;
            if let Some(l) = self.lot_mut(id) {
                l.remaining -= repay;
            }
            // Paying debt moves nothing between the sum and the lots: the
            // row records it, with amount 0 to the sum.
            self.row(&mut rows, now_ms, RowKind::Repay, 0, Some(id), o);
        }
        rows
    }

    /// An admin's grant: spendable at once, expiring at `expires_at_ms`
    /// when given (it must be ahead: else `InvalidExpiry`), else per the
    /// programme. (Its key is the keeper's to remember: a grant is not
    /// idempotent by itself.)
    pub fn grant(
        &mut self,
        programme: &Programme,
        amount: i64,
        expires_at_ms: Option<i64>,
        o: &Origin,
        now_ms: i64,
    ) -> Result<Rows, PointsRefusal> {
        Self::check_amount(amount)?;
        Self::check_reason(o.reason)?;
        let mut times = programme.lot_times(now_ms, false);
        if let Some(at) = expires_at_ms {
            if at <= now_ms || at > now_ms + i64::from(limits::DAYS_MAX) * DAY_MS {
                return Err(PointsRefusal::InvalidExpiry);
            }
            times.1 = Some(at);
        }
        Ok(self.receive(now_ms, RowKind::Grant, amount, times, o))
    }

    /// An admin's correction: up (a new lot, like a grant) or down (taken
    /// from spendable lots, soonest expiry first; never below zero).
    pub fn adjust(
        &mut self,
        programme: &Programme,
        delta: i64,
        o: &Origin,
        now_ms: i64,
    ) -> Result<Rows, PointsRefusal> {
        Self::check_amount(delta.abs())?;
        Self::check_reason(o.reason)?;
        if delta > 0 {
            let times = programme.lot_times(now_ms, false);
            return Ok(self.receive(now_ms, RowKind::Adjust, delta, times, o));
        }
        let parts = self.pick(-delta, now_ms)?;
        let mut rows = Vec::new();
        for (lot, take) in parts {
            if let Some(l) = self.lot_mut(lot) {
                l.remaining -= take;
            }
            self.row(&mut rows, now_ms, RowKind::Adjust, -take, Some(lot), o);
        }
        Ok(rows)
    }

    /// Which lots `amount` spendable, unheld points come from: soonest
    /// expiry first. Refused when there are not enough.
    fn pick(&self, amount: i64, now_ms: i64) -> Result<Vec<(u64, i64)>, PointsRefusal> {
        let available = self.balance(now_ms).available;
        if amount > available {
            return Err(PointsRefusal::InsufficientPoints {
                available: available.max(0),
            });
        }
        let mut lots: Vec<&Lot> = self.lots.iter().filter(|l| l.spendable(now_ms)).collect();
        lots.sort_by_key(|l| l.spend_order());
        let mut parts = Vec::new();
        let mut left = amount;
        for l in lots {
            if left == 0 {
                break;
            }
            let held = self.held_of(l.id);
            let free = l.remaining - held;
            let take = free.min(left);
            if take > 0 {
                parts.push((l.id, take));
                left -= take;
            }
        }
        // Debt counts against the balance but is owed by no lot: with
        // enough available points the lots always cover the amount.
        if left > 0 {
            return Err(PointsRefusal::InsufficientPoints {
                available: available.max(0),
            });
        }
        Ok(parts)
    }

    /// Sets `amount` points aside for `order` until `expires_at_ms`. The
    /// same order again answers the hold it has.
    pub fn hold(
        &mut self,
        order: &str,
        amount: i64,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> Result<&Hold, PointsRefusal> {
        if let Some(i) = self.holds.iter().position(|h| h.order == order) {
            return Ok(&self.holds[i]);
        }
        if self.spent.iter().any(|s| s.order == order) {
            return Err(PointsRefusal::AlreadySpent);
        }
        Self::check_amount(amount)?;
        let parts = self.pick(amount, now_ms)?;
        self.holds.push(Hold {
            order: order.to_string(),
            amount,
            parts,
            expires_at_ms,
        });
        Ok(self.holds.last().expect("just pushed"))
    }

    /// Gives `order`'s hold back (nothing if it has none).
    pub fn release(&mut self, order: &str) {
        self.holds.retain(|h| h.order != order);
    }

    /// Spends `order`'s hold: its points leave their lots. A repeat (the
    /// order already spent) changes nothing.
    pub fn commit(&mut self, order: &str, now_ms: i64) -> Result<Rows, PointsRefusal> {
        if self.spent.iter().any(|s| s.order == order) {
            return Ok(Vec::new());
        }
        let i = self
            .holds
            .iter()
            .position(|h| h.order == order)
            .ok_or(PointsRefusal::NoSuchOrder)?;
        let hold = self.holds.remove(i);
        let key = format!("spend:{order}");
        let o = Origin {
            key: &key,
            actor: "checkout",
            reason: "order",
            order: Some(order),
        };
        let mut rows = Vec::new();
        for (lot, take) in &hold.parts {
            if let Some(l) = self.lot_mut(*lot) {
                l.remaining -= take;
            }
            self.row(&mut rows, now_ms, RowKind::Spend, -take, Some(*lot), &o);
        }
        self.spent.push(Spent {
            order: order.to_string(),
            parts: hold.parts,
            restored: false,
        });
        Ok(rows)
    }

    /// Puts the points `order` spent back into the lots they came from,
    /// with those lots' own expiry (a cancellation or refund). A repeat,
    /// or an order that spent nothing, changes nothing.
    pub fn restore(&mut self, order: &str, actor: &str, now_ms: i64) -> Rows {
        let mut rows = Vec::new();
        let Some(i) = self
            .spent
            .iter()
            .position(|s| s.order == order && !s.restored)
        else {
            return rows;
        };
        self.spent[i].restored = true;
        let parts = self.spent[i].parts.clone();
        let key = format!("restore:{order}");
        let o = Origin {
            key: &key,
            actor,
            reason: "order cancelled or refunded",
            order: Some(order),
        };
        for (lot, n) in parts {
            if let Some(l) = self.lot_mut(lot) {
                l.remaining += n;
            }
            self.row(&mut rows, now_ms, RowKind::Restore, n, Some(lot), &o);
        }
        rows
    }

    /// Records what a paid order earned (a new lot, pending for the
    /// programme's return window). Once per order.
    pub fn earn(&mut self, programme: &Programme, order: &str, amount: i64, now_ms: i64) -> Rows {
        let key = format!("earn:{order}");
        if amount <= 0 || self.lots.iter().any(|l| l.order.as_deref() == Some(order)) {
            return Vec::new();
        }
        let o = Origin {
            key: &key,
            actor: "checkout",
            reason: "order",
            order: Some(order),
        };
        let times = programme.lot_times(now_ms, true);
        self.receive(
            now_ms,
            RowKind::Earn,
            amount.min(limits::AMOUNT_MAX),
            times,
            &o,
        )
    }

    /// Takes back what `order` earned (a cancellation or refund): what is
    /// left of its lot goes, and whatever of it was spent already becomes
    /// debt. Once per order.
    pub fn revoke(&mut self, order: &str, actor: &str, now_ms: i64) -> Rows {
        let mut rows = Vec::new();
        let key = format!("revoke:{order}");
        let Some(lot) = self
            .lots
            .iter()
            .find(|l| l.order.as_deref() == Some(order) && !l.revoked)
            .cloned()
        else {
            return rows;
        };
        let o = Origin {
            key: &key,
            actor,
            reason: "order cancelled or refunded",
            order: Some(order),
        };
        // A hold on the lot gives way: the order it was for holds again
        // (or is refused) on its next step.
        let held_here: Vec<String> = self
            .holds
            .iter()
            .filter(|h| h.parts.iter().any(|(id, _)| *id == lot.id))
            .map(|h| h.order.clone())
            .collect();
        for order in held_here {
            self.release(&order);
        }
        let taken = lot.remaining;
        let owed = lot.original - taken;
        if let Some(l) = self.lot_mut(lot.id) {
            l.remaining = 0;
            l.revoked = true;
        }
        self.row(
            &mut rows,
            now_ms,
            RowKind::Revoke,
            -lot.original,
            Some(lot.id),
            &o,
        );
        // What was spent of it is owed; the lot itself is empty. The sum
        // moved by the whole earning: what left the lot, and the debt.
        self.debt += owed;
        rows
    }

    /// Expires what is left of every lot past its expiry (not what a hold
    /// has set aside: that expires once the hold is released).
    pub fn expire(&mut self, now_ms: i64) -> Rows {
        let mut rows = Vec::new();
        let due: Vec<(u64, i64)> = self
            .lots
            .iter()
            .filter(|l| l.expires_at_ms.is_some_and(|e| e <= now_ms) && l.remaining > 0)
            .map(|l| {
                let held = self.held_of(l.id);
                (l.id, l.remaining - held)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        for (lot, n) in due {
            if let Some(l) = self.lot_mut(lot) {
                l.remaining -= n;
            }
            let key = format!("expire:{lot}:{now_ms}");
            let o = Origin {
                key: &key,
                actor: "system",
                reason: "expired",
                order: None,
            };
            self.row(&mut rows, now_ms, RowKind::Expire, -n, Some(lot), &o);
        }
        rows
    }

    /// Drops the holds past their deadline.
    pub fn lapse_holds(&mut self, now_ms: i64) {
        self.holds.retain(|h| h.expires_at_ms > now_ms);
    }

    /// The ledger's invariants, given `sum`, the sum of every row's
    /// amount so far; `Err` names the first one broken.
    pub fn check(&self, sum: i64, now_ms: i64) -> Result<(), String> {
        let lots: i64 = self.lots.iter().map(|l| l.remaining).sum();
        if sum != lots - self.debt {
            return Err(format!(
                "rows sum to {sum}, lots hold {lots}, debt {}",
                self.debt
            ));
        }
        if let Some(l) = self
            .lots
            .iter()
            .find(|l| l.remaining < 0 || l.remaining > l.original)
        {
            return Err(format!(
                "lot {} holds {} of {}",
                l.id, l.remaining, l.original
            ));
        }
        for l in &self.lots {
            let held = self.held_of(l.id);
            if held > l.remaining {
                return Err(format!("lot {} has {} held of {}", l.id, held, l.remaining));
            }
        }
        for h in &self.holds {
            if h.parts.iter().map(|(_, n)| n).sum::<i64>() != h.amount {
                return Err(format!("hold of {} does not add up", h.order));
            }
        }
        if self.debt < 0 {
            return Err("negative debt".into());
        }
        let b = self.balance(now_ms);
        if b.available < 0 && self.debt == 0 {
            return Err(format!("available {} without debt", b.available));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
