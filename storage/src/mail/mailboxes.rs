//! Writer-side operations on accounts, mailboxes and subscriptions (run inside a group commit).
//!
//! Mailbox names use `/` as the hierarchy separator; `INBOX` is case-insensitive and always
//! stored as `INBOX`. A name created again after a delete gets a fresh UIDVALIDITY (from a
//! per-account counter that also never goes below the current time in seconds), so clients never
//! confuse the new mailbox's UIDs with the old one's.

use crate::accounts::account_key;
use crate::mail::messages::remove_message;
use crate::mail::model::{ChangeNotice, MailboxInfo, SpecialUse};
use crate::mail::record::{
    account_prefix, change_key, mailbox_key, mailbox_messages_prefix, name_of_key, uid_of_key, AccountState,
    MailboxRecord,
};
use crate::mail::txn::{Cf, Txn};
use crate::{Address, StoreError};
use std::time::{SystemTime, UNIX_EPOCH};

/// The mailboxes every account starts with (RFC 6154 special use).
pub(crate) const DEFAULT_MAILBOXES: &[(&str, Option<SpecialUse>)] = &[
    ("INBOX", None),
    ("Sent", Some(SpecialUse::Sent)),
    ("Drafts", Some(SpecialUse::Drafts)),
    ("Trash", Some(SpecialUse::Trash)),
    ("Junk", Some(SpecialUse::Junk)),
    ("Archive", Some(SpecialUse::Archive)),
];

/// Longest mailbox name accepted, in bytes.
const MAX_NAME_BYTES: usize = 512;

/// Normalises a mailbox name: `INBOX` in any case becomes `INBOX`; empty names, empty hierarchy
/// levels and control characters are refused.
pub(crate) fn normalise_name(name: &str) -> Result<String, StoreError> {
    let invalid = |why: &str| StoreError::Invalid(format!("mailbox name {name:?}: {why}"));
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(invalid("must be 1 to 512 bytes"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("control characters are not allowed"));
    }
    if name.split('/').any(str::is_empty) {
        return Err(invalid("empty hierarchy level"));
    }
    match name.split_once('/') {
        _ if name.eq_ignore_ascii_case("INBOX") => Ok("INBOX".into()),
        Some((head, rest)) if head.eq_ignore_ascii_case("INBOX") => Ok(format!("INBOX/{rest}")),
        _ => Ok(name.to_string()),
    }
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub(crate) fn load_state(txn: &Txn<'_>, account: &Address) -> Result<AccountState, StoreError> {
    if txn.get(Cf::Accounts, &account_key(account))?.is_none() {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    match txn.get(Cf::AccountState, &account_prefix(account.as_str()))? {
        Some(bytes) => AccountState::decode(&bytes),
        None => Err(StoreError::Corrupt(format!("account {account} has no mail state"))),
    }
}

/// Saves the account's counters, pruning the change log first when it holds more than
/// `change_log_keep` entries by an eighth (so pruning is one range deletion now and then, not one
/// per commit): the oldest go, and the horizon tells readers the log no longer reaches below it.
pub(crate) fn save_state(txn: &mut Txn<'_>, account: &Address, state: &mut AccountState) {
    let keep = txn.change_log_keep();
    let held = state.modseq.saturating_sub(state.change_horizon);
    if held > keep.saturating_add(keep / 8) {
        let horizon = state.modseq - keep;
        let (from, until) =
            (change_key(account.as_str(), state.change_horizon), change_key(account.as_str(), horizon + 1));
        txn.delete_range(Cf::Changes, from, until);
        state.change_horizon = horizon;
    }
    txn.put(Cf::AccountState, account_prefix(account.as_str()), state.encode());
}

pub(crate) fn load_mailbox(txn: &Txn<'_>, account: &Address, name: &str) -> Result<MailboxRecord, StoreError> {
    let name = normalise_name(name)?;
    match txn.get(Cf::Mailboxes, &mailbox_key(account.as_str(), &name))? {
        Some(bytes) => MailboxRecord::decode(&bytes),
        None => Err(StoreError::NotFound(format!("mailbox {name} of {account}"))),
    }
}

pub(crate) fn save_mailbox(txn: &mut Txn<'_>, account: &Address, name: &str, record: &MailboxRecord) {
    txn.put(Cf::Mailboxes, mailbox_key(account.as_str(), name), record.encode());
}

pub(crate) fn info(name: String, r: &MailboxRecord) -> MailboxInfo {
    MailboxInfo {
        name,
        uid_validity: r.uid_validity,
        uid_next: r.uid_next,
        highest_modseq: r.highest_modseq,
        special_use: SpecialUse::from_code(r.special_use),
    }
}

/// A new, empty mailbox record with a fresh id and UIDVALIDITY.
fn new_record(state: &mut AccountState, special_use: Option<SpecialUse>) -> MailboxRecord {
    state.next_mailbox_id += 1;
    let now = u32::try_from(now_secs()).unwrap_or(u32::MAX);
    state.last_uid_validity = state.last_uid_validity.saturating_add(1).max(now);
    MailboxRecord {
        id: state.next_mailbox_id,
        uid_validity: state.last_uid_validity,
        uid_next: 1,
        highest_modseq: state.modseq,
        special_use: special_use.map_or(0, SpecialUse::code),
        messages: 0,
        unseen: 0,
        size: 0,
        uid_floor: 1,
    }
}

/// Writes the account record (when given) and the default mailboxes, all subscribed. Does
/// nothing for an account that already has its mail state.
pub(crate) fn create_account_mail(
    txn: &mut Txn<'_>,
    account: &Address,
    record: Option<Vec<u8>>,
) -> Result<(), StoreError> {
    if let Some(record) = record {
        txn.put(Cf::Accounts, account_key(account), record);
    }
    if txn.get(Cf::AccountState, &account_prefix(account.as_str()))?.is_some() {
        return Ok(());
    }
    let mut state = AccountState::new_account();
    for (name, special_use) in DEFAULT_MAILBOXES {
        let r = new_record(&mut state, *special_use);
        save_mailbox(txn, account, name, &r);
        txn.put(Cf::Subscriptions, mailbox_key(account.as_str(), name), Vec::new());
    }
    save_state(txn, account, &mut state);
    Ok(())
}

/// Deletes an account with all its mailboxes, messages (dropping body references), change log,
/// subscriptions and mail state (its usage counter goes with it).
pub(crate) fn remove_account(txn: &mut Txn<'_>, account: &Address) -> Result<(), StoreError> {
    if txn.get(Cf::Accounts, &account_key(account))?.is_none() {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    let prefix = account_prefix(account.as_str());
    for (key, value) in txn.scan_prefix(Cf::Messages, &prefix)? {
        let (_, mailbox_id, uid) = uid_of_key(&key)?;
        remove_message(txn, account, mailbox_id, uid, &value)?;
    }
    for cf in [Cf::Mailboxes, Cf::Subscriptions, Cf::Changes] {
        for (key, _) in txn.scan_prefix(cf, &prefix)? {
            txn.delete(cf, key);
        }
    }
    txn.drop_ranges(Cf::Changes, &prefix);
    txn.delete(Cf::AccountState, prefix);
    txn.delete(Cf::Accounts, account_key(account));
    Ok(())
}

pub(crate) fn create_mailbox(
    txn: &mut Txn<'_>,
    account: &Address,
    name: &str,
    special_use: Option<SpecialUse>,
) -> Result<MailboxInfo, StoreError> {
    let name = normalise_name(name)?;
    let mut state = load_state(txn, account)?;
    if txn.get(Cf::Mailboxes, &mailbox_key(account.as_str(), &name))?.is_some() {
        return Err(StoreError::Exists(format!("mailbox {name}")));
    }
    create_superiors(txn, account, &mut state, &name)?;
    let r = new_record(&mut state, special_use);
    save_mailbox(txn, account, &name, &r);
    save_state(txn, account, &mut state);
    Ok(info(name, &r))
}

/// Creates the missing superiors of `name` (`a` and `a/b` for `a/b/c`), as RFC 9051 §6.3.4 and
/// §6.3.6 recommend for CREATE and RENAME.
fn create_superiors(
    txn: &mut Txn<'_>,
    account: &Address,
    state: &mut AccountState,
    name: &str,
) -> Result<(), StoreError> {
    for (i, _) in name.match_indices('/') {
        let superior = &name[..i];
        if txn.get(Cf::Mailboxes, &mailbox_key(account.as_str(), superior))?.is_none() {
            let r = new_record(state, None);
            save_mailbox(txn, account, superior, &r);
        }
    }
    Ok(())
}

/// Deletes a mailbox and its messages (counted out of the account's usage). Its inferiors
/// (`name/...`) stay. INBOX cannot be deleted.
pub(crate) fn delete_mailbox(txn: &mut Txn<'_>, account: &Address, name: &str) -> Result<(), StoreError> {
    let name = normalise_name(name)?;
    if name == "INBOX" {
        return Err(StoreError::Invalid("INBOX cannot be deleted".into()));
    }
    let mut state = load_state(txn, account)?;
    let record = load_mailbox(txn, account, &name)?;
    let prefix = mailbox_messages_prefix(account.as_str(), record.id);
    for (key, value) in txn.scan_prefix(Cf::Messages, &prefix)? {
        let (_, _, uid) = uid_of_key(&key)?;
        let size = remove_message(txn, account, record.id, uid, &value)?;
        state.count_out(size);
    }
    save_state(txn, account, &mut state);
    txn.delete(Cf::Mailboxes, mailbox_key(account.as_str(), &name));
    txn.notify(ChangeNotice { account: account.clone(), mailbox: name, highest_modseq: record.highest_modseq });
    Ok(())
}

/// Renames `from` and its inferiors to `to`. Renaming INBOX moves its messages to `to` and leaves
/// a new, empty INBOX (RFC 9051 §6.3.6); INBOX's inferiors stay where they are. No message
/// enters or leaves the account, so its usage stays as it is.
pub(crate) fn rename_mailbox(txn: &mut Txn<'_>, account: &Address, from: &str, to: &str) -> Result<(), StoreError> {
    let (from, to) = (normalise_name(from)?, normalise_name(to)?);
    let mut state = load_state(txn, account)?;
    let record = load_mailbox(txn, account, &from)?;
    if txn.get(Cf::Mailboxes, &mailbox_key(account.as_str(), &to))?.is_some() {
        return Err(StoreError::Exists(format!("mailbox {to}")));
    }
    if to.starts_with(&format!("{from}/")) {
        return Err(StoreError::Invalid(format!("cannot rename {from} into itself")));
    }
    let mut moves = vec![(from.clone(), to.clone(), record)];
    if from == "INBOX" {
        let fresh = new_record(&mut state, None);
        save_mailbox(txn, account, "INBOX", &fresh);
    } else {
        let inferiors = format!("{from}/");
        for (key, value) in txn.scan_prefix(Cf::Mailboxes, &account_prefix(account.as_str()))? {
            let (_, name) = name_of_key(&key)?;
            if let Some(rest) = name.strip_prefix(&inferiors) {
                let target = format!("{to}/{rest}");
                if txn.get(Cf::Mailboxes, &mailbox_key(account.as_str(), &target))?.is_some() {
                    return Err(StoreError::Exists(format!("mailbox {target}")));
                }
                moves.push((name.clone(), target, MailboxRecord::decode(&value)?));
            }
        }
        for (old, _, _) in &moves {
            txn.delete(Cf::Mailboxes, mailbox_key(account.as_str(), old));
        }
    }
    for (_, new, r) in moves {
        save_mailbox(txn, account, &new, &r);
    }
    create_superiors(txn, account, &mut state, &to)?;
    save_state(txn, account, &mut state);
    Ok(())
}

pub(crate) fn set_subscribed(txn: &mut Txn<'_>, account: &Address, name: &str, on: bool) -> Result<(), StoreError> {
    let name = normalise_name(name)?;
    load_state(txn, account)?;
    let key = mailbox_key(account.as_str(), &name);
    if on {
        txn.put(Cf::Subscriptions, key, Vec::new());
    } else {
        txn.delete(Cf::Subscriptions, key);
    }
    Ok(())
}
