//! Local domains and accounts.
//!
//! An account is keyed by its normalised [`Address`], which is also its login name. Its domain must
//! be local (added with `mailgenic domain add`) before the account can be created, and a domain
//! cannot be removed while accounts remain in it.

use crate::keys::{KeyBuilder, KeyReader};
use crate::rocks::{CF_ACCOUNTS, CF_DOMAINS};
use crate::{Address, Domain, Store, StoreError};
use rocksdb::{IteratorMode, WriteBatch};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Version tag of the encoded account value.
const ACCOUNT_RECORD_V1: u8 = 1;

/// One account as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub address: Address,
    /// argon2id PHC string; never printed (see the `Debug` impl).
    pub password_hash: String,
    /// Seconds since the Unix epoch.
    pub created: u64,
    /// A disabled account cannot log in and receives no mail.
    pub enabled: bool,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("address", &self.address.as_str())
            .field("password_hash", &"<redacted>")
            .field("created", &self.created)
            .field("enabled", &self.enabled)
            .finish()
    }
}

impl Account {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(10 + self.password_hash.len());
        v.push(ACCOUNT_RECORD_V1);
        v.push(u8::from(self.enabled));
        v.extend_from_slice(&self.created.to_be_bytes());
        v.extend_from_slice(self.password_hash.as_bytes());
        v
    }

    fn decode(address: Address, bytes: &[u8]) -> Result<Account, StoreError> {
        let corrupt = || StoreError::Corrupt(format!("account {address}"));
        if bytes.len() < 10 || bytes[0] != ACCOUNT_RECORD_V1 {
            return Err(corrupt());
        }
        let created = u64::from_be_bytes(bytes[2..10].try_into().map_err(|_| corrupt())?);
        let password_hash = String::from_utf8(bytes[10..].to_vec()).map_err(|_| corrupt())?;
        Ok(Account { enabled: bytes[1] != 0, created, password_hash, address })
    }
}

fn domain_key(domain: &Domain) -> Vec<u8> {
    KeyBuilder::new().str(domain.as_str()).finish()
}

pub(crate) fn account_key(address: &Address) -> Vec<u8> {
    KeyBuilder::new().str(address.domain().as_str()).str(address.local_part()).finish()
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl Store {
    /// Makes `domain` local: mail for it is accepted and accounts may be created in it.
    pub fn add_domain(&self, domain: &Domain) -> Result<(), StoreError> {
        let _guard = self.admin_lock();
        if self.is_local_domain(domain)? {
            return Err(StoreError::Exists(format!("domain {domain}")));
        }
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_DOMAINS), domain_key(domain), b"");
        let written = self.write(batch);
        self.recipient_cache().directory_changed();
        written
    }

    /// Removes a local domain that has no accounts left.
    pub fn remove_domain(&self, domain: &Domain) -> Result<(), StoreError> {
        let _guard = self.admin_lock();
        if !self.is_local_domain(domain)? {
            return Err(StoreError::NotFound(format!("domain {domain}")));
        }
        let remaining = self.accounts(Some(domain))?.len();
        if remaining > 0 {
            return Err(StoreError::Invalid(format!(
                "domain {domain} still has {remaining} account(s); delete them first"
            )));
        }
        let mut batch = WriteBatch::default();
        batch.delete_cf(self.cf(CF_DOMAINS), domain_key(domain));
        let written = self.write(batch);
        self.recipient_cache().directory_changed();
        written
    }

    pub fn is_local_domain(&self, domain: &Domain) -> Result<bool, StoreError> {
        Ok(self.db().get_pinned_cf(self.cf(CF_DOMAINS), domain_key(domain))?.is_some())
    }

    /// All local domains, in order.
    pub fn domains(&self) -> Result<Vec<Domain>, StoreError> {
        let mut out = Vec::new();
        for item in self.db().iterator_cf(self.cf(CF_DOMAINS), IteratorMode::Start) {
            let (key, _) = item?;
            let name = KeyReader::new(&key).str().ok_or_else(|| StoreError::Corrupt("domain key".into()))?;
            out.push(Domain::from_stored(name));
        }
        Ok(out)
    }

    /// Creates an account with an argon2id PHC `password_hash` (see [`crate::password::hash`]),
    /// together with its default mailboxes (INBOX, Sent, Drafts, Trash, Junk, Archive) in one commit.
    pub fn add_account(&self, address: &Address, password_hash: &str) -> Result<Account, StoreError> {
        let _guard = self.admin_lock();
        let domain = address.domain();
        if !self.is_local_domain(&domain)? {
            return Err(StoreError::Invalid(format!("domain {domain} is not a local domain")));
        }
        if self.account(address)?.is_some() {
            return Err(StoreError::Exists(format!("account {address}")));
        }
        let account = Account {
            address: address.clone(),
            password_hash: password_hash.to_string(),
            created: now_secs(),
            enabled: true,
        };
        let created = self.create_account_with_mail(address, account.encode());
        self.recipient_cache().directory_changed();
        created.map(|()| account)
    }

    /// Replaces an account's password hash.
    pub fn set_password(&self, address: &Address, password_hash: &str) -> Result<(), StoreError> {
        let _guard = self.admin_lock();
        let mut account = self.account(address)?.ok_or_else(|| StoreError::NotFound(format!("account {address}")))?;
        account.password_hash = password_hash.to_string();
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_ACCOUNTS), account_key(address), account.encode());
        self.write(batch)
    }

    /// Deletes an account with its mailboxes and messages (bodies no other account uses go too).
    pub fn remove_account(&self, address: &Address) -> Result<(), StoreError> {
        let _guard = self.admin_lock();
        if self.account(address)?.is_none() {
            return Err(StoreError::NotFound(format!("account {address}")));
        }
        let removed = self.remove_account_with_mail(address);
        self.recipient_cache().directory_changed();
        removed
    }

    /// Looks an account up by its normalised address.
    pub fn account(&self, address: &Address) -> Result<Option<Account>, StoreError> {
        match self.db().get_pinned_cf(self.cf(CF_ACCOUNTS), account_key(address))? {
            None => Ok(None),
            Some(bytes) => Account::decode(address.clone(), &bytes).map(Some),
        }
    }

    /// All accounts, or those of one domain, ordered by domain then local part.
    pub fn accounts(&self, domain: Option<&Domain>) -> Result<Vec<Account>, StoreError> {
        let cf = self.cf(CF_ACCOUNTS);
        let prefix = domain.map(domain_key).unwrap_or_default();
        let mut out = Vec::new();
        for item in self.db().prefix_iterator_cf(cf, &prefix) {
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let mut reader = KeyReader::new(&key);
            let (Some(d), Some(local)) = (reader.str(), reader.str()) else {
                return Err(StoreError::Corrupt("account key".into()));
            };
            let address = Address::from_stored(format!("{local}@{d}"))?;
            out.push(Account::decode(address, &value)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        (dir, store)
    }

    #[test]
    fn accounts_need_a_local_domain_and_survive_reopen() {
        let (dir, store) = store();
        let alice = Address::parse("Alice@Example.test").unwrap();
        let err = store.add_account(&alice, "$argon2id$x").unwrap_err();
        assert!(matches!(err, StoreError::Invalid(ref m) if m.contains("not a local domain")), "{err}");
        store.add_domain(&Domain::parse("example.test").unwrap()).unwrap();
        store.add_account(&alice, "$argon2id$x").unwrap();
        assert!(matches!(store.add_account(&alice, "$argon2id$y"), Err(StoreError::Exists(_))));
        drop(store);
        let store = Store::open(&dir.path().join("store")).unwrap();
        let got = store.account(&Address::parse("alice@example.TEST").unwrap()).unwrap().unwrap();
        assert_eq!(got.password_hash, "$argon2id$x");
        assert!(got.enabled);
        assert!(!format!("{got:?}").contains("$argon2id$x"), "Debug must redact the hash");
    }

    #[test]
    fn list_passwd_delete() {
        let (_dir, store) = store();
        let ex = Domain::parse("example.test").unwrap();
        let other = Domain::parse("example.org").unwrap();
        store.add_domain(&ex).unwrap();
        store.add_domain(&other).unwrap();
        assert!(matches!(store.add_domain(&ex), Err(StoreError::Exists(_))));
        for a in ["b@example.test", "a@example.test", "z@example.org"] {
            store.add_account(&Address::parse(a).unwrap(), "h").unwrap();
        }
        let names: Vec<String> = store.accounts(Some(&ex)).unwrap().iter().map(|a| a.address.to_string()).collect();
        assert_eq!(names, ["a@example.test", "b@example.test"]);
        assert_eq!(store.accounts(None).unwrap().len(), 3);
        assert_eq!(store.domains().unwrap(), vec![other.clone(), ex.clone()]);
        let a = Address::parse("a@example.test").unwrap();
        store.set_password(&a, "h2").unwrap();
        assert_eq!(store.account(&a).unwrap().unwrap().password_hash, "h2");
        assert!(matches!(store.remove_domain(&ex), Err(StoreError::Invalid(_))));
        store.remove_account(&a).unwrap();
        store.remove_account(&Address::parse("b@example.test").unwrap()).unwrap();
        assert!(matches!(store.remove_account(&a), Err(StoreError::NotFound(_))));
        store.remove_domain(&ex).unwrap();
        assert_eq!(store.domains().unwrap(), vec![other]);
    }

    #[test]
    fn second_open_is_locked() {
        let (dir, _store) = store();
        let err = Store::open(&dir.path().join("store")).unwrap_err();
        assert!(matches!(err, StoreError::Locked(_)), "{err}");
    }

    #[test]
    fn newer_schema_is_refused() {
        let (dir, store) = store();
        let mut batch = WriteBatch::default();
        batch.put_cf(store.cf(crate::rocks::CF_META), b"schema_version", 99u32.to_be_bytes());
        store.write(batch).unwrap();
        drop(store);
        let err = Store::open(&dir.path().join("store")).unwrap_err();
        assert_eq!(err, StoreError::SchemaTooNew { found: 99, supported: crate::rocks::SCHEMA_VERSION });
    }
}
