//! Abuse controls at the edge: request rates per client, per cart and per
//! store, failed admin sign-ins, and declined payments (card testing).
//!
//! **Request rates** are counted by the platform's rate-limiting binding
//! (`[[ratelimits]]` in wrangler.toml, one binding per [`Limit`]): each
//! Cloudflare location keeps the counters next to the Worker, so a check
//! is an in-process call, with no object or network round trip on the
//! request's path; locally workerd runs the same binding. Its limits are
//! the deployment's (wrangler.toml), the same for every store, and its
//! counts are per location and approximate, which is what a rate limit
//! needs. The binding has no "peek": it counts every call. So it limits
//! request *rates* only; an answer that must block the *next* attempt
//! (a declined payment) is counted by a [`guard`](edgecart_durable_objects::guard)
//! object instead, exact and strongly consistent.
//!
//! Keys: `{store}|{client}` per client (the client is
//! `edgecart_domain::abuse::client_key` of `CF-Connecting-IP`), `{store}|
//! cart:{id}` per cart, and `{store}` for the store's ceiling on writes.
//! Over any of them the answer is 429 `rate_limited` with `Retry-After`
//! (the binding's period: its window is fixed, its end unknown to us).

use crate::http::{ApiError, Result};
use crate::routes::Handler;
use edgecart_domain::abuse::{client_key, retry_after_secs, StrikePolicy};
use edgecart_durable_objects::protocol::guard::{self, Check, Strike, Verdict};
use edgecart_durable_objects::protocol::send;
use futures_util::future::join_all;
use worker::{console_error, Env};

/// A class of requests with a rate limit of its own: its binding and the
/// period wrangler.toml gives it (the test `periods_match_wrangler_toml`
/// keeps the two in step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Reads that reach a Durable Object (a product's exact stock, a SKU's
    /// availability, a cart, an order, a member's points), per client.
    Reads,
    /// Cart creation, per client.
    Carts,
    /// Line and coupon removals and shopper cancellations, per client and
    /// per cart.
    Lines,
    /// Coupon attempts (adding a code), per client and per cart.
    Coupons,
    /// Checkout attempts, per client and per cart.
    Checkouts,
    /// Failed admin sign-ins (a token presented and refused), per client.
    SignIn,
    /// A store's writes from all its clients (carts, lines, coupons,
    /// checkouts).
    Store,
}

impl Limit {
    /// The wrangler.toml binding counting this class.
    pub fn binding(self) -> &'static str {
        match self {
            Limit::Reads => "LIMIT_READS",
            Limit::Carts => "LIMIT_CARTS",
            Limit::Lines => "LIMIT_LINES",
            Limit::Coupons => "LIMIT_COUPONS",
            Limit::Checkouts => "LIMIT_CHECKOUTS",
            Limit::SignIn => "LIMIT_SIGN_IN",
            Limit::Store => "LIMIT_STORE",
        }
    }

    /// The binding's period in seconds (as wrangler.toml sets it).
    pub fn period_secs(self) -> u64 {
        match self {
            Limit::Reads | Limit::Store => 10,
            _ => 60,
        }
    }

    /// Whether the class's requests also count against the cart they name.
    fn per_cart(self) -> bool {
        matches!(self, Limit::Lines | Limit::Coupons | Limit::Checkouts)
    }

    /// Whether the class's requests count against the store's ceiling.
    fn store_wide(self) -> bool {
        matches!(
            self,
            Limit::Carts | Limit::Lines | Limit::Coupons | Limit::Checkouts
        )
    }

    pub const ALL: [Limit; 7] = [
        Limit::Reads,
        Limit::Carts,
        Limit::Lines,
        Limit::Coupons,
        Limit::Checkouts,
        Limit::SignIn,
        Limit::Store,
    ];
}

/// The rate limit a route's requests count against, if any. Every handler
/// is named, so a new route must decide. Admin routes count only their
/// failed sign-ins ([`sign_in_failed`]); Stripe's webhook is verified by
/// its signature instead.
pub fn limit_of(handler: Handler) -> Option<Limit> {
    use Handler as H;
    match handler {
        // Reads that reach a Durable Object (exact stock, a cart, an order,
        // a member's points).
        H::GetProduct | H::Availability | H::GetCart | H::GetOrder | H::GetPoints => {
            Some(Limit::Reads)
        }
        H::CreateCart => Some(Limit::Carts),
        H::AddLine
        | H::SetLine
        | H::RemoveLine
        | H::RemoveCoupons
        | H::RemoveCoupon
        | H::CancelOrder
        | H::DevMemberToken => Some(Limit::Lines),
        H::AddCoupon => Some(Limit::Coupons),
        H::Checkout => Some(Limit::Checkouts),
        // Catalog listings and this document are served from KV and the
        // isolate's cache and cost the origin nothing: floods of them are
        // the CDN's to absorb (Cloudflare's own rate-limiting rules), and a
        // counter on every one would cost more than it saves.
        H::ListProducts | H::ListCategories | H::OpenApi => None,
        H::Health
        | H::StripeWebhook
        | H::AdminGetProduct
        | H::PutProduct
        | H::DeleteProduct
        | H::PutPrice
        | H::DeletePrice
        | H::PutCategory
        | H::ImportCatalog
        | H::ListAudit
        | H::SetOnHandBatch
        | H::GetStock
        | H::SetOnHand
        | H::AdjustStock
        | H::ListMovements
        | H::SalesReport
        | H::BestSellersReport
        | H::PointsReport
        | H::LowStockReport
        | H::ListOrders
        | H::AdminGetOrder
        | H::FulfilOrder
        | H::RefundOrder
        | H::AdminCancelOrder
        | H::GetStore
        | H::PutStore
        | H::ListPromotions
        | H::GetPromotion
        | H::PutPromotion
        | H::DeletePromotion
        | H::ListStorePrices
        | H::SetStorePrices
        | H::ListStoreAudit
        | H::ListStores
        | H::GetStoreProfile
        | H::PutStoreProfile
        | H::AdminGetPoints
        | H::GrantPoints
        | H::AdjustPoints
        | H::ListCheckouts
        | H::Session
        | H::ListWebhooks
        | H::CreateWebhook
        | H::GetWebhook
        | H::UpdateWebhook
        | H::DeleteWebhook
        | H::RotateWebhook
        | H::ListWebhookDeliveries
        | H::ReplayWebhook => None,
    }
}

/// Whether a request of `handler` names a cart (its path's `id`), which it
/// then also counts against.
pub fn names_cart(handler: Handler) -> bool {
    use Handler as H;
    matches!(
        handler,
        H::AddLine
            | H::SetLine
            | H::RemoveLine
            | H::AddCoupon
            | H::RemoveCoupons
            | H::RemoveCoupon
            | H::Checkout
    )
}

/// Who is asking, for the limits: the client key, and whether rates count.
pub struct Client {
    pub key: String,
    /// Whether request rates are counted (`RATE_LIMITS` is not `off`).
    pub rates_on: bool,
}

impl Client {
    /// The client of a request whose `CF-Connecting-IP` is `address`.
    pub fn of(address: Option<&str>, rates_on: bool) -> Self {
        Client {
            key: client_key(address),
            rates_on,
        }
    }
}

/// The keys a request of class `limit` counts against, with their
/// bindings: the client's, the cart's (classes that name one) and the
/// store's ceiling.
pub fn keys(limit: Limit, store: &str, client: &str, cart: Option<&str>) -> Vec<(Limit, String)> {
    let mut keys = vec![(limit, format!("{store}|{client}"))];
    if let Some(cart) = cart.filter(|_| limit.per_cart()) {
        keys.push((limit, format!("{store}|cart:{cart}")));
    }
    if limit.store_wide() {
        keys.push((Limit::Store, store.to_string()));
    }
    keys
}

/// Counts the request against each of its keys (at once); over any of
/// them it is refused with 429 `rate_limited`. A binding that is missing
/// or fails lets the request through (and logs): the limits protect the
/// shop, they must not take it down.
pub async fn admit(
    env: &Env,
    client: &Client,
    limit: Limit,
    store: &str,
    cart: Option<&str>,
) -> Result<()> {
    if !client.rates_on {
        return Ok(());
    }
    let keys = keys(limit, store, &client.key, cart);
    let outcomes = join_all(keys.iter().map(|(limit, key)| within(env, *limit, key))).await;
    match keys.iter().zip(outcomes).find(|(_, within)| !within) {
        None => Ok(()),
        Some(((over, _), _)) => Err(rate_limited(*over)),
    }
}

/// Whether one more request under `key` is within `limit` (and counts it).
async fn within(env: &Env, limit: Limit, key: &str) -> bool {
    let outcome = match env.rate_limiter(limit.binding()) {
        Ok(limiter) => limiter.limit(key.to_string()).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(o) => o.success,
        Err(e) => {
            console_error!("rate limit {}: {e}", limit.binding());
            true
        }
    }
}

/// The 429 of a request over `limit`.
pub fn rate_limited(limit: Limit) -> ApiError {
    let what = match limit {
        Limit::Reads => "reads",
        Limit::Carts => "new carts",
        Limit::Lines => "cart changes",
        Limit::Coupons => "coupon attempts",
        Limit::Checkouts => "checkout attempts",
        Limit::SignIn => "failed sign-ins",
        Limit::Store => "requests to this store",
    };
    ApiError::TooManyRequests {
        code: "rate_limited",
        retry_after_secs: limit.period_secs(),
        detail: format!("Too many {what}; retry after the time in Retry-After."),
    }
}

/// A failed admin sign-in (a token presented and refused) by `client`:
/// the 401 it gets, or 429 `rate_limited` once the client has failed too
/// often. A valid token is never refused for others' failures (a lock-out
/// by address would let anyone behind the same address lock the operator
/// out); admin tokens are long random secrets, so the limit slows noise
/// and floods rather than guarding a guessable secret.
pub async fn sign_in_failed(env: &Env, client: &Client, refusal: ApiError) -> ApiError {
    if client.rates_on && !within(env, Limit::SignIn, &format!("admin|{}", client.key)).await {
        rate_limited(Limit::SignIn)
    } else {
        refusal
    }
}

/// A strike counter: the guard object keeping `key`'s strikes, and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclineKey {
    pub object: String,
    pub key: String,
}

/// The guard objects' strike counters a checkout answers to: its client's
/// and its card's (the provider's payment token; absent for points). Kinds
/// are kept apart: a card token can never count as a client. The cart's
/// own count lives in the cart's object, which refuses a blocked cart's
/// checkout as it begins (`CartRefusal::TooManyDeclines`).
pub fn decline_keys(store: &str, client: &str, card: Option<&str>) -> Vec<DeclineKey> {
    let key = |kind: &str, key: &str| DeclineKey {
        object: guard::name(store, kind, key),
        key: key.to_string(),
    };
    let mut keys = vec![key("client", client)];
    if let Some(card) = card.filter(|c| !c.is_empty()) {
        keys.push(key("card", card));
    }
    keys
}

/// Refuses a checkout (429 `too_many_declines`) while any of its counters
/// is blocked, before anything is held or charged. A counter that cannot
/// be read lets it through (and logs): the provider still decides.
pub async fn check_declines(
    env: &Env,
    keys: &[DeclineKey],
    policy: StrikePolicy,
    now_ms: i64,
) -> Result<()> {
    let verdicts = join_all(keys.iter().map(|k| {
        send(
            env,
            &k.object,
            Check {
                key: k.key.clone(),
                policy,
            },
        )
    }))
    .await;
    let mut until = None::<i64>;
    for (k, verdict) in keys.iter().zip(verdicts) {
        match verdict {
            Ok(Ok(Verdict {
                blocked_until_ms: Some(at),
                ..
            })) => until = Some(until.map_or(at, |u| u.max(at))),
            Ok(_) => {}
            Err(e) => console_error!("decline guard {}: {e}", k.object),
        }
    }
    match until {
        None => Ok(()),
        Some(at) => Err(too_many_declines(retry_after_secs(now_ms, at))),
    }
}

/// 429 `too_many_declines`: a client, cart or card blocked for card
/// testing, for `retry_after_secs`.
pub fn too_many_declines(retry_after_secs: u64) -> ApiError {
    ApiError::TooManyRequests {
        code: "too_many_declines",
        retry_after_secs,
        detail: "Too many declined payments; retry after the time in Retry-After.".into(),
    }
}

/// Records a declined payment against each counter (at once).
pub async fn record_decline(env: &Env, keys: &[DeclineKey], policy: StrikePolicy) {
    let recorded = join_all(keys.iter().map(|k| {
        send(
            env,
            &k.object,
            Strike {
                key: k.key.clone(),
                policy,
            },
        )
    }))
    .await;
    for (k, r) in keys.iter().zip(recorded) {
        if let Err(e) = r {
            console_error!("decline guard {}: {e}", k.object);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_match_wrangler_toml() {
        let toml = include_str!("../wrangler.toml");
        for limit in Limit::ALL {
            let at = toml
                .find(&format!("name = \"{}\"", limit.binding()))
                .unwrap_or_else(|| panic!("{} is not bound", limit.binding()));
            let entry = &toml[at..];
            let simple = &entry[entry.find("simple").expect("a simple limit")..];
            let simple = &simple[..simple.find('}').expect("an inline table")];
            assert!(
                simple.contains(&format!("period = {}", limit.period_secs())),
                "{}: {simple}",
                limit.binding()
            );
        }
    }

    #[test]
    fn a_cart_route_counts_per_client_per_cart_and_per_store() {
        assert_eq!(
            keys(Limit::Checkouts, "bank", "203.0.113.7", Some("crt_1")),
            vec![
                (Limit::Checkouts, "bank|203.0.113.7".to_string()),
                (Limit::Checkouts, "bank|cart:crt_1".to_string()),
                (Limit::Store, "bank".to_string()),
            ]
        );
        assert_eq!(limit_of(Handler::ListProducts), None);
        assert_eq!(limit_of(Handler::GetCart), Some(Limit::Reads));
        assert_eq!(
            keys(Limit::Reads, "default", "unknown", Some("crt_1")),
            vec![(Limit::Reads, "default|unknown".to_string())]
        );
        assert_eq!(
            keys(Limit::Carts, "default", "10.0.0.1", None),
            vec![
                (Limit::Carts, "default|10.0.0.1".to_string()),
                (Limit::Store, "default".to_string()),
            ]
        );
    }

    #[test]
    fn a_checkout_answers_to_its_client_and_card() {
        let keys = decline_keys("default", "10.0.0.1", Some("tok_visa"));
        let kinds: Vec<(&str, &str)> = keys
            .iter()
            .map(|k| (k.object.rsplit_once(':').unwrap().0, k.key.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [("default:client", "10.0.0.1"), ("default:card", "tok_visa")]
        );
        assert_eq!(
            keys[0].object,
            format!(
                "default:client:{:02}",
                edgecart_domain::abuse::strike_shard("10.0.0.1")
            )
        );
        assert_eq!(decline_keys("default", "10.0.0.1", None).len(), 1);
    }
}
