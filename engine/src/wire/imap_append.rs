//! APPEND arguments (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502): one or more messages, each
//! with its own flags and date, in one command. Sans I/O and zero-copy: each message is a slice
//! of the framed command (the framer has already checked every literal's size).
//!
//! ```text
//! append          = "APPEND" SP mailbox 1*append-message
//! append-message  = append-opts SP append-data
//! append-opts     = [SP flag-list] [SP date-time]
//! append-data     = literal / literal8
//! literal         = "{" number64 ["+"] "}" CRLF *CHAR8
//! literal8        = "~{" number64 ["+"] "}" CRLF *OCTET   ; BINARY, RFC 3516 §4.4
//! ```
//!
//! (RFC 4466 §2.3 spells `append` this way; RFC 3502 §6.3.11 allows more than one message.)

use super::imap::Args;
use super::imap_values::{parse_date_time, parse_flag_list, parse_number};
use std::borrow::Cow;
use storage::mail::Flags;

/// One message of an APPEND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage<'a> {
    pub flags: Flags,
    /// The `date-time` given, in seconds since the epoch; `None` means "now".
    pub internal_date: Option<i64>,
    /// The literal's bytes.
    pub data: &'a [u8],
    /// The message came as a `literal8` (BINARY): it may hold NUL bytes.
    pub literal8: bool,
}

/// The parsed arguments of APPEND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendArgs<'a> {
    /// The mailbox name as sent (astring value).
    pub mailbox: Cow<'a, [u8]>,
    /// At least one message, in the order sent.
    pub messages: Vec<AppendMessage<'a>>,
}

/// Parses the arguments of APPEND (everything after `APPEND SP`, without the final CRLF).
pub fn parse_append(args: &[u8]) -> Result<AppendArgs<'_>, &'static str> {
    let mut parsed = Args::new(args);
    let mailbox = parsed.astring().map_err(|_| "Syntax: APPEND mailbox [flags] [date-time] literal ...")?;
    let mut rest = parsed.rest();
    let mut messages = Vec::new();
    loop {
        let (message, after) = append_message(rest)?;
        messages.push(message);
        match after {
            [] => break,
            [b' ', more @ ..] if !more.is_empty() => rest = more,
            _ => return Err("Expected SP and another message, or the end of the command, after a literal"),
        }
    }
    Ok(AppendArgs { mailbox, messages })
}

/// One `append-message`, and the text right after its literal.
fn append_message(mut rest: &[u8]) -> Result<(AppendMessage<'_>, &[u8]), &'static str> {
    let mut flags = Flags::new();
    if rest.starts_with(b"(") {
        let (f, r) = parse_flag_list(rest, false)?;
        flags = f;
        rest = r;
    }
    let mut internal_date = None;
    if rest.starts_with(b"\"") {
        let (d, r) = parse_date_time(rest)?;
        internal_date = Some(d);
        rest = r;
    }
    let literal8 = rest.starts_with(b"~{");
    let (data, after) = literal(rest.strip_prefix(b"~").unwrap_or(rest))?;
    Ok((AppendMessage { flags, internal_date, data, literal8 }, after))
}

/// A `literal` at the start of `input`: its bytes and the text after them.
fn literal(input: &[u8]) -> Result<(&[u8], &[u8]), &'static str> {
    let after = input.strip_prefix(b"{").ok_or("APPEND needs each message as a literal")?;
    let close = memchr::memchr(b'}', after).ok_or("Invalid literal")?;
    let spec = &after[..close];
    let size = parse_number(spec.strip_suffix(b"+").unwrap_or(spec)).ok_or("Invalid literal size")?;
    let tail = &after[close + 1..];
    let data =
        tail.strip_prefix(b"\r\n").or_else(|| tail.strip_prefix(b"\n")).ok_or("Literal must be followed by CRLF")?;
    let size = usize::try_from(size).map_err(|_| "Literal too large")?;
    if data.len() < size {
        return Err("Literal shorter than announced");
    }
    Ok(data.split_at(size))
}

#[cfg(test)]
#[path = "imap_append_tests.rs"]
mod tests;
