//! `mailgenic-loadtest`: drives a mail server with many concurrent clients over the standard
//! protocols only (so the same run works against Mailgenic or any other server) and reports
//! throughput and latency percentiles.
//!
//! Scenarios so far (closed loop: every connection starts its next operation as soon as the last
//! one ends):
//! - `imap-login`: TLS connect, greeting, `LOGIN`, `LOGOUT`;
//! - `smtp-auth`: TLS connect, greeting, `EHLO`, `AUTH PLAIN`, `QUIT`.
//!
//! A run needs an explicit `--target` named in the config (no accidental load on production) and
//! is bounded by `--operations` and `--duration-secs`.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod client;
mod report;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use mailgenic_config::Config;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(name = "mailgenic-loadtest", about = "Load generator for IMAP and SMTP servers")]
struct Args {
    /// Config file that names the targets.
    #[arg(long, default_value = "config/dev.toml")]
    config: PathBuf,
    /// Target name from the config's [targets] (e.g. `local`, `norman`).
    #[arg(long)]
    target: String,
    /// Connect to ADDR instead of resolving HOST, keeping HOST as the TLS name (HOST=ADDR).
    #[arg(long)]
    connect_to: Option<String>,
    /// Trust this PEM certificate (or CA) instead of the system roots.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Do not verify the server certificate (test certificates only).
    #[arg(long)]
    insecure: bool,
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// Concurrent connections.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Total operations, over all connections.
    #[arg(long, default_value_t = 1000)]
    operations: u64,
    /// Stop after this long even if operations remain.
    #[arg(long, default_value_t = 60)]
    duration_secs: u64,
    /// User name pattern; `{n}` becomes 1..=user-count.
    #[arg(long, default_value = "user{n}@example.test")]
    users: String,
    #[arg(long, default_value_t = 1)]
    user_count: u64,
    /// Password of every user; read from the MAILGENIC_LOADTEST_PASSWORD environment variable if
    /// not given.
    #[arg(long, env = "MAILGENIC_LOADTEST_PASSWORD", hide_env_values = true)]
    password: String,
    /// Also print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    ImapLogin,
    SmtpAuth,
}

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
    let port = match args.scenario {
        Scenario::ImapLogin => target.imaps_port,
        Scenario::SmtpAuth => target.submissions_port,
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
    let tls = client::tls_config(args.ca.as_deref(), args.insecure, args.scenario)?;
    let endpoint = client::Endpoint { address: format!("{address}:{port}"), server_name: target.host.clone(), tls };
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    // One probe first, so a wrong target fails with one clear message instead of N errors.
    let probe_user = args.users.replace("{n}", "1");
    client::operation(&endpoint, args.scenario, &probe_user, &args.password)
        .context("probe against the target failed")?;

    let remaining = Arc::new(AtomicU64::new(args.operations));
    let deadline = Instant::now() + Duration::from_secs(args.duration_secs);
    let started = Instant::now();
    let endpoint = Arc::new(endpoint);
    let workers: Vec<_> = (0..args.connections)
        .map(|i| {
            let remaining = Arc::clone(&remaining);
            let endpoint = Arc::clone(&endpoint);
            let users = args.users.clone();
            let password = args.password.clone();
            let user_count = args.user_count.max(1);
            let scenario = args.scenario;
            std::thread::spawn(move || {
                let mut result = report::Partial::default();
                let mut n = i as u64;
                while Instant::now() < deadline && take_one(&remaining) {
                    let user = users.replace("{n}", &(n % user_count + 1).to_string());
                    n += 1;
                    let t = Instant::now();
                    match client::operation(&endpoint, scenario, &user, &password) {
                        Ok(()) => result.record(t.elapsed()),
                        Err(e) => result.error(&e),
                    }
                }
                result
            })
        })
        .collect();
    let mut total = report::Partial::default();
    for worker in workers {
        total.merge(worker.join().map_err(|_| anyhow::anyhow!("a worker thread panicked"))?);
    }
    let summary = total.summary(args.scenario, args.connections, started.elapsed());
    print!("{}", summary.table());
    if args.json {
        println!("{}", summary.json());
    }
    Ok(())
}

fn take_one(remaining: &AtomicU64) -> bool {
    remaining.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok()
}
