//! QRESYNC (RFC 7162 §3.2): a client that comes back to a mailbox learns in one round trip what it
//! missed, instead of fetching every UID and flag again.
//!
//! ```text
//! select-param   = "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids]
//!                  [SP seq-match-data] ")"
//! known-uids     = sequence-set          ; UIDs, no "*"
//! seq-match-data = "(" known-sequence-set SP known-uid-set ")"
//! fetch-modifier =/ "VANISHED"           ; UID FETCH ... (CHANGEDSINCE n VANISHED)
//! expunged-resp  = "VANISHED" [SP "(EARLIER)"] SP known-uids
//! ```
//!
//! Once a session has enabled QRESYNC, expunges are reported as `* VANISHED uid-set` instead of
//! `* n EXPUNGE` (see `Selected::report_expunges`). `SELECT ... (QRESYNC ...)` with the mailbox's
//! current UIDVALIDITY answers, after the usual SELECT responses, `* VANISHED (EARLIER)` with the
//! UIDs expunged since the client's MODSEQ and a `FETCH (UID FLAGS MODSEQ)` for every message
//! changed since then.
//!
//! The store's change log keeps a bounded number of entries per account (`store.change_log_keep`).
//! When a client's MODSEQ is older than the log reaches, the expunges since then are found by
//! comparison instead: every UID of the client's known-uids (or of every UID below UIDNEXT, when
//! it sent none) that the mailbox does not hold is reported as vanished. That may include UIDs
//! the client never saw, which it ignores; what it must not miss is never left out. The flags come
//! from each message's own MODSEQ either way. The optional `seq-match-data` is checked for syntax
//! and otherwise not needed.

use super::select::encode_flags_recent;
use super::ImapSession;
use crate::wire::imap_values::{parse_number, parse_sequence_set, SeqNumber, SequenceSet};
use std::ops::RangeInclusive;
use storage::mail::{ChangeKind, UidSet};

/// The parameters of `SELECT`/`EXAMINE`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct SelectParams {
    pub condstore: bool,
    pub qresync: Option<QresyncParams>,
}

/// `QRESYNC (uidvalidity modseq [known-uids] [seq-match-data])`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct QresyncParams {
    pub uid_validity: u32,
    pub modseq: u64,
    /// UIDs the client knows; `None` means all.
    pub known_uids: Option<SequenceSet>,
}

/// Parses the optional parameter list after the mailbox name (empty input: none).
pub(super) fn parse_select_params(input: &[u8]) -> Result<SelectParams, &'static str> {
    let mut params = SelectParams::default();
    if input.is_empty() {
        return Ok(params);
    }
    let list = input.strip_prefix(b"(").and_then(|l| l.strip_suffix(b")")).ok_or("Invalid SELECT parameters")?;
    let mut rest = list;
    while !rest.is_empty() {
        if let Some(after) = strip_word(rest, b"CONDSTORE") {
            params.condstore = true;
            rest = after;
        } else if let Some(after) = strip_word(rest, b"QRESYNC") {
            let after = after.strip_prefix(b" (").ok_or("QRESYNC needs (uidvalidity modseq ...)")?;
            let close = matching_paren(after).ok_or("Unterminated QRESYNC parameter")?;
            params.qresync = Some(parse_qresync(&after[..close])?);
            rest = &after[close + 1..];
        } else {
            return Err("Unknown SELECT parameter");
        }
        rest = match rest {
            [] => rest,
            [b' ', more @ ..] if !more.is_empty() => more,
            _ => return Err("Invalid SELECT parameters"),
        };
    }
    Ok(params)
}

fn parse_qresync(body: &[u8]) -> Result<QresyncParams, &'static str> {
    let mut words = body.splitn(3, |&b| b == b' ');
    let uid_validity = words
        .next()
        .and_then(parse_number)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0)
        .ok_or("Invalid QRESYNC UIDVALIDITY")?;
    let modseq = words.next().and_then(parse_number).filter(|&n| n > 0).ok_or("Invalid QRESYNC MODSEQ")?;
    let mut known_uids = None;
    let mut rest = words.next().unwrap_or_default();
    if !rest.is_empty() && !rest.starts_with(b"(") {
        let (set, after) = parse_sequence_set(rest)?;
        known_uids = Some(set);
        rest = after;
    }
    if !rest.is_empty() {
        // seq-match-data: "(" known-sequence-set SP known-uid-set ")"
        let inner = rest.strip_prefix(b"(").and_then(|r| r.strip_suffix(b")")).ok_or("Invalid QRESYNC match data")?;
        // parse_sequence_set takes the SP after the set with it.
        let (_, after) = parse_sequence_set(inner)?;
        let (_, after) = parse_sequence_set(after)?;
        if !after.is_empty() {
            return Err("Invalid QRESYNC match data");
        }
    }
    Ok(QresyncParams { uid_validity, modseq, known_uids })
}

/// `input` after `word` (case-insensitive) if it starts with it as a whole word.
fn strip_word<'a>(input: &'a [u8], word: &[u8]) -> Option<&'a [u8]> {
    let head = input.get(..word.len())?;
    let rest = &input[word.len()..];
    (head.eq_ignore_ascii_case(word) && matches!(rest.first(), None | Some(b' '))).then_some(rest)
}

/// The index of the `)` that closes an already opened `(` in `input`.
fn matching_paren(input: &[u8]) -> Option<usize> {
    let mut depth = 1usize;
    for (i, &b) in input.iter().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The UIDs of `set` (a UID set; `*` is the largest UID the session knows) expunged after
/// `modseq`, from the change log.
pub(super) fn expunged_since(
    changes: &[storage::mail::Change],
    modseq: u64,
    set: Option<&SequenceSet>,
    largest: u32,
) -> Vec<u32> {
    let ranges = set.map(|s| s.resolve(largest));
    let mut uids: Vec<u32> = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Expunge && c.modseq > modseq)
        .map(|c| c.uid)
        .filter(|uid| ranges.as_ref().is_none_or(|r| r.iter().any(|range| range.contains(uid))))
        .collect();
    uids.sort_unstable();
    uids.dedup();
    uids
}

/// The UIDs of `set` from 1 to `cap` that are not in `held` (ascending), as ascending ranges:
/// what has vanished from a client's view when the change log no longer says. Costs the number of
/// ranges and held UIDs, not the width of the set (a client may send `1:4294967295`).
pub(super) fn missing_ranges(set: &SequenceSet, cap: u32, held: &[u32]) -> Vec<RangeInclusive<u32>> {
    let mut ranges: Vec<RangeInclusive<u32>> = set
        .resolve(u32::MAX)
        .into_iter()
        .map(|r| (*r.start()).max(1)..=(*r.end()).min(cap))
        .filter(|r| !r.is_empty())
        .collect();
    ranges.sort_by_key(|r| *r.start());
    let mut missing: Vec<RangeInclusive<u32>> = Vec::new();
    let mut push = |from: u32, to: u32| match missing.last_mut() {
        Some(last) if last.end().checked_add(1).is_some_and(|next| next >= from) => {
            *last = *last.start()..=to.max(*last.end())
        }
        _ => missing.push(from..=to),
    };
    for range in ranges {
        let (start, end) = (*range.start(), *range.end());
        let first = held.partition_point(|&u| u < start);
        let last = held.partition_point(|&u| u <= end);
        let mut next = Some(start);
        for &uid in &held[first..last] {
            if let Some(from) = next.filter(|&from| from < uid) {
                push(from, uid - 1);
            }
            next = uid.checked_add(1);
        }
        if let Some(from) = next.filter(|&from| from <= end) {
            push(from, end);
        }
    }
    missing
}

impl ImapSession<'_> {
    /// After a `SELECT ... (QRESYNC ...)` whose UIDVALIDITY matches: `* VANISHED (EARLIER)` and
    /// the flags of every message changed since the client's MODSEQ. `up_to` is the highest UID
    /// the mailbox had assigned when SELECT read it.
    pub(super) async fn resynchronise(
        &mut self,
        params: &QresyncParams,
        up_to: u32,
        out: &mut Vec<u8>,
    ) -> Result<(), storage::StoreError> {
        let (Some(account), Some(selected)) = (self.user.clone(), self.selected.as_mut()) else { return Ok(()) };
        if params.uid_validity != selected.uid_validity {
            return Ok(());
        }
        let mail = self.ctx.mail();
        let log = mail.changes_since(&account, &selected.name, params.modseq).await?;
        let vanished = if log.complete {
            // `*` in known-uids (which RFC 7162 forbids, but clients send) covers every UID.
            let vanished = expunged_since(&log.changes, params.modseq, params.known_uids.as_ref(), u32::MAX);
            let vanished: Vec<u32> = vanished.into_iter().filter(|uid| selected.seq_of(*uid).is_none()).collect();
            super::encode_set(vanished)
        } else {
            // The session's map is the mailbox as SELECT read it: every UID up to `up_to` not in
            // it is gone.
            let everything = SequenceSet(vec![(SeqNumber::Value(1), SeqNumber::Largest)]);
            let known = params.known_uids.as_ref().unwrap_or(&everything);
            super::encode_ranges(&missing_ranges(known, up_to, &selected.uids))
        };
        if !vanished.is_empty() {
            out.extend_from_slice(format!("* VANISHED (EARLIER) {vanished}\r\n").as_bytes());
        }
        let changed = mail.fetch_summaries(&account, &selected.name, UidSet::all()).await?;
        for s in changed.iter().filter(|s| s.modseq > params.modseq) {
            let Some(seq) = selected.seq_of(s.uid) else { continue };
            selected.announce_keywords(&s.flags, out);
            out.extend_from_slice(format!("* {seq} FETCH (UID {} FLAGS ", s.uid).as_bytes());
            encode_flags_recent(out, &s.flags, selected.recent.contains(&s.uid));
            out.extend_from_slice(format!(" MODSEQ ({}))\r\n", s.modseq).as_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storage::mail::Change;

    #[test]
    fn select_parameters() {
        assert_eq!(parse_select_params(b""), Ok(SelectParams::default()));
        assert_eq!(parse_select_params(b"(condstore)"), Ok(SelectParams { condstore: true, qresync: None }));
        let p = parse_select_params(b"(QRESYNC (67890007 20050715194045000 41,43:211,214:541))").expect("rfc example");
        let q = p.qresync.expect("qresync");
        assert_eq!((q.uid_validity, q.modseq), (67890007, 20050715194045000));
        assert_eq!(q.known_uids.expect("known").resolve(1000).len(), 3);
        let p = parse_select_params(b"(QRESYNC (67890007 90060115194045000 41:211,214:541 (1:15,17,21 41:56,58,62)))")
            .expect("with match data");
        assert!(p.qresync.is_some());
        let p = parse_select_params(b"(QRESYNC (1 2 (1:3 4:6)) CONDSTORE)").expect("match data, no known uids");
        assert!(p.condstore && p.qresync.is_some_and(|q| q.known_uids.is_none()));
        for bad in [
            &b"(QRESYNC (0 5))"[..],
            b"(QRESYNC (1))",
            b"(QRESYNC (1 0))",
            b"(QRESYNC 1 2)",
            b"(QRESYNC (1 2 (1:3)))",
            b"(QRESYNC (1 2)",
            b"(NOPE)",
            b"CONDSTORE",
            b"(CONDSTORE )",
        ] {
            assert!(parse_select_params(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn expunged_uids_after_a_modseq_within_the_known_set() {
        let change = |modseq, uid, kind| Change { modseq, uid, kind };
        let changes = [
            change(5, 1, ChangeKind::Expunge),
            change(6, 2, ChangeKind::Flags),
            change(7, 3, ChangeKind::Expunge),
            change(8, 9, ChangeKind::Expunge),
            change(9, 3, ChangeKind::Expunge),
        ];
        assert_eq!(expunged_since(&changes, 4, None, 10), [1, 3, 9]);
        assert_eq!(expunged_since(&changes, 5, None, 10), [3, 9]);
        let (known, _) = parse_sequence_set(b"1:4").expect("set");
        assert_eq!(expunged_since(&changes, 0, Some(&known), 10), [1, 3]);
    }

    #[test]
    fn missing_uids_are_found_by_ranges_not_one_by_one() {
        let set = |text: &[u8]| parse_sequence_set(text).expect("set").0;
        let r = |a: u32, b: u32| a..=b;
        assert_eq!(missing_ranges(&set(b"1:10"), 10, &[1, 4, 5, 10]), [r(2, 3), r(6, 9)]);
        assert_eq!(missing_ranges(&set(b"1:*"), 12, &[]), [r(1, 12)]);
        assert_eq!(missing_ranges(&set(b"5,1:3,9:20"), 10, &[2, 9]), [r(1, 1), r(3, 3), r(5, 5), r(10, 10)]);
        assert_eq!(missing_ranges(&set(b"3:4,1:2"), 4, &[]), [r(1, 4)], "adjacent ranges merge");
        assert!(missing_ranges(&set(b"1:4"), 4, &[1, 2, 3, 4]).is_empty());
        assert!(missing_ranges(&set(b"1:4"), 0, &[]).is_empty(), "an empty mailbox never had UIDs");
        // The whole UID space costs what the held UIDs cost.
        let wide = missing_ranges(&set(b"1:4294967295"), u32::MAX, &[7, u32::MAX]);
        assert_eq!(wide, [r(1, 6), r(8, u32::MAX - 1)]);
    }
}
