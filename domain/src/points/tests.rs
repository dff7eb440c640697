use super::*;
use proptest::prelude::*;

const DAY: i64 = DAY_MS;
const T0: i64 = 1_800_000_000_000;

fn gbp() -> Currency {
    Currency::parse("GBP").unwrap()
}

fn programme() -> Programme {
    Programme {
        unit: "points".into(),
        earn_per_unit: 10,
        category_multipliers: BTreeMap::from([("audio".into(), 20_000)]),
        points_per_minor: BTreeMap::from([(gbp(), 1)]),
        pending_days: 14,
        expiry_days: Some(365),
        member_key: None,
    }
}

fn origin<'a>(key: &'a str) -> Origin<'a> {
    Origin {
        key,
        actor: "ops",
        reason: "welcome",
        order: None,
    }
}

/// A ledger with the history its operations answered.
#[derive(Default)]
struct Book {
    l: Ledger,
    rows: Vec<Row>,
}

impl Book {
    fn grant(
        &mut self,
        p: &Programme,
        amount: i64,
        expires: Option<i64>,
        o: &Origin,
        now: i64,
    ) -> Result<(), PointsRefusal> {
        self.rows.extend(self.l.grant(p, amount, expires, o, now)?);
        Ok(())
    }
    fn adjust(
        &mut self,
        p: &Programme,
        delta: i64,
        o: &Origin,
        now: i64,
    ) -> Result<(), PointsRefusal> {
        self.rows.extend(self.l.adjust(p, delta, o, now)?);
        Ok(())
    }
    fn hold(
        &mut self,
        order: &str,
        amount: i64,
        until: i64,
        now: i64,
    ) -> Result<Hold, PointsRefusal> {
        self.l.hold(order, amount, until, now).cloned()
    }
    fn commit(&mut self, order: &str, now: i64) -> Result<(), PointsRefusal> {
        self.rows.extend(self.l.commit(order, now)?);
        Ok(())
    }
    fn restore(&mut self, order: &str, actor: &str, now: i64) {
        self.rows.extend(self.l.restore(order, actor, now));
    }
    fn earn(&mut self, p: &Programme, order: &str, amount: i64, now: i64) {
        self.rows.extend(self.l.earn(p, order, amount, now));
    }
    fn revoke(&mut self, order: &str, actor: &str, now: i64) {
        self.rows.extend(self.l.revoke(order, actor, now));
    }
    fn expire(&mut self, now: i64) {
        self.rows.extend(self.l.expire(now));
    }
    fn check(&self, now: i64) -> Result<(), String> {
        self.l.check(self.rows.iter().map(|r| r.amount).sum(), now)
    }
}

fn granted(amount: i64) -> Book {
    let mut b = Book::default();
    b.grant(&programme(), amount, None, &origin("g1"), T0)
        .unwrap();
    b
}

#[test]
fn a_programme_converts_exactly_and_earns_on_money_only() {
    let p = programme();
    assert_eq!(p.points_for(gbp(), 1999), Some(1999));
    assert_eq!(p.money_for(gbp(), 500), Some(500));
    let mut ten = p.clone();
    ten.points_per_minor.insert(gbp(), 10);
    assert_eq!(ten.money_for(gbp(), 15), None, "only whole pennies");
    assert_eq!(ten.money_for(gbp(), 20), Some(2));
    assert_eq!(p.points_for(Currency::parse("USD").unwrap(), 100), None);
    // 10 points per pound; audio earns double; rounded down per line.
    assert_eq!(
        p.earned(gbp(), &[("kitchen", 1999), ("audio", 1050)]),
        199 + 210
    );
    assert_eq!(p.earned(gbp(), &[("kitchen", 0)]), 0);
    assert!(p.problems().is_empty());
    let bad = Programme {
        unit: " ".into(),
        points_per_minor: BTreeMap::new(),
        expiry_days: Some(0),
        pending_days: 9_999,
        member_key: Some(crate::member::PublicJwk {
            kty: "EC".into(),
            crv: "P-384".into(),
            x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU".into(),
            y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0".into(),
        }),
        ..p
    };
    let fields: Vec<String> = bad.problems().into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        [
            "unit",
            "points_per_minor",
            "pending_days",
            "expiry_days",
            "member_key"
        ]
    );
}

#[test]
fn grants_are_spendable_at_once_and_refused_when_malformed() {
    let mut l = granted(1000);
    assert_eq!(l.l.lots.len(), 1);
    assert_eq!(l.rows.len(), 1);
    assert_eq!(l.rows[0].kind, RowKind::Grant);
    assert_eq!(l.rows[0].expires_at_ms, Some(T0 + 365 * DAY));
    assert_eq!(l.l.balance(T0).available, 1000);
    assert_eq!(l.l.balance(T0).next_expiry, Some((1000, T0 + 365 * DAY)));
    assert_eq!(
        l.grant(&programme(), 0, None, &origin("g2"), T0),
        Err(PointsRefusal::InvalidAmount)
    );
    let blank = Origin {
        reason: "  ",
        ..origin("g3")
    };
    assert_eq!(
        l.grant(&programme(), 5, None, &blank, T0),
        Err(PointsRefusal::InvalidReason)
    );
    assert_eq!(l.l.lots.len(), 1, "a refused grant changes nothing");
    l.check(T0).unwrap();
}

#[test]
fn spending_takes_the_soonest_expiring_lots_first() {
    let mut p = programme();
    let mut l = Book::default();
    p.expiry_days = Some(100);
    l.grant(&p, 300, None, &origin("late"), T0).unwrap();
    p.expiry_days = Some(10);
    l.grant(&p, 200, None, &origin("soon"), T0).unwrap();
    p.expiry_days = None;
    l.grant(&p, 100, None, &origin("never"), T0).unwrap();
    let hold = l.hold("ord_1", 450, T0 + 60_000, T0).unwrap();
    assert_eq!(hold.parts, vec![(2, 200), (1, 250)]);
    l.commit("ord_1", T0).unwrap();
    l.commit("ord_1", T0).unwrap();
    let b = l.l.balance(T0);
    assert_eq!(b.available, 150);
    assert_eq!(l.l.lots[0].remaining, 50);
    assert_eq!(l.l.lots[1].remaining, 0);
    l.check(T0).unwrap();
    // A refund puts them back where they were, with those lots' expiry.
    l.restore("ord_1", "ops", T0 + 1);
    l.restore("ord_1", "ops", T0 + 2);
    assert_eq!(l.l.balance(T0 + 3).available, 600);
    assert_eq!(l.l.lots[1].remaining, 200);
    l.check(T0 + 3).unwrap();
}

#[test]
fn a_grant_may_name_its_own_expiry_and_spending_takes_it_first() {
    let p = programme();
    let mut l = Book::default();
    l.grant(&p, 100, None, &origin("year"), T0).unwrap();
    assert_eq!(
        l.grant(&p, 50, Some(T0), &origin("past"), T0),
        Err(PointsRefusal::InvalidExpiry)
    );
    assert_eq!(
        l.grant(&p, 50, Some(T0 + 3_651 * DAY), &origin("far"), T0),
        Err(PointsRefusal::InvalidExpiry)
    );
    l.grant(&p, 50, Some(T0 + 2_000), &origin("brief"), T0)
        .unwrap();
    assert_eq!(l.l.next_deadline(T0), Some(T0 + 2_000));
    assert_eq!(l.l.balance(T0).next_expiry, Some((50, T0 + 2_000)));
    let hold = l.hold("ord_1", 20, T0 + 60_000, T0).unwrap();
    assert_eq!(hold.parts, vec![(2, 20)], "the soonest-expiring lot first");
    l.expire(T0 + 2_000);
    assert_eq!(l.l.lots[1].remaining, 20, "what is held does not expire");
    assert_eq!(l.l.balance(T0 + 2_000).available, 100);
    l.check(T0 + 2_000).unwrap();
}

#[test]
fn a_hold_past_its_deadline_holds_nothing_even_before_it_is_dropped() {
    let mut l = granted(500);
    l.hold("ord_1", 200, T0 + 1_000, T0).unwrap();
    assert_eq!(l.l.balance(T0).held, 200);
    assert_eq!(l.l.balance(T0).available, 300);
    let late = l.l.balance(T0 + 1_000);
    assert_eq!((late.held, late.available), (0, 500));
    l.l.lapse_holds(T0 + 1_000);
    assert_eq!(l.l.balance(T0 + 1_000), late);
}

#[test]
fn holds_set_points_aside_and_never_overspend() {
    let mut l = granted(10_000);
    let mut placed = 0;
    for i in 0..200 {
        if l.hold(&format!("ord_{i}"), 100, T0 + 60_000, T0).is_ok() {
            placed += 1;
        }
    }
    assert_eq!(placed, 100);
    assert_eq!(
        l.hold("ord_x", 1, T0 + 60_000, T0),
        Err(PointsRefusal::InsufficientPoints { available: 0 })
    );
    for i in 0..100 {
        l.commit(&format!("ord_{i}"), T0).unwrap();
    }
    assert_eq!(l.l.balance(T0).available, 0);
    assert_eq!(l.commit("ord_150", T0), Err(PointsRefusal::NoSuchOrder));
    l.check(T0).unwrap();
}

#[test]
fn released_or_lapsed_holds_give_the_points_back() {
    let mut l = granted(500);
    l.hold("ord_1", 300, T0 + 1_000, T0).unwrap();
    assert_eq!(l.l.balance(T0).available, 200);
    // The same order again answers the hold it has.
    assert_eq!(l.hold("ord_1", 999, T0 + 5_000, T0).unwrap().amount, 300);
    l.l.release("ord_1");
    assert_eq!(l.l.balance(T0).available, 500);
    l.hold("ord_2", 500, T0 + 1_000, T0).unwrap();
    l.l.lapse_holds(T0 + 1_000);
    assert_eq!(l.l.balance(T0 + 1_000).available, 500);
    assert_eq!(l.l.next_deadline(T0), Some(T0 + 365 * DAY));
    l.check(T0).unwrap();
}

#[test]
fn earned_points_wait_out_the_return_window_and_a_refund_takes_them_back() {
    let p = programme();
    let mut l = granted(1000);
    for round in 0..20 {
        let order = format!("ord_{round}");
        let now = T0 + round * 1_000;
        l.hold(&order, 100, now + 60_000, now).unwrap();
        l.commit(&order, now).unwrap();
        l.earn(&p, &order, 50, now);
        l.earn(&p, &order, 50, now);
        let b = l.l.balance(now);
        assert_eq!((b.available, b.pending), (900, 50));
        l.restore(&order, "ops", now);
        l.revoke(&order, "ops", now);
        l.revoke(&order, "ops", now);
        let b = l.l.balance(now);
        assert_eq!(
            (b.available, b.pending, b.debt),
            (1000, 0, 0),
            "round {round}"
        );
        l.check(now).unwrap();
    }
    // After the window, earned points are spendable; a refund still takes
    // them back, and what was spent of them becomes debt.
    l.hold("ord_a", 100, T0 + 60_000, T0).unwrap();
    l.commit("ord_a", T0).unwrap();
    l.earn(&p, "ord_a", 50, T0);
    let later = T0 + 15 * DAY;
    assert_eq!(l.l.balance(later).available, 950);
    l.hold("ord_b", 950, later + 60_000, later).unwrap();
    l.commit("ord_b", later).unwrap();
    assert_eq!(l.l.balance(later).available, 0);
    l.restore("ord_a", "ops", later);
    l.revoke("ord_a", "ops", later);
    let b = l.l.balance(later);
    assert_eq!((b.available, b.debt), (100 - 50, 50), "{b:?}");
    l.check(later).unwrap();
    // The next points pay the debt first.
    l.grant(&p, 80, None, &origin("g-after"), later).unwrap();
    let b = l.l.balance(later);
    assert_eq!((b.available, b.debt), (130, 0));
    l.check(later).unwrap();
}

#[test]
fn lots_expire_but_not_what_a_hold_set_aside() {
    let mut p = programme();
    p.expiry_days = Some(1);
    let mut l = Book::default();
    l.grant(&p, 300, None, &origin("g"), T0).unwrap();
    l.hold("ord_1", 100, T0 + 2 * DAY, T0).unwrap();
    assert_eq!(l.l.next_deadline(T0), Some(T0 + DAY));
    l.expire(T0 + DAY);
    assert_eq!(l.l.lots[0].remaining, 100);
    assert_eq!(l.rows.last().unwrap().kind, RowKind::Expire);
    assert_eq!(l.rows.last().unwrap().amount, -200);
    l.commit("ord_1", T0 + DAY).unwrap();
    assert_eq!(l.l.balance(T0 + DAY).available, 0);
    l.check(T0 + DAY).unwrap();
    // Restored into an expired lot, the points expire on the next pass.
    l.restore("ord_1", "ops", T0 + DAY);
    l.expire(T0 + DAY + 1);
    assert_eq!(l.l.lots[0].remaining, 0);
    l.check(T0 + DAY + 1).unwrap();
}

#[test]
fn adjustments_go_both_ways_but_never_below_zero() {
    let p = programme();
    let mut l = granted(100);
    l.adjust(&p, -40, &origin("a1"), T0).unwrap();
    l.adjust(&p, 15, &origin("a2"), T0).unwrap();
    assert_eq!(l.l.balance(T0).available, 75);
    assert_eq!(
        l.adjust(&p, -76, &origin("a3"), T0),
        Err(PointsRefusal::InsufficientPoints { available: 75 })
    );
    l.check(T0).unwrap();
}

#[derive(Debug, Clone)]
enum Op {
    Grant(i64),
    Adjust(i64),
    Hold(u8, i64),
    Release(u8),
    Commit(u8),
    Earn(u8, i64),
    Restore(u8),
    Revoke(u8),
    Tick(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1i64..500).prop_map(Op::Grant),
        (-300i64..300).prop_map(Op::Adjust),
        (0u8..8, 1i64..400).prop_map(|(o, a)| Op::Hold(o, a)),
        (0u8..8).prop_map(Op::Release),
        (0u8..8).prop_map(Op::Commit),
        (0u8..8, 1i64..200).prop_map(|(o, a)| Op::Earn(o, a)),
        (0u8..8).prop_map(Op::Restore),
        (0u8..8).prop_map(Op::Revoke),
        (0i64..40 * DAY).prop_map(Op::Tick),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever happens, in whatever order: the rows sum to the lots less
    /// the debt, no lot goes below zero or above what it received, holds
    /// add up, and the balance is negative only through debt.
    #[test]
    fn the_ledger_always_adds_up(ops in prop::collection::vec(op(), 1..80)) {
        let mut p = programme();
        p.pending_days = 3;
        p.expiry_days = Some(20);
        let mut l = Book::default();
        let mut now = T0;
        for (i, op) in ops.into_iter().enumerate() {
            let key = format!("k{i}");
            let order = |o: u8| format!("ord_{o}");
            match op {
                Op::Grant(a) => { let _ = l.grant(&p, a, None, &origin(&key), now); }
                Op::Adjust(a) => { let _ = l.adjust(&p, a, &origin(&key), now); }
                Op::Hold(o, a) => {
                    let before = l.l.balance(now).available;
                    match l.hold(&order(o), a, now + 60_000, now) {
                        Ok(_) => prop_assert!(l.l.balance(now).available >= 0 || l.l.debt > 0),
                        Err(PointsRefusal::InsufficientPoints { .. }) => prop_assert!(a > before),
                        Err(_) => {}
                    }
                }
                Op::Release(o) => l.l.release(&order(o)),
                Op::Commit(o) => { let _ = l.commit(&order(o), now); }
                Op::Earn(o, a) => l.earn(&p, &order(o), a, now),
                Op::Restore(o) => l.restore(&order(o), "ops", now),
                Op::Revoke(o) => l.revoke(&order(o), "ops", now),
                Op::Tick(d) => {
                    now += d;
                    l.l.lapse_holds(now);
                    l.expire(now);
                }
            }
            if let Err(e) = l.check(now) {
                prop_assert!(false, "after step {i}: {e}");
            }
        }
    }
}

#[test]
fn the_documented_currencies_are_the_known_ones() {
    // `points_per_minor`'s schema lists them: a schema-valid code must parse.
    let documented = ["AUD", "CAD", "CHF", "EUR", "GBP", "JPY", "USD"];
    let known: Vec<String> = Currency::known().map(|c| c.as_str().to_string()).collect();
    assert_eq!(known, documented);
}
