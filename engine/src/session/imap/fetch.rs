//! FETCH and UID FETCH (RFC 9051 §6.4.5; CONDSTORE `MODSEQ` and `CHANGEDSINCE`, RFC 7162).
//!
//! ENVELOPE and BODYSTRUCTURE are precomputed at delivery; body sections are slices of the
//! message cut with the stored part offsets. A non-PEEK body fetch sets `\Seen` first and reports
//! the new FLAGS. Output is written to the client whenever [`FETCH_FLUSH_BYTES`] have been
//! buffered, so a large FETCH never holds the whole answer in memory; message contents in that
//! output are held by reference, not copied (see [`Literals`] for what that keeps alive).

use super::binary::{binary_content, encode_binary_name, push_binary_literal};
use super::literals::Literals;
use super::read_ahead::ReadAhead;
use super::select::{encode_flags_recent, uid_set};
use super::{reply, store_failed, Flow, ImapSession};
use crate::io::Transport;
use crate::wire::imap_fetch::{encode_section_name, parse_fetch_attrs, FetchAttr, Section, SectionText};
use crate::wire::imap_values::{encode_date_time, parse_sequence_set};
use bytes::Bytes;
use std::borrow::Cow;
use std::collections::HashMap;
use std::io;
use std::io::Write as _;
use storage::mail::meta::PartOffsets;
use storage::mail::{FlagOp, Flags, MessageMeta, MessageSummary, MetaFields, SystemFlag, UidSet};

/// Buffered FETCH output is written once it reaches this size.
pub const FETCH_FLUSH_BYTES: usize = 64 * 1024;
/// Messages whose metadata is read from the store in one call.
const FETCH_BATCH: usize = 1024;
/// Message bytes read from the store in one call when bodies are fetched: a batch stops once it
/// holds this much (or holds one message, however large), which bounds what a FETCH keeps in memory.
const FETCH_READ_BYTES: u64 = 4 << 20;

impl ImapSession<'_> {
    pub(super) async fn fetch<T: Transport>(
        &mut self,
        tag: &[u8],
        args: &[u8],
        by_uid: bool,
        out: &mut Vec<u8>,
        transport: &mut T,
    ) -> io::Result<Flow> {
        let mut literals = Literals::default();
        let flow = self.fetch_with(tag, args, by_uid, out, &mut literals, transport).await;
        // Whatever ends the command (its tagged reply, a store error) follows the contents.
        literals.settle(out);
        flow
    }

    /// FETCH, with message contents written into `out` by reference (see [`Literals`]).
    async fn fetch_with<T: Transport>(
        &mut self,
        tag: &[u8],
        args: &[u8],
        by_uid: bool,
        out: &mut Vec<u8>,
        literals: &mut Literals,
        transport: &mut T,
    ) -> io::Result<Flow> {
        let (Some(account), Some(selected)) = (self.user.clone(), self.selected.as_ref()) else {
            return Ok(self.not_logged_in(out, tag));
        };
        let parsed = parse_sequence_set(args).and_then(|(set, rest)| Ok((set, parse_fetch_attrs(rest)?)));
        let (set, mut request) = match parsed {
            Ok(p) => p,
            Err(reason) => return Ok(self.bad(out, tag, reason)),
        };
        if by_uid && !request.attrs.contains(&FetchAttr::Uid) {
            request.attrs.insert(0, FetchAttr::Uid);
        }
        if request.changed_since.is_some() {
            super::enable_condstore(&mut self.condstore, Some(selected), out);
            if !request.attrs.contains(&FetchAttr::ModSeq) {
                request.attrs.push(FetchAttr::ModSeq);
            }
        }
        if request.attrs.contains(&FetchAttr::ModSeq) {
            super::enable_condstore(&mut self.condstore, Some(selected), out);
        }
        if request.vanished {
            if !by_uid || !self.qresync {
                return Ok(self.bad(out, tag, "VANISHED needs UID FETCH after ENABLE QRESYNC"));
            }
            // RFC 7162 §3.2.6: the UIDs of the set expunged since CHANGEDSINCE, before the FETCHes.
            let since = request.changed_since.unwrap_or(0);
            let mail = self.ctx.mail();
            let log = match mail.changes_since(&account, &selected.name, since).await {
                Ok(log) => log,
                Err(e) => return Ok(store_failed(out, tag, &e)),
            };
            let largest = selected.uids.last().copied().unwrap_or(0);
            let vanished = if log.complete {
                let vanished = super::qresync::expunged_since(&log.changes, since, Some(&set), largest);
                let vanished: Vec<u32> = vanished.into_iter().filter(|&uid| selected.seq_of(uid).is_none()).collect();
                super::encode_set(vanished)
            } else {
                // The log was pruned past CHANGEDSINCE: every UID of the set up to the largest
                // this session knows that neither the session nor the mailbox holds is gone.
                let current = match mail.fetch_summaries(&account, &selected.name, UidSet::all()).await {
                    Ok(current) => current,
                    Err(e) => return Ok(store_failed(out, tag, &e)),
                };
                let mut held: Vec<u32> = current.iter().map(|s| s.uid).chain(selected.uids.iter().copied()).collect();
                held.sort_unstable();
                held.dedup();
                super::encode_ranges(&super::qresync::missing_ranges(&set, largest, &held))
            };
            if !vanished.is_empty() {
                let _ = write!(out, "* VANISHED (EARLIER) {vanished}\r\n");
            }
        }
        let uids = selected.resolve(&set, by_uid);
        if !by_uid && uids.is_empty() && !set.resolve(selected.uids.len() as u32).is_empty() {
            return Ok(self.bad(out, tag, "Invalid message sequence number"));
        }
        let (name, read_only) = (selected.name.clone(), selected.read_only);
        let needs_meta = request.attrs.iter().any(FetchAttr::needs_meta);
        let needs_content = request.attrs.iter().any(FetchAttr::needs_content);
        // Part offsets are for the contents (sections, BINARY, RFC822.*).
        let fields = MetaFields {
            envelope: request.attrs.contains(&FetchAttr::Envelope),
            body_structure: request.attrs.contains(&FetchAttr::BodyStructure),
            body: request.attrs.contains(&FetchAttr::Body),
            parts: needs_content,
        };
        let sets_seen = !read_only && request.attrs.iter().any(FetchAttr::sets_seen);
        let wants_flags = request.attrs.contains(&FetchAttr::Flags);
        let header_only = request.attrs.iter().filter(|a| a.needs_content()).all(names_message_header);
        let mail = self.ctx.mail();
        // Each batch's metadata is asked for before the previous batch is written out, so the
        // store reads it meanwhile.
        let read_batch = |chunk: &[u32]| -> ChunkRead {
            let set = uid_set(chunk);
            if needs_meta {
                let read = mail.fetch_meta_with(&account, &name, set, fields);
                Box::pin(async move {
                    let metas = read.await?;
                    Ok(metas.into_iter().map(|mut m| (std::mem::take(&mut m.summary), Some(m))).collect())
                })
            } else {
                let read = mail.fetch_summaries(&account, &name, set);
                Box::pin(async move { Ok(read.await?.into_iter().map(|s| (s, None)).collect()) })
            }
        };
        let mut chunks = uids.chunks(FETCH_BATCH);
        let mut next = chunks.next().map(read_batch);
        while let Some(read) = next.take() {
            let result = read.await;
            next = chunks.next().map(read_batch);
            let mut messages = match result {
                Ok(messages) => messages,
                Err(e) => return Ok(store_failed(out, tag, &e)),
            };
            if let Some(since) = request.changed_since {
                messages.retain(|(s, _)| s.modseq > since);
            }
            let mut seen_now: HashMap<u32, (u64, Flags)> = HashMap::new();
            if sets_seen {
                let unseen: Vec<u32> =
                    messages.iter().filter(|(s, _)| !s.flags.contains(SystemFlag::Seen)).map(|(s, _)| s.uid).collect();
                if !unseen.is_empty() {
                    let seen = Flags::new().with(SystemFlag::Seen);
                    match mail.store_flags(&account, &name, uid_set(&unseen), FlagOp::Add, seen, None).await {
                        Ok(update) => {
                            for (uid, modseq, flags) in update.updated {
                                if let Some(s) = self.selected.as_mut() {
                                    s.own_modseqs.insert(modseq);
                                }
                                seen_now.insert(uid, (modseq, flags));
                            }
                        }
                        Err(e) => return Ok(store_failed(out, tag, &e)),
                    }
                }
            }
            // Contents are read for the messages this batch writes out, and for no other: a
            // CHANGEDSINCE may leave two messages of a thousand, and reading the ones between
            // would hold all of them at once.
            let wanted: Vec<u32> = match self.selected.as_ref() {
                Some(s) => messages.iter().map(|(m, _)| m.uid).filter(|&uid| s.seq_of(uid).is_some()).collect(),
                None => Vec::new(),
            };
            let mut ahead = ReadAhead::new(header_only, FETCH_READ_BYTES);
            for (mut summary, meta) in messages {
                let Some(seq) = self.selected.as_ref().and_then(|s| s.seq_of(summary.uid)) else { continue };
                let flags_changed = match seen_now.remove(&summary.uid) {
                    Some((modseq, flags)) => {
                        summary.modseq = modseq;
                        summary.flags = flags;
                        true
                    }
                    None => false,
                };
                let content = if needs_content {
                    // A header-only request (the usual message-list FETCH) reads only headers.
                    match ahead.take(&mail, &account, &name, &wanted, summary.uid).await {
                        Ok(Some(bytes)) => Some(Bytes::from(bytes)),
                        // Expunged since the batch's metadata was read.
                        Ok(None) => continue,
                        Err(e) => return Ok(store_failed(out, tag, &e)),
                    }
                } else {
                    None
                };
                if wants_flags || flags_changed {
                    if let Some(selected) = self.selected.as_mut() {
                        selected.announce_keywords(&summary.flags, out);
                    }
                }
                // BINARY items are decoded before anything of this message is written, so an encoding
                // we cannot undo fails the command cleanly (RFC 3516 §4.3).
                let mut binaries = Vec::new();
                for attr in &request.attrs {
                    if let FetchAttr::Binary { part, .. } | FetchAttr::BinarySize { part } = attr {
                        let parts = meta.as_ref().map_or(&[][..], |m| &m.parts[..]);
                        match binary_content(content.as_deref().unwrap_or_default(), parts, part) {
                            Ok(data) => binaries.push(data),
                            Err(_) => {
                                reply(
                                    out,
                                    tag,
                                    "NO",
                                    "[UNKNOWN-CTE] A part has a transfer encoding this server cannot decode",
                                );
                                return Ok(Flow::Continue);
                            }
                        }
                    }
                }
                let mut binaries = binaries.into_iter();
                let recent = self.selected.as_ref().is_some_and(|s| s.recent.contains(&summary.uid));
                let _ = write!(out, "* {seq} FETCH (");
                let mut first = true;
                for attr in &request.attrs {
                    if !first {
                        out.push(b' ');
                    }
                    first = false;
                    match attr {
                        FetchAttr::Binary { part, partial, .. } => {
                            let data = binaries.next().unwrap_or_default();
                            encode_binary_name(out, "BINARY", part);
                            let data = cut(&data, *partial, out);
                            out.push(b' ');
                            push_binary_literal(out, data);
                        }
                        FetchAttr::BinarySize { part } => {
                            let size = binaries.next().map_or(0, |d| d.len());
                            encode_binary_name(out, "BINARY.SIZE", part);
                            let _ = write!(out, " {size}");
                        }
                        _ => encode_attr(out, literals, attr, &summary, recent, meta.as_ref(), content.as_ref()),
                    }
                }
                if flags_changed && !wants_flags {
                    out.extend_from_slice(b" FLAGS ");
                    encode_flags_recent(out, &summary.flags, recent);
                }
                out.extend_from_slice(b")\r\n");
                if literals.len_with(out) >= FETCH_FLUSH_BYTES {
                    literals.flush(out, transport).await?;
                }
            }
        }
        reply(out, tag, "OK", if by_uid { "UID FETCH completed" } else { "FETCH completed" });
        Ok(Flow::Continue)
    }
}

/// One batch's summaries (and metadata, when asked for), read by the store while the session
/// writes out the batch before it.
type ChunkRead = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Vec<(MessageSummary, Option<MessageMeta>)>, storage::StoreError>>>,
>;

/// Whether a content attribute needs nothing beyond the message's own header.
fn names_message_header(attr: &FetchAttr) -> bool {
    match attr {
        FetchAttr::Rfc822Header => true,
        FetchAttr::Section { section, .. } => {
            section.part.is_empty()
                && matches!(
                    section.text,
                    Some(SectionText::Header | SectionText::HeaderFields(_) | SectionText::HeaderFieldsNot(_))
                )
        }
        _ => false,
    }
}

/// Writes one `msg-att` item; literals taken from `content` are held by reference.
fn encode_attr(
    out: &mut Vec<u8>,
    literals: &mut Literals,
    attr: &FetchAttr,
    s: &MessageSummary,
    recent: bool,
    meta: Option<&MessageMeta>,
    content: Option<&Bytes>,
) {
    let whole = meta.and_then(|m| m.parts.first());
    let raw = content.map_or(&[][..], |c| &c[..]);
    let mut push_literal = |out: &mut Vec<u8>, data: &[u8]| {
        let _ = write!(out, "{{{}}}\r\n", data.len());
        literals.push(out, data, content);
    };
    match attr {
        FetchAttr::Uid => {
            let _ = write!(out, "UID {}", s.uid);
        }
        FetchAttr::Flags => {
            out.extend_from_slice(b"FLAGS ");
            encode_flags_recent(out, &s.flags, recent);
        }
        FetchAttr::InternalDate => {
            out.extend_from_slice(b"INTERNALDATE ");
            encode_date_time(out, s.internal_date);
        }
        FetchAttr::Rfc822Size => {
            let _ = write!(out, "RFC822.SIZE {}", s.size);
        }
        FetchAttr::ModSeq => {
            let _ = write!(out, "MODSEQ ({})", s.modseq);
        }
        FetchAttr::Envelope => {
            out.extend_from_slice(b"ENVELOPE ");
            out.extend_from_slice(meta.map_or(&b"NIL"[..], |m| &m.envelope));
        }
        FetchAttr::Body => {
            out.extend_from_slice(b"BODY ");
            out.extend_from_slice(meta.map_or(&b"NIL"[..], |m| &m.body));
        }
        FetchAttr::BodyStructure => {
            out.extend_from_slice(b"BODYSTRUCTURE ");
            out.extend_from_slice(meta.map_or(&b"NIL"[..], |m| &m.body_structure));
        }
        FetchAttr::Rfc822 => {
            out.extend_from_slice(b"RFC822 ");
            push_literal(out, raw);
        }
        FetchAttr::Rfc822Header => {
            out.extend_from_slice(b"RFC822.HEADER ");
            push_literal(out, slice(raw, whole.map(|p| p.header.clone())));
        }
        FetchAttr::Rfc822Text => {
            out.extend_from_slice(b"RFC822.TEXT ");
            push_literal(out, slice(raw, whole.map(|p| p.body.clone())));
        }
        FetchAttr::Section { section, partial, .. } => {
            let parts = meta.map_or(&[][..], |m| &m.parts[..]);
            let data = section_bytes(raw, parts, section);
            encode_section_name(out, section);
            let data = cut(&data, *partial, out);
            out.push(b' ');
            push_literal(out, data);
        }
        // Written by the caller, which has decoded them.
        FetchAttr::Binary { .. } | FetchAttr::BinarySize { .. } => {}
    }
}

/// The `<origin.length>` slice of `data` (clamped), writing `<origin>` after the item's name.
fn cut<'a>(data: &'a [u8], partial: Option<(u64, u64)>, out: &mut Vec<u8>) -> &'a [u8] {
    match partial {
        Some((origin, length)) => {
            let _ = write!(out, "<{origin}>");
            let start = origin.min(data.len() as u64) as usize;
            let end = origin.saturating_add(length).min(data.len() as u64) as usize;
            &data[start..end]
        }
        None => data,
    }
}

/// `raw[range]`, clamped to the message; empty without a range.
fn slice(raw: &[u8], range: Option<std::ops::Range<u32>>) -> &[u8] {
    let Some(range) = range else { return &[] };
    let end = (range.end as usize).min(raw.len());
    let start = (range.start as usize).min(end);
    &raw[start..end]
}

/// The bytes a section names (RFC 9051 §6.4.5); a part that does not exist is empty. A slice of
/// the message where it can be (`BODY[]` of 10,000 messages copies nothing here).
fn section_bytes<'a>(raw: &'a [u8], parts: &[PartOffsets], section: &Section) -> Cow<'a, [u8]> {
    let Some(part) = parts.iter().find(|p| p.section == section.part) else { return Cow::Borrowed(&[]) };
    let whole_message = section.part.is_empty();
    // The header a HEADER / HEADER.FIELDS / TEXT section refers to: the message's own, or that of
    // a message/rfc822 part.
    let header = if whole_message { Some(part.header.clone()) } else { part.message_header.clone() };
    match &section.text {
        None if whole_message => Cow::Borrowed(raw),
        None => Cow::Borrowed(slice(raw, Some(part.body.clone()))),
        Some(SectionText::Mime) => Cow::Borrowed(slice(raw, Some(part.header.clone()))),
        Some(SectionText::Header) => Cow::Borrowed(slice(raw, header)),
        Some(SectionText::Text) => match header {
            Some(h) => Cow::Borrowed(slice(raw, Some(h.end.max(part.body.start)..part.body.end))),
            None => Cow::Borrowed(&[]),
        },
        Some(SectionText::HeaderFields(names)) => Cow::Owned(header_fields(slice(raw, header), names, true)),
        Some(SectionText::HeaderFieldsNot(names)) => Cow::Owned(header_fields(slice(raw, header), names, false)),
    }
}

/// The header fields of `header` whose names are (`keep`) or are not in `names`, followed by the
/// blank line that ends a header.
fn header_fields(header: &[u8], names: &[String], keep: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut include = false;
    for line in header.split_inclusive(|&b| b == b'\n') {
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        if !matches!(line.first(), Some(b' ' | b'\t')) {
            let name_end = memchr::memchr(b':', line).unwrap_or(0);
            let name = &line[..name_end];
            let listed = names.iter().any(|n| n.as_bytes().eq_ignore_ascii_case(name.trim_ascii()));
            include = name_end > 0 && listed == keep;
        }
        if include {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::header_fields;

    #[test]
    fn header_fields_keeps_folded_lines_and_ends_with_a_blank_line() {
        let header = b"From: a@b\r\nSubject: one\r\n two\r\nTo: c@d\r\n\r\n";
        let names = vec!["subject".to_string()];
        assert_eq!(header_fields(header, &names, true), b"Subject: one\r\n two\r\n\r\n");
        assert_eq!(header_fields(header, &names, false), b"From: a@b\r\nTo: c@d\r\n\r\n");
    }
}
