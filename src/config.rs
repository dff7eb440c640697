//! Configuration, read once per isolate from the Worker's `Env` into a typed
//! struct. Variables are documented in wrangler.toml and ARCHITECTURE.md.

use edgecart_domain::money::Currency;
use edgecart_domain::stores::{is_store_id, normalize_host, DEFAULT_STORE};

/// What an admin token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Every admin route of every store, the stores themselves, and the
    /// shared catalog and stock.
    Operator,
    /// Every admin route of its store; reads of the shared catalog and
    /// stock.
    Admin,
    /// The read-only admin routes of its store, and of the shared catalog
    /// and stock.
    Viewer,
}

/// One admin token: its label (recorded in the audit trail), role, store
/// (none for an operator) and secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken {
    pub label: String,
    pub role: Role,
    pub store: Option<String>,
    pub secret: String,
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdminToken({}, {:?})", self.label, self.role)
    }
}

/// Parses `ADMIN_TOKENS`: comma-separated `label:role:secret` entries, role
/// `operator`, or `admin` or `viewer` of one store (`admin@bank`; without
/// `@store`, of the default store), label of lowercase letters, digits, `-`
/// or `_` (not `shopper`: the audit trail's actor of a shopper's own
/// cancel), secret of at least 16 characters.
pub fn parse_admin_tokens(raw: &str) -> Result<Vec<AdminToken>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .enumerate()
        .map(|(i, entry)| {
            let mut parts = entry.splitn(3, ':');
            let (Some(label), Some(role), Some(secret)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!(
                    "ADMIN_TOKENS entry {} is not label:role:secret",
                    i + 1
                ));
            };
            let label_ok = !label.is_empty()
                && label.len() <= 32
                && label.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !label_ok {
                return Err(format!("ADMIN_TOKENS entry {}: bad label", i + 1));
            }
            if label == edgecart_domain::audit::SHOPPER {
                return Err(format!(
                    "ADMIN_TOKENS entry {}: the label {label} is reserved for shoppers",
                    i + 1
                ));
            }
            let (role, store) = match role.split_once('@') {
                Some((role, store)) => (role, Some(store)),
                None => (role, None),
            };
            let role = match role {
                "operator" if store.is_none() => Role::Operator,
                "admin" => Role::Admin,
                "viewer" => Role::Viewer,
                _ => {
                    return Err(format!(
                    "ADMIN_TOKENS entry {}: role must be operator, admin[@store] or viewer[@store]",
                    i + 1
                ))
                }
            };
            let store = match (role, store) {
                (Role::Operator, _) => None,
                (_, None) => Some(DEFAULT_STORE.to_string()),
                (_, Some(s)) if is_store_id(s) => Some(s.to_string()),
                (_, Some(_)) => return Err(format!("ADMIN_TOKENS entry {}: bad store id", i + 1)),
            };
            if secret.len() < 16 {
                return Err(format!(
                    "ADMIN_TOKENS entry {}: secret shorter than 16 characters",
                    i + 1
                ));
            }
            Ok(AdminToken {
                label: label.to_string(),
                role,
                store,
                secret: secret.to_string(),
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Currency used when a request names none (`DEFAULT_CURRENCY`).
    pub default_currency: Currency,
    /// How long an isolate trusts its copy of the catalog pointer before
    /// reading it from KV again (`CATALOG_POINTER_TTL_MS`).
    pub pointer_ttl_ms: u64,
    /// How long a cart's holds last without cart activity (`CART_HOLD_TTL_MS`).
    pub cart_hold_ttl_ms: i64,
    /// The hosts the default store answers on until an operator writes its
    /// profile (`DEFAULT_STORE_HOSTS`, comma-separated).
    pub default_store_hosts: Vec<String>,
    /// Admin tokens (`ADMIN_TOKENS`, a secret); an error disables the admin API.
    pub admin_tokens: Result<Vec<AdminToken>, String>,
    /// Each store's HS256 secret for member tokens (`MEMBER_TOKEN_SECRETS`,
    /// a secret: comma-separated `store:secret`); an error disables HS256
    /// member sign-in.
    pub member_secrets: Result<Vec<(String, String)>, String>,
    /// Whether `POST /v1/points/dev-token` signs members in without the
    /// operator's site (`DEV_MEMBER_SIGN_IN = "on"`): for `npm start`
    /// only, off unless set.
    pub dev_member_sign_in: bool,
    /// The signing secrets of the Stripe webhook endpoint
    /// (`STRIPE_WEBHOOK_SECRET`, a secret: comma-separated, so the old and
    /// the new one both verify during a rotation); none: `POST
    /// /webhooks/stripe` answers 503 `misconfigured`.
    pub stripe_webhook_secrets: Vec<String>,
    /// Whether request rates are limited (`RATE_LIMITS`, on unless `off`).
    pub rate_limits: bool,
    /// Card testing: declined payments per client, cart or card within a
    /// window that block its checkouts (`DECLINE_LIMIT`, default 5;
    /// `DECLINE_WINDOW_MS`, default an hour).
    pub declines: edgecart_domain::abuse::StrikePolicy,
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
        let admin_tokens = parse_admin_tokens(&get("ADMIN_TOKENS").unwrap_or_default());
        let cart_hold_ttl_ms = match get("CART_HOLD_TTL_MS") {
            None => 15 * 60 * 1000,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|ms| (1_000..=24 * 3600 * 1000).contains(ms))
                .ok_or_else(|| format!("CART_HOLD_TTL_MS={raw:?} is not 1000 to 86400000"))?,
        };
        let default_store_hosts = get("DEFAULT_STORE_HOSTS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| {
                normalize_host(h)
                    .ok_or_else(|| format!("DEFAULT_STORE_HOSTS: {h:?} is not a host name"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let member_secrets =
            crate::members::parse_secrets(&get("MEMBER_TOKEN_SECRETS").unwrap_or_default());
        let dev_member_sign_in = match get("DEV_MEMBER_SIGN_IN").as_deref() {
            None | Some("") | Some("off") => false,
            Some("on") => true,
            Some(other) => return Err(format!("DEV_MEMBER_SIGN_IN={other:?} is not on or off")),
        };
        let stripe_webhook_secrets = get("STRIPE_WEBHOOK_SECRET")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let rate_limits = match get("RATE_LIMITS").as_deref() {
            None | Some("") | Some("on") => true,
            Some("off") => false,
            Some(other) => return Err(format!("RATE_LIMITS={other:?} is not on or off")),
        };
        let max = match get("DECLINE_LIMIT") {
            None => 5,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=1_000).contains(n))
                .ok_or_else(|| format!("DECLINE_LIMIT={raw:?} is not 1 to 1000"))?,
        };
        let window_ms = match get("DECLINE_WINDOW_MS") {
            None => 3_600_000,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|ms| (1_000..=7 * 24 * 3_600_000).contains(ms))
                .ok_or_else(|| format!("DECLINE_WINDOW_MS={raw:?} is not 1000 to 604800000"))?,
        };
        Ok(Config {
            rate_limits,
            declines: edgecart_domain::abuse::StrikePolicy { max, window_ms },
            stripe_webhook_secrets,
            default_currency,
            pointer_ttl_ms,
            cart_hold_ttl_ms,
            default_store_hosts,
            admin_tokens,
            member_secrets,
            dev_member_sign_in,
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
        assert!(c.rate_limits);
        assert_eq!((c.declines.max, c.declines.window_ms), (5, 3_600_000));
        let off = Config::from_vars(|k| (k == "RATE_LIMITS").then(|| "off".to_string())).unwrap();
        assert!(!off.rate_limits);
        for (k, v) in [
            ("RATE_LIMITS", "no"),
            ("DECLINE_LIMIT", "0"),
            ("DECLINE_WINDOW_MS", "5"),
        ] {
            assert!(
                Config::from_vars(|n| (n == k).then(|| v.to_string())).is_err(),
                "{k}={v}"
            );
        }
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

    #[test]
    fn admin_tokens_have_a_role_and_a_store() {
        let tokens = parse_admin_tokens(
            "ops:operator:0123456789abcdef, shop:admin:1123456789abcdef,\
             bank:admin@bank:2123456789abcdef,look:viewer@bank:3123456789abcdef",
        )
        .unwrap();
        let got: Vec<(&str, Role, Option<&str>)> = tokens
            .iter()
            .map(|t| (t.label.as_str(), t.role, t.store.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("ops", Role::Operator, None),
                ("shop", Role::Admin, Some("default")),
                ("bank", Role::Admin, Some("bank")),
                ("look", Role::Viewer, Some("bank")),
            ]
        );
        for bad in [
            "x:operator@bank:0123456789abcdef",
            "x:admin@Bad/Id:0123456789abcdef",
            "x:owner:0123456789abcdef",
            "x:admin:short",
            "shopper:admin:0123456789abcdef",
        ] {
            assert!(parse_admin_tokens(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn member_sign_in_settings() {
        let c = Config::from_vars(|_| None).unwrap();
        assert!(!c.dev_member_sign_in);
        assert_eq!(c.member_secrets, Ok(vec![]));
        let on = Config::from_vars(|k| match k {
            "DEV_MEMBER_SIGN_IN" => Some("on".into()),
            "MEMBER_TOKEN_SECRETS" => Some("bank:0123456789abcdef0123456789abcdef".into()),
            _ => None,
        })
        .unwrap();
        assert!(on.dev_member_sign_in);
        assert_eq!(on.member_secrets.unwrap()[0].0, "bank");
        assert!(Config::from_vars(|k| (k == "DEV_MEMBER_SIGN_IN").then(|| "yes".into())).is_err());
        let short =
            Config::from_vars(|k| (k == "MEMBER_TOKEN_SECRETS").then(|| "bank:short".into()));
        assert!(short.unwrap().member_secrets.is_err());
    }

    #[test]
    fn default_store_hosts() {
        let c = Config::from_vars(|k| {
            (k == "DEFAULT_STORE_HOSTS").then(|| "127.0.0.1, Shop.Example:8443".to_string())
        })
        .unwrap();
        assert_eq!(c.default_store_hosts, ["127.0.0.1", "shop.example"]);
        assert!(Config::from_vars(|k| (k == "DEFAULT_STORE_HOSTS").then(|| "a b".into())).is_err());
        assert!(Config::from_vars(|_| None)
            .unwrap()
            .default_store_hosts
            .is_empty());
    }
}
