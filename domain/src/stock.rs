//! The stock ledger of one SKU: units on hand, live holds (reservations)
//! by cart, and units sold, with the rules that move units between them.
//!
//! Invariant after every operation: available = on_hand − reserved − sold
//! ≥ 0, where reserved counts only live holds. `sold` counts units sold and
//! not shipped yet (Shopify's "committed"): shipping an order takes its
//! units out of `sold` and `on_hand` together, so `on_hand` is what is
//! physically in the shop and a stock count means just that. An operation that would break
//! it is refused and changes nothing. Holds carry an expiry; every operation
//! first expires the holds that are due, so availability never counts an
//! expired hold, whether or not the alarm has fired yet.
//!
//! Idempotency: every operation carries an id; its object remembers each
//! id's outcome for [`OP_MEMORY_MS`] (in storage, read back by id, never all
//! in memory), and [`StockLedger::apply_once`] answers a retry with the
//! first outcome without applying anything again; but a refused hold,
//! which changed nothing, is not remembered ([`remembers`]), so floods of
//! refused adds cost a hot SKU nothing.
//!
//! Hoarding: a hold may carry a [`HoldBudget`], the units its holder (a
//! client) may hold of the SKU across all its carts' live holds.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How long an operation id is remembered (24 h).
pub const OP_MEMORY_MS: i64 = 24 * 3600 * 1000;
/// Largest quantity one hold or one adjustment may move.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// The body of `PUT /admin/v1/inventory/{sku}`: counted stock. Unknown fields
/// (e.g. `available`) are refused (400 `unknown_field`).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"on_hand": 10, "reason": "stocktake"}])))]
#[serde(deny_unknown_fields)]
pub struct SetOnHandInput {
    /// Units now on hand. A non-integer JSON value (a float such as `1.5`, a
    /// string) or one outside the 64-bit range is 400 `invalid_type`; an
    /// integer outside 0 to 1000000000 is 422 `validation_failed` with
    /// `invalid_quantity` for field `on_hand`; less than `reserved + sold` is
    /// 409 `below_committed`.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0, max = 1000000000_i64), extend("format" = "int64"), extend("examples" = [10])))]
    pub on_hand: i64,
    /// Why, for the movement history: 1 to 200 characters after trimming (else
    /// 422 `validation_failed` with `invalid_length` for field `reason`);
    /// stored as sent, in the movement's `reason`. Absent or null: `count`.
    #[cfg_attr(feature = "openapi", schemars(regex(pattern = r"\S"), length(min = 1, max = 200), extend("default" = "count", "examples" = ["stocktake"])))]
    #[serde(default)]
    pub reason: Option<String>,
}

/// The body of `POST /admin/v1/inventory`: counted stock of 1 to 200 SKUs, each
/// SKU at most once. Unknown fields, here or in an item, are refused (400
/// `unknown_field`).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "InventoryBatchInput", extend("examples" = [{"items": [{"sku": "KTL-1-STEEL", "on_hand": 10, "reason": "stocktake"}, {"sku": "KTL-1-COPPER", "on_hand": 0}]}])))]
#[serde(deny_unknown_fields)]
pub struct BulkSetOnHandInput {
    /// The counts, applied concurrently; the answer lists them in this order.
    /// None is 400 `empty_batch`, more than 200 is 400 `too_many_items`, a SKU
    /// given twice (exact, case-sensitive match) is 400 `duplicate_sku` with
    /// `field` naming the second (`items[3].sku`); then nothing is applied.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 200)))]
    pub items: Vec<BulkSetOnHandItem>,
}

/// One SKU's count in a batch: as the body of `PUT /admin/v1/inventory/{sku}`,
/// with the SKU.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "InventoryBatchItemInput", extend("examples" = [{"sku": "KTL-1-STEEL", "on_hand": 10, "reason": "stocktake"}])))]
#[serde(deny_unknown_fields)]
pub struct BulkSetOnHandItem {
    /// The variant's SKU (exact, case-sensitive). One that no variant of the
    /// live catalog version has fails this item with `sku_not_found`.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["KTL-1-STEEL"])))]
    pub sku: String,
    /// Units now on hand. A non-integer JSON value or one outside the 64-bit
    /// range is 400 `invalid_type` for the whole batch (`field`
    /// `items[i].on_hand`); an integer outside 0 to 1000000000 fails this item
    /// with `invalid_quantity`; less than `reserved + sold` fails it with
    /// `below_committed`. The request itself accepts any 64-bit integer here: a
    /// count out of range is one item's failure, reported in the 200 answer,
    /// not the batch's.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64"), extend("examples" = [10])))]
    pub on_hand: i64,
    /// Why, for the movement history: 1 to 200 characters after trimming, else
    /// this item fails with `invalid_length`. Absent or null: `count`.
    #[cfg_attr(feature = "openapi", schemars(extend("default" = "count", "examples" = ["stocktake"])))]
    #[serde(default)]
    pub reason: Option<String>,
}

/// Most items one bulk count may carry.
pub const BULK_MAX_ITEMS: usize = 200;

/// Why a bulk count is refused as a whole (before anything is applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkRefusal {
    /// No items.
    Empty,
    /// More than [`BULK_MAX_ITEMS`] items.
    TooMany { count: usize },
    /// Item `index` names the SKU of an earlier item, `first`.
    DuplicateSku { index: usize, first: usize },
}

impl BulkSetOnHandInput {
    /// The batch rules: 1 to [`BULK_MAX_ITEMS`] items, each SKU once (exact
    /// match, as SKUs are case-sensitive). Per-item rules (quantity,
    /// reason, whether the SKU exists) are checked per item, later.
    pub fn check(&self) -> Result<(), BulkRefusal> {
        match self.items.len() {
            0 => return Err(BulkRefusal::Empty),
            n if n > BULK_MAX_ITEMS => return Err(BulkRefusal::TooMany { count: n }),
            _ => {}
        }
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, item) in self.items.iter().enumerate() {
            if let Some(&first) = seen.get(item.sku.as_str()) {
                return Err(BulkRefusal::DuplicateSku { index, first });
            }
            seen.insert(&item.sku, index);
        }
        Ok(())
    }
}

/// The operation id of one item of a bulk count: the request's operation
/// id and the SKU, so a retried batch (same key) is a retry of every item.
pub fn bulk_op_id(request_op_id: &str, sku: &str) -> String {
    format!("{request_op_id}:{sku}")
}

/// The body of `POST /admin/v1/inventory/{sku}/adjustments`: a change of on
/// hand with its reason. Unknown fields are refused (400 `unknown_field`).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"delta": -3, "reason": "damaged in transit"}])))]
#[serde(deny_unknown_fields)]
pub struct AdjustmentInput {
    /// Units to add to on hand (positive: received, returned) or remove
    /// (negative: damaged, lost); 0 is accepted and recorded. A non-integer
    /// JSON value or one outside the 64-bit range is 400 `invalid_type`; a
    /// delta beyond ±1000000000, or one that would take on hand above
    /// 1000000000, is 422 `validation_failed` with `invalid_quantity` for field
    /// `delta`; one that would take on hand below `reserved + sold` (below 0
    /// included) is 409 `below_committed`.
    #[cfg_attr(feature = "openapi", schemars(range(min = -1000000000_i64, max = 1000000000_i64), extend("format" = "int64"), extend("examples" = [-3])))]
    pub delta: i64,
    /// Why, for the movement history (required; null is 400 `invalid_type`): 1
    /// to 200 characters after trimming (else 422 `validation_failed` with
    /// `invalid_length` for field `reason`); stored as sent, in the movement's
    /// `reason`.
    #[cfg_attr(feature = "openapi", schemars(regex(pattern = r"\S"), length(min = 1, max = 200), extend("examples" = ["damaged in transit"])))]
    pub reason: String,
}

/// Longest accepted adjustment reason, in characters.
pub const REASON_MAX: usize = 200;

/// Units one cart holds until `expires_at_ms`, for `holder` (the client
/// that placed it, when the hold budget counts it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub quantity: i64,
    pub expires_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
}

/// The hold budget a hold is placed under: the units `holder` (a client's
/// key) may hold of this SKU across all its carts' live holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldBudget {
    pub holder: String,
    pub units: i64,
}

/// A change to the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StockOp {
    /// Counted stock: on hand becomes `quantity`.
    SetOnHand { quantity: i64, reason: String },
    /// Received, damaged, returned…: on hand changes by `delta`.
    Adjust { delta: i64, reason: String },
    /// The cart's hold becomes `quantity` (0 releases it), expiring at
    /// `expires_at_ms`; under `budget`, the holder's live holds of this SKU
    /// (this one included) may not exceed its units.
    Hold {
        cart: String,
        quantity: i64,
        expires_at_ms: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        budget: Option<HoldBudget>,
    },
    /// The cart's live hold now expires at `expires_at_ms`.
    Extend { cart: String, expires_at_ms: i64 },
    /// The cart's hold is released.
    Release { cart: String },
    /// The cart's live hold of exactly `quantity` units becomes sold.
    Commit { cart: String, quantity: i64 },
    /// Sold units come back (an order cancelled or refunded before it
    /// shipped): sold drops by `quantity`.
    Restock { quantity: i64, reason: String },
    /// Sold units leave the shop (an order fulfilled): sold and on hand
    /// both drop by `quantity`.
    Ship { quantity: i64, reason: String },
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
    /// The holder's hold budget: `available` is the most this cart could
    /// hold of the SKU under it now.
    HoldLimit { available: i64 },
    /// A quantity is negative, too large, or an expiry is not in the future.
    InvalidQuantity,
}

/// One movement of units, for the history and for persisting what changed.
/// (The API shows it in `MovementEntry`: the doc comments of its fields are
/// their OpenAPI descriptions.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Movement {
    /// What moved: `set` (on hand counted, `PUT /admin/v1/inventory/{sku}`;
    /// `on_hand_delta` is new minus old, possibly 0), `adjust` (`on_hand_delta`
    /// is the adjustment's `delta`), `hold` (a cart's hold placed or changed;
    /// `reserved_delta` is new minus old quantity), `extend` (a cart's live
    /// hold given a later expiry; all deltas 0), `release` (a cart's hold
    /// released; `reserved_delta` is minus its quantity), `commit` (a cart's
    /// hold sold at checkout: `reserved_delta` −n, `sold_delta` +n), `restock`
    /// (sold units of a cancelled or refunded order put back on sale:
    /// `sold_delta` −n), `ship` (sold units of a fulfilled order left the
    /// shop: `on_hand_delta` −n, `sold_delta` −n), `expire` (a hold expired;
    /// `reserved_delta` is minus its quantity).
    #[cfg_attr(feature = "openapi", schemars(extend("enum" = ["set", "adjust", "hold", "extend", "release", "commit", "restock", "ship", "expire"])))]
    pub kind: String,
    /// The cart whose hold moved (`hold`, `extend`, `release`, `commit`,
    /// `expire`); null for `set`, `adjust` and `restock`.
    pub cart: Option<String>,
    /// Change of `on_hand` (non-zero only for `set`, `adjust` and `ship`).
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = [5])))]
    pub on_hand_delta: i64,
    /// Change of `reserved`.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = [0])))]
    pub reserved_delta: i64,
    /// Change of `sold` (non-zero only for `commit`, positive, and `restock`
    /// and `ship`, negative).
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = [0])))]
    pub sold_delta: i64,
    /// The reason given with `set` (default `count`) and `adjust`, as sent;
    /// `order {order id}: cancel` or `order {order id}: refund` for `restock`;
    /// `order {order id}: fulfil` for `ship`; null for the other kinds.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["delivery 42"])))]
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
///
/// Every operation costs O(log holds) plus the holds that are due: the
/// reserved total and an expiry index are kept alongside the holds (a hot
/// SKU has one hold per cart).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StockLedger {
    on_hand: i64,
    sold: i64,
    /// Holds by cart id.
    holds: BTreeMap<String, Hold>,
    /// Sum of all holds' quantities (live or due).
    reserved_total: i64,
    /// (expiry, cart) of every hold.
    by_expiry: BTreeSet<(i64, String)>,
    /// Units held per holder, by all its holds (live or due): at most one
    /// entry per hold, so bounded like the holds.
    by_holder: BTreeMap<String, i64>,
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

/// What a valid operation will change, decided before anything changes.
enum Plan {
    SetOnHand(i64),
    Adjust(i64),
    Hold {
        quantity: i64,
        expires_at_ms: i64,
        holder: Option<String>,
    },
    Release,
    Extend(i64),
    Commit(i64),
    Restock(i64),
    Ship(i64),
    Nothing,
}

impl StockLedger {
    /// A ledger from its stored parts.
    pub fn from_parts(on_hand: i64, sold: i64, holds: BTreeMap<String, Hold>) -> Self {
        let mut l = StockLedger {
            on_hand,
            sold,
            ..StockLedger::default()
        };
        for (cart, hold) in holds {
            l.put_hold(cart, hold);
        }
        l
    }

    pub fn on_hand(&self) -> i64 {
        self.on_hand
    }

    pub fn sold(&self) -> i64 {
        self.sold
    }

    /// The hold of `cart`, live or due.
    pub fn hold(&self, cart: &str) -> Option<&Hold> {
        self.holds.get(cart)
    }

    /// Every hold, by cart.
    pub fn holds(&self) -> &BTreeMap<String, Hold> {
        &self.holds
    }

    fn put_hold(&mut self, cart: String, hold: Hold) {
        self.drop_hold(&cart);
        self.reserved_total += hold.quantity;
        self.by_expiry.insert((hold.expires_at_ms, cart.clone()));
        if let Some(holder) = &hold.holder {
            *self.by_holder.entry(holder.clone()).or_default() += hold.quantity;
        }
        self.holds.insert(cart, hold);
    }

    fn drop_hold(&mut self, cart: &str) -> Option<Hold> {
        let hold = self.holds.remove(cart)?;
        self.reserved_total -= hold.quantity;
        self.by_expiry
            .remove(&(hold.expires_at_ms, cart.to_string()));
        if let Some(holder) = &hold.holder {
            if let Some(units) = self.by_holder.get_mut(holder) {
                *units -= hold.quantity;
                if *units <= 0 {
                    self.by_holder.remove(holder);
                }
            }
        }
        Some(hold)
    }

    /// Units `holder` holds by live holds at `now_ms`.
    pub fn held_by(&self, holder: &str, now_ms: i64) -> i64 {
        let all = self.by_holder.get(holder).copied().unwrap_or(0);
        let due: i64 = self
            .due(now_ms)
            .iter()
            .filter(|(cart, _)| self.holds[cart].holder.as_deref() == Some(holder))
            .map(|(_, q)| q)
            .sum();
        all - due
    }

    /// Holds due at `now_ms` (expiry reached), with their quantities.
    fn due(&self, now_ms: i64) -> Vec<(String, i64)> {
        self.by_expiry
            .range(..(now_ms.saturating_add(1), String::new()))
            .map(|(_, cart)| (cart.clone(), self.holds[cart].quantity))
            .collect()
    }

    /// The live hold of `cart` at `now_ms`.
    fn live(&self, cart: &str, now_ms: i64) -> Option<&Hold> {
        self.holds.get(cart).filter(|h| h.expires_at_ms > now_ms)
    }

    /// Units held by all holds, due ones included (until they are expired).
    pub fn reserved(&self) -> i64 {
        self.reserved_total
    }

    /// Units that can still be held, counting due holds: never negative.
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved_total - self.sold
    }

    /// Units held by holds still live at `now_ms`.
    pub fn reserved_at(&self, now_ms: i64) -> i64 {
        self.reserved_total - self.due(now_ms).iter().map(|(_, q)| q).sum::<i64>()
    }

    /// Units that can be held at `now_ms` (due holds no longer count).
    pub fn available_at(&self, now_ms: i64) -> i64 {
        self.on_hand - self.reserved_at(now_ms) - self.sold
    }

    /// When the next hold expires (for the alarm).
    pub fn next_expiry_ms(&self) -> Option<i64> {
        self.by_expiry.first().map(|(at, _)| *at)
    }

    /// The checks of [`StockLedger::apply`] that need no ledger state: the
    /// quantities are in range. A caller checks them before an operation id
    /// is looked up, so a malformed operation is refused even when it
    /// reuses the id of one that was applied.
    pub fn check_op(op: &StockOp) -> Result<(), StockError> {
        let valid = |q: i64| (0..=MAX_QUANTITY).contains(&q);
        let ok = match op {
            StockOp::SetOnHand { quantity, .. }
            | StockOp::Hold { quantity, .. }
            | StockOp::Restock { quantity, .. }
            | StockOp::Ship { quantity, .. }
            | StockOp::Commit { quantity, .. } => valid(*quantity),
            StockOp::Adjust { delta, .. } => valid(delta.saturating_abs()),
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(StockError::InvalidQuantity)
        }
    }

    /// Applies one operation at `now_ms`: all of it, or nothing. Due holds
    /// are expired first (as movements) when the operation is accepted.
    pub fn apply(&mut self, op: &StockOp, now_ms: i64) -> Outcome {
        let valid = |q: i64| (0..=MAX_QUANTITY).contains(&q);
        // Decide against the state where due holds are gone; change nothing yet.
        let minimum = self.reserved_at(now_ms) + self.sold;
        let plan = match op {
            StockOp::SetOnHand { quantity, .. } => {
                if !valid(*quantity) {
                    return Err(StockError::InvalidQuantity);
                }
                if *quantity < minimum {
                    return Err(StockError::BelowCommitted { minimum });
                }
                Plan::SetOnHand(*quantity)
            }
            StockOp::Adjust { delta, .. } => {
                if !valid(delta.saturating_abs()) || self.on_hand + delta > MAX_QUANTITY {
                    return Err(StockError::InvalidQuantity);
                }
                if self.on_hand + delta < minimum {
                    return Err(StockError::BelowCommitted { minimum });
                }
                Plan::Adjust(*delta)
            }
            StockOp::Hold {
                cart,
                quantity,
                expires_at_ms,
                budget,
            } => {
                if !valid(*quantity)
                    || *expires_at_ms <= now_ms
                    || budget.as_ref().is_some_and(|b| !valid(b.units))
                {
                    return Err(StockError::InvalidQuantity);
                }
                let live = self.live(cart, now_ms);
                let old = live.map_or(0, |h| h.quantity);
                let most = self.on_hand - minimum + old;
                if *quantity > most {
                    return Err(StockError::OutOfStock { available: most });
                }
                if let Some(b) = budget {
                    // What the holder's other live holds leave of its budget
                    // (this cart's own hold, if the holder's, is replaced).
                    let own = live
                        .filter(|h| h.holder.as_deref() == Some(b.holder.as_str()))
                        .map_or(0, |h| h.quantity);
                    let left = (b.units - (self.held_by(&b.holder, now_ms) - own)).max(0);
                    if *quantity > left {
                        return Err(StockError::HoldLimit {
                            available: left.min(most),
                        });
                    }
                }
                if *quantity == 0 && old == 0 {
                    Plan::Nothing
                } else if *quantity == 0 {
                    Plan::Release
                } else {
                    Plan::Hold {
                        quantity: *quantity,
                        expires_at_ms: *expires_at_ms,
                        holder: budget.as_ref().map(|b| b.holder.clone()),
                    }
                }
            }
            StockOp::Extend {
                cart,
                expires_at_ms,
            } => {
                if *expires_at_ms <= now_ms {
                    return Err(StockError::InvalidQuantity);
                }
                self.live(cart, now_ms).ok_or(StockError::NoHold)?;
                Plan::Extend(*expires_at_ms)
            }
            StockOp::Release { cart } => {
                self.live(cart, now_ms).ok_or(StockError::NoHold)?;
                Plan::Release
            }
            StockOp::Commit { cart, quantity } => {
                let held = self.live(cart, now_ms).ok_or(StockError::NoHold)?.quantity;
                if held != *quantity {
                    return Err(StockError::QuantityMismatch { held });
                }
                Plan::Commit(held)
            }
            StockOp::Restock { quantity, .. } => {
                if !valid(*quantity) || *quantity == 0 || *quantity > self.sold {
                    return Err(StockError::InvalidQuantity);
                }
                Plan::Restock(*quantity)
            }
            StockOp::Ship { quantity, .. } => {
                if !valid(*quantity) || *quantity == 0 || *quantity > self.sold {
                    return Err(StockError::InvalidQuantity);
                }
                Plan::Ship(*quantity)
            }
            StockOp::Expire => Plan::Nothing,
        };
        // Accepted: expire what is due, then apply the plan.
        let mut moves = Vec::new();
        for (cart, quantity) in self.due(now_ms) {
            self.drop_hold(&cart);
            moves.push(movement("expire", Some(&cart), 0, -quantity, 0, None));
        }
        let cart = match op {
            StockOp::Hold { cart, .. }
            | StockOp::Extend { cart, .. }
            | StockOp::Release { cart }
            | StockOp::Commit { cart, .. } => Some(cart.as_str()),
            _ => None,
        };
        match (plan, op) {
            (Plan::SetOnHand(q), StockOp::SetOnHand { reason, .. }) => {
                moves.push(movement("set", None, q - self.on_hand, 0, 0, Some(reason)));
                self.on_hand = q;
            }
            (Plan::Adjust(d), StockOp::Adjust { reason, .. }) => {
                self.on_hand += d;
                moves.push(movement("adjust", None, d, 0, 0, Some(reason)));
            }
            (
                Plan::Hold {
                    quantity,
                    expires_at_ms,
                    holder,
                },
                _,
            ) => {
                let cart = cart.unwrap_or_default();
                let old = self.hold(cart).map_or(0, |h| h.quantity);
                self.put_hold(
                    cart.to_string(),
                    Hold {
                        quantity,
                        expires_at_ms,
                        holder,
                    },
                );
                moves.push(movement("hold", Some(cart), 0, quantity - old, 0, None));
            }
            (Plan::Release, _) => {
                let cart = cart.unwrap_or_default();
                if let Some(h) = self.drop_hold(cart) {
                    moves.push(movement("release", Some(cart), 0, -h.quantity, 0, None));
                }
            }
            (Plan::Extend(at), _) => {
                let cart = cart.unwrap_or_default();
                if let Some(mut h) = self.drop_hold(cart) {
                    h.expires_at_ms = at;
                    self.put_hold(cart.to_string(), h);
                }
                moves.push(movement("extend", Some(cart), 0, 0, 0, None));
            }
            (Plan::Restock(q), StockOp::Restock { reason, .. }) => {
                self.sold -= q;
                moves.push(movement("restock", None, 0, 0, -q, Some(reason)));
            }
            (Plan::Ship(q), StockOp::Ship { reason, .. }) => {
                self.sold -= q;
                self.on_hand -= q;
                moves.push(movement("ship", None, -q, 0, -q, Some(reason)));
            }
            (Plan::Commit(held), _) => {
                let cart = cart.unwrap_or_default();
                self.drop_hold(cart);
                self.sold += held;
                moves.push(movement("commit", Some(cart), 0, -held, held, None));
            }
            _ => {}
        }
        debug_assert!(self.available() >= 0, "invariant broken by {op:?}");
        Ok(moves)
    }

    /// Applies `op` unless its id was applied in the last [`OP_MEMORY_MS`]
    /// (`seen`: what the id did then, as its object remembers it), in which
    /// case the first outcome is returned and nothing changes. Answers the
    /// outcome and whether `op` was applied now; an applied operation is
    /// remembered by its id when [`remembers`] says so.
    pub fn apply_once(
        &mut self,
        seen: Option<&RememberedOp>,
        op: &StockOp,
        now_ms: i64,
    ) -> (Outcome, bool) {
        if let Some(seen) = seen.filter(|r| r.fresh_at(now_ms)) {
            return (seen.outcome.clone(), false);
        }
        (self.apply(op, now_ms), true)
    }
}

/// Whether an operation's outcome is remembered for its id. A refused
/// hold is not: it changed nothing, and a retry is a new request for units
/// that is rightly decided against the stock then (a cart's own memory of
/// its line changes keeps what it applied). So a flood of refused adds on a
/// hot SKU leaves nothing behind, in memory or in storage. Every other
/// outcome is (a refused commit, for one, must stay refused: the cart may
/// hold again under the same id's cart).
pub fn remembers(op: &StockOp, outcome: &Outcome) -> bool {
    !matches!((op, outcome), (StockOp::Hold { .. }, Err(_)))
}

impl RememberedOp {
    /// Whether the operation is still remembered at `now_ms` (younger than
    /// [`OP_MEMORY_MS`]); older ids are new operations.
    pub fn fresh_at(&self, now_ms: i64) -> bool {
        now_ms - self.at_ms < OP_MEMORY_MS
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
            budget: None,
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

    fn bulk(skus: &[&str]) -> BulkSetOnHandInput {
        BulkSetOnHandInput {
            items: skus
                .iter()
                .map(|s| BulkSetOnHandItem {
                    sku: s.to_string(),
                    on_hand: 1,
                    reason: None,
                })
                .collect(),
        }
    }

    #[test]
    fn out_of_range_quantities_are_refused_before_any_state() {
        let adjust = |delta| StockOp::Adjust {
            delta,
            reason: "r".into(),
        };
        for op in [
            adjust(MAX_QUANTITY + 1),
            adjust(i64::MIN),
            adjust(-MAX_QUANTITY - 1),
        ] {
            assert_eq!(StockLedger::check_op(&op), Err(StockError::InvalidQuantity));
            let mut ledger = StockLedger::default();
            assert_eq!(ledger.apply(&op, 0), Err(StockError::InvalidQuantity));
        }
        let set = |quantity| StockOp::SetOnHand {
            quantity,
            reason: "r".into(),
        };
        assert_eq!(
            StockLedger::check_op(&set(-1)),
            Err(StockError::InvalidQuantity)
        );
        assert_eq!(StockLedger::check_op(&set(MAX_QUANTITY)), Ok(()));
        assert_eq!(StockLedger::check_op(&adjust(-MAX_QUANTITY)), Ok(()));
    }

    #[test]
    fn bulk_counts_take_1_to_200_distinct_skus() {
        assert_eq!(bulk(&[]).check(), Err(BulkRefusal::Empty));
        assert_eq!(bulk(&["A"]).check(), Ok(()));
        assert_eq!(bulk(&["A", "a"]).check(), Ok(()), "SKUs are case-sensitive");
        assert_eq!(
            bulk(&["A", "B", "C", "B", "A"]).check(),
            Err(BulkRefusal::DuplicateSku { index: 3, first: 1 })
        );
        let names: Vec<String> = (0..=BULK_MAX_ITEMS).map(|i| format!("S-{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(bulk(&refs[..BULK_MAX_ITEMS]).check(), Ok(()));
        assert_eq!(
            bulk(&refs).check(),
            Err(BulkRefusal::TooMany {
                count: BULK_MAX_ITEMS + 1
            })
        );
        assert_eq!(bulk_op_id("ops:k1", "A-1"), "ops:k1:A-1");
        let parsed: BulkSetOnHandInput = crate::admin::parse_input(
            r#"{"items":[{"sku":"A","on_hand":3},{"sku":"B","on_hand":0,"reason":"stocktake"}]}"#,
        )
        .unwrap();
        assert_eq!(parsed.items[1].reason.as_deref(), Some("stocktake"));
        let unknown = crate::admin::parse_input::<BulkSetOnHandInput>(
            r#"{"items":[{"sku":"A","on_hand":3,"available":3}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            (unknown.code, unknown.field.as_deref()),
            ("unknown_field", Some("items[0].available"))
        );
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
            budget: None,
        };
        assert_eq!(l.available_at(T0 + TTL), 2, "a due hold no longer counts");
        let moves = l.apply(&later, T0 + TTL).unwrap();
        assert_eq!(moves[0].kind, "expire");
        assert_eq!(moves[0].reserved_delta, -2);
        assert!(l.hold("a").is_none());
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

    /// What a SKU's object does with an operation: looks its id up among
    /// those it remembers, applies it once, remembers it if it must.
    fn once(
        l: &mut StockLedger,
        ops: &mut BTreeMap<String, RememberedOp>,
        id: &str,
        op: &StockOp,
        now: i64,
    ) -> (Outcome, bool) {
        let (outcome, applied) = l.apply_once(ops.get(id), op, now);
        if applied && remembers(op, &outcome) {
            let at_ms = now;
            let remembered = RememberedOp {
                at_ms,
                outcome: outcome.clone(),
            };
            ops.insert(id.to_string(), remembered);
        }
        (outcome, applied)
    }

    /// A flood of refused adds on a sold-out SKU leaves nothing to
    /// remember: the memory of operation ids does not grow with it.
    #[test]
    fn refused_holds_are_not_remembered_so_a_flood_leaves_memory_as_it_was() {
        let mut l = stocked(1);
        let mut ops = BTreeMap::new();
        let (first, _) = once(&mut l, &mut ops, "keep", &hold("a", 1), T0);
        assert!(first.is_ok());
        assert_eq!(ops.len(), 1);
        for i in 0..20_000 {
            let (outcome, _) = once(
                &mut l,
                &mut ops,
                &format!("flood-{i}"),
                &hold(&format!("bot{i}"), 1),
                T0,
            );
            assert_eq!(outcome, Err(StockError::OutOfStock { available: 0 }));
        }
        assert_eq!(ops.len(), 1, "20,000 refused adds remembered nothing");
        // A refused commit stays refused for its id.
        let commit = StockOp::Commit {
            cart: "b".into(),
            quantity: 1,
        };
        assert!(once(&mut l, &mut ops, "c1", &commit, T0).0.is_err());
        assert_eq!(ops.len(), 2);
    }

    /// Hoarding: one client's carts together hold at most its budget of a
    /// SKU; another client still gets units; a lapsed hold frees budget.
    #[test]
    fn a_hold_budget_caps_one_clients_units_across_carts() {
        let mut l = stocked(100);
        let budgeted = |cart: &str, quantity: i64, holder: &str, at: i64| StockOp::Hold {
            cart: cart.into(),
            quantity,
            expires_at_ms: at + TTL,
            budget: Some(HoldBudget {
                holder: holder.into(),
                units: 10,
            }),
        };
        let mut held = 0;
        for i in 0..50 {
            match l.apply(&budgeted(&format!("bot{i}"), 2, "bot", T0), T0) {
                Ok(_) => held += 2,
                Err(e) => assert_eq!(e, StockError::HoldLimit { available: 0 }),
            }
        }
        assert_eq!(held, 10);
        assert_eq!(l.held_by("bot", T0), 10);
        // A cart may grow its own hold only within what is left.
        assert_eq!(
            l.apply(&budgeted("bot0", 3, "bot", T0), T0),
            Err(StockError::HoldLimit { available: 2 })
        );
        l.apply(&budgeted("bot0", 1, "bot", T0), T0).unwrap();
        assert_eq!(l.held_by("bot", T0), 9);
        // Another client holds what it likes.
        l.apply(&budgeted("shopper", 5, "shopper", T0), T0).unwrap();
        assert_eq!(l.available_at(T0), 100 - 9 - 5);
        // Once the bot's holds lapse, its budget is free again.
        let later = T0 + TTL;
        assert_eq!(l.held_by("bot", later), 0);
        l.apply(&budgeted("bot-new", 10, "bot", later), later)
            .unwrap();
        assert_eq!(l.held_by("bot", later), 10);
    }

    /// The issue's case: 100 on hand, 60 sold and shipped, then a count of
    /// 25 finds 25 on the shelf, and 25 are available.
    #[test]
    fn shipping_takes_sold_units_out_of_on_hand_so_a_count_means_the_shelf() {
        let mut l = stocked(100);
        l.apply(&hold("a", 60), T0).unwrap();
        let commit = StockOp::Commit {
            cart: "a".into(),
            quantity: 60,
        };
        l.apply(&commit, T0).unwrap();
        let ship = |quantity| StockOp::Ship {
            quantity,
            reason: "order o1: fulfil".into(),
        };
        assert_eq!(l.apply(&ship(61), T0), Err(StockError::InvalidQuantity));
        assert_eq!(l.apply(&ship(0), T0), Err(StockError::InvalidQuantity));
        let moves = l.apply(&ship(60), T0).unwrap();
        assert_eq!(
            moves,
            vec![movement(
                "ship",
                None,
                -60,
                0,
                -60,
                Some("order o1: fulfil")
            )]
        );
        assert_eq!((l.on_hand, l.sold, l.available()), (40, 0, 40));
        let count = StockOp::SetOnHand {
            quantity: 25,
            reason: "count".into(),
        };
        l.apply(&count, T0).unwrap();
        assert_eq!((l.on_hand, l.sold, l.available()), (25, 0, 25));
        // Nothing left to ship, and shipped units are not restocked.
        assert_eq!(l.apply(&ship(1), T0), Err(StockError::InvalidQuantity));
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
        let (first, applied) = once(&mut l, &mut ops, "op-1", &hold("a", 2), T0);
        assert!(first.is_ok() && applied);
        let (again, applied) = once(&mut l, &mut ops, "op-1", &hold("a", 2), T0 + 5);
        assert_eq!((again, applied), (first, false));
        assert_eq!(l.reserved(), 2);
        // A refused hold is not remembered: retried once the units are
        // there, it is decided afresh (and then remembered).
        let (refused, _) = once(&mut l, &mut ops, "op-2", &hold("b", 2), T0);
        assert_eq!(refused, Err(StockError::OutOfStock { available: 1 }));
        assert!(!ops.contains_key("op-2"));
        l.apply(&hold("a", 0), T0).unwrap();
        let (held, applied) = once(&mut l, &mut ops, "op-2", &hold("b", 2), T0);
        assert!(held.is_ok() && applied);
        // Ids are forgotten after a day.
        let (_, applied) = once(
            &mut l,
            &mut ops,
            "op-1",
            &StockOp::Expire,
            T0 + OP_MEMORY_MS + 1,
        );
        assert!(applied, "an id a day old is a new operation");
        assert!(ops["op-1"].fresh_at(T0 + OP_MEMORY_MS + 10));
        assert!(!ops["op-2"].fresh_at(T0 + OP_MEMORY_MS + 10));
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
            (
                cart.clone(),
                0i64..8,
                1i64..50,
                prop::option::of((prop::sample::select(vec!["x", "y"]), 0i64..10))
            )
                .prop_map(|(cart, quantity, ttl, budget)| StockOp::Hold {
                    cart,
                    quantity,
                    expires_at_ms: ttl,
                    budget: budget.map(|(holder, units)| HoldBudget {
                        holder: holder.into(),
                        units
                    }),
                }),
            (cart.clone(), 1i64..50).prop_map(|(cart, ttl)| StockOp::Extend {
                cart,
                expires_at_ms: ttl
            }),
            cart.clone().prop_map(|cart| StockOp::Release { cart }),
            (cart, 0i64..8).prop_map(|(cart, quantity)| StockOp::Commit { cart, quantity }),
            (0i64..5).prop_map(|quantity| StockOp::Restock {
                quantity,
                reason: "cancel".into()
            }),
            (0i64..5).prop_map(|quantity| StockOp::Ship {
                quantity,
                reason: "fulfil".into()
            }),
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
                    StockOp::Hold { cart, quantity, expires_at_ms, budget } => StockOp::Hold { cart, quantity, expires_at_ms: now + expires_at_ms, budget },
                    StockOp::Extend { cart, expires_at_ms } => StockOp::Extend { cart, expires_at_ms: now + expires_at_ms },
                    other => other,
                };
                let before = l.clone();
                let outcome = l.apply(&op, now);
                match outcome.clone() {
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
                prop_assert!(l.holds().values().all(|h| h.quantity > 0));
                prop_assert_eq!(l.reserved(), l.holds().values().map(|h| h.quantity).sum::<i64>());
                prop_assert_eq!(&StockLedger::from_parts(l.on_hand(), l.sold(), l.holds().clone()), &l);
                prop_assert!(l.available_at(now) >= l.available());
                prop_assert_eq!((on_hand, sold), (l.on_hand(), l.sold()));
                prop_assert_eq!(reserved, l.reserved());
                // Each holder's count is the sum of its holds.
                for holder in ["x", "y"] {
                    let sum: i64 = l.holds().values().filter(|h| h.holder.as_deref() == Some(holder)).map(|h| h.quantity).sum();
                    prop_assert_eq!(l.by_holder.get(holder).copied().unwrap_or(0), sum);
                }
                // An accepted budgeted hold leaves its holder within budget.
                if let (Ok(_), StockOp::Hold { budget: Some(b), quantity, .. }) = (&outcome, &op) {
                    if *quantity > 0 {
                        prop_assert!(l.held_by(&b.holder, now) <= b.units);
                    }
                }
                prop_assert!(sold >= 0 && reserved >= 0);
            }
        }
    }
}
