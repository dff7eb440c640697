//! Checkout and orders over HTTP. `POST /v1/carts/{id}/checkout` needs an
//! `Idempotency-Key`: the cart's object keeps the key's record, the first
//! response is stored and replayed byte for byte, the same key with another
//! body is 422 `idempotency_mismatch`, and a concurrent duplicate is 409
//! `idempotency_in_progress`. The Worker prices the cart (KV prices, the
//! store object's configuration, promotions and redemption counts) and
//! compares it with `expected_total`; the cart's object then carries out
//! the plan (holds, coupons, payment, sale, order) from recovery points.
//! `GET /v1/orders/{id}` reads an order with its token.

use crate::cart_api::{
    line_prices, not_found, parse_line_body, pricing_error, pricing_lines, require_credentials,
    storage, CartContext,
};
use crate::http::{ApiError, ApiResponse, Result};
use edgecart_domain::cart::Cart;
use edgecart_domain::catalog::FieldError;
use edgecart_domain::checkout::CheckoutPlan;
use edgecart_domain::idempotency;
use edgecart_domain::money::Currency;
use edgecart_domain::order::{parse_email, Order, OrderDetails, Payment, ShippingAddressInput};
use edgecart_domain::pricing::{quote_cart, Destination, PricingInput, Quote};
use edgecart_domain::store::StoreSnapshot;
use edgecart_durable_objects::protocol::{
    call_cart, call_order, call_store, problem, CartCommand, CheckoutBeginReply, CheckoutResponse,
    FieldProblem, OrderCommand, OrderReply, StoreCommand, StoreReply,
};
use serde::Deserialize;
use serde_json::json;

/// The checkout body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutInput {
    pub email: String,
    pub shipping_address: ShippingAddressInput,
    pub shipping_method: String,
    pub payment: PaymentInput,
    /// The grand total the shopper saw: checkout charges exactly this or
    /// nothing.
    pub expected_total: ExpectedTotal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    /// `card` (through the store's provider).
    pub method: String,
    /// The provider's card token (test provider: `tok_visa`, `tok_decline`,
    /// `tok_timeout`; Stripe: a PaymentMethod id).
    pub token: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedTotal {
    pub amount: i64,
    pub currency: String,
}

/// A stored checkout response as the client gets it.
fn respond(r: CheckoutResponse) -> ApiResponse {
    let kind = if r.status >= 400 {
        "application/problem+json"
    } else {
        "application/json; charset=utf-8"
    };
    let mut response = ApiResponse::new(r.status, kind, r.body.into_bytes());
    response.header("Cache-Control", "no-store");
    response
}

/// The stored form of an error decided before the plan.
fn stored_error(e: ApiError) -> CheckoutResponse {
    let status = e.status();
    let extra = match &e {
        ApiError::Validation { errors } => json!({ "errors": errors }),
        ApiError::InvalidParameter { param, .. } => json!({ "param": param }),
        _ => json!({}),
    };
    problem(status, e.code(), e.title(), &e.detail(), extra)
}

/// `POST /v1/carts/{id}/checkout`.
pub async fn checkout(
    ctx: &CartContext<'_>,
    id: &str,
    token: Option<String>,
    key: Option<String>,
    body: &str,
    hold_ttl_ms: i64,
) -> Result<ApiResponse> {
    require_credentials(id, token.as_deref())?;
    let token = token.ok_or_else(not_found)?;
    let key = key.ok_or_else(|| ApiError::InvalidBody {
        code: "idempotency_key_required".into(),
        field: None,
        detail: "Checkout needs an Idempotency-Key header (1–128 visible ASCII characters), generated once per attempt.".into(),
    })?;
    let input: CheckoutInput = parse_line_body(body)?;
    let fingerprint = idempotency::fingerprint(&[b"POST", id.as_bytes(), body.as_bytes()]);
    let attempt = crate::app::random_id();
    let begin = CartCommand::CheckoutBegin {
        token,
        key: key.clone(),
        fingerprint,
        attempt: attempt.clone(),
        lease_ms: edgecart_durable_objects::cart_checkout::LEASE_MS,
    };
    let reply: CheckoutBeginReply = call_cart(ctx.env, id, &begin).await.map_err(storage)?;
    let run = |plan: Option<Box<CheckoutPlan>>| CartCommand::CheckoutRun {
        key: key.clone(),
        attempt: attempt.clone(),
        plan,
    };
    match reply {
        CheckoutBeginReply::NotFound => Err(not_found()),
        CheckoutBeginReply::Replay { status, body } => {
            let mut r = respond(CheckoutResponse { status, body });
            r.header("Idempotent-Replayed", "true");
            Ok(r)
        }
        CheckoutBeginReply::Mismatch => Err(ApiError::Validation {
            errors: vec![FieldProblem {
                field: None,
                code: "idempotency_mismatch".into(),
                message: "This Idempotency-Key was used with a different request body; use a new key for a new request.".into(),
            }],
        }),
        CheckoutBeginReply::InProgress => Err(ApiError::Conflict {
            code: "idempotency_in_progress".into(),
            detail: "A request with this Idempotency-Key is being processed; retry shortly.".into(),
        }),
        CheckoutBeginReply::CartBusy => Err(ApiError::Conflict {
            code: "checkout_in_progress".into(),
            detail: "Another checkout of this cart is running.".into(),
        }),
        CheckoutBeginReply::Resume => {
            let r: CheckoutResponse = call_cart(ctx.env, id, &run(None)).await.map_err(storage)?;
            Ok(respond(r))
        }
        CheckoutBeginReply::Start { cart } => {
            let command = match plan(ctx, &cart, input, hold_ttl_ms).await {
                Ok(plan) => run(Some(Box::new(plan))),
                // A passing failure (5xx) is not the key's final answer:
                // the record is dropped and a retry starts over.
                Err(response) => CartCommand::CheckoutFinish {
                    key: key.clone(),
                    attempt: attempt.clone(),
                    keep: response.status < 500,
                    status: response.status,
                    body: response.body,
                },
            };
            let r: CheckoutResponse = call_cart(ctx.env, id, &command).await.map_err(storage)?;
            Ok(respond(r))
        }
    }
}

/// Prices the cart for checkout and plans the order, or the response that
/// ends the checkout now (stored under the key like any other).
async fn plan(
    ctx: &CartContext<'_>,
    cart: &Cart,
    input: CheckoutInput,
    hold_ttl_ms: i64,
) -> std::result::Result<CheckoutPlan, CheckoutResponse> {
    let mut errors: Vec<FieldError> = Vec::new();
    let email = parse_email(&input.email).map_err(|_| {
        errors.push(FieldError {
            field: "email".into(),
            code: "invalid_email",
            message: "Not a valid email address.".into(),
        })
    });
    let address = input.shipping_address.validate().map_err(|found| {
        errors.extend(found.into_iter().map(|mut e| {
            e.field = format!("shipping_address.{}", e.field);
            e
        }))
    });
    if input.payment.method != "card" {
        errors.push(FieldError {
            field: "payment.method".into(),
            code: "unsupported_payment_method",
            message: "Only `card` payments are supported.".into(),
        });
    }
    if input.payment.token.is_empty() || input.payment.token.len() > 255 {
        errors.push(FieldError {
            field: "payment.token".into(),
            code: "invalid_payment_token",
            message: "The card token is missing or too long.".into(),
        });
    }
    let (Ok(email), Ok(address), true) = (email, address, errors.is_empty()) else {
        return Err(stored_error(ApiError::Validation {
            errors: errors.iter().map(FieldProblem::from).collect(),
        }));
    };
    if cart.lines.is_empty() {
        return Err(problem(
            422,
            "cart_empty",
            "Cart is empty",
            "There is nothing to check out.",
            json!({}),
        ));
    }
    // Prices from the live catalog; every line must be priced.
    let found = line_prices(ctx, cart).await.map_err(stored_error)?;
    let lines = pricing_lines(cart, &found, ctx.catalog);
    if let Some(line) = cart
        .lines
        .iter()
        .find(|l| !lines.iter().any(|p| p.sku == l.sku))
    {
        return Err(problem(
            422,
            "not_sold_in_currency",
            "Item not for sale",
            &format!(
                "{} is not for sale in {} any more; remove it from the cart.",
                line.sku, cart.currency
            ),
            json!({ "sku": line.sku }),
        ));
    }
    // Configuration, promotions and redemption counts: strongly consistent.
    let state = match call_store(
        ctx.env,
        &StoreCommand::Get {
            customer: Some(email.clone()),
        },
    )
    .await
    {
        Ok(StoreReply::State(s)) => s,
        Ok(other) => {
            return Err(stored_error(ApiError::StorageUnavailable {
                cause: format!("{other:?}"),
            }))
        }
        Err(e) => return Err(stored_error(storage(e))),
    };
    let promotions: Vec<_> = state
        .promotions
        .iter()
        .map(|p| p.promotion.clone())
        .collect();
    let (candidates, _unknown) = StoreSnapshot::candidates(&promotions, &cart.coupons, |id| {
        state
            .promotions
            .iter()
            .find(|p| p.promotion.id == id)
            .map_or((0, 0), |p| (p.redemptions, p.customer_redemptions))
    });
    let Some(method) = state
        .config
        .shipping_method(&input.shipping_method)
        .cloned()
    else {
        return Err(stored_error(ApiError::invalid(
            "shipping_method",
            "unknown_shipping_method",
            "The store has no shipping method with this id.",
        )));
    };
    let quote = quote_cart(&PricingInput {
        currency: cart.currency,
        lines,
        promotions: candidates,
        tax: state.config.tax.clone(),
        shipping_method: Some(method),
        destination: Some(Destination {
            country: address.country.clone(),
            region: address.region.clone(),
        }),
        now_ms: ctx.pricing.now_ms,
    })
    .map_err(|e| stored_error(pricing_error(e)))?;
    let expected_currency = Currency::parse(&input.expected_total.currency).ok();
    if expected_currency != Some(quote.currency)
        || input.expected_total.amount != quote.grand_total.amount
    {
        return Err(total_changed(&quote));
    }
    let order_id = format!("ord_{}", crate::app::random_id());
    let order = Order::from_quote(
        OrderDetails {
            id: order_id,
            cart_id: cart.id.clone(),
            email,
            shipping_address: address,
            shipping_method: input.shipping_method,
            payment: Payment {
                provider: edgecart_durable_objects::payment::provider_name(&state.config.payment)
                    .into(),
                reference: String::new(),
            },
        },
        &quote,
        ctx.pricing.now_ms,
    );
    Ok(CheckoutPlan {
        order,
        order_token: format!("{}{}", crate::app::random_id(), crate::app::random_id()),
        payment: state.config.payment.clone(),
        payment_token: input.payment.token,
        hold_ttl_ms,
    })
}

fn total_changed(quote: &Quote) -> CheckoutResponse {
    problem(
        409,
        "total_changed",
        "Total changed",
        "The cart's total is no longer the expected_total (prices, promotions or shipping changed). Nothing was charged; show the new total and confirm again.",
        json!({ "quote": quote }),
    )
}

/// `GET /v1/orders/{id}` with the order's token, or for the admin API
/// (`admin`: the caller checked the admin token).
pub async fn get_order(
    env: &worker::Env,
    id: &str,
    token: Option<String>,
    admin: bool,
) -> Result<ApiResponse> {
    if !is_order_id(id) || (token.is_none() && !admin) {
        return Err(order_missing());
    }
    let token = if admin { None } else { token };
    match call_order(env, id, &OrderCommand::Get { token })
        .await
        .map_err(storage)?
    {
        OrderReply::Order { order } => {
            let mut r = ApiResponse::json(&order);
            r.header("Cache-Control", "no-store");
            Ok(r)
        }
        OrderReply::NotFound | OrderReply::Illegal { .. } => Err(order_missing()),
    }
}

fn order_missing() -> ApiError {
    ApiError::NotFound {
        code: "order_not_found",
        detail: "No order has this id, or the token does not open it.".into(),
    }
}

fn is_order_id(id: &str) -> bool {
    id.strip_prefix("ord_")
        .is_some_and(|h| h.len() == 24 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Moves order `id` on `event`: the shopper's cancel (with the order's
/// token) or an admin's fulfil / refund / cancel (`token: None`).
pub async fn transition(
    env: &worker::Env,
    id: &str,
    token: Option<String>,
    event: edgecart_domain::order::OrderEvent,
) -> Result<ApiResponse> {
    if !is_order_id(id) {
        return Err(order_missing());
    }
    let command = OrderCommand::Transition { token, event };
    match call_order(env, id, &command).await.map_err(storage)? {
        OrderReply::Order { order } => {
            let mut r = ApiResponse::json(&order);
            r.header("Cache-Control", "no-store");
            Ok(r)
        }
        OrderReply::NotFound => Err(order_missing()),
        OrderReply::Illegal { from, event } => Err(ApiError::Conflict {
            code: "illegal_transition".into(),
            detail: format!(
                "An order that is {} cannot be {}.",
                serde_json::to_value(from)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                match event {
                    edgecart_domain::order::OrderEvent::Cancel => "cancelled",
                    edgecart_domain::order::OrderEvent::Fulfil => "fulfilled",
                    edgecart_domain::order::OrderEvent::Refund => "refunded",
                    _ => "changed this way",
                }
            ),
        }),
    }
}

/// Query parameters of `GET /admin/v1/orders`.
pub const ORDER_LIST_PARAMS: &[&str] = &[
    "status",
    "created_after",
    "created_before",
    "limit",
    "cursor",
];

/// `GET /admin/v1/orders`: newest first, by `status` and creation time
/// (`created_after`, `created_before`: RFC 3339), paged with `cursor`.
pub async fn list_orders(
    env: &worker::Env,
    params: &crate::catalog_api::Params<'_>,
) -> Result<ApiResponse> {
    use edgecart_domain::order::OrderStatus;
    let limit = match params.get("limit") {
        None => 50,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=200).contains(n) && raw.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                ApiError::invalid(
                    "limit",
                    "invalid_limit",
                    "limit must be an integer from 1 to 200.",
                )
            })?,
    };
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
            let parsed = raw
                .split_once('.')
                .and_then(|(ms, id)| Some((ms.parse::<i64>().ok()?, id.to_string())));
            Some(parsed.filter(|(_, id)| is_order_id(id)).ok_or_else(|| {
                ApiError::invalid(
                    "cursor",
                    "invalid_cursor",
                    "Pass back next_cursor as it is.",
                )
            })?)
        }
    };
    let command = StoreCommand::ListOrders {
        status,
        from_ms,
        to_ms,
        before,
        limit: limit + 1,
    };
    let mut orders = match call_store(env, &command).await.map_err(storage)? {
        StoreReply::Orders { orders } => orders,
        other => {
            return Err(ApiError::StorageUnavailable {
                cause: format!("{other:?}"),
            })
        }
    };
    let next_cursor = if orders.len() > limit as usize {
        orders.truncate(limit as usize);
        orders
            .last()
            .map(|o| format!("{}.{}", o.created_at_ms, o.id))
    } else {
        None
    };
    #[derive(serde::Serialize)]
    struct Item<'a> {
        #[serde(flatten)]
        summary: &'a edgecart_durable_objects::protocol::OrderSummary,
        created_at: String,
    }
    #[derive(serde::Serialize)]
    struct Body<'a> {
        items: Vec<Item<'a>>,
        next_cursor: Option<String>,
    }
    let mut r = ApiResponse::json(&Body {
        items: orders
            .iter()
            .map(|o| Item {
                summary: o,
                created_at: chrono::DateTime::from_timestamp_millis(o.created_at_ms)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                    .unwrap_or_default(),
            })
            .collect(),
        next_cursor,
    });
    r.header("Cache-Control", "no-store");
    Ok(r)
}
