//! Table tests of APPEND arguments, each also framed as a whole command split at every byte.

use super::*;
use crate::wire::imap::{parse_command, CommandFramer, Frame};
use storage::mail::SystemFlag;

/// What a case should parse to: mailbox, then per message (flags, date, data, literal8).
type Expected = (&'static str, Vec<(Flags, Option<i64>, &'static str, bool)>);

fn seen() -> Flags {
    Flags::new().with(SystemFlag::Seen)
}

/// Frames `t APPEND <args>\r\n` fed in two pieces split at `split` and returns the one command.
fn frame_at(command: &[u8], split: usize) -> Vec<u8> {
    let mut framer = CommandFramer::new(1000, 1000);
    let mut buf = Vec::new();
    for chunk in [&command[..split], &command[split..]] {
        buf.extend_from_slice(chunk);
        loop {
            match framer.frame(&buf) {
                Frame::Command { len } => {
                    assert_eq!(len, buf.len(), "one command, split {split}");
                    return buf;
                }
                Frame::Incomplete | Frame::Continue { .. } => break,
                other => panic!("split {split}: {other:?}"),
            }
        }
    }
    panic!("split {split}: no command framed");
}

#[test]
fn append_arguments_table_at_every_split() {
    let date = 837_596_665; // "17-Jul-1996 02:44:25 -0700" is 09:44:25 UTC
    let cases: Vec<(&str, Result<Expected, ()>)> = vec![
        ("INBOX {3}\r\nabc", Ok(("INBOX", vec![(Flags::new(), None, "abc", false)]))),
        (
            "\"Sent Items\" (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {3+}\r\nabc",
            Ok(("Sent Items", vec![(seen(), Some(date), "abc", false)])),
        ),
        // BINARY's literal8, alone or among literals.
        ("INBOX ~{1}\r\nx", Ok(("INBOX", vec![(Flags::new(), None, "x", true)]))),
        (
            "INBOX {1+}\r\nx (\\Seen) ~{2+}\r\nyz",
            Ok(("INBOX", vec![(Flags::new(), None, "x", false), (seen(), None, "yz", true)])),
        ),
        // MULTIAPPEND: each message with its own options; literals hold command-like text.
        (
            "saved (\\Seen) {10}\r\nb LOGOUT\r\n \"17-Jul-1996 02:44:25 -0700\" {2+}\r\nxy {0}\r\n",
            Ok((
                "saved",
                vec![
                    (seen(), None, "b LOGOUT\r\n", false),
                    (Flags::new(), Some(date), "xy", false),
                    (Flags::new(), None, "", false),
                ],
            )),
        ),
        ("{5}\r\nINBOX () {1}\r\nz", Ok(("INBOX", vec![(Flags::new(), None, "z", false)]))),
        ("INBOX", Err(())),
        ("INBOX (\\Seen)", Err(())),
        ("INBOX \"17-Jul-1996 02:44:25 -0700\"", Err(())),
        ("INBOX abc", Err(())),
        ("INBOX {3}\r\nabc ", Err(())),
        ("INBOX {3}\r\nabc  {1}\r\nx", Err(())),
        ("INBOX {3}\r\nabcx", Err(())),
        ("INBOX {3}\r\nabc (\\Seen)", Err(())),
        ("INBOX (\\Recent) {1}\r\nx", Err(())),
        ("INBOX \"32-Jul-1996 02:44:25 -0700\" {1}\r\nx", Err(())),
        ("INBOX {1}\r\nx {2}\r\nyz junk", Err(())),
        ("INBOX ~ {1}\r\nx", Err(())),
        ("INBOX ~~{1}\r\nx", Err(())),
    ];
    for (args, expected) in &cases {
        let command = format!("t APPEND {args}\r\n").into_bytes();
        for split in 0..=command.len() {
            let framed = frame_at(&command, split);
            let parsed = parse_command(&framed).expect("command");
            match (parse_append(parsed.args), expected) {
                (Ok(got), Ok((mailbox, messages))) => {
                    assert_eq!(got.mailbox.as_ref(), mailbox.as_bytes(), "{args:?}");
                    let got: Vec<(Flags, Option<i64>, &[u8], bool)> =
                        got.messages.iter().map(|m| (m.flags.clone(), m.internal_date, m.data, m.literal8)).collect();
                    let want: Vec<(Flags, Option<i64>, &[u8], bool)> =
                        messages.iter().map(|(f, d, b, l)| (f.clone(), *d, b.as_bytes(), *l)).collect();
                    assert_eq!(got, want, "{args:?}");
                }
                (Err(_), Err(())) => {}
                (got, _) => panic!("{args:?} split {split}: {got:?}"),
            }
        }
    }
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of near-valid APPEND arguments, so that random joins reach deep into the parser.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"INBOX".to_vec()),
            Just(b" ".to_vec()),
            Just(b"(\\Seen $Work)".to_vec()),
            Just(b"()".to_vec()),
            Just(b"\"17-Jul-1996 02:44:25 -0700\"".to_vec()),
            Just(b"\"".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"~".to_vec()),
            (0usize..4, any::<bool>()).prop_map(|(n, plus)| {
                let mut v = format!("{{{n}{}}}\r\n", if plus { "+" } else { "" }).into_bytes();
                v.extend(std::iter::repeat_n(b'x', n));
                v
            }),
            proptest::collection::vec(any::<u8>(), 0..4),
        ]
    }

    proptest! {
        #[test]
        fn append_parser_never_panics_and_messages_are_slices_of_the_input(
            pieces in proptest::collection::vec(piece(), 0..12)
        ) {
            let input = pieces.concat();
            if let Ok(parsed) = parse_append(&input) {
                prop_assert!(!parsed.messages.is_empty());
                let range = input.as_ptr_range();
                for m in &parsed.messages {
                    prop_assert!(range.start <= m.data.as_ptr() && m.data.as_ptr_range().end <= range.end);
                }
            }
        }
    }
}
