//! Members: the people a store's operator signs in, and the claims of the
//! token (a JWT) the operator's site signs for one. Edgecart never
//! authenticates members itself: it verifies the token's signature (in the
//! Worker, with a JWT library) and then these rules, which take the time
//! as an argument.
//!
//! A token is admitted for store `s` at time `now` when:
//! - `aud` is `s` (a string, or an array that contains it);
//! - `exp` is after `now - SKEW_S` (required);
//! - `nbf`, if present, is at or before `now + SKEW_S`;
//! - `sub`, the member id, is 1 to 64 letters, digits, `.`, `_`, `-`, `@`
//!   or `+` (so it can name the member's ledger object).

use serde::{Deserialize, Serialize};

/// Clock skew allowed between the signer and the edge, in seconds.
pub const SKEW_S: i64 = 60;

/// The claims Edgecart reads from a member token (others are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MemberClaims {
    pub sub: Option<String>,
    pub aud: Option<Audience>,
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
}

/// `aud`: one audience or several.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, store: &str) -> bool {
        match self {
            Audience::One(a) => a == store,
            Audience::Many(all) => all.iter().any(|a| a == store),
        }
    }
}

/// Why a member token's claims are refused (each answers 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRefusal {
    /// No `exp`, or it has passed.
    Expired,
    /// `nbf` is still ahead.
    NotYetValid,
    /// `aud` does not name this store.
    WrongAudience,
    /// No `sub`, or not a member id.
    BadSubject,
}

/// A P-256 public key as a JWK (RFC 7518 6.2): what a store's member
/// tokens are verified with under ES256. Only its shape is checked here;
/// the Worker decodes the point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}])))]
#[serde(deny_unknown_fields)]
pub struct PublicJwk {
    #[cfg_attr(feature = "openapi", schemars(extend("const" = "EC")))]
    pub kty: String,
    #[cfg_attr(feature = "openapi", schemars(extend("const" = "P-256")))]
    pub crv: String,
    /// The point's x coordinate, base64url without padding.
    #[cfg_attr(feature = "openapi", schemars(regex(pattern = r"^[A-Za-z0-9_-]{43}$")))]
    pub x: String,
    /// The point's y coordinate, base64url without padding.
    #[cfg_attr(feature = "openapi", schemars(regex(pattern = r"^[A-Za-z0-9_-]{43}$")))]
    pub y: String,
}

impl PublicJwk {
    /// Whether it has the shape of a P-256 public key.
    pub fn is_valid(&self) -> bool {
        let coordinate = |c: &str| {
            c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        self.kty == "EC" && self.crv == "P-256" && coordinate(&self.x) && coordinate(&self.y)
    }
}

/// Whether `s` can be a member id.
pub fn is_member_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@+".contains(&b))
}

/// The member a token's claims sign in at store `store` at `now_s`
/// (seconds since the Unix epoch), or why not.
pub fn admit(claims: &MemberClaims, store: &str, now_s: i64) -> Result<String, MemberRefusal> {
    if claims.exp.is_none_or(|exp| exp <= now_s - SKEW_S) {
        return Err(MemberRefusal::Expired);
    }
    if claims.nbf.is_some_and(|nbf| nbf > now_s + SKEW_S) {
        return Err(MemberRefusal::NotYetValid);
    }
    if !claims.aud.as_ref().is_some_and(|a| a.contains(store)) {
        return Err(MemberRefusal::WrongAudience);
    }
    match &claims.sub {
        Some(sub) if is_member_id(sub) => Ok(sub.clone()),
        _ => Err(MemberRefusal::BadSubject),
    }
}

/// The name of a member's points ledger object in a store.
pub fn ledger_name(store: &str, member: &str) -> String {
    format!("points:{store}:{member}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: &str) -> MemberClaims {
        serde_json::from_str(json).unwrap()
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn admission_table() {
        let table: &[(&str, Result<&str, MemberRefusal>)] = &[
            (r#"{"sub":"m-1","aud":"bank","exp":1800000600}"#, Ok("m-1")),
            (
                r#"{"sub":"m-1","aud":["shop","bank"],"exp":1800000600,"nbf":1799999000}"#,
                Ok("m-1"),
            ),
            // Within the skew either way.
            (
                r#"{"sub":"a@b.c","aud":"bank","exp":1799999950,"nbf":1800000050}"#,
                Ok("a@b.c"),
            ),
            (
                r#"{"sub":"m-1","aud":"bank","exp":1799999940}"#,
                Err(MemberRefusal::Expired),
            ),
            (r#"{"sub":"m-1","aud":"bank"}"#, Err(MemberRefusal::Expired)),
            (
                r#"{"sub":"m-1","aud":"bank","exp":1800000600,"nbf":1800000061}"#,
                Err(MemberRefusal::NotYetValid),
            ),
            (
                r#"{"sub":"m-1","aud":"shop","exp":1800000600}"#,
                Err(MemberRefusal::WrongAudience),
            ),
            (
                r#"{"sub":"m-1","aud":["shop"],"exp":1800000600}"#,
                Err(MemberRefusal::WrongAudience),
            ),
            (
                r#"{"sub":"m-1","exp":1800000600}"#,
                Err(MemberRefusal::WrongAudience),
            ),
            (
                r#"{"aud":"bank","exp":1800000600}"#,
                Err(MemberRefusal::BadSubject),
            ),
            (
                r#"{"sub":"a/b","aud":"bank","exp":1800000600}"#,
                Err(MemberRefusal::BadSubject),
            ),
            (
                r#"{"sub":"","aud":"bank","exp":1800000600}"#,
                Err(MemberRefusal::BadSubject),
            ),
        ];
        for (json, want) in table {
            let got = admit(&claims(json), "bank", NOW);
            assert_eq!(got.as_deref().map_err(|e| *e), *want, "{json}");
        }
        assert!(!is_member_id(&"x".repeat(65)));
        assert_eq!(ledger_name("bank", "m-1"), "points:bank:m-1");
    }
}
