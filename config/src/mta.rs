//! The MTA's side of the schema: where it hands local mail to the MDA, how it retries, and which
//! networks may speak LMTP over TCP.

use serde::Deserialize;
use std::net::IpAddr;
use std::path::PathBuf;

/// Where the MTA delivers local mail: the MDA's LMTP service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LmtpTarget {
    /// A UNIX socket on this host (the default: `listen.lmtp_socket`).
    Unix(PathBuf),
    /// `host:port` of an MDA on another host (LMTP over TCP).
    Tcp(String),
}

impl LmtpTarget {
    /// Reads `smtp.lmtp_target`: a value with a `/` is a socket path, anything else `host:port`.
    pub fn parse(value: &str) -> LmtpTarget {
        if value.contains('/') {
            LmtpTarget::Unix(PathBuf::from(value))
        } else {
            LmtpTarget::Tcp(value.to_string())
        }
    }
}

impl std::fmt::Display for LmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LmtpTarget::Unix(path) => write!(f, "unix:{}", path.display()),
            LmtpTarget::Tcp(addr) => write!(f, "tcp:{addr}"),
        }
    }
}

/// The outbound queue: how often it is looked at and how long a message may wait in it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// How often the queue runner looks for messages whose next attempt is due.
    pub scan_secs: u64,
    /// Wait before the first retry; each further failure doubles it.
    pub retry_min_secs: u64,
    /// Cap of that doubling wait.
    pub retry_max_secs: u64,
    /// A message still undelivered this long after it was queued is returned to its sender
    /// (RFC 5321 §4.5.4.1 suggests 4-5 days).
    pub max_age_secs: u64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig { scan_secs: 30, retry_min_secs: 60, retry_max_secs: 3600, max_age_secs: 5 * 24 * 3600 }
    }
}

impl QueueConfig {
    /// The wait before attempt `attempts + 1`: `retry_min_secs` doubled per earlier failure, capped.
    pub fn backoff_secs(&self, attempts: u32) -> u64 {
        let doubled = self.retry_min_secs.saturating_mul(1u64 << attempts.min(32));
        doubled.min(self.retry_max_secs)
    }

    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        for (key, value) in [
            ("queue.scan_secs", self.scan_secs),
            ("queue.retry_min_secs", self.retry_min_secs),
            ("queue.max_age_secs", self.max_age_secs),
        ] {
            if value == 0 {
                return Err((key, "must be at least 1 second".into()));
            }
        }
        if self.retry_max_secs < self.retry_min_secs {
            return Err(("queue.retry_max_secs", "must not be below `queue.retry_min_secs`".into()));
        }
        Ok(())
    }
}

/// A client network such as `10.0.0.0/8`, `2001:db8::/32` or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Network {
    pub fn parse(text: &str) -> Option<Network> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Network { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            _ => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Whether a client at `ip` may use LMTP over TCP: loopback always, others only from `allow`.
pub fn lmtp_client_allowed(allow: &[String], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        IpAddr::V4(_) => ip,
    };
    ip.is_loopback() || allow.iter().filter_map(|n| Network::parse(n)).any(|n| n.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let net = Network::parse("10.1.0.0/16").expect("v4 network");
        assert!(net.contains("10.1.200.3".parse().expect("ip")));
        assert!(!net.contains("10.2.0.1".parse().expect("ip")));
        assert!(net.contains("::ffff:10.1.0.9".parse().expect("mapped ip")));
        let one = Network::parse("192.0.2.7").expect("single address");
        assert!(one.contains("192.0.2.7".parse().expect("ip")));
        assert!(!one.contains("192.0.2.8".parse().expect("ip")));
        let v6 = Network::parse("2001:db8::/32").expect("v6 network");
        assert!(v6.contains("2001:db8:1::5".parse().expect("ip")));
        assert!(!v6.contains("2001:db9::5".parse().expect("ip")));
        assert!(Network::parse("0.0.0.0/0").expect("all").contains("203.0.113.1".parse().expect("ip")));
        for bad in ["10.0.0.0/33", "10.0.0/8", "example.net", "::/129", ""] {
            assert_eq!(Network::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn lmtp_clients() {
        let allow = vec!["10.0.0.0/8".to_string()];
        assert!(lmtp_client_allowed(&allow, "127.0.0.1".parse().expect("ip")));
        assert!(lmtp_client_allowed(&allow, "::1".parse().expect("ip")));
        assert!(lmtp_client_allowed(&allow, "10.9.9.9".parse().expect("ip")));
        assert!(!lmtp_client_allowed(&allow, "192.0.2.1".parse().expect("ip")));
        assert!(!lmtp_client_allowed(&[], "192.0.2.1".parse().expect("ip")));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let q = QueueConfig { retry_min_secs: 60, retry_max_secs: 3600, ..QueueConfig::default() };
        assert_eq!(q.backoff_secs(0), 60);
        assert_eq!(q.backoff_secs(1), 120);
        assert_eq!(q.backoff_secs(5), 1920);
        assert_eq!(q.backoff_secs(6), 3600);
        assert_eq!(q.backoff_secs(400), 3600);
    }

    #[test]
    fn targets() {
        assert_eq!(LmtpTarget::parse("/run/mailgenic/lmtp.sock"), LmtpTarget::Unix("/run/mailgenic/lmtp.sock".into()));
        assert_eq!(LmtpTarget::parse("mda.internal:24"), LmtpTarget::Tcp("mda.internal:24".into()));
    }
}
