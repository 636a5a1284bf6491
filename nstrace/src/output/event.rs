//! The JSON records that nstrace writes, one object per line.
//!
//! Every record has `schema`, `time`, `event` and `host`; the other fields
//! depend on `event`. Fields are only ever added to a schema version;
//! a removed field is never reused with another meaning.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{namespace::NsType, path_text::PathText};

/// Schema name and version carried by every record.
pub const SCHEMA: &str = "nstrace/1";

/// One output record.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    pub schema: &'static str,
    /// RFC 3339 time in UTC with nanoseconds.
    pub time: String,
    pub event: EventKind,
    pub host: String,
    #[serde(flatten)]
    pub body: Body,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
}

/// A failed call's error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorInfo {
    /// errno name, such as `EPERM`.
    pub name: String,
    pub errno: i32,
}

/// A namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NsInfo {
    /// Type as `lsns` names it; absent when a failed call did not say.
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

/// The process that made the call, as the kernel saw it at the call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProcessInfo {
    /// Process id (thread group id) in the initial pid namespace.
    pub pid: u32,
    /// Thread id in the initial pid namespace.
    pub tid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub comm: String,
}

/// A clone, clone3 or unshare call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CreateCall {
    /// `clone`, `clone3` or `unshare`.
    pub name: &'static str,
    /// Flag names, such as `CLONE_NEWNET`.
    pub flags: Vec<String>,
    /// For clone: the exit signal in the low byte of the flags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_signal: Option<String>,
    /// The syscall's return value.
    pub ret: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChildInfo {
    pub pid: u32,
    pub tid: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct NsCreate {
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    pub ns: NsInfo,
    pub syscall: CreateCall,
    pub process: ProcessInfo,
    /// For clone and clone3: the new task, which is in the namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child: Option<ChildInfo>,
}

/// A setns call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SetnsCall {
    pub name: &'static str,
    pub fd: i32,
    /// What the fd is: `nsfs`, `pidfd`, `other`, `not_open`, `unreadable`.
    pub fd_kind: &'static str,
    /// Names of the `nstype` flags; empty for 0 (any type).
    pub nstype: Vec<String>,
    pub ret: i64,
}

/// One namespace slot of a task, before or after a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NsSlot {
    pub inode: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NsEnter {
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// The namespace the call entered or tried to enter.
    pub ns: NsInfo,
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
    pub process: ProcessInfo,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BeforeAfter {
    pub before: BTreeMap<&'static str, u32>,
    pub after: BTreeMap<&'static str, u32>,
}

/// A hook and whether it attached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HookStatus {
    /// Program type and attach point, such as `tracepoint/syscalls/sys_enter_setns`.
    pub hook: String,
    pub attached: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Start {
    pub version: &'static str,
    /// Kernel release, as `uname -r` prints it.
    pub kernel: String,
    pub hooks: Vec<HookStatus>,
    /// Features the running kernel lacks, and what that costs.
    pub unavailable: Vec<String>,
    /// Whether records carry the kernel's 64-bit namespace id.
    pub namespace_ids: bool,
    /// How namespace destruction is found: `exact` (a hook on the kernel's
    /// free path attached) or `inferred` (from members and pins).
    pub lifetime_precision: &'static str,
    pub ring_buffer_bytes: u32,
}

/// How a namespace came to be, as far as nstrace saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// `clone`, `clone3`, `unshare`, `pre_existing` (found at start), or
    /// `unknown` (first seen in a record that did not create it).
    pub how: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// The process that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<ProcessInfo>,
}

/// What kept a namespace alive without a member task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
#[derive(Clone, Debug, Serialize)]
pub struct Lifetime {
    pub ns: NsInfo,
    /// A key that tells this namespace apart from every other one on this
    /// boot: the kernel's namespace id where it has one, else the inode
    /// and creation time, because inode numbers are reused at once.
    pub key: String,
    /// Creation time; absent for a namespace that existed at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When nstrace first knew of the namespace.
    pub first_seen: String,
    /// Destruction time, for `ns_destroy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destroyed: Option<String>,
    /// Nanoseconds from creation (or first sight, for a pre-existing
    /// namespace) to destruction or to now.
    pub duration_ns: u64,
    pub origin: Origin,
    /// Tasks (threads) in the namespace now.
    pub members: u64,
    /// Tasks that joined over time: created in it, cloned into it, or
    /// entered by setns.
    pub members_joined: u64,
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TableSizes {
    pub namespaces: u64,
    pub tasks: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Health {
    pub tables: TableSizes,
    pub records_read: u64,
    pub events_written: u64,
    /// Records lost in the kernel since start, all kinds.
    pub lost: u64,
}

#[derive(Clone, Debug, Serialize)]
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
    pub tables: TableSizes,
    /// Events dropped because the sink fell behind and the output queue
    /// was full.
    pub sink_dropped: u64,
    /// Events the sink failed to write (a full disk, a lost receiver).
    pub sink_failed: u64,
}

#[derive(Clone, Debug, Serialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
    /// path it opened.
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
#[derive(Clone, Debug, Serialize)]
pub struct Mount {
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// The caller's mount namespace at the call.
    pub ns: NsInfo,
    pub syscall: MountSyscall,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<PathText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<PathText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub put_old: Option<PathText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fstype: Option<PathText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<PathText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attr: Option<MountAttrInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attached: Option<Attached>,
    pub process: ProcessInfo,
}
