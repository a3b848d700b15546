//! Workloads and naive baselines shared by the benches, kept in a library so that `cargo test`
//! checks that every fast path and its baseline agree (bench targets use `harness = false`, where
//! `#[test]` functions would never run).

use engine::wire::imap;
use engine::wire::smtp_data::DataDecoder;

/// A pipelined IMAP stream: 1,000 commands, every tenth with a 200-byte literal.
pub fn imap_stream() -> Vec<u8> {
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

pub fn frame_fast(input: &[u8]) -> usize {
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
pub fn frame_naive(input: &[u8]) -> usize {
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

pub fn smtp_lines() -> Vec<&'static [u8]> {
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
pub fn smtp_naive(line: &[u8]) -> usize {
    let text = String::from_utf8_lossy(line).trim_end().to_uppercase();
    let mut parts = text.split(' ');
    let verb = parts.next().unwrap_or_default().to_string();
    let args: Vec<String> = parts.map(str::to_string).collect();
    verb.len() + args.iter().map(String::len).sum::<usize>()
}

/// A realistic ~1 MB DATA payload as it travels on the wire: headers, a text part and a base64
/// attachment (76-column lines), with some lines dot-stuffed (a quoted `.` line, `...` ellipses,
/// `.signature`-style lines), ending in `.` CRLF. Returns (wire bytes, the unstuffed content).
pub fn data_payload() -> (Vec<u8>, Vec<u8>) {
    let mut content: Vec<Vec<u8>> = vec![
        b"Received: from mta.remote.example (mta.remote.example [192.0.2.7]) by mx.example.test".to_vec(),
        b"From: Sender <sender@remote.example>".to_vec(),
        b"To: user@example.test".to_vec(),
        b"Subject: quarterly report".to_vec(),
        b"MIME-Version: 1.0".to_vec(),
        b"Content-Type: multipart/mixed; boundary=\"b1\"".to_vec(),
        Vec::new(),
        b"--b1".to_vec(),
        b"Content-Type: text/plain; charset=utf-8".to_vec(),
        Vec::new(),
    ];
    for i in 0..400 {
        content.push(match i % 8 {
            0 => b".".to_vec(),
            1 => format!("...and so on, line {i} of the text part.").into_bytes(),
            2 => b".signature: a line that starts with a dot".to_vec(),
            _ => format!("Line {i}: the quick brown fox jumps over the lazy dog, again and again.").into_bytes(),
        });
    }
    content.push(b"--b1".to_vec());
    content.push(b"Content-Type: application/octet-stream".to_vec());
    content.push(b"Content-Transfer-Encoding: base64".to_vec());
    content.push(Vec::new());
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x: u32 = 0x1234_5678;
    let mut size: usize = content.iter().map(|l| l.len() + 2).sum();
    while size < 1_000_000 {
        let line: Vec<u8> = (0..76)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                alphabet[(x % 64) as usize]
            })
            .collect();
        size += line.len() + 2;
        content.push(line);
    }
    content.push(b"--b1--".to_vec());
    let mut wire = Vec::with_capacity(size + 1024);
    let mut plain = Vec::with_capacity(size);
    for line in &content {
        if line.first() == Some(&b'.') {
            wire.push(b'.');
        }
        wire.extend_from_slice(line);
        wire.extend_from_slice(b"\r\n");
        plain.extend_from_slice(line);
        plain.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b".\r\n");
    (wire, plain)
}

pub const DATA_CHUNK: usize = 16 * 1024;

/// The engine's decoder, fed 16 KiB chunks as a socket would deliver them.
pub fn unstuff_fast(wire: &[u8]) -> Vec<u8> {
    let mut decoder = DataDecoder::new();
    let mut out = Vec::new();
    for chunk in wire.chunks(DATA_CHUNK) {
        if decoder.decode(chunk, &mut out).end {
            break;
        }
    }
    assert!(decoder.is_done());
    out
}

/// Baseline: buffer the chunks, cut complete lines with a byte loop, stop at the `.` line, strip
/// a leading dot, join the lines again.
pub fn unstuff_naive(wire: &[u8]) -> Vec<u8> {
    let mut pending: Vec<u8> = Vec::new();
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut done = false;
    for chunk in wire.chunks(DATA_CHUNK) {
        pending.extend_from_slice(chunk);
        let mut start = 0;
        let mut i = 0;
        while i + 1 < pending.len() {
            if pending[i] == b'\r' && pending[i + 1] == b'\n' {
                let line = &pending[start..i];
                if line == b"." {
                    done = true;
                    break;
                }
                let line = line.strip_prefix(b".").unwrap_or(line);
                lines.push(line.to_vec());
                i += 2;
                start = i;
            } else {
                i += 1;
            }
        }
        if done {
            break;
        }
        pending.drain(..start);
    }
    assert!(done);
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(&line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_and_naive_agree() {
        assert_eq!(frame_fast(&imap_stream()), frame_naive(&imap_stream()));
    }

    #[test]
    fn data_decoder_and_naive_agree() {
        let (wire, plain) = data_payload();
        assert!(wire.len() > 1_000_000 && wire.windows(3).filter(|w| w == b"\n..").count() >= 100);
        assert_eq!(unstuff_fast(&wire), plain);
        assert_eq!(unstuff_naive(&wire), plain);
    }
}
