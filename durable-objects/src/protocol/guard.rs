//! The strike counters of abuse controls, e.g. the declined payments of
//! clients, carts or cards (see `edgecart_domain::abuse`): a store's keys of
//! one kind spread over `STRIKE_SHARDS` objects, each key in one of them.
//! Named by [`name`].

use super::{bind, Never, Protocol};
use edgecart_domain::abuse::StrikePolicy;
use serde::{Deserialize, Serialize};

/// The object keeping the strikes of `key` (a client key, a cart id, a
/// card's token) of `kind` (`client`, `cart`, `card`) in `store`: the
/// key's shard, so that a new key is a row, never a new object.
pub fn name(store: &str, kind: &str, key: &str) -> String {
    format!(
        "{store}:{kind}:{:02}",
        edgecart_domain::abuse::strike_shard(key)
    )
}

/// A command to a strike counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum GuardCommand {
    Check(Check),
    Strike(Strike),
}

impl Protocol for GuardCommand {
    const BINDING: &'static str = "GUARDS";
    type Refusal = Never;
}

bind!(GuardCommand {
    Check => Verdict,
    Strike => Verdict,
});

/// Whether attempts of `key` are refused now, under `policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub key: String,
    pub policy: StrikePolicy,
}

/// Records a strike of `key` now, under `policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strike {
    pub key: String,
    pub policy: StrikePolicy,
}

/// The key's strikes within the window now, and until when attempts are
/// refused (absent: they are not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub strikes: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_until_ms: Option<i64>,
}
