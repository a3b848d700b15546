//! A write transaction of the writer thread: reads see the writes of every earlier request in the
//! same group commit, and a request that fails leaves no trace.
//!
//! Writes are kept in two overlays over the database, the group's (`batch`) and the running
//! request's (`current`). `keep` folds `current` into `batch`, `rollback` drops it; `into_batch`
//! turns the group's overlay into one RocksDB `WriteBatch`.

use crate::mail::model::ChangeNotice;
use crate::rocks::Backend;
use crate::StoreError;
use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch};
use std::collections::BTreeMap;

/// The column families the mail store writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Cf {
    Meta,
    Accounts,
    AccountState,
    Mailboxes,
    Subscriptions,
    Messages,
    Changes,
    Bodies,
    BodyRefs,
    BodyChunks,
    Queue,
}

impl Cf {
    pub fn name(self) -> &'static str {
        use crate::rocks::*;
        match self {
            Cf::Meta => CF_META,
            Cf::Accounts => CF_ACCOUNTS,
            Cf::AccountState => CF_ACCOUNT_STATE,
            Cf::Mailboxes => CF_MAILBOXES,
            Cf::Subscriptions => CF_SUBSCRIPTIONS,
            Cf::Messages => CF_MESSAGES,
            Cf::Changes => CF_CHANGES,
            Cf::Bodies => CF_BODIES,
            Cf::BodyRefs => CF_BODY_REFS,
            Cf::BodyChunks => CF_BODY_CHUNKS,
            Cf::Queue => CF_QUEUE,
        }
    }
}

/// Read options for a scan of the keys in `[from, until)` that start with `prefix`: the iterator
/// gets the scan's end as its upper bound. Without one, RocksDB does not know where the scan stops
/// and its last step walks on to the next live key, past every deleted key in between (the
/// expunged messages of the next mailbox or account): a cost that grows with the store's history.
pub(crate) fn scan_options(prefix: &[u8], until: Option<&[u8]>) -> ReadOptions {
    let mut options = ReadOptions::default();
    let end = match (crate::keys::prefix_end(prefix), until) {
        (Some(end), Some(until)) => Some(end.min(until.to_vec())),
        (end, until) => end.or_else(|| until.map(<[u8]>::to_vec)),
    };
    if let Some(end) = end {
        options.set_iterate_upper_bound(end);
    }
    options
}

type Overlay = BTreeMap<(Cf, Vec<u8>), Option<Vec<u8>>>;

pub(crate) struct Txn<'a> {
    backend: &'a Backend,
    batch: Overlay,
    current: Overlay,
    notices: Vec<ChangeNotice>,
    current_notices: Vec<ChangeNotice>,
    /// Key ranges `[from, until)` deleted whole (pruned change log entries), applied after the
    /// point writes, so that entries the same group wrote below a new horizon go too. Reads in
    /// the transaction do not see them: they only cover keys older than anything a request reads.
    ranges: Vec<(Cf, Vec<u8>, Vec<u8>)>,
    current_ranges: Vec<(Cf, Vec<u8>, Vec<u8>)>,
}

impl<'a> Txn<'a> {
    pub fn new(backend: &'a Backend) -> Txn<'a> {
        Txn {
            backend,
            batch: Overlay::new(),
            current: Overlay::new(),
            notices: Vec::new(),
            current_notices: Vec::new(),
            ranges: Vec::new(),
            current_ranges: Vec::new(),
        }
    }

    pub fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let k = (cf, key.to_vec());
        if let Some(v) = self.current.get(&k).or_else(|| self.batch.get(&k)) {
            return Ok(v.clone());
        }
        Ok(self.backend.db().get_cf(self.backend.cf(cf.name()), key)?)
    }

    pub fn put(&mut self, cf: Cf, key: Vec<u8>, value: Vec<u8>) {
        self.current.insert((cf, key), Some(value));
    }

    pub fn delete(&mut self, cf: Cf, key: Vec<u8>) {
        self.current.insert((cf, key), None);
    }

    /// Forgets the range deletions of column family `cf` that start with `prefix` (an account
    /// removed in this group: its keys are deleted one by one, and a range applied after the
    /// writes could take entries of an account created again under the same name).
    pub fn drop_ranges(&mut self, cf: Cf, prefix: &[u8]) {
        let keep = |r: &(Cf, Vec<u8>, Vec<u8>)| r.0 != cf || !r.1.starts_with(prefix);
        self.ranges.retain(keep);
        self.current_ranges.retain(keep);
    }

    /// How many change log entries each account keeps (see `mailboxes::save_state`).
    pub fn change_log_keep(&self) -> u64 {
        self.backend.options.change_log_keep
    }

    /// Deletes every key in `[from, until)` with one range tombstone. Only for keys no request
    /// reads through this transaction (see `ranges`).
    pub fn delete_range(&mut self, cf: Cf, from: Vec<u8>, until: Vec<u8>) {
        self.current_ranges.push((cf, from, until));
    }

    /// Every live `(key, value)` whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, cf: Cf, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        self.scan(cf, prefix, prefix, None)
    }

    /// Live entries with key in `[from, until)` that start with `prefix`.
    pub fn scan(
        &self,
        cf: Cf,
        prefix: &[u8],
        from: &[u8],
        until: Option<&[u8]>,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        let in_range = |k: &[u8]| k.starts_with(prefix) && until.is_none_or(|u| k < u);
        // An overlay holds every column family in one map: its range runs on into the next one.
        let in_overlay_range = |key_cf: Cf, k: &[u8]| key_cf == cf && in_range(k);
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        let handle = self.backend.cf(cf.name());
        let mode = IteratorMode::From(from, Direction::Forward);
        for item in self.backend.db().iterator_cf_opt(handle, scan_options(prefix, until), mode) {
            let (k, v) = item?;
            if !in_range(&k) {
                break;
            }
            merged.insert(k.to_vec(), Some(v.to_vec()));
        }
        for overlay in [&self.batch, &self.current] {
            for ((key_cf, k), v) in overlay.range((cf, from.to_vec())..) {
                if !in_overlay_range(*key_cf, k) {
                    break;
                }
                merged.insert(k.clone(), v.clone());
            }
        }
        Ok(merged.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect())
    }

    /// The first live key at or after `from` that starts with `prefix`. Unlike [`Txn::scan`] it
    /// stops there, so it reads only the deleted keys between `from` and that key.
    pub fn first(&self, cf: Cf, prefix: &[u8], from: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        // What this transaction wrote for a key: `Some(None)` if it deleted it.
        let overlaid = |k: &[u8]| {
            let k = (cf, k.to_vec());
            self.current.get(&k).or_else(|| self.batch.get(&k)).cloned()
        };
        let mut first = None;
        let handle = self.backend.cf(cf.name());
        let mode = IteratorMode::From(from, Direction::Forward);
        for item in self.backend.db().iterator_cf_opt(handle, scan_options(prefix, None), mode) {
            let (k, _) = item?;
            if !k.starts_with(prefix) {
                break;
            }
            // A stored key this transaction wrote is live or not as the overlay says (below).
            if overlaid(&k).is_none() {
                first = Some(k.to_vec());
                break;
            }
        }
        for overlay in [&self.batch, &self.current] {
            for ((key_cf, k), _) in overlay.range((cf, from.to_vec())..) {
                if *key_cf != cf || !k.starts_with(prefix) || first.as_ref().is_some_and(|f| k >= f) {
                    break;
                }
                if overlaid(k).is_some_and(|v| v.is_some()) {
                    first = Some(k.clone());
                    break;
                }
            }
        }
        Ok(first)
    }

    /// Queues a notice to broadcast once the group commit is on disk.
    pub fn notify(&mut self, notice: ChangeNotice) {
        self.current_notices.push(notice);
    }

    /// The running request succeeded: its writes join the group.
    pub fn keep(&mut self) {
        let current = std::mem::take(&mut self.current);
        self.batch.extend(current);
        self.notices.append(&mut self.current_notices);
        self.ranges.append(&mut self.current_ranges);
    }

    /// The running request failed: forget its writes.
    pub fn rollback(&mut self) {
        self.current.clear();
        self.current_notices.clear();
        self.current_ranges.clear();
    }

    /// Keys of column family `cf` the group deletes (each leaves a tombstone in RocksDB).
    pub fn deletes(&self, cf: Cf) -> u64 {
        self.batch.iter().filter(|((c, _), v)| *c == cf && v.is_none()).count() as u64
    }

    /// The group's writes as one batch, and the notices to send after it is synced.
    pub fn into_batch(self) -> (WriteBatch, Vec<ChangeNotice>) {
        let mut batch = WriteBatch::default();
        for ((cf, key), value) in self.batch {
            let handle = self.backend.cf(cf.name());
            match value {
                Some(v) => batch.put_cf(handle, key, v),
                None => batch.delete_cf(handle, key),
            }
        }
        for (cf, from, until) in self.ranges {
            batch.delete_range_cf(self.backend.cf(cf.name()), from, until);
        }
        (batch, self.notices)
    }
}
