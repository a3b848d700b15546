//! Transcripts for SEARCHRES (RFC 5182, with the §3 examples adapted to this mailbox) and WITHIN
//! (RFC 5032, with the §3 example): `SEARCH RETURN (SAVE)`, `$` in later and pipelined commands,
//! its reset, and `OLDER` / `YOUNGER`.

use super::append::uid_validity;
use super::{plain, run};
use crate::session::testing::{World, PASSWORD, USER};

/// Logs in, appends five messages and selects INBOX with none of them `\Recent`:
///
/// | seq/UID | flags      | INTERNALDATE         | From  |
/// |---------|------------|----------------------|-------|
/// | 1       | \Flagged   | 7-Feb-1994 (old)     | Smith |
/// | 2       | \Flagged   | 17-Jul-1996 (old)    | Jones |
/// | 3       |            | now                  | Smith |
/// | 4       | \Flagged   | now                  | Jones |
/// | 5       | \Seen      | now                  | Smith |
fn setup() -> String {
    let mut text = format!("S: * OK *\nC: l1 AUTHENTICATE PLAIN {}\nS: l1 OK *\n", plain(USER, PASSWORD));
    let messages = [
        ("(\\Flagged) \"07-Feb-1994 21:52:25 -0800\" ", "Smith"),
        ("(\\Flagged) \"17-Jul-1996 02:44:25 -0700\" ", "Jones"),
        ("", "Smith"),
        ("(\\Flagged) ", "Jones"),
        ("(\\Seen) ", "Smith"),
    ];
    for (i, (options, from)) in messages.iter().enumerate() {
        let body = format!("From: {from}@example.test\\r\\nSubject: {i}\\r\\n\\r\\nhi\\r\\n");
        let size = body.replace("\\r\\n", "\r\n").len();
        text.push_str(&format!("P: p{i} APPEND INBOX {options}{{{size}+}}\\r\\n{body}\\r\\n\nS: p{i} OK *\n"));
    }
    for (tag, recent) in [("s0", 5), ("s", 0)] {
        text.push_str(&format!(
            "C: {tag} SELECT INBOX\nS: * FLAGS *\nS: * 5 EXISTS\nS: * {recent} RECENT\nS: * OK [UNSEEN 1] *\nS: * OK *\nS: * OK *\nS: * OK *\nS: * OK *\nS: {tag} OK [READ-WRITE] *\n"
        ));
        if tag == "s0" {
            text.push_str("C: u0 UNSELECT\nS: u0 OK *\n");
        }
    }
    text
}

#[test]
fn rfc5182_saved_result_in_fetch_and_pipelined_uid_copy() {
    let world = World::new("");
    let other = uid_validity(&world, "Other Messages", true);
    run(
        &world,
        &format!(
            "{}C: A282 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"
             S: A282 OK SEARCH completed
             C: A283 FETCH $ (UID FLAGS)
             S: * 2 FETCH (UID 2 FLAGS (\\Flagged))
             S: * 4 FETCH (UID 4 FLAGS (\\Flagged))
             S: A283 OK FETCH completed
             P: A301 UID SEARCH RETURN (SAVE) SINCE 1-Jan-2004 NOT FROM \"Smith\" UID 3:*\\r\\nA302 UID COPY $ \"Other Messages\"\\r\\nA303 UID SEARCH UID $\\r\\n
             S: A301 OK UID SEARCH completed
             S: A302 OK [COPYUID {other} 4 1] COPY completed
             S: * SEARCH 4
             S: A303 OK UID SEARCH completed",
            setup()
        ),
    );
}

#[test]
fn save_with_min_max_keeps_only_those_and_other_options_keep_all() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: a SEARCH RETURN (SAVE MIN MAX) FLAGGED
             S: * ESEARCH (TAG \"a\") MIN 1 MAX 4
             S: a OK SEARCH completed
             C: b FETCH $ (UID)
             S: * 1 FETCH (UID 1)
             S: * 4 FETCH (UID 4)
             S: b OK FETCH completed
             C: c SEARCH RETURN (MIN SAVE) FLAGGED
             S: * ESEARCH (TAG \"c\") MIN 1
             S: c OK SEARCH completed
             C: d UID SEARCH $
             S: * SEARCH 1
             S: d OK UID SEARCH completed
             C: e SEARCH RETURN (SAVE MIN COUNT) FLAGGED
             S: * ESEARCH (TAG \"e\") MIN 1 COUNT 3
             S: e OK SEARCH completed
             C: f SEARCH RETURN (SAVE ALL) $ NOT 2
             S: * ESEARCH (TAG \"f\") ALL 1,4
             S: f OK SEARCH completed
             C: g SEARCH OR $ 5
             S: * SEARCH 1 4 5
             S: g OK SEARCH completed",
            setup()
        ),
    );
}

#[test]
fn saved_result_in_store_move_and_expunge_loses_expunged_messages() {
    let world = World::new("");
    let junk = uid_validity(&world, "Junk", false);
    run(
        &world,
        &format!(
            "{}C: a SEARCH RETURN (SAVE) FROM Smith
             S: a OK SEARCH completed
             C: b STORE $ +FLAGS.SILENT (\\Deleted)
             S: b OK STORE completed
             C: c SEARCH DELETED
             S: * SEARCH 1 3 5
             S: c OK SEARCH completed
             C: d UID EXPUNGE $
             S: * 1 EXPUNGE
             S: * 2 EXPUNGE
             S: * 3 EXPUNGE
             S: d OK EXPUNGE completed
             C: e FETCH $ (UID)
             S: e OK FETCH completed
             C: f UID SEARCH UID $
             S: * SEARCH
             S: f OK UID SEARCH completed
             C: g SEARCH RETURN (SAVE) ALL
             S: g OK SEARCH completed
             C: g2 UID STORE $ +FLAGS.SILENT (\\Seen)
             S: g2 OK STORE completed
             C: g3 UID FETCH $ (FLAGS)
             S: * 1 FETCH (UID 2 FLAGS (\\Seen \\Flagged))
             S: * 2 FETCH (UID 4 FLAGS (\\Seen \\Flagged))
             S: g3 OK UID FETCH completed
             C: h MOVE $ Junk
             S: * OK [COPYUID {junk} 2,4 1:2] Moved
             S: * 1 EXPUNGE
             S: * 1 EXPUNGE
             S: h OK MOVE completed
             C: i COPY $ Junk
             S: i OK COPY completed",
            setup()
        ),
    );
}

#[test]
fn saved_result_is_empty_before_a_save_after_a_failed_save_and_after_reselect() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: a FETCH $ (UID)
             S: a OK FETCH completed
             C: b SEARCH $
             S: * SEARCH
             S: b OK SEARCH completed
             C: c SEARCH RETURN (SAVE) ALL
             S: c OK SEARCH completed
             C: d SEARCH RETURN (SAVE) BOGUS
             S: d BAD Unknown search key
             C: e SEARCH $
             S: * SEARCH
             S: e OK SEARCH completed
             C: f SEARCH RETURN (SAVE) UNSEEN
             S: f OK SEARCH completed
             C: g UNSELECT
             S: g OK UNSELECT completed
             C: h FETCH $ (UID)
             S: h BAD Select a mailbox first
             C: i EXAMINE INBOX
             S: * FLAGS *
             S: * 5 EXISTS
             S: * 0 RECENT
             S: * OK [UNSEEN 1] *
             S: * OK *
             S: * OK *
             S: * OK *
             S: * OK *
             S: i OK [READ-ONLY] EXAMINE completed
             C: j UID SEARCH UID $
             S: * SEARCH
             S: j OK UID SEARCH completed
             C: k SEARCH RETURN (SAVE) SEEN
             S: k OK SEARCH completed
             C: l CLOSE
             S: l OK CLOSE completed
             C: m SELECT INBOX
             S: * FLAGS *
             S: * 5 EXISTS
             S: * 0 RECENT
             S: * OK [UNSEEN 1] *
             S: * OK *
             S: * OK *
             S: * OK *
             S: * OK *
             S: m OK [READ-WRITE] SELECT completed
             C: n FETCH $ FLAGS
             S: n OK FETCH completed
             C: o FETCH 1,$ FLAGS
             S: o BAD $ cannot be part of a list or range",
            setup()
        ),
    );
}

#[test]
fn rfc5032_within_older_and_younger() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: a1 SEARCH UNSEEN YOUNGER 259200
             S: * SEARCH 3 4
             S: a1 OK SEARCH completed
             C: a2 SEARCH OLDER 259200
             S: * SEARCH 1 2
             S: a2 OK SEARCH completed
             C: a3 UID SEARCH NOT YOUNGER 259200
             S: * SEARCH 1 2
             S: a3 OK UID SEARCH completed
             C: a4 SEARCH OLDER 259200 YOUNGER 259200
             S: * SEARCH
             S: a4 OK SEARCH completed
             C: a5 SEARCH RETURN (COUNT) OR OLDER 86400 YOUNGER 3600
             S: * ESEARCH (TAG \"a5\") COUNT 5
             S: a5 OK SEARCH completed
             C: a6 SEARCH YOUNGER 0
             S: a6 BAD Invalid interval: expected seconds
             C: a7 SEARCH OLDER
             S: a7 BAD Missing search argument",
            setup()
        ),
    );
}
