//! Tests of the mail store against a real RocksDB in temporary directories.
mod api;
mod change_log;
mod concurrency;
mod corpus;
mod crash;
mod delivery;
mod history;
mod meta_corpus;
mod model;
mod ops;
mod recipients;
mod refcount;
mod usage;

use crate::mail::{MailStore, NewMessage};
use crate::{Address, Domain, Store};

/// A store in a temporary directory with accounts `alice` and `bob` in `example.test`.
pub(super) struct Fixture {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub mail: MailStore,
    pub alice: Address,
    pub bob: Address,
}

pub(super) fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    store.add_domain(&Domain::parse("example.test").unwrap()).unwrap();
    let alice = Address::parse("alice@example.test").unwrap();
    let bob = Address::parse("bob@example.test").unwrap();
    store.add_account(&alice, "h").unwrap();
    store.add_account(&bob, "h").unwrap();
    let mail = store.mail();
    Fixture { dir, store, mail, alice, bob }
}

pub(super) fn message(body: &[u8]) -> NewMessage {
    NewMessage { prefix: Vec::new(), body: body.to_vec(), flags: Default::default(), internal_date: 1_700_000_000 }
}
