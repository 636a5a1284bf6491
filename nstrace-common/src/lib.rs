//! Records that the nstrace eBPF programs write to the ring buffer and the
//! collector reads back, plus the kernel field offsets that the collector
//! hands to the programs before they load.
//!
//! Every type here is `#[repr(C)]`, `Copy` and made of fixed-width integers
//! and byte arrays with explicit padding, so both sides agree on the layout
//! byte for byte and no type has hidden padding.
#![no_std]

pub mod ns;
pub mod offsets;
pub mod record;

#[cfg(feature = "user")]
mod pod {
    use crate::offsets::Offsets;

    // SAFETY: `Offsets` is `#[repr(C)]`, `Copy` and made of `u32` fields
    // only, so every bit pattern is valid and it has no padding.
    unsafe impl aya::Pod for Offsets {}
}
