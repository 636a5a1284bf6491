//! CPU time and memory of a process, from `/proc/PID/stat` and
//! `/proc/PID/status`.

use std::{fs, time::Duration};

/// CPU time (user + system) and memory of a process at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    pub cpu: Duration,
    /// `VmRSS` in KiB.
    pub rss_kib: u64,
    /// `VmHWM`, the peak resident set size, in KiB.
    pub peak_rss_kib: u64,
}

/// Reads the usage of process `pid`, or `None` when it has exited.
pub fn usage(pid: u32) -> Option<Usage> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(Usage {
        cpu: cpu_time(&stat)?,
        rss_kib: status_kib(&status, "VmRSS:")?,
        peak_rss_kib: status_kib(&status, "VmHWM:")?,
    })
}

/// utime + stime from the text of `/proc/PID/stat`. The fields are counted
/// after the command name, which ends at the last `)` and may contain
/// spaces.
fn cpu_time(stat: &str) -> Option<Duration> {
    let (_, after_comm) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // Fields 14 and 15 of proc(5); the state (field 3) is fields[0] here.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no memory arguments.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks_per_second = u64::try_from(ticks_per_second).ok().filter(|&t| t > 0)?;
    Some(Duration::from_nanos(
        (utime + stime) * 1_000_000_000 / ticks_per_second,
    ))
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{cpu_time, status_kib};

    #[test]
    fn cpu_time_after_comm_with_spaces() {
        let stat = "42 (a b) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 9 1000 10";
        let ticks: u64 = 300;
        // SAFETY: sysconf has no memory arguments.
        let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap();
        assert_eq!(
            cpu_time(stat).unwrap().as_nanos(),
            u128::from(ticks * 1_000_000_000 / per_second)
        );
    }

    #[test]
    fn status_value_in_kib() {
        let status = "Name:\tnstrace\nVmHWM:\t   12345 kB\nVmRSS:\t    9000 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(12_345));
        assert_eq!(status_kib(status, "VmRSS:"), Some(9_000));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn own_usage_readable() {
        let usage = super::usage(std::process::id()).expect("own /proc entries");
        assert!(usage.rss_kib > 0);
        assert!(usage.peak_rss_kib >= usage.rss_kib);
    }
}
