//! The committed `src/openapi.json` is what the code generates, and every
//! example in it satisfies its schema.

use serde_json::{json, Value};

const REGENERATE: &str = "npm run openapi";

#[test]
fn the_committed_document_is_generated_from_the_code() {
    let committed = include_str!("../../../src/openapi.json");
    let generated = edgecart::openapi::document_text();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "src/openapi.json is stale (first difference at line {}); regenerate it with `{REGENERATE}` \
             (cargo run -p edgecart-openapi) and commit it",
            line + 1
        );
    }
}

#[test]
fn every_example_satisfies_its_schema() {
    let doc = edgecart::openapi::document();
    let examples = edgecart::openapi::examples();
    assert!(
        examples.len() > 100,
        "only {} examples found",
        examples.len()
    );
    let mut failures = Vec::new();
    for (at, schema, value) in &examples {
        // The schema as the root of a document that also holds the
        // components, so `#/components/...` references resolve.
        let mut root = json!({ "components": doc["components"].clone() });
        match schema {
            Value::Object(m) => {
                for (k, v) in m {
                    root[k] = v.clone();
                }
            }
            other => panic!("{at}: schema is not an object: {other}"),
        }
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("{at}: invalid schema: {e}"));
        for error in validator.iter_errors(value) {
            failures.push(format!("{at}: {error} (at {})", error.instance_path()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} example problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn an_example_that_breaks_its_schema_is_caught() {
    // The validation above can fail: a wrong example is refused.
    let doc = edgecart::openapi::document();
    let root = json!({
        "components": doc["components"].clone(),
        "$ref": "#/components/schemas/Problem",
    });
    let validator = jsonschema::draft202012::new(&root).expect("a valid schema");
    assert!(!validator.is_valid(&json!({ "code": "no_such_code" })));
}
