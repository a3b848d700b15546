//! The schema: every key, its type, its default and its validation rule.
//!
//! Durations and sizes carry their unit in the key name (`idle_timeout_secs`, `max_line_bytes`), so
//! a file reads unambiguously without a reference at hand.

use crate::mta::{LmtpTarget, QueueConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole configuration of one Mailgenic host.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The host's own name: greetings, `Received:` headers, the self-signed certificate.
    pub hostname: String,
    /// Further names clients use for this host (CNAMEs such as `imap.mailgenic.com`); they go into
    /// a generated certificate's subjectAltName.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Where the mail store, the lock file and the sockets live.
    pub data_dir: PathBuf,
    /// Runtime threads, one pinned to each core; 0 means one per available core.
    #[serde(default)]
    pub cores: usize,
    /// Unprivileged user to run as once the listeners are bound (empty: stay who we are).
    #[serde(default)]
    pub run_as_user: String,
    #[serde(default)]
    pub tls: TlsConfig,
    #[serde(default)]
    pub listen: ListenConfig,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub timeouts: Timeouts,
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub smtp: SmtpConfig,
    #[serde(default)]
    pub queue: QueueConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub log: LogConfig,
    /// Load-test targets by name (`local`, `norman`); read by `mailgenic-loadtest` only.
    #[serde(default)]
    pub targets: BTreeMap<String, Target>,
    /// The file this was loaded from (set by the loader, not a key).
    #[serde(skip)]
    pub source: PathBuf,
}

/// The certificate and key served on every TLS port.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain. Empty (with `key` empty too): a self-signed certificate for
    /// `hostname` and `aliases` is generated into `data_dir` on first start.
    #[serde(default)]
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub key: PathBuf,
}

impl TlsConfig {
    /// Whether the server makes (and keeps) its own self-signed certificate.
    pub fn self_signed(&self) -> bool {
        self.cert.as_os_str().is_empty() && self.key.as_os_str().is_empty()
    }
}

/// Where each service listens. An empty address switches the service off; port 0 asks the kernel
/// for a free port (core 0 binds it, the other cores share the port it got).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    /// IMAP with implicit TLS (RFC 8314); 993 in production.
    #[serde(default = "default_imaps")]
    pub imaps: String,
    /// SMTP submission with implicit TLS and AUTH; 465 in production.
    #[serde(default = "default_submissions")]
    pub submissions: String,
    /// SMTP for other MTAs (the MX), STARTTLS offered; 25 in production.
    #[serde(default = "default_smtp")]
    pub smtp: String,
    /// LMTP UNIX socket (mode 0660); default `<data_dir>/lmtp.sock`.
    #[serde(default)]
    pub lmtp_socket: PathBuf,
    /// Optional LMTP over TCP (empty: off). It is plaintext and unauthenticated: loopback clients
    /// may always use it, others only from `lmtp_tcp_allow`.
    #[serde(default)]
    pub lmtp_tcp: String,
    /// Client networks (`10.0.0.0/24`, `2001:db8::/64`, single addresses) allowed to use
    /// `lmtp_tcp` besides loopback. Required when `lmtp_tcp` is bound to a non-loopback address.
    #[serde(default)]
    pub lmtp_tcp_allow: Vec<String>,
    /// Admin UNIX socket used by the CLI while the server runs (mode 0600); default
    /// `<data_dir>/admin.sock`.
    #[serde(default)]
    pub admin_socket: PathBuf,
}

fn default_imaps() -> String {
    "127.0.0.1:10993".into()
}
fn default_submissions() -> String {
    "127.0.0.1:10465".into()
}
fn default_smtp() -> String {
    "127.0.0.1:10025".into()
}

impl Default for ListenConfig {
    fn default() -> Self {
        ListenConfig {
            imaps: default_imaps(),
            submissions: default_submissions(),
            smtp: default_smtp(),
            lmtp_socket: PathBuf::new(),
            lmtp_tcp: String::new(),
            lmtp_tcp_allow: Vec::new(),
            admin_socket: PathBuf::new(),
        }
    }
}

impl ListenConfig {
    /// The parsed address of a TCP service, `None` when it is switched off. Only valid after
    /// validation (which rejects unparsable addresses).
    pub fn addr(value: &str) -> Option<SocketAddr> {
        if value.trim().is_empty() {
            None
        } else {
            value.trim().parse().ok()
        }
    }
}

/// Bounds on everything a peer can make the server hold or repeat.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Longest command line (IMAP or SMTP), CRLF included. 64 KiB, as Dovecot allows: IMAP clients
    /// send long `ID` and `UID` set lines.
    pub max_line_bytes: usize,
    /// Largest IMAP literal (APPEND data included).
    pub max_literal_bytes: u64,
    /// Largest message accepted over SMTP/LMTP/APPEND.
    pub max_message_bytes: u64,
    /// Recipients per SMTP transaction.
    pub max_recipients: usize,
    /// Commands a client may send before it authenticates.
    pub max_commands_before_auth: u32,
    /// Failed authentications on one connection before it is closed.
    pub max_auth_failures: u32,
    /// Protocol errors on one connection before it is closed.
    pub max_errors: u32,
    /// Simultaneous connections from one IP address, over all services and cores.
    pub max_connections_per_ip: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: 65536,
            max_literal_bytes: 64 << 20,
            max_message_bytes: 64 << 20,
            max_recipients: 100,
            max_commands_before_auth: 20,
            max_auth_failures: 3,
            max_errors: 10,
            max_connections_per_ip: 1000,
        }
    }
}

/// The mail store's cap on one stored message (`storage::mail::MAX_MESSAGE_BYTES`).
const MAX_STORED_MESSAGE_BYTES: u64 = 100 << 20;
/// Room kept under that cap for the trace fields written in front of each delivered copy (the
/// MTA's `Received:`, then the MDA's prefix); the MDA accepts messages this much over the limit.
pub const TRACE_ALLOWANCE_BYTES: u64 = 64 << 10;

/// Timeouts, all in seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// TLS handshake (and the STARTTLS upgrade).
    pub tls_handshake_secs: u64,
    /// IMAP before authentication.
    pub imap_preauth_secs: u64,
    /// IMAP once authenticated; RFC 9051 §5.4 asks for at least 30 minutes.
    pub imap_idle_secs: u64,
    /// SMTP waiting for a command (RFC 5321 §4.5.3.2: 5 minutes).
    pub smtp_command_secs: u64,
    /// SMTP waiting for a chunk of DATA (RFC 5321 §4.5.3.2: 3 minutes).
    pub smtp_data_secs: u64,
    /// How long in-flight commands may run after SIGTERM before the process exits.
    pub shutdown_grace_secs: u64,
    /// How long the MTA waits for each reply of the MDA's LMTP service before it queues the
    /// message for a retry.
    pub lmtp_reply_secs: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            tls_handshake_secs: 30,
            imap_preauth_secs: 60,
            imap_idle_secs: 30 * 60,
            smtp_command_secs: 5 * 60,
            smtp_data_secs: 3 * 60,
            shutdown_grace_secs: 3,
            lmtp_reply_secs: 60,
        }
    }
}

/// Password verification and the brakes on guessing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Threads verifying argon2id hashes; 0 means one per runtime core. Each holds at most one
    /// hash's memory (19 MiB at the default cost), so this bounds memory too.
    pub verify_threads: usize,
    /// Verifications that may wait for a thread; beyond it clients get a temporary failure.
    pub verify_queue: usize,
    /// How long a verified user/password pair is remembered (0: no cache).
    pub cache_ttl_secs: u64,
    /// Delay after the first failure from an address or for an account; each further failure
    /// doubles it.
    pub failure_delay_ms: u64,
    /// Cap of that doubling delay.
    pub failure_delay_max_ms: u64,
    /// Failures are forgotten after this long without a new one.
    pub failure_window_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            verify_threads: 0,
            verify_queue: 256,
            cache_ttl_secs: 300,
            failure_delay_ms: 500,
            failure_delay_max_ms: 15_000,
            failure_window_secs: 900,
        }
    }
}

/// SMTP policy (MX, submission and LMTP).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// The MX (`listen.smtp`) refuses `MAIL FROM` until STARTTLS is done (`530 5.7.0`); `false`
    /// also accepts mail in plaintext, for operators who must.
    pub mx_require_tls: bool,
    /// More `Received:` fields than this in a message means a routing loop (`554 5.4.6`);
    /// RFC 5321 §6.3 suggests at least 100 hops are rarely legitimate, common practice is 30.
    pub max_received_headers: usize,
    /// Where the MTA (submission and MX) hands local mail to the MDA: empty for this host's
    /// `listen.lmtp_socket`, a socket path (with a `/`), or `host:port` for LMTP over TCP.
    pub lmtp_target: String,
    /// Open LMTP connections each core keeps for reuse (0: a new connection per message). Each
    /// message being handed over at once needs its own: beyond this many on a core, extra ones are
    /// opened and closed again (a connect and LHLO each), which cost a tenth of submission
    /// throughput at 16 concurrent clients with 4.
    pub lmtp_pool_per_core: usize,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            mx_require_tls: true,
            max_received_headers: 30,
            lmtp_target: String::new(),
            lmtp_pool_per_core: 16,
        }
    }
}

impl SmtpConfig {
    /// Where local mail goes; only valid after path resolution (which fills in the default).
    pub fn lmtp_target(&self) -> LmtpTarget {
        LmtpTarget::parse(&self.lmtp_target)
    }
}

/// The mail store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Change log entries kept per account (one per append, flag change or expunge; a few dozen
    /// bytes each). IMAP sessions and QRESYNC clients that come back from an older MODSEQ are
    /// answered by comparing UIDs instead, so this bounds disk use, not what clients can do.
    pub change_log_keep: u64,
    /// Compress message bodies on disk (LZ4): less disk, more CPU on every read of a body.
    pub compress_bodies: bool,
    /// Recipient lookups (`RCPT TO`) remembered in memory, 100-400 bytes each (at most about
    /// 25 MiB at the default); 0 looks every recipient up in the store.
    pub recipient_cache_entries: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { change_log_keep: 100_000, compress_bodies: false, recipient_cache_entries: 65_536 }
    }
}

/// Logging.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `tracing` filter, e.g. `info` or `engine=debug,info`; `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: "info".into() }
    }
}

/// A host the load tester may aim at.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Name used for TLS (SNI and certificate check) and, unless overridden, for connecting.
    pub host: String,
    pub imaps_port: u16,
    pub submissions_port: u16,
    pub smtp_port: u16,
    /// LMTP socket on the target host, when the load tester runs there.
    #[serde(default)]
    pub lmtp_socket: PathBuf,
}

impl Config {
    /// Number of runtime threads to start.
    pub fn core_count(&self) -> usize {
        if self.cores == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        } else {
            self.cores
        }
    }

    /// The path of the server's lock file, which makes a second server on the same store fail.
    pub fn lock_path(&self) -> PathBuf {
        self.data_dir.join("mailgenic.lock")
    }

    /// The directory RocksDB lives in.
    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("store")
    }

    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if !p.as_os_str().is_empty() && p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut self.data_dir);
        resolve(&mut self.tls.cert);
        resolve(&mut self.tls.key);
        resolve(&mut self.listen.lmtp_socket);
        resolve(&mut self.listen.admin_socket);
        if self.listen.lmtp_socket.as_os_str().is_empty() {
            self.listen.lmtp_socket = self.data_dir.join("lmtp.sock");
        }
        if self.smtp.lmtp_target.trim().is_empty() {
            self.smtp.lmtp_target = self.listen.lmtp_socket.to_string_lossy().into_owned();
        } else if let LmtpTarget::Unix(mut path) = self.smtp.lmtp_target() {
            resolve(&mut path);
            self.smtp.lmtp_target = path.to_string_lossy().into_owned();
        }
        if self.listen.admin_socket.as_os_str().is_empty() {
            self.listen.admin_socket = self.data_dir.join("admin.sock");
        }
        for target in self.targets.values_mut() {
            resolve(&mut target.lmtp_socket);
        }
    }

    /// Checks what the types cannot. Returns the offending key and the problem.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !valid_hostname(&self.hostname) {
            return Err(("hostname", format!("{:?} is not a valid host name", self.hostname)));
        }
        for alias in &self.aliases {
            if !valid_hostname(alias) {
                return Err(("aliases", format!("{alias:?} is not a valid host name")));
            }
        }
        if self.data_dir.as_os_str().is_empty() {
            return Err(("data_dir", "must not be empty".into()));
        }
        if self.store.change_log_keep == 0 {
            return Err(("store.change_log_keep", "must be at least 1".into()));
        }
        let available = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        if self.cores > available.max(1) * 4 {
            return Err(("cores", format!("{} is more than 4 threads per available core ({available})", self.cores)));
        }
        if self.tls.cert.as_os_str().is_empty() != self.tls.key.as_os_str().is_empty() {
            return Err((
                "tls.cert",
                "`tls.cert` and `tls.key` go together: set both, or neither for a self-signed certificate".into(),
            ));
        }
        let mut seen: Vec<(&'static str, SocketAddr)> = Vec::new();
        for (key, value) in [
            ("listen.imaps", &self.listen.imaps),
            ("listen.submissions", &self.listen.submissions),
            ("listen.smtp", &self.listen.smtp),
            ("listen.lmtp_tcp", &self.listen.lmtp_tcp),
        ] {
            if value.trim().is_empty() {
                continue;
            }
            let addr: SocketAddr = value
                .trim()
                .parse()
                .map_err(|_| (key, format!("{value:?} is not an address such as 127.0.0.1:993 or [::1]:993")))?;
            if addr.port() != 0 {
                if let Some((other, _)) = seen.iter().find(|(_, a)| {
                    a.port() == addr.port()
                        && (a.ip() == addr.ip() || a.ip().is_unspecified() || addr.ip().is_unspecified())
                }) {
                    return Err((key, format!("{addr} is also used by `{other}`")));
                }
            }
            seen.push((key, addr));
        }
        if let Some(addr) = ListenConfig::addr(&self.listen.lmtp_tcp) {
            if let Some(bad) = self.listen.lmtp_tcp_allow.iter().find(|n| crate::mta::Network::parse(n).is_none()) {
                return Err((
                    "listen.lmtp_tcp_allow",
                    format!("{bad:?} is not a network such as 10.0.0.0/24 or an address"),
                ));
            }
            if !addr.ip().is_loopback() && self.listen.lmtp_tcp_allow.is_empty() {
                return Err((
                    "listen.lmtp_tcp_allow",
                    format!(
                        "LMTP over TCP on {addr} is unauthenticated: name the client networks allowed to use it \
                         (e.g. [\"10.0.0.0/24\"]), or bind it to loopback"
                    ),
                ));
            }
        }
        if self.listen.lmtp_socket == self.listen.admin_socket {
            return Err(("listen.admin_socket", "must differ from `listen.lmtp_socket`".into()));
        }
        let l = &self.limits;
        for (key, value) in [
            ("limits.max_line_bytes", l.max_line_bytes as u64),
            ("limits.max_literal_bytes", l.max_literal_bytes),
            ("limits.max_message_bytes", l.max_message_bytes),
            ("limits.max_recipients", l.max_recipients as u64),
            ("limits.max_commands_before_auth", u64::from(l.max_commands_before_auth)),
            ("limits.max_auth_failures", u64::from(l.max_auth_failures)),
            ("limits.max_errors", u64::from(l.max_errors)),
            ("limits.max_connections_per_ip", u64::from(l.max_connections_per_ip)),
        ] {
            if value == 0 {
                return Err((key, "must be at least 1".into()));
            }
        }
        if l.max_line_bytes < 512 {
            return Err((
                "limits.max_line_bytes",
                "must be at least 512 (RFC 5321 §4.5.3.1.4 needs 512 for a command line)".into(),
            ));
        }
        if l.max_message_bytes > MAX_STORED_MESSAGE_BYTES - TRACE_ALLOWANCE_BYTES {
            return Err((
                "limits.max_message_bytes",
                format!(
                    "must be at most {} bytes: the store keeps messages of up to 100 MiB, trace fields included",
                    MAX_STORED_MESSAGE_BYTES - TRACE_ALLOWANCE_BYTES
                ),
            ));
        }
        if self.smtp.max_received_headers == 0 {
            return Err(("smtp.max_received_headers", "must be at least 1".into()));
        }
        if let LmtpTarget::Tcp(addr) = self.smtp.lmtp_target() {
            if addr.rsplit_once(':').is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err()) {
                return Err((
                    "smtp.lmtp_target",
                    format!("{addr:?} is neither a socket path (with a `/`) nor host:port"),
                ));
            }
        }
        self.queue.validate()?;
        let t = &self.timeouts;
        for (key, value) in [
            ("timeouts.tls_handshake_secs", t.tls_handshake_secs),
            ("timeouts.imap_preauth_secs", t.imap_preauth_secs),
            ("timeouts.imap_idle_secs", t.imap_idle_secs),
            ("timeouts.smtp_command_secs", t.smtp_command_secs),
            ("timeouts.smtp_data_secs", t.smtp_data_secs),
            ("timeouts.lmtp_reply_secs", t.lmtp_reply_secs),
        ] {
            if value == 0 {
                return Err((key, "must be at least 1 second".into()));
            }
        }
        if t.imap_idle_secs < 30 * 60 {
            return Err((
                "timeouts.imap_idle_secs",
                "must be at least 1800: RFC 9051 §5.4 requires an autologout timer of at least 30 minutes".into(),
            ));
        }
        let a = &self.auth;
        if a.verify_queue == 0 {
            return Err(("auth.verify_queue", "must be at least 1".into()));
        }
        if a.failure_delay_max_ms < a.failure_delay_ms {
            return Err(("auth.failure_delay_max_ms", "must not be below `auth.failure_delay_ms`".into()));
        }
        for (name, target) in &self.targets {
            if !valid_hostname(&target.host) && target.host.parse::<std::net::IpAddr>().is_err() {
                return Err(("targets", format!("target `{name}`: {:?} is not a host name", target.host)));
            }
        }
        Ok(())
    }
}

/// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 1-63 bytes each,
/// at most 253 bytes in all.
pub fn valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}
