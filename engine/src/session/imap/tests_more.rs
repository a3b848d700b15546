//! Transcripts for CONDSTORE, the RFC 9051 examples, APPEND into the selected mailbox, and IDLE
//! ending by shutdown or followed by pipelined commands.

use super::{plain, run};
use crate::session::imap::serve;
use crate::session::testing::{pipe, PipeClient, World, PASSWORD, USER};

/// Logs in, appends `count` small messages (LITERAL+) and selects INBOX.
fn setup(count: u32) -> String {
    let mut text = format!("S: * OK *\nC: l1 AUTHENTICATE PLAIN {}\nS: l1 OK *\n", plain(USER, PASSWORD));
    for i in 1..=count {
        text.push_str(&format!(
            "P: p{i} APPEND INBOX {{12+}}\\r\\nSubject: {i}\\r\\n\\r\\n\nS: p{i} OK [APPENDUID *\n"
        ));
    }
    // A first SELECT claims the messages as \Recent, so that the transcripts see none.
    text.push_str(&format!(
        "C: s0 SELECT INBOX\nS: * FLAGS *\nS: * {count} EXISTS\nS: * {count} RECENT\n{}S: * OK [UIDVALIDITY *\nS: * OK *\nS: * OK *\nS: * OK *\nS: s0 OK [READ-WRITE] *\nC: u0 UNSELECT\nS: u0 OK *\n",
        if count > 0 { "S: * OK [UNSEEN 1] *\n" } else { "" }
    ));
    text.push_str(&format!(
        "C: s SELECT INBOX\nS: * FLAGS *\nS: * {count} EXISTS\nS: * 0 RECENT\n{}S: * OK [UIDVALIDITY *\nS: * OK *\nS: * OK *\nS: * OK *\nS: s OK [READ-WRITE] *\n",
        if count > 0 { "S: * OK [UNSEEN 1] *\n" } else { "" }
    ));
    text
}

#[test]
fn rfc9051_store_and_search_examples() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: A003 STORE 2:4 +FLAGS (\\Deleted)
             S: * 2 FETCH (FLAGS (\\Deleted))
             S: * 3 FETCH (FLAGS (\\Deleted))
             S: * 4 FETCH (FLAGS (\\Deleted))
             S: A003 OK STORE completed
             C: A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"
             S: * SEARCH
             S: A282 OK SEARCH completed
             C: A283 SEARCH DELETED NOT 3
             S: * SEARCH 2 4
             S: A283 OK SEARCH completed
             C: A284 SEARCH CHARSET UTF-8 SUBJECT {{1+}}
             C: 3
             S: * SEARCH 3
             S: A284 OK SEARCH completed
             C: A202 EXPUNGE
             S: * 2 EXPUNGE
             S: * 2 EXPUNGE
             S: * 2 EXPUNGE
             S: A202 OK EXPUNGE completed
             C: A654 FETCH 2:* (FLAGS BODY[HEADER.FIELDS (SUBJECT)])
             S: * 2 FETCH (FLAGS (\\Seen) BODY[HEADER.FIELDS (SUBJECT)] {{14}}
             S: Subject: 5
             S: 
             S: )
             S: A654 OK FETCH completed",
            setup(5)
        ),
    );
}

#[test]
fn condstore_modseq_unchangedsince_changedsince() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: c1 FETCH 1 (MODSEQ)
             S: * OK [HIGHESTMODSEQ 2] Highest
             S: * 1 FETCH (MODSEQ (*
             S: c1 OK FETCH completed
             C: c2 STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)
             S: c2 OK [MODIFIED 1] Conditional STORE failed for some messages
             C: c3 UID STORE 2 (UNCHANGEDSINCE 99999) +FLAGS.SILENT (\\Flagged)
             S: * 2 FETCH (UID 2 MODSEQ (*
             S: c3 OK STORE completed
             C: c4 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 2)
             S: * 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (*
             S: c4 OK UID FETCH completed
             C: c5 SEARCH MODSEQ 3
             S: * SEARCH 2 (MODSEQ *
             S: c5 OK SEARCH completed
             C: c6 STATUS INBOX (HIGHESTMODSEQ MESSAGES)
             S: * STATUS \"INBOX\" (HIGHESTMODSEQ 3 MESSAGES 2)
             S: c6 OK STATUS completed",
            setup(2)
        ),
    );
}

#[test]
fn append_to_the_selected_mailbox_reports_exists() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}P: a APPEND INBOX (\\Draft) {{12+}}\\r\\nSubject: x\\r\\n\\r\\n
             S: * 2 EXISTS
             S: * 1 RECENT
             S: a OK [APPENDUID *
             C: f FETCH 2 (FLAGS UID)
             S: * 2 FETCH (FLAGS (\\Recent \\Draft) UID 2)
             S: f OK FETCH completed
             C: p FETCH 1 BODY.PEEK[]<5.3>
             S: * 1 FETCH (BODY[]<5> {{3}}
             S: ct:)
             S: p OK FETCH completed
             C: q FETCH 1 (BODY[9])
             S: * 1 FETCH (BODY[9] {{0}}
             S:  FLAGS (\\Seen))
             S: q OK FETCH completed",
            setup(1)
        ),
    );
}

#[test]
fn idle_is_followed_by_pipelined_commands_and_ended_by_shutdown() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: i IDLE
             S: + idling
             P: DONE\\r\\nn NOOP\\r\\n
             S: i OK IDLE terminated
             S: n OK NOOP completed",
            setup(0)
        ),
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let (mut server, mut client) = pipe();
        let ctx = world.ctx.clone();
        let session = tokio::task::spawn_local(async move { serve(&mut server, &ctx).await });
        client.replay(&format!("{}C: i IDLE\nS: + idling", setup(0))).await;
        world.shutdown.send(true).expect("shutdown");
        client.replay("S: * BYE [UNAVAILABLE] Server shutting down\nCLOSED").await;
        session.await.expect("task").expect("io");
    });
}

/// Runs `script` against a session logged in with INBOX selected, INBOX holding `count` copies of
/// `message`; the script ends the session.
fn with_inbox_of(message: &str, count: u32, script: impl AsyncFnOnce(&mut PipeClient)) {
    let world = World::new("");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let account = storage::Address::parse(USER).expect("address");
        for _ in 0..count {
            let new = storage::mail::NewMessage { body: message.as_bytes().to_vec(), ..Default::default() };
            world.ctx.mail().append(&account, "INBOX", new).await.expect("append");
        }
        let (mut server, mut client) = pipe();
        let ctx = world.ctx.clone();
        let session = tokio::task::spawn_local(async move { serve(&mut server, &ctx).await });
        let login = format!("S: * OK *\nC: l AUTHENTICATE PLAIN {}\nS: l OK *\n", plain(USER, PASSWORD));
        let select = format!(
            "C: s SELECT INBOX\nS: * FLAGS *\nS: * {count} EXISTS\nS: * {count} RECENT\nS: * OK [UNSEEN 1] *\n"
        );
        client.replay(&format!("{login}{select}S: * OK *\nS: * OK *\nS: * OK *\nS: * OK *\nS: s OK *")).await;
        script(&mut client).await;
        session.await.expect("task").expect("io");
    });
}

#[test]
fn large_fetch_output_is_flushed_in_pieces() {
    let line = "x".repeat(78);
    let body: String = (0..1000).map(|_| format!("{line}\r\n")).collect();
    let message = format!("Subject: big\r\n\r\n{body}");
    with_inbox_of(&message, 2, async |client| {
        let before = client.writes_seen;
        let mut transcript = String::from("C: f FETCH 1:2 BODY.PEEK[]\n");
        for seq in 1..=2 {
            transcript.push_str(&format!("S: * {seq} FETCH (BODY[] {{{}}}\nS: Subject: big\nS: \n", message.len()));
            transcript.push_str(&format!("S: {line}\n").repeat(1000));
            transcript.push_str("S: )\n");
        }
        transcript.push_str("S: f OK FETCH completed\nC: z LOGOUT\nS: * BYE *\nS: z OK *\nCLOSED");
        client.replay(&transcript).await;
        // About 160 KiB of answer: at least two flushes before the final write.
        assert!(client.writes_seen - before >= 3, "writes: {}", client.writes_seen - before);
    });
}

#[test]
fn contents_written_by_reference_keep_their_places_before_the_tagged_reply() {
    // Sections of 1 KiB and more are written by reference (see `literals`); under the flush size
    // the whole answer is assembled when the command ends, before its tagged reply.
    let text: String = (0..30).map(|i| format!("line {i:02} {}\r\n", "y".repeat(60))).collect();
    let message = format!("Subject: mid\r\n\r\n{text}");
    with_inbox_of(&message, 3, async |client| {
        client.send(b"f FETCH 1:3 (BODY.PEEK[TEXT] BODY.PEEK[]<17.1200>)\r\nz LOGOUT\r\n");
        let mut expected = Vec::new();
        for seq in 1..=3 {
            let partial = &message.as_bytes()[17..17 + 1200];
            expected.extend_from_slice(
                format!("* {seq} FETCH (BODY[TEXT] {{{}}}\r\n{text} BODY[]<17> {{1200}}\r\n", text.len()).as_bytes(),
            );
            expected.extend_from_slice(partial);
            expected.extend_from_slice(b")\r\n");
        }
        expected.extend_from_slice(b"f OK FETCH completed\r\n* BYE ");
        let all = client.read_all().await;
        let start = all.windows(11).position(|w| w == b"* 1 FETCH (").expect("FETCH answer");
        assert!(
            all[start..].starts_with(&expected),
            "got {:?}",
            String::from_utf8_lossy(&all[start..(start + expected.len() + 40).min(all.len())])
        );
    });
}

#[test]
fn uid_expunge_move_by_sequence_and_syntax_errors() {
    let world = World::new("[limits]\nmax_errors = 20\n");
    run(
        &world,
        &format!(
            "{}C: d STORE 1:3 +FLAGS.SILENT (\\Deleted)
             S: d OK STORE completed
             C: u UID EXPUNGE 2:3
             S: * 2 EXPUNGE
             S: * 2 EXPUNGE
             S: u OK EXPUNGE completed
             C: v SEARCH DELETED
             S: * SEARCH 1
             S: v OK SEARCH completed
             C: m MOVE 1:2 Junk
             S: * OK [COPYUID *
             S: * 1 EXPUNGE
             S: * 1 EXPUNGE
             S: m OK MOVE completed
             C: s STATUS Junk (MESSAGES UNSEEN)
             S: * STATUS \"Junk\" (MESSAGES 2 UNSEEN 2)
             S: s OK STATUS completed
             C: b1 FETCH 1
             S: b1 BAD *
             C: b2 FETCH x FLAGS
             S: b2 BAD Missing or invalid sequence set
             C: b3 STORE 1 FLAGZ (\\Seen)
             S: b3 BAD *
             C: b4 SEARCH FROM
             S: b4 BAD Missing search argument
             C: b5 UID EXPUNGE
             S: b5 BAD Syntax: UID EXPUNGE uid-set
             C: b6 EXPUNGE 1
             S: b6 BAD EXPUNGE takes no arguments
             C: b7 COPY 1
             S: b7 BAD Syntax: COPY set mailbox
             C: b8 FETCH 1 $
             S: b8 BAD *
             C: b9 SEARCH 1,$
             S: b9 BAD $ cannot be part of a list or range
             C: c1 IDLE now
             S: c1 BAD IDLE takes no arguments
             C: c2 NOOP
             S: c2 OK NOOP completed",
            setup(4)
        ),
    );
}

#[test]
fn a_new_keyword_is_announced_in_flags_before_it_is_shown() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: k1 STORE 1 +FLAGS ($Label4)
             S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label4)
             S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label4 \\*)] Flags permitted
             S: * 1 FETCH (FLAGS ($Label4))
             S: k1 OK STORE completed
             C: k2 STORE 1 +FLAGS (\\Seen)
             S: * 1 FETCH (FLAGS (\\Seen $Label4))
             S: k2 OK STORE completed
             C: k3 STORE 2 +FLAGS.SILENT ($Label5)
             S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label4 $Label5)
             S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label4 $Label5 \\*)] Flags permitted
             S: k3 OK STORE completed
             C: k4 EXAMINE INBOX
             S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label4 $Label5)
             S: * 2 EXISTS
             S: * 0 RECENT
             S: * OK [UNSEEN 2] *
             S: * OK [UIDVALIDITY *
             S: * OK [UIDNEXT 3] *
             S: * OK [PERMANENTFLAGS ()] *
             S: * OK [HIGHESTMODSEQ *
             S: k4 OK [READ-ONLY] EXAMINE completed",
            setup(2)
        ),
    );
}

#[test]
fn copy_and_move_into_the_selected_mailbox_report_the_new_messages() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: c COPY 2 INBOX
             S: * 3 EXISTS
             S: * 1 RECENT
             S: c OK [COPYUID *
             C: m MOVE 1 INBOX
             S: * OK [COPYUID *
             S: * 1 EXPUNGE
             S: * 3 EXISTS
             S: * 2 RECENT
             S: m OK MOVE completed
             C: f FETCH 1:* (UID FLAGS)
             S: * 1 FETCH (UID 2 FLAGS ())
             S: * 2 FETCH (UID 3 FLAGS (\\Recent))
             S: * 3 FETCH (UID 4 FLAGS (\\Recent))
             S: f OK FETCH completed
             C: r SEARCH RECENT
             S: * SEARCH 2 3
             S: r OK SEARCH completed
             C: o SEARCH OLD
             S: * SEARCH 1
             S: o OK SEARCH completed
             C: n SEARCH NEW
             S: * SEARCH 2 3
             S: n OK SEARCH completed
             C: x STATUS INBOX (RECENT)
             S: * STATUS \"INBOX\" (RECENT 0)
             S: x OK STATUS completed",
            setup(2)
        ),
    );
}

#[test]
fn envelope_shows_a_source_route_as_the_address_adl() {
    let world = World::new("");
    let message = "From: <@route:user@domain>\\r\\nDate: Thu, 15 Feb 2007 01:02:03 +0200\\r\\n\\r\\nHi\\r\\n";
    let size = message.len() - 4 * "\\r\\n".len() + 4 * 2;
    run(
        &world,
        &format!(
            "{}P: a APPEND INBOX {{{size}+}}\\r\\n{message}\\r\\n
             S: * 1 EXISTS
             S: * 1 RECENT
             S: a OK [APPENDUID *
             C: f FETCH 1 ENVELOPE
             S: * 1 FETCH (ENVELOPE (\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL ((NIL \"@route\" \"user\" \"domain\")) ((NIL \"@route\" \"user\" \"domain\")) ((NIL \"@route\" \"user\" \"domain\")) NIL NIL NIL NIL NIL))
             S: f OK FETCH completed",
            setup(0)
        ),
    );
}

#[test]
fn address_search_ignores_comments_and_spaces_around_the_at() {
    let world = World::new("");
    let message = "From: <user-from (comment)@ (comment) domain.org>\\r\\n\\r\\nHi\\r\\n";
    let size = message.len() - 3 * "\\r\\n".len() + 3 * 2;
    run(
        &world,
        &format!(
            "{}P: a APPEND INBOX {{{size}+}}\\r\\n{message}\\r\\n
             S: * 1 EXISTS
             S: * 1 RECENT
             S: a OK [APPENDUID *
             C: s1 SEARCH FROM user-from@domain.org
             S: * SEARCH 1
             S: s1 OK SEARCH completed
             C: s2 SEARCH FROM \"(comment)\"
             S: * SEARCH 1
             S: s2 OK SEARCH completed
             C: s3 SEARCH FROM other@domain.org
             S: * SEARCH
             S: s3 OK SEARCH completed",
            setup(0)
        ),
    );
}

#[test]
fn search_modseq_accepts_an_entry_name_and_type() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "{}C: a SEARCH RETURN (MIN) 1:2 MODSEQ \"/flags/\\\\seen\" all 1
             S: * OK [HIGHESTMODSEQ *
             S: * ESEARCH (TAG \"a\") MIN 1 MODSEQ 1
             S: a OK SEARCH completed
             C: m SEARCH RETURN (MAX) 1:2 MODSEQ 1
             S: * ESEARCH (TAG \"m\") MAX 2 MODSEQ 2
             S: m OK SEARCH completed
             C: b SEARCH MODSEQ \"/flags/\\\\seen\" nosuchtype 1
             S: b BAD Invalid MODSEQ entry type",
            setup(2)
        ),
    );
}
