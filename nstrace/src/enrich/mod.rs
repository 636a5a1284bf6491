//! Enrichment: adds to each event the calling process's executable, a
//! stable entity id, its ancestors, its cgroup and container, read from
//! `/proc` when nstrace processes the record, and the kernel's boot id.

pub mod cgroup;
pub mod container;
pub mod entity;
pub mod process_table;
pub mod procfs;

use std::fs;

use crate::{clock::Clock, decode::Record, output::event::Event};
use process_table::ProcessTable;

/// Ancestors reported per record, parent first.
pub const MAX_ANCESTORS: usize = 4;

/// Adds process, container and host context to events.
#[derive(Debug)]
pub struct Enricher {
    boot_id: Option<String>,
    clock: Clock,
    processes: ProcessTable,
}

impl Enricher {
    /// Reads the boot id; the process cache starts empty.
    pub fn new(clock: Clock) -> Self {
        let boot_id = read_boot_id();
        if boot_id.is_none() {
            log::warn!(
                "boot id: /proc/sys/kernel/random/boot_id is unreadable; records carry no boot_id"
            );
        }
        Self {
            processes: ProcessTable::new(boot_id.clone().unwrap_or_default()),
            boot_id,
            clock,
        }
    }

    /// Updates the process cache from a kernel record: a process that
    /// exited or executed a new program is read again on next use.
    pub fn observe(&mut self, record: &Record) {
        match record {
            Record::Exit(exit) if exit.group_dead != 0 => {
                self.processes.forget(exit.header.tgid);
            }
            Record::Exec(exec) => self.processes.forget(exec.header.tgid),
            _ => {}
        }
    }

    /// Fills in the boot id, and for namespace events the calling
    /// process's details, cgroup and container. When the process has
    /// already exited, its cgroup and container are those of its parent,
    /// which it inherited at fork.
    pub fn enrich(&mut self, event: &mut Event) {
        event.enrichment.boot_id.clone_from(&self.boot_id);
        let Some(process) = event.body.process_mut() else {
            return;
        };
        let own = self.processes.get(process.pid).cloned();
        if let Some(entry) = &own {
            process.entity_id = Some(entry.entity_id.clone());
            process.exe.clone_from(&entry.exe);
            process.start_time = Some(self.clock.rfc3339(entry.start_boot_ns).to_string());
        }
        let owner = match own {
            Some(entry) => Some(entry),
            None => self.processes.get(process.ppid).cloned(),
        };
        if let Some(owner) = owner {
            event.enrichment.cgroup = owner.cgroup;
            event.enrichment.container = owner.container;
        }
        process.ancestors = self.processes.ancestors(process.ppid, MAX_ANCESTORS);
    }
}

fn read_boot_id() -> Option<String> {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
}
