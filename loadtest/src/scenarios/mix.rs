//! `imap-mix`: each connection logs in and runs a seeded, weighted random mix of IMAP commands;
//! one operation is one command, so the rate is commands per second and every command kind has
//! its own latency figures.
//!
//! ```text
//!   logged out ──LOGIN──► authenticated ──SELECT INBOX──► selected ──(weighted pick)──┐
//!        ▲                                                   ▲                         │
//!        └───────────────────── LOGOUT ◄─────────────────────┴── SELECT FETCH STORE ◄──┘
//!                                                               SEARCH APPEND EXPUNGE
//! ```
//!
//! `LOGIN` (timed from the TCP connect: connect, TLS, greeting, `LOGIN`) and `SELECT` run whenever
//! the state needs them; the weights pick among the rest. The default mix follows the shape of
//! imaptest's default stress mix (a login every ~8 commands, fetches twice as often as the others,
//! `\Deleted` flags set by STORE and removed by EXPUNGE while APPEND refills). Message sets are
//! UID ranges of up to 5 below the last UIDNEXT seen, so concurrent expunges on a shared mailbox
//! never make a command invalid. A tagged `NO`/`BAD` is counted (`IMAP NO at STORE`) and the
//! session goes on; a broken connection is counted and the next operation logs in again.

use super::{Ctx, Worker};
use crate::client::{self, Conn};
use crate::{gen, report};
use anyhow::bail;
use std::sync::Arc;
use std::time::Instant;

/// The commands the weights choose among.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Select,
    Fetch,
    Store,
    Search,
    Append,
    Expunge,
    Logout,
}

impl Command {
    const ALL: [Command; 7] = [
        Command::Select,
        Command::Fetch,
        Command::Store,
        Command::Search,
        Command::Append,
        Command::Expunge,
        Command::Logout,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Command::Select => "SELECT",
            Command::Fetch => "FETCH",
            Command::Store => "STORE",
            Command::Search => "SEARCH",
            Command::Append => "APPEND",
            Command::Expunge => "EXPUNGE",
            Command::Logout => "LOGOUT",
        }
    }

    /// The weight of the default mix.
    fn default_weight(self) -> u32 {
        match self {
            Command::Fetch => 20,
            Command::Search => 5,
            _ => 10,
        }
    }
}

/// Weights of the commands; a command is picked with probability weight / total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    weights: Vec<(Command, u32)>,
    total: u32,
}

/// Parses `--mix`: `name=weight` pairs separated by commas (`select=10,fetch=30`); names not
/// given keep their default weight, 0 switches a command off, an empty string is the default mix.
pub fn parse_mix(spec: &str) -> anyhow::Result<Mix> {
    let mut weights: Vec<(Command, u32)> = Command::ALL.iter().map(|&c| (c, c.default_weight())).collect();
    let mut seen = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((name, weight)) = item.split_once('=') else {
            bail!("--mix wants name=weight pairs, not {item:?}");
        };
        let name = name.trim();
        let Some(command) = Command::ALL.iter().copied().find(|c| c.name().eq_ignore_ascii_case(name)) else {
            let known: Vec<String> = Command::ALL.iter().map(|c| c.name().to_lowercase()).collect();
            bail!("--mix names {name:?}; known: {} (LOGIN runs whenever a connection is logged out)", known.join(", "));
        };
        if seen.contains(&command) {
            bail!("--mix names {name:?} twice");
        }
        seen.push(command);
        let weight: u32 =
            weight.trim().parse().map_err(|_| anyhow::anyhow!("--mix weight of {name:?} is not a number"))?;
        if weight > 1_000_000 {
            bail!("--mix weight of {name:?} is too large (at most 1000000)");
        }
        if let Some(entry) = weights.iter_mut().find(|(c, _)| *c == command) {
            entry.1 = weight;
        }
    }
    weights.retain(|&(_, w)| w > 0);
    let total = weights.iter().map(|&(_, w)| w).sum();
    if total == 0 {
        bail!("--mix switches every command off");
    }
    Ok(Mix { weights, total })
}

impl Mix {
    /// The command for a random number `r`.
    pub fn pick(&self, r: u64) -> Command {
        let mut x = (r % u64::from(self.total)) as u32;
        for &(command, weight) in &self.weights {
            if x < weight {
                return command;
            }
            x -= weight;
        }
        self.weights[0].0
    }
}

/// The session of one connection.
struct Session {
    conn: Conn,
    selected: bool,
    /// The highest UIDNEXT seen (from SELECT and APPENDUID): UID ranges are drawn below it.
    uid_next: u64,
    /// Tag counter.
    tag: u64,
}

/// One `imap-mix` connection.
pub struct Mixer {
    ctx: Arc<Ctx>,
    rng: gen::Rng,
    me: String,
    session: Option<Session>,
}

impl Mixer {
    pub fn new(ctx: &Arc<Ctx>, i: usize) -> Mixer {
        Mixer {
            ctx: Arc::clone(ctx),
            rng: gen::Rng::new(ctx.args.seed.wrapping_add(i as u64)),
            me: ctx.user(i as u64 % ctx.user_count() + 1),
            session: None,
        }
    }

    /// A UID set of 1-5 UIDs below UIDNEXT (or `1:*` in an empty mailbox).
    fn uid_set(&mut self, uid_next: u64) -> String {
        if uid_next <= 1 {
            return "1:*".into();
        }
        let lo = self.rng.range(1, uid_next - 1);
        let hi = lo + self.rng.range(0, 4);
        if hi == lo {
            lo.to_string()
        } else {
            format!("{lo}:{hi}")
        }
    }

    /// Runs `command` on the open session; the error of a tagged NO/BAD starts with `IMAP `.
    fn command(&mut self, command: Command, s: &mut Session, op: u64) -> anyhow::Result<()> {
        s.tag += 1;
        let tag = format!("m{}", s.tag);
        let uid_next = s.uid_next;
        let line = match command {
            Command::Select => "SELECT INBOX".to_string(),
            Command::Fetch => {
                let items = if self.rng.next() % 2 == 0 {
                    "(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)"
                } else {
                    "(UID BODY.PEEK[])"
                };
                format!("UID FETCH {} {items}", self.uid_set(uid_next))
            }
            Command::Store => {
                let flag = ["\\Seen", "\\Flagged", "\\Answered", "$Label1", "\\Deleted"][self.rng.range(0, 4) as usize];
                let sign = if flag == "\\Deleted" || self.rng.next() % 3 != 0 { '+' } else { '-' };
                format!("UID STORE {} {sign}FLAGS ({flag})", self.uid_set(uid_next))
            }
            Command::Search => {
                let keys =
                    ["UNSEEN", "FLAGGED", "SUBJECT \"report\"", "FROM \"user\"", "LARGER 20000", "SINCE 1-Dec-2026"];
                format!("UID SEARCH {}", keys[self.rng.range(0, keys.len() as u64 - 1) as usize])
            }
            Command::Append => {
                let message = self.ctx.corpus.message(&mut self.rng, &self.me, &self.me, op).into_owned();
                s.conn.send(&format!("{tag} APPEND INBOX (\\Seen) {{{}}}\r\n", message.len()))?;
                let mut go = s.conn.line()?;
                while go.starts_with("* ") {
                    go = s.conn.line()?;
                }
                if !go.starts_with('+') {
                    bail!("IMAP {}", go.split(' ').nth(1).unwrap_or("BAD"));
                }
                s.conn.send_bytes(&message)?;
                s.conn.send("\r\n")?;
                let mut appended = None;
                s.conn.imap_tagged_counting(&tag, &mut 0, |l| {
                    appended = appended.or_else(|| append_uid(l));
                })?;
                // The tagged OK itself carries APPENDUID; imap_tagged_counting passes it too.
                if let Some(uid) = appended {
                    s.uid_next = s.uid_next.max(uid + 1);
                }
                return Ok(());
            }
            Command::Expunge => "EXPUNGE".to_string(),
            Command::Logout => "LOGOUT".to_string(),
        };
        s.conn.send(&format!("{tag} {line}\r\n"))?;
        let mut uid_next_seen = None;
        s.conn.imap_tagged_counting(&tag, &mut 0, |l| {
            if let Some(n) = uid_next_code(l) {
                uid_next_seen = Some(n);
            }
        })?;
        if let Some(n) = uid_next_seen {
            s.uid_next = s.uid_next.max(n);
        }
        if command == Command::Select {
            s.selected = true;
        }
        Ok(())
    }
}

/// `IMAP NO`, `IMAP BAD` or `IMAP NO [CODE]` from the error of a tagged NO/BAD; `None` for
/// other errors (the connection broke).
fn status(error: &str) -> Option<String> {
    let mut words = error.split(' ');
    if words.next() != Some("IMAP") {
        return None;
    }
    let status = words.next().filter(|w| *w == "NO" || *w == "BAD")?;
    Some(match words.next().filter(|w| w.starts_with('[')) {
        Some(code) => format!("IMAP {status} {}", code.trim_end_matches(']').to_string() + "]"),
        None => format!("IMAP {status}"),
    })
}

/// The `n` of `* OK [UIDNEXT n] ...`.
fn uid_next_code(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("* OK [UIDNEXT ")?;
    rest.split(']').next()?.parse().ok()
}

/// The UID of `[APPENDUID validity uid]` in a tagged OK.
fn append_uid(line: &str) -> Option<u64> {
    let rest = &line[line.find("[APPENDUID ")? + "[APPENDUID ".len()..];
    rest.split(']').next()?.split(' ').nth(1)?.parse().ok()
}

impl Worker for Mixer {
    fn run(&mut self, op: u64, due: Option<Instant>, out: &mut report::Partial) {
        let t = due.unwrap_or_else(Instant::now);
        let Some(mut s) = self.session.take() else {
            match client::imap_login(&self.ctx.endpoints.imap, &self.me, &self.ctx.args.password) {
                Ok(conn) => {
                    out.record_command("LOGIN", t.elapsed());
                    self.session = Some(Session { conn, selected: false, uid_next: 1, tag: 0 });
                }
                Err(e) => out.error(&anyhow::anyhow!("{e} at LOGIN")),
            }
            return;
        };
        let command = if s.selected { self.ctx.mix.pick(self.rng.next()) } else { Command::Select };
        let t = if due.is_some() { t } else { Instant::now() };
        match self.command(command, &mut s, op) {
            Ok(()) => {
                out.record_command(command.name(), t.elapsed());
                if command != Command::Logout {
                    self.session = Some(s);
                }
            }
            Err(e) => {
                let text = e.to_string();
                let refused = status(&text);
                out.error(&anyhow::anyhow!("{} at {}", refused.as_deref().unwrap_or(&text), command.name()));
                // A tagged NO/BAD leaves the session usable; anything else broke it.
                if refused.is_some() && command != Command::Logout {
                    self.session = Some(s);
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Some(mut s) = self.session.take() {
            let _ = s.conn.send("z LOGOUT\r\n").and_then(|()| s.conn.imap_tagged("z"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse_with_defaults_overrides_and_errors() {
        let default = parse_mix("").unwrap();
        assert_eq!(default.total, 75);
        let m = parse_mix("select=10, FETCH=30,store=20,search=10,append=10,expunge=5,logout=5").unwrap();
        assert_eq!(m.total, 90);
        assert_eq!(m.weights[1], (Command::Fetch, 30));
        let only = parse_mix("fetch=1,select=0,store=0,search=0,append=0,expunge=0,logout=0").unwrap();
        assert_eq!(only.weights, vec![(Command::Fetch, 1)]);
        assert!(parse_mix("fetch").is_err());
        assert!(parse_mix("fetch=x").is_err());
        assert!(parse_mix("login=3").unwrap_err().to_string().contains("LOGIN runs whenever"));
        assert!(parse_mix("fetch=1,fetch=2").is_err());
        let off = "select=0,fetch=0,store=0,search=0,append=0,expunge=0,logout=0";
        assert!(parse_mix(off).is_err());
    }

    #[test]
    fn picks_follow_the_weights() {
        let m = parse_mix("select=1,fetch=3,store=0,search=0,append=0,expunge=0,logout=2").unwrap();
        let picks: Vec<Command> = (0..6).map(|r| m.pick(r)).collect();
        use Command::*;
        assert_eq!(picks, [Select, Fetch, Fetch, Fetch, Logout, Logout]);
        assert_eq!(m.pick(6), Select, "wraps around");
    }

    #[test]
    fn refusals_are_counted_by_status() {
        assert_eq!(status("IMAP NO Mailbox").as_deref(), Some("IMAP NO"));
        assert_eq!(status("IMAP NO [UNAVAILABLE]").as_deref(), Some("IMAP NO [UNAVAILABLE]"));
        assert_eq!(status("IMAP BAD").as_deref(), Some("IMAP BAD"));
        assert_eq!(status("server closed the connection"), None);
    }

    #[test]
    fn uidnext_and_appenduid_are_read() {
        assert_eq!(uid_next_code("* OK [UIDNEXT 42] Predicted next UID"), Some(42));
        assert_eq!(uid_next_code("* OK [UIDVALIDITY 3] x"), None);
        assert_eq!(append_uid("m3 OK [APPENDUID 1700000 17] Append completed"), Some(17));
        assert_eq!(append_uid("m3 OK Append completed"), None);
    }
}
