//! Command parsing and DATA unstuffing: the engine's memchr framers, parsers and decoder against
//! naive baselines written the obvious way (byte-at-a-time scanning, an owned String per line), in
//! the same group, so the report reads as a ratio. Workloads and baselines live in the bench
//! crate's library (`bench/src/lib.rs`), where tests check that both sides agree.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use engine::wire::smtp;
use mailgenic_bench::*;

fn bench_imap(c: &mut Criterion) {
    let input = imap_stream();
    let mut group = c.benchmark_group("imap_command_framing");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_with_input(BenchmarkId::new("memchr_zero_copy", "1000_cmds"), &input, |b, i| {
        b.iter(|| frame_fast(black_box(i)))
    });
    group.bench_with_input(BenchmarkId::new("naive_baseline", "1000_cmds"), &input, |b, i| {
        b.iter(|| frame_naive(black_box(i)))
    });
    group.finish();
}

fn bench_smtp(c: &mut Criterion) {
    let lines = smtp_lines();
    let mut group = c.benchmark_group("smtp_command_parsing");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("zero_copy", |b| {
        b.iter(|| lines.iter().map(|l| smtp::parse_command(black_box(l)).is_ok() as usize).sum::<usize>())
    });
    group
        .bench_function("naive_baseline", |b| b.iter(|| lines.iter().map(|l| smtp_naive(black_box(l))).sum::<usize>()));
    group.finish();
}

fn bench_data(c: &mut Criterion) {
    let (wire, plain) = data_payload();
    // Checked here too: with `harness = false` the #[test] below is not compiled by `cargo test`.
    assert_eq!(unstuff_fast(&wire), plain);
    assert_eq!(unstuff_naive(&wire), plain);
    let mut group = c.benchmark_group("smtp_data_unstuffing");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_with_input(BenchmarkId::new("data_decoder", "1MB_16KiB_chunks"), &wire, |b, w| {
        b.iter(|| unstuff_fast(black_box(w)).len())
    });
    group.bench_with_input(BenchmarkId::new("naive_baseline", "1MB_16KiB_chunks"), &wire, |b, w| {
        b.iter(|| unstuff_naive(black_box(w)).len())
    });
    group.finish();
}

criterion_group!(benches, bench_imap, bench_smtp, bench_data);

criterion_main!(benches);
