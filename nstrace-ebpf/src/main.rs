//! eBPF programs of nstrace.
//!
//! Syscall tracepoints save the arguments and the caller's namespaces at
//! entry, and write one record at exit. BTF tracepoints on the scheduler's
//! fork, exec and exit events write one record each. Kernel struct fields
//! are read at offsets that user space fills in from the running kernel's
//! BTF before load; see `nstrace_common::offsets`.
#![no_std]
#![no_main]

mod emit;
mod kernel;
mod lifetime;
mod maps;
mod mounts;
mod process;
mod syscalls;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // A reachable panic is rejected by the verifier, since this loop never
    // ends; the programs are written so that none is reachable.
    loop {}
}

/// License of the programs; GPL is needed for `bpf_probe_read_kernel`.
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
