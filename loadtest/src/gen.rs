//! Seeded generator of test messages: plain text, multipart/alternative (text + HTML) and
//! multipart/mixed with a base64 attachment, 2-100 KB unless a size is fixed. The same seed gives
//! the same messages, so two servers in a side-by-side run receive the same bytes.
//!
//! Every line ends in CRLF, no line starts with `.`, and no line is longer than 78 characters, so
//! the bytes go into SMTP DATA as they are (only the terminating `.` is added).

use base64::Engine;

/// xorshift64*: small, fast, good enough for picking words and sizes.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

const WORDS: &[&str] = &[
    "mail", "server", "queue", "delivery", "latency", "the", "a", "of", "and", "to", "report", "meeting", "budget",
    "invoice", "please", "find", "attached", "thanks", "regards", "tomorrow", "project", "status", "update", "review",
    "draft", "final", "version", "customer", "order", "shipping", "schedule", "question", "answer", "team", "weekly",
];

/// What kind of message [`message`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Alternative,
    Attachment,
}

/// Builds one message of about `size` bytes (at least 2 KB of body less headers).
pub fn message(rng: &mut Rng, from: &str, to: &str, size: usize, seq: u64) -> Vec<u8> {
    let kind = match rng.next() % 3 {
        0 => Kind::Text,
        1 => Kind::Alternative,
        _ => Kind::Attachment,
    };
    let subject = sentence(rng, 6);
    let mut m = format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject} #{seq}\r\nDate: Thu, 03 Dec 2026 12:00:00 +0000\r\n\
         Message-ID: <lt-{seq}-{}@loadtest.invalid>\r\nMIME-Version: 1.0\r\n",
        rng.next()
    );
    let budget = size.saturating_sub(m.len() + 200).max(200);
    match kind {
        Kind::Text => {
            m.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
            m.push_str(&paragraphs(rng, budget));
        }
        Kind::Alternative => {
            let b = format!("alt-{}", rng.next());
            m.push_str(&format!("Content-Type: multipart/alternative; boundary=\"{b}\"\r\n\r\n"));
            let text = paragraphs(rng, budget / 2);
            m.push_str(&format!("--{b}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}"));
            m.push_str(&format!("--{b}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>\r\n"));
            // `<p>` tags add about a tenth.
            for line in paragraphs(rng, budget * 2 / 5).split("\r\n").filter(|l| !l.is_empty()) {
                m.push_str(&format!("<p>{line}</p>\r\n"));
            }
            m.push_str(&format!("</body></html>\r\n--{b}--\r\n"));
        }
        Kind::Attachment => {
            let b = format!("mix-{}", rng.next());
            m.push_str(&format!("Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n"));
            let text = paragraphs(rng, 600.min(budget / 4));
            m.push_str(&format!("--{b}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}"));
            // base64 grows 4/3: raw bytes for the rest of the budget.
            let raw: Vec<u8> = (0..(budget.saturating_sub(text.len()) * 3 / 4)).map(|_| rng.next() as u8).collect();
            let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
            m.push_str(&format!(
                "--{b}\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n\
                 Content-Disposition: attachment; filename=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            ));
            for chunk in encoded.as_bytes().chunks(76) {
                m.push_str(&String::from_utf8_lossy(chunk));
                m.push_str("\r\n");
            }
            m.push_str(&format!("--{b}--\r\n"));
        }
    }
    m.into_bytes()
}

/// A message size in bytes: `fixed_kb` if given, else uniform in 2-100 KB.
pub fn size(rng: &mut Rng, fixed_kb: Option<u64>) -> usize {
    (fixed_kb.unwrap_or_else(|| rng.range(2, 100)) * 1024) as usize
}

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut s: Vec<&str> = (0..words).map(|_| WORDS[rng.next() as usize % WORDS.len()]).collect();
    let first = s[0].to_string();
    let capital = first[..1].to_uppercase() + &first[1..];
    s[0] = &capital;
    s.join(" ")
}

/// Lines of at most 72 characters until `bytes` is reached, blank lines between paragraphs.
fn paragraphs(rng: &mut Rng, bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 80);
    let mut line = String::new();
    while out.len() + line.len() < bytes {
        let word = WORDS[rng.next() as usize % WORDS.len()];
        if line.len() + word.len() + 1 > 72 {
            out.push_str(&line);
            out.push_str("\r\n");
            line.clear();
            if rng.next() % 6 == 0 {
                out.push_str("\r\n");
            }
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_messages_repeat_and_respect_the_size_and_smtp_rules() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for seq in 0..30 {
            let size = size(&mut a, None);
            assert_eq!(size, super::size(&mut b, None));
            let m = message(&mut a, "u1@example.test", "u2@example.test", size, seq);
            assert_eq!(m, message(&mut b, "u1@example.test", "u2@example.test", size, seq));
            let text = String::from_utf8(m).unwrap();
            assert!(text.len() > size * 8 / 10 && text.len() < size * 11 / 10, "{} vs {size}", text.len());
            for line in text.split("\r\n") {
                assert!(!line.starts_with('.') && line.len() <= 998 && !line.contains('\n'));
            }
        }
    }
}
