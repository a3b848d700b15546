//! FETCH BINARY, BINARY.PEEK and BINARY.SIZE (RFC 3516): a part's content with its
//! Content-Transfer-Encoding undone, cut from the stored message with the part offsets computed at
//! delivery.
//!
//! - `BINARY[]` is the whole message as stored; a multipart or `message/rfc822` part is returned as
//!   it is (MIME allows such parts only identity encodings, RFC 2045 §6.4).
//! - A leaf part is decoded by its `Content-Transfer-Encoding` (identity, base64, quoted-printable);
//!   any other encoding makes the command fail with `NO [UNKNOWN-CTE]` (RFC 3516 §4.3).
//! - The data goes out as a `literal8` (`~{n}`) when it holds a NUL byte, which an ordinary literal
//!   may not carry, and as an ordinary literal otherwise.
//!
//! A message APPENDed as a `literal8` may hold NUL bytes, which `BODY[...]` could never send (only
//! BINARY responses may carry a literal8, RFC 3516 §4.3). [`encode_binary_parts`] therefore stores
//! every leaf part holding a NUL as base64 (RFC 3516 §4.4 lets the server choose the encoding):
//! `BODY[...]` then sends valid 7-bit text and `BINARY[...]` the client's bytes, exactly.

use crate::wire::cte::TransferEncoding;
use base64::Engine;
use std::io::Write as _;
use storage::mail::meta::PartOffsets;

/// The part names an encoding this server cannot undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct UnknownCte;

/// The decoded content of the part at `section` of the message `raw` (empty if there is no such
/// part, as for `BODY[...]`).
pub(super) fn binary_content(raw: &[u8], parts: &[PartOffsets], section: &[u32]) -> Result<Vec<u8>, UnknownCte> {
    if section.is_empty() {
        return Ok(raw.to_vec());
    }
    let Some(part) = parts.iter().find(|p| p.section == section) else { return Ok(Vec::new()) };
    let content = clamp(raw, &part.body);
    let has_children = parts.iter().any(|p| p.section.len() > section.len() && p.section.starts_with(section));
    if part.message_header.is_some() || has_children {
        return Ok(content.to_vec());
    }
    let encoding = TransferEncoding::of_header(clamp(raw, &part.header)).ok_or(UnknownCte)?;
    Ok(encoding.decode(content))
}

/// Writes `data` as a literal: `~{n}` (literal8) if it holds a NUL byte, `{n}` otherwise.
pub(super) fn push_binary_literal(out: &mut Vec<u8>, data: &[u8]) {
    if memchr::memchr(0, data).is_some() {
        out.push(b'~');
    }
    let _ = write!(out, "{{{}}}\r\n", data.len());
    out.extend_from_slice(data);
}

/// Writes the name of a BINARY item as the response names it: `BINARY[1.2]`, `BINARY.SIZE[3]`.
pub(super) fn encode_binary_name(out: &mut Vec<u8>, item: &str, section: &[u32]) {
    out.extend_from_slice(item.as_bytes());
    out.push(b'[');
    let parts: Vec<String> = section.iter().map(u32::to_string).collect();
    out.extend_from_slice(parts.join(".").as_bytes());
    out.push(b']');
}

/// `raw` with every leaf part that holds a NUL byte re-encoded as base64: its
/// `Content-Transfer-Encoding` fields replaced by `base64`, its content by the base64 of that
/// content in 76-character lines. A message without NUL is returned unchanged.
pub(super) fn encode_binary_parts(raw: &[u8]) -> Vec<u8> {
    if memchr::memchr(0, raw).is_none() {
        return raw.to_vec();
    }
    let parts = storage::mail::meta::extract(raw).parts;
    let mut leaves: Vec<&PartOffsets> = parts
        .iter()
        .filter(|p| !p.section.is_empty() && p.message_header.is_none())
        .filter(|p| !parts.iter().any(|c| c.section.len() > p.section.len() && c.section.starts_with(&p.section)))
        .filter(|p| memchr::memchr(0, clamp(raw, &p.body)).is_some())
        .collect();
    if leaves.is_empty() {
        return raw.to_vec();
    }
    leaves.sort_by_key(|p| p.header.start);
    let mut out = Vec::with_capacity(raw.len() * 4 / 3 + 256);
    let mut at = 0usize;
    for part in leaves {
        let (header, body) = (part.header.start as usize, part.body.start as usize);
        let end = (part.body.end as usize).min(raw.len());
        if header < at || body < header || end < body {
            continue;
        }
        out.extend_from_slice(&raw[at..header]);
        out.extend_from_slice(&with_base64_field(&raw[header..body]));
        let encoded = base64::engine::general_purpose::STANDARD.encode(&raw[body..end]);
        for (i, line) in encoded.as_bytes().chunks(76).enumerate() {
            if i > 0 {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(line);
        }
        at = end;
    }
    out.extend_from_slice(&raw[at..]);
    out
}

/// A MIME header (with its blank line) whose `Content-Transfer-Encoding` fields are replaced by
/// one saying `base64`.
fn with_base64_field(header: &[u8]) -> Vec<u8> {
    const NAME: &[u8] = b"content-transfer-encoding";
    let mut out = Vec::with_capacity(header.len() + 40);
    let mut dropping = false;
    let mut blank = None;
    for line in header.split_inclusive(|&b| b == b'\n') {
        if line == b"\r\n" || line == b"\n" {
            blank = Some(line);
            break;
        }
        if !matches!(line.first(), Some(b' ' | b'\t')) {
            let name_end = memchr::memchr(b':', line).unwrap_or(0);
            dropping = name_end > 0 && line[..name_end].trim_ascii().eq_ignore_ascii_case(NAME);
        }
        if !dropping {
            out.extend_from_slice(line);
        }
    }
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n");
    out.extend_from_slice(blank.unwrap_or(b"\r\n"));
    out
}

fn clamp<'a>(raw: &'a [u8], range: &std::ops::Range<u32>) -> &'a [u8] {
    let end = (range.end as usize).min(raw.len());
    let start = (range.start as usize).min(end);
    &raw[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = b"From: a@example.test\r\n\
        Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
        --b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
        caf=C3=A9\r\n\
        --b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n\
        AAEC/w==\r\n\
        --b\r\nContent-Type: application/x-odd\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n\
        begin\r\n\
        --b--\r\n";

    fn parts() -> Vec<PartOffsets> {
        storage::mail::meta::extract(MESSAGE).parts
    }

    #[test]
    fn leaf_parts_are_decoded_by_their_encoding() {
        let parts = parts();
        assert_eq!(binary_content(MESSAGE, &parts, &[1]), Ok("café".as_bytes().to_vec()));
        assert_eq!(binary_content(MESSAGE, &parts, &[2]), Ok(vec![0, 1, 2, 255]));
        assert_eq!(binary_content(MESSAGE, &parts, &[3]), Err(UnknownCte));
        assert_eq!(binary_content(MESSAGE, &parts, &[]), Ok(MESSAGE.to_vec()), "the whole message as stored");
        assert_eq!(binary_content(MESSAGE, &parts, &[9]), Ok(Vec::new()), "no such part");
    }

    #[test]
    fn a_single_part_message_is_decoded_by_its_own_header() {
        let raw = b"Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n";
        let parts = storage::mail::meta::extract(raw).parts;
        assert_eq!(binary_content(raw, &parts, &[1]), Ok(b"hello".to_vec()));
    }

    #[test]
    fn parts_holding_nul_are_stored_as_base64_and_binary_gives_them_back() {
        let raw = b"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\n\r\nplain text\r\n\
            --b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\
            X-After: kept\r\n\r\n\0\x01\xff data\r\n--b--\r\n";
        let stored = encode_binary_parts(raw);
        assert!(memchr::memchr(0, &stored).is_none(), "{}", String::from_utf8_lossy(&stored));
        let text = String::from_utf8_lossy(&stored);
        assert!(text.contains("plain text\r\n--b\r\n"), "other parts untouched: {text}");
        assert!(
            text.contains("Content-Type: application/octet-stream\r\nX-After: kept\r\nContent-Transfer-Encoding: base64\r\n\r\nAAH/IGRhdGE=\r\n--b--"),
            "{text}"
        );
        let parts = storage::mail::meta::extract(&stored).parts;
        assert_eq!(binary_content(&stored, &parts, &[2]), Ok(b"\0\x01\xff data".to_vec()));
        assert_eq!(binary_content(&stored, &parts, &[1]), Ok(b"plain text".to_vec()));
    }

    #[test]
    fn a_single_part_binary_message_and_one_without_nul() {
        let raw = b"Subject: x\r\nContent-Transfer-Encoding:\r\n binary\r\n\r\n\0 -\xff\r\n";
        let stored = encode_binary_parts(raw);
        assert_eq!(stored, b"Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\nACAt/w0K".to_vec());
        let parts = storage::mail::meta::extract(&stored).parts;
        assert_eq!(binary_content(&stored, &parts, &[1]), Ok(b"\0 -\xff\r\n".to_vec()));
        let clean = b"Subject: y\r\n\r\n8-bit \xff but no NUL\r\n";
        assert_eq!(encode_binary_parts(clean), clean.to_vec());
    }

    #[test]
    fn nul_bytes_go_out_as_literal8() {
        let mut out = Vec::new();
        push_binary_literal(&mut out, b"a\0b");
        assert_eq!(out, b"~{3}\r\na\0b");
        out.clear();
        push_binary_literal(&mut out, b"text");
        assert_eq!(out, b"{4}\r\ntext");
    }
}
