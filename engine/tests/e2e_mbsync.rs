//! mbsync (isync) against the real binary: 1,000 messages APPENDed over IMAP sync down into a local
//! Maildir, then local changes (new messages, flags, deletions) sync back up, checked over IMAP.
//! `scripts/setup-debian.sh` installs isync and python3.

mod common;

use common::Server;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const USER: &str = "gina@example.test";
const PASSWORD: &str = "gina's long pass phrase";
const COUNT: usize = 1000;

/// argv: cert, port, user, password, count. APPENDs `count` distinct messages to INBOX.
const APPEND: &str = r#"
import imaplib, ssl, sys
cert, port, user, password, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ssl.create_default_context(cafile=cert))
assert m.login(user, password)[0] == "OK"
for i in range(count):
    msg = ("From: sender@remote.example\r\nTo: %s\r\nSubject: server %d\r\n"
           "Message-ID: <server-%d@remote.example>\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n\r\n"
           "Body of message %d.\r\n" % (user, i, i, i)).encode()
    typ, data = m.append("INBOX", None, None, msg)
    assert typ == "OK", (i, typ, data)
typ, data = m.select("INBOX", readonly=True)
assert typ == "OK" and data == [str(count).encode()], data
m.logout()
print("appended", count)
"#;

/// argv: cert, port, user, password. Prints one line per INBOX message: "<flags>\t<subject>".
const LIST: &str = r#"
import imaplib, ssl, sys, re
cert, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ssl.create_default_context(cafile=cert))
assert m.login(user, password)[0] == "OK"
typ, data = m.select("INBOX", readonly=True)
assert typ == "OK", data
n = int(data[0])
if n:
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK", data
    for item in data:
        if not isinstance(item, tuple):
            continue
        flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode()
        subject = item[1].decode().strip().removeprefix("Subject: ")
        print("%s\t%s" % (" ".join(sorted(flags.split())), subject))
m.logout()
print("listed", n)
"#;

fn python(script: &str, args: &[&str], server: &Server) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("python3 is required for this test: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}\nserver log:\n{}", server.log_text());
    text
}

fn mbsync(rc: &Path, server: &Server) -> String {
    let out = Command::new("mbsync")
        .args(["-V", "-c", rc.to_str().expect("path"), "-a"])
        .output()
        .unwrap_or_else(|e| panic!("mbsync is required for this test (scripts/setup-debian.sh installs isync): {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "mbsync failed ({}):\n{text}\nserver log:\n{}", out.status, server.log_text());
    // mbsync exits 0 after some recoverable trouble (e.g. "lost track of N pushed message(s)" when
    // it cannot find the UIDs of what it uploaded); none of it is expected here.
    let trouble: Vec<&str> =
        text.lines().filter(|l| l.contains("Warning") || l.contains("Error") || l.contains("rror:")).collect();
    assert!(trouble.is_empty(), "mbsync reported trouble: {trouble:?}\n{text}");
    if std::env::var_os("MBSYNC_LOG").is_some() {
        eprintln!("{text}");
    }
    text
}

/// The files of a Maildir folder (cur and new).
fn maildir_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for sub in ["cur", "new"] {
        for entry in std::fs::read_dir(folder.join(sub)).expect("maildir") {
            files.push(entry.expect("entry").path());
        }
    }
    files.sort();
    files
}

fn subject_of(file: &Path) -> String {
    let text = std::fs::read_to_string(file).expect("read message");
    text.lines().find_map(|l| l.strip_prefix("Subject: ")).expect("subject").trim().to_string()
}

/// (flags, subject) per server INBOX message.
fn server_inbox(server: &Server) -> Vec<(String, String)> {
    let cert = server.cert_path();
    let port = server.imaps.to_string();
    let text = python(LIST, &[cert.to_str().expect("path"), &port, USER, PASSWORD], server);
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(flags, subject)| (flags.to_string(), subject.to_string()))
        .collect()
}

#[test]
fn mbsync_both_ways_with_a_thousand_messages() {
    let server = Server::start("");
    server.add_user(USER, PASSWORD);
    let cert = server.cert_path();
    let cert = cert.to_str().expect("path");
    let port = server.imaps.to_string();
    python(APPEND, &[cert, &port, USER, PASSWORD, &COUNT.to_string()], &server);

    let local = tempfile::tempdir().expect("temp dir");
    let mail = local.path().join("mail");
    std::fs::create_dir_all(&mail).expect("mail dir");
    let rc = local.path().join("mbsyncrc");
    std::fs::write(
        &rc,
        format!(
            "IMAPAccount test\nHost 127.0.0.1\nPort {port}\nUser {USER}\nPass \"{PASSWORD}\"\n\
             SSLType IMAPS\nCertificateFile {cert}\n\n\
             IMAPStore remote\nAccount test\n\n\
             MaildirStore local\nPath {mail}/\nInbox {mail}/INBOX\nSubFolders Verbatim\n\n\
             Channel sync\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\nExpunge Both\nSyncState *\n",
            mail = mail.display(),
        ),
    )
    .expect("write mbsyncrc");

    // Server to local.
    let log = mbsync(&rc, &server);
    let inbox = mail.join("INBOX");
    let files = maildir_files(&inbox);
    assert_eq!(files.len(), COUNT, "local INBOX after the first sync; mbsync said:\n{log}");
    let subjects: BTreeSet<String> = files.iter().map(|f| subject_of(f)).collect();
    assert_eq!(subjects.len(), COUNT, "distinct subjects");

    // Local changes: 5 new messages, 3 flagged (and seen), 2 seen, 4 deleted.
    for i in 0..5 {
        let name = format!("1700000000.mg{i}_{}.localhost", std::process::id());
        let text = format!(
            "From: {USER}\r\nTo: {USER}\r\nSubject: local {i}\r\nMessage-ID: <local-{i}@example.test>\r\n\
             Date: Tue, 8 Feb 1994 10:00:00 -0800\r\n\r\nWritten into the Maildir.\r\n"
        );
        std::fs::write(inbox.join("new").join(name), text).expect("write local message");
    }
    let mut flagged = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut deleted = BTreeSet::new();
    for (n, file) in files.iter().enumerate().take(9) {
        let subject = subject_of(file);
        let name = file.file_name().expect("name").to_str().expect("utf-8").to_string();
        let base = name.split(":2,").next().expect("base").to_string();
        let cur = inbox.join("cur");
        match n {
            0..=2 => {
                std::fs::rename(file, cur.join(format!("{base}:2,FS"))).expect("flag");
                flagged.insert(subject.clone());
                seen.insert(subject);
            }
            3..=4 => {
                std::fs::rename(file, cur.join(format!("{base}:2,S"))).expect("seen");
                seen.insert(subject);
            }
            _ => {
                std::fs::remove_file(file).expect("delete");
                deleted.insert(subject);
            }
        }
    }

    // Both ways.
    let log = mbsync(&rc, &server);
    let messages = server_inbox(&server);
    assert_eq!(messages.len(), COUNT + 5 - deleted.len(), "server INBOX after the second sync; mbsync said:\n{log}");
    let on_server: BTreeSet<&str> = messages.iter().map(|(_, s)| s.as_str()).collect();
    for i in 0..5 {
        assert!(on_server.contains(format!("local {i}").as_str()), "local {i} missing on the server");
    }
    for subject in &deleted {
        assert!(!on_server.contains(subject.as_str()), "{subject} deleted locally but still on the server");
    }
    let with = |flag: &str| -> BTreeSet<String> {
        messages.iter().filter(|(f, _)| f.split(' ').any(|x| x == flag)).map(|(_, s)| s.clone()).collect()
    };
    assert_eq!(with("\\Flagged"), flagged, "flagged on the server");
    assert_eq!(with("\\Seen"), seen, "seen on the server");
    assert!(with("\\Deleted").is_empty(), "expunged on the server");

    // A third run has nothing left to do, and the local side still agrees.
    mbsync(&rc, &server);
    assert_eq!(maildir_files(&inbox).len(), COUNT + 5 - deleted.len());
}
