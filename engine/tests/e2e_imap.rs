//! IMAP end to end: Python's imaplib over TLS against the real binary, through APPEND, SELECT,
//! FETCH, SEARCH, STORE, COPY, MOVE, EXPUNGE and IDLE (a second connection appends; the idling
//! one must hear `EXISTS` within a second). `.ci/run` installs python3.

mod common;

use common::{run, Server};

const USER: &str = "erin@example.test";
const PASSWORD: &str = "erin's long pass phrase";

const SCRIPT: &str = r#"
import imaplib, ssl, sys, time
cert, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=cert)

def connect():
    m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx)
    typ, _ = m.login(user, password)
    assert typ == "OK"
    return m

msg = (b"From: Bob <bob@example.test>\r\nTo: erin@example.test\r\nSubject: e2e hello\r\n"
       b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n\r\nHello from the test\r\n")
a = connect()
typ, caps = a.capability()
for cap in [b"IDLE", b"MOVE", b"UIDPLUS", b"ESEARCH", b"SPECIAL-USE"]:
    assert cap in caps[0].split(), caps

typ, data = a.append("INBOX", r"(\Flagged)", imaplib.Time2Internaldate(time.time()), msg)
assert typ == "OK" and b"[APPENDUID " in data[0] and data[0].split()[2] == b"1]", data
typ, data = a.select("INBOX")
assert typ == "OK" and data == [b"1"], (typ, data)

typ, data = a.fetch("1", "(FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[])")
assert typ == "OK", (typ, data)
head, body = data[0]
assert body == msg, body
assert b"FLAGS (\\Recent \\Flagged)" in head, head
assert b'ENVELOPE ("Mon, 7 Feb 1994 21:52:25 -0800" "e2e hello" (("Bob" NIL "bob" "example.test"))' in head, head
assert b'bodystructure ("text" "plain"' in head.lower(), head

typ, data = a.search(None, "SUBJECT", '"E2E HELLO"', "FLAGGED", "UNSEEN")
assert typ == "OK" and data == [b"1"], data
typ, data = a.search(None, "BODY", "nowhere")
assert typ == "OK" and data == [b""], data

typ, data = a.store("1", "+FLAGS", r"(\Seen $Checked)")
assert typ == "OK" and b"\\Seen" in data[0] and b"$Checked" in data[0], data
typ, data = a.copy("1", "Archive")
assert typ == "OK" and b"COPYUID" in data[0], data
typ, data = a.status("Archive", "(MESSAGES)")
assert typ == "OK" and b"MESSAGES 1" in data[0], data

typ, data = a.append("INBOX", None, None, msg)
assert typ == "OK", data
typ, data = a.noop()
assert typ == "OK"
typ, data = a.store("2", "+FLAGS", r"(\Deleted)")
assert typ == "OK", data
typ, data = a.expunge()
assert typ == "OK" and data == [b"2"], data

typ, data = a.uid("MOVE", "1", "Trash")
assert typ == "OK", (typ, data)
typ, data = a.select("Trash", readonly=True)
assert typ == "OK" and data == [b"1"], data
typ, data = a.select("INBOX")
assert typ == "OK" and data == [b"0"], data

# IDLE on a second connection; the first appends and the second must hear EXISTS within 1 s.
b = connect()
typ, data = b.select("INBOX")
assert typ == "OK" and data == [b"0"], data
tag = b._new_tag()
b.send(tag + b" IDLE\r\n")
line = b.readline()
assert line.startswith(b"+"), line
started = time.monotonic()
typ, data = a.append("INBOX", None, None, msg)
assert typ == "OK", data
b.sock.settimeout(1.0)
line = b.readline()
elapsed = time.monotonic() - started
assert line == b"* 1 EXISTS\r\n", line
assert elapsed < 1.0, elapsed
line = b.readline()
assert line in (b"* 0 RECENT\r\n", b"* 1 RECENT\r\n"), line  # whichever session claimed it first
b.send(b"DONE\r\n")
line = b.readline()
assert line == tag + b" OK IDLE terminated\r\n", line
b.sock.settimeout(None)
typ, data = b.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
assert typ == "OK" and data[0][1] == b"Subject: e2e hello\r\n\r\n", data
assert b.logout()[0] == "BYE"
assert a.logout()[0] == "BYE"
print("imap e2e ok")
"#;

#[test]
fn python_imaplib_mail_session() {
    let server = Server::start("");
    server.add_user(USER, PASSWORD);
    let cert = server.cert_path();
    let port = server.imaps.to_string();
    let (ok, text) = run("python3", &["-c", SCRIPT, cert.to_str().expect("path"), &port, USER, PASSWORD], "");
    assert!(ok && text.contains("imap e2e ok"), "{text}\nserver log:\n{}", server.log_text());
}
