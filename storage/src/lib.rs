//! Mailgenic's mail store.
//!
//! The store is the one source of truth for what the host serves: local domains and accounts,
//! mailboxes, messages and the outbound queue. Its API speaks mail (add an account, append a
//! message, set flags, changes since a MODSEQ), never RocksDB: no RocksDB type appears in a public
//! signature, and only [`rocks`] and the mail store's private `record`, `txn` and `read` modules
//! know key bytes and column families, which is what lets a distributed backend replace it later
//! without touching the engine.
//!
//! The account API ([`Store`]) blocks on disk: the engine calls it from its storage and
//! password-verification threads, never from a reactor thread. The mail API ([`mail::MailStore`])
//! is async: its work runs on the store's own writer and reader threads.
//!
//! Layout:
//! - [`address`]: normalised addresses and domains (lowercase, IDNA A-labels).
//! - [`password`]: argon2id PHC hashes.
//! - [`keys`]: order-preserving encoding of tuple keys.
//! - [`rocks`]: the RocksDB backend (column families, schema version, durability).
//! - [`accounts`]: domains and accounts on top of it.
//! - [`mail`]: mailboxes, messages, bodies, the change log, the outbound queue; group commit.

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
pub use rocks::{Store, StoreOptions};
