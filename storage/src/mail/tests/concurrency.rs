//! UIDs and MODSEQs under concurrent appends from many OS threads, each with its own runtime
//! (the engine's shape: one current-thread runtime per core).
use super::{fixture, message};
use crate::mail::{Recipient, UidSet, Usage};
use std::collections::BTreeSet;

const THREADS: usize = 8;
const APPENDS_PER_THREAD: usize = 50;

#[test]
fn uids_and_modseqs_are_unique_and_ascending_under_concurrent_appends() {
    let f = fixture();
    let commits_before = f.store.backend_for_test().commits.load(std::sync::atomic::Ordering::SeqCst);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let mail = f.mail.clone();
            let alice = f.alice.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    let mut got = Vec::new();
                    for i in 0..APPENDS_PER_THREAD {
                        let body = format!("Subject: t{t} m{i}\r\n\r\nbody\r\n");
                        let a = mail.append(&alice, "INBOX", message(body.as_bytes())).await.unwrap();
                        got.push((a.uid, a.modseq, a.uid_validity));
                    }
                    got
                })
            })
        })
        .collect();
    let per_thread: Vec<Vec<(u32, u64, u32)>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut uids = BTreeSet::new();
    let mut modseqs = BTreeSet::new();
    for got in &per_thread {
        // One caller's appends are acknowledged in order, so its UIDs and MODSEQs ascend.
        assert!(got.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1), "{got:?}");
        assert!(got.iter().all(|g| g.2 == per_thread[0][0].2), "one UIDVALIDITY");
        for g in got {
            assert!(uids.insert(g.0), "UID {} handed out twice", g.0);
            assert!(modseqs.insert(g.1), "MODSEQ {} handed out twice", g.1);
        }
    }
    let total = (THREADS * APPENDS_PER_THREAD) as u32;
    let commits = f.store.backend_for_test().commits.load(std::sync::atomic::Ordering::SeqCst) - commits_before;
    assert!(commits < u64::from(total), "{commits} syncs for {total} appends: no group commit happened");
    eprintln!("group commit: {total} appends in {commits} synced writes");
    assert_eq!(uids, (1..=total).collect::<BTreeSet<u32>>(), "no gaps, no reuse");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let status = f.mail.status(&f.alice, "INBOX").await.unwrap();
        assert_eq!((status.messages, status.uid_next), (total, total + 1));
        assert_eq!(status.highest_modseq, *modseqs.last().unwrap());
        // Each stored message carries the MODSEQ its append was acknowledged with.
        let stored = f.mail.fetch_summaries(&f.alice, "INBOX", UidSet::all()).await.unwrap();
        let acked: std::collections::BTreeMap<u32, u64> = per_thread.iter().flatten().map(|g| (g.0, g.1)).collect();
        assert!(stored.iter().all(|s| acked.get(&s.uid) == Some(&s.modseq)));
        // UID order equals MODSEQ order: both are assigned in commit order.
        assert!(stored.windows(2).all(|w| w[0].modseq < w[1].modseq));
        assert!(f.mail.check().await.unwrap().is_empty());
    });
}

#[test]
fn the_usage_counter_adds_up_under_concurrent_appends_and_deliveries() {
    let f = fixture();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (mail, alice, bob) = (f.mail.clone(), f.alice.clone(), f.bob.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    // Bytes each thread stored for (alice, bob).
                    let mut stored = (0u64, 0u64);
                    for i in 0..APPENDS_PER_THREAD {
                        let body = format!("Subject: t{t} m{i}\r\n\r\n{}\r\n", "x".repeat(t * 7 + i));
                        let size = body.len() as u64;
                        if i % 5 == 0 {
                            // One body into both INBOXes, each copy with its own prefix.
                            let recipients = vec![
                                Recipient { account: alice.clone(), prefix: b"To-A: 1\r\n".to_vec() },
                                Recipient { account: bob.clone(), prefix: Vec::new() },
                            ];
                            let results = mail.deliver(body.into_bytes(), recipients, 0).await.unwrap();
                            assert!(results.iter().all(Result::is_ok));
                            stored = (stored.0 + size + 9, stored.1 + size);
                        } else {
                            let mailbox = if i % 2 == 0 { "INBOX" } else { "Drafts" };
                            mail.append(&alice, mailbox, message(body.as_bytes())).await.unwrap();
                            stored.0 += size;
                        }
                    }
                    stored
                })
            })
        })
        .collect();
    let (mut alice_bytes, mut bob_bytes) = (0, 0);
    for h in handles {
        let (a, b) = h.join().unwrap();
        alice_bytes += a;
        bob_bytes += b;
    }
    let deliveries = (THREADS * APPENDS_PER_THREAD.div_ceil(5)) as u64;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let alice = f.mail.usage(&f.alice).await.unwrap();
        assert_eq!(alice, Usage { bytes: alice_bytes, messages: (THREADS * APPENDS_PER_THREAD) as u64 });
        assert_eq!(f.mail.usage(&f.bob).await.unwrap(), Usage { bytes: bob_bytes, messages: deliveries });
        assert!(f.mail.check().await.unwrap().is_empty());
    });
}
