//! Mail transactions of the SMTP session: `MAIL`, `RCPT`, `DATA` (RFC 5321 §3.3), `BDAT`
//! (RFC 3030 CHUNKING), and reading the message into a buffer bounded by
//! `limits.max_message_bytes`.
//!
//! Replies: a sender that is not the authenticated user `553 5.7.1`; a declared or actual size
//! over the limit `552 5.3.4` (the payload is still read to its end, so the connection stays in
//! step); an unknown local user `550 5.1.1`; too many recipients `452 4.5.3`; a store failure
//! during a lookup `451 4.3.0`.

use super::envelope::{parse_mail_params, Envelope};
use super::{Expect, Flow, Mode, SmtpSession};
use crate::wire::smtp_data::DataDecoder;
use storage::mail::RecipientKind;
use storage::Address;

/// A forward-path after lookup.
enum Recipient {
    Known(Address, RecipientKind),
    /// `<postmaster>` on a host without a postmaster account.
    UnknownPostmaster,
}

impl SmtpSession<'_> {
    /// Whether the next input bytes are message content rather than a command line.
    pub(super) fn in_payload(&self) -> bool {
        matches!(self.expect, Expect::Data(_) | Expect::Chunk { .. })
    }

    /// Ends the open transaction, if any, and drops what was received of its message.
    pub(super) fn reset_transaction(&mut self) {
        self.envelope = None;
        self.body = Vec::new();
        self.body_too_large = false;
        self.chunk_refusal = None;
    }

    /// Refuses mail commands before the client may send them; `None` when it may.
    fn transaction_refusal(&self) -> Option<&'static [u8]> {
        if self.helo.is_none() {
            return Some(if self.mode == Mode::Lmtp {
                b"503 5.5.1 Send LHLO first\r\n"
            } else {
                b"503 5.5.1 Send EHLO first\r\n"
            });
        }
        if self.mode == Mode::Submission && self.user.is_none() {
            return Some(b"530 5.7.0 Authentication required\r\n");
        }
        if self.mode == Mode::Mx && self.tls.is_none() && self.ctx.config.smtp.mx_require_tls {
            return Some(b"530 5.7.0 Must issue a STARTTLS command first\r\n");
        }
        None
    }

    pub(super) fn mail(&mut self, path: &[u8], params: &[u8], out: &mut Vec<u8>) -> Flow {
        if let Some(refusal) = self.transaction_refusal() {
            out.extend_from_slice(refusal);
            return self.count_error(out);
        }
        if self.envelope.is_some() {
            out.extend_from_slice(b"503 5.5.1 Sender already specified\r\n");
            return self.count_error(out);
        }
        let params = match parse_mail_params(params) {
            Ok(p) => p,
            Err(reply) => {
                out.extend_from_slice(reply.as_bytes());
                return self.count_error(out);
            }
        };
        if params.size.is_some_and(|size| size > self.message_limit()) {
            out.extend_from_slice(b"552 5.3.4 Message size exceeds fixed maximum message size\r\n");
            return self.count_error(out);
        }
        if !params.smtputf8 && !path.is_ascii() {
            out.extend_from_slice(b"553 5.6.7 Non-ASCII addresses need the SMTPUTF8 parameter\r\n");
            return self.count_error(out);
        }
        let sender = if path.is_empty() {
            String::new()
        } else {
            match std::str::from_utf8(path).ok().and_then(|p| Address::parse(p).ok()) {
                Some(address) => as_written(path, &address),
                None => {
                    out.extend_from_slice(b"501 5.1.7 Bad sender address syntax\r\n");
                    return self.count_error(out);
                }
            }
        };
        if self.mode == Mode::Submission
            && self.user.as_ref().map(Address::as_str) != Some(sender.to_lowercase().as_str())
        {
            out.extend_from_slice(b"553 5.7.1 Sender address is not owned by the authenticated user\r\n");
            return self.count_error(out);
        }
        // Submission: the account's own spelling; otherwise as the client wrote it.
        let sender = match (&self.user, self.mode) {
            (Some(user), Mode::Submission) => user.to_string(),
            _ => sender,
        };
        self.envelope = Some(Envelope { sender, smtputf8: params.smtputf8, ..Envelope::default() });
        out.extend_from_slice(b"250 2.1.0 Sender OK\r\n");
        Flow::Continue
    }

    pub(super) async fn rcpt(&mut self, path: &[u8], params: &[u8], out: &mut Vec<u8>) -> Flow {
        if let Some(refusal) = self.transaction_refusal() {
            out.extend_from_slice(refusal);
            return self.count_error(out);
        }
        let Some(envelope) = &self.envelope else {
            out.extend_from_slice(b"503 5.5.1 Need MAIL before RCPT\r\n");
            return self.count_error(out);
        };
        if !params.is_empty() {
            out.extend_from_slice(b"555 5.5.4 Unsupported RCPT TO parameter\r\n");
            return self.count_error(out);
        }
        if !envelope.smtputf8 && !path.is_ascii() {
            out.extend_from_slice(b"553 5.6.7 Non-ASCII addresses need the SMTPUTF8 parameter\r\n");
            return self.count_error(out);
        }
        if envelope.recipient_count() >= self.ctx.config.limits.max_recipients {
            out.extend_from_slice(b"452 4.5.3 Too many recipients\r\n");
            return Flow::Continue;
        }
        let (address, kind) = match self.resolve_recipient(path).await {
            Ok(Some(Recipient::Known(address, kind))) => (address, kind),
            Ok(Some(Recipient::UnknownPostmaster)) => {
                out.extend_from_slice(b"550 5.1.1 No such user here\r\n");
                return self.count_refused_recipient(out);
            }
            Ok(None) => {
                out.extend_from_slice(b"501 5.1.3 Bad recipient address syntax\r\n");
                return self.count_error(out);
            }
            Err(e) => {
                tracing::warn!(error = %e, "recipient lookup failed");
                out.extend_from_slice(b"451 4.3.0 Temporary failure looking up the recipient, try again later\r\n");
                return Flow::Continue;
            }
        };
        let Some(envelope) = &mut self.envelope else { return Flow::Continue };
        match (kind, self.mode) {
            (RecipientKind::Local, _) => envelope.local.push(address),
            (RecipientKind::Remote, Mode::Submission) => envelope.remote.push(as_written(path, &address)),
            (RecipientKind::UnknownLocal, _) => {
                out.extend_from_slice(b"550 5.1.1 No such user here\r\n");
                return self.count_refused_recipient(out);
            }
            (RecipientKind::Remote, Mode::Lmtp) => {
                out.extend_from_slice(b"550 5.1.1 Not a local domain\r\n");
                return self.count_refused_recipient(out);
            }
            (RecipientKind::Remote, Mode::Mx) => {
                out.extend_from_slice(b"550 5.7.1 Relaying denied\r\n");
                return self.count_error(out);
            }
        }
        out.extend_from_slice(b"250 2.1.5 Recipient OK\r\n");
        Flow::Continue
    }

    /// Parses and classifies a forward-path; `Ok(None)` when it is not an address. On MX and LMTP,
    /// `<postmaster>` and `postmaster@<local domain>` without an account of their own go to the
    /// account `postmaster@<first local domain>` if it exists (RFC 5321 §4.5.1 requires the name
    /// to work), and are unknown users (`550 5.1.1`) otherwise: the operator chooses by creating
    /// that account.
    async fn resolve_recipient(&self, path: &[u8]) -> Result<Option<Recipient>, storage::StoreError> {
        let mail = self.ctx.store.mail();
        let parsed = std::str::from_utf8(path).ok().and_then(|p| Address::parse(p).ok());
        let postmaster = match &parsed {
            None if path.eq_ignore_ascii_case(b"postmaster") => true,
            None => return Ok(None),
            Some(address) => {
                let kind = mail.recipient_kind(address).await?;
                if kind != RecipientKind::UnknownLocal || address.local_part() != "postmaster" {
                    return Ok(Some(Recipient::Known(address.clone(), kind)));
                }
                true
            }
        };
        if postmaster && self.mode != Mode::Submission {
            if let Some(account) = mail.postmaster().await? {
                return Ok(Some(Recipient::Known(account, RecipientKind::Local)));
            }
        }
        Ok(Some(match parsed {
            Some(address) => Recipient::Known(address, RecipientKind::UnknownLocal),
            None => Recipient::UnknownPostmaster,
        }))
    }

    /// A refused recipient counts toward `limits.max_errors` (directory harvesting), except on LMTP,
    /// whose client is this host's own MTA passing on what it accepted: closing its connection
    /// would only delay the good recipients of the same batch.
    fn count_refused_recipient(&mut self, out: &mut Vec<u8>) -> Flow {
        if self.mode == Mode::Lmtp {
            Flow::Continue
        } else {
            self.count_error(out)
        }
    }

    /// Why the transaction cannot take message content now; `None` when it can.
    fn content_refusal(&self) -> Option<&'static [u8]> {
        if let Some(refusal) = self.transaction_refusal() {
            return Some(refusal);
        }
        match &self.envelope {
            None => Some(b"503 5.5.1 Need MAIL and RCPT first\r\n"),
            Some(e) if e.recipient_count() == 0 => Some(b"554 5.5.1 No valid recipients\r\n"),
            Some(_) => None,
        }
    }

    pub(super) fn data(&mut self, out: &mut Vec<u8>) -> Flow {
        if let Some(refusal) = self.content_refusal() {
            out.extend_from_slice(refusal);
            return self.count_error(out);
        }
        if !self.body.is_empty() || self.body_too_large {
            out.extend_from_slice(b"503 5.5.1 DATA cannot follow BDAT in one transaction\r\n");
            return self.count_error(out);
        }
        out.extend_from_slice(b"354 Start mail input; end with <CRLF>.<CRLF>\r\n");
        self.expect = Expect::Data(DataDecoder::new());
        Flow::Continue
    }

    pub(super) async fn bdat(&mut self, size: u64, last: bool, out: &mut Vec<u8>) -> Flow {
        // The chunk follows the command whatever the reply, so it is always read (RFC 3030 §2).
        self.chunk_refusal = self.content_refusal();
        if size == 0 {
            return self.chunk_done(0, last, out).await;
        }
        self.expect = Expect::Chunk { remaining: size, size, last };
        Flow::Continue
    }

    /// Takes message content from the start of `input`; returns how much it used.
    pub(super) async fn payload(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, Flow) {
        match &mut self.expect {
            Expect::Data(decoder) => {
                let decoded = decoder.decode(input, &mut self.body);
                self.bound_body();
                if !decoded.end {
                    return (decoded.consumed, Flow::Continue);
                }
                self.expect = Expect::Command;
                (decoded.consumed, self.finish_message(out).await)
            }
            Expect::Chunk { remaining, size, last } => {
                let n = (*remaining).min(input.len() as u64) as usize;
                *remaining -= n as u64;
                let (done, size, last) = (*remaining == 0, *size, *last);
                if self.chunk_refusal.is_none() {
                    self.body.extend_from_slice(&input[..n]);
                    self.bound_body();
                }
                if !done {
                    return (n, Flow::Continue);
                }
                self.expect = Expect::Command;
                (n, self.chunk_done(size, last, out).await)
            }
            _ => (0, Flow::Continue),
        }
    }

    /// Drops the message once it passes the limit; the rest of it is read and dropped too.
    fn bound_body(&mut self) {
        if self.body.len() as u64 > self.message_limit() {
            self.body_too_large = true;
            self.body.clear();
        }
    }

    async fn chunk_done(&mut self, size: u64, last: bool, out: &mut Vec<u8>) -> Flow {
        if let Some(refusal) = self.chunk_refusal.take() {
            out.extend_from_slice(refusal);
            return self.count_error(out);
        }
        if last {
            return self.finish_message(out).await;
        }
        out.extend_from_slice(format!("250 2.0.0 {size} octets received\r\n").as_bytes());
        Flow::Continue
    }

    /// The end of data: store the message (or refuse it) and close the transaction.
    async fn finish_message(&mut self, out: &mut Vec<u8>) -> Flow {
        let body = std::mem::take(&mut self.body);
        let too_large = std::mem::take(&mut self.body_too_large);
        let Some(envelope) = self.envelope.take() else {
            out.extend_from_slice(b"503 5.5.1 No mail transaction\r\n");
            return self.count_error(out);
        };
        let replies = if self.mode == Mode::Lmtp { envelope.local.len() } else { 1 };
        if too_large {
            for _ in 0..replies {
                out.extend_from_slice(b"552 5.3.4 Message size exceeds fixed maximum message size\r\n");
            }
            return Flow::Continue;
        }
        // The MTA counts the Received field it adds, so the MDA downstream sees no more than the
        // limit either.
        let own = usize::from(self.mode != Mode::Lmtp);
        if received_fields(&body) + own > self.ctx.config.smtp.max_received_headers {
            for _ in 0..replies {
                out.extend_from_slice(b"554 5.4.6 Routing loop detected: too many Received fields\r\n");
            }
            return Flow::Continue;
        }
        self.deliver(envelope, body, out).await;
        Flow::Continue
    }
}

/// A remote address as the client wrote its local part (which only the remote host may fold), with
/// the normalised domain.
fn as_written(path: &[u8], address: &Address) -> String {
    let text = String::from_utf8_lossy(path);
    match text.rsplit_once('@') {
        Some((local, _)) => format!("{local}@{}", address.domain()),
        None => address.to_string(),
    }
}

/// Counts the `Received:` fields in the header section of `message` (up to the first empty line).
fn received_fields(message: &[u8]) -> usize {
    let mut count = 0;
    for line in message.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.len() >= 9 && line[..9].eq_ignore_ascii_case(b"Received:") {
            count += 1;
        }
    }
    count
}
