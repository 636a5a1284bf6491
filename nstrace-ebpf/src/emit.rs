//! Reserving records in the ring buffer, with loss counting.

use aya_ebpf::{
    bindings::BPF_RB_NO_WAKEUP,
    helpers::{bpf_get_current_pid_tgid, bpf_get_smp_processor_id, bpf_ktime_get_boot_ns},
    maps::ring_buf::RingBufEntry,
};
use nstrace_common::record::Header;

use crate::maps::{count_loss, EVENTS};

/// Reserves room for a `T` record of `kind`, or counts a loss for `kind`
/// when the ring buffer is full.
#[inline(always)]
pub fn reserve<T: 'static>(kind: u32) -> Option<RingBufEntry<T>> {
    let entry = EVENTS.reserve::<T>(0);
    if entry.is_none() {
        count_loss(kind);
    }
    entry
}

/// Submits a record without waking the reader, which drains the ring
/// buffer on a timer; a wake-up per record costs the traced task more.
#[inline(always)]
pub fn submit<T>(entry: RingBufEntry<T>) {
    entry.submit(u64::from(BPF_RB_NO_WAKEUP));
}

/// Returns a header for the current task.
#[inline(always)]
pub fn header(kind: u32) -> Header {
    let pid_tgid = bpf_get_current_pid_tgid();
    Header {
        kind,
        // SAFETY: both helpers take no arguments and cannot fail.
        cpu: unsafe { bpf_get_smp_processor_id() },
        time_ns: unsafe { bpf_ktime_get_boot_ns() },
        tgid: (pid_tgid >> 32) as u32,
        tid: pid_tgid as u32,
    }
}
