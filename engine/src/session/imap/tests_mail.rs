//! Transcripts of the authenticated and selected states: mailboxes, APPEND, FETCH, STORE,
//! SEARCH, COPY / MOVE, EXPUNGE, IDLE, and changes made by a second session.

use super::{plain, run};
use crate::session::imap::serve;
use crate::session::testing::{pipe, World, PASSWORD, USER};

const MESSAGE: &str = "From: Bob <bob@example.test>\\r\\nTo: alice@example.test\\r\\nSubject: Hello there\\r\\nDate: Mon, 7 Feb 1994 21:52:25 -0800\\r\\n\\r\\nHi Alice, lunch?\\r\\n";

/// The login lines every transcript starts with.
fn login() -> String {
    format!("S: * OK *\nC: l1 AUTHENTICATE PLAIN {}\nS: l1 OK *\n", plain(USER, PASSWORD))
}

/// A pipelined APPEND of `MESSAGE` (LITERAL+), answered with `OK [APPENDUID ...]`.
fn append(tag: &str, mailbox: &str, flags: &str) -> String {
    let size = MESSAGE.replace("\\r\\n", "\r\n").len();
    format!("P: {tag} APPEND {mailbox} {flags}{{{size}+}}\\r\\n{MESSAGE}\\r\\n\nS: {tag} OK [APPENDUID *\n")
}

#[test]
fn mailbox_commands() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: a1 LIST \"\" \"*\"
             S: * LIST (\\HasNoChildren \\Archive) \"/\" \"Archive\"
             S: * LIST (\\HasNoChildren \\Drafts) \"/\" \"Drafts\"
             S: * LIST (\\HasNoChildren) \"/\" \"INBOX\"
             S: * LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\"
             S: * LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"
             S: * LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"
             S: a1 OK LIST completed
             C: a2 CREATE Projects/
             S: a2 OK CREATE completed
             C: a3 CREATE Projects/Mailgenic
             S: a3 OK CREATE completed
             C: a4 LIST \"\" %
             S: * LIST *
             S: * LIST *
             S: * LIST *
             S: * LIST *
             S: * LIST (\\HasChildren) \"/\" \"Projects\"
             S: * LIST *
             S: * LIST *
             S: a4 OK LIST completed
             C: a5 CREATE Projects
             S: a5 NO [ALREADYEXISTS] *
             C: a6 RENAME Projects/Mailgenic Projects/Mail
             S: a6 OK RENAME completed
             C: a7 LIST Projects/ *
             S: * LIST (\\HasNoChildren) \"/\" \"Projects/Mail\"
             S: a7 OK LIST completed
             C: a8 SUBSCRIBE Projects/Mail
             S: a8 OK SUBSCRIBE completed
             C: a9 LSUB \"\" Projects/*
             S: * LSUB (\\HasNoChildren) \"/\" \"Projects/Mail\"
             S: a9 OK LSUB completed
             C: a10 LSUB \"\" Pro%
             S: * LSUB (\\Noselect) \"/\" \"Projects\"
             S: a10 OK LSUB completed
             C: b1 DELETE Projects/Mail
             S: b1 OK DELETE completed
             C: b2 DELETE INBOX
             S: b2 NO [CANNOT] *
             C: b3 STATUS inbox (MESSAGES UIDNEXT UNSEEN SIZE RECENT)
             S: * STATUS \"INBOX\" (MESSAGES 0 UIDNEXT 1 UNSEEN 0 SIZE 0 RECENT 0)
             S: b3 OK STATUS completed
             C: b4 STATUS Nowhere (MESSAGES)
             S: b4 NO [NONEXISTENT] *
             C: b5 LIST \"\" \"\"
             S: * LIST (\\Noselect) \"/\" \"\"
             S: b5 OK LIST completed
             C: b6 NAMESPACE
             S: * NAMESPACE ((\"\" \"/\")) NIL NIL
             S: b6 OK NAMESPACE completed
             C: b7 FETCH 1 FLAGS
             S: b7 BAD Select a mailbox first
             C: b8 LIST \"\" {{2000+}}
             C: {}
             S: b8 BAD [LIMIT] Mailbox pattern too long",
            login(),
            "*".repeat(2000)
        ),
    );
}

#[test]
fn special_use_attributes_are_listed() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: a1 LIST \"\" Sent
             S: * LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"
             S: a1 OK LIST completed",
            login()
        ),
    );
}

#[test]
fn append_select_fetch_store_search_copy_move_expunge() {
    let world = World::new("");
    let transcript = format!(
        "{login}{a1}{a2}C: s1 SELECT INBOX
         S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
         S: * 2 EXISTS
         S: * 2 RECENT
         S: * OK [UNSEEN 2] First unseen
         S: * OK [UIDVALIDITY *
         S: * OK [UIDNEXT 3] Predicted next UID
         S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
         S: * OK [HIGHESTMODSEQ *
         S: s1 OK [READ-WRITE] SELECT completed
         C: f1 FETCH 1:* (FLAGS RFC822.SIZE)
         S: * 1 FETCH (FLAGS (\\Recent \\Seen) RFC822.SIZE 134)
         S: * 2 FETCH (FLAGS (\\Recent) RFC822.SIZE 134)
         S: f1 OK FETCH completed
         C: f2 UID FETCH 2 (ENVELOPE)
         S: * 2 FETCH (UID 2 ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" \"Hello there\" ((\"Bob\" NIL \"bob\" \"example.test\")) *
         S: f2 OK UID FETCH completed
         C: f3 FETCH 2 (BODY.PEEK[HEADER.FIELDS (subject)] BODY.PEEK[TEXT]<0.2>)
         S: * 2 FETCH (BODY[HEADER.FIELDS (subject)] {{24}}
         S: Subject: Hello there
         S: 
         S:  BODY[TEXT]<0> {{2}}
         S: Hi)
         S: f3 OK FETCH completed
         C: f4 FETCH 2 BODY[1]
         S: * 2 FETCH (BODY[1] {{18}}
         S: Hi Alice, lunch?
         S:  FLAGS (\\Recent \\Seen))
         S: f4 OK FETCH completed
         C: f5 FETCH 2 BODYSTRUCTURE
         S: * 2 FETCH (BODYSTRUCTURE (\"text\" \"plain\" *
         S: f5 OK FETCH completed
         C: t1 STORE 1 +FLAGS (\\Flagged $Work)
         S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)
         S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted
         S: * 1 FETCH (FLAGS (\\Recent \\Seen \\Flagged $Work))
         S: t1 OK STORE completed
         C: t2 UID STORE 2 FLAGS.SILENT (\\Deleted)
         S: t2 OK STORE completed
         C: t3 STORE 9 FLAGS (\\Recent)
         S: t3 BAD *
         C: q1 SEARCH FLAGGED
         S: * SEARCH 1
         S: q1 OK SEARCH completed
         C: q2 UID SEARCH SUBJECT hello SINCE 1-Jan-1990 NOT DELETED
         S: * SEARCH 1
         S: q2 OK UID SEARCH completed
         C: q3 SEARCH OR BODY lunch KEYWORD $Work
         S: * SEARCH 1 2
         S: q3 OK SEARCH completed
         C: q4 SEARCH SENTON 7-Feb-1994 LARGER 100 SMALLER 200 FROM bob@EXAMPLE
         S: * SEARCH 1 2
         S: q4 OK SEARCH completed
         C: q5 SEARCH RETURN (MIN MAX COUNT ALL) ALL
         S: * ESEARCH (TAG \"q5\") MIN 1 MAX 2 ALL 1:2 COUNT 2
         S: q5 OK SEARCH completed
         C: c1 COPY 1:2 Archive
         S: c1 OK [COPYUID *
         C: c2 COPY 1 Nowhere
         S: c2 NO [TRYCREATE] No such mailbox
         C: e1 EXPUNGE
         S: * 2 EXPUNGE
         S: e1 OK EXPUNGE completed
         C: m1 UID MOVE 1 Trash
         S: * OK [COPYUID *
         S: * 1 EXPUNGE
         S: m1 OK MOVE completed
         C: s2 STATUS Archive (MESSAGES)
         S: * STATUS \"Archive\" (MESSAGES 2)
         S: s2 OK STATUS completed
         C: x1 CLOSE
         S: x1 OK CLOSE completed
         C: x2 EXAMINE Trash
         S: * FLAGS *
         S: * 1 EXISTS
         S: * 1 RECENT
         S: * OK [UIDVALIDITY *
         S: * OK [UIDNEXT 2] *
         S: * OK [PERMANENTFLAGS ()] *
         S: * OK [HIGHESTMODSEQ *
         S: x2 OK [READ-ONLY] EXAMINE completed
         C: x3 STORE 1 +FLAGS \\Deleted
         S: x3 NO [READ-ONLY] *
         C: x4 FETCH 1 (BODY[] FLAGS)
         S: * 1 FETCH (BODY[] {{134}}
         S: From: *
         S: To: *
         S: Subject: *
         S: Date: *
         S: 
         S: Hi Alice, lunch?
         S:  FLAGS (\\Recent \\Seen \\Flagged $Work))
         S: x4 OK FETCH completed
         C: x5 UNSELECT
         S: x5 OK UNSELECT completed",
        login = login(),
        a1 = append("a1", "INBOX", "(\\Seen) \"07-Feb-1994 21:52:25 -0800\" " ),
        a2 = append("a2", "INBOX", ""),
    );
    run(&world, &transcript);
}

#[test]
fn append_limits_and_errors() {
    let world = World::new("[limits]\nmax_message_bytes = 50\n");
    run(
        &world,
        &format!(
            "{}C: a1 APPEND INBOX {{51}}
             S: a1 NO [TOOBIG] Message too large
             C: a2 APPEND Nowhere {{3}}
             S: a2 NO [TRYCREATE] No such mailbox
             C: a2b APPEND Nowhere {{3+}}
             C: abc
             S: a2b NO [TRYCREATE] No such mailbox
             C: a3 APPEND INBOX (\\Bogus) {{3+}}
             C: abc
             S: a3 BAD Unknown or read-only system flag
             C: a4 NOOP
             S: a4 OK NOOP completed",
            login()
        ),
    );
}

/// Runs two sessions of the same account side by side: `first` is replayed up to a point, then
/// `second` in full, then `rest` on the first connection.
pub(super) fn two_sessions(world: &World, first: &str, second: &str, rest: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let (mut server_a, mut client_a) = pipe();
        let (mut server_b, mut client_b) = pipe();
        let (ctx_a, ctx_b) = (world.ctx.clone(), world.ctx.clone());
        let a = tokio::task::spawn_local(async move { serve(&mut server_a, &ctx_a).await });
        let b = tokio::task::spawn_local(async move { serve(&mut server_b, &ctx_b).await });
        client_a.replay(first).await;
        client_b.replay(second).await;
        client_a.replay(rest).await;
        client_a.close();
        client_b.close();
        a.await.expect("task a").expect("io a");
        b.await.expect("task b").expect("io b");
    });
}

#[test]
fn other_sessions_changes_are_reported_at_the_allowed_moments() {
    let world = World::new("");
    let first = format!(
        "{}{}{}C: s SELECT INBOX\nS: * FLAGS *\nS: * 2 EXISTS\n",
        login(),
        append("a1", "INBOX", ""),
        append("a2", "INBOX", "")
    );
    let first =
        format!("{first}S: * 2 RECENT\nS: * OK [UNSEEN 1] *\nS: * OK *\nS: * OK *\nS: * OK *\nS: * OK *\nS: s OK *\n");
    let second = format!(
        "{}C: b1 SELECT INBOX\nS: * FLAGS *\nS: * 2 EXISTS\nS: * 0 RECENT\nS: * OK *\nS: * OK *\nS: * OK *\nS: * OK *\nS: * OK *\nS: b1 OK *\n\
         C: b2 STORE 1 +FLAGS.SILENT (\\Deleted)\nS: b2 OK *\nC: b3 EXPUNGE\nS: * 1 EXPUNGE\nS: b3 OK *\nC: b4 STORE 1 +FLAGS (\\Answered)\nS: * 1 FETCH *\nS: b4 OK *\n{}",
        login(),
        append("b5", "INBOX", "").replace("S: b5", "S: * 2 EXISTS\nS: * 1 RECENT\nS: b5")
    );
    // FETCH by sequence number must not see the EXPUNGE; NOOP then reports everything.
    let rest = "C: f FETCH 2 (UID)
                S: * 3 EXISTS
                S: * 2 RECENT
                S: * 2 FETCH (UID 2 FLAGS (\\Recent \\Answered))
                S: * 2 FETCH (UID 2)
                S: f OK FETCH completed
                C: n NOOP
                S: * 1 EXPUNGE
                S: n OK NOOP completed
                C: g FETCH 1:* (UID)
                S: * 1 FETCH (UID 2)
                S: * 2 FETCH (UID 3)
                S: g OK FETCH completed";
    two_sessions(&world, &first, &second, rest);
}

#[test]
fn idle_reports_a_new_message_and_ends_with_done() {
    let world = World::new("");
    let first = format!(
        "{}C: s SELECT INBOX\nS: * FLAGS *\nS: * 0 EXISTS\nS: * 0 RECENT\nS: * OK *\nS: * OK *\nS: * OK *\nS: * OK *\nS: s OK *\nC: i IDLE\nS: + idling\n",
        login()
    );
    let second = format!("{}{}", login(), append("b", "INBOX", ""));
    let rest = "S: * 1 EXISTS
                S: * 1 RECENT
                C: DONE
                S: i OK IDLE terminated
                C: n NOOP
                S: n OK NOOP completed
                C: j IDLE
                S: + idling
                C: NOTDONE
                S: j BAD Expected DONE";
    two_sessions(&world, &first, &second, rest);
}

#[test]
fn commands_in_the_wrong_state_and_enable() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: a1 ENABLE CONDSTORE QRESYNC
             S: * ENABLED CONDSTORE QRESYNC
             S: a1 OK ENABLE completed
             C: a2 UID COPY 1 INBOX
             S: a2 BAD Select a mailbox first
             C: a3 UID NOOP
             S: a3 BAD This command has no UID form
             C: a4 SELECT INBOX (CONDSTORE)
             S: * FLAGS *
             S: * 0 EXISTS
             S: * 0 RECENT
             S: * OK *
             S: * OK *
             S: * OK *
             S: * OK *
             S: a4 OK [READ-WRITE] SELECT completed
             C: a5 FETCH 1:* FLAGS
             S: a5 BAD Invalid message sequence number
             C: a6 UID FETCH 1:* FLAGS
             S: a6 OK UID FETCH completed
             C: a7 ENABLE CONDSTORE
             S: a7 BAD Command not valid in this state",
            login()
        ),
    );
}
