//! The initial ("host") namespaces, against which rules compare.

use std::{collections::BTreeMap, fs, io};

use crate::namespace::NsType;

/// The process whose namespaces are the host's: kthreadd, the parent of
/// every kernel thread, which never leaves the initial namespaces. PID 1
/// is not used because a container runtime or a sandbox may run it in
/// other namespaces or hide its links.
pub const REFERENCE_PID: u32 = 2;

/// Inode numbers of the initial namespaces, by type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostNamespaces {
    inodes: BTreeMap<NsType, u32>,
}

impl HostNamespaces {
    /// Reads `/proc/2/ns/*`. Types that the kernel lacks are left out; the
    /// error of the first unreadable link that exists is returned.
    pub fn read() -> io::Result<Self> {
        let mut inodes = BTreeMap::new();
        for ns_type in NsType::ALL {
            let path = format!("/proc/{REFERENCE_PID}/ns/{}", ns_type.name());
            match fs::read_link(&path) {
                Ok(target) => {
                    let inode = parse_link(&target.to_string_lossy()).ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "{path} points to {}, expected TYPE:[INODE]",
                                target.display()
                            ),
                        )
                    })?;
                    inodes.insert(ns_type, inode);
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(io::Error::new(
                        error.kind(),
                        format!("reading {path} failed: {error}"),
                    ))
                }
            }
        }
        Ok(Self { inodes })
    }

    /// A set with the given inodes, for tests.
    pub fn from_inodes(inodes: impl IntoIterator<Item = (NsType, u32)>) -> Self {
        Self {
            inodes: inodes.into_iter().collect(),
        }
    }

    /// Inode of the host namespace of this type.
    pub fn inode(&self, ns_type: NsType) -> Option<u32> {
        self.inodes.get(&ns_type).copied()
    }

    /// Whether `inode` is the host namespace of type `ns_type`.
    pub fn contains(&self, ns_type: NsType, inode: u32) -> bool {
        self.inode(ns_type) == Some(inode)
    }
}

/// Parses `net:[4026531833]` into 4026531833.
fn parse_link(target: &str) -> Option<u32> {
    let (_, rest) = target.split_once(":[")?;
    rest.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_namespaces_read() {
        let host = HostNamespaces::read().unwrap();
        let own = fs::read_link("/proc/2/ns/net").unwrap();
        let inode = parse_link(&own.to_string_lossy()).unwrap();
        assert_eq!(host.inode(NsType::Net), Some(inode));
        assert!(host.inode(NsType::User).is_some());
    }
}
