//! The IMAP session (RFC 9051 / RFC 3501), the slice that exists so far: greeting, CAPABILITY,
//! NOOP, LOGOUT, LOGIN and AUTHENTICATE PLAIN (with SASL-IR). Every other command is answered
//! `BAD` with the reason.
//!
//! ```text
//!            greeting
//!               │
//!               ▼
//!    ┌── Not authenticated ──LOGIN / AUTHENTICATE ok──► Authenticated
//!    │     │  AUTHENTICATE PLAIN without IR:                │
//!    │     └─► "+ " ─► waits for one base64 line ─┐         │
//!    │                                             │         │
//!    └─ too many commands / failures / errors ─────┴──► * BYE, close ◄── LOGOUT, timeout, shutdown
//! ```

use super::{read_input, Input, SessionContext};
use crate::auth::{AuthOutcome, Password};
use crate::io::{release_idle, Transport};
use crate::wire::imap::{parse_command, Command, CommandFramer, Frame, ParseError};
use crate::wire::sasl;
use crate::wire::smtp::{Line, LineFramer};
use std::io;
use std::time::Duration;
use storage::Address;

/// Capabilities before login.
const CAPABILITIES_PREAUTH: &str = "IMAP4rev1 LITERAL+ SASL-IR ID AUTH=PLAIN";
/// Capabilities once authenticated.
const CAPABILITIES_AUTH: &str = "IMAP4rev1 LITERAL+ SASL-IR ID";
/// An input buffer this large or smaller is kept between commands; a larger one is freed once
/// drained.
const KEEP_INPUT_BYTES: usize = 4096;

/// What the connection does after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Flow {
    Continue,
    /// AUTHENTICATE sent `+ `; the next line is the client's SASL response for this tag.
    AwaitSaslResponse(Vec<u8>),
    Close,
}

/// One IMAP connection's state.
struct ImapSession<'a> {
    ctx: &'a SessionContext,
    /// The authenticated account, once there is one.
    user: Option<Address>,
    commands_before_auth: u32,
    auth_failures: u32,
    errors: u32,
}

/// Serves one IMAP connection until it ends.
pub async fn serve<T: Transport>(transport: &mut T, ctx: &SessionContext) -> io::Result<Option<Address>> {
    let config = &ctx.config;
    let mut session = ImapSession { ctx, user: None, commands_before_auth: 0, auth_failures: 0, errors: 0 };
    let mut shutdown = ctx.shutdown.clone();
    let mut framer = CommandFramer::new(config.limits.max_line_bytes, config.limits.max_literal_bytes);
    let mut line_framer = LineFramer::new(config.limits.max_line_bytes);
    let mut input: Vec<u8> = Vec::new();
    let mut out: Vec<u8> = Vec::with_capacity(256);
    let mut sasl_tag: Option<Vec<u8>> = None;
    out.extend_from_slice(
        format!("* OK [CAPABILITY {CAPABILITIES_PREAUTH}] {} Mailgenic IMAP ready\r\n", config.hostname).as_bytes(),
    );
    loop {
        // Answer everything already buffered (pipelining), then write once.
        let mut flow = Flow::Continue;
        loop {
            if let Some(tag) = sasl_tag.take() {
                match line_framer.frame(&input) {
                    Line::Incomplete => {
                        sasl_tag = Some(tag);
                        break;
                    }
                    Line::TooLong { .. } | Line::Skipped { .. } => {
                        // No sane SASL PLAIN response is this long; resynchronising in the middle
                        // of it is not worth the risk of reading its tail as commands.
                        out.extend_from_slice(&tag);
                        out.extend_from_slice(b" BAD SASL response too long\r\n* BYE Protocol error\r\n");
                        flow = Flow::Close;
                    }
                    Line::Complete { len } => {
                        let line: Vec<u8> = input.drain(..len).collect();
                        flow = session.finish_authenticate(&tag, &line, &mut out).await;
                    }
                }
                if flow == Flow::Close {
                    break;
                }
                continue;
            }
            let discard = framer.discard(&input);
            input.drain(..discard);
            match framer.frame(&input) {
                Frame::Incomplete => break,
                Frame::Continue { .. } => {
                    out.extend_from_slice(b"+ Ready for literal data\r\n");
                    break;
                }
                Frame::Command { len } => {
                    flow = session.handle(&input[..len], &mut out).await;
                    input.drain(..len);
                }
                Frame::LineTooLong { len } => {
                    input.drain(..len);
                    out.extend_from_slice(b"* BAD [TOOBIG] Command line too long\r\n");
                    flow = session.count_error(&mut out);
                }
                Frame::LiteralTooLarge { len, synchronizing, .. } => {
                    let tag = parse_command(&input[..len]).map(|c| c.tag.to_vec()).unwrap_or_else(|_| b"*".to_vec());
                    input.drain(..len);
                    out.extend_from_slice(&tag);
                    out.extend_from_slice(b" BAD [TOOBIG] Literal too large\r\n");
                    flow = if synchronizing { session.count_error(&mut out) } else { Flow::Close };
                }
            }
            match flow {
                Flow::Continue => {}
                Flow::AwaitSaslResponse(ref tag) => {
                    sasl_tag = Some(tag.clone());
                    flow = Flow::Continue;
                }
                Flow::Close => break,
            }
        }
        if !out.is_empty() {
            transport.write_all(&out).await?;
            out.clear();
            if out.capacity() > KEEP_INPUT_BYTES {
                out = Vec::with_capacity(256);
            }
        }
        if flow == Flow::Close {
            return Ok(session.user);
        }
        release_idle(&mut input, KEEP_INPUT_BYTES);
        let timeout =
            if session.user.is_some() { config.timeouts.imap_idle_secs } else { config.timeouts.imap_preauth_secs };
        match read_input(transport, &mut input, Duration::from_secs(timeout), &mut shutdown).await? {
            Input::Data => {}
            Input::Eof => return Ok(session.user),
            Input::Timeout => {
                transport.write_all(b"* BYE Autologout; idle for too long\r\n").await?;
                return Ok(session.user);
            }
            Input::Shutdown => {
                transport.write_all(b"* BYE [UNAVAILABLE] Server shutting down\r\n").await?;
                return Ok(session.user);
            }
        }
    }
}

impl ImapSession<'_> {
    /// Answers one framed command.
    async fn handle(&mut self, frame: &[u8], out: &mut Vec<u8>) -> Flow {
        let command = match parse_command(frame) {
            Ok(command) => command,
            Err(ParseError::BadTag) => {
                out.extend_from_slice(b"* BAD Missing or invalid tag\r\n");
                return self.count_error(out);
            }
            Err(ParseError::Syntax { tag, reason }) => {
                reply(out, &tag, "BAD", reason);
                return self.count_error(out);
            }
        };
        if self.user.is_none() {
            self.commands_before_auth += 1;
            if self.commands_before_auth > self.ctx.config.limits.max_commands_before_auth {
                out.extend_from_slice(b"* BYE Too many commands before authentication\r\n");
                return Flow::Close;
            }
        }
        let tag = command.tag;
        if command.is("CAPABILITY") {
            let caps = if self.user.is_some() { CAPABILITIES_AUTH } else { CAPABILITIES_PREAUTH };
            out.extend_from_slice(format!("* CAPABILITY {caps}\r\n").as_bytes());
            reply(out, tag, "OK", "CAPABILITY completed");
        } else if command.is("NOOP") {
            reply(out, tag, "OK", "NOOP completed");
        } else if command.is("LOGOUT") {
            out.extend_from_slice(b"* BYE Logging out\r\n");
            reply(out, tag, "OK", "LOGOUT completed");
            return Flow::Close;
        } else if command.is("ID") {
            out.extend_from_slice(b"* ID (\"name\" \"Mailgenic\")\r\n");
            reply(out, tag, "OK", "ID completed");
        } else if command.is("LOGIN") {
            return self.login(&command, out).await;
        } else if command.is("AUTHENTICATE") {
            return self.authenticate(&command, out).await;
        } else {
            reply(out, tag, "BAD", "Unknown or unsupported command");
            return self.count_error(out);
        }
        Flow::Continue
    }

    async fn login(&mut self, command: &Command<'_>, out: &mut Vec<u8>) -> Flow {
        let tag = command.tag;
        if self.user.is_some() {
            reply(out, tag, "BAD", "Already authenticated");
            return self.count_error(out);
        }
        let mut args = command.args();
        let (username, password) = match (args.astring(), args.astring()) {
            (Ok(u), Ok(p)) if args.is_empty() => (u, Password::new(p.into_owned())),
            _ => {
                reply(out, tag, "BAD", "Syntax: LOGIN username password");
                return self.count_error(out);
            }
        };
        let Ok(username) = std::str::from_utf8(&username) else {
            return self.auth_result(tag, AuthOutcome::Failed, out);
        };
        let outcome = self.ctx.auth.authenticate(self.ctx.peer.ip(), username, password).await;
        self.auth_result(tag, outcome, out)
    }

    async fn authenticate(&mut self, command: &Command<'_>, out: &mut Vec<u8>) -> Flow {
        let tag = command.tag;
        if self.user.is_some() {
            reply(out, tag, "BAD", "Already authenticated");
            return self.count_error(out);
        }
        let mut args = command.args();
        let mechanism = match args.atom() {
            Ok(m) => m,
            Err(reason) => {
                reply(out, tag, "BAD", reason);
                return self.count_error(out);
            }
        };
        if !mechanism.eq_ignore_ascii_case(b"PLAIN") {
            reply(out, tag, "NO", "Unsupported authentication mechanism");
            return Flow::Continue;
        }
        if args.is_empty() {
            out.extend_from_slice(b"+ \r\n");
            return Flow::AwaitSaslResponse(tag.to_vec());
        }
        let initial = args.rest().to_vec();
        self.finish_authenticate(tag, &initial, out).await
    }

    /// Completes AUTHENTICATE PLAIN with the client's (initial or continued) response.
    async fn finish_authenticate(&mut self, tag: &[u8], response: &[u8], out: &mut Vec<u8>) -> Flow {
        let response = response.strip_suffix(b"\n").unwrap_or(response);
        let response = response.strip_suffix(b"\r").unwrap_or(response);
        if response == b"*" {
            reply(out, tag, "BAD", "Authentication cancelled");
            return Flow::Continue;
        }
        let credentials = sasl::decode_base64(response).and_then(sasl::parse_plain);
        match credentials {
            Ok(c) => {
                let outcome = self.ctx.auth.authenticate(self.ctx.peer.ip(), &c.username, c.password).await;
                self.auth_result(tag, outcome, out)
            }
            Err(sasl::SaslError::Base64) => {
                reply(out, tag, "BAD", "Invalid base64 in SASL response");
                self.count_error(out)
            }
            Err(_) => self.auth_result(tag, AuthOutcome::Failed, out),
        }
    }

    fn auth_result(&mut self, tag: &[u8], outcome: AuthOutcome, out: &mut Vec<u8>) -> Flow {
        match outcome {
            AuthOutcome::Authenticated(address) => {
                tracing::info!(user = %address, peer = %self.ctx.peer, "imap login");
                self.user = Some(address);
                reply(out, tag, "OK", &format!("[CAPABILITY {CAPABILITIES_AUTH}] Logged in"));
                Flow::Continue
            }
            AuthOutcome::Failed => {
                self.auth_failures += 1;
                tracing::info!(peer = %self.ctx.peer, failures = self.auth_failures, "imap authentication failed");
                reply(out, tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
                if self.auth_failures >= self.ctx.config.limits.max_auth_failures {
                    out.extend_from_slice(b"* BYE Too many authentication failures\r\n");
                    return Flow::Close;
                }
                Flow::Continue
            }
            AuthOutcome::Unavailable => {
                reply(out, tag, "NO", "[UNAVAILABLE] Authentication is temporarily unavailable, try again later");
                Flow::Continue
            }
        }
    }

    /// Counts a protocol error; past the limit the connection is closed.
    fn count_error(&mut self, out: &mut Vec<u8>) -> Flow {
        self.errors += 1;
        if self.errors >= self.ctx.config.limits.max_errors {
            out.extend_from_slice(b"* BYE Too many errors\r\n");
            Flow::Close
        } else {
            Flow::Continue
        }
    }
}

fn reply(out: &mut Vec<u8>, tag: &[u8], status: &str, text: &str) {
    out.extend_from_slice(tag);
    out.push(b' ');
    out.extend_from_slice(status.as_bytes());
    out.push(b' ');
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
#[path = "imap_tests.rs"]
mod tests;
