//! Idempotency keys, Stripe-style: a client sends a key with a request that
//! must not happen twice (placing an order); the first attempt records the
//! key with a fingerprint of the request and, once done, its response; a
//! retry with the same key and the same request gets that response again
//! instead of a second order.
//!
//! Decisions ([`begin`]), for a key that has a live record:
//! - another request (different fingerprint) → [`Begin::Mismatch`];
//! - finished → [`Begin::Replay`] of the recorded response;
//! - still running within its lease → [`Begin::InProgress`];
//! - still running past its lease → [`Begin::Start`]: the attempt is taken
//!   to have crashed and may be resumed (the work it guards must itself be
//!   safe to resume, e.g. stock operations with their own ids).
//!
//! Retention: a record must answer retries for at least 24 hours; it is
//! kept [`RETENTION_MS`] = 25 hours after it was last written (created or
//! completed), the extra hour covering clock skew between Worker isolates
//! and a retry sent right at the 24th hour.
//!
//! The response is stored as opaque data of the caller's type `R` (checkout
//! stores its typed answer), which this module never interprets; it is
//! flattened into the record's `completed` state.
//!
//! What this module must not do: store anything, read a clock, compute a
//! response, or know what a response means.

use crate::records::fnv1a64;
use serde::{Deserialize, Serialize};

/// How long a record is kept after its last write (25 h; see the module doc).
pub const RETENTION_MS: i64 = 25 * 3600 * 1000;

/// Longest key, in bytes.
pub const KEY_MAX: usize = 255;

/// What the key's first attempt is doing, or did. `R` is the response, as
/// the caller stores it: its fields sit next to `completed_at_ms` (through
/// `flatten`, so unknown fields there are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum IdempotencyState<R> {
    /// Running since `started_at_ms`.
    InProgress { started_at_ms: i64 },
    /// Finished with this response (opaque to this module).
    Completed {
        #[serde(flatten)]
        response: R,
        completed_at_ms: i64,
    },
}

/// One idempotency key as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencyRecord<R> {
    pub key: String,
    /// The caller's [`fingerprint`] of the request (method, path, body).
    pub fingerprint: String,
    pub state: IdempotencyState<R>,
    pub created_at_ms: i64,
}

/// What to do with a request that carries an idempotency key.
#[derive(Debug, PartialEq, Eq)]
pub enum Begin<'a, R> {
    /// Do the work: record [`IdempotencyRecord::in_progress`] first.
    Start,
    /// Done before: answer with this response again.
    Replay(&'a R),
    /// The key was used for another request: refuse.
    Mismatch,
    /// The first attempt is still running: ask the client to retry later.
    InProgress,
}

// Copy whatever `R` is: a decision only borrows the response.
impl<R> Clone for Begin<'_, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R> Copy for Begin<'_, R> {}

/// Why a key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyError {
    Empty,
    /// Longer than [`KEY_MAX`] bytes.
    TooLong,
    /// A character outside visible ASCII (`!` to `~`).
    InvalidCharacter,
}

/// A key as sent: 1–255 visible ASCII characters (no spaces), kept exactly.
pub fn parse_key(key: &str) -> Result<String, KeyError> {
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(KeyError::InvalidCharacter);
    }
    if key.len() > KEY_MAX {
        return Err(KeyError::TooLong);
    }
    Ok(key.to_string())
}

/// A fingerprint of a request from its parts (method, path, body…): FNV-1a
/// 64 ([`fnv1a64`]) over each part preceded by its length, so parts cannot
/// run into each other (`["ab", "c"]` ≠ `["a", "bc"]`), as 16 hex digits.
/// Deterministic across builds and platforms. Not a security boundary: a
/// collision could only make a client's own key replay its own response.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut bytes = Vec::with_capacity(parts.iter().map(|p| p.len() + 8).sum());
    for part in parts {
        bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
        bytes.extend_from_slice(part);
    }
    format!("{:016x}", fnv1a64(&bytes))
}

impl<R> IdempotencyRecord<R> {
    /// The record of an attempt starting at `now_ms`.
    pub fn in_progress(key: &str, fingerprint: &str, now_ms: i64) -> Self {
        IdempotencyRecord {
            key: key.to_string(),
            fingerprint: fingerprint.to_string(),
            state: IdempotencyState::InProgress {
                started_at_ms: now_ms,
            },
            created_at_ms: now_ms,
        }
    }

    /// The same record, finished with `response` at `now_ms`.
    pub fn completed(self, response: R, now_ms: i64) -> Self {
        IdempotencyRecord {
            state: IdempotencyState::Completed {
                response,
                completed_at_ms: now_ms,
            },
            ..self
        }
    }

    /// The response, once the first attempt finished.
    pub fn response(&self) -> Option<&R> {
        match &self.state {
            IdempotencyState::Completed { response, .. } => Some(response),
            IdempotencyState::InProgress { .. } => None,
        }
    }

    /// When the record was last written.
    fn last_written_ms(&self) -> i64 {
        match self.state {
            IdempotencyState::InProgress { started_at_ms } => started_at_ms.max(self.created_at_ms),
            IdempotencyState::Completed {
                completed_at_ms, ..
            } => completed_at_ms.max(self.created_at_ms),
        }
    }

    /// When the record may be forgotten.
    pub fn expires_at_ms(&self) -> i64 {
        self.last_written_ms().saturating_add(RETENTION_MS)
    }
}

/// Whether `record` is past its retention at `now_ms` and may be deleted
/// (and no longer answers retries).
pub fn expired<R>(record: &IdempotencyRecord<R>, now_ms: i64) -> bool {
    now_ms >= record.expires_at_ms()
}

/// What to do with a request carrying `key` and `fingerprint` at `now_ms`,
/// given the record stored under the key, if any. An attempt in progress
/// holds the key for `lease_ms` from its start. A record that has expired,
/// or that belongs to another key, counts as no record.
pub fn begin<'a, R>(
    existing: Option<&'a IdempotencyRecord<R>>,
    key: &str,
    fingerprint: &str,
    now_ms: i64,
    lease_ms: i64,
) -> Begin<'a, R> {
    let Some(record) = existing.filter(|r| r.key == key && !expired(r, now_ms)) else {
        return Begin::Start;
    };
    if record.fingerprint != fingerprint {
        return Begin::Mismatch;
    }
    match &record.state {
        IdempotencyState::Completed { response, .. } => Begin::Replay(response),
        IdempotencyState::InProgress { started_at_ms }
            if now_ms < started_at_ms.saturating_add(lease_ms) =>
        {
            Begin::InProgress
        }
        IdempotencyState::InProgress { .. } => Begin::Start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_700_000_000_000;
    const LEASE: i64 = 30_000;

    /// A response as a caller might store it.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Response {
        status: u16,
        body: String,
    }

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            body: body.into(),
        }
    }

    type Record = IdempotencyRecord<Response>;

    #[test]
    fn a_new_key_starts_then_runs_then_replays() {
        let fp = fingerprint(&[b"POST", b"/v1/checkout", b"{}"]);
        assert_eq!(begin::<Response>(None, "k1", &fp, T0, LEASE), Begin::Start);
        let running = Record::in_progress("k1", &fp, T0);
        assert_eq!(
            begin(Some(&running), "k1", &fp, T0 + 1, LEASE),
            Begin::InProgress
        );
        assert_eq!(
            begin(Some(&running), "k1", &fp, T0 + LEASE - 1, LEASE),
            Begin::InProgress
        );
        // The lease ran out: the attempt crashed and may be resumed.
        assert_eq!(
            begin(Some(&running), "k1", &fp, T0 + LEASE, LEASE),
            Begin::Start
        );
        let done = running.completed(response(201, r#"{"order":"ord_1"}"#), T0 + 500);
        assert_eq!(
            begin(Some(&done), "k1", &fp, T0 + 10 * LEASE, LEASE),
            Begin::Replay(&response(201, r#"{"order":"ord_1"}"#))
        );
        assert_eq!(
            done.response(),
            Some(&response(201, r#"{"order":"ord_1"}"#))
        );
        assert_eq!(done.created_at_ms, T0);
    }

    #[test]
    fn another_request_under_the_same_key_is_a_mismatch() {
        let fp = fingerprint(&[b"POST", b"/v1/checkout", b"{\"a\":1}"]);
        let other = fingerprint(&[b"POST", b"/v1/checkout", b"{\"a\":2}"]);
        let running = Record::in_progress("k1", &fp, T0);
        assert_eq!(
            begin(Some(&running), "k1", &other, T0, LEASE),
            Begin::Mismatch
        );
        let done = running.completed(response(400, "no"), T0);
        assert_eq!(begin(Some(&done), "k1", &other, T0, LEASE), Begin::Mismatch);
        // A record under another key is not this key's.
        assert_eq!(begin(Some(&done), "k2", &other, T0, LEASE), Begin::Start);
    }

    #[test]
    fn records_are_kept_25_hours_after_their_last_write() {
        assert_eq!(RETENTION_MS, 90_000_000);
        let fp = fingerprint(&[b"x"]);
        let done = Record::in_progress("k", &fp, T0).completed(response(200, "ok"), T0 + 1_000);
        assert_eq!(done.expires_at_ms(), T0 + 1_000 + RETENTION_MS);
        assert!(!expired(&done, T0 + 24 * 3600 * 1000));
        assert!(!expired(&done, T0 + 1_000 + RETENTION_MS - 1));
        assert!(expired(&done, T0 + 1_000 + RETENTION_MS));
        assert_eq!(
            begin(Some(&done), "k", &fp, T0 + 1_000 + RETENTION_MS, LEASE),
            Begin::Start,
            "an expired record no longer answers"
        );
        assert_eq!(
            begin(Some(&done), "k", "other", T0 + 1_000 + RETENTION_MS, LEASE),
            Begin::Start,
            "nor refuses"
        );
        let running = Record::in_progress("k", &fp, T0);
        assert!(expired(&running, T0 + RETENTION_MS));
    }

    #[test]
    fn keys_are_visible_ascii_up_to_255_bytes() {
        assert_eq!(
            parse_key("order-2026-11-21_abc").as_deref(),
            Ok("order-2026-11-21_abc")
        );
        assert_eq!(parse_key("!~").as_deref(), Ok("!~"));
        assert!(parse_key(&"k".repeat(255)).is_ok());
        assert_eq!(parse_key(""), Err(KeyError::Empty));
        assert_eq!(parse_key(&"k".repeat(256)), Err(KeyError::TooLong));
        for bad in ["a b", "tab\there", "naïve", "line\n", "\u{7f}"] {
            assert_eq!(parse_key(bad), Err(KeyError::InvalidCharacter), "{bad:?}");
        }
    }

    #[test]
    fn fingerprints_are_stable_and_separate_parts() {
        // FNV-1a 64 of nothing is its offset basis.
        assert_eq!(fingerprint(&[]), "cbf29ce484222325");
        let a = fingerprint(&[b"POST", b"/v1/checkout", b"{}"]);
        assert_eq!(a, fingerprint(&[b"POST", b"/v1/checkout", b"{}"]));
        assert_eq!(a.len(), 16);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(fingerprint(&[b"ab", b"c"]), fingerprint(&[b"a", b"bc"]));
        assert_ne!(fingerprint(&[b"", b"x"]), fingerprint(&[b"x", b""]));
        assert_ne!(fingerprint(&[b"x"]), fingerprint(&[b"x", b""]));
    }

    #[test]
    fn records_round_trip_and_refuse_unknown_fields() {
        let done = Record::in_progress("k", "f", 1).completed(response(201, "{}"), 2);
        let json = serde_json::to_string(&done).unwrap();
        assert_eq!(
            json,
            r#"{"key":"k","fingerprint":"f","state":{"state":"completed","status":201,"body":"{}","completed_at_ms":2},"created_at_ms":1}"#
        );
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), done);
        let running = serde_json::to_string(&Record::in_progress("k", "f", 1)).unwrap();
        assert!(running.contains(r#"{"state":"in_progress","started_at_ms":1}"#));
        assert!(serde_json::from_str::<Record>(
            &json.replace(r#""created_at_ms""#, r#""headers":1,"created_at_ms""#)
        )
        .is_err());
        // Inside the completed state the response's fields are flattened:
        // serde cannot refuse unknown ones there.
        assert!(serde_json::from_str::<Record>(
            &json.replace(r#""body""#, r#""headers":1,"body""#)
        )
        .is_ok());
    }

    proptest! {
        /// Whatever the record, a request whose fingerprint differs from a
        /// live record's is never started or replayed, and a live completed
        /// record always replays its own response.
        #[test]
        fn begin_never_mixes_requests(
            fp in "[a-f0-9]{4}",
            other in "[a-f0-9]{4}",
            started in 0i64..1_000,
            done_after in prop::option::of(0i64..1_000),
            now in 0i64..200_000_000,
            lease in 1i64..100_000,
        ) {
            let mut r = Record::in_progress("k", &fp, started);
            if let Some(d) = done_after {
                r = r.completed(response(200, "body"), started + d);
            }
            let live = !expired(&r, now);
            let outcome = begin(Some(&r), "k", &other, now, lease);
            if live && fp != other {
                prop_assert_eq!(outcome, Begin::Mismatch);
            }
            if live && fp == other && done_after.is_some() {
                prop_assert_eq!(outcome, Begin::Replay(&response(200, "body")));
            }
            if !live {
                prop_assert_eq!(outcome, Begin::Start);
            }
        }
    }
}
