//! Keys and values of the mail column families, and their byte encoding.
//!
//! Keys are built only with [`KeyBuilder`], so they sort as their tuples do:
//!
//! | column family   | key                               | value                  |
//! |-----------------|-----------------------------------|------------------------|
//! | `account_state` | (account)                         | [`AccountState`]       |
//! | `mailboxes`     | (account, name)                   | [`MailboxRecord`]      |
//! | `subscriptions` | (account, name)                   | empty                  |
//! | `messages`      | (account, mailbox id, uid)        | [`MessageRecord`]      |
//! | `changes`       | (account, modseq)                 | [`ChangeRecord`]       |
//! | `bodies`        | (body id)                         | [`BodyRecord`]         |
//! | `body_refs`     | (body id)                         | u32 reference count    |
//! | `body_chunks`   | (body id, chunk index)            | up to 256 KiB of bytes |
//!
//! Messages are keyed by a mailbox *id*, not its name, so RENAME moves no message. Values start
//! with a version byte; decoding never panics and reports [`StoreError::Corrupt`].

use crate::keys::{KeyBuilder, KeyReader};
use crate::mail::meta::{MessageMetadata, PartOffsets};
use crate::mail::model::{ChangeKind, Flags, MetaFields, Usage};
use crate::StoreError;

/// Bodies are stored in values of at most this many bytes.
pub(crate) const CHUNK_BYTES: usize = 256 * 1024;
const V1: u8 = 1;

pub(crate) fn account_prefix(account: &str) -> Vec<u8> {
    KeyBuilder::new().str(account).finish()
}

pub(crate) fn mailbox_key(account: &str, name: &str) -> Vec<u8> {
    KeyBuilder::new().str(account).str(name).finish()
}

pub(crate) fn mailbox_messages_prefix(account: &str, mailbox_id: u64) -> Vec<u8> {
    KeyBuilder::new().str(account).u64(mailbox_id).finish()
}

pub(crate) fn message_key(account: &str, mailbox_id: u64, uid: u32) -> Vec<u8> {
    KeyBuilder::new().str(account).u64(mailbox_id).u32(uid).finish()
}

pub(crate) fn change_key(account: &str, modseq: u64) -> Vec<u8> {
    KeyBuilder::new().str(account).u64(modseq).finish()
}

pub(crate) fn body_key(body_id: u64) -> Vec<u8> {
    KeyBuilder::new().u64(body_id).finish()
}

pub(crate) fn chunk_key(body_id: u64, index: u32) -> Vec<u8> {
    KeyBuilder::new().u64(body_id).u32(index).finish()
}

/// Reads the trailing name of a `(account, name)` key.
pub(crate) fn name_of_key(key: &[u8]) -> Result<(String, String), StoreError> {
    let mut r = KeyReader::new(key);
    match (r.str(), r.str()) {
        (Some(a), Some(n)) if r.is_empty() => Ok((a, n)),
        _ => Err(StoreError::Corrupt("mailbox key".into())),
    }
}

/// Reads `(account, mailbox id, uid)`.
pub(crate) fn uid_of_key(key: &[u8]) -> Result<(String, u64, u32), StoreError> {
    let mut r = KeyReader::new(key);
    match (r.str(), r.u64(), r.u32()) {
        (Some(a), Some(m), Some(u)) if r.is_empty() => Ok((a, m, u)),
        _ => Err(StoreError::Corrupt("message key".into())),
    }
}

/// The uid of a message key that starts with `prefix` (a [`mailbox_messages_prefix`]): its last
/// four bytes, without decoding the account name again for every message of a scan.
pub(crate) fn uid_in_mailbox(prefix: &[u8], key: &[u8]) -> Result<u32, StoreError> {
    match key.strip_prefix(prefix).and_then(|rest| <[u8; 4]>::try_from(rest).ok()) {
        Some(uid) => Ok(u32::from_be_bytes(uid)),
        None => Err(StoreError::Corrupt("message key".into())),
    }
}

/// Reads `(account, modseq)`.
pub(crate) fn modseq_of_key(key: &[u8]) -> Result<u64, StoreError> {
    let mut r = KeyReader::new(key);
    match (r.str(), r.u64()) {
        (Some(_), Some(m)) if r.is_empty() => Ok(m),
        _ => Err(StoreError::Corrupt("change key".into())),
    }
}

/// Reads `(body id)`.
pub(crate) fn body_id_of_key(key: &[u8]) -> Result<u64, StoreError> {
    let mut r = KeyReader::new(key);
    r.u64().filter(|_| r.is_empty()).ok_or_else(|| StoreError::Corrupt("body key".into()))
}

/// Per-account counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AccountState {
    pub next_mailbox_id: u64,
    /// Last MODSEQ handed out in this account (one sequence for all its mailboxes).
    pub modseq: u64,
    pub last_uid_validity: u32,
    /// The change log holds every change above this MODSEQ and none at or below it (older
    /// entries are pruned, see `mailboxes::save_state`). 0 in records written before it existed;
    /// always written, so that `usage` can follow it.
    pub change_horizon: u64,
    /// Bytes and messages of the account (room for quotas), kept in step by every write that adds
    /// or removes a message. `None` in records written before it existed: `mail::usage` computes it
    /// from the messages at open. While it is `None`, counting leaves it so (and a read computes
    /// it), so an absent counter is never taken for 0.
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MailboxRecord {
    pub id: u64,
    pub uid_validity: u32,
    pub uid_next: u32,
    pub highest_modseq: u64,
    pub special_use: u8,
    pub messages: u32,
    pub unseen: u32,
    pub size: u64,
    /// No message of the mailbox has a UID below this one. Expunged messages leave deleted keys
    /// (tombstones) that an iterator must step over one by one until compaction drops them; a scan
    /// of the mailbox starts here, so it does not pay for every message the mailbox ever held.
    /// Raised by expunges; 1 in records written before it existed.
    pub uid_floor: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MessageRecord {
    pub modseq: u64,
    pub flags: Flags,
    pub internal_date: i64,
    pub body_id: u64,
    pub body_len: u64,
    /// This copy's own header lines, placed before the shared body.
    pub prefix: Vec<u8>,
}

impl MessageRecord {
    pub fn size(&self) -> u64 {
        self.prefix.len() as u64 + self.body_len
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChangeRecord {
    pub mailbox_id: u64,
    pub uid: u32,
    pub kind: ChangeKind,
}

/// A stored body: its length and the metadata computed at append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BodyRecord {
    pub len: u64,
    pub meta: MessageMetadata,
}

impl BodyRecord {
    pub fn chunks(&self) -> u32 {
        u32::try_from(self.len.div_ceil(CHUNK_BYTES as u64)).unwrap_or(u32::MAX)
    }
}

/// Appends values to a record.
#[derive(Clone, Default)]
pub(crate) struct Enc(Vec<u8>);

impl Enc {
    pub fn new() -> Enc {
        Enc(vec![V1])
    }
    pub fn u8(mut self, v: u8) -> Enc {
        self.0.push(v);
        self
    }
    pub fn u32(mut self, v: u32) -> Enc {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(mut self, v: u64) -> Enc {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bytes(self, v: &[u8]) -> Enc {
        let mut e = self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        e.0.extend_from_slice(v);
        e
    }
    pub fn done(self) -> Vec<u8> {
        self.0
    }
}

/// Reads values back; every step fails softly.
pub(crate) struct Dec<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Dec<'a> {
    pub fn new(bytes: &'a [u8], what: &'static str) -> Result<Dec<'a>, StoreError> {
        match bytes.split_first() {
            Some((&V1, rest)) => Ok(Dec { rest, what }),
            _ => Err(StoreError::Corrupt(format!("{what}: unknown record version"))),
        }
    }
    fn err(&self) -> StoreError {
        StoreError::Corrupt(format!("{}: truncated record", self.what))
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.rest.len() < n {
            return Err(self.err());
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }
    pub fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32, StoreError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Result<u64, StoreError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    pub fn bytes(&mut self) -> Result<&'a [u8], StoreError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn string(&mut self) -> Result<String, StoreError> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| self.err())
    }
    /// Whether the record is read to its end (fields added later are optional at the end).
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }
}

impl AccountState {
    /// The state of a new account: no mailbox yet, no message.
    pub fn new_account() -> AccountState {
        AccountState { usage: Some(Usage::default()), ..AccountState::default() }
    }
    /// Counts a message of `size` bytes coming into the account.
    pub fn count_in(&mut self, size: u64) {
        if let Some(usage) = &mut self.usage {
            usage.add(size);
        }
    }
    /// Counts a message of `size` bytes leaving the account.
    pub fn count_out(&mut self, size: u64) {
        if let Some(usage) = &mut self.usage {
            usage.remove(size);
        }
    }
    pub fn encode(&self) -> Vec<u8> {
        let e =
            Enc::new().u64(self.next_mailbox_id).u64(self.modseq).u32(self.last_uid_validity).u64(self.change_horizon);
        // Optional trailing field: absent (not zero) while the usage is not known yet.
        let e = match self.usage {
            Some(u) => e.u64(u.bytes).u64(u.messages),
            None => e,
        };
        e.done()
    }
    /// Reads every layout this record has had, told apart by what follows the first three
    /// fields: nothing (the first version), the horizon (8 bytes), the usage counter without the
    /// horizon (16: written by a development build only), or both (24). Fields a later version
    /// adds after these are left unread.
    pub fn decode(b: &[u8]) -> Result<AccountState, StoreError> {
        let mut d = Dec::new(b, "account state")?;
        let (next_mailbox_id, modseq, last_uid_validity) = (d.u64()?, d.u64()?, d.u32()?);
        let change_horizon = if !d.is_empty() && d.remaining() != 16 { d.u64()? } else { 0 };
        let usage = if d.remaining() >= 16 { Some(Usage { bytes: d.u64()?, messages: d.u64()? }) } else { None };
        Ok(AccountState { next_mailbox_id, modseq, last_uid_validity, change_horizon, usage })
    }
}

impl MailboxRecord {
    pub fn encode(&self) -> Vec<u8> {
        Enc::new()
            .u64(self.id)
            .u32(self.uid_validity)
            .u32(self.uid_next)
            .u64(self.highest_modseq)
            .u8(self.special_use)
            .u32(self.messages)
            .u32(self.unseen)
            .u64(self.size)
            .u32(self.uid_floor)
            .done()
    }
    pub fn decode(b: &[u8]) -> Result<MailboxRecord, StoreError> {
        let mut d = Dec::new(b, "mailbox")?;
        Ok(MailboxRecord {
            id: d.u64()?,
            uid_validity: d.u32()?,
            uid_next: d.u32()?,
            highest_modseq: d.u64()?,
            special_use: d.u8()?,
            messages: d.u32()?,
            unseen: d.u32()?,
            size: d.u64()?,
            uid_floor: if d.is_empty() { 1 } else { d.u32()? },
        })
    }
}

impl MessageRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::new()
            .u64(self.modseq)
            .u8(self.flags.bits())
            .u64(self.internal_date as u64)
            .u64(self.body_id)
            .u64(self.body_len)
            .bytes(&self.prefix);
        let keywords: Vec<&str> = self.flags.keywords().collect();
        e = e.u32(keywords.len() as u32);
        for k in keywords {
            e = e.bytes(k.as_bytes());
        }
        e.done()
    }
    pub fn decode(b: &[u8]) -> Result<MessageRecord, StoreError> {
        let (h, prefix) = decode_message(b)?;
        let (modseq, flags, internal_date, body_id, body_len) =
            (h.modseq, h.flags, h.internal_date, h.body_id, h.body_len);
        Ok(MessageRecord { modseq, flags, internal_date, body_id, body_len, prefix: prefix.to_vec() })
    }
}

/// A message record without its prefix bytes: all that listing messages (summaries, metadata)
/// needs, one allocation fewer per message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MessageHead {
    pub modseq: u64,
    pub flags: Flags,
    pub internal_date: i64,
    pub body_id: u64,
    pub body_len: u64,
    pub prefix_len: u64,
}

impl MessageHead {
    pub fn decode(b: &[u8]) -> Result<MessageHead, StoreError> {
        Ok(decode_message(b)?.0)
    }
    pub fn size(&self) -> u64 {
        self.prefix_len + self.body_len
    }
}

/// A message record's fields, its prefix borrowed.
fn decode_message(b: &[u8]) -> Result<(MessageHead, &[u8]), StoreError> {
    let mut d = Dec::new(b, "message")?;
    let modseq = d.u64()?;
    let bits = d.u8()?;
    let internal_date = d.u64()? as i64;
    let body_id = d.u64()?;
    let body_len = d.u64()?;
    let prefix = d.bytes()?;
    let n = d.u32()?;
    let mut keywords = std::collections::BTreeSet::new();
    for _ in 0..n {
        keywords.insert(d.string()?);
    }
    let flags = Flags::from_parts(bits, keywords);
    let prefix_len = prefix.len() as u64;
    Ok((MessageHead { modseq, flags, internal_date, body_id, body_len, prefix_len }, prefix))
}

impl ChangeRecord {
    pub fn encode(&self) -> Vec<u8> {
        let kind = match self.kind {
            ChangeKind::Append => 1,
            ChangeKind::Flags => 2,
            ChangeKind::Expunge => 3,
        };
        Enc::new().u64(self.mailbox_id).u32(self.uid).u8(kind).done()
    }
    pub fn decode(b: &[u8]) -> Result<ChangeRecord, StoreError> {
        let mut d = Dec::new(b, "change")?;
        let (mailbox_id, uid) = (d.u64()?, d.u32()?);
        let kind = match d.u8()? {
            1 => ChangeKind::Append,
            2 => ChangeKind::Flags,
            3 => ChangeKind::Expunge,
            _ => return Err(StoreError::Corrupt("change kind".into())),
        };
        Ok(ChangeRecord { mailbox_id, uid, kind })
    }
}

fn enc_range(e: Enc, r: &std::ops::Range<u32>) -> Enc {
    e.u32(r.start).u32(r.end)
}

fn dec_range(d: &mut Dec<'_>) -> Result<std::ops::Range<u32>, StoreError> {
    Ok(d.u32()?..d.u32()?)
}

impl BodyRecord {
    pub fn encode(&self) -> Vec<u8> {
        let m = &self.meta;
        let mut e = Enc::new()
            .u64(self.len)
            .bytes(&m.envelope)
            .bytes(&m.body_structure)
            .bytes(&m.body)
            .u32(m.parts.len() as u32);
        for p in &m.parts {
            e = e.u32(p.section.len() as u32);
            for s in &p.section {
                e = e.u32(*s);
            }
            e = enc_range(e, &p.header);
            e = enc_range(e, &p.body);
            e = match &p.message_header {
                Some(r) => enc_range(e.u8(1), r),
                None => e.u8(0),
            };
        }
        e.done()
    }

    pub fn decode(b: &[u8]) -> Result<BodyRecord, StoreError> {
        BodyRecord::decode_fields(b, MetaFields::ALL)
    }

    /// [`BodyRecord::decode`] of the metadata `fields` only; the others are left empty (nothing
    /// is allocated for them).
    pub fn decode_fields(b: &[u8], fields: MetaFields) -> Result<BodyRecord, StoreError> {
        let mut d = Dec::new(b, "body")?;
        let len = d.u64()?;
        let mut field = |wanted: bool| d.bytes().map(|v| if wanted { v.to_vec() } else { Vec::new() });
        let envelope = field(fields.envelope)?;
        let body_structure = field(fields.body_structure)?;
        let body = field(fields.body)?;
        if !fields.parts {
            return Ok(BodyRecord { len, meta: MessageMetadata { envelope, body_structure, body, parts: Vec::new() } });
        }
        let n = d.u32()?;
        let mut parts = Vec::new();
        for _ in 0..n {
            let depth = d.u32()?;
            let mut section = Vec::new();
            for _ in 0..depth {
                section.push(d.u32()?);
            }
            let header = dec_range(&mut d)?;
            let body = dec_range(&mut d)?;
            let message_header = if d.u8()? == 1 { Some(dec_range(&mut d)?) } else { None };
            parts.push(PartOffsets { section, header, body, message_header });
        }
        Ok(BodyRecord { len, meta: MessageMetadata { envelope, body_structure, body, parts } })
    }
}

/// Decodes a big-endian u32 or u64 counter value.
pub(crate) fn decode_count(b: &[u8], what: &'static str) -> Result<u64, StoreError> {
    match b.len() {
        4 => Ok(u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))),
        8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            Ok(u64::from_be_bytes(a))
        }
        _ => Err(StoreError::Corrupt(format!("{what}: bad counter"))),
    }
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    #[test]
    fn account_state_records_of_every_layout_decode() {
        let base = Enc::new().u64(7).u64(40).u32(3);
        let usage = Usage { bytes: 1234, messages: 5 };
        let state = |change_horizon, usage| AccountState {
            next_mailbox_id: 7,
            modseq: 40,
            last_uid_validity: 3,
            change_horizon,
            usage,
        };
        let first = base.clone().done();
        let horizon = base.clone().u64(30).done();
        let usage_only = base.clone().u64(1234).u64(5).done();
        let both = base.clone().u64(30).u64(1234).u64(5).done();
        let later = base.u64(30).u64(1234).u64(5).u8(9).done();
        assert_eq!(AccountState::decode(&first).unwrap(), state(0, None));
        assert_eq!(AccountState::decode(&horizon).unwrap(), state(30, None));
        assert_eq!(AccountState::decode(&usage_only).unwrap(), state(0, Some(usage)));
        assert_eq!(AccountState::decode(&both).unwrap(), state(30, Some(usage)));
        assert_eq!(AccountState::decode(&later).unwrap(), state(30, Some(usage)), "a later field is left unread");
        // What this version writes reads back.
        assert_eq!(AccountState::decode(&state(30, Some(usage)).encode()).unwrap(), state(30, Some(usage)));
        assert_eq!(AccountState::decode(&state(30, None).encode()).unwrap(), state(30, None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_in_mailbox_reads_the_uid_of_keys_of_that_mailbox_only() {
        let prefix = mailbox_messages_prefix("a\0b@example.test", 7);
        for uid in [1, 0x0100, u32::MAX] {
            let key = message_key("a\0b@example.test", 7, uid);
            assert_eq!(uid_in_mailbox(&prefix, &key).unwrap(), uid);
            assert_eq!(uid_of_key(&key).unwrap().2, uid);
        }
        let other_mailbox = message_key("a\0b@example.test", 8, 1);
        assert!(uid_in_mailbox(&prefix, &other_mailbox).is_err());
        let mut longer = message_key("a\0b@example.test", 7, 1);
        longer.push(0);
        assert!(uid_in_mailbox(&prefix, &longer).is_err());
        assert!(uid_in_mailbox(&prefix, &prefix).is_err());
    }
}
