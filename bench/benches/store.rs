//! Mail store benches: append of 4 KiB messages through the group-commit writer, by one writer
//! and by 64 concurrent writers, against the baseline of one synced RocksDB write per message;
//! metadata fetch of 10,000 messages against the summary-only fetch.
//!
//! Every append is durable (synced) before it is acknowledged, so the 1-writer figure is bounded
//! by the disk's fsync latency; with 64 writers one sync covers many messages.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use storage::mail::{MailStore, NewMessage, UidSet};
use storage::{Address, Domain, Store};

const MESSAGE_BYTES: usize = 4096;
const CONCURRENT_WRITERS: u64 = 64;
const FETCH_MESSAGES: usize = 10_000;

struct Bench {
    _dir: tempfile::TempDir,
    store: Store,
    mail: MailStore,
    account: Address,
    runtime: tokio::runtime::Runtime,
}

fn bench_store() -> Bench {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open(&dir.path().join("store")).expect("open store");
    store.add_domain(&Domain::parse("bench.test").expect("domain")).expect("add domain");
    let account = Address::parse("bench@bench.test").expect("address");
    store.add_account(&account, "h").expect("add account");
    let mail = store.mail();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    Bench { _dir: dir, store, mail, account, runtime }
}

/// A 4 KiB message with a realistic header.
fn message_4k(n: u64) -> Vec<u8> {
    let mut m = format!(
        "From: Sender <sender@remote.test>\r\nTo: bench@bench.test\r\nSubject: message {n}\r\n\
         Date: Mon, 7 Feb 2024 21:52:25 -0800\r\nMessage-ID: <{n}@remote.test>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    .into_bytes();
    while m.len() < MESSAGE_BYTES {
        m.extend_from_slice(b"The quick brown fox jumps over the lazy dog.\r\n");
    }
    m.truncate(MESSAGE_BYTES);
    m
}

fn new_message(n: u64) -> NewMessage {
    NewMessage {
        prefix: b"Return-Path: <sender@remote.test>\r\n".to_vec(),
        body: message_4k(n),
        flags: Default::default(),
        internal_date: 1_700_000_000,
    }
}

/// Appends `count` messages with `writers` concurrent tasks; returns the elapsed time.
fn append_concurrently(b: &Bench, count: u64, writers: u64, counter: &AtomicU64) -> Duration {
    b.runtime.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..writers)
            .map(|w| {
                let mail = b.mail.clone();
                let account = b.account.clone();
                let mine = count / writers + u64::from(w < count % writers);
                let first = counter.fetch_add(mine, Ordering::Relaxed);
                tokio::spawn(async move {
                    for i in 0..mine {
                        mail.append(&account, "INBOX", new_message(first + i)).await.expect("append");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("writer task");
        }
        start.elapsed()
    })
}

fn append(c: &mut Criterion) {
    let b = bench_store();
    let counter = AtomicU64::new(0);
    let mut group = c.benchmark_group("store_append_4k");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.bench_function("group_commit_1_writer", |bench| {
        bench.iter_custom(|iters| append_concurrently(&b, iters, 1, &counter))
    });
    group.bench_function("group_commit_64_writers", |bench| {
        bench.iter_custom(|iters| append_concurrently(&b, iters, CONCURRENT_WRITERS, &counter))
    });
    // Baseline: what every message would cost without group commit (one fsync each).
    let body = message_4k(0);
    group.bench_function("baseline_one_synced_write_per_message", |bench| {
        bench.iter(|| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            b.store.baseline_synced_write(n, &body).expect("synced write");
        })
    });
    group.finish();
}

fn fetch(c: &mut Criterion) {
    let b = bench_store();
    let counter = AtomicU64::new(0);
    append_concurrently(&b, FETCH_MESSAGES as u64, CONCURRENT_WRITERS, &counter);
    let mut group = c.benchmark_group("store_fetch_10k");
    group.throughput(Throughput::Elements(FETCH_MESSAGES as u64));
    group.sample_size(10);
    group.bench_function("fetch_meta_envelope_bodystructure", |bench| {
        bench.iter(|| {
            let all = b.runtime.block_on(b.mail.fetch_meta(&b.account, "INBOX", UidSet::all())).expect("fetch");
            assert_eq!(all.len(), FETCH_MESSAGES);
        })
    });
    // Baseline: the cheap per-message fields only (FLAGS, UID, MODSEQ, size).
    group.bench_function("baseline_fetch_summaries", |bench| {
        bench.iter(|| {
            let all = b.runtime.block_on(b.mail.fetch_summaries(&b.account, "INBOX", UidSet::all())).expect("fetch");
            assert_eq!(all.len(), FETCH_MESSAGES);
        })
    });
    group.finish();
}

criterion_group!(benches, append, fetch);
criterion_main!(benches);
