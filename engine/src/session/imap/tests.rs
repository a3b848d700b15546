//! Transcripts of the not-authenticated state: greeting, CAPABILITY, LOGIN, AUTHENTICATE,
//! limits, pipelining and shutdown.

use super::{capabilities_auth, serve, CAPABILITIES_PREAUTH};
use crate::session::testing::{pipe, World, PASSWORD, USER};
use base64::Engine;

pub(super) fn run(world: &World, transcript: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let (mut server, mut client) = pipe();
        let ctx = world.ctx.clone();
        let session = tokio::task::spawn_local(async move { serve(&mut server, &ctx).await });
        client.replay(transcript).await;
        client.close();
        session.await.expect("session task").expect("session io");
    });
}

pub(super) fn plain(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}

#[test]
fn greeting_capability_noop_logout() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "S: * OK [CAPABILITY {CAPABILITIES_PREAUTH}] mail.example.test Mailgenic IMAP ready
         C: a1 CAPABILITY
         S: * CAPABILITY {CAPABILITIES_PREAUTH}
         S: a1 OK CAPABILITY completed
         C: a2 noop
         S: a2 OK NOOP completed
         C: a3 LOGOUT
         S: * BYE Logging out
         S: a3 OK LOGOUT completed
         CLOSED"
        ),
    );
}

#[test]
fn login_with_quoted_and_literal_arguments() {
    let world = World::new("");
    let caps = capabilities_auth(&world.ctx.config.limits);
    assert!(caps.ends_with(" MULTIAPPEND WITHIN SEARCHRES APPENDLIMIT=67108864"), "{caps}");
    run(
        &world,
        &format!(
            "S: * OK *
             C: a1 LOGIN {USER} \"{PASSWORD}\"
             S: a1 OK [CAPABILITY {caps}] Logged in
             C: a2 CAPABILITY
             S: * CAPABILITY {caps}
             S: a2 OK *
             C: a3 LOGIN {USER} x
             S: a3 BAD Already authenticated"
        ),
    );
    let n = PASSWORD.len();
    run(
        &world,
        &format!(
            "S: * OK *
             C: b1 LOGIN \"ALICE@Example.Test\" {{{n}}}
             S: + Ready for literal data
             C: {PASSWORD}
             S: b1 OK [CAPABILITY *"
        ),
    );
}

#[test]
fn wrong_password_and_unknown_user_get_the_same_answer() {
    let world = World::new("");
    run(
        &world,
        &format!(
            "S: * OK *
             C: a1 LOGIN {USER} wrong
             S: a1 NO [AUTHENTICATIONFAILED] Authentication failed
             C: a2 LOGIN nobody@example.test wrong
             S: a2 NO [AUTHENTICATIONFAILED] Authentication failed
             C: a3 LOGIN {USER} wrong
             S: a3 NO [AUTHENTICATIONFAILED] Authentication failed
             S: * BYE Too many authentication failures
             CLOSED"
        ),
    );
}

#[test]
fn authenticate_plain_with_and_without_initial_response() {
    let world = World::new("");
    let good = plain(USER, PASSWORD);
    run(&world, &format!("S: * OK *\nC: a1 AUTHENTICATE PLAIN {good}\nS: a1 OK [CAPABILITY *"));
    run(
        &world,
        &format!(
            "S: * OK *
             C: a1 AUTHENTICATE PLAIN
             S: + 
             C: {good}
             S: a1 OK [CAPABILITY *
             C: a2 NOOP
             S: a2 OK NOOP completed"
        ),
    );
    run(
        &world,
        &format!(
            "S: * OK *
             C: a1 AUTHENTICATE PLAIN
             S: + 
             C: *
             S: a1 BAD Authentication cancelled
             C: a2 AUTHENTICATE PLAIN !!!
             S: a2 BAD Invalid base64 in SASL response
             C: a3 AUTHENTICATE CRAM-MD5
             S: a3 NO Unsupported authentication mechanism
             C: a4 AUTHENTICATE PLAIN {}
             S: a4 NO [AUTHENTICATIONFAILED] Authentication failed",
            plain(USER, "nope")
        ),
    );
}

#[test]
fn bad_input_gets_bad_and_the_connection_survives() {
    let world = World::new("");
    run(
        &world,
        "S: * OK *
         C: 
         S: * BAD Missing or invalid tag
         C: a1
         S: a1 BAD Missing or invalid command name
         C: a2 SELECT INBOX
         S: a2 BAD Log in first
         C: a3 LOGIN onlyuser
         S: a3 BAD Syntax: LOGIN username password
         C: a4 NOOP
         S: a4 OK NOOP completed",
    );
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let world = World::new("");
    run(
        &world,
        r"S: * OK *
P: a NOOP\r\nb NOOP\r\nc LOGOUT\r\n
S: a OK NOOP completed
S: b OK NOOP completed
S: * BYE Logging out
S: c OK LOGOUT completed
CLOSED",
    );
}

#[test]
fn limits_close_the_connection() {
    let world = World::new("[limits]\nmax_commands_before_auth = 2\nmax_line_bytes = 600\n");
    run(&world, "S: * OK *\nC: a NOOP\nS: a OK *\nC: b NOOP\nS: b OK *\nC: c NOOP\nS: * BYE Too many commands before authentication\nCLOSED");
    let long = "x".repeat(700);
    run(
        &world,
        &format!("S: * OK *\nC: a {long}\nS: a BAD [TOOBIG] Command line too long\nC: b NOOP\nS: b OK NOOP completed"),
    );
    let world = World::new("[limits]\nmax_literal_bytes = 10\n");
    run(&world, "S: * OK *\nC: a LOGIN {11}\nS: a BAD [TOOBIG] Literal too large\nC: b NOOP\nS: b OK NOOP completed");
    run(&world, "S: * OK *\nC: a LOGIN {11+}\nS: a BAD [TOOBIG] Literal too large\nCLOSED");
    let world = World::new("[limits]\nmax_errors = 2\n");
    run(&world, "S: * OK *\nC: a FOO\nS: a BAD *\nC: b FOO\nS: b BAD *\nS: * BYE Too many errors\nCLOSED");
}

#[test]
fn literal_bytes_are_never_read_as_a_command() {
    let world = World::new("");
    // The password literal contains a line that looks like LOGOUT; it must be taken as data.
    run(&world, "S: * OK *\nC: a LOGIN x {8+}\nC: b LOGOUT\nS: a NO [AUTHENTICATIONFAILED] *\nC: c NOOP\nS: c OK NOOP completed");
}

#[test]
fn shutdown_says_bye() {
    let world = World::new("");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let (mut server, mut client) = pipe();
        let ctx = world.ctx.clone();
        let session = tokio::task::spawn_local(async move { serve(&mut server, &ctx).await });
        client.replay("S: * OK *").await;
        world.shutdown.send(true).expect("shutdown");
        client.replay("S: * BYE [UNAVAILABLE] Server shutting down\nCLOSED").await;
        session.await.expect("task").expect("io");
    });
}

#[path = "tests_mail.rs"]
mod mail;

#[path = "tests_more.rs"]
mod more;

#[path = "tests_append.rs"]
mod append;

#[path = "tests_searchres.rs"]
mod searchres;

#[path = "tests_binary.rs"]
mod binary;

#[path = "tests_rev2.rs"]
mod rev2;

#[path = "tests_qresync.rs"]
mod qresync;

#[path = "tests_list.rs"]
mod list;
