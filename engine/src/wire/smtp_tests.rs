use super::*;

fn lines(input: &[u8], split: usize, max: usize) -> Vec<String> {
    let mut framer = LineFramer::new(max);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for chunk in [&input[..split], &input[split..]] {
        buf.extend_from_slice(chunk);
        loop {
            match framer.frame(&buf) {
                Line::Incomplete => break,
                Line::Complete { len } => {
                    out.push(String::from_utf8_lossy(&buf[..len]).into_owned());
                    buf.drain(..len);
                }
                Line::TooLong { len } => {
                    out.push("TOOLONG".into());
                    buf.drain(..len);
                }
                Line::Skipped { len } => {
                    buf.drain(..len);
                }
            }
        }
    }
    out
}

#[test]
fn line_framing_at_every_split() {
    let cases: &[(&[u8], &[&str])] = &[
        (b"EHLO a\r\nNOOP\r\n", &["EHLO a\r\n", "NOOP\r\n"]),
        (b"NOOP\nQUIT\r\n", &["NOOP\n", "QUIT\r\n"]),
        (b"NOOP\r", &[]),
        (b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\nNOOP\r\n", &["TOOLONG", "NOOP\r\n"]),
    ];
    for (input, expected) in cases {
        for split in 0..=input.len() {
            assert_eq!(lines(input, split, 16), *expected, "{:?} split {split}", String::from_utf8_lossy(input));
        }
    }
}

#[test]
fn commands_table() {
    use Command::*;
    let ok: &[(&[u8], Command<'_>)] = &[
        (b"EHLO client.example\r\n", Ehlo(b"client.example")),
        (b"ehlo [127.0.0.1]\r\n", Ehlo(b"[127.0.0.1]")),
        (b"HELO x\r\n", Helo(b"x")),
        (b"LHLO x\r\n", Lhlo(b"x")),
        (
            b"MAIL FROM:<a@b.test> SIZE=100 BODY=8BITMIME\r\n",
            Mail { path: b"a@b.test", params: b"SIZE=100 BODY=8BITMIME" },
        ),
        (b"mail from: <>\r\n", Mail { path: b"", params: b"" }),
        (b"RCPT TO:<postmaster>\r\n", Rcpt { path: b"postmaster", params: b"" }),
        (b"DATA\r\n", Data),
        (b"BDAT 100 LAST\r\n", Bdat { size: 100, last: true }),
        (b"BDAT 0\r\n", Bdat { size: 0, last: false }),
        (b"RSET\r\n", Rset),
        (b"NOOP anything\r\n", Noop),
        (b"QUIT\r\n", Quit),
        (b"VRFY bob\r\n", Vrfy(b"bob")),
        (b"HELP\r\n", Help),
        (b"STARTTLS\r\n", Starttls),
        (b"AUTH PLAIN AGFsaWNlAHB3\r\n", Auth { mechanism: b"PLAIN", initial: Some(b"AGFsaWNlAHB3") }),
        (b"AUTH LOGIN\r\n", Auth { mechanism: b"LOGIN", initial: None }),
    ];
    for (line, expected) in ok {
        assert_eq!(parse_command(line).as_ref(), Ok(expected), "{:?}", String::from_utf8_lossy(line));
    }
    let bad: &[(&[u8], ParseError)] = &[
        (b"FOO\r\n", ParseError::Unrecognized),
        (b"\r\n", ParseError::Unrecognized),
        (b"EHLO\r\n", ParseError::Syntax("A domain name or address literal is required")),
        (b"MAIL a@b\r\n", ParseError::Syntax("Syntax: MAIL FROM:<address>")),
        (b"MAIL FROM:a@b\r\n", ParseError::Syntax("The address must be in angle brackets")),
        (b"RCPT TO:<a@b\r\n", ParseError::Syntax("Missing closing angle bracket")),
        (b"DATA x\r\n", ParseError::Syntax("No parameters allowed")),
        (b"BDAT x\r\n", ParseError::Syntax("Syntax: BDAT size [LAST]")),
        (b"AUTH\r\n", ParseError::Syntax("AUTH needs a mechanism")),
    ];
    for (line, expected) in bad {
        assert_eq!(parse_command(line), Err(*expected), "{:?}", String::from_utf8_lossy(line));
    }
}
