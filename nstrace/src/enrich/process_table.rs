//! A per-pid cache of process details read from `/proc`.

use std::collections::HashMap;

use super::{cgroup::CgroupReader, entity::entity_id, procfs};
use crate::output::enrichment::{Ancestor, CgroupInfo, ContainerInfo};

/// Entries kept before the cache is emptied. Exit records remove entries,
/// so this bounds only the leftovers of lost exit records.
const MAX_ENTRIES: usize = 32_768;

/// Details of one process, read from `/proc/PID`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessEntry {
    pub pid: u32,
    pub comm: String,
    pub ppid: u32,
    pub exe: Option<String>,
    pub entity_id: String,
    /// Start time in `CLOCK_BOOTTIME` nanoseconds.
    pub start_boot_ns: u64,
    pub cgroup: Option<CgroupInfo>,
    pub container: Option<ContainerInfo>,
}

/// Processes by pid, read from `/proc` on first use.
///
/// NOTE: an entry stays until the process's exit or exec record arrives,
/// so a lost exit record followed by pid reuse leaves a stale entry until
/// the cache is emptied at [`MAX_ENTRIES`].
#[derive(Debug)]
pub struct ProcessTable {
    entries: HashMap<u32, ProcessEntry>,
    boot_id: String,
    ticks_per_second: u64,
    cgroups: CgroupReader,
}

impl ProcessTable {
    pub fn new(boot_id: String) -> Self {
        Self {
            entries: HashMap::new(),
            boot_id,
            ticks_per_second: procfs::ticks_per_second(),
            cgroups: CgroupReader::new(),
        }
    }

    /// Returns the entry of `pid`, reading `/proc/PID` when it is not
    /// cached; `None` when the process is gone.
    pub fn get(&mut self, pid: u32) -> Option<&ProcessEntry> {
        if pid == 0 {
            return None;
        }
        if !self.entries.contains_key(&pid) {
            let entry = self.read(pid)?;
            if self.entries.len() >= MAX_ENTRIES {
                log::debug!("process cache: {MAX_ENTRIES} entries reached, emptying it");
                self.entries.clear();
            }
            self.entries.insert(pid, entry);
        }
        self.entries.get(&pid)
    }

    /// Drops the entry of `pid`, after it exited or executed a new program.
    pub fn forget(&mut self, pid: u32) {
        self.entries.remove(&pid);
    }

    /// Returns the ancestors of a process whose parent is `ppid`: parent
    /// first, at most `max` of them, stopping at the first that is gone.
    pub fn ancestors(&mut self, ppid: u32, max: usize) -> Vec<Ancestor> {
        let mut chain = Vec::new();
        let mut next = ppid;
        while chain.len() < max {
            let Some(entry) = self.get(next) else {
                break;
            };
            chain.push(Ancestor {
                pid: entry.pid,
                comm: entry.comm.clone(),
                exe: entry.exe.clone(),
                entity_id: entry.entity_id.clone(),
            });
            next = entry.ppid;
        }
        chain
    }

    fn read(&self, pid: u32) -> Option<ProcessEntry> {
        let stat = procfs::read_stat(pid)?;
        let exe = procfs::read_exe(pid);
        let (cgroup, container) = match self.cgroups.read(pid) {
            Some((cgroup, container)) => (Some(cgroup), container),
            None => (None, None),
        };
        let start_boot_ns = stat.start_ticks.saturating_mul(1_000_000_000) / self.ticks_per_second;
        Some(ProcessEntry {
            pid,
            entity_id: entity_id(&self.boot_id, pid, stat.start_ticks),
            comm: stat.comm,
            ppid: stat.ppid,
            exe,
            start_boot_ns,
            cgroup,
            container,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_entry_read() {
        let mut table = ProcessTable::new("boot".to_string());
        let pid = std::process::id();
        let entry = table.get(pid).unwrap().clone();
        assert_eq!(entry.pid, pid);
        assert_eq!(entry.ppid, std::os::unix::process::parent_id());
        assert_eq!(
            entry.exe.as_deref(),
            Some(std::env::current_exe().unwrap().to_str().unwrap())
        );
        assert_eq!(entry.entity_id.len(), 32);
        assert!(entry.cgroup.is_some());
    }

    #[test]
    fn ancestors_follow_parents() {
        let mut table = ProcessTable::new("boot".to_string());
        let parent = std::os::unix::process::parent_id();
        let chain = table.ancestors(parent, 4);
        assert_eq!(chain.first().map(|a| a.pid), Some(parent));
        assert!(chain.len() <= 4);
        for pair in chain.windows(2) {
            let child = table.get(pair[0].pid).unwrap().ppid;
            assert_eq!(child, pair[1].pid);
        }
    }

    #[test]
    fn gone_process_has_no_entry() {
        let mut table = ProcessTable::new("boot".to_string());
        // pid_max is at most 2^22, so this pid never exists.
        assert!(table.get(1 << 23).is_none());
    }
}
