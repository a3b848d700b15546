//! IMAP argument values that several commands share (RFC 9051 §9): sequence sets, flag lists,
//! dates and date-times, and the INTERNALDATE encoder. Sans I/O: every parser takes the unread
//! argument text and returns the value with the text that follows it.
//!
//! ```text
//! sequence-set    = (seq-number / seq-range) ["," sequence-set]
//! sequence-set    =/ seq-last-command      ; RFC 5182 (SEARCHRES)
//! seq-last-command = "$"
//! seq-range       = seq-number ":" seq-number
//! seq-number      = nz-number / "*"
//! flag-list       = "(" [flag *(SP flag)] ")"
//! flag            = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword
//! date            = date-text / DQUOTE date-text DQUOTE
//! date-text       = date-day "-" date-month "-" date-year
//! date-time       = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
//! zone            = ("+" / "-") 4DIGIT
//! ```
//!
//! `$` (RFC 5182) stands alone: it is not a member of a list (`1,$` is refused), and means the
//! messages that the last `SEARCH RETURN (SAVE)` found, which the session substitutes.

use std::ops::RangeInclusive;
use storage::mail::{Flags, SystemFlag};

/// Month names as IMAP writes them.
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// One end of a sequence range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqNumber {
    Value(u32),
    /// `*`: the largest number in use.
    Largest,
}

/// A parsed `sequence-set`, not yet bound to a mailbox. The parser never returns an empty list
/// except for `$`, the saved search result ([`SequenceSet::is_saved`]); code that does not know
/// about `$` therefore sees it as the empty set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceSet(pub Vec<(SeqNumber, SeqNumber)>);

impl SequenceSet {
    /// `$`: the result saved by the last `SEARCH RETURN (SAVE)` (RFC 5182).
    pub fn saved() -> SequenceSet {
        SequenceSet(Vec::new())
    }

    /// Whether this is `$`.
    pub fn is_saved(&self) -> bool {
        self.0.is_empty()
    }

    /// The set as inclusive ranges (each `lo..=hi`), with `*` standing for `largest`. Numbers that
    /// do not exist are the caller's to drop (with `largest == 0`, `1:*` is `1..=1`).
    pub fn resolve(&self, largest: u32) -> Vec<RangeInclusive<u32>> {
        let value = |n: SeqNumber| match n {
            SeqNumber::Value(v) => v,
            SeqNumber::Largest => largest,
        };
        self.0
            .iter()
            .filter_map(|&(a, b)| {
                let (a, b) = (value(a), value(b));
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                (hi > 0).then_some(lo.max(1)..=hi)
            })
            .collect()
    }
}

/// Splits the next space-separated token off `input`.
pub fn next_token(input: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b' ', input) {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (input, &[]),
    }
}

/// Parses a `sequence-set` at the start of `input`; returns it and the rest after one SP.
pub fn parse_sequence_set(input: &[u8]) -> Result<(SequenceSet, &[u8]), &'static str> {
    let end =
        input.iter().position(|&b| !(b.is_ascii_digit() || matches!(b, b',' | b':' | b'*'))).unwrap_or(input.len());
    if input.get(end) == Some(&b'$') {
        if end > 0 {
            return Err("$ cannot be part of a list or range");
        }
        let rest = &input[1..];
        if !(rest.is_empty() || rest.starts_with(b" ")) {
            return Err("$ cannot be part of a list or range");
        }
        return Ok((SequenceSet::saved(), skip_space(rest)?));
    }
    let (text, rest) = input.split_at(end);
    if text.is_empty() {
        return Err("Missing or invalid sequence set");
    }
    let mut ranges = Vec::new();
    for item in text.split(|&b| b == b',') {
        let mut ends = item.splitn(2, |&b| b == b':');
        let a = seq_number(ends.next().unwrap_or_default())?;
        let b = match ends.next() {
            Some(b) => seq_number(b)?,
            None => a,
        };
        ranges.push((a, b));
    }
    Ok((SequenceSet(ranges), skip_space(rest)?))
}

fn seq_number(text: &[u8]) -> Result<SeqNumber, &'static str> {
    if text == b"*" {
        return Ok(SeqNumber::Largest);
    }
    match parse_number(text) {
        Some(n) if n > 0 && n <= u64::from(u32::MAX) => Ok(SeqNumber::Value(n as u32)),
        _ => Err("Invalid number in sequence set"),
    }
}

/// A decimal `number64` (at most 19 digits, so it cannot overflow).
pub fn parse_number(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

/// After a value: either the end of input, or one SP followed by more.
pub fn skip_space(rest: &[u8]) -> Result<&[u8], &'static str> {
    match rest {
        [] => Ok(rest),
        [b' ', more @ ..] if !more.is_empty() => Ok(more),
        _ => Err("Arguments must be separated by one space"),
    }
}

/// Parses a parenthesised `flag-list`, or a single flag when `allow_bare` (STORE accepts
/// `+FLAGS \Seen`). `\Recent` and unknown system flags are refused.
pub fn parse_flag_list(input: &[u8], allow_bare: bool) -> Result<(Flags, &[u8]), &'static str> {
    let (body, rest) = if let Some(after) = input.strip_prefix(b"(") {
        let close = memchr::memchr(b')', after).ok_or("Unterminated flag list")?;
        (&after[..close], &after[close + 1..])
    } else if allow_bare {
        let end = memchr::memchr(b' ', input).unwrap_or(input.len());
        (&input[..end], &input[end..])
    } else {
        return Err("Flag list must be in parentheses");
    };
    let mut flags = Flags::new();
    for flag in body.split(|&b| b == b' ').filter(|f| !f.is_empty()) {
        flags = add_flag(flags, flag)?;
    }
    Ok((flags, skip_space(rest)?))
}

fn add_flag(flags: Flags, flag: &[u8]) -> Result<Flags, &'static str> {
    if let Some(name) = flag.strip_prefix(b"\\") {
        let system = SystemFlag::ALL.into_iter().find(|f| f.as_imap().as_bytes()[1..].eq_ignore_ascii_case(name));
        return system.map(|f| flags.clone().with(f)).ok_or("Unknown or read-only system flag");
    }
    if !flag.iter().all(|&b| super::imap::is_astring_char(b) && b != b']') {
        return Err("Invalid keyword");
    }
    let keyword = std::str::from_utf8(flag).map_err(|_| "Invalid keyword")?;
    Ok(flags.with_keyword(keyword))
}

/// Writes `flags` as an IMAP flag list: `(\Seen $Forwarded)`.
pub fn encode_flags(out: &mut Vec<u8>, flags: &Flags) {
    out.push(b'(');
    let mut first = true;
    let system = flags.system_flags().map(|f| -> &str { f.as_imap() });
    for name in system.chain(flags.keywords()) {
        if !first {
            out.push(b' ');
        }
        first = false;
        out.extend_from_slice(name.as_bytes());
    }
    out.push(b')');
}

fn month(text: &[u8]) -> Option<u32> {
    MONTHS.iter().position(|m| m.as_bytes().eq_ignore_ascii_case(text)).map(|i| i as u32 + 1)
}

/// Parses a search `date` (`1-Feb-1994` or quoted) into days since 1970-01-01.
pub fn parse_date(input: &[u8]) -> Result<(i64, &[u8]), &'static str> {
    let (text, rest) = if let Some(after) = input.strip_prefix(b"\"") {
        let close = memchr::memchr(b'"', after).ok_or("Unterminated date")?;
        (&after[..close], &after[close + 1..])
    } else {
        let end = memchr::memchr(b' ', input).unwrap_or(input.len());
        input.split_at(end)
    };
    let days = date_text(text).ok_or("Invalid date: expected d-Mon-yyyy")?;
    Ok((days, skip_space(rest)?))
}

fn date_text(text: &[u8]) -> Option<i64> {
    let mut parts = text.split(|&b| b == b'-');
    let day = parse_number(trim_space(parts.next()?))?;
    let month = month(parts.next()?)?;
    let year = parse_number(parts.next()?)?;
    if parts.next().is_some() || !(1..=31).contains(&day) || !(1..=9999).contains(&year) {
        return None;
    }
    let days = days_from_civil(year as i64, month, day as u32);
    // A day the month does not have (31-Feb) would silently become another date.
    (civil_from_days(days) == (year as i64, month, day as u32)).then_some(days)
}

fn trim_space(text: &[u8]) -> &[u8] {
    text.strip_prefix(b" ").unwrap_or(text)
}

/// Parses an APPEND `date-time` (`"17-Jul-1996 02:44:25 -0700"`) into seconds since the epoch.
pub fn parse_date_time(input: &[u8]) -> Result<(i64, &[u8]), &'static str> {
    let after = input.strip_prefix(b"\"").ok_or("Date-time must be quoted")?;
    let close = memchr::memchr(b'"', after).ok_or("Unterminated date-time")?;
    let text = &after[..close];
    let seconds = date_time_text(text).ok_or("Invalid date-time: expected \"dd-Mon-yyyy hh:mm:ss +zzzz\"")?;
    Ok((seconds, skip_space(&after[close + 1..])?))
}

fn date_time_text(text: &[u8]) -> Option<i64> {
    if text.len() != 26 || text[11] != b' ' || text[20] != b' ' {
        return None;
    }
    let days = date_text(&text[..11])?;
    let time = &text[12..20];
    if time[2] != b':' || time[5] != b':' {
        return None;
    }
    let (h, m, s) = (parse_number(&time[..2])?, parse_number(&time[3..5])?, parse_number(&time[6..8])?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let zone = &text[21..26];
    let sign = match zone[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (zh, zm) = (parse_number(&zone[1..3])?, parse_number(&zone[3..5])?);
    let offset = sign * (zh as i64 * 3600 + zm as i64 * 60);
    Some(days * 86_400 + (h * 3600 + m * 60 + s) as i64 - offset)
}

/// Writes `seconds` since the epoch as an INTERNALDATE in UTC: `"17-Jul-1996 09:44:25 +0000"`.
pub fn encode_date_time(out: &mut Vec<u8>, seconds: i64) {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let text = format!(
        "\"{day:02}-{}-{year:04} {:02}:{:02}:{:02} +0000\"",
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    out.extend_from_slice(text.as_bytes());
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
#[path = "imap_values_tests.rs"]
mod tests;
