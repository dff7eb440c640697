//! The component schemas: derived from the Rust request and response types
//! (`schemars::JsonSchema`), besides those still written by hand in
//! `handwritten_schemas.json`.

use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;
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

/// Registers the derived types (and, through them, every type they name).
fn derived(_generator: &mut SchemaGenerator) {}

/// Every component schema, by name.
pub fn all() -> Map<String, Value> {
    let mut generator = generator();
    derived(&mut generator);
    let mut schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
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
