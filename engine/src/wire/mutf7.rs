//! Modified UTF-7, the mailbox-name encoding of IMAP4rev1 (RFC 3501 §5.1.3; RFC 9051 Appendix A
//! keeps it for IMAP4rev1 clients). The store keeps names in UTF-8; a session that has not
//! enabled IMAP4rev2 decodes what the client sends with [`decode`] and encodes what it answers
//! with [`encode`].
//!
//! The rules, as RFC 3501 §5.1.3 states them:
//!
//! ```text
//! printable US-ASCII (0x20-0x7E) except "&"  represents itself
//! "&-"                                      is "&"
//! "&" modified-base64 "-"                   UTF-16BE code units, base64 with "," for "/",
//!                                           no "=" padding; only for characters that are not
//!                                           printable US-ASCII
//! ```
//!
//! [`decode`] accepts exactly what [`encode`] produces, so every name has one spelling on the wire:
//! it refuses a shift that holds printable US-ASCII (`&ACY-` for `&`, `&AGE-` for `a`), a shift
//! that directly follows another (the encoder would have made it one), non-zero or excess padding
//! bits, an odd number of bytes, unpaired surrogates, bytes outside 0x20-0x7E (raw 8-bit text is
//! not modified UTF-7), and a shift that is not closed by `-`.

use std::fmt;

/// Why a name is not valid modified UTF-7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutf7Error {
    /// A byte outside printable US-ASCII: 8-bit (raw UTF-8) or a control character.
    NotPrintableAscii,
    /// A byte inside a shift that is not in the modified base64 alphabet.
    BadBase64,
    /// `&` without its closing `-`.
    Unterminated,
    /// A spelling the encoder never produces: a shift of printable US-ASCII, two adjacent
    /// shifts, padding bits that are not zero or make a whole base64 character.
    NotCanonical,
    /// The shift does not hold whole UTF-16 code units, or a surrogate is unpaired.
    BadUtf16,
}

impl fmt::Display for Mutf7Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mutf7Error::NotPrintableAscii => {
                "mailbox names are modified UTF-7 in IMAP4rev1: 8-bit bytes are not allowed"
            }
            Mutf7Error::BadBase64 => "invalid modified UTF-7: bad base64 in a shift",
            Mutf7Error::Unterminated => "invalid modified UTF-7: shift not closed by \"-\"",
            Mutf7Error::NotCanonical => "invalid modified UTF-7: not the shortest spelling",
            Mutf7Error::BadUtf16 => "invalid modified UTF-7: bad UTF-16 in a shift",
        })
    }
}

impl std::error::Error for Mutf7Error {}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn is_direct(c: char) -> bool {
    ('\x20'..='\x7e').contains(&c)
}

fn sextet(b: u8) -> Option<u32> {
    Some(match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b',' => 63,
        _ => return None,
    } as u32)
}

/// Encodes a UTF-8 name as modified UTF-7. Every Unicode string has an encoding.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut units: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_direct(c) {
            flush_shift(&mut units, &mut out);
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let mut buf = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush_shift(&mut units, &mut out);
    out
}

/// Writes `units` as one `&...-` shift (nothing when empty) and empties it.
fn flush_shift(units: &mut Vec<u16>, out: &mut String) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let (mut acc, mut bits) = (0u32, 0u32);
    for unit in units.drain(..) {
        acc = (acc << 16) | u32::from(unit);
        bits += 16;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[((acc >> bits) & 0x3f) as usize] as char);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (6 - bits)) & 0x3f) as usize] as char);
    }
    out.push('-');
}

/// Decodes a modified UTF-7 name into UTF-8, refusing every spelling [`encode`] would not produce.
pub fn decode(input: &[u8]) -> Result<String, Mutf7Error> {
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    // Where the last shift ended: a shift starting right there should have been part of it.
    let mut shift_ended_at = None;
    while i < input.len() {
        let b = input[i];
        if !(0x20..=0x7e).contains(&b) {
            return Err(Mutf7Error::NotPrintableAscii);
        }
        if b != b'&' {
            out.push(b as char);
            i += 1;
            continue;
        }
        let body_start = i + 1;
        let end = input[body_start..].iter().position(|&b| b == b'-').ok_or(Mutf7Error::Unterminated)? + body_start;
        let body = &input[body_start..end];
        i = end + 1;
        if body.is_empty() {
            out.push('&');
            continue;
        }
        if shift_ended_at == Some(body_start - 1) {
            return Err(Mutf7Error::NotCanonical);
        }
        decode_shift(body, &mut out)?;
        shift_ended_at = Some(i);
    }
    Ok(out)
}

/// Decodes the base64 between `&` and `-` (not empty) and appends its characters.
fn decode_shift(body: &[u8], out: &mut String) -> Result<(), Mutf7Error> {
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut units = Vec::with_capacity(body.len() * 6 / 16);
    for &b in body {
        let value = sextet(b).ok_or(if (0x20..=0x7e).contains(&b) {
            Mutf7Error::BadBase64
        } else {
            Mutf7Error::NotPrintableAscii
        })?;
        acc = (acc << 6) | value;
        bits += 6;
        if bits >= 16 {
            bits -= 16;
            units.push((acc >> bits) as u16);
            acc &= (1 << bits) - 1;
        }
    }
    // What is left is padding: fewer than six bits (else a whole character was extra), all zero.
    // Eight or more left over is half a code unit.
    if bits >= 8 {
        return Err(Mutf7Error::BadUtf16);
    }
    if bits >= 6 || acc != 0 {
        return Err(Mutf7Error::NotCanonical);
    }
    for c in char::decode_utf16(units.iter().copied()) {
        let c = c.map_err(|_| Mutf7Error::BadUtf16)?;
        if is_direct(c) {
            return Err(Mutf7Error::NotCanonical);
        }
        out.push(c);
    }
    Ok(())
}

#[cfg(test)]
#[path = "mutf7_tests.rs"]
mod tests;
