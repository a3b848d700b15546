//! The IMAP session (RFC 9051 / RFC 3501 with the extensions named in [`CAPABILITIES_AUTH`]):
//! the connection loop, the command table and dispatch. Each command group has its own handler
//! module (`auth`, `select`, `mailbox`, `list`, `append`, `fetch`, `store`, `search`, `copy`,
//! `expunge`, `idle`); wire parsing lives in `crate::wire::imap*`.
//!
//! ```text
//!            greeting
//!               │
//!               ▼
//!    ┌── Not authenticated ──LOGIN / AUTHENTICATE ok──► Authenticated ◄──CLOSE / UNSELECT──┐
//!    │     │  AUTHENTICATE PLAIN without IR:                │      │                        │
//!    │     └─► "+ " ─► waits for one base64 line            │      └─SELECT / EXAMINE ok─► Selected
//!    │                                                      │                      │  IDLE ─► "+ idling"
//!    │                                                      │                      │  ◄── DONE
//!    └─ too many commands / failures / errors ──────────────┴──► * BYE, close ◄── LOGOUT, timeout, shutdown
//! ```
//!
//! Command metadata is data (`commands::COMMANDS`): the states a command is valid in, and whether it uses
//! or breaks message sequence numbers. Before a command runs in the selected state the session
//! reports what other sessions changed (`sync`, in `select`); EXPUNGE responses are held
//! back while a command that uses sequence numbers (FETCH, STORE, SEARCH, COPY) is answered
//! (RFC 9051 §7.5.1).
//!
//! A session speaks IMAP4rev1 until `ENABLE IMAP4rev2` sets `rev2`; the handlers that differ
//! between the versions (RFC 9051 Appendix E) read that flag: `select` (no RECENT/UNSEEN, a LIST
//! line, `[CLOSED]`), `search` (ESEARCH, no RECENT/NEW/OLD), `mailbox` (no STATUS RECENT), `list`
//! (`\NonExistent`), CHECK here, and `names` (modified UTF-7 or UTF-8 mailbox names).

mod append;
mod auth;
mod binary;
mod commands;
mod copy;
mod expunge;
mod fetch;
mod idle;
mod list;
mod literals;
mod mailbox;
mod names;
mod qresync;
mod read_ahead;
mod search;
mod select;
mod store;

use super::{read_input, Input, SessionContext};
use crate::io::{release_idle, Transport};
use crate::wire::imap::{parse_command, CommandFramer, Frame, ParseError};
use crate::wire::smtp::{Line, LineFramer};
use commands::{Cmd, AUTH, COMMANDS, NOT_AUTH, SELECTED};
use select::Selected;
use std::io;
use std::time::Duration;
use storage::{Address, StoreError};

/// Capabilities before login.
pub const CAPABILITIES_PREAUTH: &str = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE AUTH=PLAIN";
/// Capabilities once authenticated: exactly what the handlers implement. `APPENDLIMIT=<n>`, which
/// depends on the config, follows them ([`capabilities_auth`]).
pub const CAPABILITIES_AUTH: &str =
    "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE ESEARCH CONDSTORE QRESYNC BINARY LIST-EXTENDED LIST-STATUS CREATE-SPECIAL-USE STATUS=SIZE MULTIAPPEND WITHIN SEARCHRES";

/// The capability list once authenticated: [`CAPABILITIES_AUTH`] and `APPENDLIMIT=<n>` (RFC 7889).
pub fn capabilities_auth(limits: &mailgenic_config::Limits) -> String {
    format!("{CAPABILITIES_AUTH} APPENDLIMIT={}", append::append_limit(limits))
}
/// An input buffer this large or smaller is kept between commands; a larger one is freed once
/// drained.
const KEEP_INPUT_BYTES: usize = 4096;

/// What the connection does after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Flow {
    Continue,
    /// AUTHENTICATE sent `+ `; the next line is the client's SASL response for this tag.
    AwaitSaslResponse(Vec<u8>),
    /// IDLE was accepted: wait for `DONE` while reporting changes; the tag ends it.
    Idle(Vec<u8>),
    Close,
}

/// One IMAP connection's state.
struct ImapSession<'a> {
    ctx: &'a SessionContext,
    /// The authenticated account, once there is one.
    user: Option<Address>,
    /// The selected mailbox and its sequence-number map.
    selected: Option<Selected>,
    /// CONDSTORE was enabled (ENABLE, SELECT (CONDSTORE), or a MODSEQ-using command).
    condstore: bool,
    /// QRESYNC was enabled (RFC 7162 §3.2.3): expunges are reported as VANISHED.
    qresync: bool,
    /// `ENABLE IMAP4rev2` was accepted: RFC 9051 behaviour (UTF-8 mailbox names, no `\Recent`,
    /// ESEARCH answers to SEARCH, ...); IMAP4rev1 behaviour until then.
    rev2: bool,
    commands_before_auth: u32,
    auth_failures: u32,
    errors: u32,
}

/// Serves one IMAP connection until it ends.
pub async fn serve<T: Transport>(transport: &mut T, ctx: &SessionContext) -> io::Result<Option<Address>> {
    let config = &ctx.config;
    let mut session = ImapSession {
        ctx,
        user: None,
        selected: None,
        condstore: false,
        qresync: false,
        rev2: false,
        commands_before_auth: 0,
        auth_failures: 0,
        errors: 0,
    };
    let mut shutdown = ctx.shutdown.clone();
    let mut framer = CommandFramer::new(config.limits.max_line_bytes, config.limits.max_literal_bytes);
    let mut line_framer = LineFramer::new(config.limits.max_line_bytes);
    let mut input: Vec<u8> = Vec::new();
    let mut out: Vec<u8> = Vec::with_capacity(256);
    let mut sasl_tag: Option<Vec<u8>> = None;
    // A continuation request for a literal is among what is about to be written.
    let mut literal_next = false;
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
                Frame::Continue { size } => {
                    let refusal =
                        if is_append(&input) { session.refuse_append_early(&input, size).await } else { None };
                    if let Some(text) = refusal {
                        // Refused before the client sends a byte of the literal (the client waits
                        // for `+`, so nothing follows): forget the command.
                        let tag = parse_command(&input).map(|c| c.tag.to_vec()).unwrap_or_else(|_| b"*".to_vec());
                        input.clear();
                        framer = CommandFramer::new(config.limits.max_line_bytes, config.limits.max_literal_bytes);
                        reply(&mut out, &tag, "NO", text);
                        continue;
                    }
                    out.extend_from_slice(b"+ Ready for literal data\r\n");
                    literal_next = true;
                    break;
                }
                Frame::Command { len } => {
                    flow = session.handle(&input[..len], &mut out, transport).await?;
                    input.drain(..len);
                }
                Frame::LineTooLong { len } => {
                    // Tagged when the tag is readable, so that the client is not left waiting.
                    let tag = leading_tag(&input[..len]).unwrap_or(b"*").to_vec();
                    input.drain(..len);
                    reply(&mut out, &tag, "BAD", "[TOOBIG] Command line too long");
                    flow = session.count_error(&mut out);
                }
                Frame::LiteralTooLarge { len, size, synchronizing } => {
                    let append = is_append(&input[..len]);
                    let tag = parse_command(&input[..len]).map(|c| c.tag.to_vec()).unwrap_or_else(|_| b"*".to_vec());
                    input.drain(..len);
                    if append {
                        // A non-synchronising literal follows anyway: the framer drops it and the
                        // rest of the command (RFC 7889 §3, RFC 7888 §4).
                        let text = if size > config.limits.max_literal_bytes {
                            "[TOOBIG] Message too large"
                        } else {
                            "[TOOBIG] The messages of one APPEND are too large together"
                        };
                        reply(&mut out, &tag, "NO", text);
                        continue;
                    }
                    reply(&mut out, &tag, "BAD", "[TOOBIG] Literal too large");
                    flow = if synchronizing { session.count_error(&mut out) } else { Flow::Close };
                }
            }
            match flow {
                Flow::Continue => {}
                Flow::AwaitSaslResponse(ref tag) => {
                    sasl_tag = Some(tag.clone());
                    flow = Flow::Continue;
                }
                Flow::Idle(_) | Flow::Close => break,
            }
        }
        if !out.is_empty() {
            transport.write_all(&out).await?;
            out.clear();
            if out.capacity() > KEEP_INPUT_BYTES {
                out = Vec::with_capacity(256);
            }
        }
        if std::mem::take(&mut literal_next) {
            // The literal and the line end after it may come in two writes (see ack_promptly).
            transport.ack_promptly();
        }
        if let Flow::Idle(tag) = flow {
            flow = session.idle(&tag, transport, &mut input, &mut out, &mut shutdown).await?;
            if flow != Flow::Close {
                // Commands pipelined after DONE are already in the buffer.
                continue;
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

/// The tag at the start of a (possibly truncated) command line, if it is a valid `tag`
/// (`1*<any ASTRING-CHAR except "+">`, RFC 9051 §9).
fn leading_tag(line: &[u8]) -> Option<&[u8]> {
    let end = memchr::memchr(b' ', line)?;
    let tag = &line[..end];
    let valid = |b: &u8| b.is_ascii_graphic() && !b"(){%*\"\\+".contains(b);
    (!tag.is_empty() && tag.iter().all(valid)).then_some(tag)
}

/// Whether a (possibly partial) command is an APPEND, for the `[TOOBIG]` answer.
fn is_append(frame: &[u8]) -> bool {
    let line = &frame[..memchr::memchr(b'\n', frame).map_or(frame.len(), |i| i + 1)];
    parse_command(line).is_ok_and(|c| c.is("APPEND"))
}

impl ImapSession<'_> {
    /// The state bit of the session now.
    fn state(&self) -> u8 {
        match (&self.user, &self.selected) {
            (None, _) => NOT_AUTH,
            (Some(_), None) => AUTH,
            (Some(_), Some(_)) => SELECTED,
        }
    }

    /// The answer for a handler reached without an account (the command table prevents it).
    fn not_logged_in(&mut self, out: &mut Vec<u8>, tag: &[u8]) -> Flow {
        self.bad(out, tag, "Log in first")
    }

    /// Answers one framed command.
    async fn handle<T: Transport>(&mut self, frame: &[u8], out: &mut Vec<u8>, transport: &mut T) -> io::Result<Flow> {
        let command = match parse_command(frame) {
            Ok(command) => command,
            Err(ParseError::BadTag) => {
                out.extend_from_slice(b"* BAD Missing or invalid tag\r\n");
                return Ok(self.count_error(out));
            }
            Err(ParseError::Syntax { tag, reason }) => {
                reply(out, &tag, "BAD", reason);
                return Ok(self.count_error(out));
            }
        };
        if self.user.is_none() {
            self.commands_before_auth += 1;
            if self.commands_before_auth > self.ctx.config.limits.max_commands_before_auth {
                out.extend_from_slice(b"* BYE Too many commands before authentication\r\n");
                return Ok(Flow::Close);
            }
        }
        let tag = command.tag;
        let (uid, name, args) = if command.is("UID") {
            let (name, args) = crate::wire::imap_values::next_token(command.args);
            (true, name, args)
        } else {
            (false, command.name, command.args)
        };
        let Some(spec) = COMMANDS.iter().find(|s| name.eq_ignore_ascii_case(s.name.as_bytes())) else {
            reply(out, tag, "BAD", "Unknown or unsupported command");
            return Ok(self.count_error(out));
        };
        if uid && !spec.has_uid_form {
            reply(out, tag, "BAD", "This command has no UID form");
            return Ok(self.count_error(out));
        }
        if spec.states & self.state() == 0 {
            let why = if self.state() == NOT_AUTH {
                "Log in first"
            } else if spec.states == NOT_AUTH {
                "Already authenticated"
            } else if spec.states == SELECTED {
                "Select a mailbox first"
            } else {
                "Command not valid in this state"
            };
            reply(out, tag, "BAD", why);
            return Ok(self.count_error(out));
        }
        // Report other sessions' changes first; no EXPUNGE while sequence numbers are in use.
        let expunges_allowed = uid || !spec.uses_seqs || spec.breaks_seqs;
        if self.selected.is_some() && !matches!(spec.cmd, Cmd::Logout | Cmd::Idle | Cmd::Select | Cmd::Examine) {
            self.sync(out, expunges_allowed).await;
        }
        let flow = match spec.cmd {
            Cmd::Capability => {
                let caps = if self.user.is_some() {
                    capabilities_auth(&self.ctx.config.limits)
                } else {
                    CAPABILITIES_PREAUTH.to_string()
                };
                out.extend_from_slice(format!("* CAPABILITY {caps}\r\n").as_bytes());
                reply(out, tag, "OK", "CAPABILITY completed");
                Flow::Continue
            }
            Cmd::Noop => ok(out, tag, "NOOP completed"),
            // RFC 9051 Appendix E: CHECK was removed; NOOP does what it did.
            Cmd::Check if self.rev2 => return Ok(self.bad(out, tag, "CHECK is not part of IMAP4rev2, use NOOP")),
            Cmd::Check => ok(out, tag, "CHECK completed"),
            Cmd::Logout => {
                out.extend_from_slice(b"* BYE Logging out\r\n");
                reply(out, tag, "OK", "LOGOUT completed");
                Flow::Close
            }
            Cmd::Id => {
                out.extend_from_slice(b"* ID (\"name\" \"Mailgenic\")\r\n");
                ok(out, tag, "ID completed")
            }
            Cmd::Namespace => {
                out.extend_from_slice(b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
                ok(out, tag, "NAMESPACE completed")
            }
            Cmd::Enable => self.enable(tag, args, out),
            Cmd::Login => self.login(tag, args, out).await,
            Cmd::Authenticate => self.authenticate(tag, args, out).await,
            Cmd::Select => self.select(tag, args, false, out).await,
            Cmd::Examine => self.select(tag, args, true, out).await,
            Cmd::Close => self.close(tag, out).await,
            Cmd::Unselect => {
                self.selected = None;
                ok(out, tag, "UNSELECT completed")
            }
            Cmd::Create => self.create(tag, args, out).await,
            Cmd::Delete => self.delete(tag, args, out).await,
            Cmd::Rename => self.rename(tag, args, out).await,
            Cmd::Subscribe => self.subscribe(tag, args, true, out).await,
            Cmd::Unsubscribe => self.subscribe(tag, args, false, out).await,
            Cmd::List => self.list(tag, args, out).await,
            Cmd::Lsub => self.lsub(tag, args, out).await,
            Cmd::Status => self.status(tag, args, out).await,
            Cmd::Append => self.append(tag, args, out).await,
            Cmd::Idle => {
                if !args.is_empty() {
                    reply(out, tag, "BAD", "IDLE takes no arguments");
                    return Ok(self.count_error(out));
                }
                Flow::Idle(tag.to_vec())
            }
            Cmd::Expunge => self.expunge(tag, args, uid, out).await,
            Cmd::Search => self.search(tag, args, uid, out).await,
            Cmd::Fetch => return self.fetch(tag, args, uid, out, transport).await,
            Cmd::Store => self.store(tag, args, uid, out).await,
            Cmd::Copy => self.copy(tag, args, uid, false, out).await,
            Cmd::Move => self.copy(tag, args, uid, true, out).await,
        };
        Ok(flow)
    }

    /// ENABLE (RFC 5161): CONDSTORE, QRESYNC (which implies CONDSTORE, RFC 7162 §3.2.3) and
    /// IMAP4rev2 (RFC 9051 §6.3.1). Unknown capabilities are ignored, as RFC 5161 §3.1 says.
    fn enable(&mut self, tag: &[u8], args: &[u8], out: &mut Vec<u8>) -> Flow {
        if args.is_empty() {
            return self.bad(out, tag, "Syntax: ENABLE capability...");
        }
        out.extend_from_slice(b"* ENABLED");
        for capability in args.split(|&b| b == b' ') {
            if capability.eq_ignore_ascii_case(b"CONDSTORE") && !self.condstore {
                self.condstore = true;
                out.extend_from_slice(b" CONDSTORE");
            } else if capability.eq_ignore_ascii_case(b"QRESYNC") && !self.qresync {
                self.qresync = true;
                self.condstore = true;
                out.extend_from_slice(b" QRESYNC");
            } else if capability.eq_ignore_ascii_case(b"IMAP4rev2") && !self.rev2 {
                self.rev2 = true;
                out.extend_from_slice(b" IMAP4rev2");
            }
        }
        out.extend_from_slice(b"\r\n");
        ok(out, tag, "ENABLE completed")
    }

    fn enable_condstore(&mut self, out: &mut Vec<u8>) {
        enable_condstore(&mut self.condstore, self.selected.as_ref(), out);
    }

    /// A `BAD` that counts towards the error limit.
    fn bad(&mut self, out: &mut Vec<u8>, tag: &[u8], text: &str) -> Flow {
        reply(out, tag, "BAD", text);
        self.count_error(out)
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

/// Turns CONDSTORE on because a command used it (RFC 7162 §3.1): the first time, in the
/// selected state, the client is told the mailbox's HIGHESTMODSEQ.
fn enable_condstore(condstore: &mut bool, selected: Option<&Selected>, out: &mut Vec<u8>) {
    if *condstore {
        return;
    }
    *condstore = true;
    if let Some(selected) = selected {
        out.extend_from_slice(format!("* OK [HIGHESTMODSEQ {}] Highest\r\n", selected.modseq).as_bytes());
    }
}

/// The one mapping from store errors to IMAP answers.
fn store_failed(out: &mut Vec<u8>, tag: &[u8], error: &StoreError) -> Flow {
    let text = match error {
        StoreError::Unavailable(_) | StoreError::Locked(_) => {
            tracing::warn!(error = %error, "imap store call failed");
            "[UNAVAILABLE] The mail store is temporarily unavailable, try again later".to_string()
        }
        StoreError::NotFound(what) => format!("[NONEXISTENT] {what} does not exist"),
        StoreError::Exists(what) => format!("[ALREADYEXISTS] {what} exists already"),
        StoreError::Invalid(why) => format!("[CANNOT] {why}"),
        StoreError::SchemaTooNew { .. } | StoreError::Corrupt(_) => {
            tracing::error!(error = %error, "imap store call failed");
            "[SERVERBUG] The mail store failed".to_string()
        }
    };
    // Store errors may quote a mailbox name in UTF-8; IMAP4rev1 response text is US-ASCII.
    let text: String = text.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' }).collect();
    reply(out, tag, "NO", &text);
    Flow::Continue
}

fn ok(out: &mut Vec<u8>, tag: &[u8], text: &str) -> Flow {
    reply(out, tag, "OK", text);
    Flow::Continue
}

fn reply(out: &mut Vec<u8>, tag: &[u8], status: &str, text: &str) {
    out.extend_from_slice(tag);
    out.push(b' ');
    out.extend_from_slice(status.as_bytes());
    out.push(b' ');
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Writes `value` as an IMAP string (the store's encoder, also used for ENVELOPE).
fn push_string(out: &mut Vec<u8>, value: &[u8]) {
    storage::mail::imap_string::push_string(out, value);
}

/// Compresses ascending numbers into a sequence set (`1:3,7`).
fn encode_set(numbers: impl IntoIterator<Item = u32>) -> String {
    let mut runs: Vec<std::ops::RangeInclusive<u32>> = Vec::new();
    for n in numbers {
        match runs.last_mut() {
            Some(run) if n == run.end().wrapping_add(1) => *run = *run.start()..=n,
            _ => runs.push(n..=n),
        }
    }
    encode_ranges(&runs)
}

/// Writes ascending, non-adjacent ranges as a sequence set (`1:3,7`).
fn encode_ranges(ranges: &[std::ops::RangeInclusive<u32>]) -> String {
    let mut text = String::new();
    for range in ranges {
        if !text.is_empty() {
            text.push(',');
        }
        if range.start() == range.end() {
            text.push_str(&range.start().to_string());
        } else {
            text.push_str(&format!("{}:{}", range.start(), range.end()));
        }
    }
    text
}

#[cfg(test)]
mod tests;
