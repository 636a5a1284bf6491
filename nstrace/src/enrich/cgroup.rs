//! A process's control group and container, from `/proc/PID/cgroup`.

use std::{
    fs,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use super::container;
use crate::output::enrichment::{CgroupInfo, ContainerInfo};

/// State directories of the OCI runtimes that name a cgroupfs cgroup after
/// the bare container name. runc and crun, run as root, create a
/// directory per container there before its processes start.
const RUNTIME_STATE_DIRS: [(&str, &str); 2] = [("/run/runc", "runc"), ("/run/crun", "crun")];

/// Reads cgroups of processes and attributes them to containers.
#[derive(Clone, Debug)]
pub struct CgroupReader {
    /// Mount point of the cgroup v2 hierarchy, if one is mounted.
    unified_mount: Option<PathBuf>,
}

impl CgroupReader {
    /// Finds the cgroup v2 mount point in `/proc/self/mountinfo`.
    pub fn new() -> Self {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        Self {
            unified_mount: cgroup2_mount(&mountinfo),
        }
    }

    /// Reads the cgroup and container of `pid`; `None` when the process is
    /// gone.
    pub fn read(&self, pid: u32) -> Option<(CgroupInfo, Option<ContainerInfo>)> {
        let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let (mut cgroup, container) = self.attribute(&text);
        cgroup.pid = pid;
        Some((cgroup, container))
    }

    /// Picks the cgroup path to report from the text of `/proc/PID/cgroup`
    /// and finds its container. The returned `pid` is 0.
    pub fn attribute(&self, text: &str) -> (CgroupInfo, Option<ContainerInfo>) {
        let lines = parse_lines(text);
        let unified = lines.iter().find(|line| line.hierarchy == "0");
        let id = unified.and_then(|line| self.cgroup_id(line.path));

        // The first hierarchy whose path names a container wins; on hybrid
        // systems runtimes may set up only the v1 hierarchies.
        for line in ordered(&lines) {
            if let Some(found) = container::attribute(line.path, runtime_of_name) {
                let cgroup = CgroupInfo {
                    path: line.path.to_string(),
                    id: (Some(line) == unified).then_some(id).flatten(),
                    pid: 0,
                };
                return (cgroup, Some(found));
            }
        }
        let path = ordered(&lines)
            .next()
            .map_or_else(|| "/".to_string(), |line| line.path.to_string());
        let id = unified.filter(|line| line.path == path).and(id);
        let cgroup = CgroupInfo { path, id, pid: 0 };
        (cgroup, None)
    }

    /// Inode number of the cgroup v2 directory, which is the kernel's
    /// cgroup id.
    fn cgroup_id(&self, path: &str) -> Option<u64> {
        let mount = self.unified_mount.as_ref()?;
        let dir = mount.join(path.trim_start_matches('/'));
        fs::metadata(dir).ok().map(|m| m.ino())
    }
}

impl Default for CgroupReader {
    fn default() -> Self {
        Self::new()
    }
}

/// One line of `/proc/PID/cgroup`: `HIERARCHY:CONTROLLERS:PATH`.
#[derive(Debug, PartialEq, Eq)]
struct CgroupLine<'a> {
    hierarchy: &'a str,
    controllers: &'a str,
    path: &'a str,
}

fn parse_lines(text: &str) -> Vec<CgroupLine<'_>> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            Some(CgroupLine {
                hierarchy: parts.next()?,
                controllers: parts.next()?,
                path: parts.next()?,
            })
        })
        .collect()
}

/// Lines in the order their paths are tried: cgroup v2, then v1
/// `name=systemd`, then the other v1 hierarchies; paths of `/` left out.
fn ordered<'a, 'b>(lines: &'b [CgroupLine<'a>]) -> impl Iterator<Item = &'b CgroupLine<'a>> {
    let rank = |line: &CgroupLine| match (line.hierarchy, line.controllers) {
        ("0", _) => 0,
        (_, "name=systemd") => 1,
        _ => 2,
    };
    let mut sorted: Vec<&CgroupLine> = lines.iter().filter(|line| line.path != "/").collect();
    sorted.sort_by_key(|line| rank(line));
    sorted.into_iter()
}

/// Runtime whose state directory lists a container named `name`.
fn runtime_of_name(name: &str) -> Option<&'static str> {
    if name.contains('.') || name.is_empty() {
        return None;
    }
    RUNTIME_STATE_DIRS
        .iter()
        .find(|(dir, _)| Path::new(dir).join(name).is_dir())
        .map(|(_, runtime)| *runtime)
}

/// Mount point of the first `cgroup2` file system in mountinfo text.
fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (fields, rest) = line.split_once(" - ")?;
        let fs_type = rest.split_whitespace().next()?;
        if fs_type != "cgroup2" {
            return None;
        }
        fields.split_whitespace().nth(4).map(PathBuf::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4b8e6a1c2d9e0f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f";

    fn reader() -> CgroupReader {
        CgroupReader {
            unified_mount: None,
        }
    }

    #[test]
    fn unified_container_path() {
        let text = format!("0::/system.slice/docker-{ID}.scope\n");
        let (cgroup, found) = reader().attribute(&text);
        assert_eq!(cgroup.path, format!("/system.slice/docker-{ID}.scope"));
        assert_eq!(found.unwrap().runtime, "docker");
    }

    #[test]
    fn hybrid_v1_container_path() {
        let text = format!("9:name=systemd:/\n4:memory:/docker/{ID}\n1:cpu:/docker/{ID}\n0::/\n");
        let (cgroup, found) = reader().attribute(&text);
        assert_eq!(cgroup.path, format!("/docker/{ID}"));
        assert_eq!(found.unwrap().id, ID);
        assert_eq!(cgroup.id, None);
    }

    #[test]
    fn host_process_reports_v2_path() {
        let text = "9:name=systemd:/user.slice/session-1.scope\n0::/user.slice/session-1.scope\n";
        let (cgroup, found) = reader().attribute(text);
        assert_eq!(cgroup.path, "/user.slice/session-1.scope");
        assert!(found.is_none());
    }

    #[test]
    fn root_cgroup_reported() {
        let (cgroup, found) = reader().attribute("0::/\n");
        assert_eq!(cgroup.path, "/");
        assert!(found.is_none());
    }

    #[test]
    fn cgroup2_mount_found() {
        let mountinfo = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_mount(mountinfo),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
    }

    #[test]
    fn root_cgroup_id_is_mount_inode() {
        let reader = CgroupReader::new();
        let mount = reader
            .unified_mount
            .clone()
            .expect("no cgroup2 file system in /proc/self/mountinfo");
        let (cgroup, _) = reader.attribute("0::/\n");
        assert_eq!(cgroup.id, Some(fs::metadata(mount).unwrap().ino()));
    }
}
