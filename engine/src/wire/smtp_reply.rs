//! SMTP and LMTP replies (RFC 5321 §4.2), sans I/O: what the MTA reads back from the MDA.
//!
//! ```text
//! reply-line = *( reply-code "-" [ textstring ] CRLF )
//!              reply-code [ SP textstring ] CRLF
//! reply-code = %x32-35 %x30-35 %x30-39
//! ```
//!
//! [`parse_reply`] looks for one whole reply at the start of a buffer with memchr; "need more
//! bytes" is [`ReplyParse::Incomplete`]. Lines may end in a bare LF; every line of a multi-line
//! reply must carry the same code.

use memchr::memchr;

/// One complete reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The text of each line, after the code and its separator.
    pub lines: Vec<String>,
}

impl Reply {
    /// 2xx.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 3xx (`354` after `DATA`).
    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    /// 5xx: the same command will fail again.
    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// The reply as one line, `550 5.1.1 No such user here`, for logs, queue entries and bounces.
    pub fn summary(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" ").trim())
    }

    /// The enhanced status code (RFC 3463) at the start of the text, if there is one.
    pub fn enhanced_status(&self) -> Option<&str> {
        let first = self.lines.first()?.split(' ').next()?;
        let mut parts = first.split('.');
        let class = parts.next()?;
        let ok = matches!(class, "2" | "4" | "5")
            && parts.clone().count() == 2
            && parts.all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
        ok.then_some(first)
    }

    /// Whether a line of an `EHLO`/`LHLO` reply names `keyword` (case-insensitively).
    pub fn has_keyword(&self, keyword: &str) -> bool {
        self.lines.iter().skip(1).any(|line| line.split(' ').next().is_some_and(|k| k.eq_ignore_ascii_case(keyword)))
    }
}

/// What [`parse_reply`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyParse {
    /// `buf[..len]` holds one whole reply.
    Complete { reply: Reply, len: usize },
    /// No whole reply yet: read more.
    Incomplete,
    /// Not a reply (or longer than allowed): the peer is not speaking SMTP/LMTP.
    Invalid(&'static str),
}

/// Looks for one reply at the start of `buf`, of at most `max_bytes`.
pub fn parse_reply(buf: &[u8], max_bytes: usize) -> ReplyParse {
    let mut lines = Vec::new();
    let mut code = None;
    let mut at = 0;
    loop {
        let Some(end) = memchr(b'\n', &buf[at..]) else {
            return if buf.len() > max_bytes { ReplyParse::Invalid("reply too long") } else { ReplyParse::Incomplete };
        };
        let line = &buf[at..at + end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        at += end + 1;
        if at > max_bytes {
            return ReplyParse::Invalid("reply too long");
        }
        if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) || !(b'2'..=b'5').contains(&line[0]) {
            return ReplyParse::Invalid("not a reply code");
        }
        let this = line[..3].iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        if code.is_some_and(|c| c != this) {
            return ReplyParse::Invalid("reply code changes within a multi-line reply");
        }
        code = Some(this);
        let more = match line.get(3) {
            None | Some(b' ') => false,
            Some(b'-') => true,
            Some(_) => return ReplyParse::Invalid("no separator after the reply code"),
        };
        lines.push(String::from_utf8_lossy(line.get(4..).unwrap_or_default()).into_owned());
        if !more {
            return ReplyParse::Complete { reply: Reply { code: this, lines }, len: at };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: &[u8]) -> ReplyParse {
        parse_reply(input, 1024)
    }

    #[test]
    fn single_and_multi_line_replies() {
        let ReplyParse::Complete { reply, len } = parsed(b"250 2.1.0 Sender OK\r\nnext") else { panic!() };
        assert_eq!((reply.code, len, reply.summary()), (250, 21, "250 2.1.0 Sender OK".to_string()));
        assert_eq!(reply.enhanced_status(), Some("2.1.0"));
        let lhlo = b"250-mda.example\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 ENHANCEDSTATUSCODES\r\n";
        let ReplyParse::Complete { reply, len } = parsed(lhlo) else { panic!() };
        assert_eq!(len, lhlo.len());
        assert!(reply.has_keyword("chunking") && reply.has_keyword("PIPELINING"));
        assert!(!reply.has_keyword("mda.example"), "the first line is the greeting, not a keyword");
        let ReplyParse::Complete { reply, .. } = parsed(b"354\n") else { panic!() };
        assert!(reply.is_intermediate() && reply.enhanced_status().is_none());
        let ReplyParse::Complete { reply, .. } = parsed(b"550 No such user\r\n") else { panic!() };
        assert!(reply.is_permanent() && reply.enhanced_status().is_none());
    }

    #[test]
    fn incomplete_and_invalid() {
        assert_eq!(parsed(b"250-first\r\n250 sec"), ReplyParse::Incomplete);
        assert_eq!(parsed(b""), ReplyParse::Incomplete);
        assert_eq!(parsed(b"hello\r\n"), ReplyParse::Invalid("not a reply code"));
        assert_eq!(parsed(b"650 x\r\n"), ReplyParse::Invalid("not a reply code"));
        assert_eq!(parsed(b"250-a\r\n251 b\r\n"), ReplyParse::Invalid("reply code changes within a multi-line reply"));
        assert_eq!(parsed(b"250x\r\n"), ReplyParse::Invalid("no separator after the reply code"));
        assert_eq!(parse_reply(&[b'2'; 2000], 1024), ReplyParse::Invalid("reply too long"));
    }

    #[test]
    fn every_split_of_a_pipelined_batch_parses_the_same() {
        let batch: &[u8] = b"250 2.1.0 OK\r\n550 5.1.1 <x@y> unknown\r\n250-a\r\n250 b\r\n";
        let expected = [250, 550, 250];
        for split in 0..=batch.len() {
            let mut buf = batch[..split].to_vec();
            let mut codes = Vec::new();
            let mut fed = false;
            loop {
                match parsed(&buf) {
                    ReplyParse::Complete { reply, len } => {
                        codes.push(reply.code);
                        buf.drain(..len);
                    }
                    ReplyParse::Incomplete if !fed => {
                        buf.extend_from_slice(&batch[split..]);
                        fed = true;
                    }
                    ReplyParse::Incomplete => break,
                    ReplyParse::Invalid(why) => panic!("split {split}: {why}"),
                }
            }
            assert_eq!(codes, expected, "split {split}");
        }
    }
}
