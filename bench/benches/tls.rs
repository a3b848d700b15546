//! The TLS record path: the engine's `TlsRecords` (the code `TlsStream` runs in production, driven
//! here over in-memory pipes instead of a socket) against the baseline of rustls's own
//! `rustls::Stream` over the same pipes, the straightforward generic way to put rustls on a
//! socket. A rustls client on the other end does the same work in both.
//!
//! - `reply_*`: the server sends a FETCH-sized reply stream, 4 MiB in 64 KiB writes; the client
//!   decrypts it. Engine: encrypt, then each send copies one owned buffer holding the queued
//!   records into the pipe. Baseline: `Stream::write_all`, rustls writing its records straight into
//!   the pipe (vectored, as into a socket).
//! - `upload_*`: the client sends a 10 MiB APPEND literal in 16 KiB pieces; the server takes the
//!   plaintext out. Engine: reads of up to the adaptive read buffer (2 to 64 KiB), fed to rustls as
//!   the session takes plaintext, appended to the session's input buffer. Baseline: `Stream::read`
//!   into a 64 KiB buffer, rustls reading the pipe into its own buffer
//!   (up to a record, about 16 KiB, at a time).
//!
//! Each pipe holds up to 256 KiB (about a socket buffer) before the other end drains it. The
//! throughput is plaintext bytes. Before measuring, the bench prints how many writes and reads
//! each side made on the pipes: the syscalls (or io_uring operations) a socket would have seen.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use engine::io::tls::{Step, TlsRecords};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConnection, ServerConnection};
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

const REPLY_BYTES: usize = 4 * 1024 * 1024;
const REPLY_WRITE_BYTES: usize = 64 * 1024;
const UPLOAD_BYTES: usize = 10 * 1024 * 1024;
const UPLOAD_PIECE_BYTES: usize = 16 * 1024;
/// What a pipe holds before its reader drains it.
const PIPE_BYTES: usize = 256 * 1024;

/// One direction of an in-memory connection: bytes written and not yet read.
#[derive(Default)]
struct Pipe {
    bytes: Vec<u8>,
    read_pos: usize,
    /// Writes and reads made, as a socket would count its syscalls.
    writes: u64,
    reads: u64,
}

impl Pipe {
    fn len(&self) -> usize {
        self.bytes.len() - self.read_pos
    }

    fn send(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        self.writes += 1;
    }

    /// Reads up to `n` bytes, as a socket read into an `n`-byte buffer would.
    fn read_up_to(&mut self, n: usize) -> &[u8] {
        self.reads += 1;
        let start = self.read_pos;
        self.read_pos += n.min(self.len());
        &self.bytes[start..self.read_pos]
    }

    /// Empties the backing buffer once everything was read, keeping its allocation.
    fn compact(&mut self) {
        if self.read_pos == self.bytes.len() {
            self.bytes.clear();
            self.read_pos = 0;
        }
    }

    fn counts(&mut self) -> (u64, u64) {
        (std::mem::take(&mut self.writes), std::mem::take(&mut self.reads))
    }
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.len() == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let data = self.read_up_to(buf.len());
        buf[..data.len()].copy_from_slice(data);
        let n = data.len();
        self.compact();
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf);
        Ok(buf.len())
    }

    /// One write for all slices, as `writev` on a socket.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.writes += 1;
        let mut n = 0;
        for buf in bufs {
            self.bytes.extend_from_slice(buf);
            n += buf.len();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The baseline server's socket: its two pipes.
#[derive(Default)]
struct Socket {
    rx: Pipe,
    tx: Pipe,
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.rx.read(buf)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.tx.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn configs() -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let cert = generated.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.key_pair.serialize_der()));
    // The versions, provider and suites of the engine's own configs (`engine/src/io/certs.rs`).
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .expect("server config");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("root");
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

fn client(config: &Arc<rustls::ClientConfig>) -> ClientConnection {
    ClientConnection::new(Arc::clone(config), ServerName::try_from("localhost").expect("name")).expect("client")
}

/// The client's end: sends what it has queued.
fn client_send(client: &mut ClientConnection, to_server: &mut Pipe) {
    while client.wants_write() {
        client.write_tls(to_server).expect("client write_tls");
    }
}

/// The client's end: decrypts everything in the pipe, returns the plaintext bytes (not kept).
fn client_receive(client: &mut ClientConnection, from_server: &mut Pipe, sink: &mut [u8]) -> usize {
    let mut total = 0;
    while from_server.len() > 0 {
        client.read_tls(from_server).expect("client read_tls");
        client.process_new_packets().expect("client decrypts");
        loop {
            match client.reader().read(sink) {
                Ok(n) => total += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("client read: {e}"),
            }
        }
    }
    total
}

/// The engine's end, driven the way `TlsStream` drives it on a socket.
struct EngineEnd {
    records: TlsRecords,
    rx: Pipe,
    tx: Pipe,
}

impl EngineEnd {
    fn send(&mut self) {
        while let Some(out) = self.records.take_outgoing().expect("write_tls") {
            self.tx.send(&out);
            self.records.sent(out);
        }
    }

    /// A socket read into the records' buffer; false when the pipe is empty (a read would wait).
    fn receive(&mut self) -> bool {
        if self.rx.len() == 0 {
            return false;
        }
        let mut buf = self.records.read_buffer();
        let room = buf.capacity();
        buf.extend_from_slice(self.rx.read_up_to(room));
        self.rx.compact();
        self.records.received(buf);
        true
    }

    /// `Transport::read`: plaintext appended to `input`, or `None` when it would wait.
    fn read(&mut self, input: &mut Vec<u8>) -> Option<usize> {
        loop {
            match self.records.read_step(input).expect("read step") {
                Step::Ready(n) => return Some(n),
                Step::Send => self.send(),
                Step::Receive => {
                    if !self.receive() {
                        return None;
                    }
                }
            }
        }
    }

    fn connect(server: &Arc<rustls::ServerConfig>, client: &mut ClientConnection) -> EngineEnd {
        let mut end = EngineEnd {
            records: TlsRecords::new(Arc::clone(server)).expect("records"),
            rx: Pipe::default(),
            tx: Pipe::default(),
        };
        loop {
            client_send(client, &mut end.rx);
            let done = loop {
                match end.records.handshake_step().expect("handshake") {
                    Step::Ready(_) => {
                        end.send();
                        break true;
                    }
                    Step::Send => end.send(),
                    Step::Receive => {
                        if !end.receive() {
                            break false;
                        }
                    }
                }
            };
            client_receive(client, &mut end.tx, &mut [0; 1024]);
            if done && !client.is_handshaking() {
                break;
            }
        }
        end.tx.counts();
        end.rx.counts();
        end
    }
}

/// rustls on its own, with the same pipes for its socket.
struct BaselineEnd {
    conn: ServerConnection,
    socket: Socket,
}

impl BaselineEnd {
    fn stream(&mut self) -> rustls::Stream<'_, ServerConnection, Socket> {
        rustls::Stream::new(&mut self.conn, &mut self.socket)
    }

    fn connect(server: &Arc<rustls::ServerConfig>, client: &mut ClientConnection) -> BaselineEnd {
        let conn = ServerConnection::new(Arc::clone(server)).expect("server");
        let mut end = BaselineEnd { conn, socket: Socket::default() };
        while client.is_handshaking() || end.conn.is_handshaking() {
            client_send(client, &mut end.socket.rx);
            while end.socket.rx.len() > 0 {
                end.conn.read_tls(&mut end.socket).expect("server read_tls");
                end.conn.process_new_packets().expect("server handshake");
            }
            while end.conn.wants_write() {
                end.conn.write_tls(&mut end.socket).expect("server write_tls");
            }
            client_receive(client, &mut end.socket.tx, &mut [0; 1024]);
        }
        end.socket.tx.counts();
        end.socket.rx.counts();
        end
    }
}

/// Server → client: the reply stream, through the engine's records or through `rustls::Stream`.
fn reply_engine(end: &mut EngineEnd, client: &mut ClientConnection, reply: &[u8], sink: &mut [u8]) -> usize {
    let mut seen = 0;
    for write in reply.chunks(REPLY_WRITE_BYTES) {
        end.records.encrypt(write).expect("encrypt");
        end.send();
        if end.tx.len() >= PIPE_BYTES {
            seen += client_receive(client, &mut end.tx, sink);
        }
    }
    seen + client_receive(client, &mut end.tx, sink)
}

fn reply_baseline(end: &mut BaselineEnd, client: &mut ClientConnection, reply: &[u8], sink: &mut [u8]) -> usize {
    let mut seen = 0;
    for write in reply.chunks(REPLY_WRITE_BYTES) {
        end.stream().write_all(write).expect("write");
        if end.socket.tx.len() >= PIPE_BYTES {
            seen += client_receive(client, &mut end.socket.tx, sink);
        }
    }
    seen + client_receive(client, &mut end.socket.tx, sink)
}

/// Client → server: the upload, taken out by the engine's records or by `rustls::Stream`.
fn upload_engine(end: &mut EngineEnd, client: &mut ClientConnection, upload: &[u8], input: &mut Vec<u8>) -> usize {
    let mut taken = 0;
    let mut drain = |end: &mut EngineEnd| {
        while let Some(n) = end.read(input) {
            taken += n;
            // The session consumes its input.
            input.clear();
        }
    };
    for piece in upload.chunks(UPLOAD_PIECE_BYTES) {
        client.writer().write_all(piece).expect("client encrypts");
        client_send(client, &mut end.rx);
        if end.rx.len() >= PIPE_BYTES {
            drain(end);
        }
    }
    drain(end);
    taken
}

fn upload_baseline(end: &mut BaselineEnd, client: &mut ClientConnection, upload: &[u8], input: &mut [u8]) -> usize {
    let mut taken = 0;
    let mut drain = |end: &mut BaselineEnd| loop {
        match end.stream().read(input) {
            Ok(0) => panic!("the client closed"),
            Ok(n) => taken += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("server read: {e}"),
        }
    };
    for piece in upload.chunks(UPLOAD_PIECE_BYTES) {
        client.writer().write_all(piece).expect("client encrypts");
        client_send(client, &mut end.socket.rx);
        if end.socket.rx.len() >= PIPE_BYTES {
            drain(end);
        }
    }
    drain(end);
    taken
}

fn bench_tls(c: &mut Criterion) {
    let (server, client_config) = configs();
    let reply: Vec<u8> = (0..REPLY_BYTES).map(|i| (i % 251) as u8).collect();
    let upload: Vec<u8> = (0..UPLOAD_BYTES).map(|i| (i % 253) as u8).collect();
    let mut sink = vec![0; 64 * 1024];
    let mut input = Vec::new();

    let (mut engine_client, mut baseline_client) = (client(&client_config), client(&client_config));
    let mut engine = EngineEnd::connect(&server, &mut engine_client);
    let mut baseline = BaselineEnd::connect(&server, &mut baseline_client);
    eprintln!("tls: {} {}", engine.records.protocol_version(), engine.records.cipher_suite());

    // One run of each outside the measurement: both sides must deliver every byte, and the pipes'
    // counts say what a socket would have seen.
    assert_eq!(reply_engine(&mut engine, &mut engine_client, &reply, &mut sink), REPLY_BYTES);
    assert_eq!(reply_baseline(&mut baseline, &mut baseline_client, &reply, &mut sink), REPLY_BYTES);
    eprintln!(
        "tls: reply of {} MiB in {} KiB writes, server writes: engine {}, rustls::Stream {}",
        REPLY_BYTES >> 20,
        REPLY_WRITE_BYTES >> 10,
        engine.tx.counts().0,
        baseline.socket.tx.counts().0
    );
    assert_eq!(upload_engine(&mut engine, &mut engine_client, &upload, &mut input), UPLOAD_BYTES);
    assert_eq!(upload_baseline(&mut baseline, &mut baseline_client, &upload, &mut sink), UPLOAD_BYTES);
    eprintln!(
        "tls: upload of {} MiB in {} KiB pieces, server reads: engine {}, rustls::Stream {}",
        UPLOAD_BYTES >> 20,
        UPLOAD_PIECE_BYTES >> 10,
        engine.rx.counts().1,
        baseline.socket.rx.counts().1
    );

    let mut group = c.benchmark_group("tls");
    group.sample_size(20).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Bytes(REPLY_BYTES as u64));
    group.bench_function("reply_4MiB_64KiB_writes/engine_records", |b| {
        b.iter(|| reply_engine(&mut engine, &mut engine_client, black_box(&reply), &mut sink))
    });
    group.bench_function("reply_4MiB_64KiB_writes/rustls_stream_baseline", |b| {
        b.iter(|| reply_baseline(&mut baseline, &mut baseline_client, black_box(&reply), &mut sink))
    });
    group.throughput(Throughput::Bytes(UPLOAD_BYTES as u64));
    group.bench_function("upload_10MiB_16KiB_pieces/engine_records", |b| {
        b.iter(|| upload_engine(&mut engine, &mut engine_client, black_box(&upload), &mut input))
    });
    group.bench_function("upload_10MiB_16KiB_pieces/rustls_stream_baseline", |b| {
        b.iter(|| upload_baseline(&mut baseline, &mut baseline_client, black_box(&upload), &mut sink))
    });
    group.finish();
}

criterion_group!(benches, bench_tls);

criterion_main!(benches);
