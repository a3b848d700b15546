//! COPY, MOVE and their UID forms (RFC 9051 §6.4.7, RFC 6851), answered with UIDPLUS `COPYUID`
//! (RFC 4315). MOVE is one store transaction; its EXPUNGE responses follow the untagged
//! `OK [COPYUID ...]`.

use super::select::{read_only, uid_set};
use super::{encode_set, reply, store_failed, Flow, ImapSession};
use crate::wire::imap::Args;
use crate::wire::imap_values::parse_sequence_set;
use storage::StoreError;

impl ImapSession<'_> {
    pub(super) async fn copy(
        &mut self,
        tag: &[u8],
        args: &[u8],
        by_uid: bool,
        moving: bool,
        out: &mut Vec<u8>,
    ) -> Flow {
        let (Some(account), Some(_)) = (self.user.clone(), self.selected.as_ref()) else {
            return self.not_logged_in(out, tag);
        };
        let verb = if moving { "MOVE" } else { "COPY" };
        let parsed = parse_sequence_set(args).ok().and_then(|(set, rest)| {
            let mut rest = Args::new(rest);
            let name = rest.astring().ok()?;
            rest.is_empty().then_some((set, name.into_owned()))
        });
        let Some((set, target)) = parsed else {
            return self.bad(out, tag, if moving { "Syntax: MOVE set mailbox" } else { "Syntax: COPY set mailbox" });
        };
        let target = match self.mailbox_name(&target) {
            Ok(name) => name,
            Err(why) => return super::names::refuse_name(out, tag, &why),
        };
        let Some(selected) = self.selected.as_ref() else { return self.not_logged_in(out, tag) };
        if moving && selected.read_only {
            return read_only(out, tag);
        }
        let uids = selected.resolve(&set, by_uid);
        if uids.is_empty() {
            reply(out, tag, "OK", &format!("{verb} completed"));
            return Flow::Continue;
        }
        let source = selected.name.clone();
        let mail = &self.ctx.mail();
        let result = if moving {
            mail.move_messages(&account, &source, uid_set(&uids), &target).await
        } else {
            mail.copy(&account, &source, uid_set(&uids), &target).await
        };
        let result = match result {
            Ok(r) => r,
            Err(StoreError::NotFound(_)) if mail.mailbox(&account, &target).await.is_err() => {
                reply(out, tag, "NO", "[TRYCREATE] No such mailbox");
                return Flow::Continue;
            }
            Err(e) => return store_failed(out, tag, &e),
        };
        let code = if result.uids.is_empty() {
            String::new()
        } else {
            format!(
                "[COPYUID {} {} {}] ",
                result.uid_validity,
                encode_set(result.uids.iter().map(|p| p.0)),
                encode_set(result.uids.iter().map(|p| p.1))
            )
        };
        if moving {
            if !code.is_empty() {
                out.extend_from_slice(format!("* OK {code}Moved\r\n").as_bytes());
            }
            if let Some(selected) = self.selected.as_mut() {
                selected.report_expunges(result.uids.iter().map(|p| p.0), out);
            }
        }
        if target == source {
            // The new messages are in the selected mailbox: report them before the tagged reply.
            self.sync(out, moving).await;
        }
        if moving {
            reply(out, tag, "OK", "MOVE completed");
        } else {
            reply(out, tag, "OK", &format!("{code}COPY completed"));
        }
        Flow::Continue
    }
}
