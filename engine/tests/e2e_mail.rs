//! Mail in, end to end: real clients (Python's smtplib, swaks) submit and deliver to the real
//! binary, and the operator CLI reads the result back.

mod common;

use common::{run, Server};
use std::process::{Command, Stdio};

const ALICE: &str = "alice@example.test";
const BOB: &str = "bob@example.test";
const PASSWORD: &str = "alice's pass phrase";

fn server_with_users() -> Server {
    let server = Server::start("");
    server.add_user(ALICE, PASSWORD);
    server.add_user(BOB, "bob's pass phrase");
    server
}

/// Checks that `stored` is the MDA's trace prefix (Return-Path, Delivered-To, a three-line
/// Received naming LMTP), then, for mail that came through the MTA, the MTA's own three-line
/// Received naming `protocol`, followed by exactly `body`.
fn assert_copy(stored: &str, sender: &str, recipient: &str, protocol: &str, body: &str) {
    assert!(stored.ends_with(body), "stored copy does not end with the body:\n{stored}");
    let prefix = &stored[..stored.len() - body.len()];
    let lines: Vec<&str> = prefix.split_inclusive("\r\n").collect();
    let expected = if protocol == "LMTP" { 5 } else { 8 };
    assert_eq!(lines.len(), expected, "prefix: {prefix:?}");
    assert_eq!(lines[0], format!("Return-Path: <{sender}>\r\n"));
    assert_eq!(lines[1], format!("Delivered-To: {recipient}\r\n"));
    assert!(lines[2].starts_with("Received: from "), "{prefix}");
    assert!(lines[3].contains("by localhost with LMTP"), "{prefix}");
    if protocol != "LMTP" {
        assert!(lines[5].starts_with("Received: from "), "{prefix}");
        assert!(lines[6].contains(&format!("by localhost with {protocol}")), "{prefix}");
    }
}

#[test]
fn python_submission_to_two_local_users_and_one_remote() {
    let server = server_with_users();
    let body = "From: alice@example.test\r\nSubject: e2e\r\n\r\nHello.\r\n.leading dot\r\n";
    let script = format!(
        r#"
import smtplib, ssl
ctx = ssl.create_default_context(cafile={cert:?})
smtp = smtplib.SMTP_SSL("127.0.0.1", {subs}, context=ctx)
smtp.ehlo("client.example")
for ext in ("pipelining", "size", "8bitmime", "smtputf8", "chunking", "enhancedstatuscodes"):
    assert smtp.has_extn(ext), (ext, smtp.esmtp_features)
smtp.login({alice:?}, {password:?})
refused = smtp.sendmail({alice:?}, [{alice:?}, {bob:?}, "carol@remote.example"], {body:?}.encode())
assert refused == {{}}, refused
try:
    smtp.sendmail("mallory@example.test", [{bob:?}], b"Subject: x\r\n\r\nx\r\n")
    raise SystemExit("forged sender accepted")
except smtplib.SMTPSenderRefused as e:
    assert e.smtp_code == 553, e
smtp.quit()
print("submitted")
"#,
        cert = server.cert_path().to_str().expect("path"),
        subs = server.submissions,
        alice = ALICE,
        bob = BOB,
        password = PASSWORD,
    );
    let (ok, out) = run("python3", &["-c", &script], "");
    assert!(ok && out.contains("submitted"), "{out}\nserver log:\n{}", server.log_text());
    for user in [ALICE, BOB] {
        let (code, stored, err) = server.cli(&["message", "show", user, "INBOX", "1"], "");
        assert_eq!(code, 0, "{err}");
        assert_copy(&stored, ALICE, user, "ESMTPSA (TLSv1.3 ", body);
        let (code, list, err) = server.cli(&["message", "list", user], "");
        assert_eq!(code, 0, "{err}");
        assert_eq!(list.lines().count(), 1, "{list}");
    }
    let (code, queue, err) = server.cli(&["queue", "list"], "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(queue.lines().count(), 1, "{queue}");
    assert!(queue.contains("from <alice@example.test> to <carol@remote.example>"), "{queue}");
    let id = queue.split_whitespace().next().expect("id");
    let (code, shown, err) = server.cli(&["queue", "show", id], "");
    assert_eq!(code, 0, "{err}");
    assert!(shown.contains("Subject: e2e"), "{shown}");
    let (code, mailboxes, err) = server.cli(&["mailbox", "list", BOB], "");
    assert_eq!(code, 0, "{err}");
    assert!(mailboxes.lines().any(|l| l.starts_with("INBOX messages 1 ")), "{mailboxes}");
    let (code, _, err) = server.cli(&["queue", "delete", id], "");
    assert_eq!(code, 0, "{err}");
    let (_, queue, _) = server.cli(&["queue", "list"], "");
    assert!(queue.trim().is_empty(), "{queue}");
}

#[test]
fn swaks_submission_without_auth_is_refused() {
    let server = server_with_users();
    let server_addr = format!("127.0.0.1:{}", server.submissions);
    let (ok, out) = run(
        "swaks",
        &["--server", &server_addr, "--tlsc", "--from", ALICE, "--to", BOB, "--helo", "client.example"],
        "",
    );
    assert!(!ok, "{out}");
    assert!(out.contains("530 5.7.0"), "{out}");
    let (ok, out) = run(
        "swaks",
        &[
            "--server",
            &server_addr,
            "--tlsc",
            "--auth",
            "PLAIN",
            "--auth-user",
            ALICE,
            "--auth-password",
            PASSWORD,
            "--from",
            ALICE,
            "--to",
            BOB,
            "--helo",
            "client.example",
        ],
        "",
    );
    assert!(ok && out.contains("250 2.0.0 Message accepted"), "{out}");
}

#[test]
fn python_lmtp_answers_each_recipient() {
    let server = server_with_users();
    let body = "Subject: via lmtp\r\n\r\nHi.\r\n";
    let script = format!(
        r#"
import smtplib
lmtp = smtplib.LMTP({socket:?})
code, _ = lmtp.ehlo("mta.example.test")
assert code == 250, code
assert lmtp.mail("sender@remote.example")[0] == 250
codes = [lmtp.rcpt(r)[0] for r in ({alice:?}, "nobody@example.test", {bob:?})]
assert codes == [250, 550, 250], codes
# Python's LMTP.data reads one reply; RFC 2033 sends one per accepted recipient.
code, msg = lmtp.data({body:?}.encode())
assert code == 250, (code, msg)
code, msg = lmtp.getreply()
assert code == 250, (code, msg)
assert b"bob@example.test" in msg, msg
lmtp.quit()
print("lmtp ok")
"#,
        socket = server.lmtp_socket().to_str().expect("path"),
        alice = ALICE,
        bob = BOB,
    );
    let (ok, out) = run("python3", &["-c", &script], "");
    assert!(ok && out.contains("lmtp ok"), "{out}\nserver log:\n{}", server.log_text());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(server.lmtp_socket()).expect("socket").permissions().mode();
    assert_eq!(mode & 0o777, 0o660, "LMTP socket mode {mode:o}");
    for user in [ALICE, BOB] {
        let (code, stored, err) = server.cli(&["message", "show", user, "INBOX", "1"], "");
        assert_eq!(code, 0, "{err}");
        assert_copy(&stored, "sender@remote.example", user, "LMTP", body);
    }
}

#[test]
fn swaks_mx_with_starttls_no_plaintext_no_relay() {
    let server = server_with_users();
    let mx = format!("127.0.0.1:{}", server.smtp);
    let base = ["--server", &mx, "--from", "sender@remote.example", "--helo", "mta.remote.example"];
    let (ok, out) = run("swaks", &[&base[..], &["--tls", "--to", ALICE]].concat(), "");
    assert!(ok && out.contains("250 2.0.0 Message accepted"), "{out}\nserver log:\n{}", server.log_text());
    let (code, stored, err) = server.cli(&["message", "show", ALICE, "INBOX", "1"], "");
    assert_eq!(code, 0, "{err}");
    assert!(stored.contains("by localhost with ESMTPS (TLSv1."), "{stored}");
    let (ok, out) = run("swaks", &[&base[..], &["--to", ALICE]].concat(), "");
    assert!(!ok && out.contains("530 5.7.0 Must issue a STARTTLS command first"), "{out}");
    let (ok, out) = run("swaks", &[&base[..], &["--tls", "--to", "victim@remote.example"]].concat(), "");
    assert!(!ok && out.contains("550 5.7.1 Relaying denied"), "{out}");
    let (ok, out) = run("swaks", &[&base[..], &["--tls", "--to", "nobody@example.test"]].concat(), "");
    assert!(!ok && out.contains("550 5.1.1"), "{out}");
    let (_, list, _) = server.cli(&["message", "list", ALICE], "");
    assert_eq!(list.lines().count(), 1, "{list}");
}

/// The durability contract: every message that got its `250` is there after a SIGKILL. Two
/// clients submit in a loop (so group commits are shared); the server is killed mid-stream.
#[test]
fn every_acknowledged_message_survives_sigkill() {
    use std::io::{BufRead, BufReader};
    let mut server = server_with_users();
    let script = |client: &str| {
        format!(
            r#"
import smtplib, ssl
ctx = ssl.create_default_context(cafile={cert:?})
smtp = smtplib.SMTP_SSL("127.0.0.1", {subs}, context=ctx)
smtp.login({alice:?}, {password:?})
i = 0
while True:
    try:
        smtp.sendmail({alice:?}, [{bob:?}], ("Subject: {client}-%d\r\n\r\nbody\r\n" % i).encode())
    except Exception:
        break
    print("{client}-%d" % i, flush=True)
    i += 1
"#,
            cert = server.cert_path().to_str().expect("path"),
            subs = server.submissions,
            alice = ALICE,
            bob = BOB,
            password = PASSWORD,
        )
    };
    let mut clients: Vec<_> = ["a", "b"]
        .iter()
        .map(|name| {
            Command::new("python3")
                .args(["-c", &script(name)])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("python3")
        })
        .collect();
    let mut readers: Vec<_> =
        clients.iter_mut().map(|c| BufReader::new(c.stdout.take().expect("stdout")).lines()).collect();
    let mut acked: Vec<String> = Vec::new();
    // Let some messages through on the first client, then kill the server mid-stream.
    while acked.len() < 25 {
        match readers[0].next() {
            Some(Ok(line)) => acked.push(line),
            _ => panic!("the submitting client stopped early; server log:\n{}", server.log_text()),
        }
    }
    let mut child = server.child.take().expect("running");
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    for (reader, client) in readers.iter_mut().zip(clients.iter_mut()) {
        acked.extend(reader.map_while(Result::ok));
        client.wait().expect("client exit");
    }
    server.launch();
    let (code, list, err) = server.cli(&["message", "list", BOB], "");
    assert_eq!(code, 0, "{err}");
    let mut subjects = Vec::new();
    for uid in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let (code, stored, err) = server.cli(&["message", "show", BOB, "INBOX", uid], "");
        assert_eq!(code, 0, "{err}");
        let subject = stored.lines().find_map(|l| l.strip_prefix("Subject: ")).expect("subject").to_string();
        subjects.push(subject);
    }
    for message in &acked {
        assert!(subjects.contains(message), "{message} got a 250 but is gone after SIGKILL");
    }
    assert!(subjects.len() >= acked.len());
}

#[test]
fn python_lmtp_over_tcp() {
    let server = server_with_users();
    let script = format!(
        r#"
import smtplib
lmtp = smtplib.LMTP("127.0.0.1", {port})
assert lmtp.ehlo("mta.example.test")[0] == 250
assert not lmtp.has_extn("starttls")
refused = lmtp.sendmail("", [{bob:?}], b"Subject: tcp\r\n\r\nhi\r\n")
assert refused == {{}}, refused
lmtp.quit()
print("lmtp tcp ok")
"#,
        port = server.lmtp_tcp,
        bob = BOB,
    );
    let (ok, out) = run("python3", &["-c", &script], "");
    assert!(ok && out.contains("lmtp tcp ok"), "{out}\nserver log:\n{}", server.log_text());
    let (code, stored, err) = server.cli(&["message", "show", BOB, "INBOX", "1"], "");
    assert_eq!(code, 0, "{err}");
    assert_copy(&stored, "", BOB, "LMTP", "Subject: tcp\r\n\r\nhi\r\n");
    assert!(stored.contains("(127.0.0.1)"), "{stored}");
}

/// STARTTLS command injection (CVE-2011-0411 style): a command pipelined in plaintext after
/// STARTTLS must never run inside the TLS session. Either the server drops it (the NOOP is then
/// the first thing answered under TLS) or the handshake fails; the injected command's reply must
/// never appear.
#[test]
fn plaintext_pipelined_after_starttls_never_runs() {
    let server = server_with_users();
    let script = format!(
        r#"
import socket, ssl
s = socket.create_connection(("127.0.0.1", {port}))
f = s.makefile("rb")
assert f.readline().startswith(b"220 ")
s.sendall(b"EHLO mta.remote.example\r\n")
while not f.readline().startswith(b"250 "):
    pass
s.sendall(b"STARTTLS\r\nMAIL FROM:<inject@remote.example>\r\n")
assert f.readline().startswith(b"220 2.0.0"), "no 220 to STARTTLS"
ctx = ssl.create_default_context(cafile={cert:?})
try:
    t = ctx.wrap_socket(s, server_hostname="localhost")
except (ssl.SSLError, OSError):
    print("handshake refused: safe")
    raise SystemExit(0)
tf = t.makefile("rb")
t.sendall(b"NOOP\r\n")
line = tf.readline()
assert line.startswith(b"250 2.0.0"), line
t.sendall(b"QUIT\r\n")
print("injection dropped: safe")
"#,
        port = server.smtp,
        cert = server.cert_path().to_str().expect("path"),
    );
    let (ok, out) = run("python3", &["-c", &script], "");
    assert!(ok && out.contains("safe"), "{out}\nserver log:\n{}", server.log_text());
    eprintln!("{}", out.trim());
}

#[test]
fn swaks_mx_pipelining_over_starttls() {
    let server = server_with_users();
    let mx = format!("127.0.0.1:{}", server.smtp);
    let (ok, out) = run(
        "swaks",
        &["--server", &mx, "--tls", "--pipeline", "--from", "s@remote.example", "--to", &format!("{ALICE},{BOB}")],
        "",
    );
    assert!(ok && out.contains("250 2.0.0 Message accepted"), "{out}");
    for user in [ALICE, BOB] {
        let (_, list, _) = server.cli(&["message", "list", user], "");
        assert_eq!(list.lines().count(), 1, "{user}: {list}");
    }
}

#[test]
fn mail_for_an_unreachable_mda_waits_in_the_queue_and_is_delivered_once_it_answers() {
    let retry = "[queue]\nscan_secs = 1\nretry_min_secs = 1\n";
    let mut server = Server::start(&format!("[smtp]\nlmtp_target = \"./nowhere/lmtp.sock\"\n{retry}"));
    server.add_user(ALICE, PASSWORD);
    server.add_user(BOB, "bob's pass phrase");
    let script = format!(
        r#"
import smtplib, ssl
ctx = ssl.create_default_context(cafile={cert:?})
smtp = smtplib.SMTP_SSL("127.0.0.1", {subs}, context=ctx)
smtp.login({alice:?}, {password:?})
assert smtp.sendmail({alice:?}, [{bob:?}], b"Subject: waited\r\n\r\nbody\r\n") == {{}}
smtp.quit()
print("accepted")
"#,
        cert = server.cert_path().to_str().expect("path"),
        subs = server.submissions,
        alice = ALICE,
        bob = BOB,
        password = PASSWORD,
    );
    let (ok, out) = run("python3", &["-c", &script], "");
    assert!(ok && out.contains("accepted"), "{out}\nserver log:\n{}", server.log_text());
    let (_, queue, _) = server.cli(&["queue", "list"], "");
    assert!(queue.contains(" local from <alice@example.test> to <bob@example.test>"), "{queue}");
    let id = queue.split_whitespace().next().expect("id").to_string();
    let (_, shown, _) = server.cli(&["queue", "show", &id], "");
    assert!(shown.contains("last error: cannot reach the MDA"), "{shown}");
    assert_eq!(server.cli(&["message", "list", BOB], "").1.lines().count(), 0);
    // The MTA is pointed at the MDA again: the queue runner delivers the waiting copy.
    let (status, _) = server.stop();
    assert!(status.success());
    common::write_config(&server.dir, retry);
    server.launch();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while server.cli(&["queue", "list"], "").1.lines().count() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (_, queue, _) = server.cli(&["queue", "list"], "");
    assert!(queue.trim().is_empty(), "still queued: {queue}\n{}", server.log_text());
    let (code, stored, err) = server.cli(&["message", "show", BOB, "INBOX", "1"], "");
    assert_eq!(code, 0, "{err}");
    assert!(stored.ends_with("Subject: waited\r\n\r\nbody\r\n"), "{stored}");
    assert_eq!(server.cli(&["message", "list", BOB], "").1.lines().count(), 1, "exactly one copy");
}
