//! Harness for end-to-end tests of nstrace against the running kernel.
//!
//! The tests run as root. They start the `nstrace` binary, create
//! namespaces with real tools, and compare the records with what
//! `/proc/PID/ns/*` shows for the processes involved. Failures panic, as
//! test assertions do, with the records seen so far in the message.

// Every helper here fails a test by panicking, so a `# Panics` section on
// each would repeat that for no reader's benefit.
#![allow(clippy::missing_panics_doc)]

pub mod container;
pub mod lifetimes;
pub mod namespace;
pub mod process;
pub mod record;
pub mod rsyslog;
pub mod scratch;
pub mod tools;
pub mod tracer;

/// User and group id of `nobody`, used for unprivileged callers.
pub const NOBODY: u32 = 65534;
