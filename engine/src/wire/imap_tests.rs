use super::*;

/// Feeds `input` to a fresh framer split at `split`, the way a socket might deliver it, and
/// collects what comes out. Continuations are recorded as `+N`.
fn frame_all(input: &[u8], split: usize, max_line: usize, max_literal: u64) -> Vec<String> {
    let mut framer = CommandFramer::new(max_line, max_literal);
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    for chunk in [&input[..split], &input[split..]] {
        buf.extend_from_slice(chunk);
        loop {
            let d = framer.discard(&buf);
            buf.drain(..d);
            match framer.frame(&buf) {
                Frame::Incomplete => break,
                Frame::Continue { size } => {
                    out.push(format!("+{size}"));
                    break;
                }
                Frame::Command { len } => {
                    out.push(String::from_utf8_lossy(&buf[..len]).into_owned());
                    buf.drain(..len);
                }
                Frame::LineTooLong { len } => {
                    out.push("TOOLONG".into());
                    buf.drain(..len);
                }
                Frame::LiteralTooLarge { len, size, .. } => {
                    out.push(format!("TOOLARGE {size}"));
                    buf.drain(..len);
                }
            }
        }
    }
    out
}

#[test]
fn framing_table_at_every_split() {
    let cases: &[(&[u8], &[&str])] = &[
        (b"a NOOP\r\n", &["a NOOP\r\n"]),
        (b"a NOOP\r\nb CAPABILITY\r\n", &["a NOOP\r\n", "b CAPABILITY\r\n"]),
        (b"a LOGIN {5+}\r\nalice {3+}\r\npw!\r\n", &["a LOGIN {5+}\r\nalice {3+}\r\npw!\r\n"]),
        // A literal that contains what looks like a command line is never framed as one.
        (b"a LOGIN {11+}\r\nb LOGOUT\r\n x\r\n", &["a LOGIN {11+}\r\nb LOGOUT\r\n x\r\n"]),
        (b"a LOGIN {0+}\r\n x\r\n", &["a LOGIN {0+}\r\n x\r\n"]),
        (b"a NOOP\n", &["a NOOP\n"]),
        (b"a X {9999999+}\r\n", &["TOOLARGE 9999999"]),
    ];
    for (input, expected) in cases {
        for split in 0..=input.len() {
            let got = frame_all(input, split, 64, 1000);
            assert_eq!(got, *expected, "input {:?} split at {split}", String::from_utf8_lossy(input));
        }
    }
}

#[test]
fn refused_non_synchronising_literal_and_the_rest_of_its_command_are_dropped_at_every_split() {
    // The refused literal holds command-like lines; so does a later literal of the same command.
    // A synchronising literal after the refusal ends the command (the client waits for a `+`).
    let mut refused = b"a APPEND X {3+}\r\nabc {20+}\r\nb LOGOUT\r\nc LOGOUT\r\n".to_vec();
    refused.extend_from_slice(b" {12+}\r\nd LOGOUT\r\nx (\\Seen) {3}\r\ne NOOP\r\n");
    // Five literals of 10 bytes pass the per-literal limit but not the per-command one (4 x 10).
    let mut total = b"a APPEND X".to_vec();
    for _ in 0..5 {
        total.extend_from_slice(b" {10+}\r\n0123456789");
    }
    total.extend_from_slice(b"\r\nb NOOP\r\n");
    let cases: &[(&[u8], &[&str])] = &[
        (&refused, &["TOOLARGE 20", "e NOOP\r\n"]),
        (&total, &["TOOLARGE 10", "b NOOP\r\n"]),
        (b"a APPEND X {11+}\r\n0123456789\n\r\nb NOOP\r\n", &["TOOLARGE 11", "b NOOP\r\n"]),
    ];
    for (input, expected) in cases {
        for split in 0..=input.len() {
            let got = frame_all(input, split, 64, 10);
            assert_eq!(got, *expected, "input {:?} split at {split}", String::from_utf8_lossy(input));
        }
    }
}

#[test]
fn multiappend_literals_frame_as_one_command() {
    let mut framer = CommandFramer::new(1000, 1000);
    let mut buf = b"a APPEND INBOX (\\Seen) {3}\r\n".to_vec();
    assert_eq!(framer.frame(&buf), Frame::Continue { size: 3 });
    buf.extend_from_slice(b"abc {2}\r\n");
    assert_eq!(framer.frame(&buf), Frame::Continue { size: 2 });
    buf.extend_from_slice(b"xy {1+}\r\nz\r\n");
    assert_eq!(framer.frame(&buf), Frame::Command { len: buf.len() });
}

#[test]
fn synchronising_literal_asks_for_continuation_once() {
    let mut framer = CommandFramer::new(1000, 1000);
    let mut buf = b"a LOGIN {5}\r\n".to_vec();
    assert_eq!(framer.frame(&buf), Frame::Continue { size: 5 });
    assert_eq!(framer.frame(&buf), Frame::Incomplete);
    buf.extend_from_slice(b"ali");
    assert_eq!(framer.frame(&buf), Frame::Incomplete);
    buf.extend_from_slice(b"ce \"pw\"\r\n");
    assert_eq!(framer.frame(&buf), Frame::Command { len: buf.len() });
}

#[test]
fn too_large_synchronising_literal_is_refused_before_continuation() {
    let mut framer = CommandFramer::new(1000, 10);
    assert_eq!(
        framer.frame(b"a APPEND INBOX {11}\r\n"),
        Frame::LiteralTooLarge { len: 21, size: 11, synchronizing: true }
    );
}

#[test]
fn long_line_is_refused_and_skipped_at_every_split() {
    let mut input = b"a ".to_vec();
    input.extend(std::iter::repeat_n(b'x', 100));
    input.extend_from_slice(b"\r\nb NOOP\r\n");
    for split in 0..=input.len() {
        let got = frame_all(&input, split, 64, 10);
        assert_eq!(got, ["TOOLONG", "b NOOP\r\n"], "split {split}");
    }
}

#[test]
fn parse_command_parts() {
    let c = parse_command(b"A001 login alice secret\r\n").unwrap();
    assert_eq!(c.tag, b"A001");
    assert!(c.is("LOGIN"));
    assert_eq!(c.args, b"alice secret");
    let c = parse_command(b"x CAPABILITY\r\n").unwrap();
    assert!(c.args.is_empty());
    assert_eq!(parse_command(b"\r\n"), Err(ParseError::BadTag));
    assert_eq!(parse_command(b"+ NOOP\r\n"), Err(ParseError::BadTag));
    assert!(matches!(parse_command(b"a\r\n"), Err(ParseError::Syntax { .. })));
    assert!(matches!(parse_command(b"a (x)\r\n"), Err(ParseError::Syntax { .. })));
}

#[test]
fn astrings() {
    let mut a = Args::new(b"alice \"p a\\\"ss\" {3}\r\nxyz atom");
    assert_eq!(a.astring().unwrap().as_ref(), b"alice");
    let quoted = a.astring().unwrap();
    assert_eq!(quoted.as_ref(), b"p a\"ss");
    assert!(matches!(quoted, Cow::Owned(_)));
    assert_eq!(a.astring().unwrap().as_ref(), b"xyz");
    assert_eq!(a.astring().unwrap().as_ref(), b"atom");
    assert!(a.is_empty());
    let mut a = Args::new(b"\"plain\"");
    assert!(matches!(a.astring().unwrap(), Cow::Borrowed(b"plain")));
    for bad in [&b"\"open"[..], b"a  b", b"{3}\r\nxy", b"\"bad\\x\"", b"(x"] {
        let mut a = Args::new(bad);
        let first = a.astring();
        let second = first.is_ok().then(|| a.astring());
        assert!(first.is_err() || matches!(second, Some(Err(_))), "{:?} should fail", String::from_utf8_lossy(bad));
    }
}

/// A straightforward framer, kept as the oracle: find each line, and if it announces a literal,
/// take that many bytes and continue with the next line.
fn naive_frames(input: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    while let Some(i) = input[pos..].iter().position(|&b| b == b'\n') {
        let line_end = pos + i + 1;
        let line = String::from_utf8_lossy(&input[pos..line_end]).into_owned();
        let trimmed = line.trim_end_matches(['\r', '\n']);
        let size = trimmed
            .strip_suffix('}')
            .and_then(|s| s.rsplit_once('{'))
            .map(|(_, n)| n.trim_end_matches('+'))
            .and_then(|n| n.parse::<usize>().ok());
        match size {
            Some(n) if line_end + n <= input.len() => pos = line_end + n,
            Some(_) => break,
            None => {
                frames.push(input[start..line_end].to_vec());
                start = line_end;
                pos = line_end;
            }
        }
    }
    frames
}

/// The oracle for refusals, kept naive: frames like [`naive_frames`], but a literal above
/// `max_literal` (or taking the command's literals above four times that) is reported, and when
/// it is non-synchronising its bytes are skipped with the rest of the command: each following line
/// that announces a non-synchronising literal, with that literal, up to the first line that does not.
fn naive_frames_with_refusals(input: &[u8], max_literal: usize) -> Vec<String> {
    let announcement = |line: &[u8]| -> Option<(usize, bool)> {
        let text = String::from_utf8_lossy(line).into_owned();
        let text = text.strip_suffix('\r').unwrap_or(&text);
        let (_, spec) = text.strip_suffix('}')?.rsplit_once('{')?;
        let (digits, sync) = match spec.strip_suffix('+') {
            Some(d) => (d, false),
            None => (spec, true),
        };
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| (digits.parse().ok(), sync))?
            .0
            .map(|n| (n, sync))
    };
    let lf = |from: usize| input[from..].iter().position(|&b| b == b'\n').map(|i| from + i + 1);
    let mut out = Vec::new();
    let (mut start, mut pos, mut total) = (0, 0, 0);
    while let Some(line_end) = lf(pos) {
        match announcement(&input[pos..line_end - 1]) {
            None => {
                out.push(String::from_utf8_lossy(&input[start..line_end]).into_owned());
                (start, pos, total) = (line_end, line_end, 0);
            }
            Some((n, sync)) if n > max_literal || total + n > 4 * max_literal => {
                out.push(format!("TOOLARGE {n}"));
                total = 0;
                let mut p = line_end;
                if !sync {
                    p += n;
                    loop {
                        if p > input.len() {
                            return out;
                        }
                        let Some(end) = lf(p) else { return out };
                        match announcement(&input[p..end - 1]) {
                            Some((m, false)) => p = end + m,
                            _ => {
                                p = end;
                                break;
                            }
                        }
                    }
                }
                (start, pos) = (p, p);
            }
            Some((n, _)) => {
                total += n;
                if line_end + n > input.len() {
                    break;
                }
                pos = line_end + n;
            }
        }
    }
    out
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            "[a-zA-Z0-9 ]{0,12}".prop_map(|s| s.into_bytes()),
            Just(b"\r\n".to_vec()),
            (0usize..6, any::<bool>()).prop_map(|(n, plus)| {
                let mut v = format!("{{{n}{}}}\r\n", if plus { "+" } else { "" }).into_bytes();
                v.extend(std::iter::repeat_n(b'\n', n));
                v
            }),
        ]
    }

    proptest! {
        #[test]
        fn framer_agrees_with_naive_oracle(pieces in proptest::collection::vec(piece(), 0..12), split in 0usize..200) {
            let input: Vec<u8> = pieces.concat();
            let split = split.min(input.len());
            let mut framer = CommandFramer::new(1 << 20, 1 << 20);
            let mut buf = Vec::new();
            let mut got = Vec::new();
            for chunk in [&input[..split], &input[split..]] {
                buf.extend_from_slice(chunk);
                loop {
                    match framer.frame(&buf) {
                        Frame::Command { len } => { got.push(buf[..len].to_vec()); buf.drain(..len); }
                        Frame::Incomplete | Frame::Continue { .. } => break,
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }
            prop_assert_eq!(got, naive_frames(&input));
        }

        #[test]
        fn refusals_agree_with_naive_oracle(pieces in proptest::collection::vec(piece(), 0..16), split in 0usize..200) {
            let input: Vec<u8> = pieces.concat();
            let split = split.min(input.len());
            // Continuation requests ("+N") depend on the split; the oracle has none.
            let got: Vec<String> = frame_all(&input, split, 1 << 20, 3).into_iter().filter(|f| !f.starts_with('+')).collect();
            prop_assert_eq!(got, naive_frames_with_refusals(&input, 3));
        }
    }
}
