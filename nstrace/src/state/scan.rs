//! A scan of `/proc` for the namespaces that tasks are in and the nsfs
//! files and bind mounts that hold namespaces, as `lsns` finds them.

use std::{
    collections::{HashMap, HashSet},
    fs::{self, File},
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use nstrace_common::ns::NS_SLOTS;

use super::tasks::Slots;
use crate::{
    namespace::{NsType, SLOTS},
    output::event::Pin,
};

/// `NS_GET_USERNS`, `NS_GET_PARENT` and `NS_GET_ID` from
/// `include/uapi/linux/nsfs.h`; `NS_GET_ID` exists since Linux 6.18.
const NS_GET_USERNS: libc::c_ulong = 0xb701;
const NS_GET_PARENT: libc::c_ulong = 0xb702;
const NS_GET_ID: libc::c_ulong = 0x8008_b70d;

/// One task found in `/proc`.
#[derive(Clone, Debug)]
pub struct TaskSnapshot {
    pub tgid: u32,
    pub tid: u32,
    pub slots: Slots,
}

/// A namespace found in `/proc`, with what the nsfs ioctls returned.
#[derive(Clone, Debug)]
pub struct NsDetails {
    pub ns_type: NsType,
    pub inode: u32,
    pub id: Option<u64>,
    pub owner: Option<u32>,
    pub parent: Option<u32>,
}

/// Result of a scan.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub tasks: Vec<TaskSnapshot>,
    /// Namespaces by inode, filled only by a scan with details.
    pub namespaces: HashMap<u32, NsDetails>,
    /// nsfs files and bind mounts, by the inode of the namespace they hold.
    pub pins: HashMap<u32, Vec<Pin>>,
}

/// Parses an nsfs link target such as `net:[4026531840]`.
pub fn parse_link(target: &str) -> Option<(NsType, u32)> {
    let (name, rest) = target.split_once(":[")?;
    let inode = rest.strip_suffix(']')?.parse().ok()?;
    Some((NsType::from_name(name)?, inode))
}

fn read_link(path: &Path) -> Option<(NsType, u32)> {
    let target = fs::read_link(path).ok()?;
    parse_link(target.to_str()?)
}

fn numeric_entries(dir: &Path) -> Vec<u32> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Scans `/proc`. With `details`, opens each namespace once to read its
/// id, owner and parent.
pub fn scan(details: bool) -> Snapshot {
    let mut snapshot = Snapshot::default();
    // A path through which each namespace can be opened, for the details.
    let mut openers: HashMap<u32, (NsType, PathBuf)> = HashMap::new();
    let mut seen_mounts: HashSet<(u32, String)> = HashSet::new();

    for pid in numeric_entries(Path::new("/proc")) {
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        for tid in numeric_entries(&proc_dir.join("task")) {
            let ns_dir = proc_dir.join(format!("task/{tid}/ns"));
            let mut slots = [0u32; NS_SLOTS];
            for (slot, (name, _)) in SLOTS.iter().enumerate() {
                let path = ns_dir.join(name);
                if let Some((ns_type, inode)) = read_link(&path) {
                    slots[slot] = inode;
                    openers.entry(inode).or_insert((ns_type, path));
                }
            }
            if slots.iter().any(|&inode| inode != 0) {
                snapshot.tasks.push(TaskSnapshot {
                    tgid: pid,
                    tid,
                    slots,
                });
            }
        }

        let fd_dir = proc_dir.join("fd");
        for fd in numeric_entries(&fd_dir) {
            let path = fd_dir.join(fd.to_string());
            if let Some((ns_type, inode)) = read_link(&path) {
                snapshot.pins.entry(inode).or_default().push(Pin {
                    kind: "fd",
                    pid: Some(pid),
                    detail: fd.to_string(),
                });
                openers.entry(inode).or_insert((ns_type, path));
            }
        }

        let Ok(mountinfo) = fs::read_to_string(proc_dir.join("mountinfo")) else {
            continue;
        };
        for line in mountinfo.lines() {
            let Some((fields, tail)) = line.split_once(" - ") else {
                continue;
            };
            if !tail.starts_with("nsfs ") {
                continue;
            }
            let fields: Vec<&str> = fields.split(' ').collect();
            let (Some(root), Some(mount_point)) = (fields.get(3), fields.get(4)) else {
                continue;
            };
            let Some((ns_type, inode)) = parse_link(root) else {
                continue;
            };
            let mount_point = unescape_mountinfo(mount_point);
            if !seen_mounts.insert((inode, mount_point.clone())) {
                continue;
            }
            snapshot.pins.entry(inode).or_default().push(Pin {
                kind: "mount",
                pid: Some(pid),
                detail: mount_point.clone(),
            });
            openers.entry(inode).or_insert((
                ns_type,
                PathBuf::from(format!("/proc/{pid}/root{mount_point}")),
            ));
        }
    }

    if details {
        for (inode, (ns_type, path)) in openers {
            snapshot
                .namespaces
                .insert(inode, read_details(ns_type, inode, &path));
        }
    }
    snapshot
}

/// Undoes the octal escapes (`\040` for a space) of mountinfo fields.
fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value =
                (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(value);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Opens the namespace at `path` and reads its id, owner and parent.
fn read_details(ns_type: NsType, inode: u32, path: &Path) -> NsDetails {
    let mut details = NsDetails {
        ns_type,
        inode,
        id: None,
        owner: None,
        parent: None,
    };
    let Ok(file) = File::open(path) else {
        return details;
    };
    let fd = file.as_raw_fd();
    let mut id: u64 = 0;
    // SAFETY: NS_GET_ID writes one u64 to the pointer, which is valid.
    if unsafe { libc::ioctl(fd, NS_GET_ID, &raw mut id) } == 0 {
        details.id = Some(id);
    }
    details.owner = related_inode(fd, NS_GET_USERNS);
    if matches!(ns_type, NsType::Pid | NsType::User) {
        details.parent = related_inode(fd, NS_GET_PARENT);
    }
    if ns_type == NsType::User {
        // For a user namespace the owner is its parent.
        details.owner = details.parent;
        details.parent = None;
    }
    details
}

/// Runs an nsfs ioctl that returns a new fd, and returns that fd's inode.
fn related_inode(fd: i32, request: libc::c_ulong) -> Option<u32> {
    // SAFETY: these ioctls take no argument and return a new fd or -1.
    let related = unsafe { libc::ioctl(fd, request) };
    if related < 0 {
        return None;
    }
    // SAFETY: the ioctl returned a new fd that nothing else owns.
    let related = unsafe { OwnedFd::from_raw_fd(related) };
    let file = File::from(related);
    file.metadata()
        .ok()
        .and_then(|m| u32::try_from(m.ino()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_parsed() {
        assert_eq!(
            parse_link("net:[4026531840]"),
            Some((NsType::Net, 4_026_531_840))
        );
        assert_eq!(parse_link("pid_for_children:[1]"), None);
        assert_eq!(parse_link("socket:[123]"), None);
        assert_eq!(parse_link("net:[x]"), None);
    }

    #[test]
    fn mountinfo_escapes_undone() {
        assert_eq!(unescape_mountinfo("/run/netns/a\\040b"), "/run/netns/a b");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
        assert_eq!(unescape_mountinfo("/end\\04"), "/end\\04");
    }

    #[test]
    fn own_namespaces_found() {
        let snapshot = scan(true);
        let me = std::process::id();
        let task = snapshot
            .tasks
            .iter()
            .find(|t| t.tid == me)
            .expect("this process in /proc");
        let net = fs::read_link("/proc/self/ns/net").unwrap();
        let (_, inode) = parse_link(net.to_str().unwrap()).unwrap();
        assert_eq!(task.slots[5], inode);
        assert!(snapshot.namespaces.contains_key(&inode));
    }
}
