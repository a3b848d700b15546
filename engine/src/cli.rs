//! The `mailgenic` command line.
//!
//! Every subcommand takes `--config FILE` (default `config/dev.toml`). Exit codes: 0 success, 1 the
//! operation failed, 2 the configuration (or the command line) is wrong.

use crate::admin::{self, Request, Response};
use clap::{Parser, Subcommand};
use mailgenic_config::Config;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use storage::StoreError;

#[derive(Debug, Parser)]
#[command(name = "mailgenic", version, about = "Mailgenic mail server: SMTP, LMTP and IMAP on one host")]
struct Cli {
    /// Configuration file.
    #[arg(long, global = true, default_value = "config/dev.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server until SIGTERM or SIGINT (SIGHUP reloads the certificate).
    Serve,
    /// Check the configuration file.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Manage local domains.
    Domain {
        #[command(subcommand)]
        action: DomainAction,
    },
    /// Manage accounts (the username is the full address).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Check or back up the mail store; show accounts' usage.
    Store {
        #[command(subcommand)]
        action: StoreAction,
    },
    /// Inspect and prune the outbound queue.
    Queue {
        #[command(subcommand)]
        action: QueueAction,
    },
    /// List an account's mailboxes.
    Mailbox {
        #[command(subcommand)]
        action: MailboxAction,
    },
    /// List and show stored messages.
    Message {
        #[command(subcommand)]
        action: MessageAction,
    },
}

#[derive(Debug, Subcommand)]
enum StoreAction {
    /// Verify the store's invariants; lists every problem and exits 1 if there is any.
    Check,
    /// Write a consistent copy of the store (a RocksDB checkpoint) into DIR, online.
    Backup { dir: PathBuf },
    /// Show each account's usage, optionally of one domain: its messages and their bytes (sum of
    /// RFC822.SIZE) over all its mailboxes.
    Usage { domain: Option<String> },
}

#[derive(Debug, Subcommand)]
enum QueueAction {
    /// List queued messages: id, sender, recipients, size, next attempt.
    List,
    /// Show one queued message: its envelope and its text.
    Show { id: u64 },
    /// Delete a queued message (it will not be delivered).
    Delete { id: u64 },
}

#[derive(Debug, Subcommand)]
enum MailboxAction {
    /// List the mailboxes of USER with their message counts.
    List { user: String },
}

#[derive(Debug, Subcommand)]
enum MessageAction {
    /// List the messages of a mailbox (default INBOX): UID, size, date, flags.
    List {
        user: String,
        #[arg(default_value = "INBOX")]
        mailbox: String,
    },
    /// Write one message, exactly as stored, to standard output.
    Show { user: String, mailbox: String, uid: u32 },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Load and validate the file; print what would be served.
    Check,
}

#[derive(Debug, Subcommand)]
enum DomainAction {
    /// Make a domain local.
    Add { domain: String },
    /// Remove a local domain that has no accounts.
    Del { domain: String },
    /// List local domains.
    List,
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Create an account; the password is prompted for, or read from standard input.
    Add {
        address: String,
        /// Read the password as one line from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change an account's password.
    Passwd {
        address: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete an account.
    Del { address: String },
    /// List accounts, optionally of one domain.
    List { domain: Option<String> },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mailgenic: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    let result = match cli.command {
        Command::Serve => crate::server::serve(config),
        Command::Config { action: ConfigAction::Check } => {
            println!(
                "{}: OK (hostname {}, data_dir {})",
                config.source.display(),
                config.hostname,
                config.data_dir.display()
            );
            Ok(())
        }
        Command::Domain { action } => {
            let request = match action {
                DomainAction::Add { domain } => Request::DomainAdd { domain },
                DomainAction::Del { domain } => Request::DomainDel { domain },
                DomainAction::List => Request::DomainList,
            };
            administer(&config, request)
        }
        Command::User { action } => user_request(action).and_then(|request| administer(&config, request)),
        Command::Store { action: StoreAction::Check } => administer(&config, Request::StoreCheck),
        Command::Store { action: StoreAction::Usage { domain } } => administer(&config, Request::StoreUsage { domain }),
        Command::Store { action: StoreAction::Backup { dir } } => {
            // The server may run in another directory: send it an absolute path.
            let dir = if dir.is_absolute() {
                dir
            } else {
                std::env::current_dir().map(|cwd| cwd.join(dir)).unwrap_or_default()
            };
            administer(&config, Request::StoreBackup { dir: dir.to_string_lossy().into_owned() })
        }
        Command::Queue { action } => administer(
            &config,
            match action {
                QueueAction::List => Request::QueueList,
                QueueAction::Show { id } => Request::QueueShow { id },
                QueueAction::Delete { id } => Request::QueueDelete { id },
            },
        ),
        Command::Mailbox { action: MailboxAction::List { user } } => administer(&config, Request::MailboxList { user }),
        Command::Message { action } => administer(
            &config,
            match action {
                MessageAction::List { user, mailbox } => Request::MessageList { user, mailbox },
                MessageAction::Show { user, mailbox, uid } => Request::MessageShow { user, mailbox, uid },
            },
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mailgenic: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    // RUST_LOG overrides `log.level`; either way rustls is kept quiet (see `log_filter`).
    let level = std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty());
    let filter = level
        .and_then(|level| EnvFilter::try_new(log_filter(&level)).ok())
        .unwrap_or_else(|| EnvFilter::new(log_filter(&config.log.level)));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// The tracing filter for `log.level`. rustls logs a warning for things any client may send (an IP
/// address as SNI, as imaptest and many scripts do): one line per connection that a peer controls.
/// Its records are kept to errors unless the configured filter names `rustls` itself.
fn log_filter(level: &str) -> String {
    if level.contains("rustls") {
        level.to_string()
    } else {
        format!("{level},rustls=error")
    }
}

fn user_request(action: UserAction) -> anyhow::Result<Request> {
    Ok(match action {
        UserAction::Add { address, password_stdin } => {
            let password = read_password(password_stdin)?;
            Request::UserAdd { address, password_hash: hash(password)? }
        }
        UserAction::Passwd { address, password_stdin } => {
            let password = read_password(password_stdin)?;
            Request::UserPasswd { address, password_hash: hash(password)? }
        }
        UserAction::Del { address } => Request::UserDel { address },
        UserAction::List { domain } => Request::UserList { domain },
    })
}

fn hash(mut password: String) -> anyhow::Result<String> {
    let hashed = storage::password::hash(password.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"));
    // SAFETY-free wipe: overwrite with zero bytes, which keeps the String valid UTF-8.
    password.replace_range(.., &"\0".repeat(password.len()));
    hashed
}

/// Reads the new password: one line from stdin with `--password-stdin`, else a prompt without echo
/// (asked twice). Never from the command line, where `ps` would show it.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!("no terminal to prompt for the password; use --password-stdin");
        }
        let first = rpassword::prompt_password("New password: ")?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        if first != second {
            anyhow::bail!("the passwords differ");
        }
        first
    };
    if password.is_empty() {
        anyhow::bail!("the password must not be empty");
    }
    Ok(password)
}

/// Sends `request` to the running server, or executes it on the store when no server runs.
fn administer(config: &Config, request: Request) -> anyhow::Result<()> {
    let response = match admin::send(&config.listen.admin_socket, &request)? {
        Some(response) => response,
        None => match crate::open_store(config) {
            Ok(store) => admin::execute(&store, &request, None),
            Err(StoreError::Locked(_)) => anyhow::bail!(
                "the store is in use by a running server, but its admin socket {} does not answer",
                config.listen.admin_socket.display()
            ),
            Err(e) => anyhow::bail!("{e}"),
        },
    };
    print_response(response)
}

fn print_response(response: Response) -> anyhow::Result<()> {
    for line in &response.lines {
        println!("{line}");
    }
    if !response.raw_base64.is_empty() {
        use base64::Engine;
        use std::io::Write;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&response.raw_base64)
            .map_err(|e| anyhow::anyhow!("malformed admin response: {e}"))?;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&raw)?;
        stdout.flush()?;
    }
    if response.ok {
        Ok(())
    } else {
        anyhow::bail!("{}", response.error)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rustls_is_quiet_unless_asked_for() {
        assert_eq!(super::log_filter("info"), "info,rustls=error");
        assert_eq!(super::log_filter("debug,rustls=debug"), "debug,rustls=debug");
    }
}
