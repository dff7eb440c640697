//! A store's reports over the admin API (`/admin/v1/reports/…`): sales per
//! day or hour, best sellers and points issued and redeemed, read from the
//! store's reports object (`Reports`, kept from the store's events: a
//! report reads the rows of its range, never the orders), and the shared
//! low-stock list, read from the availability publisher (kept from the SKU
//! objects' reports of crossing the low mark).
//!
//! What this module must not do: work out what an order or a points
//! change counts for (the domain's `reports` rules, applied by the
//! object), or read every order or every SKU.

use crate::app::ApiRequest;
use crate::catalog_api::Params;
use crate::config::Config;
use crate::http::{ApiError, ApiResponse, Result};
use crate::objects::ask;
use crate::routes::Handler as H;
use edgecart_domain::money::Currency;
use edgecart_domain::reports::{
    points_report, range, sales_report, Granularity, Range, RangeError,
};
use edgecart_durable_objects::protocol::availability::{self, LowStock};
use edgecart_durable_objects::protocol::reports::{self, name};
use serde::Serialize;
use worker::Env;

/// Query parameters of `GET /admin/v1/reports/sales`.
pub const SALES_PARAMS: &[&str] = &["from", "to", "granularity", "currency"];
/// Query parameters of `GET /admin/v1/reports/best-sellers`.
pub const BEST_SELLER_PARAMS: &[&str] = &["from", "to", "currency", "limit"];
/// Query parameters of `GET /admin/v1/reports/points`.
pub const POINTS_PARAMS: &[&str] = &["from", "to", "granularity"];
/// Query parameters of `GET /admin/v1/reports/low-stock`.
pub const LOW_STOCK_PARAMS: &[&str] = &["limit"];
/// Most best sellers one answer lists.
const BEST_SELLERS_MAX: u32 = 100;
/// Most low-stock SKUs one answer lists.
const LOW_STOCK_MAX: u32 = 500;

/// One bucket of sales: the orders placed in it that were paid.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "SalesBucket", extend("examples" = [{"start": "2026-12-06T00:00:00Z", "currency": "USD", "orders": 3, "revenue": 12345, "items": 7, "refunds": 1, "refunded": 2500, "points_redeemed": 0}])))]
pub struct SalesBucketView {
    /// The bucket's first instant (UTC): midnight for a day, the hour's start.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    start: String,
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::CurrencyCode")
    )]
    currency: Currency,
    #[serde(flatten)]
    figures: Figures,
}

/// The sales figures of a bucket or a total.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Figures {
    /// Orders placed in the bucket that were paid (refunded ones included).
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    orders: i64,
    /// Their grand totals (the part paid in points included), in minor units.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    revenue: i64,
    /// Their units.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    items: i64,
    /// Those paid back since: refunded, or cancelled after payment.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    refunds: i64,
    /// What was paid back (their grand totals), in minor units.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    refunded: i64,
    /// Points the orders spent.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    points_redeemed: i64,
}

impl From<edgecart_domain::reports::SalesFigures> for Figures {
    fn from(f: edgecart_domain::reports::SalesFigures) -> Self {
        Figures {
            orders: f.orders,
            revenue: f.revenue,
            items: f.items,
            refunds: f.refunds,
            refunded: f.refunded,
            points_redeemed: f.points_redeemed,
        }
    }
}

/// A currency's sales over the whole range.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "SalesTotal", extend("examples" = [{"currency": "USD", "orders": 3, "revenue": 12345, "items": 7, "refunds": 1, "refunded": 2500, "points_redeemed": 0, "average_order_value": 4115}])))]
pub struct SalesTotalView {
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::CurrencyCode")
    )]
    currency: Currency,
    #[serde(flatten)]
    figures: Figures,
    /// revenue / orders, rounded half up, in minor units (0 without orders).
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    average_order_value: i64,
}

/// `GET /admin/v1/reports/sales`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct SalesReport {
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["default"])))]
    store: String,
    /// The first day (UTC, inclusive).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date")))]
    from: String,
    /// The last day (UTC, inclusive).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date")))]
    to: String,
    granularity: Granularity,
    /// Always `UTC`: days and hours are UTC's.
    #[cfg_attr(feature = "openapi", schemars(extend("const" = "UTC")))]
    time_zone: &'static str,
    /// The buckets with activity, by start then currency.
    buckets: Vec<SalesBucketView>,
    /// Per currency with activity, by currency.
    totals: Vec<SalesTotalView>,
}

/// One SKU among the best sellers.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"sku": "KTL-1-STEEL", "title": "Stovetop Kettle", "currency": "USD", "units": 12, "revenue": 28950}])))]
pub struct BestSeller {
    #[cfg_attr(feature = "openapi", schemars(with = "edgecart_domain::openapi::Sku"))]
    sku: String,
    /// The name of the SKU's product in the live catalog; null when the
    /// SKU has left it.
    title: Option<String>,
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::CurrencyCode")
    )]
    currency: Currency,
    /// Units sold in paid orders not paid back.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1), extend("format" = "int64")))]
    units: i64,
    /// Their lines' totals (after discounts, with tax added where prices
    /// exclude it), in minor units.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64")))]
    revenue: i64,
}

/// `GET /admin/v1/reports/best-sellers`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct BestSellerReport {
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["default"])))]
    store: String,
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date")))]
    from: String,
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date")))]
    to: String,
    /// By units, descending, then revenue, descending, then SKU.
    items: Vec<BestSeller>,
}

/// Points figures of a bucket or the whole range.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"issued": 5040, "redeemed": 2000, "expired": 0}])))]
pub struct PointsTotals {
    /// Points members received: grants, earnings and adjustments (either
    /// way), less earnings taken back on cancel or refund.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64")))]
    issued: i64,
    /// Points orders spent, less those restored on cancel or refund.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64")))]
    redeemed: i64,
    /// Points that lapsed.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64")))]
    expired: i64,
}

impl From<edgecart_domain::reports::PointsFigures> for PointsTotals {
    fn from(f: edgecart_domain::reports::PointsFigures) -> Self {
        PointsTotals {
            issued: f.issued,
            redeemed: f.redeemed,
            expired: f.expired,
        }
    }
}

/// One bucket of points.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"start": "2026-12-06T00:00:00Z", "issued": 5040, "redeemed": 2000, "expired": 0}])))]
pub struct PointsBucket {
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    start: String,
    #[serde(flatten)]
    figures: PointsTotals,
}

/// `GET /admin/v1/reports/points`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct PointsReport {
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["default"])))]
    store: String,
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date")))]
    from: String,
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date")))]
    to: String,
    granularity: Granularity,
    #[cfg_attr(feature = "openapi", schemars(extend("const" = "UTC")))]
    time_zone: &'static str,
    /// The buckets with activity, by start.
    buckets: Vec<PointsBucket>,
    totals: PointsTotals,
}

/// `GET /admin/v1/reports/low-stock`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct LowStockReport {
    /// The low mark (`STOCK_LOW_MARK`, 5 by default).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64", "examples" = [5])))]
    low_mark: i64,
    /// By unsold units, ascending, then SKU.
    items: Vec<LowStock>,
}

/// Handles the reports routes.
pub async fn handle(
    request: &ApiRequest<'_>,
    env: &Env,
    config: &Config,
    now_ms: u64,
) -> Result<ApiResponse> {
    let params = &request.query;
    let today = chrono::DateTime::from_timestamp_millis(now_ms as i64)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let mut r = match request.handler {
        H::SalesReport => {
            let granularity = granularity(params)?;
            let range = report_range(params, granularity, today)?;
            let currency = currency(params)?;
            let store = request.store()?.id.clone();
            let rows = ask(
                env,
                &name(&store),
                reports::Sales {
                    from_ms: range.from_ms(),
                    to_ms: range.to_ms(),
                    currency,
                },
            )
            .await?
            .rows;
            let rows: Vec<_> = rows
                .into_iter()
                .map(|r| (r.hour_ms, r.currency, r.figures))
                .collect();
            let (buckets, totals) = sales_report(&rows, granularity);
            ApiResponse::json(&SalesReport {
                store,
                from: range.from.to_string(),
                to: range.to.to_string(),
                granularity,
                time_zone: "UTC",
                buckets: buckets
                    .into_iter()
                    .map(|b| SalesBucketView {
                        start: instant(b.start_ms),
                        currency: b.currency,
                        figures: b.figures.into(),
                    })
                    .collect(),
                totals: totals
                    .into_iter()
                    .map(|(currency, f)| SalesTotalView {
                        currency,
                        average_order_value: f.average_order_value(),
                        figures: f.into(),
                    })
                    .collect(),
            })
        }
        H::BestSellersReport => {
            let limit = crate::admin_api::page_limit(params, 10, BEST_SELLERS_MAX)?;
            let range = report_range(params, Granularity::Day, today)?;
            let currency = currency(params)?;
            let store = request.store()?.id.clone();
            let items = ask(
                env,
                &name(&store),
                reports::BestSellers {
                    from_ms: range.from_ms(),
                    to_ms: range.to_ms(),
                    currency,
                    limit,
                },
            )
            .await?
            .items;
            let titles = titles(env, config, now_ms, items.iter().map(|i| i.sku.as_str())).await;
            ApiResponse::json(&BestSellerReport {
                store,
                from: range.from.to_string(),
                to: range.to.to_string(),
                items: items
                    .into_iter()
                    .zip(titles)
                    .map(|(i, title)| BestSeller {
                        sku: i.sku,
                        title,
                        currency: i.currency,
                        units: i.units,
                        revenue: i.revenue,
                    })
                    .collect(),
            })
        }
        H::PointsReport => {
            let granularity = granularity(params)?;
            let range = report_range(params, granularity, today)?;
            let store = request.store()?.id.clone();
            let rows = ask(
                env,
                &name(&store),
                reports::Points {
                    from_ms: range.from_ms(),
                    to_ms: range.to_ms(),
                },
            )
            .await?
            .rows;
            let rows: Vec<_> = rows.into_iter().map(|r| (r.hour_ms, r.figures)).collect();
            let (buckets, totals) = points_report(&rows, granularity);
            ApiResponse::json(&PointsReport {
                store,
                from: range.from.to_string(),
                to: range.to.to_string(),
                granularity,
                time_zone: "UTC",
                buckets: buckets
                    .into_iter()
                    .map(|(start, f)| PointsBucket {
                        start: instant(start),
                        figures: f.into(),
                    })
                    .collect(),
                totals: totals.into(),
            })
        }
        _ => {
            let limit = crate::admin_api::page_limit(params, 100, LOW_STOCK_MAX)?;
            let list = ask(env, availability::NAME, availability::LowList { limit }).await?;
            ApiResponse::json(&LowStockReport {
                low_mark: list.low_mark,
                items: list.items,
            })
        }
    };
    r.header("Cache-Control", "no-store");
    Ok(r)
}

/// An instant as the reports write it: `2026-12-06T00:00:00Z`.
fn instant(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// `granularity`: `day` (default) or `hour`, else 400 `invalid_granularity`.
fn granularity(params: &Params) -> Result<Granularity> {
    match params.get("granularity") {
        None => Ok(Granularity::Day),
        Some(raw) => Granularity::parse(raw).ok_or_else(|| {
            ApiError::invalid(
                "granularity",
                "invalid_granularity",
                "granularity must be day or hour.",
            )
        }),
    }
}

/// `from` and `to`, else 400 `invalid_date` (not a date) or
/// `invalid_date_range` (reversed, or too long for the granularity).
fn report_range(
    params: &Params,
    granularity: Granularity,
    today: chrono::NaiveDate,
) -> Result<Range> {
    range(params.get("from"), params.get("to"), granularity, today).map_err(|e| match e {
        RangeError::NotADate { from } => {
            let param = if from { "from" } else { "to" };
            ApiError::invalid(
                param,
                "invalid_date",
                format!("{param} must be a date YYYY-MM-DD (UTC)."),
            )
        }
        RangeError::Reversed => {
            ApiError::invalid("from", "invalid_date_range", "from must not be after to.")
        }
        RangeError::TooLong { max_days } => ApiError::invalid(
            "to",
            "invalid_date_range",
            format!(
                "A report by {} covers at most {max_days} days.",
                match granularity {
                    Granularity::Day => "day",
                    Granularity::Hour => "hour",
                }
            ),
        ),
    })
}

/// `currency`: a currency code the shop knows, else 400 `unknown_currency`.
fn currency(params: &Params) -> Result<Option<Currency>> {
    match params.get("currency") {
        None => Ok(None),
        Some(raw) => Currency::parse(raw).map(Some).map_err(|_| {
            ApiError::invalid(
                "currency",
                "unknown_currency",
                "currency must be an ISO 4217 code the shop knows (AUD, CAD, CHF, EUR, GBP, JPY, USD).",
            )
        }),
    }
}

/// The product names of `skus` in the live catalog (`None`: a SKU that
/// left it, or a catalog that cannot be read now: the report does not
/// depend on it).
async fn titles<'a>(
    env: &Env,
    config: &Config,
    now_ms: u64,
    skus: impl Iterator<Item = &'a str>,
) -> Vec<Option<String>> {
    let skus: Vec<&str> = skus.collect();
    let Ok(store) = crate::catalog_store::CatalogStore::from_env(env, config) else {
        return vec![None; skus.len()];
    };
    let mut warnings = Vec::new();
    let Ok(catalog) = store.current(now_ms, &mut warnings).await else {
        return vec![None; skus.len()];
    };
    let mut titles = Vec::with_capacity(skus.len());
    for sku in skus {
        let title = match store.sku_prices(&catalog, sku).await {
            Ok(Some(p)) => catalog.find(&p.product).map(|l| l.name.clone()),
            _ => None,
        };
        titles.push(title);
    }
    titles
}
