//! The end of a mail transaction, in two ways.
//!
//! As the MTA (submission and MX), the message goes to the MDA over LMTP and, for remote
//! recipients and temporary failures, to the outbound queue: see [`crate::mta`], which decides
//! the one reply (`250`, the MDA's `5xx` when it refused everyone, or `451 4.3.0`).
//!
//! As the MDA (LMTP), every accepted recipient gets one copy through `MailStore::deliver` (the
//! body stored once, each copy with its own `Return-Path`, `Delivered-To` and `Received`
//! prefix) and one reply, in `RCPT` order (RFC 2033 §4.2): `250` once synced, `451 4.3.0` for a
//! transient store failure, a `5xx` for a permanent one.

use super::envelope::{Envelope, Trace};
use super::{Mode, SmtpSession};
use crate::mta::Verdict;
use std::collections::HashMap;
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
        let now = crate::mta::now_secs();
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
        match self.mode {
            Mode::Lmtp => self.store_copies(&envelope, body, &trace, out).await,
            Mode::Submission | Mode::Mx => {
                let received = trace.received();
                let mut local: Vec<Address> = Vec::with_capacity(envelope.local.len());
                for account in &envelope.local {
                    if !local.contains(account) {
                        local.push(account.clone());
                    }
                }
                let Some(pool) = self.ctx.mda.as_deref() else {
                    out.extend_from_slice(b"451 4.3.0 Local delivery is not available, try again later\r\n");
                    return;
                };
                let handoff = crate::mta::Handoff {
                    sender: &envelope.sender,
                    smtputf8: envelope.smtputf8,
                    local: &local,
                    remote: &envelope.remote,
                    received: received.as_bytes(),
                    body: &body,
                };
                match crate::mta::hand_off(&self.ctx.config, &self.ctx.mail(), pool, handoff).await {
                    Verdict::Accepted => out.extend_from_slice(b"250 2.0.0 Message accepted for delivery\r\n"),
                    Verdict::Refused(reply) => out.extend_from_slice(reply.as_bytes()),
                    Verdict::Unavailable => {
                        out.extend_from_slice(b"451 4.3.0 Temporary failure storing the message, try again later\r\n")
                    }
                }
            }
        }
    }

    /// The MDA's delivery: one copy per accepted recipient, one reply each.
    async fn store_copies(&self, envelope: &Envelope, body: Vec<u8>, trace: &Trace<'_>, out: &mut Vec<u8>) {
        let mut unique: Vec<Address> = Vec::with_capacity(envelope.local.len());
        for account in &envelope.local {
            if !unique.contains(account) {
                unique.push(account.clone());
            }
        }
        let recipients: Vec<Recipient> = unique
            .iter()
            .map(|account| Recipient {
                account: account.clone(),
                prefix: trace.delivery_prefix(&envelope.sender, account),
            })
            .collect();
        // Per account: `None` stored, `Some(reply)` failed.
        let mut outcome: HashMap<Address, Option<&'static [u8]>> = HashMap::new();
        match self.ctx.store.mail().deliver(body, recipients, trace.now).await {
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
                for account in &unique {
                    outcome.insert(account.clone(), Some(reply));
                }
            }
        }
        for account in &envelope.local {
            match outcome.get(account).copied().flatten() {
                None => out.extend_from_slice(format!("250 2.0.0 <{account}> Delivered\r\n").as_bytes()),
                Some(reply) => out.extend_from_slice(reply),
            }
        }
    }
}
