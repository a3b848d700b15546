//! rustls driven over a tokio-uring TCP socket with owned buffers.
//!
//! io_uring needs buffers the kernel owns while an operation is in flight, so a read hands a `Vec`
//! to the kernel and gets it back with the bytes. The record logic (which ciphertext rustls gets
//! and when, how large the next read buffer is, which buffer the next write sends) lives in
//! [`records::TlsRecords`], which knows no socket; [`TlsStream`] only carries out its steps on the
//! socket, with one `write_all` per send. Tests and the `tls` bench run the same record code over
//! an in-memory pipe.

pub mod records;

use super::Transport;
pub use records::{RecordError, Step, TlsRecords, MAX_READ_BYTES, MIN_READ_BYTES};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio_uring::net::TcpStream;

/// Plaintext encrypted before it is sent: 16 full records.
pub const WRITE_PIECE_BYTES: usize = 256 * 1024;

/// One server-side TLS connection.
pub struct TlsStream {
    tcp: TcpStream,
    records: TlsRecords,
    /// Bytes received and sent on the socket (ciphertext), for the connection log line.
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl TlsStream {
    /// Runs the server handshake on `tcp`, within `timeout`.
    pub async fn accept(tcp: TcpStream, config: Arc<rustls::ServerConfig>, timeout: Duration) -> io::Result<TlsStream> {
        let records = TlsRecords::new(config)?;
        let mut stream = TlsStream { tcp, records, bytes_in: 0, bytes_out: 0 };
        match tokio::time::timeout(timeout, stream.handshake()).await {
            Ok(result) => result.map(|()| stream),
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")),
        }
    }

    async fn handshake(&mut self) -> io::Result<()> {
        loop {
            match self.records.handshake_step() {
                Ok(Step::Ready(_)) => return self.flush().await,
                Ok(Step::Send) => self.flush().await?,
                Ok(Step::Receive) => {
                    if self.fill().await? == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "peer closed during the TLS handshake",
                        ));
                    }
                }
                Err(e) => return Err(self.fail(e).await),
            }
        }
    }

    /// The negotiated protocol version, e.g. `TLSv1.3`.
    pub fn protocol_version(&self) -> &'static str {
        self.records.protocol_version()
    }

    /// The negotiated cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub fn cipher_suite(&self) -> String {
        self.records.cipher_suite()
    }

    /// Reads ciphertext from the socket into the records' read buffer. Returns the bytes read, 0
    /// at end of stream.
    async fn fill(&mut self) -> io::Result<usize> {
        let buf = self.records.read_buffer();
        let (result, buf) = self.tcp.read(buf).await;
        match result {
            Ok(n) => {
                self.bytes_in += n as u64;
                self.records.received(buf);
                Ok(n)
            }
            Err(e) => {
                self.records.read_failed();
                Err(e)
            }
        }
    }

    /// Sends everything rustls has queued.
    async fn flush(&mut self) -> io::Result<()> {
        while let Some(out) = self.records.take_outgoing()? {
            let len = out.len();
            let (result, out) = self.tcp.write_all(out).await;
            result?;
            self.bytes_out += len as u64;
            self.records.sent(out);
        }
        Ok(())
    }

    /// Turns a failed step into the error to return, first sending the alert rustls queued for a
    /// peer that misbehaved.
    async fn fail(&mut self, error: RecordError) -> io::Error {
        match error {
            RecordError::Io(e) => e,
            RecordError::Alert(e) => {
                let _ = self.flush().await;
                io::Error::new(io::ErrorKind::InvalidData, e)
            }
        }
    }

    /// Sends close_notify and shuts the socket down for writing.
    pub async fn close(&mut self) {
        self.records.send_close_notify();
        let _ = self.flush().await;
        let _ = self.tcp.shutdown(std::net::Shutdown::Write);
    }

    /// Lets go of buffers while the connection waits for its client.
    pub fn release_idle(&mut self) {
        self.records.release_idle();
    }
}

impl Transport for TlsStream {
    async fn read(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        loop {
            match self.records.read_step(buf) {
                Ok(Step::Ready(n)) => return Ok(n),
                Ok(Step::Send) => self.flush().await?,
                Ok(Step::Receive) => {
                    if self.fill().await? == 0 {
                        return Ok(0);
                    }
                }
                Err(e) => return Err(self.fail(e).await),
            }
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        if data.len() > WRITE_PIECE_BYTES {
            return self.write_all_vectored(&[data]).await;
        }
        self.records.encrypt(data)?;
        self.flush().await
    }

    /// Encrypts and sends [`WRITE_PIECE_BYTES`] at a time: rustls queues the records it makes
    /// until they are sent, so a 40 MiB message encrypted at once would be held once more, as
    /// ciphertext, besides the send buffer it is copied into.
    async fn write_all_vectored(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let mut piece: Vec<&[u8]> = Vec::with_capacity(parts.len().min(64));
        let mut size = 0;
        for part in parts {
            let mut rest = *part;
            while !rest.is_empty() {
                let take = rest.len().min(WRITE_PIECE_BYTES - size);
                piece.push(&rest[..take]);
                rest = &rest[take..];
                size += take;
                if size == WRITE_PIECE_BYTES {
                    self.records.encrypt_vectored(&piece)?;
                    self.flush().await?;
                    piece.clear();
                    size = 0;
                }
            }
        }
        if size > 0 {
            self.records.encrypt_vectored(&piece)?;
        }
        self.flush().await
    }

    fn ack_promptly(&self) {
        super::quick_ack(std::os::fd::AsRawFd::as_raw_fd(&self.tcp));
    }

    /// Plaintext already decrypted, or the socket readable (asked of tokio's epoll reactor, which
    /// reads nothing; the io_uring read that follows finds the bytes waiting).
    async fn readable(&mut self) -> io::Result<()> {
        if self.records.has_input()? {
            return Ok(());
        }
        // The session waits for its client (IDLE): a large write buffer is not kept meanwhile.
        self.records.shed_write_buffer();
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
