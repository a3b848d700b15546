//! Blocking TLS clients for the scenarios: one operation per call, a fresh connection each time.

use crate::Scenario;
use anyhow::{bail, Context};
use base64::Engine;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Debian's bundle of trusted roots, used without `--ca`.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Read timeout of every socket.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and how to connect.
#[derive(Debug)]
pub struct Endpoint {
    pub address: String,
    pub server_name: String,
    pub tls: Arc<ClientConfig>,
}

/// The ALPN each scenario offers, as real clients increasingly do.
fn alpn(scenario: Scenario) -> &'static [u8] {
    match scenario {
        Scenario::ImapLogin => b"imap",
        Scenario::SmtpAuth => b"smtp",
    }
}

pub fn tls_config(ca: Option<&Path>, insecure: bool, scenario: Scenario) -> anyhow::Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider)).with_safe_default_protocol_versions()?;
    let mut config = if insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAny(provider))).with_no_client_auth()
    } else {
        let path = ca.unwrap_or(Path::new(SYSTEM_ROOTS));
        let pem = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            roots.add(cert?)?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![alpn(scenario).to_vec()];
    Ok(Arc::new(config))
}

struct Conn {
    stream: StreamOwned<ClientConnection, TcpStream>,
    pending: Vec<u8>,
}

impl Conn {
    fn open(endpoint: &Endpoint) -> anyhow::Result<Conn> {
        let tcp =
            TcpStream::connect(&endpoint.address).with_context(|| format!("cannot connect to {}", endpoint.address))?;
        tcp.set_read_timeout(Some(IO_TIMEOUT))?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from(endpoint.server_name.clone())?;
        let conn = ClientConnection::new(Arc::clone(&endpoint.tls), name)?;
        let mut stream = StreamOwned::new(conn, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock).context("TLS handshake failed")?;
        }
        Ok(Conn { stream, pending: Vec::new() })
    }

    fn send(&mut self, text: &str) -> anyhow::Result<()> {
        self.stream.write_all(text.as_bytes())?;
        Ok(self.stream.flush()?)
    }

    fn line(&mut self) -> anyhow::Result<String> {
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                return Ok(String::from_utf8_lossy(&line).trim_end().to_string());
            }
            let mut buf = [0u8; 4096];
            let n = self.stream.read(&mut buf)?;
            if n == 0 {
                bail!("server closed the connection");
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    /// Reads an SMTP reply (all its lines) and checks its code class.
    fn smtp_reply(&mut self, expect: char) -> anyhow::Result<()> {
        loop {
            let line = self.line()?;
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                if !line.starts_with(expect) {
                    bail!("SMTP {}", line.get(..3).unwrap_or(&line));
                }
                return Ok(());
            }
        }
    }

    /// Reads until the tagged reply and checks it is OK.
    fn imap_tagged(&mut self, tag: &str) -> anyhow::Result<()> {
        loop {
            let line = self.line()?;
            if let Some(rest) = line.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) {
                if !rest.starts_with("OK") {
                    let status: String = rest.split(' ').take(2).collect::<Vec<_>>().join(" ");
                    bail!("IMAP {status}");
                }
                return Ok(());
            }
        }
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Runs one operation of `scenario` as `user`.
pub fn operation(endpoint: &Endpoint, scenario: Scenario, user: &str, password: &str) -> anyhow::Result<()> {
    let mut conn = Conn::open(endpoint)?;
    match scenario {
        Scenario::ImapLogin => {
            let greeting = conn.line()?;
            if !greeting.starts_with("* OK") {
                bail!("IMAP greeting {greeting:?}");
            }
            conn.send(&format!("l1 LOGIN {} {}\r\n", quote(user), quote(password)))?;
            conn.imap_tagged("l1")?;
            conn.send("l2 LOGOUT\r\n")?;
            conn.imap_tagged("l2")
        }
        Scenario::SmtpAuth => {
            conn.smtp_reply('2')?;
            conn.send("EHLO loadtest.invalid\r\n")?;
            conn.smtp_reply('2')?;
            let token = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
            conn.send(&format!("AUTH PLAIN {token}\r\n"))?;
            conn.smtp_reply('2')?;
            conn.send("QUIT\r\n")?;
            conn.smtp_reply('2')
        }
    }
}

/// `--insecure`: accepts any certificate, still checks handshake signatures.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
