//! Transcript tests of mail transactions: submission and LMTP, pipelining, BDAT, limits and the
//! SMTP-smuggling inputs.

use super::{serve_lmtp, serve_submission};
use crate::session::testing::{pipe, PipeClient, World, PASSWORD, USER};
use base64::Engine;
use storage::mail::UidSet;
use storage::Address;

const BOB: &str = "bob@example.test";

/// One step of a conversation: a transcript (see `testing`), or raw bytes sent as they are.
enum Step<'a> {
    T(&'a str),
    Raw(&'a [u8]),
}

fn world(extra: &str) -> World {
    let world = World::new(extra);
    let hash = storage::password::hash(b"bob's password").expect("hash");
    world.store.add_account(&Address::parse(BOB).expect("address"), &hash).expect("add bob");
    world
}

fn converse(world: &World, lmtp: bool, steps: &[Step<'_>]) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let (mut server, mut client) = pipe();
        let ctx = if lmtp { world.ctx.clone() } else { world.mta_ctx() };
        world.spawn_mda();
        let session = tokio::task::spawn_local(async move {
            if lmtp {
                serve_lmtp(&mut server, &ctx).await
            } else {
                serve_submission(&mut server, &ctx).await
            }
        });
        play(&mut client, steps).await;
        client.close();
        session.await.expect("session task").expect("session io");
    });
}

async fn play(client: &mut PipeClient, steps: &[Step<'_>]) {
    for step in steps {
        match step {
            Step::T(t) => client.replay(t).await,
            Step::Raw(bytes) => client.send(bytes),
        }
    }
}

fn inbox(world: &World, user: &str) -> Vec<Vec<u8>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let mail = world.store.mail();
        let account = Address::parse(user).expect("address");
        let summaries = mail.fetch_summaries(&account, "INBOX", UidSet::all()).await.expect("summaries");
        let mut out = Vec::new();
        for s in summaries {
            out.push(mail.read_message(&account, "INBOX", s.uid).await.expect("read"));
        }
        out
    })
}

/// The body of a stored copy: what follows the trace fields (the MDA's Return-Path,
/// Delivered-To and Received, and the MTA's Received when the copy came through submission).
fn body_of(message: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(message);
    assert!(text.starts_with("Return-Path: <"), "{text}");
    let mut at = 0;
    for line in message.split_inclusive(|&b| b == b'\n') {
        let trace = [&b"Return-Path:"[..], b"Delivered-To:", b"Received:", b"\t"].iter().any(|p| line.starts_with(p));
        if !trace {
            break;
        }
        at += line.len();
    }
    message[at..].to_vec()
}

fn login() -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("\0{USER}\0{PASSWORD}"));
    format!(
        "S: 220 *
         C: EHLO client.example
         S: 250-*
         S: 250-*
         S: 250-*
         S: 250-*
         S: 250-*
         S: 250-*
         S: 250-*
         S: 250 *
         C: AUTH PLAIN {b64}
         S: 235 *"
    )
}

#[test]
fn submission_delivers_locally_and_queues_remote() {
    let world = world("");
    let login = login();
    converse(
        &world,
        false,
        &[
            Step::T(&login),
            Step::T(&format!(
                "C: MAIL FROM:<ALICE@example.test> SIZE=100 BODY=8BITMIME SMTPUTF8
                 S: 250 2.1.0 Sender OK
                 C: RCPT TO:<{BOB}>
                 S: 250 2.1.5 Recipient OK
                 C: RCPT TO:<{USER}>
                 S: 250 2.1.5 Recipient OK
                 C: RCPT TO:<carol@remote.example>
                 S: 250 2.1.5 Recipient OK
                 C: DATA
                 S: 354 *"
            )),
            Step::Raw(b"Subject: hi\r\n\r\n..stuffed\r\nline\r\n.\r\n"),
            Step::T("S: 250 2.0.0 Message accepted for delivery\nC: QUIT\nS: 221 *"),
        ],
    );
    for user in [USER, BOB] {
        let messages = inbox(&world, user);
        assert_eq!(messages.len(), 1, "{user}");
        let text = String::from_utf8_lossy(&messages[0]).into_owned();
        assert!(text.starts_with(&format!("Return-Path: <{USER}>\r\nDelivered-To: {user}\r\n")), "{text}");
        assert!(
            text.contains("Received: from client.example (192.0.2.7)\r\n\tby mail.example.test with ESMTPSA (TLSv1.3 ")
        );
        assert_eq!(body_of(&messages[0]), b"Subject: hi\r\n\r\n.stuffed\r\nline\r\n");
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let queue = rt.block_on(world.store.mail().queue_list()).expect("queue");
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].sender, USER);
    assert_eq!(queue[0].recipients, vec!["carol@remote.example".to_string()]);
}

#[test]
fn submission_refusals() {
    let world = world("[limits]\nmax_recipients = 2\nmax_message_bytes = 1000\nmax_errors = 50\n");
    converse(
        &world,
        false,
        &[Step::T(
            "S: 220 *
             C: EHLO x
             S: 250-*
             S: 250-*
             S: 250-SIZE 1000
             S: 250-*
             S: 250-*
             S: 250-*
             S: 250-*
             S: 250 *
             C: MAIL FROM:<alice@example.test>
             S: 530 5.7.0 Authentication required
             C: RCPT TO:<alice@example.test>
             S: 530 5.7.0 Authentication required
             C: DATA
             S: 530 5.7.0 Authentication required",
        )],
    );
    let login = login();
    converse(
        &world,
        false,
        &[
            Step::T(&login),
            Step::T(&format!(
                "C: RCPT TO:<{BOB}>
                 S: 503 5.5.1 Need MAIL before RCPT
                 C: DATA
                 S: 503 5.5.1 Need MAIL and RCPT first
                 C: MAIL FROM:<{BOB}>
                 S: 553 5.7.1 *
                 C: MAIL FROM:<>
                 S: 553 5.7.1 *
                 C: MAIL FROM:<{USER}> SIZE=1001
                 S: 552 5.3.4 *
                 C: MAIL FROM:<{USER}> RET=FULL
                 S: 555 5.5.4 *
                 C: MAIL FROM:<{USER}> SIZE=1000
                 S: 250 *
                 C: MAIL FROM:<{USER}>
                 S: 503 5.5.1 Sender already specified
                 C: DATA
                 S: 554 5.5.1 No valid recipients
                 C: RCPT TO:<nobody@example.test>
                 S: 550 5.1.1 No such user here
                 C: RCPT TO:<not an address>
                 S: 501 5.1.3 *
                 C: RSET
                 S: 250 2.0.0 OK
                 C: MAIL FROM:<{USER}>
                 S: 250 *
                 C: RCPT TO:<{BOB}>
                 S: 250 *
                 C: RCPT TO:<x@remote.example>
                 S: 250 *
                 C: RCPT TO:<{USER}>
                 S: 452 4.5.3 Too many recipients
                 C: DATA
                 S: 354 *"
            )),
            Step::Raw(&[b'x'; 1500]),
            Step::Raw(b"\r\n.\r\n"),
            Step::T("S: 552 5.3.4 *\nC: NOOP\nS: 250 2.0.0 OK"),
        ],
    );
    assert!(inbox(&world, BOB).is_empty());
}

#[test]
fn pipelined_transaction_and_commands_after_the_data() {
    let world = world("");
    let login = login();
    converse(
        &world,
        false,
        &[
            Step::T(&login),
            Step::T(&format!(
                r"P: MAIL FROM:<{USER}>\r\nRCPT TO:<{BOB}>\r\nRCPT TO:<nobody@example.test>\r\nDATA\r\n
                  S: 250 2.1.0 *
                  S: 250 2.1.5 *
                  S: 550 5.1.1 *
                  S: 354 *"
            )),
            Step::Raw(b"one\r\n.\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"),
            Step::T("S: 250 2.0.0 *\nS: 250 2.1.0 *\nS: 250 2.1.5 *\nS: 354 *"),
            Step::Raw(b"two\r\n.\r\nQUIT\r\n"),
            Step::T("S: 250 2.0.0 *\nS: 221 *\nCLOSED"),
        ],
    );
    let messages = inbox(&world, BOB);
    assert_eq!(messages.iter().map(|m| body_of(m)).collect::<Vec<_>>(), vec![b"one\r\n".to_vec(), b"two\r\n".to_vec()]);
}

#[test]
fn smuggling_inputs_do_not_end_the_data() {
    for smuggle in [&b"\n.\r\n"[..], b"\r\n.\n", b"\n.\n", b"\r.\r\n", b"\r\n.\r"] {
        let world = world("");
        let login = login();
        let mut payload = b"Subject: a".to_vec();
        payload.extend_from_slice(smuggle);
        payload.extend_from_slice(b"MAIL FROM:<alice@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
        payload.extend_from_slice(b"smuggled\r\n.\r\n");
        converse(
            &world,
            false,
            &[
                Step::T(&login),
                Step::T(&format!("C: MAIL FROM:<{USER}>\nS: 250 *\nC: RCPT TO:<{BOB}>\nS: 250 *\nC: DATA\nS: 354 *")),
                Step::Raw(&payload),
                Step::T("S: 250 2.0.0 *\nC: QUIT\nS: 221 *\nCLOSED"),
            ],
        );
        assert!(inbox(&world, USER).is_empty(), "smuggled a message with {smuggle:?}");
        let messages = inbox(&world, BOB);
        assert_eq!(messages.len(), 1);
        let body = body_of(&messages[0]);
        assert!(body.windows(9).any(|w| w == b"MAIL FROM"), "{smuggle:?}: {}", String::from_utf8_lossy(&body));
    }
}

#[test]
fn bdat_chunks() {
    let world = world("[limits]\nmax_message_bytes = 100\n");
    let login = login();
    converse(
        &world,
        false,
        &[
            Step::T(&login),
            Step::Raw(b"BDAT 3\r\nabc"),
            Step::T("S: 503 5.5.1 Need MAIL and RCPT first"),
            Step::T(&format!("C: MAIL FROM:<{USER}>\nS: 250 *\nC: RCPT TO:<{BOB}>\nS: 250 *")),
            Step::Raw(b"BDAT 7\r\nline\r\n.BDAT 0\r\n"),
            Step::T("S: 250 2.0.0 7 octets received\nS: 250 2.0.0 0 octets received"),
            Step::Raw(b"BDAT 5 LAST\r\n\r\n.\r"),
            Step::Raw(b"\n"),
            Step::T("S: 250 2.0.0 Message accepted for delivery"),
            Step::T(&format!("C: MAIL FROM:<{USER}>\nS: 250 *\nC: RCPT TO:<{BOB}>\nS: 250 *")),
            Step::Raw(b"BDAT 60\r\n"),
            Step::Raw(&[b'y'; 60]),
            Step::Raw(b"BDAT 60 LAST\r\n"),
            Step::Raw(&[b'z'; 60]),
            Step::T("S: 250 2.0.0 60 octets received\nS: 552 5.3.4 *\nC: NOOP\nS: 250 2.0.0 OK"),
        ],
    );
    let messages = inbox(&world, BOB);
    assert_eq!(messages.len(), 1);
    assert_eq!(body_of(&messages[0]), b"line\r\n.\r\n.\r\n");
}

#[test]
fn lmtp_answers_once_per_recipient() {
    let world = world("");
    converse(
        &world,
        true,
        &[
            Step::T(&format!(
                "S: 220 mail.example.test LMTP Mailgenic
                 C: EHLO x
                 S: 500 5.5.1 This is LMTP: say LHLO
                 C: LHLO mta.example.test
                 S: 250-mail.example.test
                 S: 250-PIPELINING
                 S: 250-SIZE 67174400
                 S: 250-8BITMIME
                 S: 250-SMTPUTF8
                 S: 250-CHUNKING
                 S: 250 ENHANCEDSTATUSCODES
                 C: MAIL FROM:<>
                 S: 250 2.1.0 *
                 C: RCPT TO:<{USER}>
                 S: 250 2.1.5 *
                 C: RCPT TO:<nobody@example.test>
                 S: 550 5.1.1 *
                 C: RCPT TO:<x@remote.example>
                 S: 550 5.1.1 *
                 C: RCPT TO:<{BOB}>
                 S: 250 2.1.5 *
                 C: DATA
                 S: 354 *"
            )),
            Step::Raw(b"Subject: lmtp\r\n\r\nhi\r\n.\r\n"),
            Step::T(&format!(
                "S: 250 2.0.0 <{USER}> Delivered
                 S: 250 2.0.0 <{BOB}> Delivered
                 C: QUIT
                 S: 221 *"
            )),
        ],
    );
    for user in [USER, BOB] {
        let messages = inbox(&world, user);
        assert_eq!(messages.len(), 1);
        let text = String::from_utf8_lossy(&messages[0]).into_owned();
        assert!(text.starts_with(&format!("Return-Path: <>\r\nDelivered-To: {user}\r\n")), "{text}");
        assert!(text.contains("with LMTP"), "{text}");
        assert_eq!(body_of(&messages[0]), b"Subject: lmtp\r\n\r\nhi\r\n");
    }
}

#[test]
fn lmtp_bdat_and_pipelining_answer_each_recipient() {
    let world = world("[limits]\nmax_message_bytes = 50\n");
    converse(
        &world,
        true,
        &[
            Step::T("S: 220 *"),
            Step::Raw(
                format!("LHLO mta\r\nMAIL FROM:<x@remote.example>\r\nRCPT TO:<{USER}>\r\nRCPT TO:<{BOB}>\r\nBDAT 4\r\nab\r\n")
                    .as_bytes(),
            ),
            Step::T(
                "S: 250-*\nS: 250-*\nS: 250-*\nS: 250-*\nS: 250-*\nS: 250-*\nS: 250 *
                 S: 250 2.1.0 *
                 S: 250 2.1.5 *
                 S: 250 2.1.5 *
                 S: 250 2.0.0 4 octets received",
            ),
            Step::Raw(b"BDAT 4 LAST\r\ncd\r\n"),
            Step::T(&format!("S: 250 2.0.0 <{USER}> Delivered\nS: 250 2.0.0 <{BOB}> Delivered")),
            // Too large (the MDA allows 64 KiB of trace fields on top of the limit): one 552 per
            // recipient, after the whole payload.
            Step::Raw(format!("MAIL FROM:<>\r\nRCPT TO:<{USER}>\r\nRCPT TO:<{BOB}>\r\nDATA\r\n").as_bytes()),
            Step::T("S: 250 *\nS: 250 *\nS: 250 *\nS: 354 *"),
            Step::Raw(&[b'x'; 50 + 65_536 + 1]),
            Step::Raw(b"\r\n.\r\nQUIT\r\n"),
            Step::T("S: 552 5.3.4 *\nS: 552 5.3.4 *\nS: 221 *\nCLOSED"),
        ],
    );
    assert_eq!(body_of(&inbox(&world, BOB)[0]), b"ab\r\ncd\r\n");
    assert_eq!(inbox(&world, USER).len(), 1);
}

#[test]
fn utf8_addresses_need_smtputf8() {
    let world = world("");
    let login = login();
    converse(
        &world,
        false,
        &[
            Step::T(&login),
            Step::T(&format!(
                "C: MAIL FROM:<{USER}>
                 S: 250 *
                 C: RCPT TO:<jürgen@remote.example>
                 S: 553 5.6.7 *
                 C: RSET
                 S: 250 *
                 C: MAIL FROM:<{USER}> SMTPUTF8
                 S: 250 *
                 C: RCPT TO:<jürgen@remote.example>
                 S: 250 2.1.5 *"
            )),
        ],
    );
}

#[test]
fn lmtp_unknown_recipients_do_not_close_the_connection() {
    let world = world("[limits]\nmax_errors = 2\n");
    let mut transcript = String::from("S: 220 *\nC: LHLO mta\nS: 250-*\nS: 250-*\nS: 250-*\nS: 250-*\nS: 250-*\nS: 250-*\nS: 250 *\nC: MAIL FROM:<>\nS: 250 *\n");
    for i in 0..5 {
        transcript.push_str(&format!("C: RCPT TO:<nobody{i}@example.test>\nS: 550 5.1.1 *\n"));
    }
    transcript.push_str(&format!("C: RCPT TO:<{BOB}>\nS: 250 2.1.5 *\nC: QUIT\nS: 221 *\nCLOSED"));
    converse(&world, true, &[Step::T(&transcript)]);
}
