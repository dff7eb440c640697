//! Configuration, read once per isolate from the Worker's `Env` into a typed
//! struct. Variables are documented in wrangler.toml and ARCHITECTURE.md.

use edgecart_domain::money::Currency;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Currency used when a request names none (`DEFAULT_CURRENCY`).
    pub default_currency: Currency,
    /// How long an isolate trusts its copy of the catalog pointer before
    /// reading it from KV again (`CATALOG_POINTER_TTL_MS`).
    pub pointer_ttl_ms: u64,
}

impl Config {
    /// Builds the config from variable lookups; `None` means unset.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let default_currency = match get("DEFAULT_CURRENCY") {
            None => Currency::parse("USD").expect("USD is known"),
            Some(raw) => Currency::parse(&raw)
                .map_err(|_| format!("DEFAULT_CURRENCY={raw:?} is not a known currency"))?,
        };
        let pointer_ttl_ms = match get("CATALOG_POINTER_TTL_MS") {
            None => 1_000,
            Some(raw) => raw
                .parse()
                .map_err(|_| format!("CATALOG_POINTER_TTL_MS={raw:?} is not a whole number"))?,
        };
        Ok(Config {
            default_currency,
            pointer_ttl_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let c = Config::from_vars(|_| None).unwrap();
        assert_eq!(c.default_currency.as_str(), "USD");
        assert_eq!(c.pointer_ttl_ms, 1_000);
        let eur =
            Config::from_vars(|k| (k == "DEFAULT_CURRENCY").then(|| "eur".to_string())).unwrap();
        assert_eq!(eur.default_currency.as_str(), "EUR");
        assert!(
            Config::from_vars(|k| (k == "DEFAULT_CURRENCY").then(|| "euro".to_string())).is_err()
        );
        assert!(
            Config::from_vars(|k| (k == "CATALOG_POINTER_TTL_MS").then(|| "-1".to_string()))
                .is_err()
        );
    }
}
