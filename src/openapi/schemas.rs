//! The component schemas: derived from the Rust request and response types
//! (`schemars::JsonSchema`), besides those still written by hand in
//! `handwritten_schemas.json`.

use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value};

/// Schemas not (yet) derived from a Rust type.
const HANDWRITTEN: &str = include_str!("handwritten_schemas.json");

/// The generator every derived schema goes through: JSON Schema 2020-12
/// (OpenAPI 3.1), definitions under `#/components/schemas/`; request
/// bodies as serde reads them (`Contract::Deserialize`: a field with a
/// default is optional), responses as serde writes them (every field that
/// is always written is required).
pub fn generator(contract: Contract) -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "#/components/schemas/".into();
            s.meta_schema = None;
            s.contract = contract;
        })
        .into_generator()
}

/// `errors` of a problem: `FieldProblem`s, at least one.
pub fn field_problems(g: &mut SchemaGenerator) -> schemars::Schema {
    let items = g.subschema_for::<edgecart_durable_objects::protocol::FieldProblem>();
    schemars::json_schema!({ "type": "array", "minItems": 1, "items": items })
}

/// `code` of a `CheckoutProblem`: one of `Problem.code`.
pub fn problem_code(_: &mut SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "$ref": "#/components/schemas/Problem/properties/code" })
}

/// The members of a `CheckoutProblem` that only the ordinary problems carry
/// (`http::Problem`, answered before the cart's object accepted the
/// `Idempotency-Key`): no answer stored under a key has them, so the stored
/// problem's type cannot state them.
pub fn checkout_problem_members(schema: &mut schemars::Schema) {
    let Some(Value::Object(properties)) = schema.get_mut("properties") else {
        return;
    };
    let members = serde_json::json!({
        "instance": {
            "type": "string",
            "format": "uri-reference",
            "description": "The request's path and query string. Absent from answers stored under the `Idempotency-Key`.",
            "examples": ["/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/checkout"],
        },
        "request_id": {
            "type": "string",
            "description": "The request's id, as in the `X-Request-Id` response header. Absent from answers stored under the `Idempotency-Key` (the header still names the request that got the answer).",
        },
        "field": {
            "type": "string",
            "description": "The request-body field at fault, as a path (`payment.token`, `shipping_address.phone`), on 400 `unknown_field`, `missing_field` and `invalid_type` when the field is known.",
        },
    });
    if let Value::Object(members) = members {
        properties.extend(members);
    }
}

/// Registers a type's schema (and, through it, every type it names).
fn add<T: JsonSchema>(generator: &mut SchemaGenerator) {
    generator.subschema_for::<T>();
}

/// The request bodies, read as serde reads them.
#[allow(unused_imports)]
fn inputs(g: &mut SchemaGenerator) {
    use edgecart_domain::checkout::plan;
    use edgecart_domain::{
        admin, money, openapi as names, order, pricing, promotion, records, shipping, stock, store,
        tax,
    };
    add::<names::CurrencyCode>(g);
    add::<names::ProductId>(g);
    add::<names::Slug>(g);
    add::<names::Sku>(g);
    add::<names::CartId>(g);
    add::<names::CartToken>(g);
    add::<names::CountryCode>(g);
    add::<names::PromotionId>(g);
    add::<names::CouponCode>(g);
    add::<names::OrderId>(g);
    add::<names::OrderToken>(g);
    add::<records::ImageRecord>(g);
    add::<admin::ProductInput>(g);
    add::<admin::VariantInput>(g);
    add::<admin::CategoryInput>(g);
    add::<admin::PriceInput>(g);
    add::<admin::StorePricesInput>(g);
    add::<admin::StorePriceInput>(g);
    add::<stock::SetOnHandInput>(g);
    add::<stock::BulkSetOnHandInput>(g);
    add::<stock::BulkSetOnHandItem>(g);
    add::<stock::AdjustmentInput>(g);
    add::<store::StoreConfigInput>(g);
    add::<edgecart_domain::stores::StoreProfileInput>(g);
    add::<promotion::PromotionInput>(g);
    add::<order::ShippingAddressInput>(g);
    add::<plan::CheckoutInput>(g);
    add::<plan::PaymentInput>(g);
    add::<plan::ExpectedTotal>(g);
    add::<crate::cart_api::CouponInput>(g);
    add::<crate::cart_api::CreateCartInput>(g);
    add::<crate::cart_api::AddLineInput>(g);
    add::<crate::cart_api::SetLineInput>(g);
    add::<crate::points_api::GrantInput>(g);
    add::<crate::points_api::AdjustInput>(g);
    add::<crate::points_api::DevSignInInput>(g);
    add::<crate::webhooks::Event>(g);
    add::<edgecart_domain::events::EndpointInput>(g);
    add::<crate::webhook_endpoints::ReplayInput>(g);
}

/// The response bodies, written as serde writes them.
#[allow(unused_imports)]
fn outputs(g: &mut SchemaGenerator) {
    use edgecart_domain::checkout::plan;
    use edgecart_domain::{
        admin, money, openapi as names, order, pricing, promotion, records, shipping, stock, store,
        tax,
    };
    add::<names::CurrencyCode>(g);
    add::<names::ProductId>(g);
    add::<names::Slug>(g);
    add::<names::Sku>(g);
    add::<names::CartId>(g);
    add::<names::CartToken>(g);
    add::<names::CountryCode>(g);
    add::<names::PromotionId>(g);
    add::<names::CouponCode>(g);
    add::<names::OrderId>(g);
    add::<names::OrderToken>(g);
    add::<records::ImageRecord>(g);
    add::<money::Money>(g);
    add::<records::VariantRecord>(g);
    add::<records::ProductRecord>(g);
    add::<tax::TaxRate>(g);
    add::<tax::TaxConfig>(g);
    add::<shipping::ShippingMethod>(g);
    add::<store::PaymentSettings>(g);
    add::<store::StoreConfig>(g);
    add::<promotion::Discount>(g);
    add::<promotion::Target>(g);
    add::<promotion::PromotionRefusal>(g);
    add::<order::OrderStatus>(g);
    add::<order::OrderLine>(g);
    add::<order::OrderTotals>(g);
    add::<order::OrderPromotion>(g);
    add::<order::ShippingAddress>(g);
    add::<order::Payment>(g);
    add::<order::StatusChange>(g);
    add::<order::Order>(g);
    add::<pricing::QuotedLine>(g);
    add::<pricing::Quote>(g);
    add::<pricing::ShippingOption>(g);
    add::<pricing::Destination>(g);
    add::<crate::catalog_api::CategoryRef<'static>>(g);
    add::<crate::catalog_api::ListItem<'static>>(g);
    add::<crate::catalog_api::CategoryFacet<'static>>(g);
    add::<crate::catalog_api::PriceBand>(g);
    add::<crate::catalog_api::Facets<'static>>(g);
    add::<crate::catalog_api::ProductList<'static>>(g);
    add::<crate::catalog_api::Category<'static>>(g);
    add::<crate::catalog_api::CategoryList<'static>>(g);
    add::<crate::catalog_api::Variant<'static>>(g);
    add::<crate::catalog_api::Product<'static>>(g);
    add::<crate::http::Problem<'static>>(g);
    add::<crate::admin_api::WriteResult>(g);
    add::<crate::admin_api::InventoryLevels<'static>>(g);
    add::<crate::admin_api::AuditPage>(g);
    add::<crate::admin_api::ImportReport>(g);
    add::<crate::admin_api::LineErrors>(g);
    add::<crate::inventory_api::InventoryAvailability<'static>>(g);
    add::<crate::inventory_api::InventoryWriteResult<'static>>(g);
    add::<crate::inventory_api::MovementPage<'static>>(g);
    add::<crate::inventory_api::BatchReport>(g);
    add::<crate::inventory_api::BatchItem>(g);
    add::<crate::cart_api::CreateCartResult>(g);
    add::<crate::cart_api::CartProductRef<'static>>(g);
    add::<crate::cart_api::CartLine<'static>>(g);
    add::<crate::cart_api::CartView<'static>>(g);
    add::<crate::cart_api::CouponView>(g);
    add::<crate::store_api::PromotionView<'static>>(g);
    add::<crate::store_api::PromotionList<'static>>(g);
    add::<crate::store_api::PromotionDeleted<'static>>(g);
    add::<crate::store_api::StoreList>(g);
    add::<crate::store_prices_api::StorePriceItem>(g);
    add::<crate::store_prices_api::StorePricePage>(g);
    add::<crate::store_prices_api::StorePricesResult>(g);
    add::<crate::checkout_api::OrderPage<'static>>(g);
    add::<crate::checkout_api::CheckoutResult<'static>>(g);
    add::<crate::checkout_api::CheckoutProblem<'static>>(g);
    add::<crate::app::Health>(g);
    add::<crate::admin_api::AdminSession>(g);
    add::<edgecart_domain::checkout::ShortLine>(g);
    add::<edgecart_domain::points::Programme>(g);
    add::<edgecart_domain::points::RowKind>(g);
    add::<edgecart_domain::member::PublicJwk>(g);
    add::<crate::points_api::NextExpiry>(g);
    add::<crate::points_api::PointsBalance>(g);
    add::<crate::points_api::PointsEntry>(g);
    add::<crate::points_api::PointsAccount>(g);
    add::<crate::points_api::PointsChanged>(g);
    add::<crate::points_api::DevToken>(g);
    add::<crate::webhooks::Received>(g);
    add::<crate::checkout_api::CheckoutList>(g);
    add::<edgecart_durable_objects::protocol::webhooks::EndpointView>(g);
    add::<crate::webhook_endpoints::EndpointList>(g);
    add::<crate::webhook_endpoints::AttemptPage>(g);
    add::<crate::reports_api::SalesReport>(g);
    add::<crate::reports_api::BestSellerReport>(g);
    add::<crate::reports_api::PointsReport>(g);
    add::<crate::reports_api::LowStockReport>(g);
    add::<crate::webhook_endpoints::ReplayResult>(g);
    add::<crate::webhook_endpoints::WebhookDeleted>(g);
}

/// Every component schema, by name.
pub fn all() -> Map<String, Value> {
    let mut read = generator(Contract::Deserialize);
    inputs(&mut read);
    let mut written = generator(Contract::Serialize);
    outputs(&mut written);
    let mut schemas: Map<String, Value> = written.take_definitions(true).into_iter().collect();
    for schema in schemas.values_mut() {
        never_null_when_optional(schema);
    }
    let read: Map<String, Value> = read.take_definitions(true).into_iter().collect();
    // A type both read and written whose two schemas differ (a field with a
    // default is optional when read, always there when written): the read
    // one is named `{name}Input`, and so are the references to it.
    let renamed: Vec<String> = read
        .iter()
        .filter(|(name, schema)| schemas.get(*name).is_some_and(|w| w != *schema))
        .map(|(name, _)| name.clone())
        .collect();
    for (name, mut schema) in read {
        rename_refs(&mut schema, &renamed);
        let name = if renamed.contains(&name) {
            format!("{name}Input")
        } else {
            name
        };
        assert!(
            schemas.get(&name).is_none_or(|w| *w == schema),
            "{name} is defined twice"
        );
        schemas.insert(name, schema);
    }
    describe_field_problem(&mut schemas);
    for schema in schemas.values_mut() {
        unwrap_descriptions(schema);
    }
    let handwritten: Map<String, Value> =
        serde_json::from_str(HANDWRITTEN).expect("handwritten_schemas.json is a JSON object");
    for (name, schema) in handwritten {
        assert!(
            !schemas.contains_key(&name),
            "{name} is derived and also in handwritten_schemas.json"
        );
        schemas.insert(name, schema);
    }
    schemas
}

/// The API's description of `FieldProblem.field`. The type is the Durable
/// Object protocol's, and that crate carries no HTTP wording: what the
/// API's problems say lives here.
const FIELD_PROBLEM_FIELD: &str = r#"Path of the offending field (`slug`, `tags[2]`, `images[0].url`,
`variants[1].sku`, `variants[0].prices.EUR`, `amount`, `on_hand`,
`delta`, `reason`, `max_per_order`, and for carts `quantity`, `sku` or
the price key sent, e.g. `unit_price`; `code` for coupons;
`shipping_method` for a cart read; for checkout `email`,
`shipping_address.name` (and the address's other fields),
`payment.method`, `payment.token`, `shipping_method`; for the store
configuration `tax.rates[0].country`, `shipping_methods[1].id`,
`shipping_methods[0].rates.USD`, `payment.base_url`; for promotions
`id`, `code`, `discount.basis_points`, `discount.amounts.USD`,
`target.sku`, `min_subtotal.USD`, `ends_at`; for the points programme
`points.unit`, `points.points_per_minor.USD`; for points grants and
adjustments `points`, `reason`, `expires_at`; `member` for the
development sign-in), or null when the problem
is not about one field (e.g. an import line that is not JSON, or
checkout's `idempotency_mismatch`)."#;

/// The API's description of `FieldProblem.code`: every code, with the
/// status and route that carry it.
const FIELD_PROBLEM_CODE: &str = r#"Stable machine-readable code. Validation (422, and import lines):
`invalid_id` (`id` is not `prd_` followed by 1 to 40 lowercase letters
or digits), `id_mismatch` (the body's `id` differs from the path's
`{id}`; reported alone), `invalid_slug` (not lowercase words of letters
and digits joined by single hyphens, at most 120 characters),
`duplicate_slug` (another product has this slug), `invalid_length` (a
text field or list is too short or too long: `name` 1–200, `description`
at most 5000, each tag 1–40, each image `alt` 1–200, each variant `name`
1–100 characters, after trimming except `description`; `variants` 1–50
items; a category `name` 1–200; a stock `reason` 1–200 after trimming),
`unknown_category` (no category has this slug), `invalid_timestamp`
(`created_at` is not RFC 3339), `invalid_url` (an image `url` is neither
`https://…` nor a path starting with `/`, contains whitespace or is
longer than 2048 characters), `too_many` (more than 20 tags, 10 images
or 10 options of one variant), `invalid_sku` (not 1 to 64 uppercase
letters, digits or hyphens starting with a letter or digit),
`duplicate_sku` (twice in this product, or used by another product),
`missing_price` (a variant has no price), `invalid_price` (an amount is
not an integer from 0 to 100000000000), `unknown_currency` (a price key
is not a currency the shop knows), `unsupported_schema` (the record's
schema version is not supported), `invalid_quantity` (a product's
`max_per_order` is not from 1 to 99; stock writes: `on_hand` is not from
0 to 1000000000, or `delta` is beyond ±1000000000 or would take on hand
outside 0 to 1000000000). Cart line changes (422): `invalid_quantity`
(field `quantity`: below 1 when adding, below 0 when setting),
`quantity_limit` (field `quantity`: the line would hold more than 99
units, or more than the product's `max_per_order`), `too_many_lines`
(field `sku`: the cart already has 50 different SKUs),
`not_sold_in_currency` (field `sku`: the SKU has no price in the cart's
currency), `client_price_refused` (the field is the price or total key
sent: `price`, `prices`, `unit_price`, `amount`, `total`, `line_total`,
`subtotal`, `grand_total`, `discount`, `discount_total`, `tax`,
`tax_total`, `shipping` or `status`; also on `POST /v1/carts` and
checkout). Unreadable import lines: `invalid_json`, `unknown_field`,
`missing_field`, `invalid_type` (as the 400 codes of single writes),
`line_too_long`, `invalid_utf8`, `too_many_lines` (the import has more
than 100,000 lines; for carts the same code means too many different
SKUs, as above). Cart coupons (422): `coupon_not_applicable` (field
`code`: the code cannot be applied to this cart now, whether no
promotion has it or its promotion does not apply; one answer and one
message for every such code, so probing tells codes apart by nothing),
`too_many_coupons` (field `code`: the cart already carries 5 coupons).
Cart reads (422): `shipping_not_available` (field `shipping_method`: the
method does not ship to the destination country, or has no rate in the
cart's currency). Checkout (422, `POST /v1/carts/{id}/checkout`, every
problem at once): `invalid_email` (field `email`), `required`,
`invalid_length`, `invalid_characters` (fields `shipping_address.name`,
`.line1`, `.line2`, `.city`, `.region`, `.postal_code`: missing or empty
after trimming where required, longer than 200 characters, or containing
a control character), `invalid_country` (field
`shipping_address.country`: not an ISO 3166-1 alpha-2 code),
`unsupported_payment_method` (field `payment.method`: not `card`),
`invalid_payment_token` (field `payment.token`: empty or longer than 255
bytes), `shipping_not_available` (field `shipping_method`, as for cart
reads, for the address's country), `client_price_refused` (as above),
and `idempotency_mismatch` (field null: the `Idempotency-Key` was used
with a different request body). Store configuration (422, `PUT
/admin/v1/store`): `invalid_country` (not two uppercase ASCII letters),
`invalid_region` (a tax region that is not 1 to 16 uppercase letters,
digits or hyphens), `invalid_rate` (a tax rate above 10000 basis
points), `duplicate_rate` (a second rate for the same country and
region), `too_many` (more than 500 tax rates, 20 shipping methods or 250
countries of one method), `invalid_id` (a method id that is not 1 to 64
lowercase letters, digits, `-` or `_`), `duplicate_method` (a second
method with this id), `invalid_length` (a method name that is not 1 to
200 characters after trimming), `duplicate_country` (a country listed
twice), `missing_rate` (a method without any rate), `invalid_amount` (a
rate or free-above amount that is not from 0 to 100000000000), `no_rate`
(a free-above amount in a currency the method has no rate in),
`not_configurable` (a Stripe `base_url`: Stripe's host is fixed, and
only the operator may name a test host). Promotions (422, `PUT /admin/v1/promotions/{id}`):
`id_mismatch` (the body's `id` differs from the path's; reported alone),
`invalid_id` (not 1 to 64 lowercase letters, digits, `-` or `_`),
`invalid_code` (a coupon code that is not 3 to 32 letters, digits or
hyphens after trimming and uppercasing), `invalid_length` (a description
longer than 200 characters), `invalid_rate` (basis points not from 1 to
10000), `missing_amount` (an amount-off discount without any amount),
`unknown_currency` (an amount or minimum in a currency the shop does not
know), `invalid_amount` (an amount off not from 1, or a minimum subtotal
not from 0, to 100000000000), `invalid_sku`, `invalid_slug` (a malformed
target), `invalid_timestamp` (not RFC 3339), `ends_before_start`
(`ends_at` not after `starts_at`), `invalid_limit` (a usage limit not
from 1 to 4294967295). The store's points programme (422, `PUT
/admin/v1/store`, fields under `points.`): `invalid_unit` (`unit` is not
1 to 20 ASCII letters, spaces or hyphens starting with a letter),
`invalid_rate` (an earn rate above 100000, a category multiplier that is
not a category slug or is above 1000000 basis points, a points-per-minor
rate not from 1 to 1000000), `too_many` (more than 50 category
multipliers), `missing_rate` (no currency in `points_per_minor`),
`invalid_days` (`pending_days` above 3650, `expiry_days` not from 1 to
3650), `invalid_key` (`member_key` is not a P-256 public JWK). Points
(422): `invalid_points` (field `points` of a grant, not from 1 to 10^12,
or of an adjustment, 0 or beyond ±10^12), `invalid_reason` (field
`reason`: blank, or longer than 200 characters), `invalid_expiry` (field
`expires_at` of a grant: not ahead of now), `invalid_member` (field
`member` of `POST /v1/points/dev-token`: not 1 to 64 ASCII letters,
digits, `.`, `_`, `-`, `@` or `+`)."#;

/// Gives `FieldProblem` (read or written) the API's descriptions of its
/// members.
fn describe_field_problem(schemas: &mut Map<String, Value>) {
    for (name, schema) in schemas.iter_mut() {
        if name == "FieldProblem" || name == "FieldProblemInput" {
            let properties = &mut schema["properties"];
            properties["field"]["description"] = Value::from(FIELD_PROBLEM_FIELD);
            properties["code"]["description"] = Value::from(FIELD_PROBLEM_CODE);
        }
    }
}

/// Doc comments are wrapped; a description is Markdown, where a single line
/// break is a space: joins wrapped lines, keeping paragraphs and list items.
fn unwrap_descriptions(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                match child {
                    Value::String(text) if k == "description" => *text = unwrap(text),
                    _ => unwrap_descriptions(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

fn unwrap(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let lines: Vec<&str> = text.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        out.push_str(line);
        if let Some(next) = lines.get(i + 1) {
            let joins = !line.is_empty()
                && !next.is_empty()
                && !next.starts_with("- ")
                && !next.starts_with("* ");
            out.push(if joins { ' ' } else { '\n' });
        }
    }
    out
}

/// Points references to the `renamed` schemas at their `…Input` names.
fn rename_refs(v: &mut Value, renamed: &[String]) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref") {
                if let Some(name) = r.strip_prefix("#/components/schemas/") {
                    if renamed.iter().any(|n| n == name) {
                        *r = format!("{r}Input");
                    }
                }
            }
            m.values_mut().for_each(|c| rename_refs(c, renamed));
        }
        Value::Array(items) => items.iter_mut().for_each(|c| rename_refs(c, renamed)),
        _ => {}
    }
}

/// In a written schema a property is optional only when serde skips it
/// (`skip_serializing_if`, e.g. `Option::is_none`): when present it is never
/// null, so `null` is dropped from its type.
fn never_null_when_optional(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let required: Vec<String> = m
                .get("required")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(Value::Object(props)) = m.get_mut("properties") {
                for (name, prop) in props.iter_mut() {
                    if !required.contains(name) {
                        drop_null(prop);
                    }
                }
            }
            m.values_mut().for_each(never_null_when_optional);
        }
        Value::Array(items) => items.iter_mut().for_each(never_null_when_optional),
        _ => {}
    }
}

fn drop_null(prop: &mut Value) {
    let Some(m) = prop.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = m.get("type") {
        let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        let single = rest.len() == 1;
        m.insert(
            "type".into(),
            if single {
                rest[0].clone()
            } else {
                Value::Array(rest)
            },
        );
    }
    if let Some(Value::Array(any)) = m.get("anyOf") {
        let rest: Vec<Value> = any
            .iter()
            .filter(|s| s.get("type").is_none_or(|t| t != "null"))
            .cloned()
            .collect();
        if rest.len() == 1 {
            m.remove("anyOf");
            if let Value::Object(only) = &rest[0] {
                for (k, x) in only {
                    m.entry(k.clone()).or_insert_with(|| x.clone());
                }
            }
        } else {
            m.insert("anyOf".into(), Value::Array(rest));
        }
    }
}
