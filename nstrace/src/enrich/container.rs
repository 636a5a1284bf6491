//! Container attribution from a cgroup path.
//!
//! Container runtimes name the cgroup of a container after its id. The
//! patterns below are those of the runtimes' cgroup drivers:
//!
//! | runtime | systemd driver | cgroupfs driver |
//! |---|---|---|
//! | docker | `docker-ID.scope` | `/docker/ID` |
//! | podman | `libpod-ID.scope` | `/libpod_parent/libpod-ID` |
//! | containerd (CRI) | `cri-containerd-ID.scope` | `/kubepods/.../podUID/ID` |
//! | CRI-O | `crio-ID.scope` | `/kubepods/.../podUID/crio-ID` |
//! | runc | `runc-ID.scope` | `/ID` (the default `cgroupsPath`) |
//! | crun | `crun-ID.scope` | `/ID` |
//!
//! A bare `/ID` is only a runc or crun container when that runtime's state
//! directory has an entry for `ID`; [`attribute`] takes that check as a
//! function so that the parser stays pure.

use crate::output::enrichment::ContainerInfo;

/// Scope prefixes of the systemd cgroup drivers, by runtime.
const SCOPE_PREFIXES: [(&str, &str); 6] = [
    ("cri-containerd-", "containerd"),
    ("docker-", "docker"),
    ("libpod-", "podman"),
    ("crio-", "cri-o"),
    ("runc-", "runc"),
    ("crun-", "crun"),
];

/// Finds the container that a cgroup path belongs to.
///
/// `runtime_of_name` is asked about a last path component that no pattern
/// matched; it returns the runtime whose state directory lists a container
/// of that name.
pub fn attribute(
    path: &str,
    runtime_of_name: impl Fn(&str) -> Option<&'static str>,
) -> Option<ContainerInfo> {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let pod_uid = components.iter().find_map(|c| pod_uid(c));

    // The container is the innermost matching component: podman's split
    // cgroups and systemd sub-cgroups add components below it.
    for (index, component) in components.iter().enumerate().rev() {
        let parent = index.checked_sub(1).map(|i| components[i]);
        if let Some((id, runtime)) = scope_container(component) {
            return Some(ContainerInfo {
                id: id.to_string(),
                runtime: runtime.to_string(),
                pod_uid,
            });
        }
        if is_container_id(component) {
            let runtime = match parent {
                Some("docker") => "docker",
                _ if pod_uid.is_some() => "cri",
                _ => continue,
            };
            return Some(ContainerInfo {
                id: (*component).to_string(),
                runtime: runtime.to_string(),
                pod_uid,
            });
        }
    }

    let last = components.last()?;
    let runtime = runtime_of_name(last)?;
    Some(ContainerInfo {
        id: (*last).to_string(),
        runtime: runtime.to_string(),
        pod_uid,
    })
}

/// Container id and runtime of a systemd scope or a podman cgroupfs
/// directory, such as `docker-ID.scope` or `libpod-ID`.
fn scope_container(component: &str) -> Option<(&str, &'static str)> {
    let name = component.strip_suffix(".scope").unwrap_or(component);
    for (prefix, runtime) in SCOPE_PREFIXES {
        let Some(id) = name.strip_prefix(prefix) else {
            continue;
        };
        // conmon, podman's and CRI-O's monitor, runs beside the container
        // in a scope of its own.
        if id.starts_with("conmon-") || id.is_empty() {
            return None;
        }
        let scoped = name.len() != component.len();
        // Outside a systemd scope only podman names directories this way;
        // runc and crun ids are free-form, so they need the scope suffix.
        if scoped || (runtime == "podman" && is_container_id(id)) {
            return Some((id, runtime));
        }
    }
    None
}

/// Whether `text` is a 64-digit lower-case hex id, as docker, podman,
/// containerd and CRI-O generate.
fn is_container_id(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Pod uid of a kubelet cgroup component: `podUID` (cgroupfs driver) or
/// `kubepods-QOS-podUID.slice` with `_` for `-` (systemd driver).
fn pod_uid(component: &str) -> Option<String> {
    let name = component.strip_suffix(".slice").unwrap_or(component);
    let uid = if let Some(rest) = name.strip_prefix("kubepods-") {
        let (_, uid) = rest.rsplit_once("pod")?;
        uid.replace('_', "-")
    } else {
        name.strip_prefix("pod")?.to_string()
    };
    is_uuid(&uid).then_some(uid)
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4b8e6a1c2d9e0f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f";
    const POD: &str = "0f5c1e52-8f6a-4d3b-9c1e-2a7b3c4d5e6f";

    fn no_state(_: &str) -> Option<&'static str> {
        None
    }

    fn check(path: &str, runtime: &str, id: &str, pod: Option<&str>) {
        let info = attribute(path, no_state).unwrap_or_else(|| panic!("no container in {path}"));
        assert_eq!(info.runtime, runtime, "runtime of {path}");
        assert_eq!(info.id, id, "id of {path}");
        assert_eq!(info.pod_uid.as_deref(), pod, "pod uid of {path}");
    }

    #[test]
    fn docker_systemd_scope() {
        check(
            &format!("/system.slice/docker-{ID}.scope"),
            "docker",
            ID,
            None,
        );
    }

    #[test]
    fn docker_cgroupfs() {
        check(&format!("/docker/{ID}"), "docker", ID, None);
    }

    #[test]
    fn podman_systemd_scope() {
        check(
            &format!("/machine.slice/libpod-{ID}.scope"),
            "podman",
            ID,
            None,
        );
        // Rootless podman, under the user's systemd instance.
        check(
            &format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"),
            "podman",
            ID,
            None,
        );
    }

    #[test]
    fn podman_split_cgroup() {
        check(
            &format!("/machine.slice/libpod-{ID}.scope/container"),
            "podman",
            ID,
            None,
        );
    }

    #[test]
    fn podman_cgroupfs() {
        check(&format!("/libpod_parent/libpod-{ID}"), "podman", ID, None);
    }

    #[test]
    fn podman_conmon_not_a_container() {
        assert_eq!(
            attribute(
                &format!("/machine.slice/libpod-conmon-{ID}.scope"),
                no_state
            ),
            None
        );
    }

    #[test]
    fn containerd_kubernetes_systemd() {
        let underscored = POD.replace('-', "_");
        check(
            &format!("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{underscored}.slice/cri-containerd-{ID}.scope"),
            "containerd",
            ID,
            Some(POD),
        );
    }

    #[test]
    fn guaranteed_pod_systemd() {
        let underscored = POD.replace('-', "_");
        check(
            &format!("/kubepods.slice/kubepods-pod{underscored}.slice/cri-containerd-{ID}.scope"),
            "containerd",
            ID,
            Some(POD),
        );
    }

    #[test]
    fn kubernetes_cgroupfs() {
        check(
            &format!("/kubepods/burstable/pod{POD}/{ID}"),
            "cri",
            ID,
            Some(POD),
        );
    }

    #[test]
    fn crio_kubernetes_systemd() {
        let underscored = POD.replace('-', "_");
        check(
            &format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{underscored}.slice/crio-{ID}.scope"),
            "cri-o",
            ID,
            Some(POD),
        );
        assert_eq!(
            attribute(
                &format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{underscored}.slice/crio-conmon-{ID}.scope"),
                no_state
            ),
            None
        );
    }

    #[test]
    fn runc_and_crun_systemd_scope() {
        check("/system.slice/runc-web1.scope", "runc", "web1", None);
        check("/machine.slice/crun-db.scope", "crun", "db", None);
    }

    #[test]
    fn bare_name_needs_runtime_state() {
        assert_eq!(attribute("/web1", no_state), None);
        let info = attribute("/web1", |name| (name == "web1").then_some("runc")).unwrap();
        assert_eq!(info.id, "web1");
        assert_eq!(info.runtime, "runc");
    }

    #[test]
    fn host_paths_have_no_container() {
        for path in [
            "/",
            "/user.slice/user-0.slice/session-3.scope",
            "/system.slice/ssh.service",
            "/init.scope",
            "/kubepods.slice",
        ] {
            assert_eq!(attribute(path, no_state), None, "{path}");
        }
    }

    #[test]
    fn short_hex_is_not_an_id() {
        assert_eq!(
            attribute("/process_api/ec15d23d86eb49f97cf9f2bc16fd6c64", no_state),
            None
        );
    }
}
