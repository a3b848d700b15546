//! Protocol sessions: bytes in, replies out, store and auth requests made on the way.
//!
//! Each session is an async function generic over [`crate::io::Transport`], so transcript tests
//! drive it over an in-memory pipe while production drives it over TLS. The connection loop is the
//! same everywhere: frame the commands already buffered, answer them into one output buffer, write
//! that buffer with one write, then wait for more input, the timeout, or shutdown.

pub mod imap;
pub mod smtp;

use crate::auth::Authenticator;
use crate::io::Transport;
use crate::mta::pool::LmtpPool;
use mailgenic_config::Config;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use storage::mail::MailStore;
use storage::Store;
use tokio::sync::watch;

/// What every session needs from its server.
#[derive(Debug, Clone)]
pub struct SessionContext {
    pub config: Arc<Config>,
    pub auth: Arc<Authenticator>,
    /// The store that mail is delivered to and recipients are looked up in.
    pub store: Store,
    /// The client's address (for failure counting and logs).
    pub peer: SocketAddr,
    /// `true` once the server is shutting down.
    pub shutdown: watch::Receiver<bool>,
    /// The TLS protocol version and cipher suite of the connection (`TLSv1.3 TLS13_AES_...`), for
    /// `Received:` fields; `None` on a plaintext connection.
    pub tls: Option<String>,
    /// This core's connections to the MDA, where the MTA (submission, MX) hands local mail;
    /// `None` for the MDA's own sessions.
    pub mda: Option<Rc<LmtpPool>>,
}

impl SessionContext {
    /// The store's async mail API (a cheap handle).
    pub fn mail(&self) -> MailStore {
        self.store.mail()
    }
}

/// Why the wait for client input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Bytes were appended to the buffer.
    Data,
    /// The client closed the connection.
    Eof,
    /// Nothing arrived within the timeout.
    Timeout,
    /// The server is shutting down.
    Shutdown,
}

/// Waits for more input from the client, bounded by `timeout` and interrupted by shutdown.
pub async fn read_input<T: Transport>(
    transport: &mut T,
    buf: &mut Vec<u8>,
    timeout: Duration,
    shutdown: &mut watch::Receiver<bool>,
) -> io::Result<Input> {
    if *shutdown.borrow() {
        return Ok(Input::Shutdown);
    }
    tokio::select! {
        biased;
        _ = shutdown.changed() => Ok(Input::Shutdown),
        read = tokio::time::timeout(timeout, transport.read(buf)) => match read {
            Err(_) => Ok(Input::Timeout),
            Ok(Ok(0)) => Ok(Input::Eof),
            Ok(Ok(_)) => Ok(Input::Data),
            Ok(Err(e)) => Err(e),
        },
    }
}

/// Limits a printable slice of client input for a log line.
pub fn printable(bytes: &[u8]) -> String {
    let text: String =
        String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).chars().filter(|c| !c.is_control()).collect();
    text
}

#[cfg(test)]
pub mod testing;
