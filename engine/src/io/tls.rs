//! rustls driven over a tokio-uring TCP socket with owned buffers.
//!
//! io_uring needs buffers the kernel owns while an operation is in flight, so a read hands a `Vec`
//! to the kernel and gets it back with the bytes. The ciphertext read buffer adapts to the traffic:
//! it starts at [`MIN_READ_BYTES`], doubles while reads fill it (bulk upload), halves while they do
//! not, and an idle connection keeps only the small size. Plaintext is encrypted straight into one
//! owned write buffer, sent with one `write_all` per flush.

use super::Transport;
use rustls::ServerConnection;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;
use tokio_uring::net::TcpStream;

/// Smallest (and idle) ciphertext read buffer.
pub const MIN_READ_BYTES: usize = 2048;
/// Largest ciphertext read buffer, used while a client streams data.
pub const MAX_READ_BYTES: usize = 64 * 1024;
/// A write buffer larger than this is freed after use instead of being kept for the next write.
const KEEP_WRITE_BYTES: usize = 16 * 1024;

/// One server-side TLS connection.
pub struct TlsStream {
    tcp: TcpStream,
    tls: ServerConnection,
    /// Ciphertext read buffer; `None` while lent to the kernel (or lost to a cancelled read).
    read_buf: Option<Vec<u8>>,
    /// `read_buf[read_pos..]` is ciphertext read from the socket but not yet given to rustls.
    /// rustls holds a bounded amount of decrypted plaintext, so a large read is fed to it only as
    /// fast as the session takes the plaintext out.
    read_pos: usize,
    read_cap: usize,
    write_buf: Option<Vec<u8>>,
    /// Bytes received and sent on the socket (ciphertext), for the connection log line.
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl TlsStream {
    /// Runs the server handshake on `tcp`, within `timeout`.
    pub async fn accept(tcp: TcpStream, config: Arc<rustls::ServerConfig>, timeout: Duration) -> io::Result<TlsStream> {
        let mut tls = ServerConnection::new(config).map_err(io::Error::other)?;
        // Callers write bounded chunks (a reply batch, at most a FETCH flush), so rustls need not
        // refuse plaintext while a flush is pending.
        tls.set_buffer_limit(None);
        let mut stream = TlsStream {
            tcp,
            tls,
            read_buf: None,
            read_pos: 0,
            read_cap: MIN_READ_BYTES,
            write_buf: None,
            bytes_in: 0,
            bytes_out: 0,
        };
        match tokio::time::timeout(timeout, stream.handshake()).await {
            Ok(result) => result.map(|()| stream),
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")),
        }
    }

    async fn handshake(&mut self) -> io::Result<()> {
        while self.tls.is_handshaking() {
            if self.tls.wants_write() {
                self.flush().await?;
                continue;
            }
            if !self.pending() && self.fill().await? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "peer closed during the TLS handshake"));
            }
            self.feed().await?;
        }
        self.flush().await
    }

    /// The negotiated protocol version, e.g. `TLSv1.3`.
    pub fn protocol_version(&self) -> &'static str {
        match self.tls.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "unknown",
        }
    }

    /// The negotiated cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub fn cipher_suite(&self) -> String {
        self.tls.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())).unwrap_or_else(|| "unknown".into())
    }

    /// Whether ciphertext read from the socket still waits to be given to rustls.
    fn pending(&self) -> bool {
        self.read_buf.as_ref().is_some_and(|buf| self.read_pos < buf.len())
    }

    /// Reads ciphertext from the socket (only when none is pending). Returns the bytes read, 0 at
    /// end of stream.
    async fn fill(&mut self) -> io::Result<usize> {
        let mut buf = self.read_buf.take().unwrap_or_default();
        buf.clear();
        if buf.capacity() != self.read_cap {
            buf = Vec::with_capacity(self.read_cap);
        }
        let (result, buf) = self.tcp.read(buf).await;
        self.read_pos = 0;
        let n = match result {
            Ok(n) => n,
            Err(e) => {
                self.read_buf = Some(Vec::new());
                return Err(e);
            }
        };
        self.bytes_in += n as u64;
        self.read_cap = if n == buf.capacity() {
            (self.read_cap * 2).min(MAX_READ_BYTES)
        } else if n < self.read_cap / 4 {
            (self.read_cap / 2).max(MIN_READ_BYTES)
        } else {
            self.read_cap
        };
        self.read_buf = Some(buf);
        Ok(n)
    }

    /// Gives pending ciphertext to rustls, record by record, until rustls has plaintext to hand
    /// out or the ciphertext is used up.
    async fn feed(&mut self) -> io::Result<()> {
        let mut failure = None;
        if let Some(buf) = self.read_buf.as_ref() {
            while self.read_pos < buf.len() {
                let mut slice = &buf[self.read_pos..];
                let taken = self.tls.read_tls(&mut slice)?;
                self.read_pos += taken;
                match self.tls.process_new_packets() {
                    Ok(state) if state.plaintext_bytes_to_read() > 0 => break,
                    Ok(_) if taken == 0 => break,
                    Ok(_) => {}
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
        }
        if let Some(e) = failure {
            // Tell the peer why (the alert is queued by rustls), then give up.
            let _ = self.flush().await;
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        Ok(())
    }

    /// Sends everything rustls has queued.
    async fn flush(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            let mut out = self.write_buf.take().unwrap_or_default();
            out.clear();
            self.tls.write_tls(&mut out)?;
            let len = out.len();
            let (result, out) = self.tcp.write_all(out).await;
            result?;
            self.bytes_out += len as u64;
            if out.capacity() <= KEEP_WRITE_BYTES {
                self.write_buf = Some(out);
            }
        }
        Ok(())
    }

    /// Sends close_notify and shuts the socket down for writing.
    pub async fn close(&mut self) {
        self.tls.send_close_notify();
        let _ = self.flush().await;
        let _ = self.tcp.shutdown(std::net::Shutdown::Write);
    }

    /// Lets go of buffers while the connection waits for its client.
    pub fn release_idle(&mut self) {
        if self.read_cap == MIN_READ_BYTES && !self.pending() {
            if let Some(buf) = &self.read_buf {
                if buf.capacity() > MIN_READ_BYTES {
                    self.read_buf = None;
                }
            }
        }
        self.write_buf = None;
    }
}

impl Transport for TlsStream {
    async fn read(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        loop {
            let state = self.tls.process_new_packets().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let available = state.plaintext_bytes_to_read();
            if available > 0 {
                // Grow the caller's buffer only by what has arrived: an idle session keeps none.
                let start = buf.len();
                buf.resize(start + available, 0);
                let n = self.tls.reader().read(&mut buf[start..])?;
                buf.truncate(start + n);
                return Ok(n);
            }
            if state.peer_has_closed() {
                return Ok(0);
            }
            if self.tls.wants_write() {
                self.flush().await?;
            }
            if !self.pending() && self.fill().await? == 0 {
                return Ok(0);
            }
            let before = self.read_pos;
            self.feed().await?;
            if self.pending()
                && self.read_pos == before
                && self.tls.process_new_packets().map(|s| s.plaintext_bytes_to_read()).unwrap_or(0) == 0
            {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "TLS layer accepts no more input"));
            }
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.tls.writer().write_all(data)?;
        self.flush().await
    }

    /// Plaintext already decrypted, or the socket readable (asked of tokio's epoll reactor, which
    /// reads nothing; the io_uring read that follows finds the bytes waiting).
    async fn readable(&mut self) -> io::Result<()> {
        let state = self.tls.process_new_packets().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if state.plaintext_bytes_to_read() > 0 || state.peer_has_closed() || self.pending() {
            return Ok(());
        }
        let fd = SocketFd(std::os::fd::AsRawFd::as_raw_fd(&self.tcp));
        // SAFETY: the descriptor is `self.tcp`'s, which stays open for as long as `watcher` lives
        // (`self` is borrowed for this whole call and `watcher` is dropped at its end).
        let watcher = unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }?;
        let _ready = watcher.readable().await?;
        Ok(())
    }
}

/// The socket's descriptor, lent to tokio's reactor for a readiness wait (not owned: dropping it
/// closes nothing).
struct SocketFd(std::os::fd::RawFd);

impl std::os::fd::AsRawFd for SocketFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0
    }
}
