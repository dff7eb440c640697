//! Incoming webhooks: `POST /webhooks/stripe`, the events of the payment
//! provider. The raw body is verified against `Stripe-Signature` with the
//! endpoint's secret (`STRIPE_WEBHOOK_SECRET`) before anything is read from
//! it; a bad signature answers 400 and changes nothing.
//!
//! An event is a hint, never the truth: a PaymentIntent event makes the
//! order's checkout (the cart's object) read the PaymentIntent itself and
//! carry on by the saga's rules, so events in any order, any number of
//! times, change nothing twice. Refunds and disputes made at the provider
//! go to the order's object, which applies each event id once. Each target
//! remembers the event ids it acted on for 72 hours.
//!
//! The answer is 200 once the target took the event in (or when the event
//! concerns nothing of ours), and 503 when the target could not be reached:
//! Stripe then delivers it again.

use crate::app::ApiRequest;
use crate::config::Config;
use crate::http::{ApiError, ApiResponse, Result};
use crate::objects::send;
use edgecart_domain::order::Dispute;
use edgecart_domain::payments::verify_stripe_signature;
use edgecart_domain::stores::{is_store_id, object_name};
use edgecart_durable_objects::protocol::{cart, order};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use worker::Env;

/// The largest event body read (Stripe's are a few KiB).
const MAX_BODY: usize = 256 * 1024;

/// A Stripe event, as far as it is read (Stripe sends more fields, which
/// are ignored).
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "StripeEvent", extend("examples" = [{"id": "evt_1NabcDEF", "object": "event", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_3Nabc", "object": "payment_intent", "status": "succeeded", "metadata": {"order_id": "ord_3b9d2f4a6c8e0a1b2c3d4e5f", "store": "default", "cart": "crt_5f0c3a9b1e2d4c6a8b7f9e01"}}}}])))]
pub struct Event {
    /// The event's id (`evt_…`).
    id: String,
    /// What happened (`payment_intent.succeeded`, `charge.refunded`, …).
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

/// The object the event is about, as it was then.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "StripeEventData"))]
pub struct EventData {
    /// A PaymentIntent, Charge, Dispute or other Stripe object.
    object: serde_json::Map<String, serde_json::Value>,
}

/// The parts of a PaymentIntent, Charge or Dispute an event routes by.
#[derive(Deserialize, Default)]
struct Object {
    #[serde(default)]
    id: String,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    amount: i64,
    #[serde(default)]
    amount_refunded: i64,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

/// What the endpoint did with an event.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "WebhookReceived", extend("examples" = [{"received": true, "handled": "checkout"}])))]
pub struct Received {
    /// Always true: the event was verified and taken in.
    received: bool,
    /// What it concerned: `checkout` (a payment an open checkout waits
    /// for was read again), `order` (a refund or dispute recorded on the
    /// order), or `ignored` (an event type, or an object, that is not one
    /// of ours).
    #[cfg_attr(feature = "openapi", schemars(extend("enum" = ["checkout", "order", "ignored"])))]
    handled: &'static str,
}

/// `POST /webhooks/stripe`.
pub async fn stripe(
    request: &mut ApiRequest<'_>,
    env: &Env,
    config: &Config,
    now_ms: u64,
) -> Result<ApiResponse> {
    if config.stripe_webhook_secrets.is_empty() {
        return Err(ApiError::Misconfigured {
            cause: "STRIPE_WEBHOOK_SECRET is not set".into(),
        });
    }
    let body = request
        .incoming
        .bytes_at_most(MAX_BODY)
        .await
        .map_err(|e| ApiError::InvalidBody {
            code: "invalid_body".into(),
            field: None,
            detail: format!("The body could not be read: {e}"),
        })?
        .ok_or_else(|| ApiError::PayloadTooLarge {
            detail: format!("A webhook body is at most {MAX_BODY} bytes."),
        })?;
    let header =
        request
            .incoming
            .header("Stripe-Signature")
            .ok_or_else(|| ApiError::InvalidSignature {
                detail: "The Stripe-Signature header is missing.".into(),
            })?;
    let secrets: Vec<&str> = config
        .stripe_webhook_secrets
        .iter()
        .map(String::as_str)
        .collect();
    verify_stripe_signature(&header, &body, &secrets, (now_ms / 1000) as i64).map_err(|e| {
        ApiError::InvalidSignature {
            detail: e.describe(),
        }
    })?;
    let event: Event = serde_json::from_slice(&body).map_err(|e| ApiError::InvalidBody {
        code: "invalid_json".into(),
        field: None,
        detail: format!("The event is not a Stripe event: {e}"),
    })?;
    let object: Object =
        serde_json::from_value(serde_json::Value::Object(event.data.object)).unwrap_or_default();
    let handled = match event.kind.as_str() {
        "payment_intent.succeeded"
        | "payment_intent.payment_failed"
        | "payment_intent.requires_action"
        | "payment_intent.processing"
        | "payment_intent.canceled" => payment_changed(env, &event.id, &object).await?,
        "charge.refunded" => {
            let change = order::ProviderChange::Refunded {
                refunded: object.amount_refunded,
                amount: object.amount,
            };
            let owner = Owner::of(&object.metadata);
            order_changed(
                env,
                &event.id,
                owner,
                object.payment_intent.as_deref(),
                change,
            )
            .await?
        }
        "charge.dispute.created" => {
            let Some(intent) = object.payment_intent.as_deref() else {
                return received("ignored");
            };
            // A dispute carries no metadata: the PaymentIntent names its order.
            let metadata = edgecart_durable_objects::payment::intent_metadata(env, intent)
                .await
                .map_err(|cause| ApiError::StorageUnavailable {
                    cause: format!("reading {intent} for dispute {}: {cause}", object.id),
                })?;
            let change = order::ProviderChange::Disputed {
                dispute: Dispute {
                    id: object.id.clone(),
                    reason: object.reason.clone().unwrap_or_else(|| "unknown".into()),
                    status: object.status.clone().unwrap_or_else(|| "unknown".into()),
                    amount: object.amount,
                    reported_at_ms: now_ms as i64,
                },
            };
            order_changed(env, &event.id, Owner::of(&metadata), Some(intent), change).await?
        }
        _ => "ignored",
    };
    received(handled)
}

fn received(handled: &'static str) -> Result<ApiResponse> {
    let mut r = ApiResponse::json(&Received {
        received: true,
        handled,
    });
    r.header("Cache-Control", "no-store");
    Ok(r)
}

/// Whose payment an object is: the store, order and cart our PaymentIntent
/// metadata names (checked for shape; anything else is not ours).
struct Owner {
    store: String,
    order: String,
    cart: Option<String>,
}

impl Owner {
    fn of(metadata: &BTreeMap<String, String>) -> Option<Owner> {
        let store = metadata.get("store")?;
        let order = metadata.get("order_id")?;
        let ok = is_store_id(store) && crate::checkout_api::is_order_id(order);
        ok.then(|| Owner {
            store: store.clone(),
            order: order.clone(),
            cart: metadata
                .get("cart")
                .filter(|c| crate::cart_api::is_cart_id(c))
                .cloned(),
        })
    }
}

/// A PaymentIntent changed: the checkout of its order reads it.
async fn payment_changed(env: &Env, event: &str, intent: &Object) -> Result<&'static str> {
    let Some(Owner {
        store,
        order,
        cart: Some(cart),
    }) = Owner::of(&intent.metadata)
    else {
        return Ok("ignored");
    };
    let command = cart::PaymentChanged {
        order,
        event: event.to_string(),
    };
    let noted = send(env, &object_name(&store, &cart), command)
        .await?
        .map_err(|refusal| ApiError::StorageUnavailable {
            cause: format!("the cart refused a payment event: {refusal:?}"),
        })?;
    Ok(if noted.checkout {
        "checkout"
    } else {
        "ignored"
    })
}

/// A refund or dispute made at the provider: the order records it.
async fn order_changed(
    env: &Env,
    event: &str,
    owner: Option<Owner>,
    intent: Option<&str>,
    change: order::ProviderChange,
) -> Result<&'static str> {
    let (Some(owner), Some(intent)) = (owner, intent) else {
        return Ok("ignored");
    };
    let command = order::ProviderEvent {
        event: event.to_string(),
        reference: intent.to_string(),
        change,
    };
    match send(env, &object_name(&owner.store, &owner.order), command).await? {
        Ok(_) => Ok("order"),
        // No such order here (it was never placed): nothing to record.
        Err(order::OrderRefusal::NotFound) => Ok("ignored"),
        Err(other) => Err(ApiError::StorageUnavailable {
            cause: format!("the order refused a payment event: {other:?}"),
        }),
    }
}
