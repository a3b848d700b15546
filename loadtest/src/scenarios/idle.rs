//! `imap-idle`: `--connections` authenticated sessions in IDLE, held until `--duration-secs`; with
//! `--server-pid`/`--server-process`, the server's memory before and after, and per connection.

use super::{enter_idle, is_timeout, leave_idle, Ctx, Outcome};
use crate::args::Args;
use crate::{procfs, report};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn memory(args: &Args) -> procfs::Memory {
    procfs::memory(&procfs::tree(&args.server_pid, &args.server_process))
}

/// `imap-idle`: `--connections` sessions in IDLE, held until the deadline.
pub fn run(ctx: &Arc<Ctx>) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    let measure = !args.server_pid.is_empty() || !args.server_process.is_empty();
    let before = memory(args);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration_secs);
    let settled = Arc::new(AtomicU64::new(0));
    let user_count = args.user_count.max(1);
    let workers: Vec<_> = (0..args.connections)
        .map(|i| {
            let ctx = Arc::clone(ctx);
            let settled = Arc::clone(&settled);
            let name = ctx.user(i as u64 % user_count + 1);
            let password = args.password.clone();
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let mut result = report::Partial::default();
                    let t = Instant::now();
                    let session = enter_idle(&ctx.endpoints.imap, &name, &password);
                    settled.fetch_add(1, Ordering::AcqRel);
                    ctx.progress.add(u64::from(session.is_ok()), u64::from(session.is_err()));
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
