use super::{encode_data, DataDecoder, Decoded};
use proptest::prelude::*;

/// The naive oracle: search the whole input (with the DATA line's CRLF in front) for the first
/// `CRLF . CRLF`, then drop the leading dot of every CRLF-delimited line before it.
fn oracle(input: &[u8]) -> (Vec<u8>, Option<usize>) {
    let mut framed = b"\r\n".to_vec();
    framed.extend_from_slice(input);
    let end = framed.windows(5).position(|w| w == b"\r\n.\r\n");
    let content = match end {
        Some(p) => &framed[2..p + 2],
        None => &framed[2..],
    };
    let mut out = Vec::new();
    let mut line_start = true;
    let mut k = 0;
    while k < content.len() {
        if line_start && content[k] == b'.' {
            k += 1;
            line_start = false;
            continue;
        }
        line_start = content[k] == b'\n' && k > 0 && content[k - 1] == b'\r';
        out.push(content[k]);
        k += 1;
    }
    (out, end.map(|p| p + 3))
}

/// Feeds `input` in the given pieces; returns the content and the consumed count if it ended.
fn feed(pieces: &[&[u8]]) -> (Vec<u8>, Option<usize>) {
    let mut decoder = DataDecoder::new();
    let mut out = Vec::new();
    let mut total = 0;
    for piece in pieces {
        let Decoded { consumed, end } = decoder.decode(piece, &mut out);
        total += consumed;
        if end {
            return (out, Some(total));
        }
        assert_eq!(consumed, piece.len(), "a decoder that has not ended consumes everything");
    }
    (out, None)
}

const CASES: &[(&[u8], &[u8], Option<usize>)] = &[
    (b".\r\n", b"", Some(3)),
    (b"hello\r\n.\r\n", b"hello\r\n", Some(10)),
    (b"hello\r\n.\r\nQUIT\r\n", b"hello\r\n", Some(10)),
    (b"..dot\r\n.\r\n", b".dot\r\n", Some(10)),
    (b"a\r\n..\r\n.\r\n", b"a\r\n.\r\n", Some(10)),
    (b"a\r\n.b\r\n.\r\n", b"a\r\nb\r\n", Some(10)),
    // SMTP smuggling: none of these ends the data.
    (b"a\n.\r\nMAIL FROM:<x@y>\r\n", b"a\n.\r\nMAIL FROM:<x@y>\r\n", None),
    (b"a\r\n.\nMAIL FROM:<x@y>\r\n", b"a\r\n\nMAIL FROM:<x@y>\r\n", None),
    (b"a\n.\nb", b"a\n.\nb", None),
    (b"a\r.\r\nb", b"a\r.\r\nb", None),
    (b"a\r\n.\rb", b"a\r\n\rb", None),
    (b"a\r\n.\r\r\n.\r\n", b"a\r\n\r\r\n", Some(10)),
    (b"a\r\r\n.\r\n", b"a\r\r\n", Some(7)),
    (b"a\r\n", b"a\r\n", None),
    (b"", b"", None),
];

#[test]
fn table_split_at_every_offset() {
    for (input, content, end) in CASES {
        assert_eq!(oracle(input), (content.to_vec(), *end), "oracle on {:?}", String::from_utf8_lossy(input));
        assert_eq!(feed(&[input]), (content.to_vec(), *end), "whole {:?}", String::from_utf8_lossy(input));
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(feed(&[a, b]), (content.to_vec(), *end), "split {cut} of {:?}", String::from_utf8_lossy(input));
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(feed(&bytes), (content.to_vec(), *end), "bytewise {:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn nothing_after_the_end_is_consumed() {
    let mut decoder = DataDecoder::new();
    let mut out = Vec::new();
    assert_eq!(decoder.decode(b"x\r\n.\r\n", &mut out), Decoded { consumed: 6, end: true });
    assert_eq!(decoder.decode(b"RSET\r\n", &mut out), Decoded { consumed: 0, end: true });
    assert!(decoder.is_done());
    assert_eq!(out, b"x\r\n");
}

proptest! {
    #[test]
    fn equals_the_oracle(input in proptest::collection::vec(prop::sample::select(vec![b'.', b'\r', b'\n', b'a']), 0..64),
                         cut in 0usize..64) {
        // Ended inputs only: an unended one may hold back a "." CR whose meaning is still open.
        let mut input = input;
        input.extend_from_slice(b"\r\n.\r\n");
        let cut = cut.min(input.len());
        let (a, b) = input.split_at(cut);
        prop_assert_eq!(feed(&[a, b]), oracle(&input));
    }
}

#[test]
fn encoding_stuffs_leading_dots_and_terminates() {
    let mut out = Vec::new();
    encode_data(b".start\r\nmiddle\r\n..two\r\nno end", &mut out);
    assert_eq!(out, b"..start\r\nmiddle\r\n...two\r\nno end\r\n.\r\n");
    out.clear();
    encode_data(b"", &mut out);
    assert_eq!(out, b".\r\n");
    out.clear();
    encode_data(b"bare\n.lf stays\r\n", &mut out);
    assert_eq!(out, b"bare\n.lf stays\r\n.\r\n", "only CRLF starts a line");
}

proptest! {
    #[test]
    fn encoding_round_trips_through_the_decoder(
        body in proptest::collection::vec(prop::sample::select(vec![b'.', b'\r', b'\n', b'a']), 0..64)
    ) {
        let mut message = body;
        message.extend_from_slice(b"\r\n");
        let mut wire = Vec::new();
        encode_data(&message, &mut wire);
        let mut decoder = DataDecoder::new();
        let mut back = Vec::new();
        let decoded = decoder.decode(&wire, &mut back);
        prop_assert_eq!(decoded, Decoded { consumed: wire.len(), end: true });
        prop_assert_eq!(back, message);
    }
}
