//! Checkout and orders over HTTP. `POST /v1/carts/{id}/checkout` needs an
//! `Idempotency-Key`: the cart's object keeps the key's record, the first
//! answer is stored and replayed byte for byte, the same key with another
//! body is 422 `idempotency_mismatch`, and a concurrent duplicate is 409
//! `idempotency_in_progress`. The Worker looks up what the checkout is
//! planned from (KV prices, the store object's configuration, promotions
//! and redemption counts) and calls the domain's `checkout::plan`; the
//! cart's object then carries the plan out (holds, coupons, payment, sale,
//! order) as the domain's saga says. Every checkout answer, stored or not,
//! becomes its response in one place ([`response`]).
//! `GET /v1/orders/{id}` reads an order with its token.

use crate::cart_api::{
    line_prices, listed_skus, not_found, parse_line_body, pricing_error, require_credentials,
    CartContext,
};
use crate::http::{ApiError, ApiResponse, Result};
use crate::limits;
use crate::objects::{ask, order_not_found as order_missing, send, Refused};
use crate::store_cache;
use edgecart_domain::abuse::StrikePolicy;
use edgecart_domain::cart::Cart;
use edgecart_domain::checkout::ShortLine;
use edgecart_domain::checkout::{
    self, Answer, CheckoutInput, CheckoutPlan, PlanInput, Refusal, StoredAnswer,
};
use edgecart_domain::idempotency;
use edgecart_domain::order::parse_email;
use edgecart_domain::order::Order;
use edgecart_domain::payments::NextAction;
use edgecart_domain::pricing::Quote;
use edgecart_domain::promotion::PromotionRefusal;
use edgecart_domain::stores::object_name;
use edgecart_durable_objects::protocol::cart::{self, CheckoutBeginReply, CheckoutReply};
use edgecart_durable_objects::protocol::store::{self, OrderSummary};
use edgecart_durable_objects::protocol::{order, Answer as ObjectAnswer, FieldProblem};
use serde::Serialize;
use std::rc::Rc;

/// A checkout's answer as JSON text. Rendered through a `serde_json::Value`,
/// whose objects keep their keys sorted: an answer stored under a key is
/// rendered again for every replay, by whichever version then runs, and
/// checkout answers have always had sorted keys (at every depth), so the
/// replay is byte for byte the first answer.
fn answer_json<T: Serialize>(answer: &T) -> String {
    serde_json::to_value(answer)
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// A placed order and the secret token that reads it (`GET /v1/orders/{id}`).
/// Keep the token: it is answered only by checkout (and by replays of this
/// answer under the same `Idempotency-Key`).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CheckoutResult<'a> {
    order: &'a Order,
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::OrderToken")
    )]
    order_token: &'a str,
}

/// A problem document (`application/problem+json`) answered by `POST
/// /v1/carts/{id}/checkout`. Answers decided before the cart's object accepted
/// the `Idempotency-Key` (a missing key, a malformed body, a price key, a wrong
/// token, a key in use or reused with another body, a concurrent checkout, an
/// unreachable object) are ordinary `Problem`s, with `instance` and
/// `request_id`. Answers decided after it (validation of the email, address and
/// payment, pricing, stock, coupons, payment) are stored under the key and
/// replayed byte for byte, so they carry neither `instance` nor `request_id`;
/// each carries the members its `code` documents. Branch on `code`.
// (This type is the problem a checkout stores; `instance`, `request_id` and
// `field`, which only the ordinary problems answered before the key have,
// are added to its schema by `openapi::schemas::checkout_problem_members`.)
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(transform = crate::openapi::schemas::checkout_problem_members, extend("examples" = [{"type": "https://edgecart.dev/problems/total_changed", "title": "Total changed", "status": 409, "detail": "The cart's total is no longer the expected_total (prices, promotions or shipping changed). Nothing was charged; show the new total and confirm again.", "code": "total_changed", "quote": {"currency": "USD", "prices_include_tax": false, "lines": [{"sku": "KTL-1-STEEL", "quantity": 2, "unit_price": {"amount": 2500, "currency": "USD"}, "line_subtotal": {"amount": 5000, "currency": "USD"}, "discount": {"amount": 500, "currency": "USD"}, "tax": {"amount": 326, "currency": "USD"}, "line_total": {"amount": 4826, "currency": "USD"}}], "subtotal": {"amount": 5000, "currency": "USD"}, "discount_total": {"amount": 500, "currency": "USD"}, "shipping": {"amount": 499, "currency": "USD"}, "tax_total": {"amount": 326, "currency": "USD"}, "grand_total": {"amount": 5325, "currency": "USD"}, "applied": [{"id": "save10", "code": "SAVE10", "description": "10 % off everything", "amount": {"amount": 500, "currency": "USD"}}], "refused_coupons": [{"code": "BIGSPENDER", "reason": "below_minimum", "min": {"amount": 10000, "currency": "USD"}}]}}])))]
pub struct CheckoutProblem<'a> {
    /// `https://edgecart.dev/problems/{code}`.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "uri", "examples" = ["https://edgecart.dev/problems/total_changed"])))]
    #[serde(rename = "type")]
    kind: String,
    /// Short summary of the problem type.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["Total changed"])))]
    title: &'a str,
    /// The HTTP status code of the response.
    #[cfg_attr(feature = "openapi", schemars(range(min = 400, max = 599)))]
    status: u16,
    /// What went wrong with this request, for humans. Never reveals internal
    /// causes.
    detail: String,
    /// Stable machine-readable code, one of `Problem.code`; the checkout
    /// operation lists the codes it answers.
    #[cfg_attr(
        feature = "openapi",
        schemars(schema_with = "crate::openapi::schemas::problem_code")
    )]
    code: &'a str,
    /// The query parameter at fault, on 400 `unknown_parameter` and
    /// `duplicate_parameter` (checkout accepts no query parameters);
    /// `shipping_method` on the stored 400 `unknown_shipping_method`.
    #[serde(skip_serializing_if = "Option::is_none")]
    param: Option<&'a str>,
    /// Every field-level problem found. Present only on 422
    /// `validation_failed`.
    #[cfg_attr(
        feature = "openapi",
        schemars(schema_with = "crate::openapi::schemas::field_problems")
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldProblem]>,
    /// The SKU that has no price in the cart's currency any more. Present only
    /// on 422 `not_sold_in_currency`.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["KTL-1-STEEL"])))]
    #[serde(skip_serializing_if = "Option::is_none")]
    sku: Option<&'a str>,
    /// The cart as checkout priced it now. Present only on 409 `total_changed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    quote: Option<&'a Quote>,
    /// Every line that could not be held. Present on 409 `out_of_stock`, except
    /// when the units could not be sold after the payment (which was then
    /// refunded).
    #[cfg_attr(feature = "openapi", schemars(length(min = 1)))]
    #[serde(skip_serializing_if = "Option::is_none")]
    lines: Option<&'a [ShortLine]>,
    /// The promotion that could not be redeemed. Present on 409
    /// `coupon_unavailable` when a usage limit was reached (absent when a
    /// promotion no longer exists).
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "Option<edgecart_domain::openapi::PromotionId>")
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    promotion: Option<&'a str>,
    /// Why it could not be redeemed: `usage_limit_reached` (redeemed as often
    /// as allowed in total) or `customer_limit_reached` (as often as allowed
    /// for this email). Present with `promotion`.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a PromotionRefusal>,
    /// Why the provider declined the payment: Stripe's `decline_code` (else its
    /// error `code`, else `card_declined`); `card_declined` from the test
    /// provider; `invalid_payment_token` when the provider does not know the
    /// token. Present only on 402 `payment_declined`.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["card_declined", "insufficient_funds"])))]
    #[serde(skip_serializing_if = "Option::is_none")]
    decline_code: Option<&'a str>,
    /// The member's spendable points. Present only on 409
    /// `insufficient_points`.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64", "examples" = [1200])))]
    #[serde(skip_serializing_if = "Option::is_none")]
    available: Option<i64>,
    /// The PaymentIntent's client secret: hand it to Stripe.js
    /// (`stripe.handleNextAction({clientSecret})`) so the shopper can
    /// authenticate, then send the checkout again with the same
    /// `Idempotency-Key` and body. Present only on 402
    /// `payment_action_required`.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 300), extend("examples" = ["pi_3Nabc_secret_xyz"])))]
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    /// What the provider asks the shopper to do. Present only on 402
    /// `payment_action_required`.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_action: Option<&'a NextAction>,
    /// Until when the items stay held for the shopper to authenticate (RFC
    /// 3339, UTC); after it the payment is canceled and nothing is charged.
    /// Present only on 402 `payment_action_required`.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time", "examples" = ["2026-12-07T10:06:00.000Z"])))]
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

impl<'a> CheckoutProblem<'a> {
    /// An RFC 9457 problem as a checkout answers it: its stable `code` and
    /// no member beyond the five every problem has, without a request id, so
    /// that replays are byte-identical.
    fn new(status: u16, code: &'a str, title: &'a str, detail: String) -> Self {
        CheckoutProblem {
            kind: format!("https://edgecart.dev/problems/{code}"),
            title,
            status,
            detail,
            code,
            param: None,
            errors: None,
            sku: None,
            quote: None,
            lines: None,
            promotion: None,
            reason: None,
            decline_code: None,
            available: None,
            client_secret: None,
            next_action: None,
            expires_at: None,
        }
    }

    fn render(&self) -> (u16, String) {
        (self.status, answer_json(self))
    }
}

fn problem(status: u16, code: &str, title: &str, detail: &str) -> (u16, String) {
    CheckoutProblem::new(status, code, title, detail.to_string()).render()
}

/// A refusal that is one of the API's common errors, as a checkout answers it.
fn api_problem(e: ApiError) -> (u16, String) {
    let mut p = CheckoutProblem::new(e.status(), e.code(), e.title(), e.detail());
    match &e {
        ApiError::Validation { errors } => p.errors = Some(errors),
        ApiError::InvalidParameter { param, .. } => p.param = Some(param),
        _ => {}
    }
    p.render()
}

/// The status and problem of each refusal: the one place that maps them.
fn refusal_problem(refusal: &Refusal) -> (u16, String) {
    match refusal {
        Refusal::Invalid { errors } => api_problem(ApiError::Validation {
            errors: errors
                .iter()
                .map(|e| FieldProblem {
                    field: Some(e.field.clone()),
                    code: e.code.clone(),
                    message: e.message.clone(),
                })
                .collect(),
        }),
        Refusal::CartEmpty => problem(
            422,
            "cart_empty",
            "Cart is empty",
            "There is nothing to check out.",
        ),
        Refusal::NotSoldInCurrency { sku, currency } => CheckoutProblem {
            sku: Some(sku),
            ..CheckoutProblem::new(
                422,
                "not_sold_in_currency",
                "Item not for sale",
                format!("{sku} is not for sale in {currency} any more; remove it from the cart."),
            )
        }
        .render(),
        Refusal::UnknownShippingMethod => api_problem(ApiError::invalid(
            "shipping_method",
            "unknown_shipping_method",
            "The store has no shipping method with this id.",
        )),
        Refusal::Unpriced { error } => api_problem(pricing_error(error.clone())),
        Refusal::TotalChanged { quote } => CheckoutProblem {
            quote: Some(quote),
            ..CheckoutProblem::new(
                409,
                "total_changed",
                "Total changed",
                "The cart's total is no longer the expected_total (prices, promotions or shipping changed). Nothing was charged; show the new total and confirm again.".into(),
            )
        }
        .render(),
        Refusal::OutOfStock { lines } => CheckoutProblem {
            lines: Some(lines),
            ..CheckoutProblem::new(
                409,
                "out_of_stock",
                "Out of stock",
                "Some lines are no longer available in the quantity in the cart; nothing was charged.".into(),
            )
        }
        .render(),
        Refusal::CouponUnavailable { refused: Some(r) } => CheckoutProblem {
            promotion: Some(&r.promotion),
            reason: Some(&r.refusal),
            ..CheckoutProblem::new(
                409,
                "coupon_unavailable",
                "Coupon unavailable",
                "A promotion of this cart reached its usage limit or ended; read the cart again for its new total. Nothing was charged.".into(),
            )
        }
        .render(),
        Refusal::CouponUnavailable { refused: None } => problem(
            409,
            "coupon_unavailable",
            "Coupon unavailable",
            "A promotion of this cart no longer exists; read the cart again for its new total. Nothing was charged.",
        ),
        Refusal::PaymentDeclined { code, message } => CheckoutProblem {
            decline_code: Some(code),
            ..CheckoutProblem::new(
                402,
                "payment_declined",
                "Payment declined",
                format!("{message} Nothing was charged; the cart is unchanged."),
            )
        }
        .render(),
        Refusal::PaymentUnavailable => problem(
            503,
            "payment_unavailable",
            "Payment unavailable",
            "The payment provider did not answer. Nothing was charged (any payment it took later is refunded); try again with a new Idempotency-Key.",
        ),
        Refusal::MemberRequired => api_problem(member_required()),
        Refusal::InsufficientPoints { available } => CheckoutProblem {
            available: Some(*available),
            ..CheckoutProblem::new(
                409,
                "insufficient_points",
                "Not enough points",
                format!("Only {available} points can be spent now; nothing was held or charged."),
            )
        }
        .render(),
        Refusal::PaymentActionRequired {
            action,
            expires_at_ms,
        } => CheckoutProblem {
            client_secret: Some(&action.client_secret),
            next_action: Some(&action.next_action),
            expires_at: crate::http::rfc3339_ms(*expires_at_ms),
            ..CheckoutProblem::new(
                402,
                "payment_action_required",
                "Authentication required",
                "The card's issuer asks the shopper to authenticate this payment: pass client_secret to Stripe.js (stripe.handleNextAction), then send this checkout again with the same Idempotency-Key and body. The items stay held until expires_at; after it the payment is canceled and nothing is charged.".into(),
            )
        }
        .render(),
        Refusal::PaymentProcessing => problem(
            409,
            "payment_processing",
            "Payment processing",
            "The payment provider has not decided this payment yet; the items stay held. Send this checkout again with the same Idempotency-Key shortly for its outcome.",
        ),
        Refusal::RefundedOutOfStock => problem(
            409,
            "out_of_stock",
            "Out of stock",
            "The items could not be reserved in time; the payment was refunded.",
        ),
    }
}

/// 401 `member_token_required`: a points payment without a member token.
fn member_required() -> ApiError {
    ApiError::MemberUnauthorized {
        code: "member_token_required",
        detail: "Paying with points needs the member token the store's site signed, in the Member-Token header.".into(),
    }
}

/// A checkout's answer as the client gets it.
fn response(answer: &StoredAnswer) -> ApiResponse {
    let (status, body) = match answer {
        StoredAnswer::Legacy { status, body } => (*status, body.clone()),
        StoredAnswer::Typed {
            answer: Answer::Placed { order, order_token },
        } => (201, answer_json(&CheckoutResult { order, order_token })),
        StoredAnswer::Typed {
            answer: Answer::Refused { refusal },
        } => refusal_problem(refusal),
    };
    let kind = if status >= 400 {
        "application/problem+json"
    } else {
        "application/json; charset=utf-8"
    };
    let mut response = ApiResponse::new(status, kind, body.into_bytes());
    response.header("Cache-Control", "no-store");
    if let StoredAnswer::Typed {
        answer: Answer::Refused {
            refusal: Refusal::PaymentProcessing,
        },
    } = answer
    {
        response.header("Retry-After", "2");
    }
    response
}

/// The response to the cart's answer to `CheckoutRun` or `CheckoutFinish`
/// (`dropped`: what to answer when the record was dropped).
fn answered(reply: ObjectAnswer<cart::CheckoutRun>, dropped: ApiError) -> Result<ApiResponse> {
    match reply {
        Ok(CheckoutReply::Answered { answer }) => Ok(response(&answer)),
        Ok(CheckoutReply::Dropped) => Err(dropped),
        Err(refusal) => Err(refusal.error()),
    }
}

/// Whether a checkout's answer is a declined payment (a strike for card
/// testing).
fn declined(reply: &ObjectAnswer<cart::CheckoutRun>) -> bool {
    reply.as_ref().is_ok_and(CheckoutReply::is_declined)
}

/// Card testing: who a checkout answers to, and how many declines block.
pub struct Declines<'a> {
    /// The client's key (`edgecart_domain::abuse::client_key`).
    pub client: &'a str,
    pub policy: StrikePolicy,
}

/// `POST /v1/carts/{id}/checkout`.
#[allow(clippy::too_many_arguments)]
pub async fn checkout(
    ctx: &CartContext<'_>,
    id: &str,
    token: Option<String>,
    key: Option<String>,
    body: &str,
    member: Option<String>,
    hold_ttl_ms: i64,
    declines: Declines<'_>,
) -> Result<ApiResponse> {
    require_credentials(id, token.as_deref())?;
    let token = token.ok_or_else(not_found)?;
    let key = key.ok_or_else(|| ApiError::InvalidBody {
        code: "idempotency_key_required".into(),
        field: None,
        detail: "Checkout needs an Idempotency-Key header (1–128 visible ASCII characters), generated once per attempt.".into(),
    })?;
    let input: CheckoutInput = parse_line_body(body)?;
    // Points pay only for a signed-in member: said before the key is
    // taken, so the same key with a member token is a new attempt.
    if input.payment.method != "card" && member.is_none() {
        return Err(member_required());
    }
    // The member is part of the request: the same key and body with
    // another member (or none) is another request (422), never a replay.
    // (Without a member, the fingerprint is what it was before members.)
    let fingerprint = match &member {
        None => idempotency::fingerprint(&[b"POST", id.as_bytes(), body.as_bytes()]),
        Some(m) => {
            idempotency::fingerprint(&[b"POST", id.as_bytes(), body.as_bytes(), m.as_bytes()])
        }
    };
    // The client's and card's declines, read while the cart's object
    // begins (which refuses a cart blocked by its own): a blocked checkout
    // is finished without an answer before anything is held or charged.
    let guards = limits::decline_keys(
        &ctx.shop.id,
        declines.client,
        input.payment.token.as_deref(),
    );
    let attempt = crate::app::random_id()?;
    let begin = cart::CheckoutBegin {
        token,
        key: key.clone(),
        fingerprint,
        attempt: attempt.clone(),
        lease_ms: edgecart_durable_objects::cart_checkout::lease_ms(ctx.env),
        declines: declines.policy,
    };
    // The store's state is read while the cart's object begins (a
    // checkout that starts needs both, and the two objects are apart),
    // unless this isolate's copy may plan it: a copy read less than a
    // second ago plans a cart no promotion concerns (`store_cache`).
    let customer = parse_email(&input.email).ok();
    let now_ms = ctx.pricing.now_ms;
    let shop = &ctx.shop.id;
    let name = object_name(shop, id);
    let copy = store_cache::fresh(shop, now_ms).filter(|s| !s.counts_matter(&[]));
    let generation = store_cache::generation();
    let read = || {
        ask(
            ctx.env,
            shop,
            store::Get {
                customer: customer.clone(),
            },
        )
    };
    let check = limits::check_declines(ctx.env, &guards, declines.policy, now_ms);
    let (reply, read_now, blocked) = futures_util::future::join3(
        send(ctx.env, &name, begin),
        async {
            match copy {
                Some(_) => None,
                None => Some(read().await),
            }
        },
        check,
    )
    .await;
    let reply = reply?;
    let run = |plan: Option<Box<CheckoutPlan>>| cart::CheckoutRun {
        key: key.clone(),
        attempt: attempt.clone(),
        plan,
    };
    let finish = |refusal: Option<Refusal>| cart::CheckoutFinish {
        key: key.clone(),
        attempt: attempt.clone(),
        refusal,
    };
    let lost = |what: &str| ApiError::StorageUnavailable {
        cause: format!("checkout {key} of {id}: {what}"),
    };
    match reply {
        Err(refusal) => Err(refusal.error()),
        Ok(CheckoutBeginReply::Replay { answer }) => {
            let mut r = response(&answer);
            r.header("Idempotent-Replayed", "true");
            Ok(r)
        }
        Ok(CheckoutBeginReply::Resume) => {
            let reply = send(ctx.env, &name, run(None)).await?;
            answered(reply, lost("dropped while resuming"))
        }
        Ok(CheckoutBeginReply::Start { cart }) => {
            if let Err(too_many) = blocked {
                // Not the key's answer: the record is dropped, and the same
                // key may be sent again once the block is over.
                if let Err(refusal) = send(ctx.env, &name, finish(None)).await? {
                    return Err(refusal.error());
                }
                return Err(too_many);
            }
            let store = match (read_now, copy) {
                (Some(state), _) => {
                    if let Ok(s) = &state {
                        store_cache::remember(shop, s, generation, now_ms);
                    }
                    state.map(Rc::new)
                }
                (None, Some(copy)) if !copy.counts_matter(&cart.coupons) => Ok(copy),
                (None, _) => read().await.map(Rc::new),
            };
            // `command`: Ok to run the plan, Err to finish without one.
            let (command, passing) = match plan(ctx, &cart, store, input, member, hold_ttl_ms).await
            {
                Ok(Ok(plan)) => (Ok(run(Some(Box::new(plan)))), None),
                // A passing failure (5xx) is not the key's final answer:
                // the record is dropped and a retry starts over.
                Ok(Err(refusal)) if refusal_problem(&refusal).0 >= 500 => {
                    let (status, body) = refusal_problem(&refusal);
                    (Err(finish(None)), Some(lost(&format!("{status}: {body}"))))
                }
                Ok(Err(refusal)) => (Err(finish(Some(refusal))), None),
                Err(e) => (Err(finish(None)), Some(e)),
            };
            let reply = match command {
                Ok(run) => send(ctx.env, &name, run).await?,
                Err(finish) => send(ctx.env, &name, finish).await?,
            };
            // Units were sold, or held again and given back: this
            // isolate's copies of their levels are stale.
            for line in &cart.lines {
                crate::stock_cache::forget(&line.sku);
            }
            if declined(&reply) {
                limits::record_decline(ctx.env, &guards, declines.policy).await;
            }
            answered(reply, passing.unwrap_or_else(|| lost("dropped")))
        }
    }
}

/// Plans the checkout of `cart` from the live prices of its SKUs and
/// `store`, the store's configuration, promotions and redemption counts
/// (read from the store object while the cart's object began, or this
/// isolate's copy of them when no promotion concerns the cart): the plan, or
/// the refusal that ends the checkout now (stored under the key like any
/// answer). An error is a lookup that failed.
async fn plan(
    ctx: &CartContext<'_>,
    cart: &Cart,
    store: Result<Rc<edgecart_domain::store::StoreState>>,
    input: CheckoutInput,
    member: Option<String>,
    hold_ttl_ms: i64,
) -> Result<std::result::Result<CheckoutPlan, Refusal>> {
    let listed = listed_skus(&line_prices(ctx, cart).await?, ctx.catalog);
    let store = store?;
    let order_id = format!("ord_{}", crate::app::random_id()?);
    let order_token = format!("{}{}", crate::app::random_id()?, crate::app::random_id()?);
    let planned = checkout::plan(PlanInput {
        store_id: &ctx.shop.id,
        cart,
        listed: &listed,
        store: &store,
        input,
        order_id,
        order_token,
        member,
        hold_ttl_ms,
        now_ms: ctx.pricing.now_ms,
    });
    // The test provider pays nothing: only a deployment that says so takes
    // it (a passing failure, not the key's answer: the operator may fix it).
    if let Ok(p) = &planned {
        let test = matches!(p.payment, edgecart_domain::store::PaymentSettings::Test {});
        if test
            && p.card_amount() > 0
            && !edgecart_durable_objects::payment::test_payments_enabled(ctx.env)
        {
            return Err(ApiError::TestPaymentsDisabled);
        }
    }
    Ok(planned)
}

/// `GET /v1/orders/{id}` with the order's token, or for the admin API
/// (`admin`: the caller checked the admin token).
pub async fn get_order(
    env: &worker::Env,
    store: &str,
    id: &str,
    token: Option<String>,
    admin: bool,
) -> Result<ApiResponse> {
    if !is_order_id(id) || (token.is_none() && !admin) {
        return Err(order_missing());
    }
    let token = if admin { None } else { token };
    let order = ask(env, &object_name(store, id), order::Get { token }).await?;
    let mut r = ApiResponse::json(&order);
    r.header("Cache-Control", "no-store");
    Ok(r)
}

pub fn is_order_id(id: &str) -> bool {
    id.strip_prefix("ord_")
        .is_some_and(|h| h.len() == 24 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Moves order `id` on `event`: the shopper's cancel (with the order's
/// token) or an admin's fulfil / refund / cancel (`token: None`); `actor`
/// is recorded in the store's audit trail (the admin's label, or
/// `audit::SHOPPER`).
pub async fn transition(
    env: &worker::Env,
    store: &str,
    id: &str,
    token: Option<String>,
    actor: &str,
    event: edgecart_domain::order::OrderEvent,
) -> Result<ApiResponse> {
    if !is_order_id(id) {
        return Err(order_missing());
    }
    let order = ask(
        env,
        &object_name(store, id),
        order::Transition {
            token,
            actor: actor.into(),
            event,
        },
    )
    .await?;
    let mut r = ApiResponse::json(&order);
    r.header("Cache-Control", "no-store");
    Ok(r)
}

/// Query parameters of `GET /admin/v1/orders`.
pub const ORDER_LIST_PARAMS: &[&str] = &[
    "status",
    "created_after",
    "created_before",
    "limit",
    "cursor",
];

/// The most orders `GET /admin/v1/orders` answers at once (`limit`).
const ORDER_MAX_PAGE: u32 = 200;

/// One order in the store's order index: enough to list and filter orders. Read
/// the whole order with `GET /admin/v1/orders/{id}`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "OrderSummary", extend("examples" = [{"id": "ord_3b9d2f4a6c8e0a1b2c3d4e5f", "status": "paid", "created_at_ms": 1795262400000_i64, "email": "ada@example.com", "currency": "USD", "grand_total": 5325, "created_at": "2026-11-21T12:00:00.000Z"}])))]
pub struct OrderListItem<'a> {
    #[serde(flatten)]
    summary: &'a OrderSummary,
    /// `created_at_ms` as RFC 3339 (UTC, milliseconds).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time", "examples" = ["2026-11-21T12:00:00.000Z"])))]
    created_at: String,
}

/// One page of orders, newest first.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct OrderPage<'a> {
    /// At most `limit` orders, by creation time, newest first (orders created
    /// in the same millisecond: by id, descending).
    #[cfg_attr(feature = "openapi", schemars(length(max = ORDER_MAX_PAGE)))]
    items: Vec<OrderListItem<'a>>,
    /// Opaque cursor for the next page: pass it back as `cursor` (with the same
    /// filters). Null when this page reaches the end of the list.
    next_cursor: Option<String>,
}

/// `GET /admin/v1/orders`: newest first, by `status` and creation time
/// (`created_after`, `created_before`: RFC 3339), paged with `cursor`.
pub async fn list_orders(
    env: &worker::Env,
    store: &str,
    params: &crate::catalog_api::Params<'_>,
) -> Result<ApiResponse> {
    use edgecart_domain::order::OrderStatus;
    let limit = crate::admin_api::page_limit(params, 50, ORDER_MAX_PAGE)?;
    let status = match params.get("status") {
        None => None,
        Some(raw) => Some(
            serde_json::from_value::<OrderStatus>(serde_json::Value::String(raw.to_string()))
                .map_err(|_| {
                    ApiError::invalid(
                    "status",
                    "invalid_status",
                    "status must be one of pending_payment, paid, fulfilled, cancelled, refunded.",
                )
                })?,
        ),
    };
    let instant = |name: &str| -> Result<Option<i64>> {
        match params.get(name) {
            None => Ok(None),
            Some(raw) => chrono::DateTime::parse_from_rfc3339(raw)
                .map(|t| Some(t.timestamp_millis()))
                .map_err(|_| {
                    ApiError::invalid(
                        name,
                        "invalid_time",
                        format!("{name} must be an RFC 3339 time."),
                    )
                }),
        }
    };
    let from_ms = instant("created_after")?;
    let to_ms = instant("created_before")?;
    let before = match params.get("cursor") {
        None => None,
        Some(raw) => {
            // Exactly as documented: `{ms}.{order id}`, the time in digits.
            let parsed = raw.split_once('.').and_then(|(ms, id)| {
                let digits = ms.strip_prefix('-').unwrap_or(ms);
                if !(1..=18).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return None;
                }
                Some((ms.parse::<i64>().ok()?, id.to_string()))
            });
            Some(
                parsed
                    .filter(|(_, id)| is_order_id(id))
                    .ok_or_else(crate::admin_api::invalid_cursor)?,
            )
        }
    };
    let command = store::ListOrders {
        status,
        from_ms,
        to_ms,
        before,
        limit: limit + 1,
    };
    let mut orders = ask(env, store, command).await?.orders;
    let next_cursor = if orders.len() > limit as usize {
        orders.truncate(limit as usize);
        orders
            .last()
            .map(|o| format!("{}.{}", o.created_at_ms, o.id))
    } else {
        None
    };
    let mut r = ApiResponse::json(&OrderPage {
        items: orders
            .iter()
            .map(|o| OrderListItem {
                summary: o,
                created_at: crate::http::rfc3339_ms(o.created_at_ms).unwrap_or_default(),
            })
            .collect(),
        next_cursor,
    });
    r.header("Cache-Control", "no-store");
    Ok(r)
}

/// Query parameters of `GET /admin/v1/checkouts`.
pub const CHECKOUT_LIST_PARAMS: &[&str] = &["state", "limit"];
/// The most stuck checkouts one answer lists.
const CHECKOUT_MAX_PAGE: u32 = 200;

/// The answer of `GET /admin/v1/checkouts`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CheckoutList {
    /// Longest waiting first.
    items: Vec<store::StuckCheckout>,
}

/// `GET /admin/v1/checkouts?state=stuck`: the store's checkouts that
/// cannot settle.
pub async fn list_checkouts(
    env: &worker::Env,
    store: &str,
    params: &crate::catalog_api::Params<'_>,
) -> Result<ApiResponse> {
    if params.get("state") != Some("stuck") {
        return Err(ApiError::invalid(
            "state",
            "invalid_state",
            "state must be stuck (the only list of checkouts there is).",
        ));
    }
    let limit = crate::admin_api::page_limit(params, 50, CHECKOUT_MAX_PAGE)?;
    let page = ask(env, store, store::StuckCheckouts { limit }).await?;
    let mut r = ApiResponse::json(&CheckoutList {
        items: page.checkouts,
    });
    r.header("Cache-Control", "no-store");
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// An order as the order object records it: a promotion, an address
    /// without `line2`, a history of two changes.
    fn order() -> Value {
        json!({"schema": 1, "id": "ord_0123456789abcdef01234567", "cart_id": "crt_0123456789abcdef01234567", "currency": "USD", "prices_include_tax": false, "lines": [{"sku": "KTL-1-STEEL", "quantity": 2, "unit_price": 2500, "discount": 500, "tax": 326, "line_total": 4826}], "totals": {"subtotal": 5000, "discount_total": 500, "shipping": 499, "tax_total": 326, "grand_total": 5325}, "promotions": [{"id": "save10", "code": "SAVE10", "amount": 500}], "email": "ada@example.com", "shipping_address": {"name": "Ada Lovelace", "line1": "1 Market St", "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"}, "shipping_method": "standard", "payment": {"provider": "test", "reference": "test_ord_0123456789abcdef01234567"}, "status": "paid", "history": [{"at_ms": 1795262400000_i64, "status": "pending_payment"}, {"at_ms": 1795262401000_i64, "status": "paid"}], "created_at_ms": 1795262400000_i64})
    }

    fn quote() -> Value {
        let usd = |amount: i64| json!({"amount": amount, "currency": "USD"});
        json!({"currency": "USD", "prices_include_tax": false, "lines": [{"sku": "KTL-1-STEEL", "quantity": 2, "unit_price": usd(2500), "line_subtotal": usd(5000), "discount": usd(500), "tax": usd(326), "line_total": usd(4826)}], "subtotal": usd(5000), "discount_total": usd(500), "shipping": usd(499), "tax_total": usd(326), "grand_total": usd(5325), "applied": [{"id": "save10", "code": "SAVE10", "description": "10 % off everything", "amount": usd(500)}], "refused_coupons": [{"code": "BIGSPENDER", "reason": "below_minimum", "min": usd(10000)}]})
    }

    fn refused(refusal: Value) -> StoredAnswer {
        StoredAnswer::Typed {
            answer: Answer::Refused {
                refusal: serde_json::from_value(refusal).expect("a refusal"),
            },
        }
    }

    /// Every answer a checkout stores, rendered: status, media type, body.
    fn rendered() -> Vec<(u16, String, String)> {
        let answers = vec![
            StoredAnswer::Typed {
                answer: Answer::Placed {
                    order: serde_json::from_value(order()).expect("an order"),
                    order_token: "9c1e4b7a2d5f8e0b3a6c9d2e5f8a1b4c7d0e3f6a9b2c5d8e".into(),
                },
            },
            refused(json!({"refusal": "invalid", "errors": [
                {"field": "email", "code": "invalid_email", "message": "must be an email address"},
                {"field": "shipping_address.country", "code": "invalid_country", "message": "must be an ISO 3166-1 alpha-2 code"},
            ]})),
            refused(json!({"refusal": "cart_empty"})),
            refused(
                json!({"refusal": "not_sold_in_currency", "sku": "KTL-1-STEEL", "currency": "EUR"}),
            ),
            refused(json!({"refusal": "unknown_shipping_method"})),
            refused(json!({"refusal": "unpriced", "error": {"error": "missing_destination"}})),
            refused(
                json!({"refusal": "unpriced", "error": {"error": "shipping", "refusal": "not_to_country"}}),
            ),
            refused(
                json!({"refusal": "unpriced", "error": {"error": "shipping", "refusal": "not_in_currency"}}),
            ),
            refused(json!({"refusal": "unpriced", "error": {"error": "invalid_line", "index": 3}})),
            refused(json!({"refusal": "total_changed", "quote": quote()})),
            refused(json!({"refusal": "out_of_stock", "lines": [
                {"sku": "KTL-1-STEEL", "requested": 2, "available": 1},
                {"sku": "MUG-2", "requested": 1, "available": 0},
            ]})),
            refused(
                json!({"refusal": "coupon_unavailable", "refused": {"promotion": "save10", "refusal": {"reason": "usage_limit_reached"}}}),
            ),
            refused(
                json!({"refusal": "coupon_unavailable", "refused": {"promotion": "vip", "refusal": {"reason": "customer_limit_reached"}}}),
            ),
            refused(json!({"refusal": "coupon_unavailable", "refused": null})),
            refused(
                json!({"refusal": "payment_declined", "code": "insufficient_funds", "message": "Your card has insufficient funds."}),
            ),
            refused(json!({"refusal": "payment_unavailable"})),
            refused(json!({"refusal": "refunded_out_of_stock"})),
            StoredAnswer::Legacy {
                status: 402,
                body: r#"{"code":"payment_declined","status":402}"#.into(),
            },
            StoredAnswer::Legacy {
                status: 201,
                body: r#"{"order":{"id":"ord_1"},"order_token":"t"}"#.into(),
            },
        ];
        answers
            .iter()
            .map(|a| {
                let r = response(a);
                let kind = r
                    .header_value("Content-Type")
                    .unwrap_or_default()
                    .to_string();
                assert_eq!(r.header_value("Cache-Control"), Some("no-store"));
                (r.status, kind, String::from_utf8(r.body).expect("UTF-8"))
            })
            .collect()
    }

    /// Pinned bytes: answers stored under a key are rendered again on each
    /// replay, so a change to these bytes would make a replay differ from
    /// the first answer.
    #[test]
    fn checkout_answers_render_byte_for_byte() {
        let expected: Vec<(u16, &str, &str)> = vec![
            (
                201,
                "application/json; charset=utf-8",
                r#"{"order":{"cart_id":"crt_0123456789abcdef01234567","created_at_ms":1795262400000,"currency":"USD","email":"ada@example.com","history":[{"at_ms":1795262400000,"status":"pending_payment"},{"at_ms":1795262401000,"status":"paid"}],"id":"ord_0123456789abcdef01234567","lines":[{"discount":500,"line_total":4826,"quantity":2,"sku":"KTL-1-STEEL","tax":326,"unit_price":2500}],"payment":{"provider":"test","reference":"test_ord_0123456789abcdef01234567"},"prices_include_tax":false,"promotions":[{"amount":500,"code":"SAVE10","id":"save10"}],"schema":1,"shipping_address":{"city":"San Francisco","country":"US","line1":"1 Market St","name":"Ada Lovelace","postal_code":"94105","region":"CA"},"shipping_method":"standard","status":"paid","totals":{"discount_total":500,"grand_total":5325,"shipping":499,"subtotal":5000,"tax_total":326}},"order_token":"9c1e4b7a2d5f8e0b3a6c9d2e5f8a1b4c7d0e3f6a9b2c5d8e"}"#,
            ),
            (
                422,
                "application/problem+json",
                r#"{"code":"validation_failed","detail":"2 problem(s); see `errors`.","errors":[{"code":"invalid_email","field":"email","message":"must be an email address"},{"code":"invalid_country","field":"shipping_address.country","message":"must be an ISO 3166-1 alpha-2 code"}],"status":422,"title":"Validation failed","type":"https://edgecart.dev/problems/validation_failed"}"#,
            ),
            (
                422,
                "application/problem+json",
                r#"{"code":"cart_empty","detail":"There is nothing to check out.","status":422,"title":"Cart is empty","type":"https://edgecart.dev/problems/cart_empty"}"#,
            ),
            (
                422,
                "application/problem+json",
                r#"{"code":"not_sold_in_currency","detail":"KTL-1-STEEL is not for sale in EUR any more; remove it from the cart.","sku":"KTL-1-STEEL","status":422,"title":"Item not for sale","type":"https://edgecart.dev/problems/not_sold_in_currency"}"#,
            ),
            (
                400,
                "application/problem+json",
                r#"{"code":"unknown_shipping_method","detail":"The store has no shipping method with this id.","param":"shipping_method","status":400,"title":"Invalid request parameter","type":"https://edgecart.dev/problems/unknown_shipping_method"}"#,
            ),
            (
                400,
                "application/problem+json",
                r#"{"code":"missing_destination","detail":"A shipping method needs a destination country.","param":"country","status":400,"title":"Invalid request parameter","type":"https://edgecart.dev/problems/missing_destination"}"#,
            ),
            (
                422,
                "application/problem+json",
                r#"{"code":"validation_failed","detail":"1 problem(s); see `errors`.","errors":[{"code":"shipping_not_available","field":"shipping_method","message":"This method does not ship to that country."}],"status":422,"title":"Validation failed","type":"https://edgecart.dev/problems/validation_failed"}"#,
            ),
            (
                422,
                "application/problem+json",
                r#"{"code":"validation_failed","detail":"1 problem(s); see `errors`.","errors":[{"code":"shipping_not_available","field":"shipping_method","message":"This method has no rate in the cart's currency."}],"status":422,"title":"Validation failed","type":"https://edgecart.dev/problems/validation_failed"}"#,
            ),
            (
                503,
                "application/problem+json",
                r#"{"code":"storage_unavailable","detail":"Please retry shortly.","status":503,"title":"Storage temporarily unavailable","type":"https://edgecart.dev/problems/storage_unavailable"}"#,
            ),
            (
                409,
                "application/problem+json",
                r#"{"code":"total_changed","detail":"The cart's total is no longer the expected_total (prices, promotions or shipping changed). Nothing was charged; show the new total and confirm again.","quote":{"applied":[{"amount":{"amount":500,"currency":"USD"},"code":"SAVE10","description":"10 % off everything","id":"save10"}],"currency":"USD","discount_total":{"amount":500,"currency":"USD"},"grand_total":{"amount":5325,"currency":"USD"},"lines":[{"discount":{"amount":500,"currency":"USD"},"line_subtotal":{"amount":5000,"currency":"USD"},"line_total":{"amount":4826,"currency":"USD"},"quantity":2,"sku":"KTL-1-STEEL","tax":{"amount":326,"currency":"USD"},"unit_price":{"amount":2500,"currency":"USD"}}],"prices_include_tax":false,"refused_coupons":[{"code":"BIGSPENDER","min":{"amount":10000,"currency":"USD"},"reason":"below_minimum"}],"shipping":{"amount":499,"currency":"USD"},"subtotal":{"amount":5000,"currency":"USD"},"tax_total":{"amount":326,"currency":"USD"}},"status":409,"title":"Total changed","type":"https://edgecart.dev/problems/total_changed"}"#,
            ),
            (
                409,
                "application/problem+json",
                r#"{"code":"out_of_stock","detail":"Some lines are no longer available in the quantity in the cart; nothing was charged.","lines":[{"available":1,"requested":2,"sku":"KTL-1-STEEL"},{"available":0,"requested":1,"sku":"MUG-2"}],"status":409,"title":"Out of stock","type":"https://edgecart.dev/problems/out_of_stock"}"#,
            ),
            (
                409,
                "application/problem+json",
                r#"{"code":"coupon_unavailable","detail":"A promotion of this cart reached its usage limit or ended; read the cart again for its new total. Nothing was charged.","promotion":"save10","reason":{"reason":"usage_limit_reached"},"status":409,"title":"Coupon unavailable","type":"https://edgecart.dev/problems/coupon_unavailable"}"#,
            ),
            (
                409,
                "application/problem+json",
                r#"{"code":"coupon_unavailable","detail":"A promotion of this cart reached its usage limit or ended; read the cart again for its new total. Nothing was charged.","promotion":"vip","reason":{"reason":"customer_limit_reached"},"status":409,"title":"Coupon unavailable","type":"https://edgecart.dev/problems/coupon_unavailable"}"#,
            ),
            (
                409,
                "application/problem+json",
                r#"{"code":"coupon_unavailable","detail":"A promotion of this cart no longer exists; read the cart again for its new total. Nothing was charged.","status":409,"title":"Coupon unavailable","type":"https://edgecart.dev/problems/coupon_unavailable"}"#,
            ),
            (
                402,
                "application/problem+json",
                r#"{"code":"payment_declined","decline_code":"insufficient_funds","detail":"Your card has insufficient funds. Nothing was charged; the cart is unchanged.","status":402,"title":"Payment declined","type":"https://edgecart.dev/problems/payment_declined"}"#,
            ),
            (
                503,
                "application/problem+json",
                r#"{"code":"payment_unavailable","detail":"The payment provider did not answer. Nothing was charged (any payment it took later is refunded); try again with a new Idempotency-Key.","status":503,"title":"Payment unavailable","type":"https://edgecart.dev/problems/payment_unavailable"}"#,
            ),
            (
                409,
                "application/problem+json",
                r#"{"code":"out_of_stock","detail":"The items could not be reserved in time; the payment was refunded.","status":409,"title":"Out of stock","type":"https://edgecart.dev/problems/out_of_stock"}"#,
            ),
            (
                402,
                "application/problem+json",
                r#"{"code":"payment_declined","status":402}"#,
            ),
            (
                201,
                "application/json; charset=utf-8",
                r#"{"order":{"id":"ord_1"},"order_token":"t"}"#,
            ),
        ];
        let rendered = rendered();
        assert_eq!(rendered.len(), expected.len());
        for ((status, kind, body), (s, k, b)) in rendered.iter().zip(expected) {
            assert_eq!((*status, kind.as_str(), body.as_str()), (s, k, b));
        }
    }
}
