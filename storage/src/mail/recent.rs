//! `\Recent` bookkeeping (RFC 3501 §2.3.2): a message is recent to the first session that
//! selects its mailbox read-write after it arrived. Per mailbox, the store remembers the highest
//! UID some session has claimed; UIDs above it are still recent.
//!
//! The claims live in memory, not in the database: after a restart every message is recent
//! again to the first session that selects its mailbox. That is within the RFC's latitude
//! (the flag is advisory; RFC 9051 drops it) and costs no write per SELECT.

use super::MailStore;
use crate::Address;
use std::collections::HashMap;
use std::sync::Mutex;

/// The highest claimed UID per (account, mailbox name, UIDVALIDITY); a recreated mailbox has a
/// new UIDVALIDITY and so starts with nothing claimed.
#[derive(Debug, Default)]
pub(crate) struct RecentClaims(Mutex<HashMap<(String, String, u32), u32>>);

impl RecentClaims {
    /// Mailboxes with claims (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl MailStore {
    /// Claims the UIDs up to `up_to` as recent to the caller; returns the highest UID claimed
    /// before, so that the caller's recent messages are those above it (and up to `up_to`).
    pub fn claim_recent(&self, account: &Address, mailbox: &str, uid_validity: u32, up_to: u32) -> u32 {
        let mut claims = self.store.recent_claims().0.lock().unwrap_or_else(|e| e.into_inner());
        let claimed = claims.entry((account.as_str().to_string(), mailbox.to_string(), uid_validity)).or_insert(0);
        let before = *claimed;
        *claimed = before.max(up_to);
        before
    }

    /// Drops the claims of mailbox `name` and its inferiors (after DELETE or RENAME), so the map
    /// does not keep an entry for every mailbox an account ever had.
    pub(crate) fn forget_recent(&self, account: &Address, name: &str) {
        let mut claims = self.store.recent_claims().0.lock().unwrap_or_else(|e| e.into_inner());
        let inferiors = format!("{name}/");
        claims.retain(|(a, m, _), _| a != account.as_str() || (m != name && !m.starts_with(&inferiors)));
    }

    /// The highest UID claimed as recent so far: the messages above it are recent.
    pub fn recent_claimed(&self, account: &Address, mailbox: &str, uid_validity: u32) -> u32 {
        let claims = self.store.recent_claims().0.lock().unwrap_or_else(|e| e.into_inner());
        claims.get(&(account.as_str().to_string(), mailbox.to_string(), uid_validity)).copied().unwrap_or(0)
    }
}
