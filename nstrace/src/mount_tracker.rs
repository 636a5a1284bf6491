//! The collector's state for mount records: it resolves the directories of
//! relative paths from `/proc` and follows the fds of the new mount API
//! in a [`MountFds`] table, producing each record's [`MountContext`].

use nstrace_common::record::{mount_syscall, MountRecord};

use crate::{
    decode::Record,
    dirfd,
    mount_fds::{FdOrigin, MountFds},
    mount_flags::{mount_attr_names, open_tree_flag_names},
    translate::{fd_arg, name_slot, path_slot, path_with_directory, relative_dirfd, MountContext},
};

/// `MOVE_MOUNT_F_EMPTY_PATH`: `move_mount`'s `from` is the fd itself.
const MOVE_MOUNT_F_EMPTY_PATH: u64 = 0x4;
/// `FSCONFIG_SET_STRING`.
const FSCONFIG_SET_STRING: u64 = 1;

#[derive(Debug, Default)]
pub struct MountTracker {
    fds: MountFds,
}

impl MountTracker {
    /// Updates the state with `record`, and returns the context of a mount
    /// record.
    pub fn observe(&mut self, record: &Record) -> Option<MountContext> {
        match record {
            Record::Mount(mount) => Some(self.observe_mount(mount)),
            Record::Exit(exit) if exit.group_dead != 0 => {
                self.fds.forget_process(exit.header.tgid);
                None
            }
            _ => None,
        }
    }

    fn observe_mount(&mut self, record: &MountRecord) -> MountContext {
        let call = &record.call;
        let tgid = record.header.tgid;
        let mut context = MountContext::default();
        for (slot, directory) in context.directories.iter_mut().enumerate() {
            if let Some(dirfd) = relative_dirfd(call, slot) {
                *directory = dirfd::resolve(tgid, record.header.tid, dirfd);
            }
        }

        let args = call.args;
        let new_fd = i32::try_from(call.ret).ok().filter(|fd| *fd >= 0);
        match call.syscall {
            mount_syscall::FSOPEN => {
                if let Some(fd) = new_fd {
                    let origin = FdOrigin::FsContext {
                        fstype: name_slot(call),
                        source: None,
                    };
                    self.fds.insert(tgid, fd, origin);
                }
            }
            mount_syscall::FSCONFIG => {
                let is_source = name_slot(call).is_some_and(|key| key.value == "source");
                if call.ret == 0 && args[1] & 0xffff_ffff == FSCONFIG_SET_STRING && is_source {
                    if let Some(value) = path_slot(call, 0) {
                        self.fds.set_source(tgid, fd_arg(args[0]), value);
                    }
                }
            }
            mount_syscall::FSMOUNT => {
                if let Some(fd) = new_fd {
                    let fs_fd = fd_arg(args[0]);
                    let (fstype, source) = match self.fds.get(tgid, fs_fd) {
                        Some(FdOrigin::FsContext { fstype, source }) => {
                            (fstype.clone(), source.clone())
                        }
                        _ => (None, None),
                    };
                    let origin = FdOrigin::FsMount {
                        fs_fd,
                        fstype,
                        source,
                        attr_flags: mount_attr_names(args[2]),
                    };
                    self.fds.insert(tgid, fd, origin);
                }
            }
            mount_syscall::OPEN_TREE | mount_syscall::OPEN_TREE_ATTR => {
                if let Some(fd) = new_fd {
                    // With the directory of a relative path, as the
                    // open_tree record has it, so that the move_mount
                    // record names what it attached.
                    let origin = FdOrigin::Tree {
                        path: path_with_directory(call, &context, 0),
                        flags: open_tree_flag_names(args[2]),
                    };
                    self.fds.insert(tgid, fd, origin);
                }
            }
            mount_syscall::MOVE_MOUNT => {
                let from_empty = call.path_info[0].len == 0;
                if args[4] & MOVE_MOUNT_F_EMPTY_PATH != 0 && from_empty {
                    context.attached = self.fds.attached(tgid, fd_arg(args[0]));
                }
            }
            _ => {}
        }
        context
    }
}
