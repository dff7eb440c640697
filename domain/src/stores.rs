//! Stores: the shops one deployment serves, all on one catalog and one stock
//! ledger per SKU. A [`StoreProfile`] says who a store is (id, name, the
//! hosts it answers on, its currencies, its skin, which products it
//! sells, whether it is open); the [`Directory`] holds every profile and
//! resolves a request to its store, by the explicit selector or by host.
//! Each store's configuration, promotions and order index stay in its own
//! store object (`crate::store`), and its carts and orders are objects named
//! under the store ([`object_name`]), so that another store's id never
//! reaches them.
//!
//! What this module must not do: read a clock, perform I/O, or know about
//! HTTP.

use crate::catalog::FieldError;
use crate::money::Currency;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const PROFILE_SCHEMA: u32 = 1;

/// The store every deployment has: the one carts, orders and the store
/// object were named after before there were stores, so its objects keep
/// their plain names.
pub const DEFAULT_STORE: &str = "default";

/// [`DEFAULT_STORE`], for serde defaults.
pub fn default_store() -> String {
    DEFAULT_STORE.to_string()
}

/// Whether `store` is [`DEFAULT_STORE`] (records of the default store leave
/// it out, as records made before there were stores do).
pub fn is_default_store(store: &str) -> bool {
    store == DEFAULT_STORE
}

/// The KV key of the published [`Directory`].
pub const DIRECTORY_KEY: &str = "stores/directory";

/// Limits on a store's profile.
pub mod limits {
    /// Stores per deployment (the directory, every profile, is one KV value
    /// each isolate holds: 200 of the largest profiles stay under 10 MB).
    pub const STORES_MAX: usize = 200;
    /// Length of a store id.
    pub const ID_MAX: usize = 32;
    /// Length of a display name, a skin name, or a colour token's name.
    pub const NAME_MAX: usize = 80;
    /// Host names per store.
    pub const HOSTS_MAX: usize = 10;
    /// Length of a host name.
    pub const HOST_MAX: usize = 253;
    /// Colour tokens per skin.
    pub const COLOURS_MAX: usize = 16;
    /// Length of a hero or footer text, or of a logo's path or URL.
    pub const TEXT_MAX: usize = 500;
    /// Currencies a profile names.
    pub const CURRENCIES_MAX: usize = 20;
    /// Categories or products a selection names (a profile fits the admin
    /// API's 64 KiB body; a larger selection is made of categories).
    pub const SELECTION_MAX: usize = 500;
}

/// Whether `s` is a store id: 1 to 32 characters, lowercase ASCII letters,
/// digits and `-`, starting with a letter or digit.
pub fn is_store_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= limits::ID_MAX
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The name of the object that holds cart or order `id` of `store`: the id
/// itself in the default store (as before there were stores), else
/// `{store}/{id}`. A request resolved to another store names another
/// object, which holds nothing: another store's cart or order is not
/// found, whatever token comes with it.
pub fn object_name(store: &str, id: &str) -> String {
    if store == DEFAULT_STORE {
        id.to_string()
    } else {
        format!("{store}/{id}")
    }
}

/// The store an object named by [`object_name`] belongs to.
pub fn store_of_object(name: &str) -> &str {
    match name.split_once('/') {
        Some((store, _)) => store,
        None => DEFAULT_STORE,
    }
}

/// A host name as stores list it and requests are matched on: lowercase,
/// without port or trailing dot. `None` for what is not a host name
/// (letters, digits, `-` and `.` only, labels of 1 to 63 characters; an
/// IPv4 address passes).
pub fn normalize_host(raw: &str) -> Option<String> {
    let host = raw.trim();
    // A port, unless the host is a bracketed IPv6 literal (not served).
    let host = match host.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let valid = !host.is_empty()
        && host.len() <= limits::HOST_MAX
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    valid.then_some(host)
}

/// How a store looks: the demo shop's pages take their colours from these
/// tokens (CSS custom properties), not from a stylesheet per store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"name": "Harbour Bank Rewards", "logo": "/img/harbour.svg", "colours": {"accent": "#0b5fff", "background": "#f7f9fc"}, "hero": "Spend your points on things you love.", "footer": "Harbour Bank Rewards is run by Edgecart."}])))]
pub struct Skin {
    /// The name the pages show in their header (1 to 80 characters, not
    /// blank, no control characters).
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::DisplayName"))]
    pub name: String,
    /// A logo: a path on this deployment (`/…`) or an `https://` URL,
    /// without spaces (at most 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schemars(length(max = 500), regex(pattern = r"^(/[^/\s]|https://)\S*$"))
    )]
    pub logo: Option<String>,
    /// Colour tokens by name (1 to 80 lowercase letters, digits and `-`),
    /// each `#rrggbb`; at most 16.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(extend("propertyNames" = {"type": "string", "pattern": "^[a-z0-9-]{1,80}$"}, "additionalProperties" = {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"}, "maxProperties" = 16)))]
    pub colours: BTreeMap<String, String>,
    /// The home page's headline (at most 500 characters, no control
    /// characters).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::PageText"))]
    pub hero: String,
    /// The pages' footer text (as `hero`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::PageText"))]
    pub footer: String,
}

/// Which products of the shared catalog a store sells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"type": "all"}, {"type": "categories", "categories": ["kitchen", "garden"]}])))]
pub enum Selection {
    /// Every product.
    All {},
    /// The products of these categories (by slug; 1 to 500).
    Categories {
        #[cfg_attr(
            feature = "openapi",
            schemars(
                length(min = 1, max = 500),
                inner(regex(pattern = r"^[A-Za-z0-9_-]{1,64}$"))
            )
        )]
        categories: Vec<String>,
    },
    /// These products (by id; 1 to 500).
    Products {
        #[cfg_attr(
            feature = "openapi",
            schemars(
                length(min = 1, max = 500),
                inner(regex(pattern = r"^[A-Za-z0-9_-]{1,64}$"))
            )
        )]
        products: Vec<String>,
    },
}

impl Selection {
    /// Whether the store sells product `id` of category `category`.
    pub fn includes(&self, id: &str, category: Option<&str>) -> bool {
        match self {
            Selection::All {} => true,
            Selection::Categories { categories } => {
                category.is_some_and(|c| categories.iter().any(|s| s == c))
            }
            Selection::Products { products } => products.iter().any(|p| p == id),
        }
    }
}

/// A store as the directory holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct StoreProfile {
    /// The version of this record's shape.
    pub schema: u32,
    /// The store's id: 1 to 32 lowercase letters, digits and `-`.
    pub id: String,
    /// The store's display name.
    pub name: String,
    /// The host names the store answers on (lowercase, without port); no
    /// two stores share one.
    pub hosts: Vec<String>,
    /// The currency a request that names none is priced in.
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::CurrencyCode"))]
    pub default_currency: Currency,
    /// The currencies the store sells in (the default among them).
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "Vec<crate::openapi::CurrencyCode>")
    )]
    pub currencies: Vec<Currency>,
    /// A disabled store answers 404 everywhere, as an unknown one does.
    pub enabled: bool,
    pub skin: Skin,
    pub selection: Selection,
}

impl StoreProfile {
    /// Whether the store sells in `currency`.
    pub fn sells_in(&self, currency: Currency) -> bool {
        self.currencies.contains(&currency)
    }
}

/// A store's profile as an operator writes it (`PUT
/// /admin/v1/stores/{store_id}`); the id comes from the path.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"name": "Harbour Bank Rewards", "hosts": ["rewards.harbourbank.example"], "default_currency": "GBP", "currencies": ["GBP"], "skin": {"name": "Harbour Bank Rewards", "colours": {"accent": "#0b5fff"}}, "selection": {"type": "categories", "categories": ["kitchen"]}}])))]
pub struct StoreProfileInput {
    /// The store's display name (1 to 80 characters, not blank, no control
    /// characters; stored trimmed).
    #[cfg_attr(feature = "openapi", schemars(with = "crate::openapi::DisplayName"))]
    pub name: String,
    /// Host names the store answers on: lowercase, without port or
    /// trailing dot, at most 253 characters each, at most 10 (a name given
    /// twice counts once).
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schemars(
            length(max = 10),
            inner(
                length(max = 253),
                regex(
                    pattern = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
                )
            )
        )
    )]
    pub hosts: Vec<String>,
    /// An ISO 4217 code (any case) of a currency the deployment knows: the
    /// one the store prices in when a request names none.
    #[cfg_attr(
        feature = "openapi",
        schemars(regex(
            pattern = r"^([Aa][Uu][Dd]|[Cc][Aa][Dd]|[Cc][Hh][Ff]|[Ee][Uu][Rr]|[Gg][Bb][Pp]|[Jj][Pp][Yy]|[Uu][Ss][Dd])$"
        ))
    )]
    pub default_currency: String,
    /// The currencies it sells in (any case; one given twice counts once);
    /// the default currency is added when missing. Empty: the default
    /// currency only.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schemars(
            length(max = 20),
            inner(regex(
                pattern = r"^([Aa][Uu][Dd]|[Cc][Aa][Dd]|[Cc][Hh][Ff]|[Ee][Uu][Rr]|[Gg][Bb][Pp]|[Jj][Pp][Yy]|[Uu][Ss][Dd])$"
            ))
        )
    )]
    pub currencies: Vec<String>,
    /// Whether the store serves traffic (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How the store looks (default: its name, no colours).
    #[serde(default)]
    pub skin: Option<Skin>,
    /// Which products it sells (default: all).
    #[serde(default)]
    pub selection: Option<Selection>,
}

fn yes() -> bool {
    true
}

fn problem(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        code,
        message: message.into(),
    }
}

fn is_token_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= limits::NAME_MAX
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_colour(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn valid_text(errors: &mut Vec<FieldError>, field: &str, text: &str, max: usize) {
    if text.chars().count() > max || text.chars().any(char::is_control) {
        errors.push(problem(
            field,
            "invalid_text",
            format!("At most {max} characters, without control characters."),
        ));
    }
}

impl Skin {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(problem("name", "required", "A skin needs a name."));
        }
        valid_text(&mut errors, "name", &self.name, limits::NAME_MAX);
        if let Some(logo) = &self.logo {
            let path = logo
                .strip_prefix('/')
                .and_then(|rest| rest.chars().next())
                .is_some_and(|c| c != '/' && !c.is_whitespace());
            let ok = path || logo.starts_with("https://");
            if !ok
                || logo.chars().count() > limits::TEXT_MAX
                || logo.chars().any(char::is_whitespace)
            {
                errors.push(problem(
                    "logo",
                    "invalid_logo",
                    "A logo is a path on this deployment (`/…`) or an `https://` URL, without spaces.",
                ));
            }
        }
        if self.colours.len() > limits::COLOURS_MAX {
            errors.push(problem(
                "colours",
                "too_many",
                format!("At most {} colour tokens.", limits::COLOURS_MAX),
            ));
        }
        for (name, value) in &self.colours {
            if !is_token_name(name) {
                errors.push(problem(
                    format!("colours.{name}"),
                    "invalid_token",
                    "A colour token's name is lowercase letters, digits and `-`.",
                ));
            }
            if !is_colour(value) {
                errors.push(problem(
                    format!("colours.{name}"),
                    "invalid_colour",
                    "A colour is `#rrggbb`.",
                ));
            }
        }
        valid_text(&mut errors, "hero", &self.hero, limits::TEXT_MAX);
        valid_text(&mut errors, "footer", &self.footer, limits::TEXT_MAX);
        errors
    }
}

impl Selection {
    fn validate(&self) -> Vec<FieldError> {
        let (field, names) = match self {
            Selection::All {} => return Vec::new(),
            Selection::Categories { categories } => ("categories", categories),
            Selection::Products { products } => ("products", products),
        };
        let mut errors = Vec::new();
        if names.is_empty() || names.len() > limits::SELECTION_MAX {
            errors.push(problem(
                field,
                "invalid_selection",
                format!("Name 1 to {} {field}.", limits::SELECTION_MAX),
            ));
        }
        for (i, name) in names.iter().enumerate() {
            let ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                errors.push(problem(
                    format!("{field}[{i}]"),
                    "invalid_id",
                    "An id or slug is 1 to 64 letters, digits, `-` and `_`.",
                ));
            }
        }
        errors
    }
}

impl StoreProfileInput {
    /// The profile of store `id`, or every problem at once. Hosts another
    /// store answers on are the directory's to refuse
    /// ([`Directory::conflict`]).
    pub fn validate(self, id: &str) -> Result<StoreProfile, Vec<FieldError>> {
        let mut errors = Vec::new();
        if !is_store_id(id) {
            errors.push(problem(
                "id",
                "invalid_store_id",
                "A store id is 1 to 32 lowercase letters, digits and `-`, not starting with `-`.",
            ));
        }
        if self.name.trim().is_empty() {
            errors.push(problem("name", "required", "A store needs a name."));
        }
        valid_text(&mut errors, "name", &self.name, limits::NAME_MAX);
        let name = self.name.trim().to_string();
        if self.hosts.len() > limits::HOSTS_MAX {
            errors.push(problem(
                "hosts",
                "too_many",
                format!("At most {} host names.", limits::HOSTS_MAX),
            ));
        }
        let mut hosts: Vec<String> = Vec::new();
        for (i, raw) in self.hosts.iter().enumerate() {
            // As requests are matched: lowercase, no port, no trailing dot.
            match normalize_host(raw).filter(|h| h == raw) {
                Some(h) if hosts.contains(&h) => {}
                Some(h) => hosts.push(h),
                None => errors.push(problem(
                    format!("hosts[{i}]"),
                    "invalid_host",
                    "Not a host name as requests are matched: lowercase letters, digits, `-` and `.`, without port or trailing dot.",
                )),
            }
        }
        if self.currencies.len() > limits::CURRENCIES_MAX {
            errors.push(problem(
                "currencies",
                "too_many",
                format!("At most {} currencies.", limits::CURRENCIES_MAX),
            ));
        }
        let currency =
            |field: String, code: &str, errors: &mut Vec<FieldError>| match Currency::parse(code) {
                Ok(c) => Some(c),
                Err(_) => {
                    errors.push(problem(
                        field,
                        "unknown_currency",
                        "Not a currency this deployment prices in.",
                    ));
                    None
                }
            };
        let default_currency = currency(
            "default_currency".into(),
            &self.default_currency,
            &mut errors,
        );
        let mut currencies: Vec<Currency> = Vec::new();
        for (i, code) in self.currencies.iter().enumerate() {
            if let Some(c) = currency(format!("currencies[{i}]"), code, &mut errors) {
                if !currencies.contains(&c) {
                    currencies.push(c);
                }
            }
        }
        let skin = self.skin.unwrap_or_else(|| Skin {
            name: name.clone(),
            logo: None,
            colours: BTreeMap::new(),
            hero: String::new(),
            footer: String::new(),
        });
        for mut e in skin.validate() {
            e.field = format!("skin.{}", e.field);
            errors.push(e);
        }
        let selection = self.selection.unwrap_or(Selection::All {});
        for mut e in selection.validate() {
            e.field = format!("selection.{}", e.field);
            errors.push(e);
        }
        match default_currency {
            Some(default_currency) if errors.is_empty() => {
                if !currencies.contains(&default_currency) {
                    currencies.insert(0, default_currency);
                }
                Ok(StoreProfile {
                    schema: PROFILE_SCHEMA,
                    id: id.to_string(),
                    name,
                    hosts,
                    default_currency,
                    currencies,
                    enabled: self.enabled,
                    skin,
                    selection,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Why a request has no store: the API answers 404 `store_not_found` for
/// both, so that a disabled store leaks nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unresolved {
    /// No store has this id, or it is disabled.
    UnknownStore,
    /// No store answers on this host, or it is disabled.
    UnknownHost,
}

/// Why a profile cannot be written given the other stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "conflict", rename_all = "snake_case")]
pub enum Conflict {
    /// Store `by` answers on `host`.
    HostTaken { host: String, by: String },
    /// The deployment serves [`limits::STORES_MAX`] stores already.
    TooManyStores,
}

/// Every store's profile, by id: what each isolate resolves requests with.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    pub stores: Vec<StoreProfile>,
}

impl Directory {
    pub fn get(&self, id: &str) -> Option<&StoreProfile> {
        self.stores.iter().find(|s| s.id == id)
    }

    /// The store a request is for: the one `selector` names when there is
    /// a selector, else the one answering on `host`. Disabled stores are
    /// never found.
    pub fn resolve(
        &self,
        host: Option<&str>,
        selector: Option<&str>,
    ) -> Result<&StoreProfile, Unresolved> {
        self.position(host, selector).map(|i| &self.stores[i])
    }

    /// Where in [`Directory::stores`] the store [`Directory::resolve`] finds
    /// is.
    pub fn position(
        &self,
        host: Option<&str>,
        selector: Option<&str>,
    ) -> Result<usize, Unresolved> {
        let (found, missing) = match selector {
            Some(id) => (
                self.stores.iter().position(|s| s.id == id),
                Unresolved::UnknownStore,
            ),
            None => {
                let host = host
                    .and_then(normalize_host)
                    .ok_or(Unresolved::UnknownHost)?;
                (
                    self.stores.iter().position(|s| s.hosts.contains(&host)),
                    Unresolved::UnknownHost,
                )
            }
        };
        found.filter(|&i| self.stores[i].enabled).ok_or(missing)
    }

    /// Why `profile` cannot be written here, if it cannot: a host another
    /// store answers on, or one store too many.
    pub fn conflict(&self, profile: &StoreProfile) -> Option<Conflict> {
        for host in &profile.hosts {
            if let Some(other) = self
                .stores
                .iter()
                .find(|s| s.id != profile.id && s.hosts.contains(host))
            {
                return Some(Conflict::HostTaken {
                    host: host.clone(),
                    by: other.id.clone(),
                });
            }
        }
        (self.get(&profile.id).is_none() && self.stores.len() >= limits::STORES_MAX)
            .then_some(Conflict::TooManyStores)
    }

    /// Writes `profile` (replacing the store's earlier one); stores stay in
    /// id order. Whether it was new.
    pub fn put(&mut self, profile: StoreProfile) -> bool {
        match self
            .stores
            .binary_search_by(|s| s.id.as_str().cmp(&profile.id))
        {
            Ok(i) => {
                self.stores[i] = profile;
                false
            }
            Err(i) => {
                self.stores.insert(i, profile);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, hosts: &[&str]) -> StoreProfileInput {
        StoreProfileInput {
            name: name.into(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            default_currency: "gbp".into(),
            currencies: Vec::new(),
            enabled: true,
            skin: None,
            selection: None,
        }
    }

    #[test]
    fn ids_hosts_and_object_names() {
        assert!(is_store_id("default"));
        assert!(is_store_id("bank-rewards-2"));
        for bad in ["", "-x", "Bank", "a/b", "a_b", &"x".repeat(33)] {
            assert!(!is_store_id(bad), "{bad:?}");
        }
        assert_eq!(
            normalize_host("Shop.Example.COM:8443").as_deref(),
            Some("shop.example.com")
        );
        assert_eq!(
            normalize_host("127.0.0.1:8787").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            normalize_host("shop.example.com.").as_deref(),
            Some("shop.example.com")
        );
        for bad in [
            "", "a..b", "-a.com", "a b", "ex ample", "[::1]:80", "a_b.com",
        ] {
            assert_eq!(normalize_host(bad), None, "{bad:?}");
        }
        assert_eq!(object_name(DEFAULT_STORE, "crt_1"), "crt_1");
        assert_eq!(object_name("bank", "crt_1"), "bank/crt_1");
        assert_eq!(store_of_object("bank/crt_1"), "bank");
        assert_eq!(store_of_object("crt_1"), DEFAULT_STORE);
    }

    #[test]
    fn a_profile_is_validated_with_every_problem() {
        let p = input(" Harbour Rewards ", &["rewards.example", "rewards.example"])
            .validate("bank")
            .unwrap();
        assert_eq!(p.name, "Harbour Rewards");
        assert_eq!(p.hosts, vec!["rewards.example"]);
        assert_eq!(p.default_currency.as_str(), "GBP");
        assert_eq!(p.currencies, vec![p.default_currency]);
        assert_eq!(p.skin.name, "Harbour Rewards");
        assert_eq!(p.selection, Selection::All {});
        assert!(p.enabled);

        let mut bad = input("", &["a b", "x.example", "X.example", "x.example:80"]);
        bad.default_currency = "XYZ".into();
        bad.currencies = vec!["usd".into(), "USD".into()];
        bad.skin = Some(Skin {
            name: "S".into(),
            logo: Some("javascript:alert(1)".into()),
            colours: BTreeMap::from([
                ("accent".into(), "blue".into()),
                ("Bad".into(), "#000000".into()),
            ]),
            hero: "x".repeat(501),
            footer: String::new(),
        });
        bad.selection = Some(Selection::Categories { categories: vec![] });
        let errors = bad.validate("Bad/Id").unwrap_err();
        let fields: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        for expected in [
            ("id", "invalid_store_id"),
            ("name", "required"),
            ("hosts[0]", "invalid_host"),
            ("hosts[2]", "invalid_host"),
            ("hosts[3]", "invalid_host"),
            ("default_currency", "unknown_currency"),
            ("skin.logo", "invalid_logo"),
            ("skin.colours.accent", "invalid_colour"),
            ("skin.colours.Bad", "invalid_token"),
            ("skin.hero", "invalid_text"),
            ("selection.categories", "invalid_selection"),
        ] {
            assert!(fields.contains(&expected), "{expected:?} in {fields:?}");
        }
    }

    #[test]
    fn selections() {
        let cats = Selection::Categories {
            categories: vec!["kitchen".into()],
        };
        assert!(cats.includes("prd_1", Some("kitchen")));
        assert!(!cats.includes("prd_1", Some("garden")));
        assert!(!cats.includes("prd_1", None));
        let ids = Selection::Products {
            products: vec!["prd_2".into()],
        };
        assert!(ids.includes("prd_2", None));
        assert!(!ids.includes("prd_1", Some("kitchen")));
        assert!(Selection::All {}.includes("anything", None));
        assert!(serde_json::from_str::<Selection>(r#"{"type": "all", "x": 1}"#).is_err());
        assert_eq!(
            serde_json::from_str::<Selection>(r#"{"type": "all"}"#).unwrap(),
            Selection::All {}
        );
        let json = serde_json::to_value(&cats).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "categories", "categories": ["kitchen"]})
        );
    }

    #[test]
    fn the_directory_resolves_by_selector_then_host_and_never_serves_a_disabled_store() {
        let mut d = Directory::default();
        assert!(d.put(
            input("Demo", &["127.0.0.1", "localhost"])
                .validate("default")
                .unwrap()
        ));
        assert!(d.put(
            input("Bank", &["rewards.example"])
                .validate("bank")
                .unwrap()
        ));
        assert_eq!(
            d.stores.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["bank", "default"]
        );
        assert_eq!(
            d.resolve(Some("127.0.0.1:8787"), None).unwrap().id,
            "default"
        );
        assert_eq!(d.resolve(Some("REWARDS.example"), None).unwrap().id, "bank");
        assert_eq!(
            d.resolve(Some("127.0.0.1"), Some("bank")).unwrap().id,
            "bank"
        );
        assert_eq!(
            d.resolve(Some("other.example"), None),
            Err(Unresolved::UnknownHost)
        );
        assert_eq!(d.resolve(None, None), Err(Unresolved::UnknownHost));
        assert_eq!(
            d.resolve(Some("127.0.0.1"), Some("nope")),
            Err(Unresolved::UnknownStore)
        );
        let mut off = input("Bank", &["rewards.example"]);
        off.enabled = false;
        assert!(!d.put(off.validate("bank").unwrap()));
        assert_eq!(
            d.resolve(Some("rewards.example"), None),
            Err(Unresolved::UnknownHost)
        );
        assert_eq!(d.resolve(None, Some("bank")), Err(Unresolved::UnknownStore));
        // A host another store answers on is refused; its own hosts are not.
        let taken = input("Other", &["localhost"]).validate("other").unwrap();
        assert_eq!(
            d.conflict(&taken),
            Some(Conflict::HostTaken {
                host: "localhost".into(),
                by: "default".into()
            })
        );
        let same = input("Demo", &["localhost"]).validate("default").unwrap();
        assert_eq!(d.conflict(&same), None);
    }
}
