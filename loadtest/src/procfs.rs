//! A server's memory and CPU from /proc: the given PIDs (or the processes with a given name) and
//! all their descendants, since Dovecot and Postfix use one process per connection or role.

use std::collections::BTreeSet;
use std::fs;

/// Memory of a process tree, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub processes: usize,
    pub rss_kib: u64,
    /// `None` when some process's smaps_rollup could not be read.
    pub pss_kib: Option<u64>,
}

/// `(pid, ppid, comm)` of every process.
fn processes() -> Vec<(u32, u32, String)> {
    let mut out = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else { return out };
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // comm is in parentheses and may contain spaces: split at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let comm = stat[open + 1..close].to_string();
        let ppid = stat[close + 2..].split(' ').nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
        out.push((pid, ppid, comm));
    }
    out
}

/// The PIDs given, the processes named, and all their descendants.
pub fn tree(pids: &[u32], names: &[String]) -> BTreeSet<u32> {
    let all = processes();
    let mut set: BTreeSet<u32> = pids.iter().copied().collect();
    set.extend(all.iter().filter(|(_, _, comm)| names.iter().any(|n| n == comm)).map(|(pid, _, _)| *pid));
    loop {
        let before = set.len();
        let children: Vec<u32> = all.iter().filter(|(_, ppid, _)| set.contains(ppid)).map(|(pid, _, _)| *pid).collect();
        set.extend(children);
        if set.len() == before {
            return set;
        }
    }
}

fn field_kib(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

pub fn memory(pids: &BTreeSet<u32>) -> Memory {
    let mut m = Memory { pss_kib: Some(0), ..Memory::default() };
    for pid in pids {
        let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else { continue };
        m.processes += 1;
        m.rss_kib += field_kib(&status, "VmRSS:").unwrap_or(0);
        let pss = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok().and_then(|t| field_kib(&t, "Pss:"));
        m.pss_kib = match (m.pss_kib, pss) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
    }
    m
}
