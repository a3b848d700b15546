//! Transcripts of QRESYNC (RFC 7162 §3.2): VANISHED instead of EXPUNGE, SELECT with the client's
//! last known state, UID FETCH ... (CHANGEDSINCE n VANISHED), and the CLOSED response code.

use super::{plain, run};
use crate::session::testing::{World, PASSWORD, USER};
use storage::mail::ChangeKind;
use storage::Address;

const MESSAGE: &str = "Subject: q\\r\\n\\r\\nbody\\r\\n";

fn login() -> String {
    format!("S: * OK *\nC: l1 AUTHENTICATE PLAIN {}\nS: l1 OK *\n", plain(USER, PASSWORD))
}

fn append(tag: &str) -> String {
    let size = MESSAGE.replace("\\r\\n", "\r\n").len();
    format!("P: {tag} APPEND INBOX {{{size}+}}\\r\\n{MESSAGE}\\r\\n\nS: {tag} OK [APPENDUID *\n")
}

/// The mailbox's UIDVALIDITY and the MODSEQ of its last append.
fn state(world: &World) -> (u32, u64) {
    let mail = world.store.mail();
    let account = Address::parse(USER).expect("address");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let info = mail.mailbox(&account, "INBOX").await.expect("inbox");
        let changes = mail.changes_since(&account, "INBOX", 0).await.expect("changes").changes;
        let appended = changes.iter().filter(|c| c.kind == ChangeKind::Append).map(|c| c.modseq).max();
        (info.uid_validity, appended.expect("appends"))
    })
}

/// The lines of a SELECT of INBOX up to HIGHESTMODSEQ (with an unseen message in it).
const SELECT_LINES: &str = "S: * FLAGS *
 S: * *
 S: * *
 S: * OK [UNSEEN *
 S: * OK [UIDVALIDITY *
 S: * OK [UIDNEXT *
 S: * OK [PERMANENTFLAGS *
 S: * OK [HIGHESTMODSEQ *
";

#[test]
fn qresync_reports_vanished_and_resynchronises_a_returning_client() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: a1 ENABLE QRESYNC
             S: * ENABLED QRESYNC
             S: a1 OK ENABLE completed
             {}{}{}C: a2 SELECT INBOX
             {SELECT_LINES} S: a2 OK [READ-WRITE] *
             C: a3 LOGOUT
             S: * BYE *
             S: a3 OK *
             CLOSED",
            login(),
            append("p1"),
            append("p2"),
            append("p3")
        ),
    );
    let (uid_validity, synced) = state(&world);
    run(
        &world,
        &format!(
            "{}C: b1 ENABLE QRESYNC
             S: * ENABLED QRESYNC
             S: b1 OK ENABLE completed
             C: b2 SELECT INBOX
             {SELECT_LINES} S: b2 OK [READ-WRITE] *
             C: b3 UID STORE 3 +FLAGS.SILENT (\\Flagged)
             S: b3 OK *
             C: b4 UID STORE 2 +FLAGS.SILENT (\\Deleted)
             S: b4 OK *
             C: b5 UID EXPUNGE 2
             S: * VANISHED 2
             S: b5 OK *
             C: b6 LOGOUT
             S: * BYE *
             S: b6 OK *
             CLOSED",
            login()
        ),
    );
    run(
        &world,
        &format!(
            "{}C: c1 SELECT INBOX (QRESYNC ({uid_validity} {synced}))
             S: c1 BAD QRESYNC parameter without ENABLE QRESYNC
             C: c2 ENABLE QRESYNC
             S: * ENABLED QRESYNC
             S: c2 OK ENABLE completed
             C: c3 SELECT INBOX (QRESYNC ({uid_validity} {synced} 1:3))
             {SELECT_LINES} S: * VANISHED (EARLIER) 2
             S: * 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (*
             S: c3 OK [READ-WRITE] *
             C: c4 UID FETCH 1:* FLAGS (CHANGEDSINCE {synced} VANISHED)
             S: * VANISHED (EARLIER) 2
             S: * 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (*
             S: c4 OK UID FETCH completed
             C: c5 FETCH 1:* FLAGS (CHANGEDSINCE {synced} VANISHED)
             S: c5 BAD VANISHED needs UID FETCH after ENABLE QRESYNC
             C: c6 SELECT INBOX (QRESYNC ({} {synced}))
             S: * OK [CLOSED] *
             {SELECT_LINES} S: c6 OK [READ-WRITE] *
             C: c7 EXAMINE Sent
             S: * OK [CLOSED] *
             S: * FLAGS *",
            login(),
            uid_validity.wrapping_add(1).max(1)
        ),
    );
}

/// A store that keeps 4 change log entries per account, so that a few commands push the log's
/// horizon past what a client last saw.
const SHORT_LOG: &str = "[store]\nchange_log_keep = 4\n";

/// The FETCH lines a resynchronising client gets for UIDs 4 (flagged) to 10 at sequence numbers
/// 2 to 8.
fn changed_since_the_client_looked() -> String {
    let mut lines = String::from("S: * 2 FETCH (UID 4 FLAGS (\\Flagged) MODSEQ (*\n");
    for uid in 5..=10 {
        lines.push_str(&format!("S: * {} FETCH (UID {uid} FLAGS () MODSEQ (*\n", uid - 2));
    }
    lines
}

#[test]
fn a_client_older_than_the_change_log_learns_what_vanished_by_comparison() {
    let world = World::new(SHORT_LOG);
    // UIDs 1-4 (MODSEQ 1-4), then: 5-10 appended, 2 and 3 flagged \Deleted and expunged, 4
    // flagged: 15 changes, of which the log keeps the last 4 or 5.
    let appends: String = (1..=4).map(|n| append(&format!("p{n}"))).collect();
    run(&world, &format!("{}{appends}C: z LOGOUT\nS: * BYE *\nS: z OK *\nCLOSED", login()));
    let (uid_validity, synced) = state(&world);
    assert_eq!(synced, 4);
    let appends: String = (5..=10).map(|n| append(&format!("p{n}"))).collect();
    run(
        &world,
        &format!(
            "{}{appends}C: b1 ENABLE QRESYNC
             S: * ENABLED QRESYNC
             S: b1 OK *
             C: b2 SELECT INBOX
             {SELECT_LINES} S: b2 OK [READ-WRITE] *
             C: b3 UID STORE 2:3 +FLAGS.SILENT (\\Deleted)
             S: b3 OK *
             C: b4 UID STORE 4 +FLAGS.SILENT (\\Flagged)
             S: b4 OK *
             C: b5 UID EXPUNGE 2:3
             S: * VANISHED 2:3
             S: b5 OK *
             C: b6 LOGOUT
             S: * BYE *
             S: b6 OK *
             CLOSED",
            login()
        ),
    );
    let log = {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let account = Address::parse(USER).expect("address");
        rt.block_on(world.store.mail().changes_since(&account, "INBOX", synced)).expect("changes")
    };
    assert!(!log.complete && log.horizon > synced, "the log must have been pruned past MODSEQ {synced}: {log:?}");
    let changed = changed_since_the_client_looked();
    run(
        &world,
        &format!(
            "{}C: c1 ENABLE QRESYNC
             S: * ENABLED QRESYNC
             S: c1 OK *
             C: c2 SELECT INBOX (QRESYNC ({uid_validity} {synced} 1:4))
             {SELECT_LINES} S: * VANISHED (EARLIER) 2:3
             {changed} S: c2 OK [READ-WRITE] *
             C: c3 UID FETCH 1:* FLAGS (CHANGEDSINCE {synced} VANISHED)
             S: * VANISHED (EARLIER) 2:3
             {changed} S: c3 OK UID FETCH completed
             C: c4 UID FETCH 4:* FLAGS (CHANGEDSINCE {synced} VANISHED)
             {changed} S: c4 OK UID FETCH completed
             C: c5 SELECT INBOX (QRESYNC ({uid_validity} {synced}))
             S: * OK [CLOSED] *
             {SELECT_LINES} S: * VANISHED (EARLIER) 2:3
             {changed} S: c5 OK [READ-WRITE] *
             C: c6 SELECT INBOX (QRESYNC ({uid_validity} {synced} 1:2,4:4294967295))
             S: * OK [CLOSED] *
             {SELECT_LINES} S: * VANISHED (EARLIER) 2
             {changed} S: c6 OK [READ-WRITE] *
             C: c7 LOGOUT
             S: * BYE *
             S: c7 OK *
             CLOSED",
            login()
        ),
    );
}

/// A plain (IMAP4rev1, no QRESYNC) `SELECT INBOX` with its answer, an unseen message in it.
fn rev1_select(tag: &str, exists: u32, recent: u32) -> String {
    format!(
        "C: {tag} SELECT INBOX\nS: * FLAGS *\nS: * {exists} EXISTS\nS: * {recent} RECENT\nS: * OK [UNSEEN 1] *\n\
         S: * OK *\nS: * OK *\nS: * OK *\nS: * OK *\nS: {tag} OK *\n"
    )
}

#[test]
fn a_session_selected_while_the_log_was_pruned_past_it_still_hears_every_change() {
    let world = World::new(SHORT_LOG);
    let appends: String = (1..=4).map(|n| append(&format!("a{n}"))).collect();
    let first = format!("{}{appends}{}", login(), rev1_select("s", 4, 4));
    let appends: String = (5..=10).map(|n| append(&format!("b{n}"))).collect();
    let second = format!(
        "{}{appends}{}C: b2 UID STORE 2:3 +FLAGS.SILENT (\\Deleted)
         S: b2 OK *
         C: b3 UID STORE 4 +FLAGS.SILENT (\\Flagged)
         S: b3 OK *
         C: b4 EXPUNGE
         S: * 2 EXPUNGE
         S: * 2 EXPUNGE
         S: b4 OK *
",
        login(),
        rev1_select("b1", 10, 6)
    );
    // The first session last looked at MODSEQ 4; the log now starts above 10.
    let rest = "C: n NOOP
                S: * 2 EXPUNGE
                S: * 2 EXPUNGE
                S: * 8 EXISTS
                S: * 2 RECENT
                S: * 2 FETCH (UID 4 FLAGS (\\Recent \\Flagged))
                S: n OK NOOP completed
                C: f FETCH 1:* (UID)
                S: * 1 FETCH (UID 1)
                S: * 2 FETCH (UID 4)
                S: * 3 FETCH (UID 5)
                S: * 4 FETCH (UID 6)
                S: * 5 FETCH (UID 7)
                S: * 6 FETCH (UID 8)
                S: * 7 FETCH (UID 9)
                S: * 8 FETCH (UID 10)
                S: f OK FETCH completed
                C: m NOOP
                S: m OK NOOP completed";
    super::mail::two_sessions(&world, &first, &second, rest);
}
