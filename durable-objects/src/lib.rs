//! Edgecart's Durable Object classes: one object per SKU stock ledger, cart,
//! order and points ledger, each SQLite-backed.
//!
//! This crate is empty until the inventory issue lands. When it fills, its
//! objects stay thin: load state, call the pure rules in `edgecart-domain`,
//! persist in one transaction. They must not compute prices or stock rules
//! themselves, and they are called only through one typed command protocol.
