//! A store's reports as pure rules: what one order contributes to the
//! sales and best-seller figures, what one points change contributes to
//! the points figures, how a report's date range is read, and how hourly
//! rows add up to a report.
//!
//! - **By state, not by counting events.** Every order event carries the
//!   whole order, so the figures keep, per order, what it contributes now
//!   ([`Contribution`]), with its history's length as its version. An
//!   event that is not newer than what is kept changes nothing (duplicates
//!   and reordered events are harmless); a newer one takes the old
//!   contribution out and puts the new one in ([`update`]).
//! - **What an order contributes** ([`contribution`]): nothing until it is
//!   paid (pending, or cancelled before payment). Once paid (its history
//!   has `paid`), it counts in the hour of its placement, in its currency:
//!   one order, its grand total as revenue (the part points paid
//!   included), its units as items, the points it spent. Refunded, or
//!   cancelled after payment (the payment goes back), it also counts as a
//!   refund of its grand total, and its lines leave the best sellers.
//! - **Points** ([`points_figures`]): `issued` is the net of what members
//!   received (grants, earnings, adjustments either way, less earnings
//!   taken back on cancel or refund), `redeemed` what orders spent less
//!   what cancels and refunds restored, `expired` what lapsed. So issued −
//!   redeemed − expired is exactly the sum of the ledgers' changes.
//!
//! What this module must not do: read a clock (today is passed in),
//! store anything, or know HTTP.

use crate::money::Currency;
use crate::order::{Order, OrderStatus};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// Longest range of a report by day (days, both ends included).
pub const MAX_DAYS: i64 = 366;
/// Longest range of a report by hour (days).
pub const MAX_HOUR_DAYS: i64 = 31;
/// The range of a report without `from` and `to`: the days ending today.
pub const DEFAULT_DAYS: i64 = 30;

/// The start of the hour `at_ms` falls in.
pub fn hour_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// The start of the (UTC) day `at_ms` falls in.
pub fn day_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(DAY_MS) * DAY_MS
}

/// Sales figures: of one bucket, one order, or a change (signed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesFigures {
    /// Paid orders (refunded ones included).
    pub orders: i64,
    /// Their grand totals, in minor units.
    pub revenue: i64,
    /// Their units.
    pub items: i64,
    /// Paid orders since paid back (refunded, or cancelled after payment).
    pub refunds: i64,
    /// What was paid back, in minor units.
    pub refunded: i64,
    /// Points the paid orders spent.
    pub points_redeemed: i64,
}

impl SalesFigures {
    pub fn plus(self, o: SalesFigures) -> SalesFigures {
        SalesFigures {
            orders: self.orders + o.orders,
            revenue: self.revenue + o.revenue,
            items: self.items + o.items,
            refunds: self.refunds + o.refunds,
            refunded: self.refunded + o.refunded,
            points_redeemed: self.points_redeemed + o.points_redeemed,
        }
    }

    pub fn negated(self) -> SalesFigures {
        SalesFigures::default().minus(self)
    }

    pub fn minus(self, o: SalesFigures) -> SalesFigures {
        SalesFigures {
            orders: self.orders - o.orders,
            revenue: self.revenue - o.revenue,
            items: self.items - o.items,
            refunds: self.refunds - o.refunds,
            refunded: self.refunded - o.refunded,
            points_redeemed: self.points_redeemed - o.points_redeemed,
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == SalesFigures::default()
    }

    /// Revenue per order, rounded half up (0 without orders).
    pub fn average_order_value(&self) -> i64 {
        if self.orders <= 0 {
            return 0;
        }
        (2 * self.revenue + self.orders).div_euclid(2 * self.orders)
    }
}

/// What one SKU's lines of an order add to the best sellers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuFigures {
    pub sku: String,
    pub units: i64,
    /// The lines' totals (after discounts, with tax added on top where
    /// prices exclude it), in minor units.
    pub revenue: i64,
}

/// What one order contributes to its store's figures now: stored per
/// order, versioned by its history's length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    /// The order's history length when this was worked out.
    pub version: u32,
    /// The hour of its placement (ms since the epoch).
    pub hour_ms: i64,
    pub currency: Currency,
    pub sales: SalesFigures,
    /// Per SKU (sorted), only while it counts as a sale not paid back.
    pub skus: Vec<SkuFigures>,
}

impl Contribution {
    /// The day its best-seller rows belong to.
    pub fn day_ms(&self) -> i64 {
        day_of(self.hour_ms)
    }
}

/// What `order`, as recorded, contributes.
pub fn contribution(order: &Order) -> Contribution {
    let placed = order
        .history
        .first()
        .map_or(order.created_at_ms, |h| h.at_ms);
    let paid = order.history.iter().any(|h| h.status == OrderStatus::Paid);
    let paid_back = paid && order.status.is_final();
    let mut sales = SalesFigures::default();
    let mut skus: BTreeMap<&str, SkuFigures> = BTreeMap::new();
    if paid {
        let total = order.totals.grand_total;
        sales = SalesFigures {
            orders: 1,
            revenue: total,
            items: order.lines.iter().map(|l| l.quantity).sum(),
            refunds: i64::from(paid_back),
            refunded: if paid_back { total } else { 0 },
            points_redeemed: order.points.as_ref().map_or(0, |p| p.spent),
        };
        if !paid_back {
            for l in &order.lines {
                let e = skus.entry(&l.sku).or_insert_with(|| SkuFigures {
                    sku: l.sku.clone(),
                    units: 0,
                    revenue: 0,
                });
                e.units += l.quantity;
                e.revenue += l.line_total;
            }
        }
    }
    Contribution {
        version: order.history.len() as u32,
        hour_ms: hour_of(placed),
        currency: order.currency,
        sales,
        skus: skus.into_values().collect(),
    }
}

/// One change of a sales row: (hour, currency) by signed figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesChange {
    pub hour_ms: i64,
    pub currency: Currency,
    pub by: SalesFigures,
}

/// One change of a best-seller row: (day, currency, SKU) by signed
/// units and revenue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuChange {
    pub day_ms: i64,
    pub currency: Currency,
    pub sku: String,
    pub units: i64,
    pub revenue: i64,
}

/// What taking an order event in does: the order's new contribution (to
/// store in place of the old) and the changes to the figures' rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub contribution: Contribution,
    pub sales: Vec<SalesChange>,
    pub skus: Vec<SkuChange>,
}

/// What `order` (as an event carries it) changes, given the contribution
/// kept for it (`None`: never seen): `None` when the event is not newer
/// than what is kept (a duplicate or a late one).
pub fn update(kept: Option<&Contribution>, order: &Order) -> Option<Update> {
    let new = contribution(order);
    if kept.is_some_and(|k| k.version >= new.version) {
        return None;
    }
    let mut sales = Vec::new();
    let mut skus: BTreeMap<(i64, Currency, String), (i64, i64)> = BTreeMap::new();
    let mut add = |c: &Contribution, sign: i64| {
        if !c.sales.is_zero() {
            sales.push(SalesChange {
                hour_ms: c.hour_ms,
                currency: c.currency,
                by: if sign > 0 { c.sales } else { c.sales.negated() },
            });
        }
        for s in &c.skus {
            let e = skus
                .entry((c.day_ms(), c.currency, s.sku.clone()))
                .or_default();
            e.0 += sign * s.units;
            e.1 += sign * s.revenue;
        }
    };
    if let Some(old) = kept {
        add(old, -1);
    }
    add(&new, 1);
    // Changes of one row merge; a change that nets to nothing is dropped.
    let mut merged: Vec<SalesChange> = Vec::new();
    for c in sales {
        match merged
            .iter_mut()
            .find(|m| m.hour_ms == c.hour_ms && m.currency == c.currency)
        {
            Some(m) => m.by = m.by.plus(c.by),
            None => merged.push(c),
        }
    }
    merged.retain(|m| !m.by.is_zero());
    Some(Update {
        contribution: new,
        sales: merged,
        skus: skus
            .into_iter()
            .filter(|(_, (u, r))| *u != 0 || *r != 0)
            .map(|((day_ms, currency, sku), (units, revenue))| SkuChange {
                day_ms,
                currency,
                sku,
                units,
                revenue,
            })
            .collect(),
    })
}

/// Points figures: of one bucket, or one change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsFigures {
    pub issued: i64,
    pub redeemed: i64,
    pub expired: i64,
}

impl PointsFigures {
    pub fn plus(self, o: PointsFigures) -> PointsFigures {
        PointsFigures {
            issued: self.issued + o.issued,
            redeemed: self.redeemed + o.redeemed,
            expired: self.expired + o.expired,
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == PointsFigures::default()
    }
}

/// What one ledger change (`points.changed`: its `reason`, the ledger
/// row's kind, and its signed `points`) adds: grants, earnings and
/// adjustments (either way) and revocations of earnings to `issued`;
/// spendings (less restorations) to `redeemed`; expiries to `expired`.
/// A repayment of debt (0 points) and unknown reasons add nothing.
pub fn points_figures(reason: &str, points: i64) -> PointsFigures {
    let none = PointsFigures::default();
    match reason {
        "grant" | "earn" | "adjust" | "revoke" => PointsFigures {
            issued: points,
            ..none
        },
        "spend" | "restore" => PointsFigures {
            redeemed: -points,
            ..none
        },
        "expire" => PointsFigures {
            expired: -points,
            ..none
        },
        _ => none,
    }
}

/// What a SKU tells the low-stock list about its unsold units (on hand −
/// sold): `Some(unsold)` while at or below the low mark, `None` above it.
/// A SKU reports whenever this differs from what it last reported: on
/// crossing the mark, either way (so replenishment leaves the list), and
/// on each change while low (at most a few, near the mark), never while
/// stock moves above it.
pub fn low_stock(unsold: i64, low_mark: i64) -> Option<i64> {
    (unsold <= low_mark).then_some(unsold)
}

/// How a report's buckets are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Day,
    Hour,
}

impl Granularity {
    pub fn parse(raw: &str) -> Option<Granularity> {
        match raw {
            "day" => Some(Granularity::Day),
            "hour" => Some(Granularity::Hour),
            _ => None,
        }
    }

    /// The start of the bucket `hour_ms` falls in.
    pub fn bucket(self, hour_ms: i64) -> i64 {
        match self {
            Granularity::Day => day_of(hour_ms),
            Granularity::Hour => hour_of(hour_ms),
        }
    }

    /// The longest range, in days.
    pub fn max_days(self) -> i64 {
        match self {
            Granularity::Day => MAX_DAYS,
            Granularity::Hour => MAX_HOUR_DAYS,
        }
    }
}

/// A report's days: `from` to `to`, both included (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Range {
    /// The first instant in range (ms since the epoch).
    pub fn from_ms(&self) -> i64 {
        midnight_ms(self.from)
    }

    /// The first instant after the range.
    pub fn to_ms(&self) -> i64 {
        midnight_ms(self.to) + DAY_MS
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

fn midnight_ms(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_millis())
}

/// Why a range is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeError {
    /// `from` (true) or `to` (false) is not a date `YYYY-MM-DD`.
    NotADate { from: bool },
    /// `from` is after `to`.
    Reversed,
    /// Longer than the granularity allows (that many days at most).
    TooLong { max_days: i64 },
}

/// Reads `from` and `to` (`YYYY-MM-DD`, UTC, from 1970 on): each
/// defaults from the other, and both to the [`DEFAULT_DAYS`] ending
/// `today` (a default never reaches before 1970).
pub fn range(
    from: Option<&str>,
    to: Option<&str>,
    granularity: Granularity,
    today: NaiveDate,
) -> Result<Range, RangeError> {
    let date = |raw: &str, is_from: bool| {
        let ok = raw.len() == 10
            && raw.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        ok.then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
            .flatten()
            .filter(|d| *d >= NaiveDate::default())
            .ok_or(RangeError::NotADate { from: is_from })
    };
    let span = Duration::days(DEFAULT_DAYS - 1);
    let (from, to) = match (from, to) {
        (Some(f), Some(t)) => (date(f, true)?, date(t, false)?),
        (Some(f), None) => {
            let f = date(f, true)?;
            (f, f.checked_add_signed(span).unwrap_or(f).min(today.max(f)))
        }
        (None, Some(t)) => {
            let t = date(t, false)?;
            (t.checked_sub_signed(span).unwrap_or(t), t)
        }
        (None, None) => (today.checked_sub_signed(span).unwrap_or(today), today),
    };
    let from = from.max(NaiveDate::default());
    if from > to {
        return Err(RangeError::Reversed);
    }
    let range = Range { from, to };
    if range.days() > granularity.max_days() {
        return Err(RangeError::TooLong {
            max_days: granularity.max_days(),
        });
    }
    Ok(range)
}

/// One bucket of a sales report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesBucket {
    pub start_ms: i64,
    pub currency: Currency,
    pub figures: SalesFigures,
}

/// A sales report from its hourly rows `(hour, currency, figures)`: the
/// buckets with activity, by start then currency, and the totals per
/// currency.
pub fn sales_report(
    rows: &[(i64, Currency, SalesFigures)],
    granularity: Granularity,
) -> (Vec<SalesBucket>, Vec<(Currency, SalesFigures)>) {
    let mut buckets: BTreeMap<(i64, Currency), SalesFigures> = BTreeMap::new();
    let mut totals: BTreeMap<Currency, SalesFigures> = BTreeMap::new();
    for (hour, currency, figures) in rows {
        let b = buckets
            .entry((granularity.bucket(*hour), *currency))
            .or_default();
        *b = b.plus(*figures);
        let t = totals.entry(*currency).or_default();
        *t = t.plus(*figures);
    }
    (
        buckets
            .into_iter()
            .filter(|(_, f)| !f.is_zero())
            .map(|((start_ms, currency), figures)| SalesBucket {
                start_ms,
                currency,
                figures,
            })
            .collect(),
        totals.into_iter().filter(|(_, f)| !f.is_zero()).collect(),
    )
}

/// A points report from its hourly rows `(hour, figures)`: the buckets
/// with activity, by start, and the totals.
pub fn points_report(
    rows: &[(i64, PointsFigures)],
    granularity: Granularity,
) -> (Vec<(i64, PointsFigures)>, PointsFigures) {
    let mut buckets: BTreeMap<i64, PointsFigures> = BTreeMap::new();
    let mut total = PointsFigures::default();
    for (hour, figures) in rows {
        let b = buckets.entry(granularity.bucket(*hour)).or_default();
        *b = b.plus(*figures);
        total = total.plus(*figures);
    }
    (
        buckets.into_iter().filter(|(_, f)| !f.is_zero()).collect(),
        total,
    )
}

#[cfg(test)]
mod tests;
