//! Namespace identities as the kernel shows them under `/proc/PID/ns`.

use std::{
    fs, io,
    os::{fd::AsRawFd, unix::fs::MetadataExt},
    path::{Path, PathBuf},
};

/// Path of a namespace file, such as `/proc/42/ns/net`. `pid` may be
/// `self`.
pub fn ns_path(pid: impl std::fmt::Display, ns_name: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/{ns_name}"))
}

/// Inode number of a process's namespace, parsed from the link target
/// `net:[4026531840]`.
/// Fails the test when the link cannot be read.
#[track_caller]
pub fn ns_inode(pid: impl std::fmt::Display, ns_name: &str) -> u64 {
    let path = ns_path(pid, ns_name);
    read_ns_inode(&path)
        .unwrap_or_else(|error| panic!("reading namespace link {} failed: {error}", path.display()))
}

/// Inode number of the namespace that the link at `path` names, or the
/// error, for callers that poll a process that may have exited.
pub fn read_ns_inode(path: &Path) -> io::Result<u64> {
    let target = fs::read_link(path)?;
    let target = target.to_string_lossy();
    parse_ns_link(&target).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("link points to {target:?}, expected the form net:[INODE]"),
        )
    })
}

/// Inode number of the test process's own namespace of this type.
#[track_caller]
#[must_use]
pub fn own_ns_inode(ns_name: &str) -> u64 {
    ns_inode("self", ns_name)
}

/// Returns the kernel's 64-bit id of a process's namespace, from the `NS_GET_ID`
/// ioctl (Linux 6.18 and later). Unlike inode numbers, ids are never
/// reused. Fails the test when the file cannot be opened or the kernel
/// has no such ioctl.
#[track_caller]
pub fn ns_id(pid: impl std::fmt::Display, ns_name: &str) -> u64 {
    /// `NS_GET_ID` from `include/uapi/linux/nsfs.h`: `_IOR(0xb7, 0xd, __u64)`.
    const NS_GET_ID: libc::c_ulong = 0x8008_b70d;
    let path = ns_path(pid, ns_name);
    let file = fs::File::open(&path)
        .unwrap_or_else(|error| panic!("opening {} failed: {error}", path.display()));
    let mut id: u64 = 0;
    // SAFETY: NS_GET_ID writes one u64 to the pointer, which is valid.
    let ret = unsafe { libc::ioctl(file.as_raw_fd(), NS_GET_ID, &raw mut id) };
    assert_eq!(
        ret,
        0,
        "NS_GET_ID on {} failed: {}; the kernel needs Linux 6.18 or later",
        path.display(),
        io::Error::last_os_error()
    );
    id
}

/// Device number of the filesystem that contains the namespace file
/// (nsfs), as `stat -L -c %d` prints it.
#[track_caller]
pub fn ns_dev(pid: impl std::fmt::Display, ns_name: &str) -> u64 {
    let path = ns_path(pid, ns_name);
    fs::metadata(&path)
        .unwrap_or_else(|error| panic!("stat of {} failed: {error}", path.display()))
        .dev()
}

/// Parses `TYPE:[INODE]` into the inode number.
fn parse_ns_link(target: &str) -> Option<u64> {
    let (_, rest) = target.split_once(":[")?;
    rest.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_target_parsed() {
        assert_eq!(parse_ns_link("net:[4026531840]"), Some(4_026_531_840));
        assert_eq!(
            parse_ns_link("pid_for_children:[4026531836]"),
            Some(4_026_531_836)
        );
    }

    #[test]
    fn malformed_link_rejected() {
        assert_eq!(parse_ns_link("net:4026531840"), None);
        assert_eq!(parse_ns_link("net:[]"), None);
        assert_eq!(parse_ns_link("/tmp/file"), None);
    }
}
