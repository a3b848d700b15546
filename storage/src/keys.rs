//! Order-preserving encoding of tuple keys.
//!
//! RocksDB orders keys bytewise. A key built here from a tuple (`account`, `mailbox`, `uid`) sorts
//! exactly as the tuple does, so a prefix scan over `(account, mailbox)` yields messages in UID order
//! and never strays into a mailbox whose name merely starts with the same bytes:
//!
//! - integers are fixed-width big-endian;
//! - strings are written with each `0x00` escaped as `0x00 0xFF` and end with `0x00 0x01`, so a
//!   shorter string sorts before any longer string that starts with it, and the terminator can
//!   never be confused with content.

/// Builds one key from its parts, in order.
#[derive(Debug, Default, Clone)]
pub struct KeyBuilder {
    bytes: Vec<u8>,
}

impl KeyBuilder {
    pub fn new() -> Self {
        KeyBuilder { bytes: Vec::with_capacity(64) }
    }

    pub fn str(mut self, s: &str) -> Self {
        self.push_bytes(s.as_bytes());
        self
    }

    pub fn bytes(mut self, b: &[u8]) -> Self {
        self.push_bytes(b);
        self
    }

    pub fn u32(mut self, v: u32) -> Self {
        self.bytes.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn u64(mut self, v: u64) -> Self {
        self.bytes.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }

    fn push_bytes(&mut self, b: &[u8]) {
        for &byte in b {
            self.bytes.push(byte);
            if byte == 0 {
                self.bytes.push(0xFF);
            }
        }
        self.bytes.extend_from_slice(&[0x00, 0x01]);
    }
}

/// The smallest key above every key that starts with `prefix`, or `None` when there is none (an
/// empty prefix, or one of only `0xFF` bytes). It is the exclusive upper bound of a prefix scan.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let last = prefix.iter().rposition(|&b| b != 0xFF)?;
    let mut end = prefix[..=last].to_vec();
    end[last] += 1;
    Some(end)
}

/// Reads the parts of a key back, in the order they were written.
#[derive(Debug)]
pub struct KeyReader<'a> {
    rest: &'a [u8],
}

impl<'a> KeyReader<'a> {
    pub fn new(key: &'a [u8]) -> Self {
        KeyReader { rest: key }
    }

    pub fn bytes(&mut self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i + 1 < self.rest.len() {
            match (self.rest[i], self.rest[i + 1]) {
                (0x00, 0x01) => {
                    self.rest = &self.rest[i + 2..];
                    return Some(out);
                }
                (0x00, 0xFF) => {
                    out.push(0);
                    i += 2;
                }
                (0x00, _) => return None,
                (b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        None
    }

    pub fn str(&mut self) -> Option<String> {
        self.bytes().and_then(|b| String::from_utf8(b).ok())
    }

    pub fn u32(&mut self) -> Option<u32> {
        let (head, rest) = self.rest.split_first_chunk::<4>()?;
        self.rest = rest;
        Some(u32::from_be_bytes(*head))
    }

    pub fn u64(&mut self) -> Option<u64> {
        let (head, rest) = self.rest.split_first_chunk::<8>()?;
        self.rest = rest;
        Some(u64::from_be_bytes(*head))
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(s: &[u8], n: u32, t: &str) -> Vec<u8> {
        KeyBuilder::new().bytes(s).u32(n).str(t).finish()
    }

    proptest! {
        #[test]
        fn encoding_order_equals_tuple_order(
            a in (proptest::collection::vec(any::<u8>(), 0..12), any::<u32>(), ".{0,6}"),
            b in (proptest::collection::vec(any::<u8>(), 0..12), any::<u32>(), ".{0,6}"),
        ) {
            let ka = key(&a.0, a.1, &a.2);
            let kb = key(&b.0, b.1, &b.2);
            let ta = (&a.0, a.1, a.2.as_bytes());
            let tb = (&b.0, b.1, b.2.as_bytes());
            prop_assert_eq!(ka.cmp(&kb), ta.cmp(&tb));
        }

        #[test]
        fn encoding_round_trips(s in proptest::collection::vec(any::<u8>(), 0..20), n in any::<u64>(), t in ".{0,8}") {
            let k = KeyBuilder::new().bytes(&s).u64(n).str(&t).finish();
            let mut r = KeyReader::new(&k);
            prop_assert_eq!(r.bytes(), Some(s));
            prop_assert_eq!(r.u64(), Some(n));
            prop_assert_eq!(r.str(), Some(t));
            prop_assert!(r.is_empty());
        }
    }

    proptest! {
        #[test]
        fn prefix_end_bounds_exactly_the_keys_with_the_prefix(
            prefix in proptest::collection::vec(any::<u8>(), 0..6),
            key in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            match prefix_end(&prefix) {
                Some(end) => prop_assert_eq!(key.starts_with(&prefix), key >= prefix && key < end),
                None => prop_assert!(prefix.iter().all(|&b| b == 0xFF)),
            }
        }
    }

    #[test]
    fn prefix_end_of_a_tuple_prefix() {
        assert_eq!(prefix_end(&[1, 0x00, 0x01]), Some(vec![1, 0x00, 0x02]));
        assert_eq!(prefix_end(&[1, 0xFF, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xFF]), None);
        assert_eq!(prefix_end(&[]), None);
    }

    #[test]
    fn prefix_of_string_sorts_first_and_does_not_match_longer_names() {
        let inbox = KeyBuilder::new().str("a@x.test").str("INBOX").finish();
        let inbox2 = KeyBuilder::new().str("a@x.test").str("INBOX2").finish();
        assert!(inbox < inbox2);
        assert!(!inbox2.starts_with(&inbox));
    }
}
