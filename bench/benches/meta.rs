//! Metadata extraction at delivery: `storage::mail::meta::extract` (ENVELOPE, BODYSTRUCTURE, the
//! non-extensible BODY and every part's offsets, computed once per delivered message) against the
//! baseline of mail-parser's parse alone, which extraction builds on. The ratio is what the IMAP
//! encoding adds to parsing; FETCH later serves these bytes without parsing again.
//!
//! The corpus is three shapes a mailbox holds most: a plain text message, a multipart/alternative
//! newsletter, and a message with a base64 attachment (about 4, 12 and 60 KiB).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn plain() -> Vec<u8> {
    let mut m = b"From: Alice Example <alice@example.test>\r\nTo: Bob <bob@example.test>, carol@example.test\r\n\
Cc: =?utf-8?q?J=C3=B6rg?= <joerg@example.test>\r\nSubject: =?utf-8?b?TWVldGluZyBub3Rlcw==?=\r\n\
Date: Fri, 4 Dec 2026 09:00:00 +0000\r\nMessage-ID: <plain.1@example.test>\r\n\
In-Reply-To: <earlier@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        .to_vec();
    while m.len() < 4096 {
        m.extend_from_slice(b"Notes from today's meeting, line after line of ordinary text.\r\n");
    }
    m
}

fn alternative() -> Vec<u8> {
    let mut m = b"From: News <news@example.test>\r\nTo: bob@example.test\r\nSubject: Weekly digest\r\n\
Date: Fri, 4 Dec 2026 09:00:00 +0000\r\nMessage-ID: <alt.1@example.test>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        .to_vec();
    for _ in 0..60 {
        m.extend_from_slice(b"This week: caf=C3=A9 openings, a new park, and the weather.\r\n");
    }
    m.extend_from_slice(b"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>");
    for _ in 0..80 {
        m.extend_from_slice(b"<p>This week: <b>caf&eacute;</b> openings, a new park.</p>\r\n");
    }
    m.extend_from_slice(b"</body></html>\r\n--alt--\r\n");
    m
}

fn attachment() -> Vec<u8> {
    let mut m = b"From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: The report\r\n\
Date: Fri, 4 Dec 2026 09:00:00 +0000\r\nMessage-ID: <att.1@example.test>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\nContent-Type: text/plain\r\n\r\n\
Here is the report.\r\n--mix\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\n\
Content-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        .to_vec();
    for i in 0..800u32 {
        let line: String = (0..76).map(|j| (b'A' + ((i + j) % 26) as u8) as char).collect();
        m.extend_from_slice(line.as_bytes());
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"--mix--\r\n");
    m
}

fn bench_extract(c: &mut Criterion) {
    let corpus = [("plain_4k", plain()), ("alternative_12k", alternative()), ("attachment_60k", attachment())];
    let mut group = c.benchmark_group("metadata_extraction");
    for (name, message) in &corpus {
        // Both sides see the same message; extraction must describe every part.
        assert!(!storage::mail::meta::extract(message).parts.is_empty());
        group.throughput(Throughput::Bytes(message.len() as u64));
        group.bench_with_input(BenchmarkId::new("extract", name), message, |b, m| {
            b.iter(|| storage::mail::meta::extract(black_box(m)).body_structure.len())
        });
        group.bench_with_input(BenchmarkId::new("parse_only_baseline", name), message, |b, m| {
            b.iter(|| mail_parser::MessageParser::default().parse(black_box(m)).map_or(0, |p| p.parts.len()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_extract);
criterion_main!(benches);
