//! The route table: every route the Worker serves, laid out like its URL.
//! The same table drives dispatch, `Allow` headers, CORS preflights and the
//! test that checks the OpenAPI document lists every served route.

use crate::http::ApiError;

/// A resolved request target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    Health,
    OpenApi,
    ListProducts,
    GetProduct { id_or_slug: &'a str },
    ListCategories,
    AdminProduct { id: &'a str },
    AdminPrice { sku: &'a str, currency: &'a str },
    AdminCategory { slug: &'a str },
    AdminImport,
    AdminAudit,
    Inventory { sku: &'a str },
    AdminInventory { sku: &'a str },
    AdminInventoryBatch,
    AdminAdjustments { sku: &'a str },
    AdminMovements { sku: &'a str },
    Carts,
    Cart { id: &'a str },
    CartLines { id: &'a str },
    CartLine { id: &'a str, sku: &'a str },
    CartCoupons { id: &'a str },
    CartCoupon { id: &'a str, code: &'a str },
    CartCheckout { id: &'a str },
    Order { id: &'a str },
    OrderCancel { id: &'a str },
    AdminOrders,
    AdminOrder { id: &'a str },
    AdminOrderAction { id: &'a str, action: &'a str },
    AdminStore,
    AdminPromotions,
    AdminPromotion { id: &'a str },
}

impl Route<'_> {
    /// Methods this route serves (HEAD wherever GET; OPTIONS everywhere).
    pub fn allow(&self) -> &'static str {
        match self {
            Route::AdminProduct { .. } | Route::AdminPrice { .. } => "PUT, DELETE, OPTIONS",
            Route::AdminCategory { .. } => "PUT, OPTIONS",
            Route::AdminInventory { .. } => "GET, HEAD, PUT, OPTIONS",
            Route::AdminImport
            | Route::AdminInventoryBatch
            | Route::AdminAdjustments { .. }
            | Route::Carts
            | Route::CartLines { .. }
            | Route::CartCheckout { .. }
            | Route::OrderCancel { .. }
            | Route::AdminOrderAction { .. } => "POST, OPTIONS",
            Route::CartLine { .. } => "PATCH, DELETE, OPTIONS",
            Route::CartCoupons { .. } => "POST, DELETE, OPTIONS",
            Route::CartCoupon { .. } => "DELETE, OPTIONS",
            Route::AdminStore => "GET, HEAD, PUT, OPTIONS",
            Route::AdminPromotion { .. } => "GET, HEAD, PUT, DELETE, OPTIONS",
            _ => "GET, HEAD, OPTIONS",
        }
    }
}

/// One served route as the OpenAPI document names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
}

const fn spec(method: &'static str, path: &'static str) -> RouteSpec {
    RouteSpec { method, path }
}

/// Every served (method, path), as documented in `openapi.json`.
pub const ROUTES: &[RouteSpec] = &[
    spec("GET", "/health"),
    spec("GET", "/openapi.json"),
    spec("GET", "/v1/products"),
    spec("GET", "/v1/products/{id_or_slug}"),
    spec("GET", "/v1/categories"),
    spec("PUT", "/admin/v1/products/{id}"),
    spec("DELETE", "/admin/v1/products/{id}"),
    spec("PUT", "/admin/v1/prices/{sku}/{currency}"),
    spec("DELETE", "/admin/v1/prices/{sku}/{currency}"),
    spec("PUT", "/admin/v1/categories/{slug}"),
    spec("POST", "/admin/v1/catalog/import"),
    spec("GET", "/admin/v1/audit"),
    spec("GET", "/v1/inventory/{sku}"),
    spec("POST", "/admin/v1/inventory"),
    spec("GET", "/admin/v1/inventory/{sku}"),
    spec("PUT", "/admin/v1/inventory/{sku}"),
    spec("POST", "/admin/v1/inventory/{sku}/adjustments"),
    spec("GET", "/admin/v1/inventory/{sku}/movements"),
    spec("POST", "/v1/carts"),
    spec("GET", "/v1/carts/{id}"),
    spec("POST", "/v1/carts/{id}/lines"),
    spec("PATCH", "/v1/carts/{id}/lines/{sku}"),
    spec("DELETE", "/v1/carts/{id}/lines/{sku}"),
    spec("POST", "/v1/carts/{id}/coupons"),
    spec("DELETE", "/v1/carts/{id}/coupons"),
    spec("DELETE", "/v1/carts/{id}/coupons/{code}"),
    spec("POST", "/v1/carts/{id}/checkout"),
    spec("GET", "/v1/orders/{id}"),
    spec("POST", "/v1/orders/{id}/cancel"),
    spec("GET", "/admin/v1/orders"),
    spec("GET", "/admin/v1/orders/{id}"),
    spec("POST", "/admin/v1/orders/{id}/fulfil"),
    spec("POST", "/admin/v1/orders/{id}/refund"),
    spec("POST", "/admin/v1/orders/{id}/cancel"),
    spec("GET", "/admin/v1/store"),
    spec("PUT", "/admin/v1/store"),
    spec("GET", "/admin/v1/promotions"),
    spec("GET", "/admin/v1/promotions/{id}"),
    spec("PUT", "/admin/v1/promotions/{id}"),
    spec("DELETE", "/admin/v1/promotions/{id}"),
];

/// Matches a path to its route, ignoring the method.
pub fn match_path(path: &str) -> Option<Route<'_>> {
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    if segments.iter().skip(1).any(|s| s.is_empty()) {
        return None;
    }
    Some(match segments.as_slice() {
        ["health"] => Route::Health,
        ["openapi.json"] => Route::OpenApi,
        ["v1", "products"] => Route::ListProducts,
        ["v1", "products", id] => Route::GetProduct { id_or_slug: id },
        ["v1", "categories"] => Route::ListCategories,
        ["admin", "v1", "products", id] => Route::AdminProduct { id },
        ["admin", "v1", "prices", sku, currency] => Route::AdminPrice { sku, currency },
        ["admin", "v1", "categories", slug] => Route::AdminCategory { slug },
        ["admin", "v1", "catalog", "import"] => Route::AdminImport,
        ["admin", "v1", "audit"] => Route::AdminAudit,
        ["v1", "inventory", sku] => Route::Inventory { sku },
        ["v1", "carts"] => Route::Carts,
        ["v1", "carts", id] => Route::Cart { id },
        ["v1", "carts", id, "lines"] => Route::CartLines { id },
        ["v1", "carts", id, "lines", sku] => Route::CartLine { id, sku },
        ["v1", "carts", id, "coupons"] => Route::CartCoupons { id },
        ["v1", "carts", id, "checkout"] => Route::CartCheckout { id },
        ["v1", "orders", id] => Route::Order { id },
        ["v1", "orders", id, "cancel"] => Route::OrderCancel { id },
        ["admin", "v1", "orders"] => Route::AdminOrders,
        ["admin", "v1", "orders", id] => Route::AdminOrder { id },
        ["admin", "v1", "orders", id, action @ ("fulfil" | "refund" | "cancel")] => {
            Route::AdminOrderAction { id, action }
        }
        ["v1", "carts", id, "coupons", code] => Route::CartCoupon { id, code },
        ["admin", "v1", "store"] => Route::AdminStore,
        ["admin", "v1", "promotions"] => Route::AdminPromotions,
        ["admin", "v1", "promotions", id] => Route::AdminPromotion { id },
        ["admin", "v1", "inventory"] => Route::AdminInventoryBatch,
        ["admin", "v1", "inventory", sku] => Route::AdminInventory { sku },
        ["admin", "v1", "inventory", sku, "adjustments"] => Route::AdminAdjustments { sku },
        ["admin", "v1", "inventory", sku, "movements"] => Route::AdminMovements { sku },
        _ => return None,
    })
}

/// Resolves a request to a route, or the error that answers it.
pub fn resolve<'a>(method: &str, path: &'a str) -> Result<Route<'a>, ApiError> {
    let route = match_path(path).ok_or(ApiError::RouteNotFound)?;
    let allowed = route.allow();
    let served =
        allowed.split(", ").any(|m| m == method) || (method == "HEAD" && allowed.contains("GET"));
    if served && method != "OPTIONS" {
        Ok(route)
    } else {
        Err(ApiError::MethodNotAllowed { allow: allowed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_the_route_table() {
        let table = [
            ("GET", "/health", Ok(Route::Health)),
            ("GET", "/v1/products", Ok(Route::ListProducts)),
            ("HEAD", "/v1/products", Ok(Route::ListProducts)),
            (
                "GET",
                "/v1/products/prd_00001",
                Ok(Route::GetProduct {
                    id_or_slug: "prd_00001",
                }),
            ),
            ("GET", "/v1/categories", Ok(Route::ListCategories)),
            (
                "PUT",
                "/admin/v1/products/prd_1",
                Ok(Route::AdminProduct { id: "prd_1" }),
            ),
            (
                "DELETE",
                "/admin/v1/prices/KTL-1/USD",
                Ok(Route::AdminPrice {
                    sku: "KTL-1",
                    currency: "USD",
                }),
            ),
            ("POST", "/admin/v1/catalog/import", Ok(Route::AdminImport)),
            (
                "POST",
                "/admin/v1/inventory",
                Ok(Route::AdminInventoryBatch),
            ),
            (
                "PUT",
                "/admin/v1/inventory",
                Err(ApiError::MethodNotAllowed {
                    allow: "POST, OPTIONS",
                }),
            ),
            ("POST", "/admin/v1/inventory/", Err(ApiError::RouteNotFound)),
            ("GET", "/v1/products/", Err(ApiError::RouteNotFound)),
            ("GET", "/v1/products/a/b", Err(ApiError::RouteNotFound)),
            ("GET", "/v2/products", Err(ApiError::RouteNotFound)),
            ("PUT", "/admin/v1/prices//USD", Err(ApiError::RouteNotFound)),
            (
                "POST",
                "/v1/products",
                Err(ApiError::MethodNotAllowed {
                    allow: "GET, HEAD, OPTIONS",
                }),
            ),
            (
                "GET",
                "/admin/v1/catalog/import",
                Err(ApiError::MethodNotAllowed {
                    allow: "POST, OPTIONS",
                }),
            ),
        ];
        for (method, path, want) in table {
            assert_eq!(resolve(method, path), want, "{method} {path}");
        }
    }

    #[test]
    fn every_route_in_the_table_resolves() {
        for spec in ROUTES {
            let concrete = spec
                .path
                .replace("{id_or_slug}", "prd_1")
                .replace("{id}", "prd_1")
                .replace("{sku}", "SKU-1")
                .replace("{currency}", "USD")
                .replace("{slug}", "kitchen");
            assert!(
                resolve(spec.method, &concrete).is_ok(),
                "{} {}",
                spec.method,
                spec.path
            );
        }
    }
}

#[cfg(test)]
mod openapi_tests {
    use super::ROUTES;

    /// A served route missing from the OpenAPI document fails this test.
    #[test]
    fn openapi_documents_every_served_route() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("openapi.json")).expect("openapi.json is JSON");
        assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3.1"));
        for spec in ROUTES {
            let op = &doc["paths"][spec.path][spec.method.to_ascii_lowercase()];
            assert!(
                op.is_object(),
                "{} {} is served but not in openapi.json",
                spec.method,
                spec.path
            );
        }
    }
}
