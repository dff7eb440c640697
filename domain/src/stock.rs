//! The stock ledger of one SKU: units on hand, live holds (reservations)
//! by cart, and units sold, with the rules that move units between them.
//!
//! Invariant after every operation: available = on_hand − reserved − sold
//! ≥ 0, where reserved counts only live holds. An operation that would break
//! it is refused and changes nothing. Holds carry an expiry; every operation
//! first expires the holds that are due, so availability never counts an
//! expired hold, whether or not the alarm has fired yet.
//!
//! Idempotency: every operation carries an id; [`StockLedger::apply_once`]
//! remembers each id's outcome for [`OP_MEMORY_MS`] and answers a retry with
//! the first outcome without applying anything again.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How long an operation id is remembered (24 h).
pub const OP_MEMORY_MS: i64 = 24 * 3600 * 1000;
/// Largest quantity one hold or one adjustment may move.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// `PUT /admin/v1/inventory/{sku}`: counted stock.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetOnHandInput {
    pub on_hand: i64,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /admin/v1/inventory/{sku}/adjustments`: a change with its reason.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentInput {
    pub delta: i64,
    pub reason: String,
}

/// Longest accepted adjustment reason, in characters.
pub const REASON_MAX: usize = 200;

/// Units one cart holds until `expires_at_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub quantity: i64,
    pub expires_at_ms: i64,
}

/// A change to the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StockOp {
    /// Counted stock: on hand becomes `quantity`.
    SetOnHand { quantity: i64, reason: String },
    /// Received, damaged, returned…: on hand changes by `delta`.
    Adjust { delta: i64, reason: String },
    /// The cart's hold becomes `quantity` (0 releases it), expiring at `expires_at_ms`.
    Hold {
        cart: String,
        quantity: i64,
        expires_at_ms: i64,
    },
    /// The cart's live hold now expires at `expires_at_ms`.
    Extend { cart: String, expires_at_ms: i64 },
    /// The cart's hold is released.
    Release { cart: String },
    /// The cart's live hold of exactly `quantity` units becomes sold.
    Commit { cart: String, quantity: i64 },
    /// Release the holds that are due (what the alarm does).
    Expire,
}

/// Why an operation was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum StockError {
    /// Not enough units: `available` is the most this cart could hold now.
    OutOfStock { available: i64 },
    /// The cart has no live hold (never held, released, committed or expired).
    NoHold,
    /// The committed quantity differs from the hold.
    QuantityMismatch { held: i64 },
    /// On hand would drop below what is reserved and sold.
    BelowCommitted { minimum: i64 },
    /// A quantity is negative, too large, or an expiry is not in the future.
    InvalidQuantity,
}

/// One movement of units, for the history and for persisting what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movement {
    /// `set`, `adjust`, `hold`, `extend`, `release`, `commit` or `expire`.
    pub kind: String,
    pub cart: Option<String>,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub sold_delta: i64,
    pub reason: Option<String>,
}

/// The outcome of an operation, as remembered for its id.
pub type Outcome = Result<Vec<Movement>, StockError>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberedOp {
    pub at_ms: i64,
    pub outcome: Outcome,
}

/// The ledger of one SKU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLedger {
    pub on_hand: i64,
    pub sold: i64,
    /// Holds by cart id.
    pub holds: BTreeMap<String, Hold>,
}

fn movement(
    kind: &str,
    cart: Option<&str>,
    on_hand: i64,
    reserved: i64,
    sold: i64,
    reason: Option<&str>,
) -> Movement {
    Movement {
        kind: kind.into(),
        cart: cart.map(str::to_string),
        on_hand_delta: on_hand,
        reserved_delta: reserved,
        sold_delta: sold,
        reason: reason.map(str::to_string),
    }
}

impl StockLedger {
    /// Units held by live holds.
    pub fn reserved(&self) -> i64 {
        self.holds.values().map(|h| h.quantity).sum()
    }

    /// Units that can still be held: never negative.
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved() - self.sold
    }

    /// Units held by holds still live at `now_ms`.
    pub fn reserved_at(&self, now_ms: i64) -> i64 {
        self.holds
            .values()
            .filter(|h| h.expires_at_ms > now_ms)
            .map(|h| h.quantity)
            .sum()
    }

    /// Units that can be held at `now_ms` (due holds no longer count).
    pub fn available_at(&self, now_ms: i64) -> i64 {
        self.on_hand - self.reserved_at(now_ms) - self.sold
    }

    /// When the next hold expires (for the alarm).
    pub fn next_expiry_ms(&self) -> Option<i64> {
        self.holds.values().map(|h| h.expires_at_ms).min()
    }

    fn expire_due(&mut self, now_ms: i64, out: &mut Vec<Movement>) {
        let due: Vec<String> = self
            .holds
            .iter()
            .filter(|(_, h)| h.expires_at_ms <= now_ms)
            .map(|(c, _)| c.clone())
            .collect();
        for cart in due {
            if let Some(h) = self.holds.remove(&cart) {
                out.push(movement("expire", Some(&cart), 0, -h.quantity, 0, None));
            }
        }
    }

    /// Applies one operation at `now_ms`: all of it, or nothing.
    pub fn apply(&mut self, op: &StockOp, now_ms: i64) -> Outcome {
        let mut next = self.clone();
        let mut moves = Vec::new();
        next.expire_due(now_ms, &mut moves);
        let valid = |q: i64| (0..=MAX_QUANTITY).contains(&q);
        match op {
            StockOp::SetOnHand { quantity, reason } => {
                if !valid(*quantity) {
                    return Err(StockError::InvalidQuantity);
                }
                let minimum = next.reserved() + next.sold;
                if *quantity < minimum {
                    return Err(StockError::BelowCommitted { minimum });
                }
                moves.push(movement(
                    "set",
                    None,
                    quantity - next.on_hand,
                    0,
                    0,
                    Some(reason),
                ));
                next.on_hand = *quantity;
            }
            StockOp::Adjust { delta, reason } => {
                if !valid(delta.abs()) || next.on_hand + delta > MAX_QUANTITY {
                    return Err(StockError::InvalidQuantity);
                }
                let minimum = next.reserved() + next.sold;
                if next.on_hand + delta < minimum {
                    return Err(StockError::BelowCommitted { minimum });
                }
                next.on_hand += delta;
                moves.push(movement("adjust", None, *delta, 0, 0, Some(reason)));
            }
            StockOp::Hold {
                cart,
                quantity,
                expires_at_ms,
            } => {
                if !valid(*quantity) || *expires_at_ms <= now_ms {
                    return Err(StockError::InvalidQuantity);
                }
                let old = next.holds.get(cart).map_or(0, |h| h.quantity);
                let most = next.available() + old;
                if *quantity > most {
                    return Err(StockError::OutOfStock { available: most });
                }
                if *quantity == 0 {
                    if next.holds.remove(cart).is_some() {
                        moves.push(movement("release", Some(cart), 0, -old, 0, None));
                    }
                } else {
                    next.holds.insert(
                        cart.clone(),
                        Hold {
                            quantity: *quantity,
                            expires_at_ms: *expires_at_ms,
                        },
                    );
                    moves.push(movement("hold", Some(cart), 0, quantity - old, 0, None));
                }
            }
            StockOp::Extend {
                cart,
                expires_at_ms,
            } => {
                if *expires_at_ms <= now_ms {
                    return Err(StockError::InvalidQuantity);
                }
                let hold = next.holds.get_mut(cart).ok_or(StockError::NoHold)?;
                hold.expires_at_ms = *expires_at_ms;
                moves.push(movement("extend", Some(cart), 0, 0, 0, None));
            }
            StockOp::Release { cart } => {
                let hold = next.holds.remove(cart).ok_or(StockError::NoHold)?;
                moves.push(movement("release", Some(cart), 0, -hold.quantity, 0, None));
            }
            StockOp::Commit { cart, quantity } => {
                let held = next.holds.get(cart).ok_or(StockError::NoHold)?.quantity;
                if held != *quantity {
                    return Err(StockError::QuantityMismatch { held });
                }
                next.holds.remove(cart);
                next.sold += held;
                moves.push(movement("commit", Some(cart), 0, -held, held, None));
            }
            StockOp::Expire => {}
        }
        debug_assert!(next.available() >= 0, "invariant broken by {op:?}");
        *self = next;
        Ok(moves)
    }

    /// Applies `op` unless `op_id` was applied before, in which case the
    /// first outcome is returned and nothing changes. `ops` is the memory of
    /// applied ids; ids older than [`OP_MEMORY_MS`] are forgotten.
    pub fn apply_once(
        &mut self,
        ops: &mut BTreeMap<String, RememberedOp>,
        op_id: &str,
        op: &StockOp,
        now_ms: i64,
    ) -> (Outcome, bool) {
        if let Some(seen) = ops.get(op_id) {
            return (seen.outcome.clone(), false);
        }
        ops.retain(|_, r| now_ms - r.at_ms < OP_MEMORY_MS);
        let outcome = self.apply(op, now_ms);
        ops.insert(
            op_id.to_string(),
            RememberedOp {
                at_ms: now_ms,
                outcome: outcome.clone(),
            },
        );
        (outcome, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_000_000;
    const TTL: i64 = 15 * 60 * 1000;

    fn hold(cart: &str, quantity: i64) -> StockOp {
        StockOp::Hold {
            cart: cart.into(),
            quantity,
            expires_at_ms: T0 + TTL,
        }
    }

    fn stocked(n: i64) -> StockLedger {
        let mut l = StockLedger::default();
        l.apply(
            &StockOp::SetOnHand {
                quantity: n,
                reason: "count".into(),
            },
            T0,
        )
        .unwrap();
        l
    }

    #[test]
    fn holds_raise_lower_release_and_never_oversell() {
        let mut l = stocked(5);
        l.apply(&hold("a", 3), T0).unwrap();
        assert_eq!(l.available(), 2);
        assert_eq!(
            l.apply(&hold("b", 3), T0),
            Err(StockError::OutOfStock { available: 2 })
        );
        assert_eq!(l.available(), 2, "a refused hold changes nothing");
        assert_eq!(
            l.apply(&hold("a", 6), T0),
            Err(StockError::OutOfStock { available: 5 })
        );
        l.apply(&hold("a", 5), T0).unwrap();
        l.apply(&hold("a", 1), T0).unwrap();
        assert_eq!((l.reserved(), l.available()), (1, 4));
        l.apply(&hold("a", 0), T0).unwrap();
        assert_eq!(l.reserved(), 0);
        assert_eq!(
            l.apply(&StockOp::Release { cart: "a".into() }, T0),
            Err(StockError::NoHold)
        );
    }

    #[test]
    fn holds_expire_by_time_even_before_the_alarm() {
        let mut l = stocked(2);
        l.apply(&hold("a", 2), T0).unwrap();
        assert_eq!(l.next_expiry_ms(), Some(T0 + TTL));
        let later = StockOp::Hold {
            cart: "b".into(),
            quantity: 2,
            expires_at_ms: T0 + 2 * TTL,
        };
        assert_eq!(l.available_at(T0 + TTL), 2, "a due hold no longer counts");
        let moves = l.apply(&later, T0 + TTL).unwrap();
        assert_eq!(moves[0].kind, "expire");
        assert_eq!(moves[0].reserved_delta, -2);
        assert!(!l.holds.contains_key("a"));
        assert_eq!(
            l.apply(
                &StockOp::Extend {
                    cart: "a".into(),
                    expires_at_ms: T0 + 2 * TTL
                },
                T0 + TTL
            ),
            Err(StockError::NoHold)
        );
    }

    #[test]
    fn commit_moves_a_whole_live_hold_to_sold() {
        let mut l = stocked(4);
        l.apply(&hold("a", 3), T0).unwrap();
        assert_eq!(
            l.apply(
                &StockOp::Commit {
                    cart: "a".into(),
                    quantity: 2
                },
                T0
            ),
            Err(StockError::QuantityMismatch { held: 3 })
        );
        l.apply(
            &StockOp::Commit {
                cart: "a".into(),
                quantity: 3,
            },
            T0,
        )
        .unwrap();
        assert_eq!(
            (l.on_hand, l.reserved(), l.sold, l.available()),
            (4, 0, 3, 1)
        );
        assert_eq!(
            l.apply(
                &StockOp::Commit {
                    cart: "a".into(),
                    quantity: 3
                },
                T0
            ),
            Err(StockError::NoHold)
        );
    }

    #[test]
    fn on_hand_never_drops_below_reserved_plus_sold() {
        let mut l = stocked(10);
        l.apply(&hold("a", 4), T0).unwrap();
        l.apply(
            &StockOp::Commit {
                cart: "a".into(),
                quantity: 4,
            },
            T0,
        )
        .unwrap();
        l.apply(&hold("b", 3), T0).unwrap();
        let set = |q| StockOp::SetOnHand {
            quantity: q,
            reason: "count".into(),
        };
        assert_eq!(
            l.apply(&set(6), T0),
            Err(StockError::BelowCommitted { minimum: 7 })
        );
        l.apply(&set(7), T0).unwrap();
        let adjust = |d| StockOp::Adjust {
            delta: d,
            reason: "damaged".into(),
        };
        assert_eq!(
            l.apply(&adjust(-1), T0),
            Err(StockError::BelowCommitted { minimum: 7 })
        );
        l.apply(&adjust(5), T0).unwrap();
        assert_eq!(l.available(), 5);
        assert_eq!(
            l.apply(&adjust(-100), T0),
            Err(StockError::BelowCommitted { minimum: 7 })
        );
        assert_eq!(l.apply(&set(-1), T0), Err(StockError::InvalidQuantity));
        assert_eq!(
            l.apply(&hold("c", -1), T0),
            Err(StockError::InvalidQuantity)
        );
    }

    #[test]
    fn a_retried_operation_id_is_applied_once() {
        let mut l = stocked(3);
        let mut ops = BTreeMap::new();
        let (first, applied) = l.apply_once(&mut ops, "op-1", &hold("a", 2), T0);
        assert!(first.is_ok() && applied);
        let (again, applied) = l.apply_once(&mut ops, "op-1", &hold("a", 2), T0 + 5);
        assert_eq!((again, applied), (first, false));
        assert_eq!(l.reserved(), 2);
        // A refused operation is remembered as refused too.
        let (refused, _) = l.apply_once(&mut ops, "op-2", &hold("b", 2), T0);
        l.apply(&hold("a", 0), T0).unwrap();
        assert_eq!(l.apply_once(&mut ops, "op-2", &hold("b", 2), T0).0, refused);
        // Ids are forgotten after a day.
        let (_, applied) = l.apply_once(&mut ops, "op-3", &StockOp::Expire, T0 + OP_MEMORY_MS + 1);
        assert!(applied);
        assert!(!ops.contains_key("op-1"));
    }

    fn arb_op() -> impl Strategy<Value = (StockOp, i64)> {
        let cart = prop::sample::select(vec!["a", "b", "c", "d"]).prop_map(String::from);
        let op = prop_oneof![
            (0i64..30).prop_map(|q| StockOp::SetOnHand {
                quantity: q,
                reason: "count".into()
            }),
            (-10i64..10).prop_map(|d| StockOp::Adjust {
                delta: d,
                reason: "adj".into()
            }),
            (cart.clone(), 0i64..8, 1i64..50).prop_map(|(cart, quantity, ttl)| StockOp::Hold {
                cart,
                quantity,
                expires_at_ms: ttl
            }),
            (cart.clone(), 1i64..50).prop_map(|(cart, ttl)| StockOp::Extend {
                cart,
                expires_at_ms: ttl
            }),
            cart.clone().prop_map(|cart| StockOp::Release { cart }),
            (cart, 0i64..8).prop_map(|(cart, quantity)| StockOp::Commit { cart, quantity }),
            Just(StockOp::Expire),
        ];
        (op, 0i64..5)
    }

    proptest! {
        /// Random sequences of every operation keep the invariant, refused
        /// operations change nothing, and the movements add up to the state.
        #[test]
        fn random_sequences_keep_the_invariant(ops in prop::collection::vec(arb_op(), 1..120)) {
            let mut l = StockLedger::default();
            let mut now = 0i64;
            let (mut on_hand, mut reserved, mut sold) = (0i64, 0i64, 0i64);
            for (op, step) in ops {
                now += step;
                // Expiries in the generated ops are relative to now.
                let op = match op {
                    StockOp::Hold { cart, quantity, expires_at_ms } => StockOp::Hold { cart, quantity, expires_at_ms: now + expires_at_ms },
                    StockOp::Extend { cart, expires_at_ms } => StockOp::Extend { cart, expires_at_ms: now + expires_at_ms },
                    other => other,
                };
                let before = l.clone();
                match l.apply(&op, now) {
                    Ok(moves) => {
                        for m in moves {
                            on_hand += m.on_hand_delta;
                            reserved += m.reserved_delta;
                            sold += m.sold_delta;
                        }
                    }
                    Err(_) => prop_assert_eq!(&l, &before),
                }
                prop_assert!(l.available() >= 0);
                prop_assert!(l.holds.values().all(|h| h.quantity > 0));
                prop_assert!(l.available_at(now) >= l.available());
                prop_assert_eq!((on_hand, sold), (l.on_hand, l.sold));
                prop_assert_eq!(reserved, l.reserved());
                prop_assert!(sold >= 0 && reserved >= 0);
            }
        }
    }
}
