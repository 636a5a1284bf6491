//! auditd as a tracer of the session, and the guard that puts the audit
//! subsystem back as it was.
//!
//! The bench starts its own `auditd -n` with a configuration directory in
//! the output directory (log file there, no plugins), raises the kernel's
//! backlog limit to 8192 as Debian's default rules do, adds one rule on
//! the traced syscalls, and on stop or failure deletes that rule, stops
//! that daemon and restores the enabled flag and the backlog limit.

use std::{
    fs::{self, File},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _};

use super::{
    audit_status::{self, AuditStatus},
    child,
    tracer::{BlockReport, Context, Tracer},
    workload::{Run, Workload},
};

/// Key of the bench's rule, which `auditctl -D -k` deletes.
const RULE_KEY: &str = "nstrace-bench";
/// The syscalls that nstrace and the bpftrace script hook. `exit_group`
/// stands for the scheduler's exit hook; fork and vfork for its fork hook
/// where glibc does not use clone.
const RULE_SYSCALLS: &str = "clone,clone3,fork,vfork,unshare,setns,exit_group";
/// Backlog limit of Debian's default audit rules.
const BACKLOG_LIMIT: &str = "8192";
const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// `x86_64` syscall numbers, as the log's `syscall=` field shows them.
const SYSCALL_UNSHARE: &str = "272";
const SYSCALL_SETNS: &str = "308";

pub struct Auditd {
    child: Option<Child>,
    log: PathBuf,
    saved: AuditStatus,
    lost_at_start: u64,
}

impl Auditd {
    pub fn start(context: &Context, label: &str) -> anyhow::Result<Self> {
        let saved = audit_status::read()?;
        if saved.pid != 0 {
            bail!(
                "an audit daemon (pid {}) is already running; the bench starts its own, so stop that one or leave auditd out with --tracers",
                saved.pid
            );
        }
        let config_dir = context.output_dir.join(format!("auditd-{label}"));
        let log = config_dir.join("audit.log");
        write_config(&config_dir, &log)?;
        let stderr = context.output_dir.join(format!("auditd-{label}.log"));
        let stderr_file = File::create(&stderr)
            .with_context(|| format!("creating {} failed", stderr.display()))?;
        let child = Command::new("auditd")
            .arg("-n")
            .arg("-c")
            .arg(&config_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr_file)
            .spawn()
            .context("starting auditd failed")?;
        // From here on, Drop restores the audit state.
        let mut auditd = Self {
            child: Some(child),
            log,
            saved,
            lost_at_start: 0,
        };
        auditd.wait_registered(&stderr)?;
        auditctl(&["-b", BACKLOG_LIMIT])?;
        auditctl(&[
            "-a",
            "always,exit",
            "-F",
            "arch=b64",
            "-S",
            RULE_SYSCALLS,
            "-k",
            RULE_KEY,
        ])?;
        auditd.lost_at_start = audit_status::read()?.lost;
        Ok(auditd)
    }

    /// Waits until the kernel names the daemon as its audit pid.
    fn wait_registered(&mut self, stderr: &Path) -> anyhow::Result<()> {
        let child = self.child.as_mut().expect("auditd was just started");
        let pid = child.id();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if audit_status::read()?.pid == pid {
                return Ok(());
            }
            if let Some(status) = child.try_wait().context("polling auditd failed")? {
                let log = fs::read_to_string(stderr).unwrap_or_default();
                bail!("auditd exited with {status} before registering with the kernel:\n{log}");
            }
            if Instant::now() >= deadline {
                let log = fs::read_to_string(stderr).unwrap_or_default();
                bail!(
                    "auditd did not register with the kernel within {} s:\n{log}",
                    START_TIMEOUT.as_secs()
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Deletes the bench's rule, stops the daemon and restores the enabled
    /// flag and backlog limit. Each step runs even when an earlier one
    /// fails; the first error is returned.
    fn restore(&mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        let mut note = |result: anyhow::Result<()>| {
            if let Err(error) = result {
                eprintln!("xtask: restoring the audit state: {error:#}");
                first_error.get_or_insert(error);
            }
        };
        note(auditctl(&["-D", "-k", RULE_KEY]));
        if let Some(mut daemon) = self.child.take() {
            note(child::stop(&mut daemon, libc::SIGTERM, STOP_TIMEOUT).map(|_| ()));
        }
        note(auditctl(&["-e", &self.saved.enabled.to_string()]));
        note(auditctl(&["-b", &self.saved.backlog_limit.to_string()]));
        first_error.map_or(Ok(()), Err)
    }
}

impl Tracer for Auditd {
    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn stop(mut self: Box<Self>, runs: &[Run]) -> anyhow::Result<BlockReport> {
        let lost = audit_status::read()?
            .lost
            .saturating_sub(self.lost_at_start);
        self.restore()?;
        let reported_calls = count(&self.log, runs)?;
        Ok(BlockReport {
            lost: Some(lost),
            reported_calls,
        })
    }
}

impl Drop for Auditd {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.restore();
        }
    }
}

/// Checks that auditd can run here by starting it and restoring the
/// state at once. Returns why it cannot.
pub fn check(context: &Context) -> anyhow::Result<()> {
    let auditd = Auditd::start(context, "check")?;
    Box::new(auditd).stop(&[]).map(|_| ())
}

/// The daemon's configuration: Debian's defaults, with the log in
/// `config_dir`, no rotation (so that one file holds the block) and no
/// plugins.
fn write_config(config_dir: &Path, log: &Path) -> anyhow::Result<()> {
    let plugins = config_dir.join("plugins.d");
    fs::create_dir_all(&plugins)
        .with_context(|| format!("creating {} failed", plugins.display()))?;
    if log.exists() {
        fs::remove_file(log).with_context(|| format!("removing {} failed", log.display()))?;
    }
    let config = format!(
        "local_events = yes
write_logs = yes
log_file = {log}
log_format = ENRICHED
flush = INCREMENTAL_ASYNC
freq = 50
max_log_file = 0
max_log_file_action = ignore
space_left = 75
space_left_action = syslog
admin_space_left = 50
admin_space_left_action = suspend
disk_full_action = suspend
disk_error_action = suspend
priority_boost = 4
name_format = none
q_depth = 2000
overflow_action = syslog
plugin_dir = {plugins}
end_of_event_timeout = 2
",
        log = log.display(),
        plugins = plugins.display()
    );
    let path = config_dir.join("auditd.conf");
    fs::write(&path, config).with_context(|| format!("writing {} failed", path.display()))?;
    // auditd rejects a configuration file that others can write.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640))
        .with_context(|| format!("setting the mode of {} failed", path.display()))
}

/// Counts, per run, the unshare and setns SYSCALL records in the log.
fn count(log: &Path, runs: &[Run]) -> anyhow::Result<Vec<Option<u64>>> {
    let mut calls = vec![0_u64; runs.len()];
    if !runs.is_empty() {
        // auditd writes untrusted strings hex-encoded, but read lossily all
        // the same so that one odd byte cannot fail the count.
        let bytes = fs::read(log).with_context(|| format!("reading {} failed", log.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines() {
            if !line.starts_with("type=SYSCALL ") {
                continue;
            }
            let field = |name: &str| {
                line.split_whitespace()
                    .find_map(|word| word.strip_prefix(name))
                    .map(str::to_string)
            };
            let syscall = field("syscall=");
            let unshare = syscall.as_deref() == Some(SYSCALL_UNSHARE);
            let setns = syscall.as_deref() == Some(SYSCALL_SETNS);
            if !unshare && !setns {
                continue;
            }
            let caller = field("pid=");
            let parent = field("ppid=");
            for (index, run) in runs.iter().enumerate() {
                let run_pid = Some(run.pid.to_string());
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
    }
    Ok(runs
        .iter()
        .zip(calls)
        .map(|(run, calls)| run.workload.namespace_calls(run.iterations).map(|_| calls))
        .collect())
}

fn auditctl(args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("auditctl")
        .args(args)
        .output()
        .context("starting auditctl failed")?;
    if !output.status.success() {
        bail!(
            "auditctl {} failed with {}: {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
