//! SMTP and LMTP client sessions: submission (implicit TLS + `AUTH PLAIN`), MX (`EHLO`,
//! `STARTTLS`, `EHLO` again, or plaintext) and LMTP (`LHLO`, one reply per accepted recipient after
//! the data). A session sends many messages, `RSET` between them.
//!
//! Failures are named by protocol, reply code and stage (`SMTP 550 at RCPT`, `LMTP 452 at DATA
//! end`), so the report counts them by what the server said and when.

use crate::client::{Conn, Endpoint};
use anyhow::{anyhow, bail};
use base64::Engine;
use std::borrow::Cow;
use std::path::PathBuf;

/// The name of this client in `EHLO`/`LHLO`.
const HELO_NAME: &str = "loadtest.invalid";

/// Which of the two protocols a session speaks: the greeting verb, how many replies follow the
/// data, and the label of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Smtp,
    Lmtp,
}

impl Dialect {
    fn label(self) -> &'static str {
        match self {
            Dialect::Smtp => "SMTP",
            Dialect::Lmtp => "LMTP",
        }
    }
}

/// Where an LMTP server listens.
#[derive(Debug, Clone)]
pub enum LmtpAddress {
    Unix(PathBuf),
    Tcp(String),
}

/// One reply: its code and the text of each line (after the code and separator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

/// Collects reply lines into replies (`250-first`, `250 last`), RFC 5321 §4.2.1.
#[derive(Debug, Default)]
pub struct ReplyParser {
    code: Option<u16>,
    lines: Vec<String>,
}

impl ReplyParser {
    /// Feeds one line without its CRLF; returns the reply when the line was its last.
    pub fn push(&mut self, line: &str) -> anyhow::Result<Option<Reply>> {
        let code = line
            .get(..3)
            .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| anyhow!("malformed reply {line:?}"))?;
        if self.code.is_some_and(|c| c != code) {
            bail!("reply code changed within a multi-line reply: {line:?}");
        }
        self.code = Some(code);
        let last = match line.as_bytes().get(3) {
            None | Some(b' ') => true,
            Some(b'-') => false,
            Some(_) => bail!("malformed reply {line:?}"),
        };
        self.lines.push(line.get(4..).unwrap_or("").to_string());
        if !last {
            return Ok(None);
        }
        self.code = None;
        Ok(Some(Reply { code, lines: std::mem::take(&mut self.lines) }))
    }
}

/// What the replies after the data say: LMTP sends one per accepted recipient, SMTP one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataOutcome {
    /// Recipients whose reply was 2xx.
    pub delivered: u64,
    /// The first reply that was not.
    pub first_failure: Option<u16>,
}

/// Counts the replies after the data.
pub fn data_outcome(replies: &[Reply]) -> DataOutcome {
    let delivered = replies.iter().filter(|r| r.code / 100 == 2).count() as u64;
    let first_failure = replies.iter().map(|r| r.code).find(|c| c / 100 != 2);
    DataOutcome { delivered, first_failure }
}

/// The message as DATA bytes: line ends made CRLF, a leading `.` doubled (RFC 5321 §4.5.2), a
/// final CRLF added; borrowed when nothing changes (the generator's messages).
pub fn data_bytes(message: &[u8]) -> Cow<'_, [u8]> {
    let bare_lf = message.iter().enumerate().any(|(i, &b)| b == b'\n' && (i == 0 || message[i - 1] != b'\r'));
    let dot = message.first() == Some(&b'.') || message.windows(2).any(|w| w == b"\n.");
    if !bare_lf && !dot && message.ends_with(b"\r\n") {
        return Cow::Borrowed(message);
    }
    let mut out = Vec::with_capacity(message.len() + message.len() / 50 + 2);
    let mut line_start = true;
    for (i, &b) in message.iter().enumerate() {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        if b == b'\n' && (i == 0 || message[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    Cow::Owned(out)
}

/// A session that sends many messages.
pub struct Session {
    conn: Conn,
    dialect: Dialect,
    /// Transactions started on this session (the next one begins with `RSET`).
    sent: u64,
    /// The server announced `SIZE` in its last `EHLO`/`LHLO` reply (else `MAIL` goes without it).
    size: bool,
    /// The server announced `PIPELINING` (RFC 2920) in its last `EHLO`/`LHLO` reply.
    offers_pipelining: bool,
    /// Send `RSET`, `MAIL`, the `RCPT`s and `DATA` in one write (see [`Session::pipelined`]).
    pipeline: bool,
}

impl Session {
    /// Submission: TLS connect, greeting, `EHLO`, `AUTH PLAIN`.
    pub fn submission(endpoint: &Endpoint, user: &str, password: &str) -> anyhow::Result<Session> {
        let mut s = Session::over(Conn::open(endpoint)?, Dialect::Smtp);
        s.expect(2, "greeting")?;
        s.hello(&format!("EHLO {HELO_NAME}"), "EHLO")?;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        s.command(&format!("AUTH PLAIN {token}"), 2, "AUTH")?;
        Ok(s)
    }

    /// MX: plaintext connect, greeting, `EHLO`, then `STARTTLS` and `EHLO` again unless
    /// `plaintext`.
    pub fn mx(endpoint: &Endpoint, plaintext: bool) -> anyhow::Result<Session> {
        let mut s = Session::over(Conn::open_plain(&endpoint.address)?, Dialect::Smtp);
        s.expect(2, "greeting")?;
        let ehlo = s.hello(&format!("EHLO {HELO_NAME}"), "EHLO")?;
        if plaintext {
            return Ok(s);
        }
        if !ehlo.lines.iter().skip(1).any(|l| l.eq_ignore_ascii_case("STARTTLS")) {
            bail!("the MX at {} does not offer STARTTLS (--mx-plaintext sends mail without TLS)", endpoint.address);
        }
        s.command("STARTTLS", 2, "STARTTLS")?;
        s.conn.start_tls(endpoint)?;
        s.hello(&format!("EHLO {HELO_NAME}"), "EHLO after STARTTLS")?;
        Ok(s)
    }

    /// LMTP: connect, greeting, `LHLO`.
    pub fn lmtp(address: &LmtpAddress) -> anyhow::Result<Session> {
        let conn = match address {
            LmtpAddress::Unix(path) => Conn::open_unix(path)?,
            LmtpAddress::Tcp(addr) => Conn::open_plain(addr)?,
        };
        let mut s = Session::over(conn, Dialect::Lmtp);
        s.expect(2, "greeting")?;
        s.hello(&format!("LHLO {HELO_NAME}"), "LHLO")?;
        Ok(s)
    }

    /// `EHLO`/`LHLO`; remembers whether the server takes `SIZE=` and pipelined commands.
    fn hello(&mut self, line: &str, stage: &str) -> anyhow::Result<Reply> {
        let reply = self.command(line, 2, stage)?;
        let offers = |extension: &str| {
            reply.lines.iter().skip(1).any(|l| l.split(' ').next().is_some_and(|k| k.eq_ignore_ascii_case(extension)))
        };
        self.size = offers("SIZE");
        self.offers_pipelining = offers("PIPELINING");
        Ok(reply)
    }

    /// From now on sends each transaction's `RSET`, `MAIL FROM`, `RCPT TO`s and `DATA` in one write
    /// and then reads their replies, as MTAs do with a server that offers `PIPELINING` (RFC 2920):
    /// two round trips per message instead of four or five. Fails if the server does not offer it.
    pub fn pipelined(mut self) -> anyhow::Result<Session> {
        if !self.offers_pipelining {
            bail!("the {} server does not offer PIPELINING (run without --pipelining)", self.dialect.label());
        }
        self.pipeline = true;
        Ok(self)
    }

    /// The `MAIL FROM` line, with `SIZE=` when the server announced it.
    fn mail_line(&self, from: &str, size: usize) -> String {
        if self.size {
            format!("MAIL FROM:<{from}> SIZE={size}\r\n")
        } else {
            format!("MAIL FROM:<{from}>\r\n")
        }
    }

    /// `MAIL FROM`, with `SIZE=` when the server announced it.
    fn mail_from(&mut self, from: &str, size: usize) -> anyhow::Result<Reply> {
        let line = self.mail_line(from, size);
        self.conn.send(&line).map_err(|e| anyhow!("{e} at MAIL"))?;
        self.expect(2, "MAIL")
    }

    fn reply(&mut self) -> anyhow::Result<Reply> {
        let mut parser = ReplyParser::default();
        loop {
            if let Some(reply) = parser.push(&self.conn.line()?)? {
                return Ok(reply);
            }
        }
    }

    /// Reads a reply and checks its class (2 or 3); a failure names the code and `stage`.
    fn expect(&mut self, class: u16, stage: &str) -> anyhow::Result<Reply> {
        let reply = self.reply().map_err(|e| anyhow!("{e} at {stage}"))?;
        if reply.code / 100 != class {
            bail!("{} {} at {stage}", self.dialect.label(), reply.code);
        }
        Ok(reply)
    }

    fn command(&mut self, line: &str, class: u16, stage: &str) -> anyhow::Result<Reply> {
        self.conn.send(&format!("{line}\r\n")).map_err(|e| anyhow!("{e} at {stage}"))?;
        self.expect(class, stage)
    }

    /// A check that the server takes mail from `from` without sending any: `MAIL FROM`, `RSET`.
    pub fn probe_sender(&mut self, from: &str) -> anyhow::Result<()> {
        self.mail_from(from, 1000)?;
        self.command("RSET", 2, "RSET")?;
        Ok(())
    }

    /// One mail transaction (`RSET` first on a used session): `MAIL FROM`, a `RCPT TO` per
    /// recipient, `DATA`, the message, and the reply (SMTP) or the replies, one per accepted
    /// recipient (LMTP), to the final dot. Adds the recipients delivered to `delivered`, also when
    /// it fails; any refused recipient or failed delivery is an error naming the first failing
    /// code and stage.
    pub fn send(&mut self, from: &str, to: &[String], message: &[u8], delivered: &mut u64) -> anyhow::Result<()> {
        if self.pipeline {
            return self.send_pipelined(from, to, message, delivered);
        }
        if self.sent > 0 {
            self.command("RSET", 2, "RSET")?;
        }
        self.sent += 1;
        self.mail_from(from, message.len())?;
        let mut accepted = 0;
        let mut refused = None;
        for rcpt in to {
            self.conn.send(&format!("RCPT TO:<{rcpt}>\r\n")).map_err(|e| anyhow!("{e} at RCPT"))?;
            self.rcpt_reply(&mut accepted, &mut refused)?;
        }
        if accepted == 0 {
            bail!("{} {} at RCPT", self.dialect.label(), refused.unwrap_or(0));
        }
        self.command("DATA", 3, "DATA")?;
        self.data(message, accepted, refused, delivered)
    }

    /// [`Session::send`] with the commands before the message in one write. Every reply is read
    /// before anything is decided, so that a refusal leaves the session in step (a server that
    /// goes ahead with `354` although it refused the transaction is left: see below).
    fn send_pipelined(&mut self, from: &str, to: &[String], message: &[u8], delivered: &mut u64) -> anyhow::Result<()> {
        let reset = self.sent > 0;
        self.sent += 1;
        let mut batch = String::with_capacity(64 + to.len() * 40);
        if reset {
            batch.push_str("RSET\r\n");
        }
        batch.push_str(&self.mail_line(from, message.len()));
        for rcpt in to {
            batch.push_str(&format!("RCPT TO:<{rcpt}>\r\n"));
        }
        batch.push_str("DATA\r\n");
        self.conn.send(&batch).map_err(|e| anyhow!("{e} at MAIL"))?;
        let mut first_failure: Option<(u16, &str)> = None;
        let mut fail = |code: u16, stage| {
            first_failure.get_or_insert((code, stage));
        };
        if reset {
            let r = self.reply().map_err(|e| anyhow!("{e} at RSET"))?;
            if r.code / 100 != 2 {
                fail(r.code, "RSET");
            }
        }
        let r = self.reply().map_err(|e| anyhow!("{e} at MAIL"))?;
        if r.code / 100 != 2 {
            fail(r.code, "MAIL");
        }
        let mut accepted = 0;
        let mut refused = None;
        for _ in to {
            self.rcpt_reply(&mut accepted, &mut refused)?;
        }
        if accepted == 0 {
            fail(refused.unwrap_or(0), "RCPT");
        }
        let go_ahead = self.reply().map_err(|e| anyhow!("{e} at DATA"))?;
        let label = self.dialect.label();
        if go_ahead.code / 100 != 3 {
            let (code, stage) = first_failure.unwrap_or((go_ahead.code, "DATA"));
            bail!("{label} {code} at {stage}");
        }
        if let Some((code, stage)) = first_failure {
            // The server waits for a message that belongs to no transaction: leave it, in words
            // that do not start with the label, so the caller drops this session.
            bail!("server sent 354 to DATA after {label} {code} at {stage}");
        }
        self.data(message, accepted, refused, delivered)
    }

    /// Reads the reply to one `RCPT TO`: counts it as accepted, or keeps the first refusal's code.
    fn rcpt_reply(&mut self, accepted: &mut usize, refused: &mut Option<u16>) -> anyhow::Result<()> {
        let reply = self.reply().map_err(|e| anyhow!("{e} at RCPT"))?;
        if reply.code / 100 == 2 {
            *accepted += 1;
        } else {
            refused.get_or_insert(reply.code);
        }
        Ok(())
    }

    /// After `354`: the message, the final dot, and the reply (SMTP) or one reply per accepted
    /// recipient (LMTP); counts the deliveries and names the first failure.
    fn data(
        &mut self,
        message: &[u8],
        accepted: usize,
        refused: Option<u16>,
        delivered: &mut u64,
    ) -> anyhow::Result<()> {
        let label = self.dialect.label();
        let data = data_bytes(message);
        self.conn.send_bytes(&data).map_err(|e| anyhow!("{e} at DATA body"))?;
        self.conn.send(".\r\n").map_err(|e| anyhow!("{e} at DATA body"))?;
        let expected = if self.dialect == Dialect::Lmtp { accepted } else { 1 };
        let mut replies = Vec::with_capacity(expected);
        for _ in 0..expected {
            replies.push(self.reply().map_err(|e| anyhow!("{e} at DATA end"))?);
        }
        let outcome = data_outcome(&replies);
        *delivered +=
            if self.dialect == Dialect::Lmtp { outcome.delivered } else { accepted as u64 * outcome.delivered };
        if let Some(code) = outcome.first_failure {
            bail!("{label} {code} at DATA end");
        }
        if let Some(code) = refused {
            bail!("{label} {code} at RCPT");
        }
        Ok(())
    }

    /// A session over `conn` before its greeting (and, in tests, one whose hello is done).
    fn over(conn: Conn, dialect: Dialect) -> Session {
        Session { conn, dialect, sent: 0, size: false, offers_pipelining: false, pipeline: false }
    }

    /// Transactions started on this session.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    pub fn quit(mut self) -> anyhow::Result<()> {
        self.command("QUIT", 2, "QUIT").map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replies(lines: &[&str]) -> Vec<Reply> {
        let mut parser = ReplyParser::default();
        lines.iter().filter_map(|l| parser.push(l).unwrap()).collect()
    }

    #[test]
    fn multi_line_replies_end_at_the_space_separator() {
        let r = replies(&["250-mx.example.test", "250-PIPELINING", "250 STARTTLS", "354 go ahead", "221"]);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].code, 250);
        assert_eq!(r[0].lines, ["mx.example.test", "PIPELINING", "STARTTLS"]);
        assert_eq!((r[1].code, r[2].code), (354, 221));
        let mut p = ReplyParser::default();
        assert!(p.push("hello").is_err());
        assert!(p.push("250-a").unwrap().is_none());
        assert!(p.push("251 b").is_err(), "code changed mid-reply");
        assert!(ReplyParser::default().push("250x").is_err());
    }

    #[test]
    fn lmtp_counts_one_reply_per_accepted_recipient() {
        let r = replies(&["250 2.0.0 <a> saved", "452-4.2.2 <b>", "452 4.2.2 over quota", "250 2.0.0 <c> saved"]);
        assert_eq!(r.len(), 3);
        assert_eq!(data_outcome(&r), DataOutcome { delivered: 2, first_failure: Some(452) });
        assert_eq!(data_outcome(&r[..1]), DataOutcome { delivered: 1, first_failure: None });
        assert_eq!(data_outcome(&[]), DataOutcome { delivered: 0, first_failure: None });
    }

    /// What the scripted server saw: the message lines, and for each `MAIL FROM` whether the
    /// client's `DATA` had already arrived with it (the commands came pipelined).
    #[derive(Debug, Default)]
    struct Seen {
        data: Vec<u8>,
        mail_with_data: Vec<bool>,
    }

    /// A scripted LMTP server on the other end of a socket pair: it offers `PIPELINING`, refuses
    /// `RCPT` to an address starting with `bad` and accepts the others, refuses `DATA` when no
    /// recipient was accepted (RFC 2920 §3.1), and after the data sends the replies in
    /// `after_data`.
    fn lmtp_server(end: std::os::unix::net::UnixStream, after_data: &'static str) -> std::thread::JoinHandle<Seen> {
        use std::io::{BufRead, BufReader, Write};
        std::thread::spawn(move || {
            let mut out = end.try_clone().unwrap();
            let mut seen = Seen::default();
            let mut reader = BufReader::new(end);
            let mut in_data = false;
            let mut accepted = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 0 {
                let reply = if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        after_data
                    } else {
                        seen.data.extend_from_slice(line.as_bytes());
                        ""
                    }
                } else if line.starts_with("LHLO") {
                    "250-mda.example.test\r\n250 PIPELINING\r\n"
                } else if line.starts_with("MAIL") {
                    seen.mail_with_data.push(reader.buffer().windows(6).any(|w| w == b"DATA\r\n"));
                    accepted = 0;
                    "250 ok\r\n"
                } else if line.starts_with("RCPT TO:<bad") {
                    "550 5.1.1 no such user\r\n"
                } else if line.starts_with("RCPT") {
                    accepted += 1;
                    "250 ok\r\n"
                } else if line.starts_with("DATA") && accepted == 0 {
                    "554 5.5.1 no valid recipients\r\n"
                } else if line.starts_with("DATA") {
                    in_data = true;
                    "354 go ahead\r\n"
                } else if line.starts_with("QUIT") {
                    out.write_all(b"221 bye\r\n").unwrap();
                    break;
                } else {
                    "250 ok\r\n"
                };
                out.write_all(reply.as_bytes()).unwrap();
                line.clear();
            }
            seen
        })
    }

    #[test]
    fn an_lmtp_transaction_reads_one_reply_per_accepted_recipient() {
        let to = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // Two of three accepted: exactly two replies after the dot, the second a deferral.
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let server = lmtp_server(b, "250 2.0.0 stored\r\n452 4.2.2 over quota\r\n");
        let mut s = Session::over(Conn::from_unix(a), Dialect::Lmtp);
        let mut delivered = 0;
        let e = s.send("f@x", &to(&["u1@x", "bad@x", "u2@x"]), b"Subject: t\r\n\r\n.dot\r\n", &mut delivered);
        assert_eq!(e.unwrap_err().to_string(), "LMTP 452 at DATA end");
        assert_eq!(delivered, 1);
        // The session is still in step: the next transaction (after RSET) succeeds.
        s.quit().unwrap();
        server.join().unwrap();
        let server_ok = "250 2.0.0 stored\r\n250 2.0.0 stored\r\n";
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let server = lmtp_server(b, server_ok);
        let mut s = Session::over(Conn::from_unix(a), Dialect::Lmtp);
        s.send("f@x", &to(&["u1@x", "u2@x"]), b"Subject: t\r\n\r\n.dot\r\n", &mut delivered).unwrap();
        s.send("f@x", &to(&["u1@x", "bad@x", "u2@x"]), b"x\r\n", &mut delivered).unwrap_err();
        assert_eq!(delivered, 5);
        s.quit().unwrap();
        let seen = server.join().unwrap();
        assert!(seen.data.windows(7).any(|w| w == b"..dot\r\n"), "dot-stuffed");
        assert_eq!(seen.mail_with_data, [false, false], "one command at a time unless pipelined");
        // None accepted: no DATA at all.
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let server = lmtp_server(b, server_ok);
        let mut s = Session::over(Conn::from_unix(a), Dialect::Lmtp);
        let e = s.send("f@x", &to(&["bad1@x"]), b"x\r\n", &mut delivered).unwrap_err();
        assert_eq!(e.to_string(), "LMTP 550 at RCPT");
        s.quit().unwrap();
        assert!(server.join().unwrap().data.is_empty());
    }

    #[test]
    fn a_pipelined_transaction_sends_its_commands_at_once_and_stays_in_step() {
        let to = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let e = Session::over(Conn::from_unix(a), Dialect::Smtp).pipelined().err().unwrap();
        assert_eq!(e.to_string(), "the SMTP server does not offer PIPELINING (run without --pipelining)");

        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let server = lmtp_server(b, "250 2.0.0 stored\r\n452 4.2.2 over quota\r\n");
        let mut s = Session::over(Conn::from_unix(a), Dialect::Lmtp);
        s.hello("LHLO t", "LHLO").unwrap();
        let mut s = s.pipelined().unwrap();
        let mut delivered = 0;
        // One of three refused, one deferred after the data.
        let e = s.send("f@x", &to(&["u1@x", "bad@x", "u2@x"]), b"Subject: t\r\n\r\n.dot\r\n", &mut delivered);
        assert_eq!(e.unwrap_err().to_string(), "LMTP 452 at DATA end");
        assert_eq!(delivered, 1);
        // Every recipient refused: DATA is refused too, and the session stays in step.
        let e = s.send("f@x", &to(&["bad1@x", "bad2@x"]), b"x\r\n", &mut delivered);
        assert_eq!(e.unwrap_err().to_string(), "LMTP 550 at RCPT");
        s.send("f@x", &to(&["u1@x", "u2@x"]), b"y\r\n", &mut delivered).unwrap_err();
        assert_eq!(delivered, 2);
        s.quit().unwrap();
        let seen = server.join().unwrap();
        assert_eq!(seen.mail_with_data, [true, true, true], "MAIL, RCPTs and DATA in one write");
        assert!(seen.data.windows(7).any(|w| w == b"..dot\r\n"), "dot-stuffed");
        assert!(!seen.data.windows(3).any(|w| w == b"x\r\n"), "nothing sent for the refused transaction");
    }

    #[test]
    fn data_bytes_stuffs_dots_and_makes_crlf() {
        assert!(matches!(data_bytes(b"a\r\nb\r\n"), Cow::Borrowed(_)));
        assert_eq!(&*data_bytes(b".a\n..b\nc.\n.\n"), b"..a\r\n...b\r\nc.\r\n..\r\n");
        assert_eq!(&*data_bytes(b"a\r\n.b"), b"a\r\n..b\r\n");
        assert_eq!(&*data_bytes(b"no end"), b"no end\r\n");
    }
}
