//! Hooks on the kernel's release of namespace inodes, for exact
//! destruction times. Both load only where the kernel allows them: fentry
//! needs BPF trampolines, the kprobe needs CONFIG_KPROBES.

use aya_ebpf::{
    macros::{fentry, kprobe},
    programs::{FEntryContext, ProbeContext},
};
use nstrace_common::record::{kind, NsFreeRecord};

use crate::emit;

fn write_free(inode: u32) {
    let Some(mut entry) = emit::reserve::<NsFreeRecord>(kind::NS_FREE) else {
        return;
    };
    // SAFETY: the entry is reserved for this record; every field is
    // written below before it is submitted.
    let record = unsafe { &mut *entry.as_mut_ptr() };
    record.header = emit::header(kind::NS_FREE);
    record.inode = inode;
    record._pad = 0;
    emit::submit(entry);
}

/// `void proc_free_inum(unsigned int inum)`, called when a namespace (or
/// another proc inode) gives its inode number back.
#[fentry(function = "proc_free_inum")]
pub fn proc_free_inum(ctx: FEntryContext) -> u32 {
    let inode: u32 = ctx.arg(0);
    write_free(inode);
    0
}

/// The same hook as a kprobe, for kernels without BPF trampolines.
#[kprobe(function = "proc_free_inum")]
pub fn proc_free_inum_kprobe(ctx: ProbeContext) -> u32 {
    if let Some(inode) = ctx.arg::<u32>(0) {
        write_free(inode);
    }
    0
}
