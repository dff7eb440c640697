//! What each operation of the route table does, for the OpenAPI document:
//! its id, tag, summary and description, request headers, the
//! documentation of the query parameters the table lets it accept, its
//! request body, and its responses (405 is derived from the table).

use super::*;
use crate::routes::Handler;

/// The documentation of the operation `handler` answers.
pub fn operation(handler: Handler) -> Op {
    match handler {
        Handler::Health => Op {
            id: "health",
            tag: "Meta",
            summary: "Liveness check",
            description: "Answers `{\"status\": \"ok\"}` while the Worker runs. It reads neither the catalog nor the configuration, so it stays 200 when catalog routes answer 503. Not cached (no `ETag`, no `Cache-Control`). Accepts no query parameters.",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The Worker is up.",
                    headers: &[],
                    content: &[
                    Content { media: "application/json", schema: Named("Health"), examples: &[
                        Example { name: "example", summary: None, value: r#"{"status": "ok"}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (this route accepts none).\n- `duplicate_parameter`: a parameter is given more than once.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/health?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
            ],
        },
        Handler::OpenApi => Op {
            id: "getOpenApi",
            tag: "Meta",
            summary: "This OpenAPI document",
            description: "Returns this OpenAPI 3.1 document. Cached like catalog reads: a strong `ETag` (a hash of the document), `Cache-Control: public, no-cache`, and `304 Not Modified` when `If-None-Match` matches. Accepts no query parameters.",
            headers: &["IfNoneMatch", "XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The OpenAPI document.",
                    headers: &[("ETag", Hdr::Ref("ETag")), ("Cache-Control", Hdr::Ref("Cache-Control"))],
                    content: &[
                    Content { media: "application/json", schema: Named("OpenApiDocument"), examples: &[] },
                ],
                })),
                ("304", Response::Shared("NotModified")),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (this route accepts none).\n- `duplicate_parameter`: a parameter is given more than once.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/openapi.json?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
            ],
        },
        Handler::ListProducts => Op {
            id: "listProducts",
            tag: "Catalog",
            summary: "List and search products",
            description: "Lists and searches the live catalog: full-text search, filters, facet counts, sorting and cursor pagination.\n\nOnly products priced in the response currency (see `currency`) are listed, counted and faceted. Filters combine with AND. The price filters compare each product's lowest variant price in the response currency.\n\n**Stock filter (`in_stock`).** `in_stock=true` lists only products with at least one variant (SKU) that had units available, `in_stock=false` only products with none; without it, stock does not filter. Both the filter and each item's `in_stock` flag read the stock snapshot (see *Consistency and caching*), not the exact per-SKU ledgers, so they may lag the exact stock by a few seconds at the location where the snapshot is written and by KV's propagation window (about 60 seconds) elsewhere. A SKU whose stock was never set counts as out of stock. For availability at most a second old, read `GET /v1/inventory/{sku}` or the product detail.\n\n**Text search (`q`).** The query is case- and accent-folded (`Café` matches `cafe`) and split into words at every character that is not a letter or digit (apostrophes inside a word are dropped: `chef's` is `chefs`). Stop words (a, an, and, at, by, for, in, of, on, or, the, to, with) are ignored except as the last word, and repeated words count once; a `q` left with no words lists everything, as if absent. Every word must match (AND) a word of the product's name, tags, category name or description. Words match whole words, except the last, which also matches as a prefix when `q` ends in a letter or digit (search as you type).\n\n**Ranking (`sort=relevance` with `q`).** A word scores its inverse document frequency, ln(1 + products / products matching the word), times the summed weights of the fields it occurs in (name 8, tags 4, category 3, description 1); a prefix match scores three quarters of an exact one, and a prefix counts through its best-scoring completion. A product's score is the sum over the words; best first. Without `q`, `relevance` is the merchant's featured order.\n\nEvery order breaks ties by product id, so orders are total and stable and pages never overlap or skip.\n\n**Pagination.** A page holds at most `limit` products. When more follow, `next_cursor` is a string: pass it back as `cursor` with the same filters and sort (`limit` may change) to get the next page. Cursors are keyset positions, so they stay valid across catalog versions and stock snapshots: the next page starts after the last product shown, whatever was added, removed, or moved in or out of stock meanwhile. A cursor is bound to its query, `in_stock` included. `total` and `facets` always describe the whole result set.\n\n**Caching.** The `ETag` is `\"{catalog version}.{stock snapshot version}.{default currency}\"`: it changes when a new catalog version or a new stock snapshot is published. A refused query answers 400 even when `If-None-Match` matches.",
            headers: &["IfNoneMatch", "XRequestId"],
            query: &[
                QueryDoc::Inline(Param {
                    name: "q",
                    place: Place::Query,
                    required: false,
                    description: "Full-text search query: at most 200 characters and 12 words (counted after stop words and repeats are dropped), else 400 `query_too_long`. See the operation description for matching and ranking.",
                    schema: r#"{"anyOf": [{"type": "string", "maxLength": 200}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[
                        Example { name: "search", summary: None, value: r#""ethiopian coff""# },
                    ],
                }),
                QueryDoc::Inline(Param {
                    name: "category",
                    place: Place::Query,
                    required: false,
                    description: "Only products in the category with this slug (from `GET /v1/categories`). An unknown slug is 400 `unknown_category`.",
                    schema: r#"{"anyOf": [{"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 120}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[
                        Example { name: "category", summary: None, value: r#""coffee-tea""# },
                    ],
                }),
                QueryDoc::Inline(Param {
                    name: "min_price",
                    place: Place::Query,
                    required: false,
                    description: "Only products whose lowest price in the response currency is at least this many minor units (inclusive). Digits only, else 400 `invalid_price`; above `max_price` is 400 `invalid_price_range`. A price band's `min_price` can be passed as it is.",
                    schema: r#"{"anyOf": [{"type": "integer", "format": "int64", "minimum": 0, "maximum": 100000000000}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[
                        Example { name: "twenty_five_dollars", summary: None, value: r#"2500"# },
                    ],
                }),
                QueryDoc::Inline(Param {
                    name: "max_price",
                    place: Place::Query,
                    required: false,
                    description: "Only products whose lowest price in the response currency is at most this many minor units (inclusive). Digits only, else 400 `invalid_price`. A price band's `max_price` can be passed as it is.",
                    schema: r#"{"anyOf": [{"type": "integer", "format": "int64", "minimum": 0, "maximum": 100000000000}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[
                        Example { name: "fifty_dollars", summary: None, value: r#"4999"# },
                    ],
                }),
                QueryDoc::Inline(Param {
                    name: "in_stock",
                    place: Place::Query,
                    required: false,
                    description: "Only products with (`true`) or without (`false`) at least one variant (SKU) that had units available, according to the stock snapshot; absent, no stock filter. A SKU whose stock was never set counts as out of stock. The snapshot may lag the exact stock by a few seconds where it is written and by KV's propagation window (about 60 seconds) elsewhere; for availability at most a second old, read `GET /v1/inventory/{sku}` or the product detail. Any other value is 400 `invalid_in_stock`.",
                    schema: r#"{"anyOf": [{"type": "string", "enum": ["true", "false"]}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[
                        Example { name: "in_stock_only", summary: None, value: r#""true""# },
                    ],
                }),
                QueryDoc::Inline(Param {
                    name: "sort",
                    place: Place::Query,
                    required: false,
                    description: "Order of the results, ties always broken by product id. `relevance` (default): best text match first with `q`, else the merchant's featured order. `price_asc` / `price_desc`: by lowest price in the response currency. `name`: by name, A to Z, ignoring case and accents. `newest`: most recently added first. Anything else is 400 `invalid_sort`.",
                    schema: r#"{"anyOf": [{"type": "string", "enum": ["relevance", "price_asc", "price_desc", "name", "newest"], "default": "relevance"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Ref("Currency"),
                QueryDoc::Inline(Param {
                    name: "limit",
                    place: Place::Query,
                    required: false,
                    description: "Page size: an integer from 1 to 100 written with digits only (default 20), else 400 `invalid_limit`.",
                    schema: r#"{"anyOf": [{"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "cursor",
                    place: Place::Query,
                    required: false,
                    description: "Opaque pagination cursor: the `next_cursor` of the previous page, passed back with the same filters and sort (`q`, `category`, `min_price`, `max_price`, `in_stock`, `currency`, `sort`; `limit` may change). It stays valid across catalog versions and stock snapshots. A malformed cursor, or one from another query (including one with a different `in_stock`), is 400 `invalid_cursor`.",
                    schema: r#"{"anyOf": [{"type": "string", "maxLength": 1024}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "One page of matching products with facet counts.",
                    headers: &[("ETag", Hdr::Ref("ETag")), ("Cache-Control", Hdr::Ref("Cache-Control"))],
                    content: &[
                    Content { media: "application/json", schema: Named("ProductList"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "items": [
    {
      "id": "prd_00042",
      "slug": "classic-ethiopian-coffee-beans",
      "name": "Classic Ethiopian Coffee Beans",
      "category": {
        "slug": "coffee-tea",
        "name": "Coffee & Tea"
      },
      "tags": [
        "breakfast",
        "single-origin"
      ],
      "image": {
        "url": "/img/coffee-tea.svg",
        "alt": "Classic Ethiopian Coffee Beans"
      },
      "variant_count": 2,
      "price": {
        "amount": 1749,
        "currency": "EUR"
      },
      "price_max": {
        "amount": 2149,
        "currency": "EUR"
      },
      "url": "/v1/products/classic-ethiopian-coffee-beans",
      "created_at": "2026-05-02T10:00:00Z",
      "in_stock": true
    }
  ],
  "total": 37,
  "currency": "EUR",
  "facets": {
    "categories": [
      {
        "slug": "coffee-tea",
        "name": "Coffee & Tea",
        "count": 37
      },
      {
        "slug": "kitchen",
        "name": "Kitchen & Dining",
        "count": 0
      }
    ],
    "price_bands": [
      {
        "min_price": 0,
        "max_price": 2499,
        "count": 21
      },
      {
        "min_price": 2500,
        "max_price": 4999,
        "count": 11
      },
      {
        "min_price": 5000,
        "max_price": 9999,
        "count": 5
      },
      {
        "min_price": 10000,
        "max_price": 24999,
        "count": 0
      },
      {
        "min_price": 25000,
        "max_price": 49999,
        "count": 0
      },
      {
        "min_price": 50000,
        "max_price": null,
        "count": 0
      }
    ]
  },
  "next_cursor": "YzE6MDAwMDAwMDAwMDAwMDAwMTpwcmRfMDAwNDI6aTE3NDk"
}"# },
                    ] },
                ],
                })),
                ("304", Response::Shared("NotModified")),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept.\n- `duplicate_parameter`: a parameter is given more than once.\n- `unknown_currency`: `currency` is not a three-letter ISO 4217 code, not a currency the shop knows, or not one this catalog is priced in.\n- `query_too_long`: `q` is longer than 200 characters or has more than 12 words.\n- `invalid_sort`: `sort` is not one of `relevance`, `price_asc`, `price_desc`, `name`, `newest`.\n- `invalid_limit`: `limit` is not an integer from 1 to 100 written with digits only.\n- `invalid_price`: `min_price` or `max_price` is not a non-negative integer of minor units, written with digits only, of at most 100000000000.\n- `invalid_price_range`: `min_price` is greater than `max_price` (`param` is `min_price`).\n- `unknown_category`: no category has the `category` slug (`GET /v1/categories` lists them).\n- `invalid_in_stock`: `in_stock` is neither `true` nor `false`.\n- `invalid_cursor`: `cursor` is malformed or was issued for a different query (other filters, `in_stock` included, currency or sort).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_limit", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_limit",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "limit must be an integer from 1 to 100.",
  "code": "invalid_limit",
  "instance": "/v1/products?limit=0",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "limit"
}"# },
                        Example { name: "invalid_cursor", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_cursor",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "The cursor is malformed or belongs to a different query; pass next_cursor back with the same filters and sort.",
  "code": "invalid_cursor",
  "instance": "/v1/products?sort=name&cursor=abc",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "cursor"
}"# },
                        Example { name: "invalid_in_stock", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_in_stock",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "in_stock must be true or false.",
  "code": "invalid_in_stock",
  "instance": "/v1/products?in_stock=yes",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "in_stock"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("ServiceUnavailable")),
            ],
        },
        Handler::GetProduct => Op {
            id: "getProduct",
            tag: "Catalog",
            summary: "Get one product",
            description: "Returns a product's full record with all its variants and their price lists. `price`, `price_max` and each variant's `price` are in the response currency (see `currency`); each variant's `prices` lists every currency it is priced in. A product that is not priced in the response currency is still returned, with those prices null. `id_or_slug` is looked up as a product id first, then as a slug; lookups are exact. The `ETag` is checked after the product is found.\n\nEach variant carries its availability (`available`, `in_stock`) from its stock object, at most a second old (see *Consistency and caching*), so the ETag of this response is the hash of its body: it changes with the catalog version and with stock.",
            headers: &["IfNoneMatch", "XRequestId"],
            query: &[
                QueryDoc::Ref("Currency"),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The product.",
                    headers: &[("ETag", Hdr::Ref("ETag")), ("Cache-Control", Hdr::Ref("Cache-Control"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Product"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "id": "prd_00042",
  "slug": "classic-ethiopian-coffee-beans",
  "name": "Classic Ethiopian Coffee Beans",
  "description": "Classic Ethiopian coffee beans for slow mornings.",
  "category": {
    "slug": "coffee-tea",
    "name": "Coffee & Tea"
  },
  "tags": [
    "breakfast",
    "single-origin"
  ],
  "images": [
    {
      "url": "/img/coffee-tea.svg",
      "alt": "Classic Ethiopian Coffee Beans"
    }
  ],
  "created_at": "2026-03-14T09:26:53Z",
  "currency": "USD",
  "price": {
    "amount": 1899,
    "currency": "USD"
  },
  "price_max": {
    "amount": 2299,
    "currency": "USD"
  },
  "variants": [
    {
      "sku": "CT-00042-1",
      "name": "250 g",
      "options": {
        "weight": "250 g"
      },
      "price": {
        "amount": 1899,
        "currency": "USD"
      },
      "prices": [
        {
          "amount": 1749,
          "currency": "EUR"
        },
        {
          "amount": 1899,
          "currency": "USD"
        }
      ],
      "available": 12,
      "in_stock": true
    },
    {
      "sku": "CT-00042-2",
      "name": "500 g",
      "options": {
        "weight": "500 g"
      },
      "price": {
        "amount": 2299,
        "currency": "USD"
      },
      "prices": [
        {
          "amount": 2149,
          "currency": "EUR"
        },
        {
          "amount": 2299,
          "currency": "USD"
        }
      ],
      "available": 12,
      "in_stock": true
    }
  ],
  "max_per_order": null
}"# },
                    ] },
                ],
                })),
                ("304", Response::Shared("NotModified")),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (it accepts only `currency`).\n- `duplicate_parameter`: a parameter is given more than once.\n- `unknown_currency`: `currency` is not a three-letter ISO 4217 code, not a currency the shop knows, or not one this catalog is priced in.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_currency", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_currency",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "This catalog has no prices in GBP; it is priced in USD, EUR.",
  "code": "unknown_currency",
  "instance": "/v1/products/prd_00042?currency=GBP",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "currency"
}"# },
                    ] },
                ],
                })),
                ("404", Response::Own(Resp {
                    description: "- `product_not_found`: no product has this id or slug in the live catalog version.\n- `route_not_found`: the path has an empty or an extra segment (`/v1/products/`, `/v1/products/a/b`); no route matches it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "product_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/product_not_found",
  "title": "No such product",
  "status": 404,
  "detail": "No product has this id or slug.",
  "code": "product_not_found",
  "instance": "/v1/products/prd_99999",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                        Example { name: "route_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/route_not_found",
  "title": "No such route",
  "status": 404,
  "detail": "No API route matches this path.",
  "code": "route_not_found",
  "instance": "/v1/products/a/b",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("ServiceUnavailable")),
            ],
        },
        Handler::ListCategories => Op {
            id: "listCategories",
            tag: "Catalog",
            summary: "List categories",
            description: "Returns every category of the live catalog version, in the merchant's order, with its product count. Use a category's `slug` as the `category` filter of `GET /v1/products`. Accepts no query parameters.",
            headers: &["IfNoneMatch", "XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The categories.",
                    headers: &[("ETag", Hdr::Ref("ETag")), ("Cache-Control", Hdr::Ref("Cache-Control"))],
                    content: &[
                    Content { media: "application/json", schema: Named("CategoryList"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "items": [
    {
      "slug": "coffee-tea",
      "name": "Coffee & Tea",
      "product_count": 512
    },
    {
      "slug": "kitchen",
      "name": "Kitchen & Dining",
      "product_count": 498
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("304", Response::Shared("NotModified")),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (this route accepts none).\n- `duplicate_parameter`: a parameter is given more than once.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/v1/categories?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("ServiceUnavailable")),
            ],
        },
        Handler::Availability => Op {
            id: "getInventory",
            tag: "Inventory",
            summary: "Get a SKU's availability",
            description: "Returns how many units of variant `{sku}` can still be put in a cart: the count is read from the SKU's stock Durable Object (strongly consistent, not from the KV catalog), at most a second before the request (an edge keeps what it read for a second; see *Consistency and caching*), and counts only holds that had not expired. Whether a unit can be held is decided by the SKU's object when a cart asks, exactly. A SKU of the catalog whose stock was never set answers `available: 0`, `in_stock: false`. The SKU must be one a variant of the live catalog version has (404 `sku_not_found` otherwise; that check follows the catalog's propagation across edges, about 60 seconds). Never cached: `Cache-Control: no-store`, no `ETag` (so no `304`). Accepts no query parameters. Order of checks: query parameters (400), the SKU (404), then the stock object (503).",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The SKU's availability now.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Inventory"))],
                    content: &[
                    Content { media: "application/json", schema: Named("InventoryAvailability"), examples: &[
                        Example { name: "example", summary: None, value: r#"{"sku": "KTL-1-STEEL", "available": 7, "in_stock": true}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (this route accepts none).\n- `duplicate_parameter`: a parameter is given more than once.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/v1/inventory/KTL-1-STEEL?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
                ("404", Response::Own(Resp {
                    description: "Codes:\n\n- `sku_not_found`: no variant of the live catalog version has this SKU.\n- `route_not_found`: the path has an empty or an extra segment (`/v1/inventory/`, `/v1/inventory/a/b`); no route matches it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "sku_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/sku_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No variant of the live catalog has this SKU.",
  "code": "sku_not_found",
  "instance": "/v1/inventory/NO-SUCH-SKU",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                        Example { name: "route_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/route_not_found",
  "title": "No such route",
  "status": 404,
  "detail": "No API route matches this path.",
  "code": "route_not_found",
  "instance": "/v1/inventory/a/b",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Own(Resp {
                    description: "Availability cannot be served right now; retry after `Retry-After` seconds. Codes: `storage_unavailable` (the SKU's stock Durable Object could not be reached or failed), `catalog_unavailable` (the catalog, which decides whether the SKU exists, could not be read or decoded and this edge holds no earlier copy) or `misconfigured` (the Worker's configuration is invalid). The internal cause is logged, never shown.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store")), ("Retry-After", Hdr::Ref("Retry-After"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "storage_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/storage_unavailable",
  "title": "Storage temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "storage_unavailable",
  "instance": "/v1/inventory/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                        Example { name: "catalog_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/catalog_unavailable",
  "title": "Catalog temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "catalog_unavailable",
  "instance": "/v1/inventory/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
            ],
        },
        Handler::CreateCart => Op {
            id: "createCart",
            tag: "Carts",
            summary: "Create a cart",
            description: "Creates an empty cart and answers 201 with its id (`crt_` and 24 hex digits), its secret `token` (48 hex digits, shown only in this answer) and the cart. Send the token as `Authorization: Bearer <token>` on every other cart operation; it is the only way to open the cart. Needs no authentication. The optional JSON body chooses the cart's currency, which must be one the catalog is priced in (400 `unknown_currency`, `param: currency`); without it, or with an empty body, the cart takes the store's default currency, as the `currency` query parameter of catalog reads does. The body's `Content-Type` is not checked. Unknown fields are 400 `unknown_field`; a price or total key is 422 `client_price_refused`. A new cart holds nothing, so an abandoned one costs nothing; a cart without activity for `CART_IDLE_MS` (30 days by default) is deleted (see *Lifetime* under *Carts* in the API description). Not idempotent: each request creates a new cart. Order of checks: query parameters (400), the catalog (503), the body's size (413), price keys (422), JSON shape (400), the currency (400), then the cart's Durable Object (503).",
            headers: &["XRequestId"],
            query: &[],
            body: Some(Body {
                required: false,
                description: "Optional: a `CreateCartInput` as JSON of at most 64 KiB. An empty or all-whitespace body takes every default.",
                content: &[
                    Content { media: "application/json", schema: Named("CreateCartInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("201", Response::Own(Resp {
                    description: "The cart was created, empty.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/json", schema: Named("CreateCartResult"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "token": "9c1e4b7a2d5f8e0b3a6c9d2e5f8a1b4c7d0e3f6a9b2c5d8e",
  "cart": {
    "id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
    "currency": "USD",
    "lines": [],
    "item_count": 0,
    "subtotal": {
      "amount": 0,
      "currency": "USD"
    },
    "coupons": [],
    "discounts": [],
    "discount_total": {
      "amount": 0,
      "currency": "USD"
    },
    "shipping_method": null,
    "destination": null,
    "shipping_options": [],
    "shipping": {
      "amount": 0,
      "currency": "USD"
    },
    "prices_include_tax": false,
    "tax_total": {
      "amount": 0,
      "currency": "USD"
    },
    "grand_total": {
      "amount": 0,
      "currency": "USD"
    },
    "all_priced": true,
    "holds_expire_at": null
  }
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused; nothing was created. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `unknown_currency`: the body's `currency` is not a known ISO 4217 code or not one this catalog is priced in; `param` is `currency`.\n- `invalid_json`: the body is not JSON.\n- `unknown_field`: the body has a field other than `currency`; `field` names it.\n- `invalid_type`: `currency` is not a string or null, or the body has the wrong JSON type; `field` names it when it is a field.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_currency", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_currency",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "This catalog has no prices in GBP; it is priced in EUR, USD.",
  "code": "unknown_currency",
  "instance": "/v1/carts",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "currency"
}"# },
                        Example { name: "unknown_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "unknown field `colour`, expected `currency` at line 1 column 26",
  "code": "unknown_field",
  "instance": "/v1/carts",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "colour"
}"# },
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/v1/carts?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
                ("413", Response::Shared("CartPayloadTooLarge")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed` with `client_price_refused`: the body carries a price or total key (`price`, `prices`, `unit_price`, `amount`, `total`, `line_total`, `subtotal`, `grand_total`, `discount`, `discount_total`, `tax`, `tax_total`, `shipping` or `status`), named by the error's `field`. Nothing was created.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "client_price_refused", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/carts",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "total",
      "code": "client_price_refused",
      "message": "Prices and totals are computed by the server; do not send them."
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("CartServiceUnavailable")),
            ],
        },
        Handler::GetCart => Op {
            id: "getCart",
            tag: "Carts",
            summary: "Get a cart",
            description: "Returns the cart with its lines priced from the live catalog's price lists in the cart's currency, the store's promotions applied (every automatic one it is eligible for, and those of the coupon codes it carries), its totals, and each line's stock `available` (at most a second old; the lines a change just held, as of that change). The optional query parameters say where the cart would ship: with `country` (and optionally `region`) each line shows its tax at the destination's rate and `tax_total` their sum; `shipping_options` lists every shipping method the shopper can pick for that country in the cart's currency, each priced for this cart (free above its threshold counts), to build a method picker from; with `shipping_method` too, `shipping` shows what that method costs (the same amount as its option). Without a destination there is no tax, no shipping and no shipping options. Nothing about the destination is stored: each read may name another one. Discounts, tax and shipping follow the store's published configuration and promotions (see the API description: about a second behind a change at the location that wrote it, up to about 60 seconds elsewhere). Needs the cart's token (`Authorization: Bearer <token>`): a missing or wrong token, or an unknown or malformed id, answers 404 `cart_not_found` (never 401 or 403, so carts cannot be enumerated). Reading a cart does not extend its holds; it counts as activity that keeps the cart from being deleted as idle (recorded at most once per thirtieth of `CART_IDLE_MS`, see *Lifetime* under *Carts* in the API description). Never cached (`Cache-Control: no-store`, no `ETag`). HEAD answers like GET, without a body. Accepts only the query parameters `country`, `region` and `shipping_method`. Order of checks: query parameters (400), the catalog (503), the id and token (404), the shipping method (400 `unknown_shipping_method`, then 422 `shipping_not_available`), then the cart's and the SKUs' Durable Objects (503).",
            headers: &["XRequestId"],
            query: &[
                QueryDoc::Ref("CartCountry"),
                QueryDoc::Ref("CartRegion"),
                QueryDoc::Ref("CartShippingMethod"),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The cart now, priced for the destination and shipping method given, if any.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Cart"), examples: &[
                        Example { name: "example", summary: Some("Shipping to California with a coupon applied and one below its minimum"), value: r#"{
  "id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "currency": "USD",
  "lines": [
    {
      "sku": "KTL-1-STEEL",
      "product": {
        "id": "prd_kettle1",
        "slug": "stovetop-kettle",
        "name": "Stovetop Kettle"
      },
      "quantity": 2,
      "unit_price": {
        "amount": 2500,
        "currency": "USD"
      },
      "line_total": {
        "amount": 5000,
        "currency": "USD"
      },
      "discount": {
        "amount": 500,
        "currency": "USD"
      },
      "tax": {
        "amount": 326,
        "currency": "USD"
      },
      "available": 5,
      "max_per_order": null
    }
  ],
  "item_count": 2,
  "subtotal": {
    "amount": 5000,
    "currency": "USD"
  },
  "coupons": [
    {
      "code": "SAVE10",
      "status": "applied"
    },
    {
      "code": "BIGSPENDER",
      "status": "not_applicable",
      "reason": {
        "reason": "below_minimum",
        "min": {
          "amount": 10000,
          "currency": "USD"
        }
      }
    }
  ],
  "discounts": [
    {
      "id": "save10",
      "code": "SAVE10",
      "description": "10 % off everything",
      "amount": {
        "amount": 500,
        "currency": "USD"
      }
    }
  ],
  "discount_total": {
    "amount": 500,
    "currency": "USD"
  },
  "shipping_method": "standard",
  "destination": {
    "country": "US",
    "region": "CA"
  },
  "shipping_options": [
    {
      "id": "standard",
      "name": "Standard (3–5 days)",
      "amount": {
        "amount": 499,
        "currency": "USD"
      }
    },
    {
      "id": "express",
      "name": "Express (1–2 days)",
      "amount": {
        "amount": 1499,
        "currency": "USD"
      }
    }
  ],
  "shipping": {
    "amount": 499,
    "currency": "USD"
  },
  "prices_include_tax": false,
  "tax_total": {
    "amount": 326,
    "currency": "USD"
  },
  "grand_total": {
    "amount": 5325,
    "currency": "USD"
  },
  "all_priced": true,
  "holds_expire_at": "2026-11-21T12:15:00.000Z"
}"# },
                        Example { name: "vat_inclusive", summary: Some("A store whose prices include VAT: an automatic promotion, express shipping to Germany"), value: r#"{
  "id": "crt_0a1b2c3d4e5f60718293a4b5",
  "currency": "EUR",
  "lines": [
    {
      "sku": "KTL-1-STEEL",
      "product": {
        "id": "prd_kettle1",
        "slug": "stovetop-kettle",
        "name": "Stovetop Kettle"
      },
      "quantity": 2,
      "unit_price": {
        "amount": 2300,
        "currency": "EUR"
      },
      "line_total": {
        "amount": 4600,
        "currency": "EUR"
      },
      "discount": {
        "amount": 500,
        "currency": "EUR"
      },
      "tax": {
        "amount": 655,
        "currency": "EUR"
      },
      "available": 5,
      "max_per_order": null
    }
  ],
  "item_count": 2,
  "subtotal": {
    "amount": 4600,
    "currency": "EUR"
  },
  "coupons": [],
  "discounts": [
    {
      "id": "autumn-5",
      "code": null,
      "description": "5 € off this autumn",
      "amount": {
        "amount": 500,
        "currency": "EUR"
      }
    }
  ],
  "discount_total": {
    "amount": 500,
    "currency": "EUR"
  },
  "shipping_method": "express",
  "destination": {
    "country": "DE"
  },
  "shipping_options": [
    {
      "id": "standard",
      "name": "Standard (3–5 days)",
      "amount": {
        "amount": 449,
        "currency": "EUR"
      }
    },
    {
      "id": "express",
      "name": "Express (1–2 days)",
      "amount": {
        "amount": 1299,
        "currency": "EUR"
      }
    }
  ],
  "shipping": {
    "amount": 1299,
    "currency": "EUR"
  },
  "prices_include_tax": true,
  "tax_total": {
    "amount": 655,
    "currency": "EUR"
  },
  "grand_total": {
    "amount": 5399,
    "currency": "EUR"
  },
  "all_priced": true,
  "holds_expire_at": "2026-11-21T12:15:00.000Z"
}"# },
                        Example { name: "without_destination", summary: Some("No destination: no tax and no shipping"), value: r#"{
  "id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "currency": "USD",
  "lines": [
    {
      "sku": "KTL-1-STEEL",
      "product": {
        "id": "prd_kettle1",
        "slug": "stovetop-kettle",
        "name": "Stovetop Kettle"
      },
      "quantity": 2,
      "unit_price": {
        "amount": 2500,
        "currency": "USD"
      },
      "line_total": {
        "amount": 5000,
        "currency": "USD"
      },
      "discount": {
        "amount": 0,
        "currency": "USD"
      },
      "tax": {
        "amount": 0,
        "currency": "USD"
      },
      "available": 5,
      "max_per_order": null
    }
  ],
  "item_count": 2,
  "subtotal": {
    "amount": 5000,
    "currency": "USD"
  },
  "coupons": [],
  "discounts": [],
  "discount_total": {
    "amount": 0,
    "currency": "USD"
  },
  "shipping_method": null,
  "destination": null,
  "shipping_options": [],
  "shipping": {
    "amount": 0,
    "currency": "USD"
  },
  "prices_include_tax": false,
  "tax_total": {
    "amount": 0,
    "currency": "USD"
  },
  "grand_total": {
    "amount": 5000,
    "currency": "USD"
  },
  "all_priced": true,
  "holds_expire_at": "2026-11-21T12:15:00.000Z"
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter other than `country`, `region` and `shipping_method`.\n- `duplicate_parameter`: a parameter is given more than once.\n- `invalid_country`: `country` is not two ASCII letters.\n- `invalid_region`: `region` is longer than 10 characters or has a character other than ASCII letters, digits and hyphens.\n- `missing_destination` (`param: country`): `shipping_method` or `region` is given without `country`.\n- `unknown_shipping_method`: the store has no shipping method with this id (checked once the cart is open, against the store's published configuration).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: country, region, shipping_method.",
  "code": "unknown_parameter",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                        Example { name: "invalid_country", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_country",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "country must be an ISO 3166-1 alpha-2 code such as US or DE.",
  "code": "invalid_country",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01?country=USA",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "country"
}"# },
                        Example { name: "invalid_region", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_region",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "region must be up to 10 letters, digits or hyphens (CA, QC, BY).",
  "code": "invalid_region",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01?country=US&region=CA%20",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "region"
}"# },
                        Example { name: "missing_destination", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/missing_destination",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "A shipping method needs a destination country.",
  "code": "missing_destination",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01?shipping_method=standard",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "country"
}"# },
                        Example { name: "unknown_shipping_method", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_shipping_method",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "The store has no shipping method with this id.",
  "code": "unknown_shipping_method",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01?country=US&shipping_method=overnight",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "shipping_method"
}"# },
                    ] },
                ],
                })),
                ("404", Response::Own(Resp {
                    description: "Codes:\n\n- `cart_not_found`: no cart has this id (it may have been deleted after `CART_IDLE_MS` without activity), the id is malformed, or the `Authorization` header is missing or does not carry this cart's token.\n- `route_not_found`: the path has an empty or an extra segment; no route matches it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "cart_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/cart_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No cart has this id, or the token does not open it.",
  "code": "cart_not_found",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: `errors` holds one problem, code `shipping_not_available` (field `shipping_method`): the chosen method does not ship to the destination country, or has no rate in the cart's currency. The country is checked first.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "shipping_not_available", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01?country=DE&shipping_method=express",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "shipping_method",
      "code": "shipping_not_available",
      "message": "This method does not ship to that country."
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("CartServiceUnavailable")),
            ],
        },
        Handler::AddLine => Op {
            id: "addCartLine",
            tag: "Carts",
            summary: "Add units of a SKU to a cart",
            description: "Adds `quantity` units of `sku` to the cart: creates the line, or raises an existing one. Answers 200 with the whole cart after the change. The SKU must be in the live catalog (404 `sku_not_found`) and priced in the cart's currency (422 `not_sold_in_currency`). A line holds at most 99 units, or the product's `max_per_order` (422 `quantity_limit`), and a cart at most 50 different SKUs (422 `too_many_lines`). The change holds stock at once: the SKU's stock Durable Object sets this cart's hold to the line's new quantity before the change is recorded, so the cart never takes units that are not there. If the units are not available, 409 `out_of_stock` answers with `sku` and `available` (the most this cart could hold now) and the cart is unchanged. The line is held for the full hold TTL, `CART_HOLD_TTL_MS` (15 minutes by default, configurable by the operator). As cart activity, the same request also refreshes every other line whose hold has less than half the TTL left to a full TTL from now, so every line stays held for at least half the TTL and a burst of changes does not rewrite every hold every time. A line whose hold lapsed meanwhile is taken again if its units are still there; otherwise it stays in the cart, showing what is available, and is tried again on the next change (checkout re-reserves too); this does not fail the request. `holds_expire_at` shows the earliest of the lines' hold expiries, and each line's `available` is exact at response time. Prices come only from the catalog: a body carrying a price or total is refused (422 `client_price_refused`). Send an `Idempotency-Key` to make the hold safe to retry. While a checkout of the cart is running (from the moment its `Idempotency-Key` is accepted until it answers, or until the cart's alarm recovers a crashed one, about a minute later), the change is refused with 409 `checkout_in_progress` and the cart is unchanged. Order of checks: query parameters (400), the catalog (503), the id's shape and the presence of a token (404 `cart_not_found`), the body's media type (415), size (413), price keys (422) and JSON shape (400), then in the cart: the token itself (404 `cart_not_found`), a running checkout (409 `checkout_in_progress`), the SKU (404 `sku_not_found`, 422 `not_sold_in_currency`), the quantity and cart limits (422), then the stock (409).",
            headers: &["CartIdempotencyKey", "XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The SKU and the units to add, as `application/json` of at most 64 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("AddCartLineInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The units were added and are held; the cart after the change.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Cart"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "currency": "USD",
  "lines": [
    {
      "sku": "KTL-1-STEEL",
      "product": {
        "id": "prd_kettle1",
        "slug": "stovetop-kettle",
        "name": "Stovetop Kettle"
      },
      "quantity": 2,
      "unit_price": {
        "amount": 2500,
        "currency": "USD"
      },
      "line_total": {
        "amount": 5000,
        "currency": "USD"
      },
      "discount": {
        "amount": 0,
        "currency": "USD"
      },
      "tax": {
        "amount": 0,
        "currency": "USD"
      },
      "available": 5,
      "max_per_order": null
    }
  ],
  "item_count": 2,
  "subtotal": {
    "amount": 5000,
    "currency": "USD"
  },
  "coupons": [],
  "discounts": [],
  "discount_total": {
    "amount": 0,
    "currency": "USD"
  },
  "shipping_method": null,
  "destination": null,
  "shipping_options": [],
  "shipping": {
    "amount": 0,
    "currency": "USD"
  },
  "prices_include_tax": false,
  "tax_total": {
    "amount": 0,
    "currency": "USD"
  },
  "grand_total": {
    "amount": 5000,
    "currency": "USD"
  },
  "all_priced": true,
  "holds_expire_at": "2026-11-21T12:15:00.000Z"
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused before anything is held. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field the input does not define; `field` names it.\n- `missing_field`: a required field is absent; `field` names it.\n- `invalid_type`: a field, or the body itself, has the wrong JSON type or is out of its type's range (e.g. a fractional or string `quantity`); `field` names it when it is a field.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "missing_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/missing_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "missing field `quantity` at line 1 column 21",
  "code": "missing_field",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "quantity"
}"# },
                        Example { name: "unknown_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "unknown field `colour`, expected `sku` or `quantity` at line 1 column 42",
  "code": "unknown_field",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "colour"
}"# },
                    ] },
                ],
                })),
                ("404", Response::Own(Resp {
                    description: "Nothing was changed. Codes:\n\n- `cart_not_found`: no cart has this id (it may have been deleted after `CART_IDLE_MS` without activity), the id is malformed, or the token is missing or wrong.\n- `sku_not_found`: no variant of the live catalog version has this SKU (checked against the catalog version this edge holds).\n- `route_not_found`: the path has an empty or an extra segment; no route matches it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "cart_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/cart_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No cart has this id, or the token does not open it.",
  "code": "cart_not_found",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                        Example { name: "sku_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/sku_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No variant of the live catalog has this SKU.",
  "code": "sku_not_found",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "Codes:\n\n- `out_of_stock`: fewer units are available than the line would hold. `sku` names the SKU and `available` is the most units of it this cart could hold now (what anyone could still add plus what this cart already holds). The cart and its holds are unchanged.\n- `hold_limit`: this client's carts together already hold what one client may of this SKU (the store's `holds.per_client`, 99 by default, counted by the client's address). `sku` names the SKU and `available` is the most units of it this cart could hold under that limit now. The cart and its holds are unchanged.\n- `checkout_in_progress`: a checkout of this cart is running; its lines and coupons cannot change until it ends (see `POST /v1/carts/{id}/checkout`). Retry once it has answered. The cart is unchanged.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "out_of_stock", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/out_of_stock",
  "title": "Out of stock",
  "status": 409,
  "detail": "Only 3 of KTL-1-STEEL can be held now; the cart is unchanged.",
  "code": "out_of_stock",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "sku": "KTL-1-STEEL",
  "available": 3
}"# },
                        Example { name: "checkout_in_progress", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/checkout_in_progress",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "A checkout of this cart is running; its lines and coupons cannot change until it ends.",
  "code": "checkout_in_progress",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("413", Response::Shared("CartPayloadTooLarge")),
                ("415", Response::Shared("CartUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: `errors` holds one problem. Codes: `client_price_refused` (field: the price or total key sent: `price`, `prices`, `unit_price`, `amount`, `total`, `line_total`, `subtotal`, `grand_total`, `discount`, `discount_total`, `tax`, `tax_total`, `shipping` or `status`), `not_sold_in_currency` (field `sku`: the SKU has no price in the cart's currency), `invalid_quantity` (field `quantity`: below 1), `quantity_limit` (field `quantity`: the line would hold more than 99 units, or more than the product's `max_per_order`), `too_many_lines` (field `sku`: a new SKU while the cart already has 50 lines). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "client_price_refused", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "unit_price",
      "code": "client_price_refused",
      "message": "Prices and totals are computed by the server; do not send them."
    }
  ]
}"# },
                        Example { name: "quantity_limit", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "quantity",
      "code": "quantity_limit",
      "message": "at most 3 units of this item per order"
    }
  ]
}"# },
                        Example { name: "not_sold_in_currency", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "sku",
      "code": "not_sold_in_currency",
      "message": "This item has no price in USD."
    }
  ]
}"# },
                        Example { name: "too_many_lines", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "sku",
      "code": "too_many_lines",
      "message": "a cart holds at most 50 different items"
    }
  ]
}"# },
                        Example { name: "invalid_quantity", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "quantity",
      "code": "invalid_quantity",
      "message": "must be a positive integer (0 removes, when setting)"
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("CartServiceUnavailable")),
            ],
        },
        Handler::SetLine => Op {
            id: "setCartLine",
            tag: "Carts",
            summary: "Set the units of a cart line",
            description: "Sets the cart's line for `{sku}` to `quantity` units; 0 removes the line and releases its hold. Answers 200 with the whole cart after the change. The cart must have a line for this SKU (404 `line_not_found`; add lines with `POST /v1/carts/{id}/lines`). The line may hold at most 99 units, or the product's `max_per_order` (422 `quantity_limit`). A SKU that has left the live catalog, or lost its price in the cart's currency, can still be lowered or removed. The change holds stock at once: the SKU's stock Durable Object sets this cart's hold to the line's new quantity before the change is recorded, so the cart never takes units that are not there. If the units are not available, 409 `out_of_stock` answers with `sku` and `available` (the most this cart could hold now) and the cart is unchanged. The line is held for the full hold TTL, `CART_HOLD_TTL_MS` (15 minutes by default, configurable by the operator), unless it is set to 0. As cart activity, the same request also refreshes every other line whose hold has less than half the TTL left to a full TTL from now, so every line stays held for at least half the TTL and a burst of changes does not rewrite every hold every time. A line whose hold lapsed meanwhile is taken again if its units are still there; otherwise it stays in the cart, showing what is available, and is tried again on the next change (checkout re-reserves too); this does not fail the request. `holds_expire_at` shows the earliest of the lines' hold expiries, and each line's `available` is exact at response time. Prices come only from the catalog: a body carrying a price or total is refused (422 `client_price_refused`). Setting an absolute quantity is naturally safe to repeat; an `Idempotency-Key` also keeps the hold from being applied twice. While a checkout of the cart is running (from the moment its `Idempotency-Key` is accepted until it answers, or until the cart's alarm recovers a crashed one, about a minute later), the change is refused with 409 `checkout_in_progress` and the cart is unchanged. Order of checks: query parameters (400), the catalog (503), the id's shape and the presence of a token (404 `cart_not_found`), the body's media type (415), size (413), price keys (422) and JSON shape (400), then in the cart: the token itself (404 `cart_not_found`), a running checkout (409 `checkout_in_progress`), the quantity (422 `invalid_quantity`), the line (404 `line_not_found`), the limit (422 `quantity_limit`), then the stock (409).",
            headers: &["CartIdempotencyKey", "XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The line's new quantity, as `application/json` of at most 64 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("SetCartLineInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The line was set (or removed, for 0) and its hold follows; the cart after the change.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Cart"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "currency": "USD",
  "lines": [
    {
      "sku": "KTL-1-STEEL",
      "product": {
        "id": "prd_kettle1",
        "slug": "stovetop-kettle",
        "name": "Stovetop Kettle"
      },
      "quantity": 3,
      "unit_price": {
        "amount": 2500,
        "currency": "USD"
      },
      "line_total": {
        "amount": 7500,
        "currency": "USD"
      },
      "discount": {
        "amount": 0,
        "currency": "USD"
      },
      "tax": {
        "amount": 0,
        "currency": "USD"
      },
      "available": 4,
      "max_per_order": null
    }
  ],
  "item_count": 3,
  "subtotal": {
    "amount": 7500,
    "currency": "USD"
  },
  "coupons": [],
  "discounts": [],
  "discount_total": {
    "amount": 0,
    "currency": "USD"
  },
  "shipping_method": null,
  "destination": null,
  "shipping_options": [],
  "shipping": {
    "amount": 0,
    "currency": "USD"
  },
  "prices_include_tax": false,
  "tax_total": {
    "amount": 0,
    "currency": "USD"
  },
  "grand_total": {
    "amount": 7500,
    "currency": "USD"
  },
  "all_priced": true,
  "holds_expire_at": "2026-11-21T12:15:00.000Z"
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused before anything is held. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field the input does not define; `field` names it.\n- `missing_field`: a required field is absent; `field` names it.\n- `invalid_type`: a field, or the body itself, has the wrong JSON type or is out of its type's range (e.g. a fractional or string `quantity`); `field` names it when it is a field.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_type", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_type",
  "title": "Invalid request body",
  "status": 400,
  "detail": "invalid type: string \"2\", expected i64 at line 1 column 15",
  "code": "invalid_type",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "quantity"
}"# },
                    ] },
                ],
                })),
                ("404", Response::Own(Resp {
                    description: "Nothing was changed. Codes:\n\n- `cart_not_found`: no cart has this id (it may have been deleted after `CART_IDLE_MS` without activity), the id is malformed, or the token is missing or wrong.\n- `line_not_found`: the cart has no line for this SKU.\n- `route_not_found`: the path has an empty or an extra segment; no route matches it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "cart_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/cart_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No cart has this id, or the token does not open it.",
  "code": "cart_not_found",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                        Example { name: "line_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/line_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "This cart has no line for this SKU.",
  "code": "line_not_found",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "Codes:\n\n- `out_of_stock`: fewer units are available than the line would hold. `sku` names the SKU and `available` is the most units of it this cart could hold now (what anyone could still add plus what this cart already holds). The cart and its holds are unchanged.\n- `hold_limit`: this client's carts together already hold what one client may of this SKU (the store's `holds.per_client`, 99 by default, counted by the client's address). `sku` names the SKU and `available` is the most units of it this cart could hold under that limit now. The cart and its holds are unchanged.\n- `checkout_in_progress`: a checkout of this cart is running; its lines and coupons cannot change until it ends (see `POST /v1/carts/{id}/checkout`). Retry once it has answered. The cart is unchanged.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "out_of_stock", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/out_of_stock",
  "title": "Out of stock",
  "status": 409,
  "detail": "Only 5 of KTL-1-STEEL can be held now; the cart is unchanged.",
  "code": "out_of_stock",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "sku": "KTL-1-STEEL",
  "available": 5
}"# },
                        Example { name: "checkout_in_progress", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/checkout_in_progress",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "A checkout of this cart is running; its lines and coupons cannot change until it ends.",
  "code": "checkout_in_progress",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("413", Response::Shared("CartPayloadTooLarge")),
                ("415", Response::Shared("CartUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: `errors` holds one problem. Codes: `client_price_refused` (field: the price or total key sent: `price`, `prices`, `unit_price`, `amount`, `total`, `line_total`, `subtotal`, `grand_total`, `discount`, `discount_total`, `tax`, `tax_total`, `shipping` or `status`), `invalid_quantity` (field `quantity`: negative), `quantity_limit` (field `quantity`: more than 99, or more than the product's `max_per_order`). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "quantity_limit", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "quantity",
      "code": "quantity_limit",
      "message": "at most 99 units of this item per order"
    }
  ]
}"# },
                        Example { name: "invalid_quantity", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "quantity",
      "code": "invalid_quantity",
      "message": "must be a positive integer (0 removes, when setting)"
    }
  ]
}"# },
                        Example { name: "client_price_refused", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "line_total",
      "code": "client_price_refused",
      "message": "Prices and totals are computed by the server; do not send them."
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("CartServiceUnavailable")),
            ],
        },
        Handler::RemoveLine => Op {
            id: "deleteCartLine",
            tag: "Carts",
            summary: "Remove a line from a cart",
            description: "Removes the cart's line for `{sku}` and releases its hold, so its units are available to other carts at once. Answers 200 with the whole cart after the change. The cart must have a line for this SKU (404 `line_not_found`, also when repeating a removal that was applied); a SKU that has left the live catalog can still be removed. As cart activity, the removal also refreshes every other line whose hold has less than half the hold TTL left (`CART_HOLD_TTL_MS`, 15 minutes by default, configurable by the operator) to a full TTL from now. A line whose hold lapsed meanwhile is taken again if its units are still there; otherwise it stays in the cart, showing what is available, and is tried again on the next change (checkout re-reserves too); this does not fail the request. `holds_expire_at` shows the earliest of the remaining lines' hold expiries (null once the cart is empty), and each line's `available` is exact at response time. No body is read. An `Idempotency-Key` is accepted as on the other line changes. While a checkout of the cart is running (from the moment its `Idempotency-Key` is accepted until it answers, or until the cart's alarm recovers a crashed one, about a minute later), the change is refused with 409 `checkout_in_progress` and the cart is unchanged. Order of checks: query parameters (400), the catalog (503), the id and token (404 `cart_not_found`), a running checkout (409 `checkout_in_progress`), then the line (404 `line_not_found`).",
            headers: &["CartIdempotencyKey", "XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The line was removed and its hold released; the cart after the change.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Cart"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "currency": "USD",
  "lines": [],
  "item_count": 0,
  "subtotal": {
    "amount": 0,
    "currency": "USD"
  },
  "coupons": [],
  "discounts": [],
  "discount_total": {
    "amount": 0,
    "currency": "USD"
  },
  "shipping_method": null,
  "destination": null,
  "shipping_options": [],
  "shipping": {
    "amount": 0,
    "currency": "USD"
  },
  "prices_include_tax": false,
  "tax_total": {
    "amount": 0,
    "currency": "USD"
  },
  "grand_total": {
    "amount": 0,
    "currency": "USD"
  },
  "all_priced": true,
  "holds_expire_at": null
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines/KTL-1-STEEL?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
                ("404", Response::Own(Resp {
                    description: "Nothing was changed. Codes:\n\n- `cart_not_found`: no cart has this id (it may have been deleted after `CART_IDLE_MS` without activity), the id is malformed, or the token is missing or wrong.\n- `line_not_found`: the cart has no line for this SKU.\n- `route_not_found`: the path has an empty or an extra segment; no route matches it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "cart_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/cart_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No cart has this id, or the token does not open it.",
  "code": "cart_not_found",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                        Example { name: "line_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/line_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "This cart has no line for this SKU.",
  "code": "line_not_found",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "`checkout_in_progress`: a checkout of this cart is running; its lines and coupons cannot change until it ends (see `POST /v1/carts/{id}/checkout`). Retry once it has answered. The cart is unchanged.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "checkout_in_progress", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/checkout_in_progress",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "A checkout of this cart is running; its lines and coupons cannot change until it ends.",
  "code": "checkout_in_progress",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("CartServiceUnavailable")),
            ],
        },
        Handler::AddCoupon => Op {
            id: "addCartCoupon",
            tag: "Carts",
            summary: "Add a coupon code to a cart",
            description: "Adds a coupon code to the cart and answers 200 with the whole cart, where the code's promotion now applies (`coupons`, `discounts`). The code is case-insensitive and trimmed, and stored uppercase. It must be the code of one of the store's promotions, as the store's published copy has them (a promotion just created is found within about a second at the location that wrote it, within about 60 seconds elsewhere), and its promotion must apply to the cart now, priced as it would be with the code and without a destination: active, started, not ended, in the cart's currency, over its minimum, with something in the cart left for it to discount. Any code that cannot be applied, an unknown one included, gets one and the same answer, 422 `validation_failed` with error code `coupon_not_applicable` and the same message, so codes cannot be told apart by probing; the cart is then unchanged. Usage limits are not checked here (carts are priced without redemption counts); they are enforced when an order redeems the promotion. A cart carries at most 5 codes (422 `too_many_coupons`). Adding a code the cart already carries changes nothing (the code is still checked as above). A coupon that applied when it was added may stop applying later (lines removed, the promotion ended or changed): it stays on the cart with `status: not_applicable` and the reason, and applies again once it can. Prices come only from the catalog: a body carrying a price or total key is refused (422 `client_price_refused`). While a checkout of the cart is running (from the moment its `Idempotency-Key` is accepted until it answers, or until the cart's alarm recovers a crashed one, about a minute later), the change is refused with 409 `checkout_in_progress` and the cart is unchanged. Order of checks: query parameters (400), the catalog (503), the id's shape and the presence of a token (404 `cart_not_found`), the body's media type (415), size (413), price keys (422) and JSON shape (400), the token itself (404 `cart_not_found`), the limit of 5 codes (422 `too_many_coupons`, for any code), whether the code applies (422 `coupon_not_applicable`), a running checkout (409 `checkout_in_progress`), then the cart's and the SKUs' Durable Objects (503).",
            headers: &["XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The code, as `application/json` of at most 64 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("AddCouponInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The code is on the cart and its promotion applies; the cart after the change.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Cart"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "currency": "USD",
  "lines": [
    {
      "sku": "KTL-1-STEEL",
      "product": {
        "id": "prd_kettle1",
        "slug": "stovetop-kettle",
        "name": "Stovetop Kettle"
      },
      "quantity": 2,
      "unit_price": {
        "amount": 2500,
        "currency": "USD"
      },
      "line_total": {
        "amount": 5000,
        "currency": "USD"
      },
      "discount": {
        "amount": 500,
        "currency": "USD"
      },
      "tax": {
        "amount": 0,
        "currency": "USD"
      },
      "available": 5,
      "max_per_order": null
    }
  ],
  "item_count": 2,
  "subtotal": {
    "amount": 5000,
    "currency": "USD"
  },
  "coupons": [
    {
      "code": "SAVE10",
      "status": "applied"
    }
  ],
  "discounts": [
    {
      "id": "save10",
      "code": "SAVE10",
      "description": "10 % off everything",
      "amount": {
        "amount": 500,
        "currency": "USD"
      }
    }
  ],
  "discount_total": {
    "amount": 500,
    "currency": "USD"
  },
  "shipping_method": null,
  "destination": null,
  "shipping_options": [],
  "shipping": {
    "amount": 0,
    "currency": "USD"
  },
  "prices_include_tax": false,
  "tax_total": {
    "amount": 0,
    "currency": "USD"
  },
  "grand_total": {
    "amount": 4500,
    "currency": "USD"
  },
  "all_priced": true,
  "holds_expire_at": "2026-11-21T12:15:00.000Z"
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused before anything is changed. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field the input does not define; `field` names it.\n- `missing_field`: a required field is absent; `field` names it.\n- `invalid_type`: a field, or the body itself, has the wrong JSON type or is out of its type's range (e.g. an unknown `type` or `provider`, or a currency key the shop does not know in a typed map); `field` names it when it is a field.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "missing_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/missing_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "missing field `code` at line 1 column 2",
  "code": "missing_field",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/coupons",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "code"
}"# },
                    ] },
                ],
                })),
                ("404", Response::Own(Resp {
                    description: "Nothing was changed. Codes:\n\n- `cart_not_found`: no cart has this id (it may have been deleted after `CART_IDLE_MS` without activity), the id is malformed, or the token is missing or wrong.\n- `route_not_found`: the path has an empty or an extra segment; no route matches it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "cart_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/cart_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No cart has this id, or the token does not open it.",
  "code": "cart_not_found",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/coupons",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "`checkout_in_progress`: a checkout of this cart is running; its lines and coupons cannot change until it ends (see `POST /v1/carts/{id}/checkout`). Retry once it has answered. The cart is unchanged.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "checkout_in_progress", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/checkout_in_progress",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "A checkout of this cart is running; its lines and coupons cannot change until it ends.",
  "code": "checkout_in_progress",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/coupons",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("413", Response::Shared("CartPayloadTooLarge")),
                ("415", Response::Shared("CartUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: `errors` holds one problem. Codes: `coupon_not_applicable` (field `code`: the code cannot be applied to this cart now, whether no promotion has it or its promotion does not apply; the same answer and message for every such code), `too_many_coupons` (field `code`: the cart already carries 5 codes), `client_price_refused` (field: the price or total key sent). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "coupon_not_applicable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/coupons",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "code",
      "code": "coupon_not_applicable",
      "message": "This code cannot be applied to this cart."
    }
  ]
}"# },
                        Example { name: "too_many_coupons", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/coupons",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "code",
      "code": "too_many_coupons",
      "message": "a cart carries at most 5 coupons"
    }
  ]
}"# },
                        Example { name: "client_price_refused", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/coupons",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "amount",
      "code": "client_price_refused",
      "message": "Prices and totals are computed by the server; do not send them."
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("CartServiceUnavailable")),
            ],
        },
        Handler::RemoveCoupons => Op {
            id: "removeCartCoupons",
            tag: "Carts",
            summary: "Remove every coupon code from a cart",
            description: "Removes every coupon code from the cart and answers 200 with the whole cart. Automatic promotions still apply. Safe to repeat: a cart without coupons answers the same. No body is read. While a checkout of the cart is running (from the moment its `Idempotency-Key` is accepted until it answers, or until the cart's alarm recovers a crashed one, about a minute later), the change is refused with 409 `checkout_in_progress` and the cart is unchanged. Order of checks: query parameters (400), the catalog (503), the id and token (404 `cart_not_found`), a running checkout (409 `checkout_in_progress`), then the cart's and the SKUs' Durable Objects (503).",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The cart carries no coupon code now; the cart after the change.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Cart"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "currency": "USD",
  "lines": [
    {
      "sku": "KTL-1-STEEL",
      "product": {
        "id": "prd_kettle1",
        "slug": "stovetop-kettle",
        "name": "Stovetop Kettle"
      },
      "quantity": 2,
      "unit_price": {
        "amount": 2500,
        "currency": "USD"
      },
      "line_total": {
        "amount": 5000,
        "currency": "USD"
      },
      "discount": {
        "amount": 0,
        "currency": "USD"
      },
      "tax": {
        "amount": 0,
        "currency": "USD"
      },
      "available": 5,
      "max_per_order": null
    }
  ],
  "item_count": 2,
  "subtotal": {
    "amount": 5000,
    "currency": "USD"
  },
  "coupons": [],
  "discounts": [],
  "discount_total": {
    "amount": 0,
    "currency": "USD"
  },
  "shipping_method": null,
  "destination": null,
  "shipping_options": [],
  "shipping": {
    "amount": 0,
    "currency": "USD"
  },
  "prices_include_tax": false,
  "tax_total": {
    "amount": 0,
    "currency": "USD"
  },
  "grand_total": {
    "amount": 5000,
    "currency": "USD"
  },
  "all_priced": true,
  "holds_expire_at": "2026-11-21T12:15:00.000Z"
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/coupons?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
                ("404", Response::Own(Resp {
                    description: "Nothing was changed. Codes:\n\n- `cart_not_found`: no cart has this id (it may have been deleted after `CART_IDLE_MS` without activity), the id is malformed, or the token is missing or wrong.\n- `route_not_found`: the path has an empty or an extra segment; no route matches it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "cart_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/cart_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No cart has this id, or the token does not open it.",
  "code": "cart_not_found",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/coupons",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "`checkout_in_progress`: a checkout of this cart is running; its lines and coupons cannot change until it ends (see `POST /v1/carts/{id}/checkout`). Retry once it has answered. The cart is unchanged.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "checkout_in_progress", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/checkout_in_progress",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "A checkout of this cart is running; its lines and coupons cannot change until it ends.",
  "code": "checkout_in_progress",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/coupons",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("CartServiceUnavailable")),
            ],
        },
        Handler::RemoveCoupon => Op {
            id: "removeCartCoupon",
            tag: "Carts",
            summary: "Remove a coupon code from a cart",
            description: "Removes one coupon code from the cart (case-insensitive, as it was added) and answers 200 with the whole cart, without that code's promotion. A code the cart does not carry answers 404 `coupon_not_found`, also when repeating a removal that was applied. No body is read. While a checkout of the cart is running (from the moment its `Idempotency-Key` is accepted until it answers, or until the cart's alarm recovers a crashed one, about a minute later), the change is refused with 409 `checkout_in_progress` and the cart is unchanged. Order of checks: query parameters (400), the catalog (503), the id and token (404 `cart_not_found`), a running checkout (409 `checkout_in_progress`), the code (404 `coupon_not_found`), then the SKUs' Durable Objects (503).",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The code was removed; the cart after the change.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Cart"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "currency": "USD",
  "lines": [
    {
      "sku": "KTL-1-STEEL",
      "product": {
        "id": "prd_kettle1",
        "slug": "stovetop-kettle",
        "name": "Stovetop Kettle"
      },
      "quantity": 2,
      "unit_price": {
        "amount": 2500,
        "currency": "USD"
      },
      "line_total": {
        "amount": 5000,
        "currency": "USD"
      },
      "discount": {
        "amount": 0,
        "currency": "USD"
      },
      "tax": {
        "amount": 0,
        "currency": "USD"
      },
      "available": 5,
      "max_per_order": null
    }
  ],
  "item_count": 2,
  "subtotal": {
    "amount": 5000,
    "currency": "USD"
  },
  "coupons": [],
  "discounts": [],
  "discount_total": {
    "amount": 0,
    "currency": "USD"
  },
  "shipping_method": null,
  "destination": null,
  "shipping_options": [],
  "shipping": {
    "amount": 0,
    "currency": "USD"
  },
  "prices_include_tax": false,
  "tax_total": {
    "amount": 0,
    "currency": "USD"
  },
  "grand_total": {
    "amount": 5000,
    "currency": "USD"
  },
  "all_priced": true,
  "holds_expire_at": "2026-11-21T12:15:00.000Z"
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/coupons/SAVE10?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
                ("404", Response::Own(Resp {
                    description: "Nothing was changed. Codes:\n\n- `cart_not_found`: no cart has this id (it may have been deleted after `CART_IDLE_MS` without activity), the id is malformed, or the token is missing or wrong.\n- `coupon_not_found`: the cart does not carry this code.\n- `route_not_found`: the path has an empty or an extra segment; no route matches it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "cart_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/cart_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No cart has this id, or the token does not open it.",
  "code": "cart_not_found",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/coupons/SAVE10",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                        Example { name: "coupon_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/coupon_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No promotion has this coupon code (or this cart does not carry it).",
  "code": "coupon_not_found",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/coupons/SAVE10",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "`checkout_in_progress`: a checkout of this cart is running; its lines and coupons cannot change until it ends (see `POST /v1/carts/{id}/checkout`). Retry once it has answered. The cart is unchanged.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "checkout_in_progress", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/checkout_in_progress",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "A checkout of this cart is running; its lines and coupons cannot change until it ends.",
  "code": "checkout_in_progress",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/coupons/SAVE10",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("CartServiceUnavailable")),
            ],
        },
        Handler::Checkout => Op {
            id: "checkoutCart",
            tag: "Checkout",
            summary: "Check out a cart: place and pay an order",
            description: "Places an order for the cart and answers 201 with the order and its secret `order_token` (read the order with `GET /v1/orders/{id}` and `Authorization: Bearer <order_token>`). The cart is then emptied (lines and coupons) and can be filled again with the same token. Needs the cart's token (404 `cart_not_found` otherwise) and an `Idempotency-Key` header (400 `idempotency_key_required` otherwise).\n\n**Body.** `email`, `shipping_address`, `shipping_method`, `payment` (`method: card` and the provider's card `token`; for a member of the store's points programme, signed in with `Member-Token`, also `method: points`, which spends the whole total in points and asks no payment provider, or `method: points_and_card` with `points` and a card `token`: the points pay `points` ÷ the programme's points per minor unit, the card the rest) and `expected_total`, the grand total the shopper confirmed (see `CheckoutRequest`). A price, total or status key is refused first (422 `client_price_refused`), then the JSON shape (400 `unknown_field`, `missing_field`, `invalid_type`, `invalid_json`). The email, the address and the payment are checked together, and every problem is reported at once (422 `validation_failed`: `invalid_email`; `required`, `invalid_length`, `invalid_characters`, `invalid_country` for `shipping_address.<field>`; `unsupported_payment_method` for `payment.method`; `invalid_payment_token` for `payment.token`).\n\n**Pricing.** Nothing the client computed is trusted. The Worker prices the cart afresh: the live catalog's price lists in the cart's currency, and, from the store object itself (strongly consistent, not the published copy cart reads use), its tax settings for the address's country and region, the chosen shipping method, and every automatic promotion and the promotions of the cart's coupons, checked with their current redemption counts (in total and for this `email`), by the rules of *Store configuration, promotions and cart pricing*. Coupon codes no promotion has any more are ignored. An empty cart is 422 `cart_empty`; a line whose SKU has no price in the cart's currency any more, or has left the catalog, is 422 `not_sold_in_currency` naming its `sku` (remove the line first). A shipping method the store does not have is 400 `unknown_shipping_method`; one that cannot ship to the address's country or has no rate in the cart's currency is 422 `shipping_not_available`. If the grand total is not exactly `expected_total` (amount and currency), nothing is held or charged and the answer is 409 `total_changed` with `quote`, the new breakdown: show it, and confirm again with the new total and a new key.\n\n**Points.** A `Member-Token` the store does not admit answers 401 `invalid_member_token`, and a points payment without one 401 `member_token_required`, before the key is taken. With a member, the order carries `points`: what the points paid (`spent`, `value`) and what the card's part earns (`earned`, by the programme's rate and category multipliers, on the card's share of each line's goods, never on the part points paid), recorded in the member's ledger once the order is recorded, pending for the programme's return window. After the lines are held (and the promotions redeemed), the points are held in the member's ledger for the hold TTL (409 `insufficient_points` with `available` when there are too few: nothing is held or charged); the card is then charged for its part only (no provider is asked when the points pay it all); the points are spent after the units are sold and before the order is recorded, and given back on every failure. A cancellation or refund puts the spent points back into the lots they came from (with their expiry), refunds the card's part and takes the earning back (as debt, if it was spent).\n\n**Placing the order.** The cart's Durable Object then carries out the plan, saving a recovery point after each step. (1) It holds every line's quantity for the cart in the SKUs' stock objects, for the hold TTL (`CART_HOLD_TTL_MS`). All lines or none go on: if any is short, the answer is 409 `out_of_stock` listing every short line in `lines` (`sku`, `requested`, `available`), nothing is charged and the cart keeps its lines. (2) It redeems the order's promotions in the store object, within their usage limits. If one reached its limit meanwhile the answer is 409 `coupon_unavailable` naming the `promotion` and the `reason` (or naming nothing if a promotion was deleted); the holds are released and nothing is charged. (3) It charges the store's payment provider exactly `grand_total`, idempotently by the order id. A declined payment is 402 `payment_declined` with the provider's `decline_code`: the redemptions and holds are released, the cart keeps its lines and coupons (the next line change or checkout holds the lines again), and the shopper may retry with another card and a new key. A provider that does not answer within 10 seconds, or answers an error, is 503 `payment_unavailable`: the redemptions and holds are released and nothing stays charged. The same idempotent charge is asked again in the background (every 30 seconds, by the cart's alarm), and a payment it turns out to have taken is refunded. (4) It sells the held units (commits the holds), records the order in the order's own Durable Object with status `paid` and `payment.reference` set, empties the cart and answers 201. If the holds lapsed before the units could be sold (only when a crash outlived them), the payment is refunded and the answer is 409 `out_of_stock` without `lines`.\n\n**Payment providers.** With the store's `test` provider (a new store's default), no money moves and the card token decides: `tok_visa`, `tok_mastercard` and `pm_card_visa` are paid; `tok_decline` and `pm_card_chargeDeclined` are declined with `decline_code: card_declined`; `tok_timeout` gets no answer (503 `payment_unavailable`); any other token is declined with `decline_code: invalid_payment_token`. The test provider takes no payment unless the deployment enables it (`TEST_PAYMENTS=on`; `wrangler.toml` leaves it off): otherwise a checkout the card pays any of answers 503 `test_payments_disabled`. With `stripe`, the object creates and confirms a PaymentIntent at Stripe's own host (a test host only where the operator sets `STRIPE_TEST_API_BASE`; never a store's configuration), pinned to `Stripe-Version: 2024-06-20` (`amount`, `currency` in lowercase, `payment_method` = the token, `payment_method_types[]=card`, `confirm=true`, `metadata[order_id]`, `metadata[store]`, `metadata[cart]`), authenticated by the Worker secret `STRIPE_SECRET_KEY`, with the order id as Stripe's `Idempotency-Key`. Every PaymentIntent Stripe answers counts only when its amount, currency and `metadata[order_id]` are the order's; any other is treated as no answer. Status `succeeded` counts as paid and the order's `payment.reference` is the PaymentIntent id; `requires_action` answers 402 `payment_action_required` (3-D Secure, see below) and `processing` 409 `payment_processing`, both keeping the holds; `requires_payment_method` and `canceled` are declined. A 402 counts as declined (the shopper learns a generic `card_declined` for codes that would help a card tester). A `resource_missing` error (an unknown payment method) counts as declined with `invalid_payment_token`. Anything else, including no answer within 10 seconds, counts as unavailable. A PaymentIntent once known is only ever read again (`GET /v1/payment_intents/{id}`), never created again; a charge whose answer was lost is asked again with the same key only within 23 hours (Stripe keeps keys 24), after that its PaymentIntent is searched by `metadata['order_id']`. Refunds go to `/v1/refunds` with the key `refund-{order id}`; cancels to `/v1/payment_intents/{id}/cancel` with `cancel-{order id}`. A total the card pays nothing of (points pay it all, or it is 0) asks no provider: the order's `payment.provider` is `points` or `none`.\n\n**3-D Secure and processing.** When Stripe asks the shopper to authenticate, the answer is 402 `payment_action_required` with `client_secret`, `next_action` and `expires_at`, and the checkout stays open: its holds and points, the cart's lock (other checkouts of the cart answer 409 `checkout_in_progress`) and its key. After `stripe.handleNextAction`, send the same checkout again (same key and body): it reads the PaymentIntent and answers the order, a decline, or the same 402. Stripe's webhook (`POST /webhooks/stripe`) and the cart's alarm read it too, so the order is placed even if the shopper never comes back; past `expires_at` the payment is canceled (or, if it succeeded first, completed) and the holds given back. A payment Stripe is `processing` waits the same way, without a deadline, answering 409 `payment_processing` to retries until Stripe decides. These answers are not stored.\n\n**Stuck checkouts.** A checkout that may have taken a payment is never deleted while it is open: one that waits for the provider longer than `CHECKOUT_STUCK_AFTER_MS` (one hour by default) is listed at `GET /admin/v1/checkouts?state=stuck` with an error log line, and retried until it settles. At most one attempt acts on a checkout at a time: a retry with the key that takes over a checkout whose attempt outlived its lease makes the older attempt stop before its next step (it answers 409 `idempotency_in_progress`).\n\n**Idempotency** (as Stripe's). The cart's object records the key with a fingerprint of the request (method, cart id, exact body bytes). The first answer decided after the key is accepted is stored for at least 24 hours, success or error alike: every answer from the email, address and payment checks on, except a passing failure met while pricing (503 `catalog_unavailable` or `storage_unavailable`): that one is not stored, so a retry with the same key prices the cart again. A retry with the same key and body, with the cart's token, gets that answer again, byte for byte, with `Idempotent-Replayed: true`; a replayed 201 names the same order and token. A stored error is final for its key: to try again (after fixing the input, confirming a new total or with another card) send a new key. Answers decided before the key is accepted are not stored: a missing key (400), a refused body (400, 413, 415, 422 `client_price_refused`), a wrong token (404), and the key conflicts. The same key with a different body is 422 `validation_failed` with error code `idempotency_mismatch`. A request with a key whose first attempt is still running is 409 `idempotency_in_progress`: retry shortly to get its answer. A checkout of the same cart with another key while one is running is 409 `checkout_in_progress`. While a checkout runs, line and coupon changes of the cart answer 409 `checkout_in_progress`; the cart can still be read.\n\n**Crash safety.** An attempt holds its key for 60 seconds (its lease). If it dies, a retry with the same key and body resumes it from its last recovery point, once the lease has run out (or at once, if the cart's object restarted meanwhile), and gets the checkout's own answer. Each step is idempotent by ids derived from the order id (the stock operations, the store's redemption per order, the provider's idempotency key, the order object's first record), so nothing is held, redeemed, charged or recorded twice. Without a retry, the cart's alarm does it about a minute later. A checkout that may have charged (from the charge on) is carried through to its order, or refunded. One that cannot have charged is abandoned: its redemptions are released, its holds left to expire, its key forgotten (a retry with it starts over) and the cart unlocked. A retry with the same key while a `payment_unavailable` charge is still being verified resumes the verification: it answers 503 `payment_unavailable` once the charge is known not to stand, or 503 `storage_unavailable` while the provider still does not answer.\n\nNever cached (`Cache-Control: no-store`). Accepts no query parameters. Order of checks: query parameters (400), the configuration and the catalog (503), the id's shape and the presence of a token (404 `cart_not_found`), the body's media type (415) and size (413), the `Idempotency-Key` header (400 `idempotency_key_required`), price keys (422 `client_price_refused`) and JSON shape (400). Then, in the cart's object: the token (404 `cart_not_found`), the key (a replay, 422 `idempotency_mismatch`, 409 `idempotency_in_progress`) and another running checkout (409 `checkout_in_progress`). From here every answer is stored (but the passing 503s `catalog_unavailable` and `storage_unavailable`, which are not): the email, address and payment (422 `validation_failed`), an empty cart (422 `cart_empty`), each line's price (422 `not_sold_in_currency`), the shipping method (400 `unknown_shipping_method`, 422 `shipping_not_available`), the total (409 `total_changed`), then the holds (409 `out_of_stock`), the redemptions (409 `coupon_unavailable`), the payment (402 `payment_declined`, 503 `payment_unavailable`) and the order (201).",
            headers: &["CheckoutIdempotencyKey", "CheckoutMemberToken", "XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The shopper's email, shipping address, shipping method, how they pay (card; points; or points and card) and the confirmed total, as `application/json` of at most 64 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("CheckoutRequest"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "email": "ada@example.com",
  "shipping_address": {
    "name": "Ada Lovelace",
    "line1": "1 Market St",
    "line2": "Suite 300",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US"
  },
  "shipping_method": "standard",
  "payment": {
    "method": "card",
    "token": "tok_visa"
  },
  "expected_total": {
    "amount": 5325,
    "currency": "USD"
  }
}"# },
                        Example { name: "points_and_card", summary: Some("A member pays 20.00 with points and the rest by card (with `Member-Token`)"), value: r#"{
  "email": "ada@example.com",
  "shipping_address": {
    "name": "Ada Lovelace",
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US"
  },
  "shipping_method": "standard",
  "payment": {
    "method": "points_and_card",
    "points": 2000,
    "token": "tok_visa"
  },
  "expected_total": {
    "amount": 5325,
    "currency": "USD"
  }
}"# },
                    ] },
                ],
            }),
            responses: &[
                ("201", Response::Own(Resp {
                    description: "The order was placed and paid: its units are sold, its promotions redeemed, and the cart is empty. The body is the order and its secret `order_token`. A retry with the same key and body answers this again, byte for byte, with `Idempotent-Replayed: true`.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart")), ("Idempotent-Replayed", Hdr::Ref("Idempotent-Replayed"))],
                    content: &[
                    Content { media: "application/json", schema: Named("CheckoutResult"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "order": {
    "schema": 1,
    "id": "ord_3b9d2f4a6c8e0a1b2c3d4e5f",
    "cart_id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
    "currency": "USD",
    "prices_include_tax": false,
    "lines": [
      {
        "sku": "KTL-1-STEEL",
        "quantity": 2,
        "unit_price": 2500,
        "discount": 500,
        "tax": 326,
        "line_total": 4826
      }
    ],
    "totals": {
      "subtotal": 5000,
      "discount_total": 500,
      "shipping": 499,
      "tax_total": 326,
      "grand_total": 5325
    },
    "promotions": [
      {
        "id": "save10",
        "code": "SAVE10",
        "amount": 500
      }
    ],
    "email": "ada@example.com",
    "shipping_address": {
      "name": "Ada Lovelace",
      "line1": "1 Market St",
      "line2": "Suite 300",
      "city": "San Francisco",
      "region": "CA",
      "postal_code": "94105",
      "country": "US"
    },
    "shipping_method": "standard",
    "payment": {
      "provider": "test",
      "reference": "test_ord_3b9d2f4a6c8e0a1b2c3d4e5f"
    },
    "status": "paid",
    "history": [
      {
        "at_ms": 1795262400000,
        "status": "pending_payment"
      },
      {
        "at_ms": 1795262400412,
        "status": "paid"
      }
    ],
    "created_at_ms": 1795262400000
  },
  "order_token": "7e2a9c4f1b8d3e6a0c5f2b9d4e7a1c3f6b8d0e2a5c7f9b1d"
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `idempotency_key_required`: the `Idempotency-Key` header is missing, or is not 1 to 128 visible ASCII characters.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field the input does not define (also inside `shipping_address`, `payment` or `expected_total`); `field` names it.\n- `missing_field`: a required field is absent; `field` names it.\n- `invalid_type`: a field, or the body itself, has the wrong JSON type or is out of its type's range (e.g. a fractional `expected_total.amount`); `field` names it when it is a field.\n- `invalid_body`: the body could not be read.\n- `unknown_shipping_method`: the store has no shipping method with the id `shipping_method` names. Found after the key was accepted, so it is stored and replayed like any other answer (it carries `param`, `shipping_method`, but no `instance` or `request_id`).\n\nNothing was held or charged.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart")), ("Idempotent-Replayed", Hdr::Ref("Idempotent-Replayed"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("CheckoutProblem"), examples: &[
                        Example { name: "idempotency_key_required", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/idempotency_key_required",
  "title": "Invalid request body",
  "status": 400,
  "detail": "Checkout needs an Idempotency-Key header (1–128 visible ASCII characters), generated once per attempt.",
  "code": "idempotency_key_required",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/checkout",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                        Example { name: "missing_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/missing_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "missing field `expected_total` at line 1 column 212",
  "code": "missing_field",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/checkout",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "expected_total"
}"# },
                        Example { name: "unknown_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "unknown field `phone`, expected one of `name`, `line1`, `line2`, `city`, `region`, `postal_code`, `country` at line 1 column 78",
  "code": "unknown_field",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/checkout",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "shipping_address.phone"
}"# },
                        Example { name: "unknown_shipping_method", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_shipping_method",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "The store has no shipping method with this id.",
  "code": "unknown_shipping_method"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("MemberUnauthorized")),
                ("402", Response::Own(Resp {
                    description: "Codes:\n\n- `payment_declined`: the provider declined the payment (or it was canceled); `decline_code` says why, as far as a shopper may learn it: `insufficient_funds`, `authentication_required` (3-D Secure failed or was not completed in time), `payment_canceled`, `processing_error`, `card_not_supported`, `invalid_payment_token` (the provider does not know the token), and `card_declined` for every other reason, including those that would help a card tester (stolen, lost or fraudulent cards, a wrong CVC, number or expiry, …; the real code is only logged). Nothing was charged: the promotions' redemptions and the stock holds were released, and the cart keeps its lines and coupons (its lines are held again by the next line change or checkout). Stored under the key: to retry with another card, send a new key.\n- `payment_action_required`: the card's issuer asks the shopper to authenticate (3-D Secure). Pass `client_secret` to Stripe.js (`stripe.handleNextAction({clientSecret})`), then send this checkout again with the same `Idempotency-Key` and body: it reads the PaymentIntent and answers the order (201), a decline (402) or this again. The holds and the cart's lock stay until `expires_at` (two fifths of the hold TTL after the provider asked); then the payment is canceled and the holds given back, and the checkout answers 402 `payment_declined` (`payment_canceled`), unless the payment succeeded first. Stripe's webhook (`POST /webhooks/stripe`) completes the checkout too. Not stored.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart")), ("Idempotent-Replayed", Hdr::Ref("Idempotent-Replayed"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("CheckoutProblem"), examples: &[
                        Example { name: "payment_declined", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/payment_declined",
  "title": "Payment declined",
  "status": 402,
  "detail": "The card was declined. Nothing was charged; the cart is unchanged.",
  "code": "payment_declined",
  "decline_code": "card_declined"
}"# },
                        Example { name: "payment_action_required", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/payment_action_required",
  "title": "Authentication required",
  "status": 402,
  "detail": "The card's issuer asks the shopper to authenticate this payment: pass client_secret to Stripe.js (stripe.handleNextAction), then send this checkout again with the same Idempotency-Key and body. The items stay held until expires_at; after it the payment is canceled and nothing is charged.",
  "code": "payment_action_required",
  "client_secret": "pi_3Nabc_secret_xyz",
  "next_action": {"type": "use_stripe_sdk"},
  "expires_at": "2026-12-07T10:06:00.000Z"
}"# },
                    ] },
                ],
                })),
                ("404", Response::Own(Resp {
                    description: "Nothing was done. Codes:\n\n- `cart_not_found`: no cart has this id (it may have been deleted after `CART_IDLE_MS` without activity), the id is malformed, or the token is missing or wrong (also for a retry of a stored answer).\n- `route_not_found`: the path has an empty or an extra segment; no route matches it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("CheckoutProblem"), examples: &[
                        Example { name: "cart_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/cart_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No cart has this id, or the token does not open it.",
  "code": "cart_not_found",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/checkout",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "The checkout cannot go on as asked. Nothing stays charged. Codes:\n\n- `idempotency_in_progress`: a request with this `Idempotency-Key` is being processed (its attempt holds the key for up to 60 seconds); retry shortly with the same key to get its answer. Not stored.\n- `checkout_in_progress`: another checkout of this cart, under another key, is running, or waits for its payment (3-D Secure, processing). Not stored.\n- `payment_processing`: the provider has the payment but has not decided it (Stripe's `processing`, or a PaymentIntent it did not answer a read of); the items stay held. Send the checkout again with the same key shortly (`Retry-After`) for its outcome; Stripe's webhook completes it too. Not stored.\n- `total_changed`: the cart's grand total is not `expected_total` (prices, promotions, redemption counts, tax or shipping changed, or another currency was named); `quote` is the new breakdown. Nothing was held or charged. Stored.\n- `out_of_stock`: some lines cannot be held in the quantity in the cart; `lines` lists every short line with `requested` and `available` (the most this cart could hold now). Nothing was charged and the cart keeps its lines. Without `lines`: the units could not be sold after the payment (the holds lapsed during a crash) and the payment was refunded. Stored.\n- `coupon_unavailable`: a promotion of the order reached its usage limit (`reason`: `usage_limit_reached`, or `customer_limit_reached` for this email) since the cart was priced, or no longer exists (then without `promotion` and `reason`). The holds were released and nothing was charged; read the cart again for its new total. Stored.\n- `insufficient_points`: the member has fewer spendable points than `payment.points` (or the whole total, for `points`); `available` is their spendable balance. Nothing was held or charged. Stored.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart")), ("Idempotent-Replayed", Hdr::Ref("Idempotent-Replayed"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("CheckoutProblem"), examples: &[
                        Example { name: "total_changed", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/total_changed",
  "title": "Total changed",
  "status": 409,
  "detail": "The cart's total is no longer the expected_total (prices, promotions or shipping changed). Nothing was charged; show the new total and confirm again.",
  "code": "total_changed",
  "quote": {
    "currency": "USD",
    "prices_include_tax": false,
    "lines": [
      {
        "sku": "KTL-1-STEEL",
        "quantity": 2,
        "unit_price": {
          "amount": 2500,
          "currency": "USD"
        },
        "line_subtotal": {
          "amount": 5000,
          "currency": "USD"
        },
        "discount": {
          "amount": 500,
          "currency": "USD"
        },
        "tax": {
          "amount": 326,
          "currency": "USD"
        },
        "line_total": {
          "amount": 4826,
          "currency": "USD"
        }
      }
    ],
    "subtotal": {
      "amount": 5000,
      "currency": "USD"
    },
    "discount_total": {
      "amount": 500,
      "currency": "USD"
    },
    "shipping": {
      "amount": 499,
      "currency": "USD"
    },
    "tax_total": {
      "amount": 326,
      "currency": "USD"
    },
    "grand_total": {
      "amount": 5325,
      "currency": "USD"
    },
    "applied": [
      {
        "id": "save10",
        "code": "SAVE10",
        "description": "10 % off everything",
        "amount": {
          "amount": 500,
          "currency": "USD"
        }
      }
    ],
    "refused_coupons": [
      {
        "code": "BIGSPENDER",
        "reason": "below_minimum",
        "min": {
          "amount": 10000,
          "currency": "USD"
        }
      }
    ]
  }
}"# },
                        Example { name: "out_of_stock", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/out_of_stock",
  "title": "Out of stock",
  "status": 409,
  "detail": "Some lines are no longer available in the quantity in the cart; nothing was charged.",
  "code": "out_of_stock",
  "lines": [
    {
      "sku": "KTL-1-STEEL",
      "requested": 2,
      "available": 1
    }
  ]
}"# },
                        Example { name: "out_of_stock_refunded", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/out_of_stock",
  "title": "Out of stock",
  "status": 409,
  "detail": "The items could not be reserved in time; the payment was refunded.",
  "code": "out_of_stock"
}"# },
                        Example { name: "coupon_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/coupon_unavailable",
  "title": "Coupon unavailable",
  "status": 409,
  "detail": "A promotion of this cart reached its usage limit or ended; read the cart again for its new total. Nothing was charged.",
  "code": "coupon_unavailable",
  "promotion": "save10",
  "reason": {
    "reason": "usage_limit_reached"
  }
}"# },
                        Example { name: "insufficient_points", summary: None, value: r#"{
  "available": 1200,
  "code": "insufficient_points",
  "detail": "Only 1200 points can be spent now; nothing was held or charged.",
  "status": 409,
  "title": "Not enough points",
  "type": "https://edgecart.dev/problems/insufficient_points"
}"# },
                        Example { name: "idempotency_in_progress", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/idempotency_in_progress",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "A request with this Idempotency-Key is being processed; retry shortly.",
  "code": "idempotency_in_progress",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/checkout",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                        Example { name: "checkout_in_progress", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/checkout_in_progress",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "Another checkout of this cart is running.",
  "code": "checkout_in_progress",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/checkout",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("413", Response::Shared("CartPayloadTooLarge")),
                ("415", Response::Shared("CartUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "Nothing was held or charged. Codes:\n\n- `validation_failed`: `errors` lists every problem found. Not stored: `client_price_refused` (field: the price, total or status key sent) and `idempotency_mismatch` (field null: this `Idempotency-Key` was used on this cart with a different body; use a new key for a new request). Stored: `invalid_email` (field `email`); `required`, `invalid_length`, `invalid_characters` (field `shipping_address.<field>`); `invalid_country` (field `shipping_address.country`); `unsupported_payment_method` (field `payment.method`); `invalid_payment_token` (field `payment.token`); `invalid_points` (field `payment.points`); and, alone, `points_not_accepted` (field `payment.method`: the store has no points programme, or its points do not pay in the cart's currency), `invalid_points` (field `payment.points`: not a whole number of minor units at the programme's rate, not leaving the card at least one minor unit, or, for `points`, not the whole total in points) and `shipping_not_available` (field `shipping_method`: the method does not ship to the address's country, or has no rate in the cart's currency).\n- `cart_empty`: the cart has no lines. Stored.\n- `not_sold_in_currency`: `sku` has no price in the cart's currency any more, or has left the catalog; remove its line and check out again. Stored.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart")), ("Idempotent-Replayed", Hdr::Ref("Idempotent-Replayed"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("CheckoutProblem"), examples: &[
                        Example { name: "validation_failed", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "3 problem(s); see `errors`.",
  "code": "validation_failed",
  "errors": [
    {
      "field": "email",
      "code": "invalid_email",
      "message": "Not a valid email address."
    },
    {
      "field": "shipping_address.postal_code",
      "code": "required",
      "message": "must not be empty"
    },
    {
      "field": "payment.method",
      "code": "unsupported_payment_method",
      "message": "Only `card` payments are supported."
    }
  ]
}"# },
                        Example { name: "shipping_not_available", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "errors": [
    {
      "field": "shipping_method",
      "code": "shipping_not_available",
      "message": "This method does not ship to that country."
    }
  ]
}"# },
                        Example { name: "client_price_refused", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/checkout",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "grand_total",
      "code": "client_price_refused",
      "message": "Prices and totals are computed by the server; do not send them."
    }
  ]
}"# },
                        Example { name: "idempotency_mismatch", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/checkout",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": null,
      "code": "idempotency_mismatch",
      "message": "This Idempotency-Key was used with a different request body; use a new key for a new request."
    }
  ]
}"# },
                        Example { name: "cart_empty", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/cart_empty",
  "title": "Cart is empty",
  "status": 422,
  "detail": "There is nothing to check out.",
  "code": "cart_empty"
}"# },
                        Example { name: "not_sold_in_currency", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/not_sold_in_currency",
  "title": "Item not for sale",
  "status": 422,
  "detail": "KTL-1-STEEL is not for sale in USD any more; remove it from the cart.",
  "code": "not_sold_in_currency",
  "sku": "KTL-1-STEEL"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Own(Resp {
                    description: "Codes:\n\n- `test_payments_disabled`: the store pays with the `test` provider, which this deployment does not enable (the Worker variable `TEST_PAYMENTS` is not `on`); nothing was held or charged. Not stored: once the operator configures a provider, retry with the same key.\n- `payment_unavailable`: the payment provider did not answer within 10 seconds, answered an error, or answered a PaymentIntent whose amount, currency or order id is not the order's (such a reply never counts as paid). Nothing stays charged: the redemptions and holds were released, and the same idempotent charge is asked again in the background and refunded if it was taken. Stored (once the charge is settled); try again with a new key.\n- `storage_unavailable`: the cart's Durable Object, or an object it needs, could not be reached or failed; the cause is logged, never shown. Not stored (with `Retry-After`): retry with the same key and body, which resumes the checkout where it stopped and never charges twice. When the store object failed while the cart was priced, it is stored instead: retry with a new key.\n- `catalog_unavailable`: the live catalog could not be read. Before the key was accepted (with `Retry-After`), retry with the same key; while the cart's prices were read, it is stored: retry with a new key.\n- `misconfigured`: the Worker's configuration is invalid. Not stored.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart")), ("Idempotent-Replayed", Hdr::Ref("Idempotent-Replayed")), ("Retry-After", Hdr::Inline(r#"{"description": "Seconds to wait before retrying (currently always 5). Sent only with the answers that are not stored under the `Idempotency-Key` (`storage_unavailable` when the cart's object could not be reached or failed, and the errors found before it, e.g. `catalog_unavailable`, `misconfigured`); absent from stored answers.", "required": false, "schema": {"type": "integer", "minimum": 0, "examples": [5]}}"#))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("CheckoutProblem"), examples: &[
                        Example { name: "payment_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/payment_unavailable",
  "title": "Payment unavailable",
  "status": 503,
  "detail": "The payment provider did not answer. Nothing was charged (any payment it took later is refunded); try again with a new Idempotency-Key.",
  "code": "payment_unavailable"
}"# },
                        Example { name: "storage_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/storage_unavailable",
  "title": "Storage temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "storage_unavailable",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/checkout",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
            ],
        },
        Handler::GetOrder => Op {
            id: "getOrder",
            tag: "Checkout",
            summary: "Get an order",
            description: "Returns the order as checkout recorded it, with its status changes since (a cancellation by the shopper, `POST /v1/orders/{id}/cancel`; fulfilment, refund or cancellation by the merchant), read from the order's own Durable Object (strongly consistent). Needs the order's token, the `order_token` checkout answered, as `Authorization: Bearer <order_token>`: a missing or wrong token, like an unknown or malformed id, answers 404 `order_not_found` (never 401 or 403, so orders cannot be enumerated). The cart's token does not open it. Never cached (`Cache-Control: no-store`, no `ETag`). HEAD answers like GET, without a body. Accepts no query parameters. Order of checks: query parameters (400), the id's shape and the presence of a token (404), then the order's object (503) and the token itself (404).",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The order.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Order"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Order"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "schema": 1,
  "id": "ord_3b9d2f4a6c8e0a1b2c3d4e5f",
  "cart_id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "currency": "USD",
  "prices_include_tax": false,
  "lines": [
    {
      "sku": "KTL-1-STEEL",
      "quantity": 2,
      "unit_price": 2500,
      "discount": 500,
      "tax": 326,
      "line_total": 4826
    }
  ],
  "totals": {
    "subtotal": 5000,
    "discount_total": 500,
    "shipping": 499,
    "tax_total": 326,
    "grand_total": 5325
  },
  "promotions": [
    {
      "id": "save10",
      "code": "SAVE10",
      "amount": 500
    }
  ],
  "email": "ada@example.com",
  "shipping_address": {
    "name": "Ada Lovelace",
    "line1": "1 Market St",
    "line2": "Suite 300",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US"
  },
  "shipping_method": "standard",
  "payment": {
    "provider": "test",
    "reference": "test_ord_3b9d2f4a6c8e0a1b2c3d4e5f"
  },
  "status": "paid",
  "history": [
    {
      "at_ms": 1795262400000,
      "status": "pending_payment"
    },
    {
      "at_ms": 1795262400412,
      "status": "paid"
    }
  ],
  "created_at_ms": 1795262400000
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "`unknown_parameter` (this route accepts no query parameters) or `duplicate_parameter`; `param` names it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Order"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"expand\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f?expand=lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "expand"
}"# },
                    ] },
                ],
                })),
                ("404", Response::Own(Resp {
                    description: "Codes:\n\n- `order_not_found`: no order has this id, the id is malformed, or the token is missing or wrong.\n- `route_not_found`: the path has an empty or an extra segment; no route matches it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Order"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "order_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/order_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No order has this id, or the token does not open it.",
  "code": "order_not_found",
  "instance": "/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Own(Resp {
                    description: "`storage_unavailable`: the order's Durable Object could not be reached or failed; the cause is logged, never shown. Retry after `Retry-After` seconds.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Order")), ("Retry-After", Hdr::Ref("Retry-After"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "storage_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/storage_unavailable",
  "title": "Storage temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "storage_unavailable",
  "instance": "/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
            ],
        },
        Handler::CancelOrder => Op {
            id: "cancelOrder",
            tag: "Checkout",
            summary: "Cancel an order (shopper)",
            description: "Cancels the order with the order's token (`Authorization: Bearer <order_token>`): an order that is `paid` and not yet fulfilled becomes `cancelled`, its sold units are put back on sale and its payment is refunded. An order that is `fulfilled`, `cancelled` or `refunded` cannot be cancelled (409 `illegal_transition`). Cancelling is the only change open to shoppers. The status change and the effects it owes are committed together in the order's Durable Object, then carried out before the answer: each line's sold units go back on sale in its SKU's stock object (a `restock` movement, op id `{order id}:restock-{event}:{sku}`), the whole payment is refunded through the provider the order was paid with (`test`: no money moves; `stripe`: `POST /v1/refunds` for the PaymentIntent, with `Idempotency-Key: refund-{order id}`), and the cancellation is recorded in the store's audit trail (action `order.cancel`, actor `shopper`). Each effect is idempotent; one that fails stays owed and the order's object retries it every 30 seconds, so the answer (200, with the new status) may come before a restock or refund that is still owed. No body is read. Not idempotent by key: repeating a cancellation that was applied answers 409 `illegal_transition`. Never cached (`Cache-Control: no-store`). Accepts no query parameters. Order of checks: query parameters (400), the presence of a token (404), the id's shape (404), the order's object (503), the token itself (404), then the order's status (409).",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The order after the change.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Order"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Order"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "schema": 1,
  "id": "ord_3b9d2f4a6c8e0a1b2c3d4e5f",
  "cart_id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "currency": "USD",
  "prices_include_tax": false,
  "lines": [
    {
      "sku": "KTL-1-STEEL",
      "quantity": 2,
      "unit_price": 2500,
      "discount": 500,
      "tax": 326,
      "line_total": 4826
    }
  ],
  "totals": {
    "subtotal": 5000,
    "discount_total": 500,
    "shipping": 499,
    "tax_total": 326,
    "grand_total": 5325
  },
  "promotions": [
    {
      "id": "save10",
      "code": "SAVE10",
      "amount": 500
    }
  ],
  "email": "ada@example.com",
  "shipping_address": {
    "name": "Ada Lovelace",
    "line1": "1 Market St",
    "line2": "Suite 300",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US"
  },
  "shipping_method": "standard",
  "payment": {
    "provider": "test",
    "reference": "test_ord_3b9d2f4a6c8e0a1b2c3d4e5f"
  },
  "status": "cancelled",
  "history": [
    {
      "at_ms": 1795262400000,
      "status": "pending_payment"
    },
    {
      "at_ms": 1795262400412,
      "status": "paid"
    },
    {
      "at_ms": 1795266000000,
      "status": "cancelled"
    }
  ],
  "created_at_ms": 1795262400000
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused (this route accepts none); `param` names it. Codes: `unknown_parameter`, `duplicate_parameter`. Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Order"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"reason\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f/cancel?reason=late",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "reason"
}"# },
                    ] },
                ],
                })),
                ("404", Response::Own(Resp {
                    description: "Nothing was changed. Codes:\n\n- `order_not_found`: no order has this id, the id is malformed, or the token is missing or wrong.\n- `route_not_found`: the path has an empty or an extra segment; no route matches it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Order"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "order_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/order_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No order has this id, or the token does not open it.",
  "code": "order_not_found",
  "instance": "/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f/cancel",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "`illegal_transition`: the order's status does not allow this change (see `OrderStatus`); `detail` names the status. Nothing was changed. Repeating a change that was applied answers this too.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Order"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "illegal_transition", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/illegal_transition",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "An order that is fulfilled cannot be cancelled.",
  "code": "illegal_transition",
  "instance": "/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f/cancel",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Own(Resp {
                    description: "`storage_unavailable`: the order's Durable Object could not be reached or failed; the cause is logged, never shown. The cancellation may nonetheless have been committed: read the order before repeating it (a repeated cancellation answers 409 `illegal_transition`). Retry after `Retry-After` seconds.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Order")), ("Retry-After", Hdr::Ref("Retry-After"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "storage_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/storage_unavailable",
  "title": "Storage temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "storage_unavailable",
  "instance": "/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f/cancel",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
            ],
        },
        Handler::AdminGetProduct => Op {
            id: "getStoredProduct",
            tag: "Admin",
            summary: "Read a product as stored",
            description: "Returns product `{id}` exactly as the catalog writer Durable Object stores it (a `ProductRecord`, the same `product` a write answers with): the shared catalog's own record, with `position`, `created_at`, `max_per_order` and each variant's base prices in every currency. Unlike `GET /v1/products/{id_or_slug}`, which shows one store's view (that store's own prices in place of base prices, one currency, availability), it is the same whatever the store; a store's own prices are listed by `GET /admin/v1/store/prices`. The body without `schema` is a valid `ProductInput`: sending it back unchanged with `PUT /admin/v1/products/{id}` answers `unchanged`, so a back office edits this record, never the public view. Read from the catalog writer itself, not from KV: it reflects every write acknowledged before it, at every edge. Reading changes nothing and records nothing in the audit trail. Never cached (`Cache-Control: no-store`, no `ETag`). HEAD answers like GET, without a body. Accepts no query parameters. Order of checks: the token (401), query parameters (400), the product (404), then the catalog writer (503). Allowed to roles `admin` and `viewer` of any store: the catalog is shared by every store.",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The product as stored.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("ProductRecord"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "schema": 1,
  "id": "prd_kettle1",
  "slug": "stovetop-kettle",
  "name": "Stovetop Kettle",
  "description": "A 1.7 l kettle for gas and induction hobs.",
  "category": "kitchen",
  "tags": [
    "tea",
    "induction"
  ],
  "position": 10,
  "created_at": "2026-11-21T12:00:00.000Z",
  "images": [
    {
      "url": "/img/kitchen.svg",
      "alt": "Stovetop Kettle"
    }
  ],
  "variants": [
    {
      "sku": "KTL-1-STEEL",
      "name": "Steel",
      "options": {
        "finish": "Steel"
      },
      "prices": {
        "EUR": 2300,
        "USD": 2500
      }
    }
  ],
  "max_per_order": 3
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused (this route accepts none); `param` names it. Codes: `unknown_parameter`, `duplicate_parameter`.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"store\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/products/prd_kettle1?store=bank",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "store"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("404", Response::Own(Resp {
                    description: "`product_not_found`: no product has this id (an id, not a slug: the path is matched exactly).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "product_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/product_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No product has this id.",
  "code": "product_not_found",
  "instance": "/admin/v1/products/prd_kettle1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminServiceUnavailable")),
            ],
        },
        Handler::PutProduct => Op {
            id: "upsertProduct",
            tag: "Admin",
            summary: "Create or replace a product",
            description: "Creates product `{id}` or replaces it entirely with the body, a `ProductInput` whose `id` must equal `{id}`. Answers 201 `created` for a new product, 200 `updated` when the stored product differed and 200 `unchanged` when it was identical (nothing written, audited or published; sending the same body again is safe). `created_at` may be left out: a replaced product keeps its stored timestamp, a new one is stamped with the time of the write. Every other field left out takes its default, so to change part of a product, start from `GET /admin/v1/products/{id}` (the stored product: without `schema`, a body that changes nothing), not from the public view `GET /v1/products/{id_or_slug}`, which shows one store's prices in place of the base prices and has no `position`. The response carries the stored product. The write is serialized with every other admin write through the catalog writer Durable Object, committed atomically with its audit-trail entry, and published as a new catalog version before the answer: the edge that handled it sees it on its next read, other edges within KV's propagation window (about 60 seconds). All-or-nothing: a refused body changes nothing. Requires role `admin`.",
            headers: &["XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The product, as `application/json` of at most 64 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("ProductInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The product was replaced (`updated`) or already was exactly so (`unchanged`).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("WriteResult"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "outcome": "updated",
  "catalog_version": "3b9f0c6a1d2e4f58",
  "product": {
    "schema": 1,
    "id": "prd_kettle1",
    "slug": "stovetop-kettle",
    "name": "Stovetop Kettle",
    "description": "A 1.7 l kettle for gas and induction hobs.",
    "category": "kitchen",
    "tags": [
      "tea",
      "induction"
    ],
    "position": 10,
    "created_at": "2026-11-21T12:00:00.000Z",
    "images": [
      {
        "url": "/img/kitchen.svg",
        "alt": "Stovetop Kettle"
      }
    ],
    "variants": [
      {
        "sku": "KTL-1-STEEL",
        "name": "Steel",
        "options": {
          "finish": "Steel"
        },
        "prices": {
          "EUR": 2300,
          "USD": 2500
        }
      }
    ]
  }
}"# },
                    ] },
                ],
                })),
                ("201", Response::Own(Resp {
                    description: "The product was created (`created`).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("WriteResult"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "outcome": "created",
  "catalog_version": "3b9f0c6a1d2e4f58",
  "product": {
    "schema": 1,
    "id": "prd_kettle1",
    "slug": "stovetop-kettle",
    "name": "Stovetop Kettle",
    "description": "A 1.7 l kettle for gas and induction hobs.",
    "category": "kitchen",
    "tags": [
      "tea",
      "induction"
    ],
    "position": 10,
    "created_at": "2026-11-21T12:00:00.000Z",
    "images": [
      {
        "url": "/img/kitchen.svg",
        "alt": "Stovetop Kettle"
      }
    ],
    "variants": [
      {
        "sku": "KTL-1-STEEL",
        "name": "Steel",
        "options": {
          "finish": "Steel"
        },
        "prices": {
          "EUR": 2300,
          "USD": 2500
        }
      }
    ]
  }
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused before anything is written. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `duplicate_parameter`: a query parameter is given more than once; `param` names it.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field the input does not define; `field` names it.\n- `missing_field`: a required field is absent; `field` names it.\n- `invalid_type`: a field, or the body itself, has the wrong JSON type or is out of its type's range; `field` names it when it is a field.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "unknown field `price`, expected one of `id`, `slug`, `name`, `description`, `category`, `tags`, `position`, `created_at`, `images`, `variants`, `max_per_order` at line 1 column 72",
  "code": "unknown_field",
  "instance": "/admin/v1/products/prd_kettle1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "price"
}"# },
                        Example { name: "missing_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/missing_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "missing field `name` at line 1 column 54",
  "code": "missing_field",
  "instance": "/admin/v1/products/prd_kettle1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "name"
}"# },
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/products/prd_kettle1?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("413", Response::Shared("AdminPayloadTooLarge")),
                ("415", Response::Shared("AdminUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: the body is well formed but breaks rules; `errors` lists every problem found (see `FieldProblem` for each code). A body whose `id` differs from `{id}` is refused with `id_mismatch` alone; a bad price key or amount (`unknown_currency`, `invalid_price`) is reported before the other rules are checked. A `max_per_order` outside 1 to 99 is `invalid_quantity` (field `max_per_order`). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "validation_failed", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "3 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/products/prd_kettle1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "category",
      "code": "unknown_category",
      "message": "no such category"
    },
    {
      "field": "images[0].url",
      "code": "invalid_url",
      "message": "must be an https:// URL or a path starting with /"
    },
    {
      "field": "slug",
      "code": "duplicate_slug",
      "message": "already used by prd_00042"
    }
  ]
}"# },
                        Example { name: "id_mismatch", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/products/prd_kettle1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "id",
      "code": "id_mismatch",
      "message": "the body's id must be prd_kettle1, as in the path"
    }
  ]
}"# },
                        Example { name: "invalid_quantity", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/products/prd_kettle1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "max_per_order",
      "code": "invalid_quantity",
      "message": "must be from 1 to 99 when given"
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminServiceUnavailable")),
            ],
        },
        Handler::DeleteProduct => Op {
            id: "deleteProduct",
            tag: "Admin",
            summary: "Delete a product",
            description: "Deletes product `{id}` with its variants and prices, freeing its slug and SKUs. Answers 200 `deleted` (without `product`); a product that does not exist is 404. No request body is read. The write is serialized with every other admin write through the catalog writer Durable Object, committed atomically with its audit-trail entry, and published as a new catalog version before the answer: the edge that handled it sees it on its next read, other edges within KV's propagation window (about 60 seconds). Requires role `admin`.",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The product was deleted.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("WriteResult"), examples: &[
                        Example { name: "example", summary: None, value: r#"{"outcome": "deleted", "catalog_version": "7d0e5a4b3c2f1e09"}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `duplicate_parameter`: a query parameter is given more than once; `param` names it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/products/prd_kettle1?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "`product_not_found`: no product has this id. Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "product_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/product_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No product has this id.",
  "code": "product_not_found",
  "instance": "/admin/v1/products/prd_kettle1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminServiceUnavailable")),
            ],
        },
        Handler::PutPrice => Op {
            id: "setPrice",
            tag: "Admin",
            summary: "Set a variant's price in one currency",
            description: "Sets the price of variant `{sku}` in `{currency}` to `amount` minor units, adding the currency to its price list if it had no price in it. Answers 200 `updated`, or 200 `unchanged` when the price already was this amount (nothing written, audited or published); the response carries the product the SKU belongs to. Order of checks: the currency (404 `unknown_currency`), the amount (422), then the SKU (404 `sku_not_found`). The write is serialized with every other admin write through the catalog writer Durable Object, committed atomically with its audit-trail entry, and published as a new catalog version before the answer: the edge that handled it sees it on its next read, other edges within KV's propagation window (about 60 seconds). All-or-nothing: a refused request changes nothing. Requires role `admin`.",
            headers: &["XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The amount, as `application/json` of at most 64 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("PriceInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The price was set (`updated`) or already was this amount (`unchanged`).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("WriteResult"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "outcome": "updated",
  "catalog_version": "5a1c3e7f9b2d4068",
  "product": {
    "schema": 1,
    "id": "prd_kettle1",
    "slug": "stovetop-kettle",
    "name": "Stovetop Kettle",
    "description": "A 1.7 l kettle for gas and induction hobs.",
    "category": "kitchen",
    "tags": [
      "tea",
      "induction"
    ],
    "position": 10,
    "created_at": "2026-11-21T12:00:00.000Z",
    "images": [
      {
        "url": "/img/kitchen.svg",
        "alt": "Stovetop Kettle"
      }
    ],
    "variants": [
      {
        "sku": "KTL-1-STEEL",
        "name": "Steel",
        "options": {
          "finish": "Steel"
        },
        "prices": {
          "EUR": 2300,
          "USD": 2600
        }
      }
    ]
  }
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused before anything is written. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `duplicate_parameter`: a query parameter is given more than once; `param` names it.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field the input does not define; `field` names it.\n- `missing_field`: a required field is absent; `field` names it.\n- `invalid_type`: a field, or the body itself, has the wrong JSON type or is out of its type's range; `field` names it when it is a field.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "unknown field `currency`, expected `amount` at line 1 column 22",
  "code": "unknown_field",
  "instance": "/admin/v1/prices/KTL-1-STEEL/USD",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "currency"
}"# },
                        Example { name: "missing_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/missing_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "missing field `amount` at line 1 column 2",
  "code": "missing_field",
  "instance": "/admin/v1/prices/KTL-1-STEEL/USD",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "amount"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "Nothing was changed. Codes:\n\n- `unknown_currency`: `{currency}` is not three letters, or not a currency the shop knows.\n- `sku_not_found`: no variant has this SKU.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_currency", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_currency",
  "title": "Not found",
  "status": 404,
  "detail": "Not a known ISO 4217 currency code.",
  "code": "unknown_currency",
  "instance": "/admin/v1/prices/KTL-1-STEEL/XYZ",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                        Example { name: "sku_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/sku_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No variant has this SKU.",
  "code": "sku_not_found",
  "instance": "/admin/v1/prices/NOPE-1/USD",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("413", Response::Shared("AdminPayloadTooLarge")),
                ("415", Response::Shared("AdminUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: `amount` is not an integer from 0 to 100000000000 (`errors` holds one `invalid_price` problem for field `amount`). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_price", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/prices/KTL-1-STEEL/USD",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "amount",
      "code": "invalid_price",
      "message": "must be a non-negative integer of minor units"
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminServiceUnavailable")),
            ],
        },
        Handler::DeletePrice => Op {
            id: "deletePrice",
            tag: "Admin",
            summary: "Delete a variant's price in one currency",
            description: "Removes the price of variant `{sku}` in `{currency}`. Answers 200 `deleted` (without `product`). A variant keeps at least one price: deleting its only one is 409 `last_price` (set another first). No request body is read. The write is serialized with every other admin write through the catalog writer Durable Object, committed atomically with its audit-trail entry, and published as a new catalog version before the answer: the edge that handled it sees it on its next read, other edges within KV's propagation window (about 60 seconds). All-or-nothing: a refused request changes nothing. Requires role `admin`.",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The price was deleted.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("WriteResult"), examples: &[
                        Example { name: "example", summary: None, value: r#"{"outcome": "deleted", "catalog_version": "9e8d7c6b5a403f21"}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `duplicate_parameter`: a query parameter is given more than once; `param` names it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/prices/KTL-1-STEEL/EUR?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "Nothing was changed. Codes:\n\n- `sku_not_found`: no variant has this SKU.\n- `price_not_found`: the variant has no price in `{currency}`; also when `{currency}` is not three letters or not a currency the shop knows.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "sku_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/sku_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No variant has this SKU.",
  "code": "sku_not_found",
  "instance": "/admin/v1/prices/NOPE-1/EUR",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                        Example { name: "price_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/price_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "This SKU has no price in this currency.",
  "code": "price_not_found",
  "instance": "/admin/v1/prices/KTL-1-STEEL/JPY",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "`last_price`: this is the variant's only price; set a price in another currency first. Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "last_price", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/last_price",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "USD is the only price of KTL-1-STEEL; set another first",
  "code": "last_price",
  "instance": "/admin/v1/prices/KTL-1-STEEL/USD",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminServiceUnavailable")),
            ],
        },
        Handler::PutCategory => Op {
            id: "upsertCategory",
            tag: "Admin",
            summary: "Create or rename a category",
            description: "Creates category `{slug}` (201 `created`, appended to the end of the merchant's category order) or renames it (200 `updated`); 200 `unchanged` when it already has this name (nothing written, audited or published). Categories cannot be deleted. The response has no `product`. The write is serialized with every other admin write through the catalog writer Durable Object, committed atomically with its audit-trail entry, and published as a new catalog version before the answer: the edge that handled it sees it on its next read, other edges within KV's propagation window (about 60 seconds). All-or-nothing: a refused request changes nothing. Requires role `admin`.",
            headers: &["XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The name, as `application/json` of at most 64 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("CategoryInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The category was renamed (`updated`) or already had this name (`unchanged`).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("WriteResult"), examples: &[
                        Example { name: "example", summary: None, value: r#"{"outcome": "updated", "catalog_version": "3b9f0c6a1d2e4f58"}"# },
                    ] },
                ],
                })),
                ("201", Response::Own(Resp {
                    description: "The category was created (`created`).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("WriteResult"), examples: &[
                        Example { name: "example", summary: None, value: r#"{"outcome": "created", "catalog_version": "3b9f0c6a1d2e4f58"}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused before anything is written. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `duplicate_parameter`: a query parameter is given more than once; `param` names it.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field the input does not define; `field` names it.\n- `missing_field`: a required field is absent; `field` names it.\n- `invalid_type`: a field, or the body itself, has the wrong JSON type or is out of its type's range; `field` names it when it is a field.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "missing_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/missing_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "missing field `name` at line 1 column 2",
  "code": "missing_field",
  "instance": "/admin/v1/categories/kitchen",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "name"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("413", Response::Shared("AdminPayloadTooLarge")),
                ("415", Response::Shared("AdminUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: `errors` lists every problem: `invalid_slug` (field `slug`: `{slug}` is not lowercase words of letters and digits joined by single hyphens, at most 120 characters) and `invalid_length` (field `name`: empty after trimming or longer than 200 characters). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "validation_failed", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "2 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/categories/Kitchen_Tools",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "slug",
      "code": "invalid_slug",
      "message": "must be lowercase words of letters and digits joined by single hyphens"
    },
    {
      "field": "name",
      "code": "invalid_length",
      "message": "must be 1 to 200 characters"
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminServiceUnavailable")),
            ],
        },
        Handler::ImportCatalog => Op {
            id: "importCatalog",
            tag: "Admin",
            summary: "Import products from NDJSON",
            description: "Creates or replaces many products from an NDJSON body: each non-blank line is one `ProductInput`, applied exactly like `PUT /admin/v1/products/{id}` with the line's `id` (without `id_mismatch`). The body is streamed, so its total size is not limited, but each line may be at most 64 KiB (65536 bytes; longer lines are rejected with `line_too_long`) and only the first 100,000 non-blank lines are read (later lines are rejected with `too_many_lines`). Lines that are not UTF-8 are rejected with `invalid_utf8`, unreadable or invalid lines with the codes of a single write.\n\nEach line stands alone: valid lines are applied, rejected lines change nothing, and the answer is 200 with an `ImportReport` counting every line (`created`, `updated`, `unchanged`, `rejected`) and listing the first 1,000 rejected lines with all their problems (`errors_truncated` is true when more were rejected). A line identical to the stored product counts as `unchanged`, so re-importing the same file changes nothing. A later line with the same `id` as an earlier one replaces it.\n\nLines are applied in batches, each committed atomically with one audit-trail entry per changed product, through the same Durable Object that serializes all admin writes; everything the import changed is published as a new catalog version before the answer (the edge that handled it sees it on its next read, other edges within KV's propagation window, about 60 seconds); during a long import, batches already committed may become visible earlier. An import is not atomic as a whole: if it fails part way (400 `invalid_body` for a broken body stream, 503), batches already committed stay applied and are published shortly; re-import the file (lines already applied count as `unchanged`). Requires role `admin`.",
            headers: &["XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The products, one JSON object per line (`Content-Type: application/x-ndjson` or `application/jsonl`).",
                content: &[
                    Content { media: "application/x-ndjson", schema: Inline(r#"{"type": "string", "description": "Newline-delimited JSON: one `ProductInput` object per line (LF or CRLF). Blank lines are skipped but counted in line numbers."}"#), examples: &[
                        Example { name: "two_products", summary: None, value: r#""{\"id\":\"prd_kettle1\",\"slug\":\"stovetop-kettle\",\"name\":\"Stovetop Kettle\",\"category\":\"kitchen\",\"variants\":[{\"sku\":\"KTL-1-STEEL\",\"name\":\"Steel\",\"prices\":{\"USD\":2500,\"EUR\":2300}}]}\n{\"id\":\"prd_mug1\",\"slug\":\"enamel-mug\",\"name\":\"Enamel Mug\",\"category\":\"kitchen\",\"tags\":[\"camping\"],\"variants\":[{\"sku\":\"MUG-1-WHITE\",\"name\":\"White\",\"prices\":{\"USD\":1200}}]}\n""# },
                    ] },
                    Content { media: "application/jsonl", schema: Inline(r#"{"type": "string", "description": "Newline-delimited JSON: one `ProductInput` object per line (LF or CRLF). Blank lines are skipped but counted in line numbers."}"#), examples: &[
                        Example { name: "two_products", summary: None, value: r#""{\"id\":\"prd_kettle1\",\"slug\":\"stovetop-kettle\",\"name\":\"Stovetop Kettle\",\"category\":\"kitchen\",\"variants\":[{\"sku\":\"KTL-1-STEEL\",\"name\":\"Steel\",\"prices\":{\"USD\":2500,\"EUR\":2300}}]}\n{\"id\":\"prd_mug1\",\"slug\":\"enamel-mug\",\"name\":\"Enamel Mug\",\"category\":\"kitchen\",\"tags\":[\"camping\"],\"variants\":[{\"sku\":\"MUG-1-WHITE\",\"name\":\"White\",\"prices\":{\"USD\":1200}}]}\n""# },
                    ] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The import report: every line is counted; rejected lines are listed (the first 1,000).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("ImportReport"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "received": 1203,
  "created": 1150,
  "updated": 40,
  "unchanged": 10,
  "rejected": 3,
  "errors": [
    {
      "line": 17,
      "errors": [
        {
          "field": "variants[0].prices.EUR",
          "code": "invalid_price",
          "message": "must be a non-negative integer of minor units"
        }
      ]
    },
    {
      "line": 240,
      "errors": [
        {
          "field": null,
          "code": "invalid_json",
          "message": "EOF while parsing a value at line 1 column 14"
        }
      ]
    },
    {
      "line": 981,
      "errors": [
        {
          "field": "category",
          "code": "unknown_category",
          "message": "no such category"
        },
        {
          "field": "slug",
          "code": "duplicate_slug",
          "message": "already used by prd_00042"
        }
      ]
    }
  ],
  "errors_truncated": false,
  "catalog_version": "3b9f0c6a1d2e4f58"
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `duplicate_parameter`: a query parameter is given more than once; `param` names it.\n- `invalid_body`: the body could not be read, or its stream broke part way (lines read before may have been applied).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/catalog/import?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("415", Response::Own(Resp {
                    description: "`unsupported_media_type`: the `Content-Type` is neither `application/x-ndjson` nor `application/jsonl` (parameters such as `charset` are allowed). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unsupported_media_type", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unsupported_media_type",
  "title": "Unsupported media type",
  "status": 415,
  "detail": "Send the body as application/x-ndjson or application/jsonl.",
  "code": "unsupported_media_type",
  "instance": "/admin/v1/catalog/import",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminServiceUnavailable")),
            ],
        },
        Handler::ListAudit => Op {
            id: "listAudit",
            tag: "Admin",
            summary: "Read the audit trail",
            description: "Lists the audit trail, oldest entry first: one entry per applied change (`unchanged` writes and refused requests record none), with the token label that made it, when, what and the before/after summaries. This is the shared trail: the catalog's changes, each with `store: null`; each store's own records (its configuration, promotions, order actions and profile) are in its trail, `GET /admin/v1/store/audit`. Entries are written atomically with their change and never altered or removed. Page through with `next_cursor` until it is null. Allowed to roles `admin` and `viewer`.",
            headers: &["XRequestId"],
            query: &[
                QueryDoc::Inline(Param {
                    name: "limit",
                    place: Place::Query,
                    required: false,
                    description: "Page size: an integer from 1 to 200 written with digits only (default 50), else 400 `invalid_limit`.",
                    schema: r#"{"anyOf": [{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "cursor",
                    place: Place::Query,
                    required: false,
                    description: "Opaque cursor: the `next_cursor` of the previous page, passed back as it is. A malformed cursor is 400 `invalid_cursor`.",
                    schema: r#"{"anyOf": [{"type": "string", "pattern": "^a[0-9]{1,19}$"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "One page of audit entries.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("AuditPage"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "items": [
    {
      "seq": 41,
      "at": "2026-11-21T11:59:58.214Z",
      "actor": "ops",
      "store": null,
      "action": "product.create",
      "target": "product:prd_kettle1",
      "fields": [],
      "before": null,
      "after": {
        "slug": "stovetop-kettle",
        "name": "Stovetop Kettle",
        "category": "kitchen",
        "variants": 1,
        "prices": {
          "EUR": [
            2300,
            2300
          ],
          "USD": [
            2500,
            2500
          ]
        }
      }
    },
    {
      "seq": 42,
      "at": "2026-11-21T12:00:00.000Z",
      "actor": "ops",
      "store": null,
      "action": "price.set",
      "target": "price:KTL-1-STEEL:USD",
      "fields": [
        "prices.USD"
      ],
      "before": {
        "amount": 2500,
        "currency": "USD"
      },
      "after": {
        "amount": 2600,
        "currency": "USD"
      }
    }
  ],
  "next_cursor": "a42"
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (it accepts `limit` and `cursor`).\n- `duplicate_parameter`: a parameter is given more than once.\n- `invalid_limit`: `limit` is not an integer from 1 to 200 written with digits only.\n- `invalid_cursor`: `cursor` is malformed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_limit", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_limit",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "limit must be an integer from 1 to 200.",
  "code": "invalid_limit",
  "instance": "/admin/v1/audit?limit=500",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "limit"
}"# },
                        Example { name: "invalid_cursor", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_cursor",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Pass back next_cursor as it is.",
  "code": "invalid_cursor",
  "instance": "/admin/v1/audit?cursor=abc",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "cursor"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("503", Response::Shared("AdminServiceUnavailable")),
            ],
        },
        Handler::Session => Op {
            id: "getAdminSession",
            tag: "Admin",
            summary: "Who the admin token is",
            description: "Answers the presented admin token's `label` (the actor its writes are recorded under), `role` (`operator`, `admin` or `viewer`) and `store` (the store an admin or viewer token belongs to; null for an operator), so that a back office can sign in with a token and shape its UI: which store to show, whether to offer writes. It only describes the token: every other route still checks the token itself. Any valid admin token may call it. Reads nothing but the Worker's configuration. Accepts no query parameters. Never cached (`Cache-Control: no-store`).",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The token's label, role and store.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("AdminSession"), examples: &[
                        Example { name: "operator", summary: Some("An operator's token"), value: r#"{"label": "ops", "role": "operator", "store": null}"# },
                        Example { name: "viewer", summary: Some("A viewer of the store bank"), value: r#"{"label": "bank-look", "role": "viewer", "store": "bank"}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (it accepts none).\n- `duplicate_parameter`: a parameter is given more than once.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"store\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/session?store=bank",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "store"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("503", Response::Own(Resp {
                    description: "`misconfigured`: the Worker's `ADMIN_TOKENS` is invalid; the cause is logged, never shown. Retry after `Retry-After` seconds.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin")), ("Retry-After", Hdr::Ref("Retry-After"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "misconfigured", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/misconfigured",
  "title": "Service misconfigured",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "misconfigured",
  "instance": "/admin/v1/session",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
            ],
        },
        Handler::ListStoreAudit => Op {
            id: "listStoreAudit",
            tag: "Admin",
            summary: "Read the store's audit trail",
            description: "Lists the store's audit trail, oldest entry first: one entry per applied change of the store's own records (writes that change nothing and refused requests record none), with the token label that made it (`actor`; `shopper` for an order the shopper cancelled), the store (`store`), when, what and the before/after snapshots. It records the store's configuration (`store.config.set`), its promotions (`promotion.set`, `promotion.delete`), the admin actions on its orders and the shopper's cancellations (`order.fulfil`, `order.refund`, `order.cancel`) and its profile, written by an operator (`store.create`, `store.update`); the shared catalog's changes are in `GET /admin/v1/audit`. Configuration and promotion entries are written atomically with their change by the store's Durable Object. Order actions and profile changes are committed with their change by the order's Durable Object or the store directory, then delivered to the store's trail (before the write answers, unless that delivery fails: it is then retried every 30 seconds, and recorded once however often it is delivered); such an entry is numbered when it arrives, and its `at` is when its change was committed. Entries are never altered or removed. Page through with `next_cursor` until it is null. Allowed to roles `admin` and `viewer` of the store (and operators); another store's token is 403.",
            headers: &["XRequestId"],
            query: &[
                QueryDoc::Inline(Param {
                    name: "limit",
                    place: Place::Query,
                    required: false,
                    description: "Page size: an integer from 1 to 200 written with digits only (default 50), else 400 `invalid_limit`.",
                    schema: r#"{"anyOf": [{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "cursor",
                    place: Place::Query,
                    required: false,
                    description: "Opaque cursor: the `next_cursor` of the previous page, passed back as it is. A malformed cursor is 400 `invalid_cursor`.",
                    schema: r#"{"anyOf": [{"type": "string", "pattern": "^a[0-9]{1,19}$"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "One page of audit entries.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("AuditPage"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "items": [
    {
      "seq": 6,
      "at": "2026-11-21T11:58:30.120Z",
      "actor": "ops",
      "store": "bank",
      "action": "store.update",
      "target": "store:bank",
      "fields": [
        "enabled"
      ],
      "before": {
        "schema": 1,
        "id": "bank",
        "name": "Harbour Bank Rewards",
        "hosts": [
          "rewards.harbourbank.example"
        ],
        "default_currency": "GBP",
        "currencies": [
          "GBP"
        ],
        "enabled": false,
        "skin": {
          "name": "Harbour Bank Rewards",
          "colours": {},
          "hero": "",
          "footer": ""
        },
        "selection": {
          "type": "all"
        }
      },
      "after": {
        "schema": 1,
        "id": "bank",
        "name": "Harbour Bank Rewards",
        "hosts": [
          "rewards.harbourbank.example"
        ],
        "default_currency": "GBP",
        "currencies": [
          "GBP"
        ],
        "enabled": true,
        "skin": {
          "name": "Harbour Bank Rewards",
          "colours": {},
          "hero": "",
          "footer": ""
        },
        "selection": {
          "type": "all"
        }
      }
    },
    {
      "seq": 7,
      "at": "2026-11-21T11:59:58.214Z",
      "actor": "bank-ops",
      "store": "bank",
      "action": "promotion.delete",
      "target": "promotion:save10",
      "fields": [],
      "before": {
        "schema": 1,
        "id": "save10",
        "code": "SAVE10",
        "description": "10 % off everything",
        "discount": {
          "type": "percentage",
          "basis_points": 1000
        },
        "target": {
          "type": "cart"
        },
        "active": true
      },
      "after": null
    },
    {
      "seq": 8,
      "at": "2026-11-21T12:00:00.000Z",
      "actor": "bank-ops",
      "store": "bank",
      "action": "order.refund",
      "target": "order:ord_3b9d2f4a6c8e0a1b2c3d4e5f",
      "fields": [
        "status"
      ],
      "before": {
        "status": "paid"
      },
      "after": {
        "status": "refunded"
      }
    }
  ],
  "next_cursor": "a8"
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (it accepts `limit` and `cursor`).\n- `duplicate_parameter`: a parameter is given more than once.\n- `invalid_limit`: `limit` is not an integer from 1 to 200 written with digits only.\n- `invalid_cursor`: `cursor` is malformed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_limit", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_limit",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "limit must be an integer from 1 to 200.",
  "code": "invalid_limit",
  "instance": "/admin/v1/store/audit?limit=500",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "limit"
}"# },
                        Example { name: "invalid_cursor", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_cursor",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Pass back next_cursor as it is.",
  "code": "invalid_cursor",
  "instance": "/admin/v1/store/audit?cursor=abc",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "cursor"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::SetOnHandBatch => Op {
            id: "setOnHandBatch",
            tag: "Admin",
            summary: "Set the units on hand of many SKUs at once (batch stock count)",
            description: "Sets the units on hand of up to 200 SKUs, as `PUT /admin/v1/inventory/{sku}` does for one: each item is a `set` movement (reason default `count`) applied by its SKU's stock Durable Object, atomically with its movement-history entries, before the answer. The items are applied concurrently and independently, not all-or-nothing: the answer is 200 whenever the batch itself is accepted, with one outcome per item in request order (`status: ok` with the SKU's levels, or `status: error` with a stable `code`) and the counts `updated` and `failed`. Whether each SKU exists is decided by one read of the live catalog version this edge holds (an unknown SKU fails its item with `sku_not_found` and nothing is written for it). Refusals of the whole batch, before anything is written: the token (401, 403), query parameters (400), the body's media type (415), size (413, at most 256 KiB) and JSON shape (400, `field` names the item's member, `items[2].on_hand`), then the batch rules (400 `empty_batch`, `too_many_items` above 200 items, `duplicate_sku`), then the catalog (503). Then, per item: the SKU (`sku_not_found`), `reason` (`invalid_length`), the stock ledger (`invalid_quantity`, `below_committed`), the stock object (`storage_unavailable`). Send an `Idempotency-Key` to retry safely: each item's operation id is the key with the SKU, so retrying the batch after a timeout, a 503 or an item's `storage_unavailable` applies every item at most once (see the header). Like every stock write it publishes no catalog version and records no audit-trail entry; `GET /v1/inventory/{sku}` and `GET /admin/v1/inventory/{sku}` reflect each item at once, and the listing's stock snapshot follows within seconds. Each item is one Durable Object request of this invocation (up to 200). Requires role `admin`.",
            headers: &["InventoryBatchIdempotencyKey", "XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The counted stock of 1 to 200 SKUs, as `application/json` of at most 256 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("InventoryBatchInput"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "items": [
    {
      "sku": "KTL-1-STEEL",
      "on_hand": 10,
      "reason": "stocktake"
    },
    {
      "sku": "NO-SUCH-SKU",
      "on_hand": 4
    }
  ]
}"# },
                    ] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The batch was accepted; `items` says what happened to each SKU, in request order.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("InventoryBatchResult"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "items": [
    {
      "status": "ok",
      "sku": "KTL-1-STEEL",
      "levels": {
        "on_hand": 10,
        "reserved": 0,
        "sold": 0,
        "available": 10
      },
      "applied": true
    },
    {
      "status": "error",
      "sku": "NO-SUCH-SKU",
      "code": "sku_not_found",
      "detail": "No variant of the live catalog has this SKU."
    }
  ],
  "updated": 1,
  "failed": 1
}"# },
                        Example { name: "retried", summary: Some("The same batch again with the same Idempotency-Key: nothing applied twice"), value: r#"{
  "items": [
    {
      "status": "ok",
      "sku": "KTL-1-STEEL",
      "levels": {
        "on_hand": 10,
        "reserved": 0,
        "sold": 0,
        "available": 10
      },
      "applied": false
    },
    {
      "status": "error",
      "sku": "NO-SUCH-SKU",
      "code": "sku_not_found",
      "detail": "No variant of the live catalog has this SKU."
    }
  ],
  "updated": 1,
  "failed": 1
}"# },
                        Example { name: "item_refusals", summary: Some("Items refused by the stock ledger and by the reason rule"), value: r#"{
  "items": [
    {
      "status": "error",
      "sku": "KTL-1-STEEL",
      "code": "below_committed",
      "detail": "On hand may not go below 3, the units reserved and sold."
    },
    {
      "status": "error",
      "sku": "KTL-1-COPPER",
      "code": "invalid_quantity",
      "detail": "on_hand must be an integer from 0 to 1000000000 (on hand after the change too)"
    },
    {
      "status": "error",
      "sku": "KTL-2-BLACK",
      "code": "invalid_length",
      "detail": "reason must be 1 to 200 characters"
    }
  ],
  "updated": 0,
  "failed": 3
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The batch is refused before anything is written. Codes:\n\n- `empty_batch`: `items` is empty; `field` is `items`.\n- `too_many_items`: more than 200 items; `field` is `items`. Split the batch.\n- `duplicate_sku`: a SKU is given twice (exact match); `field` names the later item's `sku` (`items[3].sku`).\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `duplicate_parameter`: a query parameter is given more than once; `param` names it.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body or an item has a field the input does not define; `field` names it (`items[0].available`).\n- `missing_field`: a required field is absent; `field` names it (`items`, `items[1].on_hand`).\n- `invalid_type`: a field, or the body itself, has the wrong JSON type or is out of its type's range (e.g. a non-integer `on_hand`); `field` names it when it is a field.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "too_many_items", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/too_many_items",
  "title": "Invalid request body",
  "status": 400,
  "detail": "A batch takes at most 200 items; this one has 201. Split it.",
  "code": "too_many_items",
  "instance": "/admin/v1/inventory",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "items"
}"# },
                        Example { name: "duplicate_sku", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/duplicate_sku",
  "title": "Invalid request body",
  "status": 400,
  "detail": "This SKU is already item 1 of the batch; send each SKU once.",
  "code": "duplicate_sku",
  "instance": "/admin/v1/inventory",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "items[3].sku"
}"# },
                        Example { name: "empty_batch", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/empty_batch",
  "title": "Invalid request body",
  "status": 400,
  "detail": "Send 1 to 200 items.",
  "code": "empty_batch",
  "instance": "/admin/v1/inventory",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "items"
}"# },
                        Example { name: "unknown_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "unknown field `available`, expected one of `sku`, `on_hand`, `reason` at line 1 column 46",
  "code": "unknown_field",
  "instance": "/admin/v1/inventory",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "items[0].available"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("413", Response::Own(Resp {
                    description: "`payload_too_large`: the body (or its declared `Content-Length`) is larger than 256 KiB (262144 bytes). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "payload_too_large", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/payload_too_large",
  "title": "Request body too large",
  "status": 413,
  "detail": "The body may be at most 262144 bytes.",
  "code": "payload_too_large",
  "instance": "/admin/v1/inventory",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("415", Response::Shared("AdminUnsupportedMediaTypeJson")),
                ("503", Response::Own(Resp {
                    description: "Retry after `Retry-After` seconds; nothing was changed. Codes:\n\n- `catalog_unavailable`: the live catalog, which decides whether the SKUs exist, could not be read.\n- `misconfigured`: the Worker's configuration is invalid, e.g. a malformed `ADMIN_TOKENS` secret.\n\nA stock object that cannot be reached fails only its item (`storage_unavailable` in `items`), not the batch.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin")), ("Retry-After", Hdr::Ref("Retry-After"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "catalog_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/catalog_unavailable",
  "title": "Catalog temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "catalog_unavailable",
  "instance": "/admin/v1/inventory",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
            ],
        },
        Handler::GetStock => Op {
            id: "getInventoryLevels",
            tag: "Admin",
            summary: "Read a SKU's exact stock levels",
            description: "Returns the stock levels of variant `{sku}`: `on_hand`, `reserved` (units held by carts' and checkouts' holds that have not expired), `sold` and `available`, exactly as the SKU's stock Durable Object has them at the moment of the request. The object applies every hold, sale, count and adjustment one at a time, so the read reflects every change acknowledged before it, at every edge. A SKU of the catalog whose stock was never set answers all four at 0. Reading changes nothing and records no movement. The SKU must be one a variant of the live catalog version has (404 `sku_not_found`; that check follows the catalog's propagation across edges, about 60 seconds). Never cached (`Cache-Control: no-store`, no `ETag`). HEAD answers like GET, without a body. Accepts no query parameters. Order of checks: the token (401), query parameters (400), the SKU (404), then the stock object (503). Allowed to roles `admin` and `viewer`.",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The SKU's levels now.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("InventoryLevels"), examples: &[
                        Example { name: "example", summary: None, value: r#"{"sku": "KTL-1-STEEL", "on_hand": 10, "reserved": 2, "sold": 1, "available": 7}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused (this route accepts none); `param` names it. Codes: `unknown_parameter`, `duplicate_parameter`.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"limit\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/inventory/KTL-1-STEEL?limit=5",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "limit"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("404", Response::Own(Resp {
                    description: "`sku_not_found`: no variant of the live catalog version has this SKU (checked against the catalog version this edge holds).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "sku_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/sku_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No variant of the live catalog has this SKU.",
  "code": "sku_not_found",
  "instance": "/admin/v1/inventory/NO-SUCH-SKU",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminInventoryServiceUnavailable")),
            ],
        },
        Handler::SetOnHand => Op {
            id: "setOnHand",
            tag: "Admin",
            summary: "Set a SKU's units on hand (counted stock)",
            description: "Sets the units on hand of variant `{sku}` to `on_hand`, as after a stock count, and records a `set` movement (its `on_hand_delta` is the difference, possibly 0) with `reason` (default `count`). On hand may not drop below the units reserved by live holds plus the units sold (409 `below_committed`). Answers 200 with the SKU's levels after the write; setting the count it already has answers 200 too (and records another `set` movement unless it is an `Idempotency-Key` retry). The write is applied by the SKU's stock Durable Object, one at a time with every other change of this SKU's stock, atomically with its movement-history entries (holds found expired are released first and recorded as `expire` movements), before the answer; `GET /v1/inventory/{sku}` reflects it at once, at every edge. It publishes no catalog version and records no audit-trail entry. All-or-nothing: a refused request changes nothing. Send an `Idempotency-Key` to retry safely: a retry with the same key by the same token on this SKU within 24 hours answers the first outcome (200 with `applied: false`, or the same 409/422 refusal of the stock ledger) and changes nothing. Order of checks: the token (401, 403), query parameters (400), the body's media type (415), size (413) and JSON shape (400), the SKU (404), `reason` (422 `invalid_length`), then the stock ledger (422 `invalid_quantity`, 409 `below_committed`). Requires role `admin`.",
            headers: &["IdempotencyKey", "XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The counted stock, as `application/json` of at most 64 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("SetOnHandInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The count was applied (`applied: true`), or this `Idempotency-Key` had been applied before (`applied: false`, nothing changed). The levels are the SKU's levels now.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("InventoryWriteResult"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "sku": "KTL-1-STEEL",
  "on_hand": 10,
  "reserved": 0,
  "sold": 0,
  "available": 10,
  "applied": true
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused before anything is written. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `duplicate_parameter`: a query parameter is given more than once; `param` names it.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field the input does not define; `field` names it.\n- `missing_field`: a required field is absent; `field` names it.\n- `invalid_type`: a field, or the body itself, has the wrong JSON type or is out of its type's range (e.g. a non-integer quantity); `field` names it when it is a field.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "unknown field `available`, expected `on_hand` or `reason` at line 1 column 24",
  "code": "unknown_field",
  "instance": "/admin/v1/inventory/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "available"
}"# },
                        Example { name: "invalid_type", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_type",
  "title": "Invalid request body",
  "status": 400,
  "detail": "invalid type: floating point `1.5`, expected i64 at line 1 column 14",
  "code": "invalid_type",
  "instance": "/admin/v1/inventory/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "on_hand"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "`sku_not_found`: no variant of the live catalog version has this SKU (checked against the catalog version this edge holds). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "sku_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/sku_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No variant of the live catalog has this SKU.",
  "code": "sku_not_found",
  "instance": "/admin/v1/inventory/NO-SUCH-SKU",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "`below_committed`: on hand would drop below the units reserved by live holds plus the units sold; `detail` names that minimum. Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "below_committed", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/below_committed",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "On hand may not go below 3, the units reserved and sold.",
  "code": "below_committed",
  "instance": "/admin/v1/inventory/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("413", Response::Shared("AdminPayloadTooLarge")),
                ("415", Response::Shared("AdminUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: `errors` holds one problem: `invalid_length` (field `reason`: empty after trimming or longer than 200 characters) or `invalid_quantity` (field `on_hand`: not from 0 to 1000000000). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_quantity", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/inventory/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "on_hand",
      "code": "invalid_quantity",
      "message": "must be an integer from 0 to 1000000000 (on hand after the change too)"
    }
  ]
}"# },
                        Example { name: "invalid_length", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/inventory/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "reason",
      "code": "invalid_length",
      "message": "must be 1 to 200 characters"
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminInventoryServiceUnavailable")),
            ],
        },
        Handler::AdjustStock => Op {
            id: "adjustInventory",
            tag: "Admin",
            summary: "Adjust a SKU's units on hand",
            description: "Changes the units on hand of variant `{sku}` by `delta` (received, returned, damaged, lost …) and records an `adjust` movement with `reason`. |`delta`| may be at most 1000000000 and on hand at most 1000000000 (422 `invalid_quantity`); on hand may not drop below the units reserved by live holds plus the units sold, hence never below 0 (409 `below_committed`). Answers 200 with the SKU's levels after the write. Not idempotent by itself: each request without a repeated `Idempotency-Key` is applied again. The write is applied by the SKU's stock Durable Object, one at a time with every other change of this SKU's stock, atomically with its movement-history entries (holds found expired are released first and recorded as `expire` movements), before the answer; `GET /v1/inventory/{sku}` reflects it at once, at every edge. It publishes no catalog version and records no audit-trail entry. All-or-nothing: a refused request changes nothing. Send an `Idempotency-Key` to retry safely: a retry with the same key by the same token on this SKU within 24 hours answers the first outcome (200 with `applied: false`, or the same 409/422 refusal of the stock ledger) and changes nothing. Order of checks: the token (401, 403), query parameters (400), the body's media type (415), size (413) and JSON shape (400), the SKU (404), `reason` (422 `invalid_length`), then the stock ledger (422 `invalid_quantity`, 409 `below_committed`). Requires role `admin`.",
            headers: &["IdempotencyKey", "XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The adjustment, as `application/json` of at most 64 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("AdjustmentInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The adjustment was applied (`applied: true`), or this `Idempotency-Key` had been applied before (`applied: false`, nothing changed). The levels are the SKU's levels now.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("InventoryWriteResult"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "sku": "KTL-1-STEEL",
  "on_hand": 7,
  "reserved": 0,
  "sold": 0,
  "available": 7,
  "applied": true
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused before anything is written. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `duplicate_parameter`: a query parameter is given more than once; `param` names it.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field the input does not define; `field` names it.\n- `missing_field`: a required field is absent; `field` names it.\n- `invalid_type`: a field, or the body itself, has the wrong JSON type or is out of its type's range (e.g. a non-integer quantity); `field` names it when it is a field.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "missing_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/missing_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "missing field `reason` at line 1 column 11",
  "code": "missing_field",
  "instance": "/admin/v1/inventory/KTL-1-STEEL/adjustments",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "reason"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "`sku_not_found`: no variant of the live catalog version has this SKU (checked against the catalog version this edge holds). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "sku_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/sku_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No variant of the live catalog has this SKU.",
  "code": "sku_not_found",
  "instance": "/admin/v1/inventory/NO-SUCH-SKU",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "`below_committed`: on hand would drop below the units reserved by live holds plus the units sold; `detail` names that minimum. Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "below_committed", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/below_committed",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "On hand may not go below 7, the units reserved and sold.",
  "code": "below_committed",
  "instance": "/admin/v1/inventory/KTL-1-STEEL/adjustments",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("413", Response::Shared("AdminPayloadTooLarge")),
                ("415", Response::Shared("AdminUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: `errors` holds one problem: `invalid_length` (field `reason`: empty after trimming or longer than 200 characters) or `invalid_quantity` (field `delta`: beyond ±1000000000, or on hand after the change would be above 1000000000). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_quantity", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/inventory/KTL-1-STEEL/adjustments",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "delta",
      "code": "invalid_quantity",
      "message": "must be an integer from 0 to 1000000000 (on hand after the change too)"
    }
  ]
}"# },
                        Example { name: "invalid_length", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/inventory/KTL-1-STEEL/adjustments",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "reason",
      "code": "invalid_length",
      "message": "must be 1 to 200 characters"
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminInventoryServiceUnavailable")),
            ],
        },
        Handler::ListMovements => Op {
            id: "listMovements",
            tag: "Admin",
            summary: "Read a SKU's stock movement history",
            description: "Lists the stock movements of variant `{sku}`, oldest first: every change of its on hand, reserved or sold units (counts, adjustments, cart holds, releases, expiries, checkouts), with the operation that made it, together with the SKU's current `levels`. Movements are written atomically with their change and never altered or removed. Page through with `next_cursor` until it is null. Order of checks: the token (401), query parameters (400), the SKU (404), then the stock object (503). Allowed to roles `admin` and `viewer`.",
            headers: &["XRequestId"],
            query: &[
                QueryDoc::Inline(Param {
                    name: "limit",
                    place: Place::Query,
                    required: false,
                    description: "Page size: an integer from 1 to 200 written with digits only (default 50), else 400 `invalid_limit`.",
                    schema: r#"{"anyOf": [{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "cursor",
                    place: Place::Query,
                    required: false,
                    description: "Opaque cursor: the `next_cursor` of the previous page, passed back as it is. A malformed cursor (such as an audit-trail cursor) is 400 `invalid_cursor`.",
                    schema: r#"{"anyOf": [{"type": "string", "pattern": "^m[0-9]{1,19}$"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "One page of movements, with the SKU's current levels.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("MovementPage"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "sku": "KTL-1-STEEL",
  "levels": {
    "on_hand": 12,
    "reserved": 2,
    "sold": 0,
    "available": 10
  },
  "items": [
    {
      "seq": 1,
      "at": "2026-11-21T11:00:00.000Z",
      "op_id": "ops:9c1e4b7a2f0d3c6e8a5b1d2f",
      "kind": "set",
      "cart": null,
      "on_hand_delta": 10,
      "reserved_delta": 0,
      "sold_delta": 0,
      "reason": "stocktake"
    },
    {
      "seq": 2,
      "at": "2026-11-21T11:30:00.000Z",
      "op_id": "ops:7d2a9f1c4e6b8a0d3c5e7f9b",
      "kind": "adjust",
      "cart": null,
      "on_hand_delta": -3,
      "reserved_delta": 0,
      "sold_delta": 0,
      "reason": "damaged in transit"
    },
    {
      "seq": 3,
      "at": "2026-11-21T12:00:00.000Z",
      "op_id": "ops:delivery-42",
      "kind": "adjust",
      "cart": null,
      "on_hand_delta": 5,
      "reserved_delta": 0,
      "sold_delta": 0,
      "reason": "delivery 42"
    }
  ],
  "next_cursor": "m3"
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (it accepts `limit` and `cursor`).\n- `duplicate_parameter`: a parameter is given more than once.\n- `invalid_limit`: `limit` is not an integer from 1 to 200 written with digits only.\n- `invalid_cursor`: `cursor` is malformed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_limit", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_limit",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "limit must be an integer from 1 to 200.",
  "code": "invalid_limit",
  "instance": "/admin/v1/inventory/KTL-1-STEEL/movements?limit=500",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "limit"
}"# },
                        Example { name: "invalid_cursor", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_cursor",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Pass back next_cursor as it is.",
  "code": "invalid_cursor",
  "instance": "/admin/v1/inventory/KTL-1-STEEL/movements?cursor=a1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "cursor"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("404", Response::Own(Resp {
                    description: "`sku_not_found`: no variant of the live catalog version has this SKU (checked against the catalog version this edge holds).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "sku_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/sku_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No variant of the live catalog has this SKU.",
  "code": "sku_not_found",
  "instance": "/admin/v1/inventory/NO-SUCH-SKU/movements",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminInventoryServiceUnavailable")),
            ],
        },
        Handler::ListOrders => Op {
            id: "listOrders",
            tag: "Admin",
            summary: "List the store's orders",
            description: "Lists the store's orders, newest first (by creation time, then by id), optionally only those with one `status` and those created from `created_after` (inclusive) to `created_before` (exclusive). Each item is a summary; read the whole order with `GET /admin/v1/orders/{id}`. The list comes from the store's order index, kept by the store's Durable Object and fed by the order events the events queue delivers (in batches of up to 100 events or 1 second): a new order, or a status change, shows in the list about a second after its request was answered (later if the store's object cannot be reached, and the list then shows the previous status meanwhile); `GET /admin/v1/orders/{id}` reads the order itself, at once. Page through with `next_cursor` until it is null, keeping the same filters. Never cached (`Cache-Control: no-store`). Order of checks: the token (401), query parameters (400: unknown or repeated, then `limit`, `status`, `created_after`, `created_before`, `cursor`), then the store's object (503). Allowed to roles `admin` and `viewer`.",
            headers: &["XRequestId"],
            query: &[
                QueryDoc::Inline(Param {
                    name: "status",
                    place: Place::Query,
                    required: false,
                    description: "Only orders with this status (exact, lowercase), else 400 `invalid_status`.",
                    schema: r##"{"anyOf": [{"$ref": "#/components/schemas/OrderStatus"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"##,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "created_after",
                    place: Place::Query,
                    required: false,
                    description: "Only orders created at or after this instant: an RFC 3339 date-time with its offset (`2026-11-01T00:00:00Z`), else 400 `invalid_time`.",
                    schema: r#"{"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "created_before",
                    place: Place::Query,
                    required: false,
                    description: "Only orders created before this instant (exclusive): an RFC 3339 date-time with its offset, else 400 `invalid_time`.",
                    schema: r#"{"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "limit",
                    place: Place::Query,
                    required: false,
                    description: "Page size: an integer from 1 to 200 written with digits only (default 50), else 400 `invalid_limit`.",
                    schema: r#"{"anyOf": [{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "cursor",
                    place: Place::Query,
                    required: false,
                    description: "Opaque cursor: the `next_cursor` of the previous page, passed back as it is. A malformed cursor is 400 `invalid_cursor`.",
                    schema: r#"{"anyOf": [{"type": "string", "pattern": "^-?[0-9]{1,18}[.]ord_[0-9a-fA-F]{24}$"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "One page of orders, newest first.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("OrderPage"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "items": [
    {
      "id": "ord_3b9d2f4a6c8e0a1b2c3d4e5f",
      "status": "paid",
      "created_at_ms": 1795262400000,
      "email": "ada@example.com",
      "currency": "USD",
      "grand_total": 5325,
      "created_at": "2026-11-21T12:00:00.000Z"
    }
  ],
  "next_cursor": "1795262400000.ord_3b9d2f4a6c8e0a1b2c3d4e5f"
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (it accepts `status`, `created_after`, `created_before`, `limit` and `cursor`).\n- `duplicate_parameter`: a parameter is given more than once.\n- `invalid_limit`: `limit` is not an integer from 1 to 200 written with digits only.\n- `invalid_status`: `status` is not one of `pending_payment`, `paid`, `fulfilled`, `cancelled`, `refunded`.\n- `invalid_time`: `created_after` or `created_before` is not an RFC 3339 date-time.\n- `invalid_cursor`: `cursor` is malformed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_status", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_status",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "status must be one of pending_payment, paid, fulfilled, cancelled, refunded.",
  "code": "invalid_status",
  "instance": "/admin/v1/orders?status=lost",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "status"
}"# },
                        Example { name: "invalid_time", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_time",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "created_after must be an RFC 3339 time.",
  "code": "invalid_time",
  "instance": "/admin/v1/orders?created_after=yesterday",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "created_after"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("503", Response::Shared("AdminOrderServiceUnavailable")),
            ],
        },
        Handler::SalesReport => Op {
            id: "getSalesReport",
            tag: "Admin",
            summary: "Sales per day or hour",
            description: "The store's sales per day or hour (UTC) over a range of days: per bucket and currency with activity, the orders placed in it that were paid (`orders`; an order counts in the bucket of its placement, in its currency), their grand totals (`revenue`, minor units, the part paid in points included), units (`items`) and points spent (`points_redeemed`); `refunds` and `refunded` count those among them paid back since (refunded, or cancelled after payment) and their grand totals. Orders never paid (pending, or cancelled before payment) count nowhere. `totals` sums the range per currency, with `average_order_value` = revenue / orders rounded half up. The figures are kept by the store's reports object (one Durable Object per store), fed by the store's order and points events through the events queue (usually within seconds of a change); each order counts once, by its latest state, however often or in whatever order its events arrive, so a report reads only the hourly rows of its range, never the orders. Never cached (`Cache-Control: no-store`). Order of checks: the token (401), query parameters (400: unknown or repeated, then `granularity`, `from`, `to`, `currency`), then the reports object (503). Allowed to roles `admin` and `viewer`.",
            headers: &["XRequestId"],
            query: &[
                QueryDoc::Inline(Param {
                    name: "from",
                    place: Place::Query,
                    required: false,
                    description: "The first day of the range (UTC, inclusive), `YYYY-MM-DD` from 1970-01-01 on, else 400 `invalid_date`. Default: 29 days before `to` (not before 1970-01-01).",
                    schema: r#"{"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "to",
                    place: Place::Query,
                    required: false,
                    description: "The last day of the range (UTC, inclusive), `YYYY-MM-DD` from 1970-01-01 on, else 400 `invalid_date`. Default: 29 days after `from` (at most today), or today. `from` after `to` is 400 `invalid_date_range`, as is a range longer than 366 days (31 by hour).",
                    schema: r#"{"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "granularity",
                    place: Place::Query,
                    required: false,
                    description: "`day` (default) or `hour`: the buckets' length, else 400 `invalid_granularity`.",
                    schema: r#"{"anyOf": [{"type": "string", "enum": ["day", "hour"], "default": "day"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "currency",
                    place: Place::Query,
                    required: false,
                    description: "Only orders in this currency: a three-letter ISO 4217 code, case-insensitive, of a currency the shop knows (AUD, CAD, CHF, EUR, GBP, JPY, USD), else 400 `unknown_currency`. Default: every currency.",
                    schema: r#"{"anyOf": [{"type": "string", "pattern": "^[A-Za-z]{3}$"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The report.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("SalesReport"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "store": "default",
  "from": "2026-11-07",
  "to": "2026-12-06",
  "granularity": "day",
  "time_zone": "UTC",
  "buckets": [
    {"start": "2026-12-06T00:00:00Z", "currency": "USD", "orders": 3, "revenue": 12345, "items": 7, "refunds": 1, "refunded": 2500, "points_redeemed": 0}
  ],
  "totals": [
    {"currency": "USD", "orders": 3, "revenue": 12345, "items": 7, "refunds": 1, "refunded": 2500, "points_redeemed": 0, "average_order_value": 4115}
  ]
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (it accepts `from`, `to`, `granularity`, `currency`).\n- `duplicate_parameter`: a parameter is given more than once.\n- `invalid_granularity`: `granularity` is not `day` or `hour`.\n- `invalid_date`: `from` or `to` is not a date `YYYY-MM-DD` from 1970-01-01 on.\n- `invalid_date_range`: `from` is after `to`, or the range is longer than 366 days (31 by hour).\n- `unknown_currency`: `currency` is not a currency code the shop knows.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_granularity", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_granularity",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "granularity must be day or hour.",
  "code": "invalid_granularity",
  "instance": "/admin/v1/reports/sales?granularity=week",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "granularity"
}"# },
                        Example { name: "invalid_date", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_date",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "from must be a date YYYY-MM-DD (UTC).",
  "code": "invalid_date",
  "instance": "/admin/v1/reports/sales?from=yesterday",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "from"
}"# },
                        Example { name: "invalid_date_range", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_date_range",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "from must not be after to.",
  "code": "invalid_date_range",
  "instance": "/admin/v1/reports/sales?from=2026-12-06&to=2026-12-01",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "from"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("503", Response::Shared("ReportsServiceUnavailable")),
            ],
        },
        Handler::BestSellersReport => Op {
            id: "getBestSellersReport",
            tag: "Admin",
            summary: "Best sellers",
            description: "The store's best-selling SKUs over a range of days (UTC): units and revenue (the lines' totals, minor units) per SKU and currency in paid orders that were not paid back, placed in the range; sorted by units, descending, then revenue, descending, then SKU. `title` is the product's name in the live catalog (null for a SKU that left it). The figures are kept by the store's reports object (one Durable Object per store), fed by the store's order and points events through the events queue (usually within seconds of a change); each order counts once, by its latest state, however often or in whatever order its events arrive, so a report reads only the hourly rows of its range, never the orders. Never cached (`Cache-Control: no-store`). Order of checks: the token (401), query parameters (400: unknown or repeated, then `limit`, `from`, `to`, `currency`), then the reports object (503). Allowed to roles `admin` and `viewer`.",
            headers: &["XRequestId"],
            query: &[
                QueryDoc::Inline(Param {
                    name: "from",
                    place: Place::Query,
                    required: false,
                    description: "The first day of the range (UTC, inclusive), `YYYY-MM-DD` from 1970-01-01 on, else 400 `invalid_date`. Default: 29 days before `to` (not before 1970-01-01).",
                    schema: r#"{"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "to",
                    place: Place::Query,
                    required: false,
                    description: "The last day of the range (UTC, inclusive), `YYYY-MM-DD` from 1970-01-01 on, else 400 `invalid_date`. Default: 29 days after `from` (at most today), or today. `from` after `to` is 400 `invalid_date_range`, as is a range longer than 366 days (31 by hour).",
                    schema: r#"{"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "currency",
                    place: Place::Query,
                    required: false,
                    description: "Only orders in this currency: a three-letter ISO 4217 code, case-insensitive, of a currency the shop knows (AUD, CAD, CHF, EUR, GBP, JPY, USD), else 400 `unknown_currency`. Default: every currency.",
                    schema: r#"{"anyOf": [{"type": "string", "pattern": "^[A-Za-z]{3}$"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "limit",
                    place: Place::Query,
                    required: false,
                    description: "How many: an integer from 1 to 100 written with digits only (default 10), else 400 `invalid_limit`.",
                    schema: r#"{"anyOf": [{"type": "integer", "minimum": 1, "maximum": 100, "default": 10}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The report.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("BestSellerReport"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "store": "default",
  "from": "2026-11-07",
  "to": "2026-12-06",
  "items": [
    {"sku": "KTL-1-STEEL", "title": "Stovetop Kettle", "currency": "USD", "units": 12, "revenue": 28950}
  ]
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (it accepts `from`, `to`, `currency`, `limit`).\n- `duplicate_parameter`: a parameter is given more than once.\n- `invalid_limit`: `limit` is not an integer from 1 to 100 written with digits only.\n- `invalid_date`: `from` or `to` is not a date `YYYY-MM-DD` from 1970-01-01 on.\n- `invalid_date_range`: `from` is after `to`, or the range is longer than 366 days (31 by hour).\n- `unknown_currency`: `currency` is not a currency code the shop knows.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_limit", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_limit",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "limit must be an integer from 1 to 100.",
  "code": "invalid_limit",
  "instance": "/admin/v1/reports/best-sellers?limit=0",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "limit"
}"# },
                        Example { name: "invalid_date", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_date",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "from must be a date YYYY-MM-DD (UTC).",
  "code": "invalid_date",
  "instance": "/admin/v1/reports/sales?from=yesterday",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "from"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("503", Response::Shared("ReportsServiceUnavailable")),
            ],
        },
        Handler::PointsReport => Op {
            id: "getPointsReport",
            tag: "Admin",
            summary: "Points issued, redeemed and expired",
            description: "The points of the store's programme per day or hour (UTC) over a range of days, from every member's ledger changes: `issued` (grants, earnings and adjustments, either way, less earnings taken back when their order was cancelled or refunded), `redeemed` (points orders spent, less those restored on cancel or refund) and `expired` (points that lapsed); issued − redeemed − expired is what the members' points changed by. Each change counts once (by its event id) in the bucket it happened in. Only buckets with activity are listed. The figures are kept by the store's reports object, fed by the members' points events through the events queue. Never cached (`Cache-Control: no-store`). Order of checks: the token (401), query parameters (400: unknown or repeated, then `granularity`, `from`, `to`), then the reports object (503). Allowed to roles `admin` and `viewer`.",
            headers: &["XRequestId"],
            query: &[
                QueryDoc::Inline(Param {
                    name: "from",
                    place: Place::Query,
                    required: false,
                    description: "The first day of the range (UTC, inclusive), `YYYY-MM-DD` from 1970-01-01 on, else 400 `invalid_date`. Default: 29 days before `to` (not before 1970-01-01).",
                    schema: r#"{"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "to",
                    place: Place::Query,
                    required: false,
                    description: "The last day of the range (UTC, inclusive), `YYYY-MM-DD` from 1970-01-01 on, else 400 `invalid_date`. Default: 29 days after `from` (at most today), or today. `from` after `to` is 400 `invalid_date_range`, as is a range longer than 366 days (31 by hour).",
                    schema: r#"{"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "granularity",
                    place: Place::Query,
                    required: false,
                    description: "`day` (default) or `hour`: the buckets' length, else 400 `invalid_granularity`.",
                    schema: r#"{"anyOf": [{"type": "string", "enum": ["day", "hour"], "default": "day"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The report.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("PointsReport"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "store": "default",
  "from": "2026-11-07",
  "to": "2026-12-06",
  "granularity": "day",
  "time_zone": "UTC",
  "buckets": [
    {"start": "2026-12-06T00:00:00Z", "issued": 5040, "redeemed": 2000, "expired": 0}
  ],
  "totals": {"issued": 5040, "redeemed": 2000, "expired": 0}
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (it accepts `from`, `to`, `granularity`).\n- `duplicate_parameter`: a parameter is given more than once.\n- `invalid_granularity`: `granularity` is not `day` or `hour`.\n- `invalid_date`: `from` or `to` is not a date `YYYY-MM-DD` from 1970-01-01 on.\n- `invalid_date_range`: `from` is after `to`, or the range is longer than 366 days (31 by hour).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_granularity", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_granularity",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "granularity must be day or hour.",
  "code": "invalid_granularity",
  "instance": "/admin/v1/reports/sales?granularity=week",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "granularity"
}"# },
                        Example { name: "invalid_date_range", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_date_range",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "from must not be after to.",
  "code": "invalid_date_range",
  "instance": "/admin/v1/reports/sales?from=2026-12-06&to=2026-12-01",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "from"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("503", Response::Shared("ReportsServiceUnavailable")),
            ],
        },
        Handler::LowStockReport => Op {
            id: "getLowStockReport",
            tag: "Admin",
            summary: "SKUs low on stock",
            description: "The shared stock's SKUs whose unsold units (on hand − sold; cart holds not counted) are at or below the low mark (`STOCK_LOW_MARK`, 5 by default), by unsold units, ascending, then SKU. Kept by the availability publisher: each SKU's object reports when its unsold units cross the mark, either way, or change while at or below it, and the publisher re-reads the SKU's exact levels within seconds; a SKU replenished above the mark leaves the list. `unsold` is exact as of that re-read; `on_hand` and `sold` as of the last change of `unsold` (shipping an order moves both, not `unsold`). No SKU is read to answer. Never cached (`Cache-Control: no-store`). Order of checks: the token (401), query parameters (400), then the publisher (503). Allowed to roles `admin` and `viewer` of any store (stock is shared).",
            headers: &["XRequestId"],
            query: &[
                QueryDoc::Inline(Param {
                    name: "limit",
                    place: Place::Query,
                    required: false,
                    description: "How many: an integer from 1 to 500 written with digits only (default 100), else 400 `invalid_limit`.",
                    schema: r#"{"anyOf": [{"type": "integer", "minimum": 1, "maximum": 500, "default": 100}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The report.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("LowStockReport"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "low_mark": 5,
  "items": [
    {"sku": "KTL-1-STEEL", "on_hand": 12, "sold": 9, "unsold": 3}
  ]
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (it accepts `limit`).\n- `duplicate_parameter`: a parameter is given more than once.\n- `invalid_limit`: `limit` is not an integer from 1 to 500 written with digits only.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_limit", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_limit",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "limit must be an integer from 1 to 500.",
  "code": "invalid_limit",
  "instance": "/admin/v1/reports/low-stock?limit=1000",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "limit"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("503", Response::Shared("ReportsServiceUnavailable")),
            ],
        },
        Handler::StripeWebhook => Op {
            id: "stripeWebhook",
            tag: "Webhooks",
            summary: "Receive Stripe's events",
            description: "The endpoint to register in Stripe's dashboard for the deployment's account (one for every store). The raw body is verified against `Stripe-Signature` before it is read (see the header); a missing or bad signature answers 400 `invalid_signature` and changes nothing. With `STRIPE_WEBHOOK_SECRET` unset every request answers 503 `misconfigured`.\n\nAn event is a hint, never the truth. `payment_intent.succeeded`, `payment_intent.payment_failed`, `payment_intent.requires_action`, `payment_intent.processing` and `payment_intent.canceled` make the checkout of the intent's order (its metadata names the store, the cart and the order) read the PaymentIntent from Stripe and carry on by the checkout's rules: a payment that waited for 3-D Secure or processing is completed into its order, or its holds given back. `charge.refunded` records a refund made at Stripe on the order: all of the charge refunds the order (`refunded`, its units back on sale, recorded in the store's audit trail as `order.refund` by the actor `stripe`), part of it is recorded as `order.provider_refund`. `charge.dispute.created` adds the dispute to the order's `disputes` (audit action `order.dispute`; the order's PaymentIntent is read from Stripe for its metadata). Each target applies an event id once and remembers it 72 hours, and every effect is idempotent, so events may arrive in any order, any number of times. Other event types, and objects that are not Edgecart's, answer 200 `ignored`.\n\nThe answer is 200 once the target took the event in; 503 when it could not be reached, so Stripe delivers the event again. Bodies of at most 256 KiB (413 beyond). Accepts no query parameters. Never cached (`Cache-Control: no-store`).",
            headers: &["StripeSignature", "XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "A Stripe event, exactly as Stripe sent it (the signature covers the raw bytes).",
                content: &[
                    Content { media: "application/json", schema: Named("StripeEvent"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The event was verified and taken in.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store"))],
                    content: &[
                    Content { media: "application/json", schema: Named("WebhookReceived"), examples: &[
                        Example { name: "example", summary: None, value: r#"{"received": true, "handled": "checkout"}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "Nothing changed. Codes:\n\n- `invalid_signature`: `Stripe-Signature` is missing, malformed, too old or from another secret.\n- `invalid_json`: a verified body that is not a Stripe event.\n- `unknown_parameter`, `duplicate_parameter`: a query parameter (this route accepts none).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_signature", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_signature",
  "title": "Invalid signature",
  "status": 400,
  "detail": "No v1 signature in Stripe-Signature matches the body.",
  "code": "invalid_signature",
  "instance": "/webhooks/stripe",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("413", Response::Own(Resp {
                    description: "The body is larger than 256 KiB (`payload_too_large`); nothing changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[] },
                ],
                })),
                ("503", Response::Own(Resp {
                    description: "`misconfigured` (no `STRIPE_WEBHOOK_SECRET`), or `storage_unavailable` (the checkout's or order's object, or Stripe, could not be reached): Stripe delivers the event again.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[] },
                ],
                })),
            ],
        },
        Handler::ListWebhooks => Op {
            id: "listWebhooks",
            tag: "Webhooks",
            summary: "List webhook endpoints",
            description: "Lists the store's webhook endpoints, oldest first (secrets are never shown here). Each endpoint belongs to the store; the store's webhook object (one Durable Object per store) keeps it and delivers to it. Never cached (`Cache-Control: no-store`). Accepts no query parameters. Allowed to roles `admin` and `viewer`.",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The endpoints.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("WebhookEndpointList"), examples: &[
                        Example { name: "example", summary: None, value: r#"{"items": [{
  "id": "we_3b9d2f4a6c8e0a1b2c3d4e5f",
  "url": "https://merchant.example/hooks/edgecart",
  "events": ["order.paid", "order.refunded"],
  "description": "Fulfilment system",
  "enabled": true,
  "created_at_ms": 1795262400000
}]}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused (`unknown_parameter`, `duplicate_parameter`; this route accepts none).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::CreateWebhook => Op {
            id: "createWebhook",
            tag: "Webhooks",
            summary: "Create a webhook endpoint",
            description: "Creates an endpoint that receives the store's events (`events`: the types it takes; empty or absent: every type) and answers 201 with it and its signing `secret` (`whsec_` + base64 of 32 random bytes). **Keep the secret: it is shown only now and when rotated.** Every delivery is a POST of the event as JSON (`id`, `type`, `store`, `occurred_at_ms`, `data`) with the Standard Webhooks headers `webhook-id` (the event's id: the same for every retry and replay of it, so receivers can drop duplicates), `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` + base64 of HMAC-SHA256, keyed by the secret's bytes, of `{webhook-id}.{webhook-timestamp}.{body}`; verify it with any Standard Webhooks library). Answer 2xx within 10 seconds to acknowledge it. Any other answer, or none, is retried after about 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h and then every 12 h (each ±20 %), about 3 days in all, after which the delivery has failed (replay it with `POST /admin/v1/webhooks/{id}/replay`). An answer of 410 Gone disables the endpoint. Events: `order.created`, `order.paid`, `order.fulfilled`, `order.cancelled`, `order.refunded` (`data`: the order), `stock.low` and `stock.out_of_stock` (a SKU's unsold units fell to the low mark, `STOCK_LOW_MARK`, 5 by default, or to 0; shared stock: every store's endpoints get them), `catalog.published` (a catalog version went live; every store's endpoints) and `points.changed` (a member's points). Each is written in the same storage transaction as the change it reports, so none is lost, and delivered at least once. At most 20 endpoints per store (409 `too_many_webhooks`). Each endpoint belongs to the store; the store's webhook object (one Durable Object per store) keeps it and delivers to it. Never cached (`Cache-Control: no-store`). Body: `application/json` of at most 4 KiB. Requires role `admin`.",
            headers: &["XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The endpoint: `url` (required), `events`, `description`.",
                content: &[
                    Content { media: "application/json", schema: Named("EndpointInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("201", Response::Own(Resp {
                    description: "The endpoint, with its secret (shown this once).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("WebhookEndpoint"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "id": "we_3b9d2f4a6c8e0a1b2c3d4e5f",
  "url": "https://merchant.example/hooks/edgecart",
  "events": ["order.paid", "order.refunded"],
  "description": "Fulfilment system",
  "enabled": true,
  "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  "created_at_ms": 1795262400000
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The body is not the JSON this route reads: `invalid_json`, `unknown_field`, `missing_field`, `invalid_type` (with `field`); or a query parameter (`unknown_parameter`, `duplicate_parameter`; this route accepts none).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "Unknown field `secret`.",
  "code": "unknown_field",
  "instance": "/admin/v1/webhooks",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("409", Response::Own(Resp {
                    description: "`too_many_webhooks`: the store has 20 endpoints.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                    ] },
                ],
                })),
                ("413", Response::Shared("AdminPayloadTooLarge")),
                ("415", Response::Shared("AdminUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: every problem, each with its `field`: `url` (`required` when creating, `invalid_url`: not `https://`, or `http://` to 127.0.0.1 or localhost, or longer than 2048 characters), `events` (`unknown_event_type`, `duplicate_event_type`), `description` (`invalid_length`: more than 200 characters).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                    ] },
                ],
                })),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::GetWebhook => Op {
            id: "getWebhook",
            tag: "Webhooks",
            summary: "Get a webhook endpoint",
            description: "The endpoint (without its secret; `previous_secret_until_ms` says until when the secret before the last rotation still signs). Each endpoint belongs to the store; the store's webhook object (one Durable Object per store) keeps it and delivers to it. Never cached (`Cache-Control: no-store`). Accepts no query parameters. Allowed to roles `admin` and `viewer`.",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The endpoint.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("WebhookEndpoint"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "id": "we_3b9d2f4a6c8e0a1b2c3d4e5f",
  "url": "https://merchant.example/hooks/edgecart",
  "events": ["order.paid", "order.refunded"],
  "description": "Fulfilment system",
  "enabled": true,
  "created_at_ms": 1795262400000
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused (`unknown_parameter`, `duplicate_parameter`; this route accepts none).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("404", Response::Own(Resp {
                    description: "`webhook_not_found`: the store has no endpoint with this id (or the id is malformed).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "webhook_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/webhook_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "The store has no webhook endpoint with this id.",
  "code": "webhook_not_found",
  "instance": "/admin/v1/webhooks/we_3b9d2f4a6c8e0a1b2c3d4e5f",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::UpdateWebhook => Op {
            id: "updateWebhook",
            tag: "Webhooks",
            summary: "Change a webhook endpoint",
            description: "Changes what the body names (`url`, `events`, `description`, `enabled`) and answers the endpoint. `enabled: false` disables it and drops its pending deliveries (they are not sent when it is enabled again: replay them); `enabled: true` enables it again, also after a 410 disabled it. Each endpoint belongs to the store; the store's webhook object (one Durable Object per store) keeps it and delivers to it. Never cached (`Cache-Control: no-store`). Body: `application/json` of at most 4 KiB. Requires role `admin`.",
            headers: &["XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The fields to change; absent ones stay.",
                content: &[
                    Content { media: "application/json", schema: Named("EndpointInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The endpoint after the change.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("WebhookEndpoint"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "id": "we_3b9d2f4a6c8e0a1b2c3d4e5f",
  "url": "https://merchant.example/hooks/edgecart",
  "events": ["order.paid", "order.refunded"],
  "description": "Fulfilment system",
  "enabled": true,
  "created_at_ms": 1795262400000
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The body is not the JSON this route reads: `invalid_json`, `unknown_field`, `missing_field`, `invalid_type` (with `field`); or a query parameter (`unknown_parameter`, `duplicate_parameter`; this route accepts none).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "Unknown field `secret`.",
  "code": "unknown_field",
  "instance": "/admin/v1/webhooks/we_3b9d2f4a6c8e0a1b2c3d4e5f",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "`webhook_not_found`: the store has no endpoint with this id (or the id is malformed).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "webhook_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/webhook_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "The store has no webhook endpoint with this id.",
  "code": "webhook_not_found",
  "instance": "/admin/v1/webhooks/we_3b9d2f4a6c8e0a1b2c3d4e5f",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("413", Response::Shared("AdminPayloadTooLarge")),
                ("415", Response::Shared("AdminUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: every problem, each with its `field`: `url` (`required` when creating, `invalid_url`: not `https://`, or `http://` to 127.0.0.1 or localhost, or longer than 2048 characters), `events` (`unknown_event_type`, `duplicate_event_type`), `description` (`invalid_length`: more than 200 characters).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                    ] },
                ],
                })),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::DeleteWebhook => Op {
            id: "deleteWebhook",
            tag: "Webhooks",
            summary: "Delete a webhook endpoint",
            description: "Deletes the endpoint and its pending deliveries; its delivery log stays (30 days). Each endpoint belongs to the store; the store's webhook object (one Durable Object per store) keeps it and delivers to it. Never cached (`Cache-Control: no-store`). No body is read. Accepts no query parameters. Requires role `admin`.",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "Deleted.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("WebhookDeleted"), examples: &[
                        Example { name: "example", summary: None, value: r#"{"id": "we_3b9d2f4a6c8e0a1b2c3d4e5f", "deleted": true}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused (`unknown_parameter`, `duplicate_parameter`; this route accepts none).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "`webhook_not_found`: the store has no endpoint with this id (or the id is malformed).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "webhook_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/webhook_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "The store has no webhook endpoint with this id.",
  "code": "webhook_not_found",
  "instance": "/admin/v1/webhooks/we_3b9d2f4a6c8e0a1b2c3d4e5f",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::RotateWebhook => Op {
            id: "rotateWebhook",
            tag: "Webhooks",
            summary: "Rotate an endpoint's secret",
            description: "Gives the endpoint a new signing secret and answers it, with the new `secret` (shown this once). For the next 24 hours every delivery carries two signatures in `webhook-signature`, one per secret (space-separated), so the receiver can switch at its pace; `previous_secret_until_ms` says until when. Each endpoint belongs to the store; the store's webhook object (one Durable Object per store) keeps it and delivers to it. Never cached (`Cache-Control: no-store`). No body is read. Accepts no query parameters. Requires role `admin`.",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The endpoint with its new secret.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("WebhookEndpoint"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "id": "we_3b9d2f4a6c8e0a1b2c3d4e5f",
  "url": "https://merchant.example/hooks/edgecart",
  "events": ["order.paid", "order.refunded"],
  "description": "Fulfilment system",
  "enabled": true,
  "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  "previous_secret_until_ms": 1795348800000,
  "created_at_ms": 1795262400000
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused (`unknown_parameter`, `duplicate_parameter`; this route accepts none).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "`webhook_not_found`: the store has no endpoint with this id (or the id is malformed).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "webhook_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/webhook_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "The store has no webhook endpoint with this id.",
  "code": "webhook_not_found",
  "instance": "/admin/v1/webhooks/we_3b9d2f4a6c8e0a1b2c3d4e5f",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::ListWebhookDeliveries => Op {
            id: "listWebhookDeliveries",
            tag: "Webhooks",
            summary: "An endpoint's delivery log",
            description: "Every delivery attempt to the endpoint, successes included, newest first, kept 30 days: the event (`event`, its `webhook-id`, and `type`), the attempt's number, when, the endpoint's HTTP `status` (or the `error` when it did not answer), how long it took, and the `outcome` (`delivered`, `retry` with `next_attempt_at_ms`, `failed`, `gone`). Page through with `next_cursor` until it is null. Each endpoint belongs to the store; the store's webhook object (one Durable Object per store) keeps it and delivers to it. Never cached (`Cache-Control: no-store`). Allowed to roles `admin` and `viewer`.",
            headers: &["XRequestId"],
            query: &[
                QueryDoc::Inline(Param {
                    name: "limit",
                    place: Place::Query,
                    required: false,
                    description: "Page size: an integer from 1 to 200 written with digits only (default 50), else 400 `invalid_limit`.",
                    schema: r#"{"anyOf": [{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "cursor",
                    place: Place::Query,
                    required: false,
                    description: "Opaque cursor: the `next_cursor` of the previous page, passed back as it is. A malformed cursor is 400 `invalid_cursor`.",
                    schema: r#"{"anyOf": [{"type": "string", "pattern": "^s[1-9][0-9]{0,17}$"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "One page of attempts, newest first.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("WebhookAttemptPage"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "items": [
    {"seq": 42, "event": "evt_ord_3b9d2f4a6c8e0a1b2c3d4e5f_paid_1", "type": "order.paid", "attempt": 2, "at_ms": 1795262405600, "status": 204, "duration_ms": 28, "outcome": "delivered"},
    {"seq": 41, "event": "evt_ord_3b9d2f4a6c8e0a1b2c3d4e5f_paid_1", "type": "order.paid", "attempt": 1, "at_ms": 1795262400512, "status": 500, "duration_ms": 31, "outcome": "retry", "next_attempt_at_ms": 1795262405512}
  ],
  "next_cursor": null
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused: `invalid_limit`, `invalid_cursor`, `unknown_parameter`, `duplicate_parameter`.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("404", Response::Own(Resp {
                    description: "`webhook_not_found`: the store has no endpoint with this id (or the id is malformed).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "webhook_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/webhook_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "The store has no webhook endpoint with this id.",
  "code": "webhook_not_found",
  "instance": "/admin/v1/webhooks/we_3b9d2f4a6c8e0a1b2c3d4e5f",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::ReplayWebhook => Op {
            id: "replayWebhook",
            tag: "Webhooks",
            summary: "Replay events to an endpoint",
            description: "Delivers again to the endpoint one event (`event`: its id, any type) or every event of the types it takes that occurred in [`from`, `to`) (RFC 3339; either bound may be absent), from the events the store's webhook object keeps (30 days). Each is delivered anew, with its own `webhook-id` as before (receivers that drop duplicates drop these too unless they forgot them), attempt 1 within seconds, retried like any delivery. Answers 202 with how many were scheduled. Naming both an event and a range, or neither, is 422 `validation_failed` (`event_or_range`); an event not kept is 404 `event_not_found`. Each endpoint belongs to the store; the store's webhook object (one Durable Object per store) keeps it and delivers to it. Never cached (`Cache-Control: no-store`). Body: `application/json` of at most 4 KiB. Requires role `admin`.",
            headers: &["XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "One event, or a time range.",
                content: &[
                    Content { media: "application/json", schema: Named("ReplayInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("202", Response::Own(Resp {
                    description: "Scheduled.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("ReplayResult"), examples: &[
                        Example { name: "example", summary: None, value: r#"{"deliveries": 12}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The body is not the JSON this route reads: `invalid_json`, `unknown_field`, `missing_field`, `invalid_type`, `invalid_time` (with `field`); or a query parameter (`unknown_parameter`, `duplicate_parameter`; this route accepts none).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "Unknown field `secret`.",
  "code": "unknown_field",
  "instance": "/admin/v1/webhooks/we_3b9d2f4a6c8e0a1b2c3d4e5f/replay",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "`webhook_not_found` (no endpoint with this id) or `event_not_found` (no event with this id is kept).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                    ] },
                ],
                })),
                ("413", Response::Shared("AdminPayloadTooLarge")),
                ("415", Response::Shared("AdminUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed` with `event_or_range`: name one event, or a time range, not both and not neither.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                    ] },
                ],
                })),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::ListCheckouts => Op {
            id: "listCheckouts",
            tag: "Admin",
            summary: "List checkouts that cannot settle",
            description: "Lists the store's stuck checkouts, longest waiting first: checkouts that waited for the payment provider longer than the operator allows (`CHECKOUT_STUCK_AFTER_MS`, one hour by default) without settling, such as a charge Stripe did not answer that may have been taken (`verifying`), a refund Stripe keeps refusing (`refunding`) or a payment it still processes (`awaiting_payment`). A checkout is never deleted while it is open: the cart's object keeps retrying it (every 30 seconds), logs an error line when it lists it, and takes it off the list when it settles. Look the payment up at the provider by `reference` or by the order id in its metadata. `state` is required and must be `stuck`. Never cached (`Cache-Control: no-store`). Order of checks: the token (401, 403), query parameters (400), then the store's object (503). Allowed to roles `admin` and `viewer`.",
            headers: &["XRequestId"],
            query: &[
                QueryDoc::Inline(Param {
                    name: "state",
                    place: Place::Query,
                    required: true,
                    description: "Which checkouts: `stuck` (the only list), else 400 `invalid_state`.",
                    schema: r#"{"type": "string", "enum": ["stuck"]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "limit",
                    place: Place::Query,
                    required: false,
                    description: "At most this many: an integer from 1 to 200 written with digits only (default 50), else 400 `invalid_limit`.",
                    schema: r#"{"anyOf": [{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The stuck checkouts, longest waiting first.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("CheckoutList"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "items": [
    {
      "order": "ord_3b9d2f4a6c8e0a1b2c3d4e5f",
      "cart": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
      "step": "refunding",
      "reference": "pi_3Nabc",
      "currency": "USD",
      "card_amount": 5325,
      "since_ms": 1795262400000,
      "listed_at_ms": 1795266000000
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes: `invalid_state` (`state` is missing or not `stuck`), `invalid_limit`, `unknown_parameter`, `duplicate_parameter`.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("503", Response::Shared("AdminOrderServiceUnavailable")),
            ],
        },
        Handler::AdminGetOrder => Op {
            id: "getAdminOrder",
            tag: "Admin",
            summary: "Get an order (admin)",
            description: "Returns the whole order, as `GET /v1/orders/{id}` does, without needing its token. Read from the order's own Durable Object (strongly consistent). Never cached (`Cache-Control: no-store`). HEAD answers like GET, without a body. Accepts no query parameters. Order of checks: the token (401), query parameters (400), the id's shape (404), then the order's object (503) and whether it holds an order (404). Allowed to roles `admin` and `viewer`.",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The order.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Order"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "schema": 1,
  "id": "ord_3b9d2f4a6c8e0a1b2c3d4e5f",
  "cart_id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "currency": "USD",
  "prices_include_tax": false,
  "lines": [
    {
      "sku": "KTL-1-STEEL",
      "quantity": 2,
      "unit_price": 2500,
      "discount": 500,
      "tax": 326,
      "line_total": 4826
    }
  ],
  "totals": {
    "subtotal": 5000,
    "discount_total": 500,
    "shipping": 499,
    "tax_total": 326,
    "grand_total": 5325
  },
  "promotions": [
    {
      "id": "save10",
      "code": "SAVE10",
      "amount": 500
    }
  ],
  "email": "ada@example.com",
  "shipping_address": {
    "name": "Ada Lovelace",
    "line1": "1 Market St",
    "line2": "Suite 300",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US"
  },
  "shipping_method": "standard",
  "payment": {
    "provider": "test",
    "reference": "test_ord_3b9d2f4a6c8e0a1b2c3d4e5f"
  },
  "status": "paid",
  "history": [
    {
      "at_ms": 1795262400000,
      "status": "pending_payment"
    },
    {
      "at_ms": 1795262400412,
      "status": "paid"
    }
  ],
  "created_at_ms": 1795262400000
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused (this route accepts none); `param` names it. Codes: `unknown_parameter`, `duplicate_parameter`.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"expand\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f?expand=lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "expand"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("404", Response::Own(Resp {
                    description: "`order_not_found`: no order has this id, or the id is malformed. (`route_not_found` answers a path with an empty or extra segment.)",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "order_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/order_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No order has this id, or the token does not open it.",
  "code": "order_not_found",
  "instance": "/admin/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminOrderServiceUnavailable")),
            ],
        },
        Handler::FulfilOrder => Op {
            id: "fulfilOrder",
            tag: "Admin",
            summary: "Mark an order shipped",
            description: "Marks a `paid` order as shipped: it becomes `fulfilled`, which is recorded in its `history` (and shows in the store's order list once its event is delivered, about a second later); no stock or money moves. An order in any other status cannot be fulfilled (409 `illegal_transition`). Repeating a fulfilment that was applied answers 409. The change is also recorded in the store's audit trail (`GET /admin/v1/store/audit`: action `order.fulfil`, target `order:{id}`, the token's label as `actor`, the status before and after): committed with the change and delivered to the store's trail with its other effects, retried like them and recorded once. No body is read. Accepts no query parameters. Order of checks: the token (401, 403), query parameters (400), the id's shape (404), the order's object (503) and whether it holds an order (404), then the order's status (409). Requires role `admin`.",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The order after the change.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Order"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "schema": 1,
  "id": "ord_3b9d2f4a6c8e0a1b2c3d4e5f",
  "cart_id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "currency": "USD",
  "prices_include_tax": false,
  "lines": [
    {
      "sku": "KTL-1-STEEL",
      "quantity": 2,
      "unit_price": 2500,
      "discount": 500,
      "tax": 326,
      "line_total": 4826
    }
  ],
  "totals": {
    "subtotal": 5000,
    "discount_total": 500,
    "shipping": 499,
    "tax_total": 326,
    "grand_total": 5325
  },
  "promotions": [
    {
      "id": "save10",
      "code": "SAVE10",
      "amount": 500
    }
  ],
  "email": "ada@example.com",
  "shipping_address": {
    "name": "Ada Lovelace",
    "line1": "1 Market St",
    "line2": "Suite 300",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US"
  },
  "shipping_method": "standard",
  "payment": {
    "provider": "test",
    "reference": "test_ord_3b9d2f4a6c8e0a1b2c3d4e5f"
  },
  "status": "fulfilled",
  "history": [
    {
      "at_ms": 1795262400000,
      "status": "pending_payment"
    },
    {
      "at_ms": 1795262400412,
      "status": "paid"
    },
    {
      "at_ms": 1795266000000,
      "status": "fulfilled"
    }
  ],
  "created_at_ms": 1795262400000
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused (this route accepts none); `param` names it. Codes: `unknown_parameter`, `duplicate_parameter`. Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"reason\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f/fulfil?reason=late",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "reason"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "`order_not_found`: no order has this id, or the id is malformed. Nothing was changed. (`route_not_found` answers a path with an empty or extra segment, or another action.)",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "order_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/order_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No order has this id, or the token does not open it.",
  "code": "order_not_found",
  "instance": "/admin/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f/fulfil",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "`illegal_transition`: the order's status does not allow this change (see `OrderStatus`); `detail` names the status. Nothing was changed. Repeating a change that was applied answers this too.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "illegal_transition", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/illegal_transition",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "An order that is cancelled cannot be fulfilled.",
  "code": "illegal_transition",
  "instance": "/admin/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f/fulfil",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminOrderServiceUnavailable")),
            ],
        },
        Handler::RefundOrder => Op {
            id: "refundOrder",
            tag: "Admin",
            summary: "Refund an order",
            description: "Pays the order back: it becomes `refunded`. From `paid` its sold units are put back on sale and its whole payment is refunded; from `fulfilled` the payment is refunded but nothing is restocked (the goods left the shop; returned units come back through a stock adjustment). An order that is `pending_payment`, `cancelled` or `refunded` cannot be refunded (409 `illegal_transition`). The status change and the effects it owes are committed together in the order's Durable Object, then carried out before the answer: each line's sold units go back on sale in its SKU's stock object (a `restock` movement, op id `{order id}:restock-{event}:{sku}`), the whole payment is refunded through the provider the order was paid with (`test`: no money moves; `stripe`: `POST /v1/refunds` for the PaymentIntent, with `Idempotency-Key: refund-{order id}`). Each effect is idempotent; one that fails stays owed and the order's object retries it every 30 seconds, so the answer (200, with the new status) may come before a restock or refund that is still owed. The store's order list shows the new status once the change's event is delivered, about a second later. The change is also recorded in the store's audit trail (`GET /admin/v1/store/audit`: action `order.refund`, target `order:{id}`, the token's label as `actor`, the status before and after): committed with the change and delivered to the store's trail with its other effects, retried like them and recorded once. No body is read. Accepts no query parameters. Order of checks: the token (401, 403), query parameters (400), the id's shape (404), the order's object (503) and whether it holds an order (404), then the order's status (409). Requires role `admin`.",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The order after the change.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Order"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "schema": 1,
  "id": "ord_3b9d2f4a6c8e0a1b2c3d4e5f",
  "cart_id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "currency": "USD",
  "prices_include_tax": false,
  "lines": [
    {
      "sku": "KTL-1-STEEL",
      "quantity": 2,
      "unit_price": 2500,
      "discount": 500,
      "tax": 326,
      "line_total": 4826
    }
  ],
  "totals": {
    "subtotal": 5000,
    "discount_total": 500,
    "shipping": 499,
    "tax_total": 326,
    "grand_total": 5325
  },
  "promotions": [
    {
      "id": "save10",
      "code": "SAVE10",
      "amount": 500
    }
  ],
  "email": "ada@example.com",
  "shipping_address": {
    "name": "Ada Lovelace",
    "line1": "1 Market St",
    "line2": "Suite 300",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US"
  },
  "shipping_method": "standard",
  "payment": {
    "provider": "test",
    "reference": "test_ord_3b9d2f4a6c8e0a1b2c3d4e5f"
  },
  "status": "refunded",
  "history": [
    {
      "at_ms": 1795262400000,
      "status": "pending_payment"
    },
    {
      "at_ms": 1795262400412,
      "status": "paid"
    },
    {
      "at_ms": 1795266000000,
      "status": "fulfilled"
    },
    {
      "at_ms": 1795269600000,
      "status": "refunded"
    }
  ],
  "created_at_ms": 1795262400000
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused (this route accepts none); `param` names it. Codes: `unknown_parameter`, `duplicate_parameter`. Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"reason\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f/refund?reason=late",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "reason"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "`order_not_found`: no order has this id, or the id is malformed. Nothing was changed. (`route_not_found` answers a path with an empty or extra segment, or another action.)",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "order_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/order_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No order has this id, or the token does not open it.",
  "code": "order_not_found",
  "instance": "/admin/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f/refund",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "`illegal_transition`: the order's status does not allow this change (see `OrderStatus`); `detail` names the status. Nothing was changed. Repeating a change that was applied answers this too.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "illegal_transition", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/illegal_transition",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "An order that is cancelled cannot be refunded.",
  "code": "illegal_transition",
  "instance": "/admin/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f/refund",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminOrderServiceUnavailable")),
            ],
        },
        Handler::AdminCancelOrder => Op {
            id: "adminCancelOrder",
            tag: "Admin",
            summary: "Cancel an order (admin)",
            description: "Cancels the order: it becomes `cancelled`. From `paid` its sold units are put back on sale and its whole payment is refunded (from `pending_payment`, its held stock is released; checkout records orders as `paid`, so this is not met in practice). An order that is `fulfilled`, `cancelled` or `refunded` cannot be cancelled (409 `illegal_transition`; refund a fulfilled order instead). The status change and the effects it owes are committed together in the order's Durable Object, then carried out before the answer: each line's sold units go back on sale in its SKU's stock object (a `restock` movement, op id `{order id}:restock-{event}:{sku}`), the whole payment is refunded through the provider the order was paid with (`test`: no money moves; `stripe`: `POST /v1/refunds` for the PaymentIntent, with `Idempotency-Key: refund-{order id}`). Each effect is idempotent; one that fails stays owed and the order's object retries it every 30 seconds, so the answer (200, with the new status) may come before a restock or refund that is still owed. The store's order list shows the new status once the change's event is delivered, about a second later. The change is also recorded in the store's audit trail (`GET /admin/v1/store/audit`: action `order.cancel`, target `order:{id}`, the token's label as `actor`, the status before and after): committed with the change and delivered to the store's trail with its other effects, retried like them and recorded once. No body is read. Accepts no query parameters. Order of checks: the token (401, 403), query parameters (400), the id's shape (404), the order's object (503) and whether it holds an order (404), then the order's status (409). Requires role `admin`.",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The order after the change.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Order"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "schema": 1,
  "id": "ord_3b9d2f4a6c8e0a1b2c3d4e5f",
  "cart_id": "crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "currency": "USD",
  "prices_include_tax": false,
  "lines": [
    {
      "sku": "KTL-1-STEEL",
      "quantity": 2,
      "unit_price": 2500,
      "discount": 500,
      "tax": 326,
      "line_total": 4826
    }
  ],
  "totals": {
    "subtotal": 5000,
    "discount_total": 500,
    "shipping": 499,
    "tax_total": 326,
    "grand_total": 5325
  },
  "promotions": [
    {
      "id": "save10",
      "code": "SAVE10",
      "amount": 500
    }
  ],
  "email": "ada@example.com",
  "shipping_address": {
    "name": "Ada Lovelace",
    "line1": "1 Market St",
    "line2": "Suite 300",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US"
  },
  "shipping_method": "standard",
  "payment": {
    "provider": "test",
    "reference": "test_ord_3b9d2f4a6c8e0a1b2c3d4e5f"
  },
  "status": "cancelled",
  "history": [
    {
      "at_ms": 1795262400000,
      "status": "pending_payment"
    },
    {
      "at_ms": 1795262400412,
      "status": "paid"
    },
    {
      "at_ms": 1795266000000,
      "status": "cancelled"
    }
  ],
  "created_at_ms": 1795262400000
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused (this route accepts none); `param` names it. Codes: `unknown_parameter`, `duplicate_parameter`. Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"reason\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f/cancel?reason=late",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "reason"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "`order_not_found`: no order has this id, or the id is malformed. Nothing was changed. (`route_not_found` answers a path with an empty or extra segment, or another action.)",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "order_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/order_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No order has this id, or the token does not open it.",
  "code": "order_not_found",
  "instance": "/admin/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f/cancel",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "`illegal_transition`: the order's status does not allow this change (see `OrderStatus`); `detail` names the status. Nothing was changed. Repeating a change that was applied answers this too.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "illegal_transition", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/illegal_transition",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "An order that is fulfilled cannot be cancelled.",
  "code": "illegal_transition",
  "instance": "/admin/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f/cancel",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminOrderServiceUnavailable")),
            ],
        },
        Handler::ListStores => Op {
            id: "listStores",
            tag: "Stores",
            summary: "List the stores",
            description: "Every store of the deployment, in id order, as the store directory holds them now: id, name, hosts, currencies, whether it is enabled, skin and product selection. Until an operator writes the `default` store's profile, the list shows its built-in one (the deployment's `DEFAULT_CURRENCY`, every currency, every product, the hosts of `DEFAULT_STORE_HOSTS`). Operators only. Accepts no query parameters. Never cached (`Cache-Control: no-store`).",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "Every store.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("StoreList"), examples: &[
                        Example { name: "example", summary: None, value: r##"{"items": [{
  "schema": 1,
  "id": "bank",
  "name": "Harbour Bank Rewards",
  "hosts": ["rewards.harbourbank.example"],
  "default_currency": "GBP",
  "currencies": ["GBP"],
  "enabled": true,
  "skin": {
    "name": "Harbour Bank Rewards",
    "colours": {"accent": "#0b5fff"},
    "hero": "",
    "footer": ""
  },
  "selection": {"type": "categories", "categories": ["kitchen"]}
}]}"## },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r##"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/store?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"## },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::GetStoreProfile => Op {
            id: "getStoreProfile",
            tag: "Stores",
            summary: "Read a store",
            description: "One store's profile as the store directory holds it now. Operators only. Accepts no query parameters. Never cached (`Cache-Control: no-store`).",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The store.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("StoreProfile"), examples: &[
                        Example { name: "example", summary: None, value: r##"{
  "schema": 1,
  "id": "bank",
  "name": "Harbour Bank Rewards",
  "hosts": ["rewards.harbourbank.example"],
  "default_currency": "GBP",
  "currencies": ["GBP"],
  "enabled": true,
  "skin": {
    "name": "Harbour Bank Rewards",
    "colours": {"accent": "#0b5fff"},
    "hero": "",
    "footer": ""
  },
  "selection": {"type": "categories", "categories": ["kitchen"]}
}"## },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r##"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/store?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"## },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Shared("StoreNotFound")),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::PutStoreProfile => Op {
            id: "putStoreProfile",
            tag: "Stores",
            summary: "Create or change a store",
            description: "Creates the store `store_id` (201) or replaces its profile (200): display name, hosts, default and allowed currencies, whether it is enabled, skin and product selection. The store serves at once through this Worker's isolate, and within a second elsewhere (an isolate that does not know a store asks the directory). A disabled store answers 404 `store_not_found` everywhere, as an unknown one does; its carts, orders and configuration are kept. No two stores answer on one host. Every store shares the catalog and the stock; its configuration, promotions, carts and orders are its own. A write that changes the profile is recorded in that store's audit trail (`GET /admin/v1/store/audit`: action `store.create` or `store.update`, target `store:{store_id}`, the token's label as `actor`, the profile before and after and the top-level fields that changed): committed with the profile, then delivered to the store's trail before the answer, or, should that delivery fail, retried every 30 seconds (recorded once); writing the same profile again records nothing. Operators only. Accepts no query parameters. Never cached (`Cache-Control: no-store`).",
            headers: &["XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The store's profile, without `schema` and `id` (the id is the path's).",
                content: &[
                Content { media: "application/json", schema: Named("StoreProfileInput"), examples: &[
                    Example { name: "rewards", summary: Some("A bank's rewards shop"), value: r##"{"name": "Harbour Bank Rewards", "hosts": ["rewards.harbourbank.example"], "default_currency": "GBP", "skin": {"name": "Harbour Bank Rewards", "colours": {"accent": "#0b5fff"}}, "selection": {"type": "categories", "categories": ["kitchen"]}}"## },
                ] },
            ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The store's profile was replaced; the profile now.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("StoreProfile"), examples: &[
                        Example { name: "example", summary: None, value: r##"{
  "schema": 1,
  "id": "bank",
  "name": "Harbour Bank Rewards",
  "hosts": ["rewards.harbourbank.example"],
  "default_currency": "GBP",
  "currencies": ["GBP"],
  "enabled": true,
  "skin": {
    "name": "Harbour Bank Rewards",
    "colours": {"accent": "#0b5fff"},
    "hero": "",
    "footer": ""
  },
  "selection": {"type": "categories", "categories": ["kitchen"]}
}"## },
                    ] },
                ],
                })),
                ("201", Response::Own(Resp {
                    description: "The store was created; its profile.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("StoreProfile"), examples: &[
                        Example { name: "example", summary: None, value: r##"{
  "schema": 1,
  "id": "bank",
  "name": "Harbour Bank Rewards",
  "hosts": ["rewards.harbourbank.example"],
  "default_currency": "GBP",
  "currencies": ["GBP"],
  "enabled": true,
  "skin": {
    "name": "Harbour Bank Rewards",
    "colours": {"accent": "#0b5fff"},
    "hero": "",
    "footer": ""
  },
  "selection": {"type": "categories", "categories": ["kitchen"]}
}"## },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused before anything is saved. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field the input does not define; `field` names it.\n- `missing_field`: a required field is absent; `field` names it.\n- `invalid_type`: a field, or the body itself, has the wrong JSON type or is out of its type's range (e.g. an unknown `type` or `provider`, or a currency key the shop does not know in a typed map); `field` names it when it is a field.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_field", summary: None, value: r##"{
  "type": "https://edgecart.dev/problems/unknown_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "unknown field `schema`, expected one of `tax`, `shipping_methods`, `payment` at line 1 column 9",
  "code": "unknown_field",
  "instance": "/admin/v1/store",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "schema"
}"## },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("409", Response::Own(Resp {
                    description: "The other stores leave no room for this profile; nothing was changed. Codes:\n\n- `host_taken`: another store answers on one of the hosts (the default store's built-in hosts count until its profile is written).\n- `too_many_stores`: the deployment serves its maximum of 200 stores.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "host_taken", summary: None, value: r##"{
  "type": "https://edgecart.dev/problems/host_taken",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "Store default answers on 127.0.0.1.",
  "code": "host_taken",
  "instance": "/admin/v1/stores/bank",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"## },
                    ] },
                ],
                })),
                ("413", Response::Shared("AdminPayloadTooLarge")),
                ("415", Response::Shared("AdminUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: the profile breaks rules; `errors` lists every problem (`invalid_store_id`, `required`, `invalid_text`, `too_many`, `invalid_host`, `unknown_currency`, `invalid_logo`, `invalid_token`, `invalid_colour`, `invalid_selection`, `invalid_id`). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_host", summary: None, value: r##"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "The request body breaks 1 rule(s); see errors.",
  "code": "validation_failed",
  "instance": "/admin/v1/stores/bank",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [{"field": "hosts[0]", "code": "invalid_host", "message": "Not a host name as requests are matched: lowercase letters, digits, `-` and `.`, without port or trailing dot."}]
}"## },
                    ] },
                ],
                })),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::GetStore => Op {
            id: "getStoreConfig",
            tag: "Admin",
            summary: "Read the store configuration",
            description: "Returns the store's configuration: tax settings, shipping methods and payment provider. Until the first `PUT /admin/v1/store` it is a new store's default: no tax, shipping methods `standard` (USD 4.99 / EUR 4.49, free from a subtotal after discounts of USD 50.00 / EUR 45.00) and `express` (USD 14.99 / EUR 12.99) to every country, and the `test` payment provider. Read from the store's Durable Object, so it reflects every acknowledged change. Secrets are never shown: Stripe's key is the Worker secret `STRIPE_SECRET_KEY`, not part of the configuration. To change one setting, send the whole configuration back to `PUT /admin/v1/store` without `schema`. Allowed to roles `admin` and `viewer`. HEAD answers like GET, without a body. Accepts no query parameters. Never cached (`Cache-Control: no-store`). Order of checks: the Worker's configuration and the token (503 `misconfigured`, 401), query parameters (400), then the store's Durable Object (503).",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The store configuration now.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("StoreConfig"), examples: &[
                        Example { name: "configured", summary: Some("A configured store"), value: r#"{
  "schema": 1,
  "tax": {
    "prices_include_tax": false,
    "rates": [
      {
        "country": "US",
        "region": "CA",
        "basis_points": 725
      },
      {
        "country": "US",
        "region": "NY",
        "basis_points": 400
      },
      {
        "country": "DE",
        "basis_points": 1900
      }
    ]
  },
  "shipping_methods": [
    {
      "id": "standard",
      "name": "Standard (3–5 days)",
      "countries": [],
      "rates": {
        "EUR": 449,
        "USD": 499
      },
      "free_above": {
        "EUR": 4500,
        "USD": 5000
      }
    },
    {
      "id": "express",
      "name": "Express (1–2 days)",
      "countries": [
        "US",
        "CA"
      ],
      "rates": {
        "USD": 1499
      }
    }
  ],
  "payment": {
    "provider": "stripe"
  },
  "holds": {
    "per_client": 99,
    "lifetime_minutes": 60
  }
}"# },
                        Example { name: "default", summary: Some("A new store's default configuration"), value: r#"{
  "schema": 1,
  "tax": {
    "prices_include_tax": false,
    "rates": []
  },
  "shipping_methods": [
    {
      "id": "standard",
      "name": "Standard (3–5 days)",
      "countries": [],
      "rates": {
        "EUR": 449,
        "USD": 499
      },
      "free_above": {
        "EUR": 4500,
        "USD": 5000
      }
    },
    {
      "id": "express",
      "name": "Express (1–2 days)",
      "countries": [],
      "rates": {
        "EUR": 1299,
        "USD": 1499
      }
    }
  ],
  "payment": {
    "provider": "test"
  },
  "holds": {
    "per_client": 99,
    "lifetime_minutes": 60
  }
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/store?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::PutStore => Op {
            id: "putStoreConfig",
            tag: "Admin",
            summary: "Replace the store configuration",
            description: "Replaces the store's configuration with the body, the whole configuration (`StoreConfig` without `schema`; there is no partial update), and answers 200 with the configuration as stored. Every rule is checked before anything is saved and every problem is reported at once (422 `validation_failed`, `errors` naming each field by its path: `tax.rates[0].country`, `shipping_methods[1].id`, `payment.base_url`…); a refused request changes nothing. The payment provider's secret is never part of the configuration: Stripe's key is the Worker secret `STRIPE_SECRET_KEY`, set by the operator. Writes are applied one at a time by the store's Durable Object, which saves the change together with its entry in the store's audit trail (`GET /admin/v1/store/audit`: action `store.config.set`, target `store:{store_id}`, the token's label as `actor`, the configuration before and after and the top-level fields that changed) and, before answering, publishes the display copy carts read (configuration and promotions) to Workers KV. The change applies to the next checkout at once (checkout reads the store object) and to cart responses within about a second at the location that wrote it (each edge re-reads the copy at most every second), elsewhere within KV's propagation window (about 60 seconds). A cart read naming a shipping method the configuration no longer has answers 400 `unknown_shipping_method`. Repeating the same PUT is safe, and a PUT that changes nothing records no audit entry. Requires role `admin`. Never cached (`Cache-Control: no-store`). Order of checks: the Worker's configuration and the token (503 `misconfigured`, 401, 403), query parameters (400), the body's media type (415), size (413) and JSON shape (400), the rules (422), then the store's Durable Object (503).",
            headers: &["XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The whole configuration, as `application/json` of at most 64 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("StoreConfigInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The configuration was saved and published; the configuration as stored.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("StoreConfig"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "schema": 1,
  "tax": {
    "prices_include_tax": false,
    "rates": [
      {
        "country": "US",
        "region": "CA",
        "basis_points": 725
      },
      {
        "country": "US",
        "region": "NY",
        "basis_points": 400
      },
      {
        "country": "DE",
        "basis_points": 1900
      }
    ]
  },
  "shipping_methods": [
    {
      "id": "standard",
      "name": "Standard (3–5 days)",
      "countries": [],
      "rates": {
        "EUR": 449,
        "USD": 499
      },
      "free_above": {
        "EUR": 4500,
        "USD": 5000
      }
    },
    {
      "id": "express",
      "name": "Express (1–2 days)",
      "countries": [
        "US",
        "CA"
      ],
      "rates": {
        "USD": 1499
      }
    }
  ],
  "payment": {
    "provider": "stripe"
  },
  "holds": {
    "per_client": 99,
    "lifetime_minutes": 60
  }
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused before anything is saved. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field the input does not define; `field` names it.\n- `missing_field`: a required field is absent; `field` names it.\n- `invalid_type`: a field, or the body itself, has the wrong JSON type or is out of its type's range (e.g. an unknown `type` or `provider`, or a currency key the shop does not know in a typed map); `field` names it when it is a field.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "unknown field `schema`, expected one of `tax`, `shipping_methods`, `payment` at line 1 column 9",
  "code": "unknown_field",
  "instance": "/admin/v1/store",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "schema"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("413", Response::Shared("AdminPayloadTooLarge")),
                ("415", Response::Shared("AdminUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: `errors` lists every problem, each naming its field by its path; see `StoreConfigInput` for every field and code. Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "validation_failed", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "3 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/store",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "tax.rates[0].country",
      "code": "invalid_country",
      "message": "must be an ISO 3166-1 alpha-2 code in uppercase"
    },
    {
      "field": "shipping_methods[1].id",
      "code": "duplicate_method",
      "message": "Another method has this id."
    },
    {
      "field": "payment.base_url",
      "code": "not_configurable",
      "message": "Stripe is always reached at its own host: a store cannot name another one."
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::ListStorePrices => Op {
            id: "listStorePrices",
            tag: "Admin",
            summary: "List the store's own prices",
            description: "Lists the prices the store has of its own, by SKU in byte order: each replaces the SKU's base price in its currency in this store only (listings, product pages, carts and checkout of this store all charge it), and the SKU's other prices stay the base ones. Read from the catalog writer Durable Object, so it reflects every acknowledged change. Page through with `next_cursor` until it is null. Allowed to roles `admin` and `viewer` of the store, and to operators. HEAD answers like GET, without a body. Never cached (`Cache-Control: no-store`).",
            headers: &["XRequestId"],
            query: &[
                QueryDoc::Inline(Param {
                    name: "limit",
                    place: Place::Query,
                    required: false,
                    description: "Page size in SKUs: an integer from 1 to 1000 written with digits only (default 100), else 400 `invalid_limit`.",
                    schema: r#"{"anyOf": [{"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "cursor",
                    place: Place::Query,
                    required: false,
                    description: "Opaque cursor: the `next_cursor` of the previous page, passed back as it is. A malformed cursor is 400 `invalid_cursor`.",
                    schema: r#"{"anyOf": [{"type": "string", "pattern": "^s[A-Z0-9][A-Z0-9-]{0,63}$"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "One page of the store's own prices.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("StorePricePage"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "items": [
    {
      "sku": "KTL-1-STEEL",
      "prices": [
        {
          "amount": 1999,
          "currency": "GBP"
        }
      ]
    }
  ],
  "next_cursor": null
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (it accepts `limit`, `cursor` and `store`).\n- `duplicate_parameter`: a parameter is given more than once.\n- `invalid_limit`: `limit` is not an integer from 1 to 1000 written with digits only.\n- `invalid_cursor`: `cursor` is malformed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_cursor", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_cursor",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Pass back next_cursor as it is.",
  "code": "invalid_cursor",
  "instance": "/admin/v1/store/prices?cursor=abc",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "cursor"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("503", Response::Shared("AdminServiceUnavailable")),
            ],
        },
        Handler::SetStorePrices => Op {
            id: "setStorePrices",
            tag: "Admin",
            summary: "Set or remove some of the store's own prices",
            description: "Sets (an `amount`) or removes (`null`) up to 1,000 of the store's own prices at once, all or nothing. A store's own price replaces the SKU's base price in that currency for this store only; the currency need not be one the base catalog is priced in, so a store can sell the shared catalog in a currency of its own (its listing then shows the products with a price in it). Removing a price the store does not have changes nothing; a later entry for the same SKU and currency wins. A store has at most 20,000 prices of its own (409 `too_many_prices`). When a SKU leaves the catalog, every store's prices of it go too. Order of checks: the token (401, 403), query parameters (400), the body's media type (415), size (413, at most 256 KiB) and JSON shape (400), the batch size and each amount (422), each currency (404 `unknown_currency`), then, in the catalog writer, each SKU (404 `sku_not_found`, `detail` names the entry) and the limit (409). The write is serialized with every catalog write through the catalog writer Durable Object, committed atomically with one audit-trail entry per changed price (action `store_price.set` or `store_price.delete`, target `store-price:{store}:{sku}:{currency}`), and published with a new catalog version before the answer: the edge that handled it sees it on its next read, other edges within KV's propagation window (about 60 seconds). A checkout charges the prices of the catalog version its edge holds, and refuses a total the shopper did not confirm (`expected_total`). Requires role `admin` of the store, or an operator.",
            headers: &["XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The prices to set or remove, as `application/json` of at most 256 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("StorePricesInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The prices are as asked; `changed` counts those that were not already so.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("StorePricesResult"), examples: &[
                        Example { name: "example", summary: None, value: r#"{"changed": 2, "catalog_version": "5e1c0a7f9b3d2c41"}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused before anything is written. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts only `store`); `param` names it.\n- `duplicate_parameter`: a query parameter is given more than once; `param` names it.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field the input does not define; `field` names it.\n- `missing_field`: a required field is absent; `field` names it.\n- `invalid_type`: a field, or the body itself, has the wrong JSON type; `field` names it when it is a field.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "missing_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/missing_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "missing field `currency` at line 1 column 40",
  "code": "missing_field",
  "instance": "/admin/v1/store/prices?store=bank",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "prices[0].currency"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "Nothing was changed. Codes:\n\n- `unknown_currency`: an entry's `currency` is not a currency the shop knows (`detail` names the entry).\n- `sku_not_found`: an entry's SKU is no variant of the catalog (`detail` names the entry).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "sku_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/sku_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "prices[1].sku: no variant has this SKU.",
  "code": "sku_not_found",
  "instance": "/admin/v1/store/prices?store=bank",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "`too_many_prices`: the store would have more than 20,000 prices of its own. Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "too_many_prices", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/too_many_prices",
  "title": "Conflict",
  "status": 409,
  "detail": "A store may have at most 20000 prices of its own.",
  "code": "too_many_prices",
  "instance": "/admin/v1/store/prices?store=bank",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("413", Response::Shared("AdminPayloadTooLarge")),
                ("415", Response::Shared("AdminUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: the batch holds no entry or more than 1,000 (`invalid_length` for field `prices`), or an entry's `amount` is neither null nor an integer from 0 to 100000000000 (`invalid_price` for `prices[i].amount`). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_price", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/store/prices?store=bank",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "prices[0].amount",
      "code": "invalid_price",
      "message": "must be null or a non-negative integer of minor units"
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("AdminServiceUnavailable")),
            ],
        },
        Handler::ListPromotions => Op {
            id: "listPromotions",
            tag: "Admin",
            summary: "List promotions",
            description: "Lists every promotion of the store, automatic ones and coupons, active or not, in id order, each with its `redemptions` so far. There is no paging. Read from the store's Durable Object, so it reflects every acknowledged change. Allowed to roles `admin` and `viewer`. HEAD answers like GET, without a body. Accepts no query parameters. Never cached (`Cache-Control: no-store`). Order of checks: the Worker's configuration and the token (503 `misconfigured`, 401), query parameters (400), then the store's Durable Object (503).",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "Every promotion.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("PromotionList"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "items": [
    {
      "schema": 1,
      "id": "autumn-5",
      "description": "5 € off this autumn",
      "discount": {
        "type": "amount_off",
        "amounts": {
          "EUR": 500
        }
      },
      "target": {
        "type": "cart"
      },
      "active": true,
      "starts_at": null,
      "ends_at": null,
      "redemptions": 0
    },
    {
      "schema": 1,
      "id": "bigspender",
      "code": "BIGSPENDER",
      "description": "15 off kitchenware from 100",
      "discount": {
        "type": "amount_off",
        "amounts": {
          "USD": 1500
        }
      },
      "target": {
        "type": "category",
        "category": "kitchen"
      },
      "min_subtotal": {
        "USD": 10000
      },
      "active": true,
      "starts_at": null,
      "ends_at": null,
      "redemptions": 3
    },
    {
      "schema": 1,
      "id": "save10",
      "code": "SAVE10",
      "description": "10 % off everything",
      "discount": {
        "type": "percentage",
        "basis_points": 1000
      },
      "target": {
        "type": "cart"
      },
      "starts_at_ms": 1793491200000,
      "ends_at_ms": 1796083200000,
      "usage_limit": 1000,
      "per_customer_limit": 1,
      "active": true,
      "starts_at": "2026-11-01T00:00:00.000Z",
      "ends_at": "2026-12-01T00:00:00.000Z",
      "redemptions": 42
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/promotions?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::GetPromotion => Op {
            id: "getPromotion",
            tag: "Admin",
            summary: "Read a promotion",
            description: "Returns promotion `{id}` with its `redemptions` so far (404 `promotion_not_found` when no promotion has this id). Read from the store's Durable Object, so it reflects every acknowledged change. Allowed to roles `admin` and `viewer`. HEAD answers like GET, without a body. Accepts no query parameters. Never cached (`Cache-Control: no-store`). Order of checks: the Worker's configuration and the token (503 `misconfigured`, 401), query parameters (400), then the store's Durable Object (503, 404).",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The promotion.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Promotion"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "schema": 1,
  "id": "save10",
  "code": "SAVE10",
  "description": "10 % off everything",
  "discount": {
    "type": "percentage",
    "basis_points": 1000
  },
  "target": {
    "type": "cart"
  },
  "starts_at_ms": 1793491200000,
  "ends_at_ms": 1796083200000,
  "usage_limit": 1000,
  "per_customer_limit": 1,
  "active": true,
  "starts_at": "2026-11-01T00:00:00.000Z",
  "ends_at": "2026-12-01T00:00:00.000Z",
  "redemptions": 42
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/promotions/save10?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("404", Response::Own(Resp {
                    description: "Codes:\n\n- `promotion_not_found`: no promotion has this id.\n- `route_not_found`: the path has an empty or an extra segment; no route matches it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "promotion_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/promotion_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No promotion has this id.",
  "code": "promotion_not_found",
  "instance": "/admin/v1/promotions/save10",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::PutPromotion => Op {
            id: "putPromotion",
            tag: "Admin",
            summary: "Create or replace a promotion",
            description: "Creates promotion `{id}` (201) or replaces it (200) with the body, the whole promotion (`PromotionInput`; there is no partial update), and answers the promotion as stored, with its `redemptions` so far. The id comes from the path: the body may omit `id`, and a body `id` that differs is 422 `id_mismatch` (field `id`), reported alone. Every other rule is checked before anything is saved and every problem is reported at once (422 `validation_failed`); a refused request changes nothing. With a `code` the promotion is a coupon, applied only to carts that carry the code; the code is stored trimmed and uppercase and must not be another promotion's (409 `code_taken`). Without a code the promotion is automatic: it applies to every cart it is eligible for. How promotions combine on a cart (order, minimum subtotal, rounding, allocation) is described in the API description. Replacing a promotion keeps its redemption count (the ledger is kept by id); carts that carry a code the promotion no longer has show it as `unknown`. Writes are applied one at a time by the store's Durable Object, which saves the change together with its entry in the store's audit trail (`GET /admin/v1/store/audit`: action `promotion.set`, target `promotion:{id}`, the token's label as `actor`, the promotion before and after; a PUT that changes nothing records none) and, before answering, publishes the display copy carts read (configuration and promotions) to Workers KV. The change applies to the next checkout at once (checkout reads the store object) and to cart responses within about a second at the location that wrote it (each edge re-reads the copy at most every second), elsewhere within KV's propagation window (about 60 seconds). Requires role `admin`. Never cached (`Cache-Control: no-store`). Order of checks: the Worker's configuration and the token (503 `misconfigured`, 401, 403), query parameters (400), the body's media type (415), size (413) and JSON syntax (400 `invalid_json`), the body's `id` (422 `id_mismatch`), the body's shape (400), the rules (422), then in the store's Durable Object the code's uniqueness (409) and the write (503).",
            headers: &["XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The whole promotion, as `application/json` of at most 64 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("PromotionInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The promotion was replaced; the promotion as stored.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Promotion"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "schema": 1,
  "id": "save10",
  "code": "SAVE10",
  "description": "10 % off everything",
  "discount": {
    "type": "percentage",
    "basis_points": 1000
  },
  "target": {
    "type": "cart"
  },
  "starts_at_ms": 1793491200000,
  "ends_at_ms": 1796083200000,
  "usage_limit": 1000,
  "per_customer_limit": 1,
  "active": true,
  "starts_at": "2026-11-01T00:00:00.000Z",
  "ends_at": "2026-12-01T00:00:00.000Z",
  "redemptions": 42
}"# },
                    ] },
                ],
                })),
                ("201", Response::Own(Resp {
                    description: "The promotion was created; the promotion as stored.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("Promotion"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "schema": 1,
  "id": "save10",
  "code": "SAVE10",
  "description": "10 % off everything",
  "discount": {
    "type": "percentage",
    "basis_points": 1000
  },
  "target": {
    "type": "cart"
  },
  "starts_at_ms": 1793491200000,
  "ends_at_ms": 1796083200000,
  "usage_limit": 1000,
  "per_customer_limit": 1,
  "active": true,
  "starts_at": "2026-11-01T00:00:00.000Z",
  "ends_at": "2026-12-01T00:00:00.000Z",
  "redemptions": 0
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused before anything is saved. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field the input does not define; `field` names it.\n- `missing_field`: a required field is absent; `field` names it.\n- `invalid_type`: a field, or the body itself, has the wrong JSON type or is out of its type's range (e.g. an unknown `type` or `provider`, or a currency key the shop does not know in a typed map); `field` names it when it is a field.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "unknown field `stackable`, expected one of `id`, `code`, `description`, `discount`, `target`, `min_subtotal`, `starts_at`, `ends_at`, `usage_limit`, `per_customer_limit`, `active` at line 1 column 112",
  "code": "unknown_field",
  "instance": "/admin/v1/promotions/save10",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "stackable"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("409", Response::Own(Resp {
                    description: "`code_taken`: another promotion already uses this coupon code (the detail names it). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "code_taken", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/code_taken",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "Promotion summer already uses the coupon code SAVE10.",
  "code": "code_taken",
  "instance": "/admin/v1/promotions/save10",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("413", Response::Shared("AdminPayloadTooLarge")),
                ("415", Response::Shared("AdminUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: `errors` lists every problem, each naming its field; see `PromotionInput` for every field and code. A body `id` that differs from the path's is reported alone (`id_mismatch`). Nothing was changed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "validation_failed", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "3 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/promotions/summer",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "code",
      "code": "invalid_code",
      "message": "must be 3 to 32 letters, digits or hyphens"
    },
    {
      "field": "discount.basis_points",
      "code": "invalid_rate",
      "message": "must be 1 to 10000 basis points"
    },
    {
      "field": "ends_at",
      "code": "ends_before_start",
      "message": "must be after starts_at"
    }
  ]
}"# },
                        Example { name: "id_mismatch", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/promotions/save10",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "id",
      "code": "id_mismatch",
      "message": "The body's id differs from the path's."
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::DeletePromotion => Op {
            id: "deletePromotion",
            tag: "Admin",
            summary: "Delete a promotion",
            description: "Deletes promotion `{id}` and answers 200 with `{id, deleted: true}`; 404 `promotion_not_found` when no promotion has this id, also when repeating a deletion that was applied. Carts stop applying it once the published copy reaches them (about a second at the location that wrote it, about 60 seconds elsewhere); carts that carry its code then show that coupon as `unknown`. Its redemption records are kept. The deletion is recorded in the store's audit trail with it (action `promotion.delete`, the promotion as it was in `before`). To stop a promotion without deleting it, PUT it with `active: false`. No body is read. Requires role `admin`. Never cached (`Cache-Control: no-store`). Order of checks: the Worker's configuration and the token (503 `misconfigured`, 401, 403), query parameters (400), then the store's Durable Object (404, 503).",
            headers: &["XRequestId"],
            query: &[],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The promotion was deleted.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("PromotionDeleted"), examples: &[
                        Example { name: "example", summary: None, value: r#"{"id": "save10", "deleted": true}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts none); `param` names it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unknown_parameter", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unknown_parameter",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Unknown query parameter \"foo\"; this route accepts: none.",
  "code": "unknown_parameter",
  "instance": "/admin/v1/promotions/save10?foo=1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "foo"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "Codes:\n\n- `promotion_not_found`: no promotion has this id.\n- `route_not_found`: the path has an empty or an extra segment; no route matches it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "promotion_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/promotion_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No promotion has this id.",
  "code": "promotion_not_found",
  "instance": "/admin/v1/promotions/save10",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("StoreServiceUnavailable")),
            ],
        },
        Handler::GetPoints => Op {
            id: "getPoints",
            tag: "Points",
            summary: "Read the signed-in member's points",
            description: "Answers the points of the member the `Member-Token` signs in, at the store the request resolves to: what the store calls them (`unit`), the `balance` (`available` to spend now, `pending`, `held`, `debt`, and the soonest expiry of spendable points) and one page of the history, newest first. The token is verified for this store (see the security scheme `memberToken`) and the member is its `sub`, so a member reads only their own points. A member with no points yet has a zero balance and an empty history. Page through older rows with `next_cursor` until it is null. The balance and history are read from the member's ledger (one Durable Object per store and member), so they reflect every change acknowledged before the request, at every edge; the programme (whether there is one, and its `unit`) is read from the store's published copy, which shows a programme change within about a second where it was written and within KV's propagation window (about 60 seconds) elsewhere. HEAD answers like GET, without a body. Never cached (`Cache-Control: no-store`). Order of checks: the Worker's configuration (503 `misconfigured`), the store (404 `store_not_found`), the `Member-Token` header (401 `member_token_required`), query parameter names (400), the token itself (401 `invalid_member_token`; 503 `misconfigured` when `MEMBER_TOKEN_SECRETS` is malformed), the store's programme (404 `no_points_programme`: only a caller the store admits learns whether it runs one), `limit` and `cursor` (400), then the member's ledger (503).",
            headers: &["XRequestId"],
            query: &[
                QueryDoc::Inline(Param {
                    name: "limit",
                    place: Place::Query,
                    required: false,
                    description: "Page size in history rows: an integer from 1 to 200 written with digits only (default 50), else 400 `invalid_limit`.",
                    schema: r#"{"anyOf": [{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "cursor",
                    place: Place::Query,
                    required: false,
                    description: "Opaque cursor: the `next_cursor` of the previous page, passed back as it is; the page then holds the rows older than the last one shown. A malformed cursor (such as an audit-trail cursor) is 400 `invalid_cursor`.",
                    schema: r#"{"anyOf": [{"type": "string", "pattern": "^r[0-9]{1,19}$"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The member's balance and one page of their history, newest first.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Points"))],
                    content: &[
                    Content { media: "application/json", schema: Named("PointsAccount"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "member": "m-1001",
  "unit": "points",
  "balance": {
    "available": 9500,
    "pending": 0,
    "held": 0,
    "debt": 0,
    "next_expiry": {
      "points": 9500,
      "at": "2028-01-15T00:00:00.000Z"
    }
  },
  "history": [
    {
      "seq": 2,
      "at": "2027-02-01T09:30:00.000Z",
      "kind": "adjust",
      "points": -500,
      "lot": 1,
      "reason": "granted twice by mistake",
      "expires_at": "2028-01-15T00:00:00.000Z"
    },
    {
      "seq": 1,
      "at": "2027-01-15T00:00:00.000Z",
      "kind": "grant",
      "points": 10000,
      "lot": 1,
      "reason": "welcome bonus",
      "expires_at": "2028-01-15T00:00:00.000Z"
    }
  ],
  "next_cursor": null
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (it accepts `limit`, `cursor` and `store`).\n- `duplicate_parameter`: a parameter is given more than once.\n- `invalid_limit`: `limit` is not an integer from 1 to 200 written with digits only.\n- `invalid_cursor`: `cursor` is malformed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Points"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_limit", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_limit",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "limit must be an integer from 1 to 200.",
  "code": "invalid_limit",
  "instance": "/v1/points?limit=500",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "limit"
}"# },
                        Example { name: "invalid_cursor", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_cursor",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Pass back next_cursor as it is.",
  "code": "invalid_cursor",
  "instance": "/v1/points?cursor=a1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "cursor"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("MemberUnauthorized")),
                ("404", Response::Own(Resp {
                    description: "`no_points_programme`: the store has no points programme (as its published copy shows it). Nothing was read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Points"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "no_points_programme", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/no_points_programme",
  "title": "Not found",
  "status": 404,
  "detail": "This store has no points programme.",
  "code": "no_points_programme",
  "instance": "/v1/points",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("PointsServiceUnavailable")),
            ],
        },
        Handler::DevMemberToken => Op {
            id: "devMemberToken",
            tag: "Points",
            summary: "Sign a member in (development only)",
            description: "For local development without the operator's site: signs a member token for `member` at the store the request resolves to, as the operator's site would, and answers it with its expiry, 12 hours on. Send it as the `Member-Token` header of `GET /v1/points`. Off unless the deployment sets `DEV_MEMBER_SIGN_IN` to `on` (else 404 `dev_sign_in_off`): while it is on, anyone can read any member's points, so never turn it on where members' points matter. The token is signed HS256 with the store's secret from the Worker secret `MEMBER_TOKEN_SECRETS` (503 `misconfigured` when that has none for the store), with the member as `sub`, the store's id as `aud` and `exp`. Needs no authentication. The store must run a points programme (404 `no_points_programme`, read from its published copy). Any member id of the right shape is accepted: members are the operator's, and Edgecart keeps no list of them. Not idempotent: each request signs a new token. Never cached (`Cache-Control: no-store`). Order of checks: the Worker's configuration (503 `misconfigured`), the store (404 `store_not_found`), query parameters (400), the switch (404 `dev_sign_in_off`), the programme (404 `no_points_programme`), the body's media type (415), size (413) and JSON shape (400), `member` (422 `invalid_member`), then the store's secret (503 `misconfigured`).",
            headers: &["XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The member to sign in, as `application/json` of at most 4 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("DevSignInInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "A member token for `member` at this store, valid until `expires_at`.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Points"))],
                    content: &[
                    Content { media: "application/json", schema: Named("DevToken"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "member": "demo-member",
  "token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vLW1lbWJlciIsImF1ZCI6ImRlZmF1bHQiLCJleHAiOjE3OTk5OTkyMDB9.c2lnbmF0dXJl",
  "expires_at": "2027-01-15T12:00:00.000Z"
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused; nothing was signed. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts only `store`); `param` names it.\n- `duplicate_parameter`: a query parameter is given more than once; `param` names it.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field other than `member`; `field` names it.\n- `missing_field`: `member` is absent; `field` names it.\n- `invalid_type`: `member`, or the body itself, has the wrong JSON type; `field` names it when it is a field.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Points"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "missing_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/missing_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "missing field `member` at line 1 column 2",
  "code": "missing_field",
  "instance": "/v1/points/dev-token",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "member"
}"# },
                    ] },
                ],
                })),
                ("404", Response::Own(Resp {
                    description: "Nothing was signed. Codes:\n\n- `dev_sign_in_off`: the development sign-in is off on this deployment (`DEV_MEMBER_SIGN_IN` is not `on`).\n- `no_points_programme`: the store has no points programme (as its published copy shows it).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Points"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "dev_sign_in_off", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/dev_sign_in_off",
  "title": "Not found",
  "status": 404,
  "detail": "The development sign-in is off on this deployment (DEV_MEMBER_SIGN_IN).",
  "code": "dev_sign_in_off",
  "instance": "/v1/points/dev-token",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                        Example { name: "no_points_programme", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/no_points_programme",
  "title": "Not found",
  "status": 404,
  "detail": "This store has no points programme.",
  "code": "no_points_programme",
  "instance": "/v1/points/dev-token",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("413", Response::Shared("PointsPayloadTooLarge")),
                ("415", Response::Own(Resp {
                    description: "`unsupported_media_type`: the `Content-Type` is not `application/json` (parameters such as `charset` are allowed). Nothing was signed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Points"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "unsupported_media_type", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unsupported_media_type",
  "title": "Unsupported media type",
  "status": 415,
  "detail": "Send the body as application/json.",
  "code": "unsupported_media_type",
  "instance": "/v1/points/dev-token",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("422", Response::Own(Resp {
                    description: "`validation_failed` with `invalid_member` (field `member`): not 1 to 64 ASCII letters, digits, `.`, `_`, `-`, `@` or `+`. Nothing was signed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Points"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_member", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/v1/points/dev-token",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "member",
      "code": "invalid_member",
      "message": "1 to 64 letters, digits, `.`, `_`, `-`, `@` or `+`"
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Own(Resp {
                    description: "`misconfigured`: `MEMBER_TOKEN_SECRETS` has no secret for this store (or is malformed, which disables every HS256 secret), or the Worker's configuration is invalid. Retry after `Retry-After` seconds once the deployment is fixed; the cause is logged, never shown.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Points")), ("Retry-After", Hdr::Ref("Retry-After"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "misconfigured", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/misconfigured",
  "title": "Service misconfigured",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "misconfigured",
  "instance": "/v1/points/dev-token",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
            ],
        },
        Handler::AdminGetPoints => Op {
            id: "adminGetPoints",
            tag: "Points",
            summary: "Read a member's points",
            description: "Answers member `{member}`'s points as `GET /v1/points` shows them to the member (the `unit`, the `balance` and one page of the history, newest first), with each history row's `actor` (the admin token's label for a grant or adjustment, `system` for an expiry, and for an order's rows `checkout` or who cancelled or refunded it) and `key` (a grant's or adjustment's `Idempotency-Key`; the ledger's own key for other rows). Any well-formed member id names a member: Edgecart keeps no list of members, and one with no points yet has a zero balance and an empty history. The balance and history are read from the member's ledger (one Durable Object per store and member), so they reflect every change acknowledged before the request; the programme is read from the store's published copy. Page through older rows with `next_cursor` until it is null. Allowed to roles `admin` and `viewer` of the store, and to operators. HEAD answers like GET, without a body. Never cached (`Cache-Control: no-store`). Order of checks: the Worker's configuration and the token (503 `misconfigured`, 401, 403), the store (404 `store_not_found`, 403 for another store's token), query parameter names (400), the store's programme (404 `no_points_programme`), the member id (404 `member_not_found`), `limit` and `cursor` (400), then the member's ledger (503).",
            headers: &["XRequestId"],
            query: &[
                QueryDoc::Inline(Param {
                    name: "limit",
                    place: Place::Query,
                    required: false,
                    description: "Page size in history rows: an integer from 1 to 200 written with digits only (default 50), else 400 `invalid_limit`.",
                    schema: r#"{"anyOf": [{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
                QueryDoc::Inline(Param {
                    name: "cursor",
                    place: Place::Query,
                    required: false,
                    description: "Opaque cursor: the `next_cursor` of the previous page, passed back as it is; the page then holds the rows older than the last one shown. A malformed cursor (such as an audit-trail cursor) is 400 `invalid_cursor`.",
                    schema: r#"{"anyOf": [{"type": "string", "pattern": "^r[0-9]{1,19}$"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
                    examples: &[],
                }),
            ],
            body: None,
            responses: &[
                ("200", Response::Own(Resp {
                    description: "The member's balance and one page of their history, newest first, with each row's `actor` and `key`.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("PointsAccount"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "member": "m-1001",
  "unit": "points",
  "balance": {
    "available": 9500,
    "pending": 0,
    "held": 0,
    "debt": 0,
    "next_expiry": {
      "points": 9500,
      "at": "2028-01-15T00:00:00.000Z"
    }
  },
  "history": [
    {
      "seq": 2,
      "at": "2027-02-01T09:30:00.000Z",
      "kind": "adjust",
      "points": -500,
      "lot": 1,
      "reason": "granted twice by mistake",
      "expires_at": "2028-01-15T00:00:00.000Z",
      "actor": "ops",
      "key": "fix-m-1001-2027-02-01"
    }
  ],
  "next_cursor": "r2"
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "A query parameter is refused; `param` names it. Codes:\n\n- `unknown_parameter`: a parameter this route does not accept (it accepts `limit`, `cursor` and `store`).\n- `duplicate_parameter`: a parameter is given more than once.\n- `invalid_limit`: `limit` is not an integer from 1 to 200 written with digits only.\n- `invalid_cursor`: `cursor` is malformed.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_cursor", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_cursor",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "Pass back next_cursor as it is.",
  "code": "invalid_cursor",
  "instance": "/admin/v1/members/m-1001/points?cursor=m3",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "cursor"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "Nothing was read. Codes:\n\n- `no_points_programme`: the store has no points programme (as its published copy shows it).\n- `member_not_found`: `{member}` is not a member id (1 to 64 ASCII letters, digits, `.`, `_`, `-`, `@` or `+`, once percent-escapes are decoded).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "member_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/member_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "A member id is 1 to 64 letters, digits, `.`, `_`, `-`, `@` or `+`.",
  "code": "member_not_found",
  "instance": "/admin/v1/members/a%2Fb/points",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                        Example { name: "no_points_programme", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/no_points_programme",
  "title": "Not found",
  "status": 404,
  "detail": "This store has no points programme.",
  "code": "no_points_programme",
  "instance": "/admin/v1/members/m-1001/points",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("PointsServiceUnavailable")),
            ],
        },
        Handler::GrantPoints => Op {
            id: "grantPoints",
            tag: "Points",
            summary: "Grant a member points",
            description: "Gives member `{member}` `points` (1 to 10^12) for `reason` (1 to 200 characters, not blank; the member sees it in their history), as a new lot spendable at once. The lot expires at `expires_at` when given (RFC 3339, ahead of now), else the programme's `expiry_days` from now, else never. Points received pay the member's debt first, if they owe any (a `repay` history row). Answers 201 with the balance after the grant. Applied once per `Idempotency-Key` (required) for this member: a repeat of the same request answers 200 with `replayed: true` and the balance now, and changes nothing; the same key with any other change of the member's points is 409 `idempotency_key_reused` (see the header). The grant is applied by the member's ledger (one Durable Object per store and member), one at a time with every other change of the member's points, atomically with its history rows and its audit entry (action `points.grant`, target `member:{member}`, `available` before and after, the points and the reason), which is then delivered to the store's audit trail (`GET /admin/v1/store/audit`), before the answer unless that delivery fails (it is then retried every 5 seconds, and recorded once however often it is delivered). All-or-nothing: a refused grant changes nothing. The programme is read from the store's Durable Object itself, so a programme just set applies at once. Requires role `admin` of the store, or an operator. Never cached (`Cache-Control: no-store`). Order of checks: the Worker's configuration and the token (503 `misconfigured`, 401, 403), the store (404 `store_not_found`, 403 for another store's token), query parameters (400), the programme, read from the store's Durable Object (503, 404 `no_points_programme`), the member id (404 `member_not_found`), the `Idempotency-Key` (400 `invalid_idempotency_key`, `idempotency_key_required`), the body's media type (415), size (413) and JSON shape (400), the syntax of `expires_at` (400 `invalid_time`), then, in the member's ledger, the key (200 replayed, 409 `idempotency_key_reused`), `points` (422 `invalid_points`), `reason` (422 `invalid_reason`) and `expires_at` (422 `invalid_expiry`).",
            headers: &["PointsIdempotencyKey", "XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The grant, as `application/json` of at most 4 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("GrantInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "A repeat of a grant already applied under this `Idempotency-Key` (the same `points`, `reason` and `expires_at`): nothing changed. `replayed` is true, and `balance` is the member's balance now (not as the first answer showed it).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("PointsChanged"), examples: &[
                        Example { name: "replayed", summary: None, value: r#"{
  "member": "m-1001",
  "balance": {
    "available": 10000,
    "pending": 0,
    "held": 0,
    "debt": 0,
    "next_expiry": {
      "points": 10000,
      "at": "2028-01-15T00:00:00.000Z"
    }
  },
  "replayed": true
}"# },
                    ] },
                ],
                })),
                ("201", Response::Own(Resp {
                    description: "The grant was applied; `balance` is the member's balance after it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("PointsChanged"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "member": "m-1001",
  "balance": {
    "available": 10000,
    "pending": 0,
    "held": 0,
    "debt": 0,
    "next_expiry": {
      "points": 10000,
      "at": "2028-01-15T00:00:00.000Z"
    }
  },
  "replayed": false
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused before anything is written. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts only `store`); `param` names it.\n- `duplicate_parameter`: a query parameter is given more than once; `param` names it.\n- `invalid_idempotency_key`: the `Idempotency-Key` header is not 1 to 128 visible ASCII characters; `param` is `Idempotency-Key`.\n- `idempotency_key_required`: no `Idempotency-Key` header.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field other than `points`, `reason` and `expires_at`; `field` names it.\n- `missing_field`: `points` or `reason` is absent; `field` names it.\n- `invalid_type`: a field, or the body itself, has the wrong JSON type or is out of its type's range (e.g. a fractional `points`); `field` names it when it is a field.\n- `invalid_time`: `expires_at` is not an RFC 3339 date-time; `field` is `expires_at`.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "idempotency_key_required", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/idempotency_key_required",
  "title": "Invalid request body",
  "status": 400,
  "detail": "A grant or adjustment needs an Idempotency-Key header (1–128 visible ASCII characters), generated once per change.",
  "code": "idempotency_key_required",
  "instance": "/admin/v1/members/m-1001/points/grants",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                        Example { name: "invalid_time", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_time",
  "title": "Invalid request body",
  "status": 400,
  "detail": "expires_at is an RFC 3339 date-time.",
  "code": "invalid_time",
  "instance": "/admin/v1/members/m-1001/points/grants",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "expires_at"
}"# },
                        Example { name: "missing_field", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/missing_field",
  "title": "Invalid request body",
  "status": 400,
  "detail": "missing field `reason` at line 1 column 15",
  "code": "missing_field",
  "instance": "/admin/v1/members/m-1001/points/grants",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "reason"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "Nothing was changed. Codes:\n\n- `no_points_programme`: the store has no points programme (as its Durable Object has it now).\n- `member_not_found`: `{member}` is not a member id (1 to 64 ASCII letters, digits, `.`, `_`, `-`, `@` or `+`, once percent-escapes are decoded).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "no_points_programme", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/no_points_programme",
  "title": "Not found",
  "status": 404,
  "detail": "This store has no points programme.",
  "code": "no_points_programme",
  "instance": "/admin/v1/members/m-1001/points/grants",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "`idempotency_key_reused`: this `Idempotency-Key` already applied another change of this member's points (an adjustment, or a grant of other `points`, `reason` or `expires_at`). Nothing was changed; use a new key for a new change.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "idempotency_key_reused", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/idempotency_key_reused",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "This Idempotency-Key was used for a different change of this member's points.",
  "code": "idempotency_key_reused",
  "instance": "/admin/v1/members/m-1001/points/grants",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("413", Response::Shared("PointsPayloadTooLarge")),
                ("415", Response::Shared("AdminUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: `errors` holds one problem, the first found: `invalid_points` (field `points`: not from 1 to 10^12), `invalid_reason` (field `reason`: blank, or longer than 200 characters) or `invalid_expiry` (field `expires_at`: not ahead of now). Nothing was changed, and the key stays free.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_expiry", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/members/m-1001/points/grants",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "expires_at",
      "code": "invalid_expiry",
      "message": "must be ahead of now"
    }
  ]
}"# },
                        Example { name: "invalid_points", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/members/m-1001/points/grants",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "points",
      "code": "invalid_points",
      "message": "1 to 10^12 points (either way for an adjustment, never 0)"
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("PointsWriteServiceUnavailable")),
            ],
        },
        Handler::AdjustPoints => Op {
            id: "adjustPoints",
            tag: "Points",
            summary: "Adjust a member's points up or down",
            description: "Corrects member `{member}`'s points by `points` (not 0, at most 10^12 either way) for `reason` (1 to 200 characters, not blank; the member sees it in their history). Up, it adds a new lot like a grant: spendable at once, expiring per the programme's `expiry_days` (else never), paying the member's debt first if they owe any. Down, it takes from the member's spendable points that no checkout holds, from the lots that expire soonest first (one `adjust` history row per lot), and never below zero: more than `available` is 409 `insufficient_points`, with `available`. Answers 201 with the balance after the adjustment. Applied once per `Idempotency-Key` (required) for this member: a repeat of the same request answers 200 with `replayed: true` and the balance now, and changes nothing; the same key with any other change of the member's points is 409 `idempotency_key_reused` (see the header). The adjustment is applied by the member's ledger (one Durable Object per store and member), one at a time with every other change of the member's points, atomically with its history rows and its audit entry (action `points.adjust`, target `member:{member}`, `available` before and after, the points and the reason), which is then delivered to the store's audit trail (`GET /admin/v1/store/audit`), before the answer unless that delivery fails (it is then retried every 5 seconds, and recorded once however often it is delivered). All-or-nothing: a refused adjustment changes nothing. The programme is read from the store's Durable Object itself, so a programme just set applies at once. Requires role `admin` of the store, or an operator. Never cached (`Cache-Control: no-store`). Order of checks: the Worker's configuration and the token (503 `misconfigured`, 401, 403), the store (404 `store_not_found`, 403 for another store's token), query parameters (400), the programme, read from the store's Durable Object (503, 404 `no_points_programme`), the member id (404 `member_not_found`), the `Idempotency-Key` (400 `invalid_idempotency_key`, `idempotency_key_required`), the body's media type (415), size (413) and JSON shape (400), then, in the member's ledger, the key (200 replayed, 409 `idempotency_key_reused`), `points` (422 `invalid_points`), `reason` (422 `invalid_reason`) and, down, the points available (409 `insufficient_points`).",
            headers: &["PointsIdempotencyKey", "XRequestId"],
            query: &[],
            body: Some(Body {
                required: true,
                description: "The adjustment, as `application/json` of at most 4 KiB.",
                content: &[
                    Content { media: "application/json", schema: Named("AdjustInput"), examples: &[] },
                ],
            }),
            responses: &[
                ("200", Response::Own(Resp {
                    description: "A repeat of an adjustment already applied under this `Idempotency-Key` (the same `points` and `reason`): nothing changed. `replayed` is true, and `balance` is the member's balance now (not as the first answer showed it).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("PointsChanged"), examples: &[
                        Example { name: "replayed", summary: None, value: r#"{
  "member": "m-1001",
  "balance": {
    "available": 9500,
    "pending": 0,
    "held": 0,
    "debt": 0,
    "next_expiry": {
      "points": 9500,
      "at": "2028-01-15T00:00:00.000Z"
    }
  },
  "replayed": true
}"# },
                    ] },
                ],
                })),
                ("201", Response::Own(Resp {
                    description: "The adjustment was applied; `balance` is the member's balance after it.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/json", schema: Named("PointsChanged"), examples: &[
                        Example { name: "example", summary: None, value: r#"{
  "member": "m-1001",
  "balance": {
    "available": 9500,
    "pending": 0,
    "held": 0,
    "debt": 0,
    "next_expiry": {
      "points": 9500,
      "at": "2028-01-15T00:00:00.000Z"
    }
  },
  "replayed": false
}"# },
                    ] },
                ],
                })),
                ("400", Response::Own(Resp {
                    description: "The request is refused before anything is written. Codes:\n\n- `unknown_parameter`: a query parameter (this route accepts only `store`); `param` names it.\n- `duplicate_parameter`: a query parameter is given more than once; `param` names it.\n- `invalid_idempotency_key`: the `Idempotency-Key` header is not 1 to 128 visible ASCII characters; `param` is `Idempotency-Key`.\n- `idempotency_key_required`: no `Idempotency-Key` header.\n- `invalid_json`: the body is not JSON (or not UTF-8).\n- `unknown_field`: the body has a field other than `points` and `reason`; `field` names it.\n- `missing_field`: `points` or `reason` is absent; `field` names it.\n- `invalid_type`: a field, or the body itself, has the wrong JSON type or is out of its type's range (e.g. a fractional `points`); `field` names it when it is a field.\n- `invalid_body`: the body could not be read.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_idempotency_key", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_idempotency_key",
  "title": "Invalid request parameter",
  "status": 400,
  "detail": "An Idempotency-Key must be 1 to 128 visible ASCII characters (`!` to `~`).",
  "code": "invalid_idempotency_key",
  "instance": "/admin/v1/members/m-1001/points/adjustments",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "param": "Idempotency-Key"
}"# },
                        Example { name: "invalid_type", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_type",
  "title": "Invalid request body",
  "status": 400,
  "detail": "invalid type: string \"ten\", expected i64 at line 1 column 16",
  "code": "invalid_type",
  "instance": "/admin/v1/members/m-1001/points/adjustments",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "field": "points"
}"# },
                    ] },
                ],
                })),
                ("401", Response::Shared("AdminUnauthorized")),
                ("403", Response::Shared("AdminForbidden")),
                ("404", Response::Own(Resp {
                    description: "Nothing was changed. Codes:\n\n- `no_points_programme`: the store has no points programme (as its Durable Object has it now).\n- `member_not_found`: `{member}` is not a member id (1 to 64 ASCII letters, digits, `.`, `_`, `-`, `@` or `+`, once percent-escapes are decoded).",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "member_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/member_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "A member id is 1 to 64 letters, digits, `.`, `_`, `-`, `@` or `+`.",
  "code": "member_not_found",
  "instance": "/admin/v1/members/a%2Fb/points/adjustments",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("409", Response::Own(Resp {
                    description: "Nothing was changed. Codes:\n\n- `insufficient_points`: a downward adjustment takes more than the member can spend now; `available` is what they can (0 when they owe points). Points held by checkouts in progress, pending or owed cannot be taken.\n- `idempotency_key_reused`: this `Idempotency-Key` already applied another change of this member's points (a grant, or an adjustment of other `points` or `reason`); use a new key for a new change.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "insufficient_points", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/insufficient_points",
  "title": "Not enough points",
  "status": 409,
  "detail": "Only 300 points can be spent now; nothing changed.",
  "code": "insufficient_points",
  "instance": "/admin/v1/members/m-1001/points/adjustments",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "available": 300
}"# },
                        Example { name: "idempotency_key_reused", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/idempotency_key_reused",
  "title": "Conflict with the current state",
  "status": 409,
  "detail": "This Idempotency-Key was used for a different change of this member's points.",
  "code": "idempotency_key_reused",
  "instance": "/admin/v1/members/m-1001/points/adjustments",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
                    ] },
                ],
                })),
                ("413", Response::Shared("PointsPayloadTooLarge")),
                ("415", Response::Shared("AdminUnsupportedMediaTypeJson")),
                ("422", Response::Own(Resp {
                    description: "`validation_failed`: `errors` holds one problem, the first found: `invalid_points` (field `points`: 0, or beyond ±10^12) or `invalid_reason` (field `reason`: blank, or longer than 200 characters). Nothing was changed, and the key stays free.",
                    headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
                    content: &[
                    Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
                        Example { name: "invalid_reason", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/validation_failed",
  "title": "Validation failed",
  "status": 422,
  "detail": "1 problem(s); see `errors`.",
  "code": "validation_failed",
  "instance": "/admin/v1/members/m-1001/points/adjustments",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
  "errors": [
    {
      "field": "reason",
      "code": "invalid_reason",
      "message": "1 to 200 characters, not blank"
    }
  ]
}"# },
                    ] },
                ],
                })),
                ("503", Response::Shared("PointsWriteServiceUnavailable")),
            ],
        },
    }
}

/// The component documenting each path parameter, by route pattern and name.
pub const PATH_PARAMETERS: &[(&str, &str, &str)] = &[
    ("/v1/products/{id_or_slug}", "id_or_slug", "ProductIdOrSlug"),
    ("/v1/inventory/{sku}", "sku", "InventorySku"),
    ("/v1/carts/{id}", "id", "CartId"),
    ("/v1/carts/{id}/lines", "id", "CartId"),
    ("/v1/carts/{id}/lines/{sku}", "id", "CartId"),
    ("/v1/carts/{id}/lines/{sku}", "sku", "CartLineSku"),
    ("/v1/carts/{id}/coupons", "id", "CartId"),
    ("/v1/carts/{id}/coupons/{code}", "id", "CartId"),
    ("/v1/carts/{id}/coupons/{code}", "code", "CouponCode"),
    ("/v1/carts/{id}/checkout", "id", "CartId"),
    ("/v1/orders/{id}", "id", "OrderId"),
    ("/v1/orders/{id}/cancel", "id", "OrderId"),
    ("/admin/v1/products/{id}", "id", "AdminProductId"),
    ("/admin/v1/prices/{sku}/{currency}", "sku", "AdminSku"),
    (
        "/admin/v1/prices/{sku}/{currency}",
        "currency",
        "AdminCurrency",
    ),
    ("/admin/v1/categories/{slug}", "slug", "AdminCategorySlug"),
    ("/admin/v1/inventory/{sku}", "sku", "InventorySku"),
    (
        "/admin/v1/inventory/{sku}/adjustments",
        "sku",
        "InventorySku",
    ),
    ("/admin/v1/inventory/{sku}/movements", "sku", "InventorySku"),
    ("/admin/v1/orders/{id}", "id", "AdminOrderId"),
    ("/admin/v1/webhooks/{id}", "id", "WebhookId"),
    ("/admin/v1/webhooks/{id}/rotate", "id", "WebhookId"),
    ("/admin/v1/webhooks/{id}/deliveries", "id", "WebhookId"),
    ("/admin/v1/webhooks/{id}/replay", "id", "WebhookId"),
    ("/admin/v1/orders/{id}/fulfil", "id", "AdminOrderId"),
    ("/admin/v1/orders/{id}/refund", "id", "AdminOrderId"),
    ("/admin/v1/orders/{id}/cancel", "id", "AdminOrderId"),
    ("/admin/v1/promotions/{id}", "id", "PromotionId"),
    ("/admin/v1/stores/{store_id}", "store_id", "StoreId"),
    (
        "/admin/v1/members/{member}/points",
        "member",
        "AdminMemberId",
    ),
    (
        "/admin/v1/members/{member}/points/grants",
        "member",
        "AdminMemberId",
    ),
    (
        "/admin/v1/members/{member}/points/adjustments",
        "member",
        "AdminMemberId",
    ),
];
