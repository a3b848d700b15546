//! check(), backup() and the outbound queue.
use super::{corpus, fixture, message, Fixture};
use crate::mail::*;
use crate::Store;

#[tokio::test]
async fn check_is_clean_when_healthy_and_names_the_message_whose_body_is_gone() {
    let f = fixture();
    assert_eq!(f.mail.check().await.unwrap(), Vec::<String>::new());
    f.mail.append(&f.alice, "INBOX", message(corpus::SIMPLE)).await.unwrap();
    f.mail.append(&f.alice, "Drafts", message(corpus::NESTED)).await.unwrap();
    f.mail.append(&f.alice, "Drafts", message(corpus::BINARY)).await.unwrap();
    assert_eq!(f.mail.check().await.unwrap(), Vec::<String>::new());
    let body = f.mail.delete_body_for_test(&f.alice, "Drafts", 2).await.unwrap();
    let problems = f.mail.check().await.unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("alice@example.test Drafts UID 2") && p.contains(&format!("body {body} is missing"))),
        "{problems:#?}"
    );
    // Reading the damaged message fails cleanly.
    assert!(f.mail.fetch_meta(&f.alice, "Drafts", UidSet::all()).await.is_err());
}

#[tokio::test]
async fn backup_opens_and_passes_check() {
    let f = fixture();
    for raw in corpus::ALL {
        f.mail.append(&f.bob, "INBOX", message(raw)).await.unwrap();
    }
    f.mail
        .enqueue(vec![queued("bob@example.test", &["r@remote.test"], corpus::SIMPLE, 5, Route::Remote)])
        .await
        .unwrap();
    let target = f.dir.path().join("backup");
    f.mail.backup(target.clone()).await.unwrap();
    assert!(f.mail.backup(target.clone()).await.is_err(), "never overwrites");
    let copy = Store::open(&target).unwrap();
    let mail = copy.mail();
    assert_eq!(mail.check().await.unwrap(), Vec::<String>::new());
    assert_eq!(mail.status(&f.bob, "INBOX").await.unwrap().messages, corpus::ALL.len() as u32);
    assert_eq!(mail.read_message(&f.bob, "INBOX", 2).await.unwrap(), corpus::NESTED);
    assert_eq!(mail.queue_list().await.unwrap().len(), 1);
}

fn queued(sender: &str, recipients: &[&str], message: &[u8], due: u64, route: Route) -> NewQueued {
    NewQueued {
        sender: sender.into(),
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        message: message.to_vec(),
        due,
        route,
        reason: String::new(),
    }
}

#[tokio::test]
async fn outbound_queue_enqueue_list_show_due_reschedule_delete() {
    let f = fixture();
    let big: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    let ids = f
        .mail
        .enqueue(vec![
            queued("a@example.test", &["x@r.test", "y@r.test"], &big, 100, Route::Remote),
            queued("", &["z@r.test"], b"bounce", 50, Route::Remote),
        ])
        .await
        .unwrap();
    let [a, b] = ids[..] else { panic!("two ids: {ids:?}") };
    assert!(f.mail.enqueue(vec![queued("a@example.test", &[], b"x", 1, Route::Remote)]).await.is_err());
    assert_eq!(f.mail.queue_list().await.unwrap().iter().map(|q| q.id).collect::<Vec<_>>(), [a, b]);
    assert_eq!(f.mail.queue_message(a).await.unwrap(), big);
    let due: Vec<u64> = f.mail.queue_due(Route::Remote, 100, 10).await.unwrap().iter().map(|q| q.id).collect();
    assert_eq!(due, [b, a], "earliest first");
    assert_eq!(f.mail.queue_due(Route::Remote, 99, 10).await.unwrap().len(), 1);
    assert!(f.mail.queue_due(Route::Local, 1000, 10).await.unwrap().is_empty(), "routes have their own index");
    f.mail.queue_reschedule(a, vec!["y@r.test".into()], 500, "451 4.3.0 later".into()).await.unwrap();
    let shown = f.mail.queue_show(a).await.unwrap();
    assert_eq!((shown.recipients.as_slice(), shown.due, shown.attempts), (["y@r.test".to_string()].as_slice(), 500, 1));
    assert_eq!((shown.route, shown.last_error.as_str()), (Route::Remote, "451 4.3.0 later"));
    assert!(f.mail.queue_reschedule(a, vec![], 600, String::new()).await.is_err(), "nobody left: delete instead");
    assert_eq!(f.mail.queue_due(Route::Remote, 100, 10).await.unwrap().len(), 1);
    assert!(f.mail.check().await.unwrap().is_empty());
    f.mail.queue_delete(a).await.unwrap();
    assert!(f.mail.queue_show(a).await.is_err());
    assert!(f.mail.queue_message(a).await.is_err());
    assert_eq!(f.mail.queue_list().await.unwrap().len(), 1);
    assert!(f.mail.check().await.unwrap().is_empty());
}

#[tokio::test]
async fn local_retries_have_their_own_due_index_and_ids_keep_counting() {
    let f = fixture();
    let ids = f
        .mail
        .enqueue(vec![
            queued("a@example.test", &["bob@example.test"], b"retry me", 10, Route::Local),
            queued("a@example.test", &["x@r.test"], b"send me", 10, Route::Remote),
        ])
        .await
        .unwrap();
    let local = f.mail.queue_due(Route::Local, 10, 10).await.unwrap();
    assert_eq!(local.iter().map(|q| (q.id, q.route)).collect::<Vec<_>>(), [(ids[0], Route::Local)]);
    f.mail.queue_delete(ids[0]).await.unwrap();
    let next = f.mail.enqueue(vec![queued("", &["a@example.test"], b"x", 1, Route::Local)]).await.unwrap();
    assert!(next[0] > ids[1], "ids are never reused: {next:?} after {ids:?}");
    assert!(f.mail.check().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_commit_is_unavailable_leaves_nothing_behind_and_the_writer_carries_on() {
    let f = fixture();
    f.mail.append(&f.alice, "INBOX", message(corpus::SIMPLE)).await.unwrap();
    let backend = f.store.backend_for_test();
    backend.fail_writes.store(true, std::sync::atomic::Ordering::SeqCst);
    let err = f.mail.append(&f.alice, "INBOX", message(corpus::NESTED)).await.unwrap_err();
    assert!(matches!(err, crate::StoreError::Unavailable(ref m) if m.contains("No space left")), "{err}");
    assert!(matches!(f.mail.create_mailbox(&f.alice, "X", None).await, Err(crate::StoreError::Unavailable(_))));
    backend.fail_writes.store(false, std::sync::atomic::Ordering::SeqCst);
    // Nothing of the failed group reached the disk, and the UID it would have used is still free
    // (it was never acknowledged).
    let status = f.mail.status(&f.alice, "INBOX").await.unwrap();
    assert_eq!((status.messages, status.uid_next), (1, 2));
    assert!(f.mail.mailbox(&f.alice, "X").await.is_err());
    let next = f.mail.append(&f.alice, "INBOX", message(corpus::NESTED)).await.unwrap();
    assert_eq!(next.uid, 2);
    assert_eq!(f.mail.check().await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn messages_above_the_size_limit_are_refused_before_parsing() {
    let f = fixture();
    let huge = vec![b'a'; MAX_MESSAGE_BYTES + 1];
    let err = f.mail.append(&f.alice, "INBOX", message(&huge)).await.unwrap_err();
    assert!(matches!(err, crate::StoreError::Invalid(_)), "{err}");
    let r = vec![Recipient { account: f.alice.clone(), prefix: Vec::new() }];
    assert!(matches!(f.mail.deliver(huge, r, 0).await, Err(crate::StoreError::Invalid(_))));
}

#[tokio::test]
async fn a_version_1_store_is_upgraded_with_default_mailboxes() {
    let f = fixture();
    let path = f.store.path().to_path_buf();
    // Make it look like a version 1 store: no mail state for alice, schema version 1.
    f.mail.create_mailbox(&f.alice, "Keep", None).await.unwrap();
    {
        use crate::mail::txn::Cf;
        let account = f.alice.clone();
        f.store
            .engine()
            .write_blocking(move |t| {
                for (k, _) in t.scan_prefix(Cf::Mailboxes, &crate::mail::record::account_prefix(account.as_str()))? {
                    t.delete(Cf::Mailboxes, k);
                }
                t.delete(Cf::AccountState, crate::mail::record::account_prefix(account.as_str()));
                t.put(Cf::Meta, b"schema_version".to_vec(), 1u32.to_be_bytes().to_vec());
                Ok(())
            })
            .unwrap();
    }
    let Fixture { store, mail, dir, alice, .. } = f;
    drop(mail);
    drop(store);
    let store = Store::open(&path).unwrap();
    let mail = store.mail();
    assert_eq!(mail.list_mailboxes(&alice).await.unwrap().len(), 6);
    assert_eq!(mail.check().await.unwrap(), Vec::<String>::new());
    drop(dir);
}
