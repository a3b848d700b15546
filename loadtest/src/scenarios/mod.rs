//! The scenarios. Most run in a pool of `--connections` threads, each owning one [`Worker`] that
//! runs operations until `--operations` are taken or `--duration-secs` pass, closed loop or at a
//! fixed `--rate`; `imap-idle` and `e2e` have their own shapes.

pub mod e2e;
pub mod fresh;
pub mod idle;
pub mod mix;
pub mod senders;

use crate::args::{Args, Scenario};
use crate::client::{self, Endpoint};
use crate::progress::Progress;
use crate::smtp::LmtpAddress;
use crate::{gen, report};
use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Every endpoint of the target.
#[derive(Debug)]
pub struct Endpoints {
    /// IMAPS (implicit TLS).
    pub imap: Endpoint,
    /// Submission (implicit TLS + AUTH).
    pub submission: Endpoint,
    /// The MX (plaintext start; its TLS config is used after STARTTLS).
    pub mx: Endpoint,
    /// LMTP, when the target names a socket or `--lmtp-tcp` is given.
    pub lmtp: Option<LmtpAddress>,
}

/// Where messages come from: the seeded generator or an mbox file.
#[derive(Debug)]
pub enum Corpus {
    /// Generated messages, of `--size-kb` or 2-100 KiB.
    Generated { size_kb: Option<u64> },
    /// The messages of an mbox file (never empty), used in turn.
    Mbox(Vec<Vec<u8>>),
}

impl Corpus {
    /// The message of operation `op` from `from` to `to`.
    pub fn message(&self, rng: &mut gen::Rng, from: &str, to: &str, op: u64) -> Cow<'_, [u8]> {
        match self {
            Corpus::Generated { size_kb } => {
                let size = gen::size(rng, *size_kb);
                Cow::Owned(gen::message(rng, from, to, size, op))
            }
            Corpus::Mbox(messages) => Cow::Borrowed(&messages[(op % messages.len() as u64) as usize]),
        }
    }
}

/// What every worker shares.
#[derive(Debug)]
pub struct Ctx {
    pub args: Args,
    pub endpoints: Endpoints,
    pub corpus: Corpus,
    /// `imap-mix`'s command weights.
    pub mix: mix::Mix,
    pub progress: Arc<Progress>,
}

impl Ctx {
    /// User `n` of the `--users` pattern.
    pub fn user(&self, n: u64) -> String {
        self.args.users.replace("{n}", &n.to_string())
    }

    pub fn user_count(&self) -> u64 {
        self.args.user_count.max(1)
    }
}

/// What one pool connection does: it runs operations and records each one's latency (or error)
/// into `out`.
pub trait Worker: Send {
    /// Runs operation number `op`; `due` is its scheduled start in open loop (latency counts
    /// from there), `None` in closed loop.
    fn run(&mut self, op: u64, due: Option<Instant>, out: &mut report::Partial);

    /// Ends the session politely (`QUIT`, `LOGOUT`) after the last operation.
    fn finish(&mut self) {}

    /// Scenario figures to add to the report (summed over workers).
    fn figures(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }
}

/// The worker of connection `i` for the scenario.
fn worker(ctx: &Arc<Ctx>, i: usize) -> Box<dyn Worker> {
    match ctx.args.scenario {
        Scenario::SmtpSubmit | Scenario::SmtpMx | Scenario::Lmtp => Box::new(senders::Sender::new(ctx, i)),
        Scenario::ImapMix => Box::new(mix::Mixer::new(ctx, i)),
        _ => Box::new(fresh::Fresh::new(ctx)),
    }
}

/// How long after `--duration-secs` the pool waits for connections still in an operation.
const DEADLINE_GRACE: Duration = Duration::from_secs(10);

/// The result of a scenario run: the merged results, when it started, extra figures.
pub type Outcome = (report::Partial, Instant, Vec<(String, f64)>);

/// Runs the pool scenarios, closed or open loop.
pub fn pool(ctx: &Arc<Ctx>) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration_secs);
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    for i in 0..args.connections {
        let next = Arc::clone(&next);
        let ctx = Arc::clone(ctx);
        let done_tx = done_tx.clone();
        std::thread::spawn(move || {
            let (operations, rate) = (ctx.args.operations, ctx.args.rate);
            let mut w = worker(&ctx, i);
            let mut result = report::Partial::default();
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
                let (ok, failed) = (result.ok(), result.failed());
                w.run(op, due, &mut result);
                ctx.progress.add(result.ok() - ok, result.failed() - failed);
            }
            w.finish();
            let _ = done_tx.send((result, w.figures()));
        });
    }
    drop(done_tx);
    let mut total = report::Partial::default();
    let mut figures: Vec<(String, f64)> = Vec::new();
    // A connection stuck in a read past the deadline is given up on after a grace period, so
    // the run stays bounded even against a server that stops answering.
    let give_up = deadline + DEADLINE_GRACE;
    for _ in 0..args.connections {
        let wait = give_up.saturating_duration_since(Instant::now());
        let Ok((partial, worker_figures)) = done_rx.recv_timeout(wait) else {
            total.error(&anyhow::anyhow!(
                "connection still waiting for the server {} s after the deadline",
                DEADLINE_GRACE.as_secs()
            ));
            continue;
        };
        total.merge(partial);
        for (name, value) in worker_figures {
            match figures.iter_mut().find(|(n, _)| n == name) {
                Some((_, sum)) => *sum += value,
                None => figures.push((name.to_string(), value)),
            }
        }
    }
    Ok((total, started, figures))
}

/// Whether an error is a read timeout (the IDLE watchers poll with short timeouts).
pub fn is_timeout(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut))
}

/// Logs in, selects INBOX and enters IDLE; returns the session and INBOX's message count.
pub fn enter_idle(endpoint: &Endpoint, name: &str, password: &str) -> anyhow::Result<(client::Conn, u64)> {
    let mut conn = client::imap_login(endpoint, name, password)?;
    let exists = client::imap_select_inbox(&mut conn)?;
    conn.send("i1 IDLE\r\n")?;
    loop {
        let line = conn.line()?;
        if line.starts_with('+') {
            return Ok((conn, exists));
        }
        if line.starts_with("i1 ") {
            anyhow::bail!("IMAP IDLE refused: {line}");
        }
    }
}

/// Leaves IDLE and logs out.
pub fn leave_idle(mut conn: client::Conn) -> anyhow::Result<()> {
    conn.set_read_timeout(Duration::from_secs(30))?;
    conn.send("DONE\r\n")?;
    conn.imap_tagged("i1")?;
    conn.send("l2 LOGOUT\r\n")?;
    conn.imap_tagged("l2")
}
