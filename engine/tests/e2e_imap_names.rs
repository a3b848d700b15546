//! Mailbox names end to end: Python's imaplib (an IMAP4rev1 client that sends modified UTF-7 only
//! when the caller encodes it) creates `Über/Café`, and a session that sent `ENABLE IMAP4rev2`
//! lists it in UTF-8; a folder the rev2 session creates in UTF-8 reaches the rev1 session in
//! modified UTF-7. `.ci/run` installs python3.

mod common;

use common::{run, Server};

const USER: &str = "nora@example.test";
const PASSWORD: &str = "nora's long pass phrase";

const SCRIPT: &str = r#"
import base64, imaplib, ssl, sys
cert, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=cert)

def mutf7(name):
    out, run = [], []
    def flush():
        if run:
            b64 = base64.b64encode("".join(run).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b64.replace("/", ",") + "-")
            run.clear()
    for c in name:
        if 0x20 <= ord(c) <= 0x7e:
            flush()
            out.append("&-" if c == "&" else c)
        else:
            run.append(c)
    flush()
    return "".join(out)

def connect(rev2):
    m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx)
    assert "IMAP4REV2" in m.capabilities, m.capabilities
    assert m.login(user, password)[0] == "OK"
    if rev2:
        m._encoding = "utf-8"
        typ, _ = m._simple_command("ENABLE", "IMAP4rev2")
        assert typ == "OK" and m.untagged_responses.pop("ENABLED") == [b"IMAP4rev2"]
    return m

rev1 = connect(False)
assert rev1.create(mutf7("Über/Café"))[0] == "OK"
typ, data = rev1.list('""', "*ber*")
assert data == [b'(\\HasChildren) "/" "&ANw-ber"', b'(\\HasNoChildren) "/" "&ANw-ber/Caf&AOk-"'], data
rev1._encoding = "utf-8"  # imaplib refuses 8-bit text otherwise; the server must refuse it too
typ, data = rev1._simple_command("CREATE", '"Caf\xe9"')
assert typ == "NO" and data[0].startswith(b"[CANNOT]"), (typ, data)
rev1._encoding = "ascii"

rev2 = connect(True)
typ, data = rev2.list('""', "*ber*")
assert data == ['(\\HasChildren) "/" "Über"'.encode(), '(\\HasNoChildren) "/" "Über/Café"'.encode()], data
assert rev2._simple_command("CREATE", '"Ölmühle/Bäckerei"')[0] == "OK"
typ, data = rev2.status('"Über/Café"', "(MESSAGES DELETED)")
assert data == ['"Über/Café" (MESSAGES 0 DELETED 0)'.encode()], data

typ, data = rev1.list('""', "*hle*")
assert data == [b'(\\HasChildren) "/" "&ANY-lm&APw-hle"', b'(\\HasNoChildren) "/" "&ANY-lm&APw-hle/B&AOQ-ckerei"'], data
assert rev1.select(mutf7("Ölmühle/Bäckerei"))[0] == "OK"
assert rev2.logout()[0] == "BYE"
assert rev1.logout()[0] == "BYE"
print("names e2e ok")
"#;

#[test]
fn python_imaplib_names_across_versions() {
    let server = Server::start("");
    server.add_user(USER, PASSWORD);
    let cert = server.cert_path();
    let port = server.imaps.to_string();
    let (ok, text) = run("python3", &["-c", SCRIPT, cert.to_str().expect("path"), &port, USER, PASSWORD], "");
    assert!(ok && text.contains("names e2e ok"), "{text}\nserver log:\n{}", server.log_text());
}
