use super::*;
use crate::order::OrderEvent;

const T0: i64 = 1_795_262_400_000; // 2026-11-20T12:00:00Z

fn order(id: &str, points_spent: i64) -> Order {
    let points = if points_spent > 0 {
        format!(
            r#", "points": {{"member": "m-1", "unit": "points", "spent": {points_spent}, "value": {points_spent}, "earned": 0}}"#
        )
    } else {
        String::new()
    };
    let json = format!(
        r#"{{"schema": 1, "id": "{id}", "cart_id": "crt_1", "currency": "USD",
        "prices_include_tax": false,
        "lines": [
          {{"sku": "KTL-1", "quantity": 2, "unit_price": 2500, "discount": 500, "tax": 0, "line_total": 4500}},
          {{"sku": "MUG-2", "quantity": 1, "unit_price": 1000, "discount": 0, "tax": 0, "line_total": 1000}}
        ],
        "totals": {{"subtotal": 6000, "discount_total": 500, "shipping": 499, "tax_total": 0, "grand_total": 5999}},
        "email": "ada@example.com",
        "shipping_address": {{"name": "Ada", "line1": "1 Main", "city": "SF", "postal_code": "94105", "country": "US"}},
        "shipping_method": "standard",
        "payment": {{"provider": "test", "reference": "pi_1"}}{points},
        "status": "pending_payment",
        "history": [{{"at_ms": {T0}, "status": "pending_payment"}}],
        "created_at_ms": {T0}}}"#
    );
    serde_json::from_str(&json).expect("an order")
}

fn moved(mut o: Order, events: &[OrderEvent]) -> Order {
    for (i, e) in events.iter().enumerate() {
        o.apply(*e, T0 + 1_000 * (i as i64 + 1)).expect("legal");
    }
    o
}

/// The figures an in-memory keeper ends with after taking `events` in,
/// in that order, as the reports object does with its rows.
#[derive(Default)]
struct Keeper {
    kept: BTreeMap<String, Contribution>,
    sales: BTreeMap<(i64, Currency), SalesFigures>,
    skus: BTreeMap<(i64, Currency, String), (i64, i64)>,
}

impl Keeper {
    fn take(&mut self, order: &Order) -> bool {
        let Some(u) = update(self.kept.get(&order.id), order) else {
            return false;
        };
        for c in u.sales {
            let row = self.sales.entry((c.hour_ms, c.currency)).or_default();
            *row = row.plus(c.by);
        }
        for c in u.skus {
            let row = self.skus.entry((c.day_ms, c.currency, c.sku)).or_default();
            row.0 += c.units;
            row.1 += c.revenue;
        }
        self.kept.insert(order.id.clone(), u.contribution);
        true
    }

    fn total(&self) -> SalesFigures {
        self.sales
            .values()
            .fold(SalesFigures::default(), |a, b| a.plus(*b))
    }

    fn units(&self, sku: &str) -> i64 {
        self.skus
            .iter()
            .filter(|((_, _, s), _)| s == sku)
            .map(|(_, (u, _))| u)
            .sum()
    }
}

#[test]
fn an_unpaid_order_counts_nowhere() {
    let placed = order("ord_1", 0);
    let c = contribution(&placed);
    assert!(c.sales.is_zero());
    assert!(c.skus.is_empty());
    let cancelled = moved(placed, &[OrderEvent::Cancel]);
    let mut k = Keeper::default();
    assert!(k.take(&cancelled));
    assert!(k.total().is_zero());
    assert_eq!(k.units("KTL-1"), 0);
}

#[test]
fn a_paid_order_counts_in_the_hour_it_was_placed() {
    let paid = moved(order("ord_1", 0), &[OrderEvent::PaymentCaptured]);
    let c = contribution(&paid);
    assert_eq!(c.hour_ms, hour_of(T0));
    assert_eq!(c.version, 2);
    assert_eq!(
        c.sales,
        SalesFigures {
            orders: 1,
            revenue: 5999,
            items: 3,
            ..SalesFigures::default()
        }
    );
    assert_eq!(c.skus.len(), 2);
    assert_eq!((c.skus[0].units, c.skus[0].revenue), (2, 4500));
}

#[test]
fn duplicates_and_late_events_change_nothing() {
    let placed = order("ord_1", 0);
    let paid = moved(placed.clone(), &[OrderEvent::PaymentCaptured]);
    let fulfilled = moved(paid.clone(), &[OrderEvent::Fulfil]);
    // In order, with each event twice.
    let mut a = Keeper::default();
    for o in [&placed, &placed, &paid, &paid, &fulfilled, &fulfilled] {
        a.take(o);
    }
    // Reordered: the newest first, the older ones late.
    let mut b = Keeper::default();
    assert!(b.take(&fulfilled));
    assert!(!b.take(&placed));
    assert!(!b.take(&paid));
    assert_eq!(a.total(), b.total());
    assert_eq!(a.sales, b.sales);
    assert_eq!(a.skus, b.skus);
    assert_eq!(a.total().orders, 1);
    assert_eq!(a.units("KTL-1"), 2);
}

#[test]
fn a_refund_counts_as_a_paid_order_paid_back_and_leaves_the_best_sellers() {
    let paid = moved(order("ord_1", 0), &[OrderEvent::PaymentCaptured]);
    let refunded = moved(paid.clone(), &[OrderEvent::Fulfil, OrderEvent::Refund]);
    let mut k = Keeper::default();
    k.take(&paid);
    assert_eq!(k.units("KTL-1"), 2);
    k.take(&refunded);
    assert_eq!(
        k.total(),
        SalesFigures {
            orders: 1,
            revenue: 5999,
            items: 3,
            refunds: 1,
            refunded: 5999,
            points_redeemed: 0,
        }
    );
    assert_eq!(k.units("KTL-1"), 0);
    assert!(k.skus.values().all(|(u, r)| *u == 0 && *r == 0));
    // The same end state taken in at once.
    let mut once = Keeper::default();
    once.take(&refunded);
    assert_eq!(once.total(), k.total());
    // Cancelled after payment: paid back too.
    let cancelled = moved(paid, &[OrderEvent::Cancel]);
    let c = contribution(&cancelled);
    assert_eq!((c.sales.refunds, c.sales.refunded), (1, 5999));
    assert!(c.skus.is_empty());
}

#[test]
fn points_orders_count_their_points_and_their_whole_total() {
    let paid = moved(order("ord_1", 2000), &[OrderEvent::PaymentCaptured]);
    let c = contribution(&paid);
    assert_eq!(c.sales.points_redeemed, 2000);
    assert_eq!(c.sales.revenue, 5999);
    let unpaid = order("ord_2", 2000);
    assert_eq!(contribution(&unpaid).sales.points_redeemed, 0);
}

#[test]
fn many_orders_sum_exactly() {
    let mut k = Keeper::default();
    let mut want = SalesFigures::default();
    for i in 0..20 {
        let mut o = order(&format!("ord_{i}"), 0);
        o.history[0].at_ms += i * HOUR_MS / 2;
        o.created_at_ms = o.history[0].at_ms;
        let o = match i % 4 {
            0 => o,
            1 => moved(o, &[OrderEvent::PaymentCaptured]),
            2 => moved(o, &[OrderEvent::PaymentCaptured, OrderEvent::Refund]),
            _ => moved(o, &[OrderEvent::Cancel]),
        };
        want = want.plus(contribution(&o).sales);
        k.take(&o);
        k.take(&o);
    }
    assert_eq!(k.total(), want);
    assert_eq!(want.orders, 10);
    assert_eq!(want.refunds, 5);
    let rows: Vec<_> = k.sales.iter().map(|((h, c), f)| (*h, *c, *f)).collect();
    let (days, totals) = sales_report(&rows, Granularity::Day);
    let (hours, _) = sales_report(&rows, Granularity::Hour);
    assert_eq!(totals.len(), 1);
    assert_eq!(totals[0].1, want);
    assert!(days.len() < hours.len());
    let sum = |b: &[SalesBucket]| {
        b.iter()
            .fold(SalesFigures::default(), |a, x| a.plus(x.figures))
    };
    assert_eq!(sum(&days), want);
    assert_eq!(sum(&hours), want);
}

#[test]
fn averages_round_half_up() {
    let f = |orders, revenue| SalesFigures {
        orders,
        revenue,
        ..SalesFigures::default()
    };
    assert_eq!(f(0, 0).average_order_value(), 0);
    assert_eq!(f(2, 5).average_order_value(), 3);
    assert_eq!(f(3, 12345).average_order_value(), 4115);
    assert_eq!(f(3, 10).average_order_value(), 3);
}

#[test]
fn points_reasons_sort_into_issued_redeemed_and_expired() {
    let changes = [
        ("grant", 500),
        ("earn", 40),
        ("adjust", 10),
        ("adjust", -5),
        ("spend", -300),
        ("restore", 100),
        ("revoke", -40),
        ("expire", -20),
        ("repay", 0),
        ("something new", 7),
    ];
    let total = changes.iter().fold(PointsFigures::default(), |a, (r, p)| {
        a.plus(points_figures(r, *p))
    });
    assert_eq!(
        total,
        PointsFigures {
            issued: 505,
            redeemed: 200,
            expired: 20
        }
    );
    // Issued less redeemed less expired is what the ledgers changed by
    // (every known reason).
    let known: i64 = changes
        .iter()
        .filter(|(r, _)| *r != "something new")
        .map(|(_, p)| p)
        .sum();
    assert_eq!(total.issued - total.redeemed - total.expired, known);
}

#[test]
fn ranges_default_to_thirty_days_and_refuse_bad_dates() {
    let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
    let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let r = range(None, None, Granularity::Day, today).unwrap();
    assert_eq!((r.from, r.to), (d("2026-11-07"), today));
    assert_eq!(r.days(), 30);
    assert_eq!(r.to_ms() - r.from_ms(), 30 * DAY_MS);
    let r = range(
        Some("2026-12-01"),
        Some("2026-12-01"),
        Granularity::Hour,
        today,
    )
    .unwrap();
    assert_eq!(r.days(), 1);
    assert_eq!(
        range(
            Some("2026-12-02"),
            Some("2026-12-01"),
            Granularity::Day,
            today
        ),
        Err(RangeError::Reversed)
    );
    for bad in [
        "2026-1-01",
        "2026-02-30",
        "yesterday",
        "2026-12-01T00:00:00Z",
        "+026-12-01",
    ] {
        assert_eq!(
            range(Some(bad), None, Granularity::Day, today),
            Err(RangeError::NotADate { from: true }),
            "{bad}"
        );
    }
    assert_eq!(
        range(
            Some("2025-01-01"),
            Some("2026-12-01"),
            Granularity::Day,
            today
        ),
        Err(RangeError::TooLong { max_days: 366 })
    );
    assert_eq!(
        range(
            Some("2026-10-01"),
            Some("2026-12-01"),
            Granularity::Hour,
            today
        ),
        Err(RangeError::TooLong { max_days: 31 })
    );
    assert!(range(
        Some("2025-12-06"),
        Some("2026-12-06"),
        Granularity::Day,
        today
    )
    .is_ok());
}

#[test]
fn skus_tell_the_low_stock_list_when_they_cross_the_mark_either_way() {
    let reports = |levels: &[i64]| {
        let mut told = None;
        let mut n = 0;
        for u in levels {
            let now = low_stock(*u, 5);
            if now != told {
                told = now;
                n += 1;
            }
        }
        (n, told)
    };
    // Selling down from 100 to 6: nothing to tell.
    assert_eq!(reports(&[100, 50, 7, 6]), (0, None));
    // Down to the mark and below, then replenished: enters, follows, leaves.
    assert_eq!(reports(&[6, 5, 4, 4, 0]), (3, Some(0)));
    assert_eq!(reports(&[6, 3, 40]), (2, None));
    assert_eq!(low_stock(5, 5), Some(5));
    assert_eq!(low_stock(6, 5), None);
}
