//! Mailbox names on the wire (RFC 3501 §5.1.3, RFC 9051 §5.1). The store keeps names in UTF-8.
//!
//! ```text
//!                      client → server                     server → client
//!   IMAP4rev1   modified UTF-7, decoded              encoded in modified UTF-7
//!               (8-bit, invalid: NO [CANNOT])        (always possible: it can spell any name)
//!   IMAP4rev2   UTF-8 as is (invalid: NO [CANNOT])   UTF-8 as is, quoted when it fits
//! ```
//!
//! RFC 3501 §5.1.3 says 8-bit names "SHOULD NOT" be sent; a rev1 session refuses them, since
//! accepting them would make `&` ambiguous (is `Tom & Jerry` raw text or a broken shift?) and
//! would let a name reach the store in a spelling the same client later reads back differently.
//! The refusal is `NO [CANNOT]`, not `BAD`: the command is well-formed, only the name is not
//! usable. A LIST or LSUB pattern that does not decode matches no name (the answer is an empty
//! `OK`).
//!
//! Under either version a name must not contain control characters, U+007F, U+0080-U+009F,
//! U+2028 or U+2029, and must be in Unicode Normalization Form C (RFC 9051 §5.1: Net-Unicode); a
//! rev1 client could otherwise smuggle such names in through a shift. RFC 9051 lets a server
//! instead normalise a name and report the client's spelling as OLDNAME; refusing is simpler and
//! keeps one spelling per name. Lookups of such names are refused the same way, as no mailbox can
//! have one.

use super::{Flow, ImapSession};
use crate::wire::mutf7;

/// Longest mailbox name written as a quoted string; longer ones become literals.
const MAX_QUOTED_NAME_BYTES: usize = 1024;

impl ImapSession<'_> {
    /// Reads a mailbox-name argument into the store's UTF-8 form, `INBOX` in any case spelled
    /// `INBOX`. The error is the text of the `NO` answer ([`refuse_name`]).
    pub(super) fn mailbox_name(&self, raw: &[u8]) -> Result<String, String> {
        let name = self.decode_wire_name(raw)?;
        if let Some(c) = name.chars().find(|&c| forbidden_in_name(c)) {
            return Err(format!("Mailbox names must not contain U+{:04X} (RFC 9051 §5.1)", c as u32));
        }
        if !name.is_ascii() && !icu_normalizer::ComposingNormalizerBorrowed::new_nfc().is_normalized(&name) {
            return Err("Mailbox names must be in Unicode NFC (RFC 9051 §5.1)".into());
        }
        if name.eq_ignore_ascii_case("INBOX") {
            return Ok("INBOX".into());
        }
        Ok(name)
    }

    /// Reads a LIST / LSUB reference or pattern into UTF-8 (`%` and `*` stay wildcards: both are
    /// printable US-ASCII, which modified UTF-7 leaves alone). `None` when it does not decode: no
    /// name the client can see is spelled that way, so it matches nothing.
    pub(super) fn mailbox_pattern(&self, raw: &[u8]) -> Option<Vec<u8>> {
        self.decode_wire_name(raw).ok().map(String::into_bytes)
    }

    fn decode_wire_name(&self, raw: &[u8]) -> Result<String, String> {
        if self.rev2 {
            return String::from_utf8(raw.to_vec()).map_err(|_| "Mailbox name is not valid UTF-8".to_string());
        }
        mutf7::decode(raw).map_err(|e| {
            let mut text = e.to_string();
            text[..1].make_ascii_uppercase();
            text
        })
    }

    /// A stored name as the client spells it, for response text: modified UTF-7 (rev1, whose
    /// response text is US-ASCII) or UTF-8 (rev2).
    pub(super) fn spell_name<'n>(&self, name: &'n str) -> std::borrow::Cow<'n, str> {
        if self.rev2 || name.is_ascii() && !name.contains('&') {
            std::borrow::Cow::Borrowed(name)
        } else {
            std::borrow::Cow::Owned(mutf7::encode(name))
        }
    }

    /// Writes a stored name as the client reads it: modified UTF-7 (rev1) or UTF-8 (rev2).
    pub(super) fn push_mailbox(&self, out: &mut Vec<u8>, name: &str) {
        if !self.rev2 {
            super::push_string(out, mutf7::encode(name).as_bytes());
            return;
        }
        // RFC 9051 §9: a quoted string may hold UTF-8 (QUOTED-CHAR includes UTF8-2..4); names
        // hold no CR, LF or NUL, so only a very long one needs a literal.
        if name.len() > MAX_QUOTED_NAME_BYTES || name.bytes().any(|b| b < 0x20) {
            super::push_string(out, name.as_bytes());
            return;
        }
        out.push(b'"');
        for b in name.bytes() {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    }
}

/// Refuses a name that is well-formed IMAP syntax but not an acceptable mailbox name: `NO
/// [CANNOT]`, not `BAD`, as for any other name the server cannot use (and as imaptest expects of
/// `SELECT` with an invalid modified UTF-7 name).
pub(super) fn refuse_name(out: &mut Vec<u8>, tag: &[u8], why: &str) -> Flow {
    super::reply(out, tag, "NO", &format!("[CANNOT] {why}"));
    Flow::Continue
}

/// Characters no mailbox name may contain (RFC 9051 §5.1: the Net-Unicode rule of RFC 5198 §2,
/// without control characters, DEL, and the line and paragraph separators).
fn forbidden_in_name(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}
