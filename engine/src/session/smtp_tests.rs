use super::serve_submission;
use crate::session::testing::{pipe, World, PASSWORD, USER};
use base64::Engine;

fn run(world: &World, transcript: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let (mut server, mut client) = pipe();
        let ctx = world.ctx.clone();
        let session = tokio::task::spawn_local(async move { serve_submission(&mut server, &ctx).await });
        client.replay(transcript).await;
        client.close();
        session.await.expect("session task").expect("session io");
    });
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn ehlo_auth_plain_and_quit() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "S: 220 mail.example.test ESMTP Mailgenic
             C: EHLO client.example
             S: 250-mail.example.test greets 192.0.2.7
             S: 250-PIPELINING
             S: 250-SIZE 67108864
             S: 250-8BITMIME
             S: 250-SMTPUTF8
             S: 250-CHUNKING
             S: 250-AUTH PLAIN LOGIN
             S: 250 ENHANCEDSTATUSCODES
             C: MAIL FROM:<{USER}>
             S: 530 5.7.0 Authentication required
             C: AUTH PLAIN {}
             S: 235 2.7.0 Authentication successful
             C: AUTH PLAIN {}
             S: 503 5.5.1 Already authenticated
             C: NOOP
             S: 250 2.0.0 OK
             C: QUIT
             S: 221 2.0.0 *
             CLOSED",
            b64(&format!("\0{USER}\0{PASSWORD}")),
            b64(&format!("\0{USER}\0{PASSWORD}")),
        ),
    );
}

#[test]
fn auth_login_and_plain_without_initial_response() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "S: 220 *
             C: EHLO x
             S: 250-*
             S: 250-*
             S: 250-*
             S: 250-*
             S: 250-*
             S: 250-*
             S: 250-*
             S: 250 *
             C: AUTH LOGIN
             S: 334 VXNlcm5hbWU6
             C: {}
             S: 334 UGFzc3dvcmQ6
             C: {}
             S: 235 2.7.0 Authentication successful",
            b64("ALICE@example.test"),
            b64(PASSWORD)
        ),
    );
    run(
        &world,
        &format!(
            "S: 220 *
             C: HELO x
             S: 250 mail.example.test
             C: AUTH PLAIN
             S: 334 
             C: *
             S: 501 5.7.0 Authentication cancelled
             C: AUTH PLAIN
             S: 334 
             C: {}
             S: 235 2.7.0 Authentication successful",
            b64(&format!("\0{USER}\0{PASSWORD}"))
        ),
    );
}

#[test]
fn failures_are_535_and_close_after_the_limit() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "S: 220 *
             C: AUTH PLAIN {}
             S: 503 5.5.1 Send EHLO first
             C: HELO x
             S: 250 *
             C: AUTH PLAIN {}
             S: 535 5.7.8 Authentication credentials invalid
             C: AUTH PLAIN {}
             S: 535 5.7.8 Authentication credentials invalid
             C: AUTH CRAM-MD5
             S: 504 5.5.4 Unrecognized authentication mechanism
             C: AUTH PLAIN {}
             S: 535 5.7.8 Authentication credentials invalid
             S: 421 4.7.0 Too many authentication failures, closing connection
             CLOSED",
            b64(&format!("\0{USER}\0{PASSWORD}")),
            b64(&format!("\0{USER}\0wrong")),
            b64("\0nobody@example.test\0wrong"),
            b64(&format!("\0{USER}\0wrong")),
        ),
    );
}

#[test]
fn bad_commands_get_enhanced_codes_and_the_connection_survives() {
    let world = World::new("[limits]\nmax_line_bytes = 512\n");
    let long = "x".repeat(600);
    run(
        &world,
        &format!(
            "S: 220 *
             C: FOO
             S: 500 5.5.1 Command unrecognized
             C: EHLO
             S: 501 5.5.4 A domain name or address literal is required
             C: VRFY alice
             S: 252 *
             C: HELP
             S: 214 *
             C: NOOP {long}
             S: 500 5.5.2 Line too long
             C: STARTTLS
             S: 503 5.5.1 TLS is already active
             C: RSET
             S: 250 2.0.0 OK"
        ),
    );
}

#[test]
fn pipelined_commands_answered_in_order() {
    let world = World::new("");
    run(
        &world,
        r"S: 220 *
P: HELO a\r\nNOOP\r\nRSET\r\nQUIT\r\n
S: 250 *
S: 250 2.0.0 OK
S: 250 2.0.0 OK
S: 221 *
CLOSED",
    );
}

#[test]
fn error_limit_closes_with_421() {
    let world = World::new("[limits]\nmax_errors = 2\n");
    run(
        &world,
        "S: 220 *\nC: FOO\nS: 500 *\nC: BAR\nS: 500 *\nS: 421 4.7.0 Too many errors, closing connection\nCLOSED",
    );
}
