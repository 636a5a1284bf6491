//! `cargo xtask bench`: the cost of nstrace beside bpftrace and auditd.
//!
//! Runs the workloads of the `nstrace-bench` crate with no tracer, under
//! nstrace, under bpftrace running an equivalent script and under auditd
//! with rules on the same syscalls, interleaved over several rounds. Then
//! it measures nstrace's memory over a long namespace churn.

mod audit_status;
mod auditd;
mod bpftrace;
mod child;
mod nstrace;
mod proc_stat;
mod report;
mod rss_churn;
mod session;
mod stats;
mod tracer;
mod workload;

use std::{env, fmt::Write as _, fs, path::PathBuf, process::Command};

use anyhow::{bail, Context as _};
use clap::Args;

use self::{
    session::Plan,
    tracer::{Context, TracerKind},
    workload::Workload,
};
use crate::{build, command, packages, toolchain};

/// Debian packages of the peer tracers.
const PEER_PACKAGES: [&str; 2] = ["bpftrace", "auditd"];

#[derive(Args)]
pub struct Options {
    /// Rounds of the interleaved session.
    #[arg(long, default_value_t = 7)]
    rounds: usize,
    /// Factor applied to every workload's iteration count.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Tracer configurations, in the order each round runs them.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "none,nstrace,bpftrace,auditd"
    )]
    tracers: Vec<TracerKind>,
    /// Namespaces to create and destroy while sampling nstrace's memory;
    /// 0 skips that part.
    #[arg(long, default_value_t = 1_000_000)]
    rss_namespaces: u64,
    /// Directory for the tracers' output files and the results.
    #[arg(long, default_value = "target/bench")]
    output: PathBuf,
}

pub fn bench(options: &Options) -> anyhow::Result<()> {
    if !command::is_root() {
        bail!("the bench loads eBPF programs, changes the audit rules and creates namespaces, so it must run as root");
    }
    if options.rounds == 0 || options.scale <= 0.0 {
        bail!("--rounds and --scale must be positive");
    }
    let tools = toolchain::setup()?;
    let outputs = build::build(&tools)?;
    let workload_binary = build_workloads()?;
    packages::ensure(&PEER_PACKAGES, "the bench's peer tracers")?;

    let root = build::workspace_root();
    let output_dir = root.join(&options.output);
    fs::create_dir_all(&output_dir)
        .with_context(|| format!("creating {} failed", output_dir.display()))?;
    let context = Context {
        nstrace: &outputs.nstrace,
        output_dir: &output_dir,
    };

    let rules_before = audit_status::rules()?;
    let status_before = audit_status::read()?;
    eprintln!(
        "xtask: audit state before: enabled {}, backlog_limit {}, daemon pid {}, rules: {}",
        status_before.enabled,
        status_before.backlog_limit,
        status_before.pid,
        rules_before.trim()
    );
    let mut tracers = options.tracers.clone();
    let mut auditd_failure = None;
    if tracers.contains(&TracerKind::Auditd) {
        if let Err(error) = auditd::check(&context) {
            eprintln!("xtask: auditd cannot run here, measuring without it: {error:#}");
            auditd_failure = Some(format!("{error:#}"));
            tracers.retain(|&t| t != TracerKind::Auditd);
        }
    }

    print_machine();
    let plan = Plan {
        rounds: options.rounds,
        scale: options.scale,
        tracers: &tracers,
        workloads: &Workload::ALL,
    };
    let session = session::run(&plan, &context, &workload_binary);
    check_audit_restored(&rules_before, &status_before)?;
    let results = session?;
    report::write_csv(&results, &output_dir.join("runs.csv"))?;
    println!("\n{}", report::tables(&results, &tracers, &Workload::ALL));
    if let Some(reason) = auditd_failure {
        println!("auditd could not run on this machine: {reason}");
    }

    if options.rss_namespaces > 0 {
        let rss = rss_churn::run(&context, &workload_binary, options.rss_namespaces)?;
        println!("\n{}", rss_table(&rss));
    }
    println!("Raw runs and tracer outputs: {}", output_dir.display());
    Ok(())
}

/// Builds the workload binary in release mode and returns its path.
fn build_workloads() -> anyhow::Result<PathBuf> {
    let root = build::workspace_root();
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    command::run(Command::new(cargo).current_dir(&root).args([
        "build",
        "--release",
        "--package",
        "nstrace-bench",
    ]))
    .context("building the workloads failed")?;
    Ok(root.join("target/release/nstrace-bench"))
}

/// Fails when the rules or the enabled flag, backlog limit or daemon pid
/// differ from what they were before the session.
fn check_audit_restored(
    rules_before: &str,
    status_before: &audit_status::AuditStatus,
) -> anyhow::Result<()> {
    let rules_after = audit_status::rules()?;
    let status_after = audit_status::read()?;
    let unchanged = |a: &audit_status::AuditStatus, b: &audit_status::AuditStatus| {
        a.enabled == b.enabled && a.backlog_limit == b.backlog_limit && a.pid == b.pid
    };
    if rules_after != rules_before || !unchanged(&status_after, status_before) {
        bail!(
            "the audit state was not restored: before {status_before:?} with rules {rules_before:?}, after {status_after:?} with rules {rules_after:?}"
        );
    }
    eprintln!("xtask: audit rules and status restored");
    Ok(())
}

fn print_machine() {
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    // SAFETY: sysconf has no memory arguments.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    println!(
        "Machine: {cpus} CPUs, kernel {}, load average {}",
        kernel.trim(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}

#[allow(clippy::cast_precision_loss)]
fn rss_table(rss: &rss_churn::RssReport) -> String {
    let mut text = String::from(
        "| namespaces created and destroyed | seconds | nstrace VmRSS, KiB |\n|---:|---:|---:|\n",
    );
    for sample in &rss.samples {
        let _ = writeln!(
            text,
            "| {} | {:.0} | {} |",
            sample.namespaces, sample.seconds, sample.rss_kib
        );
    }
    let _ = writeln!(
        text,
        "\nns_create records {}, ns_destroy records {}, lost {}, peak RSS {} KiB, nstrace CPU {:.1} s over {:.0} s",
        rss.created,
        rss.destroyed,
        rss.lost.map_or_else(|| "unknown (no stop record)".to_string(), |l| l.to_string()),
        rss.peak_rss_kib,
        rss.cpu_seconds,
        rss.seconds
    );
    text
}
