//! A bounded queue between the collector and the sink, drained by a
//! writer thread.
//!
//! The collector must keep draining the kernel ring buffer whatever the
//! sink does: a pipe nobody reads, a full disk or a lost syslog receiver.
//! Events go through a bounded channel. When it is full, the event is
//! dropped and counted. When the sink fails a write, the writer counts the
//! event as failed, logs the error, and goes on with the next one.
//!
//! At stop the collector waits for room instead of dropping, but only
//! while the writer makes progress: after [`STALL_TIMEOUT`] without a
//! handled event it gives up, and every event still queued then counts
//! as dropped.

use std::{
    io,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError},
        Arc,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use log::{error, warn};

use super::{event::Event, sink::Sink};

/// How long a wait at stop lasts while the writer handles no event.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the final wait for the writer thread lasts without progress
/// once the queue was abandoned: the writer only discards events then,
/// unless it is still blocked in the sink.
const ABANDONED_TIMEOUT: Duration = Duration::from_secs(1);

/// How often a wait at stop checks for room and progress.
const STALL_POLL: Duration = Duration::from_millis(2);

/// Counters shared with the writer thread.
#[derive(Debug, Default)]
struct Shared {
    /// Events that entered the queue.
    accepted: AtomicU64,
    written: AtomicU64,
    /// Events dropped because the queue was full.
    dropped: AtomicU64,
    /// Events the writer discarded unwritten after the collector gave up.
    discarded: AtomicU64,
    /// Events the sink failed to write.
    failed: AtomicU64,
    /// Set when standard output is a pipe whose reader went away.
    closed: AtomicBool,
    /// Set when a wait at stop timed out: the writer discards what is
    /// still queued.
    abandoned: AtomicBool,
}

impl Shared {
    /// Events the writer has finished with.
    fn handled(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
            + self.failed.load(Ordering::Relaxed)
            + self.discarded.load(Ordering::Relaxed)
    }
}

/// Totals of a queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub written: u64,
    /// Events dropped because the queue was full, or discarded after a
    /// wait at stop timed out.
    pub dropped: u64,
    pub failed: u64,
    /// Events in the queue or in the sink's hands, not yet written,
    /// failed or discarded.
    pub pending: u64,
}

impl QueueCounts {
    /// Events that will never be written: those dropped, and those still
    /// pending, which the writer will not reach once the process exits.
    pub fn lost(&self) -> u64 {
        self.dropped + self.pending
    }
}

/// Progress of the writer during a wait at stop.
struct StallWatch {
    handled: u64,
    since: Instant,
    timeout: Duration,
}

impl StallWatch {
    fn new(shared: &Shared, timeout: Duration) -> Self {
        Self {
            handled: shared.handled(),
            since: Instant::now(),
            timeout,
        }
    }

    /// Checks whether the writer has handled no event for the timeout.
    fn stalled(&mut self, shared: &Shared) -> bool {
        let handled = shared.handled();
        if handled != self.handled {
            self.handled = handled;
            self.since = Instant::now();
        }
        self.since.elapsed() >= self.timeout
    }
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
    /// Disconnected when the writer thread ends.
    worker_done: Option<Receiver<()>>,
    shared: Arc<Shared>,
}

impl Queue {
    /// Starts a writer thread that owns `sink`, behind a queue of
    /// `capacity` events.
    pub fn spawn(sink: Sink, capacity: usize) -> io::Result<Self> {
        let (sender, receiver) = mpsc::sync_channel(capacity);
        let shared = Arc::new(Shared::default());
        let worker_shared = Arc::clone(&shared);
        let (done, worker_done) = mpsc::channel();
        let worker = thread::Builder::new()
            .name("nstrace-writer".to_string())
            .spawn(move || {
                write_loop(sink, &receiver, &worker_shared);
                drop(done);
            })?;
        Ok(Self {
            sender: Some(sender),
            worker: Some(worker),
            worker_done: Some(worker_done),
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
            Ok(()) => {
                self.shared.accepted.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => return true,
        }
        self.closed()
    }

    /// Queues `event`, waiting for room: for the start, final and stop
    /// records, which must not be dropped. The wait ends when the writer
    /// has handled no event for [`STALL_TIMEOUT`]; then this event and
    /// every later one is dropped and counted without a wait.
    pub fn send_waiting(&self, event: Event) -> bool {
        let Some(sender) = &self.sender else {
            return true;
        };
        if self.shared.abandoned.load(Ordering::Relaxed) {
            return self.send(event);
        }
        match self.send_bounded(sender, Message::Event(Box::new(event))) {
            Ok(()) => {
                self.shared.accepted.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => return true,
        }
        self.closed()
    }

    /// Sends `message`, waiting for room while the writer makes progress.
    /// Returns `Full` when it stalled, after marking the queue abandoned.
    fn send_bounded(
        &self,
        sender: &SyncSender<Message>,
        mut message: Message,
    ) -> Result<(), TrySendError<Message>> {
        let mut watch = StallWatch::new(&self.shared, STALL_TIMEOUT);
        loop {
            match sender.try_send(message) {
                Err(TrySendError::Full(returned)) => {
                    if watch.stalled(&self.shared) {
                        self.abandon();
                        return Err(TrySendError::Full(returned));
                    }
                    message = returned;
                    thread::sleep(STALL_POLL);
                }
                result => return result,
            }
        }
    }

    /// Tells the writer to discard what is queued, after a wait at stop
    /// timed out.
    fn abandon(&self) {
        if !self.shared.abandoned.swap(true, Ordering::Relaxed) {
            let counts = self.counts();
            warn!(
                "writer: the output took no record for {STALL_TIMEOUT:?} during the stop; giving up on {} queued records",
                counts.pending
            );
        }
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
    /// so far, so that the counts include them. The wait ends when the
    /// writer has handled no event for [`STALL_TIMEOUT`]; the events it
    /// has not reached then stay `pending` in the counts.
    pub fn sync(&self) {
        let Some(sender) = &self.sender else {
            return;
        };
        if self.shared.abandoned.load(Ordering::Relaxed) {
            return;
        }
        let (reply, done) = mpsc::sync_channel(1);
        if self.send_bounded(sender, Message::Sync(reply)).is_err() {
            return;
        }
        let mut watch = StallWatch::new(&self.shared, STALL_TIMEOUT);
        loop {
            match done.recv_timeout(STALL_POLL * 50) {
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {
                    if watch.stalled(&self.shared) {
                        self.abandon();
                        return;
                    }
                }
            }
        }
    }

    pub fn closed(&self) -> bool {
        self.shared.closed.load(Ordering::Relaxed)
    }

    pub fn counts(&self) -> QueueCounts {
        // Handled events are read before accepted ones, so that an event
        // accepted in between cannot make `pending` negative.
        let written = self.shared.written.load(Ordering::Relaxed);
        let failed = self.shared.failed.load(Ordering::Relaxed);
        let discarded = self.shared.discarded.load(Ordering::Relaxed);
        let accepted = self.shared.accepted.load(Ordering::Relaxed);
        QueueCounts {
            written,
            dropped: self.shared.dropped.load(Ordering::Relaxed) + discarded,
            failed,
            pending: accepted.saturating_sub(written + failed + discarded),
        }
    }

    /// Closes the queue and waits until the writer has written and flushed
    /// everything queued, or has handled no event for [`STALL_TIMEOUT`]
    /// ([`ABANDONED_TIMEOUT`] after an earlier wait timed out). After a
    /// timeout the writer thread is left blocked in the sink, and the
    /// counts keep its unwritten events as `pending`.
    pub fn finish(&mut self) -> QueueCounts {
        self.sender = None;
        if let Some(done) = self.worker_done.take() {
            let timeout = if self.shared.abandoned.load(Ordering::Relaxed) {
                ABANDONED_TIMEOUT
            } else {
                STALL_TIMEOUT
            };
            let mut watch = StallWatch::new(&self.shared, timeout);
            loop {
                match done.recv_timeout(STALL_POLL * 50) {
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    Err(RecvTimeoutError::Timeout) => {
                        if watch.stalled(&self.shared) {
                            self.abandon();
                            self.worker = None;
                            return self.counts();
                        }
                    }
                }
            }
        }
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
            Message::Event(_) if shared.abandoned.load(Ordering::Relaxed) => {
                shared.discarded.fetch_add(1, Ordering::Relaxed);
            }
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
