//! Drops the tombstones that expunges leave in the `messages` column family.
//!
//! An expunged message's key stays in RocksDB as a tombstone until a compaction into the bottom
//! level drops it, and every scan that crosses it steps over it. The UID floor
//! (`MailboxRecord::uid_floor`) keeps scans clear of the tombstones below a mailbox's first
//! message; this module bounds the rest: those between messages that stay (an old message kept
//! in INBOX while newer ones come and go). RocksDB alone would drop them only after the column
//! family's memtable (64 MiB) fills, and mail churn is small records, so that can take days.
//!
//! The writer counts the message tombstones it commits; once they reach an eighth of the column
//! family's keys (and at least [`MIN_TOMBSTONES`]), it asks the `mail-compactor` thread to
//! compact the column family. So the tombstones a scan can meet stay below that bound whatever
//! the history, and the compactions rewrite about eight records per expunge (the column family
//! holds small records: no bodies).

use crate::rocks::{Backend, CF_MESSAGES};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Message tombstones below which no compaction is asked for (a small store compacts rarely).
pub(crate) const MIN_TOMBSTONES: u64 = 1024;
/// Compact once the tombstones reach `1 / KEYS_PER_TOMBSTONE` of the column family's keys.
const KEYS_PER_TOMBSTONE: u64 = 8;

/// The writer's side: counts tombstones and wakes the compactor thread.
pub(crate) struct Compactor {
    backend: Arc<Backend>,
    /// Message tombstones committed since the last compaction was asked for.
    tombstones: u64,
    /// Capacity 1: a request made while one is waiting is already served by it.
    wake: mpsc::SyncSender<()>,
}

impl Compactor {
    /// Starts the compactor thread; it stops when the returned `Compactor` is dropped.
    pub fn start(backend: Arc<Backend>) -> std::io::Result<(Compactor, JoinHandle<()>)> {
        let (wake, requests) = mpsc::sync_channel(1);
        let thread_backend = backend.clone();
        let thread = std::thread::Builder::new().name("mail-compactor".into()).spawn(move || {
            while requests.recv().is_ok() {
                thread_backend.compact_messages();
            }
        })?;
        Ok((Compactor { backend, tombstones: 0, wake }, thread))
    }

    /// Counts `deleted` message keys just committed; asks for a compaction when they are due.
    pub fn committed(&mut self, deleted: u64) {
        self.tombstones += deleted;
        if deleted == 0 || self.tombstones < MIN_TOMBSTONES {
            return;
        }
        let keys = self.backend.estimated_keys(CF_MESSAGES);
        if self.tombstones.saturating_mul(KEYS_PER_TOMBSTONE) >= keys {
            self.tombstones = 0;
            // Full: a compaction is already waiting and will drop these tombstones too.
            let _ = self.wake.try_send(());
        }
    }
}
