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
        let byte = u8::try_from(number).expect("signal numbers fit in a byte");
        // SAFETY: the action only calls write(2), which is
        // async-signal-safe, on a descriptor that is never closed.
        unsafe {
            signal_hook_registry::register(number, move || {
                libc::write(writer_fd, std::ptr::from_ref(&byte).cast(), 1);
            })?;
        }
    }
    thread::Builder::new()
        .name("nstrace-signal".to_string())
        .spawn(move || {
            let mut byte = [0u8; 1];
            if let Err(error) = reader.read_exact(&mut byte) {
                warn!("signal: waiting for a second signal failed: {error}");
                return;
            }
            let name = Signal::try_from(i32::from(byte[0])).map_or("signal", Signal::as_str);
            warn!("signal: second signal ({name}) received, exiting without the final drain");
            std::process::exit(128 + i32::from(byte[0]));
        })?;
    Ok(())
}
