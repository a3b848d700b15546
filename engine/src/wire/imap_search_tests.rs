//! Table tests of SEARCH keys and return options, and SEARCH commands framed at every split.

use super::*;
use crate::wire::imap_values::{days_from_civil, SeqNumber};
use crate::wire::test_framing::framed_args;

#[test]
fn search_key_table() {
    use SearchKey::*;
    let day = days_from_civil(1994, 2, 1);
    let cases: &[(&str, Option<SearchKey>)] = &[
        ("ALL", Some(All)),
        ("unseen", Some(Flag(SystemFlag::Seen, false))),
        (
            "FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
            Some(And(vec![
                Flag(SystemFlag::Flagged, true),
                Since(day),
                Not(Box::new(Header("from".into(), b"Smith".to_vec()))),
            ])),
        ),
        (
            "OR (SEEN DELETED) UID 1:3",
            Some(Or(
                Box::new(And(vec![Flag(SystemFlag::Seen, true), Flag(SystemFlag::Deleted, true)])),
                Box::new(Uid(SequenceSet(vec![(SeqNumber::Value(1), SeqNumber::Value(3))]))),
            )),
        ),
        ("CHARSET UTF-8 BODY {3}\r\nabc", Some(Body(b"abc".to_vec()))),
        ("HEADER X-Spam \"yes\"", Some(Header("x-spam".into(), b"yes".to_vec()))),
        (
            "2:* LARGER 100",
            Some(And(vec![Sequence(SequenceSet(vec![(SeqNumber::Value(2), SeqNumber::Largest)])), Larger(100)])),
        ),
        ("(SUBJECT \"a b\")", Some(And(vec![Header("subject".into(), b"a b".to_vec())]))),
        ("ON \"1-Feb-1994\" KEYWORD $Junk", Some(And(vec![On(day), Keyword("$Junk".into(), true)]))),
        ("", None),
        ("FROM", None),
        ("CHARSET KOI8-R ALL", None),
        ("BOGUS", None),
        ("(ALL", None),
        ("ALL  ALL", None),
        ("$", Some(Sequence(SequenceSet::saved()))),
        ("UID $ NOT $", Some(And(vec![Uid(SequenceSet::saved()), Not(Box::new(Sequence(SequenceSet::saved())))]))),
        ("(UID $)", Some(And(vec![Uid(SequenceSet::saved())]))),
        ("1,$", None),
        ("UID $:3", None),
        ("OLDER 3600 YOUNGER 60", Some(And(vec![Older(3600), Younger(60)]))),
        ("(younger 1)", Some(And(vec![Younger(1)]))),
        ("OLDER 0", None),
        ("YOUNGER -5", None),
        ("OLDER", None),
        ("OLDER 1x", None),
        ("YOUNGER 99999999999999999999", None),
    ];
    for (input, expected) in cases {
        match (parse_search(input.as_bytes()), expected) {
            (Ok(got), Some(e)) => assert_eq!(&got.key, e, "{input}"),
            (Err(_), None) => {}
            (got, _) => panic!("{input}: {got:?}"),
        }
    }
    let deep = format!("{}ALL", "NOT ".repeat(MAX_SEARCH_DEPTH + 2));
    assert!(parse_search(deep.as_bytes()).is_err());
}

#[test]
fn search_return_options() {
    let program = parse_search(b"RETURN (MIN COUNT) UNSEEN").expect("esearch");
    assert_eq!(program.returns, Some(SearchReturn { min: true, count: true, ..SearchReturn::default() }));
    let program = parse_search(b"RETURN () ALL").expect("esearch");
    assert_eq!(program.returns, Some(SearchReturn { all: true, ..SearchReturn::default() }));
    // SAVE alone: no ESEARCH response; with MIN/MAX alone only those are kept (RFC 5182 §2.1).
    let save = parse_search(b"RETURN (SAVE) FLAGGED").expect("save").returns.expect("returns");
    assert!(save.save && !save.answers());
    let save = parse_search(b"RETURN (save MIN max) ALL").expect("save").returns.expect("returns");
    assert!(save.save && save.answers() && save.saves_min_max_only());
    let save = parse_search(b"RETURN (SAVE MIN COUNT) ALL").expect("save").returns.expect("returns");
    assert!(!save.saves_min_max_only());
    assert!(parse_search(b"RETURN (SAVED) ALL").is_err());
    // Even a SEARCH refused for its syntax empties `$` when it asked to SAVE.
    for (args, saves) in [
        (&b"RETURN (SAVE) BOGUS"[..], true),
        (b"return (MIN save) (", true),
        (b"RETURN (SAVED) ALL", false),
        (b"RETURN (MIN) SAVE", false),
        (b"SAVE", false),
        (b"RETURN", false),
    ] {
        assert_eq!(requests_save(args), saves, "{}", String::from_utf8_lossy(args));
    }
}

#[test]
fn search_commands_frame_and_parse_at_every_split() {
    let input = b"s1 SEARCH OR SUBJECT {5+}\r\nhello TO \"bob\"\r\n";
    for split in 0..=input.len() {
        let args = framed_args(input, split);
        let program = parse_search(&args[..]).expect("search");
        assert_eq!(
            program.key,
            SearchKey::Or(
                Box::new(SearchKey::Header("subject".into(), b"hello".to_vec())),
                Box::new(SearchKey::Header("to".into(), b"bob".to_vec()))
            ),
            "split {split}"
        );
    }
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of near-valid SEARCH arguments, including the SEARCHRES and WITHIN additions.
    fn piece() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("RETURN ("),
            Just("SAVE"),
            Just("MIN"),
            Just(")"),
            Just("("),
            Just(" "),
            Just("$"),
            Just("UID "),
            Just("1:*"),
            Just(","),
            Just("OLDER "),
            Just("YOUNGER "),
            Just("60"),
            Just("0"),
            Just("NOT "),
            Just("OR "),
            Just("ALL"),
            Just("{1}\r\n"),
            Just("\""),
        ]
    }

    proptest! {
        #[test]
        fn search_parser_never_panics(pieces in proptest::collection::vec(piece(), 0..16)) {
            let input = pieces.concat();
            let _ = parse_search(input.as_bytes());
            let _ = requests_save(input.as_bytes());
        }
    }
}

#[test]
fn searchres_and_within_commands_frame_and_parse_at_every_split() {
    let input = b"s2 UID SEARCH RETURN (SAVE MIN) OR $ SUBJECT {5+}\r\nhello OLDER 60\r\n";
    for split in 0..=input.len() {
        let args = framed_args(input, split);
        let (_, args) = crate::wire::imap_values::next_token(&args[..]);
        let program = parse_search(args).expect("search");
        assert_eq!(program.returns, Some(SearchReturn { save: true, min: true, ..SearchReturn::default() }));
        assert_eq!(
            program.key,
            SearchKey::And(vec![
                SearchKey::Or(
                    Box::new(SearchKey::Sequence(SequenceSet::saved())),
                    Box::new(SearchKey::Header("subject".into(), b"hello".to_vec()))
                ),
                SearchKey::Older(60),
            ]),
            "split {split}"
        );
    }
}
