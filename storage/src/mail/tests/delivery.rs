//! Delivery to many recipients and the change notices an IDLE session waits for.
use super::{corpus, fixture, message};
use crate::mail::*;
use crate::StoreError;

#[tokio::test]
async fn delivery_stores_one_body_and_answers_per_recipient() {
    let f = fixture();
    let ghost = crate::Address::parse("ghost@example.test").unwrap();
    let recipients = [&f.alice, &ghost, &f.bob]
        .into_iter()
        .map(|a| Recipient { account: a.clone(), prefix: format!("Delivered-To: {a}\r\n").into_bytes() })
        .collect();
    let results = f.mail.deliver(corpus::NESTED.to_vec(), recipients, 1_700_000_000).await.unwrap();
    assert!(results[0].is_ok() && results[2].is_ok());
    assert!(matches!(results[1], Err(StoreError::NotFound(_))));
    assert_eq!(f.mail.body_stats_for_test().await.unwrap(), (1, 2));
    let bob = f.mail.read_message(&f.bob, "INBOX", 1).await.unwrap();
    assert_eq!(bob, [b"Delivered-To: bob@example.test\r\n".as_slice(), corpus::NESTED].concat());
    // Nobody to deliver to: nothing stored.
    let only_ghost = vec![Recipient { account: ghost, prefix: Vec::new() }];
    let results = f.mail.deliver(b"x".to_vec(), only_ghost, 0).await.unwrap();
    assert!(results[0].is_err());
    assert_eq!(f.mail.body_stats_for_test().await.unwrap(), (1, 2));
}

#[test]
fn an_idle_watcher_on_another_thread_hears_a_delivery() {
    let f = fixture();
    let mut watch = f.mail.watch(&f.alice);
    let mail = f.mail.clone();
    let alice = f.alice.clone();
    let bob = f.bob.clone();
    let deliverer = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            mail.append(&bob, "INBOX", message(b"for bob")).await.unwrap();
            let r = vec![Recipient { account: alice, prefix: Vec::new() }];
            mail.deliver(corpus::SIMPLE.to_vec(), r, 0).await.unwrap();
        })
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let event = rt.block_on(async { tokio::time::timeout(std::time::Duration::from_secs(10), watch.next()).await });
    deliverer.join().unwrap();
    match event {
        Ok(Some(WatchEvent::Changed(n))) => {
            assert_eq!((n.account, n.mailbox.as_str()), (f.alice.clone(), "INBOX"));
            assert!(n.highest_modseq > 0);
        }
        other => panic!("expected alice's INBOX change, got {other:?}"),
    }
}

#[tokio::test]
async fn recipients_are_local_unknown_or_remote_and_postmaster_is_found() {
    let f = fixture();
    let kind = |a: &str| {
        let (mail, a) = (f.mail.clone(), crate::Address::parse(a).unwrap());
        async move { mail.recipient_kind(&a).await.unwrap() }
    };
    assert_eq!(kind("ALICE@example.test").await, RecipientKind::Local);
    assert_eq!(kind("ghost@example.test").await, RecipientKind::UnknownLocal);
    assert_eq!(kind("carol@remote.example").await, RecipientKind::Remote);
    assert_eq!(f.mail.postmaster().await.unwrap(), None);
    let postmaster = crate::Address::parse("postmaster@example.test").unwrap();
    f.store.add_account(&postmaster, "h").unwrap();
    assert_eq!(f.mail.postmaster().await.unwrap(), Some(postmaster));
}

#[tokio::test]
async fn try_next_takes_the_changes_already_queued_and_never_waits() {
    let f = fixture();
    let mut watch = f.mail.watch(&f.alice);
    assert_eq!(watch.try_next(), Ok(None));
    // Another account's change is skipped; the replies come after the notices.
    f.mail.append(&f.bob, "INBOX", message(b"for bob")).await.unwrap();
    assert_eq!(watch.try_next(), Ok(None));
    f.mail.append(&f.alice, "INBOX", message(b"one")).await.unwrap();
    f.mail.append(&f.alice, "INBOX", message(b"two")).await.unwrap();
    for _ in 0..2 {
        match watch.try_next() {
            Ok(Some(WatchEvent::Changed(n))) => assert_eq!((n.account, n.mailbox.as_str()), (f.alice.clone(), "INBOX")),
            other => panic!("expected alice's INBOX change, got {other:?}"),
        }
    }
    assert_eq!(watch.try_next(), Ok(None));
}
