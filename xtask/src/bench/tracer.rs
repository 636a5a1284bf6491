//! The tracer configurations that the session compares.

use std::{fmt, path::Path};

use clap::ValueEnum;

use super::{auditd, bpftrace, nstrace, workload::Run};

/// A tracer configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TracerKind {
    /// No tracer: the baseline.
    None,
    /// nstrace writing JSON lines to a file.
    Nstrace,
    /// bpftrace with the same hooks, writing JSON lines to a file.
    Bpftrace,
    /// auditd with rules on the same syscalls, writing its log file.
    Auditd,
}

impl TracerKind {
    pub fn name(self) -> &'static str {
        match self {
            TracerKind::None => "none",
            TracerKind::Nstrace => "nstrace",
            TracerKind::Bpftrace => "bpftrace",
            TracerKind::Auditd => "auditd",
        }
    }
}

impl fmt::Display for TracerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a tracer reported over one block of workload runs.
#[derive(Clone, Debug, Default)]
pub struct BlockReport {
    /// Events the tracer says it lost, `None` for the baseline.
    pub lost: Option<u64>,
    /// For each run of the block, the namespace calls of that run that the
    /// tracer reported (see `Workload::namespace_calls`).
    pub reported_calls: Vec<Option<u64>>,
}

/// A running tracer.
pub trait Tracer {
    /// Process whose CPU time and memory are sampled, if any.
    fn pid(&self) -> Option<u32>;

    /// Stops the tracer and counts what it reported about `runs`.
    fn stop(self: Box<Self>, runs: &[Run]) -> anyhow::Result<BlockReport>;
}

/// Paths and binaries the tracers need.
pub struct Context<'a> {
    pub nstrace: &'a Path,
    /// Directory for the tracers' output files.
    pub output_dir: &'a Path,
}

/// Starts `kind` and returns once it traces. `label` names its output
/// files.
pub fn start(kind: TracerKind, context: &Context, label: &str) -> anyhow::Result<Box<dyn Tracer>> {
    Ok(match kind {
        TracerKind::None => Box::new(NoTracer),
        TracerKind::Nstrace => Box::new(nstrace::Nstrace::start(context, label)?),
        TracerKind::Bpftrace => Box::new(bpftrace::Bpftrace::start(context, label)?),
        TracerKind::Auditd => Box::new(auditd::Auditd::start(context, label)?),
    })
}

struct NoTracer;

impl Tracer for NoTracer {
    fn pid(&self) -> Option<u32> {
        None
    }

    fn stop(self: Box<Self>, runs: &[Run]) -> anyhow::Result<BlockReport> {
        Ok(BlockReport {
            lost: None,
            reported_calls: vec![None; runs.len()],
        })
    }
}
