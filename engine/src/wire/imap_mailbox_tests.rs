//! Table tests of the extended LIST, STATUS items and CREATE parameters, and the same commands
//! framed and parsed at every split of their bytes.

use super::*;
use crate::wire::test_framing::framed_args;
use StatusItem::*;

fn select(subscribed: bool, remote: bool, recursive_match: bool, special_use: bool) -> ListSelect {
    ListSelect { subscribed, remote, recursive_match, special_use }
}

fn pats(patterns: &[&str]) -> Vec<Cow<'static, [u8]>> {
    patterns.iter().map(|p| Cow::Owned(p.as_bytes().to_vec())).collect()
}

#[test]
fn list_table() {
    let none = ListSelect::default();
    let plain = ListReturn::default();
    let children = ListReturn { children: true, ..ListReturn::default() };
    // (input, extended, selection, reference, patterns, returns)
    let cases: &[(&str, bool, ListSelect, &str, &[&str], ListReturn)] = &[
        ("\"\" *", false, none, "", &["*"], plain.clone()),
        ("\"\" \"\"", false, none, "", &[""], plain.clone()),
        ("Projects/ %/a]b", false, none, "Projects/", &["%/a]b"], plain.clone()),
        ("\"\" (\"INBOX\" \"Sent*\")", true, none, "", &["INBOX", "Sent*"], plain.clone()),
        ("\"\" (INBOX {4}\r\nSe%t)", true, none, "", &["INBOX", "Se%t"], plain.clone()),
        ("() \"\" %", true, none, "", &["%"], plain.clone()),
        ("(subscribed) \"\" *", true, select(true, false, false, false), "", &["*"], plain.clone()),
        ("(REMOTE) \"\" %", true, select(false, true, false, false), "", &["%"], plain.clone()),
        (
            "(SUBSCRIBED RECURSIVEMATCH) \"\" % RETURN (CHILDREN)",
            true,
            select(true, false, true, false),
            "",
            &["%"],
            children.clone(),
        ),
        ("(RECURSIVEMATCH REMOTE SUBSCRIBED) \"\" *", true, select(true, true, true, false), "", &["*"], plain.clone()),
        ("(SPECIAL-USE) \"\" *", true, select(false, false, false, true), "", &["*"], plain.clone()),
        ("\"\" % RETURN ()", true, none, "", &["%"], plain.clone()),
        ("\"\" % return (children CHILDREN)", true, none, "", &["%"], children.clone()),
        (
            "\"\" % RETURN (SUBSCRIBED SPECIAL-USE STATUS (MESSAGES unseen SIZE))",
            true,
            none,
            "",
            &["%"],
            ListReturn {
                subscribed: true,
                special_use: true,
                status: Some(vec![Messages, Unseen, Size]),
                ..ListReturn::default()
            },
        ),
        (
            "\"\" % RETURN (STATUS (MESSAGES) CHILDREN STATUS (UIDNEXT MESSAGES))",
            true,
            none,
            "",
            &["%"],
            ListReturn { children: true, status: Some(vec![Messages, UidNext]), ..ListReturn::default() },
        ),
    ];
    for (input, extended, sel, reference, patterns, returns) in cases {
        let got = parse_list(input.as_bytes()).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(got.extended, *extended, "{input:?}");
        assert_eq!(got.select, *sel, "{input:?}");
        assert_eq!(got.reference.as_ref(), reference.as_bytes(), "{input:?}");
        assert_eq!(got.patterns, pats(patterns), "{input:?}");
        assert_eq!(&got.returns, returns, "{input:?}");
    }
}

#[test]
fn list_errors_table() {
    for bad in [
        "",
        "\"\"",
        "\"\" ",
        "(imaptest) \"\" \"\"",
        "(recursivematch) \"\" \"\"",
        "(recursivematch remote) \"\" \"\"",
        "(SPECIAL-USE RECURSIVEMATCH) \"\" *",
        "\"\" \"\" return (imaptest)",
        "\"\" % RETURN",
        "\"\" % RETURN (CHILDREN",
        "\"\" % RETURN (CHILDREN) x",
        "\"\" % RETURN (STATUS)",
        "\"\" % RETURN (STATUS ())",
        "\"\" % RETURN (STATUS (BOGUS))",
        "\"\" % RETURN  (CHILDREN)",
        "\"\" % RETURN ( CHILDREN)",
        "\"\" % FOO (CHILDREN)",
        "\"\" % %",
        "\"\" ()",
        "\"\" (INBOX",
        "\"\" (INBOX  Sent)",
        "\"\" (INBOX )",
        "(SUBSCRIBED \"\" %",
        "(SUBSCRIBED)\"\" %",
        "( SUBSCRIBED) \"\" %",
        "\"\" (\"unterminated)",
        "\"\" {5}\r\nab",
    ] {
        assert!(parse_list(bad.as_bytes()).is_err(), "{bad:?} should be refused");
    }
    let many = format!("\"\" ({})", vec!["a"; MAX_LIST_PATTERNS + 1].join(" "));
    assert_eq!(parse_list(many.as_bytes()), Err("[LIMIT] Too many mailbox patterns"));
    let most = format!("\"\" ({})", vec!["a"; MAX_LIST_PATTERNS].join(" "));
    assert_eq!(parse_list(most.as_bytes()).expect("at the limit").patterns.len(), MAX_LIST_PATTERNS);
}

#[test]
fn status_items_table() {
    let cases: &[(&str, Option<(Vec<StatusItem>, &str)>)] = &[
        ("(MESSAGES)", Some((vec![Messages], ""))),
        (
            "(messages UIDNEXT UidValidity UNSEEN RECENT SIZE HIGHESTMODSEQ) x",
            Some((vec![Messages, UidNext, UidValidity, Unseen, Recent, Size, HighestModSeq], " x")),
        ),
        ("(SIZE SIZE MESSAGES)", Some((vec![Size, Messages], ""))),
        ("()", None),
        ("(MESSAGES", None),
        ("MESSAGES", None),
        ("(MESSAGES  SIZE)", None),
        ("(MESSAGES )", None),
        ("(deleted MESSAGES)", Some((vec![Deleted, Messages], ""))),
        ("(DELETED-STORAGE)", None),
    ];
    for (input, expected) in cases {
        match (parse_status_items(input.as_bytes()), expected) {
            (Ok((items, rest)), Some((e, r))) => {
                assert_eq!(&items, e, "{input}");
                assert_eq!(rest, r.as_bytes(), "{input}");
            }
            (Err(_), None) => {}
            (got, _) => panic!("{input}: {got:?}"),
        }
    }
    let (name, items) = parse_status(b"\"Sent Mail\" (SIZE)").expect("status");
    assert_eq!((name.as_ref(), items), (&b"Sent Mail"[..], vec![Size]));
    assert!(parse_status(b"INBOX (SIZE) x").is_err());
    assert!(parse_status(b"INBOX").is_err());
    assert!(parse_status(b"INBOX ()").is_err());
}

#[test]
fn create_table() {
    let cases: &[(&str, Option<(&str, Option<Vec<&str>>)>)] = &[
        ("Projects", Some(("Projects", None))),
        ("\"a b\"", Some(("a b", None))),
        ("MySpecial (USE (\\Drafts \\Sent))", Some(("MySpecial", Some(vec!["\\Drafts", "\\Sent"])))),
        ("Everything (use (\\All))", Some(("Everything", Some(vec!["\\All"])))),
        ("Plain (USE ())", Some(("Plain", Some(vec![])))),
        ("Twice (USE (\\Sent \\sent) USE (\\Junk))", Some(("Twice", Some(vec!["\\Sent", "\\Junk"])))),
        ("{3}\r\nabc (USE (\\Archive))", Some(("abc", Some(vec!["\\Archive"])))),
        ("a b", None),
        ("a ()", None),
        ("a (USE)", None),
        ("a (USE (\\Sent)", None),
        ("a (USE (\\Sent)) x", None),
        ("a (USE (Sent))", None),
        ("a (USE (\\))", None),
        ("a (USE (\\Se]nt))", None),
        ("a (USE (\\Sent  \\Junk))", None),
        ("a (FOO (1))", None),
        ("a  (USE (\\Sent))", None),
        ("", None),
    ];
    for (input, expected) in cases {
        match (parse_create(input.as_bytes()), expected) {
            (Ok(got), Some((name, attrs))) => {
                assert_eq!(got.name.as_ref(), name.as_bytes(), "{input}");
                let attrs: Option<Vec<&[u8]>> = attrs.as_ref().map(|a| a.iter().map(|s| s.as_bytes()).collect());
                assert_eq!(got.use_attrs, attrs, "{input}");
            }
            (Err(_), None) => {}
            (got, _) => panic!("{input:?}: {got:?}"),
        }
    }
}

#[test]
fn commands_frame_and_parse_at_every_split() {
    let list = b"l1 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"INBOX\" {5+}\r\nSent* %) RETURN (CHILDREN STATUS (MESSAGES SIZE))\r\n";
    for split in 0..=list.len() {
        let args = framed_args(list, split);
        let parsed = parse_list(&args).unwrap_or_else(|e| panic!("split {split}: {e}"));
        assert_eq!(parsed.select, select(true, false, true, false), "split {split}");
        assert_eq!(parsed.patterns, pats(&["INBOX", "Sent*", "%"]), "split {split}");
        assert_eq!(parsed.returns.status, Some(vec![Messages, Size]), "split {split}");
        assert!(parsed.returns.children, "split {split}");
    }
    let create = b"c1 CREATE {9+}\r\nMySpecial (USE (\\Archive))\r\n";
    for split in 0..=create.len() {
        let args = framed_args(create, split);
        let parsed = parse_create(&args).unwrap_or_else(|e| panic!("split {split}: {e}"));
        assert_eq!(parsed.name.as_ref(), b"MySpecial", "split {split}");
        assert_eq!(parsed.use_attrs, Some(vec![&b"\\Archive"[..]]), "split {split}");
    }
    let status = b"s1 STATUS \"frop\" (MESSAGES SIZE UIDNEXT)\r\n";
    for split in 0..=status.len() {
        let args = framed_args(status, split);
        let (name, items) = parse_status(&args).unwrap_or_else(|e| panic!("split {split}: {e}"));
        assert_eq!((name.as_ref(), items), (&b"frop"[..], vec![Messages, Size, UidNext]), "split {split}");
    }
}

mod properties {
    use super::super::*;
    use proptest::prelude::*;

    proptest! {
        /// No input makes the parsers panic, and whatever they accept re-reads the same way.
        #[test]
        fn parsers_never_panic(input in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = parse_list(&input);
            let _ = parse_create(&input);
            let _ = parse_status(&input);
        }

        #[test]
        fn parsers_never_panic_on_near_miss_text(
            parts in proptest::collection::vec(
                prop::sample::select(vec![
                    "(", ")", " ", "\"", "\"\"", "%", "*", "INBOX", "RETURN", "STATUS", "SUBSCRIBED",
                    "RECURSIVEMATCH", "CHILDREN", "MESSAGES", "USE", "\\Sent", "{3}\r\n", "{0}\r\n",
                ]),
                0..14,
            )
        ) {
            let input = parts.concat();
            let _ = parse_list(input.as_bytes());
            let _ = parse_create(input.as_bytes());
            let _ = parse_status(input.as_bytes());
        }

        /// Every pattern list written out parses back to the same patterns.
        #[test]
        fn pattern_lists_round_trip(patterns in proptest::collection::vec("[A-Za-z0-9%*/ ]{1,8}", 1..5)) {
            let quoted: Vec<String> = patterns.iter().map(|p| format!("\"{p}\"")).collect();
            let input = format!("\"\" ({}) RETURN (CHILDREN)", quoted.join(" "));
            let parsed = parse_list(input.as_bytes()).expect("parse");
            let got: Vec<&[u8]> = parsed.patterns.iter().map(|p| p.as_ref()).collect();
            let want: Vec<&[u8]> = patterns.iter().map(|p| p.as_bytes()).collect();
            prop_assert_eq!(got, want);
        }
    }
}
