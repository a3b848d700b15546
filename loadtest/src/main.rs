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
//! - `imap-fetch`: `LOGIN`, `SELECT INBOX`, `--fetch` (default `UID FETCH 1:* (FLAGS ENVELOPE
//!   BODYSTRUCTURE)`), `LOGOUT`, a fresh connection each time;
//! - `imap-idle`: holds `--connections` authenticated `IDLE` sessions for `--duration-secs`; with
//!   `--server-pid`/`--server-process` reports the server's memory (RSS, PSS) before and after,
//!   over the process tree, and per connection;
//! - `e2e`: submits at `--rate` (default 5/s) and measures from `MAIL FROM` until an `IDLE`
//!   session on the recipient's INBOX sees `EXISTS`.
//!
//! A run needs an explicit `--target` named in the config (no accidental load on production) and
//! is bounded by `--operations` and `--duration-secs`.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod client;
mod gen;
mod procfs;
mod report;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use mailgenic_config::Config;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
    /// Write the latency histogram's percentile distribution (HdrHistogram text format) here.
    #[arg(long)]
    hdr_out: Option<PathBuf>,
    /// Open loop: start this many operations per second (default for `e2e`: 5).
    #[arg(long)]
    rate: Option<f64>,
    /// Fix the generated messages' size (KiB); default: 2-100 KiB, seeded.
    #[arg(long)]
    size_kb: Option<u64>,
    /// Seed of the message generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The command `imap-fetch` runs after `SELECT INBOX`.
    #[arg(long, default_value = "UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)")]
    fetch: String,
    /// Server process(es) whose memory `imap-idle` reports, with their descendants (comma list).
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// Server process name(s) (as in /proc/PID/comm, e.g. `dovecot`), with their descendants.
    #[arg(long, value_delimiter = ',')]
    server_process: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    ImapLogin,
    SmtpAuth,
    SmtpSubmit,
    ImapFetch,
    ImapIdle,
    E2e,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("mailgenic-loadtest: {e:#}");
        std::process::exit(1);
    }
}

/// Both endpoints of the target: IMAPS and submission.
struct Endpoints {
    imap: client::Endpoint,
    smtp: client::Endpoint,
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
    let endpoints = Arc::new(Endpoints {
        imap: endpoint(target.imaps_port, b"imap")?,
        smtp: endpoint(target.submissions_port, b"smtp")?,
    });
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    if let Some(rate) = args.rate {
        if !(rate > 0.0 && rate.is_finite()) {
            bail!("--rate must be a positive number of operations per second");
        }
    }
    // One probe first, so a wrong target fails with one clear message instead of N errors.
    let probe_user = args.users.replace("{n}", "1");
    if args.scenario != Scenario::SmtpAuth && args.scenario != Scenario::SmtpSubmit {
        client::operation(&endpoints.imap, Scenario::ImapLogin, &probe_user, &args.password, "")
            .context("IMAP probe against the target failed")?;
    }
    if args.scenario != Scenario::ImapLogin
        && args.scenario != Scenario::ImapFetch
        && args.scenario != Scenario::ImapIdle
    {
        client::operation(&endpoints.smtp, Scenario::SmtpAuth, &probe_user, &args.password, "")
            .context("SMTP probe against the target failed")?;
    }
    let (total, started, extra) = match args.scenario {
        Scenario::ImapIdle => idle(&args, &endpoints)?,
        Scenario::E2e => e2e(&args, &endpoints)?,
        _ => pool(&args, &endpoints)?,
    };
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
    Ok(())
}

fn user(pattern: &str, n: u64) -> String {
    pattern.replace("{n}", &n.to_string())
}

type Outcome = (report::Partial, Instant, Vec<(String, f64)>);

/// The connection pool of `imap-login`, `smtp-auth`, `smtp-submit` and `imap-fetch`, closed or
/// open loop.
fn pool(args: &Args, endpoints: &Arc<Endpoints>) -> anyhow::Result<Outcome> {
    let next = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration_secs);
    let user_count = args.user_count.max(1);
    let workers: Vec<_> = (0..args.connections)
        .map(|i| {
            let next = Arc::clone(&next);
            let bytes = Arc::clone(&bytes);
            let endpoints = Arc::clone(endpoints);
            let (users, password, fetch) = (args.users.clone(), args.password.clone(), args.fetch.clone());
            let (scenario, operations, rate, size_kb) = (args.scenario, args.operations, args.rate, args.size_kb);
            let mut rng = gen::Rng::new(args.seed.wrapping_add(i as u64));
            std::thread::spawn(move || {
                let mut result = report::Partial::default();
                let mut session: Option<client::Smtp> = None;
                let me = user(&users, i as u64 % user_count + 1);
                loop {
                    let op = next.fetch_add(1, Ordering::AcqRel);
                    if op >= operations || Instant::now() >= deadline {
                        break;
                    }
                    // Open loop: operation `op` is due at started + op/rate, whoever runs it.
                    let due = match rate {
                        Some(r) => {
                            let due = started + Duration::from_secs_f64(op as f64 / r);
                            if due >= deadline {
                                break;
                            }
                            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                                std::thread::sleep(wait);
                            }
                            Some(due)
                        }
                        None => None,
                    };
                    let outcome = if scenario == Scenario::SmtpSubmit {
                        let size = gen::size(&mut rng, size_kb);
                        let to = user(&users, rng.range(1, user_count));
                        let message = gen::message(&mut rng, &me, &to, size, op);
                        let t = due.unwrap_or_else(Instant::now);
                        let smtp = match session.take() {
                            Some(s) => Ok(s),
                            None => client::Smtp::open(&endpoints.smtp, &me, &password),
                        };
                        smtp.and_then(|mut s| {
                            let t = if due.is_none() && s_is_new(&s) { Instant::now() } else { t };
                            s.submit(&to, &message)?;
                            session = Some(s);
                            Ok(t.elapsed())
                        })
                    } else {
                        let name = user(&users, op % user_count + 1);
                        let t = due.unwrap_or_else(Instant::now);
                        let endpoint = if scenario == Scenario::SmtpAuth { &endpoints.smtp } else { &endpoints.imap };
                        client::operation(endpoint, scenario, &name, &password, &fetch).map(|b| {
                            bytes.fetch_add(b, Ordering::Relaxed);
                            t.elapsed()
                        })
                    };
                    match outcome {
                        Ok(latency) => result.record(latency),
                        Err(e) => result.error(&e),
                    }
                }
                if let Some(s) = session {
                    let _ = s.quit();
                }
                result
            })
        })
        .collect();
    let mut total = report::Partial::default();
    for worker in workers {
        total.merge(worker.join().map_err(|_| anyhow::anyhow!("a worker thread panicked"))?);
    }
    let mut extra = Vec::new();
    if args.scenario == Scenario::ImapFetch {
        extra.push(("received_mib".to_string(), bytes.load(Ordering::Relaxed) as f64 / 1048576.0));
    }
    Ok((total, started, extra))
}

/// Closed loop times a message from `MAIL FROM`, not from the connection set-up.
fn s_is_new(s: &client::Smtp) -> bool {
    s.sent() == 0
}

fn is_timeout(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut))
}

/// Logs in, selects INBOX and enters IDLE; returns the session and INBOX's message count.
fn enter_idle(endpoint: &client::Endpoint, name: &str, password: &str) -> anyhow::Result<(client::Conn, u64)> {
    let mut conn = client::imap_login(endpoint, name, password)?;
    let exists = client::imap_select_inbox(&mut conn)?;
    conn.send("i1 IDLE\r\n")?;
    loop {
        let line = conn.line()?;
        if line.starts_with('+') {
            return Ok((conn, exists));
        }
        if line.starts_with("i1 ") {
            bail!("IMAP IDLE refused: {line}");
        }
    }
}

fn leave_idle(mut conn: client::Conn) -> anyhow::Result<()> {
    conn.set_read_timeout(Duration::from_secs(30))?;
    conn.send("DONE\r\n")?;
    conn.imap_tagged("i1")?;
    conn.send("l2 LOGOUT\r\n")?;
    conn.imap_tagged("l2")
}

fn memory(args: &Args) -> procfs::Memory {
    procfs::memory(&procfs::tree(&args.server_pid, &args.server_process))
}

/// `imap-idle`: `--connections` sessions in IDLE, held until the deadline.
fn idle(args: &Args, endpoints: &Arc<Endpoints>) -> anyhow::Result<Outcome> {
    let measure = !args.server_pid.is_empty() || !args.server_process.is_empty();
    let before = memory(args);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration_secs);
    let settled = Arc::new(AtomicU64::new(0));
    let user_count = args.user_count.max(1);
    let workers: Vec<_> = (0..args.connections)
        .map(|i| {
            let endpoints = Arc::clone(endpoints);
            let settled = Arc::clone(&settled);
            let name = user(&args.users, i as u64 % user_count + 1);
            let password = args.password.clone();
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let mut result = report::Partial::default();
                    let t = Instant::now();
                    let session = enter_idle(&endpoints.imap, &name, &password);
                    settled.fetch_add(1, Ordering::AcqRel);
                    let mut conn = match session {
                        Ok((conn, _)) => conn,
                        Err(e) => {
                            result.error(&e);
                            return result;
                        }
                    };
                    result.record(t.elapsed());
                    let held = (|| -> anyhow::Result<()> {
                        conn.set_read_timeout(Duration::from_millis(500))?;
                        while Instant::now() < deadline {
                            match conn.line() {
                                Ok(_) => {}
                                Err(e) if is_timeout(&e) => {}
                                Err(e) => return Err(e),
                            }
                        }
                        leave_idle(conn)
                    })();
                    if let Err(e) = held {
                        result.error(&e.context("while idling"));
                    }
                    result
                })
                .map_err(anyhow::Error::from)
        })
        .collect::<anyhow::Result<_>>()?;
    while settled.load(Ordering::Acquire) < args.connections as u64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let the server settle, then measure while every session is held.
    std::thread::sleep(Duration::from_millis(1000).min(deadline.saturating_duration_since(Instant::now())));
    let after = memory(args);
    let mut total = report::Partial::default();
    for worker in workers {
        total.merge(worker.join().map_err(|_| anyhow::anyhow!("a worker thread panicked"))?);
    }
    let mut extra = Vec::new();
    if measure {
        let held = total.ok().max(1) as f64;
        let mib = |kib: u64| kib as f64 / 1024.0;
        extra.push(("server_processes_before".into(), before.processes as f64));
        extra.push(("server_processes_after".into(), after.processes as f64));
        extra.push(("rss_before_mib".into(), mib(before.rss_kib)));
        extra.push(("rss_after_mib".into(), mib(after.rss_kib)));
        extra.push(("rss_per_conn_kib".into(), (after.rss_kib as f64 - before.rss_kib as f64) / held));
        if let (Some(b), Some(a)) = (before.pss_kib, after.pss_kib) {
            extra.push(("pss_before_mib".into(), mib(b)));
            extra.push(("pss_after_mib".into(), mib(a)));
            extra.push(("pss_per_conn_kib".into(), (a as f64 - b as f64) / held));
        }
    }
    Ok((total, started, extra))
}

/// `e2e`: one IDLE watcher per recipient, one submission session sending at `--rate`.
fn e2e(args: &Args, endpoints: &Arc<Endpoints>) -> anyhow::Result<Outcome> {
    let rate = args.rate.unwrap_or(5.0);
    let recipients = args.user_count.max(1);
    // Send times per recipient, oldest first; a watcher pops one per new message it sees.
    let pending: Arc<Mutex<HashMap<u64, VecDeque<Instant>>>> = Arc::new(Mutex::new(HashMap::new()));
    let results = Arc::new(Mutex::new(report::Partial::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(AtomicU64::new(0));
    let mut watchers = Vec::new();
    for n in 1..=recipients {
        let (endpoints, pending, results, stop, ready) =
            (Arc::clone(endpoints), Arc::clone(&pending), Arc::clone(&results), Arc::clone(&stop), Arc::clone(&ready));
        let (name, password) = (user(&args.users, n), args.password.clone());
        watchers.push(std::thread::spawn(move || {
            let outcome = (|| -> anyhow::Result<()> {
                let (mut conn, mut seen) = enter_idle(&endpoints.imap, &name, &password)?;
                ready.fetch_add(1, Ordering::AcqRel);
                conn.set_read_timeout(Duration::from_millis(200))?;
                while !stop.load(Ordering::Acquire) {
                    let line = match conn.line() {
                        Ok(line) => line,
                        Err(e) if is_timeout(&e) => continue,
                        Err(e) => return Err(e),
                    };
                    let Some(now) = client::exists_count(&line) else { continue };
                    let arrived = Instant::now();
                    let mut queue = pending.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                    let mut res = results.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                    for _ in seen..now {
                        if let Some(sent) = queue.get_mut(&n).and_then(VecDeque::pop_front) {
                            res.record(arrived - sent);
                        }
                    }
                    seen = seen.max(now);
                }
                leave_idle(conn)
            })();
            if let Err(e) = outcome {
                ready.fetch_add(1, Ordering::AcqRel);
                if let Ok(mut res) = results.lock() {
                    res.error(&e.context("IDLE watcher"));
                }
            }
        }));
    }
    while ready.load(Ordering::Acquire) < recipients {
        std::thread::sleep(Duration::from_millis(20));
    }
    let sender_name = user(&args.users, 1);
    let mut smtp = client::Smtp::open(&endpoints.smtp, &sender_name, &args.password)?;
    let mut rng = gen::Rng::new(args.seed);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration_secs);
    let mut failed = 0u64;
    for op in 0..args.operations {
        let due = started + Duration::from_secs_f64(op as f64 / rate);
        if due >= deadline {
            break;
        }
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let n = op % recipients + 1;
        let to = user(&args.users, n);
        let size = gen::size(&mut rng, args.size_kb);
        let message = gen::message(&mut rng, &sender_name, &to, size, op);
        if let Ok(mut p) = pending.lock() {
            p.entry(n).or_default().push_back(Instant::now());
        }
        if let Err(e) = smtp.submit(&to, &message) {
            failed += 1;
            if let Ok(mut p) = pending.lock() {
                p.entry(n).or_default().pop_back();
            }
            if let Ok(mut res) = results.lock() {
                res.error(&e);
            }
            smtp = client::Smtp::open(&endpoints.smtp, &sender_name, &args.password)?;
        }
    }
    let _ = smtp.quit();
    // Wait for the last deliveries (at most 10 s).
    let wait_until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < wait_until && pending.lock().map(|p| p.values().any(|q| !q.is_empty())).unwrap_or(false) {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Release);
    for w in watchers {
        let _ = w.join();
    }
    let lost: usize = pending.lock().map(|p| p.values().map(VecDeque::len).sum()).unwrap_or(0);
    let mut total = std::mem::take(&mut *results.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    for _ in 0..lost {
        total.error(&anyhow::anyhow!("not seen in IDLE within 10 s"));
    }
    let extra = vec![("rate_per_s".into(), rate), ("submit_failed".into(), failed as f64)];
    Ok((total, started, extra))
}
