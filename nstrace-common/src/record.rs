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
    /// Number of kinds plus one, the length of the loss counter array.
    pub const COUNT: u32 = 6;
}

/// Syscalls traced, stored in [`SyscallRecord::syscall`].
pub mod syscall {
    pub const CLONE: u32 = 1;
    pub const CLONE3: u32 = 2;
    pub const UNSHARE: u32 = 3;
    pub const SETNS: u32 = 4;
}

/// What the file descriptor passed to `setns` refers to.
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

/// The task that the record is about, as the kernel sees it.
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
