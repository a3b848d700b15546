//! A TCP connection that starts in plaintext and may switch to TLS in the middle (SMTP STARTTLS,
//! RFC 3207), for the MX port.
//!
//! Plaintext reads hand an owned buffer to io_uring like [`super::tls::TlsStream`] does. The switch
//! gives the socket to [`TlsStream::accept`], so the handshake and everything after it is the very
//! code that serves the implicit-TLS ports. Plaintext the client sent after `STARTTLS` and before
//! its ClientHello is not ours to read: the session drops what it buffered, and anything still in
//! the socket is not a TLS record, so the handshake fails and the connection closes.

use super::tls::TlsStream;
use super::Transport;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio_uring::net::TcpStream;

/// Plaintext read size.
const PLAIN_READ_BYTES: usize = 4096;

enum State {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
    /// The handshake failed; the socket is gone.
    Closed,
}

/// The MX side of one SMTP connection.
pub struct StartTlsStream {
    state: State,
    /// The TLS config STARTTLS uses; `None` for a connection that stays plaintext (LMTP over TCP).
    config: Option<Arc<rustls::ServerConfig>>,
    handshake_timeout: Duration,
    /// Plaintext read buffer, lent to the kernel during a read.
    read_buf: Option<Vec<u8>>,
    /// Plaintext bytes received and sent before TLS (TLS counts its own).
    pub plain_bytes_in: u64,
    pub plain_bytes_out: u64,
}

impl StartTlsStream {
    pub fn new(tcp: TcpStream, config: Arc<rustls::ServerConfig>, handshake_timeout: Duration) -> StartTlsStream {
        StartTlsStream {
            state: State::Plain(tcp),
            config: Some(config),
            handshake_timeout,
            read_buf: None,
            plain_bytes_in: 0,
            plain_bytes_out: 0,
        }
    }

    /// A plaintext connection that cannot be upgraded.
    pub fn plain(tcp: TcpStream) -> StartTlsStream {
        StartTlsStream {
            state: State::Plain(tcp),
            config: None,
            handshake_timeout: Duration::ZERO,
            read_buf: None,
            plain_bytes_in: 0,
            plain_bytes_out: 0,
        }
    }

    /// The TLS layer, once STARTTLS succeeded.
    pub fn tls(&self) -> Option<&TlsStream> {
        match &self.state {
            State::Tls(tls) => Some(tls),
            _ => None,
        }
    }

    /// Ends the connection politely (close_notify under TLS, then a write shutdown).
    pub async fn close(&mut self) {
        match &mut self.state {
            State::Plain(tcp) => {
                let _ = tcp.shutdown(std::net::Shutdown::Write);
            }
            State::Tls(tls) => tls.close().await,
            State::Closed => {}
        }
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the connection was closed by a failed TLS handshake")
}

impl Transport for StartTlsStream {
    async fn read(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        match &mut self.state {
            State::Plain(tcp) => {
                let mut chunk = self.read_buf.take().unwrap_or_else(|| Vec::with_capacity(PLAIN_READ_BYTES));
                chunk.clear();
                let (result, chunk) = tcp.read(chunk).await;
                let n = result?;
                self.plain_bytes_in += n as u64;
                buf.extend_from_slice(&chunk[..n]);
                self.read_buf = Some(chunk);
                Ok(n)
            }
            State::Tls(tls) => tls.read(buf).await,
            State::Closed => Err(closed()),
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.state {
            State::Plain(tcp) => {
                let (result, _) = tcp.write_all(data.to_vec()).await;
                self.plain_bytes_out += data.len() as u64;
                result
            }
            State::Tls(tls) => tls.write_all(data).await,
            State::Closed => Err(closed()),
        }
    }

    async fn write_all_vectored(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        match &mut self.state {
            State::Tls(tls) => tls.write_all_vectored(parts).await,
            _ => self.write_all(&parts.concat()).await,
        }
    }

    fn ack_promptly(&self) {
        match &self.state {
            State::Plain(tcp) => super::quick_ack(std::os::fd::AsRawFd::as_raw_fd(tcp)),
            State::Tls(tls) => tls.ack_promptly(),
            State::Closed => {}
        }
    }

    async fn start_tls(&mut self) -> io::Result<String> {
        let Some(config) = self.config.clone() else {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "no TLS on this connection"));
        };
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Plain(tcp) => {
                let tls = TlsStream::accept(tcp, config, self.handshake_timeout).await?;
                let description = format!("{} {}", tls.protocol_version(), tls.cipher_suite());
                self.state = State::Tls(Box::new(tls));
                Ok(description)
            }
            other => {
                self.state = other;
                Err(io::Error::new(io::ErrorKind::Unsupported, "TLS is already active"))
            }
        }
    }
}
