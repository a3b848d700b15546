//! APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502), the UIDPLUS `APPENDUID` code (RFC 4315),
//! APPENDLIMIT (RFC 7889) and BINARY's `literal8` (RFC 3516 §4.4).
//!
//! ```text
//! append          = "APPEND" SP mailbox 1*append-message
//! append-message  = append-opts SP append-data
//! append-data     = literal / literal8
//! ```
//!
//! The connection loop has already checked each literal's announced size before sending `+`
//! (`NO [TOOBIG]` above [`append_limit`], `NO [TRYCREATE]` for a mailbox that does not exist), so
//! every message is in the framed command. All messages go to the store in one call, one request
//! of one group commit: all of them are appended or none (RFC 3502 §6.3.11). `OK [APPENDUID
//! uidvalidity uid-set]` is written only after that call returned, i.e. after the messages were
//! synced to disk.

use super::{encode_set, ok, reply, store_failed, Flow, ImapSession};
use crate::wire::imap_append::parse_append;
use mailgenic_config::Limits;
use storage::mail::NewMessage;
use storage::StoreError;

/// The largest message APPEND takes, advertised as `APPENDLIMIT=<n>` (RFC 7889): the literal
/// limit, or the message limit when that is lower (with the defaults both are 64 MiB).
pub fn append_limit(limits: &Limits) -> u64 {
    limits.max_literal_bytes.min(limits.max_message_bytes)
}

impl ImapSession<'_> {
    pub(super) async fn append(&mut self, tag: &[u8], args: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(account) = self.user.clone() else { return self.not_logged_in(out, tag) };
        let parsed = match parse_append(args) {
            Ok(parsed) => parsed,
            Err(reason) => return self.bad(out, tag, reason),
        };
        let name = match self.mailbox_name(&parsed.mailbox) {
            Ok(name) => name,
            Err(why) => return super::names::refuse_name(out, tag, &why),
        };
        let limit = append_limit(&self.ctx.config.limits);
        if parsed.messages.iter().any(|m| m.data.len() as u64 > limit) {
            reply(out, tag, "NO", "[TOOBIG] Message too large");
            return Flow::Continue;
        }
        let internal_date = now();
        let messages = parsed
            .messages
            .iter()
            .map(|m| NewMessage {
                prefix: Vec::new(),
                // A literal8 may carry NUL bytes, which BODY[...] could never send: such parts are
                // stored as base64 (RFC 3516 §4.4), and BINARY[...] gives the client's bytes back.
                body: if m.literal8 { super::binary::encode_binary_parts(m.data) } else { m.data.to_vec() },
                flags: m.flags.clone(),
                internal_date: m.internal_date.unwrap_or(internal_date),
            })
            .collect();
        match self.ctx.mail().append_all(&account, &name, messages).await {
            Ok(appended) => {
                // Appended to the selected mailbox: its EXISTS belongs in this response.
                if self.selected.as_ref().is_some_and(|s| s.name == name) {
                    self.sync(out, true).await;
                }
                let uid_validity = appended.first().map_or(0, |a| a.uid_validity);
                let uids = encode_set(appended.iter().map(|a| a.uid));
                ok(out, tag, &format!("[APPENDUID {uid_validity} {uids}] APPEND completed"))
            }
            Err(StoreError::NotFound(_)) => {
                reply(out, tag, "NO", "[TRYCREATE] No such mailbox");
                Flow::Continue
            }
            Err(e) => store_failed(out, tag, &e),
        }
    }

    /// Decides, before `+` is sent for an APPEND's synchronising literal of `size` bytes, whether
    /// to refuse the command instead (RFC 9051 §7.5, RFC 7889 §3): `[TOOBIG]` above the limit,
    /// `[TRYCREATE]` when the first message's mailbox does not exist. `partial` is the command as
    /// received so far.
    pub(super) async fn refuse_append_early(&mut self, partial: &[u8], size: u64) -> Option<&'static str> {
        if size > append_limit(&self.ctx.config.limits) {
            return Some("[TOOBIG] Message too large");
        }
        let account = self.user.clone()?;
        // Only on the first line: later literals go to the mailbox already checked.
        if memchr::memchr(b'\n', partial)? + 1 != partial.len() {
            return None;
        }
        let command = crate::wire::imap::parse_command(partial).ok()?;
        let name =
            crate::wire::imap::Args::new(command.args).astring().ok().and_then(|n| self.mailbox_name(&n).ok())?;
        match self.ctx.mail().mailbox(&account, &name).await {
            Err(StoreError::NotFound(_)) => Some("[TRYCREATE] No such mailbox"),
            _ => None,
        }
    }
}

/// Seconds since the epoch now.
pub(super) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
