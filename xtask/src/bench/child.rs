//! Stopping a tracer process that the bench started, by its pid.

use std::{
    fs,
    path::Path,
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

/// Polls `ready` every `poll` until it returns true. Fails with the
/// process's log when the process exits first, or when `timeout` passes,
/// after killing it. `waiting_for` names what `ready` checks, for the error.
pub fn wait_until(
    child: &mut Child,
    log: &Path,
    timeout: Duration,
    poll: Duration,
    waiting_for: &str,
    mut ready: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if ready() {
            return Ok(());
        }
        let pid = child.id();
        if let Some(status) = child
            .try_wait()
            .context("polling a tracer process failed")?
        {
            let log = fs::read_to_string(log).unwrap_or_default();
            bail!("process {pid} exited with {status} before {waiting_for}:\n{log}");
        }
        if Instant::now() >= deadline {
            kill(child);
            let log = fs::read_to_string(log).unwrap_or_default();
            bail!(
                "process {pid} did not reach {waiting_for} within {} s; killed it:\n{log}",
                timeout.as_secs()
            );
        }
        thread::sleep(poll);
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
