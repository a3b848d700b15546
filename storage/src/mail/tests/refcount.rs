//! Body reference counting across delivery, copy, move, expunge, mailbox and account deletion.
use super::{corpus, fixture, message};
use crate::mail::*;

#[tokio::test]
async fn bodies_live_exactly_as_long_as_some_message_uses_them() {
    let f = fixture();
    let carol = crate::Address::parse("carol@example.test").unwrap();
    f.store.add_account(&carol, "h").unwrap();
    let recipients = [&f.alice, &f.bob, &carol]
        .into_iter()
        .map(|a| Recipient { account: a.clone(), prefix: b"Received: by test\r\n".to_vec() })
        .collect();
    f.mail.deliver(corpus::NESTED.to_vec(), recipients, 0).await.unwrap();
    assert_eq!(f.mail.body_stats_for_test().await.unwrap(), (1, 3), "one body, three references");

    // Copy adds references, move keeps the count (one added, one dropped).
    f.mail.copy(&f.alice, "INBOX", UidSet::all(), "Archive").await.unwrap();
    f.mail.copy(&f.alice, "Archive", UidSet::all(), "Archive").await.unwrap();
    assert_eq!(f.mail.body_stats_for_test().await.unwrap(), (1, 5));
    f.mail.move_messages(&f.alice, "Archive", UidSet::range(1..=1), "Trash").await.unwrap();
    assert_eq!(f.mail.body_stats_for_test().await.unwrap(), (1, 5));
    assert!(f.mail.check().await.unwrap().is_empty());

    // Expunge drops one reference per message.
    let deleted = Flags::new().with(SystemFlag::Deleted);
    f.mail.store_flags(&f.alice, "INBOX", UidSet::all(), FlagOp::Add, deleted.clone(), None).await.unwrap();
    f.mail.expunge(&f.alice, "INBOX", UidSet::all()).await.unwrap();
    assert_eq!(f.mail.body_stats_for_test().await.unwrap(), (1, 4));

    // Deleting a mailbox and an account drop theirs.
    f.mail.delete_mailbox(&f.alice, "Trash").await.unwrap();
    f.mail.delete_mailbox(&f.alice, "Archive").await.unwrap();
    assert_eq!(f.mail.body_stats_for_test().await.unwrap(), (1, 2));
    f.store.remove_account(&carol).unwrap();
    assert_eq!(f.mail.body_stats_for_test().await.unwrap(), (1, 1));
    assert_eq!(f.mail.read_message(&f.bob, "INBOX", 1).await.unwrap().len(), 19 + corpus::NESTED.len());
    assert!(f.mail.check().await.unwrap().is_empty());

    // The last reference frees the body and its chunks.
    f.mail.store_flags(&f.bob, "INBOX", UidSet::all(), FlagOp::Add, deleted, None).await.unwrap();
    f.mail.expunge(&f.bob, "INBOX", UidSet::all()).await.unwrap();
    assert_eq!(f.mail.body_stats_for_test().await.unwrap(), (0, 0));
    assert!(f.mail.check().await.unwrap().is_empty());
}

#[tokio::test]
async fn removing_an_account_removes_its_mail_and_a_new_one_starts_fresh() {
    let f = fixture();
    f.mail.append(&f.alice, "INBOX", message(corpus::SIMPLE)).await.unwrap();
    f.mail.create_mailbox(&f.alice, "Private", None).await.unwrap();
    f.store.remove_account(&f.alice).unwrap();
    assert_eq!(f.mail.body_stats_for_test().await.unwrap(), (0, 0));
    assert!(f.mail.status(&f.alice, "INBOX").await.is_err());
    f.store.add_account(&f.alice, "h").unwrap();
    let boxes = f.mail.list_mailboxes(&f.alice).await.unwrap();
    assert_eq!(boxes.len(), 6);
    assert_eq!(f.mail.status(&f.alice, "INBOX").await.unwrap().messages, 0);
    assert!(f.mail.check().await.unwrap().is_empty());
}
