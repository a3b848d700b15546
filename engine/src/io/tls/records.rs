//! The record half of a server TLS connection, without a socket: which ciphertext to give rustls
//! and when, where decrypted plaintext goes, and which buffer the next socket read or write uses.
//!
//! [`super::TlsStream`] drives it over a tokio-uring socket; tests and the `tls` bench drive the
//! same code over an in-memory pipe. The driver asks [`TlsRecords::handshake_step`] or
//! [`TlsRecords::read_step`] what to do next and does it:
//!
//! ```text
//!   Step::Send    -> send every buffer take_outgoing() returns, in order
//!   Step::Receive -> read into read_buffer(), give it back with received() (a failed read:
//!                    read_failed()); a read of 0 bytes is the end of the stream
//!   Step::Ready   -> the handshake is done / plaintext was appended
//! ```
//!
//! Buffers are owned and lent out whole, as io_uring wants. The ciphertext read buffer adapts to
//! the traffic: it starts at [`MIN_READ_BYTES`], doubles while reads fill it (bulk upload), halves
//! while they do not, and an idle connection keeps only the small size. Outgoing records are
//! written into one owned buffer per send.

use rustls::ServerConnection;
use std::io::{self, Read, Write};
use std::sync::Arc;

/// Smallest (and idle) ciphertext read buffer.
pub const MIN_READ_BYTES: usize = 2048;
/// Largest ciphertext read buffer, used while a client streams data.
pub const MAX_READ_BYTES: usize = 64 * 1024;
/// A write buffer up to this size is kept for the next write while the session is busy writing
/// (a FETCH flushes 64 KiB at a time: a fresh buffer per flush would grow by reallocation and copy
/// each time). Larger ones are freed after use.
const KEEP_WRITE_BYTES: usize = 256 * 1024;
/// The write buffer an idle connection keeps: once the session waits for its client (a read
/// finds nothing pending), a larger one is freed.
const IDLE_WRITE_BYTES: usize = 16 * 1024;

/// What the driver of a [`TlsRecords`] does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Send what [`TlsRecords::take_outgoing`] hands out, then ask again.
    Send,
    /// Read ciphertext into [`TlsRecords::read_buffer`], hand it back with
    /// [`TlsRecords::received`], then ask again.
    Receive,
    /// Finished: for [`TlsRecords::read_step`], the plaintext bytes appended (0 when the peer has
    /// closed the TLS session); for [`TlsRecords::handshake_step`], always 0.
    Ready(usize),
}

/// Why a step failed.
#[derive(Debug)]
pub enum RecordError {
    /// Fail with this error as it is.
    Io(io::Error),
    /// The peer sent something rustls rejects. rustls has queued an alert saying why: send it (as
    /// for [`Step::Send`]) before giving up, so the peer learns the reason.
    Alert(rustls::Error),
}

impl From<io::Error> for RecordError {
    fn from(e: io::Error) -> RecordError {
        RecordError::Io(e)
    }
}

fn invalid(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// One server-side TLS session and its ciphertext buffers.
pub struct TlsRecords {
    tls: ServerConnection,
    /// Ciphertext read buffer; `None` while lent out (or lost to a failed or cancelled read).
    read_buf: Option<Vec<u8>>,
    /// `read_buf[read_pos..]` is ciphertext read from the socket but not yet given to rustls.
    /// rustls holds a bounded amount of decrypted plaintext, so a large read is fed to it only as
    /// fast as the session takes the plaintext out.
    read_pos: usize,
    /// Capacity of the next read buffer.
    read_cap: usize,
    /// Send buffer kept for the next send while it is small.
    write_buf: Option<Vec<u8>>,
}

impl TlsRecords {
    /// A server session that has not seen its ClientHello yet.
    pub fn new(config: Arc<rustls::ServerConfig>) -> io::Result<TlsRecords> {
        let mut tls = ServerConnection::new(config).map_err(io::Error::other)?;
        // Callers write bounded chunks (a reply batch, at most a FETCH flush), so rustls need not
        // refuse plaintext while a flush is pending.
        tls.set_buffer_limit(None);
        Ok(TlsRecords { tls, read_buf: None, read_pos: 0, read_cap: MIN_READ_BYTES, write_buf: None })
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
    pub fn pending(&self) -> bool {
        self.read_buf.as_ref().is_some_and(|buf| self.read_pos < buf.len())
    }

    /// Whether rustls has records queued for sending.
    pub fn wants_write(&self) -> bool {
        self.tls.wants_write()
    }

    /// The next step of the server handshake. After [`Step::Ready`] the driver sends what is still
    /// queued (the server's last flight).
    pub fn handshake_step(&mut self) -> Result<Step, RecordError> {
        loop {
            if !self.tls.is_handshaking() {
                return Ok(Step::Ready(0));
            }
            if self.tls.wants_write() {
                return Ok(Step::Send);
            }
            if !self.pending() {
                return Ok(Step::Receive);
            }
            self.feed()?;
        }
    }

    /// Appends decrypted plaintext to `buf`, or says what is needed before there is any.
    pub fn read_step(&mut self, buf: &mut Vec<u8>) -> Result<Step, RecordError> {
        loop {
            let state = self.tls.process_new_packets().map_err(invalid)?;
            let available = state.plaintext_bytes_to_read();
            if available > 0 {
                // Grow the caller's buffer only by what has arrived: an idle session keeps none.
                let start = buf.len();
                buf.resize(start + available, 0);
                let n = self.tls.reader().read(&mut buf[start..])?;
                buf.truncate(start + n);
                return Ok(Step::Ready(n));
            }
            if state.peer_has_closed() {
                return Ok(Step::Ready(0));
            }
            if self.tls.wants_write() {
                return Ok(Step::Send);
            }
            if !self.pending() {
                self.shed_write_buffer();
                return Ok(Step::Receive);
            }
            let before = self.read_pos;
            self.feed()?;
            if self.pending()
                && self.read_pos == before
                && self.tls.process_new_packets().map(|s| s.plaintext_bytes_to_read()).unwrap_or(0) == 0
            {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "TLS layer accepts no more input").into());
            }
        }
    }

    /// Whether [`TlsRecords::read_step`] would return without asking for a read: plaintext is
    /// decrypted, the peer has closed, or ciphertext is pending.
    pub fn has_input(&mut self) -> io::Result<bool> {
        let state = self.tls.process_new_packets().map_err(invalid)?;
        Ok(state.plaintext_bytes_to_read() > 0 || state.peer_has_closed() || self.pending())
    }

    /// The buffer for the next socket read: empty, with the capacity the recent traffic calls for.
    /// Ask for it only when [`Step::Receive`] said so (no ciphertext is pending).
    pub fn read_buffer(&mut self) -> Vec<u8> {
        let mut buf = self.read_buf.take().unwrap_or_default();
        buf.clear();
        if buf.capacity() != self.read_cap {
            buf = Vec::with_capacity(self.read_cap);
        }
        buf
    }

    /// Takes back the read buffer holding the ciphertext just read (`buf.len()` bytes, 0 at end
    /// of stream) and sizes the next read by how full this one was.
    pub fn received(&mut self, buf: Vec<u8>) {
        let n = buf.len();
        self.read_pos = 0;
        self.read_cap = if n == buf.capacity() {
            (self.read_cap * 2).min(MAX_READ_BYTES)
        } else if n < self.read_cap / 4 {
            (self.read_cap / 2).max(MIN_READ_BYTES)
        } else {
            self.read_cap
        };
        self.read_buf = Some(buf);
    }

    /// Notes a failed read; its buffer is gone with it.
    pub fn read_failed(&mut self) {
        self.read_pos = 0;
        self.read_buf = Some(Vec::new());
    }

    /// Gives pending ciphertext to rustls, record by record, until rustls has plaintext to hand
    /// out or the ciphertext is used up.
    fn feed(&mut self) -> Result<(), RecordError> {
        if let Some(buf) = self.read_buf.as_ref() {
            while self.read_pos < buf.len() {
                let mut slice = &buf[self.read_pos..];
                let taken = self.tls.read_tls(&mut slice)?;
                self.read_pos += taken;
                match self.tls.process_new_packets() {
                    Ok(state) if state.plaintext_bytes_to_read() > 0 => break,
                    Ok(_) if taken == 0 => break,
                    Ok(_) => {}
                    Err(e) => return Err(RecordError::Alert(e)),
                }
            }
        }
        Ok(())
    }

    /// Encrypts `plaintext` into records queued for sending (then [`Step::Send`] applies).
    pub fn encrypt(&mut self, plaintext: &[u8]) -> io::Result<()> {
        self.tls.writer().write_all(plaintext)
    }

    /// Encrypts `parts`, one after another, into records queued for sending: records are filled
    /// across the parts' boundaries, and each part is read where it lies (a FETCH hands over
    /// message contents without copying them into its response buffer first).
    pub fn encrypt_vectored(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let mut slices: Vec<io::IoSlice<'_>> =
            parts.iter().filter(|p| !p.is_empty()).map(|p| io::IoSlice::new(p)).collect();
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            let n = self.tls.writer().write_vectored(rest)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::WriteZero, "TLS layer accepts no more output"));
            }
            io::IoSlice::advance_slices(&mut rest, n);
        }
        Ok(())
    }

    /// Queues a close_notify alert for sending.
    pub fn send_close_notify(&mut self) {
        self.tls.send_close_notify();
    }

    /// The queued records in one buffer, to be sent with one write; `None` when nothing is queued.
    /// Hand the buffer back with [`TlsRecords::sent`] once it is sent.
    pub fn take_outgoing(&mut self) -> io::Result<Option<Vec<u8>>> {
        if !self.tls.wants_write() {
            return Ok(None);
        }
        let mut out = self.write_buf.take().unwrap_or_default();
        out.clear();
        self.tls.write_tls(&mut out)?;
        Ok(Some(out))
    }

    /// Takes back a sent buffer, keeping it for the next send if it is small.
    pub fn sent(&mut self, out: Vec<u8>) {
        if out.capacity() <= KEEP_WRITE_BYTES {
            self.write_buf = Some(out);
        }
    }

    /// Frees the write buffer if it is larger than an idle connection keeps; called whenever the
    /// session is about to wait for its client (a read that finds nothing, IDLE's wait).
    pub fn shed_write_buffer(&mut self) {
        if self.write_buf.as_ref().is_some_and(|b| b.capacity() > IDLE_WRITE_BYTES) {
            self.write_buf = None;
        }
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

#[cfg(test)]
mod tests;
