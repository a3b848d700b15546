//! Transcripts for MULTIAPPEND (RFC 3502, with the §6.3.11 example) and APPENDLIMIT (RFC 7889):
//! several messages in one APPEND, all or none, `APPENDUID` with a UID set, and `[TOOBIG]`
//! before a too-large literal is read.

use super::{plain, run};
use crate::session::imap::capabilities_auth;
use crate::session::testing::{World, PASSWORD, USER};
use storage::Address;

fn login() -> String {
    format!("S: * OK *\nC: l1 AUTHENTICATE PLAIN {}\nS: l1 OK *\n", plain(USER, PASSWORD))
}

/// The UIDVALIDITY of `mailbox` (created first when `create`), read from the store before the
/// transcript runs, so that `APPENDUID` and `COPYUID` can be matched exactly.
pub(super) fn uid_validity(world: &World, mailbox: &str, create: bool) -> u32 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let mail = world.store.mail();
        let account = Address::parse(USER).expect("address");
        if create {
            mail.create_mailbox(&account, mailbox, None).await.expect("create");
        }
        mail.mailbox(&account, mailbox).await.expect("mailbox").uid_validity
    })
}

/// Transcript lines sending `text` (lines joined by CRLF, each ending in one) as client lines.
fn client_lines(text: &str) -> String {
    text.lines().map(|l| format!("C: {l}\n")).collect()
}

/// The size of `text` sent with [`client_lines`].
fn size(text: &str) -> usize {
    text.lines().map(|l| l.len() + 2).sum()
}

#[test]
fn rfc3502_multiappend_example() {
    let world = World::new("");
    let v = uid_validity(&world, "saved-messages", true);
    let first = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
From: Fred Foobar <foobar@Blurdybloop.example.COM>
Subject: afternoon meeting
To: mooch@owatagu.siam.edu
Message-Id: <B27397-0100000@Blurdybloop.example.COM>
MIME-Version: 1.0
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

Hello Joe, do you think we can meet at 3:30 tomorrow?";
    let second = "Date: Mon, 7 Feb 1994 22:43:04 -0800 (PST)
From: Joe Mooch <mooch@OWaTaGu.siam.EDU>
Subject: Re: afternoon meeting
To: foobar@blurdybloop.example.com
Message-Id: <a0434793874930@OWaTaGu.siam.EDU>
MIME-Version: 1.0
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

3:30 is fine with me.";
    run(
        &world,
        &format!(
            "{login}C: A003 APPEND saved-messages (\\Seen) {{{s1}}}
             S: + Ready for literal data
             {first}C:  (\\Seen) \" 7-Feb-1994 22:43:04 -0800\" {{{s2}}}
             S: + Ready for literal data
             {second}C: 
             S: A003 OK [APPENDUID {v} 1:2] APPEND completed
             C: A004 APPEND bogusname (\\Flagged) {{1023}}
             S: A004 NO [TRYCREATE] No such mailbox
             C: e EXAMINE saved-messages
             S: * FLAGS *
             S: * 2 EXISTS
             S: * 2 RECENT
             S: * OK [UIDVALIDITY {v}] UIDs valid
             S: * OK [UIDNEXT 3] Predicted next UID
             S: * OK *
             S: * OK *
             S: e OK [READ-ONLY] EXAMINE completed
             C: f FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])
             S: * 1 FETCH (UID 1 FLAGS (\\Recent \\Seen) INTERNALDATE *
             S: Subject: afternoon meeting
             S: 
             S: )
             S: * 2 FETCH (UID 2 FLAGS (\\Recent \\Seen) INTERNALDATE \"08-Feb-1994 06:43:04 +0000\" BODY[HEADER.FIELDS (SUBJECT)] {{34}}
             S: Subject: Re: afternoon meeting
             S: 
             S: )
             S: f OK FETCH completed",
            login = login(),
            s1 = size(first),
            s2 = size(second),
            first = client_lines(first),
            second = client_lines(second),
        ),
    );
}

#[test]
fn multiappend_is_all_or_nothing_and_reports_a_uid_set() {
    let world = World::new("[limits]\nmax_errors = 50\n");
    let v = uid_validity(&world, "INBOX", false);
    run(
        &world,
        &format!(
            "{}P: m1 APPEND INBOX (\\Seen) {{3+}}\\r\\nabc \"01-Jan-2000 00:00:00 +0100\" {{3+}}\\r\\ndef {{3+}}\\r\\nghi\\r\\n
             S: m1 OK [APPENDUID {v} 1:3] APPEND completed
             P: m2 APPEND INBOX {{3+}}\\r\\nabc (\\Bogus) {{3+}}\\r\\ndef\\r\\n
             S: m2 BAD Unknown or read-only system flag
             P: m3 APPEND INBOX {{3+}}\\r\\nabc {{3+}}\\r\\ndef junk\\r\\n
             S: m3 BAD APPEND needs each message as a literal
             P: m4 APPEND INBOX {{3+}}\\r\\nabc \"31-Feb-2000 00:00:00 +0000\" {{3+}}\\r\\ndef\\r\\n
             S: m4 BAD Invalid date-time: *
             P: m5 APPEND INBOX {{3+}}\\r\\nabc {{3+}}\\r\\ndef \\r\\n
             S: m5 BAD *
             C: m6 APPEND INBOX {{3}}
             S: + Ready for literal data
             C: abc {{3}}
             S: + Ready for literal data
             C: def
             S: m6 OK [APPENDUID {v} 4:5] APPEND completed
             C: s STATUS INBOX (MESSAGES UIDNEXT)
             S: * STATUS \"INBOX\" (MESSAGES 5 UIDNEXT 6)
             S: s OK STATUS completed
             C: x SELECT INBOX
             S: * FLAGS *
             S: * 5 EXISTS
             S: * 5 RECENT
             S: * OK [UNSEEN 2] *
             S: * OK *
             S: * OK *
             S: * OK *
             S: * OK *
             S: x OK *
             C: f FETCH 1:3 (FLAGS INTERNALDATE)
             S: * 1 FETCH (FLAGS (\\Recent \\Seen) INTERNALDATE *
             S: * 2 FETCH (FLAGS (\\Recent) INTERNALDATE \"31-Dec-1999 23:00:00 +0000\")
             S: * 3 FETCH (FLAGS (\\Recent) INTERNALDATE *
             S: f OK FETCH completed
             P: m7 APPEND INBOX {{1+}}\\r\\nx {{1+}}\\r\\ny\\r\\n
             S: * 7 EXISTS
             S: * 7 RECENT
             S: m7 OK [APPENDUID {v} 6:7] APPEND completed",
            login()
        ),
    );
}

#[test]
fn appendlimit_is_advertised_and_enforced_before_the_literal_is_read() {
    let world = World::new("[limits]\nmax_literal_bytes = 100\n");
    // 101 bytes of command-like lines: dropped with the rest of the command, never run.
    let inside = "x LOGOUT\\r\\n".repeat(10) + "y";
    let caps = capabilities_auth(&world.ctx.config.limits);
    assert!(caps.ends_with(" APPENDLIMIT=100"), "{caps}");
    run(
        &world,
        &format!(
            "{}C: c CAPABILITY
             S: * CAPABILITY {caps}
             S: c OK CAPABILITY completed
             C: s STATUS INBOX (MESSAGES APPENDLIMIT)
             S: * STATUS \"INBOX\" (MESSAGES 0 APPENDLIMIT 100)
             S: s OK STATUS completed
             C: t1 APPEND INBOX {{101}}
             S: t1 NO [TOOBIG] Message too large
             C: t2 APPEND INBOX {{3}}
             S: + Ready for literal data
             C: abc {{101}}
             S: t2 NO [TOOBIG] Message too large
             P: t3 APPEND INBOX {{3+}}\\r\\nabc {{101+}}\\r\\n{inside} {{8+}}\\r\\nz LOGOUT {{3}}\\r\\n
             S: t3 NO [TOOBIG] Message too large
             P: t4 APPEND INBOX {{101+}}\\r\\n{inside}\\r\\nt5 NOOP\\r\\n
             S: t4 NO [TOOBIG] Message too large
             S: t5 OK NOOP completed
             P: t5b APPEND INBOX{five}\\r\\n
             S: t5b NO [TOOBIG] The messages of one APPEND are too large together
             C: t6 APPEND INBOX {{100+}}
             C: {hundred}
             C: 
             S: t6 OK [APPENDUID *
             C: s STATUS INBOX (MESSAGES)
             S: * STATUS \"INBOX\" (MESSAGES 1)
             S: s OK STATUS completed",
            login(),
            hundred = "h".repeat(98),
            // Five messages of 90 bytes: each below APPENDLIMIT, together above 4 x 100 bytes.
            five = format!(" {{90+}}\\r\\n{}", "m".repeat(90)).repeat(5),
        ),
    );
    // Below the literal limit, the message limit decides.
    let world = World::new("[limits]\nmax_message_bytes = 50\n");
    run(
        &world,
        &format!(
            "{}C: c CAPABILITY
             S: * CAPABILITY {}
             S: c OK CAPABILITY completed
             P: a APPEND INBOX {{3+}}\\r\\nabc {{51+}}\\r\\n{}\\r\\n
             S: a NO [TOOBIG] Message too large
             C: s STATUS INBOX (MESSAGES)
             S: * STATUS \"INBOX\" (MESSAGES 0)
             S: s OK STATUS completed",
            login(),
            capabilities_auth(&world.ctx.config.limits),
            "z".repeat(51),
        ),
    );
}
