use super::*;
use proptest::prelude::*;

/// (wire form, UTF-8 form): decoding the first gives the second, encoding the second the first.
const TABLE: &[(&str, &str)] = &[
    ("", ""),
    ("INBOX", "INBOX"),
    ("&-", "&"),
    ("Tom &- Jerry", "Tom & Jerry"),
    // RFC 3501 §5.1.3's example.
    ("~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/台北/日本語"),
    ("&AOk-t&AOk-", "été"),
    ("&ANw-ber/Caf&AOk-", "Über/Café"),
    ("Entw&APw-rfe", "Entwürfe"),
    ("&BBoEPgRABDcEOAQ9BDA-", "Корзина"),
    // A character outside the BMP: a surrogate pair.
    ("&2D3eAA-", "😀"),
    // Control characters are not printable: they go into a shift.
    ("a&AAk-b", "a\tb"),
    ("~", "~"),
];

#[test]
fn table_decodes_and_encodes() {
    for (wire, utf8) in TABLE {
        assert_eq!(decode(wire.as_bytes()).as_deref(), Ok(*utf8), "decode {wire}");
        assert_eq!(encode(utf8), *wire, "encode {utf8}");
    }
}

#[test]
fn rejects_what_the_encoder_never_writes() {
    let cases: &[(&[u8], Mutf7Error)] = &[
        // "&" spelled as a shift instead of "&-".
        (b"&ACY-", Mutf7Error::NotCanonical),
        // Printable ASCII in a shift.
        (b"&AGE-", Mutf7Error::NotCanonical),
        (b"&AOkAYQ-", Mutf7Error::NotCanonical),
        // Two shifts where one would do.
        (b"&AOk-&AOk-", Mutf7Error::NotCanonical),
        // Non-zero padding bits ("AOl" instead of "AOk").
        (b"&AOl-", Mutf7Error::NotCanonical),
        // A whole extra base64 character.
        (b"&AOkA6QDpA-", Mutf7Error::NotCanonical),
        // Eight bits over: half a code unit.
        (b"&AOkA-", Mutf7Error::BadUtf16),
        // Half a UTF-16 code unit.
        (b"&AO-", Mutf7Error::BadUtf16),
        // An unpaired high surrogate.
        (b"&2D0-", Mutf7Error::BadUtf16),
        // "/" is plain base64, not modified base64; "=" padding is not used.
        (b"&U/BTFw-", Mutf7Error::BadBase64),
        (b"&AOk=-", Mutf7Error::BadBase64),
        (b"&AOk", Mutf7Error::Unterminated),
        (b"a&", Mutf7Error::Unterminated),
        // Raw UTF-8 and control characters are not modified UTF-7.
        ("été".as_bytes(), Mutf7Error::NotPrintableAscii),
        (b"a\tb", Mutf7Error::NotPrintableAscii),
        (b"\x7f", Mutf7Error::NotPrintableAscii),
    ];
    for (wire, error) in cases {
        assert_eq!(decode(wire), Err(*error), "{}", String::from_utf8_lossy(wire));
    }
}

#[test]
fn adjacent_shifts_separated_by_a_character_are_fine() {
    assert_eq!(decode(b"&AOk-&-&AOk-").as_deref(), Ok("é&é"));
    assert_eq!(decode(b"&AOk- &AOk-").as_deref(), Ok("é é"));
}

proptest! {
    #[test]
    fn encode_then_decode_is_the_identity(name in "\\PC{0,24}") {
        let wire = encode(&name);
        prop_assert!(wire.bytes().all(|b| (0x20..=0x7e).contains(&b)));
        prop_assert_eq!(decode(wire.as_bytes()), Ok(name));
    }

    #[test]
    fn what_decodes_encodes_back_to_the_same_bytes(wire in "[A-Za-z0-9+,&\\- /]{0,24}") {
        if let Ok(name) = decode(wire.as_bytes()) {
            prop_assert_eq!(encode(&name), wire);
        }
    }
}
