//! Mailbox commands (RFC 9051 §6.3): CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB,
//! STATUS. The hierarchy separator is `/`; LIST reports RFC 6154 special-use attributes and
//! RFC 3348 `\HasChildren` / `\HasNoChildren`.
//!
//! ```text
//! list          = "LIST" SP mailbox SP list-mailbox
//! status        = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
//! status-att    = "MESSAGES" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" / "SIZE" / "HIGHESTMODSEQ" /
//!                 "RECENT"
//! ```

use super::{mailbox_name, ok, push_string, store_failed, Flow, ImapSession};
use crate::wire::imap::Args;

/// Longest LIST pattern accepted (the matcher recurses once per pattern byte).
const MAX_PATTERN_BYTES: usize = 1024;
/// Deepest `*` / `%` backtracking a LIST pattern may cause, per name (bounds the work a peer can
/// ask for with a pattern like `*a*a*a*a*b`).
const MAX_PATTERN_STEPS: usize = 100_000;

impl ImapSession<'_> {
    /// Reads the single mailbox-name argument of CREATE / DELETE / SUBSCRIBE.
    fn one_mailbox(&mut self, args: &[u8]) -> Option<String> {
        let mut args = Args::new(args);
        let name = args.astring().ok().and_then(|n| mailbox_name(&n))?;
        args.is_empty().then_some(name)
    }

    pub(super) async fn create(&mut self, tag: &[u8], args: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        let Some(name) = self.one_mailbox(args) else { return self.bad(out, tag, "Syntax: CREATE mailbox") };
        // A trailing separator only says that the name is meant to have inferiors (§6.3.4).
        let name = name.trim_end_matches('/').to_string();
        match self.ctx.mail().create_mailbox(&account, &name, None).await {
            Ok(_) => ok(out, tag, "CREATE completed"),
            Err(e) => store_failed(out, tag, &e),
        }
    }

    pub(super) async fn delete(&mut self, tag: &[u8], args: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        let Some(name) = self.one_mailbox(args) else { return self.bad(out, tag, "Syntax: DELETE mailbox") };
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
        let names = (
            parsed.astring().ok().and_then(|n| mailbox_name(&n)),
            parsed.astring().ok().and_then(|n| mailbox_name(&n)),
        );
        let (Some(from), Some(to)) = names else { return self.bad(out, tag, "Syntax: RENAME from to") };
        if !parsed.is_empty() {
            return self.bad(out, tag, "Syntax: RENAME from to");
        }
        match self.ctx.mail().rename_mailbox(&account, &from, &to).await {
            Ok(()) => ok(out, tag, "RENAME completed"),
            Err(e) => store_failed(out, tag, &e),
        }
    }

    pub(super) async fn subscribe(&mut self, tag: &[u8], args: &[u8], on: bool, out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        let Some(name) = self.one_mailbox(args) else { return self.bad(out, tag, "Syntax: SUBSCRIBE mailbox") };
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

    /// LIST / LSUB reference pattern.
    pub(super) async fn list(&mut self, tag: &[u8], args: &[u8], lsub: bool, out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        let mut parsed = Args::new(args);
        let reference = parsed.astring().map(|r| r.into_owned());
        let pattern = list_mailbox(&mut parsed);
        let (Ok(reference), Some(pattern)) = (reference, pattern) else {
            return self.bad(out, tag, "Syntax: LIST reference pattern");
        };
        if reference.len() + pattern.len() > MAX_PATTERN_BYTES {
            return self.bad(out, tag, "[LIMIT] Mailbox pattern too long");
        }
        let verb = if lsub { "LSUB" } else { "LIST" };
        if pattern.is_empty() {
            out.extend_from_slice(format!("* {verb} (\\Noselect) \"/\" \"\"\r\n").as_bytes());
            return ok(out, tag, &format!("{verb} completed"));
        }
        let mut full = reference;
        full.extend_from_slice(&pattern);
        let mailboxes = match self.ctx.mail().list_mailboxes(&account).await {
            Ok(m) => m,
            Err(e) => return store_failed(out, tag, &e),
        };
        let subscriptions = if lsub {
            match self.ctx.mail().subscriptions(&account).await {
                Ok(s) => s,
                Err(e) => return store_failed(out, tag, &e),
            }
        } else {
            Vec::new()
        };
        let names: Vec<&str> = if lsub {
            subscriptions.iter().map(String::as_str).collect()
        } else {
            mailboxes.iter().map(|m| m.name.as_str()).collect()
        };
        for name in names {
            if !pattern_matches(&full, name.as_bytes()) {
                continue;
            }
            let prefix = format!("{name}/");
            let children = mailboxes.iter().any(|m| m.name.starts_with(&prefix));
            let mut attrs = vec![if children { "\\HasChildren" } else { "\\HasNoChildren" }];
            match mailboxes.iter().find(|m| m.name == name) {
                Some(m) => attrs.extend(m.special_use.map(|u| u.as_imap())),
                None => attrs.push("\\NonExistent"),
            }
            out.extend_from_slice(format!("* {verb} ({}) \"/\" ", attrs.join(" ")).as_bytes());
            push_string(out, name.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if lsub && full.contains(&b'%') {
            // RFC 3501 §6.3.9: when `%` stops above a subscribed mailbox, its unsubscribed parent
            // at that level is listed as \Noselect.
            let mut parents = std::collections::BTreeSet::new();
            for name in &subscriptions {
                for (i, _) in name.match_indices('/') {
                    let parent = &name[..i];
                    if !subscriptions.iter().any(|s| s == parent) && pattern_matches(&full, parent.as_bytes()) {
                        parents.insert(parent);
                    }
                }
            }
            for parent in parents {
                out.extend_from_slice(format!("* {verb} (\\Noselect) \"/\" ").as_bytes());
                push_string(out, parent.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        ok(out, tag, &format!("{verb} completed"))
    }

    pub(super) async fn status(&mut self, tag: &[u8], args: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        let mut parsed = Args::new(args);
        let Some(name) = parsed.astring().ok().and_then(|n| mailbox_name(&n)) else {
            return self.bad(out, tag, "Syntax: STATUS mailbox (items)");
        };
        let Some(items) = parsed.rest().strip_prefix(b"(").and_then(|r| r.strip_suffix(b")")) else {
            return self.bad(out, tag, "Syntax: STATUS mailbox (items)");
        };
        let mail = self.ctx.mail();
        let status = match mail.status(&account, &name).await {
            Ok(s) => s,
            Err(e) => return store_failed(out, tag, &e),
        };
        let mut fields = Vec::new();
        for item in items.split(|&b| b == b' ').filter(|i| !i.is_empty()) {
            let value = match item.to_ascii_uppercase().as_slice() {
                b"MESSAGES" => status.messages.to_string(),
                b"UIDNEXT" => status.uid_next.to_string(),
                b"UIDVALIDITY" => status.uid_validity.to_string(),
                b"UNSEEN" => status.unseen.to_string(),
                b"SIZE" => status.size.to_string(),
                b"HIGHESTMODSEQ" => status.highest_modseq.to_string(),
                b"APPENDLIMIT" => super::append::append_limit(&self.ctx.config.limits).to_string(),
                b"RECENT" => {
                    let claimed = mail.recent_claimed(&account, &name, status.uid_validity);
                    match mail
                        .fetch_summaries(
                            &account,
                            &name,
                            storage::mail::UidSet::range(claimed.saturating_add(1)..=u32::MAX),
                        )
                        .await
                    {
                        Ok(recent) => recent.len().to_string(),
                        Err(e) => return store_failed(out, tag, &e),
                    }
                }
                _ => return self.bad(out, tag, "Unknown STATUS item"),
            };
            fields.push(format!("{} {value}", String::from_utf8_lossy(item).to_ascii_uppercase()));
        }
        out.extend_from_slice(b"* STATUS ");
        push_string(out, name.as_bytes());
        out.extend_from_slice(format!(" ({})\r\n", fields.join(" ")).as_bytes());
        ok(out, tag, "STATUS completed")
    }
}

/// Reads a `list-mailbox`: an astring or an atom that may contain `%` and `*`.
fn list_mailbox(args: &mut Args<'_>) -> Option<Vec<u8>> {
    let rest = args.rest();
    if rest.first().is_some_and(|&b| b == b'"' || b == b'{') {
        let value = args.astring().ok()?.into_owned();
        return args.is_empty().then_some(value);
    }
    let valid =
        !rest.is_empty() && rest.iter().all(|&b| crate::wire::imap::is_astring_char(b) || b == b'%' || b == b'*');
    valid.then(|| rest.to_vec())
}

/// Whether `name` matches a LIST pattern: `*` matches anything, `%` anything but `/`. `INBOX`
/// matches case-insensitively.
pub(super) fn pattern_matches(pattern: &[u8], name: &[u8]) -> bool {
    let pattern: Vec<u8> =
        if pattern.len() >= 5 && pattern[..5].eq_ignore_ascii_case(b"INBOX") && name.starts_with(b"INBOX") {
            [b"INBOX".as_slice(), &pattern[5..]].concat()
        } else {
            pattern.to_vec()
        };
    let mut steps = 0;
    wildcard(&pattern, name, &mut steps)
}

fn wildcard(pattern: &[u8], name: &[u8], steps: &mut usize) -> bool {
    *steps += 1;
    if *steps > MAX_PATTERN_STEPS {
        return false;
    }
    match pattern.first() {
        None => name.is_empty(),
        Some(b'*') => (0..=name.len()).any(|i| wildcard(&pattern[1..], &name[i..], steps)),
        Some(b'%') => {
            let limit = name.iter().position(|&b| b == b'/').unwrap_or(name.len());
            (0..=limit).any(|i| wildcard(&pattern[1..], &name[i..], steps))
        }
        Some(&c) => name.first() == Some(&c) && wildcard(&pattern[1..], &name[1..], steps),
    }
}
