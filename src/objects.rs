//! The Worker's side of the Durable Object protocol: sending a command
//! ([`ask`], [`send`]) and the one place where what an object answered
//! becomes an HTTP error: each class's refusal enum maps to its status,
//! code and detail here ([`Refused`]), and a command that got no answer
//! (a [`Failure`]) is 503 `storage_unavailable`, its cause logged, never
//! shown. Checkout's own answers (the domain's `checkout::Refusal`, stored
//! and replayed byte for byte) are mapped in `checkout_api`.

use crate::http::{ApiError, Result};
use edgecart_domain::admin::{Conflict, Missing};
use edgecart_domain::cart::CartError;
use edgecart_domain::order::OrderEvent;
use edgecart_domain::stock::StockError;
use edgecart_durable_objects::protocol::cart::CartRefusal;
use edgecart_durable_objects::protocol::catalog::CatalogRefusal;
use edgecart_durable_objects::protocol::directory::{Conflict as StoreConflict, DirectoryRefusal};
use edgecart_durable_objects::protocol::order::OrderRefusal;
use edgecart_durable_objects::protocol::points::PointsRefusal;
use edgecart_durable_objects::protocol::store::StoreRefusal;
use edgecart_durable_objects::protocol::{
    self, Answer, Command, Failure, FieldProblem, Never, Protocol, RefusalOf,
};
use worker::Env;

/// A command that got no answer: 503, the cause logged.
pub fn failure(binding: &str, failure: Failure) -> ApiError {
    ApiError::StorageUnavailable {
        cause: format!("{binding}: {failure}"),
    }
}

/// Sends `command` to object `name`: its answer (the reply or the refusal,
/// for a caller that treats a refusal specially); no answer is 503.
pub async fn send<C: Command>(env: &Env, name: &str, command: C) -> Result<Answer<C>> {
    protocol::send(env, name, command)
        .await
        .map_err(|f| failure(C::Protocol::BINDING, f))
}

/// Sends `command` to object `name`: its reply; a refusal is the error
/// [`Refused`] maps it to.
pub async fn ask<C: Command>(env: &Env, name: &str, command: C) -> Result<C::Reply>
where
    RefusalOf<C>: Refused,
{
    send(env, name, command).await?.map_err(Refused::error)
}

/// An object's refusal, as the API answers it.
pub trait Refused {
    fn error(self) -> ApiError;
}

impl Refused for Never {
    fn error(self) -> ApiError {
        match self {}
    }
}

impl Refused for CatalogRefusal {
    fn error(self) -> ApiError {
        match self {
            CatalogRefusal::BadInput { problem } => ApiError::InvalidBody {
                code: problem.code,
                field: problem.field,
                detail: problem.message,
            },
            CatalogRefusal::Invalid { errors } => ApiError::Validation { errors },
            CatalogRefusal::NotFound { missing } => missing_error(missing),
            CatalogRefusal::Conflict {
                conflict: Conflict::LastPrice { sku, currency },
            } => ApiError::Conflict {
                code: "last_price".into(),
                detail: format!("{currency} is the only price of {sku}; set another first"),
            },
            CatalogRefusal::Conflict {
                conflict: Conflict::TooManyPrices { limit },
            } => ApiError::Conflict {
                code: "too_many_prices".into(),
                detail: format!("A store may have at most {limit} prices of its own."),
            },
            CatalogRefusal::UnknownSku { index } => ApiError::NotFound {
                code: "sku_not_found",
                detail: format!("prices[{index}].sku: no variant has this SKU."),
            },
        }
    }
}

/// A catalog target that does not exist.
pub fn missing_error(missing: Missing) -> ApiError {
    let (code, detail) = match missing {
        Missing::Product => ("product_not_found", "No product has this id."),
        Missing::Sku => ("sku_not_found", "No variant has this SKU."),
        Missing::Price => ("price_not_found", "This SKU has no price in this currency."),
    };
    ApiError::NotFound {
        code,
        detail: detail.into(),
    }
}

/// A currency code that is not ISO 4217, in a price's path.
pub fn unknown_currency() -> ApiError {
    ApiError::NotFound {
        code: "unknown_currency",
        detail: "Not a known ISO 4217 currency code.".into(),
    }
}

/// A price amount that is not an integer of minor units within limits.
pub fn invalid_price() -> ApiError {
    ApiError::Validation {
        errors: vec![FieldProblem {
            field: Some("amount".into()),
            code: "invalid_price".into(),
            message: "must be a non-negative integer of minor units".into(),
        }],
    }
}

pub fn cart_not_found() -> ApiError {
    ApiError::NotFound {
        code: "cart_not_found",
        detail: "No cart has this id, or the token does not open it.".into(),
    }
}

pub fn coupon_not_found() -> ApiError {
    ApiError::NotFound {
        code: "coupon_not_found",
        detail: "No promotion has this coupon code (or this cart does not carry it).".into(),
    }
}

/// Another attempt with the same Idempotency-Key runs the checkout.
pub fn idempotency_in_progress() -> ApiError {
    ApiError::Conflict {
        code: "idempotency_in_progress".into(),
        detail: "A request with this Idempotency-Key is being processed; retry shortly.".into(),
    }
}

impl Refused for CartRefusal {
    fn error(self) -> ApiError {
        let invalid = |code: &str, message: String| ApiError::Validation {
            errors: vec![FieldProblem {
                field: Some("quantity".into()),
                code: code.into(),
                message,
            }],
        };
        match self {
            CartRefusal::NotFound => cart_not_found(),
            // A fresh random id was taken: nothing the client did.
            CartRefusal::Exists => ApiError::StorageUnavailable {
                cause: "a new cart's id names an existing cart".into(),
            },
            CartRefusal::UnknownSku => ApiError::NotFound {
                code: "sku_not_found",
                detail: "No variant of the live catalog has this SKU.".into(),
            },
            CartRefusal::NotSoldInCurrency { currency } => ApiError::Validation {
                errors: vec![FieldProblem {
                    field: Some("sku".into()),
                    code: "not_sold_in_currency".into(),
                    message: format!("This item has no price in {currency}."),
                }],
            },
            CartRefusal::OutOfStock { sku, available } => ApiError::OutOfStock { sku, available },
            CartRefusal::HoldLimit { sku, available } => ApiError::HoldLimit { sku, available },
            CartRefusal::CheckoutInProgress => ApiError::Conflict {
                code: "checkout_in_progress".into(),
                detail: "A checkout of this cart is running; its lines and coupons cannot change until it ends.".into(),
            },
            CartRefusal::KeyMismatch => ApiError::Validation {
                errors: vec![FieldProblem {
                    field: None,
                    code: "idempotency_mismatch".into(),
                    message: "This Idempotency-Key was used with a different request body; use a new key for a new request.".into(),
                }],
            },
            CartRefusal::KeyInProgress => idempotency_in_progress(),
            CartRefusal::CartBusy => ApiError::Conflict {
                code: "checkout_in_progress".into(),
                detail: "Another checkout of this cart is running.".into(),
            },
            CartRefusal::TooManyDeclines { retry_after_secs } => {
                crate::limits::too_many_declines(retry_after_secs)
            }
            CartRefusal::Line { error } => match error {
                CartError::InvalidQuantity => invalid(
                    "invalid_quantity",
                    "must be a positive integer (0 removes, when setting)".into(),
                ),
                CartError::QuantityTooLarge { max } => invalid(
                    "quantity_limit",
                    format!("at most {max} units of this item per order"),
                ),
                CartError::TooManyLines { max } => ApiError::Validation {
                    errors: vec![FieldProblem {
                        field: Some("sku".into()),
                        code: "too_many_lines".into(),
                        message: format!("a cart holds at most {max} different items"),
                    }],
                },
                CartError::NoSuchLine => ApiError::NotFound {
                    code: "line_not_found",
                    detail: "This cart has no line for this SKU.".into(),
                },
                CartError::TooManyCoupons { max } => ApiError::Validation {
                    errors: vec![FieldProblem {
                        field: Some("code".into()),
                        code: "too_many_coupons".into(),
                        message: format!("a cart carries at most {max} coupons"),
                    }],
                },
                CartError::NoSuchCoupon => coupon_not_found(),
            },
        }
    }
}

/// A refused stock operation; `field` names the body field an invalid
/// quantity came from (`on_hand`, `delta`).
pub fn stock_error(e: StockError, field: &str) -> ApiError {
    match e {
        StockError::BelowCommitted { minimum } => ApiError::Conflict {
            code: "below_committed".into(),
            detail: format!("On hand may not go below {minimum}, the units reserved and sold."),
        },
        StockError::OutOfStock { available } => ApiError::Conflict {
            code: "out_of_stock".into(),
            detail: format!("Only {available} available."),
        },
        // Only a cart's hold has a budget (and the cart maps it itself).
        StockError::HoldLimit { available } => ApiError::Conflict {
            code: "hold_limit".into(),
            detail: format!("At most {available} more may be held by this client."),
        },
        StockError::InvalidQuantity => ApiError::Validation {
            errors: vec![FieldProblem {
                field: Some(field.into()),
                code: "invalid_quantity".into(),
                message: "must be an integer from 0 to 1000000000 (on hand after the change too)"
                    .into(),
            }],
        },
        StockError::NoHold | StockError::QuantityMismatch { .. } => ApiError::Conflict {
            code: "no_hold".into(),
            detail: "No live hold matches.".into(),
        },
    }
}

impl Refused for StockError {
    fn error(self) -> ApiError {
        stock_error(self, "quantity")
    }
}

pub fn promotion_not_found() -> ApiError {
    ApiError::NotFound {
        code: "promotion_not_found",
        detail: "No promotion has this id.".into(),
    }
}

impl Refused for StoreRefusal {
    fn error(self) -> ApiError {
        match self {
            StoreRefusal::UnknownPromotion => promotion_not_found(),
            StoreRefusal::CodeTaken { code, by } => ApiError::Conflict {
                code: "code_taken".into(),
                detail: format!("Promotion {by} already uses the coupon code {code}."),
            },
            // Only checkout redeems, and it answers through its saga.
            StoreRefusal::RedemptionRefused { refused } => ApiError::StorageUnavailable {
                cause: format!("a redemption outside checkout was refused: {refused:?}"),
            },
        }
    }
}

impl Refused for DirectoryRefusal {
    fn error(self) -> ApiError {
        match self {
            DirectoryRefusal::Conflict { conflict } => store_conflict(conflict),
        }
    }
}

/// 409 for a store profile the other stores leave no room for.
pub fn store_conflict(conflict: StoreConflict) -> ApiError {
    match conflict {
        StoreConflict::HostTaken { host, by } => ApiError::Conflict {
            code: "host_taken".into(),
            detail: format!("Store {by} answers on {host}."),
        },
        StoreConflict::TooManyStores => ApiError::Conflict {
            code: "too_many_stores".into(),
            detail: format!(
                "A deployment serves at most {} stores.",
                edgecart_domain::stores::limits::STORES_MAX
            ),
        },
    }
}

pub fn order_not_found() -> ApiError {
    ApiError::NotFound {
        code: "order_not_found",
        detail: "No order has this id, or the token does not open it.".into(),
    }
}

impl Refused for OrderRefusal {
    fn error(self) -> ApiError {
        match self {
            OrderRefusal::NotFound => order_not_found(),
            OrderRefusal::Illegal { from, event } => ApiError::Conflict {
                code: "illegal_transition".into(),
                detail: format!(
                    "An order that is {} cannot be {}.",
                    serde_json::to_value(from)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    match event {
                        OrderEvent::Cancel => "cancelled",
                        OrderEvent::Fulfil => "fulfilled",
                        OrderEvent::Refund => "refunded",
                        _ => "changed this way",
                    }
                ),
            },
        }
    }
}

/// A points ledger's refusal of an admin's grant or adjustment (a
/// checkout's are the saga's, mapped in `checkout_api`).
impl Refused for PointsRefusal {
    fn error(self) -> ApiError {
        let invalid = |field: &str, code: &str, message: &str| ApiError::Validation {
            errors: vec![FieldProblem {
                field: Some(field.into()),
                code: code.into(),
                message: message.into(),
            }],
        };
        match self {
            PointsRefusal::InsufficientPoints { available } => {
                ApiError::InsufficientPoints { available }
            }
            PointsRefusal::InvalidAmount => invalid(
                "points",
                "invalid_points",
                "1 to 10^12 points (either way for an adjustment, never 0)",
            ),
            PointsRefusal::InvalidReason => {
                invalid("reason", "invalid_reason", "1 to 200 characters, not blank")
            }
            PointsRefusal::InvalidExpiry => {
                invalid("expires_at", "invalid_expiry", "must be ahead of now")
            }
            PointsRefusal::KeyReused => ApiError::Conflict {
                code: "idempotency_key_reused".into(),
                detail:
                    "This Idempotency-Key was used for a different change of this member's points."
                        .into(),
            },
            PointsRefusal::AlreadySpent | PointsRefusal::NoSuchOrder => {
                ApiError::StorageUnavailable {
                    cause: format!("points ledger refused an admin operation: {self:?}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgecart_domain::money::{Currency, Money};
    use edgecart_domain::order::OrderStatus;
    use edgecart_domain::promotion::PromotionRefusal;
    use edgecart_domain::store::RedemptionRefused;

    fn check(table: Vec<(ApiError, u16, &str)>) {
        for (e, status, code) in table {
            assert_eq!((e.status(), e.code()), (status, code), "{e:?}");
        }
    }

    #[test]
    fn catalog_refusals_map_to_statuses_and_codes() {
        let usd = Currency::parse("USD").unwrap();
        check(vec![
            (
                CatalogRefusal::NotFound {
                    missing: Missing::Product,
                }
                .error(),
                404,
                "product_not_found",
            ),
            (
                CatalogRefusal::NotFound {
                    missing: Missing::Sku,
                }
                .error(),
                404,
                "sku_not_found",
            ),
            (
                CatalogRefusal::NotFound {
                    missing: Missing::Price,
                }
                .error(),
                404,
                "price_not_found",
            ),
            (
                CatalogRefusal::Conflict {
                    conflict: Conflict::LastPrice {
                        sku: "A".into(),
                        currency: usd,
                    },
                }
                .error(),
                409,
                "last_price",
            ),
            (
                CatalogRefusal::Invalid { errors: vec![] }.error(),
                422,
                "validation_failed",
            ),
            (
                CatalogRefusal::BadInput {
                    problem: FieldProblem {
                        field: Some("price".into()),
                        code: "unknown_field".into(),
                        message: "x".into(),
                    },
                }
                .error(),
                400,
                "unknown_field",
            ),
            (unknown_currency(), 404, "unknown_currency"),
            (invalid_price(), 422, "validation_failed"),
        ]);
        let e = CatalogRefusal::Conflict {
            conflict: Conflict::LastPrice {
                sku: "A".into(),
                currency: usd,
            },
        }
        .error();
        assert_eq!(e.detail(), "USD is the only price of A; set another first");
    }

    #[test]
    fn cart_refusals_map_to_statuses_and_codes() {
        let line = |error| CartRefusal::Line { error }.error();
        check(vec![
            (CartRefusal::NotFound.error(), 404, "cart_not_found"),
            (CartRefusal::Exists.error(), 503, "storage_unavailable"),
            (CartRefusal::UnknownSku.error(), 404, "sku_not_found"),
            (
                CartRefusal::NotSoldInCurrency {
                    currency: Currency::parse("EUR").unwrap(),
                }
                .error(),
                422,
                "validation_failed",
            ),
            (
                CartRefusal::OutOfStock {
                    sku: "A".into(),
                    available: 2,
                }
                .error(),
                409,
                "out_of_stock",
            ),
            (
                CartRefusal::HoldLimit {
                    sku: "A".into(),
                    available: 0,
                }
                .error(),
                409,
                "hold_limit",
            ),
            (
                CartRefusal::CheckoutInProgress.error(),
                409,
                "checkout_in_progress",
            ),
            (CartRefusal::KeyMismatch.error(), 422, "validation_failed"),
            (
                CartRefusal::KeyInProgress.error(),
                409,
                "idempotency_in_progress",
            ),
            (CartRefusal::CartBusy.error(), 409, "checkout_in_progress"),
            (
                line(CartError::QuantityTooLarge { max: 3 }),
                422,
                "validation_failed",
            ),
            (line(CartError::InvalidQuantity), 422, "validation_failed"),
            (
                line(CartError::TooManyLines { max: 50 }),
                422,
                "validation_failed",
            ),
            (line(CartError::NoSuchLine), 404, "line_not_found"),
            (
                line(CartError::TooManyCoupons { max: 5 }),
                422,
                "validation_failed",
            ),
            (line(CartError::NoSuchCoupon), 404, "coupon_not_found"),
        ]);
        match CartRefusal::KeyMismatch.error() {
            ApiError::Validation { errors } => assert_eq!(errors[0].code, "idempotency_mismatch"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stock_refusals_map_to_statuses_and_codes() {
        check(vec![
            (
                stock_error(StockError::OutOfStock { available: 1 }, "on_hand"),
                409,
                "out_of_stock",
            ),
            (
                stock_error(StockError::BelowCommitted { minimum: 2 }, "on_hand"),
                409,
                "below_committed",
            ),
            (
                stock_error(StockError::InvalidQuantity, "delta"),
                422,
                "validation_failed",
            ),
            (stock_error(StockError::NoHold, "on_hand"), 409, "no_hold"),
            (
                StockError::QuantityMismatch { held: 1 }.error(),
                409,
                "no_hold",
            ),
        ]);
    }

    #[test]
    fn store_and_order_refusals_map_to_statuses_and_codes() {
        let usd = Currency::parse("USD").unwrap();
        check(vec![
            (
                StoreRefusal::UnknownPromotion.error(),
                404,
                "promotion_not_found",
            ),
            (
                StoreRefusal::CodeTaken {
                    code: "SPRING".into(),
                    by: "p1".into(),
                }
                .error(),
                409,
                "code_taken",
            ),
            (
                StoreRefusal::RedemptionRefused {
                    refused: RedemptionRefused {
                        promotion: "p1".into(),
                        refusal: PromotionRefusal::BelowMinimum {
                            min: Money::new(1, usd),
                        },
                    },
                }
                .error(),
                503,
                "storage_unavailable",
            ),
            (OrderRefusal::NotFound.error(), 404, "order_not_found"),
            (
                OrderRefusal::Illegal {
                    from: OrderStatus::Refunded,
                    event: OrderEvent::Cancel,
                }
                .error(),
                409,
                "illegal_transition",
            ),
        ]);
        let e = OrderRefusal::Illegal {
            from: OrderStatus::Refunded,
            event: OrderEvent::Cancel,
        }
        .error();
        assert_eq!(e.detail(), "An order that is refunded cannot be cancelled.");
    }

    #[test]
    fn a_command_without_an_answer_is_503() {
        let e = failure(
            "CART",
            Failure::Unreachable {
                cause: "gone".into(),
            },
        );
        assert_eq!((e.status(), e.code()), (503, "storage_unavailable"));
    }
}
