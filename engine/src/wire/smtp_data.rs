//! The SMTP `DATA` payload (RFC 5321 §4.1.1.4, §4.5.2), sans I/O: find the end of data and undo
//! dot-stuffing while the bytes stream in.
//!
//! ```text
//! data-payload = *( line CRLF ) "." CRLF       ; the DATA command's own CRLF starts the first line
//! line         = [ "." ] *( any octet )        ; a leading "." is removed (dot-unstuffing)
//! ```
//!
//! Only `<CRLF>.<CRLF>` ends the data. A bare LF or a bare CR never starts a line, so `\n.\r\n`,
//! `\r\n.\n`, `\n.\n` and `\r.\r` are ordinary content: this is what closes the door on SMTP
//! smuggling (one server seeing the end of a message where the next one does not).
//!
//! [`DataDecoder`] keeps a few bits of state between calls, so input may be split anywhere; it
//! scans with memchr for CR and copies whole runs of content at once.

use memchr::memchr;

/// Where in the line structure the decoder stands after the bytes consumed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Just after a CRLF (or at the start): a `.` here is special.
    LineStart,
    /// Inside a line.
    Middle,
    /// Inside a line, just after a CR (already emitted).
    Cr,
    /// A `.` at the start of a line (not emitted yet).
    Dot,
    /// `.` CR at the start of a line (neither emitted yet).
    DotCr,
    /// `<CRLF>.<CRLF>` was seen.
    Done,
}

/// What one call of [`DataDecoder::decode`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Input bytes used; when `end` is true, the bytes after them belong to the next command.
    pub consumed: usize,
    /// The terminating `.` CRLF was consumed.
    pub end: bool,
}

/// Streams one DATA payload: feed it input, it appends the unstuffed content to `out`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDecoder {
    state: State,
}

impl Default for DataDecoder {
    fn default() -> Self {
        DataDecoder::new()
    }
}

impl DataDecoder {
    /// A decoder positioned just after the `DATA` command line.
    pub fn new() -> Self {
        DataDecoder { state: State::LineStart }
    }

    /// Whether the end of data has been seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes `input` up to the end of data (or all of it), appending content to `out`. Runs in
    /// time linear in the bytes consumed.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Decoded {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Done => break,
                State::Middle => match memchr(b'\r', &input[i..]) {
                    Some(at) => {
                        out.extend_from_slice(&input[i..i + at + 1]);
                        i += at + 1;
                        self.state = State::Cr;
                    }
                    None => {
                        out.extend_from_slice(&input[i..]);
                        i = input.len();
                    }
                },
                State::Cr => match input[i] {
                    b'\n' => {
                        out.push(b'\n');
                        i += 1;
                        self.state = State::LineStart;
                    }
                    b'\r' => {
                        out.push(b'\r');
                        i += 1;
                    }
                    _ => self.state = State::Middle,
                },
                State::LineStart => {
                    if input[i] == b'.' {
                        i += 1;
                        self.state = State::Dot;
                    } else {
                        self.state = State::Middle;
                    }
                }
                // The dot of a stuffed line is dropped; what follows is ordinary content.
                State::Dot => {
                    if input[i] == b'\r' {
                        i += 1;
                        self.state = State::DotCr;
                    } else {
                        self.state = State::Middle;
                    }
                }
                State::DotCr => {
                    if input[i] == b'\n' {
                        i += 1;
                        self.state = State::Done;
                    } else {
                        // "." CR then something else: the dot goes, the CR is content.
                        out.push(b'\r');
                        self.state = State::Cr;
                    }
                }
            }
        }
        Decoded { consumed: i, end: self.state == State::Done }
    }
}

/// Writes `message` as a DATA payload into `out`: a `.` at the start of a line (after CRLF, or
/// at the very start) is doubled, a final CRLF is added if the message lacks one, then the `.`
/// CRLF terminator. The inverse of [`DataDecoder`] for messages that end in CRLF.
pub fn encode_data(message: &[u8], out: &mut Vec<u8>) {
    out.reserve(message.len() + message.len() / 64 + 5);
    if !message.is_empty() {
        let mut from = 0;
        if message[0] == b'.' {
            out.push(b'.');
        }
        for at in memchr::memmem::find_iter(message, b"\r\n.") {
            out.extend_from_slice(&message[from..at + 2]);
            out.push(b'.');
            from = at + 2;
        }
        out.extend_from_slice(&message[from..]);
        if !message.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b".\r\n");
}

#[cfg(test)]
#[path = "smtp_data_tests.rs"]
mod tests;
