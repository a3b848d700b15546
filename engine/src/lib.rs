//! Mailgenic's mail engine: the MTA and MDA of one host, thread-per-core on io_uring.
//!
//! - [`wire`]: pure parsers and reply encoders (no sockets, no TLS, no storage).
//! - [`session`]: protocol state machines, generic over a byte transport.
//! - [`io`]: TLS over tokio-uring with owned buffers, certificates.
//! - [`mta`]: the hand-off of local mail to the MDA over LMTP, the queue runner, bounces.
//! - [`server`]: start-up, per-core runtimes, listeners, limits, privileges, shutdown.
//! - [`auth`]: password verification off the reactor, the credential cache, failure brakes.
//! - [`admin`]: domain and account administration (admin socket and direct store access).
//! - [`admin_mail`]: the operator's view of the queue, mailboxes and messages.
//! - [`cli`]: the `mailgenic` command line.

pub mod admin;
pub mod admin_mail;
pub mod auth;
pub mod cli;
pub mod io;
pub mod mta;
pub mod server;
pub mod session;
pub mod wire;

/// Opens the store of `config` with its `[store]` options.
pub fn open_store(config: &mailgenic_config::Config) -> Result<storage::Store, storage::StoreError> {
    let options = storage::StoreOptions {
        change_log_keep: config.store.change_log_keep,
        compress_bodies: config.store.compress_bodies,
        recipient_cache_entries: config.store.recipient_cache_entries,
    };
    storage::Store::open_with(&config.store_path(), options)
}
