//! Test support shared by the IMAP parser tests: a command framed after arriving in two reads.

use super::imap::{parse_command, CommandFramer, Frame};

/// Frames `input` (one whole command) after feeding it in two parts split at `split`, and returns
/// the command's text after the tag (the command name and its arguments, literals included).
pub fn framed_args(input: &[u8], split: usize) -> Vec<u8> {
    let mut framer = CommandFramer::new(1000, 1000);
    let mut buf = input[..split].to_vec();
    let first = framer.frame(&buf);
    buf.extend_from_slice(&input[split..]);
    let len = match (first, framer.frame(&buf)) {
        (Frame::Command { len }, _) | (_, Frame::Command { len }) => len,
        other => panic!("split {split}: {other:?}"),
    };
    parse_command(&buf[..len]).expect("command").args.to_vec()
}
