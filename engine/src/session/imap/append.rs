//! APPEND (RFC 9051 §6.3.12) with the UIDPLUS `APPENDUID` code (RFC 4315).
//!
//! ```text
//! append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP (literal / literal8)
//! literal8 = "~{" number64 ["+"] "}" CRLF *OCTET    ; BINARY, RFC 3516 §4.4: may hold NUL
//! ```
//!
//! The connection loop has already checked the literal's announced size against
//! `limits.max_literal_bytes` (and `limits.max_message_bytes`) before sending `+`, so the whole
//! message is in the framed command. `OK [APPENDUID ...]` is written only after the store call
//! returned, i.e. after the message was synced to disk.

use super::{ok, reply, store_failed, Flow, ImapSession};
use crate::wire::imap::Args;
use crate::wire::imap_values::{parse_date_time, parse_flag_list, parse_number};
use storage::mail::{Flags, NewMessage};
use storage::StoreError;

impl ImapSession<'_> {
    pub(super) async fn append(&mut self, tag: &[u8], args: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        let (name, flags, date, body, literal8) = match parse_append(args) {
            Ok(parts) => parts,
            Err(reason) => return self.bad(out, tag, reason),
        };
        if body.len() as u64 > self.ctx.config.limits.max_message_bytes {
            reply(out, tag, "NO", "[TOOBIG] Message too large");
            return Flow::Continue;
        }
        let internal_date = date.unwrap_or_else(now);
        // A literal8 may carry NUL bytes, which BODY[...] could never send: such parts are stored
        // as base64 (RFC 3516 §4.4), and BINARY[...] gives the client's bytes back.
        let body = if literal8 { super::binary::encode_binary_parts(body) } else { body.to_vec() };
        let message = NewMessage { prefix: Vec::new(), body, flags, internal_date };
        match self.ctx.mail().append(&account, &name, message).await {
            Ok(appended) => {
                // Appended to the selected mailbox: its EXISTS belongs in this response.
                if self.selected.as_ref().is_some_and(|s| s.name == name) {
                    self.sync(out, true).await;
                }
                ok(out, tag, &format!("[APPENDUID {} {}] APPEND completed", appended.uid_validity, appended.uid))
            }
            Err(StoreError::NotFound(_)) => {
                reply(out, tag, "NO", "[TRYCREATE] No such mailbox");
                Flow::Continue
            }
            Err(e) => store_failed(out, tag, &e),
        }
    }
}

/// Splits APPEND's arguments into mailbox, flags, date, the literal's bytes and whether it was a
/// literal8.
type AppendArgs<'a> = (String, Flags, Option<i64>, &'a [u8], bool);

fn parse_append(args: &[u8]) -> Result<AppendArgs<'_>, &'static str> {
    let mut parsed = Args::new(args);
    let name = parsed
        .astring()
        .ok()
        .and_then(|n| super::mailbox_name(&n))
        .ok_or("Syntax: APPEND mailbox [flags] [date] literal")?;
    let mut rest = parsed.rest();
    let mut flags = Flags::new();
    if rest.starts_with(b"(") {
        let (f, r) = parse_flag_list(rest, false)?;
        flags = f;
        rest = r;
    }
    let mut date = None;
    if rest.starts_with(b"\"") {
        let (d, r) = parse_date_time(rest)?;
        date = Some(d);
        rest = r;
    }
    let literal8 = rest.starts_with(b"~{");
    let after = rest.strip_prefix(b"~{").or_else(|| rest.strip_prefix(b"{"));
    let after = after.ok_or("APPEND needs the message as a literal")?;
    let close = memchr::memchr(b'}', after).ok_or("Invalid literal")?;
    let spec = &after[..close];
    let size = parse_number(spec.strip_suffix(b"+").unwrap_or(spec)).ok_or("Invalid literal size")?;
    let data = after[close + 1..].strip_prefix(b"\r\n").ok_or("Literal must be followed by CRLF")?;
    let size = usize::try_from(size).map_err(|_| "Literal too large")?;
    if data.len() != size {
        return Err("Only one message per APPEND (MULTIAPPEND is not supported)");
    }
    Ok((name, flags, date, data, literal8))
}

/// Seconds since the epoch now.
fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
