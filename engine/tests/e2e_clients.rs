//! Real clients against the real server: Python's imaplib and smtplib, curl, openssl s_client.
//! `.ci/run` installs them (python3, curl, openssl from Debian).

mod common;

use common::{run, Server};
use std::time::Duration;

const USER: &str = "dave@example.test";
const PASSWORD: &str = "dave's pass phrase";

#[test]
fn python_imaplib_and_smtplib_log_in() {
    let server = Server::start("");
    server.add_user(USER, PASSWORD);
    let script = format!(
        r#"
import imaplib, smtplib, ssl, sys
ctx = ssl.create_default_context(cafile={cert:?})
imap = imaplib.IMAP4_SSL("127.0.0.1", {imaps}, ssl_context=ctx)
assert "AUTH=PLAIN" in imap.capabilities, imap.capabilities
try:
    imap.login({user:?}, "wrong")
    sys.exit("wrong password accepted")
except imaplib.IMAP4.error as e:
    assert "AUTHENTICATIONFAILED" in str(e), e
imap.logout()
imap = imaplib.IMAP4_SSL("127.0.0.1", {imaps}, ssl_context=ctx)
typ, data = imap.login({user:?}, {password:?})
assert typ == "OK", (typ, data)
assert imap.noop()[0] == "OK"
assert imap.logout()[0] == "BYE"
smtp = smtplib.SMTP_SSL("127.0.0.1", {subs}, context=ctx)
code, _ = smtp.ehlo("client.example")
assert code == 250 and smtp.has_extn("auth"), smtp.esmtp_features
try:
    smtp.login({user:?}, "wrong")
    sys.exit("wrong password accepted")
except smtplib.SMTPAuthenticationError as e:
    assert e.smtp_code == 535, e
smtp.close()
smtp = smtplib.SMTP_SSL("127.0.0.1", {subs}, context=ctx)
smtp.ehlo("client.example")
smtp.user, smtp.password = {user:?}, {password:?}
code, _ = smtp.auth("LOGIN", smtp.auth_login)
assert code == 235, code
assert smtp.quit()[0] == 221
print("python clients ok")
"#,
        cert = server.cert_path().to_str().expect("path"),
        imaps = server.imaps,
        subs = server.submissions,
        user = USER,
        password = PASSWORD,
    );
    let (ok, out) = run("python3", &["-c", &script], "");
    assert!(ok && out.contains("python clients ok"), "{out}\nserver log:\n{}", server.log_text());
    assert!(!server.log_text().contains(PASSWORD));
}

#[test]
fn curl_logs_in_over_imaps() {
    let server = Server::start("");
    server.add_user(USER, PASSWORD);
    let cert = server.cert_path();
    let url = format!("imaps://localhost:{}/", server.imaps);
    let creds = format!("{USER}:{PASSWORD}");
    let (ok, out) =
        run("curl", &["-sS", "--cacert", cert.to_str().expect("path"), &url, "--user", &creds, "-X", "NOOP"], "");
    assert!(ok, "curl failed: {out}");
    let (ok, out) = run(
        "curl",
        &["-sS", "--cacert", cert.to_str().expect("path"), &url, "--user", &format!("{USER}:nope"), "-X", "NOOP"],
        "",
    );
    assert!(!ok && out.contains("Login denied"), "curl with a wrong password: {out}");
    let (ok, out) = run("curl", &["-sSk", &url, "--user", &creds, "-X", "NOOP"], "");
    assert!(ok, "curl -k failed: {out}");
}

#[test]
fn openssl_s_client_reads_the_greetings() {
    let server = Server::start("");
    let cert = server.cert_path();
    for (port, input, expect) in
        [(server.imaps, "a1 LOGOUT\r\n", "* OK [CAPABILITY"), (server.submissions, "QUIT\r\n", "220 localhost ESMTP")]
    {
        let connect = format!("127.0.0.1:{port}");
        let (ok, out) = run(
            "openssl",
            &[
                "s_client",
                "-connect",
                &connect,
                "-CAfile",
                cert.to_str().expect("path"),
                "-verify_return_error",
                "-quiet",
            ],
            input,
        );
        assert!(ok && out.contains(expect), "openssl s_client on {port}: {out}");
    }
}

/// An IP address sent as SNI (imaptest and many scripts do) is the client's business: it must not
/// put a line in the server's log per connection.
#[test]
fn an_ip_address_as_sni_leaves_no_log_line() {
    let server = Server::start("");
    let connect = format!("127.0.0.1:{}", server.imaps);
    for _ in 0..3 {
        let (ok, out) =
            run("openssl", &["s_client", "-connect", &connect, "-servername", "127.0.0.1", "-quiet"], "a1 LOGOUT\r\n");
        assert!(ok && out.contains("* OK [CAPABILITY"), "openssl s_client: {out}");
    }
    assert!(server.wait_for_log("connection closed", Duration::from_secs(5)));
    let log = server.log_text();
    assert!(!log.contains("SNI"), "{log}");
    assert!(!log.contains("WARN"), "{log}");
}
