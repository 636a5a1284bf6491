//! The interleaved session: in each round, every tracer configuration in
//! turn runs one block of all workloads.
//!
//! A tracer is started before its block and stopped after it, so it keeps
//! running across the block's workloads. Its start-up time is measured
//! apart and never counts in a workload's time, which the workload measures
//! around its own loop.

use std::{thread, time::Duration, time::Instant};

use anyhow::Context as _;

use super::{
    proc_stat,
    tracer::{self, Context, TracerKind},
    workload::{self, Run, Workload},
};

/// Pause after each workload run, so that the tracer drains what the run
/// made before its CPU time is read.
const SETTLE: Duration = Duration::from_millis(300);

/// One workload run under one tracer configuration.
pub struct Measurement {
    pub round: usize,
    pub tracer: TracerKind,
    pub run: Run,
    /// CPU time of the tracer process from the start of the run to the end
    /// of the settle pause.
    pub tracer_cpu: Option<Duration>,
    /// Namespace calls of the run that the tracer reported.
    pub reported_calls: Option<u64>,
}

/// One tracer's block of a round.
pub struct Block {
    pub tracer: TracerKind,
    pub start_seconds: f64,
    pub lost: Option<u64>,
    pub peak_rss_kib: Option<u64>,
}

#[derive(Default)]
pub struct Results {
    pub measurements: Vec<Measurement>,
    pub blocks: Vec<Block>,
}

pub struct Plan<'a> {
    pub rounds: usize,
    pub scale: f64,
    pub tracers: &'a [TracerKind],
    pub workloads: &'a [Workload],
}

/// Runs the session.
pub fn run(plan: &Plan, context: &Context, binary: &std::path::Path) -> anyhow::Result<Results> {
    let mut results = Results::default();
    for round in 1..=plan.rounds {
        for &kind in plan.tracers {
            eprintln!("xtask: bench round {round}/{}: {kind}", plan.rounds);
            let started = Instant::now();
            let tracer = tracer::start(kind, context, &format!("round{round}"))
                .with_context(|| format!("starting {kind} failed in round {round}"))?;
            let start_seconds = started.elapsed().as_secs_f64();
            let mut runs = Vec::new();
            let mut cpu = Vec::new();
            for &workload in plan.workloads {
                let before = tracer.pid().and_then(proc_stat::usage);
                let run = workload::run(binary, workload, workload.iterations(plan.scale))
                    .with_context(|| format!("round {round}, {kind}"))?;
                thread::sleep(SETTLE);
                let after = tracer.pid().and_then(proc_stat::usage);
                cpu.push(before.zip(after).map(|(b, a)| a.cpu.saturating_sub(b.cpu)));
                eprintln!(
                    "xtask:   {:<8} {:>12.0} ops/s {:>12.0} ops/CPU-s",
                    workload.name(),
                    run.ops_per_second,
                    run.ops_per_cpu_second.unwrap_or(f64::NAN)
                );
                runs.push(run);
            }
            let peak_rss_kib = tracer
                .pid()
                .and_then(proc_stat::usage)
                .map(|u| u.peak_rss_kib);
            let report = tracer
                .stop(&runs)
                .with_context(|| format!("stopping {kind} failed in round {round}"))?;
            results.blocks.push(Block {
                tracer: kind,
                start_seconds,
                lost: report.lost,
                peak_rss_kib,
            });
            for ((run, tracer_cpu), reported_calls) in
                runs.into_iter().zip(cpu).zip(report.reported_calls)
            {
                results.measurements.push(Measurement {
                    round,
                    tracer: kind,
                    run,
                    tracer_cpu,
                    reported_calls,
                });
            }
        }
    }
    Ok(results)
}
