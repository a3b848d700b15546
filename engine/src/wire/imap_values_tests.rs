//! Table and property tests of sequence sets, flag lists and dates.

use super::*;

#[test]
fn sequence_sets_table() {
    use SeqNumber::{Largest, Value};
    let cases: &[(&str, Option<Vec<(SeqNumber, SeqNumber)>>, &str)] = &[
        ("1", Some(vec![(Value(1), Value(1))]), ""),
        ("1:*", Some(vec![(Value(1), Largest)]), ""),
        (
            "2,4:7,9,12:* FLAGS",
            Some(vec![(Value(2), Value(2)), (Value(4), Value(7)), (Value(9), Value(9)), (Value(12), Largest)]),
            "FLAGS",
        ),
        ("*:4", Some(vec![(Largest, Value(4))]), ""),
        ("0", None, ""),
        ("1,,2", None, ""),
        ("$", Some(vec![]), ""),
        ("$ FLAGS", Some(vec![]), "FLAGS"),
        ("1,$", None, ""),
        ("$,1", None, ""),
        ("$:4", None, ""),
        ("$$", None, ""),
        ("4294967296", None, ""),
        ("x", None, ""),
    ];
    for (input, expected, rest) in cases {
        match (parse_sequence_set(input.as_bytes()), expected) {
            (Ok((set, r)), Some(e)) => {
                assert_eq!(&set.0, e, "{input}");
                assert_eq!(r, rest.as_bytes(), "{input}");
            }
            (Err(_), None) => {}
            (got, _) => panic!("{input}: {got:?}"),
        }
    }
    let (set, _) = parse_sequence_set(b"5:*,1").expect("set");
    assert_eq!(set.resolve(3), vec![3..=5, 1..=1]);
    let (set, _) = parse_sequence_set(b"1:*").expect("set");
    assert_eq!(set.resolve(0), vec![1..=1]);
}

#[test]
fn flag_lists_table() {
    let (flags, rest) = parse_flag_list(b"(\\Seen \\deleted $Forwarded) x", false).expect("flags");
    assert!(flags.contains(SystemFlag::Seen) && flags.contains(SystemFlag::Deleted));
    assert!(flags.has_keyword("$Forwarded"));
    assert_eq!(rest, b"x");
    let (flags, _) = parse_flag_list(b"()", false).expect("empty");
    assert_eq!(flags, Flags::new());
    let (flags, _) = parse_flag_list(b"\\Flagged", true).expect("bare");
    assert!(flags.contains(SystemFlag::Flagged));
    for bad in [&b"(\\Recent)"[..], b"(\\Seen", b"\\Seen", b"(a\"b)"] {
        assert!(parse_flag_list(bad, false).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
    let mut out = Vec::new();
    encode_flags(&mut out, &Flags::new().with(SystemFlag::Seen).with_keyword("$Junk"));
    assert_eq!(out, b"(\\Seen $Junk)");
}

#[test]
fn dates_round_trip_and_table() {
    assert_eq!(parse_date(b"1-Jan-1970").expect("date").0, 0);
    assert_eq!(parse_date(b"\"01-feb-1994\" x").expect("date"), (days_from_civil(1994, 2, 1), &b"x"[..]));
    assert!(parse_date(b"32-Jan-2000").is_err());
    assert!(parse_date(b"31-Feb-2000").is_err() && parse_date(b"29-Feb-1900").is_err());
    assert!(parse_date(b"29-Feb-2000").is_ok() && parse_date(b"31-Dec-9999").is_ok());
    assert!(parse_date(b"1-Foo-2000").is_err());
    let (t, _) = parse_date_time(b"\"17-Jul-1996 02:44:25 -0700\"").expect("date-time");
    assert_eq!(t, 837_596_665);
    let (t2, _) = parse_date_time(b"\" 7-Jul-1996 02:44:25 +0000\"").expect("padded day");
    assert_eq!(t2, 837_596_665 - 10 * 86_400 - 7 * 3600);
    assert!(parse_date_time(b"\"17-Jul-1996 02:44:25\"").is_err());
    let mut out = Vec::new();
    encode_date_time(&mut out, 837_596_665);
    assert_eq!(out, b"\"17-Jul-1996 09:44:25 +0000\"");
    for days in [-1000, 0, 10_957, 20_000, 2_932_896] {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days);
    }
}

mod properties {
    use super::super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn date_time_encode_then_parse_round_trips(seconds in -2_000_000_000i64..8_000_000_000i64) {
            let mut text = Vec::new();
            encode_date_time(&mut text, seconds);
            let (parsed, rest) = parse_date_time(&text).expect("parse");
            prop_assert_eq!(parsed, seconds);
            prop_assert!(rest.is_empty());
        }

        #[test]
        fn sequence_sets_resolve_like_a_naive_membership_test(
            ranges in proptest::collection::vec((0u32..20, 0u32..20), 1..6),
            largest in 0u32..20,
        ) {
            // 0 stands for `*`.
            let text: Vec<String> = ranges
                .iter()
                .map(|&(a, b)| {
                    let n = |v: u32| if v == 0 { "*".to_string() } else { v.to_string() };
                    format!("{}:{}", n(a), n(b))
                })
                .collect();
            let joined = text.join(",");
            let (set, rest) = parse_sequence_set(joined.as_bytes()).expect("parse");
            prop_assert!(rest.is_empty());
            let resolved = set.resolve(largest);
            for n in 1..25u32 {
                let naive = ranges.iter().any(|&(a, b)| {
                    let v = |x: u32| if x == 0 { largest } else { x };
                    let (lo, hi) = (v(a).min(v(b)), v(a).max(v(b)));
                    (lo.max(1)..=hi).contains(&n)
                });
                prop_assert_eq!(resolved.iter().any(|r| r.contains(&n)), naive, "{} {}", text.join(","), n);
            }
        }

        #[test]
        fn flag_lists_encode_then_parse_round_trip(
            system in proptest::collection::vec(0usize..5, 0..5),
            keywords in proptest::collection::vec("[A-Za-z$][A-Za-z0-9_]{0,8}", 0..4),
        ) {
            let mut flags = Flags::new();
            for i in system {
                flags = flags.with(SystemFlag::ALL[i]);
            }
            for k in &keywords {
                flags = flags.with_keyword(k);
            }
            let mut text = Vec::new();
            encode_flags(&mut text, &flags);
            let (parsed, rest) = parse_flag_list(&text, false).expect("parse");
            prop_assert_eq!(parsed, flags);
            prop_assert!(rest.is_empty());
        }
    }
}
