//! Opaque pagination cursors: keyset positions (last sort key + product id)
//! bound to the query they came from. A cursor stays valid across catalog
//! versions: the next page starts after the last product shown, whatever was
//! added or removed meanwhile.

/// The primary sort key of a position, always compared ascending.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum CursorKey {
    Int(i64),
    Text(String),
}

const FORMAT: &str = "c1";

/// Encodes a position as URL-safe base64 text.
pub fn encode(fingerprint: u64, key: &CursorKey, id: &str) -> String {
    let key = match key {
        CursorKey::Int(n) => format!("i{n}"),
        CursorKey::Text(s) => format!("t{s}"),
    };
    base64url_encode(format!("{FORMAT}:{fingerprint:016x}:{id}:{key}").as_bytes())
}

/// Decodes a cursor made by [`encode`] for a query with this `fingerprint`;
/// `None` for anything else.
pub fn decode(cursor: &str, fingerprint: u64) -> Option<(CursorKey, String)> {
    if cursor.len() > 1024 {
        return None;
    }
    let raw = String::from_utf8(base64url_decode(cursor)?).ok()?;
    let mut parts = raw.splitn(4, ':');
    if parts.next()? != FORMAT {
        return None;
    }
    if u64::from_str_radix(parts.next()?, 16).ok()? != fingerprint {
        return None;
    }
    let id = parts.next()?.to_string();
    let key = parts.next()?;
    let key = match key.split_at_checked(1)? {
        ("i", n) => CursorKey::Int(n.parse().ok()?),
        ("t", s) => CursorKey::Text(s.to_string()),
        _ => return None,
    };
    Some((key, id))
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero padding of a canonical encoding.
    (bits < 6 && acc == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_keys_including_separators() {
        for key in [
            CursorKey::Int(-42),
            CursorKey::Int(i64::MAX),
            CursorKey::Text("crème: a:b".into()),
            CursorKey::Text(String::new()),
        ] {
            let c = encode(7, &key, "prd_9");
            assert!(c.bytes().all(|b| ALPHABET.contains(&b)), "{c}");
            assert_eq!(decode(&c, 7), Some((key, "prd_9".to_string())));
        }
    }

    #[test]
    fn refuses_foreign_or_malformed_cursors() {
        let c = encode(7, &CursorKey::Int(1), "prd_1");
        assert_eq!(decode(&c, 8), None, "other query");
        for bad in ["", "!!!!", "abc", "c1", &c[..c.len() - 1], "Zm9vOmJhcg"] {
            assert_eq!(decode(bad, 7), None, "{bad}");
        }
    }

    #[test]
    fn base64_matches_reference_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
        ] {
            assert_eq!(base64url_encode(plain.as_bytes()), enc);
            assert_eq!(base64url_decode(enc).unwrap(), plain.as_bytes());
        }
    }
}
