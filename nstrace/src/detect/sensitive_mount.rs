//! Rule `sensitive_host_mount`: a process in a mount namespace other than
//! the host's mounts a host path that hands it the host: the root
//! directory, `/proc` or `/sys`, a container runtime's API socket (or a
//! directory that contains one), or a cgroup v1 `release_agent` file; or it
//! mounts a writable cgroup v1 hierarchy, whose `release_agent` runs a
//! program of its choosing on the host. Container escapes and runtimes
//! misconfigured into giving them away (`docker run -v /:/host`,
//! `-v /var/run/docker.sock:...`) look like this.
//!
//! Calls that count, when they succeed:
//!
//! - mount(2) with `MS_BIND` and without `MS_REMOUNT`: its `source`;
//! - `move_mount` of a tree that `open_tree` cloned (`OPEN_TREE_CLONE`) in
//!   the same process: the `open_tree` path (`attached.source`);
//! - mount(2) of a new file system of type `cgroup`, and `move_mount` of
//!   an fsmount whose fsopen type is `cgroup`, unless read-only
//!   (`MS_RDONLY`, `MOUNT_ATTR_RDONLY`), since `release_agent` can then
//!   not be written. The source of an fsmount is a device name, not a
//!   path, so only its type is checked.
//!
//! Host paths are matched whole, not as prefixes: `/proc/sys` is not
//! `/proc`, because runc and systemd bind subdirectories of `/proc` and
//! `/sys` onto themselves to make them read-only in every container and
//! sandbox. A directory that holds a runtime socket (`/run`, `/var/run`,
//! `/var`, `/run/containerd`) matches, since it exposes the socket. The
//! runtime sockets are Docker's (`docker.sock`), containerd's
//! (`containerd/containerd.sock`), rootful podman's
//! (`podman/podman.sock`) and CRI-O's (`crio/crio.sock`), under `/run` or
//! `/var/run`. A rootless podman socket (`/run/user/UID/...`) gives only
//! its user's rights and does not match.
//!
//! Paths are compared as the caller wrote them, after lexical
//! normalization: repeated `/`, `.` and `..` are resolved without
//! following symlinks, and a relative path is joined to the directory in
//! its `relative_to` (read late from `/proc`). Bytes that are not UTF-8
//! are compared as bytes. A path is the caller's view: in a container
//! after `pivot_root`, `/proc` is the container's; runtimes make their
//! bind mounts before `pivot_root`, when host paths are still host paths.
//!
//! A truncated source always alerts, at medium severity: the kernel
//! rejects paths longer than the 4095 bytes nstrace keeps, so a successful
//! call with a truncated path means that the string changed after
//! nstrace read it; and since `..` may climb out of any prefix, no kept
//! prefix shows that the whole path was harmless. A source that could not
//! be read, or a relative one whose directory nstrace could not read,
//! does not alert: nothing is known of it.
//!
//! The mount namespace is the caller's at the call (`ns.inode`), compared
//! with the host's (that of kthreadd). A record without it does not
//! alert, since nothing shows that the caller was outside the host's.

use super::{container_escape, HostNamespaces, Rule};
use crate::{
    namespace::NsType,
    output::{
        alert::{Alert, Severity, Technique},
        event::{Body, Event, Mount, Outcome},
    },
    path_text::PathText,
};

/// MITRE ATT&CK T1611.
pub const TECHNIQUE: Technique = container_escape::TECHNIQUE;

/// Container runtime API sockets, as path components under `/run` (and
/// `/var/run`, which is normally a symlink to it).
const RUNTIME_SOCKETS: [(&[&[u8]], &str); 4] = [
    (&[b"docker.sock"], "Docker"),
    (&[b"containerd", b"containerd.sock"], "containerd"),
    (&[b"podman", b"podman.sock"], "podman"),
    (&[b"crio", b"crio.sock"], "CRI-O"),
];

/// Maximum bytes of a path that an alert's reason quotes.
const MAX_QUOTED: usize = 256;

pub struct SensitiveMount {
    host: HostNamespaces,
}

impl SensitiveMount {
    pub fn new(host: HostNamespaces) -> Self {
        Self { host }
    }
}

impl Rule for SensitiveMount {
    fn name(&self) -> &'static str {
        "sensitive_host_mount"
    }

    fn check(&mut self, event: &Event) -> Option<Alert> {
        let Body::Mount(mount) = &event.body else {
            return None;
        };
        if mount.outcome != Outcome::Success {
            return None;
        }
        let inode = mount.ns.inode?;
        if self.host.inode(NsType::Mnt)? == inode {
            return None;
        }
        let finding = finding(mount)?;
        let target = mount
            .target
            .as_ref()
            .map_or_else(|| "an unknown target".to_string(), quote);
        let (severity, what) = match finding {
            Finding::Path {
                call,
                path,
                sensitive,
            } => (
                Severity::High,
                format!("{call} of {} ({sensitive})", quote_bytes(&path)),
            ),
            Finding::Truncated { call, kept } => (
                Severity::Medium,
                format!(
                    "{call} of a truncated path, whose unseen rest may make it a sensitive host path such as / (kept {} bytes: {}...)",
                    kept.len(),
                    String::from_utf8_lossy(&kept[..kept.len().min(MAX_QUOTED)])
                ),
            ),
            Finding::CgroupV1 { call } => (
                Severity::High,
                format!("{call} of a writable cgroup v1 hierarchy, whose release_agent runs a program on the host"),
            ),
        };
        Some(Alert {
            rule: self.name(),
            severity,
            technique: TECHNIQUE,
            reason: format!(
                "{what} onto {target} by a process in mount namespace mnt:[{inode}], not the host's"
            ),
        })
    }
}

/// Part of a mount record that makes it sensitive.
#[derive(Debug, PartialEq, Eq)]
enum Finding {
    /// A sensitive host path, normalized.
    Path {
        call: &'static str,
        path: Vec<u8>,
        sensitive: String,
    },
    /// A truncated path: the bytes kept, joined to their directory.
    Truncated { call: &'static str, kept: Vec<u8> },
    /// A writable cgroup v1 file system.
    CgroupV1 { call: &'static str },
}

/// Returns the path, truncated path or cgroup v1 file system that `mount`
/// attached, when it is sensitive.
fn finding(mount: &Mount) -> Option<Finding> {
    let flags = &mount.syscall.flags;
    let has = |name: &str| flags.iter().any(|flag| flag == name);
    match mount.syscall.name {
        "mount" if has("MS_BIND") && !has("MS_REMOUNT") => {
            source_finding("bind mount", mount.source.as_ref()?)
        }
        "mount"
            if !has("MS_REMOUNT")
                && !has("MS_MOVE")
                && !has("MS_RDONLY")
                && !super::userns_privileged_op::propagation_only(flags)
                && is_cgroup_v1(mount.fstype.as_ref()) =>
        {
            Some(Finding::CgroupV1 { call: "mount" })
        }
        "move_mount" => {
            let attached = mount.attached.as_ref()?;
            let attached_has = |name: &str| attached.flags.iter().any(|flag| flag == name);
            match attached.kind {
                "open_tree" if attached_has("OPEN_TREE_CLONE") => {
                    source_finding("open_tree clone and move_mount", attached.source.as_ref()?)
                }
                "fsmount"
                    if !attached_has("MOUNT_ATTR_RDONLY")
                        && is_cgroup_v1(attached.fstype.as_ref()) =>
                {
                    Some(Finding::CgroupV1 {
                        call: "fsmount and move_mount",
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Returns whether a file system type is cgroup v1's, `cgroup` exactly,
/// because the kernel looks types up by their whole name.
fn is_cgroup_v1(fstype: Option<&PathText>) -> bool {
    fstype
        .is_some_and(|fstype| !fstype.truncated && fstype.raw_bytes().as_deref() == Some(b"cgroup"))
}

/// Returns the finding for a source path, when it is sensitive or
/// truncated.
fn source_finding(call: &'static str, source: &PathText) -> Option<Finding> {
    if source.truncated && !source.unreadable {
        // Joined to its directory where that was read, as shown otherwise.
        let kept = absolute_bytes(source).or_else(|| source.raw_bytes())?;
        return Some(Finding::Truncated { call, kept });
    }
    let bytes = absolute_bytes(source)?;
    let path = normalize(&bytes);
    let sensitive = sensitive(&path)?;
    Some(Finding::Path {
        call,
        path: join(&path),
        sensitive,
    })
}

/// Returns the bytes of a path, a relative one joined to its directory.
/// Returns `None` when the path is unreadable or is relative to a
/// directory that was not read whole. A truncated path gives its kept bytes.
fn absolute_bytes(text: &PathText) -> Option<Vec<u8>> {
    if text.unreadable {
        return None;
    }
    let bytes = text.raw_bytes()?;
    if !PathText::is_relative(&bytes) {
        return Some(bytes);
    }
    let directory = text.relative_to.as_ref()?.directory.as_deref()?;
    if directory.truncated || directory.unreadable {
        return None;
    }
    let mut joined = directory.raw_bytes()?;
    joined.push(b'/');
    joined.extend_from_slice(&bytes);
    Some(joined)
}

/// Splits an absolute path into components after lexical normalization.
/// Empty and `.` components are dropped and `..` removes the one before
/// (at the root it stays at the root, as the kernel does).
fn normalize(path: &[u8]) -> Vec<&[u8]> {
    let mut components = Vec::new();
    for component in path.split(|&byte| byte == b'/') {
        match component {
            b"" | b"." => {}
            b".." => {
                components.pop();
            }
            _ => components.push(component),
        }
    }
    components
}

/// Joins normalized components into an absolute path.
fn join(components: &[&[u8]]) -> Vec<u8> {
    if components.is_empty() {
        return b"/".to_vec();
    }
    let mut path = Vec::new();
    for component in components {
        path.push(b'/');
        path.extend_from_slice(component);
    }
    path
}

/// Returns why a normalized path is a sensitive host path, or `None`.
fn sensitive(path: &[&[u8]]) -> Option<String> {
    match path {
        [] => return Some("the host's root directory".to_string()),
        [b"proc"] => return Some("the host's proc file system".to_string()),
        [b"sys"] => return Some("the host's sysfs".to_string()),
        [.., b"release_agent"] => return Some("a cgroup v1 release_agent file".to_string()),
        [b"var"] => {
            return Some("a directory that holds the container runtime sockets".to_string())
        }
        _ => {}
    }
    let ([b"run", under_run @ ..] | [b"var", b"run", under_run @ ..]) = path else {
        return None;
    };
    if under_run.is_empty() {
        return Some("a directory that holds the container runtime sockets".to_string());
    }
    RUNTIME_SOCKETS.iter().find_map(|(socket, runtime)| {
        if under_run == *socket {
            Some(format!("the {runtime} API socket"))
        } else if socket.starts_with(under_run) {
            Some(format!("a directory that holds the {runtime} API socket"))
        } else {
            None
        }
    })
}

/// Formats a path for a reason as lossy UTF-8, at most [`MAX_QUOTED`] bytes.
fn quote_bytes(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(MAX_QUOTED)];
    let mut text = String::from_utf8_lossy(shown).into_owned();
    if shown.len() < bytes.len() {
        text.push_str("...");
    }
    text
}

/// Formats a target path for a reason, joined to its directory when it is
/// relative and the directory was read.
fn quote(text: &PathText) -> String {
    absolute_bytes(text)
        .or_else(|| text.raw_bytes())
        .map_or_else(|| text.value.clone(), |bytes| quote_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        detect::test_events::{host, mount, mount_event, move_mount, text, HOST_MNT, HOST_USER},
        output::event::{Attached, ErrorInfo},
    };

    /// A container's mount namespace.
    const CONTAINER_MNT: u32 = 4_026_532_300;

    fn check(mount: Mount) -> Option<Alert> {
        SensitiveMount::new(host()).check(&mount_event(mount))
    }

    fn bind(source: &str, mnt: u32) -> Mount {
        let mut bind = mount("mount", &["MS_BIND"], mnt, HOST_USER);
        bind.source = Some(text(source));
        bind
    }

    fn cgroup_mount(fstype: &str, flags: &[&str]) -> Mount {
        let mut cgroup = mount("mount", flags, CONTAINER_MNT, HOST_USER);
        cgroup.source = Some(text("cgroup"));
        cgroup.fstype = Some(text(fstype));
        cgroup
    }

    fn open_tree(source: &str, flags: &[&str]) -> Attached {
        Attached {
            kind: "open_tree",
            fd: 3,
            fs_fd: None,
            fstype: None,
            source: Some(text(source)),
            flags: flags.iter().map(ToString::to_string).collect(),
        }
    }

    fn fsmount(fstype: &str, flags: &[&str]) -> Attached {
        Attached {
            kind: "fsmount",
            fd: 4,
            fs_fd: Some(3),
            fstype: Some(text(fstype)),
            source: Some(text("cgroup")),
            flags: flags.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn bind_of_proc_in_container_alerts() {
        let alert = check(bind("/proc", CONTAINER_MNT)).expect("an alert");
        assert_eq!(alert.rule, "sensitive_host_mount");
        assert_eq!(alert.severity, Severity::High);
        assert_eq!(alert.technique.id, "T1611");
        assert!(
            alert.reason.contains("bind mount of /proc"),
            "{}",
            alert.reason
        );
        assert!(alert.reason.contains("/mnt/target"), "{}", alert.reason);
        assert!(
            alert.reason.contains(&format!("mnt:[{CONTAINER_MNT}]")),
            "{}",
            alert.reason
        );
    }

    #[test]
    fn bind_of_root_and_socket_alert() {
        for source in [
            "/",
            "/var/run/docker.sock",
            "/run/containerd/containerd.sock",
        ] {
            assert!(check(bind(source, CONTAINER_MNT)).is_some(), "{source}");
        }
        let mut recursive = bind("/", CONTAINER_MNT);
        recursive.syscall.flags.push("MS_REC".to_string());
        assert!(check(recursive).is_some());
    }

    #[test]
    fn bind_in_host_namespace_ignored() {
        assert_eq!(check(bind("/proc", HOST_MNT)), None);
        assert_eq!(check(bind("/", HOST_MNT)), None);
    }

    #[test]
    fn unknown_namespace_ignored() {
        let mut unknown = bind("/proc", CONTAINER_MNT);
        unknown.ns.inode = None;
        assert_eq!(check(unknown), None);
    }

    #[test]
    fn failed_bind_ignored() {
        let mut failed = bind("/proc", CONTAINER_MNT);
        failed.outcome = Outcome::Failure;
        failed.error = Some(ErrorInfo {
            name: "EPERM".to_string(),
            errno: 1,
        });
        failed.syscall.ret = -1;
        assert_eq!(check(failed), None);
    }

    #[test]
    fn benign_mounts_ignored() {
        let mut tmpfs = mount("mount", &[], CONTAINER_MNT, HOST_USER);
        tmpfs.source = Some(text("/proc"));
        tmpfs.fstype = Some(text("tmpfs"));
        assert_eq!(check(tmpfs), None, "a tmpfs source is a name, not a path");
        assert_eq!(check(bind("/proc/sys", CONTAINER_MNT)), None);
        assert_eq!(check(bind("/tmp/data", CONTAINER_MNT)), None);
        let mut remount = bind("/proc", CONTAINER_MNT);
        remount.syscall.flags = vec!["MS_RDONLY".into(), "MS_REMOUNT".into(), "MS_BIND".into()];
        assert_eq!(check(remount), None);
    }

    #[test]
    fn truncated_source_alerts_medium() {
        let mut truncated = bind("/tmp", CONTAINER_MNT);
        truncated.source = Some(PathText::new(&[b'/'; 4095], true));
        let alert = check(truncated).expect("an alert");
        assert_eq!(alert.severity, Severity::Medium);
        assert!(alert.reason.contains("truncated"), "{}", alert.reason);
        assert!(alert.reason.contains("kept 4095 bytes"), "{}", alert.reason);
    }

    #[test]
    fn writable_cgroup_v1_mount_alerts() {
        let alert = check(cgroup_mount("cgroup", &[])).expect("an alert");
        assert_eq!(alert.severity, Severity::High);
        assert!(alert.reason.contains("release_agent"), "{}", alert.reason);
        assert!(check(cgroup_mount("cgroup", &["MS_NOSUID", "MS_NODEV"])).is_some());
    }

    #[test]
    fn read_only_cgroup_and_cgroup2_ignored() {
        assert_eq!(
            check(cgroup_mount("cgroup", &["MS_RDONLY", "MS_NOSUID"])),
            None
        );
        assert_eq!(check(cgroup_mount("cgroup2", &[])), None);
        assert_eq!(check(cgroup_mount("cgroup", &["MS_REMOUNT"])), None);
        assert_eq!(
            check(cgroup_mount("cgroup", &["MS_REC", "MS_PRIVATE"])),
            None
        );
        let mut host = cgroup_mount("cgroup", &[]);
        host.ns.inode = Some(HOST_MNT);
        assert_eq!(check(host), None);
    }

    #[test]
    fn open_tree_clone_of_sys_alerts() {
        let attached = open_tree("/sys", &["OPEN_TREE_CLONE", "AT_RECURSIVE"]);
        let alert = check(move_mount(CONTAINER_MNT, attached)).expect("an alert");
        assert!(
            alert
                .reason
                .contains("open_tree clone and move_mount of /sys"),
            "{}",
            alert.reason
        );
        let host_call = move_mount(HOST_MNT, open_tree("/sys", &["OPEN_TREE_CLONE"]));
        assert_eq!(check(host_call), None);
    }

    #[test]
    fn open_tree_without_clone_ignored() {
        // Without OPEN_TREE_CLONE, move_mount moves the existing mount.
        let attached = open_tree("/proc", &["OPEN_TREE_CLOEXEC"]);
        assert_eq!(check(move_mount(CONTAINER_MNT, attached)), None);
    }

    #[test]
    fn open_tree_relative_to_directory_resolved() {
        let mut attached = open_tree("", &["OPEN_TREE_CLONE", "AT_EMPTY_PATH"]);
        if let Some(source) = attached.source.as_mut() {
            source.relative_to = Some(crate::path_text::RelativeTo {
                dirfd: 5,
                directory: Some(Box::new(PathText::new(b"/", false))),
                resolved_late: true,
            });
        }
        assert!(check(move_mount(CONTAINER_MNT, attached)).is_some());
    }

    #[test]
    fn fsmount_of_cgroup_v1_alerts_unless_read_only() {
        assert!(check(move_mount(CONTAINER_MNT, fsmount("cgroup", &[]))).is_some());
        let read_only = fsmount("cgroup", &["MOUNT_ATTR_RDONLY"]);
        assert_eq!(check(move_mount(CONTAINER_MNT, read_only)), None);
        assert_eq!(
            check(move_mount(CONTAINER_MNT, fsmount("tmpfs", &[]))),
            None
        );
    }

    fn normalized(path: &str) -> Vec<u8> {
        join(&normalize(path.as_bytes()))
    }

    fn classify(path: &str) -> Option<String> {
        sensitive(&normalize(path.as_bytes()))
    }

    #[test]
    fn paths_normalized_lexically() {
        assert_eq!(normalized("/"), b"/");
        assert_eq!(normalized("//proc//"), b"/proc");
        assert_eq!(normalized("/./proc/."), b"/proc");
        assert_eq!(normalized("/tmp/../proc"), b"/proc");
        assert_eq!(normalized("/../../sys"), b"/sys");
        assert_eq!(normalized("/tmp/x/.."), b"/tmp");
    }

    #[test]
    fn sensitive_paths_classified() {
        for path in [
            "/",
            "/proc",
            "/sys/",
            "/var/run/docker.sock",
            "/run/docker.sock",
            "/run/containerd/containerd.sock",
            "/var/run/containerd/containerd.sock",
            "/run/podman/podman.sock",
            "/run/crio/crio.sock",
            "/run",
            "/var/run",
            "/var",
            "/run/containerd",
            "/sys/fs/cgroup/rdma/release_agent",
            "/tmp/cg/release_agent",
        ] {
            assert!(classify(path).is_some(), "{path} is sensitive");
        }
    }

    #[test]
    fn ordinary_paths_not_sensitive() {
        for path in [
            "/proc/sys",
            "/proc/bus",
            "/sys/fs/cgroup",
            "/tmp",
            "/tmp/proc",
            "/run/user/1000/podman/podman.sock",
            "/run/systemd",
            "/run/docker.sock.bak",
            "/var/lib/docker",
            "/etc/resolv.conf",
            "/dev/null",
            "/sys/fs/cgroup/rdma/release_agent.txt",
        ] {
            assert_eq!(classify(path), None, "{path}");
        }
    }

    #[test]
    fn socket_reasons_name_the_runtime() {
        assert_eq!(
            classify("/var/run/docker.sock").unwrap(),
            "the Docker API socket"
        );
        assert_eq!(
            classify("/run/podman").unwrap(),
            "a directory that holds the podman API socket"
        );
    }

    #[test]
    fn relative_path_joined_to_its_directory() {
        let mut text = PathText::new(b"../proc", false);
        text.relative_to = Some(crate::path_text::RelativeTo {
            dirfd: -100,
            directory: Some(Box::new(PathText::new(b"/tmp", false))),
            resolved_late: true,
        });
        assert_eq!(
            source_finding("bind mount", &text),
            Some(Finding::Path {
                call: "bind mount",
                path: b"/proc".to_vec(),
                sensitive: "the host's proc file system".to_string(),
            })
        );
    }

    #[test]
    fn relative_path_without_directory_unknown() {
        let mut text = PathText::new(b"proc", false);
        text.relative_to = Some(crate::path_text::RelativeTo {
            dirfd: -100,
            directory: None,
            resolved_late: false,
        });
        assert_eq!(source_finding("bind mount", &text), None);
    }

    #[test]
    fn unreadable_path_unknown() {
        let mut text = PathText::new(b"", false);
        text.unreadable = true;
        assert_eq!(source_finding("bind mount", &text), None);
    }

    #[test]
    fn truncated_path_always_found() {
        let text = PathText::new(b"/tmp/aaaa", true);
        assert_eq!(
            source_finding("bind mount", &text),
            Some(Finding::Truncated {
                call: "bind mount",
                kept: b"/tmp/aaaa".to_vec(),
            })
        );
    }

    #[test]
    fn truncated_relative_path_without_directory_found() {
        let mut text = PathText::new(b"aaaa", true);
        text.relative_to = Some(crate::path_text::RelativeTo {
            dirfd: 3,
            directory: None,
            resolved_late: false,
        });
        assert_eq!(
            source_finding("bind mount", &text),
            Some(Finding::Truncated {
                call: "bind mount",
                kept: b"aaaa".to_vec(),
            })
        );
    }

    #[test]
    fn non_utf8_path_compared_as_bytes() {
        let text = PathText::new(b"/tmp/\xff/../../proc", false);
        assert_eq!(text.encoding, Some("base64"));
        assert!(matches!(
            source_finding("bind mount", &text),
            Some(Finding::Path { .. })
        ));
        let other = PathText::new(b"/proc\xff", false);
        assert_eq!(source_finding("bind mount", &other), None);
    }
}
