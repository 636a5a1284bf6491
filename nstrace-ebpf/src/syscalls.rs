//! Tracepoints on the entry and exit of clone, clone3, unshare and setns.
//!
//! Entry saves the arguments and the caller's namespaces in `PENDING`;
//! exit writes one [`SyscallRecord`] with the result and the namespaces
//! after the call. Calls that cannot touch namespaces (a clone or unshare
//! without `CLONE_NEW*` flags) are not saved, so thread and process
//! creation pay only for the flag check.

use aya_ebpf::{
    helpers::{
        bpf_get_current_pid_tgid, bpf_get_current_task, bpf_ktime_get_boot_ns, bpf_probe_read_user,
    },
    macros::tracepoint,
    programs::TracePointContext,
};
use nstrace_common::{
    ns::clone_flag,
    record::{fd_kind, kind, syscall, SyscallRecord},
};

use crate::{
    emit,
    kernel::{read_current_task, read_fd_target, read_ns_set},
    maps::{count_loss, LOSS_PENDING, PENDING, SCRATCH},
};

/// Offset of the first argument in a `sys_enter_*` tracepoint record,
/// after the common fields and the syscall number.
const ENTER_ARGS: usize = 16;
/// Offset of the return value in a `sys_exit_*` tracepoint record.
const EXIT_RET: usize = 16;

/// All `CLONE_NEW*` flags.
const NS_FLAGS: u64 = clone_flag::NEWNS
    | clone_flag::NEWCGROUP
    | clone_flag::NEWUTS
    | clone_flag::NEWIPC
    | clone_flag::NEWUSER
    | clone_flag::NEWPID
    | clone_flag::NEWNET
    | clone_flag::NEWTIME;

/// `CSIGNAL`: the low byte of clone's flags is the exit signal, so it
/// overlaps `CLONE_NEWTIME`, which clone does not accept.
const CSIGNAL: u64 = 0xff;

fn arg(ctx: &TracePointContext, index: usize) -> u64 {
    // SAFETY: syscall tracepoint records have six 8-byte arguments after
    // ENTER_ARGS; the helper checks the read.
    unsafe { ctx.read_at::<u64>(ENTER_ARGS + index * 8) }.unwrap_or(0)
}

/// Saves a syscall entry. `args[0]` holds the flags for clone3.
fn enter(ctx: &TracePointContext, call: u32, args: [u64; 4]) {
    let Some(pending) = SCRATCH.get_ptr_mut(0) else {
        return;
    };
    // SAFETY: the scratch slot belongs to this CPU for the duration of the
    // program, and `pending` points into it.
    let pending = unsafe { &mut *pending };
    let task = unsafe { bpf_get_current_task() } as *const u8;

    pending.syscall = call;
    pending._pad = 0;
    pending.enter_time_ns = unsafe { bpf_ktime_get_boot_ns() };
    pending.args = args;
    if call == syscall::SETNS {
        read_fd_target(task, args[0] as i32, &mut pending.target);
    } else {
        pending.target = Default::default();
        pending.target.kind = fd_kind::NONE;
    }
    read_ns_set(task, &mut pending.before);

    let id = bpf_get_current_pid_tgid();
    if PENDING.insert(&id, pending, 0).is_err() {
        count_loss(LOSS_PENDING);
        aya_log_ebpf::warn!(ctx, "pending syscall table full, call {} lost", call);
    }
}

/// Writes the record of a syscall whose entry was saved.
fn exit(ctx: &TracePointContext, call: u32) {
    let id = bpf_get_current_pid_tgid();
    // SAFETY: the value is copied out before anything can change it, since
    // only this thread writes entries under its own key.
    let Some(pending) = (unsafe { PENDING.get(&id) }) else {
        return;
    };
    if pending.syscall != call {
        let _ = PENDING.remove(&id);
        return;
    }
    let ret = unsafe { ctx.read_at::<i64>(EXIT_RET) }.unwrap_or(0);

    if let Some(mut entry) = emit::reserve::<SyscallRecord>(kind::SYSCALL) {
        let task = unsafe { bpf_get_current_task() } as *const u8;
        // SAFETY: the entry is reserved for this record; every field is
        // written below before it is submitted.
        let record = unsafe { &mut *entry.as_mut_ptr() };
        record.header = emit::header(kind::SYSCALL);
        read_current_task(task, &mut record.task);
        record.syscall = call;
        record._pad = 0;
        record.enter_time_ns = pending.enter_time_ns;
        record.ret = ret;
        record.args = pending.args;
        record.target = pending.target;
        record.before = pending.before;
        read_ns_set(task, &mut record.after);
        emit::submit(entry);
    }
    let _ = PENDING.remove(&id);
}

#[tracepoint(category = "syscalls", name = "sys_enter_clone")]
pub fn sys_enter_clone(ctx: TracePointContext) -> u32 {
    let flags = arg(&ctx, 0);
    if flags & !CSIGNAL & NS_FLAGS != 0 {
        enter(
            &ctx,
            syscall::CLONE,
            [flags, arg(&ctx, 1), arg(&ctx, 2), arg(&ctx, 3)],
        );
    }
    0
}

#[tracepoint(category = "syscalls", name = "sys_exit_clone")]
pub fn sys_exit_clone(ctx: TracePointContext) -> u32 {
    exit(&ctx, syscall::CLONE);
    0
}

#[tracepoint(category = "syscalls", name = "sys_enter_clone3")]
pub fn sys_enter_clone3(ctx: TracePointContext) -> u32 {
    let uargs = arg(&ctx, 0);
    let size = arg(&ctx, 1);
    // `flags` is the first field of `struct clone_args`.
    // SAFETY: the helper checks the user address and fails on a bad one.
    let flags = unsafe { bpf_probe_read_user(uargs as *const u64) };
    match flags {
        Ok(flags) if flags & NS_FLAGS != 0 => {
            enter(&ctx, syscall::CLONE3, [flags, size, uargs, 0]);
        }
        Ok(_) => {}
        // An unreadable clone_args makes clone3 fail with EFAULT; the call
        // is saved so that the failure is reported.
        Err(_) => enter(&ctx, syscall::CLONE3, [0, size, uargs, 1]),
    }
    0
}

#[tracepoint(category = "syscalls", name = "sys_exit_clone3")]
pub fn sys_exit_clone3(ctx: TracePointContext) -> u32 {
    exit(&ctx, syscall::CLONE3);
    0
}

#[tracepoint(category = "syscalls", name = "sys_enter_unshare")]
pub fn sys_enter_unshare(ctx: TracePointContext) -> u32 {
    let flags = arg(&ctx, 0);
    if flags & NS_FLAGS != 0 {
        enter(&ctx, syscall::UNSHARE, [flags, 0, 0, 0]);
    }
    0
}

#[tracepoint(category = "syscalls", name = "sys_exit_unshare")]
pub fn sys_exit_unshare(ctx: TracePointContext) -> u32 {
    exit(&ctx, syscall::UNSHARE);
    0
}

#[tracepoint(category = "syscalls", name = "sys_enter_setns")]
pub fn sys_enter_setns(ctx: TracePointContext) -> u32 {
    enter(&ctx, syscall::SETNS, [arg(&ctx, 0), arg(&ctx, 1), 0, 0]);
    0
}

#[tracepoint(category = "syscalls", name = "sys_exit_setns")]
pub fn sys_exit_setns(ctx: TracePointContext) -> u32 {
    exit(&ctx, syscall::SETNS);
    0
}
