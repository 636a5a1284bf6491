//! nstrace: traces Linux namespace creation and entry, and mounts, with
//! eBPF.
//!
//! The pipeline, in module order: [`probe`] loads the eBPF programs with
//! field [`offsets`] read from the kernel's [`btf`]; [`collector`] drains
//! the ring buffer; [`decode`] turns bytes into records.
//! [`mount_tracker`] adds what mount records need from `/proc` and from
//! earlier records. Then [`translate`] turns records into events;
//! [`filter`] selects them; [`output`] writes them as JSON lines.

pub mod btf;
pub mod cli;
pub mod clock;
pub mod collector;
pub mod decode;
pub mod dirfd;
pub mod filter;
pub mod flags;
pub mod mount_fds;
pub mod mount_flags;
pub mod mount_tracker;
pub mod namespace;
pub mod offsets;
pub mod output;
pub mod path_text;
pub mod privilege;
pub mod probe;
pub mod state;
pub mod translate;
