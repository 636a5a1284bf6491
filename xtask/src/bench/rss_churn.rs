//! nstrace's memory over a long namespace churn: its resident set size
//! after each quarter of N namespaces created and destroyed.
//!
//! nstrace writes to a pipe that this process reads and counts, so that
//! the records of a million namespaces need no disk space.

use std::{
    fs::{self, File},
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};

use super::{child, proc_stat, tracer::Context};

/// Parts of the churn, with a sample after each.
const STEPS: u64 = 4;
/// How long the count of destroyed namespaces may stay unchanged before the
/// sample is taken anyway. It stops short of the namespaces made when the
/// kernel lost records of their creation.
const CATCH_UP_IDLE: Duration = Duration::from_secs(10);
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(120);

/// Resident set size after some namespaces were created and destroyed.
pub struct Sample {
    pub namespaces: u64,
    pub rss_kib: u64,
    pub seconds: f64,
}

pub struct RssReport {
    pub samples: Vec<Sample>,
    pub created: u64,
    pub destroyed: u64,
    pub lost: Option<u64>,
    pub peak_rss_kib: u64,
    pub cpu_seconds: f64,
    pub seconds: f64,
}

/// Counts of the records read from nstrace's standard output.
#[derive(Default)]
struct Counts {
    created: AtomicU64,
    destroyed: AtomicU64,
    stop: Mutex<Option<String>>,
}

/// Runs the churn of `namespaces` UTS namespaces under nstrace.
pub fn run(context: &Context, workload: &Path, namespaces: u64) -> anyhow::Result<RssReport> {
    let stderr = context.output_dir.join("nstrace-rss.log");
    let stderr_file =
        File::create(&stderr).with_context(|| format!("creating {} failed", stderr.display()))?;
    let mut tracer = Command::new(context.nstrace)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr_file)
        .spawn()
        .with_context(|| format!("starting {} failed", context.nstrace.display()))?;
    let result = churn(&mut tracer, &stderr, workload, namespaces);
    child::kill(&mut tracer);
    result
}

fn churn(
    tracer: &mut Child,
    stderr: &Path,
    workload: &Path,
    namespaces: u64,
) -> anyhow::Result<RssReport> {
    let counts = Arc::new(Counts::default());
    let stdout = tracer.stdout.take().context("nstrace has no stdout pipe")?;
    let reader = {
        let counts = Arc::clone(&counts);
        thread::spawn(move || read_records(stdout, &counts))
    };
    wait_ready(tracer, stderr)?;
    let pid = tracer.id();
    let started = Instant::now();
    let usage =
        |what: &str| proc_stat::usage(pid).with_context(|| format!("nstrace exited {what}"));
    let mut samples = vec![Sample {
        namespaces: 0,
        rss_kib: usage("before the churn")?.rss_kib,
        seconds: 0.0,
    }];
    let created_at_start = counts.created.load(Ordering::Relaxed);
    let destroyed_at_start = counts.destroyed.load(Ordering::Relaxed);
    let step = namespaces / STEPS;
    for index in 1..=STEPS {
        run_churn(workload, step)?;
        let done = index * step;
        wait_caught_up(&counts.destroyed, destroyed_at_start + done);
        let sample = Sample {
            namespaces: done,
            rss_kib: usage("during the churn")?.rss_kib,
            seconds: started.elapsed().as_secs_f64(),
        };
        eprintln!(
            "xtask: rss: {} namespaces after {:.0} s, nstrace VmRSS {} KiB",
            sample.namespaces, sample.seconds, sample.rss_kib
        );
        samples.push(sample);
    }
    let seconds = started.elapsed().as_secs_f64();
    let end = usage("after the churn")?;
    let status = child::stop(tracer, libc::SIGTERM, STOP_TIMEOUT)?;
    if !status.success() {
        bail!("nstrace exited with {status}");
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the record reader panicked"))??;
    let stop_line = counts.stop.lock().expect("reader ended").clone();
    let lost = stop_line.as_deref().and_then(lost_in_stop);
    Ok(RssReport {
        samples,
        created: counts.created.load(Ordering::Relaxed) - created_at_start,
        destroyed: counts.destroyed.load(Ordering::Relaxed) - destroyed_at_start,
        lost,
        peak_rss_kib: end.peak_rss_kib,
        cpu_seconds: end.cpu.as_secs_f64(),
        seconds,
    })
}

/// Waits until `destroyed` reaches `target`, or stays unchanged for
/// `CATCH_UP_IDLE`. Other processes on the host may also make namespaces,
/// so the count can run ahead of the churn.
fn wait_caught_up(destroyed: &AtomicU64, target: u64) {
    let mut last = destroyed.load(Ordering::Relaxed);
    let mut last_change = Instant::now();
    loop {
        let now = destroyed.load(Ordering::Relaxed);
        if now >= target {
            return;
        }
        if now != last {
            last = now;
            last_change = Instant::now();
        } else if last_change.elapsed() >= CATCH_UP_IDLE {
            eprintln!(
                "xtask: rss: nstrace reported {} fewer namespaces destroyed than the churn made; sampling anyway",
                target - now
            );
            return;
        }
        thread::sleep(Duration::from_millis(200));
    }
}

fn run_churn(workload: &Path, iterations: u64) -> anyhow::Result<()> {
    let output = Command::new(workload)
        .args(["churn", &iterations.to_string(), "uts"])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting {} failed", workload.display()))?;
    if !output.status.success() {
        bail!(
            "churn failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

fn wait_ready(tracer: &mut Child, stderr: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let log = fs::read_to_string(stderr).unwrap_or_default();
        if log.contains("inventory:") {
            return Ok(());
        }
        if let Some(status) = tracer.try_wait().context("polling nstrace failed")? {
            bail!("nstrace exited with {status} before tracing:\n{log}");
        }
        if Instant::now() >= deadline {
            bail!(
                "nstrace did not start within {} s:\n{log}",
                START_TIMEOUT.as_secs()
            );
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn read_records(stdout: std::process::ChildStdout, counts: &Counts) -> anyhow::Result<()> {
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading nstrace's output failed")?;
        if line.contains("\"event\":\"ns_create\"") {
            counts.created.fetch_add(1, Ordering::Relaxed);
        } else if line.contains("\"event\":\"ns_destroy\"") {
            counts.destroyed.fetch_add(1, Ordering::Relaxed);
        } else if line.contains("\"event\":\"stop\"") {
            *counts.stop.lock().expect("no other writer panics") = Some(line);
        }
    }
    Ok(())
}

fn lost_in_stop(line: &str) -> Option<u64> {
    let record: serde_json::Value = serde_json::from_str(line).ok()?;
    Some(
        record["lost"]
            .as_object()?
            .values()
            .filter_map(serde_json::Value::as_u64)
            .sum(),
    )
}
