//! Binding the TCP listeners: one socket per service per core, all with SO_REUSEPORT on the same
//! address, bound on the main thread before privileges are dropped (ports below 1024).
//!
//! Port 0 means "any free port": the first bind picks it and the other cores bind the port it got.
//! Each service logs one `listening` line with the bound address, which is how tests and operators
//! find a port-0 listener.

use super::Service;
use anyhow::Context;
use mailgenic_config::{Config, ListenConfig};
use socket2::{Domain, Protocol, Socket, Type};
use std::net::{SocketAddr, TcpListener};

/// Pending connections the kernel queues per listener.
const LISTEN_BACKLOG: i32 = 1024;

/// For each core, its listeners.
pub type CoreListeners = Vec<(Service, TcpListener)>;

pub fn bind_all(config: &Config, cores: usize) -> anyhow::Result<Vec<CoreListeners>> {
    let mut per_core: Vec<CoreListeners> = (0..cores).map(|_| Vec::new()).collect();
    for (service, value) in [
        (Service::Imaps, &config.listen.imaps),
        (Service::Submissions, &config.listen.submissions),
        (Service::Smtp, &config.listen.smtp),
        (Service::LmtpTcp, &config.listen.lmtp_tcp),
    ] {
        let Some(mut addr) = ListenConfig::addr(value) else { continue };
        for (core, listeners) in per_core.iter_mut().enumerate() {
            let listener = bind(addr).with_context(|| format!("cannot listen for {} on {addr}", service.name()))?;
            if core == 0 {
                addr = listener.local_addr()?;
            }
            listeners.push((service, listener));
        }
        tracing::info!(service = service.name(), addr = %addr, cores, "listening");
    }
    Ok(per_core)
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}
