//! Text normalisation for search: case folding, accent folding, tokenising.
//!
//! Accent folding covers Latin-1 Supplement and Latin Extended-A (the letters
//! of Western and Central European languages); other scripts pass through
//! lowercased. Both indexed text and queries go through the same functions, so
//! "Café" and "cafe" meet on the same token.

/// Folds one lowercase character to its unaccented ASCII form(s).
fn fold_char(c: char, out: &mut String) {
    let s = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' | 'ŉ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => {
            out.push(c);
            return;
        }
    };
    out.push_str(s);
}

/// Lowercases and removes accents: "Crème Brûlée" → "creme brulee".
/// `text` without leading and trailing whitespace as JSON Schema patterns
/// (ECMAScript `\s`) count it: the OpenAPI document says a name must
/// match `\S`, so what it calls blank is what is trimmed. (Rust's own
/// `trim` also drops U+0085, which ECMAScript does not count, and keeps
/// U+FEFF, which it does.)
pub fn trim_blank(text: &str) -> &str {
    text.trim_matches(is_ecma_whitespace)
}

/// Whether `c` is whitespace or a line terminator to ECMAScript (`\s`).
pub fn is_ecma_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            for lower in c.to_lowercase() {
                fold_char(lower, &mut out);
            }
        }
    }
    out
}

/// Splits folded text into alphanumeric tokens. Apostrophes inside a word
/// are dropped ("chef's" → "chefs"); every other non-alphanumeric character
/// separates tokens.
pub fn tokens(text: &str) -> Vec<String> {
    let folded = fold(text);
    let mut out = Vec::new();
    let mut current = String::new();
    for c in folded.chars() {
        if c.is_alphanumeric() {
            current.push(c);
        } else if (c == '\'' || c == '’') && !current.is_empty() {
            continue;
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Words too common to carry meaning in a product search; they are neither
/// indexed nor required, except as the last (prefix) word of a query.
pub fn is_stop_word(token: &str) -> bool {
    matches!(
        token,
        "a" | "an"
            | "and"
            | "at"
            | "by"
            | "for"
            | "in"
            | "of"
            | "on"
            | "or"
            | "the"
            | "to"
            | "with"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_what_json_schema_patterns_call_blank() {
        assert_eq!(trim_blank("  Kitchen\u{3000}"), "Kitchen");
        assert_eq!(trim_blank("\u{FEFF}x\u{FEFF}"), "x");
        // NEL is not whitespace to ECMAScript's \s: a name of its own.
        assert_eq!(trim_blank("\u{85}"), "\u{85}");
        assert_eq!(trim_blank(" \t\r\n"), "");
    }

    #[test]
    fn folds_case_and_accents() {
        let cases = [
            ("Café", "cafe"),
            ("CRÈME BRÛLÉE", "creme brulee"),
            ("Jalapeño", "jalapeno"),
            ("Straße", "strasse"),
            ("Œuvre", "oeuvre"),
            ("Łódź", "lodz"),
            ("plain ascii 123", "plain ascii 123"),
        ];
        for (input, want) in cases {
            assert_eq!(fold(input), want, "{input}");
        }
    }

    #[test]
    fn tokenises_on_punctuation_and_keeps_digits() {
        assert_eq!(
            tokens("Chef's 12-inch Pâtisserie knife, (stainless)!"),
            vec!["chefs", "12", "inch", "patisserie", "knife", "stainless"]
        );
        assert!(tokens("  !!! ").is_empty());
    }
}
