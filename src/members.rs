//! Member tokens: the operator's site signs a JWT for a member; the Worker
//! verifies it here with `jwt-compact` (pure Rust, builds for wasm32,
//! takes the time as an argument), then admits its claims by the domain's
//! rules (`edgecart_domain::member`).
//!
//! A store's keys:
//! - HS256: a secret per store, in the Worker secret
//!   `MEMBER_TOKEN_SECRETS` (comma-separated `store:secret` entries, each
//!   secret at least 32 characters);
//! - ES256: a P-256 public key per store, as a JWK.
//!
//! The token's `alg` must be one the store has a key for (`none` and
//! every other algorithm are refused), its signature must verify, and its
//! claims must be admitted for the store at the request's time.

use edgecart_domain::member::{admit, Audience, MemberClaims, MemberRefusal};
use jwt_compact::alg::{Es256, Hs256, Hs256Key};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{AlgorithmExt, Claims, UntrustedToken};
use serde::Deserialize;

/// Shortest accepted HS256 secret.
pub const SECRET_MIN: usize = 32;

/// One key a store's member tokens may be signed with.
pub enum MemberKey {
    Hs256(Hs256Key),
    Es256(Box<p256::ecdsa::VerifyingKey>),
}

impl MemberKey {
    /// An HS256 key from its secret.
    pub fn hs256(secret: &str) -> Self {
        MemberKey::Hs256(Hs256Key::new(secret.as_bytes()))
    }

    /// An ES256 key from a public JWK (`{"kty":"EC","crv":"P-256","x":…,"y":…}`).
    pub fn es256(jwk: &str) -> Result<Self, String> {
        let jwk: JsonWebKey<'_> =
            serde_json::from_str(jwk).map_err(|e| format!("not a JWK: {e}"))?;
        let key = p256::ecdsa::VerifyingKey::try_from(&jwk)
            .map_err(|e| format!("not a P-256 public key: {e}"))?;
        Ok(MemberKey::Es256(Box::new(key)))
    }

    fn alg(&self) -> &'static str {
        match self {
            MemberKey::Hs256(_) => "HS256",
            MemberKey::Es256(_) => "ES256",
        }
    }
}

/// The claims besides the times, which `jwt-compact` reads itself.
#[derive(Clone, Deserialize)]
struct Named {
    sub: Option<String>,
    aud: Option<Audience>,
}

/// Why a member token is refused (each answers 401).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Not a JWT, or its parts do not decode.
    Malformed,
    /// An algorithm the store has no key for.
    Algorithm,
    /// The signature does not verify (or the claims do not decode).
    Signature,
    Claims(MemberRefusal),
}

/// The member `token` signs in at `store` at `now_s`, if one of `keys`
/// verifies it and its claims are admitted.
pub fn verify(
    token: &str,
    keys: &[MemberKey],
    store: &str,
    now_s: i64,
) -> Result<String, TokenRefusal> {
    let untrusted = UntrustedToken::new(token).map_err(|_| TokenRefusal::Malformed)?;
    let key = keys
        .iter()
        .find(|k| k.alg() == untrusted.algorithm())
        .ok_or(TokenRefusal::Algorithm)?;
    let claims: Claims<Named> = match key {
        MemberKey::Hs256(k) => Hs256
            .validator::<Named>(k)
            .validate(&untrusted)
            .map(|t| t.claims().clone()),
        MemberKey::Es256(k) => Es256
            .validator::<Named>(k.as_ref())
            .validate(&untrusted)
            .map(|t| t.claims().clone()),
    }
    .map_err(|_| TokenRefusal::Signature)?;
    let member = MemberClaims {
        sub: claims.custom.sub,
        aud: claims.custom.aud,
        exp: claims.expiration.map(|t| t.timestamp()),
        nbf: claims.not_before.map(|t| t.timestamp()),
    };
    admit(&member, store, now_s).map_err(TokenRefusal::Claims)
}

/// The keys store `store`'s member tokens verify with: its HS256 secret
/// from `secrets` (the deployment's), and the ES256 public key its points
/// programme names (a key that does not decode is left out, logged).
pub fn keys_for(
    store: &str,
    secrets: &[(String, String)],
    jwk: Option<&edgecart_domain::member::PublicJwk>,
) -> Vec<MemberKey> {
    let mut keys: Vec<MemberKey> = secrets
        .iter()
        .filter(|(s, _)| s == store)
        .map(|(_, secret)| MemberKey::hs256(secret))
        .collect();
    if let Some(jwk) = jwk {
        match serde_json::to_string(jwk)
            .map_err(|e| e.to_string())
            .and_then(|text| MemberKey::es256(&text))
        {
            Ok(key) => keys.push(key),
            Err(e) => worker::console_error!("store {store}: member key unusable: {e}"),
        }
    }
    keys
}

/// A member token for `member` at `store`, signed HS256 with `secret`,
/// valid until `exp_s`: what the development sign-in hands out.
pub fn sign_hs256(secret: &str, member: &str, store: &str, exp_s: i64) -> Result<String, String> {
    #[derive(serde::Serialize)]
    struct Out<'a> {
        sub: &'a str,
        aud: &'a str,
    }
    let mut claims = Claims::new(Out {
        sub: member,
        aud: store,
    });
    claims.expiration = chrono::DateTime::from_timestamp(exp_s, 0);
    Hs256
        .token(
            &jwt_compact::Header::empty(),
            &claims,
            &Hs256Key::new(secret.as_bytes()),
        )
        .map_err(|e| format!("signing a member token: {e}"))
}

/// The HS256 secret of each store, from `MEMBER_TOKEN_SECRETS`
/// (`store:secret` entries); `Err` names the first bad entry.
pub fn parse_secrets(raw: &str) -> Result<Vec<(String, String)>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (store, secret) = entry
                .split_once(':')
                .ok_or_else(|| "an entry is not store:secret".to_string())?;
            if !edgecart_domain::stores::is_store_id(store) {
                return Err(format!("{store:?} is not a store id"));
            }
            if secret.len() < SECRET_MIN {
                return Err(format!(
                    "the secret of {store} is shorter than {SECRET_MIN}"
                ));
            }
            Ok((store.to_string(), secret.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jwt_compact::Header;
    use serde::Serialize;

    const NOW: i64 = 1_800_000_000;
    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[derive(Serialize)]
    struct Out<'a> {
        sub: &'a str,
        aud: &'a str,
    }

    fn claims(sub: &str, aud: &str, exp: i64) -> Claims<Out<'static>> {
        let sub: &'static str = Box::leak(sub.to_string().into_boxed_str());
        let aud: &'static str = Box::leak(aud.to_string().into_boxed_str());
        let mut c = Claims::new(Out { sub, aud });
        c.expiration = chrono::DateTime::from_timestamp(exp, 0);
        c
    }

    fn hs(secret: &str, c: &Claims<Out<'_>>) -> String {
        Hs256
            .token(&Header::empty(), c, &Hs256Key::new(secret.as_bytes()))
            .unwrap()
    }

    #[test]
    fn the_development_sign_in_signs_what_verify_admits() {
        let token = sign_hs256(SECRET, "demo-member", "bank", NOW + 600).unwrap();
        let keys = keys_for("bank", &[("bank".into(), SECRET.into())], None);
        assert_eq!(verify(&token, &keys, "bank", NOW), Ok("demo-member".into()));
        assert!(keys_for("shop", &[("bank".into(), SECRET.into())], None).is_empty());
    }

    #[test]
    fn hs256_tokens_sign_members_in_at_their_store_only() {
        let keys = [MemberKey::hs256(SECRET)];
        let ok = hs(SECRET, &claims("m-1", "bank", NOW + 600));
        assert_eq!(verify(&ok, &keys, "bank", NOW), Ok("m-1".into()));
        assert_eq!(
            verify(&ok, &keys, "shop", NOW),
            Err(TokenRefusal::Claims(MemberRefusal::WrongAudience))
        );
        let expired = hs(SECRET, &claims("m-1", "bank", NOW - 120));
        assert_eq!(
            verify(&expired, &keys, "bank", NOW),
            Err(TokenRefusal::Claims(MemberRefusal::Expired))
        );
        let forged = hs(
            "fedcba9876543210fedcba9876543210",
            &claims("m-1", "bank", NOW + 600),
        );
        assert_eq!(
            verify(&forged, &keys, "bank", NOW),
            Err(TokenRefusal::Signature)
        );
        // A token whose signature was cut, or that names another algorithm.
        let cut = ok.rsplit_once('.').unwrap().0.to_string() + ".";
        assert!(verify(&cut, &keys, "bank", NOW).is_err());
        let none = format!(
            "{}.{}.",
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0",
            ok.split('.').nth(1).unwrap()
        );
        assert_eq!(
            verify(&none, &keys, "bank", NOW),
            Err(TokenRefusal::Algorithm)
        );
        assert_eq!(
            verify("nope", &keys, "bank", NOW),
            Err(TokenRefusal::Malformed)
        );
    }

    #[test]
    fn es256_tokens_verify_with_the_stores_public_key() {
        let signing = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let jwk = serde_json::to_string(&JsonWebKey::from(signing.verifying_key())).unwrap();
        assert!(jwk.contains(r#""crv":"P-256""#), "{jwk}");
        let keys = [MemberKey::es256(&jwk).unwrap()];
        let token = Es256
            .token(
                &Header::empty(),
                &claims("m-2", "bank", NOW + 600),
                &signing,
            )
            .unwrap();
        assert_eq!(verify(&token, &keys, "bank", NOW), Ok("m-2".into()));
        // Another key's signature, and an HS256 token where the store has
        // only an ES256 key, are refused.
        let other = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let forged = Es256
            .token(&Header::empty(), &claims("m-2", "bank", NOW + 600), &other)
            .unwrap();
        assert_eq!(
            verify(&forged, &keys, "bank", NOW),
            Err(TokenRefusal::Signature)
        );
        let hs_token = hs(SECRET, &claims("m-2", "bank", NOW + 600));
        assert_eq!(
            verify(&hs_token, &keys, "bank", NOW),
            Err(TokenRefusal::Algorithm)
        );
        assert!(MemberKey::es256(r#"{"kty":"EC"}"#).is_err());
    }

    #[test]
    fn secrets_are_store_secret_pairs() {
        assert_eq!(
            parse_secrets(&format!("bank:{SECRET}, default:{SECRET}x")).unwrap(),
            vec![
                ("bank".to_string(), SECRET.to_string()),
                ("default".to_string(), format!("{SECRET}x"))
            ]
        );
        assert!(parse_secrets("bank:short").is_err());
        assert!(parse_secrets(&format!("Bank!:{SECRET}")).is_err());
        assert!(parse_secrets("nocolon").is_err());
        assert_eq!(parse_secrets("").unwrap(), vec![]);
    }
}
