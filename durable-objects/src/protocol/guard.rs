//! The strike counters of abuse controls: one object per (store, kind,
//! key), e.g. the declined payments of one client, cart or card (see
//! `edgecart_domain::abuse`). Named by [`name`].

use super::{bind, Never, Protocol};
use edgecart_domain::abuse::StrikePolicy;
use serde::{Deserialize, Serialize};

/// The object keeping the strikes of `key` (a client key, a cart id, a
/// card's token) of `kind` (`client`, `cart`, `card`) in `store`.
pub fn name(store: &str, kind: &str, key: &str) -> String {
    format!("{store}:{kind}:{key}")
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

/// Whether attempts are refused now, under `policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub policy: StrikePolicy,
}

/// Records a strike now, under `policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strike {
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
