//! Message contents for FETCH and SEARCH, read ahead in batches: one store call returns the rest
//! of a batch of UIDs, as much of it as a byte budget holds (at least one message), instead of a
//! store round trip per message. Only the header sections are read when nothing else is needed.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use storage::mail::{Extent, MailStore};
use storage::{Address, StoreError};

/// A store read under way: the contents of the UIDs from some UID on.
type Pending = Pin<Box<dyn Future<Output = Result<Vec<(u32, Vec<u8>)>, StoreError>>>>;

/// The contents read so far of one batch, by UID, and the read of the next part of the batch,
/// queued as soon as the previous part arrived: the store reads it while the session writes out
/// what it has. At most two budgets are held.
pub(super) struct ReadAhead {
    /// Each message's header section only, or the whole message.
    extent: Extent,
    /// Bytes one store call may return (it returns one message however large).
    budget: u64,
    contents: HashMap<u32, Vec<u8>>,
    /// The read queued ahead, and the first UID it covers.
    pending: Option<(u32, Pending)>,
}

impl ReadAhead {
    pub fn new(header_only: bool, budget: u64) -> ReadAhead {
        let extent = if header_only { Extent::Header } else { Extent::Whole };
        ReadAhead { extent, budget, contents: HashMap::new(), pending: None }
    }

    /// The content of `uid`, one of `batch` (ascending UIDs, each of which the caller takes in
    /// turn: a UID the caller skips is read for nothing): from what was read ahead, or read now
    /// together with the UIDs after it. `None` if the message is gone (expunged since the batch
    /// was listed).
    pub async fn take(
        &mut self,
        mail: &MailStore,
        account: &Address,
        mailbox: &str,
        batch: &[u32],
        uid: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        while !self.contents.contains_key(&uid) {
            // What was read for UIDs the caller has gone past will not be asked for.
            self.contents.retain(|&u, _| u > uid);
            let read = match self.pending.take() {
                Some((from, read)) if from <= uid => read,
                _ => self.request(mail, account, mailbox, batch, uid),
            };
            let got = read.await?;
            let last = got.last().map(|(u, _)| *u);
            self.contents.extend(got);
            if let Some(&next) = last.and_then(|last| batch.iter().find(|&&u| u > last)) {
                self.pending = Some((next, self.request(mail, account, mailbox, batch, next)));
            }
            // A read that reached past `uid` without it: the message is gone.
            if last.is_none_or(|last| last >= uid) {
                break;
            }
        }
        Ok(self.contents.remove(&uid))
    }

    /// Queues the read of the UIDs of `batch` from `from` on.
    fn request(&self, mail: &MailStore, account: &Address, mailbox: &str, batch: &[u32], from: u32) -> Pending {
        let rest = &batch[batch.partition_point(|&u| u < from)..];
        Box::pin(mail.read_batch(account, mailbox, super::select::uid_set(rest), self.extent, self.budget))
    }
}
