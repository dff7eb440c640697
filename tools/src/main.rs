//! `edgecart-catalog`: writes the deterministic demo catalog as the files the
//! admin API imports: an NDJSON file of products (one `PUT
//! /admin/v1/products/{id}` body per line) and a JSON array of categories.
//!
//! Usage: `edgecart-catalog demo [--seed N] [--size N] --products FILE --categories FILE`
//!
//! It writes files only; it never talks to a network.

use edgecart_domain::demo;
use std::io::Write;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: edgecart-catalog demo [--seed N] [--size N] --products FILE --categories FILE"
    );
    ExitCode::from(2)
}

fn write_files(seed: u64, size: usize, products: &str, categories: &str) -> std::io::Result<usize> {
    let records = demo::products(seed, size);
    let mut out = std::io::BufWriter::new(std::fs::File::create(products)?);
    for record in &records {
        // An import line is a product as the admin API takes it: no storage `schema`.
        let mut value = serde_json::to_value(record)?;
        if let Some(object) = value.as_object_mut() {
            object.remove("schema");
        }
        serde_json::to_writer(&mut out, &value)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    std::fs::write(categories, serde_json::to_string(&demo::categories())?)?;
    Ok(records.len())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("demo") {
        return usage();
    }
    let mut seed = demo::DEFAULT_SEED;
    let mut size = demo::DEFAULT_SIZE;
    let (mut products, mut categories) = (None, None);
    let mut it = args[1..].iter();
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            return usage();
        };
        match flag.as_str() {
            "--seed" => match value.parse() {
                Ok(n) => seed = n,
                Err(_) => return usage(),
            },
            "--size" => match value.parse() {
                Ok(n) => size = n,
                Err(_) => return usage(),
            },
            "--products" => products = Some(value.clone()),
            "--categories" => categories = Some(value.clone()),
            _ => return usage(),
        }
    }
    let (Some(products), Some(categories)) = (products, categories) else {
        return usage();
    };
    match write_files(seed, size, &products, &categories) {
        Ok(n) => {
            println!("{n} products -> {products}, categories -> {categories}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot write the demo catalog: {e}");
            ExitCode::FAILURE
        }
    }
}
