//! Test support: an in-memory transport and a transcript runner.
//!
//! A transcript is a list of `C: ` lines (client sends, CRLF appended) and `S: ` lines (the server
//! must send a line that matches; a trailing `*` matches any rest of the line). `P: ` lines send
//! several commands in one chunk, each written with a literal `\r\n` after it. Lines are replayed
//! in order against a session running on the same thread, the way a client would talk to it.

use crate::auth::Authenticator;
use crate::io::Transport;
use crate::session::SessionContext;
use mailgenic_config::Config;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use storage::{Address, Domain, Store};
use tokio::sync::{mpsc, watch};

/// The server's end of an in-memory connection.
#[derive(Debug)]
pub struct PipeTransport {
    incoming: mpsc::UnboundedReceiver<Vec<u8>>,
    outgoing: mpsc::UnboundedSender<Vec<u8>>,
    /// A chunk received by `readable` and not yet handed to `read` (`Some(empty)` is end of stream).
    ready: Option<Vec<u8>>,
}

/// The client's end.
#[derive(Debug)]
pub struct PipeClient {
    to_server: Option<mpsc::UnboundedSender<Vec<u8>>>,
    from_server: mpsc::UnboundedReceiver<Vec<u8>>,
    pending: Vec<u8>,
    /// How many writes of the server have arrived (to check output batching).
    pub writes_seen: usize,
}

pub fn pipe() -> (PipeTransport, PipeClient) {
    let (to_server, incoming) = mpsc::unbounded_channel();
    let (outgoing, from_server) = mpsc::unbounded_channel();
    (
        PipeTransport { incoming, outgoing, ready: None },
        PipeClient { to_server: Some(to_server), from_server, pending: Vec::new(), writes_seen: 0 },
    )
}

impl Transport for PipeTransport {
    async fn read(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        if let Some(bytes) = self.ready.take() {
            buf.extend_from_slice(&bytes);
            return Ok(bytes.len());
        }
        match self.incoming.recv().await {
            Some(bytes) => {
                buf.extend_from_slice(&bytes);
                Ok(bytes.len())
            }
            None => Ok(0),
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.outgoing.send(data.to_vec()).map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }

    async fn readable(&mut self) -> io::Result<()> {
        if self.ready.is_none() {
            // `recv` is cancel-safe: a chunk is either taken and kept, or left in the channel.
            self.ready = Some(self.incoming.recv().await.unwrap_or_default());
        }
        Ok(())
    }

    /// A pretend upgrade: the pipe stays as it is, the session believes TLS is up.
    async fn start_tls(&mut self) -> io::Result<String> {
        Ok("TLSv1.3 TEST_PIPE".into())
    }
}

impl PipeClient {
    pub fn send(&mut self, bytes: &[u8]) {
        if let Some(tx) = &self.to_server {
            let _ = tx.send(bytes.to_vec());
        }
    }

    /// Closes the client's sending side (the server reads end of stream).
    pub fn close(&mut self) {
        self.to_server = None;
    }

    /// The next line from the server (CRLF stripped), or `None` once the server has hung up.
    pub async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                let text = String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_string();
                return Some(text);
            }
            match tokio::time::timeout(Duration::from_secs(10), self.from_server.recv()).await {
                Ok(Some(bytes)) => {
                    self.writes_seen += 1;
                    self.pending.extend_from_slice(&bytes);
                }
                Ok(None) => return None,
                Err(_) => panic!("server sent no line within 10 s; have {:?}", String::from_utf8_lossy(&self.pending)),
            }
        }
    }

    /// Everything the server writes until it drops its end.
    pub async fn read_all(&mut self) -> Vec<u8> {
        let mut all = std::mem::take(&mut self.pending);
        while let Some(bytes) = self.from_server.recv().await {
            self.writes_seen += 1;
            all.extend_from_slice(&bytes);
        }
        all
    }

    /// Replays a transcript (see the module docs).
    pub async fn replay(&mut self, transcript: &str) {
        for raw in transcript.lines() {
            let line = raw.trim_start();
            if let Some(c) = line.strip_prefix("C: ") {
                self.send(format!("{c}\r\n").as_bytes());
            } else if let Some(p) = line.strip_prefix("P: ") {
                // Pipelined: the text with each `\r\n` written out, sent in one chunk.
                self.send(p.replace("\\r\\n", "\r\n").as_bytes());
            } else if let Some(expected) = line.strip_prefix("S: ") {
                let got = self.line().await.unwrap_or_else(|| panic!("connection closed, expected {expected:?}"));
                let ok = match expected.strip_suffix('*') {
                    Some(prefix) => got.starts_with(prefix),
                    None => got == expected,
                };
                assert!(ok, "expected {expected:?}, got {got:?}");
            } else if line == "CLOSED" {
                assert_eq!(self.line().await, None, "server should have closed the connection");
            }
        }
    }
}

/// A server-side world for session tests: a real store in a temporary directory with one domain
/// and account, and an authenticator with short failure delays.
pub struct World {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub ctx: SessionContext,
    pub shutdown: watch::Sender<bool>,
}

pub const USER: &str = "alice@example.test";
pub const PASSWORD: &str = "correct horse battery staple";

impl World {
    pub fn new(extra_config: &str) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let text = format!(
            "hostname = \"mail.example.test\"\ndata_dir = \"data\"\n[auth]\nfailure_delay_ms = 5\nfailure_delay_max_ms = 20\n{extra_config}"
        );
        let config = Config::from_toml(&text, &dir.path().join("test.toml")).expect("test config");
        let store = crate::open_store(&config).expect("store");
        store.add_domain(&Domain::parse("example.test").expect("domain")).expect("add domain");
        let hash = storage::password::hash(PASSWORD.as_bytes()).expect("hash");
        store.add_account(&Address::parse(USER).expect("address"), &hash).expect("add account");
        let auth = Authenticator::start(store.clone(), config.auth.clone(), 1).expect("authenticator");
        let (shutdown, shutdown_rx) = watch::channel(false);
        let ctx = SessionContext {
            config: Arc::new(config),
            auth,
            store: store.clone(),
            peer: "192.0.2.7:50000".parse().expect("peer"),
            shutdown: shutdown_rx,
            tls: Some("TLSv1.3 TLS13_AES_256_GCM_SHA384".into()),
            mda: None,
        };
        World { dir, store, ctx, shutdown }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The MDA's socket in this world (see [`World::spawn_mda`]).
    pub fn mda_socket(&self) -> std::path::PathBuf {
        self.dir.path().join("lmtp.sock")
    }

    /// The MTA's view of this world: the context with a pool of LMTP connections to
    /// [`World::mda_socket`]. Needs a runtime (the pool is built on the caller's thread).
    pub fn mta_ctx(&self) -> SessionContext {
        let mut config = (*self.ctx.config).clone();
        config.smtp.lmtp_target = self.mda_socket().to_string_lossy().into_owned();
        let mut ctx = self.ctx.clone();
        ctx.mda = Some(std::rc::Rc::new(crate::mta::pool::LmtpPool::new(&config)));
        ctx
    }

    /// Serves the real LMTP session (the MDA) on [`World::mda_socket`] from a task of the current
    /// `LocalSet`, for as long as that runs.
    pub fn spawn_mda(&self) {
        let path = self.mda_socket();
        let _ = std::fs::remove_file(&path);
        let listener = tokio::net::UnixListener::bind(&path).expect("bind the MDA socket");
        let ctx = self.ctx.clone();
        tokio::task::spawn_local(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut ctx = ctx.clone();
                ctx.peer = "0.0.0.0:0".parse().expect("no address");
                ctx.tls = None;
                tokio::task::spawn_local(async move {
                    let _ = crate::session::smtp::serve_lmtp(&mut stream, &ctx).await;
                });
            }
        });
    }
}
