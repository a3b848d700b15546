//! `smtp-submit`, `smtp-mx` and `lmtp`: one long-lived session per connection sends one message
//! per operation (`RSET` between them) to random users; a failed session is replaced by a new
//! one at the next operation. In closed loop a message is timed from `MAIL FROM`, not from the
//! connection set-up.

use super::{Ctx, Worker};
use crate::args::Scenario;
use crate::smtp::Session;
use crate::{gen, report};
use anyhow::Context;
use std::sync::Arc;
use std::time::Instant;

/// One sending connection.
pub struct Sender {
    ctx: Arc<Ctx>,
    rng: gen::Rng,
    /// The submission user this connection authenticates as (`smtp-submit`).
    me: String,
    session: Option<Session>,
    /// Recipients delivered (LMTP counts per recipient).
    delivered: u64,
}

impl Sender {
    pub fn new(ctx: &Arc<Ctx>, i: usize) -> Sender {
        Sender {
            ctx: Arc::clone(ctx),
            rng: gen::Rng::new(ctx.args.seed.wrapping_add(i as u64)),
            me: ctx.user(i as u64 % ctx.user_count() + 1),
            session: None,
            delivered: 0,
        }
    }

    /// The session of this connection, opened if needed.
    fn session(&mut self) -> anyhow::Result<Session> {
        if let Some(s) = self.session.take() {
            return Ok(s);
        }
        open(&self.ctx, &self.me)
    }

    /// `--rcpts` distinct random users (all of them if there are fewer).
    fn recipients(&mut self) -> Vec<String> {
        let count = self.ctx.user_count();
        let wanted = match self.ctx.args.scenario {
            Scenario::SmtpSubmit => 1,
            _ => self.ctx.args.rcpts.clamp(1, count),
        };
        let mut picked: Vec<u64> = Vec::with_capacity(wanted as usize);
        while (picked.len() as u64) < wanted {
            let n = self.rng.range(1, count);
            if !picked.contains(&n) {
                picked.push(n);
            }
        }
        picked.into_iter().map(|n| self.ctx.user(n)).collect()
    }
}

/// A new session for the scenario: submission as `me`, the MX, or LMTP; pipelined if asked.
pub fn open(ctx: &Ctx, me: &str) -> anyhow::Result<Session> {
    let session = match ctx.args.scenario {
        Scenario::SmtpMx => Session::mx(&ctx.endpoints.mx, ctx.args.mx_plaintext),
        Scenario::Lmtp => Session::lmtp(ctx.endpoints.lmtp.as_ref().context("no LMTP address")?),
        _ => Session::submission(&ctx.endpoints.submission, me, &ctx.args.password),
    }?;
    if ctx.args.pipelining {
        session.pipelined()
    } else {
        Ok(session)
    }
}

impl Worker for Sender {
    fn run(&mut self, op: u64, due: Option<Instant>, out: &mut report::Partial) {
        let to = self.recipients();
        let from = match self.ctx.args.scenario {
            Scenario::SmtpSubmit => self.me.clone(),
            _ => self.ctx.args.mail_from.clone(),
        };
        let ctx = Arc::clone(&self.ctx);
        let message = ctx.corpus.message(&mut self.rng, &from, &to[0], op);
        let t = due.unwrap_or_else(Instant::now);
        let result = self.session().and_then(|mut s| {
            let t = if due.is_none() && s.sent() == 0 { Instant::now() } else { t };
            let sent = s.send(&from, &to, &message, &mut self.delivered);
            // A session whose transaction failed stays usable unless the connection broke: the
            // next transaction starts with RSET, and a broken one fails there and is replaced.
            self.session = Some(s);
            sent.map(|()| t.elapsed())
        });
        match result {
            Ok(latency) => out.record(latency),
            Err(e) => {
                let text = e.to_string();
                let refused = (text.starts_with("SMTP ") || text.starts_with("LMTP ")) && !text[5..].starts_with("421");
                if !refused {
                    self.session = None;
                }
                out.error(&e);
            }
        }
    }

    fn finish(&mut self) {
        if let Some(s) = self.session.take() {
            let _ = s.quit();
        }
    }

    fn figures(&self) -> Vec<(&'static str, f64)> {
        match self.ctx.args.scenario {
            Scenario::SmtpSubmit => Vec::new(),
            _ => vec![("recipients_delivered", self.delivered as f64)],
        }
    }
}
