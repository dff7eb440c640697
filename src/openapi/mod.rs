//! The OpenAPI 3.1 document served at `/openapi.json`, generated from the
//! code (native only: the `openapi` feature, which `tools/openapi` turns
//! on; the Worker serves the committed `src/openapi.json`).
//!
//! Where each part comes from:
//! - paths, methods, path parameters, the accepted query parameters, the
//!   security scheme of each operation and every 405 answer (with its
//!   `Allow` value): the route table, [`crate::routes::ROUTES`];
//! - component schemas: the request and response types, through their
//!   `schemars::JsonSchema` derives (doc comments are the descriptions,
//!   `#[schemars(...)]` attributes the constraints), see [`schemas`];
//! - what each operation does (summary, description, the documentation
//!   of each query parameter the table lets it accept, request headers and
//!   body, its responses, status codes and problem codes, examples):
//!   [`operations::operation`], one entry per [`crate::routes::Handler`];
//! - shared parameters, headers, responses, tags and security schemes:
//!   [`components`].
//!
//! `cargo run -p edgecart-openapi` (`npm run openapi`)
//! writes `src/openapi.json`; a test in `tools/openapi` fails while the committed
//! file differs from [`document`], and validates every example against its
//! schema.

mod components;
mod operations;
pub mod schemas;

pub use operations::operation;

use crate::routes::{Access, Method, Route, Scope, ROUTES};
use serde_json::{json, Map, Value};

/// A schema: a component by name, or written inline (JSON).
#[derive(Debug, Clone, Copy)]
pub enum SchemaSrc {
    Named(&'static str),
    Inline(&'static str),
}
use SchemaSrc::{Inline, Named};

/// A named example; its value is JSON text, validated against its schema
/// by a test.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub name: &'static str,
    pub summary: Option<&'static str>,
    pub value: &'static str,
}

/// A body of one media type.
#[derive(Debug, Clone, Copy)]
pub struct Content {
    pub media: &'static str,
    pub schema: SchemaSrc,
    pub examples: &'static [Example],
}

/// A response header: a component of [`components::HEADERS`], or inline JSON.
#[derive(Debug, Clone, Copy)]
pub enum Hdr {
    Ref(&'static str),
    Inline(&'static str),
}

/// A response. Every response also carries the headers every answer has
/// (`X-Request-Id`, `Server-Timing`, CORS).
#[derive(Debug, Clone, Copy)]
pub struct Resp {
    pub description: &'static str,
    pub headers: &'static [(&'static str, Hdr)],
    pub content: &'static [Content],
}

/// An operation's response for one status: its own, or a shared one of
/// [`components::RESPONSES`].
#[derive(Debug, Clone, Copy)]
pub enum Response {
    Shared(&'static str),
    Own(Resp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Query,
    Path,
    Header,
}

/// A parameter; its schema is JSON text.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub place: Place,
    pub required: bool,
    pub description: &'static str,
    pub schema: &'static str,
    pub examples: &'static [Example],
}

/// The documentation of a query parameter: a shared component, or its own.
#[derive(Debug, Clone, Copy)]
pub enum QueryDoc {
    Ref(&'static str),
    Inline(Param),
}

#[derive(Debug, Clone, Copy)]
pub struct Body {
    pub required: bool,
    pub description: &'static str,
    pub content: &'static [Content],
}

#[derive(Debug, Clone, Copy)]
pub struct Header {
    pub description: &'static str,
    pub required: bool,
    pub schema: &'static str,
}

/// What the document says about one operation of the route table.
#[derive(Debug, Clone, Copy)]
pub struct Op {
    pub id: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
    /// Request header parameters: components of [`components::PARAMETERS`].
    pub headers: &'static [&'static str],
    /// The documentation of each query parameter the route table lets this
    /// operation accept (no more, no fewer: the generator checks).
    pub query: &'static [QueryDoc],
    pub body: Option<Body>,
    /// Responses by status; 405 is derived from the route table.
    pub responses: &'static [(&'static str, Response)],
}

/// Headers every response carries, besides its own.
const COMMON_HEADERS: [&str; 4] = [
    "X-Request-Id",
    "Server-Timing",
    "Access-Control-Allow-Origin",
    "Access-Control-Expose-Headers",
];

fn parse(what: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"))
}

fn reference(kind: &str, name: &str) -> Value {
    json!({ "$ref": format!("#/components/{kind}/{name}") })
}

fn schema_value(src: SchemaSrc) -> Value {
    match src {
        Named(name) => reference("schemas", name),
        Inline(text) => parse("inline schema", text),
    }
}

fn examples_value(examples: &[Example]) -> Value {
    let mut map = Map::new();
    for e in examples {
        let mut ex = Map::new();
        if let Some(summary) = e.summary {
            ex.insert("summary".into(), summary.into());
        }
        ex.insert("value".into(), parse(e.name, e.value));
        map.insert(e.name.into(), Value::Object(ex));
    }
    Value::Object(map)
}

fn content_value(content: &[Content]) -> Value {
    let mut map = Map::new();
    for c in content {
        let mut m = Map::new();
        m.insert("schema".into(), schema_value(c.schema));
        if !c.examples.is_empty() {
            m.insert("examples".into(), examples_value(c.examples));
        }
        map.insert(c.media.into(), Value::Object(m));
    }
    Value::Object(map)
}

fn headers_value(own: &[(&str, Hdr)]) -> Map<String, Value> {
    let mut map = Map::new();
    for name in COMMON_HEADERS {
        map.insert(name.into(), reference("headers", name));
    }
    for (name, h) in own {
        let v = match h {
            Hdr::Ref(component) => reference("headers", component),
            Hdr::Inline(text) => parse(name, text),
        };
        map.insert((*name).into(), v);
    }
    map
}

fn resp_value(r: &Resp) -> Value {
    let mut m = Map::new();
    m.insert("description".into(), r.description.into());
    m.insert("headers".into(), Value::Object(headers_value(r.headers)));
    if !r.content.is_empty() {
        m.insert("content".into(), content_value(r.content));
    }
    Value::Object(m)
}

fn param_value(p: &Param) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), p.name.into());
    let place = match p.place {
        Place::Query => "query",
        Place::Path => "path",
        Place::Header => "header",
    };
    m.insert("in".into(), place.into());
    m.insert("required".into(), p.required.into());
    m.insert("description".into(), p.description.into());
    m.insert("schema".into(), parse(p.name, p.schema));
    if !p.examples.is_empty() {
        m.insert("examples".into(), examples_value(p.examples));
    }
    Value::Object(m)
}

/// A shared parameter by component name.
fn component_param(name: &str) -> &'static Param {
    components::PARAMETERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| p)
        .unwrap_or_else(|| panic!("no parameter component {name}"))
}

/// The security scheme an operation's access asks for, if any.
pub fn security_scheme(route: &Route, access: Access) -> Option<&'static str> {
    match access {
        Access::Public => None,
        Access::Holder if route.path.starts_with("/v1/orders/") => Some("orderToken"),
        Access::Holder => Some("cartToken"),
        Access::Member => Some("memberToken"),
        Access::Viewer | Access::Admin | Access::Operator => Some("bearerAuth"),
    }
}

/// "GET, HEAD and PUT": the methods of an `Allow` value but OPTIONS, in prose.
fn methods_prose(route: &Route) -> String {
    let methods: Vec<&str> = Method::ALL
        .into_iter()
        .filter(|m| *m != Method::Options && route.allow().contains(*m))
        .map(Method::as_str)
        .collect();
    match methods.split_last() {
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The 405 answer of every operation of `route`, derived from the table.
fn method_not_allowed(route: &Route, cache: Option<&Value>) -> Value {
    let allow = route.allow().to_string();
    let mut headers = headers_value(&[]);
    if let Some(cache) = cache {
        headers.insert("Cache-Control".into(), cache.clone());
    }
    headers.insert(
        "Allow".into(),
        json!({
            "description": "The methods this path allows.",
            "required": true,
            "schema": { "type": "string", "const": allow },
        }),
    );
    json!({
        "description": format!(
            "`method_not_allowed`: the path exists, but only with {} (and OPTIONS); any other method, \
             including ones the API does not know (e.g. QUERY), answers this. The `Allow` header lists \
             the allowed methods.",
            methods_prose(route)
        ),
        "headers": headers,
        "content": { "application/problem+json": {
            "schema": reference("schemas", "Problem"),
            "examples": { "method_not_allowed": { "value": {
                "type": "https://edgecart.dev/problems/method_not_allowed",
                "title": "Method not allowed",
                "status": 405,
                "detail": format!("This route allows {allow}."),
                "code": "method_not_allowed",
                "instance": example_path(route),
                "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e",
            } } },
        } },
    })
}

/// `route`'s pattern with each `{name}` replaced by its parameter's first example.
fn example_path(route: &Route) -> String {
    let mut path = route.path.to_string();
    for name in route.param_names() {
        let p = component_param(path_param(route, name));
        let value = p
            .examples
            .first()
            .map(|e| parse(name, e.value))
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_else(|| panic!("{{{name}}} of {} has no example", route.path));
        path = path.replace(&format!("{{{name}}}"), &value);
    }
    path
}

/// The documentation of the query parameter `name` of `op`.
fn query_param(op: &Op, name: &str) -> Option<Value> {
    op.query.iter().find_map(|q| match q {
        QueryDoc::Ref(component) => {
            (component_param(component).name == name).then(|| reference("parameters", component))
        }
        QueryDoc::Inline(p) => (p.name == name).then(|| param_value(p)),
    })
}

fn query_name(q: &QueryDoc) -> &'static str {
    match q {
        QueryDoc::Ref(component) => component_param(component).name,
        QueryDoc::Inline(p) => p.name,
    }
}

/// The component documenting path parameter `name` of `route`.
fn path_param(route: &Route, name: &str) -> &'static str {
    operations::PATH_PARAMETERS
        .iter()
        .find(|(path, n, _)| *path == route.path && *n == name)
        .map(|(_, _, component)| *component)
        .unwrap_or_else(|| panic!("{{{name}}} of {} is not documented", route.path))
}

fn operation_value(route: &Route, op: &crate::routes::Operation) -> Value {
    let doc = operation(op.handler);
    let what = format!("{} {}", op.method.as_str(), route.path);
    let mut m = Map::new();
    m.insert("operationId".into(), doc.id.into());
    m.insert("tags".into(), json!([doc.tag]));
    m.insert("summary".into(), doc.summary.into());
    m.insert("description".into(), doc.description.into());
    if let Some(scheme) = security_scheme(route, op.access) {
        m.insert("security".into(), json!([{ scheme: [] }]));
    }
    let mut params = Vec::new();
    for name in op.query {
        let p = query_param(&doc, name)
            .unwrap_or_else(|| panic!("{what}: query parameter {name} is not documented"));
        params.push(p);
    }
    for q in doc.query {
        let name = query_name(q);
        assert!(
            op.query.contains(&name),
            "{what}: documents query parameter {name}, which the route table does not accept"
        );
    }
    // A store's routes take the store selector.
    if route.scope == Scope::Store {
        params.push(reference("parameters", "StoreSelector"));
    }
    for h in doc.headers {
        assert_eq!(component_param(h).place, Place::Header, "{what}: {h}");
        params.push(reference("parameters", h));
    }
    m.insert("parameters".into(), Value::Array(params));
    if let Some(body) = &doc.body {
        m.insert(
            "requestBody".into(),
            json!({
                "required": body.required,
                "description": body.description,
                "content": content_value(body.content),
            }),
        );
    }
    let mut responses = Map::new();
    let mut error_cache = None;
    for (status, r) in doc.responses {
        let v = match r {
            Response::Shared(name) => {
                assert!(
                    components::RESPONSES.iter().any(|(n, _)| n == name),
                    "{what}: no shared response {name}"
                );
                reference("responses", name)
            }
            Response::Own(r) => {
                let v = resp_value(r);
                if status.starts_with('4') && error_cache.is_none() {
                    error_cache = v["headers"].get("Cache-Control").cloned();
                }
                v
            }
        };
        assert!(
            *status != "405",
            "{what}: 405 is derived from the route table"
        );
        responses.insert((*status).into(), v);
    }
    responses.insert(
        "405".into(),
        method_not_allowed(route, error_cache.as_ref()),
    );
    if route.scope == Scope::Store {
        // What the store's resolution implies: 404 `store_not_found`, and
        // 403 for a token of another store.
        match responses.get_mut("404") {
            None => {
                responses.insert("404".into(), reference("responses", "StoreNotFound"));
            }
            Some(Value::Object(own)) if own.contains_key("description") => {
                let text = own["description"].as_str().unwrap_or_default().to_string();
                own.insert(
                    "description".into(),
                    format!("{text}\n\n`store_not_found`: no enabled store answers on this host or has the `store` id given.").into(),
                );
            }
            Some(_) => {}
        }
        if op.access == Access::Viewer && !responses.contains_key("403") {
            responses.insert("403".into(), reference("responses", "AdminForbidden"));
        }
    }
    // What the access implies: an admin token's refusals, exactly where the
    // table asks for one.
    let has = |status: &str| responses.contains_key(status);
    let (want_401, want_403) = match op.access {
        Access::Public | Access::Holder => (false, false),
        Access::Member => (true, false),
        Access::Viewer => (true, route.scope == Scope::Store),
        Access::Admin | Access::Operator => (true, true),
    };
    // Checkout also takes an optional member token, refused with 401.
    let want_401 = want_401 || doc.headers.contains(&"CheckoutMemberToken");
    assert_eq!(has("401"), want_401, "{what}: 401 and its access disagree");
    assert_eq!(has("403"), want_403, "{what}: 403 and its access disagree");
    // What the abuse controls imply: a rate-limited route's 429, and an
    // admin route's for too many refused tokens.
    let staff = matches!(op.access, Access::Viewer | Access::Admin | Access::Operator);
    let too_many = match crate::limits::limit_of(op.handler) {
        Some(_) if op.handler == crate::routes::Handler::Checkout => {
            Some("CheckoutTooManyRequests")
        }
        Some(_) => Some("RateLimited"),
        None if staff => Some("SignInRateLimited"),
        None => None,
    };
    if let Some(name) = too_many {
        assert!(!has("429"), "{what}: 429 is derived from the limits");
        responses.insert("429".into(), reference("responses", name));
    }
    m.insert("responses".into(), Value::Object(responses));
    Value::Object(m)
}

fn paths() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let mut item = Map::new();
        let params: Vec<Value> = route
            .param_names()
            .map(|name| reference("parameters", path_param(route, name)))
            .collect();
        if !params.is_empty() {
            item.insert("parameters".into(), Value::Array(params));
        }
        for op in route.operations {
            item.insert(
                op.method.as_str().to_ascii_lowercase(),
                operation_value(route, op),
            );
        }
        paths.insert(route.path.into(), Value::Object(item));
    }
    Value::Object(paths)
}

fn components_value() -> Value {
    let mut parameters = Map::new();
    for (name, p) in components::PARAMETERS {
        parameters.insert((*name).into(), param_value(p));
    }
    let mut headers = Map::new();
    for (name, h) in components::HEADERS {
        headers.insert(
            (*name).into(),
            json!({
                "description": h.description,
                "required": h.required,
                "schema": parse(name, h.schema),
            }),
        );
    }
    let mut responses = Map::new();
    for (name, r) in components::RESPONSES {
        responses.insert((*name).into(), resp_value(r));
    }
    let mut security = Map::new();
    for (name, description) in components::SECURITY_SCHEMES {
        let scheme = match *name {
            // The member token travels in a header of its own, beside the
            // cart's token in `Authorization` at checkout.
            "memberToken" => {
                json!({ "type": "apiKey", "in": "header", "name": "Member-Token", "description": description })
            }
            _ => json!({ "type": "http", "scheme": "bearer", "description": description }),
        };
        security.insert((*name).into(), scheme);
    }
    json!({
        "schemas": schemas::all(),
        "parameters": parameters,
        "headers": headers,
        "responses": responses,
        "securitySchemes": security,
    })
}

/// The whole OpenAPI document.
pub fn document() -> Value {
    let tags: Vec<Value> = components::TAGS
        .iter()
        .map(|(name, description)| json!({ "name": name, "description": description }))
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": components::TITLE,
            "version": components::VERSION,
            "description": components::DESCRIPTION,
            "license": { "name": env!("CARGO_PKG_LICENSE"), "identifier": env!("CARGO_PKG_LICENSE") },
        },
        "servers": [{ "url": "/" }],
        "tags": tags,
        "paths": paths(),
        "components": components_value(),
    })
}

/// The document as the committed file holds it: pretty JSON and a newline.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("a JSON value serializes");
    text.push('\n');
    text
}

/// Every example of the document with the schema it must satisfy (a
/// schema that may `$ref` `#/components/...`), and where it is.
pub fn examples() -> Vec<(String, Value, Value)> {
    let doc = document();
    let mut out = Vec::new();
    collect_examples(&doc, "#", &mut out);
    out
}

fn collect_examples(v: &Value, at: &str, out: &mut Vec<(String, Value, Value)>) {
    match v {
        Value::Object(m) => {
            // A media type or parameter: `schema` and named `examples`.
            if let (Some(schema), Some(Value::Object(examples))) =
                (m.get("schema"), m.get("examples"))
            {
                for (name, ex) in examples {
                    out.push((
                        format!("{at}/examples/{name}"),
                        schema.clone(),
                        ex["value"].clone(),
                    ));
                }
            }
            // A schema with an `examples` array.
            {
                if let Some(Value::Array(examples)) = m.get("examples") {
                    let mut schema = v.clone();
                    if let Some(s) = schema.as_object_mut() {
                        s.remove("examples");
                    }
                    for (i, ex) in examples.iter().enumerate() {
                        out.push((format!("{at}/examples/{i}"), schema.clone(), ex.clone()));
                    }
                }
            }
            // Examples, defaults and constants are data, not schemas.
            for (k, child) in m {
                if matches!(k.as_str(), "examples" | "default" | "const" | "enum") {
                    continue;
                }
                collect_examples(
                    child,
                    &format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_examples(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}
