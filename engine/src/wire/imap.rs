//! IMAP command framing and tokenising (RFC 9051 §2.2, §4), sans I/O and zero-copy.
//!
//! Two steps, so that literal bytes can never be read as a command:
//!
//! 1. [`CommandFramer`] finds where one whole command ends in the read buffer, literals included.
//!    It scans for line ends with memchr; a line ending in `{N}` (synchronising) or `{N+}`
//!    (LITERAL+) announces N literal bytes that are skipped without being looked at. "Need more
//!    bytes" ([`Frame::Incomplete`]) and "tell the client to go on" ([`Frame::Continue`]) are normal
//!    outcomes, not errors. A literal above the limits ([`Frame::LiteralTooLarge`]) ends the
//!    command; if it was non-synchronising, its bytes and the rest of its command (further lines
//!    and `{N+}` literals, as MULTIAPPEND sends them) are dropped by [`CommandFramer::discard`]
//!    as they arrive, never buffered whole and never framed.
//! 2. [`parse_command`] splits a framed command into tag, name and arguments, and [`Args`] reads
//!    the arguments as slices of the buffer (copying only quoted strings that contain escapes).
//!
//! ```text
//! command     = tag SP command-name [SP arguments] CRLF
//! tag         = 1*<any ASTRING-CHAR except "+">
//! astring     = 1*ASTRING-CHAR / string
//! string      = quoted / literal
//! quoted      = DQUOTE *QUOTED-CHAR DQUOTE
//! literal     = "{" number64 ["+"] "}" CRLF *CHAR8
//! ```

use memchr::memchr;
use std::borrow::Cow;

/// What the framer found in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// `buf[..len]` is one whole command, CRLF and literals included.
    Command { len: usize },
    /// More bytes are needed; call again when they have arrived.
    Incomplete,
    /// A synchronising literal of `size` bytes was announced and accepted: send a continuation
    /// request (`+ ...`), then call again when more bytes have arrived.
    Continue { size: u64 },
    /// The command's text (literals excluded) exceeds the line limit. `buf[..len]` is what can be
    /// thrown away now; the framer skips the rest of the line by itself.
    LineTooLong { len: usize },
    /// A literal larger than the literal limit was announced (or one that takes the command's
    /// literals past [`COMMAND_LITERAL_FACTOR`] times that limit). `buf[..len]` is the command up
    /// to and including that line; for a synchronising literal the client sends nothing more for
    /// it. A non-synchronising one follows anyway: the framer drops its bytes and then the rest of
    /// the command (the lines and literals up to the command's final line), so none of it is
    /// ever framed as a command.
    LiteralTooLarge { len: usize, size: u64, synchronizing: bool },
}

/// A command's literals together may hold at most this many times the literal limit (MULTIAPPEND
/// sends several messages in one command; this bounds what one command can make the server hold).
pub const COMMAND_LITERAL_FACTOR: u64 = 4;

/// Longest tail of a discarded line kept to see whether it announces a literal (`{` 19 digits
/// `+}` CR).
const ANNOUNCEMENT_TAIL_BYTES: usize = 24;

/// Finds command boundaries. Keeps the position of the scan between calls, so each byte of a
/// command line is looked at once however it arrives.
#[derive(Debug, Clone)]
pub struct CommandFramer {
    max_line_bytes: usize,
    max_literal_bytes: u64,
    /// Offset in the buffer where the current line segment starts (after a literal).
    segment_start: usize,
    /// Offset up to which the current segment has been searched for LF.
    scanned: usize,
    /// Command text bytes (outside literals) seen so far in this command.
    text_bytes: usize,
    /// Literal bytes still to be skipped at the start of the next segment.
    literal_pending: u64,
    /// Literal bytes announced so far in this command.
    literal_total: u64,
    /// A synchronising literal whose continuation was already requested.
    continued: bool,
    /// Bytes to drop before framing resumes (the rest of a too-long line, or a refused
    /// non-synchronising literal and the rest of its command).
    skip: Skip,
    /// The last bytes of the command line being dropped by [`Skip::CommandTail`], to see whether
    /// it ends in a literal announcement.
    tail: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    None,
    ToLineEnd,
    /// A refused non-synchronising literal's bytes; then [`Skip::CommandTail`].
    Literal(u64),
    /// The rest of a refused command: text up to the next line end; if that line announces a
    /// non-synchronising literal, the literal and again the rest.
    CommandTail,
}

impl CommandFramer {
    pub fn new(max_line_bytes: usize, max_literal_bytes: u64) -> Self {
        CommandFramer {
            max_line_bytes,
            max_literal_bytes,
            segment_start: 0,
            scanned: 0,
            text_bytes: 0,
            literal_pending: 0,
            literal_total: 0,
            continued: false,
            skip: Skip::None,
            tail: Vec::new(),
        }
    }

    /// Forgets the current command; call after consuming what a [`Frame`] pointed at.
    fn reset(&mut self) {
        self.segment_start = 0;
        self.scanned = 0;
        self.text_bytes = 0;
        self.literal_pending = 0;
        self.literal_total = 0;
        self.continued = false;
    }

    /// Bytes at the head of `buf` that belong to nothing (the tail of a refused line or literal)
    /// and may be dropped. The caller drops them before calling [`CommandFramer::frame`].
    pub fn discard(&mut self, buf: &[u8]) -> usize {
        let mut taken = 0;
        loop {
            let rest = &buf[taken..];
            match self.skip {
                Skip::None => return taken,
                Skip::ToLineEnd => {
                    return match memchr(b'\n', rest) {
                        Some(i) => {
                            self.skip = Skip::None;
                            taken + i + 1
                        }
                        None => buf.len(),
                    }
                }
                Skip::Literal(n) => {
                    let take = n.min(rest.len() as u64);
                    taken += take as usize;
                    if take < n {
                        self.skip = Skip::Literal(n - take);
                        return taken;
                    }
                    self.skip = Skip::CommandTail;
                    self.tail.clear();
                }
                Skip::CommandTail => {
                    let Some(i) = memchr(b'\n', rest) else {
                        self.keep_tail(rest);
                        return buf.len();
                    };
                    self.keep_tail(&rest[..i]);
                    taken += i + 1;
                    // A synchronising literal is never sent: the client waits for a `+` that
                    // the refused command does not get. So only `{N+}` continues the command.
                    self.skip = match literal_announcement(&self.tail) {
                        Some((size, false)) => Skip::Literal(size),
                        _ => Skip::None,
                    };
                    self.tail = Vec::new();
                }
            }
        }
    }

    /// Remembers the last [`ANNOUNCEMENT_TAIL_BYTES`] of the line being dropped.
    fn keep_tail(&mut self, bytes: &[u8]) {
        self.tail.extend_from_slice(&bytes[bytes.len().saturating_sub(ANNOUNCEMENT_TAIL_BYTES)..]);
        let excess = self.tail.len().saturating_sub(ANNOUNCEMENT_TAIL_BYTES);
        self.tail.drain(..excess);
    }

    /// Looks for one whole command at the start of `buf`. After `Command`, `LineTooLong` or
    /// `LiteralTooLarge`, the caller removes `buf[..len]` before the next call.
    pub fn frame(&mut self, buf: &[u8]) -> Frame {
        loop {
            if self.literal_pending > 0 {
                let available = (buf.len() - self.segment_start) as u64;
                if available < self.literal_pending {
                    return Frame::Incomplete;
                }
                self.segment_start += self.literal_pending as usize;
                self.scanned = self.segment_start;
                self.literal_pending = 0;
                self.continued = false;
            }
            let Some(i) = memchr(b'\n', &buf[self.scanned..]) else {
                let segment = buf.len() - self.segment_start;
                if self.text_bytes + segment > self.max_line_bytes {
                    let len = buf.len();
                    self.reset();
                    self.skip = Skip::ToLineEnd;
                    return Frame::LineTooLong { len };
                }
                self.scanned = buf.len();
                return Frame::Incomplete;
            };
            let lf = self.scanned + i;
            let line_end = lf + 1;
            self.text_bytes += line_end - self.segment_start;
            if self.text_bytes > self.max_line_bytes {
                self.reset();
                return Frame::LineTooLong { len: line_end };
            }
            match literal_announcement(&buf[self.segment_start..lf]) {
                None => {
                    self.reset();
                    return Frame::Command { len: line_end };
                }
                Some((size, synchronizing)) => {
                    let total = self.literal_total.saturating_add(size);
                    if size > self.max_literal_bytes
                        || total > self.max_literal_bytes.saturating_mul(COMMAND_LITERAL_FACTOR)
                    {
                        self.reset();
                        if !synchronizing {
                            self.skip = Skip::Literal(size);
                        }
                        return Frame::LiteralTooLarge { len: line_end, size, synchronizing };
                    }
                    self.literal_total = total;
                    self.segment_start = line_end;
                    self.scanned = line_end;
                    self.literal_pending = size;
                    if synchronizing && !self.continued && (buf.len() - line_end) as u64 == 0 {
                        self.continued = true;
                        return Frame::Continue { size };
                    }
                    if size == 0 {
                        continue;
                    }
                }
            }
        }
    }
}

/// If `line` (without its LF) ends in `{N}` or `{N+}` (optionally followed by CR), returns N and
/// whether the literal is synchronising.
fn literal_announcement(line: &[u8]) -> Option<(u64, bool)> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let body = line.strip_suffix(b"}")?;
    let open = memchr::memrchr(b'{', body)?;
    let mut digits = &body[open + 1..];
    let synchronizing = match digits.strip_suffix(b"+") {
        Some(d) => {
            digits = d;
            false
        }
        None => true,
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let size = digits.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Some((size, synchronizing))
}

/// A framed command split into its parts; all slices borrow the read buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command<'a> {
    pub tag: &'a [u8],
    /// The command name as sent; compare with [`Command::is`].
    pub name: &'a [u8],
    /// Everything after `name SP`, up to (not including) the final CRLF.
    pub args: &'a [u8],
}

impl Command<'_> {
    /// Case-insensitive command-name test.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    pub fn args(&self) -> Args<'_> {
        Args { rest: self.args }
    }
}

/// Why a command could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// No valid tag: answered with an untagged `* BAD`.
    BadTag,
    /// The tag is fine but the rest is not; the text says what.
    Syntax { tag: Vec<u8>, reason: &'static str },
}

/// Splits one framed command (as delimited by [`Frame::Command`]).
pub fn parse_command(frame: &[u8]) -> Result<Command<'_>, ParseError> {
    let line = frame.strip_suffix(b"\n").unwrap_or(frame);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let tag_end = memchr(b' ', line).unwrap_or(line.len());
    let tag = &line[..tag_end];
    if tag.is_empty() || !tag.iter().all(|&b| is_astring_char(b) && b != b'+') {
        return Err(ParseError::BadTag);
    }
    let rest = line.get(tag_end + 1..).unwrap_or_default();
    let name_end = memchr(b' ', rest).unwrap_or(rest.len());
    let name = &rest[..name_end];
    if name.is_empty() || !name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
        return Err(ParseError::Syntax { tag: tag.to_vec(), reason: "Missing or invalid command name" });
    }
    let args = rest.get(name_end + 1..).unwrap_or_default();
    Ok(Command { tag, name, args })
}

/// `ATOM-CHAR` plus `resp-specials` (`]`): what an unquoted astring may contain.
pub fn is_astring_char(b: u8) -> bool {
    matches!(b, 0x21..=0x7e) && !matches!(b, b'(' | b')' | b'{' | b' ' | b'%' | b'*' | b'"' | b'\\')
}

/// Reads arguments one at a time from a command's argument text.
#[derive(Debug, Clone)]
pub struct Args<'a> {
    rest: &'a [u8],
}

impl<'a> Args<'a> {
    pub fn new(rest: &'a [u8]) -> Self {
        Args { rest }
    }

    /// Whether every argument has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// What is left, unread.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Reads one `astring` (atom, quoted string or literal), then the SP that separates it from
    /// the next argument, if any.
    pub fn astring(&mut self) -> Result<Cow<'a, [u8]>, &'static str> {
        let value = self.astring_value()?;
        self.separator()?;
        Ok(value)
    }

    /// Reads one `astring` and leaves what follows it (SP, `)`, ...) unread, for values inside
    /// parenthesised lists.
    pub fn astring_value(&mut self) -> Result<Cow<'a, [u8]>, &'static str> {
        let value = match self.rest.first() {
            None => return Err("Missing argument"),
            Some(b'"') => self.quoted()?,
            Some(b'{') => Cow::Borrowed(self.literal()?),
            Some(_) => {
                let end = self.rest.iter().position(|&b| !is_astring_char(b)).unwrap_or(self.rest.len());
                if end == 0 {
                    return Err("Invalid character in argument");
                }
                let (atom, rest) = self.rest.split_at(end);
                self.rest = rest;
                Cow::Borrowed(atom)
            }
        };
        Ok(value)
    }

    /// Reads one atom (no quoting), then its separator.
    pub fn atom(&mut self) -> Result<&'a [u8], &'static str> {
        let end = self.rest.iter().position(|&b| !is_astring_char(b) || b == b']').unwrap_or(self.rest.len());
        if end == 0 {
            return Err("Missing or invalid atom");
        }
        let (atom, rest) = self.rest.split_at(end);
        self.rest = rest;
        self.separator()?;
        Ok(atom)
    }

    fn separator(&mut self) -> Result<(), &'static str> {
        match self.rest.first() {
            None => Ok(()),
            Some(b' ') => {
                self.rest = &self.rest[1..];
                if self.rest.is_empty() {
                    Err("Trailing space")
                } else {
                    Ok(())
                }
            }
            Some(_) => Err("Arguments must be separated by one space"),
        }
    }

    fn quoted(&mut self) -> Result<Cow<'a, [u8]>, &'static str> {
        let body = &self.rest[1..];
        let mut owned: Option<Vec<u8>> = None;
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b'"' => {
                    let value = match owned {
                        Some(v) => Cow::Owned(v),
                        None => Cow::Borrowed(&body[..i]),
                    };
                    self.rest = &body[i + 1..];
                    return Ok(value);
                }
                b'\\' => {
                    let Some(&next) = body.get(i + 1) else { break };
                    if next != b'"' && next != b'\\' {
                        return Err("Invalid escape in quoted string");
                    }
                    owned.get_or_insert_with(|| body[..i].to_vec()).push(next);
                    i += 2;
                }
                b'\r' | b'\n' | 0 => return Err("Invalid character in quoted string"),
                b => {
                    if let Some(v) = owned.as_mut() {
                        v.push(b);
                    }
                    i += 1;
                }
            }
        }
        Err("Unterminated quoted string")
    }

    fn literal(&mut self) -> Result<&'a [u8], &'static str> {
        let close = memchr(b'}', self.rest).ok_or("Invalid literal")?;
        let spec = &self.rest[1..close];
        let digits = spec.strip_suffix(b"+").unwrap_or(spec);
        if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
            return Err("Invalid literal size");
        }
        let size = digits.iter().fold(0usize, |n, d| n.saturating_mul(10).saturating_add(usize::from(d - b'0')));
        let after = &self.rest[close + 1..];
        let data_start = if after.starts_with(b"\r\n") {
            2
        } else if after.starts_with(b"\n") {
            1
        } else {
            return Err("Literal must be followed by CRLF");
        };
        let data = after.get(data_start..data_start + size).ok_or("Literal shorter than announced")?;
        self.rest = &after[data_start + size..];
        Ok(data)
    }
}

#[cfg(test)]
#[path = "imap_tests.rs"]
mod tests;
