//! `e2e`: one IMAP IDLE watcher per recipient and one submission session sending at `--rate`
//! (default 5/s); the latency runs from `MAIL FROM` until the watcher sees `EXISTS`.

use super::{enter_idle, is_timeout, leave_idle, senders, Ctx, Outcome};
use crate::{client, gen, report};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `e2e`: one IDLE watcher per recipient, one submission session sending at `--rate`.
pub fn run(ctx: &Arc<Ctx>) -> anyhow::Result<Outcome> {
    let args = &ctx.args;
    let rate = args.rate.unwrap_or(5.0);
    let recipients = args.user_count.max(1);
    // Send times per recipient, oldest first; a watcher pops one per new message it sees.
    let pending: Arc<Mutex<HashMap<u64, VecDeque<Instant>>>> = Arc::new(Mutex::new(HashMap::new()));
    let results = Arc::new(Mutex::new(report::Partial::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(AtomicU64::new(0));
    let mut watchers = Vec::new();
    for n in 1..=recipients {
        let (ctx, pending, results, stop, ready) =
            (Arc::clone(ctx), Arc::clone(&pending), Arc::clone(&results), Arc::clone(&stop), Arc::clone(&ready));
        let (name, password) = (ctx.user(n), args.password.clone());
        watchers.push(std::thread::spawn(move || {
            let outcome = (|| -> anyhow::Result<()> {
                let (mut conn, mut seen) = enter_idle(&ctx.endpoints.imap, &name, &password)?;
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
                            ctx.progress.add(1, 0);
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
    let sender_name = ctx.user(1);
    let mut smtp = senders::open(ctx, &sender_name)?;
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
        let to = ctx.user(n);
        let size = gen::size(&mut rng, args.size_kb);
        let message = gen::message(&mut rng, &sender_name, &to, size, op);
        if let Ok(mut p) = pending.lock() {
            p.entry(n).or_default().push_back(Instant::now());
        }
        if let Err(e) = smtp.send(&sender_name, std::slice::from_ref(&to), &message, &mut 0) {
            failed += 1;
            if let Ok(mut p) = pending.lock() {
                p.entry(n).or_default().pop_back();
            }
            if let Ok(mut res) = results.lock() {
                res.error(&e);
            }
            ctx.progress.add(0, 1);
            smtp = senders::open(ctx, &sender_name)?;
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
