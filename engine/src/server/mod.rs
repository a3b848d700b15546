//! Start-up, the per-core runtimes, and shutdown.
//!
//! ```text
//!  main thread: lock data_dir ─► load TLS ─► bind every listener once per core (SO_REUSEPORT)
//!               ─► drop privileges ─► open the store ─► start auth threads and the admin socket
//!               ─► start one pinned thread per core ─► wait for signals
//!                   SIGHUP: reload the certificate      SIGTERM/SIGINT: shutdown
//!  core thread: tokio-uring runtime; accept loops for its own listeners; one task per connection
//!               that lives its whole life on this core
//!  shutdown:    stop accepting; sessions waiting for input send `* BYE` / `421 4.3.2`; commands in
//!               flight finish; after `shutdown_grace_secs` the runtimes are dropped; exit 0
//! ```
//!
//! The kernel spreads new connections over the cores' listeners (SO_REUSEPORT hashing), so there is
//! no shared accept queue and no lock on the per-connection path. The lock file in `data_dir` makes a
//! second server on the same store fail at once, before it could share our ports.

mod core;
mod limits;
mod listeners;
mod privileges;

use crate::admin;
use crate::auth::Authenticator;
use crate::io::certs::CertStore;
use anyhow::{bail, Context};
use mailgenic_config::Config;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;
use storage::Store;

pub use self::core::Service;
pub use limits::ConnectionLimiter;

/// Everything the cores share, read-only or internally synchronised.
#[derive(Debug)]
pub struct Shared {
    pub config: Arc<Config>,
    pub auth: Arc<Authenticator>,
    pub store: Store,
    pub certs: Arc<CertStore>,
    pub limiter: ConnectionLimiter,
}

/// Runs the server until SIGTERM or SIGINT; returns once it has shut down.
pub fn serve(config: Config) -> anyhow::Result<()> {
    let config = Arc::new(config);
    // Signal handlers first: a SIGTERM that arrives during start-up must still end in a clean exit.
    let signals = Signals::install()?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
    let _lock = lock_data_dir(&config)?;
    let certs = Arc::new(CertStore::load(&config).context("cannot load the TLS certificate")?);
    let cores = config.core_count();
    let bound = listeners::bind_all(&config, cores)?;
    privileges::drop_to(&config)?;
    let store = crate::open_store(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let verify_threads = if config.auth.verify_threads == 0 { cores } else { config.auth.verify_threads };
    let auth = Authenticator::start(store.clone(), config.auth.clone(), verify_threads)?;
    let lmtp = bind_lmtp(&config)?;
    let admin_socket = admin::start_server(&config.listen.admin_socket, store.clone(), Arc::clone(&auth))?;
    let shared = Arc::new(Shared {
        config: Arc::clone(&config),
        auth,
        store: store.clone(),
        certs: Arc::clone(&certs),
        limiter: ConnectionLimiter::new(config.limits.max_connections_per_ip),
    });
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let cpus = allowed_cpus();
    let mut threads = Vec::with_capacity(cores);
    for (core, listeners) in bound.into_iter().enumerate() {
        let shared = Arc::clone(&shared);
        let shutdown = shutdown_rx.clone();
        let cpu = cpus.get(core % cpus.len().max(1)).copied();
        let lmtp = lmtp.as_ref().map(std::os::unix::net::UnixListener::try_clone).transpose()?;
        threads.push(
            std::thread::Builder::new()
                .name(format!("core-{core}"))
                .spawn(move || self::core::run(core, cpu, listeners, lmtp, shared, shutdown))?,
        );
    }
    tracing::info!(cores, data_dir = %config.data_dir.display(), "mailgenic started");
    signals.wait(&certs)?;
    tracing::info!(grace_secs = config.timeouts.shutdown_grace_secs, "shutting down");
    let _ = shutdown_tx.send(true);
    for thread in threads {
        if thread.join().is_err() {
            tracing::error!("a core thread panicked");
        }
    }
    let _ = std::fs::remove_file(&admin_socket);
    if lmtp.is_some() {
        let _ = std::fs::remove_file(&config.listen.lmtp_socket);
    }
    tracing::info!("stopped");
    Ok(())
}

/// Binds the LMTP UNIX socket (after privileges are dropped, so the file belongs to the service
/// user); every core accepts on a clone of it.
fn bind_lmtp(config: &Config) -> anyhow::Result<Option<std::os::unix::net::UnixListener>> {
    let path = &config.listen.lmtp_socket;
    if path.as_os_str().is_empty() {
        return Ok(None);
    }
    let listener =
        crate::io::unix::bind(path).with_context(|| format!("cannot bind LMTP socket {}", path.display()))?;
    tracing::info!(service = "lmtp", path = %path.display(), "listening");
    Ok(Some(listener))
}

/// Takes an exclusive `flock` on `data_dir/mailgenic.lock` for the life of the process and writes
/// our PID into it, so a second server names the first.
fn lock_data_dir(config: &Config) -> anyhow::Result<File> {
    let path = config.lock_path();
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: flock on a descriptor we own; it does not touch memory.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let holder = std::fs::read_to_string(&path).unwrap_or_default();
        bail!(
            "another mailgenic server (pid {}) is already running with data_dir {}; stop it first",
            holder.trim(),
            config.data_dir.display()
        );
    }
    file.set_len(0)?;
    writeln!(file, "{}", std::process::id())?;
    Ok(file)
}

/// The CPUs this process may run on, in order (respects taskset and cgroups).
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it for this process.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize).filter(|&cpu| libc::CPU_ISSET(cpu, &set)).collect()
    }
}

/// The process's signal handlers, installed before anything else starts.
struct Signals {
    runtime: tokio::runtime::Runtime,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let _entered = runtime.enter();
        let term = signal(SignalKind::terminate())?;
        let int = signal(SignalKind::interrupt())?;
        let hup = signal(SignalKind::hangup())?;
        drop(_entered);
        Ok(Signals { runtime, term, int, hup })
    }

    /// Blocks until SIGTERM or SIGINT, reloading the certificate on every SIGHUP.
    fn wait(mut self, certs: &CertStore) -> anyhow::Result<()> {
        let Signals { runtime, term, int, hup } = &mut self;
        runtime.block_on(async {
            loop {
                tokio::select! {
                    _ = term.recv() => return Ok(()),
                    _ = int.recv() => return Ok(()),
                    _ = hup.recv() => match certs.reload() {
                        Ok(()) => tracing::info!(cert = %certs.cert_path().display(), "certificate reloaded"),
                        Err(e) => tracing::error!(error = %e, "certificate reload failed; keeping the old one"),
                    },
                }
            }
        })
    }
}

/// How long the cores wait for in-flight work after shutdown begins.
pub fn grace(config: &Config) -> Duration {
    Duration::from_secs(config.timeouts.shutdown_grace_secs)
}
