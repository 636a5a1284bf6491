//! Namespace churn: fork, unshare in the child, exit, wait.

use std::time::Instant;

use anyhow::{bail, Context};

use crate::{cpu_time::CpuTimes, os_error, Outcome};

pub const DEFAULT_FLAGS: &str = "uts,ipc,net,mnt";

/// Namespace flags by their names on the command line.
const FLAGS: [(&str, libc::c_int); 6] = [
    ("uts", libc::CLONE_NEWUTS),
    ("ipc", libc::CLONE_NEWIPC),
    ("net", libc::CLONE_NEWNET),
    ("mnt", libc::CLONE_NEWNS),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("time", libc::CLONE_NEWTIME),
];

/// Runs `iterations` fork + unshare(`flags`) + exit cycles. One operation is
/// one unshare call.
///
/// The children make the namespaces, so the CPU time includes theirs. Each
/// cycle waits for its child, which adds the child's time to this
/// process's `RUSAGE_CHILDREN` before the loop ends.
pub fn run(iterations: u64, flags: &str) -> anyhow::Result<Outcome> {
    let flags = parse_flags(flags)?;
    let cpu = CpuTimes::now()?;
    let start = Instant::now();
    for iteration in 0..iterations {
        cycle(flags).with_context(|| format!("iteration {iteration}"))?;
    }
    let elapsed = start.elapsed();
    Ok(Outcome {
        operations: iterations,
        elapsed,
        cpu: cpu.elapsed()?,
    })
}

fn cycle(flags: libc::c_int) -> anyhow::Result<()> {
    // SAFETY: the child calls only unshare and _exit, which are
    // async-signal-safe, before it ends.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(os_error("fork"));
    }
    if pid == 0 {
        // SAFETY: unshare takes flags only; _exit never returns.
        unsafe {
            let status = libc::unshare(flags);
            libc::_exit(i32::from(status != 0));
        }
    }
    let mut status = 0;
    // SAFETY: status is a valid int to write the wait status into.
    if unsafe { libc::waitpid(pid, &raw mut status, 0) } != pid {
        return Err(os_error("waitpid"));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("child {pid} failed to unshare (wait status {status:#x})");
    }
    Ok(())
}

fn parse_flags(names: &str) -> anyhow::Result<libc::c_int> {
    names.split(',').try_fold(0, |flags, name| {
        FLAGS
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, flag)| flags | flag)
            .with_context(|| {
                format!("unknown namespace {name:?}; expected uts, ipc, net, mnt, cgroup or time")
            })
    })
}
