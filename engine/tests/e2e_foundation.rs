//! The foundation end to end: the real binary, real TLS, real RocksDB, real sockets.

mod common;

use common::{cli, plain, write_config, Client, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const ALICE: &str = "alice@example.test";
const ALICE_PW: &str = "alice-Secret-7391";

#[test]
fn tls_greetings_and_no_greeting_in_plaintext() {
    let server = Server::start("");
    let mut imap = Client::connect(server.imaps, &server.cert_path());
    let greeting = imap.line().expect("greeting");
    assert!(greeting.starts_with("* OK [CAPABILITY IMAP4rev1 "), "{greeting}");
    let mut smtp = Client::connect(server.submissions, &server.cert_path());
    assert!(smtp.line().expect("greeting").starts_with("220 localhost ESMTP"));

    for port in [server.imaps, server.submissions] {
        let mut plain = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        plain.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        plain.write_all(b"a1 CAPABILITY\r\nEHLO x\r\n").expect("write");
        let mut got = Vec::new();
        let _ = plain.read_to_end(&mut got);
        let text = String::from_utf8_lossy(&got);
        assert!(!text.contains("OK") && !text.contains("220"), "plaintext client got a greeting: {text:?}");
    }
}

#[test]
fn accounts_from_the_cli_running_and_stopped_survive_restart() {
    let mut server = Server::start("");
    // While running: through the admin socket.
    server.add_user(ALICE, ALICE_PW);
    let (code, out, _) = server.cli(&["user", "list"], "");
    assert_eq!((code, out.trim()), (0, ALICE));

    let mut imap = Client::connect(server.imaps, &server.cert_path());
    imap.line();
    assert_eq!(
        imap.imap("a1", &format!("LOGIN {ALICE} \"{ALICE_PW}\"")),
        format!("a1 OK [CAPABILITY {} APPENDLIMIT=67108864] Logged in", engine::session::imap::CAPABILITIES_AUTH)
    );
    let mut smtp = Client::connect(server.submissions, &server.cert_path());
    smtp.line();
    smtp.smtp("EHLO client.test");
    assert_eq!(smtp.smtp(&format!("AUTH PLAIN {}", plain(ALICE, ALICE_PW))), "235 2.7.0 Authentication successful");

    let (status, took) = server.stop();
    assert!(status.success(), "exit status {status:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");

    // While stopped: the CLI opens the store itself.
    let (code, out, err) = server.cli(&["user", "add", "Bob@Example.TEST", "--password-stdin"], "bob pass\n");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "added user bob@example.test");

    server.launch();
    for (user, pass) in [(ALICE, ALICE_PW), ("BOB@example.test", "bob pass")] {
        let mut imap = Client::connect(server.imaps, &server.cert_path());
        imap.line();
        let reply = imap.imap("a1", &format!("AUTHENTICATE PLAIN {}", plain(user, pass)));
        assert!(reply.starts_with("a1 OK"), "{user}: {reply}");
    }
    let log = server.log_text();
    assert!(!log.contains(ALICE_PW) && !log.contains("bob pass"), "a password reached the log:\n{log}");
}

#[test]
fn wrong_password_and_unknown_user_fail_alike_and_are_slowed() {
    let server = Server::start("");
    server.add_user(ALICE, ALICE_PW);
    let mut imap = Client::connect(server.imaps, &server.cert_path());
    imap.line();
    let wrong = imap.imap("a1", &format!("LOGIN {ALICE} wrong-password"));
    let unknown = imap.imap("a2", "LOGIN nobody@example.test wrong-password");
    assert_eq!(wrong, "a1 NO [AUTHENTICATIONFAILED] Authentication failed");
    assert_eq!(unknown, "a2 NO [AUTHENTICATIONFAILED] Authentication failed");
    let third = imap.imap("a3", &format!("LOGIN {ALICE} wrong-again"));
    assert_eq!(third, "a3 NO [AUTHENTICATIONFAILED] Authentication failed");
    assert_eq!(imap.line().as_deref(), Some("* BYE Too many authentication failures"));
    assert_eq!(imap.line(), None, "connection closed after the limit");

    let mut smtp = Client::connect(server.submissions, &server.cert_path());
    smtp.line();
    smtp.smtp("EHLO x");
    assert_eq!(
        smtp.smtp(&format!("AUTH PLAIN {}", plain(ALICE, "nope"))),
        "535 5.7.8 Authentication credentials invalid"
    );
    assert_eq!(smtp.smtp("MAIL FROM:<alice@example.test>"), "530 5.7.0 Authentication required");
    assert!(!server.log_text().contains("wrong-password"));
}

#[test]
fn failures_are_delayed_more_each_time() {
    // Lower bounds only: the doubling delay is a minimum wait, whatever the machine's load.
    let server = Server::start("[auth]\nfailure_delay_ms = 200\nfailure_delay_max_ms = 15000\n");
    server.add_user(ALICE, ALICE_PW);
    let mut imap = Client::connect(server.imaps, &server.cert_path());
    imap.line();
    imap.imap("a1", &format!("LOGIN {ALICE} bad1"));
    let started = std::time::Instant::now();
    imap.imap("a2", &format!("LOGIN {ALICE} bad2"));
    assert!(started.elapsed() >= Duration::from_millis(400), "second failure answered after {:?}", started.elapsed());
}

#[test]
fn password_change_and_deletion_take_effect_at_once() {
    let server = Server::start("");
    server.add_user(ALICE, ALICE_PW);
    let login = |pw: &str| {
        let mut imap = Client::connect(server.imaps, &server.cert_path());
        imap.line();
        imap.imap("a1", &format!("LOGIN {ALICE} \"{pw}\""))
    };
    assert!(login(ALICE_PW).starts_with("a1 OK"));
    let (code, _, err) = server.cli(&["user", "passwd", ALICE, "--password-stdin"], "new pass 2\n");
    assert_eq!(code, 0, "{err}");
    assert!(login(ALICE_PW).starts_with("a1 NO"), "the cached old password must not work any more");
    assert!(login("new pass 2").starts_with("a1 OK"));
    let (code, _, _) = server.cli(&["user", "del", ALICE], "");
    assert_eq!(code, 0);
    assert!(login("new pass 2").starts_with("a1 NO"));
}

#[test]
fn user_add_needs_a_local_domain() {
    let server = Server::start("");
    let (code, _, err) = server.cli(&["user", "add", "carol@elsewhere.test", "--password-stdin"], "pw\n");
    assert_eq!(code, 1);
    assert!(err.contains("not a local domain") && err.contains("mailgenic domain add elsewhere.test"), "{err}");
    let (code, _, err) = server.cli(&["user", "add", "not-an-address", "--password-stdin"], "pw\n");
    assert_eq!(code, 1);
    assert!(err.contains("not a valid address"), "{err}");
}

#[test]
fn two_cores_two_pinned_threads_and_connections_on_both() {
    let server = Server::start("");
    let pid = server.pid();
    // A thread takes its name (and pins itself) once it runs, which may be just after the log
    // line the harness waits for.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut pinned = Vec::new();
    while pinned.len() < 2 && std::time::Instant::now() < deadline {
        pinned.clear();
        for entry in std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks") {
            let status = std::fs::read_to_string(entry.expect("task").path().join("status")).unwrap_or_default();
            let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string());
            let cpus = field("Cpus_allowed_list:").unwrap_or_default();
            if field("Name:").is_some_and(|n| n.starts_with("core-")) && cpus.parse::<usize>().is_ok() {
                pinned.push((field("Name:").unwrap_or_default(), cpus));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    pinned.sort();
    assert_eq!(pinned.len(), 2, "{pinned:?}");
    let online = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    for (_, cpus) in &pinned {
        assert!(cpus.parse::<usize>().is_ok(), "each core thread is pinned to one CPU: {pinned:?}");
    }
    if online >= 2 {
        assert_ne!(pinned[0].1, pinned[1].1, "core threads on distinct CPUs: {pinned:?}");
    }

    let clients: Vec<Client> = (0..24)
        .map(|_| {
            let mut c = Client::connect(server.imaps, &server.cert_path());
            c.line();
            c
        })
        .collect();
    drop(clients);
    assert!(
        server.wait_for_log("core=0", Duration::from_secs(5)) && server.wait_for_log("core=1", Duration::from_secs(5)),
        "{}",
        server.log_text()
    );
    let log = server.log_text();
    let closed: Vec<&str> = log.lines().filter(|l| l.contains("connection closed")).collect();
    assert!(closed.iter().any(|l| l.contains("core=0")) && closed.iter().any(|l| l.contains("core=1")), "{closed:#?}");
    assert!(closed.iter().all(|l| l.contains("tls=\"TLSv1.3\"") && l.contains("bytes_in=")), "{closed:#?}");
}

#[test]
fn second_server_on_the_same_data_dir_fails_clearly() {
    let server = Server::start("");
    let out = std::process::Command::new(common::BIN)
        .args(["--config", server.config.to_str().expect("path"), "serve"])
        .output()
        .expect("second serve");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already running") && err.contains(&server.pid().to_string()), "{err}");
}

#[test]
fn bad_config_exits_2_naming_file_and_key() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "[limits]\nmax_line_bytez = 5\n");
    let (code, _, err) = cli(&config, &["serve"], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(config.to_str().expect("path")) && err.contains("limits.max_line_bytez"), "{err}");
    let (code, out, _) = cli(&write_config(dir.path(), ""), &["config", "check"], "");
    assert_eq!(code, 0);
    assert!(out.contains("OK"));
}

#[test]
fn alpn_mismatch_is_refused() {
    let server = Server::start("");
    let cert = server.cert_path();
    assert!(Client::try_connect(server.imaps, common::client_config(&cert, &[b"http/1.1"])).is_err());
    assert!(Client::try_connect(server.submissions, common::client_config(&cert, &[b"imap"])).is_err());
    let mut ok =
        Client::try_connect(server.imaps, common::client_config(&cert, &[b"imap"])).expect("imap ALPN accepted");
    assert!(ok.line().expect("greeting").starts_with("* OK"));
    let mut ok =
        Client::try_connect(server.submissions, common::client_config(&cert, &[b"smtp"])).expect("smtp ALPN accepted");
    assert!(ok.line().expect("greeting").starts_with("220"));
}

#[test]
fn sighup_reloads_the_certificate_without_dropping_connections() {
    let server = Server::start("");
    let old_cert = server.dir.join("old-cert.pem");
    std::fs::copy(server.cert_path(), &old_cert).expect("copy");
    let mut before = Client::connect(server.imaps, &old_cert);
    before.line();

    let fresh = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    std::fs::write(server.dir.join("data/tls/key.pem"), fresh.key_pair.serialize_pem()).expect("key");
    std::fs::write(server.cert_path(), fresh.cert.pem()).expect("cert");
    server.signal("HUP");
    assert!(server.wait_for_log("certificate reloaded", Duration::from_secs(5)));

    assert!(
        Client::try_connect(server.imaps, common::client_config(&old_cert, &[])).is_err(),
        "old certificate still served"
    );
    let mut after = Client::connect(server.imaps, &server.cert_path());
    assert!(after.line().expect("greeting").starts_with("* OK"));
    assert_eq!(before.imap("b1", "NOOP"), "b1 OK NOOP completed", "existing connection survives the reload");
}

#[test]
fn sigterm_says_goodbye_to_idle_sessions() {
    let mut server = Server::start("");
    let mut imap = Client::connect(server.imaps, &server.cert_path());
    imap.line();
    let mut smtp = Client::connect(server.submissions, &server.cert_path());
    smtp.line();
    let (status, took) = server.stop();
    assert!(status.success());
    assert!(took < Duration::from_secs(5));
    assert_eq!(imap.line().as_deref(), Some("* BYE [UNAVAILABLE] Server shutting down"));
    assert_eq!(smtp.line().as_deref(), Some("421 4.3.2 localhost Service shutting down"));
}

#[test]
fn run_as_user_drops_root_after_binding() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let config = write_config(dir.path(), "");
    let text =
        std::fs::read_to_string(&config).expect("read").replace("cores = 2\n", "cores = 2\nrun_as_user = \"nobody\"\n");
    std::fs::write(&config, text).expect("write");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        let mut server = Server::start_in(dir.path());
        server.launch();
        let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).expect("status");
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).expect("Uid line").to_string();
        assert!(uid_line.split_whitespace().skip(1).all(|id| id == "65534"), "still root? {uid_line}");
        let mut imap = Client::connect(server.imaps, &server.cert_path());
        assert!(imap.line().expect("greeting").starts_with("* OK"));
        let (status, _) = server.stop();
        assert!(status.success());
    } else {
        let (code, _, err) = cli(&config, &["serve"], "");
        assert_ne!(code, 0);
        assert!(err.contains("cannot switch users"), "{err}");
    }
}
