//! Reading a process's identity from `/proc/PID`.

use std::fs;

/// Fields of `/proc/PID/stat`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcStat {
    /// Command name, field 2 without its parentheses.
    pub comm: String,
    /// Parent process id, field 4.
    pub ppid: u32,
    /// Start time in clock ticks after boot, field 22.
    pub start_ticks: u64,
}

/// Reads `/proc/PID/stat`; `None` when the process is gone.
pub fn read_stat(pid: u32) -> Option<ProcStat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Reads the `/proc/PID/exe` link; `None` for kernel threads, processes
/// that are gone, and links that cannot be read.
pub fn read_exe(pid: u32) -> Option<String> {
    fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|path| path.to_string_lossy().into_owned())
}

/// Parses the text of `/proc/PID/stat`. The command name may contain
/// spaces and parentheses, so the fields after it are found from the last
/// `)`.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    // Fields from 3 (state) on.
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    Some(ProcStat {
        comm,
        ppid: fields.get(1)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

/// Clock ticks per second, the unit of [`ProcStat::start_ticks`].
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no side effects.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_comm_parsed() {
        let text = "4242 (runc:[1:CHILD) x) S 4240 4242 4200 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1234 56 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        let stat = parse_stat(text).unwrap();
        assert_eq!(stat.comm, "runc:[1:CHILD) x");
        assert_eq!(stat.ppid, 4240);
        assert_eq!(stat.start_ticks, 987_654);
    }

    #[test]
    fn own_stat_read() {
        let stat = read_stat(std::process::id()).unwrap();
        assert_eq!(stat.ppid, std::os::unix::process::parent_id());
        assert!(stat.start_ticks > 0);
    }

    #[test]
    fn truncated_stat_rejected() {
        assert_eq!(parse_stat("12 (sh) S 1"), None);
    }
}
