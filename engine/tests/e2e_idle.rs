//! Mail in reaches an idling IMAP client: Python's imaplib idles on INBOX over TLS while smtplib
//! delivers to the same user (submission with AUTH, and the MX with STARTTLS); `* n EXISTS` must
//! arrive within one second of the `250` that accepted the message.

mod common;

use common::Server;
use std::process::Command;

const USER: &str = "frank@example.test";
const PASSWORD: &str = "frank's long pass phrase";

/// argv: cert, imaps port, user, password, mode ("submission" or "mx"), smtp port.
const SCRIPT: &str = r#"
import imaplib, smtplib, ssl, sys, time
cert, port, user, password, mode, smtp_port = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
ctx = ssl.create_default_context(cafile=cert)

m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx)
assert m.login(user, password)[0] == "OK"
typ, data = m.select("INBOX")
assert typ == "OK" and data == [b"0"], (typ, data)
tag = m._new_tag()
m.send(tag + b" IDLE\r\n")
line = m.readline()
assert line.startswith(b"+"), line

msg = ("From: someone@remote.example\r\nTo: %s\r\nSubject: idle %s\r\n\r\nWake up.\r\n" % (user, mode)).encode()
if mode == "submission":
    s = smtplib.SMTP_SSL("127.0.0.1", smtp_port, context=ctx)
    s.login(user, password)
    sender = user
else:
    s = smtplib.SMTP("127.0.0.1", smtp_port)
    s.ehlo("mta.remote.example")
    s.starttls(context=ctx)
    s.ehlo("mta.remote.example")
    sender = "someone@remote.example"
# sendmail returns after the 250 to the end of data.
refused = s.sendmail(sender, [user], msg)
accepted = time.monotonic()
assert refused == {}, refused

m.sock.settimeout(max(0.001, 1.0 - (time.monotonic() - accepted)))
lines = []
while True:
    try:
        line = m.readline()
    except (TimeoutError, OSError) as e:
        raise SystemExit("no EXISTS within 1 s of the 250 (%r); got %r" % (e, lines))
    elapsed = time.monotonic() - accepted
    assert line, ("connection closed", lines)
    lines.append(line)
    if line.endswith(b" EXISTS\r\n"):
        break
assert lines[-1] == b"* 1 EXISTS\r\n", lines
assert elapsed < 1.0, elapsed
s.quit()

m.sock.settimeout(5.0)
m.send(b"DONE\r\n")
while True:
    line = m.readline()
    if line.startswith(tag + b" "):
        break
    assert line.startswith(b"* "), line
assert line == tag + b" OK IDLE terminated\r\n", line
m.sock.settimeout(None)
typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
assert typ == "OK" and data[0][1] == ("Subject: idle %s\r\n\r\n" % mode).encode(), data
assert m.logout()[0] == "BYE"
print("idle %s ok in %.3f s" % (mode, elapsed))
"#;

fn idle_sees(mode: &str) {
    let server = Server::start("");
    server.add_user(USER, PASSWORD);
    let cert = server.cert_path();
    let smtp_port = if mode == "mx" { server.smtp } else { server.submissions };
    let out = Command::new("python3")
        .args([
            "-c",
            SCRIPT,
            cert.to_str().expect("path"),
            &server.imaps.to_string(),
            USER,
            PASSWORD,
            mode,
            &smtp_port.to_string(),
        ])
        .output()
        .unwrap_or_else(|e| panic!("python3 is required for this test (.ci/run installs it): {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && text.contains(&format!("idle {mode} ok")),
        "{text}\nserver log:\n{}",
        server.log_text()
    );
}

#[test]
fn submission_wakes_imap_idle_within_a_second() {
    idle_sees("submission");
}

#[test]
fn mx_starttls_wakes_imap_idle_within_a_second() {
    idle_sees("mx");
}
