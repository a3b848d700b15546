//! Content-Transfer-Encoding decoding (RFC 2045 §6), sans I/O: what IMAP BINARY (RFC 3516)
//! returns instead of the encoded bytes.
//!
//! ```text
//! encoding  := "Content-Transfer-Encoding" ":" mechanism
//! mechanism := "7bit" / "8bit" / "binary" / "quoted-printable" / "base64" / ietf-token / x-token
//! ```
//!
//! Both decoders are lenient the way RFC 2045 asks readers to be: base64 ignores every byte outside
//! its alphabet (line breaks, spaces, stray characters); quoted-printable keeps an `=` that does not
//! start a valid escape as it is, and drops the transport padding (spaces and tabs) at line ends.
//! Neither ever fails, and each output is at most as long as its input.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// A transfer encoding a part may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEncoding {
    /// `7bit`, `8bit`, `binary` or no field: the bytes are the content.
    Identity,
    Base64,
    QuotedPrintable,
}

impl TransferEncoding {
    /// The mechanism named in a `Content-Transfer-Encoding` field's value (case-insensitive,
    /// comments and surrounding space ignored); `None` for one this server cannot undo (RFC 3516
    /// answers `NO [UNKNOWN-CTE]`).
    pub fn parse(value: &[u8]) -> Option<TransferEncoding> {
        let value = match memchr::memchr(b'(', value) {
            Some(comment) => &value[..comment],
            None => value,
        };
        let value = value.trim_ascii();
        if value.is_empty()
            || value.eq_ignore_ascii_case(b"7bit")
            || value.eq_ignore_ascii_case(b"8bit")
            || value.eq_ignore_ascii_case(b"binary")
        {
            Some(TransferEncoding::Identity)
        } else if value.eq_ignore_ascii_case(b"base64") {
            Some(TransferEncoding::Base64)
        } else if value.eq_ignore_ascii_case(b"quoted-printable") {
            Some(TransferEncoding::QuotedPrintable)
        } else {
            None
        }
    }

    /// The encoding named by the `Content-Transfer-Encoding` field of a MIME `header` (the last
    /// one wins, folded lines joined); identity when there is none; `None` if unknown.
    pub fn of_header(header: &[u8]) -> Option<TransferEncoding> {
        let mut found: Option<Vec<u8>> = None;
        let mut current: Option<Vec<u8>> = None;
        for line in header.split_inclusive(|&b| b == b'\n') {
            let folded = matches!(line.first(), Some(b' ' | b'\t'));
            if folded {
                if let Some(value) = current.as_mut() {
                    value.extend_from_slice(line.trim_ascii_end());
                }
                continue;
            }
            if let Some(value) = current.take() {
                found = Some(value);
            }
            const NAME: &[u8] = b"content-transfer-encoding";
            if line.len() > NAME.len() && line[..NAME.len()].eq_ignore_ascii_case(NAME) {
                let rest = line[NAME.len()..].trim_ascii_start();
                if let Some(value) = rest.strip_prefix(b":") {
                    current = Some(value.trim_ascii_end().to_vec());
                }
            }
        }
        match current.or(found) {
            Some(value) => TransferEncoding::parse(&value),
            None => Some(TransferEncoding::Identity),
        }
    }

    /// `content` with this encoding undone.
    pub fn decode(self, content: &[u8]) -> Vec<u8> {
        match self {
            TransferEncoding::Identity => content.to_vec(),
            TransferEncoding::Base64 => decode_base64(content),
            TransferEncoding::QuotedPrintable => decode_quoted_printable(content),
        }
    }
}

/// Decodes base64 (RFC 2045 §6.8), skipping every byte outside the alphabet; padding is optional
/// and a dangling final character (one that cannot form a byte) is dropped.
pub fn decode_base64(content: &[u8]) -> Vec<u8> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let mut clean: Vec<u8> = content
        .iter()
        .copied()
        .take_while(|&b| b != b'=')
        .filter(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        .collect();
    if clean.len() % 4 == 1 {
        clean.pop();
    }
    // With only alphabet bytes and a length that is not 1 mod 4, decoding cannot fail.
    LENIENT.decode(&clean).unwrap_or_default()
}

/// Decodes quoted-printable (RFC 2045 §6.7): `=XX` is the byte XX, `=` at a line's end (soft line
/// break) joins the lines, spaces and tabs before a line break are dropped; anything else is kept.
pub fn decode_quoted_printable(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len());
    for line in content.split_inclusive(|&b| b == b'\n') {
        let (text, newline) = match line.strip_suffix(b"\r\n") {
            Some(text) => (text, &b"\r\n"[..]),
            None => match line.strip_suffix(b"\n") {
                Some(text) => (text, &b"\n"[..]),
                None => (line, &b""[..]),
            },
        };
        let text = if newline.is_empty() { text } else { text.trim_ascii_end() };
        let (text, soft) = match text.strip_suffix(b"=") {
            Some(text) if !newline.is_empty() => (text, true),
            _ => (text, false),
        };
        let mut i = 0;
        while i < text.len() {
            if text[i] == b'=' {
                if let (Some(hi), Some(lo)) = (text.get(i + 1).and_then(hex), text.get(i + 2).and_then(hex)) {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
            }
            out.push(text[i]);
            i += 1;
        }
        if !soft {
            out.extend_from_slice(newline);
        }
    }
    out
}

fn hex(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mechanisms() {
        for (value, expected) in [
            (&b" base64\r\n"[..], Some(TransferEncoding::Base64)),
            (b"Quoted-Printable", Some(TransferEncoding::QuotedPrintable)),
            (b"8BIT (it is)", Some(TransferEncoding::Identity)),
            (b"binary", Some(TransferEncoding::Identity)),
            (b"", Some(TransferEncoding::Identity)),
            (b"x-uuencode", None),
        ] {
            assert_eq!(TransferEncoding::parse(value), expected, "{}", String::from_utf8_lossy(value));
        }
    }

    #[test]
    fn the_header_field_decides_and_may_be_folded() {
        let header = b"Content-Type: text/plain\r\nContent-Transfer-Encoding:\r\n base64\r\n\r\n";
        assert_eq!(TransferEncoding::of_header(header), Some(TransferEncoding::Base64));
        assert_eq!(TransferEncoding::of_header(b"Content-Type: text/plain\r\n\r\n"), Some(TransferEncoding::Identity));
        assert_eq!(TransferEncoding::of_header(b"content-transfer-encoding : x-gzip\r\n\r\n"), None);
        assert_eq!(
            TransferEncoding::of_header(b"Content-Transfer-Encoding-X: base64\r\n\r\n"),
            Some(TransferEncoding::Identity),
            "another field's name only starts the same"
        );
    }

    #[test]
    fn base64_skips_line_breaks_and_junk() {
        assert_eq!(decode_base64(b"aGVs\r\nbG8g\r\nd29y bGQ=\r\n"), b"hello world");
        assert_eq!(decode_base64(b"AAEC/w=="), [0, 1, 2, 255]);
        assert_eq!(decode_base64(b"aGk"), b"hi", "padding is optional");
        assert_eq!(decode_base64(b"a*G!k"), b"hi", "junk skipped");
        assert_eq!(decode_base64(b"aGlzx"), b"his", "a dangling character dropped");
        assert_eq!(decode_base64(b"aGk=\r\nIGFnYWlu"), b"hi", "nothing after the padding");
        assert_eq!(decode_base64(b""), b"");
    }

    #[test]
    fn quoted_printable_escapes_soft_breaks_and_padding() {
        assert_eq!(decode_quoted_printable(b"caf=C3=A9 =3D ok\r\n"), "café = ok\r\n".as_bytes());
        assert_eq!(decode_quoted_printable(b"long=\r\nline\r\n"), b"longline\r\n");
        assert_eq!(decode_quoted_printable(b"pad   \r\nnext"), b"pad\r\nnext");
        assert_eq!(decode_quoted_printable(b"=ZZ and =4"), b"=ZZ and =4", "invalid escapes kept");
        assert_eq!(decode_quoted_printable(b"soft = \r\nend"), b"soft end", "space after a soft break");
        assert_eq!(decode_quoted_printable(b"unix=\nline\n"), b"unixline\n");
    }

    /// A minimal quoted-printable encoder, as an oracle for the decoder.
    fn encode_qp(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, &b) in data.iter().enumerate() {
            if i > 0 && i % 20 == 0 {
                out.extend_from_slice(b"=\r\n");
            }
            if b.is_ascii_alphanumeric() {
                out.push(b);
            } else {
                out.extend_from_slice(format!("={b:02X}").as_bytes());
            }
        }
        out
    }

    proptest! {
        #[test]
        fn decoders_undo_encoders(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut wrapped = Vec::new();
            for line in base64::engine::general_purpose::STANDARD.encode(&data).as_bytes().chunks(76) {
                wrapped.extend_from_slice(line);
                wrapped.extend_from_slice(b"\r\n");
            }
            prop_assert_eq!(decode_base64(&wrapped), data.clone());
            prop_assert_eq!(decode_quoted_printable(&encode_qp(&data)), data);
        }

        #[test]
        fn decoding_anything_is_bounded(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert!(decode_base64(&data).len() <= data.len());
            prop_assert!(decode_quoted_printable(&data).len() <= data.len());
        }
    }
}
