//! `imap-login`, `smtp-auth` and `imap-fetch`: a fresh connection per operation.

use super::{Ctx, Worker};
use crate::args::Scenario;
use crate::{client, report};
use std::sync::Arc;
use std::time::Instant;

/// One connection slot of a fresh-connection scenario.
pub struct Fresh {
    ctx: Arc<Ctx>,
    /// Bytes the server sent (`imap-fetch`).
    received: u64,
}

impl Fresh {
    pub fn new(ctx: &Arc<Ctx>) -> Fresh {
        Fresh { ctx: Arc::clone(ctx), received: 0 }
    }
}

impl Worker for Fresh {
    fn run(&mut self, op: u64, due: Option<Instant>, out: &mut report::Partial) {
        let ctx = &self.ctx;
        let name = ctx.user(op % ctx.user_count() + 1);
        let t = due.unwrap_or_else(Instant::now);
        let scenario = ctx.args.scenario;
        let endpoint = if scenario == Scenario::SmtpAuth { &ctx.endpoints.submission } else { &ctx.endpoints.imap };
        match client::operation(endpoint, scenario, &name, &ctx.args.password, &ctx.args.fetch) {
            Ok(bytes) => {
                self.received += bytes;
                out.record(t.elapsed());
            }
            Err(e) => out.error(&e),
        }
    }

    fn figures(&self) -> Vec<(&'static str, f64)> {
        if self.ctx.args.scenario == Scenario::ImapFetch {
            vec![("received_mib", self.received as f64 / 1048576.0)]
        } else {
            Vec::new()
        }
    }
}
