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
        let changes = mail.changes_since(&account, "INBOX", 0).await.expect("changes");
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
