//! SMTP command lines (RFC 5321 §4.1), sans I/O and zero-copy.
//!
//! [`LineFramer`] finds the end of one command line with memchr and enforces the line limit;
//! [`parse_command`] turns the line into a [`Command`] whose arguments borrow the read buffer.
//!
//! ```text
//! command   = verb [SP argument-text] CRLF
//! ehlo      = "EHLO" SP ( Domain / address-literal ) CRLF
//! auth      = "AUTH" SP sasl-mech [SP initial-response] CRLF      ; RFC 4954
//! ```
//!
//! Command lines may end in a bare LF (as many MTAs accept); message content is framed elsewhere
//! ([`super::smtp_data`]) and strictly, because that is where SMTP smuggling lives.

use memchr::memchr;

/// What the line framer found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// `buf[..len]` is one line, terminator included.
    Complete { len: usize },
    /// No line end yet; read more.
    Incomplete,
    /// The line exceeds the limit (reported once per line); `buf[..len]` may be dropped now.
    TooLong { len: usize },
    /// `buf[..len]` is more of a too-long line, to be dropped silently.
    Skipped { len: usize },
}

/// Finds line ends, remembering how far it has searched and whether it is skipping the tail of a
/// too-long line.
#[derive(Debug, Clone)]
pub struct LineFramer {
    max_line_bytes: usize,
    scanned: usize,
    skipping: bool,
}

impl LineFramer {
    pub fn new(max_line_bytes: usize) -> Self {
        LineFramer { max_line_bytes, scanned: 0, skipping: false }
    }

    /// Looks for one line at the start of `buf`.
    pub fn frame(&mut self, buf: &[u8]) -> Line {
        if self.skipping {
            return match memchr(b'\n', buf) {
                Some(i) => {
                    self.skipping = false;
                    self.scanned = 0;
                    Line::Skipped { len: i + 1 }
                }
                None if buf.is_empty() => Line::Incomplete,
                None => Line::Skipped { len: buf.len() },
            };
        }
        match memchr(b'\n', &buf[self.scanned.min(buf.len())..]) {
            Some(i) => {
                let len = self.scanned + i + 1;
                self.scanned = 0;
                if len > self.max_line_bytes {
                    Line::TooLong { len }
                } else {
                    Line::Complete { len }
                }
            }
            None if buf.len() > self.max_line_bytes => {
                self.scanned = 0;
                self.skipping = true;
                Line::TooLong { len: buf.len() }
            }
            None => {
                self.scanned = buf.len();
                Line::Incomplete
            }
        }
    }
}

/// One SMTP (or LMTP) command, arguments borrowed from the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    Ehlo(&'a [u8]),
    Helo(&'a [u8]),
    Lhlo(&'a [u8]),
    /// `MAIL FROM:<reverse-path> [params]`: the path without brackets, and the parameter text.
    Mail {
        path: &'a [u8],
        params: &'a [u8],
    },
    /// `RCPT TO:<forward-path> [params]`.
    Rcpt {
        path: &'a [u8],
        params: &'a [u8],
    },
    Data,
    Bdat {
        size: u64,
        last: bool,
    },
    Rset,
    Noop,
    Quit,
    Vrfy(&'a [u8]),
    Help,
    Starttls,
    /// `AUTH mechanism [initial-response]`.
    Auth {
        mechanism: &'a [u8],
        initial: Option<&'a [u8]>,
    },
}

/// Why a line is not a command we can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Unknown verb: `500 5.5.1`.
    Unrecognized,
    /// Known verb, bad arguments: `501 5.5.4` with this reason.
    Syntax(&'static str),
}

/// Parses one command line (terminator included or not).
pub fn parse_command(line: &[u8]) -> Result<Command<'_>, ParseError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let (verb, arg) = match memchr(b' ', line) {
        Some(i) => (&line[..i], trim(&line[i + 1..])),
        None => (line, &b""[..]),
    };
    let is = |name: &str| verb.eq_ignore_ascii_case(name.as_bytes());
    let no_args =
        |cmd: Command<'static>| if arg.is_empty() { Ok(cmd) } else { Err(ParseError::Syntax("No parameters allowed")) };
    if is("EHLO") || is("HELO") || is("LHLO") {
        if arg.is_empty() {
            return Err(ParseError::Syntax("A domain name or address literal is required"));
        }
        return Ok(if is("EHLO") {
            Command::Ehlo(arg)
        } else if is("HELO") {
            Command::Helo(arg)
        } else {
            Command::Lhlo(arg)
        });
    }
    if is("MAIL") {
        let (path, params) = path_argument(arg, b"FROM:")?;
        return Ok(Command::Mail { path, params });
    }
    if is("RCPT") {
        let (path, params) = path_argument(arg, b"TO:")?;
        return Ok(Command::Rcpt { path, params });
    }
    if is("DATA") {
        return no_args(Command::Data);
    }
    if is("BDAT") {
        return parse_bdat(arg);
    }
    if is("RSET") {
        return no_args(Command::Rset);
    }
    if is("NOOP") {
        return Ok(Command::Noop);
    }
    if is("QUIT") {
        return no_args(Command::Quit);
    }
    if is("VRFY") {
        return Ok(Command::Vrfy(arg));
    }
    if is("HELP") {
        return Ok(Command::Help);
    }
    if is("STARTTLS") {
        return no_args(Command::Starttls);
    }
    if is("AUTH") {
        if arg.is_empty() {
            return Err(ParseError::Syntax("AUTH needs a mechanism"));
        }
        let (mechanism, initial) = match memchr(b' ', arg) {
            Some(i) => (&arg[..i], Some(trim(&arg[i + 1..]))),
            None => (arg, None),
        };
        return Ok(Command::Auth { mechanism, initial });
    }
    Err(ParseError::Unrecognized)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ').unwrap_or(s.len());
    let end = s.iter().rposition(|&b| b != b' ').map_or(start, |i| i + 1);
    &s[start..end]
}

/// Splits `FROM:<path> params` (or `TO:`). A space after the colon is tolerated, as most servers
/// do; the angle brackets are required (RFC 5321 §4.1.2).
fn path_argument<'a>(arg: &'a [u8], keyword: &[u8]) -> Result<(&'a [u8], &'a [u8]), ParseError> {
    if arg.len() < keyword.len() || !arg[..keyword.len()].eq_ignore_ascii_case(keyword) {
        return Err(ParseError::Syntax(if keyword == b"FROM:" {
            "Syntax: MAIL FROM:<address>"
        } else {
            "Syntax: RCPT TO:<address>"
        }));
    }
    let rest = trim(&arg[keyword.len()..]);
    if rest.first() != Some(&b'<') {
        return Err(ParseError::Syntax("The address must be in angle brackets"));
    }
    let close = memchr(b'>', rest).ok_or(ParseError::Syntax("Missing closing angle bracket"))?;
    let path = &rest[1..close];
    let params = trim(&rest[close + 1..]);
    if !params.is_empty() && rest.get(close + 1) != Some(&b' ') {
        return Err(ParseError::Syntax("Parameters must follow the address after a space"));
    }
    Ok((path, params))
}

fn parse_bdat(arg: &[u8]) -> Result<Command<'_>, ParseError> {
    let (size, rest) = match memchr(b' ', arg) {
        Some(i) => (&arg[..i], trim(&arg[i + 1..])),
        None => (arg, &b""[..]),
    };
    if size.is_empty() || size.len() > 19 || !size.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::Syntax("Syntax: BDAT size [LAST]"));
    }
    let size = size.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    let last = match rest {
        b"" => false,
        r if r.eq_ignore_ascii_case(b"LAST") => true,
        _ => return Err(ParseError::Syntax("Syntax: BDAT size [LAST]")),
    };
    Ok(Command::Bdat { size, last })
}

#[cfg(test)]
#[path = "smtp_tests.rs"]
mod tests;
