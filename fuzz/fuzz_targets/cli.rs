//! Checks that parsing and resolving arbitrary argument vectors returns a
//! configuration or an error without panicking, and that a resolved
//! configuration has the positive intervals the collector's timers need.
//!
//! The input is the arguments separated by NUL bytes, as in
//! `/proc/PID/cmdline`, so that `fuzz/cli.dict` entries and seeds read
//! naturally. Arguments may be invalid UTF-8.

#![no_main]

use std::{ffi::OsStr, os::unix::ffi::OsStrExt, time::Duration};

use clap::Parser;
use libfuzzer_sys::fuzz_target;
use nstrace::cli::Args;

fuzz_target!(|data: &[u8]| {
    let argv = std::iter::once(OsStr::new("nstrace"))
        .chain(data.split(|&byte| byte == 0).map(OsStr::from_bytes));
    let Ok(parsed) = Args::try_parse_from(argv) else {
        return;
    };
    let Ok(config) = parsed.resolve() else {
        return;
    };
    assert!(config.health_interval > Duration::ZERO, "{config:?}");
    if let Some(duration) = config.duration {
        assert!(duration > Duration::ZERO, "{config:?}");
    }
    assert!(config.ring_buffer_bytes.is_power_of_two(), "{config:?}");
});
