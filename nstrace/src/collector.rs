//! The tracing loop: drain the ring buffer, turn records into events,
//! filter and write them, and report losses.

use std::{collections::BTreeMap, io, time::Duration};

use anyhow::Context;
use aya::maps::{MapData, PerCpuArray, RingBuf};
use log::{error, info, warn};
use nstrace_common::record::kind;
use tokio::{
    signal::unix::{signal, SignalKind},
    time::{interval, MissedTickBehavior},
};

use crate::{
    cli::Config,
    clock::Clock,
    decode::decode,
    output::{
        event::{Body, EventKind, Loss, Start, Stop},
        sink::Sink,
    },
    pipeline::Pipeline,
    probe::{self, Probe},
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

/// Names of the loss counters, by index in the `LOSSES` map.
const LOSS_NAMES: [&str; kind::COUNT as usize] = ["pending", "syscall", "fork", "exec", "exit"];

/// Totals for the stop record.
#[derive(Default)]
struct Counts {
    records_read: u64,
    events_written: u64,
    decode_errors: u64,
    lost: [u64; kind::COUNT as usize],
}

/// Why the loop ended.
enum Ending {
    Signal,
    Duration,
    /// The reader of standard output went away.
    BrokenPipe,
}

/// Loads the programs and traces until a signal, the duration, or an error.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let translator = Translator {
        clock: Clock::now().context("reading the system clocks failed")?,
        host: nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default(),
        nsfs_dev: nsfs_device(),
    };
    let mut sink = Sink::open(&config.sink, &translator.host)?;
    let mut pipeline = Pipeline::new(translator.clock, config.filter.clone());

    let mut probe = probe::load(config.ring_buffer_bytes)?;
    let mut ring = RingBuf::try_from(
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
    let start = Start {
        version: env!("CARGO_PKG_VERSION"),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        hooks: probe.hooks.clone(),
        unavailable: [probe.unavailable.as_slice(), pipeline.unavailable()].concat(),
        namespace_ids: probe.namespace_ids,
        ring_buffer_bytes: config.ring_buffer_bytes,
    };
    let mut start_event = translator.event(EventKind::Start, Clock::boot_now(), Body::Start(start));
    pipeline.process(&mut start_event);
    sink.write(&start_event)
        .context("writing the start record failed")?;
    sink.flush().context("writing the start record failed")?;

    let mut counts = Counts::default();
    let ending = trace_loop(
        &config,
        &mut probe,
        &mut ring,
        &losses,
        &translator,
        &mut pipeline,
        &mut sink,
        &mut counts,
    )
    .await;
    let ending = match ending {
        Ok(ending) => ending,
        Err(error) => {
            error!("tracing stopped: {error:#}");
            return Err(error);
        }
    };
    if matches!(ending, Ending::BrokenPipe) {
        return Ok(());
    }

    // Drain what the kernel wrote before the stop, then report the totals.
    drain(
        &mut ring,
        &mut probe,
        &translator,
        &mut pipeline,
        &mut sink,
        &mut counts,
        usize::MAX,
    )?;
    check_losses(&losses, &translator, &mut pipeline, &mut sink, &mut counts)?;
    let reason = match ending {
        Ending::Signal => "signal",
        Ending::Duration | Ending::BrokenPipe => "duration",
    };
    let stop = Stop {
        reason: reason.to_string(),
        records_read: counts.records_read,
        events_written: counts.events_written,
        lost: LOSS_NAMES
            .iter()
            .copied()
            .zip(counts.lost)
            .collect::<BTreeMap<_, _>>(),
        decode_errors: counts.decode_errors,
    };
    let mut stop_event = translator.event(EventKind::Stop, Clock::boot_now(), Body::Stop(stop));
    pipeline.process(&mut stop_event);
    write_or_pipe(&mut sink, &stop_event)?;
    flush_or_pipe(&mut sink)?;
    info!(
        "stopped: {} records read, {} events written, {} lost",
        counts.records_read,
        counts.events_written,
        counts.lost.iter().sum::<u64>()
    );
    Ok(())
}

#[expect(
    clippy::too_many_arguments,
    reason = "the loop owns no state of its own; it borrows each stage of the run"
)]
async fn trace_loop(
    config: &Config,
    probe: &mut Probe,
    ring: &mut RingBuf<MapData>,
    losses: &PerCpuArray<MapData, u64>,
    translator: &Translator,
    pipeline: &mut Pipeline,
    sink: &mut Sink,
    counts: &mut Counts,
) -> anyhow::Result<Ending> {
    let mut sigint =
        signal(SignalKind::interrupt()).context("installing the SIGINT handler failed")?;
    let mut sigterm =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler failed")?;
    let deadline = async {
        match config.duration {
            Some(duration) => tokio::time::sleep(duration).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);

    let mut drain_tick = interval(DRAIN_INTERVAL);
    drain_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut loss_tick = interval(LOSS_INTERVAL);
    loss_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);

    loop {
        tokio::select! {
            _ = drain_tick.tick() => {
                if drain(ring, probe, translator, pipeline, sink, counts, DRAIN_BUDGET)? {
                    return Ok(Ending::BrokenPipe);
                }
            }
            _ = loss_tick.tick() => {
                if check_losses(losses, translator, pipeline, sink, counts)? {
                    return Ok(Ending::BrokenPipe);
                }
            }
            _ = sigint.recv() => { info!("signal: SIGINT received, stopping"); break Ok(Ending::Signal); }
            _ = sigterm.recv() => { info!("signal: SIGTERM received, stopping"); break Ok(Ending::Signal); }
            () = &mut deadline => { info!("duration: elapsed, stopping"); break Ok(Ending::Duration); }
        }
    }
    .inspect(|_| exit_on_second_signal())
}

/// After the first signal, a second SIGINT or SIGTERM ends the process at
/// once, without waiting for the final drain.
fn exit_on_second_signal() {
    tokio::spawn(async {
        let (Ok(mut sigint), Ok(mut sigterm)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::select! {
            _ = sigint.recv() => {}
            _ = sigterm.recv() => {}
        }
        warn!("signal: second signal received, exiting without the final drain");
        std::process::exit(130);
    });
}

/// Reads the records now in the ring buffer, at most `budget` of them.
/// Returns true when standard output is a closed pipe.
fn drain(
    ring: &mut RingBuf<MapData>,
    probe: &mut Probe,
    translator: &Translator,
    pipeline: &mut Pipeline,
    sink: &mut Sink,
    counts: &mut Counts,
    budget: usize,
) -> anyhow::Result<bool> {
    let mut wrote = false;
    let mut read = 0;
    while read < budget {
        let Some(item) = ring.next() else {
            break;
        };
        read += 1;
        counts.records_read += 1;
        let record = match decode(&item) {
            Ok(record) => record,
            Err(error) => {
                counts.decode_errors += 1;
                if counts.decode_errors <= 10 {
                    warn!("decode: skipping record: {error}");
                }
                continue;
            }
        };
        drop(item);
        pipeline.observe(&record);
        for mut event in translator.translate(&record) {
            if !pipeline.process(&mut event) {
                continue;
            }
            if write_or_pipe(sink, &event)? {
                return Ok(true);
            }
            counts.events_written += 1;
            wrote = true;
        }
    }
    if let Some(logger) = probe.logger.as_mut() {
        logger.flush();
    }
    if wrote {
        return flush_or_pipe(sink);
    }
    Ok(false)
}

/// Emits a loss record for each counter that moved. Returns true when
/// standard output is a closed pipe.
fn check_losses(
    losses: &PerCpuArray<MapData, u64>,
    translator: &Translator,
    pipeline: &mut Pipeline,
    sink: &mut Sink,
    counts: &mut Counts,
) -> anyhow::Result<bool> {
    let mut wrote = false;
    for (index, name) in (0u32..).zip(LOSS_NAMES) {
        let values = losses
            .get(&index, 0)
            .with_context(|| format!("reading loss counter {name} failed"))?;
        let total: u64 = values.iter().sum();
        let slot = &mut counts.lost[index as usize];
        if total > *slot {
            let count = total - *slot;
            *slot = total;
            warn!("loss: {count} {name} records lost in the kernel ({total} since start)");
            let loss = Loss {
                kind: name,
                count,
                total,
            };
            let mut event = translator.event(EventKind::Loss, Clock::boot_now(), Body::Loss(loss));
            pipeline.process(&mut event);
            if write_or_pipe(sink, &event)? {
                return Ok(true);
            }
            wrote = true;
        }
    }
    if wrote {
        return flush_or_pipe(sink);
    }
    Ok(false)
}

fn write_or_pipe(sink: &mut Sink, event: &crate::output::event::Event) -> anyhow::Result<bool> {
    pipe_closed(sink.write(event)).context("writing a record failed")
}

fn flush_or_pipe(sink: &mut Sink) -> anyhow::Result<bool> {
    pipe_closed(sink.flush()).context("writing records failed")
}

/// Maps a broken pipe to `Ok(true)`: a reader that went away is a normal end.
fn pipe_closed(result: io::Result<()>) -> io::Result<bool> {
    match result {
        Ok(()) => Ok(false),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(true),
        Err(error) => Err(error),
    }
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
}

/// Device number of nsfs, from `/proc/self/ns/net`.
fn nsfs_device() -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self/ns/net").ok().map(|m| m.dev())
}
