//! Connections per client address, counted across every core without a lock.
//!
//! A fixed table of atomic counters indexed by a hash of the address. Two addresses that share a
//! slot share a count, which can only make the limit stricter for them, never looser; with 64 Ki
//! slots that is rare. The table costs 256 KiB whatever the traffic.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

const SLOTS: usize = 1 << 16;

/// Shared per-address connection counter.
#[derive(Debug, Clone)]
pub struct ConnectionLimiter {
    slots: Arc<[AtomicU32]>,
    hasher: RandomState,
    max_per_ip: u32,
}

/// One counted connection; the count drops when this does.
#[derive(Debug)]
pub struct ConnectionPermit {
    slots: Arc<[AtomicU32]>,
    slot: usize,
}

impl ConnectionLimiter {
    pub fn new(max_per_ip: u32) -> Self {
        ConnectionLimiter {
            slots: (0..SLOTS).map(|_| AtomicU32::new(0)).collect(),
            hasher: RandomState::new(),
            max_per_ip,
        }
    }

    /// Counts a new connection from `ip`, or refuses it when the address is at its limit.
    pub fn acquire(&self, ip: IpAddr) -> Option<ConnectionPermit> {
        let slot = (self.hasher.hash_one(ip) as usize) % SLOTS;
        let counter = &self.slots[slot];
        let previous = counter.fetch_add(1, Ordering::AcqRel);
        if previous >= self.max_per_ip {
            counter.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(ConnectionPermit { slots: Arc::clone(&self.slots), slot })
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.slots[self.slot].fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_per_address_and_released_on_drop() {
        let limiter = ConnectionLimiter::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let p1 = limiter.acquire(a).unwrap();
        let _p2 = limiter.acquire(a).unwrap();
        assert!(limiter.acquire(a).is_none());
        assert!(limiter.acquire(b).is_some());
        drop(p1);
        assert!(limiter.acquire(a).is_some());
    }
}
