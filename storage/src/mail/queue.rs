//! The outbound queue: messages accepted and not yet delivered, waiting for (another) attempt.
//! It lives in its own column family, `queue`, owned by the MTA, so it can move with the MTA when
//! the hosts split. Writes go through the same group commit as mail.
//!
//! Each entry has a [`Route`]: `Remote` recipients wait for delivery to other MTAs, `Local` ones
//! for a retry of the hand-off to this host's MDA over LMTP (after a temporary failure). Each
//! route has its own due-time index, so the runner of one never scans the other's entries.
//!
//! Keys (one column family, key spaces told apart by a leading tag):
//!
//! | key                          | value                          |
//! |------------------------------|--------------------------------|
//! | ("entry", id)                | [`QueuedMessage`] fields       |
//! | ("due", due time, id)        | empty (remote due-time index)  |
//! | ("local_due", due time, id)  | empty (local due-time index)   |
//! | ("data", id, chunk index)    | up to 256 KiB of the message   |
//! | ("next_id")                  | the last id handed out         |

use crate::keys::{KeyBuilder, KeyReader};
use crate::mail::read::View;
use crate::mail::record::{decode_count, Dec, Enc, CHUNK_BYTES};
use crate::mail::txn::{Cf, Txn};
use crate::mail::MailStore;
use crate::StoreError;

/// Where a queued message goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// To other MTAs over SMTP.
    Remote,
    /// To this host's MDA over LMTP (a retry after a temporary failure).
    Local,
}

impl Route {
    fn tag(self) -> &'static str {
        match self {
            Route::Remote => "due",
            Route::Local => "local_due",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Route::Remote => "remote",
            Route::Local => "local",
        }
    }
}

/// One queued message (without its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    pub id: u64,
    /// The envelope sender (`MAIL FROM`), empty for bounces.
    pub sender: String,
    /// Recipients still to be delivered.
    pub recipients: Vec<String>,
    /// Next attempt, seconds since the Unix epoch.
    pub due: u64,
    pub attempts: u32,
    pub created: u64,
    pub size: u64,
    pub route: Route,
    /// Why the last attempt failed (empty before the first).
    pub last_error: String,
}

/// A message to queue: the envelope, the bytes, where it goes and when it is first due.
#[derive(Debug, Clone)]
pub struct NewQueued {
    pub sender: String,
    pub recipients: Vec<String>,
    pub message: Vec<u8>,
    pub due: u64,
    pub route: Route,
    /// Why it is queued rather than delivered (for `queue show`); may be empty.
    pub reason: String,
}

/// The end of one delivery attempt, applied to the queue in one commit.
#[derive(Debug, Clone, Default)]
pub struct Attempt {
    /// Recipients still to be tried; empty removes the entry.
    pub remaining: Vec<String>,
    /// When the remaining ones are tried next.
    pub due: u64,
    /// Why this attempt failed for them.
    pub error: String,
    /// Messages the attempt produced (bounces), queued in the same commit.
    pub enqueue: Vec<NewQueued>,
}

impl QueuedMessage {
    fn encode(&self) -> Vec<u8> {
        let mut e = Enc::new()
            .bytes(self.sender.as_bytes())
            .u64(self.due)
            .u32(self.attempts)
            .u64(self.created)
            .u64(self.size)
            .u32(self.recipients.len() as u32);
        for r in &self.recipients {
            e = e.bytes(r.as_bytes());
        }
        e.u8(match self.route {
            Route::Remote => 0,
            Route::Local => 1,
        })
        .bytes(self.last_error.as_bytes())
        .done()
    }

    fn decode(id: u64, b: &[u8]) -> Result<QueuedMessage, StoreError> {
        let mut d = Dec::new(b, "queue entry")?;
        let sender = d.string()?;
        let (due, attempts, created, size) = (d.u64()?, d.u32()?, d.u64()?, d.u64()?);
        let n = d.u32()?;
        let mut recipients = Vec::new();
        for _ in 0..n {
            recipients.push(d.string()?);
        }
        // Entries written before routes existed were all remote.
        let (route, last_error) = if d.is_empty() {
            (Route::Remote, String::new())
        } else {
            let route = match d.u8()? {
                0 => Route::Remote,
                1 => Route::Local,
                other => return Err(StoreError::Corrupt(format!("queue entry {id}: unknown route {other}"))),
            };
            (route, d.string()?)
        };
        Ok(QueuedMessage { id, sender, recipients, due, attempts, created, size, route, last_error })
    }
}

fn entry_key(id: u64) -> Vec<u8> {
    KeyBuilder::new().str("entry").u64(id).finish()
}

fn due_key(route: Route, due: u64, id: u64) -> Vec<u8> {
    KeyBuilder::new().str(route.tag()).u64(due).u64(id).finish()
}

fn data_key(id: u64, chunk: u32) -> Vec<u8> {
    KeyBuilder::new().str("data").u64(id).u32(chunk).finish()
}

fn tag(t: &str) -> Vec<u8> {
    KeyBuilder::new().str(t).finish()
}

fn next_id_key() -> Vec<u8> {
    KeyBuilder::new().str("next_id").finish()
}

/// Where stores written before the queue kept its own counter kept it (in `meta`).
fn legacy_next_id_key() -> Vec<u8> {
    KeyBuilder::new().str("next_queue_id").finish()
}

fn chunks(size: u64) -> u32 {
    u32::try_from(size.div_ceil(CHUNK_BYTES as u64)).unwrap_or(u32::MAX)
}

fn load(txn: &Txn<'_>, id: u64) -> Result<QueuedMessage, StoreError> {
    match txn.get(Cf::Queue, &entry_key(id))? {
        Some(b) => QueuedMessage::decode(id, &b),
        None => Err(StoreError::NotFound(format!("queued message {id}"))),
    }
}

fn enqueue(txn: &mut Txn<'_>, new: NewQueued) -> Result<u64, StoreError> {
    crate::mail::messages::check_size(new.message.len())?;
    if new.recipients.is_empty() {
        return Err(StoreError::Invalid("a queued message needs at least one recipient".into()));
    }
    let last = match txn.get(Cf::Queue, &next_id_key())? {
        Some(b) => Some(b),
        None => txn.get(Cf::Meta, &legacy_next_id_key())?,
    };
    let id = match last {
        Some(b) => decode_count(&b, "queue id counter")? + 1,
        None => 1,
    };
    txn.put(Cf::Queue, next_id_key(), id.to_be_bytes().to_vec());
    let created = crate::mail::mailboxes::now_secs();
    let entry = QueuedMessage {
        id,
        sender: new.sender,
        recipients: new.recipients,
        due: new.due,
        attempts: 0,
        created,
        size: new.message.len() as u64,
        route: new.route,
        last_error: new.reason,
    };
    txn.put(Cf::Queue, entry_key(id), entry.encode());
    txn.put(Cf::Queue, due_key(entry.route, entry.due, id), Vec::new());
    for (i, chunk) in new.message.chunks(CHUNK_BYTES).enumerate() {
        txn.put(Cf::Queue, data_key(id, i as u32), chunk.to_vec());
    }
    Ok(id)
}

fn remove(txn: &mut Txn<'_>, id: u64) -> Result<(), StoreError> {
    let entry = load(txn, id)?;
    txn.delete(Cf::Queue, entry_key(id));
    txn.delete(Cf::Queue, due_key(entry.route, entry.due, id));
    for i in 0..chunks(entry.size) {
        txn.delete(Cf::Queue, data_key(id, i));
    }
    Ok(())
}

/// After an attempt: keeps only `recipients` still pending, sets the next due time and says why
/// the attempt failed.
fn reschedule(txn: &mut Txn<'_>, id: u64, recipients: Vec<String>, due: u64, error: String) -> Result<(), StoreError> {
    let mut entry = load(txn, id)?;
    if recipients.is_empty() {
        return Err(StoreError::Invalid("a queued message needs at least one recipient".into()));
    }
    txn.delete(Cf::Queue, due_key(entry.route, entry.due, id));
    entry.due = due;
    entry.attempts = entry.attempts.saturating_add(1);
    entry.recipients = recipients;
    entry.last_error = error;
    txn.put(Cf::Queue, due_key(entry.route, due, id), Vec::new());
    txn.put(Cf::Queue, entry_key(id), entry.encode());
    Ok(())
}

pub(crate) fn list(view: &View<'_>) -> Result<Vec<QueuedMessage>, StoreError> {
    let prefix = tag("entry");
    let mut out = Vec::new();
    view.scan(Cf::Queue, &prefix, &prefix, None, |k, v| {
        let mut r = KeyReader::new(k);
        let id = match (r.str(), r.u64()) {
            (Some(_), Some(id)) if r.is_empty() => id,
            _ => return Err(StoreError::Corrupt("queue key".into())),
        };
        out.push(QueuedMessage::decode(id, v)?);
        Ok(true)
    })?;
    Ok(out)
}

/// Entries of `route` due at or before `now`, earliest first, at most `limit`.
fn due(view: &View<'_>, route: Route, now: u64, limit: usize) -> Result<Vec<QueuedMessage>, StoreError> {
    let prefix = tag(route.tag());
    let until = KeyBuilder::new().str(route.tag()).u64(now.saturating_add(1)).finish();
    let mut ids = Vec::new();
    view.scan(Cf::Queue, &prefix, &prefix, Some(&until), |k, _| {
        let mut r = KeyReader::new(k);
        match (r.str(), r.u64(), r.u64()) {
            (Some(_), Some(_), Some(id)) => ids.push(id),
            _ => return Err(StoreError::Corrupt("queue due key".into())),
        }
        Ok(ids.len() < limit)
    })?;
    ids.into_iter().map(|id| get(view, id)).collect()
}

fn get(view: &View<'_>, id: u64) -> Result<QueuedMessage, StoreError> {
    match view.get(Cf::Queue, &entry_key(id))? {
        Some(b) => QueuedMessage::decode(id, &b),
        None => Err(StoreError::NotFound(format!("queued message {id}"))),
    }
}

fn message(view: &View<'_>, id: u64) -> Result<Vec<u8>, StoreError> {
    let entry = get(view, id)?;
    let mut out = Vec::with_capacity(crate::mail::read::capacity(entry.size));
    for i in 0..chunks(entry.size) {
        match view.get(Cf::Queue, &data_key(id, i))? {
            Some(b) => out.extend_from_slice(&b),
            None => return Err(StoreError::Corrupt(format!("queued message {id} chunk {i} is missing"))),
        }
    }
    Ok(out)
}

/// Checks the queue's invariants, adding one line per problem.
pub(crate) fn check(view: &View<'_>, problems: &mut Vec<String>) -> Result<(), StoreError> {
    for entry in list(view)? {
        if view.get(Cf::Queue, &due_key(entry.route, entry.due, entry.id))?.is_none() {
            problems.push(format!("queued message {}: missing from the due-time index", entry.id));
        }
        let mut len = 0u64;
        for i in 0..chunks(entry.size) {
            match view.get(Cf::Queue, &data_key(entry.id, i))? {
                Some(b) => len += b.len() as u64,
                None => problems.push(format!("queued message {}: chunk {i} is missing", entry.id)),
            }
        }
        if len != entry.size {
            problems.push(format!("queued message {}: {len} bytes stored, {} expected", entry.id, entry.size));
        }
    }
    Ok(())
}

impl MailStore {
    /// Queues messages in one synced commit and returns their ids, in order.
    pub async fn enqueue(&self, messages: Vec<NewQueued>) -> Result<Vec<u64>, StoreError> {
        let weight = messages.iter().map(|m| m.message.len()).sum();
        self.write_weighted(weight, move |t| messages.into_iter().map(|m| enqueue(t, m)).collect()).await
    }

    /// Every queued message, by id.
    pub async fn queue_list(&self) -> Result<Vec<QueuedMessage>, StoreError> {
        self.read(|b| list(&View::new(b))).await
    }

    pub async fn queue_show(&self, id: u64) -> Result<QueuedMessage, StoreError> {
        self.read(move |b| get(&View::new(b), id)).await
    }

    /// The queued message's bytes.
    pub async fn queue_message(&self, id: u64) -> Result<Vec<u8>, StoreError> {
        self.read(move |b| message(&View::new(b), id)).await
    }

    pub async fn queue_delete(&self, id: u64) -> Result<(), StoreError> {
        self.write(move |t| remove(t, id)).await
    }

    /// Records a failed attempt: `recipients` are those still pending (at least one), next
    /// attempt at `due`, `error` says why this one failed.
    pub async fn queue_reschedule(
        &self,
        id: u64,
        recipients: Vec<String>,
        due: u64,
        error: String,
    ) -> Result<(), StoreError> {
        self.write(move |t| reschedule(t, id, recipients, due, error)).await
    }

    /// Records the end of an attempt on entry `id` (see [`Attempt`]) atomically, so that a crash
    /// cannot leave a bounce without its entry updated or the other way round.
    pub async fn queue_attempted(&self, id: u64, attempt: Attempt) -> Result<(), StoreError> {
        let weight = attempt.enqueue.iter().map(|m| m.message.len()).sum();
        self.write_weighted(weight, move |t| {
            for new in attempt.enqueue {
                enqueue(t, new)?;
            }
            if attempt.remaining.is_empty() {
                remove(t, id)
            } else {
                reschedule(t, id, attempt.remaining, attempt.due, attempt.error)
            }
        })
        .await
    }

    /// Messages of `route` due at or before `now`, earliest first, at most `limit`.
    pub async fn queue_due(&self, route: Route, now: u64, limit: usize) -> Result<Vec<QueuedMessage>, StoreError> {
        self.read(move |b| due(&View::new(b), route, now, limit)).await
    }
}
