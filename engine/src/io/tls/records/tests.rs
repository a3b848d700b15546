//! [`TlsRecords`] against a real rustls client over in-memory pipes: what the client sees is what
//! a peer on a socket would see.

use super::*;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{AlertDescription, ClientConnection};
use std::collections::VecDeque;

/// A server config like `certs.rs` builds, and a client config that trusts its self-signed
/// certificate and offers `imap`; `versions` restricts the client.
fn configs(
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let cert = generated.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.key_pair.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("server versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .expect("server config");
    server.alpn_protocols = vec![b"imap".to_vec()];
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("root");
    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("client versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"imap".to_vec()];
    (Arc::new(server), Arc::new(client))
}

/// `len` bytes that differ from offset to offset, so a misplaced chunk cannot go unnoticed.
fn payload(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// The server's records and a rustls client, joined by two byte pipes.
struct Pipe {
    server: TlsRecords,
    client: ClientConnection,
    /// Ciphertext the client sent that the server has not read yet.
    to_server: VecDeque<u8>,
    /// Ciphertext the server sent that the client has not read yet.
    to_client: VecDeque<u8>,
    /// Sizes in which ciphertext reaches the server's reads (TCP segments), used in turn.
    segments: Vec<usize>,
    next_segment: usize,
}

impl Pipe {
    fn new(versions: &[&'static rustls::SupportedProtocolVersion]) -> Pipe {
        let (server_config, client_config) = configs(versions);
        let name = ServerName::try_from("localhost").expect("name");
        let mut client = ClientConnection::new(client_config, name).expect("client");
        // The tests queue a whole upload before the server reads any of it.
        client.set_buffer_limit(None);
        Pipe {
            server: TlsRecords::new(server_config).expect("server"),
            client,
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
            segments: vec![usize::MAX],
            next_segment: 0,
        }
    }

    fn connected() -> Pipe {
        let mut pipe = Pipe::new(&[&rustls::version::TLS13]);
        pipe.handshake();
        pipe
    }

    /// What the server does on [`Step::Send`].
    fn server_send(&mut self) {
        while let Some(out) = self.server.take_outgoing().expect("write_tls") {
            self.to_client.extend(&out);
            self.server.sent(out);
        }
    }

    /// What the server does on [`Step::Receive`]: false when no ciphertext has arrived (a socket
    /// read would wait).
    fn server_receive(&mut self) -> bool {
        if self.to_server.is_empty() {
            return false;
        }
        let segment = self.segments[self.next_segment % self.segments.len()];
        self.next_segment += 1;
        let mut buf = self.server.read_buffer();
        let n = buf.capacity().min(segment).min(self.to_server.len());
        buf.extend(self.to_server.drain(..n));
        self.server.received(buf);
        true
    }

    /// Runs the server until it hands out plaintext (`Some`) or would wait for ciphertext (`None`).
    fn server_read(&mut self, plaintext: &mut Vec<u8>) -> Result<Option<usize>, RecordError> {
        loop {
            match self.server.read_step(plaintext)? {
                Step::Ready(n) => return Ok(Some(n)),
                Step::Send => self.server_send(),
                Step::Receive => {
                    if !self.server_receive() {
                        return Ok(None);
                    }
                }
            }
        }
    }

    fn client_send(&mut self) {
        while self.client.wants_write() {
            self.client.write_tls(&mut self.to_server).expect("client write_tls");
        }
    }

    /// Gives the client everything the server sent; appends the plaintext it decrypts.
    fn client_receive(&mut self, plaintext: &mut Vec<u8>) -> Result<(), rustls::Error> {
        while !self.to_client.is_empty() {
            self.client.read_tls(&mut self.to_client).expect("client read_tls");
            let state = self.client.process_new_packets()?;
            let start = plaintext.len();
            plaintext.resize(start + state.plaintext_bytes_to_read(), 0);
            self.client.reader().read_exact(&mut plaintext[start..]).expect("client plaintext");
        }
        Ok(())
    }

    fn handshake(&mut self) {
        for _ in 0..10 {
            self.client_send();
            loop {
                match self.server.handshake_step().expect("server handshake") {
                    Step::Ready(_) | Step::Send => {
                        self.server_send();
                        if !self.server.tls.is_handshaking() {
                            break;
                        }
                    }
                    Step::Receive => {
                        if !self.server_receive() {
                            break;
                        }
                    }
                }
            }
            self.client_receive(&mut Vec::new()).expect("client handshake");
            if !self.client.is_handshaking() && !self.server.tls.is_handshaking() {
                return;
            }
        }
        panic!("the handshake did not finish");
    }
}

#[test]
fn handshake_reports_what_was_negotiated() {
    let pipe = Pipe::connected();
    assert_eq!(pipe.server.protocol_version(), "TLSv1.3");
    assert!(pipe.server.cipher_suite().starts_with("TLS13_"), "{}", pipe.server.cipher_suite());
    assert_eq!(pipe.client.alpn_protocol(), Some(&b"imap"[..]));

    let mut old = Pipe::new(&[&rustls::version::TLS12]);
    old.handshake();
    assert_eq!(old.server.protocol_version(), "TLSv1.2");
    assert!(old.server.cipher_suite().starts_with("TLS_ECDHE_"), "{}", old.server.cipher_suite());
}

#[test]
fn large_reply_in_odd_writes_reaches_the_client_byte_exact() {
    let mut pipe = Pipe::connected();
    let reply = payload(1024 * 1024 + 777);
    let sizes = [1, 13, 4099, 65536, 16385, 300_001];
    let (mut offset, mut turn) = (0, 0);
    let mut seen = Vec::new();
    while offset < reply.len() {
        let end = (offset + sizes[turn % sizes.len()]).min(reply.len());
        turn += 1;
        // What `TlsStream::write_all` does: encrypt, then send everything queued.
        pipe.server.encrypt(&reply[offset..end]).expect("encrypt");
        assert!(pipe.server.wants_write());
        pipe.server_send();
        assert!(!pipe.server.wants_write());
        offset = end;
        if turn % 3 == 0 {
            pipe.client_receive(&mut seen).expect("client decrypts");
        }
    }
    pipe.client_receive(&mut seen).expect("client decrypts");
    assert_eq!(seen.len(), reply.len());
    assert!(seen == reply, "the client read other bytes than the server wrote");
}

#[test]
fn vectored_reply_reaches_the_client_byte_exact_in_full_records() {
    let mut pipe = Pipe::connected();
    let reply = payload(200_000);
    // A FETCH's shape: short response text, a message, short text, empty pieces between.
    let cuts = [0, 30, 30, 15_030, 15_033, 15_060, 115_060, 115_061, 200_000];
    let parts: Vec<&[u8]> = cuts.windows(2).map(|w| &reply[w[0]..w[1]]).collect();
    pipe.server.encrypt_vectored(&parts).expect("encrypt");
    pipe.server_send();
    let sent = pipe.to_client.len();
    let mut seen = Vec::new();
    pipe.client_receive(&mut seen).expect("client decrypts");
    assert!(seen == reply, "the client read other bytes than the server wrote");
    // Records are filled across the parts: 13 records of at most 16 KiB for 200,000 bytes, each
    // with 22 bytes of TLS 1.3 framing, not one record (or more) per part.
    let records = reply.len().div_ceil(16 * 1024);
    assert_eq!(sent, reply.len() + records * 22, "ciphertext of {} bytes for {} records", sent, records);
}

#[test]
fn large_upload_in_odd_segments_reaches_the_session_byte_exact() {
    let mut pipe = Pipe::connected();
    pipe.segments = vec![1, 3, 1500, 7001, usize::MAX, 65535, usize::MAX];
    let upload = payload(3 * 1024 * 1024 + 5);
    let sizes = [16384, 1, 9999, 70_000, 5];
    let (mut offset, mut turn) = (0, 0);
    while offset < upload.len() {
        let end = (offset + sizes[turn % sizes.len()]).min(upload.len());
        turn += 1;
        pipe.client.writer().write_all(&upload[offset..end]).expect("client encrypts");
        offset = end;
    }
    pipe.client_send();
    let mut got = Vec::new();
    while let Some(n) = pipe.server_read(&mut got).expect("server reads") {
        assert!(n > 0, "the client did not close");
        // rustls gets ciphertext only as fast as the session takes plaintext: about a record's
        // worth is decrypted ahead (16 KiB, plus small records that completed in the same pass),
        // never the megabytes the client has queued.
        assert!(n <= 20 * 1024, "{n} bytes of plaintext at once");
    }
    assert_eq!(got.len(), upload.len());
    assert!(got == upload, "the session read other bytes than the client wrote");
}

#[test]
fn read_buffer_grows_for_bulk_and_shrinks_when_idle() {
    let mut pipe = Pipe::connected();
    let upload = payload(1024 * 1024);
    pipe.client.writer().write_all(&upload).expect("client encrypts");
    pipe.client_send();
    let mut got = Vec::new();
    let mut largest = 0;
    while pipe.server_read(&mut got).expect("server reads").is_some() {
        largest = largest.max(pipe.server.read_cap);
    }
    assert_eq!(largest, MAX_READ_BYTES);
    assert!(got == upload);

    // Short commands: each read fills a sliver of the buffer, which halves down to the minimum.
    for _ in 0..8 {
        pipe.client.writer().write_all(b"a1 NOOP\r\n").expect("client encrypts");
        pipe.client_send();
        let mut line = Vec::new();
        assert_eq!(pipe.server_read(&mut line).expect("server reads"), Some(9));
        assert_eq!(line, b"a1 NOOP\r\n");
    }
    assert_eq!(pipe.server.read_cap, MIN_READ_BYTES);
    pipe.server.release_idle();
    assert!(pipe.server.read_buf.as_ref().is_none_or(|buf| buf.capacity() <= MIN_READ_BYTES));
    assert!(pipe.server.write_buf.is_none());
}

#[test]
fn corrupt_record_is_refused_with_an_alert_the_client_receives() {
    let mut pipe = Pipe::connected();
    pipe.client.writer().write_all(b"a1 LOGIN alice secret\r\n").expect("client encrypts");
    pipe.client_send();
    let last = pipe.to_server.len() - 1;
    pipe.to_server[last] ^= 0x40;
    match pipe.server_read(&mut Vec::new()) {
        Err(RecordError::Alert(_)) => {}
        other => panic!("expected an alert, got {other:?}"),
    }
    pipe.server_send();
    assert_eq!(pipe.client_receive(&mut Vec::new()), Err(rustls::Error::AlertReceived(AlertDescription::BadRecordMac)));
}

#[test]
fn plaintext_instead_of_a_client_hello_gets_an_alert() {
    let mut pipe = Pipe::new(&[&rustls::version::TLS13]);
    pipe.to_server.extend(b"EHLO client.example\r\n");
    assert!(pipe.server_receive());
    match pipe.server.handshake_step() {
        Err(RecordError::Alert(_)) => {}
        other => panic!("expected an alert, got {other:?}"),
    }
    let out = pipe.server.take_outgoing().expect("write_tls").expect("an alert is queued");
    assert_eq!(out[0], 0x15, "not an alert record: {out:?}");
}

#[test]
fn close_notify_ends_the_stream_both_ways() {
    let mut pipe = Pipe::connected();
    pipe.client.writer().write_all(b"a1 LOGOUT\r\n").expect("client encrypts");
    pipe.client.send_close_notify();
    pipe.client_send();
    let mut got = Vec::new();
    assert_eq!(pipe.server_read(&mut got).expect("server reads"), Some(11));
    assert_eq!(pipe.server_read(&mut got).expect("server reads"), Some(0));
    assert_eq!(got, b"a1 LOGOUT\r\n");

    pipe.server.encrypt(b"* BYE\r\n").expect("encrypt");
    pipe.server.send_close_notify();
    pipe.server_send();
    let mut seen = Vec::new();
    pipe.client_receive(&mut seen).expect("client decrypts");
    assert_eq!(seen, b"* BYE\r\n");
    assert!(pipe.client.process_new_packets().expect("client state").peer_has_closed());
}

#[test]
fn the_write_buffer_is_reused_while_writing_and_freed_when_the_session_waits() {
    let mut pipe = Pipe::connected();
    let reply = payload(64 * 1024);
    pipe.server.encrypt(&reply).expect("encrypt");
    pipe.server_send();
    let kept = pipe.server.write_buf.as_ref().map(|b| (b.as_ptr(), b.capacity()));
    assert!(kept.is_some_and(|(_, cap)| cap > reply.len()), "a FETCH-sized buffer is kept for the next flush");
    // What IDLE's wait does first (it waits for the socket without a read): the buffer goes.
    pipe.server.shed_write_buffer();
    assert!(pipe.server.write_buf.is_none());
    pipe.server.encrypt(&reply).expect("encrypt");
    pipe.server_send();
    let kept = pipe.server.write_buf.as_ref().map(|b| (b.as_ptr(), b.capacity()));
    // The next flush of the same size reuses it: no new allocation, no regrowth.
    pipe.server.encrypt(&reply).expect("encrypt");
    let out = pipe.server.take_outgoing().expect("write_tls").expect("records queued");
    assert_eq!(Some((out.as_ptr(), out.capacity())), kept);
    pipe.to_client.extend(&out);
    pipe.server.sent(out);
    let mut seen = Vec::new();
    pipe.client_receive(&mut seen).expect("client decrypts");
    assert_eq!(seen.len(), 3 * reply.len());
    // The session waits for its client: the large buffer goes, an idle connection keeps little.
    assert_eq!(pipe.server_read(&mut Vec::new()).expect("nothing to read"), None);
    assert!(pipe.server.write_buf.is_none());
}
