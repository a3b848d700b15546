//! Command parsing: the engine's memchr framers and parsers against naive baselines written the
//! obvious way (byte-at-a-time scanning, an owned String per line), in the same group, so the report
//! reads as a ratio.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use engine::wire::{imap, smtp};

/// A pipelined IMAP stream: 1,000 commands, every tenth with a 200-byte literal.
fn imap_stream() -> Vec<u8> {
    let mut s = Vec::new();
    for i in 0..1000 {
        if i % 10 == 0 {
            s.extend_from_slice(format!("a{i} LOGIN user{i}@example.test {{200+}}\r\n").as_bytes());
            s.extend(std::iter::repeat_n(b'p', 200));
            s.extend_from_slice(b"\r\n");
        } else {
            s.extend_from_slice(
                format!("a{i} UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To Subject Date)])\r\n").as_bytes(),
            );
        }
    }
    s
}

fn frame_fast(input: &[u8]) -> usize {
    let mut framer = imap::CommandFramer::new(8192, 1 << 20);
    let mut rest = input;
    let mut n = 0;
    while let imap::Frame::Command { len } = framer.frame(rest) {
        let cmd = imap::parse_command(&rest[..len]).map(|c| c.name.len()).unwrap_or(0);
        n += cmd;
        rest = &rest[len..];
    }
    n
}

/// Baseline: scan byte by byte, copy each line into a String, parse the literal size with
/// `str::parse`, copy the literal too.
fn frame_naive(input: &[u8]) -> usize {
    let mut pos = 0;
    let mut n = 0;
    let mut command = String::new();
    while pos < input.len() {
        let mut end = pos;
        while end < input.len() && input[end] != b'\n' {
            end += 1;
        }
        if end == input.len() {
            break;
        }
        let line = String::from_utf8_lossy(&input[pos..end]).trim_end().to_string();
        command.push_str(&line);
        pos = end + 1;
        if let Some(open) = line.rfind('{') {
            if let Ok(size) = line[open + 1..line.len() - 1].trim_end_matches('+').parse::<usize>() {
                let literal = String::from_utf8_lossy(&input[pos..pos + size]).into_owned();
                command.push_str(&literal);
                pos += size;
                continue;
            }
        }
        n += command.split(' ').nth(1).map_or(0, str::len);
        command.clear();
    }
    n
}

fn smtp_lines() -> Vec<&'static [u8]> {
    vec![
        b"EHLO client.example.org\r\n",
        b"MAIL FROM:<sender@example.org> SIZE=10240 BODY=8BITMIME\r\n",
        b"RCPT TO:<user1@example.test>\r\n",
        b"RCPT TO:<user2@example.test> NOTIFY=NEVER\r\n",
        b"DATA\r\n",
        b"BDAT 65536 LAST\r\n",
        b"RSET\r\n",
        b"QUIT\r\n",
    ]
}

/// Baseline: an uppercased owned copy of the line, split on spaces.
fn smtp_naive(line: &[u8]) -> usize {
    let text = String::from_utf8_lossy(line).trim_end().to_uppercase();
    let mut parts = text.split(' ');
    let verb = parts.next().unwrap_or_default().to_string();
    let args: Vec<String> = parts.map(str::to_string).collect();
    verb.len() + args.iter().map(String::len).sum::<usize>()
}

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

#[test]
fn fast_and_naive_agree() {
    assert_eq!(frame_fast(&imap_stream()), frame_naive(&imap_stream()));
}

criterion_group!(benches, bench_imap, bench_smtp);
criterion_main!(benches);
