//! The LMTP UNIX socket: binding it (mode 0660) and a [`Transport`] over tokio's `UnixStream`.
//!
//! tokio-uring's `UnixListener::bind` fails with `EOPNOTSUPP` on the project's hosts (it sets
//! `SO_REUSEPORT` on an `AF_UNIX` socket), so the socket is bound once with the standard library
//! and every core accepts on its own clone of the descriptor through tokio's reactor, which runs
//! inside each tokio-uring runtime. Accepted streams stay tokio streams: LMTP is plaintext on a
//! local socket, so there are no owned-buffer TLS records to drive.

use super::Transport;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Room made in the input buffer before each read.
const READ_BYTES: usize = 16 * 1024;

/// Binds `path` (replacing a stale socket file: the caller holds the data_dir lock), mode 0660,
/// non-blocking so that tokio can take it over.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

impl Transport for tokio::net::UnixStream {
    async fn read(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        buf.reserve(READ_BYTES);
        self.read_buf(buf).await
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        AsyncWriteExt::write_all(self, data).await
    }
}
