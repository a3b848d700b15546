//! The certificate and key behind every TLS port, the rustls configurations built from them, and
//! their reload on SIGHUP.
//!
//! Each service gets its own `ServerConfig` that differs only in ALPN: IMAPS accepts `imap`,
//! submission accepts `smtp`. A client that offers ALPN without the service's protocol is refused
//! (rustls sends `no_application_protocol`), which stops cross-protocol attacks; a client that
//! offers no ALPN at all is served. TLS 1.2 and 1.3 with the ring provider's suites, which are all
//! AEAD (AES-GCM, ChaCha20-Poly1305) with ECDHE.

use mailgenic_config::Config;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The rustls configurations of the TLS services, swapped as a whole on reload.
#[derive(Debug)]
pub struct TlsConfigs {
    pub imap: Arc<ServerConfig>,
    pub smtp: Arc<ServerConfig>,
}

/// Where the certificate comes from, and the live configurations built from it.
#[derive(Debug)]
pub struct CertStore {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<Arc<TlsConfigs>>,
}

impl CertStore {
    /// Loads the configured certificate, or for a config without one, the self-signed certificate
    /// in `data_dir/tls/`, generating it on first start.
    pub fn load(config: &Config) -> io::Result<CertStore> {
        let (cert_path, key_path) = if config.tls.self_signed() {
            let dir = config.data_dir.join("tls");
            let cert = dir.join("cert.pem");
            let key = dir.join("key.pem");
            if !cert.exists() || !key.exists() {
                generate_self_signed(config, &dir, &cert, &key)?;
            }
            (cert, key)
        } else {
            (config.tls.cert.clone(), config.tls.key.clone())
        };
        let configs = build(&cert_path, &key_path)?;
        Ok(CertStore { cert_path, key_path, current: RwLock::new(Arc::new(configs)) })
    }

    /// The configurations new connections should use.
    pub fn current(&self) -> Arc<TlsConfigs> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Reads the files again. On error the old certificate stays in use.
    pub fn reload(&self) -> io::Result<()> {
        let configs = build(&self.cert_path, &self.key_path)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(configs);
        Ok(())
    }

    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }
}

fn with_path(path: &Path, e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))
}

fn build(cert_path: &Path, key_path: &Path) -> io::Result<TlsConfigs> {
    let certs: Vec<CertificateDer<'static>> = {
        let pem = std::fs::read(cert_path).map_err(|e| with_path(cert_path, e))?;
        rustls_pemfile::certs(&mut pem.as_slice()).collect::<Result<_, _>>().map_err(|e| with_path(cert_path, e))?
    };
    if certs.is_empty() {
        return Err(with_path(cert_path, "no certificate in the file"));
    }
    let key: PrivateKeyDer<'static> = {
        let pem = std::fs::read(key_path).map_err(|e| with_path(key_path, e))?;
        rustls_pemfile::private_key(&mut pem.as_slice())
            .map_err(|e| with_path(key_path, e))?
            .ok_or_else(|| with_path(key_path, "no private key in the file"))?
    };
    let service = |alpn: &[u8]| -> io::Result<Arc<ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(certs.clone(), key.clone_key())
            .map_err(|e| with_path(cert_path, e))?;
        config.alpn_protocols = vec![alpn.to_vec()];
        Ok(Arc::new(config))
    };
    Ok(TlsConfigs { imap: service(b"imap")?, smtp: service(b"smtp")? })
}

fn generate_self_signed(config: &Config, dir: &Path, cert: &Path, key: &Path) -> io::Result<()> {
    let mut names = vec![config.hostname.clone()];
    names.extend(config.aliases.iter().cloned());
    for extra in ["localhost", "127.0.0.1", "::1"] {
        if !names.iter().any(|n| n == extra) {
            names.push(extra.to_string());
        }
    }
    let generated = rcgen::generate_simple_self_signed(names.clone()).map_err(io::Error::other)?;
    std::fs::create_dir_all(dir)?;
    write_private(key, generated.key_pair.serialize_pem().as_bytes())?;
    std::fs::write(cert, generated.cert.pem())?;
    tracing::info!(cert = %cert.display(), names = ?names, "generated a self-signed certificate (first start without tls.cert)");
    Ok(())
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
