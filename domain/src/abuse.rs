//! Abuse controls as rules: who a client is, and how many strikes
//! (declined payments, failed admin sign-ins) a client, a cart or a card
//! may collect in a window before it is refused.
//!
//! Request rates are counted by the platform's rate-limiting binding (the
//! Worker's `limits` module); what is here needs memory the binding does
//! not have: a strike must block the *next* attempt before it is made, so
//! it is kept, and read, by the strike's own key.
//!
//! What this module must not do: read a clock (times are passed in) or
//! know where strikes are stored.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::net::IpAddr;

/// The key all clients without a readable address share.
pub const UNKNOWN_CLIENT: &str = "unknown";

/// The client a request comes from, as a key: its address as the edge saw
/// it (`CF-Connecting-IP`, which Cloudflare sets and a client cannot
/// forge). An IPv4 address counts whole; an IPv6 one by its /64 network,
/// which one subscriber's devices share and within which a client can take
/// any address it likes. An absent or unreadable address is
/// [`UNKNOWN_CLIENT`].
pub fn client_key(address: Option<&str>) -> String {
    match address
        .map(str::trim)
        .and_then(|a| a.parse::<IpAddr>().ok())
    {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => UNKNOWN_CLIENT.to_string(),
    }
}

/// How many strikes within how long block further attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrikePolicy {
    /// Strikes within `window_ms` that block: the attempt after the
    /// `max`-th is refused.
    pub max: u32,
    pub window_ms: i64,
}

/// The strikes one key collected, newest last. At most `max` are kept
/// (older ones cannot matter: a block lasts until the `max`-th newest
/// leaves the window), so the memory of a key is bounded however many
/// strikes it collects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strikes {
    at_ms: VecDeque<i64>,
}

impl Strikes {
    /// Whether no strike was ever kept.
    pub fn is_empty(&self) -> bool {
        self.at_ms.is_empty()
    }

    /// Records a strike at `now_ms`, forgetting those that no longer count.
    pub fn record(&mut self, now_ms: i64, policy: StrikePolicy) {
        self.forget(now_ms, policy);
        self.at_ms.push_back(now_ms);
        while self.at_ms.len() > policy.max.max(1) as usize {
            self.at_ms.pop_front();
        }
    }

    /// Until when (ms) attempts are refused at `now_ms`, if they are: `max`
    /// strikes within the window block until the oldest of them leaves it.
    pub fn blocked_until(&self, now_ms: i64, policy: StrikePolicy) -> Option<i64> {
        let live: Vec<i64> = self
            .at_ms
            .iter()
            .copied()
            .filter(|at| now_ms - at < policy.window_ms)
            .collect();
        if policy.max == 0 || live.len() < policy.max as usize {
            return None;
        }
        live.first().map(|oldest| oldest + policy.window_ms)
    }

    /// Strikes still within the window at `now_ms`.
    pub fn count(&self, now_ms: i64, policy: StrikePolicy) -> usize {
        self.at_ms
            .iter()
            .filter(|at| now_ms - **at < policy.window_ms)
            .count()
    }

    /// Whether nothing is left to remember at `now_ms` (the row can go).
    pub fn is_spent(&self, now_ms: i64, policy: StrikePolicy) -> bool {
        self.count(now_ms, policy) == 0
    }

    fn forget(&mut self, now_ms: i64, policy: StrikePolicy) {
        while self
            .at_ms
            .front()
            .is_some_and(|at| now_ms - at >= policy.window_ms)
        {
            self.at_ms.pop_front();
        }
    }
}

/// How many objects keep one store's strikes of one kind: every key's
/// strikes live in exactly one of them ([`strike_shard`]), so a check is
/// exact, and a checkout never creates an object for a new client or cart.
pub const STRIKE_SHARDS: u32 = 16;

/// The shard keeping `key`'s strikes: a fixed hash (FNV-1a), so every
/// isolate, everywhere, finds a key in the same shard.
pub fn strike_shard(key: &str) -> u32 {
    (crate::records::fnv1a64(key.as_bytes()) % u64::from(STRIKE_SHARDS)) as u32
}

/// When a row of `strikes` may be deleted: once its newest strike left the
/// window, nothing in it counts. `None` for no strikes.
pub fn spent_at(strikes: &Strikes, policy: StrikePolicy) -> Option<i64> {
    strikes.at_ms.back().map(|newest| newest + policy.window_ms)
}

/// Seconds to tell a client to wait (`Retry-After`) until `until_ms`: at
/// least 1, rounded up.
pub fn retry_after_secs(now_ms: i64, until_ms: i64) -> u64 {
    let ms = (until_ms - now_ms).max(1);
    ms.div_euclid(1000) as u64 + u64::from(ms.rem_euclid(1000) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const POLICY: StrikePolicy = StrikePolicy {
        max: 3,
        window_ms: 60_000,
    };

    #[test]
    fn a_key_always_lives_in_the_same_shard_and_keys_spread_over_all() {
        assert_eq!(strike_shard("203.0.113.7"), strike_shard("203.0.113.7"));
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..1_000 {
            let shard = strike_shard(&format!("10.0.{}.{}", i / 256, i % 256));
            assert!(shard < STRIKE_SHARDS);
            seen.insert(shard);
        }
        assert_eq!(seen.len() as u32, STRIKE_SHARDS);
    }

    #[test]
    fn a_row_is_spent_a_window_after_its_newest_strike() {
        let mut s = Strikes::default();
        assert_eq!(spent_at(&s, POLICY), None);
        s.record(1_000, POLICY);
        s.record(5_000, POLICY);
        assert_eq!(spent_at(&s, POLICY), Some(65_000));
        assert!(!s.is_spent(64_999, POLICY));
        assert!(s.is_spent(65_000, POLICY));
    }

    #[test]
    fn a_client_is_its_ipv4_address_or_its_ipv6_network() {
        assert_eq!(client_key(Some("203.0.113.7")), "203.0.113.7");
        assert_eq!(client_key(Some(" 203.0.113.7 ")), "203.0.113.7");
        let a = client_key(Some("2001:db8:1:2:aaaa::1"));
        let b = client_key(Some("2001:0db8:0001:0002:ffff:1:2:3"));
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b, "one /64 is one client");
        assert_ne!(a, client_key(Some("2001:db8:1:3::1")));
        assert_eq!(client_key(Some("::ffff:198.51.100.4")), "198.51.100.4");
        for junk in [None, Some(""), Some("localhost"), Some("1.2.3.4, 5.6.7.8")] {
            assert_eq!(client_key(junk), UNKNOWN_CLIENT);
        }
    }

    #[test]
    fn the_attempt_after_the_max_th_strike_in_the_window_is_refused_until_the_oldest_leaves_it() {
        let mut s = Strikes::default();
        s.record(1_000, POLICY);
        s.record(2_000, POLICY);
        assert_eq!(s.blocked_until(2_000, POLICY), None);
        s.record(3_000, POLICY);
        assert_eq!(s.blocked_until(3_000, POLICY), Some(61_000));
        assert_eq!(s.blocked_until(60_999, POLICY), Some(61_000));
        assert_eq!(
            s.blocked_until(61_000, POLICY),
            None,
            "the first strike left the window"
        );
        // More strikes while blocked push the end out to the max-th newest.
        s.record(10_000, POLICY);
        assert_eq!(s.blocked_until(10_000, POLICY), Some(62_000));
        assert!(!s.is_spent(69_999, POLICY));
        assert!(s.is_spent(70_000, POLICY));
    }

    #[test]
    fn a_zero_max_never_blocks() {
        let mut s = Strikes::default();
        let off = StrikePolicy {
            max: 0,
            window_ms: 1_000,
        };
        s.record(0, off);
        assert_eq!(s.blocked_until(0, off), None);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(0, 1), 1);
        assert_eq!(retry_after_secs(0, 1_000), 1);
        assert_eq!(retry_after_secs(0, 1_001), 2);
        assert_eq!(retry_after_secs(5_000, 1_000), 1);
    }

    proptest! {
        /// Whatever the sequence, a key keeps at most `max` strikes, and it
        /// is blocked exactly when `max` of all its strikes are within the
        /// window.
        #[test]
        fn memory_is_bounded_and_blocking_matches_a_full_count(
            steps in prop::collection::vec(0i64..40_000, 1..200),
            max in 1u32..6,
        ) {
            let policy = StrikePolicy { max, window_ms: 60_000 };
            let mut s = Strikes::default();
            let mut all = Vec::new();
            let mut now = 0;
            for step in steps {
                now += step;
                s.record(now, policy);
                all.push(now);
                prop_assert!(s.at_ms.len() <= max as usize);
                let probe = now + step / 2;
                let live: Vec<i64> = all.iter().copied().filter(|a| probe - a < policy.window_ms).collect();
                let expected = (live.len() >= max as usize)
                    .then(|| live[live.len() - max as usize] + policy.window_ms);
                prop_assert_eq!(s.blocked_until(probe, policy), expected);
            }
        }
    }
}
