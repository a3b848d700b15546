//! Mailgenic's mail store.
//!
//! The store is the one source of truth for what the host serves: local domains and accounts today,
//! mailboxes and messages next. Its API speaks mail (add an account, verify a password, list
//! domains), never RocksDB: only [`rocks`] knows key bytes and column families, which is what lets
//! a distributed backend replace it later without touching the engine.
//!
//! Every call here blocks on disk. The engine calls it from its storage and password-verification
//! threads, never from a reactor thread.
//!
//! Layout:
//! - [`address`]: normalised addresses and domains (lowercase, IDNA A-labels).
//! - [`password`]: argon2id PHC hashes.
//! - [`keys`]: order-preserving encoding of tuple keys.
//! - [`rocks`]: the RocksDB backend (column families, schema version, durability).
//! - [`accounts`]: domains and accounts on top of it.

pub mod accounts;
pub mod address;
pub mod keys;
pub mod mail;
pub mod password;
pub mod rocks;

mod error;

pub use accounts::Account;
pub use address::{Address, Domain};
pub use error::StoreError;
pub use rocks::Store;
