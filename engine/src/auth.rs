//! Password authentication shared by every protocol and core.
//!
//! ```text
//!  session (reactor) ──authenticate()──► cache hit? ──yes──► Ok
//!                                          │ no
//!                                          ▼
//!                          bounded queue ──► verify thread: store lookup + argon2id
//!                                          │        (decoy hash for unknown users)
//!  failure: counted per client IP and per account; the answer waits
//!           failure_delay_ms × 2^(n-1), capped at failure_delay_max_ms
//! ```
//!
//! - argon2id never runs on a reactor thread: verifications go to `verify_threads` threads through
//!   a queue of `verify_queue` entries. A full queue is a temporary failure, never a growing
//!   backlog, and memory stays at one hash's worth per thread.
//! - Unknown users and wrong passwords get the same answer after the same work: an unknown user is
//!   verified against a decoy hash.
//! - Successful verifications are remembered for `cache_ttl_secs`, keyed by a keyed BLAKE2b MAC
//!   (per-process random key) of user and password, so the cache never holds a password and a hit
//!   proves the same password was given. `user passwd` and `user del` drop an account's entries.
//! - Passwords live in [`Password`], whose `Debug` is redacted and whose bytes are wiped on drop.

use blake2::digest::{KeyInit, Mac};
use blake2::Blake2bMac512;
use mailgenic_config::AuthConfig;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storage::{Address, Store};

/// Most cache entries kept; beyond it, expired entries are dropped and then the oldest half.
const MAX_CACHE_ENTRIES: usize = 100_000;
/// Most failure counters kept (per address and per account); beyond it, expired ones are dropped.
const MAX_FAILURE_ENTRIES: usize = 100_000;

/// A password as received from a client. Never printed; wiped when dropped.
pub struct Password(Vec<u8>);

impl Password {
    pub fn new(bytes: Vec<u8>) -> Self {
        Password(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

/// The result of one authentication attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The credentials are valid; the session is now this account.
    Authenticated(Address),
    /// Wrong password, unknown or disabled user: one answer for all.
    Failed,
    /// The verifier is overloaded or the store failed: try again later.
    Unavailable,
}

/// One verification request handed to a verify thread.
struct Job {
    username: String,
    password: Password,
    reply: tokio::sync::oneshot::Sender<AuthOutcome>,
}

/// Shared by every core; see the module docs.
pub struct Authenticator {
    /// `None` only while dropping: closing it is what stops the verify threads.
    queue: Option<SyncSender<Job>>,
    /// The verify threads, joined on drop: each holds a handle to the store, and a thread still
    /// closing RocksDB while the process exits aborts it (RocksDB's mutexes are gone by then).
    threads: Vec<std::thread::JoinHandle<()>>,
    cache: Mutex<HashMap<[u8; 64], CacheEntry>>,
    failures: Mutex<HashMap<FailureKey, FailureCount>>,
    mac_key: [u8; 64],
    config: AuthConfig,
}

struct CacheEntry {
    address: Address,
    expires: Instant,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum FailureKey {
    Ip(IpAddr),
    Account(String),
}

struct FailureCount {
    count: u32,
    last: Instant,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Drop for Authenticator {
    fn drop(&mut self) {
        // Closing the queue ends each thread after the verification it is doing, if any.
        self.queue.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Authenticator {
    /// Starts `threads` verify threads reading accounts from `store`.
    pub fn start(store: Store, config: AuthConfig, threads: usize) -> std::io::Result<Arc<Authenticator>> {
        let (queue, jobs) = sync_channel::<Job>(config.verify_queue);
        let jobs = Arc::new(Mutex::new(jobs));
        let mut handles = Vec::new();
        for i in 0..threads.max(1) {
            let jobs = Arc::clone(&jobs);
            let store = store.clone();
            let handle = std::thread::Builder::new().name(format!("auth-verify-{i}")).spawn(move || loop {
                let job = {
                    let receiver = jobs.lock().unwrap_or_else(|p| p.into_inner());
                    receiver.recv()
                };
                let Ok(job) = job else { return };
                let outcome = verify(&store, &job.username, &job.password);
                let _ = job.reply.send(outcome);
            })?;
            handles.push(handle);
        }
        let mut mac_key = [0u8; 64];
        getrandom::getrandom(&mut mac_key).map_err(std::io::Error::other)?;
        // Build the decoy hash now, not on the first unknown user (which would then be slower).
        let _ = storage::password::decoy_hash();
        Ok(Arc::new(Authenticator {
            queue: Some(queue),
            threads: handles,
            cache: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            mac_key,
            config,
        }))
    }

    /// Checks `username`/`password` for a client at `ip`. On failure the answer is delayed as the
    /// module docs say; the caller just awaits.
    pub async fn authenticate(&self, ip: IpAddr, username: &str, password: Password) -> AuthOutcome {
        let cache_key = self.cache_key(username, password.as_bytes());
        if let Some(address) = self.cached(&cache_key) {
            return AuthOutcome::Authenticated(address);
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job { username: username.to_string(), password, reply };
        let sent = match &self.queue {
            Some(queue) => queue.try_send(job),
            None => Err(TrySendError::Disconnected(job)),
        };
        let outcome = match sent {
            Ok(()) => answer.await.unwrap_or(AuthOutcome::Unavailable),
            Err(TrySendError::Full(_)) => {
                tracing::warn!("password verification queue full; answering with a temporary failure");
                AuthOutcome::Unavailable
            }
            Err(TrySendError::Disconnected(_)) => AuthOutcome::Unavailable,
        };
        match &outcome {
            AuthOutcome::Authenticated(address) => self.remember(cache_key, address.clone()),
            AuthOutcome::Failed => {
                let delay = self.record_failure(ip, username);
                tokio::time::sleep(delay).await;
            }
            AuthOutcome::Unavailable => {}
        }
        outcome
    }

    /// Forgets every cached verification of `address` (after its password changed or it was
    /// deleted).
    pub fn forget(&self, address: &Address) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|_, entry| &entry.address != address);
    }

    fn cache_key(&self, username: &str, password: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        #[allow(clippy::expect_used)] // reason: BLAKE2b accepts any key up to 64 bytes; ours is 64
        let mut mac = <Blake2bMac512 as KeyInit>::new_from_slice(&self.mac_key).expect("64-byte key");
        mac.update(&(username.len() as u64).to_be_bytes());
        mac.update(username.as_bytes());
        mac.update(password);
        out.copy_from_slice(&mac.finalize().into_bytes());
        out
    }

    fn cached(&self, key: &[u8; 64]) -> Option<Address> {
        if self.config.cache_ttl_secs == 0 {
            return None;
        }
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(key).filter(|e| e.expires > Instant::now()).map(|e| e.address.clone())
    }

    fn remember(&self, key: [u8; 64], address: Address) {
        if self.config.cache_ttl_secs == 0 {
            return;
        }
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHE_ENTRIES {
            cache.retain(|_, e| e.expires > now);
            if cache.len() >= MAX_CACHE_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(key, CacheEntry { address, expires: now + Duration::from_secs(self.config.cache_ttl_secs) });
    }

    /// Counts a failure for the address and the account tried, and returns how long the answer
    /// must wait.
    fn record_failure(&self, ip: IpAddr, username: &str) -> Duration {
        let now = Instant::now();
        let window = Duration::from_secs(self.config.failure_window_secs);
        let account = Address::parse(username).map(|a| a.to_string()).unwrap_or_else(|_| username.to_lowercase());
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() >= MAX_FAILURE_ENTRIES {
            failures.retain(|_, f| now.duration_since(f.last) < window);
        }
        let mut worst = 0;
        for key in [FailureKey::Ip(ip), FailureKey::Account(account)] {
            let entry = failures.entry(key).or_insert(FailureCount { count: 0, last: now });
            if now.duration_since(entry.last) >= window {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
            worst = worst.max(entry.count);
        }
        failure_delay(&self.config, worst)
    }
}

/// `failure_delay_ms × 2^(n-1)`, capped at `failure_delay_max_ms`.
pub fn failure_delay(config: &AuthConfig, failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let factor = 1u64 << (failures - 1).min(30);
    Duration::from_millis(config.failure_delay_ms.saturating_mul(factor).min(config.failure_delay_max_ms))
}

/// Runs on a verify thread: the store lookup and the argon2id check.
fn verify(store: &Store, username: &str, password: &Password) -> AuthOutcome {
    let account = match Address::parse(username) {
        Ok(address) => match store.account(&address) {
            Ok(account) => account,
            Err(e) => {
                tracing::error!(error = %e, "account lookup failed");
                return AuthOutcome::Unavailable;
            }
        },
        Err(_) => None,
    };
    match account {
        Some(account) if account.enabled => {
            if storage::password::verify(&account.password_hash, password.as_bytes()) {
                AuthOutcome::Authenticated(account.address)
            } else {
                AuthOutcome::Failed
            }
        }
        _ => {
            // Same work as a wrong password, so that timing does not tell which accounts exist.
            let _ = storage::password::verify(storage::password::decoy_hash(), password.as_bytes());
            AuthOutcome::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_doubles_and_caps() {
        let c = AuthConfig { failure_delay_ms: 500, failure_delay_max_ms: 15_000, ..AuthConfig::default() };
        let ms: Vec<u128> = (0..8).map(|n| failure_delay(&c, n).as_millis()).collect();
        assert_eq!(ms, [0, 500, 1000, 2000, 4000, 8000, 15000, 15000]);
        assert_eq!(failure_delay(&c, u32::MAX).as_millis(), 15000);
    }

    #[test]
    fn password_debug_is_redacted() {
        assert_eq!(format!("{:?}", Password::new(b"hunter2".to_vec())), "Password(<redacted>)");
    }
}
