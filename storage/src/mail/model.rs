//! The mail store's public vocabulary: flags, UID sets, mailbox and message descriptions, change
//! notices. Nothing here knows how it is stored.

use crate::mail::meta::PartOffsets;
use crate::Address;
use std::collections::BTreeSet;
use std::ops::RangeInclusive;

/// The five IMAP system flags (RFC 9051 §2.3.2; `\Recent` no longer exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemFlag {
    Seen,
    Answered,
    Flagged,
    Deleted,
    Draft,
}

impl SystemFlag {
    pub const ALL: [SystemFlag; 5] =
        [SystemFlag::Seen, SystemFlag::Answered, SystemFlag::Flagged, SystemFlag::Deleted, SystemFlag::Draft];

    fn bit(self) -> u8 {
        match self {
            SystemFlag::Seen => 1,
            SystemFlag::Answered => 2,
            SystemFlag::Flagged => 4,
            SystemFlag::Deleted => 8,
            SystemFlag::Draft => 16,
        }
    }

    /// The flag as IMAP writes it (`\Seen`).
    pub fn as_imap(self) -> &'static str {
        match self {
            SystemFlag::Seen => "\\Seen",
            SystemFlag::Answered => "\\Answered",
            SystemFlag::Flagged => "\\Flagged",
            SystemFlag::Deleted => "\\Deleted",
            SystemFlag::Draft => "\\Draft",
        }
    }
}

/// A message's flags: system flags plus keywords (`$Forwarded`, `$Junk`, user words).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    system: u8,
    keywords: BTreeSet<String>,
}

impl Flags {
    pub fn new() -> Flags {
        Flags::default()
    }

    pub fn with(mut self, flag: SystemFlag) -> Flags {
        self.system |= flag.bit();
        self
    }

    pub fn with_keyword(mut self, keyword: &str) -> Flags {
        self.keywords.insert(keyword.to_string());
        self
    }

    pub fn contains(&self, flag: SystemFlag) -> bool {
        self.system & flag.bit() != 0
    }

    pub fn has_keyword(&self, keyword: &str) -> bool {
        self.keywords.contains(keyword)
    }

    pub fn keywords(&self) -> impl Iterator<Item = &str> {
        self.keywords.iter().map(String::as_str)
    }

    pub fn system_flags(&self) -> impl Iterator<Item = SystemFlag> + '_ {
        SystemFlag::ALL.into_iter().filter(|f| self.contains(*f))
    }

    /// Applies `op` with `other` and returns the result.
    pub fn apply(&self, op: FlagOp, other: &Flags) -> Flags {
        match op {
            FlagOp::Replace => other.clone(),
            FlagOp::Add => Flags {
                system: self.system | other.system,
                keywords: self.keywords.union(&other.keywords).cloned().collect(),
            },
            FlagOp::Remove => Flags {
                system: self.system & !other.system,
                keywords: self.keywords.difference(&other.keywords).cloned().collect(),
            },
        }
    }

    pub(crate) fn bits(&self) -> u8 {
        self.system
    }

    pub(crate) fn from_parts(system: u8, keywords: BTreeSet<String>) -> Flags {
        Flags { system: system & 0x1F, keywords }
    }
}

/// How `store_flags` combines the given flags with a message's (IMAP `FLAGS`, `+FLAGS`, `-FLAGS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    Replace,
    Add,
    Remove,
}

/// RFC 6154 special-use attributes of the mailboxes created with every account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecialUse {
    Sent,
    Drafts,
    Trash,
    Junk,
    Archive,
}

impl SpecialUse {
    pub fn as_imap(self) -> &'static str {
        match self {
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Trash => "\\Trash",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Archive => "\\Archive",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            SpecialUse::Sent => 1,
            SpecialUse::Drafts => 2,
            SpecialUse::Trash => 3,
            SpecialUse::Junk => 4,
            SpecialUse::Archive => 5,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<SpecialUse> {
        match code {
            1 => Some(SpecialUse::Sent),
            2 => Some(SpecialUse::Drafts),
            3 => Some(SpecialUse::Trash),
            4 => Some(SpecialUse::Junk),
            5 => Some(SpecialUse::Archive),
            _ => None,
        }
    }
}

/// A set of UIDs as inclusive ranges (IMAP `sequence-set` in UID form; `*` is `u32::MAX`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UidSet(Vec<RangeInclusive<u32>>);

impl UidSet {
    /// Every UID (`1:*`).
    pub fn all() -> UidSet {
        UidSet(vec![1..=u32::MAX])
    }

    pub fn range(range: RangeInclusive<u32>) -> UidSet {
        UidSet(vec![range])
    }

    pub fn from_ranges(ranges: Vec<RangeInclusive<u32>>) -> UidSet {
        UidSet(ranges)
    }

    pub fn from_uids(uids: &[u32]) -> UidSet {
        UidSet(uids.iter().map(|&u| u..=u).collect())
    }

    pub fn contains(&self, uid: u32) -> bool {
        self.0.iter().any(|r| r.contains(&uid))
    }

    pub fn ranges(&self) -> &[RangeInclusive<u32>] {
        &self.0
    }

    /// Lowest and highest UID the set can contain, to bound a scan.
    pub(crate) fn bounds(&self) -> Option<(u32, u32)> {
        let lo = self.0.iter().map(|r| *r.start()).min()?;
        let hi = self.0.iter().map(|r| *r.end()).max()?;
        Some((lo, hi))
    }
}

/// A mailbox as LIST / SELECT need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInfo {
    /// Full name with `/` as the hierarchy separator; `INBOX` is always spelled so.
    pub name: String,
    pub uid_validity: u32,
    pub uid_next: u32,
    pub highest_modseq: u64,
    pub special_use: Option<SpecialUse>,
}

/// STATUS counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxStatus {
    pub messages: u32,
    pub unseen: u32,
    /// Sum of RFC822.SIZE (RFC 8438 `SIZE`).
    pub size: u64,
    pub uid_next: u32,
    pub uid_validity: u32,
    pub highest_modseq: u64,
}

/// What an account's messages take up over all its mailboxes: the counters a quota will be checked
/// against (RFC 9208's `STORAGE` and `MESSAGE` resources, `STORAGE` kept here in bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Sum of RFC822.SIZE of every message. Each copy counts its own size (a delivery to several
    /// recipients, a COPY), although the copies share one stored body.
    pub bytes: u64,
    pub messages: u64,
}

impl Usage {
    /// Counts a message of `size` bytes in (saturating: a counter never wraps).
    pub(crate) fn add(&mut self, size: u64) {
        self.bytes = self.bytes.saturating_add(size);
        self.messages = self.messages.saturating_add(1);
    }

    /// Counts a message of `size` bytes out (saturating: a counter that drifted low stops at 0,
    /// and `store check` reports it).
    pub(crate) fn remove(&mut self, size: u64) {
        self.bytes = self.bytes.saturating_sub(size);
        self.messages = self.messages.saturating_sub(1);
    }
}

/// A message to store: the per-copy header prefix (Return-Path, Delivered-To, Received...), the
/// message itself, and its initial flags.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub prefix: Vec<u8>,
    pub body: Vec<u8>,
    pub flags: Flags,
    /// INTERNALDATE, seconds since the Unix epoch.
    pub internal_date: i64,
}

/// One recipient of a delivery: the account and its own header prefix.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub account: Address,
    pub prefix: Vec<u8>,
}

/// What a recipient address is to this host (SMTP `RCPT TO`, LMTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientKind {
    /// An account of a local domain: deliver to its INBOX.
    Local,
    /// A local domain, but no such account.
    UnknownLocal,
    /// Not a local domain.
    Remote,
}

/// Where a stored message ended up (APPENDUID needs both numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub uid_validity: u32,
    pub uid: u32,
    pub modseq: u64,
}

/// COPY / MOVE result for COPYUID: `(source uid, destination uid)` pairs in source UID order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyResult {
    pub uid_validity: u32,
    pub uids: Vec<(u32, u32)>,
}

/// The cheap per-message fields (FETCH FLAGS, UID, MODSEQ, INTERNALDATE, RFC822.SIZE).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageSummary {
    pub uid: u32,
    pub modseq: u64,
    pub flags: Flags,
    pub internal_date: i64,
    /// RFC822.SIZE: prefix plus body.
    pub size: u64,
}

/// A message's summary plus its structure, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMeta {
    pub summary: MessageSummary,
    pub envelope: Vec<u8>,
    pub body_structure: Vec<u8>,
    /// The non-extensible `BODY` form.
    pub body: Vec<u8>,
    /// Offsets in the message as read back (prefix included): the whole message first, then
    /// every MIME part.
    pub parts: Vec<PartOffsets>,
}

/// Which metadata fields [`MailStore::fetch_meta_with`] reads; the others come back empty.
/// A message-list FETCH (`ENVELOPE BODYSTRUCTURE`) needs neither the part offsets nor `BODY`.
///
/// [`MailStore::fetch_meta_with`]: crate::mail::MailStore::fetch_meta_with
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaFields {
    pub envelope: bool,
    pub body_structure: bool,
    /// The non-extensible `BODY` form.
    pub body: bool,
    /// The part offsets (`BODY[section]`, `BINARY`, `RFC822.HEADER` ...).
    pub parts: bool,
}

impl MetaFields {
    pub const ALL: MetaFields = MetaFields { envelope: true, body_structure: true, body: true, parts: true };
}

/// How much of each message [`MailStore::read_batch`] reads.
///
/// [`MailStore::read_batch`]: crate::mail::MailStore::read_batch
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// The header section: the trace prefix, then the message's own header up to and including
    /// the blank line (what header SEARCH keys and `BODY[HEADER]` need).
    Header,
    /// The whole message as stored.
    Whole,
}

/// Result of `store_flags`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagUpdate {
    /// Messages whose flags were written: `(uid, new modseq, new flags)`.
    pub updated: Vec<(u32, u64, Flags)>,
    /// Messages left alone because their MODSEQ is above UNCHANGEDSINCE (RFC 7162 `MODIFIED`).
    pub modified: Vec<u32>,
}

/// What happened to a message at a MODSEQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Append,
    Flags,
    Expunge,
}

/// One entry of a mailbox's change log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub modseq: u64,
    pub uid: u32,
    pub kind: ChangeKind,
}

/// A mailbox's changes after a MODSEQ, as far as the account's change log still reaches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// In MODSEQ order.
    pub changes: Vec<Change>,
    /// The log holds no change at or below this MODSEQ any more (0: it was never pruned).
    pub horizon: u64,
    /// Whether `changes` is every change after the MODSEQ asked for. When it is not, the log was
    /// pruned past that MODSEQ: flag changes can still be found from each message's MODSEQ, but
    /// expunges only by comparing the UIDs a client knows with those the mailbox has.
    pub complete: bool,
}

/// Broadcast after a commit that changed a mailbox; an IDLE session on any thread hears it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeNotice {
    pub account: Address,
    pub mailbox: String,
    pub highest_modseq: u64,
}
