//! Maps shared by the programs, and the offsets global.

use aya_ebpf::{
    macros::map,
    maps::{HashMap, PerCpuArray, RingBuf},
};
use nstrace_common::{
    offsets::Offsets,
    record::{loss, FdTarget, MountCall, NsSet},
};

/// Field offsets, written by user space before load.
#[unsafe(no_mangle)]
pub static OFFSETS: Offsets = Offsets::ABSENT;

/// Records for user space. User space sets the size before load.
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(4 * 1024 * 1024, 0);

/// What a syscall's entry saved for its exit, keyed by `pid_tgid`.
#[map]
pub static PENDING: HashMap<u64, Pending> = HashMap::with_max_entries(16384, 0);

/// Room to build a [`Pending`] value, which is too large for the stack.
#[map]
pub static SCRATCH: PerCpuArray<Pending> = PerCpuArray::with_max_entries(1, 0);

/// Mount calls in progress, keyed by `pid_tgid`: the part of the record
/// that each entry saved for its exit. Each entry is about 8.6 KiB and the map is preallocated, so the size
/// bounds the calls in progress at once, not the calls per second.
#[map]
pub static MOUNT_PENDING: HashMap<u64, MountCall> = HashMap::with_max_entries(512, 0);

/// Room to build a [`MountCall`], which is far too large for the 512-byte
/// BPF stack.
#[map]
pub static MOUNT_SCRATCH: PerCpuArray<MountCall> = PerCpuArray::with_max_entries(1, 0);

/// Records that could not be written, indexed by record kind, plus the
/// counters in [`loss`] for entries that did not fit a pending table.
#[map]
pub static LOSSES: PerCpuArray<u64> = PerCpuArray::with_max_entries(loss::SLOTS, 0);

/// Loss counter index for syscall entries that did not fit in `PENDING`.
pub const LOSS_PENDING: u32 = loss::PENDING;
/// Loss counter index for mount entries that did not fit in `MOUNT_PENDING`.
pub const LOSS_MOUNT_PENDING: u32 = loss::MOUNT_PENDING;

/// A syscall in progress on one thread.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Pending {
    pub syscall: u32,
    pub _pad: u32,
    pub enter_time_ns: u64,
    pub args: [u64; 4],
    pub target: FdTarget,
    pub before: NsSet,
}

/// Adds one to the loss counter at `index`.
#[inline(always)]
pub fn count_loss(index: u32) {
    if let Some(counter) = LOSSES.get_ptr_mut(index) {
        // SAFETY: the pointer comes from the map and is valid for this CPU;
        // a per-CPU counter needs no atomic update.
        unsafe { *counter += 1 };
    }
}
