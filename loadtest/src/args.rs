//! The command line.

use clap::{Parser, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "mailgenic-loadtest", about = "Load generator for IMAP and SMTP servers")]
pub struct Args {
    /// Config file that names the targets.
    #[arg(long, default_value = "config/dev.toml")]
    pub config: PathBuf,
    /// Target name from the config's [targets] (e.g. `local`, `norman`).
    #[arg(long)]
    pub target: String,
    /// Connect to ADDR instead of resolving HOST, keeping HOST as the TLS name (HOST=ADDR).
    #[arg(long)]
    pub connect_to: Option<String>,
    /// Trust this PEM certificate (or CA) instead of the system roots.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Do not verify the server certificate (test certificates only).
    #[arg(long)]
    pub insecure: bool,
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// Concurrent connections.
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Total operations, over all connections.
    #[arg(long, default_value_t = 1000)]
    pub operations: u64,
    /// Stop after this long even if operations remain.
    #[arg(long, default_value_t = 60)]
    pub duration_secs: u64,
    /// User name pattern; `{n}` becomes 1..=user-count.
    #[arg(long, default_value = "user{n}@example.test")]
    pub users: String,
    #[arg(long, default_value_t = 1)]
    pub user_count: u64,
    /// Password of every user; read from the MAILGENIC_LOADTEST_PASSWORD environment variable if
    /// not given.
    #[arg(long, env = "MAILGENIC_LOADTEST_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Also print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the latency histogram's percentile distribution (HdrHistogram text format) here.
    #[arg(long)]
    pub hdr_out: Option<PathBuf>,
    /// Open loop: start this many operations per second (default for `e2e`: 5).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Fix the generated messages' size (KiB); default: 2-100 KiB, seeded.
    #[arg(long)]
    pub size_kb: Option<u64>,
    /// Seed of the message generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The command `imap-fetch` runs after `SELECT INBOX`.
    #[arg(long, default_value = "UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)")]
    pub fetch: String,
    /// Server process(es) whose memory `imap-idle` reports, with their descendants (comma list).
    #[arg(long, value_delimiter = ',')]
    pub server_pid: Vec<u32>,
    /// Server process name(s) (as in /proc/PID/comm, e.g. `dovecot`), with their descendants.
    #[arg(long, value_delimiter = ',')]
    pub server_process: Vec<String>,
    /// `smtp-mx`: send without STARTTLS (for an MX without TLS, like the reference peer's).
    #[arg(long)]
    pub mx_plaintext: bool,
    /// `lmtp`: connect to HOST:PORT over TCP instead of the target's `lmtp_socket`.
    #[arg(long)]
    pub lmtp_tcp: Option<String>,
    /// `smtp-submit`, `smtp-mx`, `lmtp`, `e2e`: send each transaction's RSET, MAIL, RCPTs and DATA
    /// in one write, as MTAs do with a server that offers PIPELINING (RFC 2920); without it, one
    /// command per round trip.
    #[arg(long)]
    pub pipelining: bool,
    /// `smtp-mx`, `lmtp`: recipients per message (distinct users).
    #[arg(long, default_value_t = 1)]
    pub rcpts: u64,
    /// `smtp-mx`, `lmtp`: the envelope sender.
    #[arg(long, default_value = "loadtest@example.net")]
    pub mail_from: String,
    /// `imap-mix`: command weights, e.g. `select=10,fetch=30,store=20` (unnamed commands keep their
    /// default; 0 switches one off).
    #[arg(long, default_value = "")]
    pub mix: String,
    /// Take the messages (smtp-submit, smtp-mx, lmtp, imap-mix APPEND) from this mbox file.
    #[arg(long)]
    pub mbox: Option<PathBuf>,
    /// Write an SVG latency-percentile plot here.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// No progress line on stderr (there is none either when stderr is not a terminal).
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    ImapLogin,
    SmtpAuth,
    SmtpSubmit,
    SmtpMx,
    Lmtp,
    ImapFetch,
    ImapMix,
    ImapIdle,
    E2e,
}
