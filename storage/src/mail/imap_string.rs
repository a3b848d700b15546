//! IMAP string encoding for the ready-to-send metadata (ENVELOPE, BODYSTRUCTURE).
//!
//! RFC 3501 §9 / RFC 9051 §9:
//!
//! ```text
//! nstring         = string / nil
//! string          = quoted / literal
//! quoted          = DQUOTE *QUOTED-CHAR DQUOTE
//! QUOTED-CHAR     = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials
//! quoted-specials = DQUOTE / "\"
//! literal         = "{" number "}" CRLF *CHAR8   ; CHAR8 = %x01-ff
//! ```
//!
//! A value that is plain 7-bit text without CR or LF is sent quoted; anything else (8-bit bytes, line
//! breaks) as a literal. NUL is not a CHAR8, so it is dropped from header-derived values (the stored
//! message itself stays byte-exact).

/// Longest value sent as a quoted string; longer ones become literals.
const MAX_QUOTED_BYTES: usize = 1024;

/// Appends `value` as an IMAP `string`.
pub fn push_string(out: &mut Vec<u8>, value: &[u8]) {
    let quotable =
        value.len() <= MAX_QUOTED_BYTES && value.iter().all(|&b| (0x01..0x80).contains(&b) && b != b'\r' && b != b'\n');
    if quotable {
        out.push(b'"');
        for &b in value {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        let kept = value.iter().filter(|&&b| b != 0).count();
        out.extend_from_slice(format!("{{{kept}}}\r\n").as_bytes());
        out.extend(value.iter().copied().filter(|&b| b != 0));
    }
}

/// Appends `value` as an IMAP `nstring`: `NIL` when absent.
pub(crate) fn push_nstring(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(v) => push_string(out, v),
        None => out.extend_from_slice(b"NIL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        push_string(&mut out, v);
        out
    }

    #[test]
    fn quotes_plain_text_and_escapes_specials() {
        assert_eq!(enc(b"a \"b\" \\c"), b"\"a \\\"b\\\" \\\\c\"");
        assert_eq!(enc(b""), b"\"\"");
    }

    #[test]
    fn eight_bit_and_line_breaks_become_literals() {
        assert_eq!(enc("caf\u{e9}".as_bytes()), b"{5}\r\ncaf\xc3\xa9");
        assert_eq!(enc(b"a\r\nb"), b"{4}\r\na\r\nb");
        assert_eq!(enc(b"a\0b\x80"), b"{3}\r\nab\x80");
    }
}
