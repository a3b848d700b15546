//! UIDs and MODSEQs under concurrent appends from many OS threads, each with its own runtime
//! (the engine's shape: one current-thread runtime per core).
use super::{fixture, message};
use crate::mail::UidSet;
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
