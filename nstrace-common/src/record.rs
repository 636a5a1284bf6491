//! Records written by the eBPF programs into the ring buffer.
//!
//! Each record starts with a [`Header`] whose `kind` says which struct
//! follows. Sizes are multiples of 8 and all padding is explicit.

use crate::ns::NS_SLOTS;

/// Record kinds, stored in [`Header::kind`].
pub mod kind {
    /// [`super::SyscallRecord`]: a namespace syscall returned.
    pub const SYSCALL: u32 = 1;
    /// [`super::ForkRecord`]: a task was created.
    pub const FORK: u32 = 2;
    /// [`super::ExecRecord`]: a task called execve successfully.
    pub const EXEC: u32 = 3;
    /// [`super::ExitRecord`]: a task is exiting.
    pub const EXIT: u32 = 4;
    /// [`super::NsFreeRecord`]: the kernel released a namespace's inode.
    pub const NS_FREE: u32 = 5;
    /// [`super::MountRecord`]: a mount syscall returned.
    pub const MOUNT: u32 = 6;
    /// Number of kinds plus one. Loss counters 1 to 6 count lost records
    /// of each kind, and the counters in [`super::loss`] use the others.
    pub const COUNT: u32 = 7;
}

/// Indexes of the loss counters that are not record kinds.
pub mod loss {
    /// Namespace syscall entries that did not fit the pending table.
    pub const PENDING: u32 = 0;
    /// Mount syscall entries that did not fit the mount pending table.
    pub const MOUNT_PENDING: u32 = super::kind::COUNT;
    /// Length of the loss counter array.
    pub const SLOTS: u32 = super::kind::COUNT + 1;
}

/// Syscalls traced, stored in [`SyscallRecord::syscall`].
pub mod syscall {
    pub const CLONE: u32 = 1;
    pub const CLONE3: u32 = 2;
    pub const UNSHARE: u32 = 3;
    pub const SETNS: u32 = 4;
}

/// Kinds of file that the descriptor passed to `setns` refers to.
pub mod fd_kind {
    /// The record is not a setns call.
    pub const NONE: u32 = 0;
    /// An nsfs file, as opened from `/proc/PID/ns/*`.
    pub const NSFS: u32 = 1;
    /// A pidfd, from `pidfd_open` or `clone(CLONE_PIDFD)`.
    pub const PIDFD: u32 = 2;
    /// An open file of another kind.
    pub const OTHER: u32 = 3;
    /// No open file has that descriptor number.
    pub const NOT_OPEN: u32 = 4;
    /// The kernel memory could not be read.
    pub const UNREADABLE: u32 = 5;
}

/// Common start of every record.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub kind: u32,
    pub cpu: u32,
    /// `CLOCK_BOOTTIME` in nanoseconds when the record was written.
    pub time_ns: u64,
    /// Process id (thread group id) in the initial pid namespace.
    pub tgid: u32,
    /// Thread id in the initial pid namespace.
    pub tid: u32,
}

/// The task that the record is about, as the kernel records it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Task {
    /// Thread group id of the real parent, 0 when unreadable.
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub _pad: u32,
    /// `task->comm`, NUL-padded.
    pub comm: [u8; 16],
}

/// One namespace of a task.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NsRef {
    /// The kernel's 64-bit namespace id (Linux 6.18 and later), else 0.
    pub id: u64,
    /// nsfs inode number, as `/proc/PID/ns/*` and `lsns` show it; 0 when
    /// unreadable.
    pub inode: u32,
    /// Inode of the user namespace that owns this one; for a user
    /// namespace, its parent. 0 for the initial user namespace.
    pub owner: u32,
    /// For a pid namespace, the inode of its parent pid namespace; else 0.
    pub parent: u32,
    pub _pad: u32,
}

/// A task's namespaces, indexed by [`crate::ns::slot`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NsSet {
    pub ns: [NsRef; NS_SLOTS],
}

/// The namespace or process that a `setns` file descriptor refers to.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FdTarget {
    /// One of [`fd_kind`].
    pub kind: u32,
    /// For nsfs: the `CLONE_NEW*` value of the namespace type, 0 if unknown.
    pub ns_type: u32,
    /// For nsfs: the namespace's inode number.
    pub inode: u32,
    /// For a pidfd: the target's pid in the initial pid namespace.
    pub pid: u32,
    /// For nsfs: the kernel's 64-bit namespace id, 0 if the kernel has none.
    pub ns_id: u64,
}

/// A traced syscall returned. Written at `sys_exit_*`, with what was saved
/// at `sys_enter_*`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallRecord {
    pub header: Header,
    pub task: Task,
    /// One of [`syscall`].
    pub syscall: u32,
    pub _pad: u32,
    /// `CLOCK_BOOTTIME` in nanoseconds at syscall entry.
    pub enter_time_ns: u64,
    /// Return value: a child pid for clone, 0 for success, `-errno`.
    pub ret: i64,
    /// Syscall arguments. For clone3, `args[0]` is the `flags` field that
    /// was read from the caller's `struct clone_args`.
    pub args: [u64; 4],
    pub target: FdTarget,
    /// The caller's namespaces at syscall entry.
    pub before: NsSet,
    /// The caller's namespaces at syscall exit.
    pub after: NsSet,
}

/// A task was created (`sched_process_fork`), with the child's namespaces.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForkRecord {
    /// The header's ids are those of the parent, the calling task.
    pub header: Header,
    pub task: Task,
    pub child_tgid: u32,
    pub child_tid: u32,
    /// Flags of the clone or clone3 call that made the child, when the
    /// parent's syscall entry was seen; see `clone_syscall`.
    pub clone_flags: u64,
    /// [`syscall::CLONE`] or [`syscall::CLONE3`], or 0 when the child came
    /// from another path (fork, vfork, a kernel thread).
    pub clone_syscall: u32,
    pub _pad: u32,
    pub child: NsSet,
}

/// Maximum bytes of an executed file name kept in [`ExecRecord`].
pub const EXEC_FILENAME_LEN: usize = 256;

/// A task executed a new program (`sched_process_exec`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecRecord {
    pub header: Header,
    pub task: Task,
    /// Bytes of `filename` in use, including the final NUL.
    pub filename_len: u32,
    /// Thread id before the exec. A non-leader thread that calls execve
    /// takes over the thread group id, so this differs from `header.tid`.
    pub old_tid: u32,
    /// `linux_binprm->filename`, the path as given to execve.
    pub filename: [u8; EXEC_FILENAME_LEN],
}

/// A task is exiting (`sched_process_exit`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitRecord {
    pub header: Header,
    pub task: Task,
    /// `task->exit_code`: the wait status the parent will see.
    pub exit_code: u32,
    /// 1 when this is the last thread of its thread group.
    pub group_dead: u32,
    /// The namespaces the task is leaving.
    pub ns: NsSet,
}

/// The kernel released an nsfs inode number (`proc_free_inum`), which it
/// does when a namespace is freed. Other proc inodes come through the same
/// function; user space keeps the ones that match a live namespace.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NsFreeRecord {
    pub header: Header,
    pub inode: u32,
    pub _pad: u32,
}

/// Mount syscalls traced, stored in [`MountCall::syscall`].
pub mod mount_syscall {
    pub const MOUNT: u32 = 1;
    /// `umount2`, whose tracepoints are named `sys_*_umount`.
    pub const UMOUNT: u32 = 2;
    pub const PIVOT_ROOT: u32 = 3;
    pub const FSOPEN: u32 = 4;
    pub const FSCONFIG: u32 = 5;
    pub const FSMOUNT: u32 = 6;
    pub const MOVE_MOUNT: u32 = 7;
    pub const OPEN_TREE: u32 = 8;
    /// Linux 6.15 and later.
    pub const OPEN_TREE_ATTR: u32 = 9;
    pub const MOUNT_SETATTR: u32 = 10;
}

/// Bits of [`StringInfo::state`].
pub mod string_state {
    /// The pointer was not NULL, so a read was made.
    pub const PRESENT: u32 = 1;
    /// The string is longer than its buffer, so only `len` bytes were kept.
    pub const TRUNCATED: u32 = 2;
    /// Reading user memory failed, as it does for a bad pointer.
    pub const FAULT: u32 = 4;
    /// The entry read failed, so the string was read again at syscall exit.
    /// A tracepoint program cannot fault a page in, but by the exit the
    /// kernel has copied the string and so faulted its page in.
    pub const AT_EXIT: u32 = 8;
}

/// Bytes kept of a path: `PATH_MAX` (4096) less the final NUL, so that
/// every path the kernel accepts fits whole.
pub const MOUNT_PATH_LEN: usize = 4096;
/// Bytes kept of a filesystem type name or an fsconfig key.
pub const MOUNT_NAME_LEN: usize = 256;

/// Length and state of one string read from the caller's memory.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StringInfo {
    /// Bytes kept, without the final NUL.
    pub len: u32,
    /// Bits of [`string_state`], or 0 for a NULL pointer or an unused slot.
    pub state: u32,
    /// The user address the string was read from, kept so that a failed
    /// read at syscall entry can be made again at the exit.
    pub addr: u64,
}

/// `struct mount_attr` from `include/uapi/linux/mount.h` (first version,
/// 32 bytes), read for `mount_setattr` and `open_tree_attr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MountAttr {
    pub attr_set: u64,
    pub attr_clr: u64,
    pub propagation: u64,
    pub userns_fd: u64,
}

/// What a mount syscall's entry saved and its exit added: the part of a
/// [`MountRecord`] after the task.
///
/// Strings are read at syscall entry. The slot of each string depends on
/// the call:
///
/// | call | `paths[0]` | `paths[1]` | `name` |
/// |---|---|---|---|
/// | mount | source | target | filesystem type |
/// | umount | target | | |
/// | pivot_root | new_root | put_old | |
/// | fsopen | | | filesystem type |
/// | fsconfig | value (string or path) | | key |
/// | move_mount | from path | to path | |
/// | open_tree, open_tree_attr, mount_setattr | path | | |
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MountCall {
    /// One of [`mount_syscall`].
    pub syscall: u32,
    /// 1 when `attr` was read from the caller's memory.
    pub has_attr: u32,
    /// `CLOCK_BOOTTIME` in nanoseconds at syscall entry.
    pub enter_time_ns: u64,
    /// Return value: 0 or a new fd on success, `-errno` on failure.
    pub ret: i64,
    /// Syscall arguments, pointers included.
    pub args: [u64; 6],
    /// The caller's mount namespace at syscall entry.
    pub mnt_ns: NsRef,
    pub attr: MountAttr,
    pub path_info: [StringInfo; 2],
    pub name_info: StringInfo,
    pub paths: [[u8; MOUNT_PATH_LEN]; 2],
    pub name: [u8; MOUNT_NAME_LEN],
}

impl Default for MountCall {
    fn default() -> Self {
        Self {
            syscall: 0,
            has_attr: 0,
            enter_time_ns: 0,
            ret: 0,
            args: [0; 6],
            mnt_ns: NsRef::default(),
            attr: MountAttr::default(),
            path_info: [StringInfo::default(); 2],
            name_info: StringInfo::default(),
            paths: [[0; MOUNT_PATH_LEN]; 2],
            name: [0; MOUNT_NAME_LEN],
        }
    }
}

/// A mount syscall returned: mount, umount2, pivot_root, fsopen, fsconfig,
/// fsmount, move_mount, open_tree, open_tree_attr or mount_setattr.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MountRecord {
    pub header: Header,
    pub task: Task,
    pub call: MountCall,
}

// The layouts are part of the wire format: no implicit padding, and sizes
// that keep the next ring buffer record 8-byte aligned.
const _: () = assert!(core::mem::size_of::<MountCall>().is_multiple_of(8));
const _: () = assert!(
    core::mem::size_of::<MountCall>()
        == 8 + 8 + 8 + 6 * 8 + 24 + 32 + 3 * 16 + 2 * MOUNT_PATH_LEN + MOUNT_NAME_LEN
);
const _: () =
    assert!(core::mem::size_of::<MountRecord>() == 24 + 32 + core::mem::size_of::<MountCall>());
