//! The change log keeps a bounded number of entries per account; readers learn when it no longer
//! reaches back to the MODSEQ they ask about.

use super::{corpus, message};
use crate::mail::model::{ChangeKind, FlagOp, Flags, SystemFlag, UidSet};
use crate::mail::txn::Cf;
use crate::{Address, Domain, Store, StoreOptions};

const KEEP: u64 = 16;

/// A store in `dir` keeping `KEEP` change log entries, with the account alice.
fn short_log_store(dir: &tempfile::TempDir) -> (Store, Address) {
    let options = StoreOptions { change_log_keep: KEEP, ..StoreOptions::default() };
    let store = Store::open_with(&dir.path().join("store"), options).unwrap();
    store.add_domain(&Domain::parse("example.test").unwrap()).unwrap();
    let alice = Address::parse("alice@example.test").unwrap();
    store.add_account(&alice, "h").unwrap();
    (store, alice)
}

/// Change log entries of every account (stored keys, pruned ones excluded).
fn stored_changes(store: &Store) -> usize {
    let backend = store.backend_for_test();
    backend.db().iterator_cf(backend.cf(Cf::Changes.name()), rocksdb::IteratorMode::Start).count()
}

#[tokio::test]
async fn the_log_is_pruned_to_its_keep_count_and_readers_see_the_horizon() {
    let dir = tempfile::tempdir().unwrap();
    let (store, alice) = short_log_store(&dir);
    let mail = store.mail();

    // 10 appends: below the keep count, nothing is pruned.
    for _ in 0..10 {
        mail.append(&alice, "INBOX", message(corpus::SIMPLE)).await.unwrap();
    }
    let all = mail.changes_since(&alice, "INBOX", 0).await.unwrap();
    assert_eq!((all.changes.len(), all.horizon, all.complete), (10, 0, true));

    // 40 more changes: appends, flag changes and expunges.
    for _ in 0..20 {
        mail.append(&alice, "INBOX", message(corpus::SIMPLE)).await.unwrap();
    }
    let deleted = Flags::new().with(SystemFlag::Deleted);
    mail.store_flags(&alice, "INBOX", UidSet::range(1..=10), FlagOp::Add, deleted, None).await.unwrap();
    let expunged = mail.expunge(&alice, "INBOX", UidSet::range(1..=10)).await.unwrap();
    assert_eq!(expunged.len(), 10);
    let status = mail.status(&alice, "INBOX").await.unwrap();
    assert_eq!(status.highest_modseq, 50);

    // Between KEEP and KEEP + KEEP/8 entries stay; older ones are gone from the store itself.
    let stored = stored_changes(&store) as u64;
    assert!((KEEP..=KEEP + KEEP / 8).contains(&stored), "{stored} entries stored");
    let recent = mail.changes_since(&alice, "INBOX", 45).await.unwrap();
    assert!(recent.complete, "a MODSEQ above the horizon is answered from the log");
    assert_eq!(recent.changes.iter().map(|c| c.modseq).collect::<Vec<_>>(), [46, 47, 48, 49, 50]);
    assert!(recent.changes.iter().all(|c| c.kind == ChangeKind::Expunge));

    let old = mail.changes_since(&alice, "INBOX", 0).await.unwrap();
    assert!(!old.complete, "the log no longer reaches MODSEQ 0");
    assert_eq!(old.horizon, 50 - stored);
    assert!(old.changes.iter().all(|c| c.modseq > old.horizon));
    assert_eq!(old.changes.len() as u64, stored);
    // Exactly at the horizon is still complete: every change above it is held.
    assert!(mail.changes_since(&alice, "INBOX", old.horizon).await.unwrap().complete);
    assert!(!mail.changes_since(&alice, "INBOX", old.horizon - 1).await.unwrap().complete);

    // The horizon survives a restart and `store check` accepts the pruned log.
    assert!(mail.check().await.unwrap().is_empty(), "{:?}", mail.check().await.unwrap());
    drop((mail, store));
    let store =
        Store::open_with(&dir.path().join("store"), StoreOptions { change_log_keep: KEEP, ..StoreOptions::default() })
            .unwrap();
    let mail = store.mail();
    let reopened = mail.changes_since(&alice, "INBOX", 0).await.unwrap();
    assert_eq!((reopened.horizon, reopened.complete), (old.horizon, false));

    // An entry at the horizon (pruned, then written back by something else) is a problem.
    let backend = store.backend_for_test();
    let key = crate::mail::record::change_key(alice.as_str(), old.horizon);
    let entry =
        backend.db().get_cf(backend.cf(Cf::Changes.name()), crate::mail::record::change_key(alice.as_str(), 50));
    backend.db().put_cf(backend.cf(Cf::Changes.name()), key, entry.unwrap().unwrap()).unwrap();
    let problems = mail.check().await.unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains(&format!("change {}", old.horizon)) && problems[0].contains("horizon"),
        "{problems:?}"
    );
}

#[tokio::test]
async fn an_account_state_written_before_the_horizon_existed_reads_as_a_complete_log() {
    let f = super::fixture();
    f.mail.append(&f.alice, "INBOX", message(corpus::SIMPLE)).await.unwrap();
    // The record as the first version wrote it: version byte, next mailbox id, MODSEQ, last
    // UIDVALIDITY; no horizon (and no usage counter).
    let backend = f.store.backend_for_test();
    let key = crate::mail::record::account_prefix(f.alice.as_str());
    let cf = backend.cf(Cf::AccountState.name());
    let current = backend.db().get_cf(cf, &key).unwrap().unwrap();
    backend.db().put_cf(cf, &key, &current[..1 + 8 + 8 + 4]).unwrap();
    let changes = f.mail.changes_since(&f.alice, "INBOX", 0).await.unwrap();
    assert_eq!((changes.changes.len(), changes.horizon, changes.complete), (1, 0, true));
    assert!(f.mail.check().await.unwrap().is_empty());
}

#[tokio::test]
async fn bodies_written_with_and_without_compression_read_back_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let alice = Address::parse("alice@example.test").unwrap();
    let body = |n: u8| -> Vec<u8> {
        let mut b = format!("Subject: {n}\r\n\r\n").into_bytes();
        b.extend((0..300_000u32).map(|i| b"abcdefgh\r\n"[(i % 10) as usize] ^ (n & 1)));
        b
    };
    for (n, compress) in [(1u8, true), (2, false), (3, true)] {
        let store =
            Store::open_with(&path, StoreOptions { compress_bodies: compress, ..StoreOptions::default() }).unwrap();
        if n == 1 {
            store.add_domain(&Domain::parse("example.test").unwrap()).unwrap();
            store.add_account(&alice, "h").unwrap();
        }
        let mail = store.mail();
        mail.append(&alice, "INBOX", message(&body(n))).await.unwrap();
        // Every body so far, whichever way its file was written, reads back as stored.
        store.backend_for_test().db().flush_cf(store.backend_for_test().cf(Cf::BodyChunks.name())).unwrap();
        for uid in 1..=u32::from(n) {
            assert!(mail.read_message(&alice, "INBOX", uid).await.unwrap() == body(uid as u8), "uid {uid}");
        }
    }
}

#[tokio::test]
async fn one_request_with_more_changes_than_the_log_keeps_leaves_none_below_the_horizon() {
    let dir = tempfile::tempdir().unwrap();
    let (store, alice) = short_log_store(&dir);
    let mail = store.mail();
    let batch: Vec<_> = (0..40).map(|_| message(corpus::SIMPLE)).collect();
    mail.append_all(&alice, "INBOX", batch).await.unwrap();
    let seen = Flags::new().with(SystemFlag::Seen);
    mail.store_flags(&alice, "INBOX", UidSet::all(), FlagOp::Add, seen, None).await.unwrap();
    let stored = stored_changes(&store) as u64;
    assert!(stored <= KEEP + KEEP / 8, "{stored} entries stored after 80 changes in two requests");
    assert!(mail.check().await.unwrap().is_empty(), "{:?}", mail.check().await.unwrap());
}
