//! Bind mount and unmount in a private mount namespace.

use std::{ffi::CString, fs, os::unix::ffi::OsStrExt, path::Path, ptr, time::Instant};

use anyhow::Context;

use crate::{cpu_time::CpuTimes, os_error, scratch::ScratchDir, Outcome};

/// Moves this process into a new mount namespace with private propagation,
/// so that no mount it makes reaches the host, then runs `iterations` bind
/// mount + unmount pairs. One operation is one pair.
pub fn run(iterations: u64) -> anyhow::Result<Outcome> {
    let dir = ScratchDir::new("mount")?;
    let source = dir.path().join("source");
    let target = dir.path().join("target");
    for path in [&source, &target] {
        fs::create_dir(path).with_context(|| format!("creating {} failed", path.display()))?;
    }
    // SAFETY: unshare takes flags only.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return Err(os_error("unshare(CLONE_NEWNS)"));
    }
    let root = c_path(Path::new("/"))?;
    // SAFETY: the strings are NUL-terminated and outlive the call; NULL is
    // allowed for the source, type and data of a propagation change.
    let private = unsafe {
        libc::mount(
            ptr::null(),
            root.as_ptr(),
            ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            ptr::null(),
        )
    };
    if private != 0 {
        return Err(os_error("making / private"));
    }
    let source = c_path(&source)?;
    let target = c_path(&target)?;
    let cpu = CpuTimes::now()?;
    let start = Instant::now();
    for _ in 0..iterations {
        // SAFETY: as above; a bind mount needs no type or data.
        let mounted = unsafe {
            libc::mount(
                source.as_ptr(),
                target.as_ptr(),
                ptr::null(),
                libc::MS_BIND,
                ptr::null(),
            )
        };
        if mounted != 0 {
            return Err(os_error("bind mount"));
        }
        // SAFETY: target is a NUL-terminated path.
        if unsafe { libc::umount2(target.as_ptr(), 0) } != 0 {
            return Err(os_error("umount"));
        }
    }
    let elapsed = start.elapsed();
    Ok(Outcome {
        operations: iterations,
        elapsed,
        cpu: cpu.elapsed()?,
    })
}

fn c_path(path: &Path) -> anyhow::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .with_context(|| format!("path {} contains NUL", path.display()))
}
