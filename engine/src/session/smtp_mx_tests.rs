//! Transcript tests of the MX mode: STARTTLS (pretended by the in-memory pipe), no relaying,
//! postmaster, routing loops.

use super::serve_mx;
use crate::session::testing::{pipe, PipeClient, World, USER};
use storage::mail::UidSet;
use storage::Address;

fn mx(world: &World, steps: &[(&str, &[u8])]) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let (mut server, mut client) = pipe();
        let mut ctx = world.mta_ctx();
        ctx.tls = None;
        world.spawn_mda();
        let session = tokio::task::spawn_local(async move { serve_mx(&mut server, &ctx).await });
        play(&mut client, steps).await;
        client.close();
        session.await.expect("session task").expect("session io");
    });
}

async fn play(client: &mut PipeClient, steps: &[(&str, &[u8])]) {
    for (transcript, raw) in steps {
        client.replay(transcript).await;
        if !raw.is_empty() {
            client.send(raw);
        }
    }
}

fn inbox_len(world: &World, user: &str) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let account = Address::parse(user).expect("address");
    rt.block_on(world.store.mail().fetch_summaries(&account, "INBOX", UidSet::all())).expect("summaries").len()
}

const EHLO_PLAIN: &str = "C: EHLO mta.remote.example
     S: 250-mail.example.test greets 192.0.2.7
     S: 250-PIPELINING
     S: 250-SIZE 67108864
     S: 250-8BITMIME
     S: 250-SMTPUTF8
     S: 250-CHUNKING
     S: 250-STARTTLS
     S: 250 ENHANCEDSTATUSCODES";

const EHLO_TLS: &str = "C: EHLO mta.remote.example
     S: 250-mail.example.test greets 192.0.2.7
     S: 250-PIPELINING
     S: 250-SIZE 67108864
     S: 250-8BITMIME
     S: 250-SMTPUTF8
     S: 250-CHUNKING
     S: 250 ENHANCEDSTATUSCODES";

#[test]
fn starttls_required_then_local_delivery_only() {
    let world = World::new("");
    mx(
        &world,
        &[
            ("S: 220 mail.example.test ESMTP Mailgenic", b""),
            (EHLO_PLAIN, b""),
            (
                "C: MAIL FROM:<someone@remote.example>
                 S: 530 5.7.0 Must issue a STARTTLS command first
                 C: AUTH PLAIN AGFsaWNlAHBhc3M=
                 S: 502 5.5.1 *",
                // Pipelined after STARTTLS: must be dropped, not executed after the handshake.
                b"STARTTLS\r\nMAIL FROM:<smuggled@remote.example>\r\n",
            ),
            ("S: 220 2.0.0 Ready to start TLS", b""),
            (
                "C: MAIL FROM:<someone@remote.example>
                 S: 503 5.5.1 Send EHLO first",
                b"",
            ),
            (EHLO_TLS, b""),
            (
                &format!(
                    "C: STARTTLS
                     S: 503 5.5.1 TLS is already active
                     C: MAIL FROM:<>
                     S: 250 2.1.0 *
                     C: RCPT TO:<someone@remote.example>
                     S: 550 5.7.1 Relaying denied
                     C: RCPT TO:<nobody@example.test>
                     S: 550 5.1.1 No such user here
                     C: RCPT TO:<postmaster>
                     S: 550 5.1.1 No such user here
                     C: RCPT TO:<{USER}>
                     S: 250 2.1.5 *
                     C: DATA
                     S: 354 *"
                ),
                b"Subject: bounce\r\n\r\nreport\r\n.\r\n",
            ),
            ("S: 250 2.0.0 *\nC: QUIT\nS: 221 *\nCLOSED", b""),
        ],
    );
    assert_eq!(inbox_len(&world, USER), 1);
}

#[test]
fn plaintext_allowed_by_config_postmaster_and_routing_loops() {
    let world = World::new("[smtp]\nmx_require_tls = false\nmax_received_headers = 3\n");
    let hash = storage::password::hash(b"pm").expect("hash");
    world.store.add_account(&Address::parse("postmaster@example.test").expect("pm"), &hash).expect("add pm");
    mx(
        &world,
        &[
            ("S: 220 *", b""),
            (EHLO_PLAIN, b""),
            (
                "C: MAIL FROM:<a@remote.example>
                 S: 250 *
                 C: RCPT TO:<postmaster>
                 S: 250 2.1.5 *
                 C: RCPT TO:<POSTMASTER@example.test>
                 S: 250 2.1.5 *
                 C: DATA
                 S: 354 *",
                b"Received: a\r\nReceived: b\r\nreceived: c\r\nReceived: d\r\n\r\nloop\r\n.\r\n",
            ),
            (
                "S: 554 5.4.6 Routing loop detected*
                 C: MAIL FROM:<a@remote.example>
                 S: 250 *
                 C: RCPT TO:<postmaster>
                 S: 250 2.1.5 *
                 C: DATA
                 S: 354 *",
                b"Received: a\r\n\r\nReceived: not a header\r\nReceived: x\r\nReceived: y\r\n.\r\n",
            ),
            ("S: 250 2.0.0 *", b""),
        ],
    );
    assert_eq!(inbox_len(&world, "postmaster@example.test"), 1);
}

#[test]
fn remote_sender_keeps_its_spelling() {
    let world = World::new("[smtp]\nmx_require_tls = false\n");
    mx(
        &world,
        &[
            ("S: 220 *", b""),
            (EHLO_PLAIN, b""),
            (
                &format!("C: MAIL FROM:<Jane.Doe@Remote.Example>\nS: 250 *\nC: RCPT TO:<{USER}>\nS: 250 *\nC: DATA\nS: 354 *"),
                b"x\r\n.\r\n",
            ),
            ("S: 250 2.0.0 *", b""),
        ],
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let account = Address::parse(USER).expect("address");
    let stored = rt.block_on(world.store.mail().read_message(&account, "INBOX", 1)).expect("read");
    assert!(stored.starts_with(b"Return-Path: <Jane.Doe@remote.example>\r\n"), "{}", String::from_utf8_lossy(&stored));
    assert!(String::from_utf8_lossy(&stored).contains("with ESMTP;"));
}
