//! I/O: the byte transports sessions read from and write to, TLS over io_uring with owned buffers,
//! and the certificates behind it.
//!
//! Sessions are generic over [`Transport`], so the same session code runs over rustls on a
//! tokio-uring socket in production and over an in-memory pipe in transcript tests.

pub mod certs;
pub mod starttls;
pub mod tls;
pub mod unix;

use std::io;

/// A bidirectional byte stream as a session sees it (plaintext; TLS is below it).
#[allow(async_fn_in_trait)] // reason: transports live on one core's thread; no Send bound is wanted
pub trait Transport {
    /// Appends bytes that have arrived to `buf` and returns how many; `Ok(0)` is end of stream.
    async fn read(&mut self, buf: &mut Vec<u8>) -> io::Result<usize>;
    /// Writes all of `data`.
    async fn write_all(&mut self, data: &[u8]) -> io::Result<()>;
    /// Writes `parts` one after another, as one write. Transports that can take the pieces where
    /// they are (TLS encrypts straight from them) spare the copy; the default joins them first.
    async fn write_all_vectored(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        self.write_all(&parts.concat()).await
    }
    /// Waits until [`Transport::read`] would return without waiting, consuming nothing. IMAP IDLE
    /// waits for this and for mailbox changes at once: a `read` cancelled half-way may lose bytes
    /// (an io_uring read owns its buffer), this wait never does. The default returns at once, so
    /// on a transport without it IDLE reports changes only when the client sends something.
    async fn readable(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Acknowledges what the peer sends next at once instead of after the delayed-ACK timer
    /// (TCP_QUICKACK). For when the client may send the rest of a command in two writes right
    /// after our reply: an IMAP literal after `+` and its closing line end, an SMTP message
    /// after `354` and its final dot. A client whose TCP holds a small write back until the one
    /// before is acknowledged (Nagle's algorithm; Python's imaplib sends a literal and its line
    /// end apart) would otherwise wait for that timer, 40 ms. Transports other than TCP have
    /// nothing to do.
    fn ack_promptly(&self) {}

    /// Runs the TLS server handshake over this plaintext stream (SMTP STARTTLS, RFC 3207) and
    /// returns the negotiated version and cipher suite. Transports that cannot upgrade say so.
    async fn start_tls(&mut self) -> io::Result<String> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "STARTTLS is not available on this connection"))
    }
}

/// Drops the spare capacity of an input buffer that is empty again, so an idle connection holds
/// no large buffer (a burst of input grows it, silence shrinks it).
pub fn release_idle(buf: &mut Vec<u8>, keep_bytes: usize) {
    if buf.is_empty() && buf.capacity() > keep_bytes {
        *buf = Vec::new();
    }
}

/// Puts the TCP socket `fd` in quick-ACK mode: the segments that arrive next are acknowledged at
/// once. The kernel leaves the mode again by itself once the exchange looks interactive, so it is
/// asked each time it is wanted. A failure costs only the delay it was meant to spare.
pub(crate) fn quick_ack(fd: std::os::fd::RawFd) {
    let on: libc::c_int = 1;
    // SAFETY: `fd` is an open socket of the caller's; the option value is a live c_int of the
    // length given.
    unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}
