//! The end of a mail transaction: one synced store call per destination, then the replies.
//!
//! Local recipients get one copy each through `MailStore::deliver` (the body stored once), each
//! copy with its own `Return-Path`, `Delivered-To` and `Received` prefix; remote recipients
//! (submission only) go to the outbound queue as one entry with a `Received` field in front. The
//! `250` is written only after the store calls have returned, and they return only once synced.
//!
//! Replies: SMTP sends one reply for the message; LMTP one per accepted recipient, in `RCPT`
//! order (RFC 2033 §4.2). A store failure is `451 4.3.0` (transient) or a permanent `5xx`.
//! Under SMTP, when some local copies fail permanently while others are stored (an account
//! removed between `RCPT` and the end of data), the message is accepted and the failure logged:
//! there is no bounce (DSN) generation yet.

use super::envelope::{Envelope, Trace};
use super::{Mode, SmtpSession};
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};
use storage::mail::Recipient;
use storage::{Address, StoreError};

/// The reply for a failed store call.
fn store_error_reply(e: &StoreError) -> &'static [u8] {
    match e {
        StoreError::Unavailable(_) | StoreError::Locked(_) => {
            b"451 4.3.0 Temporary failure storing the message, try again later\r\n"
        }
        StoreError::NotFound(_) => b"550 5.1.1 No such user here\r\n",
        StoreError::Invalid(_) => b"552 5.3.4 Message size exceeds fixed maximum message size\r\n",
        StoreError::Exists(_) | StoreError::SchemaTooNew { .. } | StoreError::Corrupt(_) => {
            b"554 5.3.0 The message could not be stored\r\n"
        }
    }
}

impl SmtpSession<'_> {
    pub(super) async fn deliver(&mut self, envelope: Envelope, body: Vec<u8>, out: &mut Vec<u8>) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        let ip = self.ctx.peer.ip();
        let trace = Trace {
            helo: self.helo.as_deref().unwrap_or("unknown"),
            ip: if ip.is_unspecified() { None } else { Some(ip) },
            hostname: &self.ctx.config.hostname,
            protocol: match self.mode {
                Mode::Submission => "ESMTPSA",
                Mode::Lmtp => "LMTP",
                Mode::Mx if self.tls.is_some() => "ESMTPS",
                Mode::Mx => "ESMTP",
            },
            tls: self.tls.as_deref(),
            now,
        };
        let mail = self.ctx.store.mail();
        let mut unique: Vec<Address> = Vec::with_capacity(envelope.local.len());
        for account in &envelope.local {
            if !unique.contains(account) {
                unique.push(account.clone());
            }
        }
        // Per local account: `None` stored, `Some(reply)` failed.
        let mut outcome: HashMap<Address, Option<&'static [u8]>> = HashMap::new();
        let mut failure: Option<&'static [u8]> = None;
        let queued = (!envelope.remote.is_empty()).then(|| {
            let mut message = trace.received().into_bytes();
            message.extend_from_slice(&body);
            message
        });
        if !unique.is_empty() {
            let recipients: Vec<Recipient> = unique
                .iter()
                .map(|account| Recipient {
                    account: account.clone(),
                    prefix: trace.delivery_prefix(&envelope.sender, account),
                })
                .collect();
            match mail.deliver(body, recipients, now).await {
                Ok(results) => {
                    for (account, result) in unique.iter().zip(results) {
                        if let Err(e) = &result {
                            tracing::warn!(recipient = %account, error = %e, "local delivery failed");
                        }
                        outcome.insert(account.clone(), result.err().map(|e| store_error_reply(&e)));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "delivery failed");
                    let reply = store_error_reply(&e);
                    failure = Some(reply);
                    for account in &unique {
                        outcome.insert(account.clone(), Some(reply));
                    }
                }
            }
        }
        if let Some(message) = queued.filter(|_| failure.is_none()) {
            let remote = envelope.remote.clone();
            if let Err(e) = mail.enqueue(&envelope.sender, remote, message, now.max(0) as u64).await {
                tracing::warn!(error = %e, "queueing for remote recipients failed");
                failure = Some(store_error_reply(&e));
            }
        }
        match self.mode {
            Mode::Lmtp => {
                for account in &envelope.local {
                    match outcome.get(account).copied().flatten() {
                        None => out.extend_from_slice(format!("250 2.0.0 <{account}> Delivered\r\n").as_bytes()),
                        Some(reply) => out.extend_from_slice(reply),
                    }
                }
            }
            Mode::Submission | Mode::Mx => {
                let stored = outcome.values().filter(|o| o.is_none()).count();
                let first_local_failure = outcome.values().find_map(|o| *o);
                match failure.or(if stored == 0 && envelope.remote.is_empty() { first_local_failure } else { None }) {
                    Some(reply) => out.extend_from_slice(reply),
                    None => out.extend_from_slice(b"250 2.0.0 Message accepted for delivery\r\n"),
                }
            }
        }
    }
}
