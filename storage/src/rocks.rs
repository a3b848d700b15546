//! The RocksDB backend: the only module that knows column families and durability settings.
//!
//! Column families:
//! - `meta`: store-wide values (the schema version);
//! - `domains`: key = domain, value = empty;
//! - `accounts`: key = address, value = an encoded [`crate::Account`].
//!
//! Every write is a `WriteBatch` committed with `sync = true`: when a call returns, its data is on
//! disk (the WAL is fsynced).

use crate::StoreError;
use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, Options, WriteBatch, WriteOptions, DB};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub(crate) const CF_META: &str = "meta";
pub(crate) const CF_DOMAINS: &str = "domains";
pub(crate) const CF_ACCOUNTS: &str = "accounts";
const COLUMN_FAMILIES: &[&str] = &[CF_META, CF_DOMAINS, CF_ACCOUNTS];

/// The schema this build writes. A store with a higher number is refused at open.
pub const SCHEMA_VERSION: u32 = 1;
const SCHEMA_VERSION_KEY: &[u8] = b"schema_version";

/// A handle to an open store. Cheap to clone; all clones share one database.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: DB,
    path: PathBuf,
    /// Serialises read-modify-write sequences of the rare administrative writes (add a domain, add
    /// an account) so that two of them cannot both see "absent" and both write.
    admin: Mutex<()>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.inner.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the store in directory `path`. Fails with
    /// [`StoreError::Locked`] when another process has it open.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(path)
            .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", path.display())))?;
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        options.set_max_background_jobs(2);
        options.set_keep_log_file_num(4);
        let descriptors = COLUMN_FAMILIES.iter().map(|name| ColumnFamilyDescriptor::new(*name, options.clone()));
        let db = DB::open_cf_descriptors(&options, path, descriptors).map_err(|e| match StoreError::from(e) {
            StoreError::Locked(_) => StoreError::Locked(format!(
                "{} is held open by another process (is a mailgenic server running on this data_dir?)",
                path.display()
            )),
            other => other,
        })?;
        let store = Store { inner: Arc::new(Inner { db, path: path.to_path_buf(), admin: Mutex::new(()) }) };
        store.check_schema()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let meta = self.cf(CF_META);
        match self.inner.db.get_cf(meta, SCHEMA_VERSION_KEY)? {
            None => {
                let mut batch = WriteBatch::default();
                batch.put_cf(meta, SCHEMA_VERSION_KEY, SCHEMA_VERSION.to_be_bytes());
                self.write(batch)
            }
            Some(bytes) => {
                let found = <[u8; 4]>::try_from(bytes.as_slice())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::Corrupt("schema version".into()))?;
                if found > SCHEMA_VERSION {
                    Err(StoreError::SchemaTooNew { found, supported: SCHEMA_VERSION })
                } else {
                    Ok(())
                }
            }
        }
    }

    pub(crate) fn db(&self) -> &DB {
        &self.inner.db
    }

    pub(crate) fn cf(&self, name: &str) -> &ColumnFamily {
        // Every name used here is in COLUMN_FAMILIES, which `open` creates.
        #[allow(clippy::expect_used)] // reason: a missing column family is a programming error caught by every test
        self.inner.db.cf_handle(name).expect("column family opened at start")
    }

    /// Commits `batch` and returns once it is synced to disk.
    pub(crate) fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        self.inner.db.write_opt(batch, &options).map_err(StoreError::from)
    }

    pub(crate) fn admin_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner.admin.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
