//! IMAP metadata computed once when a message body is stored: ENVELOPE, BODY and BODYSTRUCTURE as
//! ready-to-send bytes, and the byte offsets of the header, the text and every MIME part, so that
//! `BODY[1.2.MIME]` or `BODY[HEADER.FIELDS (...)]` is later a slice of the stored body.
//!
//! Parsing uses mail-parser 0.11. Input that it cannot parse (no header, NUL bytes, broken MIME,
//! offsets that do not add up) never fails: the message is described as a single `text/plain` part
//! with an empty header. Offsets are relative to the start of the body as stored (the delivery
//! prefix is added by the reader).
//!
//! RFC 3501 §9 (the same productions in RFC 9051):
//!
//! ```text
//! envelope        = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP
//!                   env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"
//! env-from        = "(" 1*address ")" / nil          ; same for sender, reply-to, to, cc, bcc
//! address         = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
//! body            = "(" (body-type-1part / body-type-mpart) ")"
//! body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
//! body-type-basic = media-basic SP body-fields
//! body-type-msg   = media-message SP body-fields SP envelope SP body SP body-fld-lines
//! body-type-text  = media-text SP body-fields SP body-fld-lines
//! body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP
//!                   body-fld-octets
//! body-fld-param  = "(" string SP string *(SP string SP string) ")" / nil
//! body-ext-1part  = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc ...]]]
//! body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
//! body-ext-mpart  = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc ...]]]
//! body-fld-dsp    = "(" string SP body-fld-param ")" / nil
//! ```
//!
//! Choices where the RFCs leave room (they match Dovecot): `Sender` and `Reply-To` default to
//! `From`; date, subject, message-id and in-reply-to are the raw header values, unfolded; address
//! display names are sent RFC 2047-encoded (`=?utf-8?b?...?=`) when they are not ASCII; an address
//! without a domain gets the host `MISSING_DOMAIN`; `body-fld-lines` counts LF characters plus one
//! for a final line without LF; a part without `Content-Type` is `text/plain; charset=us-ascii`.

use super::imap_string::{push_nstring, push_string};
use base64::Engine as _;
use mail_parser::{Address, HeaderValue, Message, MessageParser, MessagePart, PartType};
use std::ops::Range;

/// Deepest MIME nesting described; a deeper message falls back to the single text part.
const MAX_DEPTH: usize = 32;

/// Where one MIME part lies in the stored body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartOffsets {
    /// IMAP section number (`[1, 2]` is `1.2`); empty for the whole message.
    pub section: Vec<u32>,
    /// The part's MIME header including the blank line (`BODY[1.2.MIME]`); the message header for
    /// the whole message.
    pub header: Range<u32>,
    /// The part's content (`BODY[1.2]`).
    pub body: Range<u32>,
    /// For a `message/rfc822` part, its encapsulated header (`BODY[1.2.HEADER]`); `BODY[1.2.TEXT]`
    /// runs from its end to `body.end`.
    pub message_header: Option<Range<u32>>,
}

/// Everything IMAP needs about a message's structure, computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMetadata {
    pub envelope: Vec<u8>,
    pub body_structure: Vec<u8>,
    /// The non-extensible `BODY` form.
    pub body: Vec<u8>,
    /// The whole message first (`section` empty), then every part in section order.
    pub parts: Vec<PartOffsets>,
}

/// Computes the metadata of `raw`; never fails.
pub fn extract(raw: &[u8]) -> MessageMetadata {
    let parsed = std::panic::catch_unwind(|| {
        let message = MessageParser::default().parse(raw)?;
        describe(&message, raw.len())
    });
    match parsed {
        Ok(Some(meta)) => meta,
        _ => fallback(raw),
    }
}

/// The single `text/plain` description used when `raw` cannot be parsed.
fn fallback(raw: &[u8]) -> MessageMetadata {
    let len = u32::try_from(raw.len()).unwrap_or(u32::MAX);
    let mut basic = Vec::new();
    push_text_plain(&mut basic, raw.len(), count_lines(raw));
    let mut extended = basic.clone();
    basic.push(b')');
    extended.extend_from_slice(b" NIL NIL NIL NIL)");
    let whole = PartOffsets { section: Vec::new(), header: 0..0, body: 0..len, message_header: None };
    let part = PartOffsets { section: vec![1], ..whole.clone() };
    MessageMetadata {
        envelope: b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)".to_vec(),
        body_structure: extended,
        body: basic,
        parts: vec![whole, part],
    }
}

fn push_text_plain(out: &mut Vec<u8>, size: usize, lines: usize) {
    out.extend_from_slice(
        format!("(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" {size} {lines}").as_bytes(),
    );
}

fn describe(message: &Message<'_>, len: usize) -> Option<MessageMetadata> {
    let root = message.parts.first()?;
    let (header, body) = ranges(root, len)?;
    let mut parts = vec![PartOffsets { section: Vec::new(), header, body, message_header: None }];
    // A multipart message's children are parts 1, 2, ...; any other message's body is part 1.
    let root_section: &[u32] = if matches!(root.body, PartType::Multipart(_)) { &[] } else { &[1] };
    let mut extended = Vec::new();
    let mut walker = Walker { len, parts: &mut parts };
    walker.record(root, root_section, None)?;
    walker.part_of(message, &mut extended, root, root_section, true, 0)?;
    let mut basic = Vec::new();
    Walker { len, parts: &mut Vec::new() }.part_of(message, &mut basic, root, root_section, false, 0)?;
    let mut envelope = Vec::new();
    push_envelope(&mut envelope, message, root);
    Some(MessageMetadata { envelope, body_structure: extended, body: basic, parts })
}

/// Header and body ranges of `part`, checked against the message length.
fn ranges(part: &MessagePart<'_>, len: usize) -> Option<(Range<u32>, Range<u32>)> {
    let (h, b, e) = (part.offset_header, part.offset_body, part.offset_end);
    (h <= b && b <= e && e as usize <= len).then_some((h..b, b..e))
}

struct Walker<'a> {
    /// Length of the raw message; every offset is checked against it.
    len: usize,
    /// Offsets collected on the way (only kept from the extended pass).
    parts: &'a mut Vec<PartOffsets>,
}

impl Walker<'_> {
    /// Appends the `body` production for `part` of `message`. mail-parser gives a nested message
    /// its own `Message` whose offsets still point into the same raw bytes (checked below).
    fn part_of(
        &mut self,
        message: &Message<'_>,
        out: &mut Vec<u8>,
        part: &MessagePart<'_>,
        section: &[u32],
        ext: bool,
        depth: usize,
    ) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let (_, body) = ranges(part, self.len)?;
        let raw = message.raw_message.as_ref();
        // A nested message decoded from base64/QP has offsets into other bytes: describe it as an
        // opaque part.
        let nested = match &part.body {
            PartType::Message(n) if n.raw_message.as_ptr() == raw.as_ptr() && n.raw_message.len() == raw.len() => {
                Some(n)
            }
            _ => None,
        };
        let content_type = match header_value(part, "Content-Type") {
            Some(HeaderValue::ContentType(ct)) => Some(ct),
            _ => None,
        };
        if let PartType::Multipart(children) = &part.body {
            out.push(b'(');
            for (i, child) in children.iter().enumerate() {
                let child_section = child_section(section, i);
                let child_part = message.parts.get(*child as usize)?;
                self.record(child_part, &child_section, None)?;
                self.part_of(message, out, child_part, &child_section, ext, depth + 1)?;
            }
            out.push(b' ');
            let subtype = content_type.and_then(|ct| ct.c_subtype.as_deref()).unwrap_or("mixed");
            push_string(out, subtype.to_ascii_lowercase().as_bytes());
            if ext {
                out.push(b' ');
                push_params(out, content_type.and_then(|ct| ct.attributes.as_deref()));
                push_extension_tail(out, part, raw);
            }
            out.push(b')');
            return Some(());
        }
        // A `multipart/*` that mail-parser could not split (no boundary) is described as text, as
        // a client cannot read a multipart type outside the multipart form.
        let (main, sub, content_type) = match content_type {
            Some(ct) if !ct.c_type.eq_ignore_ascii_case("multipart") => {
                (ct.c_type.to_ascii_lowercase(), ct.c_subtype.as_deref().unwrap_or("").to_ascii_lowercase(), Some(ct))
            }
            _ if nested.is_some() => ("message".into(), "rfc822".into(), None),
            _ => ("text".into(), "plain".into(), None),
        };
        let content = raw.get(body.start as usize..body.end as usize)?;
        out.push(b'(');
        push_string(out, main.as_bytes());
        out.push(b' ');
        push_string(out, sub.as_bytes());
        out.push(b' ');
        match content_type.and_then(|ct| ct.attributes.as_deref()) {
            Some(attrs) if !attrs.is_empty() => push_params(out, Some(attrs)),
            _ if main == "text" => out.extend_from_slice(b"(\"charset\" \"us-ascii\")"),
            _ => out.extend_from_slice(b"NIL"),
        }
        out.push(b' ');
        push_nstring(out, raw_header(part, raw, "Content-ID").as_deref());
        out.push(b' ');
        push_nstring(out, raw_header(part, raw, "Content-Description").as_deref());
        out.push(b' ');
        let encoding = raw_header(part, raw, "Content-Transfer-Encoding");
        push_string(out, encoding.as_deref().unwrap_or(b"7bit"));
        out.extend_from_slice(format!(" {}", content.len()).as_bytes());
        if let Some(nested) = nested {
            let nested_root = nested.parts.first()?;
            let (nested_header, _) = ranges(nested_root, self.len)?;
            out.push(b' ');
            push_envelope(out, nested, nested_root);
            out.push(b' ');
            // The encapsulated message's parts are numbered below this part: a multipart body's
            // children are `section.1`, `section.2`, ...; a single-part body is `section.1`.
            if let PartType::Multipart(_) = nested_root.body {
                self.part_of(nested, out, nested_root, section, ext, depth + 1)?;
            } else {
                let only = child_section(section, 0);
                self.record(nested_root, &only, None)?;
                self.part_of(nested, out, nested_root, &only, ext, depth + 1)?;
            }
            self.set_message_header(section, nested_header);
            out.extend_from_slice(format!(" {}", count_lines(content)).as_bytes());
        } else if main == "text" {
            out.extend_from_slice(format!(" {}", count_lines(content)).as_bytes());
        }
        if ext {
            out.push(b' ');
            push_nstring(out, raw_header(part, raw, "Content-MD5").as_deref());
            push_extension_tail(out, part, raw);
        }
        out.push(b')');
        Some(())
    }

    /// Records the offsets of the part at `section` (the root's are recorded by `describe`; a
    /// single-part message's body is also part `1`).
    fn record(&mut self, part: &MessagePart<'_>, section: &[u32], message_header: Option<Range<u32>>) -> Option<()> {
        let (header, body) = ranges(part, self.len)?;
        if !self.parts.iter().any(|p| p.section == section) {
            self.parts.push(PartOffsets { section: section.to_vec(), header, body, message_header });
        }
        Some(())
    }

    fn set_message_header(&mut self, section: &[u32], range: Range<u32>) {
        if let Some(p) = self.parts.iter_mut().find(|p| p.section == section) {
            p.message_header = Some(range);
        }
    }
}

fn child_section(section: &[u32], index: usize) -> Vec<u32> {
    let mut s = section.to_vec();
    s.push(u32::try_from(index + 1).unwrap_or(u32::MAX));
    s
}

/// `body-fld-dsp SP body-fld-lang SP body-fld-loc` after the md5 (single part) or the params
/// (multipart).
fn push_extension_tail(out: &mut Vec<u8>, part: &MessagePart<'_>, raw: &[u8]) {
    out.push(b' ');
    match header_value(part, "Content-Disposition") {
        Some(HeaderValue::ContentType(d)) => {
            out.push(b'(');
            push_string(out, d.c_type.to_ascii_lowercase().as_bytes());
            out.push(b' ');
            push_params(out, d.attributes.as_deref());
            out.push(b')');
        }
        _ => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    push_nstring(out, raw_header(part, raw, "Content-Language").as_deref());
    out.push(b' ');
    push_nstring(out, raw_header(part, raw, "Content-Location").as_deref());
}

fn push_params(out: &mut Vec<u8>, attrs: Option<&[mail_parser::Attribute<'_>]>) {
    match attrs {
        Some(attrs) if !attrs.is_empty() => {
            out.push(b'(');
            for (i, a) in attrs.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                push_string(out, a.name.to_ascii_lowercase().as_bytes());
                out.push(b' ');
                push_string(out, a.value.as_bytes());
            }
            out.push(b')');
        }
        _ => out.extend_from_slice(b"NIL"),
    }
}

fn header_value<'a, 'x>(part: &'a MessagePart<'x>, name: &str) -> Option<&'a HeaderValue<'x>> {
    part.headers.iter().find(|h| h.name.as_str().eq_ignore_ascii_case(name)).map(|h| &h.value)
}

/// The first `name` field's raw value, unfolded and trimmed; `None` when absent or empty.
fn raw_header(part: &MessagePart<'_>, raw: &[u8], name: &str) -> Option<Vec<u8>> {
    let h = part.headers.iter().find(|h| h.name.as_str().eq_ignore_ascii_case(name))?;
    let value = raw.get(h.offset_start as usize..h.offset_end as usize)?;
    let unfolded: Vec<u8> = value.iter().copied().filter(|&b| b != b'\r' && b != b'\n').collect();
    let start = unfolded.iter().position(|b| !b.is_ascii_whitespace())?;
    let end = unfolded.iter().rposition(|b| !b.is_ascii_whitespace())? + 1;
    Some(unfolded[start..end].to_vec())
}

/// Lines in `content`: LF count, plus one for a last line without LF.
fn count_lines(content: &[u8]) -> usize {
    let lf = memchr_count(content);
    match content.last() {
        Some(&b'\n') | None => lf,
        Some(_) => lf + 1,
    }
}

fn memchr_count(content: &[u8]) -> usize {
    content.iter().filter(|&&b| b == b'\n').count()
}

fn push_envelope(out: &mut Vec<u8>, message: &Message<'_>, root: &MessagePart<'_>) {
    let raw = message.raw_message.as_ref();
    out.push(b'(');
    push_nstring(out, raw_header(root, raw, "Date").as_deref());
    out.push(b' ');
    push_nstring(out, raw_header(root, raw, "Subject").as_deref());
    let from = addresses(root, "From");
    for list in [from, addresses(root, "Sender").or(from), addresses(root, "Reply-To").or(from)] {
        out.push(b' ');
        push_address_list(out, list);
    }
    for name in ["To", "Cc", "Bcc"] {
        out.push(b' ');
        push_address_list(out, addresses(root, name));
    }
    out.push(b' ');
    push_nstring(out, raw_header(root, raw, "In-Reply-To").as_deref());
    out.push(b' ');
    push_nstring(out, raw_header(root, raw, "Message-ID").as_deref());
    out.push(b')');
}

/// The parsed address field `name`, when it holds at least one address.
fn addresses<'a, 'x>(part: &'a MessagePart<'x>, name: &str) -> Option<&'a Address<'x>> {
    match header_value(part, name)? {
        HeaderValue::Address(a @ Address::List(list)) if list.iter().any(|x| x.address.is_some()) => Some(a),
        HeaderValue::Address(a @ Address::Group(groups)) if !groups.is_empty() => Some(a),
        _ => None,
    }
}

fn push_address_list(out: &mut Vec<u8>, list: Option<&Address<'_>>) {
    let Some(list) = list else {
        out.extend_from_slice(b"NIL");
        return;
    };
    out.push(b'(');
    match list {
        Address::List(addrs) => addrs.iter().for_each(|a| push_address(out, a)),
        Address::Group(groups) => {
            for g in groups {
                // RFC 3501: a group is marked by (NIL NIL "name" NIL) ... (NIL NIL NIL NIL).
                if let Some(name) = &g.name {
                    out.extend_from_slice(b"(NIL NIL ");
                    push_string(out, name.as_bytes());
                    out.extend_from_slice(b" NIL)");
                }
                g.addresses.iter().for_each(|a| push_address(out, a));
                if g.name.is_some() {
                    out.extend_from_slice(b"(NIL NIL NIL NIL)");
                }
            }
        }
    }
    out.push(b')');
}

fn push_address(out: &mut Vec<u8>, addr: &mail_parser::Addr<'_>) {
    let Some(address) = addr.address.as_deref() else {
        return;
    };
    let (mailbox, host) = match address.rsplit_once('@') {
        Some((m, h)) => (m, h),
        None => (address, "MISSING_DOMAIN"),
    };
    out.push(b'(');
    match addr.name.as_deref() {
        Some(name) if name.is_ascii() => push_string(out, name.as_bytes()),
        Some(name) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(name.as_bytes());
            push_string(out, format!("=?utf-8?b?{encoded}?=").as_bytes());
        }
        None => out.extend_from_slice(b"NIL"),
    }
    // An obsolete source route (`<@route:user@domain>`, RFC 5322 §4.4) is the `addr-adl`.
    match mailbox.strip_prefix('@').and_then(|m| m.split_once(':')) {
        Some((route, local)) => {
            out.push(b' ');
            push_string(out, format!("@{route}").as_bytes());
            out.push(b' ');
            push_string(out, local.as_bytes());
        }
        None => {
            out.extend_from_slice(b" NIL ");
            push_string(out, mailbox.as_bytes());
        }
    }
    out.push(b' ');
    push_string(out, host.as_bytes());
    out.push(b')');
}
