//! Loops of system calls that no tracer here hooks.

use std::{fs, hint::black_box, os::fd::AsRawFd, time::Instant};

use anyhow::Context;

use crate::{cpu_time::CpuTimes, os_error, scratch::ScratchDir, Outcome};

const READ_BYTES: usize = 4096;

/// Calls getppid `iterations` times. glibc does not cache its result, so
/// each call enters the kernel.
pub fn getppid(iterations: u64) -> anyhow::Result<Outcome> {
    let cpu = CpuTimes::now()?;
    let start = Instant::now();
    for _ in 0..iterations {
        // SAFETY: getppid has no arguments and cannot fail.
        black_box(unsafe { libc::getppid() });
    }
    let elapsed = start.elapsed();
    Ok(Outcome {
        operations: iterations,
        elapsed,
        cpu: cpu.elapsed()?,
    })
}

/// Reads the first 4 KiB of a file `iterations` times with pread.
pub fn read(iterations: u64) -> anyhow::Result<Outcome> {
    let dir = ScratchDir::new("read")?;
    let path = dir.path().join("data");
    fs::write(&path, [0x5a_u8; READ_BYTES])
        .with_context(|| format!("writing {} failed", path.display()))?;
    let file =
        fs::File::open(&path).with_context(|| format!("opening {} failed", path.display()))?;
    let mut buffer = [0_u8; READ_BYTES];
    let cpu = CpuTimes::now()?;
    let start = Instant::now();
    for _ in 0..iterations {
        // SAFETY: buffer is valid for READ_BYTES bytes of writes.
        let read =
            unsafe { libc::pread(file.as_raw_fd(), buffer.as_mut_ptr().cast(), READ_BYTES, 0) };
        if read < 0 {
            return Err(os_error("pread"));
        }
        black_box(&buffer);
    }
    let elapsed = start.elapsed();
    Ok(Outcome {
        operations: iterations,
        elapsed,
        cpu: cpu.elapsed()?,
    })
}
