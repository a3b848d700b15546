//! End-to-end harness: starts the real `mailgenic` binary on port 0 with a temporary data_dir,
//! finds its ports from its log, and talks TLS to it the way a mail client would.

#![allow(dead_code)] // reason: each test file uses the part of the harness it needs

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_mailgenic");

/// A running server and everything needed to talk to it.
pub struct Server {
    pub dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    pub config: PathBuf,
    pub child: Option<Child>,
    pub log: Arc<Mutex<Vec<String>>>,
    pub imaps: u16,
    pub submissions: u16,
    /// The MX port (plaintext, STARTTLS).
    pub smtp: u16,
    /// LMTP over TCP.
    pub lmtp_tcp: u16,
}

/// Writes a config for a server in `dir` with `extra` appended (TOML).
pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let config = dir.join("mailgenic.toml");
    // Short failure delays unless the test brings its own [auth] table.
    let auth =
        if extra.contains("[auth]") { "" } else { "[auth]\nfailure_delay_ms = 20\nfailure_delay_max_ms = 100\n" };
    let text = format!(
        "hostname = \"localhost\"\ndata_dir = \"data\"\ncores = 2\n\
         [listen]\nimaps = \"127.0.0.1:0\"\nsubmissions = \"127.0.0.1:0\"\nsmtp = \"127.0.0.1:0\"\nlmtp_tcp = \"127.0.0.1:0\"\n{auth}{extra}"
    );
    std::fs::write(&config, text).expect("write config");
    config
}

impl Server {
    /// Starts a server with a fresh data_dir.
    pub fn start(extra: &str) -> Server {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().to_path_buf();
        let config = write_config(&dir, extra);
        let mut server = Server {
            dir,
            _temp: Some(temp),
            config,
            child: None,
            log: Arc::default(),
            imaps: 0,
            submissions: 0,
            smtp: 0,
            lmtp_tcp: 0,
        };
        server.launch();
        server
    }

    /// A server description for `dir` (not started; `launch` starts it).
    pub fn start_in(dir: &Path) -> Server {
        Server {
            dir: dir.to_path_buf(),
            _temp: None,
            config: dir.join("mailgenic.toml"),
            child: None,
            log: Arc::default(),
            imaps: 0,
            submissions: 0,
            smtp: 0,
            lmtp_tcp: 0,
        }
    }

    /// Starts (again) the binary on this server's config and waits until it serves.
    pub fn launch(&mut self) {
        self.log.lock().expect("log").clear();
        let mut child = Command::new(BIN)
            .args(["--config", self.config.to_str().expect("utf-8 path"), "serve"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mailgenic");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::clone(&self.log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                log.lock().expect("log").push(line);
            }
        });
        self.child = Some(child);
        let started = self.wait_for_log("mailgenic started", Duration::from_secs(20));
        assert!(started, "server did not start; log:\n{}", self.log_text());
        self.imaps = self.port("imaps");
        self.submissions = self.port("submissions");
        self.smtp = self.port("smtp");
        self.lmtp_tcp = self.port("lmtp-tcp");
    }

    fn port(&self, service: &str) -> u16 {
        let needle = format!("service=\"{service}\" addr=");
        let log = self.log.lock().expect("log");
        let line = log.iter().rev().find(|l| l.contains("listening") && l.contains(&needle)).expect("listening line");
        let addr = line.split(&needle).nth(1).and_then(|r| r.split_whitespace().next()).expect("addr");
        addr.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn log_text(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }

    /// Waits until a log line contains `needle`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log.lock().expect("log").iter().any(|l| l.contains(needle)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Sends a signal to the server.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").args(["-s", signal, &self.pid().to_string()]).status().expect("kill");
        assert!(status.success());
    }

    /// SIGTERM, then waits for the exit; returns the status and how long it took.
    pub fn stop(&mut self) -> (ExitStatus, Duration) {
        let started = Instant::now();
        self.signal("TERM");
        let mut child = self.child.take().expect("running");
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return (status, started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("server did not exit within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `mailgenic --config <ours> args...` with `stdin`, returning (exit code, stdout, stderr).
    pub fn cli(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        cli(&self.config, args, stdin)
    }

    /// Adds the domain of `address` (if needed) and the account.
    pub fn add_user(&self, address: &str, password: &str) {
        let domain = address.rsplit('@').next().expect("domain");
        let (code, _, err) = self.cli(&["domain", "add", domain], "");
        assert!(code == 0 || err.contains("exists already"), "domain add: {err}");
        let (code, out, err) = self.cli(&["user", "add", address, "--password-stdin"], &format!("{password}\n"));
        assert_eq!(code, 0, "user add: {out} {err}");
    }

    /// The LMTP UNIX socket (the default, `<data_dir>/lmtp.sock`).
    pub fn lmtp_socket(&self) -> PathBuf {
        self.dir.join("data/lmtp.sock")
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.join("data/tls/cert.pem")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn cli(config: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cli");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("cli output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A TLS client connection that reads CRLF lines.
pub struct Client {
    stream: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    pending: Vec<u8>,
}

/// A client config that trusts `cert` (the server's self-signed certificate) and offers `alpn`.
pub fn client_config(cert: &Path, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(cert).expect("read cert");
    for c in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(c.expect("cert")).expect("add root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

impl Client {
    /// Connects and completes the handshake (errors are returned, e.g. for ALPN refusals).
    pub fn try_connect(port: u16, config: Arc<rustls::ClientConfig>) -> std::io::Result<Client> {
        let tcp = TcpStream::connect(("127.0.0.1", port))?;
        tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        let conn = rustls::ClientConnection::new(config, name).map_err(std::io::Error::other)?;
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(Client { stream, pending: Vec::new() })
    }

    pub fn connect(port: u16, cert: &Path) -> Client {
        Client::try_connect(port, client_config(cert, &[])).expect("TLS connect")
    }

    pub fn send(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).expect("send");
        self.stream.flush().expect("flush");
    }

    /// The next line without CRLF; `None` at end of stream.
    pub fn line(&mut self) -> Option<String> {
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                return Some(String::from_utf8_lossy(&line).trim_end().to_string());
            }
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Reads lines until one starts with `prefix`; returns all of them.
    pub fn until(&mut self, prefix: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line().unwrap_or_else(|| panic!("connection closed before {prefix:?}; got {lines:?}"));
            let done = line.starts_with(prefix);
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// Sends an IMAP command with tag `tag` and returns the tagged reply line.
    pub fn imap(&mut self, tag: &str, command: &str) -> String {
        self.send(&format!("{tag} {command}\r\n"));
        self.until(&format!("{tag} ")).pop().expect("tagged line")
    }

    /// Sends an SMTP command and returns the last line of the reply.
    pub fn smtp(&mut self, command: &str) -> String {
        self.send(&format!("{command}\r\n"));
        loop {
            let line = self.line().expect("smtp reply");
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return line;
            }
        }
    }
}

pub fn plain(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}

/// Runs a real client program with `stdin`; returns whether it succeeded and all it printed.
pub fn run(program: &str, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} is required for this test (scripts/setup-debian.sh installs it): {e}"));
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("stdin");
    let out = child.wait_with_output().expect("output");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}
