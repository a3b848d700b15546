//! Latency histograms and the printed report.

use crate::args::Scenario;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// Highest latency the histograms track (longer ones are clamped to it).
const MAX_LATENCY_US: u64 = 60_000_000;

/// One worker's results.
#[derive(Debug)]
pub struct Partial {
    latency_us: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    /// Latency per command, for scenarios that run several kinds (`imap-mix`).
    by_command: BTreeMap<&'static str, Histogram<u64>>,
}

impl Default for Partial {
    fn default() -> Self {
        #[allow(clippy::expect_used)] // reason: constant, valid bounds (1 µs .. 60 s, 3 digits)
        let latency_us = Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds");
        Partial { latency_us, errors: BTreeMap::new(), by_command: BTreeMap::new() }
    }
}

fn micros(latency: Duration) -> u64 {
    (latency.as_micros() as u64).clamp(1, MAX_LATENCY_US)
}

impl Partial {
    pub fn record(&mut self, latency: Duration) {
        self.latency_us.saturating_record(micros(latency));
    }

    /// Records the latency of one `command`, in the total and in the command's own histogram.
    pub fn record_command(&mut self, command: &'static str, latency: Duration) {
        self.record(latency);
        let h = self.by_command.entry(command).or_insert_with(|| Partial::default().latency_us);
        h.saturating_record(micros(latency));
    }

    /// Counts an error by its first line (`IMAP NO`, `SMTP 535`, `cannot connect ...`).
    pub fn error(&mut self, e: &anyhow::Error) {
        *self.errors.entry(e.to_string()).or_default() += 1;
    }

    pub fn merge(&mut self, other: Partial) {
        let _ = self.latency_us.add(&other.latency_us);
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, h) in other.by_command {
            match self.by_command.get_mut(k) {
                Some(mine) => {
                    let _ = mine.add(&h);
                }
                None => {
                    self.by_command.insert(k, h);
                }
            }
        }
    }

    pub fn ok(&self) -> u64 {
        self.latency_us.len()
    }

    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The latency curve for the `--svg` plot: "all", then one series per command.
    pub fn curves(&self) -> Vec<crate::svg::Series> {
        let curve = |label: &str, h: &Histogram<u64>| crate::svg::Series {
            label: label.to_string(),
            points: if h.is_empty() {
                Vec::new()
            } else {
                std::iter::once((0.0, h.min() as f64 / 1000.0))
                    .chain(
                        h.iter_quantiles(5).map(|v| (v.quantile_iterated_to(), v.value_iterated_to() as f64 / 1000.0)),
                    )
                    .collect()
            },
        };
        let mut series = vec![curve("all", &self.latency_us)];
        series.extend(self.by_command.iter().map(|(name, h)| curve(name, h)));
        series
    }

    /// The percentile distribution in HdrHistogram's text format (values in milliseconds).
    pub fn percentiles(&self) -> String {
        let mut s = String::from("       Value     Percentile TotalCount 1/(1-Percentile)\n\n");
        for v in self.latency_us.iter_quantiles(5) {
            let q = v.quantile_iterated_to();
            let inv = if q < 1.0 { format!("{:.2}", 1.0 / (1.0 - q)) } else { "inf".into() };
            let _ = writeln!(
                s,
                "{:12.3} {:14.12} {:10} {:>14}",
                v.value_iterated_to() as f64 / 1000.0,
                q,
                v.count_since_last_iteration(),
                inv
            );
        }
        let _ = writeln!(
            s,
            "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]\n#[Max     = {:12.3}, Total count    = {:12}]",
            self.latency_us.mean() / 1000.0,
            self.latency_us.stdev() / 1000.0,
            self.latency_us.max() as f64 / 1000.0,
            self.latency_us.len()
        );
        s
    }

    pub fn summary(&self, scenario: Scenario, connections: usize, elapsed: Duration) -> Summary {
        let q = |p: f64| self.latency_us.value_at_quantile(p) as f64 / 1000.0;
        Summary {
            scenario: format!("{scenario:?}"),
            connections,
            ok: self.latency_us.len(),
            errors: self.errors.clone(),
            seconds: elapsed.as_secs_f64(),
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p99_ms: q(0.99),
            p999_ms: q(0.999),
            max_ms: self.latency_us.max() as f64 / 1000.0,
            extra: Vec::new(),
            commands: self
                .by_command
                .iter()
                .map(|(name, h)| CommandFigures {
                    name,
                    ok: h.len(),
                    p50_ms: h.value_at_quantile(0.5) as f64 / 1000.0,
                    p99_ms: h.value_at_quantile(0.99) as f64 / 1000.0,
                    max_ms: h.max() as f64 / 1000.0,
                })
                .collect(),
        }
    }
}

/// The figures of one run.
#[derive(Debug)]
pub struct Summary {
    pub scenario: String,
    pub connections: usize,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Scenario-specific figures (memory per connection, bytes received, ...).
    pub extra: Vec<(String, f64)>,
    /// Per command, when the scenario runs several kinds.
    pub commands: Vec<CommandFigures>,
}

/// The latency of one kind of command.
#[derive(Debug)]
pub struct CommandFigures {
    pub name: &'static str,
    pub ok: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.ok as f64 / self.seconds
        } else {
            0.0
        }
    }

    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ =
            writeln!(s, "scenario     {}  ({} connections, {:.1} s)", self.scenario, self.connections, self.seconds);
        let _ = writeln!(
            s,
            "operations   {} ok, {} failed, {:.1}/s",
            self.ok,
            self.errors.values().sum::<u64>(),
            self.rate()
        );
        let _ = writeln!(
            s,
            "latency ms   p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
            self.p50_ms, self.p90_ms, self.p99_ms, self.p999_ms, self.max_ms
        );
        for c in &self.commands {
            let _ = writeln!(
                s,
                "  {:<10} {:>7} ok  p50 {:.2}  p99 {:.2}  max {:.2}",
                c.name, c.ok, c.p50_ms, c.p99_ms, c.max_ms
            );
        }
        for (name, value) in &self.extra {
            let _ = writeln!(s, "{name:<12} {value:.2}");
        }
        for (error, count) in &self.errors {
            let _ = writeln!(s, "error        {count} × {error}");
        }
        s
    }

    pub fn json(&self) -> String {
        let errors: Vec<String> =
            self.errors.iter().map(|(k, v)| format!("{{\"error\":{:?},\"count\":{v}}}", k)).collect();
        let mut extra: String = self.extra.iter().map(|(k, v)| format!("{k:?}:{v:.3},")).collect();
        if !self.commands.is_empty() {
            let commands: Vec<String> = self
                .commands
                .iter()
                .map(|c| {
                    format!(
                        "{{\"command\":{:?},\"ok\":{},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3}}}",
                        c.name, c.ok, c.p50_ms, c.p99_ms, c.max_ms
                    )
                })
                .collect();
            extra.push_str(&format!("\"commands\":[{}],", commands.join(",")));
        }
        format!(
            "{{\"scenario\":{:?},\"connections\":{},\"ok\":{},\"seconds\":{:.3},\"rate\":{:.1},\"p50_ms\":{:.3},\"p90_ms\":{:.3},\"p99_ms\":{:.3},\"p999_ms\":{:.3},\"max_ms\":{:.3},{}\"errors\":[{}]}}",
            self.scenario, self.connections, self.ok, self.seconds, self.rate(), self.p50_ms, self.p90_ms, self.p99_ms, self.p999_ms, self.max_ms, extra, errors.join(",")
        )
    }
}
