//! Comparing secrets (admin tokens, cart tokens) without leaking, through
//! timing, where a guess first differs; and storing bearer tokens (carts',
//! orders') as digests, so a leak of the objects' storage opens nothing.

use sha2::{Digest, Sha256};

/// What a stored token digest begins with (a token itself is hex, so it
/// never does).
pub const TOKEN_DIGEST_PREFIX: &str = "h1:";

/// The form a bearer token is stored in: `h1:` and the hex SHA-256 of the
/// token (tokens are 96+ random bits, so a fast hash is enough). A value
/// already in that form is kept as it is (rewriting a stored row).
pub fn stored_token(token: &str) -> String {
    if token.starts_with(TOKEN_DIGEST_PREFIX) {
        return token.to_string();
    }
    stored_token_of(token)
}

/// Whether `presented` opens what was stored as `stored`: compared as
/// digests, in constant time; a row stored before tokens were hashed holds
/// the token itself, compared as it is (and hashed when next written).
pub fn token_opens(stored: &str, presented: &str) -> bool {
    if stored.starts_with(TOKEN_DIGEST_PREFIX) {
        // The digest of a presented digest is never the digest: presenting
        // a leaked digest opens nothing.
        constant_time_eq(stored.as_bytes(), stored_token_of(presented).as_bytes())
    } else {
        constant_time_eq(stored.as_bytes(), presented.as_bytes())
    }
}

/// The digest of `presented`, whatever it looks like.
fn stored_token_of(presented: &str) -> String {
    let digest = Sha256::digest(presented.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{TOKEN_DIGEST_PREFIX}{hex}")
}

/// Equality whose time depends only on the lengths, not on where the
/// inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_as_digests_that_only_the_token_opens() {
        let token = "0123456789abcdef0123456789abcdef0123456789abcdef";
        let stored = stored_token(token);
        assert!(stored.starts_with(TOKEN_DIGEST_PREFIX) && !stored.contains(token));
        assert_eq!(
            stored_token(&stored),
            stored,
            "a stored row rewritten keeps its digest"
        );
        assert!(token_opens(&stored, token));
        assert!(
            !token_opens(&stored, &stored),
            "the digest itself opens nothing"
        );
        assert!(!token_opens(&stored, "0123"));
        // A row written before tokens were hashed.
        assert!(token_opens(token, token));
        assert!(!token_opens(token, "nope"));
    }

    #[test]
    fn constant_time_equality_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }
}
