//! The queue runner: retries the hand-offs to the MDA that failed temporarily (the queue's
//! `local` route), on core 0, every `queue.scan_secs`.
//!
//! Per due entry, one LMTP transaction for its remaining recipients, then one commit that settles
//! it: delivered recipients leave the entry, refused ones and those still failing after
//! `queue.max_age_secs` get a bounce (unless the message is itself a bounce), the rest wait
//! `queue.retry_min_secs` doubled per attempt (capped at `queue.retry_max_secs`). Entries of the
//! `remote` route wait for delivery to other MTAs, which this host does not do yet.

use super::dsn::Failure;
use super::lmtp_client::{Outcome, Transaction};
use super::pool::LmtpPool;
use mailgenic_config::Config;
use std::time::Duration;
use storage::mail::{Attempt, MailStore, QueuedMessage, Route};
use tokio::sync::watch;

/// Entries taken per scan; the next scan takes the rest.
const BATCH: usize = 100;

/// Runs until shutdown.
pub async fn run(config: &Config, mail: MailStore, pool: &LmtpPool, mut shutdown: watch::Receiver<bool>) {
    let pause = Duration::from_secs(config.queue.scan_secs);
    loop {
        let now = super::now_secs().max(0) as u64;
        match mail.queue_due(Route::Local, now, BATCH).await {
            Ok(due) => {
                for entry in due {
                    if *shutdown.borrow() {
                        return;
                    }
                    attempt(config, &mail, pool, entry).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the queue"),
        }
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// One attempt at one entry.
pub async fn attempt(config: &Config, mail: &MailStore, pool: &LmtpPool, entry: QueuedMessage) {
    let message = match mail.queue_message(entry.id).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(id = entry.id, error = %e, "cannot read a queued message");
            return;
        }
    };
    let tx = Transaction {
        sender: &entry.sender,
        recipients: &entry.recipients,
        header: b"",
        body: &message,
        smtputf8: !entry.sender.is_ascii() || entry.recipients.iter().any(|r| !r.is_ascii()),
    };
    let outcomes = pool.deliver(&tx).await;
    let now = super::now_secs().max(0) as u64;
    let expired = now >= entry.created.saturating_add(config.queue.max_age_secs);
    let mut remaining = Vec::new();
    let mut failures = Vec::new();
    let mut error = String::new();
    for (recipient, outcome) in entry.recipients.iter().zip(outcomes) {
        match outcome {
            Outcome::Delivered(_) => tracing::info!(id = entry.id, recipient = %recipient, "queued message delivered"),
            Outcome::Refused(reply) => failures.push(Failure::new(recipient, &reply.summary(), "5.0.0")),
            Outcome::Deferred(why) if expired => failures.push(Failure::new(
                recipient,
                &format!("{why} (gave up after {} attempts)", entry.attempts + 1),
                "4.4.7",
            )),
            Outcome::Deferred(why) => {
                error = why;
                remaining.push(recipient.clone());
            }
        }
    }
    let bounce = super::bounce_for(config, mail, &entry.sender, &message, &failures, now).await;
    let settled = Attempt {
        due: now + config.queue.backoff_secs(entry.attempts + 1),
        remaining,
        error,
        enqueue: bounce.into_iter().collect(),
    };
    if !settled.remaining.is_empty() {
        tracing::info!(id = entry.id, recipients = settled.remaining.len(), error = %settled.error, "queued message deferred");
    }
    if let Err(e) = mail.queue_attempted(entry.id, settled).await {
        tracing::warn!(id = entry.id, error = %e, "cannot update the queue after an attempt");
    }
}
