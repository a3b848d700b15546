//! LOGIN and AUTHENTICATE PLAIN (RFC 9051 §6.2.2, §6.2.3; SASL-IR, RFC 4959), with the failure
//! count that closes the connection past `limits.max_auth_failures`.

use super::{capabilities_auth, reply, Flow, ImapSession};
use crate::auth::{AuthOutcome, Password};
use crate::wire::imap::Args;
use crate::wire::sasl;

impl ImapSession<'_> {
    pub(super) async fn login(&mut self, tag: &[u8], args: &[u8], out: &mut Vec<u8>) -> Flow {
        let mut args = Args::new(args);
        let (username, password) = match (args.astring(), args.astring()) {
            (Ok(u), Ok(p)) if args.is_empty() => (u, Password::new(p.into_owned())),
            _ => return self.bad(out, tag, "Syntax: LOGIN username password"),
        };
        let Ok(username) = std::str::from_utf8(&username) else {
            return self.auth_result(tag, AuthOutcome::Failed, out);
        };
        let outcome = self.ctx.auth.authenticate(self.ctx.peer.ip(), username, password).await;
        self.auth_result(tag, outcome, out)
    }

    pub(super) async fn authenticate(&mut self, tag: &[u8], args: &[u8], out: &mut Vec<u8>) -> Flow {
        let mut args = Args::new(args);
        let mechanism = match args.atom() {
            Ok(m) => m,
            Err(reason) => return self.bad(out, tag, reason),
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
    pub(super) async fn finish_authenticate(&mut self, tag: &[u8], response: &[u8], out: &mut Vec<u8>) -> Flow {
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
            Err(sasl::SaslError::Base64) => self.bad(out, tag, "Invalid base64 in SASL response"),
            Err(_) => self.auth_result(tag, AuthOutcome::Failed, out),
        }
    }

    fn auth_result(&mut self, tag: &[u8], outcome: AuthOutcome, out: &mut Vec<u8>) -> Flow {
        match outcome {
            AuthOutcome::Authenticated(address) => {
                tracing::info!(user = %address, peer = %self.ctx.peer, "imap login");
                self.user = Some(address);
                reply(
                    out,
                    tag,
                    "OK",
                    &format!("[CAPABILITY {}] Logged in", capabilities_auth(&self.ctx.config.limits)),
                );
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
}
