use super::*;
use std::path::Path;

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, Path::new("/etc/mailgenic/test.toml"))
}

const MINIMAL: &str = "hostname = \"mail.example.test\"\ndata_dir = \"data\"\n";

#[test]
fn minimal_file_gets_defaults_and_resolved_paths() {
    let c = load(MINIMAL).expect("minimal config loads");
    assert_eq!(c.data_dir, Path::new("/etc/mailgenic/data"));
    assert_eq!(c.listen.lmtp_socket, Path::new("/etc/mailgenic/data/lmtp.sock"));
    assert_eq!(c.listen.admin_socket, Path::new("/etc/mailgenic/data/admin.sock"));
    assert_eq!(c.listen.imaps, "127.0.0.1:10993");
    assert!(c.tls.self_signed());
    assert_eq!(c.timeouts.imap_idle_secs, 1800);
}

#[test]
fn unknown_key_names_file_and_key() {
    let e = load("hostname = \"a.test\"\ndata_dir = \"d\"\n[listen]\nimapz = \"127.0.0.1:1\"\n").unwrap_err();
    assert_eq!(e.file, Path::new("/etc/mailgenic/test.toml"));
    assert_eq!(e.key, "listen.imapz");
    assert!(e.problem.contains("unknown field"), "{e}");
    assert!(e.to_string().starts_with("/etc/mailgenic/test.toml: key `listen.imapz`: "), "{e}");
}

#[test]
fn wrong_type_names_key() {
    let e = load("hostname = \"a.test\"\ndata_dir = \"d\"\ncores = \"two\"\n").unwrap_err();
    assert_eq!(e.key, "cores");
    assert!(e.problem.contains("invalid type"), "{e}");
}

#[test]
fn bad_address_is_rejected() {
    let e = load(&format!("{MINIMAL}[listen]\nimaps = \"localhost:993\"\n")).unwrap_err();
    assert_eq!(e.key, "listen.imaps");
    assert!(e.problem.contains("not an address"), "{e}");
}

#[test]
fn port_clash_is_rejected_but_port_zero_is_not() {
    let e =
        load(&format!("{MINIMAL}[listen]\nimaps = \"127.0.0.1:2000\"\nsubmissions = \"0.0.0.0:2000\"\n")).unwrap_err();
    assert_eq!(e.key, "listen.submissions");
    load(&format!(
        "{MINIMAL}[listen]\nimaps = \"127.0.0.1:0\"\nsubmissions = \"127.0.0.1:0\"\nsmtp = \"127.0.0.1:0\"\n"
    ))
    .expect("port 0 may repeat");
}

#[test]
fn cert_without_key_is_rejected() {
    let e = load(&format!("{MINIMAL}[tls]\ncert = \"c.pem\"\n")).unwrap_err();
    assert_eq!(e.key, "tls.cert");
}

#[test]
fn short_imap_idle_timeout_is_rejected() {
    let e = load(&format!("{MINIMAL}[timeouts]\nimap_idle_secs = 60\n")).unwrap_err();
    assert_eq!(e.key, "timeouts.imap_idle_secs");
    assert!(e.problem.contains("RFC 9051"));
}

#[test]
fn zero_limit_is_rejected() {
    let e = load(&format!("{MINIMAL}[limits]\nmax_recipients = 0\n")).unwrap_err();
    assert_eq!(e.key, "limits.max_recipients");
}

#[test]
fn bad_hostname_and_syntax() {
    assert_eq!(load("hostname = \"bad host\"\ndata_dir = \"d\"\n").unwrap_err().key, "hostname");
    let e = load("hostname = \n").unwrap_err();
    assert!(e.to_string().contains("test.toml"), "{e}");
}

#[test]
fn missing_required_key_is_named() {
    let e = load("hostname = \"a.test\"\n").unwrap_err();
    assert!(e.problem.contains("data_dir"), "{e}");
}

#[test]
fn shipped_files_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dev = Config::load(&dir.join("dev.toml")).expect("dev.toml is valid");
    assert_eq!(ListenConfig::addr(&dev.listen.imaps).map(|a| a.port()), Some(10993));
    assert_eq!(dev.data_dir, dir.join("./data"));
    assert!(dev.targets.contains_key("local"));
    let norman = Config::load(&dir.join("norman.toml")).expect("norman.toml is valid");
    assert_eq!(norman.hostname, "norman.mailgenic.com");
    assert_eq!(ListenConfig::addr(&norman.listen.smtp).map(|a| a.port()), Some(25));
    assert!(norman.targets.contains_key("norman"));
}

#[test]
fn key_at_finds_table_and_key() {
    let text = "a = 1\n[t]\n# c = 2\nb = 3\n";
    assert_eq!(key_at(text, 2), "a");
    assert_eq!(key_at(text, text.len() - 2), "t.b");
}

#[test]
fn smtp_policy_defaults_and_limits() {
    let c = load(MINIMAL).expect("minimal config loads");
    assert!(c.smtp.mx_require_tls);
    assert_eq!(c.smtp.max_received_headers, 30);
    let c = load(&format!("{MINIMAL}[smtp]\nmx_require_tls = false\n")).expect("plaintext MX allowed");
    assert!(!c.smtp.mx_require_tls);
    let e = load(&format!("{MINIMAL}[smtp]\nmax_received_headers = 0\n")).unwrap_err();
    assert_eq!(e.key, "smtp.max_received_headers");
    let e = load(&format!("{MINIMAL}[limits]\nmax_message_bytes = 104857600\n")).unwrap_err();
    assert_eq!(e.key, "limits.max_message_bytes");
}

#[test]
fn lmtp_over_tcp_beyond_loopback_needs_an_allow_list() {
    let open = format!("{MINIMAL}[listen]\nlmtp_tcp = \"0.0.0.0:24\"\n");
    let e = load(&open).unwrap_err();
    assert_eq!(e.key, "listen.lmtp_tcp_allow");
    assert!(e.problem.contains("unauthenticated"), "{e}");
    let allowed = format!("{MINIMAL}[listen]\nlmtp_tcp = \"0.0.0.0:24\"\nlmtp_tcp_allow = [\"10.0.0.0/24\"]\n");
    assert!(load(&allowed).is_ok());
    let bad = format!("{MINIMAL}[listen]\nlmtp_tcp = \"0.0.0.0:24\"\nlmtp_tcp_allow = [\"10.0.0.0/40\"]\n");
    assert_eq!(load(&bad).unwrap_err().key, "listen.lmtp_tcp_allow");
    assert!(load(&format!("{MINIMAL}[listen]\nlmtp_tcp = \"127.0.0.1:24\"\n")).is_ok());
}

#[test]
fn the_mta_delivers_to_the_local_lmtp_socket_unless_told_otherwise() {
    let c = load(MINIMAL).expect("defaults");
    assert_eq!(c.smtp.lmtp_target(), LmtpTarget::Unix("/etc/mailgenic/data/lmtp.sock".into()));
    assert_eq!(c.smtp.lmtp_pool_per_core, 16);
    let relative = load(&format!("{MINIMAL}[smtp]\nlmtp_target = \"./mda/lmtp.sock\"\n")).expect("relative path");
    assert_eq!(relative.smtp.lmtp_target(), LmtpTarget::Unix("/etc/mailgenic/./mda/lmtp.sock".into()));
    let tcp = load(&format!("{MINIMAL}[smtp]\nlmtp_target = \"mda.internal:24\"\n")).expect("tcp target");
    assert_eq!(tcp.smtp.lmtp_target(), LmtpTarget::Tcp("mda.internal:24".into()));
    let e = load(&format!("{MINIMAL}[smtp]\nlmtp_target = \"mda.internal\"\n")).unwrap_err();
    assert_eq!(e.key, "smtp.lmtp_target");
}

#[test]
fn queue_retry_bounds() {
    let e = load(&format!("{MINIMAL}[queue]\nretry_min_secs = 600\nretry_max_secs = 60\n")).unwrap_err();
    assert_eq!(e.key, "queue.retry_max_secs");
    assert_eq!(load(&format!("{MINIMAL}[queue]\nscan_secs = 0\n")).unwrap_err().key, "queue.scan_secs");
    assert_eq!(
        load(&format!("{MINIMAL}[timeouts]\nlmtp_reply_secs = 0\n")).unwrap_err().key,
        "timeouts.lmtp_reply_secs"
    );
}

#[test]
fn the_recipient_cache_has_a_named_size() {
    assert_eq!(load(MINIMAL).expect("defaults").store.recipient_cache_entries, 65_536);
    let c = load(&format!("{MINIMAL}[store]\nrecipient_cache_entries = 0\n")).expect("set");
    assert_eq!(c.store.recipient_cache_entries, 0);
}

#[test]
fn the_change_log_keeps_a_named_number_of_entries() {
    assert_eq!(load(MINIMAL).expect("defaults").store.change_log_keep, 100_000);
    let c = load(&format!("{MINIMAL}[store]\nchange_log_keep = 5000\n")).expect("set");
    assert_eq!(c.store.change_log_keep, 5000);
    let e = load(&format!("{MINIMAL}[store]\nchange_log_keep = 0\n")).unwrap_err();
    assert_eq!(e.key, "store.change_log_keep");
    assert!(e.problem.contains("at least 1"), "{e}");
}
