//! Crash safety: a child process appends in a loop and prints every acknowledged UID; it is
//! SIGKILLed mid-stream. Every acknowledged message must be there after reopening, and nothing may
//! be half-written.
use crate::mail::{NewMessage, UidSet};
use crate::{Address, Domain, Store};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "MAILGENIC_CRASH_TEST_DIR";
const CHILD_TEST: &str = "mail::tests::crash::child_appends_until_killed";

/// In the child (the variable is set): append forever, printing `ACK uid` after each is acked.
/// In a normal test run it does nothing.
#[test]
fn child_appends_until_killed() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = Store::open(std::path::Path::new(&dir)).unwrap();
    let mail = store.mail();
    let alice = Address::parse("alice@example.test").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut out = std::io::stdout().lock();
        for i in 0u64.. {
            // Several appends in flight at once, so group commits hold more than one message.
            let batch: Vec<_> = (0..4)
                .map(|j| {
                    let mut body = format!("Subject: crash {i}.{j}\r\n\r\n").into_bytes();
                    body.resize(body.len() + 2000 + (i as usize % 7) * 40_000, b'x');
                    let msg = NewMessage { prefix: b"X-Prefix: 1\r\n".to_vec(), body, ..Default::default() };
                    let mail = mail.clone();
                    let alice = alice.clone();
                    async move { mail.append(&alice, "INBOX", msg).await }
                })
                .collect();
            for result in futures_join(batch).await {
                let appended = result.unwrap();
                writeln!(out, "ACK {}", appended.uid).unwrap();
                out.flush().unwrap();
            }
        }
    });
}

/// Awaits all futures concurrently on the current thread.
async fn futures_join<F: std::future::Future + 'static>(futures: Vec<F>) -> Vec<F::Output>
where
    F::Output: 'static,
{
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            let handles: Vec<_> = futures.into_iter().map(tokio::task::spawn_local).collect();
            let mut out = Vec::new();
            for h in handles {
                out.push(h.await.unwrap());
            }
            out
        })
        .await
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        let store = Store::open(&path).unwrap();
        store.add_domain(&Domain::parse("example.test").unwrap()).unwrap();
        store.add_account(&Address::parse("alice@example.test").unwrap(), "h").unwrap();
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut acked = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(uid) = line.strip_prefix("ACK ") {
                acked.push(uid.trim().parse::<u32>().unwrap());
            }
        }
        acked
    });
    // Let it run ~1 s after its first acknowledgement, then kill it without warning.
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "the child must still be appending");
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let acked = reader.join().unwrap();
    eprintln!("crash test: {} appends acknowledged before SIGKILL", acked.len());
    assert!(acked.len() > 10, "only {} appends acknowledged in {:?}", acked.len(), started.elapsed());

    let store = Store::open(&path).unwrap();
    let mail = store.mail();
    let alice = Address::parse("alice@example.test").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let stored: std::collections::BTreeSet<u32> =
            mail.fetch_summaries(&alice, "INBOX", UidSet::all()).await.unwrap().iter().map(|s| s.uid).collect();
        for uid in &acked {
            assert!(stored.contains(uid), "acknowledged UID {uid} lost");
        }
        assert_eq!(mail.check().await.unwrap(), Vec::<String>::new());
        for uid in acked.iter().rev().take(5) {
            let bytes = mail.read_message(&alice, "INBOX", *uid).await.unwrap();
            assert!(bytes.starts_with(b"X-Prefix: 1\r\nSubject: crash "));
        }
        // The store is usable after the crash and keeps UIDs ascending.
        let next =
            mail.append(&alice, "INBOX", NewMessage { body: b"after".to_vec(), ..Default::default() }).await.unwrap();
        assert!(next.uid > *stored.iter().max().unwrap_or(&0));
    });
}
