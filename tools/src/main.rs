//! `edgecart-catalog`: writes the deterministic demo catalog as the files the
//! admin API imports: an NDJSON file of products (one `PUT
//! /admin/v1/products/{id}` body per line), a JSON array of categories and,
//! with `--stock`, a JSON array of the demo stock counts (`{"sku", "on_hand"}`
//! per SKU, as the items of `POST /admin/v1/inventory` take them).
//!
//! Usage: `edgecart-catalog demo [--seed N] [--size N] --products FILE --categories FILE [--stock FILE]`
//!
//! `edgecart-catalog stores --products FILE --categories FILE --count N --out FILE`:
//! the stores benchmark's stores and their memory (see `stores.rs`).
//!
//! It writes files only; it never talks to a network.

mod stores;

use edgecart_domain::demo;

#[global_allocator]
static ALLOC: stores::Counting = stores::Counting;
use std::io::Write;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: edgecart-catalog demo [--seed N] [--size N] --products FILE --categories FILE [--stock FILE]\n       edgecart-catalog stores --products FILE --categories FILE [--count N] --out FILE"
    );
    ExitCode::from(2)
}

fn write_files(
    seed: u64,
    size: usize,
    products: &str,
    categories: &str,
    stock: Option<&str>,
) -> std::io::Result<usize> {
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
    if let Some(stock) = stock {
        std::fs::write(stock, serde_json::to_string(&demo::stock(&records))?)?;
    }
    Ok(records.len())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("stores") {
        return stores_command(&args[1..]);
    }
    if args.first().map(String::as_str) != Some("demo") {
        return usage();
    }
    let mut seed = demo::DEFAULT_SEED;
    let mut size = demo::DEFAULT_SIZE;
    let (mut products, mut categories, mut stock) = (None, None, None);
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
            "--stock" => stock = Some(value.clone()),
            _ => return usage(),
        }
    }
    let (Some(products), Some(categories)) = (products, categories) else {
        return usage();
    };
    match write_files(seed, size, &products, &categories, stock.as_deref()) {
        Ok(n) => {
            print!("{n} products -> {products}, categories -> {categories}");
            match &stock {
                Some(stock) => println!(", stock -> {stock}"),
                None => println!(),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot write the demo catalog: {e}");
            ExitCode::FAILURE
        }
    }
}

fn stores_command(args: &[String]) -> ExitCode {
    let (mut products, mut categories, mut count, mut out) = (None, None, 100, None);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            return usage();
        };
        match flag.as_str() {
            "--products" => products = Some(value.clone()),
            "--categories" => categories = Some(value.clone()),
            "--count" => match value.parse() {
                Ok(n) if n > 0 => count = n,
                _ => return usage(),
            },
            "--out" => out = Some(value.clone()),
            _ => return usage(),
        }
    }
    let (Some(products), Some(categories), Some(out)) = (products, categories, out) else {
        return usage();
    };
    match stores::run(&products, &categories, count, &out) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stores: {e}");
            ExitCode::FAILURE
        }
    }
}
