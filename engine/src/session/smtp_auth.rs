//! SMTP AUTH (RFC 4954) on submission: PLAIN (RFC 4616) and LOGIN, with or without an initial
//! response. Verification runs on the authenticator's threads; failures are counted and delayed
//! there, and the connection closes after `limits.max_auth_failures`.

use super::{Expect, Flow, SmtpSession};
use crate::auth::{AuthOutcome, Password};
use crate::wire::sasl;

impl SmtpSession<'_> {
    pub(super) async fn auth(&mut self, mechanism: &[u8], initial: Option<&[u8]>, out: &mut Vec<u8>) -> Flow {
        if self.helo.is_none() {
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

    pub(super) async fn plain_response(&mut self, line: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(message) = self.sasl_line(line, out) else { return self.count_error(out) };
        match sasl::parse_plain(message) {
            Ok(c) => {
                let outcome = self.ctx.auth.authenticate(self.ctx.peer.ip(), &c.username, c.password).await;
                self.auth_result(outcome, out)
            }
            Err(_) => self.auth_result(AuthOutcome::Failed, out),
        }
    }

    pub(super) fn login_username(&mut self, line: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(bytes) = self.sasl_line(line, out) else { return self.count_error(out) };
        let username = String::from_utf8_lossy(&bytes).into_owned();
        // "Password:" in base64.
        out.extend_from_slice(b"334 UGFzc3dvcmQ6\r\n");
        self.expect = Expect::LoginPassword(username);
        Flow::Continue
    }

    pub(super) async fn login_password(&mut self, username: String, line: &[u8], out: &mut Vec<u8>) -> Flow {
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
}
