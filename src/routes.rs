//! The route table: every operation the Worker's API serves, each listed
//! once in [`ROUTES`] with its method, path pattern, handler, access and
//! allowed query parameters, laid out like the URLs. Everything else is
//! derived from it: matching a request to its operation and path
//! parameters, the `Allow` header and the 405 answer, CORS preflights, the
//! role check done before a handler runs, the query-parameter allow-list,
//! and the tests that hold `openapi.json` to the table in both directions.
//!
//! The demo shop's HTML pages (`shop_pages::match_page`) are matched before
//! this table and are not part of the API.

use crate::admin_api::{authorize, PAGE_PARAMS};
use crate::cart_api::PRICING_PARAMS;
use crate::catalog_api::{Params, DETAIL_PARAMS, LIST_PARAMS};
use crate::checkout_api::{CHECKOUT_LIST_PARAMS, ORDER_LIST_PARAMS};
use crate::config::{Config, Role};
use crate::http::{ApiError, Result};
use crate::reports_api::{BEST_SELLER_PARAMS, LOW_STOCK_PARAMS, POINTS_PARAMS, SALES_PARAMS};
use std::fmt;
use Access::{Admin, Holder, Member, Operator, Public, Viewer};
use Handler as H;
use Method::{Delete, Get, Patch, Post, Put};

/// The methods the API knows. Any other (QUERY, TRACE, FOO, …) is never
/// served: it answers 405 wherever the path exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

impl Method {
    /// Every known method, in the order `Allow` lists them.
    pub const ALL: [Method; 7] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Options,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }

    /// The method a request names (any case), or `None` for one the API
    /// does not know. Read the method as sent: `worker::Method` turns
    /// every method it does not know into GET.
    pub fn parse(raw: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(raw))
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of methods: what a path allows. Displays as an `Allow` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MethodSet(u8);

impl MethodSet {
    pub const fn with(self, m: Method) -> Self {
        MethodSet(self.0 | m.bit())
    }

    pub const fn contains(self, m: Method) -> bool {
        self.0 & m.bit() != 0
    }
}

impl fmt::Display for MethodSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for m in Method::ALL.into_iter().filter(|m| self.contains(*m)) {
            if !first {
                f.write_str(", ")?;
            }
            f.write_str(m.as_str())?;
            first = false;
        }
        Ok(())
    }
}

/// Who may call an operation. The dispatcher checks it, from the table,
/// before the handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// The holder of a cart's or order's secret token. The dispatcher hands
    /// the presented bearer token on; the cart or order object checks it,
    /// and a missing or wrong one answers 404 like an unknown id.
    Holder,
    /// A member of the store, signed in by the operator: a member token
    /// in the `Member-Token` header (401 `member_token_required` without
    /// one; the handler verifies it for the store, 401
    /// `invalid_member_token`).
    Member,
    /// An admin token of either role (401 without a valid one).
    Viewer,
    /// An admin token of role `admin` (401 without a valid token, 403 for a
    /// viewer's).
    Admin,
    /// An operator's token (401 without a valid token, 403 for a store's
    /// admin or viewer token).
    Operator,
}

/// What an operation's route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The store the request resolves to (the `store` parameter, else the
    /// host; 404 `store_not_found` for none). Admin and viewer tokens of
    /// another store get 403.
    Store,
    /// The whole deployment: the shared catalog and stock, the stores
    /// themselves, and the Worker's own routes. No store is resolved.
    Shared,
}

/// The code that answers an operation (see `app::dispatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    Health,
    OpenApi,
    ListProducts,
    GetProduct,
    ListCategories,
    Availability,
    CreateCart,
    GetCart,
    AddLine,
    SetLine,
    RemoveLine,
    AddCoupon,
    RemoveCoupons,
    RemoveCoupon,
    Checkout,
    GetOrder,
    CancelOrder,
    AdminGetProduct,
    PutProduct,
    DeleteProduct,
    PutPrice,
    DeletePrice,
    PutCategory,
    ImportCatalog,
    ListAudit,
    Session,
    SetOnHandBatch,
    GetStock,
    SetOnHand,
    AdjustStock,
    ListMovements,
    ListOrders,
    AdminGetOrder,
    FulfilOrder,
    RefundOrder,
    AdminCancelOrder,
    GetStore,
    PutStore,
    ListPromotions,
    GetPromotion,
    PutPromotion,
    DeletePromotion,
    ListStorePrices,
    SetStorePrices,
    ListStoreAudit,
    ListStores,
    GetStoreProfile,
    PutStoreProfile,
    GetPoints,
    DevMemberToken,
    AdminGetPoints,
    GrantPoints,
    AdjustPoints,
    ListCheckouts,
    StripeWebhook,
    ListWebhooks,
    CreateWebhook,
    GetWebhook,
    UpdateWebhook,
    DeleteWebhook,
    RotateWebhook,
    ListWebhookDeliveries,
    ReplayWebhook,
    SalesReport,
    BestSellersReport,
    PointsReport,
    LowStockReport,
}

/// One operation: a method on a path.
#[derive(Debug, PartialEq, Eq)]
pub struct Operation {
    pub method: Method,
    pub handler: Handler,
    pub access: Access,
    /// The query parameters it accepts; any other, or one given twice, is
    /// refused (400 `unknown_parameter`, `duplicate_parameter`).
    pub query: &'static [&'static str],
}

/// A path pattern (`{name}` stands for one non-empty segment) and its
/// operations. HEAD is served wherever GET is, OPTIONS (CORS preflight)
/// everywhere; neither is listed.
#[derive(Debug, PartialEq, Eq)]
pub struct Route {
    pub path: &'static str,
    pub scope: Scope,
    pub operations: &'static [Operation],
}

/// A route of one store.
const fn route(path: &'static str, operations: &'static [Operation]) -> Route {
    Route {
        path,
        scope: Scope::Store,
        operations,
    }
}

/// A route of the whole deployment.
const fn shared(path: &'static str, operations: &'static [Operation]) -> Route {
    Route {
        path,
        scope: Scope::Shared,
        operations,
    }
}

const fn op(
    method: Method,
    handler: Handler,
    access: Access,
    query: &'static [&'static str],
) -> Operation {
    Operation {
        method,
        handler,
        access,
        query,
    }
}

const NONE: &[&str] = &[];

/// Every route the API serves, one entry per path; each (method, path)
/// appears once. `route`: of the store the request resolves to; `shared`:
/// of the whole deployment. Columns: method, handler, access, accepted
/// query parameters (a store's routes also accept `store`, the selector).
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    // Operations.
    shared("/health",                              &[op(Get,    H::Health,           Public, NONE)]),
    shared("/openapi.json",                        &[op(Get,    H::OpenApi,          Public, NONE)]),
    // The payment provider's events, verified by their signature.
    shared("/webhooks/stripe",                     &[op(Post,   H::StripeWebhook,    Public, NONE)]),
    // The catalog and exact stock.
    route("/v1/products",                          &[op(Get,    H::ListProducts,     Public, LIST_PARAMS)]),
    route("/v1/products/{id_or_slug}",             &[op(Get,    H::GetProduct,       Public, DETAIL_PARAMS)]),
    route("/v1/categories",                        &[op(Get,    H::ListCategories,   Public, NONE)]),
    route("/v1/inventory/{sku}",                   &[op(Get,    H::Availability,     Public, NONE)]),
    // Carts and checkout: every path but creation needs the cart's token.
    route("/v1/carts",                             &[op(Post,   H::CreateCart,       Public, NONE)]),
    route("/v1/carts/{id}",                        &[op(Get,    H::GetCart,          Holder, PRICING_PARAMS)]),
    route("/v1/carts/{id}/lines",                  &[op(Post,   H::AddLine,          Holder, NONE)]),
    route("/v1/carts/{id}/lines/{sku}",            &[op(Patch,  H::SetLine,          Holder, NONE),
                                                     op(Delete, H::RemoveLine,       Holder, NONE)]),
    route("/v1/carts/{id}/coupons",                &[op(Post,   H::AddCoupon,        Holder, NONE),
                                                     op(Delete, H::RemoveCoupons,    Holder, NONE)]),
    route("/v1/carts/{id}/coupons/{code}",         &[op(Delete, H::RemoveCoupon,     Holder, NONE)]),
    route("/v1/carts/{id}/checkout",               &[op(Post,   H::Checkout,         Holder, NONE)]),
    // A member's points, with the operator's member token.
    route("/v1/points",                            &[op(Get,    H::GetPoints,        Member, PAGE_PARAMS)]),
    route("/v1/points/dev-token",                  &[op(Post,   H::DevMemberToken,   Public, NONE)]),
    // A shopper's order, opened by its token.
    route("/v1/orders/{id}",                       &[op(Get,    H::GetOrder,         Holder, NONE)]),
    route("/v1/orders/{id}/cancel",                &[op(Post,   H::CancelOrder,      Holder, NONE)]),
    // Admin: the shared catalog and its audit trail.
    shared("/admin/v1/products/{id}",              &[op(Get,    H::AdminGetProduct,  Viewer, NONE),
                                                     op(Put,    H::PutProduct,       Operator, NONE),
                                                     op(Delete, H::DeleteProduct,    Operator, NONE)]),
    shared("/admin/v1/prices/{sku}/{currency}",    &[op(Put,    H::PutPrice,         Operator, NONE),
                                                     op(Delete, H::DeletePrice,      Operator, NONE)]),
    shared("/admin/v1/categories/{slug}",          &[op(Put,    H::PutCategory,      Operator, NONE)]),
    shared("/admin/v1/catalog/import",             &[op(Post,   H::ImportCatalog,    Operator, NONE)]),
    shared("/admin/v1/audit",                      &[op(Get,    H::ListAudit,        Viewer, PAGE_PARAMS)]),
    // Admin: who the presented token is (label, role, store).
    shared("/admin/v1/session",                    &[op(Get,    H::Session,          Viewer, NONE)]),
    // Admin: the shared stock.
    shared("/admin/v1/inventory",                  &[op(Post,   H::SetOnHandBatch,   Operator, NONE)]),
    shared("/admin/v1/inventory/{sku}",            &[op(Get,    H::GetStock,         Viewer, NONE),
                                                     op(Put,    H::SetOnHand,        Operator, NONE)]),
    shared("/admin/v1/inventory/{sku}/adjustments", &[op(Post,  H::AdjustStock,      Operator, NONE)]),
    shared("/admin/v1/inventory/{sku}/movements",  &[op(Get,    H::ListMovements,    Viewer, PAGE_PARAMS)]),
    shared("/admin/v1/reports/low-stock",          &[op(Get,    H::LowStockReport,   Viewer, LOW_STOCK_PARAMS)]),
    // Admin: the stores (operators only).
    shared("/admin/v1/stores",                     &[op(Get,    H::ListStores,       Operator, NONE)]),
    shared("/admin/v1/stores/{store_id}",          &[op(Get,    H::GetStoreProfile,  Operator, NONE),
                                                     op(Put,    H::PutStoreProfile,  Operator, NONE)]),
    // Admin: orders.
    route("/admin/v1/orders",                      &[op(Get,    H::ListOrders,       Viewer, ORDER_LIST_PARAMS)]),
    route("/admin/v1/orders/{id}",                 &[op(Get,    H::AdminGetOrder,    Viewer, NONE)]),
    route("/admin/v1/orders/{id}/fulfil",          &[op(Post,   H::FulfilOrder,      Admin,  NONE)]),
    route("/admin/v1/orders/{id}/refund",          &[op(Post,   H::RefundOrder,      Admin,  NONE)]),
    route("/admin/v1/orders/{id}/cancel",          &[op(Post,   H::AdminCancelOrder, Admin,  NONE)]),
    // Admin: checkouts that cannot settle.
    route("/admin/v1/checkouts",                   &[op(Get,    H::ListCheckouts,    Viewer, CHECKOUT_LIST_PARAMS)]),
    // Admin: the store and its promotions.
    route("/admin/v1/store",                       &[op(Get,    H::GetStore,         Viewer, NONE),
                                                     op(Put,    H::PutStore,         Admin,  NONE)]),
    route("/admin/v1/store/prices",                &[op(Get,    H::ListStorePrices,  Viewer, PAGE_PARAMS),
                                                     op(Post,   H::SetStorePrices,   Admin,  NONE)]),
    route("/admin/v1/promotions",                  &[op(Get,    H::ListPromotions,   Viewer, NONE)]),
    route("/admin/v1/promotions/{id}",             &[op(Get,    H::GetPromotion,     Viewer, NONE),
                                                     op(Put,    H::PutPromotion,     Admin,  NONE),
                                                     op(Delete, H::DeletePromotion,  Admin,  NONE)]),
    // Admin: a member's points.
    route("/admin/v1/members/{member}/points",     &[op(Get,    H::AdminGetPoints,   Viewer, PAGE_PARAMS)]),
    route("/admin/v1/members/{member}/points/grants", &[op(Post, H::GrantPoints,     Admin,  NONE)]),
    route("/admin/v1/members/{member}/points/adjustments", &[op(Post, H::AdjustPoints, Admin, NONE)]),
    // Admin: the store's webhook endpoints and their deliveries.
    route("/admin/v1/webhooks",                    &[op(Get,    H::ListWebhooks,     Viewer, NONE),
                                                     op(Post,   H::CreateWebhook,    Admin,  NONE)]),
    route("/admin/v1/webhooks/{id}",               &[op(Get,    H::GetWebhook,       Viewer, NONE),
                                                     op(Patch,  H::UpdateWebhook,    Admin,  NONE),
                                                     op(Delete, H::DeleteWebhook,    Admin,  NONE)]),
    route("/admin/v1/webhooks/{id}/rotate",        &[op(Post,   H::RotateWebhook,    Admin,  NONE)]),
    route("/admin/v1/webhooks/{id}/deliveries",    &[op(Get,    H::ListWebhookDeliveries, Viewer, PAGE_PARAMS)]),
    route("/admin/v1/webhooks/{id}/replay",        &[op(Post,   H::ReplayWebhook,    Admin,  NONE)]),
    // Admin: the store's audit trail (its configuration, promotions, order
    // actions and profile).
    route("/admin/v1/store/audit",                 &[op(Get,    H::ListStoreAudit,   Viewer, PAGE_PARAMS)]),
    // Admin: the store's reports, from figures kept as orders and points change.
    route("/admin/v1/reports/sales",               &[op(Get,    H::SalesReport,      Viewer, SALES_PARAMS)]),
    route("/admin/v1/reports/best-sellers",        &[op(Get,    H::BestSellersReport, Viewer, BEST_SELLER_PARAMS)]),
    route("/admin/v1/reports/points",              &[op(Get,    H::PointsReport,     Viewer, POINTS_PARAMS)]),
];

/// Most `{name}` segments in one path pattern.
const MAX_PARAMS: usize = 2;

impl Route {
    /// The methods this path serves: its operations', HEAD wherever GET,
    /// and OPTIONS.
    pub fn allow(&self) -> MethodSet {
        let mut set = MethodSet::default().with(Method::Options);
        for op in self.operations {
            set = set.with(op.method);
            if op.method == Method::Get {
                set = set.with(Method::Head);
            }
        }
        set
    }

    /// The operation serving `method` (`None`: a method the API does not
    /// know), or 405 with this path's `Allow`. HEAD runs the GET operation.
    pub fn operation(&self, method: Option<Method>) -> Result<&'static Operation> {
        let wanted = match method {
            Some(Method::Head) => Some(Method::Get),
            other => other,
        };
        self.operations
            .iter()
            .find(|op| Some(op.method) == wanted)
            .ok_or(ApiError::MethodNotAllowed {
                allow: self.allow(),
            })
    }

    /// Matches `path` against this route's pattern; the values of its
    /// `{name}` segments, in order, when it matches.
    fn matches<'a>(&self, path: &'a str) -> Option<[&'a str; MAX_PARAMS]> {
        let mut values = [""; MAX_PARAMS];
        let mut n = 0;
        let mut want = self.path.split('/');
        let mut got = path.split('/');
        loop {
            match (want.next(), got.next()) {
                (None, None) => return Some(values),
                (Some(w), Some(g)) if w.starts_with('{') => {
                    if g.is_empty() {
                        return None;
                    }
                    *values.get_mut(n)? = g;
                    n += 1;
                }
                (Some(w), Some(g)) if w == g => {}
                _ => return None,
            }
        }
    }

    /// The names of the pattern's `{name}` segments, in order.
    pub fn param_names(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }
}

/// A path matched to its route, with the values of its `{name}` segments
/// (slices of the request's path: nothing is allocated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathMatch<'a> {
    pub route: &'static Route,
    values: [&'a str; MAX_PARAMS],
}

impl<'a> PathMatch<'a> {
    /// The value of `{name}` in the matched path. Asking for a name the
    /// route's pattern does not have is a bug: it panics in tests and
    /// reads as empty (an id nothing has) in the Worker.
    pub fn param(&self, name: &str) -> &'a str {
        let found = self
            .route
            .param_names()
            .position(|n| n == name)
            .map(|i| self.values[i]);
        debug_assert!(found.is_some(), "{} has no {{{name}}}", self.route.path);
        found.unwrap_or("")
    }
}

/// The route whose pattern matches `path`, if any (paths are exact: no
/// trailing slash, no empty segment).
pub fn find(path: &str) -> Option<PathMatch<'_>> {
    ROUTES.iter().find_map(|route| {
        route
            .matches(path)
            .map(|values| PathMatch { route, values })
    })
}

/// What a request resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved<'a> {
    /// Run this operation.
    Serve {
        operation: &'static Operation,
        path: PathMatch<'a>,
    },
    /// A CORS preflight (OPTIONS): answer with the path's methods.
    Preflight { allow: MethodSet },
}

/// Resolves a request's method (as sent) and path: 404 when no route has
/// the path, 405 with `Allow` when it does but not with this method.
pub fn resolve<'a>(method: &str, path: &'a str) -> Result<Resolved<'a>> {
    let matched = find(path).ok_or(ApiError::RouteNotFound)?;
    match Method::parse(method) {
        Some(Method::Options) => Ok(Resolved::Preflight {
            allow: matched.route.allow(),
        }),
        method => Ok(Resolved::Serve {
            operation: matched.route.operation(method)?,
            path: matched,
        }),
    }
}

/// The caller an operation's access let through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A public operation.
    Anyone,
    /// A cart or order operation, with the bearer token presented, if any
    /// (the object checks it).
    Holder { token: Option<String> },
    /// An admin operation, with the label of the token that passed and
    /// its store (none for an operator).
    Staff {
        label: String,
        store: Option<String>,
    },
    /// A member's operation, with the member token presented (the handler
    /// verifies it for the store).
    Member { token: String },
}

impl Caller {
    /// The cart's or order's bearer token, as presented.
    pub fn token(&self) -> Option<String> {
        match self {
            Caller::Holder { token } => token.clone(),
            _ => None,
        }
    }

    /// The admin token's label (the audit `actor`); empty for others.
    pub fn label(&self) -> &str {
        match self {
            Caller::Staff { label, .. } => label,
            _ => "",
        }
    }
}

/// Checks `access` against the request's `Authorization` header (and, for
/// a member's operation, its `Member-Token`): 401 or 403 for an admin
/// operation without a token of the needed role, or (on a route of
/// `store`) with another store's token; 401 for a member's operation
/// without a member token. `config` is read only for admin operations.
pub fn admit(
    access: Access,
    store: Option<&str>,
    authorization: Option<&str>,
    member_token: Option<&str>,
    config: impl FnOnce() -> Result<Config>,
) -> Result<Caller> {
    let role = match access {
        Access::Public => return Ok(Caller::Anyone),
        Access::Member => {
            let token = member_token
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| ApiError::MemberUnauthorized {
                    code: "member_token_required",
                    detail:
                        "Send the member token the store's site signed in the Member-Token header."
                            .into(),
                })?;
            return Ok(Caller::Member {
                token: token.to_string(),
            });
        }
        Access::Holder => {
            let token = authorization
                .and_then(|h| h.strip_prefix("Bearer "))
                .map(|t| t.trim().to_string());
            return Ok(Caller::Holder { token });
        }
        Access::Viewer => Role::Viewer,
        Access::Admin => Role::Admin,
        Access::Operator => Role::Operator,
    };
    let config = config()?;
    let token = authorize(&config, authorization, role, store)?;
    Ok(Caller::Staff {
        label: token.label.clone(),
        store: token.store.clone(),
    })
}

impl Operation {
    /// The request's query parameters, refused when one is not in this
    /// operation's list or is given twice.
    pub fn parse_query(&self, pairs: Vec<(String, String)>) -> Result<Params<'static>> {
        Params::parse(pairs, self.query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgecart_domain::stores::DEFAULT_STORE as DEFAULT;

    /// Every operation in the table, with its route.
    fn operations() -> impl Iterator<Item = (&'static Route, &'static Operation)> {
        ROUTES
            .iter()
            .flat_map(|r| r.operations.iter().map(move |op| (r, op)))
    }

    /// A concrete path for a pattern.
    fn concrete(pattern: &str) -> String {
        pattern
            .split('/')
            .map(|s| match s {
                "{id_or_slug}" => "prd_00001",
                "{id}" => "x_1",
                "{sku}" => "KTL-1",
                "{currency}" => "USD",
                "{slug}" => "kitchen",
                "{code}" => "SAVE10",
                "{store_id}" => "bank",
                s => s,
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    fn serve<'a>(method: &str, path: &'a str) -> Result<(Handler, Vec<&'a str>)> {
        match resolve(method, path)? {
            Resolved::Serve { operation, path } => Ok((
                operation.handler,
                path.route.param_names().map(|n| path.param(n)).collect(),
            )),
            Resolved::Preflight { allow } => panic!("{method} {path}: preflight {allow}"),
        }
    }

    fn not_allowed(allow: &str) -> Result<(Handler, Vec<&'static str>)> {
        let set = Method::ALL
            .into_iter()
            .filter(|m| allow.split(", ").any(|a| a == m.as_str()))
            .fold(MethodSet::default(), MethodSet::with);
        assert_eq!(set.to_string(), allow, "an Allow in canonical order");
        Err(ApiError::MethodNotAllowed { allow: set })
    }

    #[test]
    fn resolves_methods_and_paths() {
        let table = [
            ("GET", "/health", Ok((H::Health, vec![]))),
            ("GET", "/v1/products", Ok((H::ListProducts, vec![]))),
            ("HEAD", "/v1/products", Ok((H::ListProducts, vec![]))),
            ("get", "/v1/products", Ok((H::ListProducts, vec![]))),
            (
                "GET",
                "/v1/products/prd_00001",
                Ok((H::GetProduct, vec!["prd_00001"])),
            ),
            (
                "GET",
                "/admin/v1/products/prd_1",
                Ok((H::AdminGetProduct, vec!["prd_1"])),
            ),
            (
                "HEAD",
                "/admin/v1/products/prd_1",
                Ok((H::AdminGetProduct, vec!["prd_1"])),
            ),
            (
                "PUT",
                "/admin/v1/products/prd_1",
                Ok((H::PutProduct, vec!["prd_1"])),
            ),
            (
                "PUT",
                "/admin/v1/prices/KTL-1/USD",
                Ok((H::PutPrice, vec!["KTL-1", "USD"])),
            ),
            (
                "DELETE",
                "/admin/v1/prices/KTL-1/USD",
                Ok((H::DeletePrice, vec!["KTL-1", "USD"])),
            ),
            (
                "POST",
                "/admin/v1/inventory",
                Ok((H::SetOnHandBatch, vec![])),
            ),
            (
                "GET",
                "/admin/v1/inventory/K-1",
                Ok((H::GetStock, vec!["K-1"])),
            ),
            (
                "HEAD",
                "/admin/v1/inventory/K-1",
                Ok((H::GetStock, vec!["K-1"])),
            ),
            (
                "PUT",
                "/admin/v1/inventory/K-1",
                Ok((H::SetOnHand, vec!["K-1"])),
            ),
            (
                "PATCH",
                "/v1/carts/crt_1/lines/K-1",
                Ok((H::SetLine, vec!["crt_1", "K-1"])),
            ),
            (
                "DELETE",
                "/v1/carts/crt_1/lines/K-1",
                Ok((H::RemoveLine, vec!["crt_1", "K-1"])),
            ),
            (
                "DELETE",
                "/v1/carts/crt_1/coupons/SAVE10",
                Ok((H::RemoveCoupon, vec!["crt_1", "SAVE10"])),
            ),
            (
                "POST",
                "/admin/v1/orders/ord_1/refund",
                Ok((H::RefundOrder, vec!["ord_1"])),
            ),
            (
                "POST",
                "/v1/orders/ord_1/cancel",
                Ok((H::CancelOrder, vec!["ord_1"])),
            ),
            // 404: paths are exact.
            ("GET", "/", Err(ApiError::RouteNotFound)),
            ("GET", "", Err(ApiError::RouteNotFound)),
            ("GET", "health", Err(ApiError::RouteNotFound)),
            ("GET", "/health/", Err(ApiError::RouteNotFound)),
            ("POST", "/admin/v1/inventory/", Err(ApiError::RouteNotFound)),
            ("GET", "/v1/products/", Err(ApiError::RouteNotFound)),
            ("GET", "/v1/products//", Err(ApiError::RouteNotFound)),
            ("GET", "/v1/products/a/b", Err(ApiError::RouteNotFound)),
            ("GET", "/v2/products", Err(ApiError::RouteNotFound)),
            ("PUT", "/admin/v1/prices//USD", Err(ApiError::RouteNotFound)),
            (
                "POST",
                "/admin/v1/orders/ord_1/ship",
                Err(ApiError::RouteNotFound),
            ),
            ("QUERY", "/v2/products", Err(ApiError::RouteNotFound)),
            // 405: the path exists, the method does not.
            ("POST", "/v1/products", not_allowed("GET, HEAD, OPTIONS")),
            ("PUT", "/admin/v1/inventory", not_allowed("POST, OPTIONS")),
            ("HEAD", "/admin/v1/inventory", not_allowed("POST, OPTIONS")),
            (
                "GET",
                "/admin/v1/catalog/import",
                not_allowed("POST, OPTIONS"),
            ),
            ("QUERY", "/v1/products", not_allowed("GET, HEAD, OPTIONS")),
            ("TRACE", "/health", not_allowed("GET, HEAD, OPTIONS")),
            ("CONNECT", "/health", not_allowed("GET, HEAD, OPTIONS")),
            ("FOO", "/v1/carts", not_allowed("POST, OPTIONS")),
            ("", "/v1/carts", not_allowed("POST, OPTIONS")),
            ("GETS", "/v1/products", not_allowed("GET, HEAD, OPTIONS")),
            (
                "PROPFIND",
                "/admin/v1/store",
                not_allowed("GET, HEAD, PUT, OPTIONS"),
            ),
            (
                "POST",
                "/v1/carts/crt_1/lines/K-1",
                not_allowed("PATCH, DELETE, OPTIONS"),
            ),
            (
                "GET",
                "/v1/carts/crt_1/coupons",
                not_allowed("POST, DELETE, OPTIONS"),
            ),
            (
                "POST",
                "/admin/v1/promotions/p1",
                not_allowed("GET, HEAD, PUT, DELETE, OPTIONS"),
            ),
            (
                "POST",
                "/admin/v1/products/prd_1",
                not_allowed("GET, HEAD, PUT, DELETE, OPTIONS"),
            ),
        ];
        for (method, path, want) in table {
            assert_eq!(serve(method, path), want, "{method} {path}");
        }
    }

    #[test]
    fn options_is_a_preflight_wherever_a_path_matches() {
        for route in ROUTES {
            let path = concrete(route.path);
            for method in ["OPTIONS", "options"] {
                assert_eq!(
                    resolve(method, &path),
                    Ok(Resolved::Preflight {
                        allow: route.allow()
                    }),
                    "{path}"
                );
            }
        }
        assert_eq!(
            resolve("OPTIONS", "/v1/nothing"),
            Err(ApiError::RouteNotFound)
        );
    }

    #[test]
    fn allow_lists_each_paths_methods() {
        let table = [
            ("/health", "GET, HEAD, OPTIONS"),
            ("/v1/products", "GET, HEAD, OPTIONS"),
            ("/v1/carts", "POST, OPTIONS"),
            ("/v1/carts/{id}", "GET, HEAD, OPTIONS"),
            ("/v1/carts/{id}/lines/{sku}", "PATCH, DELETE, OPTIONS"),
            ("/v1/carts/{id}/coupons", "POST, DELETE, OPTIONS"),
            ("/v1/carts/{id}/coupons/{code}", "DELETE, OPTIONS"),
            ("/admin/v1/products/{id}", "GET, HEAD, PUT, DELETE, OPTIONS"),
            ("/admin/v1/categories/{slug}", "PUT, OPTIONS"),
            ("/admin/v1/inventory/{sku}", "GET, HEAD, PUT, OPTIONS"),
            ("/admin/v1/store", "GET, HEAD, PUT, OPTIONS"),
            (
                "/admin/v1/promotions/{id}",
                "GET, HEAD, PUT, DELETE, OPTIONS",
            ),
        ];
        for (pattern, allow) in table {
            let route = find(&concrete(pattern)).expect(pattern).route;
            assert_eq!(route.path, pattern);
            assert_eq!(route.allow().to_string(), allow, "{pattern}");
        }
    }

    #[test]
    fn every_method_of_every_route_resolves_as_the_table_says() {
        for route in ROUTES {
            let path = concrete(route.path);
            let allow = route.allow();
            for method in Method::ALL {
                let got = resolve(method.as_str(), &path);
                let listed = route
                    .operations
                    .iter()
                    .find(|op| op.method == method || (method == Method::Head && op.method == Get));
                match (method, listed) {
                    (Method::Options, _) => {
                        assert_eq!(got, Ok(Resolved::Preflight { allow }), "{path}")
                    }
                    (_, Some(op)) => {
                        assert!(allow.contains(method), "{method:?} {path}");
                        let Ok(Resolved::Serve { operation, path: m }) = got else {
                            panic!("{method:?} {path}: {got:?}")
                        };
                        assert_eq!(operation, op);
                        assert_eq!(m.route, route);
                    }
                    (_, None) => {
                        assert!(!allow.contains(method), "{method:?} {path}");
                        assert_eq!(got, Err(ApiError::MethodNotAllowed { allow }), "{path}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_table_is_well_formed() {
        let mut handlers = Vec::new();
        for (i, route) in ROUTES.iter().enumerate() {
            let p = route.path;
            assert!(p.starts_with('/') && !p.ends_with('/'), "{p}");
            assert!(!p[1..].split('/').any(str::is_empty), "{p}");
            assert!(!route.operations.is_empty(), "{p}");
            let names: Vec<_> = route.param_names().collect();
            assert!(names.len() <= MAX_PARAMS, "{p}");
            for (j, n) in names.iter().enumerate() {
                assert!(!n.is_empty() && !names[..j].contains(n), "{p}");
            }
            for segment in p.split('/') {
                let braced = segment.starts_with('{') || segment.ends_with('}');
                assert!(
                    !braced || segment.len() > 2 && segment.ends_with('}'),
                    "{p}"
                );
            }
            for (k, op) in route.operations.iter().enumerate() {
                assert!(
                    !matches!(op.method, Method::Head | Method::Options),
                    "{p}: HEAD and OPTIONS are derived, not listed"
                );
                assert!(
                    !route.operations[..k].iter().any(|o| o.method == op.method),
                    "{p}: {:?} twice",
                    op.method
                );
                for (q, name) in op.query.iter().enumerate() {
                    assert!(!op.query[..q].contains(name), "{p}: {name} twice");
                }
                assert!(!handlers.contains(&op.handler), "{:?} twice", op.handler);
                handlers.push(op.handler);
            }
            // No two patterns can match the same path, so the table's order
            // never decides a match.
            for other in &ROUTES[..i] {
                let (a, b) = (p.split('/'), other.path.split('/'));
                let overlap = a.clone().count() == b.clone().count()
                    && a.zip(b)
                        .all(|(x, y)| x == y || x.starts_with('{') || y.starts_with('{'));
                assert!(!overlap, "{p} and {} overlap", other.path);
            }
        }
    }

    #[test]
    fn access_follows_the_api_rules() {
        for (route, op) in operations() {
            let p = route.path;
            let want = if p.starts_with("/admin/v1/stores") {
                // The stores themselves are the operators'.
                Operator
            } else if p.starts_with("/admin/") {
                // Admin reads are open to viewers; writes to the shared
                // catalog and stock are the operators', a store's its admins'.
                match (op.method, route.scope) {
                    (Get, _) => Viewer,
                    (_, Scope::Shared) => Operator,
                    (_, Scope::Store) => Admin,
                }
            } else if p.starts_with("/v1/carts/") || p.starts_with("/v1/orders/") {
                Holder
            } else if p == "/v1/points" {
                // A member's own points; signing in (development only) is
                // open.
                Member
            } else {
                Public
            };
            assert_eq!(op.access, want, "{:?} {p}", op.method);
        }
    }

    #[test]
    fn roles_and_stores_are_checked_from_the_table() {
        let config = Config::from_vars(|k| {
            (k == "ADMIN_TOKENS").then(|| {
                "ops:operator:0123456789abcdef,shop:admin:1123456789abcdef,\
                 audit:viewer:fedcba9876543210,bank:admin@bank:2123456789abcdef"
                    .into()
            })
        })
        .unwrap();
        let operator = Some("Bearer 0123456789abcdef");
        let admin = Some("Bearer 1123456789abcdef");
        let viewer = Some("Bearer fedcba9876543210");
        let bank = Some("Bearer 2123456789abcdef");
        let code = |r: Result<Caller>| r.map_err(|e| e.code().to_string());
        let staff = |label: &str, store: Option<&str>| {
            Ok(Caller::Staff {
                label: label.into(),
                store: store.map(Into::into),
            })
        };
        for (route, op) in operations() {
            // A store's routes are checked against the default store here.
            let store = (route.scope == Scope::Store).then_some(DEFAULT);
            let check = |header: Option<&str>| {
                let path = concrete(route.path);
                let target = resolve(op.method.as_str(), &path).unwrap();
                let Resolved::Serve { operation, .. } = target else {
                    unreachable!()
                };
                code(admit(
                    operation.access,
                    store,
                    header,
                    header.and_then(|h| h.strip_prefix("Bearer ")),
                    || Ok(config.clone()),
                ))
            };
            let what = format!("{:?} {}", op.method, route.path);
            let forbidden = || Err("forbidden".to_string());
            match op.access {
                Public => {
                    for h in [None, admin, Some("Bearer nope")] {
                        assert_eq!(check(h), Ok(Caller::Anyone), "{what}");
                    }
                }
                Holder => {
                    assert_eq!(check(None), Ok(Caller::Holder { token: None }), "{what}");
                    assert_eq!(
                        check(Some("Bearer  tok_1 ")),
                        Ok(Caller::Holder {
                            token: Some("tok_1".into())
                        }),
                        "{what}"
                    );
                    assert_eq!(
                        check(Some("Basic tok_1")),
                        Ok(Caller::Holder { token: None })
                    );
                }
                Member => {
                    assert_eq!(check(None), Err("member_token_required".into()), "{what}");
                    assert_eq!(
                        check(Some("Bearer  jwt.of.member ")),
                        Ok(Caller::Member {
                            token: "jwt.of.member".into()
                        }),
                        "{what}"
                    );
                }
                Viewer | Admin | Operator => {
                    assert_eq!(check(None), Err("unauthorized".into()), "{what}");
                    assert_eq!(check(Some("Bearer nope")), Err("unauthorized".into()));
                    assert_eq!(check(operator), staff("ops", None), "{what}");
                    let (want_admin, want_viewer, want_bank) = match (op.access, route.scope) {
                        (Operator, _) => (forbidden(), forbidden(), forbidden()),
                        (Admin, Scope::Store) => {
                            (staff("shop", Some(DEFAULT)), forbidden(), forbidden())
                        }
                        (Viewer, Scope::Store) => (
                            staff("shop", Some(DEFAULT)),
                            staff("audit", Some(DEFAULT)),
                            forbidden(),
                        ),
                        (Viewer, Scope::Shared) => (
                            staff("shop", Some(DEFAULT)),
                            staff("audit", Some(DEFAULT)),
                            staff("bank", Some("bank")),
                        ),
                        other => panic!("{what}: no shared route needs {other:?}"),
                    };
                    assert_eq!(check(admin), want_admin, "{what}");
                    assert_eq!(check(viewer), want_viewer, "{what}");
                    assert_eq!(check(bank), want_bank, "{what}");
                }
            }
        }
        // A broken ADMIN_TOKENS is 503 on admin operations only.
        let broken = || Err(ApiError::Misconfigured { cause: "x".into() });
        assert_eq!(
            code(admit(Admin, None, operator, None, broken)),
            Err("misconfigured".into())
        );
        assert_eq!(
            code(admit(Public, None, None, None, broken)),
            Ok(Caller::Anyone)
        );
    }

    #[test]
    fn query_parameters_are_checked_from_the_table() {
        let pairs = |q: &[(&str, &str)]| -> Vec<(String, String)> {
            q.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let code = |r: Result<Params<'static>>| r.err().map(|e| e.code().to_string());
        for (route, op) in operations() {
            let what = format!("{:?} {}", op.method, route.path);
            assert_eq!(code(op.parse_query(vec![])), None, "{what}");
            let all: Vec<(&str, &str)> = op.query.iter().map(|n| (*n, "")).collect();
            assert_eq!(code(op.parse_query(pairs(&all))), None, "{what}");
            for name in op.query {
                let twice = pairs(&[(name, "1"), (name, "2")]);
                let got = code(op.parse_query(twice));
                assert_eq!(got.as_deref(), Some("duplicate_parameter"), "{what}");
            }
            for name in ["x", "foo", "Limit", "limit", "currency", "q"] {
                if !op.query.contains(&name) {
                    let got = code(op.parse_query(pairs(&[(name, "1")])));
                    assert_eq!(got.as_deref(), Some("unknown_parameter"), "{what} {name}");
                }
            }
        }
        let listing = resolve("GET", "/v1/products").unwrap();
        let Resolved::Serve { operation, .. } = listing else {
            unreachable!()
        };
        let params = operation
            .parse_query(pairs(&[("q", "kettle"), ("limit", "")]))
            .unwrap();
        assert_eq!(params.get("q"), Some("kettle"));
        assert_eq!(params.get("limit"), None, "an empty value is absent");
    }

    #[test]
    #[should_panic(expected = "has no {slug}")]
    fn asking_for_a_parameter_the_route_lacks_is_a_bug() {
        let m = find("/v1/products/prd_1").unwrap();
        assert_eq!(m.param("id_or_slug"), "prd_1");
        m.param("slug");
    }
}

#[cfg(test)]
mod openapi_tests {
    use super::*;
    use serde_json::Value;

    const HTTP_METHODS: [&str; 8] = [
        "get", "head", "post", "put", "patch", "delete", "options", "trace",
    ];

    fn doc() -> Value {
        let doc: Value =
            serde_json::from_str(include_str!("openapi.json")).expect("openapi.json is JSON");
        assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3.1"));
        doc
    }

    /// Follows a local `$ref`.
    fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
        match v["$ref"].as_str() {
            Some(r) => {
                let target = r
                    .strip_prefix("#/")
                    .expect("a local $ref")
                    .split('/')
                    .fold(doc, |v, key| &v[key]);
                deref(doc, target)
            }
            None => v,
        }
    }

    /// The parameters of an operation (its path item's and its own) that
    /// are `in` this place, by name.
    fn parameters(doc: &Value, path: &str, method: &str, place: &str) -> Vec<String> {
        let item = &doc["paths"][path];
        let mut names: Vec<String> = [&item["parameters"], &item[method]["parameters"]]
            .into_iter()
            .filter_map(Value::as_array)
            .flatten()
            .map(|p| deref(doc, p))
            .filter(|p| p["in"] == place)
            .map(|p| p["name"].as_str().unwrap_or_default().to_string())
            .collect();
        names.sort();
        names
    }

    /// A served route missing from the OpenAPI document fails this test.
    #[test]
    fn openapi_documents_every_served_route() {
        let doc = doc();
        for route in ROUTES {
            for op in route.operations {
                let method = op.method.as_str().to_ascii_lowercase();
                assert!(
                    doc["paths"][route.path][&method].is_object(),
                    "{} {} is served but not in openapi.json",
                    op.method.as_str(),
                    route.path
                );
            }
        }
    }

    /// A documented operation the table does not serve fails this test.
    #[test]
    fn every_documented_operation_is_served() {
        let doc = doc();
        let paths = doc["paths"].as_object().expect("paths");
        for (path, item) in paths {
            let route = ROUTES
                .iter()
                .find(|r| r.path == path)
                .unwrap_or_else(|| panic!("{path} is documented but not a route"));
            for (method, _) in item.as_object().expect("a path item") {
                if !HTTP_METHODS.contains(&method.as_str()) {
                    continue;
                }
                let served = route
                    .operations
                    .iter()
                    .any(|op| op.method.as_str().eq_ignore_ascii_case(method));
                assert!(served, "{method} {path} is documented but not served");
            }
        }
    }

    /// Each operation documents exactly the query parameters it accepts,
    /// its path's parameters, and the security its access asks for.
    #[test]
    fn documented_parameters_and_security_match_the_table() {
        let doc = doc();
        for route in ROUTES {
            for op in route.operations {
                let method = op.method.as_str().to_ascii_lowercase();
                let what = format!("{} {}", op.method.as_str(), route.path);
                let mut query: Vec<String> = op.query.iter().map(|s| s.to_string()).collect();
                if route.scope == Scope::Store {
                    query.push("store".into());
                }
                query.sort();
                assert_eq!(
                    parameters(&doc, route.path, &method, "query"),
                    query,
                    "{what}: query parameters"
                );
                let mut names: Vec<String> = route.param_names().map(String::from).collect();
                names.sort();
                assert_eq!(
                    parameters(&doc, route.path, &method, "path"),
                    names,
                    "{what}: path parameters"
                );
                let security = &doc["paths"][route.path][&method]["security"];
                let schemes: Vec<&str> = security
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|s| s.as_object().into_iter().flat_map(|o| o.keys()))
                    .map(String::as_str)
                    .collect();
                let want: &[&str] = match op.access {
                    Access::Public => &[],
                    Access::Member => &["memberToken"],
                    Access::Holder if route.path.starts_with("/v1/orders/") => &["orderToken"],
                    Access::Holder => &["cartToken"],
                    Access::Viewer | Access::Admin | Access::Operator => &["bearerAuth"],
                };
                assert_eq!(schemes, want, "{what}: security");
            }
        }
    }
}
