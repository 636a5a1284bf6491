//! A per-process table of the fds that the new mount API returns, so that
//! a `move_mount` record can name which filesystem or tree it attached.
//!
//! fsopen returns a filesystem context fd, fsconfig sets its source,
//! fsmount turns it into a mount fd, `open_tree` returns a mount fd for a
//! tree, and `move_mount` attaches a mount fd somewhere. The table follows
//! these calls per process (thread group) and is bounded: at most
//! [`MAX_PROCESSES`] processes and [`MAX_FDS`] fds each, the least recently
//! used going first. A process's entries go when its exit record arrives.
//!
//! NOTE: close, dup and fork are not traced, so an fd number that a
//! process closed and reused for another file still maps to the old
//! origin until a traced call returns the same number, and fds inherited
//! by a child or passed over a socket are not known in the receiver.

use std::collections::HashMap;

use crate::{output::event::Attached, path_text::PathText};

/// Processes tracked at once.
pub const MAX_PROCESSES: usize = 1024;
/// Fds tracked per process.
pub const MAX_FDS: usize = 64;

/// Origin of a tracked fd: the call that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FdOrigin {
    /// fsopen: a filesystem context, with the `source` that fsconfig set.
    FsContext {
        fstype: Option<PathText>,
        source: Option<PathText>,
    },
    /// fsmount of a filesystem context.
    FsMount {
        fs_fd: i32,
        fstype: Option<PathText>,
        source: Option<PathText>,
        attr_flags: Vec<String>,
    },
    /// `open_tree` or `open_tree_attr` of a path.
    Tree {
        path: Option<PathText>,
        flags: Vec<String>,
    },
}

#[derive(Debug, Default)]
struct ProcessFds {
    fds: HashMap<i32, (u64, FdOrigin)>,
    last_used: u64,
}

/// The table, keyed by thread group id.
#[derive(Debug, Default)]
pub struct MountFds {
    processes: HashMap<u32, ProcessFds>,
    /// Counter that orders uses, for least-recently-used eviction.
    clock: u64,
}

impl MountFds {
    /// Records that `fd` of process `tgid` now refers to `origin`.
    pub fn insert(&mut self, tgid: u32, fd: i32, origin: FdOrigin) {
        self.clock += 1;
        let now = self.clock;
        if !self.processes.contains_key(&tgid) && self.processes.len() >= MAX_PROCESSES {
            if let Some(oldest) = self
                .processes
                .iter()
                .min_by_key(|(_, process)| process.last_used)
                .map(|(tgid, _)| *tgid)
            {
                log::debug!("mount fd table: full, forgetting process {oldest}");
                self.processes.remove(&oldest);
            }
        }
        let process = self.processes.entry(tgid).or_default();
        process.last_used = now;
        if !process.fds.contains_key(&fd) && process.fds.len() >= MAX_FDS {
            if let Some(oldest) = process
                .fds
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(fd, _)| *fd)
            {
                process.fds.remove(&oldest);
            }
        }
        process.fds.insert(fd, (now, origin));
    }

    /// Returns what `fd` of process `tgid` refers to, if tracked.
    pub fn get(&self, tgid: u32, fd: i32) -> Option<&FdOrigin> {
        self.processes
            .get(&tgid)
            .and_then(|process| process.fds.get(&fd))
            .map(|(_, origin)| origin)
    }

    /// Sets the source of the filesystem context `fd`, as fsconfig with
    /// the key `source` does.
    pub fn set_source(&mut self, tgid: u32, fd: i32, value: PathText) {
        if let Some(FdOrigin::FsContext { source, .. }) = self
            .processes
            .get_mut(&tgid)
            .and_then(|process| process.fds.get_mut(&fd))
            .map(|(_, origin)| origin)
        {
            *source = Some(value);
        }
    }

    /// Forgets every fd of a process that has exited.
    pub fn forget_process(&mut self, tgid: u32) {
        self.processes.remove(&tgid);
    }

    /// Number of processes tracked.
    pub fn process_count(&self) -> usize {
        self.processes.len()
    }

    /// Describes what `move_mount` attaches from mount fd `fd`, if tracked.
    pub fn attached(&self, tgid: u32, fd: i32) -> Option<Attached> {
        match self.get(tgid, fd)? {
            FdOrigin::FsMount {
                fs_fd,
                fstype,
                source,
                attr_flags,
            } => Some(Attached {
                kind: "fsmount",
                fd,
                fs_fd: Some(*fs_fd),
                fstype: fstype.clone(),
                source: source.clone(),
                flags: attr_flags.clone(),
            }),
            FdOrigin::Tree { path, flags } => Some(Attached {
                kind: "open_tree",
                fd,
                fs_fd: None,
                fstype: None,
                source: path.clone(),
                flags: flags.clone(),
            }),
            FdOrigin::FsContext { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> PathText {
        PathText::new(value.as_bytes(), false)
    }

    fn context(fstype: &str) -> FdOrigin {
        FdOrigin::FsContext {
            fstype: Some(text(fstype)),
            source: None,
        }
    }

    #[test]
    fn fsmount_story_joined() {
        let mut table = MountFds::default();
        table.insert(10, 3, context("tmpfs"));
        table.set_source(10, 3, PathText::new(b"scratch", false));
        let Some(FdOrigin::FsContext { fstype, source }) = table.get(10, 3).cloned() else {
            panic!("fd 3 is not a filesystem context");
        };
        table.insert(
            10,
            4,
            FdOrigin::FsMount {
                fs_fd: 3,
                fstype,
                source,
                attr_flags: vec!["MOUNT_ATTR_NODEV".to_string()],
            },
        );
        let attached = table.attached(10, 4).unwrap();
        assert_eq!(attached.kind, "fsmount");
        assert_eq!(attached.fs_fd, Some(3));
        assert_eq!(attached.fstype, Some(text("tmpfs")));
        assert_eq!(attached.source, Some(text("scratch")));
        assert_eq!(table.attached(11, 4), None, "another process's fd 4");
        assert_eq!(table.attached(10, 3), None, "a context is not a mount");
    }

    #[test]
    fn exit_forgets_process() {
        let mut table = MountFds::default();
        table.insert(10, 3, context("tmpfs"));
        table.forget_process(10);
        assert_eq!(table.get(10, 3), None);
        assert_eq!(table.process_count(), 0);
    }

    #[test]
    fn fds_per_process_bounded() {
        let mut table = MountFds::default();
        for fd in 0..i32::try_from(MAX_FDS).unwrap() + 5 {
            table.insert(10, fd, context("tmpfs"));
        }
        assert_eq!(table.get(10, 0), None, "the oldest fd is evicted");
        assert!(table.get(10, 68).is_some());
        let tracked = (0..100).filter(|fd| table.get(10, *fd).is_some()).count();
        assert_eq!(tracked, MAX_FDS);
    }

    #[test]
    fn processes_bounded() {
        let mut table = MountFds::default();
        for tgid in 0..=u32::try_from(MAX_PROCESSES).unwrap() {
            table.insert(tgid, 3, context("tmpfs"));
        }
        assert_eq!(table.process_count(), MAX_PROCESSES);
        assert_eq!(table.get(0, 3), None, "the least recently used goes");
    }
}
