//! The MTA's end of a transaction against the real MDA session (on a UNIX socket in the test's
//! directory) and the real store: what is stored, what is queued, what bounces, what the client
//! is told; and the queue runner's retries.

use super::*;
use crate::session::testing::{World, USER};
use storage::mail::{QueuedMessage, UidSet};

const BOB: &str = "bob@example.test";
const BODY: &[u8] = b"From: alice@example.test\r\nSubject: hi\r\n\r\nhello\r\n";

fn world() -> World {
    let world = World::new("[queue]\nretry_min_secs = 60\nmax_age_secs = 3600\n");
    let hash = storage::password::hash(b"bob's password").expect("hash");
    world.store.add_account(&Address::parse(BOB).expect("address"), &hash).expect("add bob");
    world
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    tokio::task::LocalSet::new().block_on(&rt, future)
}

fn addresses(list: &[&str]) -> Vec<Address> {
    list.iter().map(|a| Address::parse(a).expect("address")).collect()
}

/// Hands `BODY` from alice to `local` and `remote`, with or without an MDA listening.
fn hand(world: &World, mda_up: bool, local: &[&str], remote: &[&str]) -> Verdict {
    let local = addresses(local);
    let remote: Vec<String> = remote.iter().map(|r| r.to_string()).collect();
    block_on(async {
        if mda_up {
            world.spawn_mda();
        }
        let ctx = world.mta_ctx();
        let pool = ctx.mda.clone().expect("pool");
        let handoff = Handoff {
            sender: USER,
            smtputf8: false,
            local: &local,
            remote: &remote,
            received:
                b"Received: from client by mail.example.test with ESMTPSA;\r\n\tFri, 4 Dec 2026 00:00:00 +0000\r\n",
            body: BODY,
        };
        hand_off(&ctx.config, &ctx.mail(), &pool, handoff).await
    })
}

fn inbox(world: &World, user: &str) -> Vec<Vec<u8>> {
    let mail = world.store.mail();
    let account = Address::parse(user).expect("address");
    block_on(async {
        let mut out = Vec::new();
        for s in mail.fetch_summaries(&account, "INBOX", UidSet::all()).await.expect("summaries") {
            out.push(mail.read_message(&account, "INBOX", s.uid).await.expect("read"));
        }
        out
    })
}

fn queue(world: &World) -> Vec<QueuedMessage> {
    block_on(world.store.mail().queue_list()).expect("queue")
}

#[test]
fn local_recipients_are_stored_through_lmtp_and_remote_ones_queued() {
    let world = world();
    assert_eq!(hand(&world, true, &[USER, BOB], &["carol@remote.example"]), Verdict::Accepted);
    for user in [USER, BOB] {
        let copies = inbox(&world, user);
        assert_eq!(copies.len(), 1, "{user}");
        let text = String::from_utf8_lossy(&copies[0]);
        assert!(
            text.starts_with(&format!("Return-Path: <{USER}>\r\nDelivered-To: {user}\r\nReceived: from ")),
            "{text}"
        );
        assert!(text.contains("with LMTP"), "the MDA's own trace field: {text}");
        assert!(text.ends_with(&format!(
            "with ESMTPSA;\r\n\tFri, 4 Dec 2026 00:00:00 +0000\r\n{}",
            String::from_utf8_lossy(BODY)
        )));
    }
    let queued = queue(&world);
    assert_eq!(queued.len(), 1);
    assert_eq!(
        (queued[0].route, queued[0].recipients.as_slice()),
        (Route::Remote, ["carol@remote.example".to_string()].as_slice())
    );
}

#[test]
fn an_unreachable_mda_queues_the_local_recipients_and_the_runner_delivers_them_later() {
    let world = world();
    assert_eq!(hand(&world, false, &[USER, BOB], &[]), Verdict::Accepted, "queued is as good as stored");
    assert!(inbox(&world, BOB).is_empty());
    let queued = queue(&world);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].route, Route::Local);
    assert_eq!(queued[0].recipients, [USER, BOB]);
    assert!(queued[0].last_error.contains("cannot reach the MDA"), "{:?}", queued[0].last_error);
    // Not due yet: the runner leaves it alone.
    let mail = world.store.mail();
    let now = now_secs() as u64;
    assert!(block_on(mail.queue_due(Route::Local, now, 10)).expect("due").is_empty());
    // Due, MDA up: delivered, and the entry is gone.
    block_on(async {
        world.spawn_mda();
        let ctx = world.mta_ctx();
        let pool = ctx.mda.clone().expect("pool");
        let due = mail.queue_due(Route::Local, now + 61, 10).await.expect("due");
        assert_eq!(due.len(), 1);
        for entry in due {
            queue_runner::attempt(&ctx.config, &mail, &pool, entry).await;
        }
    });
    assert!(queue(&world).is_empty());
    for user in [USER, BOB] {
        let copies = inbox(&world, user);
        assert_eq!(copies.len(), 1, "exactly one copy for {user}");
        assert!(copies[0].ends_with(BODY));
    }
}

#[test]
fn a_recipient_the_mda_refuses_is_bounced_while_the_others_are_delivered() {
    let world = world();
    // Accepted at RCPT time, gone by the end of data.
    assert_eq!(hand(&world, true, &[BOB, "ghost@example.test"], &[]), Verdict::Accepted);
    assert_eq!(inbox(&world, BOB).len(), 1);
    let queued = queue(&world);
    assert_eq!(queued.len(), 1, "one bounce, no retry");
    let bounce = &queued[0];
    assert_eq!(
        (bounce.sender.as_str(), bounce.recipients.as_slice(), bounce.route),
        ("", [USER.to_string()].as_slice(), Route::Local)
    );
    let text =
        String::from_utf8(block_on(world.store.mail().queue_message(bounce.id)).expect("bounce")).expect("ascii");
    assert!(text.contains("Final-Recipient: rfc822; ghost@example.test\r\nAction: failed\r\nStatus: 5.1.1"), "{text}");
}

#[test]
fn when_every_recipient_is_refused_the_client_hears_the_mdas_reply_and_nothing_is_queued() {
    let world = world();
    match hand(&world, true, &["ghost@example.test"], &[]) {
        Verdict::Refused(reply) => assert!(reply.starts_with("550 5.1.1 ") && reply.ends_with("\r\n"), "{reply:?}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(queue(&world).is_empty());
}

#[test]
fn a_retry_that_is_too_old_bounces_instead_of_waiting_again() {
    let world = world();
    assert_eq!(hand(&world, false, &[BOB], &[]), Verdict::Accepted);
    let mail = world.store.mail();
    let entry = queue(&world).remove(0);
    // Pretend it was queued long ago: the MDA is still down when the runner tries.
    let old = QueuedMessage { created: entry.created - 7200, ..entry };
    block_on(async {
        let ctx = world.mta_ctx();
        let pool = ctx.mda.clone().expect("pool");
        queue_runner::attempt(&ctx.config, &mail, &pool, old).await;
    });
    let queued = queue(&world);
    assert_eq!(queued.len(), 1, "the entry went, its bounce came: {queued:?}");
    assert_eq!((queued[0].sender.as_str(), queued[0].recipients.as_slice()), ("", [USER.to_string()].as_slice()));
    let text = String::from_utf8(block_on(mail.queue_message(queued[0].id)).expect("bounce")).expect("ascii");
    assert!(text.contains("Final-Recipient: rfc822; bob@example.test\r\nAction: failed\r\nStatus: 4.4.7"), "{text}");
}
