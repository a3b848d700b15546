//! FETCH attribute lists (RFC 9051 §6.4.5, RFC 7162 MODSEQ), sans I/O.
//!
//! ```text
//! fetch           = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
//!                   fetch-att / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]
//! fetch-att       = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822.SIZE" /
//!                   "RFC822" [".HEADER" / ".TEXT"] / "BODY" ["STRUCTURE"] / "UID" / "MODSEQ" /
//!                   "BODY" section [partial] / "BODY.PEEK" section [partial]
//! section         = "[" [section-spec] "]"
//! section-spec    = section-msgtext / (section-part ["." section-text])
//! section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
//! section-part    = nz-number *("." nz-number)
//! section-text    = section-msgtext / "MIME"
//! header-list     = "(" header-fld-name *(SP header-fld-name) ")"
//! partial         = "<" number "." nz-number ">"
//! fetch-modifiers = SP "(" "CHANGEDSINCE" SP mod-sequence-valzer ")"
//! ```
//!
//! BINARY (RFC 3516 §6) adds:
//!
//! ```text
//! fetch-att       =/ "BINARY" [".PEEK"] section-binary [partial] /
//!                    "BINARY.SIZE" section-binary
//! section-binary  = "[" [section-part] "]"
//! ```

use super::imap_values::parse_number;

/// What part of a message (or of a part) a section names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    Header,
    /// `HEADER.FIELDS (..)`; names as sent, compared case-insensitively.
    HeaderFields(Vec<String>),
    HeaderFieldsNot(Vec<String>),
    Text,
    Mime,
}

/// A `section`: a part path (empty for the whole message) and what of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

/// One requested attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchAttr {
    Envelope,
    Flags,
    InternalDate,
    Rfc822Size,
    /// `RFC822`: the whole message, sets `\Seen`.
    Rfc822,
    Rfc822Header,
    /// `RFC822.TEXT`: sets `\Seen`.
    Rfc822Text,
    /// `BODY` without a section: the non-extensible structure.
    Body,
    BodyStructure,
    Uid,
    ModSeq,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`; `partial` is `(origin, length)`.
    Section {
        peek: bool,
        section: Section,
        partial: Option<(u64, u64)>,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[...]`: the part with its content transfer encoding
    /// undone (RFC 3516); an empty `part` is the whole message, as it is.
    Binary {
        peek: bool,
        part: Vec<u32>,
        partial: Option<(u64, u64)>,
    },
    /// `BINARY.SIZE[part]`: the size of what `BINARY[part]` returns.
    BinarySize {
        part: Vec<u32>,
    },
}

impl FetchAttr {
    /// Whether fetching this attribute sets `\Seen`.
    pub fn sets_seen(&self) -> bool {
        matches!(
            self,
            FetchAttr::Rfc822
                | FetchAttr::Rfc822Text
                | FetchAttr::Section { peek: false, .. }
                | FetchAttr::Binary { peek: false, .. }
        )
    }

    /// Whether it needs the message bytes.
    pub fn needs_content(&self) -> bool {
        matches!(
            self,
            FetchAttr::Rfc822
                | FetchAttr::Rfc822Header
                | FetchAttr::Rfc822Text
                | FetchAttr::Section { .. }
                | FetchAttr::Binary { .. }
                | FetchAttr::BinarySize { .. }
        )
    }

    /// Whether it needs the precomputed structure.
    pub fn needs_meta(&self) -> bool {
        self.needs_content() || matches!(self, FetchAttr::Envelope | FetchAttr::Body | FetchAttr::BodyStructure)
    }
}

/// A parsed FETCH request after the sequence set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    pub attrs: Vec<FetchAttr>,
    /// RFC 7162 `CHANGEDSINCE`.
    pub changed_since: Option<u64>,
}

/// Parses the attribute part of a FETCH command (after the sequence set and its SP).
pub fn parse_fetch_attrs(input: &[u8]) -> Result<FetchRequest, &'static str> {
    let mut attrs = Vec::new();
    let rest = if let Some(mut list) = input.strip_prefix(b"(") {
        loop {
            let (attr, rest) = parse_attr(list)?;
            attrs.push(attr);
            match rest {
                [b')', more @ ..] => break more,
                [b' ', more @ ..] => list = more,
                _ => return Err("Expected SP or ) in fetch attribute list"),
            }
        }
    } else {
        let end = memchr::memchr(b' ', input).unwrap_or(input.len());
        let word = &input[..end];
        let macro_attrs: Option<&[FetchAttr]> = if word.eq_ignore_ascii_case(b"ALL") {
            Some(&[FetchAttr::Flags, FetchAttr::InternalDate, FetchAttr::Rfc822Size, FetchAttr::Envelope])
        } else if word.eq_ignore_ascii_case(b"FAST") {
            Some(&[FetchAttr::Flags, FetchAttr::InternalDate, FetchAttr::Rfc822Size])
        } else if word.eq_ignore_ascii_case(b"FULL") {
            Some(&[
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
                FetchAttr::Envelope,
                FetchAttr::Body,
            ])
        } else {
            None
        };
        match macro_attrs {
            Some(list) => {
                attrs.extend_from_slice(list);
                &input[end..]
            }
            None => {
                let (attr, rest) = parse_attr(input)?;
                attrs.push(attr);
                rest
            }
        }
    };
    let changed_since = match rest {
        [] => None,
        [b' ', modifiers @ ..] => Some(parse_changed_since(modifiers)?),
        _ => return Err("Unexpected text after fetch attributes"),
    };
    Ok(FetchRequest { attrs, changed_since })
}

fn parse_changed_since(input: &[u8]) -> Result<u64, &'static str> {
    let body = input.strip_prefix(b"(").and_then(|b| b.strip_suffix(b")")).ok_or("Invalid fetch modifier")?;
    let (name, value) = body.split_at(memchr::memchr(b' ', body).ok_or("Invalid fetch modifier")?);
    if !name.eq_ignore_ascii_case(b"CHANGEDSINCE") {
        return Err("Unknown fetch modifier");
    }
    parse_number(&value[1..]).ok_or("Invalid CHANGEDSINCE value")
}

/// Parses one `fetch-att`; returns it and the text after it.
fn parse_attr(input: &[u8]) -> Result<(FetchAttr, &[u8]), &'static str> {
    let end = input.iter().position(|&b| matches!(b, b' ' | b')' | b'[')).unwrap_or(input.len());
    let (word, rest) = input.split_at(end);
    let simple = [
        ("ENVELOPE", FetchAttr::Envelope),
        ("FLAGS", FetchAttr::Flags),
        ("INTERNALDATE", FetchAttr::InternalDate),
        ("RFC822.SIZE", FetchAttr::Rfc822Size),
        ("RFC822.HEADER", FetchAttr::Rfc822Header),
        ("RFC822.TEXT", FetchAttr::Rfc822Text),
        ("RFC822", FetchAttr::Rfc822),
        ("BODYSTRUCTURE", FetchAttr::BodyStructure),
        ("UID", FetchAttr::Uid),
        ("MODSEQ", FetchAttr::ModSeq),
    ];
    if let Some((_, attr)) = simple.iter().find(|(name, _)| word.eq_ignore_ascii_case(name.as_bytes())) {
        return Ok((attr.clone(), rest));
    }
    if let Some(binary) = parse_binary(word, rest) {
        return binary;
    }
    let peek = if word.eq_ignore_ascii_case(b"BODY.PEEK") {
        true
    } else if word.eq_ignore_ascii_case(b"BODY") {
        if !rest.starts_with(b"[") {
            return Ok((FetchAttr::Body, rest));
        }
        false
    } else {
        return Err("Unknown fetch attribute");
    };
    let after = rest.strip_prefix(b"[").ok_or("BODY.PEEK needs a section")?;
    let close = memchr::memchr(b']', after).ok_or("Unterminated section")?;
    let section = parse_section(&after[..close])?;
    let (partial, rest) = parse_partial(&after[close + 1..])?;
    Ok((FetchAttr::Section { peek, section, partial }, rest))
}

/// `BINARY[...]`, `BINARY.PEEK[...]` and `BINARY.SIZE[...]`; `None` if `word` is none of them.
fn parse_binary<'a>(word: &[u8], rest: &'a [u8]) -> Option<Result<(FetchAttr, &'a [u8]), &'static str>> {
    let kind = [&b"BINARY"[..], b"BINARY.PEEK", b"BINARY.SIZE"].iter().position(|w| word.eq_ignore_ascii_case(w))?;
    Some((|| {
        let after = rest.strip_prefix(b"[").ok_or("BINARY needs a section such as [1.2]")?;
        let close = memchr::memchr(b']', after).ok_or("Unterminated section")?;
        let section = parse_section(&after[..close])?;
        if section.text.is_some() {
            return Err("A BINARY section names parts only (RFC 3516)");
        }
        let rest = &after[close + 1..];
        if kind == 2 {
            return Ok((FetchAttr::BinarySize { part: section.part }, rest));
        }
        let (partial, rest) = parse_partial(rest)?;
        Ok((FetchAttr::Binary { peek: kind == 1, part: section.part, partial }, rest))
    })())
}

/// An optional `<origin.length>` after a section; returns it and the text after it.
fn parse_partial(rest: &[u8]) -> Result<(Option<(u64, u64)>, &[u8]), &'static str> {
    let Some(p) = rest.strip_prefix(b"<") else { return Ok((None, rest)) };
    let close = memchr::memchr(b'>', p).ok_or("Unterminated partial")?;
    let (origin, length) = p[..close].split_at(memchr::memchr(b'.', &p[..close]).ok_or("Invalid partial")?);
    let origin = parse_number(origin).ok_or("Invalid partial origin")?;
    let length = parse_number(&length[1..]).filter(|&n| n > 0).ok_or("Invalid partial length")?;
    Ok((Some((origin, length)), &p[close + 1..]))
}

/// Parses a `section-spec` (the text between `[` and `]`).
pub fn parse_section(spec: &[u8]) -> Result<Section, &'static str> {
    let mut section = Section::default();
    let mut rest = spec;
    while rest.first().is_some_and(u8::is_ascii_digit) {
        let end = rest.iter().position(|&b| !b.is_ascii_digit()).unwrap_or(rest.len());
        let n =
            parse_number(&rest[..end]).filter(|&n| n > 0 && n <= u64::from(u32::MAX)).ok_or("Invalid part number")?;
        section.part.push(n as u32);
        rest = &rest[end..];
        match rest.first() {
            None => return Ok(section),
            Some(b'.') => rest = &rest[1..],
            Some(_) => return Err("Invalid section"),
        }
    }
    if rest.is_empty() {
        return if section.part.is_empty() { Ok(section) } else { Err("Section ends with a dot") };
    }
    let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
    let (word, fields) = rest.split_at(end);
    let text = if word.eq_ignore_ascii_case(b"HEADER") {
        SectionText::Header
    } else if word.eq_ignore_ascii_case(b"TEXT") {
        SectionText::Text
    } else if word.eq_ignore_ascii_case(b"MIME") && !section.part.is_empty() {
        SectionText::Mime
    } else if word.eq_ignore_ascii_case(b"HEADER.FIELDS") {
        SectionText::HeaderFields(parse_header_list(fields)?)
    } else if word.eq_ignore_ascii_case(b"HEADER.FIELDS.NOT") {
        SectionText::HeaderFieldsNot(parse_header_list(fields)?)
    } else {
        return Err("Invalid section text");
    };
    if !matches!(text, SectionText::HeaderFields(_) | SectionText::HeaderFieldsNot(_)) && !fields.is_empty() {
        return Err("Invalid section");
    }
    section.text = Some(text);
    Ok(section)
}

fn parse_header_list(input: &[u8]) -> Result<Vec<String>, &'static str> {
    let body = input
        .strip_prefix(b" (")
        .and_then(|b| b.strip_suffix(b")"))
        .ok_or("HEADER.FIELDS needs a parenthesised list")?;
    let mut names = Vec::new();
    for name in body.split(|&b| b == b' ') {
        let name = name.strip_prefix(b"\"").and_then(|n| n.strip_suffix(b"\"")).unwrap_or(name);
        if name.is_empty() || !name.iter().all(|&b| b.is_ascii_graphic() && b != b':') {
            return Err("Invalid header field name");
        }
        names.push(String::from_utf8_lossy(name).into_owned());
    }
    Ok(names)
}

/// Writes the section as the response names it: `BODY[1.HEADER.FIELDS (From To)]`.
pub fn encode_section_name(out: &mut Vec<u8>, section: &Section) {
    out.extend_from_slice(b"BODY[");
    let parts: Vec<String> = section.part.iter().map(u32::to_string).collect();
    out.extend_from_slice(parts.join(".").as_bytes());
    if let Some(text) = &section.text {
        if !section.part.is_empty() {
            out.push(b'.');
        }
        let (word, fields) = match text {
            SectionText::Header => ("HEADER", None),
            SectionText::Text => ("TEXT", None),
            SectionText::Mime => ("MIME", None),
            SectionText::HeaderFields(f) => ("HEADER.FIELDS", Some(f)),
            SectionText::HeaderFieldsNot(f) => ("HEADER.FIELDS.NOT", Some(f)),
        };
        out.extend_from_slice(word.as_bytes());
        if let Some(fields) = fields {
            out.extend_from_slice(b" (");
            out.extend_from_slice(fields.join(" ").as_bytes());
            out.push(b')');
        }
    }
    out.push(b']');
}

#[cfg(test)]
#[path = "imap_fetch_tests.rs"]
mod tests;
