//! Transcripts of mailbox names on the wire: modified UTF-7 in IMAP4rev1 (RFC 3501 §5.1.3),
//! UTF-8 after `ENABLE IMAP4rev2` (RFC 9051 §5.1), the same stored name seen both ways.

use super::{login, login_rev2, run};
use crate::session::testing::World;

const MESSAGE: &str = "Subject: n\\r\\n\\r\\nbody\\r\\n";

fn append(tag: &str, mailbox: &str) -> String {
    let size = MESSAGE.replace("\\r\\n", "\r\n").len();
    format!("P: {tag} APPEND {mailbox} {{{size}+}}\\r\\n{MESSAGE}\\r\\n\nS: {tag} OK [APPENDUID *\n")
}

/// RFC 3501 §5.1.3's example name, created by a rev1 client and read by a rev2 one.
#[test]
fn rfc3501_example_name_in_both_versions() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: a1 CREATE ~peter/mail/&U,BTFw-/&ZeVnLIqe-
             S: a1 OK CREATE completed
             C: a2 LIST \"\" ~peter/mail/*
             S: * LIST (\\HasChildren) \"/\" \"~peter/mail/&U,BTFw-\"
             S: * LIST (\\HasNoChildren) \"/\" \"~peter/mail/&U,BTFw-/&ZeVnLIqe-\"
             S: a2 OK LIST completed",
            login()
        ),
    );
    run(
        &world,
        &format!(
            "{}C: b1 LIST \"\" ~peter/mail/*
             S: * LIST (\\HasChildren) \"/\" \"~peter/mail/台北\"
             S: * LIST (\\HasNoChildren) \"/\" \"~peter/mail/台北/日本語\"
             S: b1 OK LIST completed
             C: b2 STATUS \"~peter/mail/台北/日本語\" (MESSAGES)
             S: * STATUS \"~peter/mail/台北/日本語\" (MESSAGES 0)
             S: b2 OK STATUS completed",
            login_rev2()
        ),
    );
}

/// A rev2 client creates `Über/Café` in UTF-8; a rev1 client uses it in every command that takes
/// a name, in modified UTF-7, and reads it back the same way.
#[test]
fn rev1_commands_take_and_give_modified_utf7() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: a1 CREATE \"Über/Café\"
             S: a1 OK CREATE completed
             C: a2 LIST \"\" \"Über/*\"
             S: * LIST (\\HasNoChildren) \"/\" \"Über/Café\"
             S: a2 OK LIST completed",
            login_rev2()
        ),
    );
    run(
        &world,
        &format!(
            "{}C: b1 LIST \"\" *ber*
             S: * LIST (\\HasChildren) \"/\" \"&ANw-ber\"
             S: * LIST (\\HasNoChildren) \"/\" \"&ANw-ber/Caf&AOk-\"
             S: b1 OK LIST completed
             C: b2 LIST &ANw-ber/ %
             S: * LIST (\\HasNoChildren) \"/\" \"&ANw-ber/Caf&AOk-\"
             S: b2 OK LIST completed
             C: b3 SUBSCRIBE &ANw-ber/Caf&AOk-
             S: b3 OK SUBSCRIBE completed
             C: b4 LSUB \"\" *ber*
             S: * LSUB (\\HasNoChildren) \"/\" \"&ANw-ber/Caf&AOk-\"
             S: b4 OK LSUB completed
             C: b5 LIST (SUBSCRIBED) \"\" *ber* RETURN (STATUS (MESSAGES))
             S: * LIST (\\Subscribed \\HasNoChildren) \"/\" \"&ANw-ber/Caf&AOk-\"
             S: * STATUS \"&ANw-ber/Caf&AOk-\" (MESSAGES 0)
             S: b5 OK LIST completed
             {}C: b6 STATUS &ANw-ber/Caf&AOk- (MESSAGES)
             S: * STATUS \"&ANw-ber/Caf&AOk-\" (MESSAGES 1)
             S: b6 OK STATUS completed
             C: b7 SELECT &ANw-ber/Caf&AOk-
             S: * FLAGS *
             S: * 1 EXISTS
             S: * 1 RECENT
             S: * OK [UNSEEN 1] *
             S: * OK [UIDVALIDITY *
             S: * OK [UIDNEXT *
             S: * OK [PERMANENTFLAGS *
             S: * OK [HIGHESTMODSEQ *
             S: b7 OK [READ-WRITE] SELECT completed
             C: b8 COPY 1 \"&AOk-t&AOk-\"
             S: b8 NO [TRYCREATE] *
             C: b9 CREATE \"&AOk-t&AOk-\"
             S: b9 OK CREATE completed
             C: b10 COPY 1 &AOk-t&AOk-
             S: b10 OK [COPYUID *
             C: b11 MOVE 1 &AOk-t&AOk-
             S: * OK [COPYUID *
             S: * 1 EXPUNGE
             S: b11 OK *
             C: b12 EXAMINE &AOk-t&AOk-
             S: * FLAGS *
             S: * 2 EXISTS
             S: * 2 RECENT
             S: * OK [UNSEEN 1] *
             S: * OK [UIDVALIDITY *
             S: * OK [UIDNEXT *
             S: * OK [PERMANENTFLAGS *
             S: * OK [HIGHESTMODSEQ *
             S: b12 OK [READ-ONLY] EXAMINE completed
             C: b13 RENAME &AOk-t&AOk- &AMk-t&AOk-
             S: b13 OK RENAME completed
             C: b14 UNSUBSCRIBE &ANw-ber/Caf&AOk-
             S: b14 OK UNSUBSCRIBE completed
             C: b15 DELETE &ANw-ber/Caf&AOk-
             S: b15 OK DELETE completed
             C: b16 LIST \"\" %t&AOk-
             S: * LIST (\\HasNoChildren) \"/\" \"&AMk-t&AOk-\"
             S: b16 OK LIST completed",
            login(),
            append("p1", "&ANw-ber/Caf&AOk-"),
        ),
    );
    run(
        &world,
        &format!(
            "{}C: c1 LIST \"\" \"%té\"
             S: * LIST (\\HasNoChildren) \"/\" \"Été\"
             S: c1 OK LIST completed",
            login_rev2()
        ),
    );
}

/// What a rev1 session refuses (`NO [CANNOT]`): raw 8-bit names and spellings that are not
/// modified UTF-7; a pattern that does not decode matches nothing.
#[test]
fn rev1_refuses_8bit_and_invalid_modified_utf7() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: a1 CREATE \"Café\"
             S: a1 NO [CANNOT] Mailbox names are modified UTF-7 in IMAP4rev1: 8-bit bytes are not allowed
             C: a2 CREATE &ACY-
             S: a2 NO [CANNOT] Invalid modified UTF-7: not the shortest spelling
             C: a3 SELECT &AOk
             S: a3 NO [CANNOT] Invalid modified UTF-7: shift not closed by \"-\"
             C: a4 STATUS &U/BTFw- (MESSAGES)
             S: a4 NO [CANNOT] Invalid modified UTF-7: bad base64 in a shift
             C: a5 LIST \"\" \"Caf\u{e9}*\"
             S: a5 OK LIST completed
             C: a5b LSUB \"\" &AOk
             S: a5b OK LSUB completed
             C: a6 RENAME INBOX &AOk-&AOk-
             S: a6 NO [CANNOT] Invalid modified UTF-7: not the shortest spelling
             C: a7 CREATE a&AAk-b
             S: a7 NO [CANNOT] Mailbox names must not contain U+0009 (RFC 9051 §5.1)
             C: a7b CREATE Cafe&AwE-
             S: a7b NO [CANNOT] Mailbox names must be in Unicode NFC (RFC 9051 §5.1)
             C: a8 CREATE Tom&-Jerry
             S: a8 OK CREATE completed
             C: a9 LIST \"\" Tom*
             S: * LIST (\\HasNoChildren) \"/\" \"Tom&-Jerry\"
             S: a9 OK LIST completed
             C: a10 RENAME Archive Archiv-&AMk-t&AOk-
             S: a10 OK RENAME completed
             C: a11 CREATE X (USE (\\Archive))
             S: a11 NO [USEATTR] Archiv-&AMk-t&AOk- is already the \\Archive mailbox",
            login()
        ),
    );
    run(
        &world,
        &format!(
            "{}C: b1 LIST \"\" Tom*
             S: * LIST (\\HasNoChildren) \"/\" \"Tom&Jerry\"
             S: b1 OK LIST completed
             C: b2 CREATE \"a\u{2028}b\"
             S: b2 NO [CANNOT] Mailbox names must not contain U+2028 (RFC 9051 §5.1)",
            login_rev2()
        ),
    );
}
