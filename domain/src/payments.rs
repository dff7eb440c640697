//! Card payments as pure rules: what a provider's PaymentIntent means for
//! a checkout once it is proven to be ours, what a shopper may learn of a
//! decline, when a lost charge may be asked for again, and Stripe's
//! webhook signatures.
//!
//! - **Whose intent.** A PaymentIntent counts only when its amount,
//!   currency and `metadata[order_id]` are the order's ([`judge`]): a
//!   reply for another order, or with another amount, is never taken as
//!   paid (it is [`Verdict::NotOurs`], and the checkout keeps verifying
//!   until a person looks at it).
//! - **Its state.** `succeeded` is paid; `requires_action` waits for the
//!   shopper (3-D Secure) until a deadline; `processing` waits for the
//!   provider; `requires_payment_method` after an attempt is declined;
//!   `canceled` is declined (nothing was taken).
//! - **What the shopper learns.** Decline codes that tell a card tester
//!   something about the card (stolen, lost, fraudulent, a wrong CVC,
//!   number or expiry, …) are reported as a generic `card_declined`
//!   ([`shopper_decline`]); the real code goes only to the log. Only codes
//!   a shopper can act on pass, each with our own message (never the
//!   provider's text).
//! - **Asking again.** A charge whose answer was lost is asked again with
//!   the same idempotency key only while the provider still keeps that key
//!   (Stripe keeps it 24 hours; we stop at 23): after that a create would
//!   be a second charge, so the intent is searched for by the order id
//!   instead ([`lost_charge_lookup`]).
//! - **Webhooks.** [`verify_stripe_signature`]: `t=` and one or more `v1=`
//!   (hex HMAC-SHA256 of `"{t}.{raw body}"` keyed by the endpoint's
//!   secret), compared in constant time, within a tolerance of `t`.

use crate::money::Currency;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;

/// Where Stripe answers. Fixed: a test host comes only from a variable the
/// operator sets (never from a store's configuration).
pub const STRIPE_API: &str = "https://api.stripe.com";
/// The Stripe API version every request pins (`Stripe-Version`), so the
/// shapes read here cannot change under us.
pub const STRIPE_VERSION: &str = "2024-06-20";
/// How long after a charge was first asked for the same create may be
/// asked again: Stripe keeps idempotency keys for 24 hours.
pub const CREATE_RETRY_WINDOW_MS: i64 = 23 * 60 * 60 * 1000;
/// How far a webhook's `t=` may be from now, in seconds.
pub const SIGNATURE_TOLERANCE_S: i64 = 300;

/// What the shopper must do for the provider to decide: the secret their
/// frontend hands to the provider's script (`stripe.handleNextAction`),
/// and what kind of action it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PaymentAction {
    /// The PaymentIntent's `client_secret`: give it to Stripe.js
    /// (`stripe.handleNextAction({clientSecret})`), then confirm the
    /// checkout again with the same `Idempotency-Key`.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 300), extend("examples" = ["pi_3Nabc_secret_xyz"])))]
    pub client_secret: String,
    pub next_action: NextAction,
}

/// The provider's next action, as far as a frontend needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NextAction {
    /// Stripe's `next_action.type`: `use_stripe_sdk` (Stripe.js handles
    /// it) or `redirect_to_url` (send the shopper to `redirect_url`).
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 64), extend("examples" = ["use_stripe_sdk"])))]
    pub kind: String,
    /// Where to send the shopper, for `redirect_to_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schemars(length(max = 2048)))]
    pub redirect_url: Option<String>,
}

/// A PaymentIntent as the provider answered it (the fields read here).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Intent {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub next_action: Option<WireNextAction>,
    #[serde(default)]
    pub last_payment_error: Option<WireError>,
}

/// Stripe's `next_action` object (the parts read).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WireNextAction {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub redirect_to_url: Option<WireRedirect>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WireRedirect {
    #[serde(default)]
    pub url: Option<String>,
}

/// Stripe's error object (an API error, or an intent's
/// `last_payment_error`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct WireError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

impl WireError {
    /// The most precise code: the decline code, else the error code.
    pub fn code(&self) -> &str {
        self.decline_code
            .as_deref()
            .or(self.code.as_deref())
            .unwrap_or("card_declined")
    }
}

/// The order a PaymentIntent must be for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected<'a> {
    pub order: &'a str,
    /// In minor units.
    pub amount: i64,
    pub currency: Currency,
}

/// What a PaymentIntent means for the checkout of the expected order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Paid {
        reference: String,
    },
    /// The shopper must act (3-D Secure).
    ActionRequired {
        reference: String,
        action: PaymentAction,
    },
    /// The provider is still deciding.
    Processing {
        reference: String,
    },
    /// Nothing was taken: declined (`code` as the provider gave it) or
    /// canceled.
    Declined {
        code: String,
    },
    /// Not the expected order's intent, or a state this adapter never
    /// creates: it does not count (logged with `why`).
    NotOurs {
        why: String,
    },
}

/// What `intent` means for the `expected` order: checked for amount,
/// currency and order id before its status counts.
pub fn judge(intent: &Intent, expected: Expected<'_>) -> Verdict {
    let currency = expected.currency.as_str().to_ascii_lowercase();
    let order = intent.metadata.get("order_id").map(String::as_str);
    if order != Some(expected.order) {
        return Verdict::NotOurs {
            why: format!(
                "PaymentIntent {} is for order {order:?}, not {}",
                intent.id, expected.order
            ),
        };
    }
    if intent.amount != expected.amount || intent.currency != currency {
        return Verdict::NotOurs {
            why: format!(
                "PaymentIntent {} is for {} {}, not {} {currency}",
                intent.id, intent.amount, intent.currency, expected.amount
            ),
        };
    }
    let reference = intent.id.clone();
    match intent.status.as_str() {
        "succeeded" => Verdict::Paid { reference },
        "processing" => Verdict::Processing { reference },
        "requires_action" => match (&intent.client_secret, &intent.next_action) {
            (Some(secret), Some(next)) => Verdict::ActionRequired {
                reference,
                action: PaymentAction {
                    client_secret: secret.clone(),
                    next_action: NextAction {
                        kind: next.kind.clone(),
                        redirect_url: next.redirect_to_url.as_ref().and_then(|r| r.url.clone()),
                    },
                },
            },
            _ => Verdict::NotOurs {
                why: format!(
                    "PaymentIntent {} requires an action it does not name",
                    intent.id
                ),
            },
        },
        "requires_payment_method" => Verdict::Declined {
            code: intent
                .last_payment_error
                .as_ref()
                .map_or("card_declined", WireError::code)
                .to_string(),
        },
        "canceled" => Verdict::Declined {
            code: "payment_canceled".into(),
        },
        other => Verdict::NotOurs {
            why: format!("PaymentIntent {} is in state {other}", intent.id),
        },
    }
}

/// What the shopper is told of a decline with the provider's `code`: the
/// code and a message of ours. Codes that would help a card tester (or
/// that we do not know) become the generic `card_declined`.
pub fn shopper_decline(code: &str) -> (&'static str, &'static str) {
    match code {
        "insufficient_funds" => ("insufficient_funds", "The card has insufficient funds."),
        "authentication_required" | "payment_intent_authentication_failure" => (
            "authentication_required",
            "The card's issuer asked for authentication, which was not completed. Nothing was charged.",
        ),
        "payment_canceled" => (
            "payment_canceled",
            "The payment was canceled before it completed. Nothing was charged.",
        ),
        "processing_error" | "try_again_later" => (
            "processing_error",
            "The card could not be processed just now. Nothing was charged; try again.",
        ),
        "card_not_supported" | "currency_not_supported" => (
            "card_not_supported",
            "This card does not support this purchase. Use another card.",
        ),
        "invalid_payment_token" => ("invalid_payment_token", "The payment token is not valid."),
        _ => ("card_declined", "The card was declined."),
    }
}

/// How to learn the outcome of a charge whose answer was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LostChargeLookup {
    /// Ask the same create again, with the same idempotency key: the
    /// provider answers the first request's outcome.
    AskAgain,
    /// Search the provider's intents by the order id (the key is gone).
    Search,
}

/// How to look for a charge first asked for at `asked_at_ms` (unknown:
/// written by an earlier version, which asked at the checkout's start,
/// `started_at_ms`).
pub fn lost_charge_lookup(asked_at_ms: i64, now_ms: i64) -> LostChargeLookup {
    if now_ms - asked_at_ms < CREATE_RETRY_WINDOW_MS {
        LostChargeLookup::AskAgain
    } else {
        LostChargeLookup::Search
    }
}

/// Why a webhook's signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// No `t=` or no `v1=`, or not numbers and hex where they must be.
    Malformed,
    /// `t=` is further from now than the tolerance.
    OutOfTolerance { t: i64 },
    /// No `v1=` is the body's signature.
    Mismatch,
}

impl SignatureError {
    pub fn describe(&self) -> String {
        match self {
            SignatureError::Malformed => {
                "The Stripe-Signature header needs t= and at least one v1= signature.".into()
            }
            SignatureError::OutOfTolerance { t } => format!(
                "The Stripe-Signature timestamp {t} is more than {SIGNATURE_TOLERANCE_S} seconds from now."
            ),
            SignatureError::Mismatch => {
                "No v1 signature in Stripe-Signature matches the body.".into()
            }
        }
    }
}

/// Verifies a `Stripe-Signature` header over the raw `body` with any of
/// `secrets` (during a rotation both are live), at `now_s`. Answers `t`.
pub fn verify_stripe_signature(
    header: &str,
    body: &[u8],
    secrets: &[&str],
    now_s: i64,
) -> Result<i64, SignatureError> {
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k {
            "t" => t = Some(v.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            "v1" => signatures.push(hex_decode(v).ok_or(SignatureError::Malformed)?),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now_s - t).abs() > SIGNATURE_TOLERANCE_S {
        return Err(SignatureError::OutOfTolerance { t });
    }
    for secret in secrets {
        for signature in &signatures {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
                .expect("HMAC takes a key of any length");
            mac.update(t.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            // `verify_slice` compares in constant time.
            if mac.verify_slice(signature).is_ok() {
                return Ok(t);
            }
        }
    }
    Err(SignatureError::Mismatch)
}

/// The `Stripe-Signature` header Stripe would send for `body` at `t`
/// (for tests and the local fake's twin).
pub fn stripe_signature(body: &[u8], secret: &str, t: i64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn intent(status: &str) -> Intent {
        serde_json::from_value(serde_json::json!({
            "id": "pi_1", "object": "payment_intent", "status": status, "amount": 1299,
            "currency": "usd", "metadata": {"order_id": "ord_1", "store": "default"},
            "client_secret": "pi_1_secret_x",
            "next_action": if status == "requires_action" {
                serde_json::json!({"type": "redirect_to_url", "redirect_to_url": {"url": "https://hooks.stripe.com/3ds", "return_url": "https://shop"}})
            } else { serde_json::Value::Null },
            "last_payment_error": if status == "requires_payment_method" {
                serde_json::json!({"type": "card_error", "code": "card_declined", "decline_code": "stolen_card", "message": "Your card was declined."})
            } else { serde_json::Value::Null },
            "latest_charge": "ch_1"
        }))
        .unwrap()
    }

    fn expected() -> Expected<'static> {
        Expected {
            order: "ord_1",
            amount: 1299,
            currency: usd(),
        }
    }

    #[test]
    fn each_status_means_one_thing() {
        assert_eq!(
            judge(&intent("succeeded"), expected()),
            Verdict::Paid {
                reference: "pi_1".into()
            }
        );
        assert_eq!(
            judge(&intent("processing"), expected()),
            Verdict::Processing {
                reference: "pi_1".into()
            }
        );
        assert_eq!(
            judge(&intent("requires_action"), expected()),
            Verdict::ActionRequired {
                reference: "pi_1".into(),
                action: PaymentAction {
                    client_secret: "pi_1_secret_x".into(),
                    next_action: NextAction {
                        kind: "redirect_to_url".into(),
                        redirect_url: Some("https://hooks.stripe.com/3ds".into())
                    }
                }
            }
        );
        assert_eq!(
            judge(&intent("requires_payment_method"), expected()),
            Verdict::Declined {
                code: "stolen_card".into()
            }
        );
        assert_eq!(
            judge(&intent("canceled"), expected()),
            Verdict::Declined {
                code: "payment_canceled".into()
            }
        );
        for odd in ["requires_capture", "requires_confirmation", "mystery"] {
            assert!(matches!(
                judge(&intent(odd), expected()),
                Verdict::NotOurs { .. }
            ));
        }
    }

    #[test]
    fn an_intent_for_another_amount_currency_or_order_never_counts() {
        let mut more = intent("succeeded");
        more.amount += 1;
        let mut euros = intent("succeeded");
        euros.currency = "eur".into();
        let mut other = intent("succeeded");
        other.metadata.insert("order_id".into(), "ord_2".into());
        let mut none = intent("succeeded");
        none.metadata.clear();
        for pi in [more, euros, other, none] {
            assert!(
                matches!(judge(&pi, expected()), Verdict::NotOurs { .. }),
                "{pi:?}"
            );
        }
    }

    #[test]
    fn sensitive_decline_codes_are_generic() {
        for code in [
            "stolen_card",
            "lost_card",
            "fraudulent",
            "pickup_card",
            "incorrect_cvc",
            "invalid_cvc",
            "incorrect_number",
            "expired_card",
            "incorrect_zip",
            "restricted_card",
            "security_violation",
            "merchant_blacklist",
            "generic_decline",
            "never_heard_of_it",
        ] {
            assert_eq!(
                shopper_decline(code),
                ("card_declined", "The card was declined."),
                "{code}"
            );
        }
        assert_eq!(
            shopper_decline("insufficient_funds").0,
            "insufficient_funds"
        );
        assert_eq!(
            shopper_decline("payment_intent_authentication_failure").0,
            "authentication_required"
        );
    }

    #[test]
    fn a_lost_charge_is_asked_again_only_while_the_key_is_kept() {
        let h = 60 * 60 * 1000;
        assert_eq!(lost_charge_lookup(0, 0), LostChargeLookup::AskAgain);
        assert_eq!(
            lost_charge_lookup(0, 23 * h - 1),
            LostChargeLookup::AskAgain
        );
        assert_eq!(lost_charge_lookup(0, 23 * h), LostChargeLookup::Search);
        assert_eq!(lost_charge_lookup(0, 48 * h), LostChargeLookup::Search);
    }

    #[test]
    fn stripe_signatures_verify_as_stripe_documents() {
        let body = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
        let secret = "whsec_test";
        let header = stripe_signature(body, secret, 1_700_000_000);
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(
            verify_stripe_signature(&header, body, &[secret], 1_700_000_100),
            Ok(1_700_000_000)
        );
        // Any of several v1 signatures, and any of several secrets.
        let two = format!("t=1700000000,v1={},{}", "00".repeat(32), &header[13..]);
        assert_eq!(
            verify_stripe_signature(&two, body, &["whsec_old", secret], 1_700_000_000),
            Ok(1_700_000_000)
        );
        // v0 (test-mode legacy) signatures are not accepted alone.
        let v0 = header.replace("v1=", "v0=");
        assert_eq!(
            verify_stripe_signature(&v0, body, &[secret], 1_700_000_000),
            Err(SignatureError::Malformed)
        );
        // Another body, another secret, a stale or future timestamp.
        assert_eq!(
            verify_stripe_signature(&header, b"{}", &[secret], 1_700_000_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_stripe_signature(&header, body, &["whsec_other"], 1_700_000_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_stripe_signature(&header, body, &[secret], 1_700_000_301),
            Err(SignatureError::OutOfTolerance { t: 1_700_000_000 })
        );
        assert_eq!(
            verify_stripe_signature(&header, body, &[secret], 1_699_999_699),
            Err(SignatureError::OutOfTolerance { t: 1_700_000_000 })
        );
        for bad in [
            "",
            "t=x,v1=00",
            "v1=00",
            "t=1700000000",
            "t=1700000000,v1=zz",
        ] {
            assert_eq!(
                verify_stripe_signature(bad, body, &[secret], 1_700_000_000),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }
}
