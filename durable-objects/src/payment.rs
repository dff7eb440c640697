//! Payment providers: the built-in test provider and a Stripe adapter
//! speaking Stripe's PaymentIntents wire format (form-encoded bodies, its
//! own `Idempotency-Key` header) to the configured base URL. A charge and a
//! refund are idempotent by the order id, so a retried checkout step never
//! charges or refunds twice.
//!
//! Outcomes are reduced to what checkout needs: paid (with the provider's
//! reference), declined (nothing was charged), or unavailable (the outcome
//! may be unknown: checkout compensates and retries the same idempotent
//! request later). This module decides nothing about orders or stock.

use edgecart_domain::money::Money;
use edgecart_domain::store::PaymentSettings;
use futures_util::future::{select, Either};
use std::time::Duration;
use worker::{Delay, Env, Fetch, Headers, Method, Request, RequestInit};

/// How long a provider call may take before it counts as unavailable.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// What a charge request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Paid {
        reference: String,
    },
    Declined {
        code: String,
        message: String,
    },
    /// Not answered, or answered with an error: nothing is known.
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

/// Charges `amount` with the shopper's card `token`, idempotently by `order`.
pub async fn charge(
    env: &Env,
    settings: &PaymentSettings,
    order: &str,
    amount: Money,
    token: &str,
) -> ChargeOutcome {
    match settings {
        PaymentSettings::Test {} => test_charge(order, token),
        PaymentSettings::Stripe { base_url } => {
            let form = [
                ("amount", amount.amount.to_string()),
                ("currency", amount.currency.as_str().to_ascii_lowercase()),
                ("payment_method", token.to_string()),
                ("confirm", "true".to_string()),
                ("metadata[order_id]", order.to_string()),
            ];
            match stripe(env, base_url, "/v1/payment_intents", &form, order).await {
                Err(cause) => ChargeOutcome::Unavailable { cause },
                Ok((200, body)) => match body["status"].as_str() {
                    Some("succeeded") => match body["id"].as_str() {
                        Some(id) => ChargeOutcome::Paid {
                            reference: id.to_string(),
                        },
                        None => ChargeOutcome::Unavailable {
                            cause: "Stripe answered without an id".into(),
                        },
                    },
                    other => ChargeOutcome::Unavailable {
                        cause: format!("payment intent status {other:?}"),
                    },
                },
                Ok((402, body)) => ChargeOutcome::Declined {
                    code: body["error"]["decline_code"]
                        .as_str()
                        .or(body["error"]["code"].as_str())
                        .unwrap_or("card_declined")
                        .to_string(),
                    message: body["error"]["message"]
                        .as_str()
                        .unwrap_or("The card was declined.")
                        .to_string(),
                },
                // A card token Stripe does not know is the shopper's problem.
                Ok((400, body)) if body["error"]["code"] == "resource_missing" => {
                    ChargeOutcome::Declined {
                        code: "invalid_payment_token".into(),
                        message: "The payment token is not valid.".into(),
                    }
                }
                Ok((status, body)) => ChargeOutcome::Unavailable {
                    cause: format!("Stripe answered {status}: {}", body["error"]["message"]),
                },
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
        PaymentSettings::Stripe { base_url } => {
            let form = [
                ("payment_intent", reference.to_string()),
                ("metadata[order_id]", order.to_string()),
            ];
            let key = format!("refund-{order}");
            match stripe(env, base_url, "/v1/refunds", &form, &key).await {
                Ok((200, _)) => RefundOutcome::Refunded,
                // Refunded before (a retry whose first answer was lost).
                Ok((400, body)) if body["error"]["code"] == "charge_already_refunded" => {
                    RefundOutcome::Refunded
                }
                Ok((status, body)) => RefundOutcome::Unavailable {
                    cause: format!("Stripe answered {status}: {}", body["error"]["message"]),
                },
                Err(cause) => RefundOutcome::Unavailable { cause },
            }
        }
    }
}

/// The test provider: outcomes by card token, no money moves.
fn test_charge(order: &str, token: &str) -> ChargeOutcome {
    match token {
        "tok_visa" | "tok_mastercard" | "pm_card_visa" => ChargeOutcome::Paid {
            reference: format!("test_{order}"),
        },
        "tok_decline" | "pm_card_chargeDeclined" => ChargeOutcome::Declined {
            code: "card_declined".into(),
            message: "The card was declined.".into(),
        },
        "tok_timeout" => ChargeOutcome::Unavailable {
            cause: "the test provider timed out (tok_timeout)".into(),
        },
        _ => ChargeOutcome::Declined {
            code: "invalid_payment_token".into(),
            message: "The payment token is not valid.".into(),
        },
    }
}

/// POSTs a form to Stripe with `idempotency_key`; the status and JSON body.
async fn stripe(
    env: &Env,
    base_url: &str,
    path: &str,
    form: &[(&str, String)],
    idempotency_key: &str,
) -> Result<(u16, serde_json::Value), String> {
    let secret = env
        .secret("STRIPE_SECRET_KEY")
        .map(|s| s.to_string())
        .or_else(|_| env.var("STRIPE_SECRET_KEY").map(|v| v.to_string()))
        .map_err(|_| "the STRIPE_SECRET_KEY secret is not set".to_string())?;
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let headers = Headers::new();
    let set = |k: &str, v: &str| headers.set(k, v).map_err(|e| e.to_string());
    set("Authorization", &format!("Bearer {secret}"))?;
    set("Content-Type", "application/x-www-form-urlencoded")?;
    set("Idempotency-Key", idempotency_key)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let request =
        Request::new_with_init(&format!("{base_url}{path}"), &init).map_err(|e| e.to_string())?;
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
