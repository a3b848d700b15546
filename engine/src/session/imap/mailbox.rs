//! Mailbox commands (RFC 9051 §6.3): CREATE (with the RFC 6154 §3 `USE` parameter), DELETE,
//! RENAME, SUBSCRIBE, UNSUBSCRIBE and STATUS (with RFC 8438 `SIZE`); LIST and LSUB are in `list`.
//! The hierarchy separator is `/`. Arguments are parsed by `crate::wire::imap_mailbox`.
//!
//! A mailbox holds at most one special use, and at most one mailbox holds each: RFC 6154 §3 lets
//! a server refuse a second one ("considering the designation to be a conflict"), and a client
//! looking for the `\Sent` mailbox then finds exactly one. Refusals are `NO [USEATTR]`.

use super::{ok, reply, store_failed, Flow, ImapSession};
use crate::wire::imap::Args;
use crate::wire::imap_mailbox::{parse_create, parse_status, StatusItem};
use storage::mail::SpecialUse;
use storage::StoreError;

impl ImapSession<'_> {
    /// Reads the single mailbox-name argument of DELETE / SUBSCRIBE / UNSUBSCRIBE; on error the
    /// answer is written and the flow returned.
    fn one_mailbox(&mut self, args: &[u8], syntax: &str, tag: &[u8], out: &mut Vec<u8>) -> Result<String, Flow> {
        let mut args = Args::new(args);
        let Ok(name) = args.astring() else { return Err(self.bad(out, tag, syntax)) };
        if !args.is_empty() {
            return Err(self.bad(out, tag, syntax));
        }
        self.mailbox_name(&name).map_err(|why| super::names::refuse_name(out, tag, &why))
    }

    pub(super) async fn create(&mut self, tag: &[u8], args: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        let command = match parse_create(args) {
            Ok(command) => command,
            Err(why) => return self.bad(out, tag, why),
        };
        let name = match self.mailbox_name(&command.name) {
            Ok(name) => name,
            Err(why) => return super::names::refuse_name(out, tag, &why),
        };
        // A trailing separator only says that the name is meant to have inferiors (§6.3.4).
        let name = name.trim_end_matches('/').to_string();
        let special_use = match command.use_attrs.as_deref() {
            None | Some([]) => None,
            Some([attr]) => match special_use_of(attr) {
                Some(special_use) => Some(special_use),
                None => {
                    let attr = String::from_utf8_lossy(attr);
                    reply(out, tag, "NO", &format!("[USEATTR] {attr} is not supported"));
                    return Flow::Continue;
                }
            },
            Some(_) => {
                reply(out, tag, "NO", "[USEATTR] A mailbox can have only one special use");
                return Flow::Continue;
            }
        };
        let mail = self.ctx.mail();
        if let Some(special_use) = special_use {
            let mailboxes = match mail.list_mailboxes(&account).await {
                Ok(m) => m,
                Err(e) => return store_failed(out, tag, &e),
            };
            let holder = mailboxes.iter().find(|m| m.special_use == Some(special_use) && m.name != name);
            if let (Some(holder), false) = (holder, mailboxes.iter().any(|m| m.name == name)) {
                let holder = self.spell_name(&holder.name);
                let text = format!("[USEATTR] {holder} is already the {} mailbox", special_use.as_imap());
                reply(out, tag, "NO", &text);
                return Flow::Continue;
            }
        }
        match mail.create_mailbox(&account, &name, special_use).await {
            Ok(_) => ok(out, tag, "CREATE completed"),
            Err(e) => store_failed(out, tag, &e),
        }
    }

    pub(super) async fn delete(&mut self, tag: &[u8], args: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        let name = match self.one_mailbox(args, "Syntax: DELETE mailbox", tag, out) {
            Ok(name) => name,
            Err(flow) => return flow,
        };
        if self.selected.as_ref().is_some_and(|s| s.name == name) {
            self.selected = None;
        }
        match self.ctx.mail().delete_mailbox(&account, &name).await {
            Ok(()) => ok(out, tag, "DELETE completed"),
            Err(e) => store_failed(out, tag, &e),
        }
    }

    pub(super) async fn rename(&mut self, tag: &[u8], args: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        let mut parsed = Args::new(args);
        let names = (parsed.astring(), parsed.astring());
        let (Ok(from), Ok(to)) = names else { return self.bad(out, tag, "Syntax: RENAME from to") };
        if !parsed.is_empty() {
            return self.bad(out, tag, "Syntax: RENAME from to");
        }
        let (from, to) = match (self.mailbox_name(&from), self.mailbox_name(&to)) {
            (Ok(from), Ok(to)) => (from, to),
            (Err(why), _) | (_, Err(why)) => return super::names::refuse_name(out, tag, &why),
        };
        match self.ctx.mail().rename_mailbox(&account, &from, &to).await {
            Ok(()) => ok(out, tag, "RENAME completed"),
            Err(e) => store_failed(out, tag, &e),
        }
    }

    pub(super) async fn subscribe(&mut self, tag: &[u8], args: &[u8], on: bool, out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        let syntax = if on { "Syntax: SUBSCRIBE mailbox" } else { "Syntax: UNSUBSCRIBE mailbox" };
        let name = match self.one_mailbox(args, syntax, tag, out) {
            Ok(name) => name,
            Err(flow) => return flow,
        };
        let result = if on {
            self.ctx.mail().subscribe(&account, &name).await
        } else {
            self.ctx.mail().unsubscribe(&account, &name).await
        };
        match result {
            Ok(()) => ok(out, tag, if on { "SUBSCRIBE completed" } else { "UNSUBSCRIBE completed" }),
            Err(e) => store_failed(out, tag, &e),
        }
    }

    pub(super) async fn status(&mut self, tag: &[u8], args: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        let (name, items) = match parse_status(args) {
            Ok(parsed) => parsed,
            Err(why) => return self.bad(out, tag, why),
        };
        let name = match self.mailbox_name(&name) {
            Ok(name) => name,
            Err(why) => return super::names::refuse_name(out, tag, &why),
        };
        if self.rev2 && items.contains(&StatusItem::Recent) {
            // RFC 9051 has no \Recent flag, so no RECENT status item (Appendix E).
            return self.bad(out, tag, "STATUS RECENT is not part of IMAP4rev2");
        }
        match self.status_response(&account, &name, &items).await {
            Ok(line) => {
                out.extend_from_slice(&line);
                ok(out, tag, "STATUS completed")
            }
            Err(e) => store_failed(out, tag, &e),
        }
    }

    /// The `* STATUS` response for one mailbox (shared by STATUS and LIST-STATUS), built whole
    /// before anything is written so that a failed lookup leaves no half line.
    pub(super) async fn status_response(
        &self,
        account: &storage::Address,
        name: &str,
        items: &[StatusItem],
    ) -> Result<Vec<u8>, StoreError> {
        let mail = self.ctx.mail();
        let status = mail.status(account, name).await?;
        let mut fields = Vec::with_capacity(items.len());
        for &item in items {
            let value = match item {
                StatusItem::Messages => u64::from(status.messages),
                StatusItem::UidNext => u64::from(status.uid_next),
                StatusItem::UidValidity => u64::from(status.uid_validity),
                StatusItem::Unseen => u64::from(status.unseen),
                StatusItem::Size => status.size,
                StatusItem::HighestModSeq => status.highest_modseq,
                StatusItem::AppendLimit => super::append::append_limit(&self.ctx.config.limits),
                StatusItem::Deleted => {
                    let summaries = mail.fetch_summaries(account, name, storage::mail::UidSet::all()).await?;
                    summaries.iter().filter(|s| s.flags.contains(storage::mail::SystemFlag::Deleted)).count() as u64
                }
                StatusItem::Recent => {
                    let claimed = mail.recent_claimed(account, name, status.uid_validity);
                    let range = storage::mail::UidSet::range(claimed.saturating_add(1)..=u32::MAX);
                    mail.fetch_summaries(account, name, range).await?.len() as u64
                }
            };
            fields.push(format!("{} {value}", item.name()));
        }
        let mut line = b"* STATUS ".to_vec();
        self.push_mailbox(&mut line, name);
        line.extend_from_slice(format!(" ({})\r\n", fields.join(" ")).as_bytes());
        Ok(line)
    }
}

/// The special use an RFC 6154 `use-attr` names, if this store can give it to a mailbox (the
/// virtual `\All` and `\Flagged` it cannot).
fn special_use_of(attr: &[u8]) -> Option<SpecialUse> {
    [SpecialUse::Sent, SpecialUse::Drafts, SpecialUse::Trash, SpecialUse::Junk, SpecialUse::Archive]
        .into_iter()
        .find(|u| u.as_imap().as_bytes().eq_ignore_ascii_case(attr))
}
