//! Large client writes over TLS: a message or literal far bigger than rustls's plaintext buffer,
//! sent in one write, must arrive whole (the TLS layer feeds rustls only as fast as the session
//! reads).

mod common;

use common::{plain, Client, Server};

const USER: &str = "erin@example.test";
const PASSWORD: &str = "erin pass";

fn body(kib: usize) -> String {
    let mut text = String::from("From: erin@example.test\r\nTo: erin@example.test\r\nSubject: large\r\n\r\n");
    let mut n = 0;
    while text.len() < kib * 1024 {
        text.push_str(&format!("line {n:06} of a large message body, with enough text to fill it up\r\n"));
        n += 1;
    }
    text
}

#[test]
fn large_submission_in_one_write_is_accepted() {
    let server = Server::start("");
    server.add_user(USER, PASSWORD);
    let mut smtp = Client::connect(server.submissions, &server.cert_path());
    smtp.line();
    smtp.smtp("EHLO client.test");
    assert!(smtp.smtp(&format!("AUTH PLAIN {}", plain(USER, PASSWORD))).starts_with("235"));
    let message = body(600);
    let mut transaction = format!("MAIL FROM:<{USER}>\r\nRCPT TO:<{USER}>\r\nDATA\r\n");
    transaction.push_str(&message);
    transaction.push_str(".\r\n");
    smtp.send(&transaction);
    let replies: Vec<String> = (0..4).map(|_| smtp.line().expect("reply")).collect();
    assert!(
        replies[0].starts_with("250") && replies[1].starts_with("250") && replies[2].starts_with("354"),
        "{replies:?}"
    );
    assert!(replies[3].starts_with("250 2.0.0"), "{replies:?}\n{}", server.log_text());
    let (code, stored, _) = server.cli(&["message", "show", USER, "INBOX", "1"], "");
    assert_eq!(code, 0);
    assert!(stored.ends_with(&message), "stored message differs from the submitted one");
}

#[test]
fn large_imap_literal_in_one_write_is_accepted() {
    let server = Server::start("");
    server.add_user(USER, PASSWORD);
    let mut imap = Client::connect(server.imaps, &server.cert_path());
    imap.line();
    assert!(imap.imap("a1", &format!("LOGIN {USER} \"{PASSWORD}\"")).starts_with("a1 OK"));
    let message = body(1024);
    imap.send(&format!("a2 APPEND INBOX {{{}+}}\r\n{message}\r\n", message.len()));
    let reply = imap.until("a2 ").pop().expect("tagged reply");
    assert!(reply.starts_with("a2 OK [APPENDUID"), "{reply}\n{}", server.log_text());
}

#[test]
fn multiappend_of_large_messages_and_a_refused_literal_over_tls() {
    let server = Server::start("[limits]\nmax_literal_bytes = 1048576\n");
    server.add_user(USER, PASSWORD);
    let mut imap = Client::connect(server.imaps, &server.cert_path());
    imap.line();
    let login = imap.imap("a1", &format!("LOGIN {USER} \"{PASSWORD}\""));
    assert!(login.contains(" MULTIAPPEND ") && login.contains(" APPENDLIMIT=1048576]"), "{login}");
    // Two messages in one APPEND and one write: both or neither.
    let (first, second) = (body(600), body(700));
    imap.send(&format!(
        "a2 APPEND INBOX (\\Seen) {{{}+}}\r\n{first} {{{}+}}\r\n{second}\r\n",
        first.len(),
        second.len()
    ));
    let reply = imap.until("a2 ").pop().expect("tagged reply");
    assert!(reply.starts_with("a2 OK [APPENDUID ") && reply.contains(" 1:2] "), "{reply}\n{}", server.log_text());
    // Above APPENDLIMIT, non-synchronising: refused, its bytes (command-like lines) and the rest
    // of the command dropped, and the connection goes on.
    let refused = "a9 LOGOUT\r\n".repeat(200_000);
    imap.send(&format!("a3 APPEND INBOX {{3+}}\r\nabc {{{}+}}\r\n{refused} {{3+}}\r\nxyz\r\n", refused.len()));
    assert_eq!(imap.until("a3 ").pop().expect("tagged reply"), "a3 NO [TOOBIG] Message too large");
    assert_eq!(imap.imap("a4", "STATUS INBOX (MESSAGES APPENDLIMIT)"), "a4 OK STATUS completed");
    let (code, listed, _) = server.cli(&["message", "list", USER], "");
    assert_eq!((code, listed.lines().count()), (0, 2), "{listed}");
}
