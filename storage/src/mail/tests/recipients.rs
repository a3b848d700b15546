//! Recipient lookups answered from memory stay exact across every directory change.
use super::fixture;
use crate::mail::RecipientKind::{Local, Remote, UnknownLocal};
use crate::{Address, Domain, Store, StoreOptions};

#[tokio::test]
async fn cached_answers_follow_every_domain_and_account_change() {
    let f = fixture();
    let carol = Address::parse("carol@example.test").unwrap();
    let dave = Address::parse("dave@other.test").unwrap();
    for _ in 0..2 {
        // The second round is answered from the cache, with the same answers.
        assert_eq!(f.mail.recipient_kind(&f.alice).await.unwrap(), Local);
        assert_eq!(f.mail.recipient_kind(&carol).await.unwrap(), UnknownLocal);
        assert_eq!(f.mail.recipient_kind(&dave).await.unwrap(), Remote);
    }
    let cache = f.store.recipient_cache();
    assert_eq!(cache.get(&carol, cache.generation()), Some(UnknownLocal), "answers are remembered");

    f.store.add_account(&carol, "h").unwrap();
    assert_eq!(f.mail.recipient_kind(&carol).await.unwrap(), Local);
    f.store.remove_account(&carol).unwrap();
    assert_eq!(f.mail.recipient_kind(&carol).await.unwrap(), UnknownLocal);

    let other = Domain::parse("other.test").unwrap();
    f.store.add_domain(&other).unwrap();
    assert_eq!(f.mail.recipient_kind(&dave).await.unwrap(), UnknownLocal);
    f.store.add_account(&dave, "h").unwrap();
    assert_eq!(f.mail.recipient_kind(&dave).await.unwrap(), Local);
    f.store.remove_account(&dave).unwrap();
    f.store.remove_domain(&other).unwrap();
    assert_eq!(f.mail.recipient_kind(&dave).await.unwrap(), Remote);
    // A change refused before its commit leaves the remembered answers as they are, and right.
    assert_eq!(f.mail.recipient_kind(&f.alice).await.unwrap(), Local);
    let generation = cache.generation();
    assert!(f.store.add_account(&f.alice, "h").is_err());
    assert_eq!(cache.generation(), generation);
    assert_eq!(cache.get(&f.alice, generation), Some(Local));
    // A commit that fails outdates them (it may have been applied all the same).
    f.store.backend_for_test().fail_writes.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(f.store.add_account(&carol, "h").is_err());
    f.store.backend_for_test().fail_writes.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(cache.get(&f.alice, cache.generation()), None);
    assert_eq!(f.mail.recipient_kind(&carol).await.unwrap(), UnknownLocal);
    assert_eq!(f.mail.recipient_kind(&f.alice).await.unwrap(), Local);
}

#[test]
fn an_answer_looked_up_before_a_change_is_not_kept() {
    let f = fixture();
    let cache = f.store.recipient_cache();
    let carol = Address::parse("carol@example.test").unwrap();
    // A lookup started (generation read), then the account was created, then the lookup's
    // answer (from before the change) arrives: it must not be served afterwards.
    let before = cache.generation();
    f.store.add_account(&carol, "h").unwrap();
    cache.put(&carol, before, UnknownLocal);
    assert_eq!(cache.get(&carol, cache.generation()), None);
    assert_eq!(cache.get(&carol, before), None);
}

#[tokio::test]
async fn a_cache_of_size_zero_remembers_nothing_and_a_full_one_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions { recipient_cache_entries: 0, ..StoreOptions::default() };
    let store = Store::open_with(&dir.path().join("store"), options).unwrap();
    store.add_domain(&Domain::parse("example.test").unwrap()).unwrap();
    let alice = Address::parse("alice@example.test").unwrap();
    assert_eq!(store.mail().recipient_kind(&alice).await.unwrap(), UnknownLocal);
    let cache = store.recipient_cache();
    assert_eq!(cache.get(&alice, cache.generation()), None);
    drop(store);

    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions { recipient_cache_entries: 3, ..StoreOptions::default() };
    let store = Store::open_with(&dir.path().join("store"), options).unwrap();
    let cache = store.recipient_cache();
    let generation = cache.generation();
    let addresses: Vec<Address> = (0..4).map(|i| Address::parse(&format!("u{i}@example.test")).unwrap()).collect();
    for a in &addresses {
        cache.put(a, generation, Remote);
    }
    // The fourth found the cache full: it starts over with the fourth alone.
    assert_eq!(cache.get(&addresses[0], generation), None);
    assert_eq!(cache.get(&addresses[3], generation), Some(Remote));
}
