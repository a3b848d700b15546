//! Transcripts of IMAP4rev2 (RFC 9051) after `ENABLE IMAP4rev2`, one per difference from
//! IMAP4rev1 that RFC 9051 Appendix E lists and that applies to this server, beside the same
//! commands in an IMAP4rev1 session; and RFC 9051's own examples where they fit our data.

use super::{capabilities_auth, plain, run, CAPABILITIES_PREAUTH};
use crate::session::testing::{World, PASSWORD, USER};

const MESSAGE: &str = "Subject: r\\r\\n\\r\\nbody\\r\\n";

pub(super) fn login() -> String {
    format!("S: * OK *\nC: l1 AUTHENTICATE PLAIN {}\nS: l1 OK *\n", plain(USER, PASSWORD))
}

/// Logs in and enables IMAP4rev2.
pub(super) fn login_rev2() -> String {
    format!("{}C: e1 ENABLE IMAP4rev2\nS: * ENABLED IMAP4rev2\nS: e1 OK ENABLE completed\n", login())
}

fn append(tag: &str, mailbox: &str) -> String {
    let size = MESSAGE.replace("\\r\\n", "\r\n").len();
    format!("P: {tag} APPEND {mailbox} {{{size}+}}\\r\\n{MESSAGE}\\r\\n\nS: {tag} OK [APPENDUID *\n")
}

#[test]
fn imap4rev2_is_advertised_after_imap4rev1() {
    let world = World::new("");
    assert!(CAPABILITIES_PREAUTH.starts_with("IMAP4rev1 IMAP4rev2 "));
    assert!(capabilities_auth(&world.ctx.config.limits).starts_with("IMAP4rev1 IMAP4rev2 "));
}

#[test]
fn enable_imap4rev2_only_once_logged_in_and_not_while_selected() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "S: * OK *
             C: a1 ENABLE IMAP4rev2
             S: a1 BAD Log in first
             C: a2 AUTHENTICATE PLAIN {}
             S: a2 OK *
             C: a3 SELECT INBOX
             S: * FLAGS *
             S: * 0 EXISTS
             S: * 0 RECENT
             S: * OK [UIDVALIDITY *
             S: * OK [UIDNEXT *
             S: * OK [PERMANENTFLAGS *
             S: * OK [HIGHESTMODSEQ *
             S: a3 OK [READ-WRITE] SELECT completed
             C: a4 ENABLE IMAP4rev2
             S: a4 BAD Command not valid in this state
             C: a5 UNSELECT
             S: a5 OK *
             C: a6 enable imap4rev2 CONDSTORE
             S: * ENABLED IMAP4rev2 CONDSTORE
             S: a6 OK ENABLE completed
             C: a7 ENABLE IMAP4rev2
             S: * ENABLED
             S: a7 OK ENABLE completed",
            plain(USER, PASSWORD)
        ),
    );
}

/// RFC 9051 §6.3.2: SELECT sends a LIST response and no RECENT or UNSEEN; no message carries
/// `\Recent`, and a rev2 SELECT leaves the messages recent for a rev1 session.
#[test]
fn rev2_select_has_list_and_no_recent_or_unseen() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}{}C: a1 CREATE INBOX/sub
             S: a1 OK *
             C: a2 SELECT INBOX
             S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
             S: * 1 EXISTS
             S: * LIST (\\HasChildren) \"/\" \"INBOX\"
             S: * OK [UIDVALIDITY *
             S: * OK [UIDNEXT 2] Predicted next UID
             S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] *
             S: * OK [HIGHESTMODSEQ *
             S: a2 OK [READ-WRITE] SELECT completed
             C: a3 FETCH 1 FLAGS
             S: * 1 FETCH (FLAGS ())
             S: a3 OK *",
            login_rev2(),
            append("p1", "INBOX")
        ),
    );
    run(
        &world,
        &format!(
            "{}C: b1 SELECT INBOX
             S: * FLAGS *
             S: * 1 EXISTS
             S: * 1 RECENT
             S: * OK [UNSEEN 1] *
             S: * OK [UIDVALIDITY *
             S: * OK [UIDNEXT 2] *
             S: * OK [PERMANENTFLAGS *
             S: * OK [HIGHESTMODSEQ *
             S: b1 OK [READ-WRITE] SELECT completed
             C: b2 FETCH 1 FLAGS
             S: * 1 FETCH (FLAGS (\\Recent))
             S: b2 OK *",
            login()
        ),
    );
}

/// A message arriving while a rev2 session has the mailbox selected: EXISTS, no RECENT.
#[test]
fn rev2_new_mail_is_reported_without_recent() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: a1 SELECT INBOX
             S: * FLAGS *
             S: * 0 EXISTS
             S: * LIST *
             S: * OK [UIDVALIDITY *
             S: * OK [UIDNEXT *
             S: * OK [PERMANENTFLAGS *
             S: * OK [HIGHESTMODSEQ *
             S: a1 OK *
             {}C: a2 NOOP
             S: a2 OK NOOP completed",
            login_rev2(),
            append("p1", "INBOX").replace("S: p1 OK", "S: * 1 EXISTS\nS: p1 OK"),
        ),
    );
}

/// RFC 9051 §6.4.4: SEARCH and UID SEARCH answer with ESEARCH; RECENT, NEW and OLD are gone.
#[test]
fn rev2_search_answers_with_esearch_and_refuses_recent_keys() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}{}{}{}C: a1 SELECT INBOX
             S: * FLAGS *
             S: * 3 EXISTS
             S: * LIST *
             S: * OK [UIDVALIDITY *
             S: * OK [UIDNEXT *
             S: * OK [PERMANENTFLAGS *
             S: * OK [HIGHESTMODSEQ *
             S: a1 OK *
             C: a2 STORE 2:3 +FLAGS.SILENT (\\Flagged)
             S: a2 OK *
             C: A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"
             S: * ESEARCH (TAG \"A282\") MIN 2 COUNT 2
             S: A282 OK SEARCH completed
             C: A283 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"
             S: * ESEARCH (TAG \"A283\") ALL 2:3
             S: A283 OK SEARCH completed
             C: A284 SEARCH TEXT \"string not in mailbox\"
             S: * ESEARCH (TAG \"A284\")
             S: A284 OK SEARCH completed
             C: a3 UID SEARCH UNFLAGGED
             S: * ESEARCH (TAG \"a3\") UID ALL 1
             S: a3 OK UID SEARCH completed
             C: a4 SEARCH RECENT
             S: a4 BAD RECENT, NEW and OLD are not part of IMAP4rev2
             C: a5 UID SEARCH NEW
             S: a5 BAD *
             C: a6 SEARCH NOT OLD
             S: a6 BAD *
             C: A999 UID SEARCH 1:100 UNDELETED
             S: * ESEARCH (TAG \"A999\") UID ALL 1:3
             S: A999 OK UID SEARCH completed
             C: a7 SEARCH RETURN (SAVE) FLAGGED
             S: a7 OK SEARCH completed
             C: a8 SEARCH UID $
             S: * ESEARCH (TAG \"a8\") ALL 2:3
             S: a8 OK SEARCH completed",
            login_rev2(),
            append("p1", "INBOX"),
            append("p2", "INBOX"),
            append("p3", "INBOX"),
        ),
    );
}

/// The same searches in an IMAP4rev1 session keep `* SEARCH` and the RECENT keys.
#[test]
fn rev1_search_keeps_search_and_recent_keys() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}{}C: a1 SELECT INBOX
             S: * FLAGS *
             S: * 1 EXISTS
             S: * 1 RECENT
             S: * OK [UNSEEN 1] *
             S: * OK [UIDVALIDITY *
             S: * OK [UIDNEXT *
             S: * OK [PERMANENTFLAGS *
             S: * OK [HIGHESTMODSEQ *
             S: a1 OK *
             C: a2 SEARCH NEW
             S: * SEARCH 1
             S: a2 OK SEARCH completed
             C: a3 SEARCH OLD
             S: * SEARCH
             S: a3 OK SEARCH completed
             C: a4 CHECK
             S: a4 OK CHECK completed",
            login(),
            append("p1", "INBOX"),
        ),
    );
}

/// RFC 9051 §6.3.11: STATUS DELETED (both versions); RECENT only in IMAP4rev1.
#[test]
fn status_deleted_and_no_recent_in_rev2() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}{}{}C: a1 SELECT INBOX
             S: * FLAGS *
             S: * 2 EXISTS
             S: * LIST *
             S: * OK [UIDVALIDITY *
             S: * OK [UIDNEXT *
             S: * OK [PERMANENTFLAGS *
             S: * OK [HIGHESTMODSEQ *
             S: a1 OK *
             C: a2 STORE 1 +FLAGS.SILENT (\\Deleted)
             S: a2 OK *
             C: a3 STATUS INBOX (MESSAGES DELETED)
             S: * STATUS \"INBOX\" (MESSAGES 2 DELETED 1)
             S: a3 OK STATUS completed
             C: a4 STATUS INBOX (MESSAGES RECENT)
             S: a4 BAD STATUS RECENT is not part of IMAP4rev2
             C: a5 CHECK
             S: a5 BAD CHECK is not part of IMAP4rev2, use NOOP",
            login_rev2(),
            append("p1", "INBOX"),
            append("p2", "INBOX"),
        ),
    );
    run(
        &world,
        &format!(
            "{}C: b1 STATUS INBOX (RECENT DELETED)
             S: * STATUS \"INBOX\" (RECENT 2 DELETED 1)
             S: b1 OK STATUS completed",
            login()
        ),
    );
}

/// RFC 9051 §6.3.2: a SELECT that replaces a selected mailbox says `[CLOSED]` first, in rev2
/// without QRESYNC; a rev1 session without QRESYNC does not.
#[test]
fn rev2_reselect_says_closed() {
    let world = World::new("");
    let select_lines = |tag: &str, verb: &str| {
        format!(
            "S: * FLAGS *\nS: * 0 EXISTS\nS: * LIST *\nS: * OK [UIDVALIDITY *\nS: * OK [UIDNEXT *\nS: * OK [PERMANENTFLAGS *\nS: * OK [HIGHESTMODSEQ *\nS: {tag} OK [{verb}] *\n"
        )
    };
    run(
        &world,
        &format!(
            "{}C: a0 CREATE Other
             S: a0 OK *
             C: a1 SELECT INBOX
             {}C: a2 EXAMINE Other
             S: * OK [CLOSED] Previous mailbox closed
             {}C: a3 SELECT Nope
             S: * OK [CLOSED] Previous mailbox closed
             S: a3 NO [NONEXISTENT] *
             C: a4 SELECT INBOX
             {}",
            login_rev2(),
            select_lines("a1", "READ-WRITE"),
            select_lines("a2", "READ-ONLY"),
            select_lines("a4", "READ-WRITE"),
        ),
    );
    run(
        &world,
        &format!(
            "{}C: b1 SELECT INBOX
             S: * FLAGS *
             S: * 0 EXISTS
             S: * 0 RECENT
             S: * OK [UIDVALIDITY *
             S: * OK [UIDNEXT *
             S: * OK [PERMANENTFLAGS *
             S: * OK [HIGHESTMODSEQ *
             S: b1 OK *
             C: b2 EXAMINE Other
             S: * FLAGS *",
            login()
        ),
    );
}

/// RFC 9051 §6.3.9: `\NonExistent` in every LIST, not only an extended one; LSUB is still there.
#[test]
fn rev2_list_says_nonexistent_and_lsub_still_works() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: a1 CREATE a/b
             S: a1 OK *
             C: a2 SUBSCRIBE a/b
             S: a2 OK *
             C: a2b DELETE a
             S: a2b OK *
             C: a3 LIST \"\" a%
             S: * LIST (\\Noselect \\HasChildren) \"/\" \"a\"
             S: a3 OK LIST completed",
            login()
        ),
    );
    run(
        &world,
        &format!(
            "{}C: b1 LIST \"\" a%
             S: * LIST (\\NonExistent \\HasChildren) \"/\" \"a\"
             S: b1 OK LIST completed
             C: b2 LSUB \"\" a/*
             S: * LSUB (\\HasNoChildren) \"/\" \"a/b\"
             S: b2 OK LSUB completed
             C: b3 LIST (SUBSCRIBED) \"\" a*
             S: * LIST (\\Subscribed \\HasNoChildren) \"/\" \"a/b\"
             S: b3 OK LIST completed",
            login_rev2()
        ),
    );
}

/// RFC 9051's LIST and STATUS examples (§6.3.9, §6.3.11) on our data, in a rev2 session.
#[test]
fn rfc9051_list_and_status_examples() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: A101 LIST \"\" \"\"
             S: * LIST (\\Noselect) \"/\" \"\"
             S: A101 OK LIST completed
             C: c1 CREATE blurdybloop
             S: c1 OK CREATE completed
             {}C: A042 STATUS blurdybloop (UIDNEXT MESSAGES)
             S: * STATUS \"blurdybloop\" (UIDNEXT 2 MESSAGES 1)
             S: A042 OK STATUS completed
             C: A682 LIST \"\" blurdybloop
             S: * LIST (\\HasNoChildren) \"/\" \"blurdybloop\"
             S: A682 OK LIST completed
             C: A684 LIST \"\" blurdybloop RETURN (STATUS (MESSAGES RECENT))
             S: A684 BAD STATUS RECENT is not part of IMAP4rev2
             C: A683 DELETE blurdybloop
             S: A683 OK DELETE completed",
            login_rev2(),
            append("p1", "blurdybloop"),
        ),
    );
}

#[path = "tests_names.rs"]
mod names;
