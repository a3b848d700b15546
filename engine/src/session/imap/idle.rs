//! IDLE (RFC 2177, RFC 9051 §6.3.13): after `+ idling` the session waits at once for the client's
//! `DONE`, for committed changes of the account ([`storage::mail::MailStore::watch`]), for the
//! idle timeout and for shutdown. A change to the selected mailbox is reported straight away
//! (`* n EXISTS`, `* n EXPUNGE`, `* n FETCH (FLAGS ...)`).
//!
//! The client's bytes are waited for with [`Transport::readable`], which consumes nothing, so a
//! change that wins the race never cancels a read half-way.

use super::{reply, Flow, ImapSession};
use crate::io::Transport;
use std::io;
use std::time::Duration;
use storage::mail::WatchEvent;
use tokio::sync::watch;

impl ImapSession<'_> {
    /// Runs one IDLE until DONE (or the end of the connection); `out` has been written.
    pub(super) async fn idle<T: Transport>(
        &mut self,
        tag: &[u8],
        transport: &mut T,
        input: &mut Vec<u8>,
        out: &mut Vec<u8>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> io::Result<Flow> {
        let Some(account) = self.user.clone() else { return Ok(Flow::Continue) };
        // Subscribe before the last report, so that nothing committed in between is missed.
        let mut changes = self.ctx.mail().watch(&account);
        self.sync(out, true).await;
        out.extend_from_slice(b"+ idling\r\n");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(self.ctx.config.timeouts.imap_idle_secs);
        let max_line = self.ctx.config.limits.max_line_bytes;
        loop {
            if !out.is_empty() {
                transport.write_all(out).await?;
                out.clear();
            }
            if let Some(lf) = memchr::memchr(b'\n', input) {
                let line: Vec<u8> = input.drain(..=lf).collect();
                let line = line.strip_suffix(b"\n").unwrap_or(&line);
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let flow = if line.eq_ignore_ascii_case(b"DONE") {
                    self.sync(out, true).await;
                    reply(out, tag, "OK", "IDLE terminated");
                    Flow::Continue
                } else {
                    self.bad(out, tag, "Expected DONE")
                };
                transport.write_all(out).await?;
                out.clear();
                return Ok(flow);
            }
            if input.len() > max_line {
                transport.write_all(b"* BYE [TOOBIG] Expected DONE\r\n").await?;
                return Ok(Flow::Close);
            }
            if *shutdown.borrow() {
                transport.write_all(b"* BYE [UNAVAILABLE] Server shutting down\r\n").await?;
                return Ok(Flow::Close);
            }
            tokio::select! {
                biased;
                _ = shutdown.changed() => {}
                event = changes.next() => match event {
                    None => {
                        transport.write_all(b"* BYE [UNAVAILABLE] The mail store is closing\r\n").await?;
                        return Ok(Flow::Close);
                    }
                    Some(WatchEvent::Lagged) => self.sync(out, true).await,
                    Some(WatchEvent::Changed(notice)) => {
                        if self.selected.as_ref().is_some_and(|s| s.name == notice.mailbox) {
                            self.sync(out, true).await;
                        }
                    }
                },
                ready = tokio::time::timeout_at(deadline, transport.readable()) => match ready {
                    Err(_) => {
                        transport.write_all(b"* BYE Autologout; idle for too long\r\n").await?;
                        return Ok(Flow::Close);
                    }
                    Ok(result) => {
                        result?;
                        if transport.read(input).await? == 0 {
                            return Ok(Flow::Close);
                        }
                    }
                },
            }
        }
    }
}
