//! Immediate exit on a second SIGINT or SIGTERM.
//!
//! After the first signal the collector drains the ring buffer and writes
//! its final records synchronously on the async runtime's only thread. No
//! async task runs until that is done, so a task waiting for a second
//! signal would wait as long as a blocked sink. A dedicated thread waits
//! instead: the signal handler writes the signal number to a socket pair,
//! which is async-signal-safe, and the thread logs and exits.

use std::{
    io::{self, Read},
    os::{fd::IntoRawFd, unix::net::UnixStream},
    thread,
};

use log::warn;
use nix::sys::signal::Signal;

/// Installs handlers that, from now on, end the process on SIGINT or
/// SIGTERM with status 128 plus the signal number (130 or 143).
pub fn exit_on_second_signal() -> io::Result<()> {
    let (mut reader, writer) = UnixStream::pair()?;
    // The handlers use the descriptor until the process exits, so it is
    // never closed.
    let writer_fd = writer.into_raw_fd();
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        let number = signal as i32;
        let bytes = number.to_ne_bytes();
        // SAFETY: the action only calls write(2), which is
        // async-signal-safe, on a descriptor that is never closed.
        unsafe {
            signal_hook_registry::register(number, move || {
                libc::write(writer_fd, bytes.as_ptr().cast(), bytes.len());
            })?;
        }
    }
    thread::Builder::new()
        .name("nstrace-signal".to_string())
        .spawn(move || {
            let mut bytes = [0u8; 4];
            if let Err(error) = reader.read_exact(&mut bytes) {
                warn!("signal: waiting for a second signal failed: {error}");
                return;
            }
            let number = i32::from_ne_bytes(bytes);
            let name = Signal::try_from(number).map_or("signal", Signal::as_str);
            warn!("signal: second signal ({name}) received, exiting without the final drain");
            std::process::exit(128 + number);
        })?;
    Ok(())
}
