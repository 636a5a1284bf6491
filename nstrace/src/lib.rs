//! nstrace: traces Linux namespace creation and entry, and mounts, with
//! eBPF.
//!
//! The pipeline, in module order: [`probe`] loads the eBPF programs with
//! field [`offsets`] read from the kernel's [`btf`]; [`collector`] drains
//! the ring buffer; [`decode`] turns bytes into records.
//! [`mount_tracker`] adds what mount records need from `/proc` and from
//! earlier records. [`state`] keeps the namespaces and their lifetimes,
//! using [`translate`] to turn records into events; [`pipeline`] adds
//! process and container context ([`enrich`]), tags suspicious events
//! ([`detect`]) and selects them ([`filter`]); [`output`] queues them and
//! writes them as JSON lines to standard output, a file or syslog.

pub mod btf;
pub mod cli;
pub mod clock;
pub mod collector;
pub mod decode;
pub mod detect;
pub mod dirfd;
pub mod enrich;
pub mod filter;
pub mod flags;
pub mod mount_fds;
pub mod mount_flags;
pub mod mount_tracker;
pub mod namespace;
pub mod offsets;
pub mod output;
pub mod path_text;
pub mod pipeline;
pub mod privilege;
pub mod probe;
pub mod second_signal;
pub mod state;
pub mod translate;
