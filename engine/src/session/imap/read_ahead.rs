//! Message contents for FETCH and SEARCH, read ahead in batches: one store call returns the rest
//! of a batch of UIDs, as much of it as a byte budget holds (at least one message), instead of a
//! store round trip per message. Only the header sections are read when nothing else is needed.

use std::collections::HashMap;
use storage::mail::MailStore;
use storage::{Address, StoreError};

/// The contents read so far of one batch, by UID.
#[derive(Debug)]
pub(super) struct ReadAhead {
    /// Read only each message's header section (trace prefix and the message's own header).
    header_only: bool,
    /// Bytes one store call may return (it returns one message however large).
    budget: u64,
    contents: HashMap<u32, Vec<u8>>,
}

impl ReadAhead {
    pub fn new(header_only: bool, budget: u64) -> ReadAhead {
        ReadAhead { header_only, budget, contents: HashMap::new() }
    }

    /// The content of `uid`, one of `batch` (ascending UIDs): from what was read ahead, or read
    /// now together with the UIDs after it. `None` if the message is gone (expunged since the
    /// batch was listed).
    pub async fn take(
        &mut self,
        mail: &MailStore,
        account: &Address,
        mailbox: &str,
        batch: &[u32],
        uid: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if !self.contents.contains_key(&uid) {
            let rest: Vec<u32> = batch.iter().copied().filter(|&u| u >= uid).collect();
            let set = super::select::uid_set(&rest);
            let read = if self.header_only {
                mail.read_headers(account, mailbox, set, self.budget).await?
            } else {
                mail.read_messages(account, mailbox, set, self.budget).await?
            };
            self.contents.extend(read);
        }
        Ok(self.contents.remove(&uid))
    }
}
