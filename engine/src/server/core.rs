//! One core: a pinned thread running a tokio-uring runtime with its own listeners.

use super::listeners::CoreListeners;
use super::Shared;
use crate::io::starttls::StartTlsStream;
use crate::io::tls::TlsStream;
use crate::io::Transport;
use crate::mta::pool::LmtpPool;
use crate::session::{imap, smtp, SessionContext};
use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What every connection task of one core shares.
#[derive(Clone)]
struct CoreContext {
    core: usize,
    shared: Arc<Shared>,
    /// Connections open on this core (shutdown waits for them).
    active: Rc<Cell<usize>>,
    /// This core's LMTP connections to the MDA.
    mda: Rc<LmtpPool>,
}

impl CoreContext {
    /// The context of a session with `peer`; the MTA's services (submission, MX) get the MDA pool.
    fn session(
        &self,
        service: Option<Service>,
        peer: SocketAddr,
        shutdown: watch::Receiver<bool>,
        tls: Option<String>,
    ) -> SessionContext {
        let mta = matches!(service, Some(Service::Submissions | Service::Smtp));
        SessionContext {
            config: Arc::clone(&self.shared.config),
            auth: Arc::clone(&self.shared.auth),
            store: self.shared.store.clone(),
            peer,
            shutdown,
            tls,
            mda: mta.then(|| Rc::clone(&self.mda)),
        }
    }
}

/// The TCP services a core accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// IMAP over implicit TLS.
    Imaps,
    /// SMTP submission over implicit TLS.
    Submissions,
    /// SMTP for other MTAs (MX), plaintext with STARTTLS.
    Smtp,
    /// LMTP over TCP, plaintext, for an MTA on another host of a private network.
    LmtpTcp,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Imaps => "imaps",
            Service::Submissions => "submissions",
            Service::Smtp => "smtp",
            Service::LmtpTcp => "lmtp-tcp",
        }
    }
}

/// Thread body of core `core`: pins itself to `cpu`, then serves until shutdown.
pub fn run(
    core: usize,
    cpu: Option<usize>,
    listeners: CoreListeners,
    lmtp: Option<std::os::unix::net::UnixListener>,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    if let Some(cpu) = cpu {
        pin_to_cpu(cpu);
    }
    tokio_uring::start(async move {
        let active = Rc::new(Cell::new(0usize));
        let mda = Rc::new(LmtpPool::new(&shared.config));
        for (service, listener) in listeners {
            let listener = tokio_uring::net::TcpListener::from_std(listener);
            let core_ctx =
                CoreContext { core, shared: Arc::clone(&shared), active: Rc::clone(&active), mda: Rc::clone(&mda) };
            tokio_uring::spawn(accept_loop(core_ctx, service, listener, shutdown.clone()));
        }
        if core == 0 {
            let (shared, mda, shutdown) = (Arc::clone(&shared), Rc::clone(&mda), shutdown.clone());
            tokio_uring::spawn(async move {
                crate::mta::queue_runner::run(&shared.config, shared.store.mail(), &mda, shutdown).await;
            });
        }
        if let Some(lmtp) = lmtp {
            match tokio::net::UnixListener::from_std(lmtp) {
                Ok(listener) => {
                    let core_ctx = CoreContext {
                        core,
                        shared: Arc::clone(&shared),
                        active: Rc::clone(&active),
                        mda: Rc::clone(&mda),
                    };
                    tokio_uring::spawn(lmtp_accept_loop(core_ctx, listener, shutdown.clone()));
                }
                Err(e) => tracing::error!(core, error = %e, "cannot accept LMTP connections on this core"),
            }
        }
        let mut waiter = shutdown.clone();
        while !*waiter.borrow_and_update() {
            if waiter.changed().await.is_err() {
                break;
            }
        }
        // Sessions waiting for input say goodbye at once; commands in flight get the grace period.
        let deadline = Instant::now() + super::grace(&shared.config);
        while active.get() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if active.get() > 0 {
            tracing::warn!(core, connections = active.get(), "grace period over; closing remaining connections");
        }
    });
}

fn pin_to_cpu(cpu: usize) {
    // SAFETY: cpu_set_t is plain data; sched_setaffinity(0, ..) affects only the calling thread.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc != 0 {
        tracing::warn!(cpu, error = %std::io::Error::last_os_error(), "cannot pin thread to cpu");
    }
}

/// Waits for the next connection; `None` once shutdown begins. Accept errors (EMFILE and friends)
/// are logged and retried after a pause instead of spinning.
async fn next_connection<T>(
    core: usize,
    service: &str,
    shutdown: &mut watch::Receiver<bool>,
    mut accept: impl AsyncFnMut() -> std::io::Result<T>,
) -> Option<T> {
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.changed() => return None,
            accepted = accept() => accepted,
        };
        match accepted {
            Ok(connection) => return Some(connection),
            Err(e) => {
                tracing::warn!(core, service, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn accept_loop(
    cx: CoreContext,
    service: Service,
    listener: tokio_uring::net::TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    while let Some((stream, peer)) =
        next_connection(cx.core, service.name(), &mut shutdown, async || listener.accept().await).await
    {
        let _ = stream.set_nodelay(true);
        cx.active.set(cx.active.get() + 1);
        let cx = cx.clone();
        let shutdown = shutdown.clone();
        tokio_uring::spawn(async move {
            if matches!(service, Service::Smtp | Service::LmtpTcp) {
                serve_plain_connection(&cx, service, stream, peer, shutdown).await;
            } else {
                serve_connection(&cx, service, stream, peer, shutdown).await;
            }
            cx.active.set(cx.active.get() - 1);
        });
    }
}

/// Serves one connection that starts in plaintext: MX (TLS after STARTTLS) or LMTP over TCP.
async fn serve_plain_connection(
    cx: &CoreContext,
    service: Service,
    stream: tokio_uring::net::TcpStream,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
) {
    let (core, shared) = (cx.core, &*cx.shared);
    let started = Instant::now();
    let permit = shared.limiter.acquire(peer.ip());
    // LMTP over TCP is unauthenticated: loopback and the configured networks only.
    let allowed = service != Service::LmtpTcp
        || mailgenic_config::lmtp_client_allowed(&shared.config.listen.lmtp_tcp_allow, peer.ip());
    let tls_config = Arc::clone(&shared.certs.current().smtp);
    let handshake = Duration::from_secs(shared.config.timeouts.tls_handshake_secs);
    let mut mx = if service == Service::Smtp {
        StartTlsStream::new(stream, tls_config, handshake)
    } else {
        StartTlsStream::plain(stream)
    };
    let ctx = cx.session(Some(service), peer, shutdown, None);
    let result = if !allowed {
        mx.write_all(b"421 4.7.1 LMTP is not offered to your address\r\n").await.map(|()| None)
    } else if permit.is_none() {
        mx.write_all(b"421 4.7.0 Too many connections from your address\r\n").await.map(|()| None)
    } else if service == Service::Smtp {
        smtp::serve_mx(&mut mx, &ctx).await
    } else {
        smtp::serve_lmtp(&mut mx, &ctx).await
    };
    mx.close().await;
    let error = result.err().map(|e| e.to_string()).unwrap_or_default();
    let (tls, cipher, bytes_in, bytes_out) = match mx.tls() {
        Some(t) => (t.protocol_version(), t.cipher_suite(), t.bytes_in, t.bytes_out),
        None => ("none", String::new(), 0, 0),
    };
    tracing::info!(
        %peer,
        service = service.name(),
        core,
        tls,
        cipher = %cipher,
        duration_ms = started.elapsed().as_millis() as u64,
        bytes_in = bytes_in + mx.plain_bytes_in,
        bytes_out = bytes_out + mx.plain_bytes_out,
        error,
        refused = permit.is_none() || !allowed,
        "connection closed"
    );
}

/// Accepts LMTP connections on this core's clone of the UNIX socket.
async fn lmtp_accept_loop(cx: CoreContext, listener: tokio::net::UnixListener, mut shutdown: watch::Receiver<bool>) {
    let core = cx.core;
    while let Some((mut stream, _)) =
        next_connection(core, "lmtp", &mut shutdown, async || listener.accept().await).await
    {
        cx.active.set(cx.active.get() + 1);
        // A local socket has no peer address; the Received field then names none.
        let ctx = cx.session(None, SocketAddr::from(([0, 0, 0, 0], 0)), shutdown.clone(), None);
        let active = Rc::clone(&cx.active);
        tokio_uring::spawn(async move {
            let started = Instant::now();
            let result = smtp::serve_lmtp(&mut stream, &ctx).await;
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
            let error = result.err().map(|e| e.to_string()).unwrap_or_default();
            tracing::info!(
                service = "lmtp",
                core,
                duration_ms = started.elapsed().as_millis() as u64,
                error,
                "connection closed"
            );
            active.set(active.get() - 1);
        });
    }
}

async fn serve_connection(
    cx: &CoreContext,
    service: Service,
    stream: tokio_uring::net::TcpStream,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
) {
    let (core, shared) = (cx.core, &*cx.shared);
    let started = Instant::now();
    let permit = shared.limiter.acquire(peer.ip());
    let configs = shared.certs.current();
    let tls_config = match service {
        Service::Imaps => Arc::clone(&configs.imap),
        Service::Submissions | Service::Smtp | Service::LmtpTcp => Arc::clone(&configs.smtp),
    };
    drop(configs);
    let handshake = Duration::from_secs(shared.config.timeouts.tls_handshake_secs);
    let mut tls = match TlsStream::accept(stream, tls_config, handshake).await {
        Ok(tls) => tls,
        Err(e) => {
            tracing::info!(%peer, service = service.name(), core, error = %e, "TLS handshake failed");
            return;
        }
    };
    let ctx =
        cx.session(Some(service), peer, shutdown, Some(format!("{} {}", tls.protocol_version(), tls.cipher_suite())));
    let result = if permit.is_none() {
        let refusal: &[u8] = match service {
            Service::Imaps => b"* BYE [UNAVAILABLE] Too many connections from your address\r\n",
            Service::Submissions | Service::Smtp | Service::LmtpTcp => {
                b"421 4.7.0 Too many connections from your address\r\n"
            }
        };
        tls.write_all(refusal).await.map(|()| None)
    } else {
        match service {
            Service::Imaps => imap::serve(&mut tls, &ctx).await,
            Service::Submissions => smtp::serve_submission(&mut tls, &ctx).await,
            // accept_loop hands the plaintext-first services to serve_plain_connection.
            Service::Smtp | Service::LmtpTcp => Ok(None),
        }
    };
    tls.close().await;
    let user = match &result {
        Ok(Some(user)) => user.to_string(),
        _ => String::new(),
    };
    let error = result.err().map(|e| e.to_string()).unwrap_or_default();
    tracing::info!(
        %peer,
        service = service.name(),
        core,
        tls = tls.protocol_version(),
        cipher = %tls.cipher_suite(),
        user,
        duration_ms = started.elapsed().as_millis() as u64,
        bytes_in = tls.bytes_in,
        bytes_out = tls.bytes_out,
        error,
        refused = permit.is_none(),
        "connection closed"
    );
}
