//! nstrace: traces Linux namespace creation and entry with eBPF.
//!
//! The pipeline, in module order: [`probe`] loads the eBPF programs with
//! field [`offsets`] read from the kernel's [`btf`]; [`collector`] drains
//! the ring buffer; [`decode`] turns bytes into records; [`translate`]
//! turns records into events; [`pipeline`] adds process and container
//! context ([`enrich`]), tags suspicious events ([`detect`]) and selects
//! them ([`filter`]); [`output`] writes them as JSON lines to standard
//! output, a file or syslog.

pub mod btf;
pub mod cli;
pub mod clock;
pub mod collector;
pub mod decode;
pub mod detect;
pub mod enrich;
pub mod filter;
pub mod flags;
pub mod namespace;
pub mod offsets;
pub mod output;
pub mod pipeline;
pub mod probe;
pub mod translate;
