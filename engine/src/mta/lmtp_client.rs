//! The MTA's LMTP client (RFC 2033): one connection to the MDA, any number of transactions on it.
//!
//! ```text
//!  connect ─► 220 ─► LHLO ─► 250 (PIPELINING? CHUNKING?) ─► Ready
//!  Ready, with CHUNKING:  MAIL, RCPT × n, BDAT <size> LAST + message   (one write)
//!                         ◄─ MAIL reply, n RCPT replies, then one reply per accepted recipient
//!  Ready, without:        MAIL, RCPT × n, DATA ◄─ replies, 354 ─► dot-stuffed message ◄─ one
//!                         reply per accepted recipient   (lockstep if PIPELINING is missing)
//! ```
//!
//! The outcome is one [`Outcome`] per recipient, in order. A failure before the MDA answered
//! anything is [`ClientError::Unanswered`]: nothing was delivered, so a caller holding a pooled
//! connection that the MDA had closed may retry on a fresh one. After the first answer, a broken
//! connection or a timeout makes every recipient still unanswered [`Outcome::Deferred`]: the MDA
//! may or may not have stored those copies, so they are retried later (at least once, never lost).

use crate::io::Transport;
use crate::wire::smtp_data::encode_data;
use crate::wire::smtp_reply::{parse_reply, Reply, ReplyParse};
use std::io;
use std::time::Duration;

/// Longest reply accepted from the MDA.
const MAX_REPLY_BYTES: usize = 64 * 1024;

/// What happened to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored by the MDA (its 2xx reply).
    Delivered(Reply),
    /// Refused for good (a 5xx reply): the sender is told.
    Refused(Reply),
    /// Not delivered this time (a 4xx reply, or no answer): retry later. The text says why.
    Deferred(String),
}

/// One message for the MDA.
#[derive(Debug, Clone, Copy)]
pub struct Transaction<'a> {
    /// The reverse-path (empty for the null sender).
    pub sender: &'a str,
    pub recipients: &'a [String],
    /// Bytes sent in front of `body` (the MTA's `Received:` field); may be empty.
    pub header: &'a [u8],
    pub body: &'a [u8],
    /// The addresses need SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
}

impl Transaction<'_> {
    fn size(&self) -> usize {
        self.header.len() + self.body.len()
    }
}

/// Why a transaction could not even start.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection failed before the MDA answered anything in this transaction.
    #[error("the MDA did not answer: {0}")]
    Unanswered(io::Error),
}

/// An open, greeted LMTP connection.
#[derive(Debug)]
pub struct LmtpClient<T> {
    stream: T,
    /// Bytes read and not yet parsed as replies.
    input: Vec<u8>,
    reply_timeout: Duration,
    pipelining: bool,
    chunking: bool,
    /// A transaction ended cleanly: the connection can carry the next one.
    reusable: bool,
}

impl<T: Transport> LmtpClient<T> {
    /// Reads the greeting and says LHLO as `hostname`.
    pub async fn greet(stream: T, hostname: &str, reply_timeout: Duration) -> io::Result<LmtpClient<T>> {
        let mut client = LmtpClient {
            stream,
            input: Vec::new(),
            reply_timeout,
            pipelining: false,
            chunking: false,
            reusable: false,
        };
        let greeting = client.reply().await?;
        if greeting.code != 220 {
            return Err(io::Error::other(format!("MDA greeting: {}", greeting.summary())));
        }
        client.stream.write_all(format!("LHLO {hostname}\r\n").as_bytes()).await?;
        let lhlo = client.reply().await?;
        if !lhlo.is_positive() {
            return Err(io::Error::other(format!("MDA refused LHLO: {}", lhlo.summary())));
        }
        client.pipelining = lhlo.has_keyword("PIPELINING");
        client.chunking = lhlo.has_keyword("CHUNKING");
        client.reusable = true;
        Ok(client)
    }

    /// Whether the connection is in step for another transaction.
    pub fn reusable(&self) -> bool {
        self.reusable
    }

    /// The stream, e.g. to check whether the MDA closed it while it sat in a pool.
    pub fn stream(&self) -> &T {
        &self.stream
    }

    /// Runs one transaction; one outcome per recipient, in order.
    pub async fn deliver(&mut self, tx: &Transaction<'_>) -> Result<Vec<Outcome>, ClientError> {
        self.reusable = false;
        let mut exchange = Exchange::default();
        let result = if self.chunking && self.pipelining {
            self.deliver_bdat(tx, &mut exchange).await
        } else {
            self.deliver_data(tx, &mut exchange).await
        };
        match result {
            Ok(()) => {
                self.reusable = true;
                Ok(exchange.outcomes(tx.recipients.len(), None))
            }
            Err(e) if exchange.mail.is_none() => Err(ClientError::Unanswered(e)),
            Err(e) => Ok(exchange.outcomes(tx.recipients.len(), Some(&e))),
        }
    }

    /// MAIL, every RCPT and `BDAT <size> LAST` with the message, in one go; then the replies.
    async fn deliver_bdat(&mut self, tx: &Transaction<'_>, ex: &mut Exchange) -> io::Result<()> {
        let mut out = envelope_commands(tx);
        out.extend_from_slice(format!("BDAT {} LAST\r\n", tx.size()).as_bytes());
        out.extend_from_slice(tx.header);
        self.stream.write_all_vectored(&[&out, tx.body]).await?;
        self.read_envelope_replies(tx, ex).await?;
        let accepted = ex.accepted();
        // With nobody accepted, the chunk still gets one reply (to stay in step); it concerns no one.
        ex.data_for_all = accepted == 0;
        for _ in 0..accepted.max(1) {
            let reply = self.reply().await?;
            ex.data.push(reply);
        }
        Ok(())
    }

    /// The classic way: MAIL, RCPT, DATA (pipelined where offered), `354`, the stuffed message.
    async fn deliver_data(&mut self, tx: &Transaction<'_>, ex: &mut Exchange) -> io::Result<()> {
        if self.pipelining {
            let mut out = envelope_commands(tx);
            out.extend_from_slice(b"DATA\r\n");
            self.stream.write_all(&out).await?;
            self.read_envelope_replies(tx, ex).await?;
        } else {
            let commands = envelope_commands(tx);
            let mut lines = commands.split_inclusive(|&b| b == b'\n');
            if let Some(mail) = lines.next() {
                self.stream.write_all(mail).await?;
                ex.mail = Some(self.reply().await?);
            }
            for rcpt in lines {
                self.stream.write_all(rcpt).await?;
                let reply = self.reply().await?;
                ex.rcpt.push(reply);
            }
            self.stream.write_all(b"DATA\r\n").await?;
        }
        let go_ahead = self.reply().await?;
        if !go_ahead.is_intermediate() {
            // No recipient left, or DATA refused: this one reply stands for the whole message.
            ex.data_for_all = true;
            ex.data.push(go_ahead);
            return Ok(());
        }
        let mut message = Vec::with_capacity(tx.size());
        message.extend_from_slice(tx.header);
        message.extend_from_slice(tx.body);
        let mut payload = Vec::with_capacity(tx.size() + tx.size() / 64 + 8);
        encode_data(&message, &mut payload);
        drop(message);
        self.stream.write_all(&payload).await?;
        for _ in 0..ex.accepted().max(1) {
            let reply = self.reply().await?;
            ex.data.push(reply);
        }
        Ok(())
    }

    async fn read_envelope_replies(&mut self, tx: &Transaction<'_>, ex: &mut Exchange) -> io::Result<()> {
        ex.mail = Some(self.reply().await?);
        for _ in tx.recipients {
            let reply = self.reply().await?;
            ex.rcpt.push(reply);
        }
        Ok(())
    }

    /// Sends QUIT (best effort) before the connection is dropped.
    pub async fn quit(mut self) {
        let _ = self.stream.write_all(b"QUIT\r\n").await;
    }

    /// The next reply, within the reply timeout.
    async fn reply(&mut self) -> io::Result<Reply> {
        loop {
            match parse_reply(&self.input, MAX_REPLY_BYTES) {
                ReplyParse::Complete { reply, len } => {
                    self.input.drain(..len);
                    return Ok(reply);
                }
                ReplyParse::Invalid(why) => {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, format!("MDA sent garbage: {why}")))
                }
                ReplyParse::Incomplete => {}
            }
            match tokio::time::timeout(self.reply_timeout, self.stream.read(&mut self.input)).await {
                Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "no reply from the MDA in time")),
                Ok(Ok(0)) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the MDA closed the connection")),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e),
            }
        }
    }
}

/// `MAIL FROM` and one `RCPT TO` per recipient.
fn envelope_commands(tx: &Transaction<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + tx.recipients.len() * 48);
    out.extend_from_slice(format!("MAIL FROM:<{}> SIZE={}", tx.sender, tx.size()).as_bytes());
    if tx.smtputf8 {
        out.extend_from_slice(b" SMTPUTF8");
    }
    out.extend_from_slice(b"\r\n");
    for r in tx.recipients {
        out.extend_from_slice(format!("RCPT TO:<{r}>\r\n").as_bytes());
    }
    out
}

/// The replies of one transaction, as far as they came.
#[derive(Debug, Default)]
struct Exchange {
    mail: Option<Reply>,
    /// One per `RCPT`, in order.
    rcpt: Vec<Reply>,
    /// After the data: one per accepted recipient, or one for all (`data_for_all`).
    data: Vec<Reply>,
    data_for_all: bool,
}

impl Exchange {
    /// Recipients the MDA accepted (none if it refused `MAIL`).
    fn accepted(&self) -> usize {
        if self.mail.as_ref().is_some_and(Reply::is_positive) {
            self.rcpt.iter().filter(|r| r.is_positive()).count()
        } else {
            0
        }
    }

    /// One outcome per recipient; `broken` says why the replies stopped short, if they did.
    fn outcomes(&self, recipients: usize, broken: Option<&io::Error>) -> Vec<Outcome> {
        let lost = match broken {
            Some(e) => format!("no answer from the MDA: {e}"),
            None => "no answer from the MDA".into(),
        };
        let Some(mail) = &self.mail else { return vec![Outcome::Deferred(lost); recipients] };
        if !mail.is_positive() {
            return vec![Outcome::from_reply(mail); recipients];
        }
        let mut data = self.data.iter();
        (0..recipients)
            .map(|i| match self.rcpt.get(i) {
                None => Outcome::Deferred(lost.clone()),
                Some(r) if !r.is_positive() => Outcome::from_reply(r),
                Some(_) => {
                    let reply = if self.data_for_all { self.data.first() } else { data.next() };
                    reply.map(Outcome::from_reply).unwrap_or_else(|| Outcome::Deferred(lost.clone()))
                }
            })
            .collect()
    }
}

impl Outcome {
    /// 2xx delivered, 5xx refused, anything else deferred.
    pub fn from_reply(reply: &Reply) -> Outcome {
        if reply.is_positive() {
            Outcome::Delivered(reply.clone())
        } else if reply.is_permanent() {
            Outcome::Refused(reply.clone())
        } else {
            Outcome::Deferred(reply.summary())
        }
    }
}

#[cfg(test)]
#[path = "lmtp_client_tests.rs"]
mod tests;
