//! The threads behind the mail store: one writer that owns every mail write, and a small pool of
//! readers, so that no store call ever blocks an engine reactor thread (and a compactor that
//! drops the tombstones of expunged messages: `compact`).
//!
//! Group commit: the writer takes the first queued request, then everything else already queued
//! (up to [`MAX_GROUP_REQUESTS`] requests and about [`MAX_GROUP_BYTES`] of messages), runs each
//! against one [`Txn`] (a failing request is rolled back alone), writes the group as one
//! `WriteBatch` with `sync = true`, and only then broadcasts the change notices and answers every
//! request. UIDs and MODSEQs are assigned here, in commit order,
//! so they are strictly ascending without any lock. With an fsync costing ~0.5 ms, concurrent
//! deliveries share one sync instead of queueing for one each.

use crate::mail::compact::Compactor;
use crate::mail::model::ChangeNotice;
use crate::mail::txn::{Cf, Txn};
use crate::rocks::Backend;
use crate::StoreError;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::{broadcast, oneshot};

/// Most requests committed in one group (bounds the batch's memory and the latency of the first).
pub(crate) const MAX_GROUP_REQUESTS: usize = 512;
/// Message bytes after which a group stops taking more requests (a single larger message still
/// goes through, alone).
pub(crate) const MAX_GROUP_BYTES: usize = 64 * 1024 * 1024;
/// Reader threads for blocking reads (parsing, fetches, body reads).
const READER_THREADS: usize = 2;
/// Change notices buffered per subscriber before it is told it lagged.
const NOTICE_CAPACITY: usize = 1024;

/// What the writer runs for one request: it applies the request to the transaction and returns
/// the function that delivers the reply once the commit outcome is known (`None` = on disk).
struct WriteJob {
    /// Message bytes the request carries.
    weight: usize,
    apply: Box<dyn FnOnce(&mut Txn<'_>) -> Completion + Send>,
}
type Completion = Box<dyn FnOnce(Option<StoreError>) + Send>;
type ReadJob = Box<dyn FnOnce(&Backend) + Send>;

/// The running writer and reader threads; dropping it stops and joins them.
pub(crate) struct MailEngine {
    writes: Option<mpsc::Sender<WriteJob>>,
    reads: Option<mpsc::Sender<ReadJob>>,
    threads: Vec<JoinHandle<()>>,
    notices: broadcast::Sender<ChangeNotice>,
}

impl MailEngine {
    pub fn start(backend: Arc<Backend>) -> Result<MailEngine, StoreError> {
        let (notices, _) = broadcast::channel(NOTICE_CAPACITY);
        let (writes, write_rx) = mpsc::channel::<WriteJob>();
        let (reads, read_rx) = mpsc::channel::<ReadJob>();
        let spawn_failed = |e: std::io::Error| StoreError::Unavailable(format!("cannot start a store thread: {e}"));
        let mut threads = Vec::new();
        let writer_backend = backend.clone();
        let writer_notices = notices.clone();
        // The writer owns the compactor's handle: the compactor thread stops after the writer.
        let (mut compactor, compactor_thread) = Compactor::start(backend.clone()).map_err(spawn_failed)?;
        threads.push(
            std::thread::Builder::new()
                .name("mail-writer".into())
                .spawn(move || run_writer(&writer_backend, &write_rx, &writer_notices, &mut compactor))
                .map_err(spawn_failed)?,
        );
        threads.push(compactor_thread);
        let read_rx = Arc::new(Mutex::new(read_rx));
        for i in 0..READER_THREADS {
            let backend = backend.clone();
            let rx = read_rx.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("mail-reader-{i}"))
                    .spawn(move || run_reader(&backend, &rx))
                    .map_err(spawn_failed)?,
            );
        }
        Ok(MailEngine { writes: Some(writes), reads: Some(reads), threads, notices })
    }

    /// Runs `apply` on the writer thread inside a group commit; resolves once it is on disk.
    /// `weight` is the number of message bytes the request carries.
    pub fn write<T, F>(&self, weight: usize, apply: F) -> oneshot::Receiver<Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&mut Txn<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.submit(weight, apply, move |r| {
            let _ = tx.send(r);
        });
        rx
    }

    /// As [`MailEngine::write`], for the blocking administrative API (`Store::add_account`...).
    pub fn write_blocking<T, F>(&self, apply: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Txn<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(0, apply, move |r| {
            let _ = tx.send(r);
        });
        rx.recv().unwrap_or_else(|_| Err(stopped()))
    }

    fn submit<T, F, R>(&self, weight: usize, apply: F, reply: R)
    where
        T: Send + 'static,
        F: FnOnce(&mut Txn<'_>) -> Result<T, StoreError> + Send + 'static,
        R: FnOnce(Result<T, StoreError>) + Send + 'static,
    {
        let apply: Box<dyn FnOnce(&mut Txn<'_>) -> Completion + Send> = Box::new(move |txn: &mut Txn<'_>| {
            let outcome = apply(txn);
            match &outcome {
                Ok(_) => txn.keep(),
                Err(_) => txn.rollback(),
            }
            Box::new(move |commit_error: Option<StoreError>| match commit_error {
                Some(e) if outcome.is_ok() => reply(Err(e)),
                _ => reply(outcome),
            })
        });
        let job = WriteJob { weight, apply };
        // If the writer is gone, the job and its reply sender are dropped: the caller sees an error.
        if let Some(writes) = &self.writes {
            let _ = writes.send(job);
        }
    }

    /// Runs `read` on a reader thread.
    pub fn read<T, F>(&self, read: F) -> oneshot::Receiver<Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&Backend) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: ReadJob = Box::new(move |backend: &Backend| {
            let _ = tx.send(read(backend));
        });
        if let Some(reads) = &self.reads {
            let _ = reads.send(job);
        }
        rx
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ChangeNotice> {
        self.notices.subscribe()
    }
}

impl Drop for MailEngine {
    fn drop(&mut self) {
        self.writes.take();
        self.reads.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

pub(crate) fn stopped() -> StoreError {
    StoreError::Unavailable("the mail store is shutting down".into())
}

fn run_writer(
    backend: &Backend,
    jobs: &mpsc::Receiver<WriteJob>,
    notices: &broadcast::Sender<ChangeNotice>,
    compactor: &mut Compactor,
) {
    let mut carried: Option<WriteJob> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match jobs.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        let mut bytes = first.weight;
        let mut group = vec![first];
        while group.len() < MAX_GROUP_REQUESTS && bytes < MAX_GROUP_BYTES {
            match jobs.try_recv() {
                Ok(job) if bytes + job.weight > MAX_GROUP_BYTES => {
                    carried = Some(job);
                    break;
                }
                Ok(job) => {
                    bytes += job.weight;
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        let mut txn = Txn::new(backend);
        let mut completions = Vec::with_capacity(group.len());
        for job in group {
            // A bug in one request must not take the writer (and every later request) down: its
            // writes are dropped and its caller sees the reply channel close.
            match catch_unwind(AssertUnwindSafe(|| (job.apply)(&mut txn))) {
                Ok(done) => completions.push(done),
                Err(_) => {
                    tracing::error!("a mail store request panicked; its writes were rolled back");
                    txn.rollback();
                }
            }
        }
        let message_deletes = txn.deletes(Cf::Messages);
        let (batch, sent) = txn.into_batch();
        // A group whose requests all failed has nothing to sync.
        let error = if batch.is_empty() { None } else { backend.write(batch).err() };
        if let Some(e) = &error {
            tracing::error!("mail store commit failed: {e}");
        } else {
            compactor.committed(message_deletes);
        }
        // Notices go out before the replies: a client told "done" by one session and then asking
        // another (IDLE, NOOP) must find the change already announced there.
        if error.is_none() {
            for notice in sent {
                let _ = notices.send(notice);
            }
        }
        for done in completions {
            done(error.clone());
        }
    }
}

fn run_reader(backend: &Backend, jobs: &Mutex<mpsc::Receiver<ReadJob>>) {
    loop {
        let job = {
            let rx = jobs.lock().unwrap_or_else(|p| p.into_inner());
            rx.recv()
        };
        match job {
            Ok(job) => {
                if catch_unwind(AssertUnwindSafe(|| job(backend))).is_err() {
                    tracing::error!("a mail store read panicked");
                }
            }
            Err(_) => return,
        }
    }
}
