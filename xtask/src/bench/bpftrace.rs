//! bpftrace as a tracer of the session, running `namespaces.bt`.

use std::{
    fs::{self, File},
    path::{Path, PathBuf},
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

/// The script: the same syscall and scheduler hooks as nstrace.
pub const SCRIPT: &str = include_str!("namespaces.bt");
/// Probes that the script attaches, each as one perf event.
const PROBES: usize = 10;
/// bpftrace compiles the script with clang at start, which takes 10-20 s
/// on a busy 2-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(180);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Bpftrace {
    child: Child,
    output: PathBuf,
}

impl Bpftrace {
    pub fn start(context: &Context, label: &str) -> anyhow::Result<Self> {
        let script = context.output_dir.join("namespaces.bt");
        fs::write(&script, SCRIPT)
            .with_context(|| format!("writing {} failed", script.display()))?;
        let output = context.output_dir.join(format!("bpftrace-{label}.jsonl"));
        let stderr = context.output_dir.join(format!("bpftrace-{label}.log"));
        let stderr_file = File::create(&stderr)
            .with_context(|| format!("creating {} failed", stderr.display()))?;
        // -B full: block-buffered output, as nstrace buffers its writes.
        let mut child = Command::new("bpftrace")
            .args(["-B", "full", "-o"])
            .arg(&output)
            .arg(&script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr_file)
            .spawn()
            .context("starting bpftrace failed")?;
        // Attached probes and the per-CPU output buffers are perf event
        // file descriptors; their total shows that attaching is done.
        let expected = PROBES + online_cpus();
        let pid = child.id();
        child::wait_until(
            &mut child,
            &stderr,
            START_TIMEOUT,
            Duration::from_millis(100),
            &format!("attaching {PROBES} probes"),
            || perf_event_fds(pid) >= expected,
        )
        .context("starting bpftrace failed")?;
        Ok(Self { child, output })
    }
}

impl Tracer for Bpftrace {
    fn pid(&self) -> Option<u32> {
        Some(self.child.id())
    }

    fn stop(mut self: Box<Self>, runs: &[Run]) -> anyhow::Result<BlockReport> {
        // SIGINT makes bpftrace detach, print what is left and exit.
        let status = child::stop(&mut self.child, libc::SIGINT, STOP_TIMEOUT)?;
        if !status.success() {
            bail!("bpftrace exited with {status}");
        }
        count(&self.output, runs)
    }
}

impl Drop for Bpftrace {
    fn drop(&mut self) {
        child::kill(&mut self.child);
    }
}

/// Sums bpftrace's "Lost N events" lines and counts, per run, the
/// unshare and setns exits reported.
fn count(output: &Path, runs: &[Run]) -> anyhow::Result<BlockReport> {
    // bpftrace prints `comm` as the kernel has it, which need not be UTF-8.
    let bytes = fs::read(output).with_context(|| format!("reading {} failed", output.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lost = 0;
    let mut calls = vec![0_u64; runs.len()];
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Lost ") {
            lost += rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .with_context(|| format!("unexpected bpftrace line {line:?}"))?;
            continue;
        }
        if !line.starts_with('{') {
            continue;
        }
        let Ok(record) = serde_json::from_str::<Value>(line) else {
            // The last line can be cut if bpftrace was killed.
            continue;
        };
        let probe = record["probe"].as_str().unwrap_or_default();
        let unshare = probe.ends_with("sys_exit_unshare");
        let setns = probe.ends_with("sys_exit_setns");
        if !unshare && !setns {
            continue;
        }
        let caller = record["pid"].as_u64();
        let parent = record["ppid"].as_u64();
        for (index, run) in runs.iter().enumerate() {
            let run_pid = Some(u64::from(run.pid));
            let matched = match run.workload {
                Workload::Churn => unshare && parent == run_pid,
                Workload::Setns => caller == run_pid,
                Workload::Mount | Workload::Getppid | Workload::Read => false,
            };
            if matched {
                calls[index] += 1;
            }
        }
    }
    let reported_calls = runs
        .iter()
        .zip(calls)
        .map(|(run, calls)| run.workload.namespace_calls(run.iterations).map(|_| calls))
        .collect();
    Ok(BlockReport {
        lost: Some(lost),
        reported_calls,
    })
}

fn perf_event_fds(pid: u32) -> usize {
    let Ok(entries) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| fs::read_link(entry.path()).ok())
        .filter(|target| target.as_os_str() == "anon_inode:[perf_event]")
        .count()
}

fn online_cpus() -> usize {
    // SAFETY: sysconf has no memory arguments.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(cpus).unwrap_or(1)
}
