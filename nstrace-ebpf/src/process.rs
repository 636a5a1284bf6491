//! BTF tracepoints on task creation, exec and exit.

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_get_current_task},
    macros::btf_tracepoint,
    programs::BtfTracePointContext,
};
use nstrace_common::record::{
    kind, syscall, ExecRecord, ExitRecord, ForkRecord, EXEC_FILENAME_LEN,
};

use crate::{
    emit,
    kernel::{read_current_task, read_exec_filename, read_exit, read_ids, read_ns_set},
    maps::PENDING,
};

/// `sched_process_fork(struct task_struct *parent, struct task_struct *child)`,
/// called in the parent after the child has its namespaces.
#[btf_tracepoint(function = "sched_process_fork")]
pub fn sched_process_fork(ctx: BtfTracePointContext) -> u32 {
    let parent: *const u8 = ctx.arg(0);
    let child: *const u8 = ctx.arg(1);
    let Some(mut entry) = emit::reserve::<ForkRecord>(kind::FORK) else {
        return 0;
    };
    // SAFETY: the entry is reserved for this record; every field is
    // written below before it is submitted.
    let record = unsafe { &mut *entry.as_mut_ptr() };
    record.header = emit::header(kind::FORK);
    read_current_task(parent, &mut record.task);
    let (child_tgid, child_tid) = read_ids(child);
    record.child_tgid = child_tgid;
    record.child_tid = child_tid;
    record.clone_flags = 0;
    record.clone_syscall = 0;
    record._pad = 0;
    let id = bpf_get_current_pid_tgid();
    // SAFETY: the entry is read once and only this thread writes it.
    if let Some(pending) = unsafe { PENDING.get(&id) } {
        if pending.syscall == syscall::CLONE || pending.syscall == syscall::CLONE3 {
            record.clone_flags = pending.args[0];
            record.clone_syscall = pending.syscall;
        }
    }
    read_ns_set(child, &mut record.child);
    emit::submit(entry);
    0
}

/// `sched_process_exec(struct task_struct *p, pid_t old_pid,
/// struct linux_binprm *bprm)`, called in the task after a successful exec.
#[btf_tracepoint(function = "sched_process_exec")]
pub fn sched_process_exec(ctx: BtfTracePointContext) -> u32 {
    let old_tid: i32 = ctx.arg(1);
    let bprm: *const u8 = ctx.arg(2);
    let Some(mut entry) = emit::reserve::<ExecRecord>(kind::EXEC) else {
        return 0;
    };
    // SAFETY: as in sched_process_fork.
    let record = unsafe { &mut *entry.as_mut_ptr() };
    record.header = emit::header(kind::EXEC);
    let task = unsafe { bpf_get_current_task() } as *const u8;
    read_current_task(task, &mut record.task);
    record.old_tid = old_tid as u32;
    let len = read_exec_filename(bprm, &mut record.filename);
    record.filename_len = if len as usize > EXEC_FILENAME_LEN {
        EXEC_FILENAME_LEN as u32
    } else {
        len
    };
    emit::submit(entry);
    0
}

/// `sched_process_exit(struct task_struct *p, ...)`, called in the exiting
/// task before it leaves its namespaces. Linux 6.18 adds a `group_dead`
/// argument; it is read from `signal->live` instead, which older kernels
/// have too.
#[btf_tracepoint(function = "sched_process_exit")]
pub fn sched_process_exit(_ctx: BtfTracePointContext) -> u32 {
    let Some(mut entry) = emit::reserve::<ExitRecord>(kind::EXIT) else {
        return 0;
    };
    // SAFETY: as in sched_process_fork.
    let record = unsafe { &mut *entry.as_mut_ptr() };
    record.header = emit::header(kind::EXIT);
    let task = unsafe { bpf_get_current_task() } as *const u8;
    read_current_task(task, &mut record.task);
    let (exit_code, group_dead) = read_exit(task);
    record.exit_code = exit_code;
    record.group_dead = group_dead;
    read_ns_set(task, &mut record.ns);
    emit::submit(entry);
    0
}
