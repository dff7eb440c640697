//! Payment providers: the built-in test provider and a Stripe adapter
//! speaking Stripe's PaymentIntents wire format (form-encoded bodies, its
//! own `Idempotency-Key` header, a pinned `Stripe-Version`) to Stripe's own
//! host, or to the test host the operator names in `STRIPE_TEST_API_BASE`
//! (never a store's configuration). A charge, a cancel and a refund are
//! idempotent by the order id, so a retried checkout step never charges or
//! refunds twice.
//!
//! Every PaymentIntent read is judged by the domain
//! ([`edgecart_domain::payments::judge`]): it counts only when its amount,
//! currency and order id are the order's. Outcomes are reduced to what
//! checkout needs: paid (with the provider's reference), declined (nothing
//! was charged; the provider's code, which the saga turns into what the
//! shopper may learn), waiting for the shopper (3-D Secure) or processing,
//! or unavailable (the outcome may be unknown). This module decides
//! nothing about orders or stock.

use edgecart_domain::money::Money;
use edgecart_domain::payments::{
    judge, lost_charge_lookup, Expected, Intent, LostChargeLookup, PaymentAction, Verdict,
    WireError, STRIPE_API, STRIPE_VERSION,
};
use edgecart_domain::store::PaymentSettings;
use futures_util::future::{select, Either};
use std::time::Duration;
use worker::{Delay, Env, Fetch, Headers, Method, Request, RequestInit};

/// How long a provider call may take before it counts as unavailable.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// What asking the provider about a charge came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Paid {
        reference: String,
    },
    /// Nothing was charged; `code`: the provider's decline code.
    Declined {
        code: String,
    },
    /// The shopper must authenticate the payment.
    ActionRequired {
        reference: String,
        action: PaymentAction,
    },
    /// The provider is still deciding.
    Processing {
        reference: String,
    },
    /// Not answered, answered with an error, or with an intent that is not
    /// the order's: nothing is known.
    Unavailable {
        cause: String,
    },
}

/// What a refund request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Refunded,
    Unavailable { cause: String },
}

/// The order a payment is for, as the provider must show it.
#[derive(Debug, Clone, Copy)]
pub struct ForOrder<'a> {
    pub store: &'a str,
    pub order: &'a str,
    pub cart: &'a str,
    pub total: Money,
}

impl<'a> ForOrder<'a> {
    fn expected(&self) -> Expected<'a> {
        Expected {
            order: self.order,
            amount: self.total.amount,
            currency: self.total.currency,
        }
    }
}

/// Whether the operator enabled the test provider (`TEST_PAYMENTS=on`).
pub fn test_payments_enabled(env: &Env) -> bool {
    env.var("TEST_PAYMENTS")
        .is_ok_and(|v| v.to_string().eq_ignore_ascii_case("on"))
}

/// Charges the order's total with the shopper's card `token`, idempotently
/// by the order id; first asked at `asked_at_ms`. Asked again after the
/// provider forgot the key, it searches for the order's intent instead of
/// creating one.
pub async fn charge(
    env: &Env,
    settings: &PaymentSettings,
    pay: ForOrder<'_>,
    token: &str,
    asked_at_ms: i64,
    now_ms: i64,
) -> ChargeOutcome {
    match settings {
        PaymentSettings::Test {} if !test_payments_enabled(env) => ChargeOutcome::Unavailable {
            cause: "the test provider is not enabled (TEST_PAYMENTS)".into(),
        },
        PaymentSettings::Test {} => test_charge(pay.order, token),
        PaymentSettings::Stripe { .. } => match lost_charge_lookup(asked_at_ms, now_ms) {
            LostChargeLookup::AskAgain => stripe_create(env, pay, token).await,
            LostChargeLookup::Search => stripe_search(env, pay).await,
        },
    }
}

/// Reads the payment `reference` of the order (never creates one).
pub async fn read(
    env: &Env,
    settings: &PaymentSettings,
    pay: ForOrder<'_>,
    reference: &str,
) -> ChargeOutcome {
    match settings {
        // The test provider decides at once: it never leaves a payment to read.
        PaymentSettings::Test {} => ChargeOutcome::Unavailable {
            cause: format!("the test provider has no pending payment {reference}"),
        },
        PaymentSettings::Stripe { .. } => {
            let path = format!("/v1/payment_intents/{}", urlencode(reference));
            intent_answer(pay, stripe(env, Method::Get, &path, &[], None).await)
        }
    }
}

/// Cancels the payment `reference` of the order, idempotently: canceled
/// is declined; one that succeeded (or failed) first is read.
pub async fn cancel(
    env: &Env,
    settings: &PaymentSettings,
    pay: ForOrder<'_>,
    reference: &str,
) -> ChargeOutcome {
    match settings {
        PaymentSettings::Test {} => ChargeOutcome::Declined {
            code: "payment_canceled".into(),
        },
        PaymentSettings::Stripe { .. } => {
            let path = format!("/v1/payment_intents/{}/cancel", urlencode(reference));
            let form = [("cancellation_reason", "abandoned".to_string())];
            let key = format!("cancel-{}", pay.order);
            match stripe(env, Method::Post, &path, &form, Some(&key)).await {
                // Not cancelable any more: it was decided first.
                Ok((400, body))
                    if error(&body).code.as_deref() == Some("payment_intent_unexpected_state") =>
                {
                    read(env, settings, pay, reference).await
                }
                other => intent_answer(pay, other),
            }
        }
    }
}

/// Refunds the whole payment `reference` of `order`, idempotently.
pub async fn refund(
    env: &Env,
    settings: &PaymentSettings,
    order: &str,
    reference: &str,
) -> RefundOutcome {
    match settings {
        PaymentSettings::Test {} => RefundOutcome::Refunded,
        PaymentSettings::Stripe { .. } => {
            let form = [
                ("payment_intent", reference.to_string()),
                ("metadata[order_id]", order.to_string()),
            ];
            let key = format!("refund-{order}");
            match stripe(env, Method::Post, "/v1/refunds", &form, Some(&key)).await {
                Ok((200, _)) => RefundOutcome::Refunded,
                // Refunded before (a retry whose first answer was lost, or a
                // refund made at the provider).
                Ok((400, body))
                    if error(&body).code.as_deref() == Some("charge_already_refunded") =>
                {
                    RefundOutcome::Refunded
                }
                Ok((status, body)) => RefundOutcome::Unavailable {
                    cause: format!("Stripe answered {status}: {:?}", error(&body).message),
                },
                Err(cause) => RefundOutcome::Unavailable { cause },
            }
        }
    }
}

/// The metadata of PaymentIntent `reference` (whose order it is), read
/// from Stripe: a dispute's event names only the intent.
pub async fn intent_metadata(
    env: &Env,
    reference: &str,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let path = format!("/v1/payment_intents/{}", urlencode(reference));
    match stripe(env, Method::Get, &path, &[], None).await? {
        (200, body) => serde_json::from_value::<Intent>(body)
            .map(|pi| pi.metadata)
            .map_err(|e| format!("Stripe's PaymentIntent: {e}")),
        (status, body) => Err(format!(
            "Stripe answered {status}: {:?}",
            error(&body).message
        )),
    }
}

/// Creates and confirms the order's PaymentIntent (the order id is the
/// idempotency key: asked again, Stripe answers the first outcome).
async fn stripe_create(env: &Env, pay: ForOrder<'_>, token: &str) -> ChargeOutcome {
    let form = [
        ("amount", pay.total.amount.to_string()),
        ("currency", pay.total.currency.as_str().to_ascii_lowercase()),
        ("payment_method", token.to_string()),
        ("payment_method_types[]", "card".to_string()),
        ("confirm", "true".to_string()),
        ("metadata[order_id]", pay.order.to_string()),
        ("metadata[store]", pay.store.to_string()),
        ("metadata[cart]", pay.cart.to_string()),
    ];
    let answer = stripe(
        env,
        Method::Post,
        "/v1/payment_intents",
        &form,
        Some(pay.order),
    )
    .await;
    match answer {
        Ok((402, body)) => ChargeOutcome::Declined {
            code: error(&body).code().to_string(),
        },
        // A card token Stripe does not know is the shopper's problem.
        Ok((400, body)) if error(&body).code.as_deref() == Some("resource_missing") => {
            ChargeOutcome::Declined {
                code: "invalid_payment_token".into(),
            }
        }
        other => intent_answer(pay, other),
    }
}

/// Looks for the order's PaymentIntent by its order id (the create's key
/// is gone): none means nothing was charged.
async fn stripe_search(env: &Env, pay: ForOrder<'_>) -> ChargeOutcome {
    let query = format!("metadata['order_id']:'{}'", pay.order);
    let path = format!("/v1/payment_intents/search?query={}", urlencode(&query));
    let body = match stripe(env, Method::Get, &path, &[], None).await {
        Ok((200, body)) => body,
        other => return intent_answer(pay, other),
    };
    let found: Vec<Intent> = match serde_json::from_value(body["data"].clone()) {
        Ok(found) => found,
        Err(e) => {
            return ChargeOutcome::Unavailable {
                cause: format!("Stripe's search answer: {e}"),
            }
        }
    };
    // The one that counts: paid first, then one still pending.
    let verdicts: Vec<ChargeOutcome> = found.iter().map(|pi| verdict(pay, pi)).collect();
    let rank = |o: &ChargeOutcome| match o {
        ChargeOutcome::Paid { .. } => 0,
        ChargeOutcome::ActionRequired { .. } | ChargeOutcome::Processing { .. } => 1,
        ChargeOutcome::Unavailable { .. } => 2,
        ChargeOutcome::Declined { .. } => 3,
    };
    verdicts
        .into_iter()
        .min_by_key(rank)
        .unwrap_or(ChargeOutcome::Declined {
            code: "no_payment".into(),
        })
}

/// What an answer carrying a PaymentIntent means for the order.
fn intent_answer(
    pay: ForOrder<'_>,
    answer: Result<(u16, serde_json::Value), String>,
) -> ChargeOutcome {
    match answer {
        Err(cause) => ChargeOutcome::Unavailable { cause },
        Ok((200, body)) => match serde_json::from_value::<Intent>(body) {
            Ok(pi) => verdict(pay, &pi),
            Err(e) => ChargeOutcome::Unavailable {
                cause: format!("Stripe's PaymentIntent: {e}"),
            },
        },
        Ok((status, body)) => ChargeOutcome::Unavailable {
            cause: format!("Stripe answered {status}: {:?}", error(&body).message),
        },
    }
}

fn verdict(pay: ForOrder<'_>, pi: &Intent) -> ChargeOutcome {
    match judge(pi, pay.expected()) {
        Verdict::Paid { reference } => ChargeOutcome::Paid { reference },
        Verdict::Declined { code } => ChargeOutcome::Declined { code },
        Verdict::ActionRequired { reference, action } => {
            ChargeOutcome::ActionRequired { reference, action }
        }
        Verdict::Processing { reference } => ChargeOutcome::Processing { reference },
        Verdict::NotOurs { why } => {
            worker::console_error!("payment of {}: {why}", pay.order);
            ChargeOutcome::Unavailable { cause: why }
        }
    }
}

/// Stripe's error object of an answer.
fn error(body: &serde_json::Value) -> WireError {
    serde_json::from_value(body["error"].clone()).unwrap_or_default()
}

/// The test provider: outcomes by card token, no money moves.
fn test_charge(order: &str, token: &str) -> ChargeOutcome {
    match token {
        "tok_visa" | "tok_mastercard" | "pm_card_visa" => ChargeOutcome::Paid {
            reference: format!("test_{order}"),
        },
        "tok_decline" | "pm_card_chargeDeclined" => ChargeOutcome::Declined {
            code: "card_declined".into(),
        },
        "tok_timeout" => ChargeOutcome::Unavailable {
            cause: "the test provider timed out (tok_timeout)".into(),
        },
        _ => ChargeOutcome::Declined {
            code: "invalid_payment_token".into(),
        },
    }
}

/// Where Stripe answers: its own host, or the operator's test host.
fn stripe_base(env: &Env) -> String {
    env.var("STRIPE_TEST_API_BASE")
        .map(|v| v.to_string())
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| STRIPE_API.to_string())
}

/// Sends a request to Stripe (a form for a POST, with `idempotency_key`);
/// the status and JSON body.
async fn stripe(
    env: &Env,
    method: Method,
    path: &str,
    form: &[(&str, String)],
    idempotency_key: Option<&str>,
) -> Result<(u16, serde_json::Value), String> {
    let secret = env
        .secret("STRIPE_SECRET_KEY")
        .map(|s| s.to_string())
        .or_else(|_| env.var("STRIPE_SECRET_KEY").map(|v| v.to_string()))
        .map_err(|_| "the STRIPE_SECRET_KEY secret is not set".to_string())?;
    let headers = Headers::new();
    let set = |k: &str, v: &str| headers.set(k, v).map_err(|e| e.to_string());
    set("Authorization", &format!("Bearer {secret}"))?;
    set("Stripe-Version", STRIPE_VERSION)?;
    if let Some(key) = idempotency_key {
        set("Idempotency-Key", key)?;
    }
    let mut init = RequestInit::new();
    if method == Method::Post {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        set("Content-Type", "application/x-www-form-urlencoded")?;
        init.with_body(Some(body.into()));
    }
    init.with_method(method).with_headers(headers);
    let url = format!("{}{path}", stripe_base(env));
    let request = Request::new_with_init(&url, &init).map_err(|e| e.to_string())?;
    let send = Box::pin(async move {
        let mut response = Fetch::Request(request)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status_code();
        let json = response
            .json::<serde_json::Value>()
            .await
            .unwrap_or(serde_json::Value::Null);
        Ok::<_, String>((status, json))
    });
    match select(send, Box::pin(Delay::from(PROVIDER_TIMEOUT))).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err(format!("Stripe did not answer within {PROVIDER_TIMEOUT:?}")),
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
