//! Stock levels as this isolate last saw them, kept for at most
//! [`LEVELS_TTL_MS`], so that a hot SKU's product page, cart reads and
//! `GET /v1/inventory` reads reach its object at most about once a second
//! per isolate instead of once per request.
//!
//! Consistency: what the public reads show is at most [`LEVELS_TTL_MS`]
//! old. Levels this isolate learns from a write (a cart's line change, an
//! admin stock write) replace the copy at once ([`wrote`]), so a shopper
//! whose requests reach this isolate reads their own change; a change this
//! isolate made without seeing the levels after it (a checkout) drops the
//! SKU's copy ([`forget`]). A read that began before a write of the same
//! SKU ended is not kept ([`begin`]), so a copy is never older than the
//! last write this isolate saw. Holds, checkouts and admin reads never use
//! the copy: a hold is decided by the SKU's object, exactly.
//!
//! Memory: at most [`MAX_SKUS`] copies; past it, stale ones go first, then
//! all of them.

use std::cell::RefCell;
use std::collections::HashMap;

use edgecart_durable_objects::protocol::stock::StockLevels;

/// How long a copy of a SKU's levels may answer reads.
pub const LEVELS_TTL_MS: i64 = 1_000;

/// Most SKUs one isolate keeps copies of.
pub const MAX_SKUS: usize = 10_000;

struct Copy {
    /// `None`: the SKU changed without this isolate seeing how.
    levels: Option<StockLevels>,
    /// When the levels were true (no earlier than).
    at_ms: i64,
    /// The write that made them, if a write did (see [`begin`]).
    written: u64,
}

#[derive(Default)]
struct Copies {
    /// Counts writes: a read remembers the count it began under.
    writes: u64,
    by_sku: HashMap<String, Copy>,
}

thread_local! {
    static COPIES: RefCell<Copies> = RefCell::new(Copies::default());
}

/// What a read beginning now passes to [`remember`].
pub fn begin() -> u64 {
    COPIES.with(|c| c.borrow().writes)
}

/// The copy of `sku`'s levels, if it is younger than [`LEVELS_TTL_MS`] at
/// `now_ms`.
pub fn fresh(sku: &str, now_ms: i64) -> Option<StockLevels> {
    COPIES.with(|c| {
        c.borrow()
            .by_sku
            .get(sku)
            .filter(|copy| (0..LEVELS_TTL_MS).contains(&(now_ms - copy.at_ms)))
            .and_then(|copy| copy.levels)
    })
}

/// Keeps `levels`, read from `sku`'s object by a read that began under
/// `began` at `at_ms`, unless this isolate saw a write of `sku` end since.
pub fn remember(sku: &str, levels: StockLevels, began: u64, at_ms: i64) {
    COPIES.with(|c| {
        let mut c = c.borrow_mut();
        if c.by_sku.get(sku).is_some_and(|copy| copy.written > began) {
            return;
        }
        keep(&mut c, sku, Some(levels), at_ms, 0);
    });
}

/// Keeps the levels a write of `sku` answered (they are the newest).
pub fn wrote(sku: &str, levels: StockLevels, at_ms: i64) {
    COPIES.with(|c| {
        let mut c = c.borrow_mut();
        c.writes += 1;
        let written = c.writes;
        keep(&mut c, sku, Some(levels), at_ms, written);
    });
}

/// Drops `sku`'s copy: it changed, and this isolate did not see how.
pub fn forget(sku: &str) {
    COPIES.with(|c| {
        let mut c = c.borrow_mut();
        c.writes += 1;
        let written = c.writes;
        // No levels: no read answers from it, and no read older than this
        // change may replace it.
        keep(&mut c, sku, None, 0, written);
    });
}

fn keep(c: &mut Copies, sku: &str, levels: Option<StockLevels>, at_ms: i64, written: u64) {
    if c.by_sku.len() >= MAX_SKUS && !c.by_sku.contains_key(sku) {
        let newest = c
            .by_sku
            .values()
            .map(|copy| copy.at_ms)
            .max()
            .unwrap_or(at_ms);
        c.by_sku
            .retain(|_, copy| copy.levels.is_some() && newest - copy.at_ms < LEVELS_TTL_MS);
        if c.by_sku.len() >= MAX_SKUS {
            c.by_sku.clear();
        }
    }
    c.by_sku.insert(
        sku.to_string(),
        Copy {
            levels,
            at_ms,
            written,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(available: i64) -> StockLevels {
        StockLevels {
            on_hand: available,
            reserved: 0,
            sold: 0,
            available,
        }
    }

    #[test]
    fn a_copy_answers_for_a_second_then_reads_go_to_the_object() {
        let began = begin();
        remember("A-1", levels(5), began, 10_000);
        assert_eq!(fresh("A-1", 10_000), Some(levels(5)));
        assert_eq!(fresh("A-1", 10_999), Some(levels(5)));
        assert_eq!(fresh("A-1", 11_000), None, "a second old");
        assert_eq!(fresh("A-1", 9_999), None, "from the future");
        assert_eq!(fresh("B-1", 10_000), None);
    }

    #[test]
    fn a_write_replaces_the_copy_and_an_older_read_cannot_undo_it() {
        let began = begin();
        wrote("W-1", levels(3), 20_000);
        assert_eq!(fresh("W-1", 20_001), Some(levels(3)));
        // A read that began before the write ended answers late: not kept.
        remember("W-1", levels(9), began, 20_002);
        assert_eq!(fresh("W-1", 20_003), Some(levels(3)));
        // A read that began after it is.
        remember("W-1", levels(2), begin(), 20_004);
        assert_eq!(fresh("W-1", 20_005), Some(levels(2)));
    }

    #[test]
    fn a_change_not_seen_drops_the_copy_and_older_reads_stay_out() {
        let began = begin();
        remember("F-1", levels(4), began, 30_000);
        forget("F-1");
        assert_eq!(fresh("F-1", 30_001), None);
        remember("F-1", levels(4), began, 30_002);
        assert_eq!(fresh("F-1", 30_003), None, "read before the change");
        remember("F-1", levels(1), begin(), 30_004);
        assert_eq!(fresh("F-1", 30_005), Some(levels(1)));
    }

    #[test]
    fn copies_are_bounded() {
        for i in 0..(MAX_SKUS + 50) {
            remember(&format!("M-{i}"), levels(1), begin(), 40_000 + i as i64);
        }
        let n = COPIES.with(|c| c.borrow().by_sku.len());
        assert!(n <= MAX_SKUS, "{n} copies");
        assert_eq!(
            fresh(
                &format!("M-{}", MAX_SKUS + 49),
                40_000 + MAX_SKUS as i64 + 49
            ),
            Some(levels(1))
        );
    }
}
