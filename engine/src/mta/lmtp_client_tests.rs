//! The LMTP client against the real MDA session on a UNIX socket, and against scripted peers
//! that answer the way other LMTP servers, or failing ones, do.

use super::*;
use crate::session::testing::{World, USER};
use storage::mail::UidSet;
use storage::Address;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BOB: &str = "bob@example.test";

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    tokio::task::LocalSet::new().block_on(&rt, future)
}

fn recipients(list: &[&str]) -> Vec<String> {
    list.iter().map(|r| r.to_string()).collect()
}

fn codes(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Delivered(r) => format!("delivered {}", r.code),
            Outcome::Refused(r) => format!("refused {}", r.code),
            Outcome::Deferred(why) => format!("deferred {}", why.split(' ').next().unwrap_or_default()),
        })
        .collect()
}

#[test]
fn real_mda_stores_accepted_recipients_and_refuses_unknown_ones_on_one_connection() {
    let world = World::new("");
    let hash = storage::password::hash(b"bob's password").expect("hash");
    world.store.add_account(&Address::parse(BOB).expect("address"), &hash).expect("add bob");
    block_on(async {
        world.spawn_mda();
        let stream = tokio::net::UnixStream::connect(world.mda_socket()).await.expect("connect");
        let mut client = LmtpClient::greet(stream, "mta.example.test", Duration::from_secs(10)).await.expect("greet");
        assert!(client.chunking && client.pipelining, "our MDA offers CHUNKING and PIPELINING");
        let to = recipients(&[USER, "nobody@example.test", BOB]);
        let tx = Transaction {
            sender: "sender@remote.example",
            recipients: &to,
            header: b"Received: from test\r\n",
            body: b"Subject: one\r\n\r\n.dot stays\r\n",
            smtputf8: false,
        };
        let outcomes = client.deliver(&tx).await.expect("answered");
        assert_eq!(codes(&outcomes), ["delivered 250", "refused 550", "delivered 250"]);
        assert!(client.reusable());
        let again = client.deliver(&Transaction { recipients: &to[2..], ..tx }).await.expect("answered");
        assert_eq!(codes(&again), ["delivered 250"]);
    });
    let mail = world.store.mail();
    let bob = Address::parse(BOB).expect("address");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let stored = rt.block_on(mail.fetch_summaries(&bob, "INBOX", UidSet::all())).expect("summaries");
    assert_eq!(stored.len(), 2);
    let copy = rt.block_on(mail.read_message(&bob, "INBOX", 1)).expect("read");
    assert!(copy.ends_with(b"Received: from test\r\nSubject: one\r\n\r\n.dot stays\r\n"), "{copy:?}");
}

/// A peer that reads until it has seen `expect` (if any), then writes `reply` (or closes on
/// `None`), step by step; returns everything it read.
async fn scripted(mut peer: tokio::net::UnixStream, steps: Vec<(&'static str, Option<&'static str>)>) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    for (expect, reply) in steps {
        while !String::from_utf8_lossy(&seen).contains(expect) {
            match AsyncReadExt::read(&mut peer, &mut buf).await {
                Ok(0) | Err(_) => return seen,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        match reply {
            Some(text) => AsyncWriteExt::write_all(&mut peer, text.as_bytes()).await.expect("peer write"),
            None => return seen,
        }
    }
    seen
}

const GREET_DATA_ONLY: (&str, Option<&str>) = ("", Some("220 other LMTP\r\n"));
const LHLO_PIPELINING: (&str, Option<&str>) = ("LHLO", Some("250-other\r\n250 PIPELINING\r\n"));

fn run_scripted(
    steps: Vec<(&'static str, Option<&'static str>)>,
    to: &[&str],
) -> (Result<Vec<Outcome>, String>, String) {
    block_on(async {
        let (ours, theirs) = tokio::net::UnixStream::pair().expect("pair");
        let peer = tokio::task::spawn_local(scripted(theirs, steps));
        let to = recipients(to);
        let result = match LmtpClient::greet(ours, "mta.example.test", Duration::from_secs(5)).await {
            Ok(mut client) => {
                let tx = Transaction {
                    sender: "a@example.test",
                    recipients: &to,
                    header: b"",
                    body: b".leading\r\nmiddle\r\n",
                    smtputf8: false,
                };
                client.deliver(&tx).await.map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        let seen = peer.await.expect("peer task");
        (result, String::from_utf8_lossy(&seen).into_owned())
    })
}

#[test]
fn without_chunking_the_message_is_dot_stuffed_after_354_and_each_recipient_answered() {
    let (result, seen) = run_scripted(
        vec![
            GREET_DATA_ONLY,
            LHLO_PIPELINING,
            ("DATA\r\n", Some("250 ok\r\n250 ok\r\n452 4.2.2 full\r\n250 ok\r\n354 go\r\n")),
            ("\r\n.\r\n", Some("250 2.0.0 stored\r\n554 5.6.0 refused\r\n")),
        ],
        &["x@example.test", "y@example.test", "z@example.test"],
    );
    let outcomes = result.expect("answered");
    assert_eq!(codes(&outcomes), ["delivered 250", "deferred 452", "refused 554"]);
    assert!(seen.contains("MAIL FROM:<a@example.test> SIZE=18\r\nRCPT TO:<x@example.test>\r\n"), "{seen}");
    assert!(seen.contains("DATA\r\n..leading\r\nmiddle\r\n.\r\n"), "{seen}");
}

#[test]
fn a_connection_lost_after_the_envelope_defers_the_accepted_recipients() {
    let (result, _) = run_scripted(
        vec![
            GREET_DATA_ONLY,
            LHLO_PIPELINING,
            ("DATA\r\n", Some("250 ok\r\n550 5.1.1 unknown\r\n250 ok\r\n354 go\r\n")),
            ("\r\n.\r\n", None),
        ],
        &["x@example.test", "y@example.test"],
    );
    assert_eq!(codes(&result.expect("answered")), ["refused 550", "deferred no"]);
}

#[test]
fn no_answer_at_all_is_unanswered_and_mail_refused_applies_to_everyone() {
    let (result, _) = run_scripted(vec![GREET_DATA_ONLY, LHLO_PIPELINING, ("DATA\r\n", None)], &["x@example.test"]);
    assert!(result.expect_err("nothing answered").contains("did not answer"));
    let (result, _) = run_scripted(
        vec![
            GREET_DATA_ONLY,
            LHLO_PIPELINING,
            ("DATA\r\n", Some("451 4.3.0 busy\r\n503 5.5.1 no mail\r\n503 5.5.1 no mail\r\n")),
        ],
        &["x@example.test"],
    );
    assert_eq!(codes(&result.expect("answered")), ["deferred 451"]);
    let (result, _) = run_scripted(vec![("", Some("554 go away\r\n"))], &["x@example.test"]);
    assert!(result.expect_err("bad greeting").contains("554 go away"));
}

#[test]
fn garbage_from_the_peer_is_an_error_not_a_panic() {
    let (result, _) = run_scripted(vec![("", Some("HTTP/1.1 400 Bad Request\r\n"))], &["x@example.test"]);
    assert!(result.expect_err("not LMTP").contains("garbage"));
}
