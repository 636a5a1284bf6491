//! Stopping a tracer process that the bench started, by its pid.

use std::{
    process::{Child, ExitStatus},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};

const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Sends `signal` to `child` and waits up to `timeout` for it to exit. On
/// timeout it sends SIGKILL, reaps the child and fails.
pub fn stop(
    child: &mut Child,
    signal: libc::c_int,
    timeout: Duration,
) -> anyhow::Result<ExitStatus> {
    if let Some(status) = child
        .try_wait()
        .context("polling a tracer process failed")?
    {
        return Ok(status);
    }
    send(child, signal)?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child
            .try_wait()
            .context("polling a tracer process failed")?
        {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            kill(child);
            bail!(
                "process {} did not exit within {} s of signal {signal}; killed it",
                child.id(),
                timeout.as_secs()
            );
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// Kills `child` with SIGKILL, if it still runs, and reaps it.
pub fn kill(child: &mut Child) {
    if matches!(child.try_wait(), Ok(None)) {
        if let Err(error) = child.kill() {
            eprintln!("xtask: killing process {} failed: {error}", child.id());
        }
        let _ = child.wait();
    }
}

fn send(child: &Child, signal: libc::c_int) -> anyhow::Result<()> {
    let pid = libc::pid_t::try_from(child.id()).context("pid out of range")?;
    // SAFETY: kill takes two integers; the pid is our own child, not yet
    // reaped, so it cannot name another process.
    if unsafe { libc::kill(pid, signal) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("sending signal {signal} to process {pid} failed"));
    }
    Ok(())
}
