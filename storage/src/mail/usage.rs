//! The per-account usage counter ([`Usage`]: bytes and messages over all mailboxes), kept in the
//! account's state record so that a quota check later reads one record instead of every message.
//!
//! The writer counts each message in (`insert`) and out (`expunge_one`, `delete_mailbox`) in the
//! same commit that adds or removes it; a deleted account's counter goes with its state record.
//! State records written before the counter existed have none: [`fill_missing`] computes it from
//! the messages when the store opens and writes it back. `store check` recomputes every counter.

use crate::mail::read::View;
use crate::mail::record::{account_prefix, AccountState, MessageRecord};
use crate::mail::txn::Cf;
use crate::mail::writer::MailEngine;
use crate::mail::Usage;
use crate::rocks::Backend;
use crate::{Address, StoreError};

/// Sums the sizes of the account's messages as `view` sees them.
fn count(view: &View<'_>, account: &str) -> Result<Usage, StoreError> {
    let prefix = account_prefix(account);
    let mut usage = Usage::default();
    view.scan(Cf::Messages, &prefix, &prefix, None, |_, v| {
        usage.add(MessageRecord::decode(v)?.size());
        Ok(true)
    })?;
    Ok(usage)
}

/// The account's usage: the stored counter, or (for a record without one) the sum of its messages.
pub(crate) fn read(b: &Backend, account: &Address) -> Result<Usage, StoreError> {
    let view = View::new(b);
    view.account(account)?;
    let state = match view.get(Cf::AccountState, &account_prefix(account.as_str()))? {
        Some(bytes) => AccountState::decode(&bytes)?,
        None => return Err(StoreError::Corrupt(format!("account {account} has no mail state"))),
    };
    match state.usage {
        Some(usage) => Ok(usage),
        None => count(&view, account.as_str()),
    }
}

/// Gives every account state record without a usage counter the one its messages add up to, in
/// one commit. Runs at open, before the store is handed out, so no write comes between the count
/// and its write-back. A record or message that cannot be decoded is left for `store check` to
/// report: it must not stop the store from opening.
pub(crate) fn fill_missing(backend: &Backend, engine: &MailEngine) -> Result<(), StoreError> {
    let view = View::new(backend);
    let mut missing = Vec::new();
    view.scan(Cf::AccountState, &[], &[], None, |k, v| {
        let account = crate::keys::KeyReader::new(k).str();
        if let (Some(account), Ok(AccountState { usage: None, .. })) = (account, AccountState::decode(v)) {
            missing.push(account);
        }
        Ok(true)
    })?;
    let mut counted = Vec::with_capacity(missing.len());
    for account in missing {
        if let Ok(usage) = count(&view, &account) {
            counted.push((account, usage));
        }
    }
    if counted.is_empty() {
        return Ok(());
    }
    engine.write_blocking(move |t| {
        for (account, usage) in counted {
            let key = account_prefix(&account);
            let Some(bytes) = t.get(Cf::AccountState, &key)? else { continue };
            let mut state = AccountState::decode(&bytes)?;
            if state.usage.is_none() {
                state.usage = Some(usage);
                t.put(Cf::AccountState, key, state.encode());
            }
        }
        Ok(())
    })
}
