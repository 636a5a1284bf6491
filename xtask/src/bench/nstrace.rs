//! nstrace as a tracer of the session: `nstrace --output FILE`.

use std::{
    fs::{self, File},
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context as _};
use serde_json::Value;

use super::{
    child,
    tracer::{BlockReport, Context, Tracer},
    workload::{Run, Workload},
};

/// How long nstrace may take to attach and scan `/proc`.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long nstrace may take to drain and exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// nstrace logs this after the start scan, when it traces.
const READY_LOG: &str = "inventory:";
/// Namespaces that one churn iteration creates (UTS, IPC, net, mount).
const CHURN_NAMESPACES: u64 = 4;

pub struct Nstrace {
    child: Child,
    output: PathBuf,
}

impl Nstrace {
    pub fn start(context: &Context, label: &str) -> anyhow::Result<Self> {
        let output = context.output_dir.join(format!("nstrace-{label}.jsonl"));
        let stderr = context.output_dir.join(format!("nstrace-{label}.log"));
        remove_if_present(&output)?;
        let stderr_file = File::create(&stderr)
            .with_context(|| format!("creating {} failed", stderr.display()))?;
        let mut child = Command::new(context.nstrace)
            .arg("--output")
            .arg(&output)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr_file)
            .spawn()
            .with_context(|| format!("starting {} failed", context.nstrace.display()))?;
        child::wait_until(
            &mut child,
            &stderr,
            START_TIMEOUT,
            Duration::from_millis(50),
            &format!("logging {READY_LOG:?}"),
            || {
                fs::read_to_string(&stderr)
                    .unwrap_or_default()
                    .contains(READY_LOG)
            },
        )
        .context("starting nstrace failed")?;
        Ok(Self { child, output })
    }
}

impl Tracer for Nstrace {
    fn pid(&self) -> Option<u32> {
        Some(self.child.id())
    }

    fn stop(mut self: Box<Self>, runs: &[Run]) -> anyhow::Result<BlockReport> {
        let status = child::stop(&mut self.child, libc::SIGTERM, STOP_TIMEOUT)?;
        if !status.success() {
            bail!("nstrace exited with {status}");
        }
        count(&self.output, runs)
    }
}

impl Drop for Nstrace {
    fn drop(&mut self) {
        child::kill(&mut self.child);
    }
}

/// Reads the records: the stop record's loss counters, and per run the
/// namespace calls reported.
fn count(output: &PathBuf, runs: &[Run]) -> anyhow::Result<BlockReport> {
    let file =
        File::open(output).with_context(|| format!("opening {} failed", output.display()))?;
    let mut created = vec![0_u64; runs.len()];
    let mut entered = vec![0_u64; runs.len()];
    let mut lost = None;
    for line in BufReader::new(file).lines() {
        let line = line.with_context(|| format!("reading {} failed", output.display()))?;
        let record: Value = serde_json::from_str(&line)
            .with_context(|| format!("nstrace wrote a line that is not JSON: {line}"))?;
        let event = record["event"].as_str().unwrap_or_default();
        match event {
            "stop" => lost = Some(sum_values(&record["lost"])),
            "ns_create" | "ns_enter" => {
                let caller = record["process"]["pid"].as_u64();
                let parent = record["process"]["ppid"].as_u64();
                for (index, run) in runs.iter().enumerate() {
                    let run_pid = Some(u64::from(run.pid));
                    match (run.workload, event) {
                        (Workload::Churn, "ns_create") if parent == run_pid => created[index] += 1,
                        (Workload::Setns, "ns_create") if caller == run_pid => created[index] += 1,
                        (Workload::Setns, "ns_enter") if caller == run_pid => entered[index] += 1,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let Some(lost) = lost else {
        bail!("{} has no stop record", output.display());
    };
    let reported_calls = runs
        .iter()
        .enumerate()
        .map(|(index, run)| match run.workload {
            // One ns_create per namespace, four per unshare call.
            Workload::Churn => Some(created[index] / CHURN_NAMESPACES),
            // One ns_create for the UTS namespace unshared at set-up.
            Workload::Setns => Some(entered[index] + created[index]),
            Workload::Mount | Workload::Getppid | Workload::Read => None,
        })
        .collect();
    Ok(BlockReport {
        lost: Some(lost),
        reported_calls,
    })
}

fn sum_values(value: &Value) -> u64 {
    value
        .as_object()
        .map_or(0, |map| map.values().filter_map(Value::as_u64).sum())
}

fn remove_if_present(path: &PathBuf) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error).with_context(|| format!("removing {} failed", path.display())),
    }
}
