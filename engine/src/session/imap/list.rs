//! LIST (RFC 9051 §6.3.9, RFC 3501 §6.3.8) with LIST-EXTENDED (RFC 5258), LIST-STATUS
//! (RFC 5819) and the SPECIAL-USE options (RFC 6154 §2); LSUB (RFC 3501 §6.3.9). The hierarchy
//! separator is `/`; every listed mailbox carries `\HasChildren` or `\HasNoChildren` (RFC 5258 §4
//! allows it without the CHILDREN option) and its special-use attribute, if any.
//!
//! Which names LIST answers for (RFC 5258 §3, §3.3, §3.5). A name is *selected* when it meets
//! the selection criteria: it exists (no selection option), it is subscribed (`SUBSCRIBED`), and
//! with `SPECIAL-USE` it also has a special use. Of the names that match a pattern:
//!
//! ```text
//!   selected                                              → listed (+ CHILDINFO with RECURSIVEMATCH
//!                                                           when a descendant is selected)
//!   RECURSIVEMATCH, not selected, a selected descendant
//!   that matches no pattern                               → listed with CHILDINFO only
//!   no selection option, does not exist, an existing
//!   descendant that matches no pattern                    → \NonExistent \HasChildren
//!                                                           (\Noselect in a classic LIST)
//! ```
//!
//! A parent whose selected descendants are all listed anyway is left out: "servers SHOULD
//! suppress redundant CHILDINFO responses" (RFC 5258 §3.5), which is also what RFC 5258 §5
//! example 11 shows for `music/rock`. Names that do not exist are `\NonExistent` (which implies
//! `\Noselect`) in an extended LIST.

use super::{ok, store_failed, Flow, ImapSession};
use crate::wire::imap::Args;
use crate::wire::imap_mailbox::{list_mailbox, parse_list, ListSelect, StatusItem};
use std::collections::BTreeMap;
use storage::mail::{MailboxInfo, SpecialUse};
use storage::StoreError;

/// Longest LIST pattern text accepted: the reference with each pattern, all patterns together
/// (matching costs at most this many steps per byte of a mailbox name).
const MAX_PATTERN_BYTES: usize = 1024;

/// What LIST knows about one name: an existing mailbox, a subscription, or only a superior of
/// one of those.
#[derive(Debug, Default, Clone)]
struct Entry {
    exists: bool,
    special_use: Option<SpecialUse>,
    subscribed: bool,
    /// Meets the selection criteria.
    selected: bool,
    /// Matches one of the canonical patterns.
    matches: bool,
}

/// What a name's descendants say about it.
#[derive(Debug, Default)]
struct Descendants {
    /// One of them exists: `\HasChildren`.
    exist: bool,
    /// One of them is selected: CHILDINFO for a selected name.
    selected: bool,
    /// One of them is selected and is not listed for itself (matches no pattern).
    selected_unlisted: bool,
    /// One of them exists and matches no pattern.
    exist_unlisted: bool,
}

impl ImapSession<'_> {
    /// LIST, classic or extended.
    pub(super) async fn list(&mut self, tag: &[u8], args: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        let command = match parse_list(args) {
            Ok(command) => command,
            Err(why) => return self.bad(out, tag, why),
        };
        let asks_recent = command.returns.status.as_ref().is_some_and(|items| items.contains(&StatusItem::Recent));
        if self.rev2 && asks_recent {
            // RFC 9051 has no \Recent, so no RECENT status item (Appendix E).
            return self.bad(out, tag, "STATUS RECENT is not part of IMAP4rev2");
        }
        if !command.extended && command.patterns[0].is_empty() {
            // RFC 3501 §6.3.8: the hierarchy delimiter and the root name.
            out.extend_from_slice(b"* LIST (\\Noselect) \"/\" \"\"\r\n");
            return ok(out, tag, "LIST completed");
        }
        // RFC 5258 §3: in an extended LIST an empty pattern is ignored. Reference and patterns
        // are modified UTF-7 in IMAP4rev1 (`names`); one that does not decode matches no name.
        let patterns: Vec<Vec<u8>> = match self.mailbox_pattern(&command.reference) {
            Some(reference) => command
                .patterns
                .iter()
                .filter(|p| !p.is_empty())
                .filter_map(|p| self.mailbox_pattern(p))
                .map(|p| [reference.as_slice(), &p].concat())
                .collect(),
            None => Vec::new(),
        };
        if patterns.iter().map(Vec::len).sum::<usize>() > MAX_PATTERN_BYTES {
            return self.bad(out, tag, "[LIMIT] Mailbox pattern too long");
        }
        let mail = self.ctx.mail();
        let mailboxes = match mail.list_mailboxes(&account).await {
            Ok(m) => m,
            Err(e) => return store_failed(out, tag, &e),
        };
        let show_subscribed = command.select.subscribed || command.returns.subscribed;
        let subscriptions = if show_subscribed {
            match mail.subscriptions(&account).await {
                Ok(s) => s,
                Err(e) => return store_failed(out, tag, &e),
            }
        } else {
            Vec::new()
        };
        let entries = entries(&mailboxes, &subscriptions, &patterns, command.select);
        let by_existence = !command.select.subscribed && !command.select.special_use;
        let recursive = command.select.recursive_match;
        for (name, entry) in entries.iter().filter(|(_, e)| e.matches) {
            let below = descendants(&entries, name);
            let child_info = if entry.selected {
                recursive && below.selected
            } else if recursive && below.selected_unlisted {
                true
            } else if by_existence && !entry.exists && below.exist_unlisted {
                false
            } else {
                continue;
            };
            let mut attrs: Vec<&str> = Vec::new();
            if !entry.exists {
                // RFC 9051 §6.3.9 has \NonExistent in every LIST; RFC 3501 only \Noselect.
                attrs.push(if command.extended || self.rev2 { "\\NonExistent" } else { "\\Noselect" });
            }
            if show_subscribed && entry.subscribed {
                attrs.push("\\Subscribed");
            }
            attrs.push(if below.exist { "\\HasChildren" } else { "\\HasNoChildren" });
            attrs.extend(entry.special_use.map(SpecialUse::as_imap));
            // RFC 5819 §2: STATUS for each selectable mailbox that meets the criteria, looked up
            // before its LIST line, which says \Noselect if the mailbox vanished meanwhile.
            let mut status = Vec::new();
            if let (Some(items), true, true) = (&command.returns.status, entry.exists, entry.selected) {
                match self.status_response(&account, name, items).await {
                    Ok(line) => status = line,
                    Err(StoreError::NotFound(_)) => attrs.push("\\Noselect"),
                    Err(e) => tracing::warn!(error = %e, "LIST-STATUS lookup failed; STATUS left out"),
                }
            }
            out.extend_from_slice(format!("* LIST ({}) \"/\" ", attrs.join(" ")).as_bytes());
            self.push_mailbox(out, name);
            if child_info {
                out.extend_from_slice(b" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&status);
        }
        ok(out, tag, "LIST completed")
    }

    /// LSUB reference pattern (RFC 3501 §6.3.9).
    pub(super) async fn lsub(&mut self, tag: &[u8], args: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        let mut parsed = Args::new(args);
        let reference = parsed.astring().map(|r| r.into_owned());
        let pattern = list_mailbox(parsed.rest()).ok().filter(|(_, rest)| rest.is_empty()).map(|(p, _)| p);
        let (Ok(reference), Some(pattern)) = (reference, pattern) else {
            return self.bad(out, tag, "Syntax: LSUB reference pattern");
        };
        if reference.len() + pattern.len() > MAX_PATTERN_BYTES {
            return self.bad(out, tag, "[LIMIT] Mailbox pattern too long");
        }
        if pattern.is_empty() {
            out.extend_from_slice(b"* LSUB (\\Noselect) \"/\" \"\"\r\n");
            return ok(out, tag, "LSUB completed");
        }
        // A reference or pattern that does not decode matches no name.
        let (Some(reference), Some(pattern)) = (self.mailbox_pattern(&reference), self.mailbox_pattern(&pattern))
        else {
            return ok(out, tag, "LSUB completed");
        };
        let full = [reference, pattern].concat();
        let mail = self.ctx.mail();
        let mailboxes = match mail.list_mailboxes(&account).await {
            Ok(m) => m,
            Err(e) => return store_failed(out, tag, &e),
        };
        let subscriptions = match mail.subscriptions(&account).await {
            Ok(s) => s,
            Err(e) => return store_failed(out, tag, &e),
        };
        for name in &subscriptions {
            if !pattern_matches(&full, name.as_bytes()) {
                continue;
            }
            let prefix = format!("{name}/");
            let children = mailboxes.iter().any(|m| m.name.starts_with(&prefix));
            let mut attrs = vec![if children { "\\HasChildren" } else { "\\HasNoChildren" }];
            match mailboxes.iter().find(|m| &m.name == name) {
                Some(m) => attrs.extend(m.special_use.map(|u| u.as_imap())),
                None => attrs.push("\\NonExistent"),
            }
            out.extend_from_slice(format!("* LSUB ({}) \"/\" ", attrs.join(" ")).as_bytes());
            self.push_mailbox(out, name);
            out.extend_from_slice(b"\r\n");
        }
        if full.contains(&b'%') {
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
                out.extend_from_slice(b"* LSUB (\\Noselect) \"/\" ");
                self.push_mailbox(out, parent);
                out.extend_from_slice(b"\r\n");
            }
        }
        ok(out, tag, "LSUB completed")
    }
}

/// Every name LIST may answer for, in name order: the existing mailboxes, the subscriptions, and
/// all their superiors, each with what is known about it.
fn entries(
    mailboxes: &[MailboxInfo],
    subscriptions: &[String],
    patterns: &[Vec<u8>],
    select: ListSelect,
) -> BTreeMap<String, Entry> {
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for mailbox in mailboxes {
        let entry = entries.entry(mailbox.name.clone()).or_default();
        entry.exists = true;
        entry.special_use = mailbox.special_use;
    }
    for name in subscriptions {
        entries.entry(name.clone()).or_default().subscribed = true;
    }
    let superiors: Vec<String> = entries
        .keys()
        .flat_map(|name| name.match_indices('/').map(|(i, _)| name[..i].to_string()).collect::<Vec<_>>())
        .collect();
    for superior in superiors {
        entries.entry(superior).or_default();
    }
    for (name, entry) in entries.iter_mut() {
        entry.matches = patterns.iter().any(|p| pattern_matches(p, name.as_bytes()));
        let base = if select.subscribed { entry.subscribed } else { entry.exists };
        entry.selected = base && (!select.special_use || entry.special_use.is_some());
    }
    entries
}

/// Looks at the names below `name` (`name/...`, a contiguous range in name order).
fn descendants(entries: &BTreeMap<String, Entry>, name: &str) -> Descendants {
    // '0' follows '/' in ASCII, so `name/` ..`name0` holds exactly the names below `name`.
    let mut below = Descendants::default();
    for (_, entry) in entries.range(format!("{name}/")..format!("{name}0")) {
        below.exist |= entry.exists;
        below.selected |= entry.selected;
        below.selected_unlisted |= entry.selected && !entry.matches;
        below.exist_unlisted |= entry.exists && !entry.matches;
    }
    below
}

/// Whether `name` matches a LIST pattern: `*` matches anything, `%` anything but `/`. `INBOX`
/// matches case-insensitively.
pub(super) fn pattern_matches(pattern: &[u8], name: &[u8]) -> bool {
    if pattern.len() >= 5 && pattern[..5].eq_ignore_ascii_case(b"INBOX") && name.starts_with(b"INBOX") {
        let fixed = [b"INBOX".as_slice(), &pattern[5..]].concat();
        return wildcard(&fixed, name);
    }
    wildcard(pattern, name)
}

/// Wildcard matching without backtracking: one pass per pattern byte over the set of name
/// prefixes matched so far, so a pattern like `*a*a*a*b` costs `pattern × name` steps at most.
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    let n = name.len();
    // reach[j]: the pattern read so far matches name[..j].
    let mut reach = vec![false; n + 1];
    let mut next = vec![false; n + 1];
    reach[0] = true;
    for &p in pattern {
        match p {
            b'*' => {
                let mut any = false;
                for j in 0..=n {
                    any |= reach[j];
                    next[j] = any;
                }
            }
            b'%' => {
                next[0] = reach[0];
                for j in 1..=n {
                    next[j] = reach[j] || (next[j - 1] && name[j - 1] != b'/');
                }
            }
            c => {
                next[0] = false;
                for j in 0..n {
                    next[j + 1] = reach[j] && name[j] == c;
                }
            }
        }
        std::mem::swap(&mut reach, &mut next);
        if !reach.contains(&true) {
            return false;
        }
    }
    reach[n]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The obvious backtracking matcher, as the oracle.
    fn naive(pattern: &[u8], name: &[u8]) -> bool {
        match pattern.first() {
            None => name.is_empty(),
            Some(b'*') => (0..=name.len()).any(|i| naive(&pattern[1..], &name[i..])),
            Some(b'%') => {
                let limit = name.iter().position(|&b| b == b'/').unwrap_or(name.len());
                (0..=limit).any(|i| naive(&pattern[1..], &name[i..]))
            }
            Some(&c) => name.first() == Some(&c) && naive(&pattern[1..], &name[1..]),
        }
    }

    #[test]
    fn patterns_table() {
        for (pattern, name, expected) in [
            ("*", "a/b/c", true),
            ("%", "a/b", false),
            ("%", "a", true),
            ("a/%", "a/b", true),
            ("a/%", "a/b/c", false),
            ("a/%/%", "a/b/c", true),
            ("*test4", "box/test3/test4", true),
            ("%/*2", "box/test2", true),
            ("inbox", "INBOX", true),
            ("Inbox/%", "INBOX/x", true),
            ("inbox", "inbox2", false),
            ("", "", true),
            ("", "a", false),
        ] {
            assert_eq!(pattern_matches(pattern.as_bytes(), name.as_bytes()), expected, "{pattern} {name}");
        }
        // Quadratic at worst, however many wildcards.
        let pattern = "*a".repeat(500);
        let name = "a".repeat(499) + "b";
        assert!(!pattern_matches(pattern.as_bytes(), name.as_bytes()));
    }

    proptest! {
        #[test]
        fn matcher_agrees_with_the_naive_one(pattern in "[ab/%*]{0,8}", name in "[ab/]{0,8}") {
            prop_assert_eq!(wildcard(pattern.as_bytes(), name.as_bytes()), naive(pattern.as_bytes(), name.as_bytes()));
        }
    }
}
