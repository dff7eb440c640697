//! `edgecart-catalog`: generates the demo catalog and writes it as a file
//! that `wrangler kv bulk put` loads into local KV, pointer last.
//!
//! Usage: `edgecart-catalog demo [--seed N] [--size N] --out FILE`
//!
//! It writes files only; it never talks to a network.

use edgecart_domain::catalog::publish;
use edgecart_domain::demo;
use edgecart_domain::records::POINTER_KEY;
use serde::Serialize;
use std::process::ExitCode;

#[derive(Serialize)]
struct BulkEntry<'a> {
    key: &'a str,
    value: &'a str,
}

fn usage() -> ExitCode {
    eprintln!("usage: edgecart-catalog demo [--seed N] [--size N] --out FILE");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("demo") {
        return usage();
    }
    let mut seed = demo::DEFAULT_SEED;
    let mut size = demo::DEFAULT_SIZE;
    let mut out = None;
    let mut it = args[1..].iter();
    while let Some(flag) = it.next() {
        let value = it.next();
        match (flag.as_str(), value) {
            ("--seed", Some(v)) => match v.parse() {
                Ok(n) => seed = n,
                Err(_) => return usage(),
            },
            ("--size", Some(v)) => match v.parse() {
                Ok(n) => size = n,
                Err(_) => return usage(),
            },
            ("--out", Some(v)) => out = Some(v.clone()),
            _ => return usage(),
        }
    }
    let Some(out) = out else {
        return usage();
    };
    let products = demo::products(seed, size);
    let publication = match publish(1, demo::currencies(), demo::categories(), &products) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("the demo catalog does not publish: {e:?}");
            return ExitCode::FAILURE;
        }
    };
    let pointer = serde_json::to_string(&publication.pointer).expect("pointer serializes");
    let mut entries: Vec<BulkEntry> = publication
        .entries
        .iter()
        .map(|(key, value)| BulkEntry { key, value })
        .collect();
    entries.push(BulkEntry {
        key: POINTER_KEY,
        value: &pointer,
    });
    let json = serde_json::to_string(&entries).expect("entries serialize");
    if let Err(e) = std::fs::write(&out, json) {
        eprintln!("cannot write {out}: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "{} products, catalog version {}, {} KV entries -> {out}",
        products.len(),
        publication.pointer.version,
        entries.len()
    );
    ExitCode::SUCCESS
}
