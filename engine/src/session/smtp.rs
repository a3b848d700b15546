//! The SMTP session (RFC 5321) in its three modes: submission over implicit TLS with AUTH
//! (RFC 6409, RFC 8314, RFC 4954), MX with STARTTLS (RFC 3207), and LMTP (RFC 2033). They differ
//! only in the greeting verb, TLS and AUTH, who may send mail, which recipients are accepted, and
//! how many replies the end of data gets. Mail
//! AUTH lives in `smtp_auth.rs`, mail transactions (MAIL, RCPT, DATA, BDAT) in `smtp_mail.rs`, the
//! envelope and trace fields in `smtp_envelope.rs`, delivery in `smtp_deliver.rs`.
//!
//! ```text
//!   220 ─► Connected ──EHLO/HELO (LHLO)──► Greeted ──AUTH ok──► Authenticated (LMTP, MX: at once)
//!   MX: Greeted ──STARTTLS──► 220, TLS handshake ──► Connected again (EHLO anew)
//!                                     │ AUTH PLAIN (no IR): 334 ─► one line
//!                                     │ AUTH LOGIN: 334 user ─► 334 password ─► one line each
//!   Authenticated ──MAIL──► Sender ──RCPT──► Recipients ──DATA──► 354, payload until CRLF.CRLF
//!                                                       ──BDAT n [LAST]──► n octets
//!                          end of data: store (synced) ─► 250 (LMTP: one reply per recipient)
//!   421 and close ◄── too many errors / failures / commands, timeout, shutdown;  221 ◄── QUIT
//! ```
//!
//! The session state *is* the receiver of the next bytes ([`Expect`]): a command line, a SASL
//! line, a DATA payload or a BDAT chunk, so payload bytes can never be read as commands.

use super::{read_input, Input, SessionContext};
use crate::io::{release_idle, Transport};
use crate::wire::smtp::{parse_command, Command, Line, LineFramer, ParseError};
use crate::wire::smtp_data::DataDecoder;
use std::io;
use std::time::Duration;
use storage::Address;

#[path = "smtp_auth.rs"]
mod auth;
#[path = "smtp_deliver.rs"]
mod deliver;
#[path = "smtp_envelope.rs"]
pub mod envelope;
#[path = "smtp_mail.rs"]
mod mail;

/// An input buffer this large or smaller is kept between commands.
const KEEP_INPUT_BYTES: usize = 4096;

/// Which service this session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Port 465: clients authenticate, then send as themselves to anyone.
    Submission,
    /// The MDA's LMTP socket: the local MTA delivers to local accounts only.
    Lmtp,
    /// Port 25: other MTAs deliver to local accounts, after STARTTLS unless configured otherwise;
    /// no AUTH, no relaying.
    Mx,
}

/// What the session waits for next.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// A command line.
    Command,
    /// The response to `334 ` after `AUTH PLAIN` without initial response.
    PlainResponse,
    /// The base64 user name after `AUTH LOGIN`.
    LoginUsername,
    /// The base64 password after `AUTH LOGIN`, for this user.
    LoginPassword(String),
    /// The DATA payload, up to `CRLF.CRLF`.
    Data(DataDecoder),
    /// The rest of a BDAT chunk of `size` octets.
    Chunk { remaining: u64, size: u64, last: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
    /// `220` to STARTTLS is queued: flush it, drop buffered input, run the TLS handshake.
    StartTls,
}

struct SmtpSession<'a> {
    ctx: &'a SessionContext,
    mode: Mode,
    /// The name from EHLO/HELO/LHLO, made printable; `None` until the client greeted.
    helo: Option<String>,
    user: Option<Address>,
    /// TLS version and cipher once TLS is up (from the start, or after STARTTLS).
    tls: Option<String>,
    expect: Expect,
    /// The open mail transaction, from MAIL to the end of data or RSET.
    envelope: Option<envelope::Envelope>,
    /// The message received so far (DATA unstuffed, or BDAT chunks).
    body: Vec<u8>,
    /// The message passed `limits.max_message_bytes`: the rest is read and dropped, then 552.
    body_too_large: bool,
    /// Why the BDAT chunk being read will be refused once read (it must be read all the same).
    chunk_refusal: Option<&'static [u8]>,
    commands_before_auth: u32,
    auth_failures: u32,
    errors: u32,
}

/// Serves one submission connection until it ends.
pub async fn serve_submission<T: Transport>(transport: &mut T, ctx: &SessionContext) -> io::Result<Option<Address>> {
    serve(transport, ctx, Mode::Submission).await
}

/// Serves one MX connection (port 25) until it ends.
pub async fn serve_mx<T: Transport>(transport: &mut T, ctx: &SessionContext) -> io::Result<Option<Address>> {
    serve(transport, ctx, Mode::Mx).await
}

/// Serves one LMTP connection until it ends.
pub async fn serve_lmtp<T: Transport>(transport: &mut T, ctx: &SessionContext) -> io::Result<Option<Address>> {
    serve(transport, ctx, Mode::Lmtp).await
}

async fn serve<T: Transport>(transport: &mut T, ctx: &SessionContext, mode: Mode) -> io::Result<Option<Address>> {
    let config = &ctx.config;
    let mut session = SmtpSession {
        ctx,
        mode,
        helo: None,
        user: None,
        tls: ctx.tls.clone(),
        expect: Expect::Command,
        envelope: None,
        body: Vec::new(),
        body_too_large: false,
        chunk_refusal: None,
        commands_before_auth: 0,
        auth_failures: 0,
        errors: 0,
    };
    let mut shutdown = ctx.shutdown.clone();
    let mut framer = LineFramer::new(config.limits.max_line_bytes);
    let mut input: Vec<u8> = Vec::new();
    let mut out: Vec<u8> = Vec::with_capacity(256);
    let service = if mode == Mode::Lmtp { "LMTP" } else { "ESMTP" };
    out.extend_from_slice(format!("220 {} {service} Mailgenic\r\n", config.hostname).as_bytes());
    loop {
        let mut flow = Flow::Continue;
        loop {
            if session.in_payload() {
                if input.is_empty() {
                    break;
                }
                let (consumed, next) = session.payload(&input, &mut out).await;
                input.drain(..consumed);
                flow = next;
            } else {
                match framer.frame(&input) {
                    Line::Incomplete => break,
                    Line::TooLong { len } => {
                        input.drain(..len);
                        out.extend_from_slice(b"500 5.5.2 Line too long\r\n");
                        session.expect = Expect::Command;
                        flow = session.count_error(&mut out);
                    }
                    Line::Skipped { len } => {
                        input.drain(..len);
                    }
                    Line::Complete { len } => {
                        flow = session.handle(&input[..len], &mut out).await;
                        input.drain(..len);
                    }
                }
            }
            if flow != Flow::Continue {
                break;
            }
        }
        if !out.is_empty() {
            transport.write_all(&out).await?;
            out.clear();
            if session.in_payload() {
                // After 354 the client may send the message and the final dot in two writes
                // (see ack_promptly).
                transport.ack_promptly();
            }
        }
        match flow {
            Flow::Continue => {}
            Flow::Close => return Ok(session.user),
            Flow::StartTls => {
                // RFC 3207 §4.2: nothing the client sent before the handshake counts, and the
                // session starts over (a new EHLO is required).
                input.clear();
                framer = LineFramer::new(config.limits.max_line_bytes);
                let description = transport.start_tls().await?;
                session.tls = Some(description);
                session.helo = None;
                session.reset_transaction();
                continue;
            }
        }
        release_idle(&mut input, KEEP_INPUT_BYTES);
        let timeout = Duration::from_secs(if session.in_payload() {
            config.timeouts.smtp_data_secs
        } else {
            config.timeouts.smtp_command_secs
        });
        match read_input(transport, &mut input, timeout, &mut shutdown).await? {
            Input::Data => {}
            Input::Eof => return Ok(session.user),
            Input::Timeout => {
                transport
                    .write_all(
                        format!("421 4.4.2 {} Timeout waiting for the client, closing connection\r\n", config.hostname)
                            .as_bytes(),
                    )
                    .await?;
                return Ok(session.user);
            }
            Input::Shutdown => {
                transport
                    .write_all(format!("421 4.3.2 {} Service shutting down\r\n", config.hostname).as_bytes())
                    .await?;
                return Ok(session.user);
            }
        }
    }
}

impl SmtpSession<'_> {
    async fn handle(&mut self, line: &[u8], out: &mut Vec<u8>) -> Flow {
        match std::mem::replace(&mut self.expect, Expect::Command) {
            Expect::Command | Expect::Data(_) | Expect::Chunk { .. } => {}
            Expect::PlainResponse => return self.plain_response(line, out).await,
            Expect::LoginUsername => return self.login_username(line, out),
            Expect::LoginPassword(username) => return self.login_password(username, line, out).await,
        }
        if self.user.is_none() && self.mode == Mode::Submission {
            self.commands_before_auth += 1;
            if self.commands_before_auth > self.ctx.config.limits.max_commands_before_auth {
                out.extend_from_slice(b"421 4.7.0 Too many commands before authentication, closing connection\r\n");
                return Flow::Close;
            }
        }
        let command = match parse_command(line) {
            Ok(c) => c,
            Err(ParseError::Unrecognized) => {
                out.extend_from_slice(b"500 5.5.1 Command unrecognized\r\n");
                return self.count_error(out);
            }
            Err(ParseError::Syntax(reason)) => {
                out.extend_from_slice(format!("501 5.5.4 {reason}\r\n").as_bytes());
                return self.count_error(out);
            }
        };
        match command {
            Command::Ehlo(name) | Command::Lhlo(name) => {
                let lhlo = matches!(command, Command::Lhlo(_));
                if lhlo != (self.mode == Mode::Lmtp) {
                    out.extend_from_slice(if lhlo {
                        b"500 5.5.1 LHLO is for LMTP; this is SMTP\r\n"
                    } else {
                        b"500 5.5.1 This is LMTP: say LHLO\r\n"
                    });
                    return self.count_error(out);
                }
                self.greet(name);
                self.ehlo_reply(out);
            }
            Command::Helo(name) => {
                if self.mode == Mode::Lmtp {
                    out.extend_from_slice(b"500 5.5.1 This is LMTP: say LHLO\r\n");
                    return self.count_error(out);
                }
                self.greet(name);
                out.extend_from_slice(format!("250 {}\r\n", self.ctx.config.hostname).as_bytes());
            }
            Command::Auth { mechanism, initial } => {
                if self.mode != Mode::Submission {
                    out.extend_from_slice(b"502 5.5.1 AUTH is not offered on this service\r\n");
                    return self.count_error(out);
                }
                return self.auth(mechanism, initial, out).await;
            }
            Command::Mail { path, params } => return self.mail(path, params, out),
            Command::Rcpt { path, params } => return self.rcpt(path, params, out).await,
            Command::Data => return self.data(out),
            Command::Bdat { size, last } => return self.bdat(size, last, out).await,
            Command::Starttls => {
                if self.mode == Mode::Mx && self.tls.is_none() {
                    out.extend_from_slice(b"220 2.0.0 Ready to start TLS\r\n");
                    return Flow::StartTls;
                }
                out.extend_from_slice(if self.mode == Mode::Lmtp {
                    b"502 5.5.1 No STARTTLS on LMTP\r\n"
                } else {
                    b"503 5.5.1 TLS is already active\r\n"
                });
                return self.count_error(out);
            }
            Command::Rset => {
                self.reset_transaction();
                out.extend_from_slice(b"250 2.0.0 OK\r\n");
            }
            Command::Noop => out.extend_from_slice(b"250 2.0.0 OK\r\n"),
            Command::Vrfy(_) => out
                .extend_from_slice(b"252 2.5.0 Cannot verify the user, but will accept mail and attempt delivery\r\n"),
            Command::Help => out.extend_from_slice(
                b"214 2.0.0 Commands: EHLO HELO LHLO AUTH MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT\r\n",
            ),
            Command::Quit => {
                out.extend_from_slice(
                    format!("221 2.0.0 {} closing connection\r\n", self.ctx.config.hostname).as_bytes(),
                );
                return Flow::Close;
            }
        }
        Flow::Continue
    }

    /// EHLO/HELO/LHLO: remember the name and end any open transaction (RFC 5321 §4.1.4).
    fn greet(&mut self, name: &[u8]) {
        self.helo = Some(envelope::printable_name(name));
        self.reset_transaction();
    }

    fn ehlo_reply(&self, out: &mut Vec<u8>) {
        let config = &self.ctx.config;
        let mut lines = vec![
            if self.mode == Mode::Lmtp {
                config.hostname.clone()
            } else {
                format!("{} greets {}", config.hostname, self.ctx.peer.ip())
            },
            "PIPELINING".to_string(),
            format!("SIZE {}", self.message_limit()),
            "8BITMIME".to_string(),
            "SMTPUTF8".to_string(),
            "CHUNKING".to_string(),
        ];
        if self.user.is_none() && self.mode == Mode::Submission {
            lines.push("AUTH PLAIN LOGIN".to_string());
        }
        if self.tls.is_none() && self.mode == Mode::Mx {
            lines.push("STARTTLS".to_string());
        }
        lines.push("ENHANCEDSTATUSCODES".to_string());
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            out.extend_from_slice(format!("250{sep}{line}\r\n").as_bytes());
        }
    }

    /// The largest message this session takes: `limits.max_message_bytes`, and for the MDA (LMTP)
    /// room on top for the trace fields the MTA added to a message it accepted within the limit.
    fn message_limit(&self) -> u64 {
        let allowance = if self.mode == Mode::Lmtp { mailgenic_config::TRACE_ALLOWANCE_BYTES } else { 0 };
        self.ctx.config.limits.max_message_bytes + allowance
    }

    fn count_error(&mut self, out: &mut Vec<u8>) -> Flow {
        self.errors += 1;
        if self.errors >= self.ctx.config.limits.max_errors {
            out.extend_from_slice(b"421 4.7.0 Too many errors, closing connection\r\n");
            Flow::Close
        } else {
            Flow::Continue
        }
    }
}

#[cfg(test)]
#[path = "smtp_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "smtp_mail_tests.rs"]
mod mail_tests;

#[cfg(test)]
#[path = "smtp_mx_tests.rs"]
mod mx_tests;
