//! `mailgenic-loadtest`: drives a mail server with many concurrent clients over the standard
//! protocols only (so the same run works against Mailgenic or any other server) and reports
//! throughput and latency percentiles.
//!
//! Scenarios (closed loop by default: every connection starts its next operation as soon as the
//! last one ends; `--rate N` makes it open loop, N operations per second on a fixed schedule, each
//! latency measured from its intended start so a slow server cannot hide its queueing):
//! - `imap-login`: TLS connect, greeting, `LOGIN`, `LOGOUT`;
//! - `smtp-auth`: TLS connect, greeting, `EHLO`, `AUTH PLAIN`, `QUIT`;
//! - `smtp-submit`: one authenticated session per connection sends many generated messages
//!   (`MAIL`/`RCPT`/`DATA`, `RSET` between); the latency is per message;
//! - `smtp-mx`: the same on the target's MX port as another MTA would (`EHLO`, `STARTTLS`, `EHLO`;
//!   `--mx-plaintext` for an MX without TLS), `--rcpts` recipients per message;
//! - `lmtp`: the same over LMTP on the target's `lmtp_socket` or `--lmtp-tcp` (`LHLO`; after the
//!   data one reply per accepted recipient, each checked);
//! - `imap-mix`: each connection logs in and runs a seeded weighted mix of `SELECT`, `FETCH`,
//!   `STORE`, `SEARCH`, `APPEND`, `EXPUNGE` and `LOGOUT` (`--mix`); one operation per command;
//! - `imap-fetch`: `LOGIN`, `SELECT INBOX`, `--fetch` (default `UID FETCH 1:* (FLAGS ENVELOPE
//!   BODYSTRUCTURE)`), `LOGOUT`, a fresh connection each time;
//! - `imap-idle`: holds `--connections` authenticated `IDLE` sessions for `--duration-secs`; with
//!   `--server-pid`/`--server-process` reports the server's memory (RSS, PSS) before and after,
//!   over the process tree, and per connection;
//! - `e2e`: submits at `--rate` (default 5/s) and measures from `MAIL FROM` until an `IDLE`
//!   session on the recipient's INBOX sees `EXISTS`.
//!
//! A run needs an explicit `--target` named in the config (no accidental load on production) and
//! is bounded by `--operations` and `--duration-secs`; one probe session per service first turns a
//! wrong target (refused connection, TLS failure, wrong password) into one clear message.
//! Messages come from the seeded generator or `--mbox`. Output: the table, `--json`, `--hdr-out`
//! (HdrHistogram percentiles), `--svg` (a percentile plot) and, on a terminal, a progress line.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod args;
mod client;
mod gen;
mod mbox;
mod procfs;
mod progress;
mod report;
mod scenarios;
mod smtp;
mod svg;

use anyhow::{bail, Context};
use args::{Args, Scenario};
use clap::Parser;
use mailgenic_config::Config;
use scenarios::{Corpus, Ctx, Endpoints};
use smtp::LmtpAddress;
use std::sync::Arc;
use std::time::Duration;

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("mailgenic-loadtest: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let config = Config::load(&args.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(target) = config.targets.get(&args.target) else {
        let known: Vec<&String> = config.targets.keys().collect();
        bail!("no target {:?} in {}; known targets: {known:?}", args.target, args.config.display());
    };
    let address = match &args.connect_to {
        Some(mapping) => {
            let (host, addr) = mapping.split_once('=').context("--connect-to wants HOST=ADDR")?;
            if host != target.host {
                bail!("--connect-to names {host:?} but the target's host is {:?}", target.host);
            }
            addr.to_string()
        }
        None => target.host.clone(),
    };
    let endpoint = |port: u16, alpn: &[u8]| -> anyhow::Result<client::Endpoint> {
        Ok(client::Endpoint {
            address: format!("{address}:{port}"),
            server_name: target.host.clone(),
            tls: client::tls_config(args.ca.as_deref(), args.insecure, alpn)?,
        })
    };
    let lmtp = match &args.lmtp_tcp {
        Some(addr) => Some(LmtpAddress::Tcp(addr.clone())),
        None if target.lmtp_socket.as_os_str().is_empty() => None,
        None => Some(LmtpAddress::Unix(target.lmtp_socket.clone())),
    };
    if args.scenario == Scenario::Lmtp && lmtp.is_none() {
        bail!("target {:?} names no lmtp_socket; give --lmtp-tcp HOST:PORT", args.target);
    }
    let endpoints = Endpoints {
        imap: endpoint(target.imaps_port, b"imap")?,
        submission: endpoint(target.submissions_port, b"smtp")?,
        mx: endpoint(target.smtp_port, b"smtp")?,
        lmtp,
    };
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    if args.rcpts == 0 {
        bail!("--rcpts must be at least 1");
    }
    if let Some(rate) = args.rate {
        if !(rate > 0.0 && rate.is_finite()) {
            bail!("--rate must be a positive number of operations per second");
        }
    }
    let mix = scenarios::mix::parse_mix(&args.mix)?;
    let corpus = match &args.mbox {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let messages = mbox::split(&bytes).with_context(|| format!("{}", path.display()))?;
            if messages.is_empty() {
                bail!("{}: no messages", path.display());
            }
            Corpus::Mbox(messages)
        }
        None => Corpus::Generated { size_kb: args.size_kb },
    };
    client::limit_io_timeout(Duration::from_secs(args.duration_secs));
    probe(&args, &endpoints)?;
    let total = match args.scenario {
        Scenario::ImapIdle => args.connections as u64,
        _ => args.operations,
    };
    let progress = Arc::new(progress::Progress::default());
    let display = progress::Display::start(&progress, total, Duration::from_secs(args.duration_secs), args.quiet);
    let ctx = Arc::new(Ctx { args, endpoints, corpus, mix, progress });
    let outcome = match ctx.args.scenario {
        Scenario::ImapIdle => scenarios::idle::run(&ctx),
        Scenario::E2e => scenarios::e2e::run(&ctx),
        _ => scenarios::pool(&ctx),
    };
    display.stop();
    let (total, started, extra) = outcome?;
    let args = &ctx.args;
    // e2e holds one IDLE session per recipient (and one submission session).
    let connections = if args.scenario == Scenario::E2e { args.user_count.max(1) as usize } else { args.connections };
    let mut summary = total.summary(args.scenario, connections, started.elapsed());
    summary.extra = extra;
    print!("{}", summary.table());
    if args.json {
        println!("{}", summary.json());
    }
    if let Some(path) = &args.hdr_out {
        std::fs::write(path, total.percentiles()).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.svg {
        let title = format!(
            "{} against {}: {} operations, {} connections",
            summary.scenario, args.target, summary.ok, summary.connections
        );
        std::fs::write(path, svg::plot(&title, &total.curves(), total.ok()))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// One session against each service the scenario uses, before the load: a wrong target fails
/// with one clear message instead of N errors.
fn probe(args: &Args, endpoints: &Endpoints) -> anyhow::Result<()> {
    let user = args.users.replace("{n}", "1");
    let uses_imap = matches!(
        args.scenario,
        Scenario::ImapLogin | Scenario::ImapFetch | Scenario::ImapMix | Scenario::ImapIdle | Scenario::E2e
    );
    if uses_imap {
        client::operation(&endpoints.imap, Scenario::ImapLogin, &user, &args.password, "")
            .context("IMAP probe against the target failed")?;
    }
    if matches!(args.scenario, Scenario::SmtpAuth | Scenario::SmtpSubmit | Scenario::E2e) {
        client::operation(&endpoints.submission, Scenario::SmtpAuth, &user, &args.password, "")
            .context("SMTP submission probe against the target failed")?;
    }
    if args.scenario == Scenario::SmtpMx {
        let what = if args.mx_plaintext {
            "SMTP MX probe failed (with --mx-plaintext: an MX that requires TLS answers MAIL with 530)"
        } else {
            "SMTP MX probe failed"
        };
        let mut s = smtp::Session::mx(&endpoints.mx, args.mx_plaintext).context(what)?;
        s.probe_sender(&args.mail_from).context(what)?;
        let _ = s.quit();
    }
    if let (Scenario::Lmtp, Some(lmtp)) = (args.scenario, &endpoints.lmtp) {
        let mut s = smtp::Session::lmtp(lmtp).context("LMTP probe failed")?;
        s.probe_sender(&args.mail_from).context("LMTP probe failed")?;
        let _ = s.quit();
    }
    Ok(())
}
