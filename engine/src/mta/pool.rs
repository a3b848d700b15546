//! The per-core pool of open LMTP connections to the MDA.
//!
//! Each core owns one [`LmtpPool`] (no lock: it lives on the core's thread) and keeps up to
//! `smtp.lmtp_pool_per_core` greeted connections for reuse, so a message costs no connect and no
//! LHLO. A connection is taken out for one transaction and put back only if that transaction
//! ended in step. Before reuse, a pooled connection is checked without blocking: if the MDA closed
//! it or sent something unasked (a `421` before its idle timeout), it is dropped. If it still
//! fails before the MDA answered anything, the transaction is retried once on a fresh connection
//! (nothing was delivered, so nothing is duplicated).

use super::lmtp_client::{ClientError, LmtpClient, Outcome, Transaction};
use crate::io::Transport;
use mailgenic_config::{Config, LmtpTarget};
use std::cell::RefCell;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Room made in the input buffer before each read.
const READ_BYTES: usize = 4096;

/// A connection to the MDA, over a UNIX socket or TCP.
#[derive(Debug)]
pub enum MdaStream {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
}

impl MdaStream {
    async fn connect(target: &LmtpTarget) -> io::Result<MdaStream> {
        Ok(match target {
            LmtpTarget::Unix(path) => MdaStream::Unix(tokio::net::UnixStream::connect(path).await?),
            LmtpTarget::Tcp(addr) => {
                let stream = tokio::net::TcpStream::connect(addr.as_str()).await?;
                stream.set_nodelay(true)?;
                MdaStream::Tcp(stream)
            }
        })
    }

    /// Whether the MDA closed the connection or sent something while nobody asked.
    fn is_stale(&self) -> bool {
        let mut probe = [0u8; 1];
        let result = match self {
            MdaStream::Unix(s) => s.try_read(&mut probe),
            MdaStream::Tcp(s) => s.try_read(&mut probe),
        };
        !matches!(result, Err(ref e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

impl Transport for MdaStream {
    async fn read(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        buf.reserve(READ_BYTES);
        match self {
            MdaStream::Unix(s) => s.read_buf(buf).await,
            MdaStream::Tcp(s) => s.read_buf(buf).await,
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            MdaStream::Unix(s) => AsyncWriteExt::write_all(s, data).await,
            MdaStream::Tcp(s) => AsyncWriteExt::write_all(s, data).await,
        }
    }

    /// One `sendmsg` for all the parts where the socket takes them: the MDA wakes once for a
    /// transaction's commands and its message, not once for each.
    async fn write_all_vectored(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let mut slices: Vec<io::IoSlice<'_>> =
            parts.iter().filter(|p| !p.is_empty()).map(|p| io::IoSlice::new(p)).collect();
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            let n = match self {
                MdaStream::Unix(s) => s.write_vectored(rest).await?,
                MdaStream::Tcp(s) => s.write_vectored(rest).await?,
            };
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            io::IoSlice::advance_slices(&mut rest, n);
        }
        Ok(())
    }
}

/// One core's connections to the MDA.
#[derive(Debug)]
pub struct LmtpPool {
    target: LmtpTarget,
    /// Our name in LHLO.
    hostname: String,
    keep: usize,
    reply_timeout: Duration,
    idle: RefCell<Vec<LmtpClient<MdaStream>>>,
}

impl LmtpPool {
    pub fn new(config: &Config) -> LmtpPool {
        LmtpPool {
            target: config.smtp.lmtp_target(),
            hostname: config.hostname.clone(),
            keep: config.smtp.lmtp_pool_per_core,
            reply_timeout: Duration::from_secs(config.timeouts.lmtp_reply_secs),
            idle: RefCell::new(Vec::new()),
        }
    }

    /// Where this pool delivers.
    pub fn target(&self) -> &LmtpTarget {
        &self.target
    }

    /// Connections waiting for reuse.
    pub fn idle_connections(&self) -> usize {
        self.idle.borrow().len()
    }

    /// Hands one message to the MDA; one outcome per recipient, in order. Never fails as a whole:
    /// an MDA that cannot be reached defers every recipient.
    pub async fn deliver(&self, tx: &Transaction<'_>) -> Vec<Outcome> {
        let mut retried = false;
        loop {
            let (mut client, pooled) = match self.take_idle() {
                Some(client) => (client, true),
                None => match self.connect().await {
                    Ok(client) => (client, false),
                    Err(e) => {
                        tracing::warn!(mda = %self.target, error = %e, "cannot reach the MDA");
                        return vec![Outcome::Deferred(format!("cannot reach the MDA: {e}")); tx.recipients.len()];
                    }
                },
            };
            match client.deliver(tx).await {
                Ok(outcomes) => {
                    self.put_back(client);
                    return outcomes;
                }
                Err(ClientError::Unanswered(e)) if pooled && !retried => {
                    tracing::debug!(mda = %self.target, error = %e, "pooled LMTP connection was gone; retrying");
                    retried = true;
                }
                Err(ClientError::Unanswered(e)) => {
                    tracing::warn!(mda = %self.target, error = %e, "the MDA did not answer");
                    return vec![Outcome::Deferred(format!("the MDA did not answer: {e}")); tx.recipients.len()];
                }
            }
        }
    }

    async fn connect(&self) -> io::Result<LmtpClient<MdaStream>> {
        let stream = tokio::time::timeout(self.reply_timeout, MdaStream::connect(&self.target))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connecting timed out"))??;
        LmtpClient::greet(stream, &self.hostname, self.reply_timeout).await
    }

    fn take_idle(&self) -> Option<LmtpClient<MdaStream>> {
        let mut idle = self.idle.borrow_mut();
        while let Some(client) = idle.pop() {
            if !client.stream().is_stale() {
                return Some(client);
            }
        }
        None
    }

    fn put_back(&self, client: LmtpClient<MdaStream>) {
        let mut idle = self.idle.borrow_mut();
        if client.reusable() && idle.len() < self.keep {
            idle.push(client);
        }
    }
}
