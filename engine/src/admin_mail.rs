//! Operator requests about mail: the outbound queue, accounts' usage, an account's mailboxes and
//! messages.
//!
//! The store's mail API is async (its calls are served by storage threads); the admin thread and
//! the CLI's direct mode are not reactor threads, so they wait for each call on a small
//! current-thread runtime of their own.

use crate::session::smtp::envelope::rfc5322_date;
use storage::mail::{SystemFlag, UidSet};
use storage::{Address, Domain, Store, StoreError};

/// Lines for the operator, and optionally raw message bytes (for `message show`).
pub struct MailOutput {
    pub lines: Vec<String>,
    pub raw: Option<Vec<u8>>,
}

impl MailOutput {
    fn lines(lines: Vec<String>) -> Result<MailOutput, StoreError> {
        Ok(MailOutput { lines, raw: None })
    }
}

/// What an operator may ask about mail.
#[derive(Debug, Clone)]
pub enum MailQuery {
    StoreUsage { domain: Option<String> },
    QueueList,
    QueueShow { id: u64 },
    QueueDelete { id: u64 },
    MailboxList { user: String },
    MessageList { user: String, mailbox: String },
    MessageShow { user: String, mailbox: String, uid: u32 },
}

pub fn run(store: &Store, query: &MailQuery) -> Result<MailOutput, StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| StoreError::Unavailable(format!("cannot start a runtime: {e}")))?;
    runtime.block_on(run_async(store, query))
}

async fn run_async(store: &Store, query: &MailQuery) -> Result<MailOutput, StoreError> {
    let mail = store.mail();
    match query {
        MailQuery::StoreUsage { domain } => {
            let domain = domain.as_deref().map(Domain::parse).transpose()?;
            let mut lines = Vec::new();
            for account in store.accounts(domain.as_ref())? {
                let usage = mail.usage(&account.address).await?;
                lines.push(format!("{} messages {} size {}", account.address, usage.messages, usage.bytes));
            }
            MailOutput::lines(lines)
        }
        MailQuery::QueueList => {
            let entries = mail.queue_list().await?;
            MailOutput::lines(
                entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{} {} from <{}> to {} size {} due {} attempts {}",
                            e.id,
                            e.route.name(),
                            e.sender,
                            e.recipients.iter().map(|r| format!("<{r}>")).collect::<Vec<_>>().join(","),
                            e.size,
                            rfc5322_date(e.due as i64),
                            e.attempts
                        )
                    })
                    .collect(),
            )
        }
        MailQuery::QueueShow { id } => {
            let e = mail.queue_show(*id).await?;
            let message = mail.queue_message(*id).await?;
            let mut lines = vec![
                format!("id: {}", e.id),
                format!("sender: <{}>", e.sender),
                format!("recipients: {}", e.recipients.join(", ")),
                format!("size: {}", e.size),
                format!("created: {}", rfc5322_date(e.created as i64)),
                format!("due: {}", rfc5322_date(e.due as i64)),
                format!("attempts: {}", e.attempts),
                format!(
                    "route: {}",
                    match e.route {
                        storage::mail::Route::Local => "local (retrying the hand-off to this host's MDA)",
                        storage::mail::Route::Remote =>
                            "remote (waiting for delivery to other MTAs, not done by this version)",
                    }
                ),
                format!("last error: {}", if e.last_error.is_empty() { "none" } else { &e.last_error }),
                String::new(),
            ];
            lines.extend(String::from_utf8_lossy(&message).lines().map(str::to_string));
            MailOutput::lines(lines)
        }
        MailQuery::QueueDelete { id } => {
            mail.queue_delete(*id).await?;
            MailOutput::lines(vec![format!("deleted queued message {id}")])
        }
        MailQuery::MailboxList { user } => {
            let account = Address::parse(user)?;
            let mut lines = Vec::new();
            for mailbox in mail.list_mailboxes(&account).await? {
                let status = mail.status(&account, &mailbox.name).await?;
                lines.push(format!(
                    "{}{} messages {} unseen {} size {}",
                    mailbox.name,
                    mailbox.special_use.map(|s| format!(" ({})", s.as_imap())).unwrap_or_default(),
                    status.messages,
                    status.unseen,
                    status.size
                ));
            }
            MailOutput::lines(lines)
        }
        MailQuery::MessageList { user, mailbox } => {
            let account = Address::parse(user)?;
            let summaries = mail.fetch_summaries(&account, mailbox, UidSet::all()).await?;
            let mut lines = Vec::with_capacity(summaries.len());
            for s in &summaries {
                let mut flags: Vec<&str> = s.flags.system_flags().map(SystemFlag::as_imap).collect();
                flags.extend(s.flags.keywords());
                let date = rfc5322_date(s.internal_date);
                lines.push(format!("{} size {} date {date} flags ({})", s.uid, s.size, flags.join(" ")));
            }
            MailOutput::lines(lines)
        }
        MailQuery::MessageShow { user, mailbox, uid } => {
            let account = Address::parse(user)?;
            let bytes = mail.read_message(&account, mailbox, *uid).await?;
            Ok(MailOutput { lines: Vec::new(), raw: Some(bytes) })
        }
    }
}
