//! The RocksDB backend: the only module that knows column families and durability settings.
//!
//! Column families:
//! - `meta`: store-wide values (the schema version);
//! - `domains`: key = domain, value = empty;
//! - `accounts`: key = address, value = an encoded [`crate::Account`];
//! - `account_state`, `mailboxes`, `subscriptions`, `messages`, `changes`, `bodies`, `body_refs`,
//!   `body_chunks`: the mail store (see [`crate::mail`] and its `record` module for the layout);
//! - `queue`: the outbound queue, its own keyspace so it can move with the MTA.
//!
//! All mail writes go through the one writer thread of [`crate::mail`] (group commit). Every write is a `WriteBatch` committed with `sync = true`: when a call returns, its data is on
//! disk (the WAL is fsynced).

use crate::StoreError;
use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, Options, WriteBatch, WriteOptions, DB};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::mail::MailEngine;

pub(crate) const CF_META: &str = "meta";
pub(crate) const CF_DOMAINS: &str = "domains";
pub(crate) const CF_ACCOUNTS: &str = "accounts";
pub(crate) const CF_ACCOUNT_STATE: &str = "account_state";
pub(crate) const CF_MAILBOXES: &str = "mailboxes";
pub(crate) const CF_SUBSCRIPTIONS: &str = "subscriptions";
pub(crate) const CF_MESSAGES: &str = "messages";
pub(crate) const CF_CHANGES: &str = "changes";
pub(crate) const CF_BODIES: &str = "bodies";
pub(crate) const CF_BODY_REFS: &str = "body_refs";
pub(crate) const CF_BODY_CHUNKS: &str = "body_chunks";
pub(crate) const CF_QUEUE: &str = "queue";
const COLUMN_FAMILIES: &[&str] = &[
    CF_META,
    CF_DOMAINS,
    CF_ACCOUNTS,
    CF_ACCOUNT_STATE,
    CF_MAILBOXES,
    CF_SUBSCRIPTIONS,
    CF_MESSAGES,
    CF_CHANGES,
    CF_BODIES,
    CF_BODY_REFS,
    CF_BODY_CHUNKS,
    CF_QUEUE,
];

/// The schema this build writes. A store with a higher number is refused at open. Version 2 added
/// the mail column families; a version 1 store is upgraded at open (its accounts get their
/// default mailboxes).
pub const SCHEMA_VERSION: u32 = 2;
const SCHEMA_VERSION_KEY: &[u8] = b"schema_version";

/// A handle to an open store. Cheap to clone; all clones share one database.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    /// Declared first so that it is dropped first: closing it stops and joins the writer and
    /// reader threads, which hold the database open.
    mail: MailEngine,
    backend: Arc<Backend>,
    /// Serialises read-modify-write sequences of the rare administrative writes (add a domain, add
    /// an account) so that two of them cannot both see "absent" and both write.
    admin: Mutex<()>,
    /// Which messages sessions have already seen as `\Recent` (kept in memory only).
    recent: crate::mail::RecentClaims,
    /// Recipients looked up lately (see [`crate::mail::RecipientCache`]).
    recipients: crate::mail::RecipientCache,
}

/// The open database, shared by [`Store`] handles and the mail threads.
pub(crate) struct Backend {
    db: DB,
    path: PathBuf,
    pub(crate) options: StoreOptions,
    /// Test hook: when set, every write fails as a full disk would.
    #[cfg(test)]
    pub(crate) fail_writes: std::sync::atomic::AtomicBool,
    /// Test counter of synced writes (shows that group commit shares syncs).
    #[cfg(test)]
    pub(crate) commits: std::sync::atomic::AtomicU64,
    /// Test counter of finished compactions of the `messages` column family.
    #[cfg(test)]
    pub(crate) compactions: std::sync::atomic::AtomicU64,
}

impl Backend {
    pub(crate) fn db(&self) -> &DB {
        &self.db
    }

    pub(crate) fn cf(&self, name: &str) -> &ColumnFamily {
        // Every name used here is in COLUMN_FAMILIES, which `open` creates.
        #[allow(clippy::expect_used)] // reason: a missing column family is a programming error caught by every test
        self.db.cf_handle(name).expect("column family opened at start")
    }

    /// Writes a RocksDB checkpoint (a consistent, openable copy) into `dir`.
    pub(crate) fn checkpoint(&self, dir: &Path) -> Result<(), StoreError> {
        rocksdb::checkpoint::Checkpoint::new(&self.db)?.create_checkpoint(dir)?;
        Ok(())
    }

    /// Compacts the `messages` column family down to its bottom level, where the tombstones of
    /// expunged messages are dropped (see `mail::compact`). The bottom level is rewritten too:
    /// otherwise a flushed file that overlaps nothing is moved down as it is, tombstones and all.
    /// Automatic compactions keep running meanwhile.
    pub(crate) fn compact_messages(&self) {
        let mut options = rocksdb::CompactOptions::default();
        options.set_exclusive_manual_compaction(false);
        options.set_bottommost_level_compaction(rocksdb::BottommostLevelCompaction::ForceOptimized);
        self.db.compact_range_cf_opt(self.cf(CF_MESSAGES), None::<&[u8]>, None::<&[u8]>, &options);
        #[cfg(test)]
        self.compactions.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// RocksDB's estimate of the live keys in column family `name` (0 if it has none).
    pub(crate) fn estimated_keys(&self, name: &str) -> u64 {
        self.db.property_int_value_cf(self.cf(name), "rocksdb.estimate-num-keys").ok().flatten().unwrap_or(0)
    }

    /// Commits `batch` and returns once it is synced to disk.
    pub(crate) fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        #[cfg(test)]
        if self.fail_writes.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable("IO error: No space left on device (injected)".into()));
        }
        #[cfg(test)]
        self.commits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut options = WriteOptions::default();
        options.set_sync(true);
        self.db.write_opt(batch, &options).map_err(StoreError::from)
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.inner.backend.path).finish()
    }
}

/// What an operator may tune about a store (the `[store]` section of the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Change log entries kept per account (one per append, flag change or expunge). A client
    /// resynchronising from an older MODSEQ is answered by comparing UIDs instead of from the log
    /// (IMAP sessions and QRESYNC do this on their own), so this bounds the log's size, not what
    /// clients can do.
    pub change_log_keep: u64,
    /// Whether message bodies are compressed (LZ4) on disk. Off by default: mail is read far more
    /// often than written, and decompressing every block read cost a FETCH of whole messages
    /// about a fifth of its server CPU; attachments, most of the bytes, hardly compress anyway.
    /// Switching it changes how new files are written; existing ones stay readable either way.
    pub compress_bodies: bool,
    /// Recipient lookups remembered in memory (see [`crate::mail::RecipientCache`]); 0 turns the
    /// cache off.
    pub recipient_cache_entries: usize,
}

/// Default of [`StoreOptions::recipient_cache_entries`]: at most about 25 MiB (entries of
/// 100-400 bytes).
pub const DEFAULT_RECIPIENT_CACHE_ENTRIES: usize = 65_536;

/// Default of [`StoreOptions::change_log_keep`]: a few MiB of log per account.
pub const DEFAULT_CHANGE_LOG_KEEP: u64 = 100_000;

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            change_log_keep: DEFAULT_CHANGE_LOG_KEEP,
            compress_bodies: false,
            recipient_cache_entries: DEFAULT_RECIPIENT_CACHE_ENTRIES,
        }
    }
}

/// All column families' memtables together: past it RocksDB flushes the largest, so the store's
/// write memory stays bounded whatever the load.
pub const MEMTABLE_BUDGET_BYTES: usize = 128 << 20;

impl Store {
    /// Opens (creating if needed) the store in directory `path`. Fails with
    /// [`StoreError::Locked`] when another process has it open.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, StoreOptions::default())
    }

    /// [`Store::open`] with tuned options.
    pub fn open_with(path: &Path, store_options: StoreOptions) -> Result<Store, StoreError> {
        std::fs::create_dir_all(path)
            .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", path.display())))?;
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        options.set_max_background_jobs(2);
        options.set_keep_log_file_num(4);
        // Table files are read through a memory map: a block read from the page cache is not
        // copied into a buffer first (with uncompressed bodies, the bulk of what FETCH reads).
        options.set_allow_mmap_reads(true);
        // Without a shared cap each of the column families may hold a 64 MiB memtable (and more
        // while one is flushed): hundreds of MiB under a write burst on a small host.
        options.set_db_write_buffer_size(MEMTABLE_BUDGET_BYTES);
        let descriptors = COLUMN_FAMILIES.iter().map(|name| {
            let mut cf_options = options.clone();
            if *name == CF_BODY_CHUNKS && !store_options.compress_bodies {
                cf_options.set_compression_type(rocksdb::DBCompressionType::None);
                // Uncompressed blocks of a memory-mapped file are read where they lie and never
                // enter the block cache; looking each up there first only cost time.
                let mut table = rocksdb::BlockBasedOptions::default();
                table.disable_cache();
                cf_options.set_block_based_table_factory(&table);
            }
            ColumnFamilyDescriptor::new(*name, cf_options)
        });
        let db = DB::open_cf_descriptors(&options, path, descriptors).map_err(|e| match StoreError::from(e) {
            StoreError::Locked(_) => StoreError::Locked(format!(
                "{} is held open by another process (is a mailgenic server running on this data_dir?)",
                path.display()
            )),
            other => other,
        })?;
        let backend = Arc::new(Backend {
            db,
            path: path.to_path_buf(),
            options: StoreOptions { change_log_keep: store_options.change_log_keep.max(1), ..store_options },
            #[cfg(test)]
            fail_writes: std::sync::atomic::AtomicBool::new(false),
            #[cfg(test)]
            commits: std::sync::atomic::AtomicU64::new(0),
            #[cfg(test)]
            compactions: std::sync::atomic::AtomicU64::new(0),
        });
        let store_options = backend.options.clone();
        let mail = MailEngine::start(backend.clone())?;
        let store = Store {
            inner: Arc::new(Inner {
                mail,
                backend,
                admin: Mutex::new(()),
                recent: Default::default(),
                recipients: crate::mail::RecipientCache::new(store_options.recipient_cache_entries),
            }),
        };
        store.check_schema()?;
        // Account state records written before the usage counter existed get it now.
        crate::mail::fill_missing_usage(&store.inner.backend, store.engine())?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.inner.backend.path
    }

    #[cfg(test)]
    pub(crate) fn backend_for_test(&self) -> &Backend {
        &self.inner.backend
    }

    pub(crate) fn recent_claims(&self) -> &crate::mail::RecentClaims {
        &self.inner.recent
    }

    pub(crate) fn engine(&self) -> &MailEngine {
        &self.inner.mail
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let meta = self.cf(CF_META);
        match self.db().get_cf(meta, SCHEMA_VERSION_KEY)? {
            None => self.set_schema_version(),
            Some(bytes) => {
                let found = <[u8; 4]>::try_from(bytes.as_slice())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::Corrupt("schema version".into()))?;
                if found > SCHEMA_VERSION {
                    Err(StoreError::SchemaTooNew { found, supported: SCHEMA_VERSION })
                } else if found < SCHEMA_VERSION {
                    for account in self.accounts(None)? {
                        self.ensure_default_mailboxes(&account.address)?;
                    }
                    self.set_schema_version()
                } else {
                    Ok(())
                }
            }
        }
    }

    fn set_schema_version(&self) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_META), SCHEMA_VERSION_KEY, SCHEMA_VERSION.to_be_bytes());
        self.write(batch)
    }

    pub(crate) fn db(&self) -> &DB {
        self.inner.backend.db()
    }

    pub(crate) fn cf(&self, name: &str) -> &ColumnFamily {
        self.inner.backend.cf(name)
    }

    /// Commits `batch` and returns once it is synced to disk.
    pub(crate) fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.inner.backend.write(batch)
    }

    /// Bench baseline only: one synced RocksDB write of `value` (the cost group commit
    /// amortises). Writes under a `bench/` key in the `meta` column family.
    #[doc(hidden)]
    pub fn baseline_synced_write(&self, n: u64, value: &[u8]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_META), crate::keys::KeyBuilder::new().str("bench").u64(n).finish(), value);
        self.write(batch)
    }

    pub(crate) fn recipient_cache(&self) -> &crate::mail::RecipientCache {
        &self.inner.recipients
    }

    pub(crate) fn admin_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner.admin.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
