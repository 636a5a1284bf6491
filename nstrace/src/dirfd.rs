//! Resolution of a traced call's directory fd to a path, from `/proc`.
//!
//! The link is read when the record is processed, one drain interval
//! (5 ms) or more after the call. The process may have changed its working
//! directory, closed the fd or exited in between, so records mark such
//! paths `resolved_late`.
//!
//! NOTE: the kernel prints these links relative to the reader's root, so
//! for a caller in another mount namespace or chroot the path is how
//! nstrace sees that directory, which can differ from the caller's view.

use std::{os::unix::ffi::OsStringExt, path::PathBuf};

use crate::mount_flags::AT_FDCWD;

/// Reads the directory that `dirfd` of thread `thread_id` in process `tgid`
/// refers to: its working directory for `AT_FDCWD`, else the target of
/// the fd. Returns `None` when the link cannot be read.
pub fn resolve(tgid: u32, thread_id: u32, dirfd: i32) -> Option<Vec<u8>> {
    let link = if dirfd == AT_FDCWD {
        PathBuf::from(format!("/proc/{tgid}/task/{thread_id}/cwd"))
    } else if dirfd >= 0 {
        PathBuf::from(format!("/proc/{tgid}/fd/{dirfd}"))
    } else {
        return None;
    };
    match std::fs::read_link(&link) {
        Ok(target) => Some(target.into_os_string().into_vec()),
        Err(error) => {
            log::debug!("dirfd: reading {} failed: {error}", link.display());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cwd_resolved() {
        let pid = std::process::id();
        let cwd = std::env::current_dir().unwrap().into_os_string().into_vec();
        assert_eq!(resolve(pid, pid, AT_FDCWD), Some(cwd));
    }

    #[test]
    fn negative_fd_unresolved() {
        let pid = std::process::id();
        assert_eq!(resolve(pid, pid, -1), None);
    }
}
