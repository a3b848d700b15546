//! FETCH response encoding: a whole IMAP session answering `UID FETCH 1:* (FLAGS ENVELOPE
//! BODYSTRUCTURE)` over 10,000 messages (store read, sequence map, response encoding, output in
//! 64 KiB writes) against the baseline of the store's metadata read alone, which that FETCH
//! starts with. The ratio is what the session and its encoder add on top of the store.
//!
//! The session runs over an in-memory transport that counts the bytes written, so no socket or
//! TLS cost is in either figure.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engine::io::Transport;
use engine::session::SessionContext;
use std::io;
use std::sync::Arc;
use storage::mail::{NewMessage, UidSet};
use storage::{Address, Domain, Store};
use tokio::sync::{mpsc, watch};

const USER: &str = "alice@example.test";
const PASSWORD: &str = "bench password";

const MESSAGES: usize = 10_000;

/// The session's end: commands come from the bench, replies are counted and not kept.
struct CountingTransport {
    commands: mpsc::UnboundedReceiver<Vec<u8>>,
    /// Told the bytes written so far each time a tagged reply ends a write.
    done: mpsc::UnboundedSender<usize>,
    written: usize,
}

impl Transport for CountingTransport {
    async fn read(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        match self.commands.recv().await {
            Some(command) => {
                buf.extend_from_slice(&command);
                Ok(command.len())
            }
            None => Ok(0),
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.written += data.len();
        if data.ends_with(b"completed\r\n") || data.ends_with(b"Logged in\r\n") {
            let _ = self.done.send(std::mem::take(&mut self.written));
        }
        Ok(())
    }
}

fn message(n: usize) -> NewMessage {
    let mut body = format!(
        "From: Sender {n} <sender{n}@remote.test>\r\nTo: Alice <alice@example.test>\r\n\
         Cc: team@example.test\r\nSubject: =?utf-8?q?Status_report_n=C2=BA_{n}?=\r\n\
         Date: Fri, 4 Dec 2026 09:00:00 +0000\r\nMessage-ID: <{n}@remote.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"b{n}\"\r\n\r\n--b{n}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nThe report.\r\n--b{n}\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n<p>The report.</p>\r\n--b{n}--\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&[b'x'; 1024]);
    NewMessage { prefix: Vec::new(), body, flags: Default::default(), internal_date: 1_700_000_000 }
}

/// A store with one account, and the context an IMAP session on it needs.
fn context(dir: &std::path::Path) -> (SessionContext, watch::Sender<bool>) {
    let text = "hostname = \"bench.example.test\"\ndata_dir = \"data\"\n";
    let config = mailgenic_config::Config::from_toml(text, &dir.join("bench.toml")).expect("config");
    let store = Store::open(&config.store_path()).expect("store");
    store.add_domain(&Domain::parse("example.test").expect("domain")).expect("add domain");
    let hash = storage::password::hash(PASSWORD.as_bytes()).expect("hash");
    store.add_account(&Address::parse(USER).expect("address"), &hash).expect("add account");
    let auth = engine::auth::Authenticator::start(store.clone(), config.auth.clone(), 1).expect("authenticator");
    let (shutdown, shutdown_rx) = watch::channel(false);
    let ctx = SessionContext {
        config: Arc::new(config),
        auth,
        store,
        peer: "192.0.2.7:50000".parse().expect("peer"),
        shutdown: shutdown_rx,
        tls: Some("TLSv1.3 TLS13_AES_256_GCM_SHA384".into()),
        mda: None,
    };
    (ctx, shutdown)
}

fn fetch(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (ctx, _shutdown) = context(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let local = tokio::task::LocalSet::new();
    let mail = ctx.store.mail();
    let account = Address::parse(USER).expect("address");
    for start in (0..MESSAGES).step_by(1000) {
        let batch = (start..start + 1000).map(message).collect();
        rt.block_on(mail.append_all(&account, "INBOX", batch)).expect("append");
    }
    let (to_session, commands) = mpsc::unbounded_channel();
    let (done, mut replies) = mpsc::unbounded_channel();
    local.spawn_local(async move {
        let mut transport = CountingTransport { commands, done, written: 0 };
        let _ = engine::session::imap::serve(&mut transport, &ctx).await;
    });
    let mut ask = |command: String| -> usize {
        to_session.send(command.into_bytes()).expect("session alive");
        local.block_on(&rt, replies.recv()).expect("a reply")
    };
    let login = base64_plain(USER, PASSWORD);
    ask(format!("l AUTHENTICATE PLAIN {login}\r\n"));
    ask("s SELECT INBOX\r\n".into());
    let bytes = ask("f UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)\r\n".into());
    assert!(bytes > MESSAGES * 300, "a FETCH answer for every message: {bytes} bytes");

    let mut group = c.benchmark_group("fetch_response_10k");
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.sample_size(10);
    group.bench_function("session_uid_fetch_flags_envelope_bodystructure", |b| {
        b.iter(|| ask("f UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)\r\n".into()))
    });
    group.bench_function("baseline_store_fetch_meta_only", |b| {
        b.iter(|| rt.block_on(mail.fetch_meta(&account, "INBOX", UidSet::all())).expect("fetch").len())
    });
    group.finish();
}

/// SASL PLAIN's initial response for `user`/`password`.
fn base64_plain(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}

criterion_group!(benches, fetch);
criterion_main!(benches);
