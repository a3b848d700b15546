//! The answers of recent recipient lookups (`RCPT TO` on SMTP and again on LMTP, for every
//! message), kept in memory so that a message does not cost two round trips to a reader thread
//! for a directory that hardly ever changes.
//!
//! Every change to the directory (a domain or an account added or removed, all through
//! [`crate::Store`]) moves a generation counter on once it is committed; an answer is used only
//! while the generation it was looked up under is the current one. The lookup reads the
//! generation before the store, so an answer that raced with a change is never used after it.

use super::RecipientKind;
use crate::Address;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

pub struct RecipientCache {
    generation: AtomicU64,
    /// Addresses remembered at most (`store.recipient_cache_entries`); past it the cache starts
    /// over. 0: nothing is remembered. An entry takes 100-400 bytes (addresses, which unknown
    /// senders choose on MX, are up to 320 characters): at most about 25 MiB at the default.
    capacity: usize,
    entries: Mutex<HashMap<Address, (u64, RecipientKind)>>,
}

impl RecipientCache {
    pub fn new(capacity: usize) -> RecipientCache {
        RecipientCache { generation: AtomicU64::new(0), capacity, entries: Mutex::new(HashMap::new()) }
    }

    /// The directory's current generation.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Outdates every answer; called after each directory change once its commit has returned
    /// (also when the commit failed: it may have been applied all the same). A change refused
    /// before its commit (an account that exists already) changes nothing and calls nothing.
    pub fn directory_changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.lock().clear();
    }

    /// The answer for `address` if it was looked up under `generation`.
    pub fn get(&self, address: &Address, generation: u64) -> Option<RecipientKind> {
        match self.lock().get(address) {
            Some(&(seen, kind)) if seen == generation => Some(kind),
            _ => None,
        }
    }

    /// Remembers the answer looked up under `generation` (unless the directory changed since).
    pub fn put(&self, address: &Address, generation: u64, kind: RecipientKind) {
        let mut entries = self.lock();
        if self.capacity == 0 || generation != self.generation() {
            return;
        }
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(address.clone(), (generation, kind));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Address, (u64, RecipientKind)>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
