//! Administration of domains and accounts, the same whether the server runs or not.
//!
//! While the server runs it holds the store open, so the CLI sends its request over the admin UNIX
//! socket (mode 0600: only the server's user and root may use it); the server executes it and, for
//! `user passwd` and `user del`, drops the account from the credential cache. While the server is
//! stopped, the CLI opens the store itself and calls the same [`execute`].
//!
//! Mail requests (queue, mailboxes, messages) are answered by [`crate::admin_mail`].
//!
//! The wire format is one JSON object per line each way. Passwords never cross it: the CLI hashes
//! them (argon2id) and sends the PHC string.

use crate::admin_mail::MailQuery;
use crate::auth::Authenticator;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use storage::{Address, Domain, Store, StoreError};

/// Longest request line accepted on the admin socket.
const MAX_REQUEST_BYTES: u64 = 64 * 1024;
/// How long a CLI client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One administrative operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    DomainAdd {
        domain: String,
    },
    DomainDel {
        domain: String,
    },
    DomainList,
    UserAdd {
        address: String,
        password_hash: String,
    },
    UserPasswd {
        address: String,
        password_hash: String,
    },
    UserDel {
        address: String,
    },
    UserList {
        domain: Option<String>,
    },
    /// Verify the store's invariants and report every problem.
    StoreCheck,
    /// Write a consistent online copy of the store into `dir` (which must not exist).
    StoreBackup {
        dir: String,
    },
    /// Each account's usage (messages and bytes over all its mailboxes), optionally of one domain.
    StoreUsage {
        domain: Option<String>,
    },
    QueueList,
    QueueShow {
        id: u64,
    },
    QueueDelete {
        id: u64,
    },
    MailboxList {
        user: String,
    },
    MessageList {
        user: String,
        mailbox: String,
    },
    MessageShow {
        user: String,
        mailbox: String,
        uid: u32,
    },
}

/// Its outcome: lines to print, or an error to report.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Response {
    pub ok: bool,
    #[serde(default)]
    pub lines: Vec<String>,
    #[serde(default)]
    pub error: String,
    /// Raw bytes for the CLI to write as they are (`message show`), base64 on the wire.
    #[serde(default)]
    pub raw_base64: String,
}

impl Response {
    fn ok(lines: Vec<String>) -> Response {
        Response { ok: true, lines, error: String::new(), raw_base64: String::new() }
    }

    fn error(error: impl Into<String>) -> Response {
        Response { ok: false, lines: Vec::new(), error: error.into(), raw_base64: String::new() }
    }
}

/// Executes `request` against `store`; with a running server's authenticator, also forgets cached
/// credentials that the request invalidates.
pub fn execute(store: &Store, request: &Request, auth: Option<&Authenticator>) -> Response {
    if let Request::StoreCheck = request {
        // Every problem is a line of output; any problem at all makes the command fail.
        return match block_on(store.mail().check()) {
            Ok(Ok(problems)) if problems.is_empty() => Response::ok(vec!["store check: no problems found".into()]),
            Ok(Ok(problems)) => {
                let error = format!("store check: {} problem(s) found", problems.len());
                Response { ok: false, lines: problems, error, ..Response::default() }
            }
            Ok(Err(e)) | Err(e) => Response::error(e.to_string()),
        };
    }
    if let Some(query) = mail_query(request) {
        return match crate::admin_mail::run(store, &query) {
            Ok(output) => {
                let mut response = Response::ok(output.lines);
                if let Some(raw) = output.raw {
                    response.raw_base64 = base64::engine::general_purpose::STANDARD.encode(raw);
                }
                response
            }
            Err(e) => Response::error(e.to_string()),
        };
    }
    match run(store, request, auth) {
        Ok(lines) => Response::ok(lines),
        Err(e) => Response::error(e.to_string()),
    }
}

/// The mail requests, handed to [`crate::admin_mail`].
fn mail_query(request: &Request) -> Option<MailQuery> {
    Some(match request {
        Request::StoreUsage { domain } => MailQuery::StoreUsage { domain: domain.clone() },
        Request::QueueList => MailQuery::QueueList,
        Request::QueueShow { id } => MailQuery::QueueShow { id: *id },
        Request::QueueDelete { id } => MailQuery::QueueDelete { id: *id },
        Request::MailboxList { user } => MailQuery::MailboxList { user: user.clone() },
        Request::MessageList { user, mailbox } => {
            MailQuery::MessageList { user: user.clone(), mailbox: mailbox.clone() }
        }
        Request::MessageShow { user, mailbox, uid } => {
            MailQuery::MessageShow { user: user.clone(), mailbox: mailbox.clone(), uid: *uid }
        }
        _ => return None,
    })
}

fn run(store: &Store, request: &Request, auth: Option<&Authenticator>) -> Result<Vec<String>, StoreError> {
    match request {
        Request::StoreCheck => Ok(Vec::new()), // answered by `execute` itself
        Request::StoreBackup { dir } => {
            let dir = PathBuf::from(dir);
            if dir.exists() {
                return Err(StoreError::Exists(format!("backup directory {}", dir.display())));
            }
            if let Some(parent) = dir.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", parent.display())))?;
            }
            block_on(store.mail().backup(dir.clone()))??;
            Ok(vec![format!("backup written to {}", dir.display())])
        }
        Request::DomainAdd { domain } => {
            let domain = Domain::parse(domain)?;
            store.add_domain(&domain)?;
            Ok(vec![format!("added domain {domain}")])
        }
        Request::DomainDel { domain } => {
            let domain = Domain::parse(domain)?;
            store.remove_domain(&domain)?;
            Ok(vec![format!("deleted domain {domain}")])
        }
        Request::DomainList => Ok(store.domains()?.iter().map(ToString::to_string).collect()),
        Request::UserAdd { address, password_hash } => {
            let address = Address::parse(address)?;
            check_hash(password_hash)?;
            let domain = address.domain();
            match store.add_account(&address, password_hash) {
                Err(StoreError::Invalid(m)) if m.contains("not a local domain") => {
                    Err(StoreError::Invalid(format!("{m}; add it first with `mailgenic domain add {domain}`")))
                }
                other => other.map(|_| vec![format!("added user {address}")]),
            }
        }
        Request::UserPasswd { address, password_hash } => {
            let address = Address::parse(address)?;
            check_hash(password_hash)?;
            store.set_password(&address, password_hash)?;
            if let Some(auth) = auth {
                auth.forget(&address);
            }
            Ok(vec![format!("changed the password of {address}")])
        }
        Request::UserDel { address } => {
            let address = Address::parse(address)?;
            store.remove_account(&address)?;
            if let Some(auth) = auth {
                auth.forget(&address);
            }
            Ok(vec![format!("deleted user {address}")])
        }
        Request::UserList { domain } => {
            let domain = domain.as_deref().map(Domain::parse).transpose()?;
            Ok(store
                .accounts(domain.as_ref())?
                .iter()
                .map(|a| format!("{}{}", a.address, if a.enabled { "" } else { " (disabled)" }))
                .collect())
        }
        Request::StoreUsage { .. }
        | Request::QueueList
        | Request::QueueShow { .. }
        | Request::QueueDelete { .. }
        | Request::MailboxList { .. }
        | Request::MessageList { .. }
        | Request::MessageShow { .. } => Err(StoreError::Invalid("not an account request".into())),
    }
}

/// Runs one async store call to completion. Admin requests run on the admin thread or in the CLI,
/// never on a reactor thread, so blocking here is fine.
fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Unavailable(format!("cannot start a runtime: {e}")))?;
    Ok(runtime.block_on(future))
}

/// Only argon2id PHC strings are stored.
fn check_hash(hash: &str) -> Result<(), StoreError> {
    if hash.starts_with("$argon2id$") {
        Ok(())
    } else {
        Err(StoreError::Invalid("password hashes must be argon2id PHC strings".into()))
    }
}

/// Starts the admin socket server on its own thread (store calls block; they never run on a
/// reactor). Returns the socket path, for removal at shutdown.
pub fn start_server(path: &Path, store: Store, auth: Arc<Authenticator>) -> anyhow::Result<PathBuf> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    // We hold the data_dir lock, so a socket file left here belongs to a dead server.
    let _ = std::fs::remove_file(path);
    let listener =
        UnixListener::bind(path).map_err(|e| anyhow::anyhow!("cannot bind admin socket {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    std::thread::Builder::new().name("admin".into()).spawn(move || {
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => {
                    if let Err(e) = serve_one(stream, &store, &auth) {
                        tracing::warn!(error = %e, "admin request failed");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "admin accept failed"),
            }
        }
    })?;
    Ok(path.to_path_buf())
}

fn serve_one(stream: UnixStream, store: &Store, auth: &Authenticator) -> std::io::Result<()> {
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    let mut line = String::new();
    BufReader::new((&stream).take(MAX_REQUEST_BYTES)).read_line(&mut line)?;
    let response = match serde_json::from_str::<Request>(&line) {
        Ok(request) => {
            let response = execute(store, &request, Some(auth));
            // The request is logged by kind and outcome only: it may carry a password hash.
            tracing::info!(op = op_name(&request), ok = response.ok, "admin request");
            response
        }
        Err(e) => Response::error(format!("malformed admin request: {e}")),
    };
    let mut text = serde_json::to_string(&response).map_err(std::io::Error::other)?;
    text.push('\n');
    (&stream).write_all(text.as_bytes())
}

fn op_name(request: &Request) -> &'static str {
    match request {
        Request::DomainAdd { .. } => "domain add",
        Request::DomainDel { .. } => "domain del",
        Request::DomainList => "domain list",
        Request::UserAdd { .. } => "user add",
        Request::UserPasswd { .. } => "user passwd",
        Request::UserDel { .. } => "user del",
        Request::UserList { .. } => "user list",
        Request::StoreCheck => "store check",
        Request::StoreBackup { .. } => "store backup",
        Request::StoreUsage { .. } => "store usage",
        Request::QueueList => "queue list",
        Request::QueueShow { .. } => "queue show",
        Request::QueueDelete { .. } => "queue delete",
        Request::MailboxList { .. } => "mailbox list",
        Request::MessageList { .. } => "message list",
        Request::MessageShow { .. } => "message show",
    }
}

/// Sends `request` to a running server. `Ok(None)` means no server answers on `path`.
pub fn send(path: &Path, request: &Request) -> anyhow::Result<Option<Response>> {
    let stream = match UnixStream::connect(path) {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) => {
            return Ok(None)
        }
        Err(e) => return Err(anyhow::anyhow!("cannot connect to the admin socket {}: {e}", path.display())),
    };
    let mut text = serde_json::to_string(request)?;
    text.push('\n');
    (&stream).write_all(text.as_bytes())?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    Ok(Some(serde_json::from_str(&line)?))
}
