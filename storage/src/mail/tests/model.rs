//! Random sequences of mail operations against a naive in-memory model (the oracle): after each
//! sequence the store's UIDs, flags, counts and body references must equal the model's, and
//! `check()` must find nothing.
use super::{fixture, message};
use crate::mail::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const MAILBOXES: [&str; 3] = ["INBOX", "Archive", "Trash"];

#[derive(Debug, Clone)]
enum Op {
    Append { mailbox: usize, seen: bool },
    Deliver,
    Flag { mailbox: usize, pick: usize, flag: bool, add: bool },
    Expunge { mailbox: usize },
    Copy { from: usize, to: usize },
    Move { from: usize, to: usize, pick: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, any::<bool>()).prop_map(|(mailbox, seen)| Op::Append { mailbox, seen }),
        Just(Op::Deliver),
        (0..3usize, 0..8usize, any::<bool>(), any::<bool>()).prop_map(|(mailbox, pick, flag, add)| Op::Flag {
            mailbox,
            pick,
            flag,
            add
        }),
        (0..3usize).prop_map(|mailbox| Op::Expunge { mailbox }),
        (0..3usize, 0..3usize).prop_map(|(from, to)| Op::Copy { from, to }),
        (0..3usize, 0..3usize, 0..8usize).prop_map(|(from, to, pick)| Op::Move { from, to, pick }),
    ]
}

/// A message in the model: (seen, deleted, body tag).
type Model = Vec<(u32, BTreeMap<u32, (bool, bool, u32)>)>;

fn pick(model: &Model, mailbox: usize, pick: usize) -> Option<u32> {
    let uids: Vec<u32> = model[mailbox].1.keys().copied().collect();
    (!uids.is_empty()).then(|| uids[pick % uids.len()])
}

#[test]
fn store_matches_a_naive_model() {
    let config = ProptestConfig { cases: 16, ..ProptestConfig::default() };
    proptest!(config, |(ops in proptest::collection::vec(op(), 1..30))| {
        let f = fixture();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            // Per mailbox: (uid_next, messages); bob's INBOX holds delivered copies.
            let mut model: Model = MAILBOXES.iter().map(|_| (1, BTreeMap::new())).collect();
            let mut bob: BTreeSet<u32> = BTreeSet::new();
            let mut next_tag = 0u32;
            for op in ops {
                match op {
                    Op::Append { mailbox, seen } => {
                        let flags = if seen { Flags::new().with(SystemFlag::Seen) } else { Flags::new() };
                        let body = format!("Subject: {next_tag}\r\n\r\nbody {next_tag}\r\n");
                        let a = f.mail.append(&f.alice, MAILBOXES[mailbox], NewMessage { flags, ..message(body.as_bytes()) }).await.unwrap();
                        let m = &mut model[mailbox];
                        assert_eq!(a.uid, m.0);
                        m.1.insert(m.0, (seen, false, next_tag));
                        m.0 += 1;
                        next_tag += 1;
                    }
                    Op::Deliver => {
                        let r = [&f.alice, &f.bob].into_iter().map(|a| Recipient { account: a.clone(), prefix: Vec::new() }).collect();
                        let out = f.mail.deliver(format!("Subject: d{next_tag}\r\n\r\n").into_bytes(), r, 0).await.unwrap();
                        let m = &mut model[0];
                        assert_eq!(out[0].as_ref().unwrap().uid, m.0);
                        m.1.insert(m.0, (false, false, next_tag));
                        m.0 += 1;
                        bob.insert(next_tag);
                        next_tag += 1;
                    }
                    Op::Flag { mailbox, pick: p, flag, add } => {
                        let Some(uid) = pick(&model, mailbox, p) else { continue };
                        let which = if flag { SystemFlag::Seen } else { SystemFlag::Deleted };
                        let op = if add { FlagOp::Add } else { FlagOp::Remove };
                        f.mail.store_flags(&f.alice, MAILBOXES[mailbox], UidSet::from_uids(&[uid]), op, Flags::new().with(which), None).await.unwrap();
                        let entry = model[mailbox].1.get_mut(&uid).unwrap();
                        if flag { entry.0 = add } else { entry.1 = add }
                    }
                    Op::Expunge { mailbox } => {
                        let gone = f.mail.expunge(&f.alice, MAILBOXES[mailbox], UidSet::all()).await.unwrap();
                        let expected: Vec<u32> = model[mailbox].1.iter().filter(|(_, m)| m.1).map(|(u, _)| *u).collect();
                        assert_eq!(gone, expected);
                        model[mailbox].1.retain(|_, m| !m.1);
                    }
                    Op::Copy { from, to } => {
                        let result = f.mail.copy(&f.alice, MAILBOXES[from], UidSet::all(), MAILBOXES[to]).await.unwrap();
                        let sources: Vec<(u32, (bool, bool, u32))> = model[from].1.iter().map(|(u, m)| (*u, *m)).collect();
                        let mut expected = Vec::new();
                        for (uid, m) in sources {
                            let dest = &mut model[to];
                            expected.push((uid, dest.0));
                            dest.1.insert(dest.0, m);
                            dest.0 += 1;
                        }
                        assert_eq!(result.uids, expected);
                    }
                    Op::Move { from, to, pick: p } => {
                        let Some(uid) = pick(&model, from, p) else { continue };
                        let result = f.mail.move_messages(&f.alice, MAILBOXES[from], UidSet::from_uids(&[uid]), MAILBOXES[to]).await;
                        let m = model[from].1.remove(&uid).unwrap();
                        let dest = &mut model[to];
                        assert_eq!(result.unwrap().uids, [(uid, dest.0)]);
                        dest.1.insert(dest.0, m);
                        dest.0 += 1;
                    }
                }
            }
            let mut tags = BTreeSet::new();
            let mut refs = 0u64;
            for (i, name) in MAILBOXES.iter().enumerate() {
                let (uid_next, messages) = &model[i];
                let stored = f.mail.fetch_summaries(&f.alice, name, UidSet::all()).await.unwrap();
                let got: Vec<(u32, bool, bool)> = stored.iter().map(|s| (s.uid, s.flags.contains(SystemFlag::Seen), s.flags.contains(SystemFlag::Deleted))).collect();
                let want: Vec<(u32, bool, bool)> = messages.iter().map(|(u, m)| (*u, m.0, m.1)).collect();
                assert_eq!(got, want, "{name}");
                let status = f.mail.status(&f.alice, name).await.unwrap();
                assert_eq!(status.uid_next, *uid_next);
                assert_eq!(status.messages as usize, messages.len());
                assert_eq!(status.unseen as usize, messages.values().filter(|m| !m.0).count());
                tags.extend(messages.values().map(|m| m.2));
                refs += messages.len() as u64;
            }
            tags.extend(bob.iter().copied());
            refs += bob.len() as u64;
            assert_eq!(f.mail.body_stats_for_test().await.unwrap(), (tags.len() as u64, refs));
            assert_eq!(f.mail.check().await.unwrap(), Vec::<String>::new());
        });
    });
}
