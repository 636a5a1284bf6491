//! CPU time of this process and of its reaped children, from `getrusage`.
//!
//! A tracer's in-kernel hooks (BPF programs on tracepoints, audit's syscall
//! exit path) run in the context of the task that triggers them, so the
//! kernel charges their cost to that task's user and system time. Other
//! processes that hold the CPU lengthen a loop's wall-clock time but not its
//! CPU time. On a shared machine, CPU time therefore shows the hooks' cost
//! with far less noise than wall time does.
//!
//! Its limits: work that other processes cause still leaks in through
//! shared caches, SMT siblings of the host and interrupts that arrive while
//! the loop runs (kernels without `CONFIG_IRQ_TIME_ACCOUNTING` charge
//! hardware and soft interrupt time to the interrupted task). Time the task
//! sleeps is not counted, so a tracer that makes the task wait (auditd when
//! its backlog is full) costs wall time that CPU time does not show. Work
//! that a hook causes in other contexts (kernel workers, the tracer's own
//! process) is not counted either, and the bench reports the tracer
//! process's CPU time apart.

use std::time::Duration;

use crate::os_error;

/// User plus system time of this process and of the children it has
/// waited for, read at one instant.
#[derive(Clone, Copy, Debug)]
pub struct CpuTimes {
    own: Duration,
    children: Duration,
}

impl CpuTimes {
    /// Reads `RUSAGE_SELF` and `RUSAGE_CHILDREN`. The kernel adds a child's
    /// time to `RUSAGE_CHILDREN` only when the child is reaped by a wait
    /// call, so a loop that forks must wait for its children inside the
    /// measured interval for their time to count.
    pub fn now() -> anyhow::Result<Self> {
        Ok(Self {
            own: usage(libc::RUSAGE_SELF)?,
            children: usage(libc::RUSAGE_CHILDREN)?,
        })
    }

    /// Returns the CPU time used since `self`, own and children together.
    pub fn elapsed(&self) -> anyhow::Result<Duration> {
        let now = Self::now()?;
        let own = now.own.saturating_sub(self.own);
        let children = now.children.saturating_sub(self.children);
        Ok(own + children)
    }
}

/// Returns user plus system time of `who`.
fn usage(who: libc::c_int) -> anyhow::Result<Duration> {
    // SAFETY: rusage is plain old data, so all zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: usage is a valid rusage to write into.
    if unsafe { libc::getrusage(who, &raw mut usage) } != 0 {
        return Err(os_error("getrusage"));
    }
    Ok(timeval(usage.ru_utime) + timeval(usage.ru_stime))
}

fn timeval(value: libc::timeval) -> Duration {
    let seconds = u64::try_from(value.tv_sec).unwrap_or(0);
    let micros = u32::try_from(value.tv_usec).unwrap_or(0);
    Duration::from_secs(seconds) + Duration::from_micros(u64::from(micros))
}

#[cfg(test)]
mod tests {
    use std::{hint::black_box, time::Instant};

    use super::CpuTimes;

    #[test]
    fn cpu_time_grows_while_spinning() {
        let start = CpuTimes::now().unwrap();
        let wall = Instant::now();
        let mut sum = 0_u64;
        while wall.elapsed().as_millis() < 50 {
            sum = black_box(sum.wrapping_add(1));
        }
        let cpu = start.elapsed().unwrap();
        assert!(
            cpu.as_millis() > 0,
            "CPU time {cpu:?} after 50 ms of spinning"
        );
    }
}
