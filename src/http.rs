//! The HTTP edge: the one error enum every handler returns, its mapping to
//! RFC 9457 problem+json, and a plain response value that the Worker glue
//! turns into a `worker::Response`. Nothing here performs I/O: turning an
//! error into a response has no side effects (logging happens in `app`).

use crate::routes::MethodSet;
use edgecart_durable_objects::protocol::FieldProblem;
use serde::Serialize;

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// Every way a request can fail, with the status each one answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: a query parameter is malformed, out of range, unknown or repeated.
    /// `code` is the stable machine code (`invalid_limit`, `invalid_sort`, …).
    InvalidParameter {
        param: String,
        code: &'static str,
        detail: String,
    },
    /// 404: no route has this path.
    RouteNotFound,
    /// 404: no product has this id or slug.
    ProductNotFound,
    /// 405: the path exists but not with this method; `allow` lists the methods.
    MethodNotAllowed { allow: MethodSet },
    /// 503: the catalog store could not be read or decoded. The cause is
    /// logged, never shown to the client.
    CatalogUnavailable { cause: String },
    /// 503: the Worker's configuration is invalid. Logged like the above.
    Misconfigured { cause: String },
    /// 401: no admin token, or not a valid one. Nothing was changed.
    Unauthorized,
    /// 403: a valid admin token whose role does not allow this route.
    Forbidden,
    /// 400: the request body is not the JSON this route expects
    /// (`invalid_json`, `unknown_field`, `missing_field`, `invalid_type`, …).
    InvalidBody {
        code: String,
        field: Option<String>,
        detail: String,
    },
    /// 422: the body is well formed but breaks rules; every problem listed.
    Validation { errors: Vec<FieldProblem> },
    /// 404: an admin target (product, SKU, price) does not exist.
    NotFound { code: &'static str, detail: String },
    /// 409: the change contradicts the current state (`last_price`, …).
    Conflict { code: String, detail: String },
    /// 413: the body is larger than the route accepts.
    PayloadTooLarge { detail: String },
    /// 415: the body's media type is not one the route reads.
    UnsupportedMediaType { detail: String },
    /// 503: the catalog writer object could not be reached. Cause logged.
    StorageUnavailable { cause: String },
    /// 409: not enough stock of `sku`; `available` is the most this cart could hold.
    OutOfStock { sku: String, available: i64 },
    /// 409: the client's hold budget of `sku` leaves this cart at most
    /// `available` units.
    HoldLimit { sku: String, available: i64 },
    /// 401: a points route without a member token (`member_token_required`)
    /// or with one the store does not admit (`invalid_member_token`).
    MemberUnauthorized { code: &'static str, detail: String },
    /// 409: the member has fewer spendable points than asked; nothing
    /// changed. `available` is their spendable balance.
    InsufficientPoints { available: i64 },
    /// 503: the store's payment provider is the test provider, which this
    /// deployment does not enable (`TEST_PAYMENTS`). Nothing was taken.
    TestPaymentsDisabled,
    /// 400: a provider's webhook whose signature does not verify; nothing
    /// changed.
    InvalidSignature { detail: String },
    /// 429: the client, cart, card or store is over a limit
    /// (`rate_limited`, `too_many_declines`); nothing was done. Answered
    /// with `Retry-After`.
    TooManyRequests {
        code: &'static str,
        retry_after_secs: u64,
        detail: String,
    },
}

impl ApiError {
    pub fn invalid(param: &str, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::InvalidParameter {
            param: param.to_string(),
            code,
            detail: detail.into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::InvalidParameter { .. } => 400,
            ApiError::RouteNotFound | ApiError::ProductNotFound => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::CatalogUnavailable { .. }
            | ApiError::Misconfigured { .. }
            | ApiError::StorageUnavailable { .. }
            | ApiError::TestPaymentsDisabled => 503,
            ApiError::InvalidSignature { .. } => 400,
            ApiError::Unauthorized | ApiError::MemberUnauthorized { .. } => 401,
            ApiError::Forbidden => 403,
            ApiError::InvalidBody { .. } => 400,
            ApiError::Validation { .. } => 422,
            ApiError::NotFound { .. } => 404,
            ApiError::Conflict { .. }
            | ApiError::OutOfStock { .. }
            | ApiError::HoldLimit { .. }
            | ApiError::InsufficientPoints { .. } => 409,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::UnsupportedMediaType { .. } => 415,
            ApiError::TooManyRequests { .. } => 429,
        }
    }

    /// The stable machine code clients branch on.
    pub fn code(&self) -> &str {
        match self {
            ApiError::InvalidParameter { code, .. } => code,
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::InvalidBody { code, .. } | ApiError::Conflict { code, .. } => code,
            ApiError::Validation { .. } => "validation_failed",
            ApiError::NotFound { code, .. } => code,
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType { .. } => "unsupported_media_type",
            ApiError::StorageUnavailable { .. } => "storage_unavailable",
            ApiError::OutOfStock { .. } => "out_of_stock",
            ApiError::HoldLimit { .. } => "hold_limit",
            ApiError::MemberUnauthorized { code, .. } => code,
            ApiError::InsufficientPoints { .. } => "insufficient_points",
            ApiError::RouteNotFound => "route_not_found",
            ApiError::ProductNotFound => "product_not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::CatalogUnavailable { .. } => "catalog_unavailable",
            ApiError::Misconfigured { .. } => "misconfigured",
            ApiError::TestPaymentsDisabled => "test_payments_disabled",
            ApiError::InvalidSignature { .. } => "invalid_signature",
            ApiError::TooManyRequests { code, .. } => code,
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            ApiError::InvalidParameter { .. } => "Invalid request parameter",
            ApiError::RouteNotFound => "No such route",
            ApiError::ProductNotFound => "No such product",
            ApiError::MethodNotAllowed { .. } => "Method not allowed",
            ApiError::CatalogUnavailable { .. } => "Catalog temporarily unavailable",
            ApiError::Misconfigured { .. } => "Service misconfigured",
            ApiError::Unauthorized => "Authentication required",
            ApiError::Forbidden => "Not allowed for this token",
            ApiError::InvalidBody { .. } => "Invalid request body",
            ApiError::Validation { .. } => "Validation failed",
            ApiError::NotFound { .. } => "Not found",
            ApiError::Conflict { .. } => "Conflict with the current state",
            ApiError::PayloadTooLarge { .. } => "Request body too large",
            ApiError::UnsupportedMediaType { .. } => "Unsupported media type",
            ApiError::StorageUnavailable { .. } => "Storage temporarily unavailable",
            ApiError::OutOfStock { .. } => "Out of stock",
            ApiError::HoldLimit { .. } => "Hold limit reached",
            ApiError::MemberUnauthorized { .. } => "Member sign-in required",
            ApiError::InsufficientPoints { .. } => "Not enough points",
            ApiError::TestPaymentsDisabled => "Payments not configured",
            ApiError::InvalidSignature { .. } => "Invalid signature",
            ApiError::TooManyRequests { .. } => "Too many requests",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            ApiError::InvalidParameter { detail, .. } => detail.clone(),
            ApiError::RouteNotFound => "No API route matches this path.".into(),
            ApiError::ProductNotFound => "No product has this id or slug.".into(),
            ApiError::MethodNotAllowed { allow } => format!("This route allows {allow}."),
            ApiError::CatalogUnavailable { .. }
            | ApiError::Misconfigured { .. }
            | ApiError::StorageUnavailable { .. } => "Please retry shortly.".into(),
            ApiError::Unauthorized => {
                "Send Authorization: Bearer <admin token> with a valid token.".into()
            }
            ApiError::Forbidden => "This token's role does not allow this route.".into(),
            ApiError::OutOfStock { sku, available } => {
                format!("Only {available} of {sku} can be held now; the cart is unchanged.")
            }
            ApiError::HoldLimit { sku, available } => format!(
                "Your carts already hold what one shopper may of {sku}: this cart can hold {available} now; the cart is unchanged."
            ),
            ApiError::Validation { errors } => {
                format!("{} problem(s); see `errors`.", errors.len())
            }
            ApiError::InsufficientPoints { available } => {
                format!("Only {available} points can be spent now; nothing changed.")
            }
            ApiError::MemberUnauthorized { detail, .. } => detail.clone(),
            ApiError::TestPaymentsDisabled => "This store pays with the test provider, which this deployment does not enable. Nothing was held or charged; the store's operator must configure a payment provider.".into(),
            ApiError::InvalidSignature { detail } => detail.clone(),
            ApiError::TooManyRequests { detail, .. } => detail.clone(),
            ApiError::InvalidBody { detail, .. }
            | ApiError::NotFound { detail, .. }
            | ApiError::Conflict { detail, .. }
            | ApiError::PayloadTooLarge { detail }
            | ApiError::UnsupportedMediaType { detail } => detail.clone(),
        }
    }

    /// What to log about this error beyond its code (internal causes).
    pub fn cause(&self) -> Option<&str> {
        match self {
            ApiError::CatalogUnavailable { cause }
            | ApiError::Misconfigured { cause }
            | ApiError::StorageUnavailable { cause } => Some(cause),
            _ => None,
        }
    }

    /// The problem+json response for this error.
    pub fn to_response(&self, instance: &str, request_id: &str) -> ApiResponse {
        let code = self.code();
        let problem = Problem {
            kind: format!("https://edgecart.dev/problems/{code}"),
            title: self.title(),
            status: self.status(),
            detail: self.detail(),
            code,
            instance,
            request_id,
            param: match self {
                ApiError::InvalidParameter { param, .. } => Some(param),
                _ => None,
            },
            field: match self {
                ApiError::InvalidBody { field, .. } => field.as_deref(),
                _ => None,
            },
            errors: match self {
                ApiError::Validation { errors } => Some(errors),
                _ => None,
            },
            sku: match self {
                ApiError::OutOfStock { sku, .. } | ApiError::HoldLimit { sku, .. } => Some(sku),
                _ => None,
            },
            available: match self {
                ApiError::OutOfStock { available, .. }
                | ApiError::HoldLimit { available, .. }
                | ApiError::InsufficientPoints { available } => Some(*available),
                _ => None,
            },
        };
        let mut response = ApiResponse::new(
            self.status(),
            "application/problem+json",
            serde_json::to_vec(&problem).unwrap_or_default(),
        );
        response.header("Cache-Control", "no-store");
        match self {
            ApiError::MethodNotAllowed { allow } => response.header("Allow", allow.to_string()),
            ApiError::CatalogUnavailable { .. }
            | ApiError::Misconfigured { .. }
            | ApiError::StorageUnavailable { .. } => response.header("Retry-After", "5"),
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => response.header("Retry-After", retry_after_secs.to_string()),
            ApiError::Unauthorized => {
                response.header("WWW-Authenticate", "Bearer realm=\"edgecart-admin\"")
            }
            ApiError::MemberUnauthorized { .. } => response.header(
                "WWW-Authenticate",
                "Member-Token realm=\"edgecart-members\"",
            ),
            _ => {}
        }
        response
    }
}

/// A response as plain data; `app` converts it for the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl ApiResponse {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        ApiResponse {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body,
        }
    }

    pub fn json<T: Serialize>(value: &T) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_default();
        ApiResponse::new(200, "application/json; charset=utf-8", body)
    }

    pub fn header(&mut self, name: &'static str, value: impl Into<String>) {
        self.headers.push((name, value.into()));
    }

    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An instant (milliseconds since the Unix epoch) as the API writes times:
/// RFC 3339, UTC, with milliseconds (`None` for one out of range).
pub fn rfc3339_ms(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Does an `If-None-Match` header value match this strong `etag`? Uses the
/// weak comparison RFC 9110 prescribes for `If-None-Match`.
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let want = bare(etag);
    if_none_match
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == want)
}

/// An RFC 9457 problem document (`application/problem+json`). Branch on `code`,
/// which is stable; `title` and `detail` are for humans and may change.
/// Checkout answers stored under an `Idempotency-Key` are replayed byte for
/// byte and carry no `instance` or `request_id`: see `CheckoutProblem`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"type": "https://edgecart.dev/problems/invalid_limit", "title": "Invalid request parameter", "status": 400, "detail": "limit must be an integer from 1 to 100.", "code": "invalid_limit", "instance": "/v1/products?limit=0", "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e", "param": "limit"}])))]
pub struct Problem<'a> {
    /// `https://edgecart.dev/problems/{code}`.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "uri"), extend("examples" = ["https://edgecart.dev/problems/invalid_limit"])))]
    #[serde(rename = "type")]
    kind: String,
    /// Short summary of the problem type.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["Invalid request parameter"])))]
    title: &'a str,
    /// The HTTP status code of the response.
    #[cfg_attr(feature = "openapi", schemars(range(min = 400, max = 599)))]
    status: u16,
    /// What went wrong with this request, for humans. Never reveals internal
    /// causes.
    detail: String,
    /// Stable machine-readable code. 400: `unknown_parameter`,
    /// `duplicate_parameter`, `unknown_currency`, `query_too_long`,
    /// `invalid_sort`, `invalid_limit`, `invalid_price`, `invalid_price_range`,
    /// `unknown_category`, `invalid_in_stock`, `invalid_cursor`,
    /// `invalid_country`, `invalid_region`, `missing_destination`,
    /// `unknown_shipping_method` (cart destination and shipping), and for admin
    /// and cart request bodies `invalid_json`, `unknown_field`,
    /// `missing_field`, `invalid_type`, `invalid_body`;
    /// `idempotency_key_required` (checkout without a valid `Idempotency-Key`,
    /// a points grant or adjustment without one), `invalid_idempotency_key`
    /// (another operation's `Idempotency-Key` header present but not 1 to 128
    /// visible ASCII characters), for the admin order list `invalid_status`
    /// and `invalid_time`, and `invalid_time` for a points grant's
    /// `expires_at` that is not RFC 3339. For a batch count (`POST
    /// /admin/v1/inventory`): `empty_batch`, `too_many_items` (more than 200
    /// items), `duplicate_sku` (a SKU given twice). 401: `unauthorized`, and
    /// on `GET /v1/points` `member_token_required` (no `Member-Token`) and
    /// `invalid_member_token`. 402: `payment_declined`. 403: `forbidden`.
    /// 404: `route_not_found`,
    /// `product_not_found`, `sku_not_found`, `price_not_found`,
    /// `unknown_currency` (admin price path and store prices), `cart_not_found`,
    /// `line_not_found`, `coupon_not_found`, `promotion_not_found`,
    /// `order_not_found`, `store_not_found` (no enabled store at this host or
    /// `store` id), `no_points_programme` (the store has no points
    /// programme), `member_not_found` (a malformed member id in an admin
    /// points path), `dev_sign_in_off` (the development sign-in is off).
    /// 405: `method_not_allowed`. 409: `last_price`,
    /// `below_committed`, `out_of_stock`, `code_taken`, `checkout_in_progress`
    /// (a checkout of the cart is running), `idempotency_in_progress`,
    /// `total_changed`, `coupon_unavailable`, `illegal_transition` (an order's
    /// status does not allow the change), `host_taken` and `too_many_stores`
    /// (a store profile), `too_many_prices` (a store's own prices),
    /// `insufficient_points` (a points adjustment would take more than the
    /// member can spend), `idempotency_key_reused` (a points grant's or
    /// adjustment's `Idempotency-Key` already named another change). 413:
    /// `payload_too_large`. 415:
    /// `unsupported_media_type`. 422: `validation_failed`, and at checkout
    /// `cart_empty` and `not_sold_in_currency`. 503: `catalog_unavailable`,
    /// `misconfigured`, `storage_unavailable`, `payment_unavailable` (checkout:
    /// the payment provider did not answer).
    #[cfg_attr(feature = "openapi", schemars(extend("enum" = ["unknown_parameter", "duplicate_parameter", "unknown_currency", "query_too_long", "invalid_sort", "invalid_limit", "invalid_price", "invalid_price_range", "unknown_category", "invalid_in_stock", "invalid_cursor", "route_not_found", "product_not_found", "method_not_allowed", "catalog_unavailable", "misconfigured", "unauthorized", "forbidden", "invalid_json", "unknown_field", "missing_field", "invalid_type", "invalid_body", "validation_failed", "sku_not_found", "price_not_found", "last_price", "below_committed", "payload_too_large", "unsupported_media_type", "storage_unavailable", "cart_not_found", "line_not_found", "out_of_stock", "invalid_country", "invalid_region", "missing_destination", "unknown_shipping_method", "coupon_not_found", "promotion_not_found", "code_taken", "idempotency_key_required", "idempotency_in_progress", "checkout_in_progress", "total_changed", "cart_empty", "not_sold_in_currency", "coupon_unavailable", "payment_declined", "payment_unavailable", "order_not_found", "illegal_transition", "invalid_status", "invalid_time", "empty_batch", "too_many_items", "duplicate_sku", "invalid_idempotency_key", "store_not_found", "host_taken", "too_many_stores", "too_many_prices", "member_token_required", "invalid_member_token", "no_points_programme", "member_not_found", "dev_sign_in_off", "insufficient_points", "idempotency_key_reused", "payment_action_required", "payment_processing", "test_payments_disabled", "invalid_signature", "invalid_state", "webhook_not_found", "event_not_found", "too_many_webhooks", "unknown_event_type", "duplicate_event_type", "event_or_range", "rate_limited", "too_many_declines", "hold_limit", "invalid_granularity", "invalid_date", "invalid_date_range"])))]
    code: &'a str,
    /// The request's path and query string.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "uri-reference"), extend("examples" = ["/v1/products?limit=0"])))]
    instance: &'a str,
    /// The request's id, as in the `X-Request-Id` response header; quote it
    /// when reporting a problem.
    request_id: &'a str,
    /// The query parameter at fault. Present only on 400 responses. On `POST
    /// /v1/carts` an `unknown_currency` names `currency`, the body's member,
    /// checked like the query parameter of that name.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["limit"])))]
    #[serde(skip_serializing_if = "Option::is_none")]
    param: Option<&'a str>,
    /// The request-body field at fault, as a path (`name`, `variants[0].name`,
    /// `quantity`). Present only on admin and cart 400 responses about a body
    /// field (`unknown_field`, `missing_field`, `invalid_type`, and a points
    /// grant's `invalid_time`) when the field is known.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["variants[0].name"])))]
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// Every field-level problem found. Present only on 422
    /// `validation_failed`.
    #[cfg_attr(
        feature = "openapi",
        schemars(schema_with = "crate::openapi::schemas::field_problems")
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldProblem]>,
    /// The SKU that is short. Present only on 409 `out_of_stock`.
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["KTL-1-STEEL"])))]
    #[serde(skip_serializing_if = "Option::is_none")]
    sku: Option<&'a str>,
    /// On 409 `out_of_stock`, the most units of `sku` this cart could hold
    /// now: the units anyone could still add plus those this cart already
    /// holds. On 409 `insufficient_points`, the points the member can spend
    /// now (0 when they owe points). Present only on those two.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64"), extend("examples" = [3])))]
    #[serde(skip_serializing_if = "Option::is_none")]
    available: Option<i64>,
}

/// A 304 for a conditional GET that matched: validators and caching
/// headers of the full response, no body.
pub fn not_modified(etag: &str, cache_control: &str) -> ApiResponse {
    ApiResponse {
        status: 304,
        headers: vec![
            ("ETag", etag.to_string()),
            ("Cache-Control", cache_control.to_string()),
        ],
        body: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_json_carries_code_status_and_param() {
        let e = ApiError::invalid("limit", "invalid_limit", "limit must be 1 to 100");
        let r = e.to_response("/v1/products?limit=0", "req-1");
        assert_eq!(r.status, 400);
        assert_eq!(
            r.header_value("content-type"),
            Some("application/problem+json")
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["code"], "invalid_limit");
        assert_eq!(v["status"], 400);
        assert_eq!(v["param"], "limit");
        assert_eq!(v["request_id"], "req-1");
        assert_eq!(v["type"], "https://edgecart.dev/problems/invalid_limit");
    }

    #[test]
    fn internal_causes_are_never_shown() {
        let e = ApiError::CatalogUnavailable {
            cause: "kv exploded at key catalog/index/abc".into(),
        };
        let r = e.to_response("/v1/products", "req-2");
        assert_eq!(r.status, 503);
        assert!(!String::from_utf8(r.body.clone())
            .unwrap()
            .contains("exploded"));
        assert_eq!(r.header_value("retry-after"), Some("5"));
    }

    #[test]
    fn if_none_match_table() {
        let etag = "\"v1\"";
        for (header, matches) in [
            ("\"v1\"", true),
            ("W/\"v1\"", true),
            ("\"v0\", \"v1\"", true),
            ("*", true),
            ("\"v2\"", false),
            ("v1", false),
            ("", false),
        ] {
            assert_eq!(etag_matches(header, etag), matches, "{header}");
        }
    }
}
