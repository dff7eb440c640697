//! `Reports`: one per store (named `reports:{store}`), the store's sales,
//! best-seller and points figures, kept up to date from the store's
//! events (the events queue's consumer hands it the store's order and
//! points events, beside the store's webhook object) so that a report
//! reads only the rows of its range, never every order.
//!
//! - Per order, what it contributes now (`edgecart_domain::reports`),
//!   with its history's length as version: an order event not newer than
//!   that changes nothing; a newer one takes the old contribution out of
//!   the rows and puts the new one in, in the same synchronous block as
//!   the order's row (one commit). Duplicates and reordered events are
//!   harmless; the figures follow the orders' states exactly.
//! - Per points change (one ledger row), its event id, kept: a change is
//!   counted once however often it is delivered.
//! - Rows: sales per (hour, currency), best sellers per (day, currency,
//!   SKU), points per hour; each keyed (and so indexed) by its time first.
//!
//! It must not decide what counts: the rules are the domain's.

use crate::object::{answer, json, serve, Handled, Tables};
use crate::protocol::reports::{
    self as protocol, BestSeller, BestSellerRows, PointsRow, PointsRows, ReportsCommand, SalesRow,
    SalesRows, Taken,
};
use edgecart_domain::events::{Event, EventBody};
use edgecart_domain::money::Currency;
use edgecart_domain::reports::{
    hour_of, points_figures, update, Contribution, PointsFigures, SalesFigures,
};
use serde::Deserialize;
use worker::{durable_object, DurableObject, Env, Request, Response, SqlStorageValue, State};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, version INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sales (hour_ms INTEGER NOT NULL, currency TEXT NOT NULL, orders INTEGER NOT NULL, revenue INTEGER NOT NULL, items INTEGER NOT NULL, refunds INTEGER NOT NULL, refunded INTEGER NOT NULL, points_redeemed INTEGER NOT NULL, PRIMARY KEY (hour_ms, currency));
CREATE TABLE IF NOT EXISTS best_sellers (day_ms INTEGER NOT NULL, currency TEXT NOT NULL, sku TEXT NOT NULL, units INTEGER NOT NULL, revenue INTEGER NOT NULL, PRIMARY KEY (day_ms, currency, sku));
CREATE TABLE IF NOT EXISTS points (hour_ms INTEGER PRIMARY KEY, issued INTEGER NOT NULL, redeemed INTEGER NOT NULL, expired INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS points_seen (id TEXT PRIMARY KEY);
";

#[durable_object]
pub struct Reports {
    state: State,
}

impl DurableObject for Reports {
    fn new(state: State, _env: Env) -> Self {
        Reports { state }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        serve(req, |command: ReportsCommand| async move {
            match command {
                ReportsCommand::Accept(c) => answer(c, |c| async { self.accept(c) }).await,
                ReportsCommand::Sales(c) => answer(c, |c| async { self.sales(c) }).await,
                ReportsCommand::BestSellers(c) => {
                    answer(c, |c| async { self.best_sellers(c) }).await
                }
                ReportsCommand::Points(c) => answer(c, |c| async { self.points(c) }).await,
            }
        })
        .await
    }
}

/// A currency's code as stored.
fn code(c: &Option<Currency>) -> SqlStorageValue {
    c.as_ref().map(|c| c.as_str().to_string()).into()
}

impl Reports {
    fn tables(&self) -> Result<Tables, String> {
        Tables::open(&self.state.storage(), SCHEMA)
    }

    /// Takes the events in, all in one synchronous block (one commit).
    fn accept(&self, protocol::Accept { events }: protocol::Accept) -> Handled<protocol::Accept> {
        let tables = self.tables()?;
        let mut taken = Taken {
            orders: 0,
            points: 0,
        };
        for event in &events {
            match &event.body {
                EventBody::OrderCreated(o)
                | EventBody::OrderPaid(o)
                | EventBody::OrderFulfilled(o)
                | EventBody::OrderCancelled(o)
                | EventBody::OrderRefunded(o) => {
                    let kept: Option<Contribution> = tables.document(
                        "an order's contribution",
                        "SELECT json FROM orders WHERE id = ?",
                        vec![o.id.as_str().into()],
                    )?;
                    let Some(u) = update(kept.as_ref(), o) else {
                        continue;
                    };
                    for c in &u.sales {
                        add_sales(&tables, c.hour_ms, c.currency, c.by)?;
                    }
                    for c in &u.skus {
                        add_best_seller(&tables, c)?;
                    }
                    tables.exec(
                        "keeping an order's contribution",
                        "INSERT OR REPLACE INTO orders (id, version, json) VALUES (?, ?, ?)",
                        vec![
                            o.id.as_str().into(),
                            i64::from(u.contribution.version).into(),
                            json(&u.contribution)?.into(),
                        ],
                    )?;
                    taken.orders += 1;
                }
                EventBody::PointsChanged(news) => {
                    if !self.first_sight(&tables, event)? {
                        continue;
                    }
                    let f = points_figures(&news.reason, news.points);
                    if !f.is_zero() {
                        add_points(&tables, hour_of(event.occurred_at_ms), f)?;
                    }
                    taken.points += 1;
                }
                _ => {}
            }
        }
        Ok(Ok(taken))
    }

    /// Records a points event's id: false when it was seen before.
    fn first_sight(&self, tables: &Tables, event: &Event) -> Result<bool, String> {
        #[derive(Deserialize)]
        struct Seen {
            #[allow(dead_code)]
            id: String,
        }
        let seen: Vec<Seen> = tables.rows(
            "points events seen",
            "SELECT id FROM points_seen WHERE id = ?",
            vec![event.id.as_str().into()],
        )?;
        if !seen.is_empty() {
            return Ok(false);
        }
        tables.exec(
            "recording a points event",
            "INSERT INTO points_seen (id) VALUES (?)",
            vec![event.id.as_str().into()],
        )?;
        Ok(true)
    }

    fn sales(&self, c: protocol::Sales) -> Handled<protocol::Sales> {
        #[derive(Deserialize)]
        struct Row {
            hour_ms: f64,
            currency: String,
            orders: f64,
            revenue: f64,
            items: f64,
            refunds: f64,
            refunded: f64,
            points_redeemed: f64,
        }
        let rows: Vec<Row> = self.tables()?.rows(
            "reading sales",
            "SELECT hour_ms, currency, orders, revenue, items, refunds, refunded, points_redeemed FROM sales WHERE hour_ms >= ? AND hour_ms < ? AND (?3 IS NULL OR currency = ?3) ORDER BY hour_ms, currency",
            vec![c.from_ms.into(), c.to_ms.into(), code(&c.currency)],
        )?;
        let rows = rows
            .into_iter()
            .filter_map(|r| {
                Some(SalesRow {
                    hour_ms: r.hour_ms as i64,
                    currency: Currency::parse(&r.currency).ok()?,
                    figures: SalesFigures {
                        orders: r.orders as i64,
                        revenue: r.revenue as i64,
                        items: r.items as i64,
                        refunds: r.refunds as i64,
                        refunded: r.refunded as i64,
                        points_redeemed: r.points_redeemed as i64,
                    },
                })
            })
            .collect();
        Ok(Ok(SalesRows { rows }))
    }

    fn best_sellers(&self, c: protocol::BestSellers) -> Handled<protocol::BestSellers> {
        #[derive(Deserialize)]
        struct Row {
            sku: String,
            currency: String,
            units: f64,
            revenue: f64,
        }
        let rows: Vec<Row> = self.tables()?.rows(
            "reading best sellers",
            "SELECT sku, currency, SUM(units) AS units, SUM(revenue) AS revenue FROM best_sellers WHERE day_ms >= ? AND day_ms < ? AND (?3 IS NULL OR currency = ?3) GROUP BY currency, sku HAVING SUM(units) > 0 ORDER BY units DESC, revenue DESC, sku, currency LIMIT ?4",
            vec![
                c.from_ms.into(),
                c.to_ms.into(),
                code(&c.currency),
                i64::from(c.limit).into(),
            ],
        )?;
        let items = rows
            .into_iter()
            .filter_map(|r| {
                Some(BestSeller {
                    sku: r.sku,
                    currency: Currency::parse(&r.currency).ok()?,
                    units: r.units as i64,
                    revenue: r.revenue as i64,
                })
            })
            .collect();
        Ok(Ok(BestSellerRows { items }))
    }

    fn points(&self, c: protocol::Points) -> Handled<protocol::Points> {
        #[derive(Deserialize)]
        struct Row {
            hour_ms: f64,
            issued: f64,
            redeemed: f64,
            expired: f64,
        }
        let rows: Vec<Row> = self.tables()?.rows(
            "reading points",
            "SELECT hour_ms, issued, redeemed, expired FROM points WHERE hour_ms >= ? AND hour_ms < ? ORDER BY hour_ms",
            vec![c.from_ms.into(), c.to_ms.into()],
        )?;
        let rows = rows
            .into_iter()
            .map(|r| PointsRow {
                hour_ms: r.hour_ms as i64,
                figures: PointsFigures {
                    issued: r.issued as i64,
                    redeemed: r.redeemed as i64,
                    expired: r.expired as i64,
                },
            })
            .collect();
        Ok(Ok(PointsRows { rows }))
    }
}

fn add_sales(
    tables: &Tables,
    hour_ms: i64,
    currency: Currency,
    by: SalesFigures,
) -> Result<(), String> {
    tables.exec(
        "adding to sales",
        "INSERT INTO sales (hour_ms, currency, orders, revenue, items, refunds, refunded, points_redeemed) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hour_ms, currency) DO UPDATE SET orders = orders + excluded.orders, revenue = revenue + excluded.revenue, items = items + excluded.items, refunds = refunds + excluded.refunds, refunded = refunded + excluded.refunded, points_redeemed = points_redeemed + excluded.points_redeemed",
        vec![
            hour_ms.into(),
            currency.as_str().into(),
            by.orders.into(),
            by.revenue.into(),
            by.items.into(),
            by.refunds.into(),
            by.refunded.into(),
            by.points_redeemed.into(),
        ],
    )
}

fn add_best_seller(tables: &Tables, c: &edgecart_domain::reports::SkuChange) -> Result<(), String> {
    let key = || -> Vec<SqlStorageValue> {
        vec![
            c.day_ms.into(),
            c.currency.as_str().into(),
            c.sku.as_str().into(),
        ]
    };
    let mut bindings = key();
    bindings.extend([c.units.into(), c.revenue.into()]);
    tables.exec(
        "adding to best sellers",
        "INSERT INTO best_sellers (day_ms, currency, sku, units, revenue) VALUES (?, ?, ?, ?, ?) ON CONFLICT (day_ms, currency, sku) DO UPDATE SET units = units + excluded.units, revenue = revenue + excluded.revenue",
        bindings,
    )?;
    // A row back to nothing goes (a refund took its sales out).
    tables.exec(
        "dropping an empty best-seller row",
        "DELETE FROM best_sellers WHERE day_ms = ? AND currency = ? AND sku = ? AND units = 0 AND revenue = 0",
        key(),
    )
}

fn add_points(tables: &Tables, hour_ms: i64, f: PointsFigures) -> Result<(), String> {
    tables.exec(
        "adding to points",
        "INSERT INTO points (hour_ms, issued, redeemed, expired) VALUES (?, ?, ?, ?) ON CONFLICT (hour_ms) DO UPDATE SET issued = issued + excluded.issued, redeemed = redeemed + excluded.redeemed, expired = expired + excluded.expired",
        vec![hour_ms.into(), f.issued.into(), f.redeemed.into(), f.expired.into()],
    )
}
