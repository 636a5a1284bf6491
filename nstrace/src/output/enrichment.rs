//! Record fields that nstrace adds after translation, from `/proc` and
//! from the detection rules.

use schemars::JsonSchema;
use serde::Serialize;

use super::alert::Alert;

/// Fields added to every record after translation. Each is absent when
/// nstrace could not determine it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Enrichment {
    /// Boot id of the kernel, from `/proc/sys/kernel/random/boot_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// Control group of the calling process.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<CgroupInfo>,
    /// Container of the calling process, from its cgroup path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerInfo>,
    /// Detection that the record matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<Alert>,
}

/// A control group, as `/proc/PID/cgroup` names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CgroupInfo {
    /// Path of the cgroup: the first path other than `/` in the cgroup v2
    /// hierarchy, then v1 `name=systemd`, then the other v1 hierarchies,
    /// where a path that names a container comes before all others.
    pub path: String,
    /// The kernel's cgroup id (the inode number of the cgroup v2
    /// directory), as `bpf_get_current_cgroup_id` returns it. Absent when
    /// `path` is not a cgroup v2 path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// The process whose `/proc/PID/cgroup` was read: the caller, or its
    /// parent when the caller had exited before nstrace processed the
    /// record. A parent's cgroup is the caller's unless the caller moved,
    /// as container runtimes' setup processes do.
    pub pid: u32,
}

/// A container, as its runtime names it in the cgroup path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ContainerInfo {
    /// Container id: 64 hex digits for docker, podman, containerd and
    /// CRI-O; the name given to `runc run` or `crun run` for those.
    pub id: String,
    /// `docker`, `podman`, `containerd`, `cri-o`, `runc`, `crun`, or `cri`
    /// for a Kubernetes container whose runtime the path does not name.
    pub runtime: String,
    /// Kubernetes pod uid, when the cgroup path has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
}

/// An ancestor of the calling process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Ancestor {
    /// Process id in the initial pid namespace.
    pub pid: u32,
    /// Command name, as in `/proc/PID/comm`.
    pub comm: String,
    /// Path of the executable; absent for kernel threads and when the link
    /// is unreadable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// Stable id of the process, as in `process.entity_id`.
    pub entity_id: String,
}
