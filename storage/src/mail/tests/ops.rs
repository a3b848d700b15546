//! check(), backup() and the outbound queue.
use super::{corpus, fixture, message};
use crate::mail::*;
use crate::Store;

#[tokio::test]
async fn check_is_clean_when_healthy_and_names_the_message_whose_body_is_gone() {
    let f = fixture();
    assert_eq!(f.mail.check().await.unwrap(), Vec::<String>::new());
    f.mail
        .append(&f.alice, "INBOX", message(corpus::SIMPLE))
        .await
        .unwrap();
    f.mail
        .append(&f.alice, "Drafts", message(corpus::NESTED))
        .await
        .unwrap();
    f.mail
        .append(&f.alice, "Drafts", message(corpus::BINARY))
        .await
        .unwrap();
    assert_eq!(f.mail.check().await.unwrap(), Vec::<String>::new());
    let body = f
        .mail
        .delete_body_for_test(&f.alice, "Drafts", 2)
        .await
        .unwrap();
    let problems = f.mail.check().await.unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("alice@example.test Drafts UID 2")
                && p.contains(&format!("body {body} is missing"))),
        "{problems:#?}"
    );
    // Reading the damaged message fails cleanly.
    assert!(f
        .mail
        .fetch_meta(&f.alice, "Drafts", UidSet::all())
        .await
        .is_err());
}

#[tokio::test]
async fn backup_opens_and_passes_check() {
    let f = fixture();
    for raw in corpus::ALL {
        f.mail.append(&f.bob, "INBOX", message(raw)).await.unwrap();
    }
    f.mail
        .enqueue(
            "bob@example.test",
            vec!["r@remote.test".into()],
            corpus::SIMPLE.to_vec(),
            5,
        )
        .await
        .unwrap();
    let target = f.dir.path().join("backup");
    f.mail.backup(target.clone()).await.unwrap();
    assert!(
        f.mail.backup(target.clone()).await.is_err(),
        "never overwrites"
    );
    let copy = Store::open(&target).unwrap();
    let mail = copy.mail();
    assert_eq!(mail.check().await.unwrap(), Vec::<String>::new());
    assert_eq!(
        mail.status(&f.bob, "INBOX").await.unwrap().messages,
        corpus::ALL.len() as u32
    );
    assert_eq!(
        mail.read_message(&f.bob, "INBOX", 2).await.unwrap(),
        corpus::NESTED
    );
    assert_eq!(mail.queue_list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn outbound_queue_enqueue_list_show_due_reschedule_delete() {
    let f = fixture();
    let big: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    let a = f
        .mail
        .enqueue(
            "a@example.test",
            vec!["x@r.test".into(), "y@r.test".into()],
            big.clone(),
            100,
        )
        .await
        .unwrap();
    let b = f
        .mail
        .enqueue("", vec!["z@r.test".into()], b"bounce".to_vec(), 50)
        .await
        .unwrap();
    assert!(f
        .mail
        .enqueue("a@example.test", vec![], b"x".to_vec(), 1)
        .await
        .is_err());
    assert_eq!(
        f.mail
            .queue_list()
            .await
            .unwrap()
            .iter()
            .map(|q| q.id)
            .collect::<Vec<_>>(),
        [a, b]
    );
    assert_eq!(f.mail.queue_message(a).await.unwrap(), big);
    let due: Vec<u64> = f
        .mail
        .queue_due(100, 10)
        .await
        .unwrap()
        .iter()
        .map(|q| q.id)
        .collect();
    assert_eq!(due, [b, a], "earliest first");
    assert_eq!(f.mail.queue_due(99, 10).await.unwrap().len(), 1);
    f.mail
        .queue_reschedule(a, vec!["y@r.test".into()], 500)
        .await
        .unwrap();
    let shown = f.mail.queue_show(a).await.unwrap();
    assert_eq!(
        (shown.recipients.as_slice(), shown.due, shown.attempts),
        (["y@r.test".to_string()].as_slice(), 500, 1)
    );
    assert_eq!(f.mail.queue_due(100, 10).await.unwrap().len(), 1);
    assert!(f.mail.check().await.unwrap().is_empty());
    f.mail.queue_delete(a).await.unwrap();
    assert!(f.mail.queue_show(a).await.is_err());
    assert!(f.mail.queue_message(a).await.is_err());
    assert_eq!(f.mail.queue_list().await.unwrap().len(), 1);
    assert!(f.mail.check().await.unwrap().is_empty());
}
