//! The route table: every route the Worker serves, laid out like its URL.
//! The same table drives dispatch, CORS preflights and the test that checks
//! the OpenAPI document lists every served route.

use crate::http::ApiError;

/// A resolved request target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    Health,
    OpenApi,
    ListProducts,
    GetProduct { id_or_slug: &'a str },
    ListCategories,
}

/// One served route as the OpenAPI document names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
}

/// Every served route (HEAD is served wherever GET is; OPTIONS answers CORS
/// preflights on every path below).
pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/health",
    },
    RouteSpec {
        method: "GET",
        path: "/openapi.json",
    },
    RouteSpec {
        method: "GET",
        path: "/v1/products",
    },
    RouteSpec {
        method: "GET",
        path: "/v1/products/{id_or_slug}",
    },
    RouteSpec {
        method: "GET",
        path: "/v1/categories",
    },
];

/// Methods allowed on every route today.
pub const ALLOW: &str = "GET, HEAD, OPTIONS";

/// Matches a path to its route, ignoring the method.
pub fn match_path(path: &str) -> Option<Route<'_>> {
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    Some(match segments.as_slice() {
        ["health"] => Route::Health,
        ["openapi.json"] => Route::OpenApi,
        ["v1", "products"] => Route::ListProducts,
        ["v1", "products", id] if !id.is_empty() => Route::GetProduct { id_or_slug: id },
        ["v1", "categories"] => Route::ListCategories,
        _ => return None,
    })
}

/// Resolves a request to a route, or the error that answers it.
pub fn resolve<'a>(method: &str, path: &'a str) -> Result<Route<'a>, ApiError> {
    let route = match_path(path).ok_or(ApiError::RouteNotFound)?;
    match method {
        "GET" | "HEAD" => Ok(route),
        _ => Err(ApiError::MethodNotAllowed { allow: ALLOW }),
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
            ("GET", "/v1/products/", Err(ApiError::RouteNotFound)),
            ("GET", "/v1/products/a/b", Err(ApiError::RouteNotFound)),
            ("GET", "/v2/products", Err(ApiError::RouteNotFound)),
            (
                "POST",
                "/v1/products",
                Err(ApiError::MethodNotAllowed { allow: ALLOW }),
            ),
        ];
        for (method, path, want) in table {
            assert_eq!(resolve(method, path), want, "{method} {path}");
        }
    }

    #[test]
    fn every_route_in_the_table_resolves() {
        for spec in ROUTES {
            let concrete = spec.path.replace("{id_or_slug}", "prd_1");
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
