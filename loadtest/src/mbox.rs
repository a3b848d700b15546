//! `--mbox FILE`: messages from an mbox file instead of the generator.
//!
//! Every line starting with `From ` begins a new message and is dropped (the "From_" line); the
//! empty line that separates messages is dropped too. Quoted lines are unquoted the mboxrd way: a
//! line of one or more `>` followed by `From ` loses one `>` (so mboxo's `>From ` becomes `From `).
//! Line ends become CRLF, ready for SMTP DATA (after dot-stuffing) and IMAP APPEND.

use anyhow::bail;

/// Splits an mbox file into messages with CRLF line ends.
pub fn split(mbox: &[u8]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut lines = mbox.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).peekable();
    // A final newline leaves an empty piece after it: not a line.
    let ends_in_newline = mbox.ends_with(b"\n");
    while lines.peek().is_some_and(|l| l.is_empty()) {
        lines.next();
    }
    if !lines.peek().is_some_and(|l| l.starts_with(b"From ")) {
        bail!("not an mbox file: it does not start with a \"From \" line");
    }
    let all: Vec<&[u8]> = lines.collect();
    let count = if ends_in_newline { all.len().saturating_sub(1) } else { all.len() };
    let mut messages = Vec::new();
    let mut current: Option<Vec<&[u8]>> = None;
    for &line in &all[..count] {
        if line.starts_with(b"From ") {
            if let Some(message) = current.take() {
                push(&mut messages, message);
            }
            current = Some(Vec::new());
            continue;
        }
        if let Some(message) = current.as_mut() {
            message.push(unquote(line));
        }
    }
    if let Some(message) = current {
        push(&mut messages, message);
    }
    Ok(messages)
}

/// `>From ` → `From `, `>>From ` → `>From ` (mboxrd).
fn unquote(line: &[u8]) -> &[u8] {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    if quotes > 0 && line[quotes..].starts_with(b"From ") {
        &line[1..]
    } else {
        line
    }
}

/// Adds a message without its separating empty line, unless nothing is left.
fn push(messages: &mut Vec<Vec<u8>>, mut lines: Vec<&[u8]>) {
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    if lines.iter().all(|l| l.is_empty()) {
        return;
    }
    let mut message = Vec::with_capacity(lines.iter().map(|l| l.len() + 2).sum());
    for line in lines {
        message.extend_from_slice(line);
        message.extend_from_slice(b"\r\n");
    }
    messages.push(message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_at_from_lines_and_quoted_froms_are_unquoted() {
        let mbox = b"From alice@example.test Thu Dec  3 12:00:00 2026\n\
Subject: one\n\
\n\
>From the start\n\
>>From twice quoted\n\
> From not quoted\n\
.a dot\n\
\n\
From bob@example.test Thu Dec  3 12:00:01 2026\r\n\
Subject: two\r\n\
\r\n\
body\r\n\
\r\n\
\r\n";
        let messages = split(mbox).unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(
            String::from_utf8_lossy(&messages[0]),
            "Subject: one\r\n\r\nFrom the start\r\n>From twice quoted\r\n> From not quoted\r\n.a dot\r\n"
        );
        // One separating empty line goes; a blank line of the body stays.
        assert_eq!(String::from_utf8_lossy(&messages[1]), "Subject: two\r\n\r\nbody\r\n\r\n");
    }

    #[test]
    fn a_file_without_from_lines_is_refused_and_empty_messages_are_skipped() {
        assert!(split(b"Subject: x\n\nbody\n").is_err());
        assert!(split(b"").is_err());
        assert_eq!(split(b"\nFrom a\n\nFrom b\nSubject: b\n").unwrap(), vec![b"Subject: b\r\n".to_vec()]);
        assert_eq!(split(b"From a\nno final newline").unwrap(), vec![b"no final newline\r\n".to_vec()]);
    }
}
