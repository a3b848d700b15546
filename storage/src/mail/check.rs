//! Operations: `check()` verifies the store's invariants and lists every problem it finds, and
//! `backup()` writes a consistent copy with a RocksDB checkpoint.
//!
//! Invariants checked (on one snapshot):
//! - every account has its mail state, and every mailbox and message belongs to an account;
//! - every message's mailbox exists, its UID is below the mailbox's UIDNEXT, its MODSEQ at most
//!   the mailbox's HIGHESTMODSEQ, which is at most the account's MODSEQ counter;
//! - each mailbox's message count, unseen count and total size match its messages;
//! - each account's usage counter (bytes and messages) matches the messages of its mailboxes;
//! - every referenced body exists with all its chunks and the right length; each body's
//!   reference count equals the number of messages pointing at it; no body is unreferenced;
//! - every change-log entry is readable and below its account's MODSEQ counter;
//! - every queued message is in the due-time index and has all its bytes.

use crate::mail::read::View;
use crate::mail::record::{
    body_id_of_key, chunk_key, decode_count, modseq_of_key, name_of_key, uid_of_key, AccountState, BodyRecord,
    ChangeRecord, MailboxRecord, MessageRecord,
};
use crate::mail::txn::Cf;
use crate::mail::Usage;
use crate::mail::{queue, MailStore};
use crate::rocks::Backend;
use crate::StoreError;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Per-mailbox totals recomputed from its messages.
#[derive(Default)]
struct Tally {
    messages: u32,
    unseen: u32,
    size: u64,
}

struct MailboxSeen {
    name: String,
    record: MailboxRecord,
    tally: Tally,
}

fn all(
    view: &View<'_>,
    cf: Cf,
    mut each: impl FnMut(&[u8], &[u8]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    view.scan(cf, &[], &[], None, |k, v| {
        each(k, v)?;
        Ok(true)
    })
}

pub(crate) fn check(backend: &Backend) -> Result<Vec<String>, StoreError> {
    let view = View::new(backend);
    let mut problems = Vec::new();
    let mut states: BTreeMap<String, AccountState> = BTreeMap::new();
    all(&view, Cf::AccountState, |k, v| {
        let account =
            crate::keys::KeyReader::new(k).str().ok_or_else(|| StoreError::Corrupt("account state key".into()))?;
        match AccountState::decode(v) {
            Ok(s) => drop(states.insert(account, s)),
            Err(e) => problems.push(format!("{account}: {e}")),
        }
        Ok(())
    })?;
    let mut accounts = Vec::new();
    all(&view, Cf::Accounts, |k, _| {
        let mut r = crate::keys::KeyReader::new(k);
        match (r.str(), r.str()) {
            (Some(domain), Some(local)) => accounts.push(format!("{local}@{domain}")),
            _ => problems.push("an account key is unreadable".into()),
        }
        Ok(())
    })?;
    for account in &accounts {
        if !states.contains_key(account) {
            problems.push(format!("{account}: account has no mail state (no mailboxes)"));
        }
    }
    // The change log: readable, and no MODSEQ above the account's counter.
    all(&view, Cf::Changes, |k, v| {
        let account = crate::keys::KeyReader::new(k).str().unwrap_or_default();
        let modseq = modseq_of_key(k)?;
        if let Err(e) = ChangeRecord::decode(v) {
            problems.push(format!("{account} change {modseq}: {e}"));
        }
        match states.get(&account) {
            Some(s) if modseq > s.modseq => {
                problems.push(format!("{account} change {modseq}: above the account's MODSEQ {}", s.modseq))
            }
            Some(s) if modseq <= s.change_horizon => problems.push(format!(
                "{account} change {modseq}: at or below the change log's horizon {} (pruned entries are back)",
                s.change_horizon
            )),
            Some(_) => {}
            None => problems.push(format!("{account} change {modseq}: account without mail state")),
        }
        Ok(())
    })?;
    // Mailboxes by (account, id).
    let mut mailboxes: HashMap<(String, u64), MailboxSeen> = HashMap::new();
    all(&view, Cf::Mailboxes, |k, v| {
        let (account, name) = name_of_key(k)?;
        match MailboxRecord::decode(v) {
            Ok(record) => {
                if !states.contains_key(&account) {
                    problems.push(format!("{account} {name}: mailbox of an account without mail state"));
                }
                if let Some(s) = states.get(&account) {
                    if record.highest_modseq > s.modseq {
                        problems.push(format!(
                            "{account} {name}: HIGHESTMODSEQ {} above the account's {}",
                            record.highest_modseq, s.modseq
                        ));
                    }
                    if record.id > s.next_mailbox_id {
                        problems.push(format!("{account} {name}: mailbox id {} was never handed out", record.id));
                    }
                }
                let key = (account, record.id);
                if let Some(other) = mailboxes.get(&key) {
                    problems.push(format!("{} {name}: shares mailbox id {} with {}", key.0, key.1, other.name));
                }
                mailboxes.insert(key, MailboxSeen { name, record, tally: Tally::default() });
            }
            Err(e) => problems.push(format!("{account} {name}: {e}")),
        }
        Ok(())
    })?;
    // Messages: tally per mailbox, count references per body.
    let mut refs: BTreeMap<u64, (u32, String)> = BTreeMap::new();
    all(&view, Cf::Messages, |k, v| {
        let (account, mailbox_id, uid) = uid_of_key(k)?;
        let Some(mailbox) = mailboxes.get_mut(&(account.clone(), mailbox_id)) else {
            problems
                .push(format!("{account} mailbox id {mailbox_id} UID {uid}: message in a mailbox that does not exist"));
            return Ok(());
        };
        let place = format!("{account} {} UID {uid}", mailbox.name);
        let message = match MessageRecord::decode(v) {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!("{place}: {e}"));
                return Ok(());
            }
        };
        if uid >= mailbox.record.uid_next {
            problems.push(format!("{place}: UID is not below UIDNEXT {}", mailbox.record.uid_next));
        }
        if uid < mailbox.record.uid_floor {
            problems.push(format!("{place}: UID is below the mailbox's UID floor {}", mailbox.record.uid_floor));
        }
        if message.modseq > mailbox.record.highest_modseq {
            problems.push(format!(
                "{place}: MODSEQ {} above HIGHESTMODSEQ {}",
                message.modseq, mailbox.record.highest_modseq
            ));
        }
        mailbox.tally.messages += 1;
        mailbox.tally.unseen += u32::from(!message.flags.contains(crate::mail::SystemFlag::Seen));
        mailbox.tally.size += message.size();
        match view.get(Cf::Bodies, &crate::mail::record::body_key(message.body_id))? {
            None => problems.push(format!("{place}: body {} is missing", message.body_id)),
            Some(b) => match BodyRecord::decode(&b) {
                Ok(body) if body.len != message.body_len => problems.push(format!(
                    "{place}: body {} is {} bytes, the message says {}",
                    message.body_id, body.len, message.body_len
                )),
                Ok(_) => {}
                Err(e) => problems.push(format!("{place}: body {}: {e}", message.body_id)),
            },
        }
        refs.entry(message.body_id).or_insert((0, place)).0 += 1;
        Ok(())
    })?;
    for ((account, _), m) in &mailboxes {
        let (r, t) = (&m.record, &m.tally);
        if (r.messages, r.unseen, r.size) != (t.messages, t.unseen, t.size) {
            problems.push(format!(
                "{account} {}: counts say {} messages, {} unseen, {} bytes; found {}, {}, {}",
                m.name, r.messages, r.unseen, r.size, t.messages, t.unseen, t.size
            ));
        }
    }
    // Account usage: the counter against the sum over the account's mailboxes. An account whose
    // record has no counter yet is skipped: its usage is computed when it is read.
    let mut usage: BTreeMap<&str, Usage> = states.keys().map(|a| (a.as_str(), Usage::default())).collect();
    for ((account, _), m) in &mailboxes {
        if let Some(u) = usage.get_mut(account.as_str()) {
            u.bytes = u.bytes.saturating_add(m.tally.size);
            u.messages = u.messages.saturating_add(u64::from(m.tally.messages));
        }
    }
    for (account, found) in usage {
        match states.get(account).and_then(|s| s.usage) {
            Some(counted) if counted != found => problems.push(format!(
                "{account}: usage counter says {} messages, {} bytes; found {}, {}",
                counted.messages, counted.bytes, found.messages, found.bytes
            )),
            _ => {}
        }
    }
    // Bodies: reference counts and chunks.
    let mut counted: BTreeMap<u64, u64> = BTreeMap::new();
    all(&view, Cf::BodyRefs, |k, v| {
        let id = body_id_of_key(k)?;
        match decode_count(v, "body reference count") {
            Ok(n) => drop(counted.insert(id, n)),
            Err(e) => problems.push(format!("body {id}: {e}")),
        }
        Ok(())
    })?;
    for (id, (n, place)) in &refs {
        match counted.get(id) {
            Some(&c) if c == u64::from(*n) => {}
            Some(&c) => {
                problems.push(format!("body {id}: reference count {c}, but {n} message(s) use it (e.g. {place})"))
            }
            None => problems.push(format!("body {id}: no reference count, {n} message(s) use it (e.g. {place})")),
        }
    }
    all(&view, Cf::Bodies, |k, v| {
        let id = body_id_of_key(k)?;
        if !refs.contains_key(&id) {
            problems.push(format!("body {id}: stored but no message uses it"));
        }
        if let Ok(body) = BodyRecord::decode(v) {
            let mut len = 0u64;
            for i in 0..body.chunks() {
                match view.get(Cf::BodyChunks, &chunk_key(id, i))? {
                    Some(c) => len += c.len() as u64,
                    None => problems.push(format!("body {id}: chunk {i} is missing{}", used_by(&refs, id))),
                }
            }
            if len != body.len && body.chunks() > 0 {
                problems.push(format!("body {id}: {len} bytes in chunks, {} expected{}", body.len, used_by(&refs, id)));
            }
        }
        Ok(())
    })?;
    for id in counted.keys() {
        if view.get(Cf::Bodies, &crate::mail::record::body_key(*id))?.is_none() && !refs.contains_key(id) {
            problems.push(format!("body {id}: a reference count without a body"));
        }
    }
    queue::check(&view, &mut problems)?;
    Ok(problems)
}

fn used_by(refs: &BTreeMap<u64, (u32, String)>, id: u64) -> String {
    refs.get(&id).map(|(_, place)| format!(" (used by {place})")).unwrap_or_default()
}

/// Writes a consistent copy of the whole store (accounts, mail, queue) into `dir`, which must
/// not exist yet. Files are hard-linked where possible, so a backup on the same filesystem is fast.
pub(crate) fn backup(backend: &Backend, dir: &Path) -> Result<(), StoreError> {
    if dir.exists() {
        return Err(StoreError::Exists(format!("backup directory {}", dir.display())));
    }
    backend.checkpoint(dir)
}

impl MailStore {
    /// Verifies the store's invariants; returns every problem found (empty when healthy), each
    /// naming the account, mailbox and UID or body concerned.
    pub async fn check(&self) -> Result<Vec<String>, StoreError> {
        self.read(check).await
    }

    /// Writes a consistent copy of the store into `dir` (which must not exist) that
    /// `Store::open` can open.
    pub async fn backup(&self, dir: PathBuf) -> Result<(), StoreError> {
        self.read(move |b| backup(b, &dir)).await
    }

    /// Fault injection for tests (here and in the engine's end-to-end tests): deletes the body of a
    /// message behind the store's back, as a lost file or a bad disk would.
    #[cfg(any(test, feature = "fault-injection"))]
    #[doc(hidden)]
    pub async fn delete_body_for_test(
        &self,
        account: &crate::Address,
        mailbox: &str,
        uid: u32,
    ) -> Result<u64, StoreError> {
        let (account, mailbox) = (account.clone(), mailbox.to_string());
        self.write(move |t| {
            let record = crate::mail::mailboxes::load_mailbox(t, &account, &mailbox)?;
            let key = crate::mail::record::message_key(account.as_str(), record.id, uid);
            let message = MessageRecord::decode(
                &t.get(Cf::Messages, &key)?.ok_or_else(|| StoreError::NotFound("message".into()))?,
            )?;
            t.delete(Cf::Bodies, crate::mail::record::body_key(message.body_id));
            Ok(message.body_id)
        })
        .await
    }
}

#[cfg(test)]
impl MailStore {
    /// Test helper: how many bodies are stored, and the sum of their reference counts.
    pub(crate) async fn body_stats_for_test(&self) -> Result<(u64, u64), StoreError> {
        self.read(|b| {
            let view = View::new(b);
            let (mut bodies, mut refs) = (0, 0);
            all(&view, Cf::Bodies, |_, _| {
                bodies += 1;
                Ok(())
            })?;
            all(&view, Cf::BodyRefs, |_, v| {
                refs += decode_count(v, "refs")?;
                Ok(())
            })?;
            Ok((bodies, refs))
        })
        .await
    }
}
