//! The mail API end to end: mailboxes, append and read back, flags, expunge, copy, move, status
//! and changes.
use super::{corpus, fixture, message};
use crate::mail::*;
use crate::StoreError;

#[tokio::test]
async fn accounts_start_with_special_use_mailboxes_all_subscribed() {
    let f = fixture();
    let boxes = f.mail.list_mailboxes(&f.alice).await.unwrap();
    let got: Vec<(&str, Option<SpecialUse>)> = boxes.iter().map(|b| (b.name.as_str(), b.special_use)).collect();
    assert_eq!(
        got,
        [
            ("Archive", Some(SpecialUse::Archive)),
            ("Drafts", Some(SpecialUse::Drafts)),
            ("INBOX", None),
            ("Junk", Some(SpecialUse::Junk)),
            ("Sent", Some(SpecialUse::Sent)),
            ("Trash", Some(SpecialUse::Trash)),
        ]
    );
    assert!(boxes.iter().all(|b| b.uid_next == 1));
    let mut validities: Vec<u32> = boxes.iter().map(|b| b.uid_validity).collect();
    validities.sort_unstable();
    validities.dedup();
    assert_eq!(validities.len(), 6, "each mailbox has its own UIDVALIDITY");
    assert_eq!(f.mail.subscriptions(&f.alice).await.unwrap().len(), 6);
    f.mail.unsubscribe(&f.alice, "Junk").await.unwrap();
    f.mail.subscribe(&f.alice, "Not/There/Yet").await.unwrap();
    let subs = f.mail.subscriptions(&f.alice).await.unwrap();
    assert!(subs.contains(&"Not/There/Yet".to_string()) && !subs.contains(&"Junk".to_string()));
    let ghost = crate::Address::parse("ghost@example.test").unwrap();
    assert!(matches!(f.mail.list_mailboxes(&ghost).await, Err(StoreError::NotFound(_))));
}

#[tokio::test]
async fn messages_read_back_byte_exact_with_prefix_and_part_slices() {
    let f = fixture();
    let prefix = b"Return-Path: <x@y.test>\r\nDelivered-To: alice@example.test\r\n".to_vec();
    for (i, raw) in corpus::ALL.iter().enumerate() {
        let appended =
            f.mail.append(&f.alice, "inbox", NewMessage { prefix: prefix.clone(), ..message(raw) }).await.unwrap();
        assert_eq!(appended.uid, i as u32 + 1);
        let whole = f.mail.read_message(&f.alice, "INBOX", appended.uid).await.unwrap();
        assert_eq!(whole, [prefix.as_slice(), raw].concat());
        let middle = f.mail.read_range(&f.alice, "INBOX", appended.uid, 10..70).await.unwrap();
        assert_eq!(middle, whole[10.min(whole.len())..70.min(whole.len())]);
    }
    let metas = f.mail.fetch_meta(&f.alice, "INBOX", UidSet::range(2..=2)).await.unwrap();
    let meta = &metas[0];
    assert_eq!(meta.summary.size, (prefix.len() + corpus::NESTED.len()) as u64);
    assert!(meta.body_structure.ends_with(b"\"mixed\" (\"boundary\" \"b1\") NIL NIL NIL)"));
    // BODY[2.1] and BODY[HEADER] are slices of the stored message.
    let part = meta.parts.iter().find(|p| p.section == [2, 1]).unwrap();
    let bytes =
        f.mail.read_range(&f.alice, "INBOX", 2, u64::from(part.body.start)..u64::from(part.body.end)).await.unwrap();
    assert_eq!(bytes, b"inner plain");
    let header = &meta.parts[0].header;
    let bytes = f.mail.read_range(&f.alice, "INBOX", 2, 0..u64::from(header.end)).await.unwrap();
    assert!(bytes.starts_with(&prefix) && bytes.ends_with(b"boundary=\"b1\"\r\n\r\n"));
    // The header sections of many messages in one call equal the header slices read one by one.
    let headers = f.mail.read_batch(&f.alice, "INBOX", UidSet::all(), Extent::Header, u64::MAX).await.unwrap();
    assert_eq!(headers.len(), corpus::ALL.len());
    for (meta, (uid, header)) in f.mail.fetch_meta(&f.alice, "INBOX", UidSet::all()).await.unwrap().iter().zip(&headers)
    {
        assert_eq!(meta.summary.uid, *uid);
        let end = u64::from(meta.parts[0].header.end);
        assert_eq!(header, &f.mail.read_range(&f.alice, "INBOX", *uid, 0..end).await.unwrap(), "uid {uid}");
    }
    // Some fields only: those asked for are as in the full read, the others empty.
    let full = f.mail.fetch_meta(&f.alice, "INBOX", UidSet::all()).await.unwrap();
    let fields = MetaFields { envelope: true, body_structure: true, body: false, parts: false };
    let some = f.mail.fetch_meta_with(&f.alice, "INBOX", UidSet::all(), fields).await.unwrap();
    assert_eq!(some.len(), full.len());
    for (some, full) in some.iter().zip(&full) {
        assert_eq!(
            (&some.summary, &some.envelope, &some.body_structure),
            (&full.summary, &full.envelope, &full.body_structure)
        );
        assert!(some.body.is_empty() && some.parts.is_empty() && !full.body.is_empty() && !full.parts.is_empty());
    }
    let some = f.mail.read_batch(&f.alice, "INBOX", UidSet::range(2..=3), Extent::Header, u64::MAX).await.unwrap();
    assert_eq!(some.iter().map(|h| h.0).collect::<Vec<_>>(), [2, 3]);
    let one = f.mail.read_batch(&f.alice, "INBOX", UidSet::all(), Extent::Header, 1).await.unwrap();
    assert_eq!(one.iter().map(|h| h.0).collect::<Vec<_>>(), [1], "at least one, then the budget stops it");
    // Whole messages in batches bounded by bytes: each equals its one-by-one read.
    let all = f.mail.read_batch(&f.alice, "INBOX", UidSet::all(), Extent::Whole, u64::MAX).await.unwrap();
    assert_eq!(all.len(), corpus::ALL.len());
    for (uid, bytes) in &all {
        assert_eq!(bytes, &f.mail.read_message(&f.alice, "INBOX", *uid).await.unwrap(), "uid {uid}");
    }
    let first = f.mail.read_batch(&f.alice, "INBOX", UidSet::all(), Extent::Whole, 1).await.unwrap();
    assert_eq!(first.len(), 1, "a budget smaller than a message still reads that message");
    let budget = (all[0].1.len() + all[1].1.len()) as u64;
    let two = f.mail.read_batch(&f.alice, "INBOX", UidSet::all(), Extent::Whole, budget).await.unwrap();
    assert_eq!(two.iter().map(|m| m.0).collect::<Vec<_>>(), [1, 2], "stops once the budget is reached");
}

#[tokio::test]
async fn batches_of_whole_and_header_contents_equal_single_reads_in_every_layout() {
    // Bodies of one, two and three chunks (256 KiB each), bodies shared by two messages of the
    // same mailbox, stored one after another (walked with one iterator) or among other accounts'
    // deliveries (looked up one by one).
    let f = fixture();
    let carol = crate::Address::parse("carol@example.test").unwrap();
    f.store.add_account(&carol, "h").unwrap();
    let sizes = [40usize, 300 * 1024, 10, 600 * 1024, 2_000, 256 * 1024, 256 * 1024 + 1];
    let body = |i: usize, size: usize| -> Vec<u8> {
        let mut m = format!("Subject: m{i}\r\n\r\n").into_bytes();
        m.extend((0..size).map(|j| b'a' + ((i * 7 + j) % 26) as u8));
        m
    };
    for (i, &size) in sizes.iter().enumerate() {
        let prefix = format!("X-N: {i}\r\n").into_bytes();
        f.mail.append(&f.alice, "INBOX", NewMessage { prefix, ..message(&body(i, size)) }).await.unwrap();
        // Bob's and Carol's deliveries between Alice's scatter her bodies in the key order.
        f.mail.append(&f.bob, "INBOX", message(&body(i, size))).await.unwrap();
        f.mail.append(&carol, "INBOX", message(&body(i, size))).await.unwrap();
        // Carol's Archive gets the same messages one after another, for the sequential walk.
    }
    f.mail
        .append_all(&carol, "Archive", sizes.iter().enumerate().map(|(i, &s)| message(&body(i, s))).collect())
        .await
        .unwrap();
    // Each body twice in one mailbox: the walk meets the same body again after its last chunk.
    f.mail.copy(&carol, "Archive", UidSet::all(), "Drafts").await.unwrap();
    f.mail.copy(&carol, "Drafts", UidSet::all(), "Archive").await.unwrap();
    for (account, mailbox, count) in [(&f.alice, "INBOX", 7), (&carol, "Archive", 14)] {
        for extent in [Extent::Whole, Extent::Header] {
            let batch = f.mail.read_batch(account, mailbox, UidSet::all(), extent, u64::MAX).await.unwrap();
            assert_eq!(batch.len(), count, "{mailbox}");
            for (uid, bytes) in &batch {
                let whole = f.mail.read_message(account, mailbox, *uid).await.unwrap();
                let expected = match extent {
                    Extent::Whole => whole,
                    Extent::Header => {
                        let meta = f.mail.fetch_meta(account, mailbox, UidSet::range(*uid..=*uid)).await.unwrap();
                        let end = u64::from(meta[0].parts[0].header.end);
                        f.mail.read_range(account, mailbox, *uid, 0..end).await.unwrap()
                    }
                };
                assert!(
                    bytes == &expected,
                    "{mailbox} uid {uid} {extent:?}: {} vs {} bytes",
                    bytes.len(),
                    expected.len()
                );
            }
        }
    }
}

#[tokio::test]
async fn large_bodies_are_chunked_and_readable_by_range() {
    let f = fixture();
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    body.extend((0..3 * 1024 * 1024 + 17).map(|i| b"abcdefghij\r\n"[i % 12]));
    f.mail.append(&f.alice, "INBOX", message(&body)).await.unwrap();
    assert_eq!(f.mail.read_message(&f.alice, "INBOX", 1).await.unwrap(), body);
    let edge = 256 * 1024 - 5..2 * 256 * 1024 + 5;
    let got = f.mail.read_range(&f.alice, "INBOX", 1, edge.start as u64..edge.end as u64).await.unwrap();
    assert_eq!(got, body[edge]);
    assert!(f.mail.check().await.unwrap().is_empty());
}

#[tokio::test]
async fn uidvalidity_is_new_when_a_name_is_created_again_and_uids_are_never_reused() {
    let f = fixture();
    let first = f.mail.create_mailbox(&f.alice, "Work/2024", None).await.unwrap();
    assert!(matches!(f.mail.create_mailbox(&f.alice, "Work/2024", None).await, Err(StoreError::Exists(_))));
    f.mail.append(&f.alice, "Work/2024", message(corpus::SIMPLE)).await.unwrap();
    f.mail.delete_mailbox(&f.alice, "Work/2024").await.unwrap();
    let second = f.mail.create_mailbox(&f.alice, "Work/2024", None).await.unwrap();
    assert!(second.uid_validity > first.uid_validity);
    assert_eq!(second.uid_next, 1);
    // Within one UIDVALIDITY an expunged UID is never handed out again.
    let deleted = Flags::new().with(SystemFlag::Deleted);
    let a = f.mail.append(&f.alice, "INBOX", NewMessage { flags: deleted, ..message(b"a") }).await.unwrap();
    assert_eq!(f.mail.expunge(&f.alice, "INBOX", UidSet::all()).await.unwrap(), [a.uid]);
    let b = f.mail.append(&f.alice, "INBOX", message(b"b")).await.unwrap();
    assert_eq!((b.uid, b.uid_validity), (a.uid + 1, a.uid_validity));
    assert!(matches!(f.mail.delete_mailbox(&f.alice, "INBOX").await, Err(StoreError::Invalid(_))));
    assert!(matches!(f.mail.create_mailbox(&f.alice, "a//b", None).await, Err(StoreError::Invalid(_))));
}

#[tokio::test]
async fn rename_moves_inferiors_and_renaming_inbox_leaves_it_empty() {
    let f = fixture();
    for name in ["Lists", "Lists/rust", "Lists/rust/announce", "Listsx"] {
        f.mail.create_mailbox(&f.alice, name, None).await.unwrap();
    }
    f.mail.append(&f.alice, "Lists/rust", message(corpus::SIMPLE)).await.unwrap();
    f.mail.rename_mailbox(&f.alice, "Lists", "Groups").await.unwrap();
    let names: Vec<String> = f.mail.list_mailboxes(&f.alice).await.unwrap().into_iter().map(|b| b.name).collect();
    assert!(names.contains(&"Groups/rust/announce".to_string()) && names.contains(&"Listsx".to_string()));
    assert!(!names.iter().any(|n| n.starts_with("Lists/") || n == "Lists"));
    assert_eq!(f.mail.read_message(&f.alice, "Groups/rust", 1).await.unwrap(), corpus::SIMPLE);

    let before = f.mail.mailbox(&f.alice, "INBOX").await.unwrap();
    f.mail.append(&f.alice, "INBOX", message(corpus::NESTED)).await.unwrap();
    f.mail.rename_mailbox(&f.alice, "INBOX", "Old-Inbox").await.unwrap();
    let old = f.mail.status(&f.alice, "Old-Inbox").await.unwrap();
    assert_eq!((old.messages, old.uid_validity), (1, before.uid_validity));
    let inbox = f.mail.status(&f.alice, "INBOX").await.unwrap();
    assert_eq!((inbox.messages, inbox.uid_next), (0, 1));
    assert_ne!(inbox.uid_validity, before.uid_validity);
    assert!(matches!(f.mail.rename_mailbox(&f.alice, "Old-Inbox", "Groups").await, Err(StoreError::Exists(_))));
    assert!(matches!(f.mail.rename_mailbox(&f.alice, "Groups", "Groups/sub").await, Err(StoreError::Invalid(_))));
    // Missing superiors are created on CREATE and RENAME.
    f.mail.create_mailbox(&f.alice, "A/B/C", None).await.unwrap();
    f.mail.rename_mailbox(&f.alice, "Old-Inbox", "X/Y/Old").await.unwrap();
    for name in ["A", "A/B", "X", "X/Y"] {
        f.mail.mailbox(&f.alice, name).await.unwrap();
    }
    assert_eq!(f.mail.status(&f.alice, "X/Y/Old").await.unwrap().messages, 1);
    assert!(f.mail.check().await.unwrap().is_empty());
}

#[tokio::test]
async fn flags_condstore_status_and_changes() {
    let f = fixture();
    for _ in 0..3 {
        f.mail.append(&f.alice, "INBOX", message(corpus::SIMPLE)).await.unwrap();
    }
    let start = f.mail.status(&f.alice, "INBOX").await.unwrap();
    assert_eq!((start.messages, start.unseen, start.uid_next), (3, 3, 4));
    assert_eq!(start.size, 3 * corpus::SIMPLE.len() as u64);
    let seen = Flags::new().with(SystemFlag::Seen).with_keyword("$Forwarded");
    let up = f.mail.store_flags(&f.alice, "INBOX", UidSet::range(1..=2), FlagOp::Add, seen, None).await.unwrap();
    assert_eq!(up.updated.len(), 2);
    assert!(up.updated[0].2.contains(SystemFlag::Seen) && up.updated[0].2.has_keyword("$Forwarded"));
    let after = f.mail.status(&f.alice, "INBOX").await.unwrap();
    assert_eq!(after.unseen, 1);
    assert_eq!(after.highest_modseq, up.updated[1].1);
    // UNCHANGEDSINCE below message 1's MODSEQ: it is reported, message 3 is updated.
    let flagged = Flags::new().with(SystemFlag::Flagged);
    let cond = f
        .mail
        .store_flags(&f.alice, "INBOX", UidSet::from_uids(&[1, 3]), FlagOp::Add, flagged, Some(start.highest_modseq))
        .await
        .unwrap();
    assert_eq!(cond.modified, [1]);
    assert_eq!(cond.updated.iter().map(|u| u.0).collect::<Vec<_>>(), [3]);
    let changes = f.mail.changes_since(&f.alice, "INBOX", start.highest_modseq).await.unwrap().changes;
    let got: Vec<(u32, ChangeKind)> = changes.iter().map(|c| (c.uid, c.kind)).collect();
    assert_eq!(got, [(1, ChangeKind::Flags), (2, ChangeKind::Flags), (3, ChangeKind::Flags)]);
    assert!(changes.windows(2).all(|w| w[0].modseq < w[1].modseq));
    let removed = Flags::new().with(SystemFlag::Seen);
    f.mail.store_flags(&f.alice, "INBOX", UidSet::all(), FlagOp::Remove, removed, None).await.unwrap();
    let summaries = f.mail.fetch_summaries(&f.alice, "INBOX", UidSet::all()).await.unwrap();
    assert!(summaries.iter().all(|s| !s.flags.contains(SystemFlag::Seen)));
    assert_eq!(f.mail.status(&f.alice, "INBOX").await.unwrap().unseen, 3);
    assert!(f.mail.check().await.unwrap().is_empty());
}

#[tokio::test]
async fn expunge_copy_and_move() {
    let f = fixture();
    for _ in 0..4 {
        f.mail.append(&f.alice, "INBOX", message(corpus::SIMPLE)).await.unwrap();
    }
    let deleted = Flags::new().with(SystemFlag::Deleted);
    f.mail.store_flags(&f.alice, "INBOX", UidSet::from_uids(&[2, 3]), FlagOp::Add, deleted, None).await.unwrap();
    // Only \Deleted messages inside the set go.
    assert_eq!(f.mail.expunge(&f.alice, "INBOX", UidSet::range(3..=4)).await.unwrap(), [3]);
    let copied = f.mail.copy(&f.alice, "INBOX", UidSet::all(), "Archive").await.unwrap();
    assert_eq!(copied.uids, [(1, 1), (2, 2), (4, 3)]);
    assert_eq!(copied.uid_validity, f.mail.mailbox(&f.alice, "Archive").await.unwrap().uid_validity);
    let moved = f.mail.move_messages(&f.alice, "Archive", UidSet::from_uids(&[1, 3]), "Trash").await.unwrap();
    assert_eq!(moved.uids, [(1, 1), (3, 2)]);
    let archive = f.mail.fetch_summaries(&f.alice, "Archive", UidSet::all()).await.unwrap();
    assert_eq!(archive.iter().map(|s| s.uid).collect::<Vec<_>>(), [2]);
    assert!(archive[0].flags.contains(SystemFlag::Deleted), "copies keep their flags");
    let changes = f.mail.changes_since(&f.alice, "Archive", 0).await.unwrap().changes;
    assert_eq!(changes.iter().filter(|c| c.kind == ChangeKind::Expunge).count(), 2);
    // Moving into the same mailbox renumbers the messages.
    let renumbered = f.mail.move_messages(&f.alice, "Trash", UidSet::all(), "Trash").await.unwrap();
    assert_eq!(renumbered.uids, [(1, 3), (2, 4)]);
    let trash = f.mail.fetch_summaries(&f.alice, "Trash", UidSet::all()).await.unwrap();
    assert_eq!(trash.iter().map(|s| s.uid).collect::<Vec<_>>(), [3, 4]);
    assert!(matches!(f.mail.copy(&f.alice, "INBOX", UidSet::all(), "Nope").await, Err(StoreError::NotFound(_))));
    assert!(f.mail.check().await.unwrap().is_empty());
}

#[tokio::test]
async fn append_all_stores_every_message_in_one_commit_or_none() {
    let f = fixture();
    f.mail.append(&f.alice, "INBOX", message(corpus::SIMPLE)).await.unwrap();
    let seen = Flags::new().with(SystemFlag::Seen);
    let batch = vec![
        NewMessage { flags: seen.clone(), ..message(corpus::SIMPLE) },
        message(corpus::NESTED),
        NewMessage { internal_date: 1_600_000_000, ..message(b"Subject: third\r\n\r\nx\r\n") },
    ];
    let appended = f.mail.append_all(&f.alice, "inbox", batch).await.unwrap();
    assert_eq!(appended.iter().map(|a| a.uid).collect::<Vec<_>>(), [2, 3, 4]);
    assert!(appended.windows(2).all(|w| w[0].modseq < w[1].modseq));
    let validity = f.mail.mailbox(&f.alice, "INBOX").await.unwrap().uid_validity;
    assert!(appended.iter().all(|a| a.uid_validity == validity));
    let summaries = f.mail.fetch_summaries(&f.alice, "INBOX", UidSet::range(2..=4)).await.unwrap();
    assert!(summaries[0].flags.contains(SystemFlag::Seen) && !summaries[1].flags.contains(SystemFlag::Seen));
    assert_eq!(summaries[2].internal_date, 1_600_000_000);
    assert_eq!(f.mail.read_message(&f.alice, "INBOX", 3).await.unwrap(), corpus::NESTED);
    let status = f.mail.status(&f.alice, "INBOX").await.unwrap();
    assert_eq!((status.messages, status.uid_next), (4, 5));

    // One message too large, or a mailbox that does not exist: nothing is stored.
    let too_large = vec![message(corpus::SIMPLE), message(&vec![b'a'; MAX_MESSAGE_BYTES + 1])];
    assert!(matches!(f.mail.append_all(&f.alice, "INBOX", too_large).await, Err(StoreError::Invalid(_))));
    let nowhere = vec![message(corpus::SIMPLE), message(corpus::SIMPLE)];
    assert!(matches!(f.mail.append_all(&f.alice, "Nope", nowhere).await, Err(StoreError::NotFound(_))));
    assert!(matches!(f.mail.append_all(&f.alice, "INBOX", Vec::new()).await, Err(StoreError::Invalid(_))));
    let status = f.mail.status(&f.alice, "INBOX").await.unwrap();
    assert_eq!((status.messages, status.uid_next), (4, 5));
    assert!(f.mail.check().await.unwrap().is_empty());
}

#[tokio::test]
async fn recent_claims_go_with_their_mailbox() {
    let f = fixture();
    for name in ["Lists", "Lists/rust", "Listsx", "Gone"] {
        let info = f.mail.create_mailbox(&f.alice, name, None).await.unwrap();
        f.mail.claim_recent(&f.alice, name, info.uid_validity, 5);
    }
    assert_eq!(f.store.recent_claims().len(), 4);
    f.mail.delete_mailbox(&f.alice, "Gone").await.unwrap();
    assert_eq!(f.store.recent_claims().len(), 3, "a deleted mailbox's claims are dropped");
    f.mail.rename_mailbox(&f.alice, "Lists", "Groups").await.unwrap();
    assert_eq!(f.store.recent_claims().len(), 1, "the renamed mailbox and its inferiors, not Listsx");
    let info = f.mail.mailbox(&f.alice, "Listsx").await.unwrap();
    assert_eq!(f.mail.recent_claimed(&f.alice, "Listsx", info.uid_validity), 5);
}
