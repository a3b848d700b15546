//! STORE and UID STORE (RFC 9051 §6.4.6) with CONDSTORE's `UNCHANGEDSINCE` and `[MODIFIED]`
//! (RFC 7162 §3.1.3).
//!
//! ```text
//! store           = "STORE" SP sequence-set [store-modifiers] SP store-att-flags
//! store-modifiers = SP "(" "UNCHANGEDSINCE" SP mod-sequence-valzer ")"
//! store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
//! ```

use super::select::{encode_flags_recent, read_only, uid_set};
use super::{encode_set, reply, store_failed, Flow, ImapSession};
use crate::wire::imap_values::{next_token, parse_flag_list, parse_number, parse_sequence_set};
use storage::mail::{FlagOp, Flags};

impl ImapSession<'_> {
    pub(super) async fn store(&mut self, tag: &[u8], args: &[u8], by_uid: bool, out: &mut Vec<u8>) -> Flow {
        let (Some(account), Some(selected)) = (self.user.clone(), self.selected.as_ref()) else {
            return self.not_logged_in(out, tag);
        };
        let (set, unchanged_since, op, silent, flags) = match parse_store(args) {
            Ok(p) => p,
            Err(reason) => return self.bad(out, tag, reason),
        };
        if selected.read_only {
            return read_only(out, tag);
        }
        if unchanged_since.is_some() {
            super::enable_condstore(&mut self.condstore, Some(selected), out);
        }
        let uids = selected.resolve(&set, by_uid);
        let name = selected.name.clone();
        if uids.is_empty() {
            reply(out, tag, "OK", "STORE completed");
            return Flow::Continue;
        }
        let update =
            match self.ctx.mail().store_flags(&account, &name, uid_set(&uids), op, flags, unchanged_since).await {
                Ok(u) => u,
                Err(e) => return store_failed(out, tag, &e),
            };
        let condstore = self.condstore;
        let Some(selected) = self.selected.as_mut() else { return Flow::Continue };
        for (uid, modseq, flags) in &update.updated {
            selected.own_modseqs.insert(*modseq);
            let Some(seq) = selected.seq_of(*uid) else { continue };
            selected.announce_keywords(flags, out);
            if silent && unchanged_since.is_none() {
                continue;
            }
            out.extend_from_slice(format!("* {seq} FETCH (").as_bytes());
            if by_uid {
                out.extend_from_slice(format!("UID {uid} ").as_bytes());
            }
            if silent {
                out.extend_from_slice(format!("MODSEQ ({modseq}))\r\n").as_bytes());
                continue;
            }
            out.extend_from_slice(b"FLAGS ");
            encode_flags_recent(out, flags, selected.recent.contains(uid));
            if condstore {
                out.extend_from_slice(format!(" MODSEQ ({modseq})").as_bytes());
            }
            out.extend_from_slice(b")\r\n");
        }
        if update.modified.is_empty() {
            reply(out, tag, "OK", "STORE completed");
        } else {
            let numbers: Vec<u32> = if by_uid {
                update.modified.clone()
            } else {
                update.modified.iter().filter_map(|&u| selected.seq_of(u)).collect()
            };
            reply(
                out,
                tag,
                "OK",
                &format!("[MODIFIED {}] Conditional STORE failed for some messages", encode_set(numbers)),
            );
        }
        Flow::Continue
    }
}

type StoreArgs = (crate::wire::imap_values::SequenceSet, Option<u64>, FlagOp, bool, Flags);

fn parse_store(args: &[u8]) -> Result<StoreArgs, &'static str> {
    let (set, mut rest) = parse_sequence_set(args)?;
    let mut unchanged_since = None;
    if let Some(after) = rest.strip_prefix(b"(") {
        let close = memchr::memchr(b')', after).ok_or("Invalid STORE modifier")?;
        let (name, value) = next_token(&after[..close]);
        if !name.eq_ignore_ascii_case(b"UNCHANGEDSINCE") {
            return Err("Unknown STORE modifier");
        }
        unchanged_since = Some(parse_number(value).ok_or("Invalid UNCHANGEDSINCE value")?);
        rest = after[close + 1..].strip_prefix(b" ").ok_or("Syntax: STORE set [(UNCHANGEDSINCE n)] FLAGS flags")?;
    }
    let (item, rest) = next_token(rest);
    let upper = item.to_ascii_uppercase();
    let (op, name) = match upper.first() {
        Some(b'+') => (FlagOp::Add, &upper[1..]),
        Some(b'-') => (FlagOp::Remove, &upper[1..]),
        _ => (FlagOp::Replace, &upper[..]),
    };
    let silent = match name {
        b"FLAGS" => false,
        b"FLAGS.SILENT" => true,
        _ => return Err("Syntax: STORE set (+|-)FLAGS[.SILENT] flags"),
    };
    let flags = if rest.starts_with(b"(") {
        let (flags, tail) = parse_flag_list(rest, false)?;
        if !tail.is_empty() {
            return Err("Unexpected text after the flag list");
        }
        flags
    } else {
        let mut flags = Flags::new();
        let mut rest = rest;
        while !rest.is_empty() {
            let (more, tail) = parse_flag_list(rest, true)?;
            flags = flags.apply(FlagOp::Add, &more);
            rest = tail;
        }
        flags
    };
    Ok((set, unchanged_since, op, silent, flags))
}
