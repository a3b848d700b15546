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
//! changed since then. The store keeps the whole change log, so the optional `seq-match-data` (a
//! hint for servers that forget expunges) is checked for syntax and otherwise not needed.

use super::select::encode_flags_recent;
use super::ImapSession;
use crate::wire::imap_values::{parse_number, parse_sequence_set, SequenceSet};
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

impl ImapSession<'_> {
    /// After a `SELECT ... (QRESYNC ...)` whose UIDVALIDITY matches: `* VANISHED (EARLIER)` and
    /// the flags of every message changed since the client's MODSEQ.
    pub(super) async fn resynchronise(
        &mut self,
        params: &QresyncParams,
        out: &mut Vec<u8>,
    ) -> Result<(), storage::StoreError> {
        let (Some(account), Some(selected)) = (self.user.clone(), self.selected.as_mut()) else { return Ok(()) };
        if params.uid_validity != selected.uid_validity {
            return Ok(());
        }
        let mail = self.ctx.mail();
        let changes = mail.changes_since(&account, &selected.name, params.modseq).await?;
        // `*` in known-uids (which RFC 7162 forbids, but clients send) covers every UID.
        let vanished = expunged_since(&changes, params.modseq, params.known_uids.as_ref(), u32::MAX);
        let vanished: Vec<u32> = vanished.into_iter().filter(|uid| selected.seq_of(*uid).is_none()).collect();
        if !vanished.is_empty() {
            out.extend_from_slice(format!("* VANISHED (EARLIER) {}\r\n", super::encode_set(vanished)).as_bytes());
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
}
