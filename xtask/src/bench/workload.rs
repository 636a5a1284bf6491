//! The workloads of the session and how one run of each is started and
//! read back.

use std::{
    path::Path,
    process::{Command, Stdio},
};

use anyhow::{bail, Context};
use serde_json::Value;

/// A workload of the `nstrace-bench` binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// fork + unshare(UTS | IPC | NET | MNT) + exit.
    Churn,
    /// setns between two UTS namespaces.
    Setns,
    /// Bind mount + unmount in a private mount namespace.
    Mount,
    /// getppid, which no tracer hooks.
    Getppid,
    /// pread of 4 KiB, which no tracer hooks.
    Read,
}

impl Workload {
    pub const ALL: [Workload; 5] = [
        Workload::Churn,
        Workload::Setns,
        Workload::Mount,
        Workload::Getppid,
        Workload::Read,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Churn => "churn",
            Workload::Setns => "setns",
            Workload::Mount => "mount",
            Workload::Getppid => "getppid",
            Workload::Read => "read",
        }
    }

    /// Iterations of one run at scale 1, sized for about one second without
    /// a tracer on a 2-core virtual machine.
    fn base_iterations(self) -> u64 {
        match self {
            Workload::Churn => 300,
            Workload::Setns => 150_000,
            Workload::Mount => 15_000,
            Workload::Getppid => 2_000_000,
            Workload::Read => 600_000,
        }
    }

    /// Iterations at `scale`, at least 1.
    pub fn iterations(self, scale: f64) -> u64 {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let iterations = (self.base_iterations() as f64 * scale).round() as u64;
        iterations.max(1)
    }

    /// Returns the namespace syscalls (unshare or setns) of one run, which a
    /// tracer should report. Churn unshares once per iteration. Setns
    /// unshares once, then calls setns twice per iteration and once more
    /// to return. The other workloads are not counted per run.
    pub fn namespace_calls(self, iterations: u64) -> Option<u64> {
        match self {
            Workload::Churn => Some(iterations),
            Workload::Setns => Some(2 * iterations + 2),
            Workload::Mount | Workload::Getppid | Workload::Read => None,
        }
    }
}

/// One finished run of a workload.
#[derive(Clone, Debug)]
pub struct Run {
    pub workload: Workload,
    pub pid: u32,
    pub iterations: u64,
    pub operations: u64,
    pub seconds: f64,
    pub ops_per_second: f64,
}

/// Runs `workload` with `iterations` and parses the line it prints.
pub fn run(binary: &Path, workload: Workload, iterations: u64) -> anyhow::Result<Run> {
    let output = Command::new(binary)
        .arg(workload.name())
        .arg(iterations.to_string())
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting {} failed", binary.display()))?;
    if !output.status.success() {
        bail!(
            "workload {} failed with {}: {}",
            workload.name(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    parse(workload, text.trim())
}

fn parse(workload: Workload, line: &str) -> anyhow::Result<Run> {
    let value: Value = serde_json::from_str(line)
        .with_context(|| format!("workload output {line:?} is not JSON"))?;
    let number = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_f64)
            .with_context(|| format!("workload output {line:?} has no number {key}"))
    };
    let integer = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_u64)
            .with_context(|| format!("workload output {line:?} has no integer {key}"))
    };
    Ok(Run {
        workload,
        pid: u32::try_from(integer("pid")?).context("workload pid out of range")?,
        iterations: integer("iterations")?,
        operations: integer("operations")?,
        seconds: number("seconds")?,
        ops_per_second: number("ops_per_second")?,
    })
}

#[cfg(test)]
mod tests {
    use super::{parse, Workload};

    #[test]
    fn parse_workload_line() {
        let line = r#"{"workload":"setns","pid":77,"iterations":10,"operations":20,"seconds":0.5,"ops_per_second":40.0}"#;
        let run = parse(Workload::Setns, line).unwrap();
        assert_eq!(run.pid, 77);
        assert_eq!(run.operations, 20);
        assert!((run.ops_per_second - 40.0).abs() < f64::EPSILON);
    }

    #[test]
    fn parse_rejects_missing_rate() {
        let line = r#"{"workload":"setns","pid":77,"iterations":10,"operations":20,"seconds":0.5}"#;
        assert!(parse(Workload::Setns, line).is_err());
    }
}
