//! The component schemas: derived from the Rust request and response types
//! (`schemars::JsonSchema`), besides those still written by hand in
//! `handwritten_schemas.json`.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value};

/// Schemas not (yet) derived from a Rust type.
const HANDWRITTEN: &str = include_str!("handwritten_schemas.json");

/// The generator every derived schema goes through: JSON Schema 2020-12
/// (OpenAPI 3.1), definitions under `#/components/schemas/`.
pub fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "#/components/schemas/".into();
            s.meta_schema = None;
        })
        .into_generator()
}

/// Registers a type's schema (and, through it, every type it names).
fn add<T: JsonSchema>(generator: &mut SchemaGenerator) {
    generator.subschema_for::<T>();
}

/// The derived types: request and response bodies, and the named string
/// shapes (ids, codes, slugs).
fn derived(g: &mut SchemaGenerator) {
    use edgecart_domain::{admin, openapi as names, records};
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
}

/// Every component schema, by name.
pub fn all() -> Map<String, Value> {
    let mut generator = generator();
    derived(&mut generator);
    let mut schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
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
