//! The progress line on stderr while a run goes: operations done, the recent rate, errors and the
//! time, rewritten in place four times a second. Off when stderr is not a terminal or with
//! `--quiet`, so logs and pipes stay clean.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the line is redrawn.
const REDRAW_INTERVAL: Duration = Duration::from_millis(250);
/// The rate shown is over this many redraws (one second).
const RATE_WINDOW: usize = 4;

/// Counters the workers bump as operations end.
#[derive(Debug, Default)]
pub struct Progress {
    ok: AtomicU64,
    failed: AtomicU64,
    stop: AtomicBool,
}

impl Progress {
    pub fn add(&self, ok: u64, failed: u64) {
        if ok > 0 {
            self.ok.fetch_add(ok, Ordering::Relaxed);
        }
        if failed > 0 {
            self.failed.fetch_add(failed, Ordering::Relaxed);
        }
    }

    fn done(&self) -> u64 {
        self.ok.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }
}

/// One progress line: `  420/1000 ops  812.0/s  3 errors  0.5/30 s`.
pub fn line(done: u64, total: u64, rate: f64, failed: u64, elapsed: Duration, limit: Duration) -> String {
    let errors = if failed == 1 { "1 error".to_string() } else { format!("{failed} errors") };
    format!("{done:>7}/{total} ops  {rate:.1}/s  {errors}  {:.1}/{} s", elapsed.as_secs_f64(), limit.as_secs())
}

/// The display thread, while the run goes; [`Display::stop`] clears the line.
#[derive(Debug)]
pub struct Display {
    progress: Arc<Progress>,
    thread: Option<JoinHandle<()>>,
}

impl Display {
    /// Starts drawing unless `quiet` or stderr is not a terminal.
    pub fn start(progress: &Arc<Progress>, total: u64, limit: Duration, quiet: bool) -> Display {
        let thread = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let progress = Arc::clone(progress);
            std::thread::spawn(move || draw(&progress, total, limit))
        });
        Display { progress: Arc::clone(progress), thread }
    }

    pub fn stop(mut self) {
        self.progress.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn draw(progress: &Progress, total: u64, limit: Duration) {
    let started = Instant::now();
    // Completed counts of the last redraws, for the recent rate.
    let mut history: Vec<(Instant, u64)> = vec![(started, 0)];
    let mut stderr = std::io::stderr();
    while !progress.stop.load(Ordering::Acquire) {
        std::thread::sleep(REDRAW_INTERVAL);
        let now = Instant::now();
        let done = progress.done();
        let (then, before) = history[0];
        let secs = now.duration_since(then).as_secs_f64();
        let rate = if secs > 0.0 { (done - before) as f64 / secs } else { 0.0 };
        history.push((now, done));
        if history.len() > RATE_WINDOW {
            history.remove(0);
        }
        let failed = progress.failed.load(Ordering::Relaxed);
        let _ = write!(stderr, "\r\x1b[K{}", line(done, total, rate, failed, now - started, limit));
        let _ = stderr.flush();
    }
    let _ = write!(stderr, "\r\x1b[K");
    let _ = stderr.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_done_rate_errors_and_time() {
        let l = line(420, 1000, 812.04, 3, Duration::from_millis(500), Duration::from_secs(30));
        assert_eq!(l, "    420/1000 ops  812.0/s  3 errors  0.5/30 s");
        assert!(line(1, 2, 0.0, 1, Duration::ZERO, Duration::ZERO).contains("1 error "));
    }
}
