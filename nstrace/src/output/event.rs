//! The JSON records that nstrace writes, one object per line.
//!
//! Every record has `schema`, `time`, `event` and `host`; the other fields
//! depend on `event`. Fields are only ever added to a schema version;
//! a removed field is never reused with another meaning. The JSON Schema
//! of these records is generated from these types by [`super::schema`],
//! and the doc comments below are its field descriptions.

use std::{collections::BTreeMap, sync::Arc};

use schemars::JsonSchema;
use serde::Serialize;

use super::{
    enrichment::{Ancestor, Enrichment},
    timestamp::Timestamp,
};
use crate::{flags::FlagNames, namespace::NsType, path_text::PathText};

/// Schema name and version carried by every record.
pub const SCHEMA: &str = "nstrace/1";

/// One output record.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// Schema name and version, `nstrace/1`.
    pub schema: &'static str,
    /// RFC 3339 time in UTC with nanoseconds.
    pub time: Timestamp,
    /// Event kind, which selects the fields of `body`.
    pub event: EventKind,
    /// Host name of the machine that nstrace runs on.
    pub host: Arc<str>,
    #[serde(flatten)]
    pub body: Body,
    /// Fields that nstrace adds after translation: boot id, cgroup,
    /// container and alert.
    #[serde(flatten)]
    pub enrichment: Enrichment,
}

/// Kind of a record, the value of its `event` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A namespace was created, or a call that asked for one failed.
    NsCreate,
    /// A task called setns, successfully or not.
    NsEnter,
    /// A task called one of the mount syscalls, successfully or not.
    Mount,
    /// The collector attached its hooks and is tracing.
    Start,
    /// The collector stopped.
    Stop,
    /// Records were lost in the kernel.
    Loss,
    /// A namespace existed when tracing started.
    NsSeen,
    /// A namespace was destroyed.
    NsDestroy,
    /// A namespace was still alive when tracing stopped.
    NsAlive,
    /// Periodic state of the collector.
    Health,
}

impl EventKind {
    /// Every kind, in the order the schema lists them.
    pub const ALL: [EventKind; 10] = [
        EventKind::NsCreate,
        EventKind::NsEnter,
        EventKind::Mount,
        EventKind::NsSeen,
        EventKind::NsDestroy,
        EventKind::NsAlive,
        EventKind::Start,
        EventKind::Stop,
        EventKind::Loss,
        EventKind::Health,
    ];

    /// Name as it appears in the `event` field.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::NsCreate => "ns_create",
            EventKind::NsEnter => "ns_enter",
            EventKind::Start => "start",
            EventKind::Stop => "stop",
            EventKind::Loss => "loss",
            EventKind::Mount => "mount",
            EventKind::NsSeen => "ns_seen",
            EventKind::NsDestroy => "ns_destroy",
            EventKind::NsAlive => "ns_alive",
            EventKind::Health => "health",
        }
    }
}

/// Fields that depend on the record's kind.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Body {
    NsCreate(NsCreate),
    NsEnter(NsEnter),
    Mount(Box<Mount>),
    Start(Start),
    Stop(Stop),
    Loss(Loss),
    Lifetime(Lifetime),
    Health(Health),
}

impl Body {
    /// The calling process of a namespace record.
    pub fn process(&self) -> Option<&ProcessInfo> {
        match self {
            Body::NsCreate(create) => Some(&create.process),
            Body::NsEnter(enter) => Some(&enter.process),
            Body::Mount(mount) => Some(&mount.process),
            Body::Lifetime(lifetime) => lifetime.origin.creator.as_ref(),
            Body::Start(_) | Body::Stop(_) | Body::Loss(_) | Body::Health(_) => None,
        }
    }

    /// Mutable access to the calling process of a namespace record.
    pub fn process_mut(&mut self) -> Option<&mut ProcessInfo> {
        match self {
            Body::NsCreate(create) => Some(&mut create.process),
            Body::NsEnter(enter) => Some(&mut enter.process),
            Body::Mount(mount) => Some(&mut mount.process),
            Body::Lifetime(lifetime) => lifetime.origin.creator.as_mut(),
            Body::Start(_) | Body::Stop(_) | Body::Loss(_) | Body::Health(_) => None,
        }
    }

    /// Whether the call succeeded; `None` for records without a call.
    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            Body::NsCreate(create) => Some(create.outcome),
            Body::NsEnter(enter) => Some(enter.outcome),
            Body::Mount(mount) => Some(mount.outcome),
            Body::Lifetime(_)
            | Body::Start(_)
            | Body::Stop(_)
            | Body::Loss(_)
            | Body::Health(_) => None,
        }
    }
}

/// Whether a call succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
}

/// A failed call's error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ErrorInfo {
    /// errno name, such as `EPERM`.
    pub name: String,
    /// errno value, such as 1.
    pub errno: i32,
}

/// A namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct NsInfo {
    /// Type as `lsns` names it; absent when a failed call gave none.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub ns_type: Option<NsType>,
    /// nsfs inode number, as `/proc/PID/ns/*` and `lsns` show it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inode: Option<u32>,
    /// Device number of nsfs, as `stat -L -c %d /proc/self/ns/net` prints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<u64>,
    /// The kernel's 64-bit namespace id, never reused; Linux 6.18 and later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Inode of the owning user namespace; for a user namespace, its
    /// parent. Absent for the initial user namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<u32>,
    /// For a pid namespace: the inode of its parent pid namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<u32>,
}

/// The process that made the call, as the kernel saw it at the call, with
/// details that nstrace reads from `/proc` when it processes the record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ProcessInfo {
    /// Process id (thread group id) in the initial pid namespace.
    pub pid: u32,
    /// Thread id in the initial pid namespace.
    pub tid: u32,
    /// Process id of the real parent in the initial pid namespace; 0 when
    /// unreadable.
    pub ppid: u32,
    /// Effective user id in the initial user namespace.
    pub uid: u32,
    /// Effective group id in the initial user namespace.
    pub gid: u32,
    /// Command name, as in `/proc/PID/comm` (at most 15 bytes).
    pub comm: Arc<str>,
    /// Stable id of this process, the same in every record about it: 32 hex
    /// digits of the SHA-256 of boot id, pid and start time. Absent when
    /// the process exited before nstrace read `/proc/PID/stat`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    /// Path of the executable, from the `/proc/PID/exe` link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// Start time of the process, RFC 3339 in UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Parent first, then its parent, and so on: at most 4 processes, up to
    /// but not including pid 0. Empty when the parent had exited.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<Ancestor>,
}

/// A clone, clone3 or unshare call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CreateCall {
    /// `clone`, `clone3` or `unshare`.
    pub name: &'static str,
    /// Flag names, such as `CLONE_NEWNET`; bits without a name in hex.
    pub flags: FlagNames,
    /// For clone: the exit signal in the low byte of the flags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_signal: Option<String>,
    /// The syscall's return value: 0, a child pid, or `-errno`.
    pub ret: i64,
}

/// The task that a clone created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ChildInfo {
    /// Process id of the child in the initial pid namespace.
    pub pid: u32,
    /// Thread id of the child in the initial pid namespace.
    pub tid: u32,
}

/// Body of an `ns_create` record.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct NsCreate {
    /// Whether the call succeeded.
    pub outcome: Outcome,
    /// The error of a failed call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// The namespace created; only its type for a failed call.
    pub ns: NsInfo,
    /// The call that created it.
    pub syscall: CreateCall,
    /// The calling process.
    pub process: ProcessInfo,
    /// For clone and clone3: the new task, which is in the namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child: Option<ChildInfo>,
}

/// A setns call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SetnsCall {
    /// Always `setns`.
    pub name: &'static str,
    /// The file descriptor argument.
    pub fd: i32,
    /// Kind of file behind the fd: `nsfs`, `pidfd`, `other`, `not_open`, `unreadable`.
    pub fd_kind: &'static str,
    /// Names of the `nstype` flags; empty for 0 (any type).
    pub nstype: FlagNames,
    /// The syscall's return value: 0 or `-errno`.
    pub ret: i64,
}

/// One namespace slot of a task, before or after a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct NsSlot {
    /// nsfs inode number.
    pub inode: u32,
    /// The kernel's 64-bit namespace id; Linux 6.18 and later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
}

/// Body of an `ns_enter` record.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct NsEnter {
    /// Whether the call succeeded.
    pub outcome: Outcome,
    /// The error of a failed call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// The namespace the call entered or tried to enter.
    pub ns: NsInfo,
    /// The call.
    pub syscall: SetnsCall,
    /// For a pidfd: the process whose namespaces were requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_pid: Option<u32>,
    /// The caller's namespace of this type before the call. For pid and
    /// time, the namespace its children get, which is what setns changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<NsSlot>,
    /// The same slot after the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<NsSlot>,
    /// All the caller's namespace inodes before and after the call, by
    /// `/proc/PID/ns` name.
    pub namespaces: BeforeAfter,
    /// The calling process.
    pub process: ProcessInfo,
}

/// A task's namespace inodes before and after a call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct BeforeAfter {
    /// Inodes at syscall entry, by `/proc/PID/ns` name such as `net` or
    /// `pid_for_children`.
    pub before: BTreeMap<&'static str, u32>,
    /// Inodes at syscall exit, by the same names.
    pub after: BTreeMap<&'static str, u32>,
}

/// A hook and whether it attached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct HookStatus {
    /// Program type and attach point, such as `tracepoint/syscalls/sys_enter_setns`.
    pub hook: String,
    /// Whether the program is attached.
    pub attached: bool,
    /// Error of a failed load or attach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Body of a `start` record.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Start {
    /// nstrace version.
    pub version: &'static str,
    /// Kernel release, as `uname -r` prints it.
    pub kernel: String,
    /// Every hook, attached or not.
    pub hooks: Vec<HookStatus>,
    /// Features the running kernel lacks, and what that costs.
    pub unavailable: Vec<String>,
    /// Whether records carry the kernel's 64-bit namespace id.
    pub namespace_ids: bool,
    /// Source of destruction times: `exact` (a hook on the kernel's
    /// free path attached) or `inferred` (from members and pins).
    pub lifetime_precision: &'static str,
    /// Size of the kernel ring buffer in bytes.
    pub ring_buffer_bytes: u32,
}

/// Origin of a namespace, as far as nstrace observed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Origin {
    /// `clone`, `clone3`, `unshare`, `pre_existing` (found at start), or
    /// `unknown` (first seen in a record that did not create it).
    pub how: &'static str,
    /// Flags of the creating call, by name.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub flags: FlagNames,
    /// The process that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<ProcessInfo>,
}

/// Reference that kept a namespace alive without a member task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Pin {
    /// `fd` (an open nsfs file), `mount` (an nsfs bind mount), or
    /// `namespace` (a namespace it owns or parents).
    pub kind: &'static str,
    /// The holding process, for `fd` and `mount`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The fd number, the mount point, or the held namespace's type and inode.
    pub detail: String,
}

/// The lifetime of one namespace: the body of `ns_seen`, `ns_destroy` and
/// `ns_alive`.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Lifetime {
    /// The namespace.
    pub ns: NsInfo,
    /// A key that distinguishes this namespace from every other one on this
    /// boot: the kernel's namespace id where it has one, else the inode
    /// and creation time, because inode numbers are reused at once.
    pub key: String,
    /// Creation time; absent for a namespace that existed at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    /// When nstrace first knew of the namespace.
    pub first_seen: Timestamp,
    /// Destruction time, for `ns_destroy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destroyed: Option<Timestamp>,
    /// Nanoseconds from creation (or first sight, for a pre-existing
    /// namespace) to destruction or to now.
    pub duration_ns: u64,
    /// Origin of the namespace.
    pub origin: Origin,
    /// Tasks (threads) in the namespace now.
    pub members: u64,
    /// Tasks that joined over time: created in it, cloned into it, or
    /// entered by setns.
    pub members_joined: u64,
    /// Maximum number of tasks in the namespace at once.
    pub peak_members: u64,
    /// What held the namespace without members, most recent last.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pins: Vec<Pin>,
    /// `exact` (the kernel reported the free) or `inferred` (the last
    /// member left and no pin was found). Absent on `ns_seen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<&'static str>,
    /// True when records were lost while the namespace lived, so that
    /// members, times or the end may be off; absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub loss_affected: bool,
    /// For a mount namespace: successful mount-family calls made in it
    /// while nstrace ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mounts: Option<u64>,
}

/// Sizes of the collector's tables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct TableSizes {
    /// Live namespaces.
    pub namespaces: u64,
    /// Live tasks (threads).
    pub tasks: u64,
}

/// Body of a `health` record.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Health {
    /// Sizes of the collector's tables.
    pub tables: TableSizes,
    /// Records read from the ring buffer since start.
    pub records_read: u64,
    /// Events written since start.
    pub events_written: u64,
    /// Records lost in the kernel since start, all kinds.
    pub lost: u64,
}

/// Body of a `stop` record.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Stop {
    /// Why the collector stopped: `signal`, `duration` or `error`.
    pub reason: String,
    /// Records read from the ring buffer.
    pub records_read: u64,
    /// Events written.
    pub events_written: u64,
    /// Records lost in the kernel, by record kind.
    pub lost: BTreeMap<&'static str, u64>,
    /// Ring buffer entries that could not be decoded.
    pub decode_errors: u64,
    /// Sizes of the collector's tables before the final records.
    pub tables: TableSizes,
    /// Events dropped because the sink fell behind and the output queue
    /// was full, or still queued when the stop gave up on a sink that took
    /// no event for 10 s.
    pub sink_dropped: u64,
    /// Events that a destination failed to write: a full disk, or a
    /// syslog receiver that was unavailable. With an output file and
    /// syslog, the other destination still got them.
    pub sink_failed: u64,
}

/// Body of a `loss` record.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Loss {
    /// Record kind that was lost: `syscall`, `fork`, `exec`, `exit`,
    /// `mount`, or `pending` and `mount_pending` for syscall entries that
    /// did not fit the in-kernel tables.
    pub kind: &'static str,
    /// Records lost since the previous loss record of this kind.
    pub count: u64,
    /// Records lost since start.
    pub total: u64,
}

/// A mount syscall: its name, decoded flags and result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct MountSyscall {
    /// `mount`, `umount2`, `pivot_root`, `fsopen`, `fsconfig`, `fsmount`,
    /// `move_mount`, `open_tree`, `open_tree_attr` or `mount_setattr`.
    pub name: &'static str,
    /// Names of the flags argument, such as `MS_BIND`. Empty for
    /// `pivot_root` and fsconfig, which take no flags.
    pub flags: Vec<String>,
    /// For fsconfig: the filesystem context fd. For fsmount: `fs_fd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fd: Option<i32>,
    /// For fsconfig: the command, such as `FSCONFIG_SET_STRING`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// For fsconfig: the `aux` argument (an fd, a dirfd or a length).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aux: Option<i32>,
    /// For fsmount: names of `attr_flags` (`MOUNT_ATTR_*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attr_flags: Option<Vec<String>>,
    /// The return value: 0 or a new fd on success, `-errno` on failure.
    pub ret: i64,
}

/// `struct mount_attr` of `mount_setattr` and `open_tree_attr`, decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct MountAttrInfo {
    /// `attr_set`: `MOUNT_ATTR_*` names.
    pub set: Vec<String>,
    /// `attr_clr`: `MOUNT_ATTR_*` names.
    pub clear: Vec<String>,
    /// `propagation`: `MS_PRIVATE`, `MS_SHARED`, `MS_SLAVE` or
    /// `MS_UNBINDABLE`, or empty when unchanged.
    pub propagation: Vec<String>,
    /// `userns_fd`, for `MOUNT_ATTR_IDMAP`.
    pub userns_fd: u64,
}

/// The filesystem or tree that a `move_mount` call attached, joined from
/// the earlier calls of the same process that made its `from` fd.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Attached {
    /// `fsmount` for a new filesystem, `open_tree` for a tree of existing
    /// mounts.
    pub kind: &'static str,
    /// The mount fd passed to `move_mount`.
    pub fd: i32,
    /// For fsmount: the fsopen fd it was made from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fs_fd: Option<i32>,
    /// For fsmount: the filesystem type given to fsopen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fstype: Option<PathText>,
    /// For fsmount: the last `source` set with fsconfig. For `open_tree`: the
    /// path it opened, with `relative_to` as in the `open_tree` record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<PathText>,
    /// The flags of the `open_tree` call, or the `attr_flags` of fsmount.
    pub flags: Vec<String>,
}

/// A mount syscall, successful or not.
///
/// The string fields present depend on the call:
///
/// | call | fields |
/// |---|---|
/// | mount | `source`, `target`, `fstype` |
/// | umount2, `mount_setattr` | `target` |
/// | `pivot_root` | `target` (`new_root`), `put_old` |
/// | fsopen | `fstype` |
/// | fsconfig | `key`, `value` |
/// | `move_mount` | `source` (from), `target` (to) |
/// | `open_tree`, `open_tree_attr` | `source` |
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Mount {
    /// Whether the call succeeded.
    pub outcome: Outcome,
    /// The error of a failed call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// The caller's mount namespace at the call.
    pub ns: NsInfo,
    /// The call, its flags by name and its result.
    pub syscall: MountSyscall,
    /// Source path or device (mount), from path (`move_mount`), or path
    /// (`open_tree`, `open_tree_attr`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<PathText>,
    /// Target path (mount, `umount2`, `mount_setattr`, `move_mount`) or new
    /// root (`pivot_root`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<PathText>,
    /// Where `pivot_root` puts the old root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub put_old: Option<PathText>,
    /// Filesystem type (mount, fsopen).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fstype: Option<PathText>,
    /// fsconfig key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathText>,
    /// fsconfig string or path value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<PathText>,
    /// Mount attributes of `mount_setattr` and `open_tree_attr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attr: Option<MountAttrInfo>,
    /// For `move_mount`: the `fsmount` or `open_tree` call that made the moved
    /// mount, when the same process made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attached: Option<Attached>,
    /// The calling process.
    pub process: ProcessInfo,
}
