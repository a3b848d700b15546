//! Table tests of FETCH attributes and sections, and FETCH commands framed at every split.

use super::*;
use crate::wire::test_framing::framed_args;

fn section(part: &[u32], text: Option<SectionText>) -> Section {
    Section { part: part.to_vec(), text }
}

#[test]
fn fetch_attribute_table() {
    use FetchAttr::*;
    let cases: &[(&str, Option<Vec<FetchAttr>>)] = &[
        ("FLAGS", Some(vec![Flags])),
        ("fast", Some(vec![Flags, InternalDate, Rfc822Size])),
        (
            "(UID RFC822.SIZE FLAGS BODY.PEEK[])",
            Some(vec![Uid, Rfc822Size, Flags, Section { peek: true, section: section(&[], None), partial: None }]),
        ),
        (
            "BODY[1.2.MIME]<0.100>",
            Some(vec![Section {
                peek: false,
                section: section(&[1, 2], Some(SectionText::Mime)),
                partial: Some((0, 100)),
            }]),
        ),
        (
            "(BODY.PEEK[HEADER.FIELDS (From \"To\")] BODYSTRUCTURE)",
            Some(vec![
                Section {
                    peek: true,
                    section: section(&[], Some(SectionText::HeaderFields(vec!["From".into(), "To".into()]))),
                    partial: None,
                },
                BodyStructure,
            ]),
        ),
        (
            "BODY[3.HEADER.FIELDS.NOT (Received)]",
            Some(vec![Section {
                peek: false,
                section: section(&[3], Some(SectionText::HeaderFieldsNot(vec!["Received".into()]))),
                partial: None,
            }]),
        ),
        (
            "(BODY ENVELOPE MODSEQ RFC822 RFC822.HEADER RFC822.TEXT INTERNALDATE)",
            Some(vec![Body, Envelope, ModSeq, Rfc822, Rfc822Header, Rfc822Text, InternalDate]),
        ),
        (
            "(BINARY[1.2]<0.10> BINARY.PEEK[] binary.size[3])",
            Some(vec![
                Binary { peek: false, part: vec![1, 2], partial: Some((0, 10)) },
                Binary { peek: true, part: vec![], partial: None },
                BinarySize { part: vec![3] },
            ]),
        ),
        ("BINARY[1.MIME]", None),
        ("BINARY[HEADER]", None),
        ("BINARY.SIZE[1]<0.5>", None),
        ("BINARY", None),
        ("BINARY.PEEK[1", None),
        ("BODY[MIME]", None),
        ("BODY[1.]", None),
        ("BODY[0]", None),
        ("BODY.PEEK", None),
        ("BODY[]<0.0>", None),
        ("(FLAGS", None),
        ("(FLAGS  UID)", None),
        ("NOPE", None),
    ];
    for (input, expected) in cases {
        match (parse_fetch_attrs(input.as_bytes()), expected) {
            (Ok(got), Some(e)) => assert_eq!(&got.attrs, e, "{input}"),
            (Err(_), None) => {}
            (got, _) => panic!("{input}: {got:?}"),
        }
    }
    let request = parse_fetch_attrs(b"(FLAGS) (CHANGEDSINCE 12345)").expect("modifier");
    assert_eq!((request.changed_since, request.vanished), (Some(12345), false));
    let request = parse_fetch_attrs(b"(FLAGS) (CHANGEDSINCE 12345 VANISHED)").expect("modifiers");
    assert_eq!((request.changed_since, request.vanished), (Some(12345), true));
    let request = parse_fetch_attrs(b"FLAGS (vanished changedsince 7)").expect("any order");
    assert_eq!((request.changed_since, request.vanished), (Some(7), true));
    for bad in
        [&b"FLAGS (VANISHED)"[..], b"FLAGS (CHANGEDSINCE)", b"FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)", b"FLAGS (X)"]
    {
        assert!(parse_fetch_attrs(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn fetch_commands_frame_and_parse_at_every_split() {
    let input = b"a1 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)]<0.10> BINARY.PEEK[2]<5.7>)\r\n";
    for split in 0..=input.len() {
        let args = framed_args(input, split);
        let (_, rest) = crate::wire::imap_values::next_token(&args[..]);
        let (set, rest) = crate::wire::imap_values::parse_sequence_set(rest).expect("set");
        assert_eq!(set.resolve(9), vec![1..=9]);
        let request = parse_fetch_attrs(rest).expect("attrs");
        assert_eq!(request.attrs.len(), 3, "split {split}");
        assert_eq!(request.attrs[2], FetchAttr::Binary { peek: true, part: vec![2], partial: Some((5, 7)) });
    }
}

#[test]
fn section_names_are_encoded_as_requested() {
    for spec in ["", "HEADER", "1.2.MIME", "TEXT", "2.HEADER.FIELDS (From To)", "HEADER.FIELDS.NOT (X)", "4"] {
        let parsed = parse_section(spec.as_bytes()).expect(spec);
        let mut out = Vec::new();
        encode_section_name(&mut out, &parsed);
        assert_eq!(String::from_utf8_lossy(&out), format!("BODY[{spec}]"));
    }
}
