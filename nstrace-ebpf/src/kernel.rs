//! Readers of kernel structs at offsets taken from the running kernel's BTF.

use aya_ebpf::helpers::{bpf_get_current_comm, bpf_get_current_uid_gid, bpf_probe_read_kernel};
use nstrace_common::{
    ns::slot,
    offsets::ABSENT,
    record::{fd_kind, FdTarget, NsRef, NsSet, Task},
};

use crate::maps::OFFSETS;

/// `NSFS_MAGIC` from `include/uapi/linux/magic.h`.
const NSFS_MAGIC: u64 = 0x6e73_6673;
/// `PIDFS_MAGIC`: pidfds live on pidfs since Linux 6.9.
const PIDFS_MAGIC: u64 = 0x5049_4446;
/// `ANON_INODE_FS_MAGIC`: before Linux 6.9 a pidfd is an anon_inode file.
const ANON_INODE_FS_MAGIC: u64 = 0x0904_1934;
/// Dentry name of a pidfd before Linux 6.9, with its NUL, as read in one
/// little-endian u64: `pidfd_create` calls `anon_inode_getfile("[pidfd]", ...)`.
const PIDFD_ANON_NAME: u64 = u64::from_le_bytes(*b"[pidfd]\0");

/// Reads one field of [`OFFSETS`]. The volatile read keeps the compiler
/// from folding the compile-time value, which user space replaces.
macro_rules! offset {
    ($field:ident) => {
        // SAFETY: OFFSETS is a static, so the pointer is valid and aligned.
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!(OFFSETS.$field)) }
    };
}

/// Reads a `T` at `base + offset` in kernel memory, or `None` when the base
/// is NULL, the field is absent on this kernel or the read fails.
#[inline(always)]
fn read<T>(base: *const u8, offset: u32) -> Option<T> {
    if base.is_null() || offset == ABSENT {
        return None;
    }
    // SAFETY: bpf_probe_read_kernel checks the address and fails on a bad
    // one instead of faulting.
    unsafe { bpf_probe_read_kernel(base.wrapping_add(offset as usize).cast::<T>()).ok() }
}

#[inline(always)]
fn read_ptr(base: *const u8, offset: u32) -> *const u8 {
    read::<*const u8>(base, offset).unwrap_or(core::ptr::null())
}

/// Reads the inode number of the namespace struct at `ns`, whose
/// `struct ns_common` sits at `common_offset`; 0 when unreadable.
#[inline(always)]
fn read_inum(ns: *const u8, common_offset: u32) -> u32 {
    if ns.is_null() || common_offset == ABSENT {
        return 0;
    }
    read::<u32>(
        ns.wrapping_add(common_offset as usize),
        offset!(ns_common_inum),
    )
    .unwrap_or(0)
}

/// Offsets of a namespace struct's `ns_common`, its owning user
/// namespace, and (pid only) its parent.
#[derive(Clone, Copy)]
struct Layout {
    common: u32,
    owner: u32,
    parent: u32,
}

/// Reads the identity, owner and parent of the namespace struct at `ns`.
#[inline(always)]
fn read_ns(ns: *const u8, layout: Layout, out: &mut NsRef) {
    out.inode = 0;
    out.id = 0;
    out.owner = 0;
    out.parent = 0;
    out._pad = 0;
    if ns.is_null() || layout.common == ABSENT {
        return;
    }
    let common = ns.wrapping_add(layout.common as usize);
    out.inode = read::<u32>(common, offset!(ns_common_inum)).unwrap_or(0);
    out.id = read::<u64>(common, offset!(ns_common_ns_id)).unwrap_or(0);
    out.owner = read_inum(read_ptr(ns, layout.owner), offset!(user_ns_common));
    out.parent = read_inum(read_ptr(ns, layout.parent), layout.common);
}

/// Reads the pid namespace of `task` itself: the namespace at the deepest
/// level of its `struct pid`, which `unshare(CLONE_NEWPID)` does not change.
#[inline(always)]
fn read_own_pid_ns(task: *const u8) -> *const u8 {
    let pid = read_ptr(task, offset!(task_thread_pid));
    let Some(level) = read::<u32>(pid, offset!(pid_level)) else {
        return core::ptr::null();
    };
    let numbers = offset!(pid_numbers);
    let size = offset!(upid_size);
    if numbers == ABSENT || size == ABSENT || level > 64 {
        return core::ptr::null();
    }
    let upid = numbers + level * size;
    read_ptr(pid, upid + offset!(upid_ns))
}

/// Fills `out` with the namespaces of `task`. Slots of a task that has
/// passed `exit_task_namespaces` (no nsproxy) stay 0, except user.
#[inline(always)]
pub fn read_ns_set(task: *const u8, out: &mut NsSet) {
    let nsproxy = read_ptr(task, offset!(task_nsproxy));
    let plain = |common: u32, owner: u32| Layout {
        common,
        owner,
        parent: ABSENT,
    };
    let pid = Layout {
        common: offset!(pid_ns_common),
        owner: offset!(pid_owner),
        parent: offset!(pid_parent),
    };
    let time = plain(offset!(time_ns_common), offset!(time_owner));
    let pointers = [
        (
            slot::MNT,
            offset!(nsproxy_mnt),
            plain(offset!(mnt_ns_common), offset!(mnt_owner)),
        ),
        (
            slot::UTS,
            offset!(nsproxy_uts),
            plain(offset!(uts_ns_common), offset!(uts_owner)),
        ),
        (
            slot::IPC,
            offset!(nsproxy_ipc),
            plain(offset!(ipc_ns_common), offset!(ipc_owner)),
        ),
        (
            slot::PID_FOR_CHILDREN,
            offset!(nsproxy_pid_for_children),
            pid,
        ),
        (
            slot::NET,
            offset!(nsproxy_net),
            plain(offset!(net_ns_common), offset!(net_owner)),
        ),
        (
            slot::CGROUP,
            offset!(nsproxy_cgroup),
            plain(offset!(cgroup_ns_common), offset!(cgroup_owner)),
        ),
        (slot::TIME, offset!(nsproxy_time), time),
        (
            slot::TIME_FOR_CHILDREN,
            offset!(nsproxy_time_for_children),
            time,
        ),
    ];
    for (index, field, layout) in pointers {
        let ns = read_ptr(nsproxy, field);
        if let Some(entry) = out.ns.get_mut(index) {
            read_ns(ns, layout, entry);
        }
    }

    read_ns(read_own_pid_ns(task), pid, &mut out.ns[slot::PID]);

    let cred = read_ptr(task, offset!(task_real_cred));
    let user = Layout {
        common: offset!(user_ns_common),
        owner: offset!(user_parent),
        parent: ABSENT,
    };
    read_ns(
        read_ptr(cred, offset!(cred_user_ns)),
        user,
        &mut out.ns[slot::USER],
    );
}

/// Fills `out` with the mount namespace of `task`, or zeros once the task
/// has no nsproxy. Cheaper than [`read_ns_set`] for calls that need only
/// this slot.
#[inline(always)]
pub fn read_mnt_ns(task: *const u8, out: &mut NsRef) {
    let nsproxy = read_ptr(task, offset!(task_nsproxy));
    let mnt_ns = read_ptr(nsproxy, offset!(nsproxy_mnt));
    let layout = Layout {
        common: offset!(mnt_ns_common),
        owner: offset!(mnt_owner),
        parent: ABSENT,
    };
    read_ns(mnt_ns, layout, out);
}

/// Reads the thread group id and thread id of `task`.
#[inline(always)]
pub fn read_ids(task: *const u8) -> (u32, u32) {
    let tgid = read::<u32>(task, offset!(task_tgid)).unwrap_or(0);
    let tid = read::<u32>(task, offset!(task_pid)).unwrap_or(0);
    (tgid, tid)
}

/// Fills `out` for the current task, which `task` must point to.
#[inline(always)]
pub fn read_current_task(task: *const u8, out: &mut Task) {
    let parent = read_ptr(task, offset!(task_real_parent));
    out.ppid = read::<u32>(parent, offset!(task_tgid)).unwrap_or(0);
    let uid_gid = bpf_get_current_uid_gid();
    out.uid = uid_gid as u32;
    out.gid = (uid_gid >> 32) as u32;
    out._pad = 0;
    out.comm = bpf_get_current_comm().unwrap_or([0; 16]);
}

/// Reads `task->exit_code`, and whether the last thread of its group is
/// exiting (`signal->live` has dropped to 0).
#[inline(always)]
pub fn read_exit(task: *const u8) -> (u32, u32) {
    let code = read::<u32>(task, offset!(task_exit_code)).unwrap_or(0);
    let signal = read_ptr(task, offset!(task_signal));
    let live = read::<i32>(signal, offset!(signal_live)).unwrap_or(1);
    (code, u32::from(live == 0))
}

/// Reads `linux_binprm->filename` into `out`; returns the bytes written,
/// the final NUL included.
#[inline(always)]
pub fn read_exec_filename(bprm: *const u8, out: &mut [u8]) -> u32 {
    let name = read_ptr(bprm, offset!(linux_binprm_filename));
    if name.is_null() {
        return 0;
    }
    // SAFETY: the helper bounds the copy by `out.len()` and checks `name`.
    match unsafe { aya_ebpf::helpers::bpf_probe_read_kernel_str_bytes(name, out) } {
        Ok(bytes) => bytes.len() as u32 + 1,
        Err(_) => 0,
    }
}

/// Resolves what file descriptor `fd` of `task` refers to, for `setns`.
#[inline(always)]
pub fn read_fd_target(task: *const u8, fd: i32, out: &mut FdTarget) {
    out.kind = fd_kind::NOT_OPEN;
    out.ns_type = 0;
    out.inode = 0;
    out.pid = 0;
    out.ns_id = 0;
    if fd < 0 {
        return;
    }
    let files = read_ptr(task, offset!(task_files));
    let fdt = read_ptr(files, offset!(files_fdt));
    let Some(max_fds) = read::<u32>(fdt, offset!(fdtable_max_fds)) else {
        out.kind = fd_kind::UNREADABLE;
        return;
    };
    if fd as u32 >= max_fds {
        return;
    }
    let array = read_ptr(fdt, offset!(fdtable_fd));
    let file = read_ptr(array, fd as u32 * 8);
    if file.is_null() {
        return;
    }
    let inode = read_ptr(file, offset!(file_f_inode));
    let super_block = read_ptr(inode, offset!(inode_i_sb));
    let Some(magic) = read::<u64>(super_block, offset!(super_block_s_magic)) else {
        out.kind = fd_kind::UNREADABLE;
        return;
    };
    if magic == NSFS_MAGIC {
        out.kind = fd_kind::NSFS;
        let common = read_ptr(inode, offset!(inode_i_private));
        out.inode = read::<u32>(common, offset!(ns_common_inum)).unwrap_or(0);
        out.ns_id = read::<u64>(common, offset!(ns_common_ns_id)).unwrap_or(0);
        out.ns_type = match read::<u32>(common, offset!(ns_common_ns_type)) {
            Some(ns_type) => ns_type,
            None => {
                let ops = read_ptr(common, offset!(ns_common_ops));
                read::<u32>(ops, offset!(proc_ns_operations_type)).unwrap_or(0)
            }
        };
    } else if magic == PIDFS_MAGIC {
        out.kind = fd_kind::PIDFD;
        // pidfs keeps the `struct pid` in the inode, as `pidfd_pid()` reads it.
        let pid = read_ptr(inode, offset!(inode_i_private));
        out.pid = read_pid_nr(pid);
    } else if magic == ANON_INODE_FS_MAGIC && is_anon_pidfd(file) {
        out.kind = fd_kind::PIDFD;
        // An anon_inode pidfd keeps the `struct pid` in the file.
        let pid = read_ptr(file, offset!(file_private_data));
        out.pid = read_pid_nr(pid);
    } else {
        out.kind = fd_kind::OTHER;
    }
}

/// Returns whether the anon_inode `file` is a pidfd, by its dentry name.
#[inline(always)]
fn is_anon_pidfd(file: *const u8) -> bool {
    let f_path = offset!(file_f_path);
    let path_dentry = offset!(path_dentry);
    let d_name = offset!(dentry_d_name);
    let qstr_name = offset!(qstr_name);
    if [f_path, path_dentry, d_name, qstr_name].contains(&ABSENT) {
        return false;
    }
    let dentry = read_ptr(file, f_path + path_dentry);
    let name = read_ptr(dentry, d_name + qstr_name);
    read::<u64>(name, 0) == Some(PIDFD_ANON_NAME)
}

/// Reads the process id of a `struct pid` in the initial pid namespace,
/// or 0 when it cannot be read.
#[inline(always)]
fn read_pid_nr(pid: *const u8) -> u32 {
    let numbers = offset!(pid_numbers);
    if numbers == ABSENT {
        return 0;
    }
    read::<u32>(pid, numbers + offset!(upid_nr)).unwrap_or(0)
}
