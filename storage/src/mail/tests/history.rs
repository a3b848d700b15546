//! A mailbox's reads cost what it holds, not what it once held.
//!
//! An expunged message leaves a deleted key (a tombstone) in RocksDB until compaction drops it, and
//! an iterator steps over tombstones one by one. imaptest's stress run showed throughput falling
//! as a mailbox's history grew: SELECT, EXPUNGE and the new-message scan walked over every
//! tombstone the account had left. These tests count the tombstones a read steps over (RocksDB's
//! perf counters of the calling thread), so they need no timing.

use super::{corpus, fixture, message, Fixture};
use crate::mail::model::{FlagOp, Flags, SystemFlag, UidSet};
use crate::mail::read::{self, View};
use crate::mail::txn::{Cf, Txn};
use crate::mail::{compact, messages, record};
use crate::Address;
use rocksdb::perf::{set_perf_stats, PerfContext, PerfMetric, PerfStatsLevel};

/// Messages appended then expunged to build up history.
const HISTORY: u32 = 300;

/// Runs `read` on this thread and counts the tombstones RocksDB stepped over meanwhile.
fn tombstones_stepped_over<T>(read: impl FnOnce() -> T) -> (T, u64) {
    set_perf_stats(PerfStatsLevel::EnableCount);
    let mut context = PerfContext::default();
    context.reset();
    let out = read();
    let stepped = context.metric(PerfMetric::InternalDeleteSkippedCount);
    set_perf_stats(PerfStatsLevel::Disable);
    (out, stepped)
}

/// Appends `HISTORY` messages to `account`'s INBOX and expunges those `keep` rejects.
async fn churn(f: &Fixture, account: &Address, keep: impl Fn(u32) -> bool) {
    churn_many(f, account, HISTORY, keep).await;
}

/// As [`churn`], with `count` messages appended concurrently (so that they share group commits).
async fn churn_many(f: &Fixture, account: &Address, count: u32, keep: impl Fn(u32) -> bool) {
    let mut appends = tokio::task::JoinSet::new();
    for _ in 0..count {
        let (mail, account) = (f.mail.clone(), account.clone());
        appends.spawn(async move { mail.append(&account, "INBOX", message(corpus::SIMPLE)).await.unwrap() });
    }
    while let Some(appended) = appends.join_next().await {
        appended.unwrap();
    }
    let doomed: Vec<u32> = (1..=count).filter(|&uid| !keep(uid)).collect();
    let deleted = Flags::new().with(SystemFlag::Deleted);
    f.mail.store_flags(account, "INBOX", UidSet::from_uids(&doomed), FlagOp::Add, deleted, None).await.unwrap();
    assert_eq!(f.mail.expunge(account, "INBOX", UidSet::all()).await.unwrap(), doomed);
}

fn uid_floor(f: &Fixture, account: &Address, mailbox: &str) -> u32 {
    View::new(f.store.backend_for_test()).mailbox(account, mailbox).unwrap().1.uid_floor
}

#[tokio::test]
async fn reads_step_over_no_tombstone_of_expunged_messages() {
    let f = fixture();
    // alice keeps her newest message; bob (whose keys sort after alice's) keeps his too.
    churn(&f, &f.alice, |uid| uid == HISTORY).await;
    churn(&f, &f.bob, |uid| uid == HISTORY).await;
    let backend = f.store.backend_for_test();

    // SELECT and SEARCH read `1:*`.
    let (all, stepped) = tombstones_stepped_over(|| read::fetch_summaries(backend, &f.alice, "INBOX", &UidSet::all()));
    assert_eq!(all.unwrap().iter().map(|s| s.uid).collect::<Vec<_>>(), vec![HISTORY]);
    assert_eq!(stepped, 0, "SELECT stepped over the expunged messages below the first live one");

    // The new-message scan of a selected mailbox reads `UIDNEXT:*`: nothing there, and it must not
    // run on into bob's tombstones.
    let after = UidSet::range(HISTORY + 1..=u32::MAX);
    let (new, stepped) = tombstones_stepped_over(|| read::fetch_summaries(backend, &f.alice, "INBOX", &after));
    assert!(new.unwrap().is_empty());
    assert_eq!(stepped, 0, "the scan ran past the mailbox's end into the next account's tombstones");

    // EXPUNGE (`1:*`) on the writer.
    let (gone, stepped) = tombstones_stepped_over(|| {
        let mut txn = Txn::new(backend);
        messages::expunge(&mut txn, &f.alice, "INBOX", &UidSet::all())
    });
    assert!(gone.unwrap().is_empty());
    assert_eq!(stepped, 0, "EXPUNGE stepped over the expunged messages below the first live one");
}

#[tokio::test]
async fn uid_floor_follows_the_lowest_message() {
    let f = fixture();
    assert_eq!(uid_floor(&f, &f.alice, "INBOX"), 1);
    churn(&f, &f.alice, |uid| uid == 7 || uid == HISTORY).await;
    assert_eq!(uid_floor(&f, &f.alice, "INBOX"), 7);

    // Moving the lowest message out raises the floor of its source to the next one.
    f.mail.move_messages(&f.alice, "INBOX", UidSet::range(7..=7), "Archive").await.unwrap();
    assert_eq!(uid_floor(&f, &f.alice, "INBOX"), HISTORY);
    assert_eq!(uid_floor(&f, &f.alice, "Archive"), 1);

    // An empty mailbox's floor is its UIDNEXT; the next message arrives there.
    let deleted = Flags::new().with(SystemFlag::Deleted);
    f.mail.store_flags(&f.alice, "INBOX", UidSet::all(), FlagOp::Add, deleted, None).await.unwrap();
    f.mail.expunge(&f.alice, "INBOX", UidSet::all()).await.unwrap();
    assert_eq!(uid_floor(&f, &f.alice, "INBOX"), HISTORY + 1);
    let next = f.mail.append(&f.alice, "INBOX", message(corpus::SIMPLE)).await.unwrap();
    assert_eq!(next.uid, HISTORY + 1);
    let all = f.mail.fetch_summaries(&f.alice, "INBOX", UidSet::all()).await.unwrap();
    assert_eq!(all.iter().map(|s| s.uid).collect::<Vec<_>>(), vec![HISTORY + 1]);
    assert_eq!(f.mail.check().await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn first_sees_the_transactions_own_writes() {
    let f = fixture();
    churn(&f, &f.alice, |uid| uid >= 3).await;
    let backend = f.store.backend_for_test();
    let inbox = View::new(backend).mailbox(&f.alice, "INBOX").unwrap().1;
    let key = |uid| record::message_key(f.alice.as_str(), inbox.id, uid);
    let prefix = record::mailbox_messages_prefix(f.alice.as_str(), inbox.id);
    let mut txn = Txn::new(backend);
    assert_eq!(txn.first(Cf::Messages, &prefix, &key(1)).unwrap(), Some(key(3)));
    // Deleted in the group, then in the running request: both hide the stored key.
    txn.delete(Cf::Messages, key(3));
    txn.keep();
    txn.delete(Cf::Messages, key(4));
    assert_eq!(txn.first(Cf::Messages, &prefix, &key(1)).unwrap(), Some(key(5)));
    // Written but not yet stored.
    txn.put(Cf::Messages, key(2), Vec::new());
    assert_eq!(txn.first(Cf::Messages, &prefix, &key(1)).unwrap(), Some(key(2)));
    // A key of another column family with the same prefix is not a message.
    let mut other = Txn::new(backend);
    other.put(Cf::Changes, prefix.clone(), Vec::new());
    assert_eq!(other.first(Cf::Messages, &prefix, &key(HISTORY + 1)).unwrap(), None);
    assert!(other.scan_prefix(Cf::Messages, &prefix).unwrap().iter().all(|(k, _)| k != &prefix));
}

#[tokio::test]
async fn compaction_drops_the_tombstones_between_kept_messages() {
    let f = fixture();
    // The first and the last message stay: the expunged ones lie between them, above the floor.
    churn(&f, &f.alice, |uid| uid == 1 || uid == HISTORY).await;
    let backend = f.store.backend_for_test();
    let read_all = || read::fetch_summaries(backend, &f.alice, "INBOX", &UidSet::all());
    let (_, stepped) = tombstones_stepped_over(read_all);
    assert_eq!(stepped, u64::from(HISTORY - 2), "below the compactor's threshold: nothing compacted yet");
    backend.compact_messages();
    let (all, stepped) = tombstones_stepped_over(read_all);
    assert_eq!(all.unwrap().iter().map(|s| s.uid).collect::<Vec<_>>(), vec![1, HISTORY]);
    assert_eq!(stepped, 0);
}

#[tokio::test]
async fn the_writer_asks_for_a_compaction_once_tombstones_pile_up() {
    let f = fixture();
    let count = u32::try_from(compact::MIN_TOMBSTONES).unwrap() + 2;
    churn_many(&f, &f.alice, count, |uid| uid == 1 || uid == count).await;
    // The compactor runs on its own thread: wait for it (bounded), then look.
    let compactions = &f.store.backend_for_test().compactions;
    for _ in 0..1000 {
        if compactions.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(compactions.load(std::sync::atomic::Ordering::SeqCst) > 0, "no compaction after {count} expunges");
    let backend = f.store.backend_for_test();
    let (all, stepped) = tombstones_stepped_over(|| read::fetch_summaries(backend, &f.alice, "INBOX", &UidSet::all()));
    assert_eq!(all.unwrap().iter().map(|s| s.uid).collect::<Vec<_>>(), vec![1, count]);
    assert_eq!(stepped, 0);
}
