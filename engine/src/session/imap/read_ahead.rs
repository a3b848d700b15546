//! Message contents for FETCH and SEARCH, read ahead in batches: one store call returns the rest
//! of a batch of UIDs, as much of it as a byte budget holds (at least one message), instead of a
//! store round trip per message. Only the header sections are read when nothing else is needed.

use std::collections::HashMap;
use storage::mail::{Extent, MailStore};
use storage::{Address, StoreError};

/// The contents read so far of one batch, by UID.
#[derive(Debug)]
pub(super) struct ReadAhead {
    /// Each message's header section only, or the whole message.
    extent: Extent,
    /// Bytes one store call may return (it returns one message however large).
    budget: u64,
    contents: HashMap<u32, Vec<u8>>,
}

impl ReadAhead {
    pub fn new(header_only: bool, budget: u64) -> ReadAhead {
        let extent = if header_only { Extent::Header } else { Extent::Whole };
        ReadAhead { extent, budget, contents: HashMap::new() }
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
            self.contents.extend(mail.read_batch(account, mailbox, set, self.extent, self.budget).await?);
        }
        Ok(self.contents.remove(&uid))
    }
}
