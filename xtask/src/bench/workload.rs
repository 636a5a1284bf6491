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
    /// Wall-clock time of the workload's loop.
    pub seconds: f64,
    pub ops_per_second: f64,
    /// User plus system time of the loop, including the children the loop
    /// reaped (churn's).
    pub cpu_seconds: f64,
    /// Operations per CPU-second, or `None` when the loop used less CPU
    /// time than `getrusage` resolves and the workload printed `null`.
    pub ops_per_cpu_second: Option<f64>,
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
    let cpu_rate = match value.get("ops_per_cpu_second") {
        Some(Value::Null) => None,
        Some(_) => Some(number("ops_per_cpu_second")?),
        None => bail!("workload output {line:?} has no ops_per_cpu_second"),
    };
    Ok(Run {
        workload,
        pid: u32::try_from(integer("pid")?).context("workload pid out of range")?,
        iterations: integer("iterations")?,
        operations: integer("operations")?,
        seconds: number("seconds")?,
        ops_per_second: number("ops_per_second")?,
        cpu_seconds: number("cpu_seconds")?,
        ops_per_cpu_second: cpu_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::{parse, Workload};

    #[test]
    fn parse_workload_line() {
        let line = r#"{"workload":"setns","pid":77,"iterations":10,"operations":20,"seconds":0.5,"ops_per_second":40.0,"cpu_seconds":0.25,"ops_per_cpu_second":80.0}"#;
        let run = parse(Workload::Setns, line).unwrap();
        assert_eq!(run.pid, 77);
        assert_eq!(run.operations, 20);
        assert!((run.ops_per_second - 40.0).abs() < f64::EPSILON);
        assert!((run.cpu_seconds - 0.25).abs() < f64::EPSILON);
        let cpu_rate = run.ops_per_cpu_second.unwrap();
        assert!((cpu_rate - 80.0).abs() < f64::EPSILON);
    }

    #[test]
    fn parse_rejects_missing_rate() {
        let line = r#"{"workload":"setns","pid":77,"iterations":10,"operations":20,"seconds":0.5,"cpu_seconds":0.25,"ops_per_cpu_second":80.0}"#;
        assert!(parse(Workload::Setns, line).is_err());
    }

    #[test]
    fn parse_rejects_missing_cpu_time() {
        let line = r#"{"workload":"setns","pid":77,"iterations":10,"operations":20,"seconds":0.5,"ops_per_second":40.0,"ops_per_cpu_second":80.0}"#;
        assert!(parse(Workload::Setns, line).is_err());
    }

    #[test]
    fn parse_rejects_missing_cpu_rate() {
        let line = r#"{"workload":"setns","pid":77,"iterations":10,"operations":20,"seconds":0.5,"ops_per_second":40.0,"cpu_seconds":0.25}"#;
        assert!(parse(Workload::Setns, line).is_err());
    }

    #[test]
    fn parse_null_cpu_rate() {
        let line = r#"{"workload":"getppid","pid":77,"iterations":1,"operations":1,"seconds":0.000003,"ops_per_second":333333.3,"cpu_seconds":0.0,"ops_per_cpu_second":null}"#;
        let run = parse(Workload::Getppid, line).unwrap();
        assert!(run.cpu_seconds.abs() < f64::EPSILON);
        assert!(run.ops_per_cpu_second.is_none());
    }
}
