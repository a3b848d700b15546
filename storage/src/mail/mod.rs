//! The mail store: mailboxes, messages, bodies stored once, the change log and the outbound
//! queue, behind an async API that speaks mail ([`MailStore`]).
//!
//! ```text
//!  engine reactor threads                         storage threads
//!  ─────────────────────                          ───────────────
//!  MailStore::append ──parse on a reader──▶ mail-reader-N ──▶ (metadata)
//!          │                                                     │
//!          └──────────────── request + oneshot ───▶ mail-writer: drain queue, apply all to
//!                                                   one Txn, WriteBatch sync=true, reply all,
//!                                                   broadcast ChangeNotice
//!  MailStore::fetch_* ──────── closure + oneshot ──▶ mail-reader-N: RocksDB snapshot reads
//! ```
//!
//! Modules: [`model`] (the public vocabulary), [`meta`] (ENVELOPE/BODYSTRUCTURE/offsets),
//! `record` (keys and values), `txn` (the writer's overlay transaction), `writer` (threads and
//! group commit), `mailboxes` and `messages` (writer-side operations), `read` (snapshot reads),
//! [`queue`] (the outbound queue), `check` (invariants and backup), `compact` (drops the
//! tombstones of expunged messages), `usage` (each account's bytes and messages).
//!
//! Durability: every mutating call resolves only after its group commit is synced (`fsync` of the
//! RocksDB WAL), so an SMTP `250` or an IMAP `OK` sent after it survives a crash.

mod check;
mod compact;
pub mod imap_string;
mod mailboxes;
mod messages;
pub mod meta;
pub mod model;
pub mod queue;
mod read;
mod recent;
mod recipients;
mod record;
mod txn;
mod usage;
mod writer;

pub(crate) use recent::RecentClaims;
pub(crate) use recipients::RecipientCache;

#[cfg(test)]
mod tests;

pub(crate) use usage::fill_missing as fill_missing_usage;
pub(crate) use writer::MailEngine;

use crate::{Address, Store, StoreError};
pub use messages::MAX_MESSAGE_BYTES;
use messages::{PreparedBody, PreparedMessage};
pub use model::*;
pub use queue::{Attempt, NewQueued, QueuedMessage, Route};
use std::future::Future;
use std::ops::Range;
use tokio::sync::{broadcast, oneshot};

/// The async mail API over a [`Store`]. Cheap to clone; no call blocks the calling thread.
#[derive(Clone, Debug)]
pub struct MailStore {
    store: Store,
}

impl Store {
    /// The mail API of this store.
    pub fn mail(&self) -> MailStore {
        MailStore { store: self.clone() }
    }

    /// Creates the default mailboxes of an account that has none (accounts from a version 1 store).
    pub(crate) fn ensure_default_mailboxes(&self, account: &Address) -> Result<(), StoreError> {
        let account = account.clone();
        self.engine().write_blocking(move |txn| mailboxes::create_account_mail(txn, &account, None))
    }

    /// Writes a new account's record together with its default mailboxes, in one commit.
    pub(crate) fn create_account_with_mail(&self, account: &Address, record: Vec<u8>) -> Result<(), StoreError> {
        let account = account.clone();
        self.engine().write_blocking(move |txn| mailboxes::create_account_mail(txn, &account, Some(record)))
    }

    /// Deletes an account with its mailboxes and messages, dropping its body references.
    pub(crate) fn remove_account_with_mail(&self, account: &Address) -> Result<(), StoreError> {
        let account = account.clone();
        self.engine().write_blocking(move |txn| mailboxes::remove_account(txn, &account))
    }
}

async fn settle<T>(rx: oneshot::Receiver<Result<T, StoreError>>) -> Result<T, StoreError> {
    rx.await.unwrap_or_else(|_| Err(writer::stopped()))
}

/// Listens for committed changes of one account (for IDLE).
#[derive(Debug)]
pub struct ChangeWatch {
    account: Address,
    notices: broadcast::Receiver<ChangeNotice>,
}

/// What a [`ChangeWatch`] hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    Changed(ChangeNotice),
    /// Notices were dropped because this watcher fell behind: rescan the mailbox.
    Lagged,
}

impl ChangeWatch {
    /// The next change of the account; `None` once the store is closed.
    pub async fn next(&mut self) -> Option<WatchEvent> {
        loop {
            match self.notices.recv().await {
                Ok(n) if n.account == self.account => return Some(WatchEvent::Changed(n)),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => return Some(WatchEvent::Lagged),
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The next change of the account that is already queued, without waiting (and without a
    /// timer: a zero timeout on [`ChangeWatch::next`] still waits for the timer's next tick, a
    /// millisecond). `Ok(None)`: nothing is queued; `Err(Closed)`: the store is closed.
    pub fn try_next(&mut self) -> Result<Option<WatchEvent>, Closed> {
        loop {
            match self.notices.try_recv() {
                Ok(n) if n.account == self.account => return Ok(Some(WatchEvent::Changed(n))),
                Ok(_) => continue,
                Err(broadcast::error::TryRecvError::Lagged(_)) => return Ok(Some(WatchEvent::Lagged)),
                Err(broadcast::error::TryRecvError::Empty) => return Ok(None),
                Err(broadcast::error::TryRecvError::Closed) => return Err(Closed),
            }
        }
    }
}

/// The store that a [`ChangeWatch`] listened to is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl MailStore {
    fn write<T, F>(&self, apply: F) -> impl Future<Output = Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&mut txn::Txn<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        settle(self.store.engine().write(0, apply))
    }

    /// As `write`, for a request carrying `weight` bytes of message data (bounds a group's size).
    fn write_weighted<T, F>(&self, weight: usize, apply: F) -> impl Future<Output = Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&mut txn::Txn<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        settle(self.store.engine().write(weight, apply))
    }

    fn read<T, F>(&self, read: F) -> impl Future<Output = Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&crate::rocks::Backend) -> Result<T, StoreError> + Send + 'static,
    {
        settle(self.store.engine().read(read))
    }

    /// Parses `body` on a reader thread (never on the caller's).
    async fn prepare(&self, body: Vec<u8>) -> Result<PreparedBody, StoreError> {
        self.read(move |_| {
            let meta = meta::extract(&body);
            Ok(PreparedBody { bytes: body, meta })
        })
        .await
    }

    pub async fn create_mailbox(
        &self,
        account: &Address,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<MailboxInfo, StoreError> {
        let (account, name) = (account.clone(), name.to_string());
        self.write(move |t| mailboxes::create_mailbox(t, &account, &name, special_use)).await
    }

    pub async fn rename_mailbox(&self, account: &Address, from: &str, to: &str) -> Result<(), StoreError> {
        let (account2, from2, to) = (account.clone(), from.to_string(), to.to_string());
        self.write(move |t| mailboxes::rename_mailbox(t, &account2, &from2, &to)).await?;
        self.forget_recent(account, from);
        Ok(())
    }

    pub async fn delete_mailbox(&self, account: &Address, name: &str) -> Result<(), StoreError> {
        let (account2, name2) = (account.clone(), name.to_string());
        self.write(move |t| mailboxes::delete_mailbox(t, &account2, &name2)).await?;
        self.forget_recent(account, name);
        Ok(())
    }

    /// Every mailbox of the account, ordered by name.
    pub async fn list_mailboxes(&self, account: &Address) -> Result<Vec<MailboxInfo>, StoreError> {
        let account = account.clone();
        self.read(move |b| read::list_mailboxes(b, &account)).await
    }

    /// One mailbox (SELECT / EXAMINE).
    pub async fn mailbox(&self, account: &Address, name: &str) -> Result<MailboxInfo, StoreError> {
        let (account, name) = (account.clone(), name.to_string());
        self.read(move |b| read::mailbox(b, &account, &name)).await
    }

    pub async fn subscribe(&self, account: &Address, name: &str) -> Result<(), StoreError> {
        let (account, name) = (account.clone(), name.to_string());
        self.write(move |t| mailboxes::set_subscribed(t, &account, &name, true)).await
    }

    pub async fn unsubscribe(&self, account: &Address, name: &str) -> Result<(), StoreError> {
        let (account, name) = (account.clone(), name.to_string());
        self.write(move |t| mailboxes::set_subscribed(t, &account, &name, false)).await
    }

    /// Subscribed names, ordered (they need not exist: RFC 9051 §6.3.7).
    pub async fn subscriptions(&self, account: &Address) -> Result<Vec<String>, StoreError> {
        let account = account.clone();
        self.read(move |b| read::subscriptions(b, &account)).await
    }

    /// Stores a message in `mailbox` (IMAP APPEND); resolves once it is on disk.
    pub async fn append(&self, account: &Address, mailbox: &str, message: NewMessage) -> Result<Appended, StoreError> {
        let mut appended = self.append_all(account, mailbox, vec![message]).await?;
        appended.pop().ok_or_else(|| StoreError::Corrupt("an append stored no message".into()))
    }

    /// Stores `messages` in `mailbox` in one request of one group commit (IMAP MULTIAPPEND, RFC
    /// 3502): all of them with ascending UIDs, or, if any fails, none. Resolves once they are on
    /// disk; the result has one entry per message, in order.
    pub async fn append_all(
        &self,
        account: &Address,
        mailbox: &str,
        messages: Vec<NewMessage>,
    ) -> Result<Vec<Appended>, StoreError> {
        if messages.is_empty() {
            return Err(StoreError::Invalid("an append needs at least one message".into()));
        }
        for m in &messages {
            messages::check_size(m.prefix.len() + m.body.len())?;
        }
        let mut prepared = Vec::with_capacity(messages.len());
        for NewMessage { prefix, body, flags, internal_date } in messages {
            let body = self.prepare(body).await?;
            prepared.push(PreparedMessage { prefix, body, flags, internal_date });
        }
        let (account, mailbox) = (account.clone(), mailbox.to_string());
        let weight = prepared.iter().map(|m| m.prefix.len() + m.body.bytes.len()).sum();
        self.write_weighted(weight, move |t| messages::append(t, &account, &mailbox, prepared)).await
    }

    /// Delivers one message to every recipient's INBOX in one commit, the body stored once. The
    /// result has one entry per recipient, in order (LMTP answers each one).
    pub async fn deliver(
        &self,
        body: Vec<u8>,
        recipients: Vec<Recipient>,
        internal_date: i64,
    ) -> Result<Vec<Result<Appended, StoreError>>, StoreError> {
        messages::check_size(body.len())?;
        let body = self.prepare(body).await?;
        let weight = body.bytes.len();
        self.write_weighted(weight, move |t| messages::deliver(t, &body, recipients, internal_date)).await
    }

    /// Whether `address` is a local account, an unknown user of a local domain, or remote; looked
    /// up on a reader thread.
    /// Answers from the recipient cache when it can.
    pub async fn recipient_kind(&self, address: &Address) -> Result<RecipientKind, StoreError> {
        let cache = self.store.recipient_cache();
        // Taken before the lookup: a directory change committed meanwhile outdates the answer.
        let generation = cache.generation();
        if let Some(kind) = cache.get(address, generation) {
            return Ok(kind);
        }
        let (store, looked_up) = (self.store.clone(), address.clone());
        let kind = self
            .read(move |_| {
                if !store.is_local_domain(&looked_up.domain())? {
                    Ok(RecipientKind::Remote)
                } else if store.account(&looked_up)?.is_some() {
                    Ok(RecipientKind::Local)
                } else {
                    Ok(RecipientKind::UnknownLocal)
                }
            })
            .await?;
        cache.put(address, generation, kind);
        Ok(kind)
    }

    /// The account `postmaster@<first local domain>`, if it exists (where mail to `<postmaster>`
    /// goes).
    pub async fn postmaster(&self) -> Result<Option<Address>, StoreError> {
        let store = self.store.clone();
        self.read(move |_| {
            let Some(domain) = store.domains()?.into_iter().next() else { return Ok(None) };
            let address = Address::parse(&format!("postmaster@{domain}"))?;
            Ok(store.account(&address)?.map(|_| address))
        })
        .await
    }

    /// UID, MODSEQ, flags, INTERNALDATE and size of the messages in `uids`, in UID order.
    /// Queued when called, as [`MailStore::fetch_meta`].
    pub fn fetch_summaries(
        &self,
        account: &Address,
        mailbox: &str,
        uids: UidSet,
    ) -> impl Future<Output = Result<Vec<MessageSummary>, StoreError>> + 'static {
        let (account, mailbox) = (account.clone(), mailbox.to_string());
        self.read(move |b| read::fetch_summaries(b, &account, &mailbox, &uids))
    }

    /// As [`MailStore::fetch_summaries`] plus ENVELOPE, BODYSTRUCTURE and part offsets.
    ///
    /// The read is queued when this is called, not when the future is first polled, so a caller
    /// can ask for its next batch before it writes out the current one.
    pub fn fetch_meta(
        &self,
        account: &Address,
        mailbox: &str,
        uids: UidSet,
    ) -> impl Future<Output = Result<Vec<MessageMeta>, StoreError>> + 'static {
        self.fetch_meta_with(account, mailbox, uids, MetaFields::ALL)
    }

    /// [`MailStore::fetch_meta`] of some metadata `fields` only.
    pub fn fetch_meta_with(
        &self,
        account: &Address,
        mailbox: &str,
        uids: UidSet,
        fields: MetaFields,
    ) -> impl Future<Output = Result<Vec<MessageMeta>, StoreError>> + 'static {
        let (account, mailbox) = (account.clone(), mailbox.to_string());
        self.read(move |b| read::fetch_meta(b, &account, &mailbox, &uids, fields))
    }

    /// The `extent` (header section or whole message) of the messages of `uids` in UID order, as
    /// many as fit in `max_bytes` (at least one, however large), read in one store call; the
    /// caller asks again from the UID after the last returned. What FETCH and SEARCH read.
    ///
    /// Queued when called, as [`MailStore::fetch_meta`].
    pub fn read_batch(
        &self,
        account: &Address,
        mailbox: &str,
        uids: UidSet,
        extent: Extent,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Vec<(u32, Vec<u8>)>, StoreError>> + 'static {
        let (account, mailbox) = (account.clone(), mailbox.to_string());
        self.read(move |b| read::read_batch(b, &account, &mailbox, &uids, extent, max_bytes))
    }

    /// The whole message as stored: its prefix, then the body.
    pub async fn read_message(&self, account: &Address, mailbox: &str, uid: u32) -> Result<Vec<u8>, StoreError> {
        let (account, mailbox) = (account.clone(), mailbox.to_string());
        self.read(move |b| read::read_message(b, &account, &mailbox, uid, None)).await
    }

    /// Bytes `range` of the message (clamped to its size), e.g. one part from `MessageMeta::parts`.
    pub async fn read_range(
        &self,
        account: &Address,
        mailbox: &str,
        uid: u32,
        range: Range<u64>,
    ) -> Result<Vec<u8>, StoreError> {
        let (account, mailbox) = (account.clone(), mailbox.to_string());
        self.read(move |b| read::read_message(b, &account, &mailbox, uid, Some(range))).await
    }

    /// IMAP STORE: `op` the given flags on the messages in `uids`; with `unchanged_since`, messages
    /// modified after it are left alone and reported (CONDSTORE).
    pub async fn store_flags(
        &self,
        account: &Address,
        mailbox: &str,
        uids: UidSet,
        op: FlagOp,
        flags: Flags,
        unchanged_since: Option<u64>,
    ) -> Result<FlagUpdate, StoreError> {
        let (account, mailbox) = (account.clone(), mailbox.to_string());
        self.write(move |t| messages::store_flags(t, &account, &mailbox, &uids, op, &flags, unchanged_since)).await
    }

    /// Expunges the messages in `uids` that have `\Deleted`; returns their UIDs.
    pub async fn expunge(&self, account: &Address, mailbox: &str, uids: UidSet) -> Result<Vec<u32>, StoreError> {
        let (account, mailbox) = (account.clone(), mailbox.to_string());
        self.write(move |t| messages::expunge(t, &account, &mailbox, &uids)).await
    }

    /// Copies messages (COPYUID data in the result); bodies are shared, not copied.
    pub async fn copy(&self, account: &Address, from: &str, uids: UidSet, to: &str) -> Result<CopyResult, StoreError> {
        let (account, from, to) = (account.clone(), from.to_string(), to.to_string());
        self.write(move |t| messages::copy(t, &account, &from, &uids, &to, false)).await
    }

    /// Moves messages atomically (RFC 6851): copies, then expunges the sources, in one commit.
    pub async fn move_messages(
        &self,
        account: &Address,
        from: &str,
        uids: UidSet,
        to: &str,
    ) -> Result<CopyResult, StoreError> {
        let (account, from, to) = (account.clone(), from.to_string(), to.to_string());
        self.write(move |t| messages::copy(t, &account, &from, &uids, &to, true)).await
    }

    pub async fn status(&self, account: &Address, mailbox: &str) -> Result<MailboxStatus, StoreError> {
        let (account, mailbox) = (account.clone(), mailbox.to_string());
        self.read(move |b| read::status(b, &account, &mailbox)).await
    }

    /// The account's bytes (sum of RFC822.SIZE) and messages over all its mailboxes, as of the
    /// last commit: what a quota is checked against.
    pub async fn usage(&self, account: &Address) -> Result<Usage, StoreError> {
        let account = account.clone();
        self.read(move |b| usage::read(b, &account)).await
    }

    /// The mailbox's changes with MODSEQ above `modseq`, in MODSEQ order (CONDSTORE/QRESYNC),
    /// and whether the change log still reaches back that far ([`Changes::complete`]).
    pub async fn changes_since(&self, account: &Address, mailbox: &str, modseq: u64) -> Result<Changes, StoreError> {
        let (account, mailbox) = (account.clone(), mailbox.to_string());
        self.read(move |b| read::changes_since(b, &account, &mailbox, modseq)).await
    }

    /// Subscribes to the account's committed changes. Subscribe before reading the state you
    /// will compare against, so that nothing committed in between is missed.
    pub fn watch(&self, account: &Address) -> ChangeWatch {
        ChangeWatch { account: account.clone(), notices: self.store.engine().subscribe() }
    }
}
