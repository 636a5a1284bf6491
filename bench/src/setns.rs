//! setns back and forth between two UTS namespaces held open.

use std::{fs::File, os::fd::AsRawFd, time::Instant};

use anyhow::Context;

use crate::{cpu_time::CpuTimes, os_error, Outcome};

const UTS_PATH: &str = "/proc/thread-self/ns/uts";

/// Opens the current UTS namespace and a new one, then runs `iterations`
/// pairs of setns calls between them. One operation is one setns call.
pub fn run(iterations: u64) -> anyhow::Result<Outcome> {
    let first = File::open(UTS_PATH).with_context(|| format!("opening {UTS_PATH} failed"))?;
    // SAFETY: unshare takes flags only.
    if unsafe { libc::unshare(libc::CLONE_NEWUTS) } != 0 {
        return Err(os_error("unshare(CLONE_NEWUTS)"));
    }
    let second = File::open(UTS_PATH).with_context(|| format!("opening {UTS_PATH} failed"))?;
    let cpu_start = CpuTimes::now()?;
    let start = Instant::now();
    for _ in 0..iterations {
        enter(&first)?;
        enter(&second)?;
    }
    let elapsed = start.elapsed();
    let cpu = cpu_start.elapsed()?;
    enter(&first)?;
    Ok(Outcome {
        operations: 2 * iterations,
        elapsed,
        cpu,
    })
}

fn enter(namespace: &File) -> anyhow::Result<()> {
    // SAFETY: setns takes a file descriptor that `namespace` keeps open.
    if unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWUTS) } != 0 {
        return Err(os_error("setns"));
    }
    Ok(())
}
