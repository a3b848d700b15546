//! SEARCH and UID SEARCH (RFC 9051 §6.4.4), with ESEARCH return options (RFC 4731),
//! CONDSTORE's `MODSEQ` key (RFC 7162 §3.1.5), WITHIN's `OLDER` / `YOUNGER` (RFC 5032) and
//! SEARCHRES (RFC 5182): `RETURN (SAVE)` keeps the result, as UIDs, in the selected mailbox's
//! state, where `$` finds it (in SEARCH itself through [`bind`], elsewhere through
//! `Selected::resolve`). Commands run one after the other, so a command pipelined after a
//! `SAVE` always sees its result (RFC 5182 §2.4).
//!
//! Flags, dates, sizes, UIDs and sequence numbers are matched on the stored summaries. Header
//! keys match a case-insensitive (ASCII) substring of the unfolded raw field value; `BODY` matches
//! the message text and `TEXT` the whole message, as stored (no MIME decoding). Messages are read
//! only when a key needs their content, and only their header when no key needs the body; they
//! come in batches of up to [`SEARCH_READ_BYTES`] per store call, not one call per message.

use super::read_ahead::ReadAhead;
use super::{encode_set, ok, push_string, store_failed, Flow, ImapSession};
use crate::wire::imap_search::{parse_search, requests_save, SearchKey, SearchReturn};
use crate::wire::imap_values::{days_from_civil, SeqNumber, SequenceSet};
use storage::mail::{MessageSummary, UidSet};
use storage::StoreError;

/// Messages looked at per batch of the search.
const SEARCH_BATCH: usize = 256;
/// Message bytes read from the store in one call when keys need contents (see FETCH's
/// `FETCH_READ_BYTES`): bounds what a SEARCH holds in memory.
const SEARCH_READ_BYTES: u64 = 4 << 20;
/// Seconds in a day, to turn INTERNALDATE into a day number.
const DAY_SECONDS: i64 = 86_400;

/// What one message offers to the matcher.
struct Candidate<'a> {
    seq: u32,
    summary: &'a MessageSummary,
    /// Recent to this session.
    recent: bool,
    /// The message as stored, when some key needs it.
    content: Option<Vec<u8>>,
    /// When the search started, in seconds since the epoch (`OLDER` / `YOUNGER`).
    now: i64,
}

impl ImapSession<'_> {
    pub(super) async fn search(&mut self, tag: &[u8], args: &[u8], by_uid: bool, out: &mut Vec<u8>) -> Flow {
        let (Some(account), true) = (self.user.clone(), self.selected.is_some()) else {
            return self.not_logged_in(out, tag);
        };
        let mut program = match parse_search(args) {
            Ok(p) => p,
            Err(reason) => {
                // A failed SEARCH that asked to SAVE leaves `$` empty (RFC 5182 §2.1).
                if requests_save(args) {
                    self.save_result(Vec::new());
                }
                return self.bad(out, tag, reason);
            }
        };
        if self.rev2 {
            // RFC 9051 Appendix E: no \Recent, so no RECENT, NEW or OLD key.
            if any_key(&program.key, &|k| matches!(k, SearchKey::Recent)) {
                if program.returns.as_ref().is_some_and(|r| r.save) {
                    self.save_result(Vec::new());
                }
                return self.bad(out, tag, "RECENT, NEW and OLD are not part of IMAP4rev2");
            }
            // RFC 9051 §6.4.4: the answer is always ESEARCH; no RETURN means RETURN (ALL).
            program.returns.get_or_insert(SearchReturn { all: true, ..SearchReturn::default() });
        }
        let saves = program.returns.as_ref().is_some_and(|r| r.save);
        let Some(selected) = self.selected.as_ref() else { return self.not_logged_in(out, tag) };
        let name = selected.name.clone();
        let seqs: Vec<u32> = selected.uids.clone();
        let largest_uid = seqs.last().copied().unwrap_or(0);
        let mut key = program.key;
        bind(&mut key, seqs.len() as u32, largest_uid, &selected.saved);
        let summaries = match self.ctx.mail().fetch_summaries(&account, &name, UidSet::all()).await {
            Ok(s) => s,
            Err(e) => return self.search_failed(out, tag, &e, saves),
        };
        let now = super::append::now();
        let needs_content = any_key(&key, &|k| {
            matches!(
                k,
                SearchKey::Header(..)
                    | SearchKey::Body(_)
                    | SearchKey::Text(_)
                    | SearchKey::SentBefore(_)
                    | SearchKey::SentOn(_)
                    | SearchKey::SentSince(_)
            )
        });
        // Header keys alone need only each message's header, not its body.
        let header_only = !any_key(&key, &|k| matches!(k, SearchKey::Body(_) | SearchKey::Text(_)));
        let uses_modseq = any_key(&key, &|k| matches!(k, SearchKey::ModSeq(_)));
        if uses_modseq {
            self.enable_condstore(out);
        }
        let mail = self.ctx.mail();
        let mut matched: Vec<(u32, u32, u64)> = Vec::new();
        for chunk in summaries.chunks(SEARCH_BATCH) {
            // Only the headers when no key needs a body.
            let mut ahead = ReadAhead::new(header_only, SEARCH_READ_BYTES);
            // Only the candidates' contents are read (see `ReadAhead`).
            let batch: Vec<u32> = chunk.iter().map(|s| s.uid).filter(|uid| seqs.binary_search(uid).is_ok()).collect();
            for summary in chunk {
                let Ok(index) = seqs.binary_search(&summary.uid) else { continue };
                let content = if needs_content {
                    match ahead.take(&mail, &account, &name, &batch, summary.uid).await {
                        Ok(Some(bytes)) => Some(bytes),
                        // Expunged since the summaries were read: no longer a candidate.
                        Ok(None) => continue,
                        Err(e) => return self.search_failed(out, tag, &e, saves),
                    }
                } else {
                    None
                };
                let recent = self.selected.as_ref().is_some_and(|s| s.recent.contains(&summary.uid));
                let candidate = Candidate { seq: index as u32 + 1, summary, recent, content, now };
                if matches(&key, &candidate) {
                    matched.push((candidate.seq, summary.uid, summary.modseq));
                }
            }
        }
        let numbers: Vec<u32> = matched.iter().map(|m| if by_uid { m.1 } else { m.0 }).collect();
        let highest = matched.iter().map(|m| m.2).max();
        if let Some(returns) = program.returns.as_ref().filter(|r| r.save) {
            let uids: Vec<u32> = if returns.saves_min_max_only() {
                let min = matched.first().filter(|_| returns.min).map(|m| m.1);
                let max = matched.last().filter(|_| returns.max).map(|m| m.1);
                let mut kept: Vec<u32> = min.into_iter().chain(max).collect();
                kept.dedup();
                kept
            } else {
                matched.iter().map(|m| m.1).collect()
            };
            self.save_result(uids);
        }
        match program.returns {
            Some(returns) if !returns.answers() => {}
            None => {
                out.extend_from_slice(b"* SEARCH");
                for n in &numbers {
                    out.extend_from_slice(format!(" {n}").as_bytes());
                }
                if let (true, Some(modseq)) = (uses_modseq, highest) {
                    out.extend_from_slice(format!(" (MODSEQ {modseq})").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
            Some(returns) => {
                out.extend_from_slice(b"* ESEARCH (TAG ");
                push_string(out, tag);
                out.push(b')');
                if by_uid {
                    out.extend_from_slice(b" UID");
                }
                if let (true, Some(min)) = (returns.min, numbers.first()) {
                    out.extend_from_slice(format!(" MIN {min}").as_bytes());
                }
                if let (true, Some(max)) = (returns.max, numbers.last()) {
                    out.extend_from_slice(format!(" MAX {max}").as_bytes());
                }
                if returns.all && !numbers.is_empty() {
                    out.extend_from_slice(format!(" ALL {}", encode_set(numbers.iter().copied())).as_bytes());
                }
                if returns.count {
                    out.extend_from_slice(format!(" COUNT {}", numbers.len()).as_bytes());
                }
                // RFC 7162 §3.5: with only MIN and/or MAX, the highest MODSEQ of the messages
                // returned, not of every match.
                let returned = if returns.all || returns.count {
                    highest
                } else {
                    let min = matched.first().filter(|_| returns.min).map(|m| m.2);
                    let max = matched.last().filter(|_| returns.max).map(|m| m.2);
                    min.max(max)
                };
                if let (true, Some(modseq)) = (uses_modseq, returned) {
                    out.extend_from_slice(format!(" MODSEQ {modseq}").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        ok(out, tag, if by_uid { "UID SEARCH completed" } else { "SEARCH completed" })
    }

    /// Replaces the saved result `$` (RFC 5182) by `uids` (ascending).
    fn save_result(&mut self, uids: Vec<u32>) {
        if let Some(selected) = self.selected.as_mut() {
            selected.saved = uids;
        }
    }

    /// A store failure in SEARCH: with SAVE, `$` becomes empty (RFC 5182 §2.1).
    fn search_failed(&mut self, out: &mut Vec<u8>, tag: &[u8], error: &StoreError, saves: bool) -> Flow {
        if saves {
            self.save_result(Vec::new());
        }
        store_failed(out, tag, error)
    }
}

/// Whether `test` holds for any key in the tree.
fn any_key(key: &SearchKey, test: &dyn Fn(&SearchKey) -> bool) -> bool {
    test(key)
        || match key {
            SearchKey::Not(k) => any_key(k, test),
            SearchKey::Or(a, b) => any_key(a, test) || any_key(b, test),
            SearchKey::And(keys) => keys.iter().any(|k| any_key(k, test)),
            _ => false,
        }
}

/// Replaces every set in `key` by its resolved ranges (`*` bound, sorted, merged), so that
/// matching a message is a binary search however many ranges the client sent. `$`, as a
/// sequence set or a UID set, becomes the UIDs of `saved` (the same messages either way).
fn bind(key: &mut SearchKey, count: u32, largest_uid: u32, saved: &[u32]) {
    if matches!(key, SearchKey::Sequence(set) | SearchKey::Uid(set) if set.is_saved()) {
        *key = if saved.is_empty() { SearchKey::Nothing } else { SearchKey::Uid(uid_ranges(saved)) };
        return;
    }
    match key {
        SearchKey::Sequence(set) => *set = resolved(set, count),
        SearchKey::Uid(set) => *set = resolved(set, largest_uid),
        SearchKey::Not(k) => bind(k, count, largest_uid, saved),
        SearchKey::Or(a, b) => {
            bind(a, count, largest_uid, saved);
            bind(b, count, largest_uid, saved);
        }
        SearchKey::And(keys) => keys.iter_mut().for_each(|k| bind(k, count, largest_uid, saved)),
        _ => {}
    }
}

/// Ascending UIDs as a bound set (consecutive runs merged), as [`resolved`] makes them.
fn uid_ranges(uids: &[u32]) -> SequenceSet {
    let mut ranges: Vec<(SeqNumber, SeqNumber)> = Vec::new();
    for &uid in uids {
        match ranges.last_mut() {
            Some((_, SeqNumber::Value(end))) if end.checked_add(1) == Some(uid) => *end = uid,
            _ => ranges.push((SeqNumber::Value(uid), SeqNumber::Value(uid))),
        }
    }
    SequenceSet(ranges)
}

fn resolved(set: &SequenceSet, largest: u32) -> SequenceSet {
    let mut ranges = set.resolve(largest);
    ranges.sort_by_key(|r| *r.start());
    let mut merged: Vec<(SeqNumber, SeqNumber)> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some((_, SeqNumber::Value(end))) if *r.start() <= end.saturating_add(1) => *end = (*end).max(*r.end()),
            _ => merged.push((SeqNumber::Value(*r.start()), SeqNumber::Value(*r.end()))),
        }
    }
    SequenceSet(merged)
}

/// Membership in a set bound by [`bind`].
fn in_set(set: &SequenceSet, n: u32) -> bool {
    let value = |s: SeqNumber| match s {
        SeqNumber::Value(v) => v,
        SeqNumber::Largest => u32::MAX,
    };
    let i = set.0.partition_point(|&(_, end)| value(end) < n);
    set.0.get(i).is_some_and(|&(start, _)| value(start) <= n)
}

fn matches(key: &SearchKey, c: &Candidate<'_>) -> bool {
    let s = c.summary;
    let day = s.internal_date.div_euclid(DAY_SECONDS);
    match key {
        SearchKey::All => true,
        SearchKey::Nothing => false,
        SearchKey::Recent => c.recent,
        SearchKey::Flag(flag, set) => s.flags.contains(*flag) == *set,
        SearchKey::Keyword(k, set) => s.flags.has_keyword(k) == *set,
        SearchKey::Before(d) => day < *d,
        SearchKey::On(d) => day == *d,
        SearchKey::Since(d) => day >= *d,
        SearchKey::SentBefore(d) => sent_day(c).is_some_and(|x| x < *d),
        SearchKey::SentOn(d) => sent_day(c).is_some_and(|x| x == *d),
        SearchKey::SentSince(d) => sent_day(c).is_some_and(|x| x >= *d),
        SearchKey::Larger(n) => s.size > *n,
        SearchKey::Smaller(n) => s.size < *n,
        SearchKey::ModSeq(n) => s.modseq >= *n,
        // Age in whole seconds; OLDER n and YOUNGER n split the messages in two (RFC 5032 §3).
        SearchKey::Older(n) => i128::from(c.now) - i128::from(s.internal_date) >= i128::from(*n),
        SearchKey::Younger(n) => i128::from(c.now) - i128::from(s.internal_date) < i128::from(*n),
        SearchKey::Uid(set) => in_set(set, s.uid),
        SearchKey::Sequence(set) => in_set(set, c.seq),
        SearchKey::Header(name, value) => header_values(header(c), name).any(|v| {
            contains_ci(&v, value)
                || (ADDRESS_FIELDS.contains(&name.as_str()) && contains_ci(&without_comments(&v), value))
        }),
        SearchKey::Body(value) => {
            let raw = c.content.as_deref().unwrap_or_default();
            contains_ci(&raw[header(c).len()..], value)
        }
        SearchKey::Text(value) => contains_ci(c.content.as_deref().unwrap_or_default(), value),
        SearchKey::Not(k) => !matches(k, c),
        SearchKey::Or(a, b) => matches(a, c) || matches(b, c),
        SearchKey::And(keys) => keys.iter().all(|k| matches(k, c)),
    }
}

/// The message's header, blank line included (or the whole message if it has no body).
fn header<'c>(c: &'c Candidate<'_>) -> &'c [u8] {
    let raw = c.content.as_deref().unwrap_or_default();
    let end = memchr::memmem::find(raw, b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| memchr::memmem::find(raw, b"\n\n").map(|i| i + 2))
        .unwrap_or(raw.len());
    &raw[..end]
}

/// The unfolded values of the fields called `name` (lower-case).
fn header_values<'h>(header: &'h [u8], name: &'h str) -> impl Iterator<Item = Vec<u8>> + 'h {
    let mut fields: Vec<Vec<u8>> = Vec::new();
    for line in header.split_inclusive(|&b| b == b'\n') {
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if let Some(last) = fields.last_mut() {
                last.extend_from_slice(line.trim_ascii_end());
            }
        } else if !line.trim_ascii().is_empty() {
            fields.push(line.trim_ascii_end().to_vec());
        }
    }
    fields.into_iter().filter_map(move |field| {
        let colon = memchr::memchr(b':', &field)?;
        field[..colon].trim_ascii().eq_ignore_ascii_case(name.as_bytes()).then(|| field[colon + 1..].to_vec())
    })
}

/// Fields holding addresses, which may be written with comments and spaces around the `@`.
const ADDRESS_FIELDS: &[&str] = &["from", "to", "cc", "bcc", "sender", "reply-to"];

/// An address field's value with its RFC 5322 comments (`(...)`, nested, outside quoted strings)
/// and the white space around each `@` removed, so that `user (c)@ domain` matches `user@domain`.
fn without_comments(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let (mut depth, mut quoted, mut escaped) = (0u32, false, false);
    for &b in value {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(b);
            }
            continue;
        }
        match b {
            b'\\' if quoted || depth > 0 => escaped = true,
            b'"' if depth == 0 => {
                quoted = !quoted;
                out.push(b);
            }
            b'(' if !quoted => depth += 1,
            b')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(b),
            _ => {}
        }
    }
    // Backwards, so that each white-space byte knows whether the next other byte is `@`.
    let mut joined: Vec<u8> = Vec::with_capacity(out.len());
    let mut next_is_at = false;
    for &b in out.iter().rev() {
        if !b.is_ascii_whitespace() {
            next_is_at = b == b'@';
        } else if next_is_at {
            continue;
        }
        joined.push(b);
    }
    joined.reverse();
    let mut result: Vec<u8> = Vec::with_capacity(joined.len());
    for b in joined {
        if !(b.is_ascii_whitespace() && result.last() == Some(&b'@')) {
            result.push(b);
        }
    }
    result
}

/// Case-insensitive (ASCII) substring test; the empty needle matches. Linear time (memchr's
/// two-way search on lower-cased copies), whatever the client's search string.
fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || memchr::memmem::find(&haystack.to_ascii_lowercase(), &needle.to_ascii_lowercase()).is_some()
}

/// The day of the `Date:` header (its date part, time and zone ignored, as RFC 9051 says).
fn sent_day(c: &Candidate<'_>) -> Option<i64> {
    let value = header_values(header(c), "date").next()?;
    let text = String::from_utf8_lossy(&value).into_owned();
    let text = text.split_once(',').map_or(text.as_str(), |(_, rest)| rest);
    let mut words = text.split_whitespace();
    let day: u32 = words.next()?.parse().ok()?;
    let month = words.next()?;
    let month = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        .iter()
        .position(|m| month.eq_ignore_ascii_case(m))? as u32
        + 1;
    let year: i64 = words.next()?.parse().ok()?;
    let year = if year < 50 {
        year + 2000
    } else if year < 1000 {
        year + 1900
    } else {
        year
    };
    Some(days_from_civil(year, month, day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::imap_values::parse_sequence_set;

    #[test]
    fn bound_sets_match_like_the_naive_resolution() {
        for text in ["1", "3:1,7,5:*", "2,4,6,8", "*", "1:*", "9:12,10:15,1"] {
            let (set, _) = parse_sequence_set(text.as_bytes()).expect(text);
            let bound = resolved(&set, 12);
            for n in 0..=14 {
                let naive = set.resolve(12).iter().any(|r| r.contains(&n));
                assert_eq!(in_set(&bound, n), naive, "{text} {n}");
            }
        }
    }
}
