//! Pure protocol code: parsers and reply encoders. No sockets, no TLS, no storage; every function
//! takes bytes and returns slices or values, so it can be tested split at every byte offset and
//! fuzzed on its own.

pub mod cte;
pub mod imap;
pub mod imap_append;
pub mod imap_fetch;
pub mod imap_mailbox;
pub mod imap_search;
pub mod imap_values;
pub mod mutf7;
pub mod sasl;
pub mod smtp;
pub mod smtp_data;
pub mod smtp_reply;

#[cfg(test)]
mod test_framing;
