//! The SMTP submission session (RFC 5321, RFC 6409, RFC 8314 implicit TLS, RFC 4954 AUTH), the
//! slice that exists so far: greeting, EHLO/HELO, AUTH PLAIN and LOGIN (with initial responses),
//! NOOP, RSET, VRFY, HELP, QUIT. Mail transactions are refused with `530 5.7.0` before AUTH and
//! `502 5.5.1` after it until the mail path exists.
//!
//! ```text
//!   220 ─► Connected ──EHLO/HELO──► Greeted ──AUTH ok──► Authenticated
//!                                     │ AUTH PLAIN (no IR): 334 ─► one line
//!                                     │ AUTH LOGIN: 334 user ─► 334 password ─► one line each
//!   421 and close ◄── too many errors / failures / commands, timeout, shutdown;  221 ◄── QUIT
//! ```

use super::{read_input, Input, SessionContext};
use crate::auth::{AuthOutcome, Password};
use crate::io::{release_idle, Transport};
use crate::wire::sasl;
use crate::wire::smtp::{parse_command, Command, Line, LineFramer, ParseError};
use std::io;
use std::time::Duration;
use storage::Address;

/// An input buffer this large or smaller is kept between commands.
const KEEP_INPUT_BYTES: usize = 4096;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

struct SmtpSession<'a> {
    ctx: &'a SessionContext,
    greeted: bool,
    user: Option<Address>,
    expect: Expect,
    commands_before_auth: u32,
    auth_failures: u32,
    errors: u32,
}

/// Serves one submission connection until it ends.
pub async fn serve_submission<T: Transport>(transport: &mut T, ctx: &SessionContext) -> io::Result<Option<Address>> {
    let config = &ctx.config;
    let mut session = SmtpSession {
        ctx,
        greeted: false,
        user: None,
        expect: Expect::Command,
        commands_before_auth: 0,
        auth_failures: 0,
        errors: 0,
    };
    let mut shutdown = ctx.shutdown.clone();
    let mut framer = LineFramer::new(config.limits.max_line_bytes);
    let mut input: Vec<u8> = Vec::new();
    let mut out: Vec<u8> = Vec::with_capacity(256);
    out.extend_from_slice(format!("220 {} ESMTP Mailgenic\r\n", config.hostname).as_bytes());
    loop {
        let mut flow = Flow::Continue;
        loop {
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
            if flow == Flow::Close {
                break;
            }
        }
        if !out.is_empty() {
            transport.write_all(&out).await?;
            out.clear();
        }
        if flow == Flow::Close {
            return Ok(session.user);
        }
        release_idle(&mut input, KEEP_INPUT_BYTES);
        let timeout = Duration::from_secs(config.timeouts.smtp_command_secs);
        match read_input(transport, &mut input, timeout, &mut shutdown).await? {
            Input::Data => {}
            Input::Eof => return Ok(session.user),
            Input::Timeout => {
                transport
                    .write_all(
                        format!("421 4.4.2 {} Timeout waiting for a command, closing connection\r\n", config.hostname)
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
            Expect::Command => {}
            Expect::PlainResponse => return self.plain_response(line, out).await,
            Expect::LoginUsername => return self.login_username(line, out),
            Expect::LoginPassword(username) => return self.login_password(username, line, out).await,
        }
        if self.user.is_none() {
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
            Command::Ehlo(_) => {
                self.greeted = true;
                let hostname = &self.ctx.config.hostname;
                let max = self.ctx.config.limits.max_message_bytes;
                let mut text = format!("250-{hostname} greets {}\r\n", self.ctx.peer.ip());
                if self.user.is_none() {
                    text.push_str("250-AUTH PLAIN LOGIN\r\n");
                }
                text.push_str(&format!("250-SIZE {max}\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n"));
                out.extend_from_slice(text.as_bytes());
            }
            Command::Helo(_) => {
                self.greeted = true;
                out.extend_from_slice(format!("250 {}\r\n", self.ctx.config.hostname).as_bytes());
            }
            Command::Lhlo(_) => {
                out.extend_from_slice(b"500 5.5.1 LHLO is for LMTP; this is SMTP\r\n");
                return self.count_error(out);
            }
            Command::Auth { mechanism, initial } => return self.auth(mechanism, initial, out).await,
            Command::Mail { .. } | Command::Rcpt { .. } | Command::Data | Command::Bdat { .. } => {
                if self.user.is_none() {
                    out.extend_from_slice(b"530 5.7.0 Authentication required\r\n");
                } else {
                    out.extend_from_slice(b"502 5.5.1 Mail transactions are not available on this server yet\r\n");
                }
                return self.count_error(out);
            }
            Command::Starttls => {
                out.extend_from_slice(b"503 5.5.1 TLS is already active\r\n");
                return self.count_error(out);
            }
            Command::Rset | Command::Noop => out.extend_from_slice(b"250 2.0.0 OK\r\n"),
            Command::Vrfy(_) => out
                .extend_from_slice(b"252 2.5.0 Cannot verify the user, but will accept mail and attempt delivery\r\n"),
            Command::Help => out.extend_from_slice(
                b"214 2.0.0 Commands: EHLO HELO AUTH MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT\r\n",
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

    async fn auth(&mut self, mechanism: &[u8], initial: Option<&[u8]>, out: &mut Vec<u8>) -> Flow {
        if !self.greeted {
            out.extend_from_slice(b"503 5.5.1 Send EHLO first\r\n");
            return self.count_error(out);
        }
        if self.user.is_some() {
            out.extend_from_slice(b"503 5.5.1 Already authenticated\r\n");
            return self.count_error(out);
        }
        if mechanism.eq_ignore_ascii_case(b"PLAIN") {
            match initial {
                Some(response) => self.plain_response(response, out).await,
                None => {
                    out.extend_from_slice(b"334 \r\n");
                    self.expect = Expect::PlainResponse;
                    Flow::Continue
                }
            }
        } else if mechanism.eq_ignore_ascii_case(b"LOGIN") {
            match initial {
                Some(username) => self.login_username(username, out),
                None => {
                    // "Username:" in base64.
                    out.extend_from_slice(b"334 VXNlcm5hbWU6\r\n");
                    self.expect = Expect::LoginUsername;
                    Flow::Continue
                }
            }
        } else {
            out.extend_from_slice(b"504 5.5.4 Unrecognized authentication mechanism\r\n");
            self.count_error(out)
        }
    }

    /// Decodes one SASL line; `None` means the exchange ended (cancelled or bad base64) and the
    /// reply is written.
    fn sasl_line(&mut self, line: &[u8], out: &mut Vec<u8>) -> Option<Vec<u8>> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line == b"*" {
            out.extend_from_slice(b"501 5.7.0 Authentication cancelled\r\n");
            return None;
        }
        match sasl::decode_base64(line) {
            Ok(bytes) => Some(bytes),
            Err(_) => {
                out.extend_from_slice(b"501 5.5.2 Invalid base64 data\r\n");
                None
            }
        }
    }

    async fn plain_response(&mut self, line: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(message) = self.sasl_line(line, out) else { return self.count_error(out) };
        match sasl::parse_plain(message) {
            Ok(c) => {
                let outcome = self.ctx.auth.authenticate(self.ctx.peer.ip(), &c.username, c.password).await;
                self.auth_result(outcome, out)
            }
            Err(_) => self.auth_result(AuthOutcome::Failed, out),
        }
    }

    fn login_username(&mut self, line: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(bytes) = self.sasl_line(line, out) else { return self.count_error(out) };
        let username = String::from_utf8_lossy(&bytes).into_owned();
        // "Password:" in base64.
        out.extend_from_slice(b"334 UGFzc3dvcmQ6\r\n");
        self.expect = Expect::LoginPassword(username);
        Flow::Continue
    }

    async fn login_password(&mut self, username: String, line: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(bytes) = self.sasl_line(line, out) else { return self.count_error(out) };
        let password = Password::new(bytes);
        let outcome = self.ctx.auth.authenticate(self.ctx.peer.ip(), &username, password).await;
        self.auth_result(outcome, out)
    }

    fn auth_result(&mut self, outcome: AuthOutcome, out: &mut Vec<u8>) -> Flow {
        match outcome {
            AuthOutcome::Authenticated(address) => {
                tracing::info!(user = %address, peer = %self.ctx.peer, "smtp authenticated");
                self.user = Some(address);
                out.extend_from_slice(b"235 2.7.0 Authentication successful\r\n");
                Flow::Continue
            }
            AuthOutcome::Failed => {
                self.auth_failures += 1;
                tracing::info!(peer = %self.ctx.peer, failures = self.auth_failures, "smtp authentication failed");
                out.extend_from_slice(b"535 5.7.8 Authentication credentials invalid\r\n");
                if self.auth_failures >= self.ctx.config.limits.max_auth_failures {
                    out.extend_from_slice(b"421 4.7.0 Too many authentication failures, closing connection\r\n");
                    return Flow::Close;
                }
                Flow::Continue
            }
            AuthOutcome::Unavailable => {
                out.extend_from_slice(b"454 4.7.0 Temporary authentication failure, try again later\r\n");
                Flow::Continue
            }
        }
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
