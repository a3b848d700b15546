//! SELECT, EXAMINE and CLOSE (RFC 9051 §6.3.2, §6.3.3, §6.4.1), the per-session sequence-number
//! map, and `sync`, which reports other sessions' changes as untagged EXISTS / EXPUNGE / FETCH.
//!
//! The map is the selected mailbox's UIDs in ascending order: sequence number `n` is
//! `uids[n - 1]`. It changes only when this session reports a change, so the client's view and
//! the server's agree. Changes come from the store's change log (`changes_since` the last MODSEQ
//! seen); expunges seen while EXPUNGE responses are not allowed wait in `pending_expunges`.

use super::{ok, reply, store_failed, Flow, ImapSession};
use crate::wire::imap::Args;
use crate::wire::imap_values::{encode_flags, SequenceSet};
use std::collections::BTreeSet;
use storage::mail::{Change, ChangeKind, ChangeWatch, Flags, MessageSummary, UidSet, WatchEvent};

/// The system flags, defined in every mailbox; `FLAGS` adds the keywords in use.
const SYSTEM_FLAGS: &str = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

/// The selected mailbox as this session sees it.
#[derive(Debug)]
pub(super) struct Selected {
    pub name: String,
    pub read_only: bool,
    /// Sequence-number map: UIDs in ascending order.
    pub uids: Vec<u32>,
    /// The highest MODSEQ whose changes have been looked at.
    pub modseq: u64,
    /// Expunged by others, not yet reported (EXPUNGE was not allowed at the time).
    pub pending_expunges: BTreeSet<u32>,
    /// MODSEQs of flag changes this session made and reported itself (not echoed again).
    pub own_modseqs: BTreeSet<u64>,
    /// The mailbox's UIDVALIDITY at SELECT (the key of its `\Recent` claims).
    pub uid_validity: u32,
    /// Keywords announced in `* FLAGS`: a client may reject a FETCH that shows any other
    /// (RFC 9051 §7.3.5), so a new one is announced before the first response using it.
    pub keywords: BTreeSet<String>,
    /// UIDs recent to this session (RFC 3501 §2.3.2): claimed by its SELECT or by `sync`.
    pub recent: BTreeSet<u32>,
    /// The account's change notices since SELECT: the change log is read only after one arrived
    /// for this mailbox, so a command costs no store read when nothing changed.
    pub changes: ChangeWatch,
    /// The session enabled QRESYNC: expunges are reported as VANISHED.
    pub qresync: bool,
    /// The session enabled IMAP4rev2: no `\Recent`, no `* n RECENT` (RFC 9051 Appendix E).
    pub rev2: bool,
    /// The result of the last `SEARCH RETURN (SAVE)`, as ascending UIDs: what `$` names (RFC
    /// 5182). Empty until a SAVE; gone with the selection (SELECT, EXAMINE, CLOSE, UNSELECT).
    /// Expunged messages drop out when `$` is resolved against `uids`.
    pub saved: Vec<u32>,
}

impl Selected {
    /// Sequence number of `uid`, if it is in the map.
    pub fn seq_of(&self, uid: u32) -> Option<u32> {
        self.uids.binary_search(&uid).ok().map(|i| i as u32 + 1)
    }

    /// The UIDs a sequence set names: by UID (`UID` commands) or by sequence number. Numbers
    /// that do not exist are dropped. `$` names the saved messages still in the map, in UID and
    /// non-UID commands alike (RFC 5182 §2.1).
    pub fn resolve(&self, set: &SequenceSet, by_uid: bool) -> Vec<u32> {
        if set.is_saved() {
            return self.saved.iter().copied().filter(|uid| self.uids.binary_search(uid).is_ok()).collect();
        }
        let mut uids = Vec::new();
        if by_uid {
            let largest = self.uids.last().copied().unwrap_or(0);
            for range in set.resolve(largest) {
                let start = self.uids.partition_point(|&u| u < *range.start());
                let end = self.uids.partition_point(|&u| u <= *range.end());
                uids.extend_from_slice(&self.uids[start..end]);
            }
        } else {
            for range in set.resolve(self.uids.len() as u32) {
                let lo = (*range.start() as usize).saturating_sub(1);
                let hi = (*range.end() as usize).min(self.uids.len());
                if lo < hi {
                    uids.extend_from_slice(&self.uids[lo..hi]);
                }
            }
        }
        uids.sort_unstable();
        uids.dedup();
        uids
    }

    /// Drains the change notices already queued; whether one may concern this mailbox.
    fn take_notices(&mut self) -> bool {
        let mut relevant = false;
        loop {
            match self.changes.try_next() {
                Ok(Some(WatchEvent::Changed(notice))) => relevant |= notice.mailbox == self.name,
                Ok(Some(WatchEvent::Lagged)) => relevant = true,
                Ok(None) => return relevant,
                Err(_closed) => return true,
            }
        }
    }

    /// Announces, with `* FLAGS` and `* OK [PERMANENTFLAGS]`, any keyword of `flags` not yet
    /// announced. Call before writing a response that shows `flags`.
    pub fn announce_keywords(&mut self, flags: &Flags, out: &mut Vec<u8>) {
        if flags.keywords().all(|k| self.keywords.contains(k)) {
            return;
        }
        self.keywords.extend(flags.keywords().map(str::to_string));
        self.encode_flags(out);
        self.encode_permanent_flags(out);
    }

    /// The system flags and the keywords announced so far, space-separated.
    fn flag_list(&self) -> String {
        let mut list = SYSTEM_FLAGS.to_string();
        for keyword in &self.keywords {
            list.push(' ');
            list.push_str(keyword);
        }
        list
    }

    /// `* FLAGS (...)`.
    fn encode_flags(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(format!("* FLAGS ({})\r\n", self.flag_list()).as_bytes());
    }

    /// `* OK [PERMANENTFLAGS (...)]`: the same flags and any new keyword, none when read-only.
    fn encode_permanent_flags(&self, out: &mut Vec<u8>) {
        let permanent = if self.read_only { "()".to_string() } else { format!("({} \\*)", self.flag_list()) };
        out.extend_from_slice(format!("* OK [PERMANENTFLAGS {permanent}] Flags permitted\r\n").as_bytes());
    }

    /// Removes `uids` from the map and reports them: one `* n EXPUNGE` each, or after ENABLE
    /// QRESYNC one `* VANISHED uid-set` for all (RFC 7162 §3.2.10).
    pub fn report_expunges(&mut self, uids: impl IntoIterator<Item = u32>, out: &mut Vec<u8>) {
        let mut vanished = Vec::new();
        for uid in uids {
            self.recent.remove(&uid);
            self.pending_expunges.remove(&uid);
            if let Ok(i) = self.uids.binary_search(&uid) {
                self.uids.remove(i);
                if self.qresync {
                    vanished.push(uid);
                } else {
                    out.extend_from_slice(format!("* {} EXPUNGE\r\n", i + 1).as_bytes());
                }
            }
        }
        if !vanished.is_empty() {
            vanished.sort_unstable();
            out.extend_from_slice(format!("* VANISHED {}\r\n", super::encode_set(vanished)).as_bytes());
        }
    }
}

impl ImapSession<'_> {
    /// SELECT / EXAMINE mailbox [(CONDSTORE)] [(QRESYNC (...))].
    pub(super) async fn select(&mut self, tag: &[u8], args: &[u8], read_only: bool, out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        // With QRESYNC or IMAP4rev2, the client is told where the old mailbox's responses end
        // (RFC 7162 §3.2.11, RFC 9051 §6.3.2).
        if self.selected.take().is_some() && (self.qresync || self.rev2) {
            out.extend_from_slice(b"* OK [CLOSED] Previous mailbox closed\r\n");
        }
        let mut args = Args::new(args);
        let Ok(name) = args.astring() else {
            return self.bad(out, tag, "Syntax: SELECT mailbox");
        };
        let name = match self.mailbox_name(&name) {
            Ok(name) => name,
            Err(why) => return super::names::refuse_name(out, tag, &why),
        };
        let params = match super::qresync::parse_select_params(args.rest()) {
            Ok(params) => params,
            Err(reason) => return self.bad(out, tag, reason),
        };
        if params.qresync.is_some() && !self.qresync {
            return self.bad(out, tag, "QRESYNC parameter without ENABLE QRESYNC");
        }
        if params.condstore {
            self.condstore = true;
        }
        let mail = &self.ctx.mail();
        // Subscribe before reading the state, so that no change in between goes unnoticed.
        let changes = mail.watch(&account);
        let info = match mail.mailbox(&account, &name).await {
            Ok(info) => info,
            Err(e) => return store_failed(out, tag, &e),
        };
        let summaries = match mail.fetch_summaries(&account, &name, UidSet::all()).await {
            Ok(s) => s,
            Err(e) => return store_failed(out, tag, &e),
        };
        let first_unseen =
            summaries.iter().position(|s| !s.flags.contains(storage::mail::SystemFlag::Seen)).map(|i| i + 1);
        let highest_modseq = summaries.iter().map(|s| s.modseq).max().unwrap_or(0).max(info.highest_modseq);
        // SELECT claims the recent messages; EXAMINE only looks (RFC 3501 §6.3.2).
        // Claim what was read (a message may have arrived after `info`), and only that: a
        // message is recent to one session at most.
        let up_to = summaries.last().map_or(0, |s| s.uid).max(info.uid_next.saturating_sub(1));
        // IMAP4rev2 has no \Recent: such a session claims nothing, so that a rev1 session
        // still sees the messages as recent.
        let claimed = if read_only || self.rev2 {
            mail.recent_claimed(&account, &name, info.uid_validity)
        } else {
            mail.claim_recent(&account, &name, info.uid_validity, up_to)
        };
        let recent: BTreeSet<u32> = if self.rev2 {
            BTreeSet::new()
        } else {
            summaries.iter().map(|s| s.uid).filter(|&uid| uid > claimed && uid <= up_to).collect()
        };
        let keywords: BTreeSet<String> =
            summaries.iter().flat_map(|s| s.flags.keywords().map(str::to_string)).collect();
        let selected = Selected {
            name,
            read_only,
            uids: summaries.iter().map(|s| s.uid).collect(),
            modseq: info.highest_modseq,
            pending_expunges: BTreeSet::new(),
            own_modseqs: BTreeSet::new(),
            keywords,
            recent,
            uid_validity: info.uid_validity,
            changes,
            qresync: self.qresync,
            rev2: self.rev2,
            saved: Vec::new(),
        };
        selected.encode_flags(out);
        out.extend_from_slice(format!("* {} EXISTS\r\n", summaries.len()).as_bytes());
        if self.rev2 {
            // RFC 9051 §6.3.2: the LIST response for the mailbox replaces RECENT and UNSEEN.
            match self.select_list_line(&account, &selected.name).await {
                Ok(line) => out.extend_from_slice(&line),
                Err(e) => return store_failed(out, tag, &e),
            }
        } else {
            out.extend_from_slice(format!("* {} RECENT\r\n", selected.recent.len()).as_bytes());
            if let Some(seq) = first_unseen {
                out.extend_from_slice(format!("* OK [UNSEEN {seq}] First unseen\r\n").as_bytes());
            }
        }
        out.extend_from_slice(format!("* OK [UIDVALIDITY {}] UIDs valid\r\n", info.uid_validity).as_bytes());
        out.extend_from_slice(format!("* OK [UIDNEXT {}] Predicted next UID\r\n", info.uid_next).as_bytes());
        selected.encode_permanent_flags(out);
        out.extend_from_slice(format!("* OK [HIGHESTMODSEQ {highest_modseq}] Highest\r\n").as_bytes());
        self.selected = Some(selected);
        if let Some(qresync) = &params.qresync {
            if let Err(e) = self.resynchronise(qresync, up_to, out).await {
                self.selected = None;
                return store_failed(out, tag, &e);
            }
        }
        let (code, verb) = if read_only { ("READ-ONLY", "EXAMINE") } else { ("READ-WRITE", "SELECT") };
        ok(out, tag, &format!("[{code}] {verb} completed"))
    }

    /// The `* LIST` line IMAP4rev2's SELECT and EXAMINE send for the mailbox (RFC 9051 §6.3.2):
    /// its children and special-use attributes, as LIST would show them.
    async fn select_list_line(&self, account: &storage::Address, name: &str) -> Result<Vec<u8>, storage::StoreError> {
        let mailboxes = self.ctx.mail().list_mailboxes(account).await?;
        let prefix = format!("{name}/");
        let children = mailboxes.iter().any(|m| m.name.starts_with(&prefix));
        let mut attrs = vec![if children { "\\HasChildren" } else { "\\HasNoChildren" }];
        if let Some(m) = mailboxes.iter().find(|m| m.name == name) {
            attrs.extend(m.special_use.map(|u| u.as_imap()));
        }
        let mut line = format!("* LIST ({}) \"/\" ", attrs.join(" ")).into_bytes();
        self.push_mailbox(&mut line, name);
        line.extend_from_slice(b"\r\n");
        Ok(line)
    }

    /// CLOSE: expunges `\Deleted` messages silently (unless read-only), then deselects.
    pub(super) async fn close(&mut self, tag: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        if let Some(selected) = self.selected.take() {
            if !selected.read_only {
                if let Err(e) = self.ctx.mail().expunge(&account, &selected.name, UidSet::all()).await {
                    return store_failed(out, tag, &e);
                }
            }
        }
        ok(out, tag, "CLOSE completed")
    }

    /// Reports what changed in the selected mailbox since the last report: EXPUNGE (only when
    /// `expunges_allowed`), EXISTS, and FETCH FLAGS. A store failure is logged and retried at the
    /// next report.
    pub(super) async fn sync(&mut self, out: &mut Vec<u8>, expunges_allowed: bool) {
        let (Some(account), Some(selected)) = (self.user.clone(), self.selected.as_mut()) else { return };
        let noticed = selected.take_notices();
        let expunges_due = expunges_allowed && !selected.pending_expunges.is_empty();
        if !noticed && !expunges_due {
            return;
        }
        let mail = &self.ctx.mail();
        // The highest MODSEQ the log holds: after a rescan the session has seen up to there.
        let mut seen_up_to = 0;
        let changes = match mail.changes_since(&account, &selected.name, selected.modseq).await {
            Ok(log) if log.complete => log.changes,
            // The log was pruned past this session's MODSEQ (it stayed selected while more than
            // `store.change_log_keep` changes happened): compare with the mailbox instead.
            Ok(log) => match mail.fetch_summaries(&account, &selected.name, UidSet::all()).await {
                Ok(current) => {
                    seen_up_to = log.changes.last().map_or(0, |c| c.modseq);
                    rescanned_changes(&selected.uids, &current, selected.modseq, log.horizon)
                }
                Err(e) => {
                    tracing::warn!(error = %e, mailbox = %selected.name, "imap mailbox rescan failed");
                    return;
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, mailbox = %selected.name, "imap change scan failed");
                return;
            }
        };
        let mut flag_uids = BTreeSet::new();
        let mut appended = false;
        for change in &changes {
            selected.modseq = selected.modseq.max(change.modseq);
            match change.kind {
                ChangeKind::Append => appended = true,
                ChangeKind::Expunge => {
                    flag_uids.remove(&change.uid);
                    if selected.seq_of(change.uid).is_some() {
                        selected.pending_expunges.insert(change.uid);
                    }
                }
                ChangeKind::Flags => {
                    if !selected.own_modseqs.contains(&change.modseq) && selected.seq_of(change.uid).is_some() {
                        flag_uids.insert(change.uid);
                    }
                }
            }
        }
        selected.modseq = selected.modseq.max(seen_up_to);
        selected.own_modseqs.clear();
        if expunges_allowed {
            let pending = std::mem::take(&mut selected.pending_expunges);
            selected.report_expunges(pending, out);
        }
        if appended {
            let after = selected.uids.last().copied().unwrap_or(0).saturating_add(1);
            match mail.fetch_summaries(&account, &selected.name, UidSet::range(after..=u32::MAX)).await {
                Ok(new) if !new.is_empty() => {
                    selected.uids.extend(new.iter().map(|s| s.uid));
                    out.extend_from_slice(format!("* {} EXISTS\r\n", selected.uids.len()).as_bytes());
                    if !selected.read_only && !selected.rev2 {
                        let last = selected.uids.last().copied().unwrap_or(0);
                        let claimed = mail.claim_recent(&account, &selected.name, selected.uid_validity, last);
                        selected.recent.extend(new.iter().map(|s| s.uid).filter(|&uid| uid > claimed));
                    }
                    if !selected.rev2 {
                        out.extend_from_slice(format!("* {} RECENT\r\n", selected.recent.len()).as_bytes());
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "imap new-message scan failed"),
            }
        }
        if !flag_uids.is_empty() {
            let uids: Vec<u32> = flag_uids.into_iter().collect();
            match mail.fetch_summaries(&account, &selected.name, uid_set(&uids)).await {
                Ok(summaries) => {
                    for s in summaries.iter().filter(|s| uids.binary_search(&s.uid).is_ok()) {
                        let Some(seq) = selected.seq_of(s.uid) else { continue };
                        selected.announce_keywords(&s.flags, out);
                        out.extend_from_slice(format!("* {seq} FETCH (UID {} FLAGS ", s.uid).as_bytes());
                        encode_flags_recent(out, &s.flags, selected.recent.contains(&s.uid));
                        if self.condstore {
                            out.extend_from_slice(format!(" MODSEQ ({})", s.modseq).as_bytes());
                        }
                        out.extend_from_slice(b")\r\n");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "imap flag scan failed"),
            }
        }
    }
}

/// The changes a session with map `known` and MODSEQ `since` has missed, found by comparing its
/// map with the mailbox's `current` messages (both in UID order) when the change log no longer
/// reaches back to `since`: an expunge for each known UID that is gone (at the log's `horizon`,
/// the oldest MODSEQ it could have had that the session has not seen), an append for each UID
/// above the map, a flag change for each known message with a MODSEQ above `since`.
pub(super) fn rescanned_changes(known: &[u32], current: &[MessageSummary], since: u64, horizon: u64) -> Vec<Change> {
    let last_known = known.last().copied().unwrap_or(0);
    let mut changes: Vec<Change> = known
        .iter()
        .filter(|&&uid| current.binary_search_by_key(&uid, |s| s.uid).is_err())
        .map(|&uid| Change { modseq: horizon.max(since + 1), uid, kind: ChangeKind::Expunge })
        .collect();
    changes.extend(current.iter().filter(|s| s.uid > last_known || s.modseq > since).map(|s| Change {
        modseq: s.modseq,
        uid: s.uid,
        kind: if s.uid > last_known { ChangeKind::Append } else { ChangeKind::Flags },
    }));
    changes.sort_by_key(|c| c.modseq);
    changes
}

/// The UID set of ascending `uids`, consecutive runs merged into one range (so `1:*` over a
/// mailbox without gaps is one range, not one per message).
pub(super) fn uid_set(uids: &[u32]) -> UidSet {
    let mut ranges: Vec<std::ops::RangeInclusive<u32>> = Vec::new();
    for &uid in uids {
        match ranges.last_mut() {
            Some(last) if last.end().checked_add(1) == Some(uid) => *last = *last.start()..=uid,
            _ => ranges.push(uid..=uid),
        }
    }
    UidSet::from_ranges(ranges)
}

/// Writes a flag list, with `\Recent` first when the message is recent to this session.
pub(super) fn encode_flags_recent(out: &mut Vec<u8>, flags: &Flags, recent: bool) {
    if !recent {
        encode_flags(out, flags);
        return;
    }
    let start = out.len();
    encode_flags(out, flags);
    let rest = if out.len() - start > 2 { "\\Recent " } else { "\\Recent" };
    out.splice(start + 1..start + 1, rest.bytes());
}

/// Answers a command that needs a writable mailbox in a read-only one.
pub(super) fn read_only(out: &mut Vec<u8>, tag: &[u8]) -> Flow {
    reply(out, tag, "NO", "[READ-ONLY] The mailbox is selected read-only");
    Flow::Continue
}
