//! Tracepoints on the entry and exit of the mount syscalls: mount,
//! umount2, pivot_root, fsopen, fsconfig, fsmount, move_mount, open_tree,
//! open_tree_attr and mount_setattr.
//!
//! Entry builds a [`MountCall`] in `MOUNT_SCRATCH` with the arguments, the
//! caller's mount namespace and the strings the call names, read from the
//! caller's memory before the kernel acts on them, and saves it in
//! `MOUNT_PENDING`. Exit writes one [`MountRecord`] with the return value.

use aya_ebpf::{
    cty::c_void,
    helpers::{
        bpf_get_current_pid_tgid, bpf_get_current_task, bpf_ktime_get_boot_ns, bpf_probe_read_user,
        generated,
    },
    macros::tracepoint,
    programs::TracePointContext,
};
use nstrace_common::record::{
    kind, mount_syscall, string_state, MountAttr, MountCall, MountRecord, StringInfo,
};

use crate::{
    emit,
    kernel::{read_current_task, read_mnt_ns},
    maps::{count_loss, LOSS_MOUNT_PENDING, MOUNT_PENDING, MOUNT_SCRATCH},
};

/// Offset of the first argument in a `sys_enter_*` tracepoint record,
/// after the common fields and the syscall number.
const ENTER_ARGS: usize = 16;
/// Offset of the return value in a `sys_exit_*` tracepoint record.
const EXIT_RET: usize = 16;

/// fsconfig commands whose `value` argument is a NUL-terminated string,
/// from `include/uapi/linux/mount.h`.
const FSCONFIG_SET_STRING: u64 = 1;
const FSCONFIG_SET_PATH: u64 = 3;
const FSCONFIG_SET_PATH_EMPTY: u64 = 4;

/// `MOUNT_ATTR_SIZE_VER0`: the size of the first `struct mount_attr`.
const MOUNT_ATTR_SIZE_VER0: u64 = 32;

/// Reads the six syscall arguments of a `sys_enter_*` record.
#[inline(always)]
fn args(ctx: &TracePointContext) -> [u64; 6] {
    let mut out = [0u64; 6];
    for (index, slot) in out.iter_mut().enumerate() {
        // SAFETY: syscall tracepoint records have six 8-byte arguments
        // after ENTER_ARGS; the helper checks the read.
        *slot = unsafe { ctx.read_at::<u64>(ENTER_ARGS + index * 8) }.unwrap_or(0);
    }
    out
}

/// Reads the NUL-terminated string at user address `src` into `out` and
/// describes it in `info`. A string that does not fit is marked
/// truncated, never silently cut.
#[inline(always)]
fn read_string<const N: usize>(src: u64, out: &mut [u8; N], info: &mut StringInfo) {
    info.len = 0;
    info.state = 0;
    info.addr = src;
    if src == 0 {
        return;
    }
    info.state = string_state::PRESENT;
    // SAFETY: the helper writes at most N bytes to `out`, always ending
    // with a NUL, and fails on a bad user address instead of faulting.
    let copied = unsafe {
        generated::bpf_probe_read_user_str(
            out.as_mut_ptr().cast::<c_void>(),
            N as u32,
            src as *const c_void,
        )
    };
    if copied < 0 {
        info.state |= string_state::FAULT;
        return;
    }
    // The helper counts the final NUL, but Linux 6.1 and 6.12 return 0
    // instead of 1 for an empty string.
    if copied == 0 {
        return;
    }
    let copied = if copied as usize > N {
        N
    } else {
        copied as usize
    };
    info.len = (copied - 1) as u32;
    if copied == N {
        // N bytes with the NUL: the string had exactly N - 1 bytes when
        // the next byte is its NUL, else it was longer.
        let next = (src as usize).wrapping_add(N - 1) as *const u8;
        // SAFETY: the helper checks the user address.
        if unsafe { bpf_probe_read_user(next) } != Ok(0) {
            info.state |= string_state::TRUNCATED;
        }
    }
}

/// Starts a [`MountCall`] in the per-CPU scratch slot with the arguments
/// and the caller's mount namespace; its strings are left empty.
#[inline(always)]
fn begin(call: u32, args: [u64; 6]) -> Option<&'static mut MountCall> {
    let pending = MOUNT_SCRATCH.get_ptr_mut(0)?;
    // SAFETY: the scratch slot belongs to this CPU for the duration of the
    // program, and `pending` points into it.
    let pending = unsafe { &mut *pending };
    pending.syscall = call;
    pending.has_attr = 0;
    // SAFETY: the helper takes no arguments and cannot fail.
    pending.enter_time_ns = unsafe { bpf_ktime_get_boot_ns() };
    pending.ret = 0;
    pending.args = args;
    pending.attr = MountAttr::default();
    pending.path_info = [StringInfo::default(); 2];
    pending.name_info = StringInfo::default();
    let task = unsafe { bpf_get_current_task() } as *const u8;
    read_mnt_ns(task, &mut pending.mnt_ns);
    Some(pending)
}

/// Reads the `struct mount_attr` at user address `uattr` when the caller
/// passed at least its first version.
#[inline(always)]
fn read_attr(pending: &mut MountCall, uattr: u64, size: u64) {
    if uattr == 0 || size < MOUNT_ATTR_SIZE_VER0 {
        return;
    }
    // SAFETY: the helper checks the user address.
    if let Ok(attr) = unsafe { bpf_probe_read_user(uattr as *const MountAttr) } {
        pending.attr = attr;
        pending.has_attr = 1;
    }
}

/// Saves the call built by [`begin`] for its exit.
#[inline(always)]
fn save(ctx: &TracePointContext, pending: &MountCall) {
    let id = bpf_get_current_pid_tgid();
    if MOUNT_PENDING.insert(&id, pending, 0).is_err() {
        count_loss(LOSS_MOUNT_PENDING);
        aya_log_ebpf::warn!(
            ctx,
            "mount pending table full, call {} lost",
            pending.syscall
        );
    }
}

/// Reads again, at syscall exit, each string whose read at entry failed:
/// the kernel has copied it by now, so its page is resident unless the
/// pointer is really bad.
#[inline(always)]
fn reread_faulted(pending: &mut MountCall) {
    let [first, second] = &mut pending.paths;
    let [first_info, second_info] = &mut pending.path_info;
    reread_one(first, first_info);
    reread_one(second, second_info);
    reread_one(&mut pending.name, &mut pending.name_info);
}

#[inline(always)]
fn reread_one<const N: usize>(out: &mut [u8; N], info: &mut StringInfo) {
    if info.state & string_state::FAULT == 0 {
        return;
    }
    read_string(info.addr, out, info);
    info.state |= string_state::AT_EXIT;
}

/// Writes the record of a mount call whose entry was saved.
#[inline(always)]
fn exit(ctx: &TracePointContext, call: u32) {
    let id = bpf_get_current_pid_tgid();
    let Some(pending) = MOUNT_PENDING.get_ptr_mut(&id) else {
        return;
    };
    // SAFETY: only this thread reads and writes the entry under its own
    // key, and it is removed below after the last use.
    let pending = unsafe { &mut *pending };
    if pending.syscall != call {
        let _ = MOUNT_PENDING.remove(&id);
        return;
    }
    reread_faulted(pending);
    let ret = unsafe { ctx.read_at::<i64>(EXIT_RET) }.unwrap_or(0);

    if let Some(mut entry) = emit::reserve::<MountRecord>(kind::MOUNT) {
        let task = unsafe { bpf_get_current_task() } as *const u8;
        // SAFETY: the entry is reserved for this record; the header and
        // task are written here and the call is copied whole below.
        let record = unsafe { &mut *entry.as_mut_ptr() };
        record.header = emit::header(kind::MOUNT);
        read_current_task(task, &mut record.task);
        // One helper call copies the 8.6 KiB; a struct assignment would
        // unroll into thousands of load and store instructions.
        // SAFETY: both pointers are valid for size_of::<MountCall>() bytes:
        // the source is a map value and the destination the reserved entry.
        let copied = unsafe {
            generated::bpf_probe_read_kernel(
                core::ptr::addr_of_mut!(record.call).cast::<c_void>(),
                core::mem::size_of::<MountCall>() as u32,
                core::ptr::from_ref(pending).cast::<c_void>(),
            )
        };
        if copied == 0 {
            record.call.ret = ret;
            emit::submit(entry);
        } else {
            entry.discard(0);
            count_loss(kind::MOUNT);
        }
    }
    let _ = MOUNT_PENDING.remove(&id);
}

/// `mount(dev_name, dir_name, type, flags, data)`.
#[tracepoint(category = "syscalls", name = "sys_enter_mount")]
pub fn sys_enter_mount(ctx: TracePointContext) -> u32 {
    let args = args(&ctx);
    if let Some(pending) = begin(mount_syscall::MOUNT, args) {
        let [source, target] = &mut pending.paths;
        let [source_info, target_info] = &mut pending.path_info;
        read_string(args[0], source, source_info);
        read_string(args[1], target, target_info);
        read_string(args[2], &mut pending.name, &mut pending.name_info);
        save(&ctx, pending);
    }
    0
}

#[tracepoint(category = "syscalls", name = "sys_exit_mount")]
pub fn sys_exit_mount(ctx: TracePointContext) -> u32 {
    exit(&ctx, mount_syscall::MOUNT);
    0
}

/// `umount2(name, flags)`, whose tracepoint has the kernel's name, umount.
#[tracepoint(category = "syscalls", name = "sys_enter_umount")]
pub fn sys_enter_umount(ctx: TracePointContext) -> u32 {
    let args = args(&ctx);
    if let Some(pending) = begin(mount_syscall::UMOUNT, args) {
        let [target, _] = &mut pending.paths;
        let [target_info, _] = &mut pending.path_info;
        read_string(args[0], target, target_info);
        save(&ctx, pending);
    }
    0
}

#[tracepoint(category = "syscalls", name = "sys_exit_umount")]
pub fn sys_exit_umount(ctx: TracePointContext) -> u32 {
    exit(&ctx, mount_syscall::UMOUNT);
    0
}

/// `pivot_root(new_root, put_old)`.
#[tracepoint(category = "syscalls", name = "sys_enter_pivot_root")]
pub fn sys_enter_pivot_root(ctx: TracePointContext) -> u32 {
    let args = args(&ctx);
    if let Some(pending) = begin(mount_syscall::PIVOT_ROOT, args) {
        let [new_root, put_old] = &mut pending.paths;
        let [new_root_info, put_old_info] = &mut pending.path_info;
        read_string(args[0], new_root, new_root_info);
        read_string(args[1], put_old, put_old_info);
        save(&ctx, pending);
    }
    0
}

#[tracepoint(category = "syscalls", name = "sys_exit_pivot_root")]
pub fn sys_exit_pivot_root(ctx: TracePointContext) -> u32 {
    exit(&ctx, mount_syscall::PIVOT_ROOT);
    0
}

/// `fsopen(fs_name, flags)`.
#[tracepoint(category = "syscalls", name = "sys_enter_fsopen")]
pub fn sys_enter_fsopen(ctx: TracePointContext) -> u32 {
    let args = args(&ctx);
    if let Some(pending) = begin(mount_syscall::FSOPEN, args) {
        read_string(args[0], &mut pending.name, &mut pending.name_info);
        save(&ctx, pending);
    }
    0
}

#[tracepoint(category = "syscalls", name = "sys_exit_fsopen")]
pub fn sys_exit_fsopen(ctx: TracePointContext) -> u32 {
    exit(&ctx, mount_syscall::FSOPEN);
    0
}

/// `fsconfig(fd, cmd, key, value, aux)`.
#[tracepoint(category = "syscalls", name = "sys_enter_fsconfig")]
pub fn sys_enter_fsconfig(ctx: TracePointContext) -> u32 {
    let args = args(&ctx);
    if let Some(pending) = begin(mount_syscall::FSCONFIG, args) {
        read_string(args[2], &mut pending.name, &mut pending.name_info);
        let command = args[1] & 0xffff_ffff;
        // NOTE: the blob of FSCONFIG_SET_BINARY is not copied. Its length
        // is in `aux` (args[4]).
        if command == FSCONFIG_SET_STRING
            || command == FSCONFIG_SET_PATH
            || command == FSCONFIG_SET_PATH_EMPTY
        {
            let [value, _] = &mut pending.paths;
            let [value_info, _] = &mut pending.path_info;
            read_string(args[3], value, value_info);
        }
        save(&ctx, pending);
    }
    0
}

#[tracepoint(category = "syscalls", name = "sys_exit_fsconfig")]
pub fn sys_exit_fsconfig(ctx: TracePointContext) -> u32 {
    exit(&ctx, mount_syscall::FSCONFIG);
    0
}

/// `fsmount(fs_fd, flags, attr_flags)`.
#[tracepoint(category = "syscalls", name = "sys_enter_fsmount")]
pub fn sys_enter_fsmount(ctx: TracePointContext) -> u32 {
    let args = args(&ctx);
    if let Some(pending) = begin(mount_syscall::FSMOUNT, args) {
        save(&ctx, pending);
    }
    0
}

#[tracepoint(category = "syscalls", name = "sys_exit_fsmount")]
pub fn sys_exit_fsmount(ctx: TracePointContext) -> u32 {
    exit(&ctx, mount_syscall::FSMOUNT);
    0
}

/// `move_mount(from_dfd, from_path, to_dfd, to_path, flags)`.
#[tracepoint(category = "syscalls", name = "sys_enter_move_mount")]
pub fn sys_enter_move_mount(ctx: TracePointContext) -> u32 {
    let args = args(&ctx);
    if let Some(pending) = begin(mount_syscall::MOVE_MOUNT, args) {
        let [from, to] = &mut pending.paths;
        let [from_info, to_info] = &mut pending.path_info;
        read_string(args[1], from, from_info);
        read_string(args[3], to, to_info);
        save(&ctx, pending);
    }
    0
}

#[tracepoint(category = "syscalls", name = "sys_exit_move_mount")]
pub fn sys_exit_move_mount(ctx: TracePointContext) -> u32 {
    exit(&ctx, mount_syscall::MOVE_MOUNT);
    0
}

/// Saves a call whose arguments are `(dfd, path, flags, uattr, usize)`, or
/// only the first three for open_tree.
#[inline(always)]
fn enter_path_call(ctx: &TracePointContext, call: u32, with_attr: bool) {
    let args = args(ctx);
    if let Some(pending) = begin(call, args) {
        let [path, _] = &mut pending.paths;
        let [path_info, _] = &mut pending.path_info;
        read_string(args[1], path, path_info);
        if with_attr {
            read_attr(pending, args[3], args[4]);
        }
        save(ctx, pending);
    }
}

/// `open_tree(dfd, filename, flags)`.
#[tracepoint(category = "syscalls", name = "sys_enter_open_tree")]
pub fn sys_enter_open_tree(ctx: TracePointContext) -> u32 {
    enter_path_call(&ctx, mount_syscall::OPEN_TREE, false);
    0
}

#[tracepoint(category = "syscalls", name = "sys_exit_open_tree")]
pub fn sys_exit_open_tree(ctx: TracePointContext) -> u32 {
    exit(&ctx, mount_syscall::OPEN_TREE);
    0
}

/// `open_tree_attr(dfd, filename, flags, uattr, usize)`, Linux 6.15 and
/// later. User space attaches it only where the tracepoint exists.
#[tracepoint(category = "syscalls", name = "sys_enter_open_tree_attr")]
pub fn sys_enter_open_tree_attr(ctx: TracePointContext) -> u32 {
    enter_path_call(&ctx, mount_syscall::OPEN_TREE_ATTR, true);
    0
}

#[tracepoint(category = "syscalls", name = "sys_exit_open_tree_attr")]
pub fn sys_exit_open_tree_attr(ctx: TracePointContext) -> u32 {
    exit(&ctx, mount_syscall::OPEN_TREE_ATTR);
    0
}

/// `mount_setattr(dfd, path, flags, uattr, usize)`.
#[tracepoint(category = "syscalls", name = "sys_enter_mount_setattr")]
pub fn sys_enter_mount_setattr(ctx: TracePointContext) -> u32 {
    enter_path_call(&ctx, mount_syscall::MOUNT_SETATTR, true);
    0
}

#[tracepoint(category = "syscalls", name = "sys_exit_mount_setattr")]
pub fn sys_exit_mount_setattr(ctx: TracePointContext) -> u32 {
    exit(&ctx, mount_syscall::MOUNT_SETATTR);
    0
}
