//! EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, UIDPLUS RFC 4315 §2.1): removes the messages marked
//! `\Deleted` (within the UID set for UID EXPUNGE) and reports each with `* n EXPUNGE`.

use super::select::{read_only, uid_set};
use super::{ok, store_failed, Flow, ImapSession};
use crate::wire::imap_values::parse_sequence_set;
use storage::mail::UidSet;

impl ImapSession<'_> {
    pub(super) async fn expunge(&mut self, tag: &[u8], args: &[u8], by_uid: bool, out: &mut Vec<u8>) -> Flow {
        let (Some(account), Some(selected)) = (self.user.clone(), self.selected.as_ref()) else {
            return self.not_logged_in(out, tag);
        };
        let set = if by_uid {
            match parse_sequence_set(args) {
                Ok((set, rest)) if rest.is_empty() => uid_set(&selected.resolve(&set, true)),
                _ => return self.bad(out, tag, "Syntax: UID EXPUNGE uid-set"),
            }
        } else if args.is_empty() {
            UidSet::all()
        } else {
            return self.bad(out, tag, "EXPUNGE takes no arguments");
        };
        if selected.read_only {
            return read_only(out, tag);
        }
        if set.ranges().is_empty() {
            return ok(out, tag, "EXPUNGE completed");
        }
        let name = selected.name.clone();
        let expunged = match self.ctx.mail().expunge(&account, &name, set).await {
            Ok(uids) => uids,
            Err(e) => return store_failed(out, tag, &e),
        };
        if let Some(selected) = self.selected.as_mut() {
            selected.report_expunges(expunged, out);
        }
        ok(out, tag, "EXPUNGE completed")
    }
}
