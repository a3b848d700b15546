//! FETCH output whose message contents are written by reference: the response text goes into the
//! session's output buffer as usual, and each large literal (a message, a section) is kept as a
//! slice of the content the store returned, with the position in the buffer where it belongs.
//! A flush hands the transport the text and the contents in order, and TLS encrypts them where
//! they lie, so a FETCH of whole messages does not first copy every message into the buffer.

use crate::io::Transport;
use bytes::Bytes;
use std::io;

/// Literals shorter than this are copied into the buffer: a piece of its own costs more than
/// copying a few hundred bytes.
pub(super) const BY_REFERENCE_BYTES: usize = 1024;

// Memory: a held slice keeps its whole source alive, but only the slice counts toward the flush
// size. A slice is therefore held only when it is at least half of its source, so what waits to
// be written is at most twice what is counted (a FETCH of the first KiB of many large messages
// copies those KiB instead of keeping every message).

/// Contents to be written at positions of an output buffer.
#[derive(Default)]
pub(super) struct Literals {
    /// `(position in the buffer, bytes)`, positions ascending.
    held: Vec<(usize, Bytes)>,
    /// Sum of the held lengths.
    bytes: usize,
}

impl Literals {
    /// Appends `data` to the output: by reference when it is large, lies within `source` and is
    /// at least half of it (`source` then stays alive until the output is written), else copied
    /// into `out`.
    pub fn push(&mut self, out: &mut Vec<u8>, data: &[u8], source: Option<&Bytes>) {
        match source {
            Some(source)
                if data.len() >= BY_REFERENCE_BYTES && data.len() * 2 >= source.len() && within(source, data) =>
            {
                self.held.push((out.len(), source.slice_ref(data)));
                self.bytes += data.len();
            }
            _ => out.extend_from_slice(data),
        }
    }

    /// Bytes of output so far: the buffer and the held contents.
    pub fn len_with(&self, out: &[u8]) -> usize {
        out.len() + self.bytes
    }

    /// Writes the output (the buffer with the contents in their places) with one vectored write,
    /// then empties both.
    pub async fn flush<T: Transport>(&mut self, out: &mut Vec<u8>, transport: &mut T) -> io::Result<()> {
        if self.held.is_empty() {
            transport.write_all(out).await?;
        } else {
            transport.write_all_vectored(&self.parts(out)).await?;
        }
        out.clear();
        self.held.clear();
        self.bytes = 0;
        Ok(())
    }

    /// Copies the held contents into the buffer at their places, so that the buffer alone is the
    /// output (before the response ends, or an error reply is appended to it).
    pub fn settle(&mut self, out: &mut Vec<u8>) {
        if self.held.is_empty() {
            return;
        }
        *out = self.parts(out).concat();
        self.held.clear();
        self.bytes = 0;
    }

    /// The output in order: the buffer's text cut at each held content's place, the contents
    /// between.
    fn parts<'a>(&'a self, out: &'a [u8]) -> Vec<&'a [u8]> {
        let mut parts = Vec::with_capacity(2 * self.held.len() + 1);
        let mut at = 0;
        for (position, bytes) in &self.held {
            parts.push(&out[at..*position]);
            parts.push(&bytes[..]);
            at = *position;
        }
        parts.push(&out[at..]);
        parts
    }
}

/// Whether `data` is a slice of `source`'s bytes.
fn within(source: &Bytes, data: &[u8]) -> bool {
    let (start, end) = (source.as_ptr() as usize, source.as_ptr() as usize + source.len());
    let (from, to) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
    start <= from && to <= end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::testing::pipe;

    #[test]
    fn large_slices_of_the_source_are_held_and_land_in_their_places() {
        let source = Bytes::from((0..5000u32).map(|i| i as u8).collect::<Vec<u8>>());
        let elsewhere = vec![7u8; 3000];
        let mut out = b"* 1 FETCH (BODY[] {5000}\r\n".to_vec();
        let mut literals = Literals::default();
        literals.push(&mut out, &source, Some(&source));
        out.extend_from_slice(b" BODY[1] {3000}\r\n");
        literals.push(&mut out, &source[1000..4000], Some(&source));
        // The first 1,200 bytes of 5,000: copied, not worth keeping the whole source for.
        out.extend_from_slice(b" BODY[]<0> {1200}\r\n");
        literals.push(&mut out, &source[..1200], Some(&source));
        // Small, or not from the source: copied.
        out.extend_from_slice(b" X ");
        literals.push(&mut out, &source[..10], Some(&source));
        literals.push(&mut out, &elsewhere, Some(&source));
        out.extend_from_slice(b")\r\n");
        assert_eq!(literals.held.len(), 2);
        let mut expected = b"* 1 FETCH (BODY[] {5000}\r\n".to_vec();
        expected.extend_from_slice(&source);
        expected.extend_from_slice(b" BODY[1] {3000}\r\n");
        expected.extend_from_slice(&source[1000..4000]);
        expected.extend_from_slice(b" BODY[]<0> {1200}\r\n");
        expected.extend_from_slice(&source[..1200]);
        expected.extend_from_slice(b" X ");
        expected.extend_from_slice(&source[..10]);
        expected.extend_from_slice(&elsewhere);
        expected.extend_from_slice(b")\r\n");
        assert_eq!(literals.len_with(&out), expected.len());

        let mut settled = out.clone();
        let mut copy = Literals { held: literals.held.clone(), bytes: literals.bytes };
        copy.settle(&mut settled);
        assert!(settled == expected, "settled output differs");
        assert_eq!(copy.len_with(&settled), expected.len());

        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let written = rt.block_on(async {
            let (mut transport, mut client) = pipe();
            literals.flush(&mut out, &mut transport).await.expect("flush");
            assert!(out.is_empty() && literals.held.is_empty() && literals.len_with(&out) == 0);
            drop(transport);
            client.read_all().await
        });
        assert!(written == expected, "written output differs");
    }
}
