//! The per-account usage counter: kept in step by every write that adds or removes messages,
//! computed for state records written before it existed, and recomputed by `check`.
use super::{fixture, message, Fixture};
use crate::mail::record::{account_prefix, AccountState, Enc};
use crate::mail::txn::Cf;
use crate::mail::*;
use crate::{Address, Store, StoreError};

/// 17 bytes.
const SEVENTEEN: &[u8] = b"Subject: a\r\n\r\nx\r\n";
/// 30 bytes.
const THIRTY: &[u8] = b"Subject: bb\r\n\r\n0123456789abc\r\n";

fn usage(bytes: u64, messages: u64) -> Usage {
    Usage { bytes, messages }
}

fn deleted() -> Flags {
    Flags::new().with(SystemFlag::Deleted)
}

#[tokio::test]
async fn append_multiappend_copy_move_and_expunge_keep_the_counter_exact() {
    let f = fixture();
    assert_eq!((SEVENTEEN.len(), THIRTY.len()), (17, 30));
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(0, 0));
    // The per-copy prefix counts: 8 + 17 bytes.
    let first = NewMessage { prefix: b"X-P: 1\r\n".to_vec(), ..message(SEVENTEEN) };
    f.mail.append(&f.alice, "INBOX", first).await.unwrap();
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(25, 1));
    f.mail.append_all(&f.alice, "Drafts", vec![message(SEVENTEEN), message(THIRTY)]).await.unwrap();
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(72, 3));
    // A copy counts again, though it shares the stored body.
    f.mail.copy(&f.alice, "INBOX", UidSet::all(), "Archive").await.unwrap();
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(97, 4));
    // A move within the account changes nothing, also into the same mailbox.
    f.mail.move_messages(&f.alice, "Drafts", UidSet::all(), "Trash").await.unwrap();
    f.mail.move_messages(&f.alice, "Trash", UidSet::range(2..=2), "Trash").await.unwrap();
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(97, 4));
    // Expunge takes out only what it removes: the 30-byte message, now Trash UID 3.
    assert!(f.mail.expunge(&f.alice, "Trash", UidSet::all()).await.unwrap().is_empty());
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(97, 4));
    f.mail.store_flags(&f.alice, "Trash", UidSet::range(3..=3), FlagOp::Add, deleted(), None).await.unwrap();
    assert_eq!(f.mail.expunge(&f.alice, "Trash", UidSet::all()).await.unwrap(), [3]);
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(67, 3));
    // A failed request counts nothing.
    assert!(f.mail.copy(&f.alice, "INBOX", UidSet::all(), "Nowhere").await.is_err());
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(67, 3));
    assert_eq!(f.mail.usage(&f.bob).await.unwrap(), usage(0, 0));
    assert_eq!(f.mail.check().await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn a_delivery_counts_each_recipients_copy_with_its_own_prefix() {
    let f = fixture();
    let ghost = Address::parse("ghost@example.test").unwrap();
    let recipient = |account: &Address, prefix: &[u8]| Recipient { account: account.clone(), prefix: prefix.to_vec() };
    let recipients = vec![
        recipient(&f.alice, b"A: 1\r\n"),
        recipient(&ghost, b""),
        recipient(&f.bob, b"B: 123\r\n"),
        recipient(&f.alice, b""),
    ];
    let results = f.mail.deliver(THIRTY.to_vec(), recipients, 1_700_000_000).await.unwrap();
    assert!(results[0].is_ok() && results[1].is_err() && results[2].is_ok() && results[3].is_ok(), "{results:?}");
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(36 + 30, 2));
    assert_eq!(f.mail.usage(&f.bob).await.unwrap(), usage(38, 1));
    assert!(matches!(f.mail.usage(&ghost).await, Err(StoreError::NotFound(_))));
    assert_eq!(f.mail.check().await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn deleting_a_mailbox_counts_out_its_messages_and_renaming_inbox_changes_nothing() {
    let f = fixture();
    f.mail.create_mailbox(&f.alice, "Projects/Sub", None).await.unwrap();
    f.mail.append_all(&f.alice, "Projects", vec![message(SEVENTEEN), message(THIRTY)]).await.unwrap();
    f.mail.append(&f.alice, "Projects/Sub", message(THIRTY)).await.unwrap();
    f.mail.append(&f.alice, "INBOX", message(SEVENTEEN)).await.unwrap();
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(94, 4));
    // Its inferior stays, with its message.
    f.mail.delete_mailbox(&f.alice, "Projects").await.unwrap();
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(47, 2));
    // Renaming INBOX moves its messages into the new name: still the account's.
    f.mail.rename_mailbox(&f.alice, "INBOX", "Old").await.unwrap();
    assert_eq!(f.mail.status(&f.alice, "Old").await.unwrap().messages, 1);
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(47, 2));
    f.mail.rename_mailbox(&f.alice, "Projects/Sub", "Done").await.unwrap();
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(47, 2));
    f.mail.delete_mailbox(&f.alice, "Old").await.unwrap();
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(30, 1));
    assert_eq!(f.mail.check().await.unwrap(), Vec::<String>::new());
    // A deleted account's counter goes with it; a new account of that name starts at 0.
    f.mail.append(&f.bob, "INBOX", message(SEVENTEEN)).await.unwrap();
    f.store.remove_account(&f.alice).unwrap();
    assert!(matches!(f.mail.usage(&f.alice).await, Err(StoreError::NotFound(_))));
    f.store.add_account(&f.alice, "h").unwrap();
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(0, 0));
    assert_eq!(f.mail.usage(&f.bob).await.unwrap(), usage(17, 1));
    assert_eq!(f.mail.check().await.unwrap(), Vec::<String>::new());
}

/// Replaces the account's state record with `bytes`.
fn put_state(store: &Store, account: &Address, bytes: Vec<u8>) {
    let key = account_prefix(account.as_str());
    store
        .engine()
        .write_blocking(move |t| {
            t.put(Cf::AccountState, key, bytes);
            Ok(())
        })
        .unwrap();
}

fn stored_state(store: &Store, account: &Address) -> AccountState {
    let key = account_prefix(account.as_str());
    store.engine().write_blocking(move |t| AccountState::decode(&t.get(Cf::AccountState, &key)?.unwrap())).unwrap()
}

#[tokio::test]
async fn a_state_record_from_before_the_counter_gets_it_from_the_messages() {
    let f = fixture();
    f.mail.append(&f.alice, "INBOX", message(SEVENTEEN)).await.unwrap();
    f.mail.append(&f.alice, "Archive", message(THIRTY)).await.unwrap();
    f.mail.copy(&f.alice, "Archive", UidSet::all(), "Sent").await.unwrap();
    // The record as the previous version wrote it: the three counters and nothing after them.
    let state = stored_state(&f.store, &f.alice);
    assert_eq!(state.usage, Some(usage(77, 3)));
    let old = Enc::new().u64(state.next_mailbox_id).u64(state.modseq).u32(state.last_uid_validity).done();
    put_state(&f.store, &f.alice, old);
    assert_eq!(stored_state(&f.store, &f.alice), AccountState { usage: None, ..state.clone() });
    // Not taken for 0: a read sums the messages, and writes meanwhile keep it unknown.
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(77, 3));
    f.mail.append(&f.alice, "INBOX", message(THIRTY)).await.unwrap();
    assert_eq!(stored_state(&f.store, &f.alice).usage, None);
    assert_eq!(f.mail.usage(&f.alice).await.unwrap(), usage(107, 4));
    assert_eq!(f.mail.check().await.unwrap(), Vec::<String>::new());
    // Opening the store writes the counter back; from then on it is kept in step.
    let Fixture { store, mail, dir, alice, bob } = f;
    let path = store.path().to_path_buf();
    drop((mail, store));
    let store = Store::open(&path).unwrap();
    let mail = store.mail();
    assert_eq!(stored_state(&store, &alice).usage, Some(usage(107, 4)));
    assert_eq!(stored_state(&store, &bob).usage, Some(usage(0, 0)));
    mail.store_flags(&alice, "Archive", UidSet::all(), FlagOp::Add, deleted(), None).await.unwrap();
    mail.expunge(&alice, "Archive", UidSet::all()).await.unwrap();
    assert_eq!(mail.usage(&alice).await.unwrap(), usage(77, 3));
    assert_eq!(stored_state(&store, &alice).usage, Some(usage(77, 3)));
    assert_eq!(mail.check().await.unwrap(), Vec::<String>::new());
    drop(dir);
}

#[tokio::test]
async fn check_reports_every_account_whose_counter_is_wrong() {
    let f = fixture();
    f.mail.append(&f.alice, "INBOX", message(SEVENTEEN)).await.unwrap();
    f.mail.append(&f.bob, "Drafts", message(THIRTY)).await.unwrap();
    assert_eq!(f.mail.check().await.unwrap(), Vec::<String>::new());
    for (account, wrong) in [(&f.alice, usage(12_345, 7)), (&f.bob, usage(30, 0))] {
        let state = AccountState { usage: Some(wrong), ..stored_state(&f.store, account) };
        put_state(&f.store, account, state.encode());
    }
    assert_eq!(
        f.mail.check().await.unwrap(),
        [
            "alice@example.test: usage counter says 7 messages, 12345 bytes; found 1, 17",
            "bob@example.test: usage counter says 0 messages, 30 bytes; found 1, 30",
        ]
    );
    // Counting out of a counter that drifted low stops at 0 instead of wrapping.
    f.mail.store_flags(&f.bob, "Drafts", UidSet::all(), FlagOp::Add, deleted(), None).await.unwrap();
    f.mail.expunge(&f.bob, "Drafts", UidSet::all()).await.unwrap();
    assert_eq!(f.mail.usage(&f.bob).await.unwrap(), usage(0, 0));
}
