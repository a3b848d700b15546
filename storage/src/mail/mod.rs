//! The mail store: mailboxes, messages, bodies, the change log and the outbound queue.
mod imap_string;
pub mod meta;
#[cfg(test)]
mod tests;
