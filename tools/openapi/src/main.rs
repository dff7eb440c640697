//! Writes the OpenAPI document the code describes to `src/openapi.json`
//! (`npm run openapi`). The Worker serves that committed file; the test
//! `tools/openapi/tests/openapi.rs` fails while it differs from what this writes.

use std::path::PathBuf;

fn main() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join("src")
        .join("openapi.json");
    let text = edgecart::openapi::document_text();
    if let Err(e) = std::fs::write(&path, &text) {
        eprintln!("cannot write {}: {e}", path.display());
        std::process::exit(1);
    }
    println!("wrote src/openapi.json ({} bytes)", text.len());
}
