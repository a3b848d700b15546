//! SEARCH criteria (RFC 9051 §6.4.4) with WITHIN's `OLDER` / `YOUNGER` (RFC 5032) and
//! SEARCHRES's `SAVE` return option and `$` (RFC 5182), sans I/O.
//!
//! ```text
//! search          = "SEARCH" [search-return-opts] SP search-program
//! search-program  = ["CHARSET" SP charset SP] search-key *(SP search-key)
//! search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
//! search-return-opt  = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE"
//! search-key      = "ALL" / "ANSWERED" / "BCC" SP astring / "BEFORE" SP date / "BODY" SP astring /
//!                   "CC" SP astring / "DELETED" / "FLAGGED" / "FROM" SP astring /
//!                   "KEYWORD" SP flag-keyword / "ON" SP date / "SEEN" / "SINCE" SP date /
//!                   "SUBJECT" SP astring / "TEXT" SP astring / "TO" SP astring / "UNANSWERED" /
//!                   "UNDELETED" / "UNFLAGGED" / "UNKEYWORD" SP flag-keyword / "UNSEEN" / "DRAFT" /
//!                   "HEADER" SP header-fld-name SP astring / "LARGER" SP number64 /
//!                   "NOT" SP search-key / "OR" SP search-key SP search-key /
//!                   "SENTBEFORE" SP date / "SENTON" SP date / "SENTSINCE" SP date /
//!                   "SMALLER" SP number64 / "UID" SP sequence-set / "UNDRAFT" / sequence-set /
//!                   "(" search-key *(SP search-key) ")" / "NEW" / "OLD" / "RECENT" /
//!                   "MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer /
//!                   "OLDER" SP nz-number / "YOUNGER" SP nz-number
//! sequence-set    =/ "$"
//! ```
//!
//! Nesting is bounded by [`MAX_SEARCH_DEPTH`] so a peer cannot exhaust the stack.

use super::imap::Args;
use super::imap_values::{next_token, parse_date, parse_number, parse_sequence_set, skip_space, SequenceSet};
use storage::mail::SystemFlag;

/// Deepest nesting of `NOT`, `OR` and parentheses accepted.
pub const MAX_SEARCH_DEPTH: usize = 32;

/// One search criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    All,
    /// The system flag is set (`SEEN`) or, with `false`, not set (`UNSEEN`).
    Flag(SystemFlag, bool),
    Keyword(String, bool),
    /// Internal date before / on / since a day (days since the epoch).
    Before(i64),
    On(i64),
    Since(i64),
    SentBefore(i64),
    SentOn(i64),
    SentSince(i64),
    Larger(u64),
    Smaller(u64),
    /// A header field (lower-case name) contains the text; `FROM`, `TO`, `CC`, `BCC`, `SUBJECT`
    /// and `HEADER` all become this.
    Header(String, Vec<u8>),
    Body(Vec<u8>),
    Text(Vec<u8>),
    Uid(SequenceSet),
    Sequence(SequenceSet),
    ModSeq(u64),
    /// `OLDER n`: INTERNALDATE at least `n` seconds before the search runs (RFC 5032).
    Older(u64),
    /// `YOUNGER n`: INTERNALDATE less than `n` seconds before the search runs (RFC 5032).
    Younger(u64),
    /// Never matches (kept for callers that need an empty key).
    Nothing,
    /// `RECENT`: recent to this session (`NEW` is `RECENT UNSEEN`, `OLD` is `NOT RECENT`).
    Recent,
    Not(Box<SearchKey>),
    Or(Box<SearchKey>, Box<SearchKey>),
    And(Vec<SearchKey>),
}

/// ESEARCH return options (RFC 4731), and SEARCHRES's `SAVE` (RFC 5182).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchReturn {
    pub min: bool,
    pub max: bool,
    pub all: bool,
    pub count: bool,
    /// Keep the result for `$`.
    pub save: bool,
}

impl SearchReturn {
    /// Whether an `* ESEARCH` response is due: not when `SAVE` is the only option (RFC 5182 §2.1).
    pub fn answers(&self) -> bool {
        self.min || self.max || self.all || self.count
    }

    /// With `SAVE`, whether only the MIN and/or MAX message is kept: when MIN or MAX comes
    /// without ALL or COUNT (RFC 5182 §2.1); otherwise every match is.
    pub fn saves_min_max_only(&self) -> bool {
        (self.min || self.max) && !(self.all || self.count)
    }
}

/// A parsed SEARCH command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchProgram {
    /// `Some` when `RETURN (...)` was given: the answer is `* ESEARCH`.
    pub returns: Option<SearchReturn>,
    pub key: SearchKey,
}

/// Parses the arguments of SEARCH / UID SEARCH.
pub fn parse_search(input: &[u8]) -> Result<SearchProgram, &'static str> {
    let mut rest = input;
    let mut returns = None;
    if word_is(rest, "RETURN") {
        let after = rest[6..].strip_prefix(b" (").ok_or("RETURN needs a list")?;
        let close = memchr::memchr(b')', after).ok_or("Unterminated RETURN list")?;
        let mut options = SearchReturn::default();
        for option in after[..close].split(|&b| b == b' ').filter(|o| !o.is_empty()) {
            match option.to_ascii_uppercase().as_slice() {
                b"MIN" => options.min = true,
                b"MAX" => options.max = true,
                b"ALL" => options.all = true,
                b"COUNT" => options.count = true,
                b"SAVE" => options.save = true,
                _ => return Err("Unknown search return option"),
            }
        }
        if options == SearchReturn::default() {
            options.all = true;
        }
        returns = Some(options);
        rest = skip_space(&after[close + 1..])?;
    }
    if word_is(rest, "CHARSET") {
        let mut args = Args::new(&rest[8..]);
        let charset = args.astring()?;
        if !charset.eq_ignore_ascii_case(b"UTF-8") && !charset.eq_ignore_ascii_case(b"US-ASCII") {
            return Err("[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
        }
        rest = args.rest();
    }
    let mut keys = Vec::new();
    while !rest.is_empty() {
        let (key, more) = parse_key(rest, 0)?;
        keys.push(key);
        rest = skip_space(more)?;
    }
    let key = match keys.len() {
        0 => return Err("Missing search criteria"),
        1 => keys.pop().unwrap_or(SearchKey::All),
        _ => SearchKey::And(keys),
    };
    Ok(SearchProgram { returns, key })
}

/// Whether SEARCH arguments ask to `SAVE` the result, judged from the `RETURN (...)` list alone,
/// so that a SEARCH refused for its syntax still empties `$` (RFC 5182 §2.1).
pub fn requests_save(input: &[u8]) -> bool {
    if !word_is(input, "RETURN") {
        return false;
    }
    let list = &input[7..];
    let list = &list[..memchr::memchr(b')', list).unwrap_or(list.len())];
    list.split(|&b| b == b' ' || b == b'(').any(|w| w.eq_ignore_ascii_case(b"SAVE"))
}

fn word_is(input: &[u8], word: &str) -> bool {
    input.len() > word.len() && input[..word.len()].eq_ignore_ascii_case(word.as_bytes()) && input[word.len()] == b' '
}

/// Parses one key; returns it and the text right after it (SP not consumed).
fn parse_key(input: &[u8], depth: usize) -> Result<(SearchKey, &[u8]), &'static str> {
    if depth > MAX_SEARCH_DEPTH {
        return Err("Search criteria nested too deeply");
    }
    if let Some(mut list) = input.strip_prefix(b"(") {
        let mut keys = Vec::new();
        loop {
            let (key, rest) = parse_key(list, depth + 1)?;
            keys.push(key);
            match rest {
                [b')', more @ ..] => return Ok((SearchKey::And(keys), more)),
                [b' ', more @ ..] => list = more,
                _ => return Err("Expected SP or ) in search list"),
            }
        }
    }
    if input.first().is_some_and(|&b| b.is_ascii_digit() || b == b'*' || b == b'$') {
        let (set, rest) = parse_set_token(input)?;
        return Ok((SearchKey::Sequence(set), rest));
    }
    let end = input.iter().position(|&b| b == b' ' || b == b')').unwrap_or(input.len());
    let (word, rest) = input.split_at(end);
    let word = word.to_ascii_uppercase();
    let flag = |f, set| Ok((SearchKey::Flag(f, set), rest));
    match word.as_slice() {
        b"ALL" => Ok((SearchKey::All, rest)),
        b"ANSWERED" => flag(SystemFlag::Answered, true),
        b"DELETED" => flag(SystemFlag::Deleted, true),
        b"FLAGGED" => flag(SystemFlag::Flagged, true),
        b"SEEN" => flag(SystemFlag::Seen, true),
        b"DRAFT" => flag(SystemFlag::Draft, true),
        b"UNANSWERED" => flag(SystemFlag::Answered, false),
        b"UNDELETED" => flag(SystemFlag::Deleted, false),
        b"UNFLAGGED" => flag(SystemFlag::Flagged, false),
        b"UNSEEN" => flag(SystemFlag::Seen, false),
        b"UNDRAFT" => flag(SystemFlag::Draft, false),
        b"RECENT" => Ok((SearchKey::Recent, rest)),
        b"NEW" => Ok((SearchKey::And(vec![SearchKey::Recent, SearchKey::Flag(SystemFlag::Seen, false)]), rest)),
        b"OLD" => Ok((SearchKey::Not(Box::new(SearchKey::Recent)), rest)),
        b"NOT" => {
            let (key, rest) = parse_key(argument(rest)?, depth + 1)?;
            Ok((SearchKey::Not(Box::new(key)), rest))
        }
        b"OR" => {
            let (a, rest) = parse_key(argument(rest)?, depth + 1)?;
            let (b, rest) = parse_key(argument(rest)?, depth + 1)?;
            Ok((SearchKey::Or(Box::new(a), Box::new(b)), rest))
        }
        b"UID" => {
            let (set, rest) = parse_set_token(argument(rest)?)?;
            Ok((SearchKey::Uid(set), rest))
        }
        b"KEYWORD" | b"UNKEYWORD" => {
            let (value, rest) = astring(argument(rest)?)?;
            let keyword = String::from_utf8(value).map_err(|_| "Invalid keyword")?;
            Ok((SearchKey::Keyword(keyword, word == b"KEYWORD"), rest))
        }
        b"BEFORE" | b"ON" | b"SINCE" | b"SENTBEFORE" | b"SENTON" | b"SENTSINCE" => {
            let arg = argument(rest)?;
            let end = date_end(arg);
            let (day, _) = parse_date(&arg[..end])?;
            let key = match word.as_slice() {
                b"BEFORE" => SearchKey::Before(day),
                b"ON" => SearchKey::On(day),
                b"SINCE" => SearchKey::Since(day),
                b"SENTBEFORE" => SearchKey::SentBefore(day),
                b"SENTON" => SearchKey::SentOn(day),
                _ => SearchKey::SentSince(day),
            };
            Ok((key, &arg[end..]))
        }
        b"OLDER" | b"YOUNGER" => {
            let arg = argument(rest)?;
            let end = arg.iter().position(|&b| b == b' ' || b == b')').unwrap_or(arg.len());
            let seconds = parse_number(&arg[..end]).filter(|&n| n > 0).ok_or("Invalid interval: expected seconds")?;
            let key = if word == b"OLDER" { SearchKey::Older(seconds) } else { SearchKey::Younger(seconds) };
            Ok((key, &arg[end..]))
        }
        b"LARGER" | b"SMALLER" | b"MODSEQ" => {
            let mut arg = argument(rest)?;
            if word.as_slice() == b"MODSEQ" && arg.starts_with(b"\"") {
                // search-modseq-ext = SP entry-name SP entry-type-req (RFC 7162 §3.4): the entry's
                // MODSEQ is at most the message's, which is what is compared.
                let (_entry, after) = astring(arg)?;
                let (entry_type, after) = next_token(argument(after)?);
                if !matches!(entry_type.to_ascii_lowercase().as_slice(), b"priv" | b"shared" | b"all") {
                    return Err("Invalid MODSEQ entry type");
                }
                arg = after;
            }
            let end = arg.iter().position(|b| !b.is_ascii_digit()).unwrap_or(arg.len());
            let n = parse_number(&arg[..end]).ok_or("Invalid number")?;
            let key = match word.as_slice() {
                b"LARGER" => SearchKey::Larger(n),
                b"SMALLER" => SearchKey::Smaller(n),
                _ => SearchKey::ModSeq(n),
            };
            Ok((key, &arg[end..]))
        }
        b"FROM" | b"TO" | b"CC" | b"BCC" | b"SUBJECT" | b"BODY" | b"TEXT" => {
            let (value, rest) = astring(argument(rest)?)?;
            let key = match word.as_slice() {
                b"BODY" => SearchKey::Body(value),
                b"TEXT" => SearchKey::Text(value),
                name => SearchKey::Header(String::from_utf8_lossy(name).to_ascii_lowercase(), value),
            };
            Ok((key, rest))
        }
        b"HEADER" => {
            let (name, rest) = astring(argument(rest)?)?;
            let (value, rest) = astring(argument(rest)?)?;
            Ok((SearchKey::Header(String::from_utf8_lossy(&name).to_ascii_lowercase(), value), rest))
        }
        _ => Err("Unknown search key"),
    }
}

fn argument(rest: &[u8]) -> Result<&[u8], &'static str> {
    rest.strip_prefix(b" ").filter(|r| !r.is_empty()).ok_or("Missing search argument")
}

fn parse_set_token(input: &[u8]) -> Result<(SequenceSet, &[u8]), &'static str> {
    let end = input.iter().position(|&b| b == b' ' || b == b')').unwrap_or(input.len());
    let (set, tail) = parse_sequence_set(&input[..end])?;
    if !tail.is_empty() {
        return Err("Invalid sequence set");
    }
    Ok((set, &input[end..]))
}

fn date_end(arg: &[u8]) -> usize {
    if arg.first() == Some(&b'"') {
        memchr::memchr(b'"', &arg[1..]).map_or(arg.len(), |i| i + 2)
    } else {
        arg.iter().position(|&b| b == b' ' || b == b')').unwrap_or(arg.len())
    }
}

/// Reads one astring (atom, quoted string or literal), leaving the separator after it in place.
fn astring(input: &[u8]) -> Result<(Vec<u8>, &[u8]), &'static str> {
    match input.first() {
        Some(b'"') => {
            let mut value = Vec::new();
            let mut i = 1;
            while let Some(&b) = input.get(i) {
                match b {
                    b'"' => return Ok((value, &input[i + 1..])),
                    b'\\' => {
                        let next = *input.get(i + 1).ok_or("Unterminated quoted string")?;
                        if next != b'"' && next != b'\\' {
                            return Err("Invalid escape in quoted string");
                        }
                        value.push(next);
                        i += 2;
                    }
                    b'\r' | b'\n' | 0 => return Err("Invalid character in quoted string"),
                    b => {
                        value.push(b);
                        i += 1;
                    }
                }
            }
            Err("Unterminated quoted string")
        }
        Some(b'{') => {
            let close = memchr::memchr(b'}', input).ok_or("Invalid literal")?;
            let spec = &input[1..close];
            let size = parse_number(spec.strip_suffix(b"+").unwrap_or(spec)).ok_or("Invalid literal size")?;
            let data = input
                .get(close + 1..)
                .and_then(|d| d.strip_prefix(b"\r\n"))
                .ok_or("Literal must be followed by CRLF")?;
            let size = usize::try_from(size).map_err(|_| "Literal too large")?;
            if data.len() < size {
                return Err("Literal shorter than announced");
            }
            Ok((data[..size].to_vec(), &data[size..]))
        }
        _ => {
            let end = input.iter().position(|&b| b == b' ' || b == b')').unwrap_or(input.len());
            if end == 0 {
                return Err("Missing search argument");
            }
            Ok((input[..end].to_vec(), &input[end..]))
        }
    }
}

#[cfg(test)]
#[path = "imap_search_tests.rs"]
mod tests;
