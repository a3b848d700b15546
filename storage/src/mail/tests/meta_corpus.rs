//! ENVELOPE and BODYSTRUCTURE of awkward messages, against strings derived by hand from the
//! RFC 3501 §7.4.2 / §9 productions (sizes and line counts counted from the corpus bytes).
use super::corpus;
use crate::mail::meta::{extract, PartOffsets};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn rfc3501_example_message() {
    let m = extract(corpus::SIMPLE);
    assert_eq!(
        text(&m.envelope),
        "(\"Mon, 7 Feb 1994 21:52:25 -0800 (PST)\" \"afternoon meeting\" \
         ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) \
         ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) \
         ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) \
         ((NIL NIL \"mooch\" \"owatagu.siam.edu.example\")) NIL NIL NIL \
         \"<B27397-0100000@Blurdybloop.example>\")"
    );
    // 53 characters of text plus CRLF; one line.
    assert_eq!(
        text(&m.body_structure),
        "(\"text\" \"plain\" (\"charset\" \"US-ASCII\") NIL NIL \"7bit\" 55 1 NIL NIL NIL NIL)"
    );
    assert_eq!(text(&m.body), "(\"text\" \"plain\" (\"charset\" \"US-ASCII\") NIL NIL \"7bit\" 55 1)");
    let header_len = corpus::SIMPLE.len() as u32 - 55;
    assert_eq!(
        m.parts[0],
        PartOffsets { section: vec![], header: 0..header_len, body: header_len..326, message_header: None }
    );
    assert_eq!(m.parts[1].section, vec![1]);
}

#[test]
fn nested_multipart_with_message_rfc822_groups_and_encoded_words() {
    let raw = corpus::NESTED;
    let m = extract(raw);
    // Encoded words stay encoded in the subject; the folded line is unfolded; Reply-To defaults
    // to From; groups are bracketed by (NIL NIL "name" NIL) ... (NIL NIL NIL NIL).
    let from = "((\"Jo \\\"Q\\\" Public\" NIL \"jo\" \"x.test\")(NIL NIL \"bob\" \"y.test\"))";
    assert_eq!(
        text(&m.envelope),
        format!(
            "(NIL \"=?iso-8859-1?q?caf=E9?= menu (folded)\" {from} ((NIL NIL \"list\" \"x.test\")) {from} \
             ((NIL NIL \"Team\" NIL)(NIL NIL \"a\" \"x.test\")(NIL NIL \"b\" \"x.test\")(NIL NIL NIL NIL)) \
             ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) NIL \"<p@x.test>\" NIL)"
        )
    );
    let inner_env = "(NIL \"inner\" ((NIL NIL \"a\" \"b.test\")) ((NIL NIL \"a\" \"b.test\")) \
                     ((NIL NIL \"a\" \"b.test\")) NIL NIL NIL NIL NIL)";
    // Part 1: "caf\xc3\xa9\r\nline2" = 12 octets, 2 lines. Part 2 (message/rfc822): 156 octets,
    // 12 lines, its body a multipart/alternative. Part 3: 12 octets of base64, no line count.
    assert_eq!(
        text(&m.body_structure),
        format!(
            "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 12 2 NIL NIL NIL NIL)\
             (\"message\" \"rfc822\" NIL NIL \"forwarded\" \"7bit\" 156 {inner_env} \
             ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 11 1 NIL NIL NIL NIL)\
             (\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 1 NIL NIL NIL NIL) \
             \"alternative\" (\"boundary\" \"b2\") NIL NIL NIL) 12 NIL NIL NIL NIL)\
             (\"application\" \"pdf\" (\"name\" \"r.pdf\") \"<c1@x.test>\" NIL \"base64\" 12 NIL \
             (\"attachment\" (\"filename\" \"r.pdf\")) NIL NIL) \
             \"mixed\" (\"boundary\" \"b1\") NIL NIL NIL)"
        )
    );
    assert_eq!(
        text(&m.body),
        format!(
            "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 12 2)\
             (\"message\" \"rfc822\" NIL NIL \"forwarded\" \"7bit\" 156 {inner_env} \
             ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 11 1)\
             (\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 1) \"alternative\") 12)\
             (\"application\" \"pdf\" (\"name\" \"r.pdf\") \"<c1@x.test>\" NIL \"base64\" 12) \"mixed\")"
        )
    );
    // Every part's offsets slice out exactly what BODY[section] and BODY[section.MIME] return.
    let slice = |r: &std::ops::Range<u32>| &raw[r.start as usize..r.end as usize];
    let part = |s: &[u32]| m.parts.iter().find(|p| p.section == s).unwrap();
    let sections: Vec<Vec<u32>> = m.parts.iter().map(|p| p.section.clone()).collect();
    assert_eq!(sections, [vec![], vec![1], vec![2], vec![2, 1], vec![2, 2], vec![3]]);
    assert_eq!(slice(&part(&[1]).body), b"caf\xc3\xa9\r\nline2");
    assert_eq!(
        slice(&part(&[1]).header),
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    );
    assert_eq!(slice(&part(&[2, 1]).body), b"inner plain");
    assert_eq!(slice(&part(&[2, 2]).body), b"<b>x</b>");
    assert_eq!(slice(&part(&[3]).body), b"JVBERi0xLjQK");
    let inner_header = part(&[2]).message_header.clone().unwrap();
    assert_eq!(
        slice(&inner_header),
        b"From: a@b.test\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n"
    );
    assert!(slice(&part(&[2]).body).ends_with(b"--b2--\r\n"));
    assert!(slice(&part(&[]).body).starts_with(b"preamble\r\n--b1\r\n"));
}

#[test]
fn non_ascii_display_names_are_sent_encoded() {
    let m = extract(b"From: =?utf-8?q?J=C3=B6rg?= <j@x.test>\r\nTo: <nodomain>\r\n\r\nhi\r\n");
    // "J\xc3\xb6rg" in base64 is "SsO2cmc=".
    assert_eq!(
        text(&m.envelope),
        "(NIL NIL ((\"=?utf-8?b?SsO2cmc=?=\" NIL \"j\" \"x.test\")) ((\"=?utf-8?b?SsO2cmc=?=\" NIL \"j\" \"x.test\")) \
         ((\"=?utf-8?b?SsO2cmc=?=\" NIL \"j\" \"x.test\")) ((NIL NIL \"nodomain\" \"MISSING_DOMAIN\")) NIL NIL NIL NIL)"
    );
}

#[test]
fn message_rfc822_as_the_whole_body_numbers_its_parts_below_1() {
    let m = extract(corpus::SINGLE_RFC822);
    let inner_env = "(NIL \"in\" ((NIL NIL \"inner\" \"x.test\")) ((NIL NIL \"inner\" \"x.test\")) \
                     ((NIL NIL \"inner\" \"x.test\")) NIL NIL NIL NIL NIL)";
    assert_eq!(
        text(&m.body_structure),
        format!(
            "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 41 {inner_env} \
             (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL)"
        )
    );
    let sections: Vec<Vec<u32>> = m.parts.iter().map(|p| p.section.clone()).collect();
    assert_eq!(sections, [vec![], vec![1], vec![1, 1]]);
    let inner = m.parts[1].message_header.clone().unwrap();
    assert_eq!(
        &corpus::SINGLE_RFC822[inner.start as usize..inner.end as usize],
        b"From: inner@x.test\r\nSubject: in\r\n\r\n"
    );
}

#[test]
fn bad_input_falls_back_to_one_text_part() {
    // No header at all: the whole input is the body.
    let m = extract(corpus::NO_HEADER);
    assert_eq!(text(&m.envelope), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    assert_eq!(
        text(&m.body_structure),
        "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 36 2 NIL NIL NIL NIL)"
    );
    // NUL and 8-bit bytes: the subject becomes a literal without the NUL.
    let m = extract(corpus::BINARY);
    assert_eq!(m.envelope, b"(NIL {7}\r\nbinary\xff NIL NIL NIL NIL NIL NIL NIL NIL)");
    assert_eq!(
        text(&m.body_structure),
        "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 2 NIL NIL NIL NIL)"
    );
    // A multipart without a boundary cannot be split: described as text, never as a 1-part
    // "multipart".
    let m = extract(corpus::BROKEN_MIME);
    assert_eq!(
        text(&m.body_structure),
        "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 27 2 NIL NIL NIL NIL)"
    );
    // Empty input.
    let m = extract(b"");
    assert_eq!(text(&m.body), "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)");
}

#[test]
fn never_panics_and_offsets_stay_in_bounds_for_arbitrary_bytes() {
    use proptest::prelude::*;
    proptest!(|(raw in proptest::collection::vec(any::<u8>(), 0..400))| {
        let m = extract(&raw);
        for p in &m.parts {
            prop_assert!(p.header.start <= p.header.end && p.body.start <= p.body.end);
            prop_assert!(p.body.end as usize <= raw.len());
        }
    });
    // Fragments of a MIME message, cut at every length.
    for cut in 0..corpus::NESTED.len() {
        let m = extract(&corpus::NESTED[..cut]);
        assert!(m.parts.iter().all(|p| p.body.end as usize <= cut));
    }
}

#[test]
fn digest_parts_default_to_message_rfc822_and_an_encoded_message_is_opaque() {
    // RFC 2046 §5.1.5: in multipart/digest a part without Content-Type is message/rfc822.
    // Its content "From: a@b.test\r\nSubject: one\r\n\r\nx" is 33 octets on 4 lines.
    let m = extract(
        b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n\
          From: a@b.test\r\nSubject: one\r\n\r\nx\r\n--d--\r\n",
    );
    let env = "(NIL \"one\" ((NIL NIL \"a\" \"b.test\")) ((NIL NIL \"a\" \"b.test\")) \
               ((NIL NIL \"a\" \"b.test\")) NIL NIL NIL NIL NIL)";
    assert_eq!(
        text(&m.body_structure),
        format!(
            "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 33 {env} \
             (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 1 NIL NIL NIL NIL) 4 \
             NIL NIL NIL NIL) \"digest\" (\"boundary\" \"d\") NIL NIL NIL)"
        )
    );
    // A base64-encoded message/rfc822 is not parsed into (its offsets would not point into the
    // stored bytes): it is described as a basic part, as Dovecot does.
    let m = extract(
        b"Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: message/rfc822\r\n\
          Content-Transfer-Encoding: base64\r\n\r\n\
          RnJvbTogYUBiLnRlc3QNClN1YmplY3Q6IGhpDQoNCmJvZHkNCg==\r\n--m--\r\n",
    );
    assert_eq!(
        text(&m.body_structure),
        "((\"message\" \"rfc822\" NIL NIL NIL \"base64\" 52 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"m\") NIL NIL NIL)"
    );
    assert_eq!(m.parts.len(), 2, "no parts below an encoded message");
}

/// RFC 9051 Appendix E: parameter value continuations (RFC 2231 §3) are joined, and an
/// extended value (`*=` with a charset) is decoded, before the parameter is shown.
#[test]
fn rfc2231_continuations_are_decoded() {
    let raw = b"Subject: c\r\nMIME-Version: 1.0\r\n\
        Content-Type: application/octet-stream;\r\n name*0=\"long-\";\r\n name*1=\"name.bin\"\r\n\
        Content-Disposition: attachment;\r\n filename*=utf-8''caf%C3%A9.bin\r\n\r\nxx\r\n";
    let m = extract(raw);
    let structure = text(&m.body_structure);
    assert!(structure.contains("(\"name\" \"long-name.bin\")"), "{structure}");
    assert!(structure.contains("(\"attachment\" (\"filename\" "), "{structure}");
    assert!(!structure.contains("%C3%A9"), "{structure}");
}
