//! Each store's state as this isolate last read it from its store object,
//! kept for [`STORE_STATE_TTL_MS`] so that a checkout no promotion concerns
//! ([`StoreState::counts_matter`]) is planned without reading the store
//! object again: one object round trip less per checkout, and the store's
//! one object (every checkout of the store goes through it) out of the hot
//! path.
//!
//! Consistency: a write through the store admin API in this isolate drops
//! the copy ([`forget`]), so this isolate's next checkout reads the store
//! again; other isolates plan with the configuration they read up to
//! [`STORE_STATE_TTL_MS`] before. A read that started before a write ends
//! is not kept ([`generation`]), so a copy is never older than the last
//! write this isolate made. Customers' redemption counts are never taken
//! from a copy ([`StoreState::for_copy`]).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use edgecart_domain::store::StoreState;

/// How long a copy of the store's state may plan checkouts.
pub const STORE_STATE_TTL_MS: i64 = 1_000;

#[derive(Default)]
struct Copy {
    /// Bumped by every write: a read that began under an older generation
    /// is not kept.
    generation: u64,
    /// By store id.
    states: BTreeMap<String, (Rc<StoreState>, i64)>,
}

thread_local! {
    static COPY: RefCell<Copy> = RefCell::new(Copy::default());
}

/// The generation a read beginning now belongs to (pass it to [`remember`]).
pub fn generation() -> u64 {
    COPY.with(|c| c.borrow().generation)
}

/// The copy of `store`'s state, if it was read less than
/// [`STORE_STATE_TTL_MS`] before `now_ms`.
pub fn fresh(store: &str, now_ms: i64) -> Option<Rc<StoreState>> {
    COPY.with(|c| {
        c.borrow()
            .states
            .get(store)
            .filter(|(_, at)| (0..STORE_STATE_TTL_MS).contains(&(now_ms - at)))
            .map(|(s, _)| s.clone())
    })
}

/// Keeps `state`, `store`'s state read at `read_at_ms` by a read that began
/// under `generation`, unless a write ended since.
pub fn remember(store: &str, state: &StoreState, generation: u64, read_at_ms: i64) {
    COPY.with(|c| {
        let mut c = c.borrow_mut();
        if c.generation == generation {
            let copy = Rc::new(state.clone().for_copy());
            c.states.insert(store.to_string(), (copy, read_at_ms));
        }
    });
}

/// Drops every copy: a store was written (or may have been).
pub fn forget() {
    COPY.with(|c| {
        let mut c = c.borrow_mut();
        c.generation += 1;
        c.states.clear();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgecart_domain::store::StoreConfig;

    fn state() -> StoreState {
        StoreState {
            config: StoreConfig::default_config(),
            promotions: Vec::new(),
        }
    }

    #[test]
    fn a_copy_lasts_its_ttl_and_a_write_drops_it() {
        forget();
        assert!(fresh("default", 0).is_none());
        remember("default", &state(), generation(), 1_000);
        assert!(fresh("default", 1_000).is_some());
        assert!(fresh("default", 1_999).is_some());
        assert!(fresh("bank", 1_500).is_none(), "a copy is one store's");
        assert!(fresh("default", 2_000).is_none(), "expired");
        assert!(fresh("default", 999).is_none(), "a clock gone backwards");
        forget();
        assert!(fresh("default", 1_500).is_none(), "dropped by a write");
    }

    #[test]
    fn a_read_that_began_before_a_write_is_not_kept() {
        forget();
        let began = generation();
        forget(); // a write ends while the read is under way
        remember("default", &state(), began, 0);
        assert!(fresh("default", 0).is_none());
        remember("default", &state(), generation(), 0);
        assert!(fresh("default", 0).is_some());
    }
}
