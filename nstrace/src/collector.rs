//! The tracing loop: drain the ring buffer, turn records into events,
//! filter and write them, and report losses and health.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use anyhow::Context;
use aya::maps::{MapData, PerCpuArray, RingBuf};
use log::{debug, error, info, warn};
use nstrace_common::record::loss;
use tokio::{
    signal::unix::{signal, SignalKind},
    time::{interval, MissedTickBehavior},
};

use crate::{
    cli::Config,
    clock::Clock,
    decode::{decode, Record},
    mount_tracker::MountTracker,
    output::{
        event::{Body, Event, EventKind, Health, Loss, Start, Stop},
        queue::Queue,
        sink::Sink,
    },
    pipeline::Pipeline,
    privilege,
    probe::{self, Probe},
    second_signal,
    state::{scan, Tracker},
    translate::Translator,
};

/// How often the ring buffer is drained. Records are submitted without a
/// wake-up, so this bounds the delay from kernel to output.
const DRAIN_INTERVAL: Duration = Duration::from_millis(5);

/// Records handled per drain in the tracing loop. Enrichment reads
/// `/proc` for each event, so a flood of records could otherwise keep the
/// loop from noticing signals and the duration.
const DRAIN_BUDGET: usize = 16_384;

/// How often the loss counters are read.
const LOSS_INTERVAL: Duration = Duration::from_secs(1);

/// How often `/proc` may be scanned for namespaces left without members,
/// when destruction is inferred.
const SCAN_INTERVAL: Duration = Duration::from_secs(1);

/// Names of the loss counters, by index in the `LOSSES` map.
const LOSS_NAMES: [&str; loss::SLOTS as usize] = [
    "pending",
    "syscall",
    "fork",
    "exec",
    "exit",
    "ns_free",
    "mount",
    "mount_pending",
];

/// Totals for the stop and health records.
#[derive(Default)]
struct Counts {
    records_read: u64,
    decode_errors: u64,
    lost: [u64; loss::SLOTS as usize],
    /// Output queue counts already reported in loss records.
    sink_dropped: u64,
    sink_failed: u64,
}

/// Reason the loop ended.
enum Ending {
    Signal,
    Duration,
    /// The reader of standard output went away.
    BrokenPipe,
}

/// Everything the loop works on.
struct Session {
    config: Config,
    probe: Probe,
    ring: RingBuf<MapData>,
    losses: PerCpuArray<MapData, u64>,
    tracker: Tracker,
    /// Context of mount records: directories and the mount fd table.
    mounts: MountTracker,
    /// Enrichment, detection and filtering of events.
    pipeline: Pipeline,
    queue: Queue,
    counts: Counts,
    /// After the loop ends, events wait for room in the queue instead of
    /// being dropped, so that shutdown writes every pending record.
    shutting_down: bool,
}

/// Loads the programs and traces until a signal, the duration, or an error.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let translator = Translator {
        clock: Clock::now().context("reading the system clocks failed")?,
        host: nix::unistd::gethostname()
            .map(|h| Arc::from(h.to_string_lossy()))
            .unwrap_or_default(),
        nsfs_dev: nsfs_device(),
    };
    let sink = Sink::open(&config.sink, &translator.host)?;
    let pipeline = Pipeline::new(translator.clock, config.filter.clone());

    let mut probe = probe::load(config.ring_buffer_bytes, &config.btf)?;
    let ring = RingBuf::try_from(
        probe
            .ebpf
            .take_map("EVENTS")
            .context("map EVENTS missing from the eBPF object")?,
    )
    .context("map EVENTS is not a ring buffer")?;
    let losses: PerCpuArray<MapData, u64> = PerCpuArray::try_from(
        probe
            .ebpf
            .take_map("LOSSES")
            .context("map LOSSES missing from the eBPF object")?,
    )
    .context("map LOSSES is not a per-CPU array")?;
    report_start(&probe);
    let tracker = Tracker::new(translator, probe.precision);

    let config_queue_size = config.queue_size;
    let mut session = Session {
        config,
        probe,
        ring,
        losses,
        tracker,
        mounts: MountTracker::default(),
        pipeline,
        queue: Queue::spawn(sink, config_queue_size)
            .context("starting the writer thread failed")?,
        counts: Counts::default(),
        shutting_down: false,
    };
    match session.trace().await {
        Ok(()) => Ok(()),
        Err(error) => {
            error!("tracing stopped: {error:#}");
            Err(error)
        }
    }
}

impl Session {
    async fn trace(&mut self) -> anyhow::Result<()> {
        let start = Start {
            version: env!("CARGO_PKG_VERSION"),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
            hooks: self.probe.hooks.clone(),
            unavailable: [
                self.probe.unavailable.as_slice(),
                self.pipeline.unavailable(),
            ]
            .concat(),
            namespace_ids: self.probe.namespace_ids,
            lifetime_precision: self.tracker.precision.name(),
            ring_buffer_bytes: self.config.ring_buffer_bytes,
        };
        let start =
            self.tracker
                .translator
                .event(EventKind::Start, Clock::boot_now(), Body::Start(start));
        // The start record waits for room like the final ones.
        self.shutting_down = true;
        let closed = self.write(start)?;
        self.shutting_down = false;
        if closed {
            return Ok(());
        }

        // The hooks are attached, so what the scan misses the records show.
        let snapshot = scan::scan(true);
        let seen = self.tracker.load_snapshot(&snapshot, Clock::boot_now());
        info!(
            "inventory: {} namespaces and {} tasks at start",
            self.tracker.sizes().namespaces,
            self.tracker.sizes().tasks
        );
        if self.write_all(seen)? || self.flush()? {
            return Ok(());
        }
        privilege::drop_after_attach()?;

        let ending = self.trace_loop().await?;
        if matches!(ending, Ending::BrokenPipe) {
            return Ok(());
        }
        self.shutting_down = true;

        // Drain what the kernel wrote before the stop, then write the
        // lifetimes still open and the totals.
        if self.drain()? || self.check_losses()? {
            return Ok(());
        }
        if self.tracker.scan_due(Clock::boot_now()) && self.scan()? {
            return Ok(());
        }
        let tables = self.tracker.sizes();
        let alive = self.tracker.finish(Clock::boot_now());
        if self.write_all(alive)? {
            return Ok(());
        }
        let reason = match ending {
            Ending::Signal => "signal",
            Ending::Duration | Ending::BrokenPipe => "duration",
        };
        self.queue.sync();
        let queued = self.queue.counts();
        let stop = Stop {
            reason: reason.to_string(),
            records_read: self.counts.records_read,
            events_written: queued.written,
            lost: LOSS_NAMES
                .iter()
                .copied()
                .zip(self.counts.lost)
                .collect::<BTreeMap<_, _>>(),
            decode_errors: self.counts.decode_errors,
            tables,
            sink_dropped: queued.lost(),
            sink_failed: queued.failed,
        };
        let stop =
            self.tracker
                .translator
                .event(EventKind::Stop, Clock::boot_now(), Body::Stop(stop));
        if self.write(stop)? {
            return Ok(());
        }
        let queued = self.queue.finish();
        info!(
            "stopped: {} records read, {} events written, {} lost in the kernel, {} dropped and {} failed in the output",
            self.counts.records_read,
            queued.written,
            self.counts.lost.iter().sum::<u64>(),
            queued.lost(),
            queued.failed
        );
        Ok(())
    }

    async fn trace_loop(&mut self) -> anyhow::Result<Ending> {
        let mut sigint =
            signal(SignalKind::interrupt()).context("installing the SIGINT handler failed")?;
        let mut sigterm =
            signal(SignalKind::terminate()).context("installing the SIGTERM handler failed")?;
        let duration = self.config.duration;
        let deadline = async {
            match duration {
                Some(duration) => tokio::time::sleep(duration).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);

        let mut drain_tick = ticker(DRAIN_INTERVAL);
        let mut loss_tick = ticker(LOSS_INTERVAL);
        let mut scan_tick = ticker(SCAN_INTERVAL);
        let mut health_tick = ticker(self.config.health_interval);
        health_tick.reset();

        let ending = loop {
            let closed = tokio::select! {
                _ = drain_tick.tick() => self.drain_at_most(DRAIN_BUDGET)?,
                _ = loss_tick.tick() => self.check_losses()?,
                _ = scan_tick.tick() => {
                    self.tracker.scan_due(Clock::boot_now()) && self.scan()?
                }
                _ = health_tick.tick() => self.health()?,
                _ = sigint.recv() => { info!("signal: SIGINT received, stopping"); break Ending::Signal; }
                _ = sigterm.recv() => { info!("signal: SIGTERM received, stopping"); break Ending::Signal; }
                () = &mut deadline => { info!("duration: elapsed, stopping"); break Ending::Duration; }
            };
            if closed {
                break Ending::BrokenPipe;
            }
        };
        if let Err(error) = second_signal::exit_on_second_signal() {
            warn!("signal: a second signal will not end the stop early: {error}");
        }
        Ok(ending)
    }

    /// Reads every record now in the ring buffer. Returns true when
    /// standard output is a closed pipe.
    fn drain(&mut self) -> anyhow::Result<bool> {
        self.drain_at_most(usize::MAX)
    }

    /// Reads at most `budget` records from the ring buffer. Returns true
    /// when standard output is a closed pipe.
    fn drain_at_most(&mut self, budget: usize) -> anyhow::Result<bool> {
        let mut wrote = false;
        for _ in 0..budget {
            let decoded = match self.ring.next() {
                Some(item) => decode(&item),
                None => break,
            };
            self.counts.records_read += 1;
            let record = match decoded {
                Ok(record) => record,
                Err(error) => {
                    self.counts.decode_errors += 1;
                    if self.counts.decode_errors <= 10 {
                        warn!("decode: skipping record: {error}");
                    }
                    continue;
                }
            };
            self.pipeline.observe(&record);
            // Mount records get their context here, where /proc is read
            // and the fd table kept, so that translation stays pure.
            let events = match (&record, self.mounts.observe(&record)) {
                (Record::Mount(mount), Some(context)) => self.tracker.handle_mount(mount, &context),
                _ => self.tracker.handle(&record),
            };
            wrote |= !events.is_empty();
            if self.write_all(events)? {
                return Ok(true);
            }
        }
        if let Some(logger) = self.probe.logger.as_mut() {
            logger.flush();
        }
        if wrote {
            return self.flush();
        }
        Ok(false)
    }

    /// Scans `/proc` for fds, bind mounts and tasks that keep namespaces
    /// without members alive.
    fn scan(&mut self) -> anyhow::Result<bool> {
        // Records written before the scan must be applied first, so that a
        // task the scan finds is not taken for one the records missed.
        if self.drain()? {
            return Ok(true);
        }
        let snapshot = scan::scan(false);
        let events = self.tracker.apply_scan(&snapshot, Clock::boot_now());
        debug!(
            "scan: {} tasks, {} namespaces ended",
            snapshot.tasks.len(),
            events.len()
        );
        if self.write_all(events)? {
            return Ok(true);
        }
        self.flush()
    }

    /// Emits a loss record for each counter that moved.
    fn check_losses(&mut self) -> anyhow::Result<bool> {
        let mut events = Vec::new();
        for (index, name) in (0u32..).zip(LOSS_NAMES) {
            let values = self
                .losses
                .get(&index, 0)
                .with_context(|| format!("reading loss counter {name} failed"))?;
            let total: u64 = values.iter().sum();
            let slot = &mut self.counts.lost[index as usize];
            if total > *slot {
                let count = total - *slot;
                *slot = total;
                warn!("loss: {count} {name} records lost in the kernel ({total} since start)");
                let loss = Loss {
                    kind: name,
                    count,
                    total,
                };
                events.push(self.tracker.translator.event(
                    EventKind::Loss,
                    Clock::boot_now(),
                    Body::Loss(loss),
                ));
            }
        }
        let kernel_loss = !events.is_empty();
        let queued = self.queue.counts();
        for (kind, total, reported) in [
            (
                "sink_dropped",
                queued.dropped,
                &mut self.counts.sink_dropped,
            ),
            ("sink_failed", queued.failed, &mut self.counts.sink_failed),
        ] {
            if total > *reported {
                let count = total - *reported;
                *reported = total;
                warn!("loss: {count} events {kind} in the output ({total} since start)");
                let loss = Loss { kind, count, total };
                events.push(self.tracker.translator.event(
                    EventKind::Loss,
                    Clock::boot_now(),
                    Body::Loss(loss),
                ));
            }
        }
        if events.is_empty() {
            return Ok(false);
        }
        if self.write_all(events)? {
            return Ok(true);
        }
        if kernel_loss {
            return self.resync();
        }
        self.flush()
    }

    /// Rebuilds the namespace state from a scan of `/proc` after the
    /// kernel lost records, so that later lifetimes rest on what exists.
    fn resync(&mut self) -> anyhow::Result<bool> {
        if self.drain()? {
            return Ok(true);
        }
        let snapshot = scan::scan(false);
        let events = self.tracker.resync(&snapshot, Clock::boot_now());
        info!(
            "resync: state rebuilt from /proc after a loss: {} tasks, {} namespaces ended",
            snapshot.tasks.len(),
            events.len()
        );
        if self.write_all(events)? {
            return Ok(true);
        }
        self.flush()
    }

    fn health(&mut self) -> anyhow::Result<bool> {
        let health = Health {
            tables: self.tracker.sizes(),
            records_read: self.counts.records_read,
            events_written: self.queue.counts().written,
            lost: self.counts.lost.iter().sum(),
        };
        let event = self.tracker.translator.event(
            EventKind::Health,
            Clock::boot_now(),
            Body::Health(health),
        );
        if self.write(event)? {
            return Ok(true);
        }
        self.flush()
    }

    /// Writes the events that pass the filter. Returns true when standard
    /// output is a closed pipe.
    #[expect(
        clippy::unnecessary_wraps,
        reason = "callers chain it with fallible steps"
    )]
    fn write_all(&mut self, events: Vec<Event>) -> anyhow::Result<bool> {
        for mut event in events {
            if !self.pipeline.process(&mut event) {
                continue;
            }
            if self.queue_event(event) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Queues one event. Returns true when standard output is a closed
    /// pipe.
    #[expect(
        clippy::unnecessary_wraps,
        reason = "callers chain it with fallible steps"
    )]
    fn write(&mut self, mut event: Event) -> anyhow::Result<bool> {
        self.pipeline.process(&mut event);
        Ok(self.queue_event(event))
    }

    /// Queues an event that has been through the pipeline.
    fn queue_event(&mut self, event: Event) -> bool {
        if self.shutting_down {
            return self.queue.send_waiting(event);
        }
        self.queue.send(event)
    }

    #[expect(
        clippy::unnecessary_wraps,
        reason = "callers chain it with fallible steps"
    )]
    fn flush(&mut self) -> anyhow::Result<bool> {
        self.queue.flush();
        Ok(self.queue.closed())
    }
}

fn ticker(period: Duration) -> tokio::time::Interval {
    let mut tick = interval(period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick
}

fn report_start(probe: &Probe) {
    let attached: Vec<&str> = probe
        .hooks
        .iter()
        .filter(|h| h.attached)
        .map(|h| h.hook.as_str())
        .collect();
    info!("attached {} hooks: {}", attached.len(), attached.join(", "));
    for missing in &probe.unavailable {
        warn!("unavailable on this kernel: {missing}");
    }
    info!("namespace destruction: {}", probe.precision.name());
}

/// Device number of nsfs, from `/proc/self/ns/net`.
fn nsfs_device() -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self/ns/net").ok().map(|m| m.dev())
}
