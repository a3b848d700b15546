//! The MTA's end of a mail transaction: local recipients are handed to the MDA over LMTP
//! ([`pool`], [`lmtp_client`]), remote ones and temporary failures go to the durable outbound
//! queue, permanent failures after acceptance become bounces ([`dsn`]); [`queue_runner`] retries
//! the queued hand-offs.
//!
//! ```text
//!  end of DATA ─► LMTP to the MDA (one transaction, every local recipient)
//!                   per recipient: 2xx stored │ 4xx / no answer: queued (local) │ 5xx: refused
//!               ─► one synced queue commit: local retries, remote recipients, a bounce if some
//!                  were refused while others were not
//!               ─► 250 only now (or the 5xx when every recipient was refused, or 451 when the
//!                  queue could not be written)
//! ```
//!
//! The order is what keeps the promise of a `250`: every accepted recipient is either stored by
//! the MDA or written, synced, to the queue before the client hears it. A recipient refused by the
//! MDA is never retried, and one recipient's failure never makes another's copy be sent twice.
//! A copy whose LMTP reply was lost (the MDA stopped answering mid-transaction) is retried: at
//! least once, never lost.

pub mod dsn;
pub mod lmtp_client;
pub mod pool;
pub mod queue_runner;

use lmtp_client::{Outcome, Transaction};
use mailgenic_config::Config;
use pool::LmtpPool;
use std::time::{SystemTime, UNIX_EPOCH};
use storage::mail::{MailStore, NewQueued, RecipientKind, Route};
use storage::Address;

/// One accepted message as the MTA hands it on.
#[derive(Debug, Clone, Copy)]
pub struct Handoff<'a> {
    /// The reverse-path (empty for the null sender).
    pub sender: &'a str,
    pub smtputf8: bool,
    /// Accepted local recipients (accounts), without duplicates.
    pub local: &'a [Address],
    /// Accepted remote recipients.
    pub remote: &'a [String],
    /// This hop's `Received:` field, sent in front of the body.
    pub received: &'a [u8],
    pub body: &'a [u8],
}

/// What the client is told after the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Stored or queued for every recipient: `250`.
    Accepted,
    /// Every recipient was refused for good: this reply (`5xx ...`, CRLF included).
    Refused(String),
    /// Nothing could be made durable: `451 4.3.0`, the client tries again.
    Unavailable,
}

/// The time in Unix seconds.
pub fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Delivers `message` (see the module docs) and says what to answer.
pub async fn hand_off(config: &Config, mail: &MailStore, pool: &LmtpPool, message: Handoff<'_>) -> Verdict {
    let now = now_secs().max(0) as u64;
    let recipients: Vec<String> = message.local.iter().map(Address::to_string).collect();
    let outcomes = if recipients.is_empty() {
        Vec::new()
    } else {
        let tx = Transaction {
            sender: message.sender,
            recipients: &recipients,
            header: message.received,
            body: message.body,
            smtputf8: message.smtputf8,
        };
        pool.deliver(&tx).await
    };
    let mut deferred = Vec::new();
    let mut refused = Vec::new();
    let mut reason = String::new();
    for (recipient, outcome) in recipients.iter().zip(&outcomes) {
        match outcome {
            Outcome::Delivered(_) => {}
            Outcome::Refused(reply) => refused.push((recipient.clone(), reply.summary())),
            Outcome::Deferred(why) => {
                tracing::info!(recipient = %recipient, reason = %why, "local delivery deferred; queued for a retry");
                reason = why.clone();
                deferred.push(recipient.clone());
            }
        }
    }
    let stored = outcomes.iter().filter(|o| matches!(o, Outcome::Delivered(_))).count();
    if stored == 0 && deferred.is_empty() && message.remote.is_empty() {
        if let Some((_, reply)) = refused.first() {
            return Verdict::Refused(format!("{reply}\r\n"));
        }
    }
    let whole = || {
        let mut bytes = Vec::with_capacity(message.received.len() + message.body.len());
        bytes.extend_from_slice(message.received);
        bytes.extend_from_slice(message.body);
        bytes
    };
    let mut queue = Vec::new();
    if !deferred.is_empty() {
        queue.push(NewQueued {
            sender: message.sender.to_string(),
            recipients: deferred,
            message: whole(),
            due: now + config.queue.backoff_secs(0),
            route: Route::Local,
            reason,
        });
    }
    if !message.remote.is_empty() {
        queue.push(NewQueued {
            sender: message.sender.to_string(),
            recipients: message.remote.to_vec(),
            message: whole(),
            due: now,
            route: Route::Remote,
            reason: String::new(),
        });
    }
    let failures: Vec<dsn::Failure> = refused.iter().map(|(r, d)| dsn::Failure::new(r, d, "5.0.0")).collect();
    if let Some(b) = bounce_for(config, mail, message.sender, message.body, &failures, now).await {
        queue.push(b);
    }
    if queue.is_empty() {
        return Verdict::Accepted;
    }
    match mail.enqueue(queue).await {
        Ok(_) => Verdict::Accepted,
        Err(e) => {
            tracing::warn!(error = %e, "cannot queue the message");
            Verdict::Unavailable
        }
    }
}

/// The bounce to queue for `failures` (none for the null sender or when nothing failed).
pub async fn bounce_for(
    config: &Config,
    mail: &MailStore,
    sender: &str,
    original: &[u8],
    failures: &[dsn::Failure],
    now: u64,
) -> Option<NewQueued> {
    if failures.is_empty() {
        return None;
    }
    if sender.is_empty() {
        for f in failures {
            tracing::warn!(recipient = %f.recipient, reason = %f.diagnostic, "undeliverable bounce dropped");
        }
        return None;
    }
    let route = match Address::parse(sender) {
        Ok(address) => match mail.recipient_kind(&address).await {
            Ok(RecipientKind::Remote) => Route::Remote,
            Ok(_) => Route::Local,
            // Unknown for now: the local route asks the MDA, which knows.
            Err(_) => Route::Local,
        },
        Err(_) => Route::Remote,
    };
    let id = now ^ (original.len() as u64).rotate_left(32);
    Some(NewQueued {
        sender: String::new(),
        recipients: vec![sender.to_string()],
        message: dsn::bounce(&config.hostname, sender, original, failures, now as i64, id),
        due: now,
        route,
        reason: "delivery status notification".into(),
    })
}

#[cfg(test)]
mod tests;
