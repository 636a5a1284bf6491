//! A bounded queue between the collector and the sink, drained by a
//! writer thread.
//!
//! The collector must keep draining the kernel ring buffer whatever the
//! sink does: a pipe nobody reads, a full disk or a lost syslog receiver.
//! Events go through a bounded channel. When it is full, the event is
//! dropped and counted. When the sink fails a write, the writer counts the
//! event as failed, logs the error, and goes on with the next one.

use std::{
    io,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError},
        Arc,
    },
    thread::{self, JoinHandle},
    time::Duration,
};

use log::{error, warn};

use super::{event::Event, sink::Sink};

/// Counters shared with the writer thread.
#[derive(Debug, Default)]
struct Shared {
    written: AtomicU64,
    /// Events dropped because the queue was full.
    dropped: AtomicU64,
    /// Events the sink failed to write.
    failed: AtomicU64,
    /// Set when standard output is a pipe whose reader went away.
    closed: AtomicBool,
}

/// Totals of a queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub written: u64,
    pub dropped: u64,
    pub failed: u64,
}

enum Message {
    Event(Box<Event>),
    Flush,
    /// Flush, then reply: everything queued before has been handled.
    Sync(SyncSender<()>),
}

/// The sending side, owned by the collector.
pub struct Queue {
    sender: Option<SyncSender<Message>>,
    worker: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl Queue {
    /// Starts a writer thread that owns `sink`, behind a queue of
    /// `capacity` events.
    pub fn spawn(sink: Sink, capacity: usize) -> io::Result<Self> {
        let (sender, receiver) = mpsc::sync_channel(capacity);
        let shared = Arc::new(Shared::default());
        let worker_shared = Arc::clone(&shared);
        let worker = thread::Builder::new()
            .name("nstrace-writer".to_string())
            .spawn(move || write_loop(sink, &receiver, &worker_shared))?;
        Ok(Self {
            sender: Some(sender),
            worker: Some(worker),
            shared,
        })
    }

    /// Queues `event` without waiting; a full queue drops it and counts
    /// the drop. Returns true when standard output is a closed pipe.
    pub fn send(&self, event: Event) -> bool {
        let Some(sender) = &self.sender else {
            return true;
        };
        match sender.try_send(Message::Event(Box::new(event))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => return true,
        }
        self.closed()
    }

    /// Queues `event`, waiting for room: for the start, final and stop
    /// records, which must not be dropped. A second signal ends a wait on
    /// a sink that never drains.
    pub fn send_waiting(&self, event: Event) -> bool {
        let Some(sender) = &self.sender else {
            return true;
        };
        if sender.send(Message::Event(Box::new(event))).is_err() {
            return true;
        }
        self.closed()
    }

    /// Asks the writer to flush once it has written what is queued.
    pub fn flush(&self) {
        if let Some(sender) = &self.sender {
            // A full queue has events still to write, and the writer
            // flushes when it runs out of them.
            let _ = sender.try_send(Message::Flush);
        }
    }

    /// Waits until the writer has handled and flushed every event queued
    /// so far, so that the counts include them.
    pub fn sync(&self) {
        let Some(sender) = &self.sender else {
            return;
        };
        let (reply, done) = mpsc::sync_channel(1);
        if sender.send(Message::Sync(reply)).is_ok() {
            let _ = done.recv();
        }
    }

    pub fn closed(&self) -> bool {
        self.shared.closed.load(Ordering::Relaxed)
    }

    pub fn counts(&self) -> QueueCounts {
        QueueCounts {
            written: self.shared.written.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            failed: self.shared.failed.load(Ordering::Relaxed),
        }
    }

    /// Closes the queue and waits until the writer has written and flushed
    /// everything queued.
    pub fn finish(&mut self) -> QueueCounts {
        self.sender = None;
        if let Some(worker) = self.worker.take() {
            if worker.join().is_err() {
                error!("writer: the writer thread panicked");
            }
        }
        self.counts()
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        self.finish();
    }
}

/// How long the writer waits for an event before it flushes.
const IDLE_FLUSH: Duration = Duration::from_millis(100);

fn write_loop(mut sink: Sink, receiver: &Receiver<Message>, shared: &Shared) {
    let mut dirty = false;
    loop {
        let message = match receiver.recv_timeout(IDLE_FLUSH) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => {
                if dirty {
                    dirty = false;
                    flush(&mut sink, shared);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        match message {
            Message::Event(event) => match sink.write(&event) {
                Ok(()) => {
                    shared.written.fetch_add(1, Ordering::Relaxed);
                    dirty = true;
                }
                Err(error) => failed_write(&error, shared),
            },
            Message::Flush => {
                dirty = false;
                flush(&mut sink, shared);
            }
            Message::Sync(reply) => {
                dirty = false;
                flush(&mut sink, shared);
                let _ = reply.send(());
            }
        }
        if shared.closed.load(Ordering::Relaxed) {
            break;
        }
    }
    flush(&mut sink, shared);
}

fn flush(sink: &mut Sink, shared: &Shared) {
    if let Err(error) = sink.flush() {
        failed_write(&error, shared);
    }
}

/// Counts a failed write, and logs the first failure and every 1000th.
fn failed_write(error: &io::Error, shared: &Shared) {
    if error.kind() == io::ErrorKind::BrokenPipe {
        shared.closed.store(true, Ordering::Relaxed);
        return;
    }
    let failed = shared.failed.fetch_add(1, Ordering::Relaxed) + 1;
    if failed == 1 || failed.is_multiple_of(1000) {
        warn!("writer: writing a record failed ({failed} so far): {error}");
    }
}
