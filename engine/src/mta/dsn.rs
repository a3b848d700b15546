//! Delivery status notifications (bounces): RFC 3464 `multipart/report` messages that tell a
//! sender which recipients could not be reached and why.
//!
//! ```text
//! multipart/report; report-type=delivery-status
//!   ├─ text/plain                 what happened, for the person
//!   ├─ message/delivery-status    per-message and per-recipient fields, for software
//!   └─ text/rfc822-headers        the returned message's header section
//! ```
//!
//! A bounce has the null reverse-path, so it can never cause another bounce (RFC 5321 §4.5.5).

use crate::session::smtp::envelope::rfc5322_date;

/// One recipient that failed for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub recipient: String,
    /// The reply or reason, as one line (`550 5.1.1 No such user here`).
    pub diagnostic: String,
    /// RFC 3463 status, e.g. `5.1.1`.
    pub status: String,
}

impl Failure {
    /// A failure whose status is the enhanced code at the start of `diagnostic`'s text (after the
    /// reply code), or `default_status`.
    pub fn new(recipient: &str, diagnostic: &str, default_status: &str) -> Failure {
        let status = diagnostic
            .split(' ')
            .nth(1)
            .filter(|s| {
                let parts: Vec<&str> = s.split('.').collect();
                parts.len() == 3
                    && matches!(parts[0], "4" | "5")
                    && parts[1..].iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
            })
            .unwrap_or(default_status);
        Failure { recipient: recipient.to_string(), diagnostic: printable(diagnostic), status: status.to_string() }
    }
}

/// Builds the bounce of `original` (its bytes as queued or received) for `failures`.
pub fn bounce(hostname: &str, sender: &str, original: &[u8], failures: &[Failure], now: i64, id: u64) -> Vec<u8> {
    let boundary = format!("{now:x}.{id:x}/{hostname}");
    let date = rfc5322_date(now);
    let mut m = String::with_capacity(2048);
    m.push_str(&format!("From: Mail Delivery System <MAILER-DAEMON@{hostname}>\r\n"));
    m.push_str(&format!("To: <{sender}>\r\n"));
    m.push_str("Subject: Undelivered Mail Returned to Sender\r\n");
    m.push_str(&format!("Date: {date}\r\n"));
    m.push_str(&format!("Message-ID: <{now:x}.{id:x}.bounce@{hostname}>\r\n"));
    m.push_str("Auto-Submitted: auto-replied\r\n");
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str(&format!(
        "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\"\r\n\r\n"
    ));
    m.push_str("This is a MIME-encapsulated message.\r\n\r\n");
    m.push_str(&format!("--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"));
    m.push_str(&format!("This is the mail system at host {hostname}.\r\n\r\n"));
    m.push_str("Your message could not be delivered to one or more recipients.\r\n");
    m.push_str("The reasons are given below; the header of your message is attached.\r\n\r\n");
    for f in failures {
        m.push_str(&format!("<{}>: {}\r\n", printable(&f.recipient), f.diagnostic));
    }
    m.push_str(&format!("\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"));
    m.push_str(&format!("Reporting-MTA: dns; {hostname}\r\nArrival-Date: {date}\r\n"));
    for f in failures {
        m.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {}\r\nAction: failed\r\nStatus: {}\r\nDiagnostic-Code: smtp; {}\r\n",
            printable(&f.recipient),
            f.status,
            f.diagnostic
        ));
    }
    m.push_str(&format!("\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"));
    let mut out = m.into_bytes();
    out.extend_from_slice(header_section(original));
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

/// The header section of `message`, up to (not including) the empty line.
fn header_section(message: &[u8]) -> &[u8] {
    if message.starts_with(b"\r\n") || message.starts_with(b"\n") {
        return &[];
    }
    let crlf = memchr::memmem::find(message, b"\r\n\r\n").map(|i| i + 2);
    let lf = memchr::memmem::find(message, b"\n\n").map(|i| i + 1);
    let end = match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => message.len(),
    };
    &message[..end]
}

/// Visible ASCII and spaces only, at most 500 bytes (a peer's reply text goes into headers).
fn printable(text: &str) -> String {
    text.chars().take(500).map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounce_is_a_delivery_status_report_with_the_original_header() {
        let original = b"From: alice@example.test\r\nSubject: hello\r\n\r\nsecret body\r\n";
        let failures = [
            Failure::new("bob@example.test", "550 5.1.1 <bob@example.test> No such user here", "5.0.0"),
            Failure::new("carol@example.test", "421 timed out", "4.4.7"),
        ];
        let text = String::from_utf8(bounce("mx.example.test", "alice@example.test", original, &failures, 0, 7))
            .expect("ascii");
        assert!(text.contains("To: <alice@example.test>\r\n"), "{text}");
        assert!(text.contains("Content-Type: multipart/report; report-type=delivery-status;"), "{text}");
        assert!(text.contains("Final-Recipient: rfc822; bob@example.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"));
        assert!(text.contains("Final-Recipient: rfc822; carol@example.test\r\nAction: failed\r\nStatus: 4.4.7\r\n"));
        assert!(text.contains("Subject: hello\r\n"), "the original header is returned");
        assert!(!text.contains("secret body"), "the body is not");
        assert!(text.ends_with("--\r\n"));
        let parsed = mail_parser_check(text.as_bytes());
        assert_eq!(parsed, 3, "three parts");
    }

    /// Counts the top-level parts with the store's own MIME reader.
    fn mail_parser_check(message: &[u8]) -> usize {
        let meta = storage::mail::meta::extract(message);
        meta.parts.iter().filter(|p| p.section.len() == 1).count()
    }

    #[test]
    fn header_sections() {
        assert_eq!(header_section(b"A: 1\r\nB: 2\r\n\r\nbody"), b"A: 1\r\nB: 2\r\n");
        assert_eq!(header_section(b"A: 1\n\nbody"), b"A: 1\n");
        assert_eq!(header_section(b"\r\nbody only"), b"");
        assert_eq!(header_section(b"A: 1"), b"A: 1");
    }
}
