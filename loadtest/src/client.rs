//! Blocking clients for the scenarios: connections over TLS, plaintext TCP (with STARTTLS) or a
//! UNIX socket, line and IMAP response reading, and the one-shot operations of the fresh-connection
//! scenarios.

use crate::args::Scenario;
use anyhow::{bail, Context};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Debian's bundle of trusted roots, used without `--ca`.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Read and write timeout of every socket, in milliseconds: 30 s, or `--duration-secs` if shorter
/// (see [`limit_io_timeout`]).
static IO_TIMEOUT_MS: AtomicU64 = AtomicU64::new(30_000);

fn io_timeout() -> Duration {
    Duration::from_millis(IO_TIMEOUT_MS.load(Ordering::Relaxed))
}

/// Lowers the socket timeout to `limit` (at least 1 s), so that not even the probe of a silent
/// server outlasts the run's time bound.
pub fn limit_io_timeout(limit: Duration) {
    let ms = limit.as_millis().clamp(1_000, 30_000) as u64;
    IO_TIMEOUT_MS.fetch_min(ms, Ordering::Relaxed);
}
/// TCP connect timeout (per address the name resolves to).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to connect.
#[derive(Debug)]
pub struct Endpoint {
    pub address: String,
    pub server_name: String,
    pub tls: Arc<ClientConfig>,
}

/// TLS client config offering `alpn` (`imap` or `smtp`), as real clients increasingly do.
pub fn tls_config(ca: Option<&Path>, insecure: bool, alpn: &[u8]) -> anyhow::Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider)).with_safe_default_protocol_versions()?;
    let mut config = if insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAny(provider))).with_no_client_auth()
    } else {
        let path = ca.unwrap_or(Path::new(SYSTEM_ROOTS));
        let pem = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            roots.add(cert?)?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(Arc::new(config))
}

/// The byte stream under a session: TLS from the start, plaintext TCP (an MX before STARTTLS, or
/// one without TLS), or a UNIX socket (LMTP).
enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
    Unix(UnixStream),
    /// Only while STARTTLS swaps the plaintext stream for TLS.
    Closed,
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
            Stream::Closed => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
            Stream::Closed => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
            Stream::Closed => Ok(()),
        }
    }
}

/// Room made for each read: a whole TLS record's plaintext.
const READ_CHUNK: usize = 16 << 10;
/// The longest response line (literals aside) the client holds before it gives up on the server.
const MAX_LINE_BYTES: usize = 16 << 20;

/// Bytes read but not yet consumed, `buf[start..end]`. Taking a line only moves `start`; what is
/// left is moved to the front only when a read needs the room, so a response of many short lines
/// costs no copying per line.
#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Pending {
    fn unread(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// One read from `stream` into the room after the unread bytes; the bytes read (0: closed).
    fn fill(&mut self, stream: &mut impl Read) -> std::io::Result<usize> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.buf.len() - self.end < READ_CHUNK && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        if self.buf.len() - self.end < READ_CHUNK {
            self.buf.resize(self.end + READ_CHUNK, 0);
        }
        let n = stream.read(&mut self.buf[self.end..])?;
        self.end += n;
        Ok(n)
    }
}

/// One connection: the stream and the bytes read but not yet consumed.
pub struct Conn {
    stream: Stream,
    pending: Pending,
}

fn connect_tcp(address: &str) -> anyhow::Result<TcpStream> {
    let addrs = address.to_socket_addrs().with_context(|| format!("cannot resolve {address}"))?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT.min(io_timeout())) {
            Ok(tcp) => {
                tcp.set_read_timeout(Some(io_timeout()))?;
                tcp.set_write_timeout(Some(io_timeout()))?;
                tcp.set_nodelay(true)?;
                return Ok(tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    let e = last.unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"));
    Err(anyhow::Error::new(e).context(format!("cannot connect to {address}")))
}

/// A read error, with a timeout named as such (the io::Error stays reachable by downcasting).
fn read_error(e: std::io::Error) -> anyhow::Error {
    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) {
        anyhow::Error::new(e).context("no answer from the server in time")
    } else {
        e.into()
    }
}

fn handshake(endpoint: &Endpoint, tcp: TcpStream) -> anyhow::Result<Stream> {
    let name = ServerName::try_from(endpoint.server_name.clone())?;
    let conn = ClientConnection::new(Arc::clone(&endpoint.tls), name)?;
    let mut stream = StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .with_context(|| format!("TLS handshake with {} failed", endpoint.address))?;
    }
    Ok(Stream::Tls(Box::new(stream)))
}

impl Conn {
    /// TCP connect and TLS handshake (implicit TLS: IMAPS, submissions).
    pub fn open(endpoint: &Endpoint) -> anyhow::Result<Conn> {
        let tcp = connect_tcp(&endpoint.address)?;
        Ok(Conn { stream: handshake(endpoint, tcp)?, pending: Pending::default() })
    }

    /// Plaintext TCP (an MX before STARTTLS, LMTP over TCP).
    pub fn open_plain(address: &str) -> anyhow::Result<Conn> {
        Ok(Conn { stream: Stream::Plain(connect_tcp(address)?), pending: Pending::default() })
    }

    /// A UNIX stream socket (LMTP).
    pub fn open_unix(path: &Path) -> anyhow::Result<Conn> {
        let unix = UnixStream::connect(path).with_context(|| format!("cannot connect to {}", path.display()))?;
        unix.set_read_timeout(Some(io_timeout()))?;
        unix.set_write_timeout(Some(io_timeout()))?;
        Ok(Conn { stream: Stream::Unix(unix), pending: Pending::default() })
    }

    /// A connected UNIX stream (tests: one end of a socket pair).
    #[cfg(test)]
    pub fn from_unix(unix: UnixStream) -> Conn {
        Conn { stream: Stream::Unix(unix), pending: Pending::default() }
    }

    /// Turns a plaintext TCP connection into TLS (after the server's `220` to `STARTTLS`).
    pub fn start_tls(&mut self, endpoint: &Endpoint) -> anyhow::Result<()> {
        if !self.pending.unread().is_empty() {
            bail!("the server sent bytes after its reply to STARTTLS");
        }
        match std::mem::replace(&mut self.stream, Stream::Closed) {
            Stream::Plain(tcp) => {
                self.stream = handshake(endpoint, tcp)?;
                Ok(())
            }
            other => {
                self.stream = other;
                bail!("STARTTLS on a connection that is not plaintext TCP")
            }
        }
    }

    pub fn send(&mut self, text: &str) -> anyhow::Result<()> {
        self.stream.write_all(text.as_bytes())?;
        Ok(self.stream.flush()?)
    }

    /// The next line, without its line end (CRLF or LF) and trailing blanks.
    pub fn line(&mut self) -> anyhow::Result<String> {
        let mut scanned = 0;
        loop {
            let unread = self.pending.unread();
            if let Some(i) = memchr::memchr(b'\n', &unread[scanned..]) {
                let line = &unread[..scanned + i];
                // Borrowed, not copied, when the line is valid UTF-8.
                let text = String::from_utf8_lossy(line).trim_end().to_string();
                self.pending.consume(scanned + i + 1);
                return Ok(text);
            }
            scanned = unread.len();
            if scanned > MAX_LINE_BYTES {
                bail!("the server sent a line longer than {MAX_LINE_BYTES} bytes");
            }
            if self.pending.fill(&mut self.stream).map_err(read_error)? == 0 {
                bail!("server closed the connection");
            }
        }
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.stream.write_all(bytes)?;
        Ok(self.stream.flush()?)
    }

    /// Sets the socket's read timeout (for IDLE watchers that poll a stop flag).
    pub fn set_read_timeout(&mut self, timeout: Duration) -> anyhow::Result<()> {
        match &self.stream {
            Stream::Plain(s) => s.set_read_timeout(Some(timeout))?,
            Stream::Tls(s) => s.sock.set_read_timeout(Some(timeout))?,
            Stream::Unix(s) => s.set_read_timeout(Some(timeout))?,
            Stream::Closed => {}
        }
        Ok(())
    }

    /// Reads and drops `n` raw bytes (an IMAP literal); what is read past them stays pending.
    fn skip(&mut self, n: usize) -> anyhow::Result<()> {
        let mut left = n;
        loop {
            let here = left.min(self.pending.unread().len());
            self.pending.consume(here);
            left -= here;
            if left == 0 {
                return Ok(());
            }
            if self.pending.fill(&mut self.stream).map_err(read_error)? == 0 {
                bail!("server closed the connection");
            }
        }
    }

    /// One IMAP response line with its literals (`{n}` + n bytes) folded in; literal bytes are
    /// dropped, the returned text keeps the `{n}` markers. Adds the bytes read to `bytes`.
    pub fn imap_response(&mut self, bytes: &mut u64) -> anyhow::Result<String> {
        let mut text = self.line()?;
        *bytes += text.len() as u64 + 2;
        while let Some(n) = literal_len(&text) {
            self.skip(n)?;
            *bytes += n as u64;
            let more = self.line()?;
            *bytes += more.len() as u64 + 2;
            text.push_str(&more);
        }
        Ok(text)
    }

    /// Reads until the tagged reply and checks it is OK.
    pub fn imap_tagged(&mut self, tag: &str) -> anyhow::Result<()> {
        self.imap_tagged_counting(tag, &mut 0, |_| {})
    }

    /// Reads until the tagged reply, passing every untagged line to `each` and counting bytes.
    pub fn imap_tagged_counting(
        &mut self,
        tag: &str,
        bytes: &mut u64,
        mut each: impl FnMut(&str),
    ) -> anyhow::Result<()> {
        loop {
            let line = self.imap_response(bytes)?;
            each(&line);
            if let Some(rest) = line.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) {
                if !rest.starts_with("OK") {
                    let status: String = rest.split(' ').take(2).collect::<Vec<_>>().join(" ");
                    bail!("IMAP {status}");
                }
                return Ok(());
            }
        }
    }
}

/// The `n` of a line ending in `{n}` (or `{n+}`).
fn literal_len(line: &str) -> Option<usize> {
    let inner = line.strip_suffix('}')?;
    let open = inner.rfind('{')?;
    inner[open + 1..].trim_end_matches('+').parse().ok()
}

pub fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// TLS connect, greeting and `LOGIN`: an authenticated IMAP session.
pub fn imap_login(endpoint: &Endpoint, user: &str, password: &str) -> anyhow::Result<Conn> {
    let mut conn = Conn::open(endpoint)?;
    let greeting = conn.line()?;
    if !greeting.starts_with("* OK") {
        bail!("IMAP greeting {greeting:?}");
    }
    conn.send(&format!("l1 LOGIN {} {}\r\n", quote(user), quote(password)))?;
    conn.imap_tagged("l1")?;
    Ok(conn)
}

/// `SELECT INBOX`; returns the message count from its `EXISTS`.
pub fn imap_select_inbox(conn: &mut Conn) -> anyhow::Result<u64> {
    let mut exists = 0;
    conn.send("s1 SELECT INBOX\r\n")?;
    conn.imap_tagged_counting("s1", &mut 0, |line| {
        if let Some(n) = exists_count(line) {
            exists = n;
        }
    })?;
    Ok(exists)
}

/// The `n` of `* n EXISTS`.
pub fn exists_count(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("* ")?.strip_suffix(" EXISTS")?;
    rest.parse().ok()
}

/// Runs one operation of a fresh-connection scenario as `user`; returns the bytes received for
/// `imap-fetch` (0 otherwise).
pub fn operation(
    endpoint: &Endpoint,
    scenario: Scenario,
    user: &str,
    password: &str,
    fetch: &str,
) -> anyhow::Result<u64> {
    match scenario {
        Scenario::ImapLogin => {
            let mut conn = imap_login(endpoint, user, password)?;
            conn.send("l2 LOGOUT\r\n")?;
            conn.imap_tagged("l2")?;
            Ok(0)
        }
        Scenario::ImapFetch => {
            let mut conn = imap_login(endpoint, user, password)?;
            imap_select_inbox(&mut conn)?;
            let mut bytes = 0;
            conn.send(&format!("f1 {fetch}\r\n"))?;
            conn.imap_tagged_counting("f1", &mut bytes, |_| {})?;
            conn.send("l2 LOGOUT\r\n")?;
            conn.imap_tagged("l2")?;
            Ok(bytes)
        }
        _ => {
            let smtp = crate::smtp::Session::submission(endpoint, user, password)?;
            smtp.quit()?;
            Ok(0)
        }
    }
}

/// `--insecure`: accepts any certificate, still checks handshake signatures.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_skipped_exactly_whatever_the_reads_bring() {
        let (ours, mut theirs) = UnixStream::pair().expect("socket pair");
        let mut conn = Conn::from_unix(ours);
        let big: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let writer = std::thread::spawn(move || {
            // A small literal that arrives with its line, a large one read in many pieces, and
            // the text after each that must not be lost.
            theirs.write_all(b"* 1 FETCH (BODY[] {5}\r\nhello BODY[1] {100000}\r\n").unwrap();
            for piece in big.chunks(7_777) {
                theirs.write_all(piece).unwrap();
            }
            theirs.write_all(b")\r\na OK done\r\n").unwrap();
        });
        let mut bytes = 0;
        let line = conn.imap_response(&mut bytes).expect("response");
        assert_eq!(line, "* 1 FETCH (BODY[] {5} BODY[1] {100000})");
        assert_eq!(bytes, 23 + 5 + 19 + 100_000 + 3);
        assert_eq!(conn.line().expect("tagged"), "a OK done");
        writer.join().unwrap();
    }

    #[test]
    fn lines_come_back_whole_whatever_the_reads_bring() {
        let (ours, mut theirs) = UnixStream::pair().expect("socket pair");
        let mut conn = Conn::from_unix(ours);
        let lines: Vec<String> = (0..5_000usize)
            .map(|i| {
                if i == 2_500 {
                    "x".repeat(100_000)
                } else {
                    format!("* {i} FETCH (FLAGS (\\Seen)){}", " ".repeat(i % 7))
                }
            })
            .collect();
        let wire: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\r\n").into_bytes()).collect();
        let writer = std::thread::spawn(move || {
            for piece in wire.chunks(1_000) {
                theirs.write_all(piece).unwrap();
            }
            theirs.write_all(b"bare LF\n").unwrap();
        });
        for want in &lines {
            assert_eq!(&conn.line().expect("line"), want.trim_end());
        }
        assert_eq!(conn.line().expect("line"), "bare LF");
        writer.join().unwrap();
        let e = conn.line().unwrap_err();
        assert_eq!(e.to_string(), "server closed the connection");
    }

    #[test]
    fn a_line_without_end_is_refused_past_the_limit() {
        let (ours, mut theirs) = UnixStream::pair().expect("socket pair");
        let mut conn = Conn::from_unix(ours);
        let writer = std::thread::spawn(move || {
            let block = vec![b'a'; 1 << 20];
            for _ in 0..=MAX_LINE_BYTES >> 20 {
                if theirs.write_all(&block).is_err() {
                    break;
                }
            }
        });
        let e = conn.line().unwrap_err();
        assert_eq!(e.to_string(), format!("the server sent a line longer than {MAX_LINE_BYTES} bytes"));
        drop(conn);
        writer.join().unwrap();
    }
}
