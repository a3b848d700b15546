//! Writer-side operations on messages and bodies (run inside a group commit): append, delivery to
//! many recipients, flags, expunge, copy and move, and body reference counting.
//!
//! A body is stored once (`bodies` + `body_chunks`) and counted in `body_refs`; every message
//! that points at it holds one reference. The last reference to go deletes the body. UIDs come
//! from the mailbox's UIDNEXT and MODSEQs from the account's counter, both only ever increased here.

use crate::keys::KeyBuilder;
use crate::mail::mailboxes::{load_mailbox, load_state, normalise_name, save_mailbox, save_state};
use crate::mail::meta::MessageMetadata;
use crate::mail::model::{
    Appended, ChangeKind, ChangeNotice, CopyResult, FlagOp, FlagUpdate, Flags, Recipient, SystemFlag, UidSet,
};
use crate::mail::record::{
    body_key, change_key, chunk_key, decode_count, mailbox_messages_prefix, message_key, uid_of_key, AccountState,
    BodyRecord, ChangeRecord, MailboxRecord, MessageRecord, CHUNK_BYTES,
};
use crate::mail::txn::{Cf, Txn};
use crate::{Address, StoreError};

/// Largest message (prefix plus body) the store accepts.
pub const MAX_MESSAGE_BYTES: usize = 100 * 1024 * 1024;

/// Refuses a message above [`MAX_MESSAGE_BYTES`].
pub(crate) fn check_size(len: usize) -> Result<(), StoreError> {
    if len > MAX_MESSAGE_BYTES {
        return Err(StoreError::Invalid(format!("message of {len} bytes is above the {MAX_MESSAGE_BYTES}-byte limit")));
    }
    Ok(())
}

/// A body with its metadata, prepared off the writer thread (parsing can take a while).
#[derive(Debug)]
pub(crate) struct PreparedBody {
    pub bytes: Vec<u8>,
    pub meta: MessageMetadata,
}

fn next_body_key() -> Vec<u8> {
    KeyBuilder::new().str("next_body_id").finish()
}

/// Stores `body` with no references yet and returns its id.
fn store_body(txn: &mut Txn<'_>, body: &PreparedBody) -> Result<u64, StoreError> {
    let last = match txn.get(Cf::Meta, &next_body_key())? {
        Some(b) => decode_count(&b, "body id counter")?,
        None => 0,
    };
    let id = last + 1;
    txn.put(Cf::Meta, next_body_key(), id.to_be_bytes().to_vec());
    let record = BodyRecord { len: body.bytes.len() as u64, meta: body.meta.clone() };
    txn.put(Cf::Bodies, body_key(id), record.encode());
    for (i, chunk) in body.bytes.chunks(CHUNK_BYTES).enumerate() {
        txn.put(Cf::BodyChunks, chunk_key(id, i as u32), chunk.to_vec());
    }
    txn.put(Cf::BodyRefs, body_key(id), 0u32.to_be_bytes().to_vec());
    Ok(id)
}

fn ref_count(txn: &Txn<'_>, body_id: u64) -> Result<u32, StoreError> {
    match txn.get(Cf::BodyRefs, &body_key(body_id))? {
        Some(b) => Ok(u32::try_from(decode_count(&b, "body reference count")?).unwrap_or(u32::MAX)),
        None => Err(StoreError::Corrupt(format!("body {body_id} is missing"))),
    }
}

fn add_ref(txn: &mut Txn<'_>, body_id: u64) -> Result<(), StoreError> {
    let n = ref_count(txn, body_id)?.saturating_add(1);
    txn.put(Cf::BodyRefs, body_key(body_id), n.to_be_bytes().to_vec());
    Ok(())
}

/// Drops one reference; the last one deletes the body and its chunks.
fn drop_ref(txn: &mut Txn<'_>, body_id: u64) -> Result<(), StoreError> {
    let n = ref_count(txn, body_id)?.saturating_sub(1);
    if n > 0 {
        txn.put(Cf::BodyRefs, body_key(body_id), n.to_be_bytes().to_vec());
        return Ok(());
    }
    let chunks = match txn.get(Cf::Bodies, &body_key(body_id))? {
        Some(b) => BodyRecord::decode(&b)?.chunks(),
        None => 0,
    };
    for i in 0..chunks {
        txn.delete(Cf::BodyChunks, chunk_key(body_id, i));
    }
    txn.delete(Cf::Bodies, body_key(body_id));
    txn.delete(Cf::BodyRefs, body_key(body_id));
    Ok(())
}

fn log_change(txn: &mut Txn<'_>, account: &Address, state: &mut AccountState, change: ChangeRecord) -> u64 {
    state.modseq += 1;
    txn.put(Cf::Changes, change_key(account.as_str(), state.modseq), change.encode());
    state.modseq
}

/// Adds a message to a mailbox whose record the caller saves afterwards (with `state`, which
/// counts it in the account's usage).
fn insert(
    txn: &mut Txn<'_>,
    account: &Address,
    state: &mut AccountState,
    mailbox: &mut MailboxRecord,
    mut message: MessageRecord,
) -> Result<Appended, StoreError> {
    let uid = mailbox.uid_next;
    if uid == u32::MAX {
        return Err(StoreError::Invalid("the mailbox has used up its UIDs".into()));
    }
    add_ref(txn, message.body_id)?;
    mailbox.uid_next += 1;
    let change = ChangeRecord { mailbox_id: mailbox.id, uid, kind: ChangeKind::Append };
    message.modseq = log_change(txn, account, state, change);
    mailbox.highest_modseq = message.modseq;
    mailbox.messages += 1;
    mailbox.unseen += u32::from(!message.flags.contains(SystemFlag::Seen));
    mailbox.size += message.size();
    state.count_in(message.size());
    txn.put(Cf::Messages, message_key(account.as_str(), mailbox.id, uid), message.encode());
    Ok(Appended { uid_validity: mailbox.uid_validity, uid, modseq: message.modseq })
}

fn notify(txn: &mut Txn<'_>, account: &Address, name: &str, r: &MailboxRecord) {
    let notice = ChangeNotice { account: account.clone(), mailbox: name.to_string(), highest_modseq: r.highest_modseq };
    txn.notify(notice);
}

/// One message of an append, its body prepared off the writer thread.
#[derive(Debug)]
pub(crate) struct PreparedMessage {
    pub prefix: Vec<u8>,
    pub body: PreparedBody,
    pub flags: Flags,
    pub internal_date: i64,
}

/// Appends `messages` to one mailbox in the running request, in order, with ascending UIDs
/// (IMAP APPEND; MULTIAPPEND, RFC 3502, for more than one). An error leaves none of them: the
/// writer rolls the whole request back.
pub(crate) fn append(
    txn: &mut Txn<'_>,
    account: &Address,
    mailbox: &str,
    messages: Vec<PreparedMessage>,
) -> Result<Vec<Appended>, StoreError> {
    let name = normalise_name(mailbox)?;
    let mut state = load_state(txn, account)?;
    let mut record = load_mailbox(txn, account, &name)?;
    let mut appended = Vec::with_capacity(messages.len());
    for PreparedMessage { prefix, body, flags, internal_date } in messages {
        check_size(prefix.len() + body.bytes.len())?;
        let body_id = store_body(txn, &body)?;
        let body_len = body.bytes.len() as u64;
        let message = MessageRecord { modseq: 0, flags, internal_date, body_id, body_len, prefix };
        appended.push(insert(txn, account, &mut state, &mut record, message)?);
    }
    save_mailbox(txn, account, &name, &record);
    save_state(txn, account, &mut state);
    notify(txn, account, &name, &record);
    Ok(appended)
}

/// Delivers one body to every recipient's INBOX. A recipient that cannot take it (no such
/// account) gets its own error; the others are delivered. The body is stored only if at least one
/// recipient takes it.
pub(crate) fn deliver(
    txn: &mut Txn<'_>,
    body: &PreparedBody,
    recipients: Vec<Recipient>,
    internal_date: i64,
) -> Result<Vec<Result<Appended, StoreError>>, StoreError> {
    check_size(body.bytes.len() + recipients.iter().map(|r| r.prefix.len()).max().unwrap_or(0))?;
    let ready: Vec<Result<(), StoreError>> = recipients
        .iter()
        .map(|r| load_state(txn, &r.account).and_then(|_| load_mailbox(txn, &r.account, "INBOX")).map(|_| ()))
        .collect();
    if ready.iter().all(Result::is_err) {
        let errors = ready.into_iter().filter_map(Result::err);
        return Ok(errors.map(Err).collect());
    }
    let body_id = store_body(txn, body)?;
    let body_len = body.bytes.len() as u64;
    let mut out = Vec::with_capacity(recipients.len());
    for (recipient, ready) in recipients.into_iter().zip(ready) {
        if let Err(e) = ready {
            out.push(Err(e));
            continue;
        }
        let mut state = load_state(txn, &recipient.account)?;
        let mut inbox = load_mailbox(txn, &recipient.account, "INBOX")?;
        let message = MessageRecord {
            modseq: 0,
            flags: Flags::new(),
            internal_date,
            body_id,
            body_len,
            prefix: recipient.prefix,
        };
        let result = insert(txn, &recipient.account, &mut state, &mut inbox, message);
        if result.is_ok() {
            save_mailbox(txn, &recipient.account, "INBOX", &inbox);
            save_state(txn, &recipient.account, &mut state);
            notify(txn, &recipient.account, "INBOX", &inbox);
        }
        out.push(result);
    }
    Ok(out)
}

/// The messages of `record` whose UID is in `uids`, in UID order.
fn select(
    txn: &Txn<'_>,
    account: &Address,
    record: &MailboxRecord,
    uids: &UidSet,
) -> Result<Vec<(u32, MessageRecord)>, StoreError> {
    let Some((lo, hi)) = uids.bounds() else {
        return Ok(Vec::new());
    };
    // Below the floor there are only expunged messages (see `MailboxRecord::uid_floor`).
    let lo = lo.max(record.uid_floor);
    if lo > hi {
        return Ok(Vec::new());
    }
    let prefix = mailbox_messages_prefix(account.as_str(), record.id);
    let from = message_key(account.as_str(), record.id, lo);
    let until = (hi < u32::MAX).then(|| message_key(account.as_str(), record.id, hi + 1));
    let mut out = Vec::new();
    for (key, value) in txn.scan(Cf::Messages, &prefix, &from, until.as_deref())? {
        let (_, _, uid) = uid_of_key(&key)?;
        if uids.contains(uid) {
            out.push((uid, MessageRecord::decode(&value)?));
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)] // reason: mirrors IMAP STORE's parts one to one
pub(crate) fn store_flags(
    txn: &mut Txn<'_>,
    account: &Address,
    mailbox: &str,
    uids: &UidSet,
    op: FlagOp,
    flags: &Flags,
    unchanged_since: Option<u64>,
) -> Result<FlagUpdate, StoreError> {
    let name = normalise_name(mailbox)?;
    let mut state = load_state(txn, account)?;
    let mut record = load_mailbox(txn, account, &name)?;
    let mut update = FlagUpdate::default();
    for (uid, mut message) in select(txn, account, &record, uids)? {
        if unchanged_since.is_some_and(|since| message.modseq > since) {
            update.modified.push(uid);
            continue;
        }
        let new = message.flags.apply(op, flags);
        if new == message.flags {
            continue;
        }
        let (was_seen, is_seen) = (message.flags.contains(SystemFlag::Seen), new.contains(SystemFlag::Seen));
        record.unseen = record
            .unseen
            .saturating_add(u32::from(was_seen && !is_seen))
            .saturating_sub(u32::from(!was_seen && is_seen));
        message.flags = new;
        let change = ChangeRecord { mailbox_id: record.id, uid, kind: ChangeKind::Flags };
        message.modseq = log_change(txn, account, &mut state, change);
        record.highest_modseq = message.modseq;
        txn.put(Cf::Messages, message_key(account.as_str(), record.id, uid), message.encode());
        update.updated.push((uid, message.modseq, message.flags));
    }
    if !update.updated.is_empty() {
        save_mailbox(txn, account, &name, &record);
        save_state(txn, account, &mut state);
        notify(txn, account, &name, &record);
    }
    Ok(update)
}

/// Removes one message from a mailbox record's counts and the account's usage, and logs the
/// expunge.
fn expunge_one(
    txn: &mut Txn<'_>,
    account: &Address,
    state: &mut AccountState,
    record: &mut MailboxRecord,
    uid: u32,
    message: &MessageRecord,
) -> Result<(), StoreError> {
    txn.delete(Cf::Messages, message_key(account.as_str(), record.id, uid));
    drop_ref(txn, message.body_id)?;
    record.messages = record.messages.saturating_sub(1);
    record.unseen = record.unseen.saturating_sub(u32::from(!message.flags.contains(SystemFlag::Seen)));
    record.size = record.size.saturating_sub(message.size());
    state.count_out(message.size());
    let change = ChangeRecord { mailbox_id: record.id, uid, kind: ChangeKind::Expunge };
    record.highest_modseq = log_change(txn, account, state, change);
    Ok(())
}

/// Raises `record.uid_floor` to the lowest UID still in the mailbox, after expunges. This walks
/// over the tombstones between the old floor and that message once, so that no later scan does.
fn raise_uid_floor(txn: &Txn<'_>, account: &Address, record: &mut MailboxRecord) -> Result<(), StoreError> {
    if record.messages == 0 {
        record.uid_floor = record.uid_next;
        return Ok(());
    }
    let prefix = mailbox_messages_prefix(account.as_str(), record.id);
    let from = message_key(account.as_str(), record.id, record.uid_floor);
    if let Some(key) = txn.first(Cf::Messages, &prefix, &from)? {
        record.uid_floor = uid_of_key(&key)?.2;
    }
    Ok(())
}

/// Expunges the messages in `uids` that carry `\Deleted` (EXPUNGE is `1:*`, UID EXPUNGE a set).
pub(crate) fn expunge(
    txn: &mut Txn<'_>,
    account: &Address,
    mailbox: &str,
    uids: &UidSet,
) -> Result<Vec<u32>, StoreError> {
    let name = normalise_name(mailbox)?;
    let mut state = load_state(txn, account)?;
    let mut record = load_mailbox(txn, account, &name)?;
    let mut gone = Vec::new();
    for (uid, message) in select(txn, account, &record, uids)? {
        if message.flags.contains(SystemFlag::Deleted) {
            expunge_one(txn, account, &mut state, &mut record, uid, &message)?;
            gone.push(uid);
        }
    }
    if !gone.is_empty() {
        raise_uid_floor(txn, account, &mut record)?;
        save_mailbox(txn, account, &name, &record);
        save_state(txn, account, &mut state);
        notify(txn, account, &name, &record);
    }
    Ok(gone)
}

/// Copies (or moves, when `remove_source`) the messages in `uids` from `from` to `to`. The copies
/// share the bodies; a move expunges the sources in the same commit (RFC 6851). Moving into the
/// same mailbox is allowed: the messages get new UIDs (RFC 6851 §3.3 only requires atomicity).
pub(crate) fn copy(
    txn: &mut Txn<'_>,
    account: &Address,
    from: &str,
    uids: &UidSet,
    to: &str,
    remove_source: bool,
) -> Result<CopyResult, StoreError> {
    let (from, to) = (normalise_name(from)?, normalise_name(to)?);
    let mut state = load_state(txn, account)?;
    let mut source = load_mailbox(txn, account, &from)?;
    let mut target = if from == to { None } else { Some(load_mailbox(txn, account, &to)?) };
    let selected = select(txn, account, &source, uids)?;
    let mut result = CopyResult { uid_validity: target.as_ref().unwrap_or(&source).uid_validity, uids: Vec::new() };
    if selected.is_empty() {
        return Ok(result);
    }
    for (uid, message) in &selected {
        let copy = MessageRecord { modseq: 0, ..message.clone() };
        let dest = target.as_mut().unwrap_or(&mut source);
        let appended = insert(txn, account, &mut state, dest, copy)?;
        result.uids.push((*uid, appended.uid));
    }
    if remove_source {
        for (uid, message) in &selected {
            expunge_one(txn, account, &mut state, &mut source, *uid, message)?;
        }
        raise_uid_floor(txn, account, &mut source)?;
    }
    if let Some(target) = &target {
        save_mailbox(txn, account, &to, target);
        notify(txn, account, &to, target);
    }
    save_mailbox(txn, account, &from, &source);
    notify(txn, account, &from, &source);
    save_state(txn, account, &mut state);
    Ok(result)
}

/// Deletes a message without logging (its mailbox or account is going away); returns its size
/// for the caller to count out of the account's usage.
pub(crate) fn remove_message(
    txn: &mut Txn<'_>,
    account: &Address,
    mailbox_id: u64,
    uid: u32,
    value: &[u8],
) -> Result<u64, StoreError> {
    let message = MessageRecord::decode(value)?;
    txn.delete(Cf::Messages, message_key(account.as_str(), mailbox_id, uid));
    drop_ref(txn, message.body_id)?;
    Ok(message.size())
}
