//! nstrace's JSON records, typed for the tests' checks.
//!
//! Namespace records reject unknown fields, so that a field renamed or
//! added in nstrace shows up as a test failure that names the line, not as
//! a check that silently reads a missing value.

use std::{collections::BTreeMap, fmt::Write as _};

use serde::Deserialize;
use serde_json::Value;

/// One line of output: its text and its parsed form.
#[derive(Clone, Debug)]
pub struct Record {
    pub line: String,
    pub event: Event,
}

impl Record {
    /// Parses one line of nstrace output.
    pub fn parse(line: &str) -> Result<Self, serde_json::Error> {
        Ok(Self {
            line: line.to_string(),
            event: serde_json::from_str(line)?,
        })
    }

    #[must_use]
    pub fn ns_create(&self) -> Option<&NsCreate> {
        match &self.event {
            Event::NsCreate(create) => Some(create),
            _ => None,
        }
    }

    /// The lifetime body of an `ns_seen`, `ns_destroy` or `ns_alive` record.
    #[must_use]
    pub fn lifetime(&self) -> Option<&Lifetime> {
        match &self.event {
            Event::NsSeen(lifetime) | Event::NsDestroy(lifetime) | Event::NsAlive(lifetime) => {
                Some(lifetime)
            }
            _ => None,
        }
    }

    /// Returns true for an `ns_destroy` record of the namespace `ns`: the
    /// same inode and type, and the same kernel id where `ns` has one,
    /// since inode numbers pass to new namespaces at once.
    #[must_use]
    pub fn is_end_of(&self, ns: &Ns) -> bool {
        matches!(&self.event, Event::NsDestroy(l)
            if l.ns.inode == ns.inode
                && l.ns.ns_type == ns.ns_type
                && (ns.id.is_none() || l.ns.id == ns.id))
    }

    /// Returns true for an `ns_destroy` record of the namespace `inode`.
    #[must_use]
    pub fn is_destroy_of(&self, inode: u64) -> bool {
        matches!(&self.event, Event::NsDestroy(l) if l.ns.inode == Some(inode))
    }

    #[must_use]
    pub fn ns_enter(&self) -> Option<&NsEnter> {
        match &self.event {
            Event::NsEnter(enter) => Some(enter),
            _ => None,
        }
    }

    #[must_use]
    pub fn mount(&self) -> Option<&Mount> {
        match &self.event {
            Event::Mount(mount) => Some(mount),
            _ => None,
        }
    }

    /// The namespace of an `ns_create`, `ns_enter` or `mount` record.
    #[must_use]
    pub fn ns(&self) -> Option<&Ns> {
        match &self.event {
            Event::NsCreate(create) => Some(&create.ns),
            Event::NsEnter(enter) => Some(&enter.ns),
            Event::Mount(mount) => Some(&mount.ns),
            _ => None,
        }
    }

    /// The container of a namespace, mount or lifetime record.
    #[must_use]
    pub fn container(&self) -> Option<&Container> {
        match &self.event {
            Event::NsCreate(create) => create.container.as_ref(),
            Event::NsEnter(enter) => enter.container.as_ref(),
            Event::Mount(mount) => mount.container.as_ref(),
            Event::NsSeen(lifetime) | Event::NsDestroy(lifetime) | Event::NsAlive(lifetime) => {
                lifetime.container.as_ref()
            }
            _ => None,
        }
    }

    /// The alert of a namespace, mount or lifetime record.
    #[must_use]
    pub fn alert(&self) -> Option<&Alert> {
        match &self.event {
            Event::NsCreate(create) => create.alert.as_ref(),
            Event::NsEnter(enter) => enter.alert.as_ref(),
            Event::Mount(mount) => mount.alert.as_ref(),
            Event::NsSeen(lifetime) | Event::NsDestroy(lifetime) | Event::NsAlive(lifetime) => {
                lifetime.alert.as_ref()
            }
            _ => None,
        }
    }

    /// The calling process of an `ns_create`, `ns_enter` or `mount` record.
    #[must_use]
    pub fn process(&self) -> Option<&Process> {
        match &self.event {
            Event::NsCreate(create) => Some(&create.process),
            Event::NsEnter(enter) => Some(&enter.process),
            Event::Mount(mount) => Some(&mount.process),
            _ => None,
        }
    }

    /// Whether this is a `mount` record by `pid`.
    #[must_use]
    pub fn is_mount_by(&self, pid: u32) -> bool {
        self.mount().is_some_and(|mount| mount.process.pid == pid)
    }

    /// Returns true for an `ns_destroy` record of the namespace with kernel
    /// id `id`. Ids tell apart namespaces that had the same inode, because
    /// the kernel reuses inode numbers at once.
    #[must_use]
    pub fn is_destroy_of_id(&self, id: u64) -> bool {
        matches!(&self.event, Event::NsDestroy(l) if l.ns.id == Some(id))
    }

    /// Whether this is an `ns_create` record by `pid` for a namespace of
    /// type `ns_type`.
    #[must_use]
    pub fn is_create(&self, pid: u32, ns_type: &str) -> bool {
        self.ns_create()
            .is_some_and(|create| create.process.pid == pid && create.ns.is_type(ns_type))
    }

    /// Whether this is an `ns_enter` record by `pid`.
    #[must_use]
    pub fn is_enter_by(&self, pid: u32) -> bool {
        self.ns_enter()
            .is_some_and(|enter| enter.process.pid == pid)
    }
}

/// A record, by its `event` field.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    NsCreate(NsCreate),
    NsEnter(NsEnter),
    Mount(Box<Mount>),
    Start(Value),
    Stop(Stop),
    Loss(Value),
    NsSeen(Lifetime),
    NsDestroy(Lifetime),
    NsAlive(Lifetime),
    Health(Health),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorInfo {
    pub name: String,
    pub errno: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ns {
    #[serde(rename = "type")]
    pub ns_type: Option<String>,
    pub inode: Option<u64>,
    pub dev: Option<u64>,
    pub id: Option<u64>,
    pub owner: Option<u64>,
    pub parent: Option<u64>,
}

impl Ns {
    #[must_use]
    pub fn is_type(&self, ns_type: &str) -> bool {
        self.ns_type.as_deref() == Some(ns_type)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub comm: String,
    pub entity_id: Option<String>,
    pub exe: Option<String>,
    pub start_time: Option<String>,
    #[serde(default)]
    pub ancestors: Vec<Ancestor>,
}

/// An ancestor of the calling process.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ancestor {
    pub pid: u32,
    pub comm: String,
    pub exe: Option<String>,
    pub entity_id: String,
}

/// The `cgroup` field.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cgroup {
    pub path: String,
    pub id: Option<u64>,
    pub pid: u32,
}

/// The `container` field.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Container {
    pub id: String,
    pub runtime: String,
    pub pod_uid: Option<String>,
}

/// The `alert` field.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    pub rule: String,
    pub severity: String,
    pub technique: Technique,
    pub reason: String,
}

/// The `alert.technique` field.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Technique {
    pub id: String,
    pub name: String,
    pub tactic: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Child {
    pub pid: u32,
    pub tid: u32,
}

/// The `syscall` field of an `ns_create` record.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCall {
    pub name: String,
    pub flags: Vec<String>,
    pub exit_signal: Option<String>,
    pub ret: i64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NsCreate {
    pub schema: String,
    pub time: String,
    pub host: String,
    pub outcome: Outcome,
    pub error: Option<ErrorInfo>,
    pub ns: Ns,
    pub syscall: CreateCall,
    pub process: Process,
    pub child: Option<Child>,
    pub boot_id: Option<String>,
    pub cgroup: Option<Cgroup>,
    pub container: Option<Container>,
    pub alert: Option<Alert>,
}

/// The `syscall` field of an `ns_enter` record.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetnsCall {
    pub name: String,
    pub fd: i32,
    pub fd_kind: String,
    pub nstype: Vec<String>,
    pub ret: i64,
}

/// One namespace slot of the caller, before or after setns.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    pub inode: u64,
    pub id: Option<u64>,
}

/// The caller's namespace inodes by `/proc/PID/ns` name.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeforeAfter {
    pub before: BTreeMap<String, u64>,
    pub after: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NsEnter {
    pub schema: String,
    pub time: String,
    pub host: String,
    pub outcome: Outcome,
    pub error: Option<ErrorInfo>,
    pub ns: Ns,
    pub syscall: SetnsCall,
    pub target_pid: Option<u32>,
    pub before: Option<Slot>,
    pub after: Option<Slot>,
    pub namespaces: BeforeAfter,
    pub process: Process,
    pub boot_id: Option<String>,
    pub cgroup: Option<Cgroup>,
    pub container: Option<Container>,
    pub alert: Option<Alert>,
}

/// A string from a traced call: a path, filesystem type, key or value.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathText {
    pub value: String,
    pub encoding: Option<String>,
    pub bytes: u32,
    pub truncated: bool,
    #[serde(default)]
    pub unreadable: bool,
    #[serde(default)]
    pub read_at_exit: bool,
    pub relative_to: Option<RelativeTo>,
}

impl PathText {
    /// The bytes that `value` stands for, decoded from base64 when
    /// `encoding` says so. Fails the test on an unknown encoding.
    #[track_caller]
    #[must_use]
    pub fn raw_bytes(&self) -> Vec<u8> {
        use base64::Engine;
        match self.encoding.as_deref() {
            None => self.value.as_bytes().to_vec(),
            Some("base64") => base64::engine::general_purpose::STANDARD
                .decode(&self.value)
                .unwrap_or_else(|error| panic!("invalid base64 in {self:?}: {error}")),
            Some(other) => panic!("unknown encoding {other:?} in {self:?}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelativeTo {
    pub dirfd: i32,
    pub directory: Option<Box<PathText>>,
    #[serde(default)]
    pub resolved_late: bool,
}

/// The `syscall` field of a `mount` record.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountSyscall {
    pub name: String,
    pub flags: Vec<String>,
    pub fd: Option<i32>,
    pub command: Option<String>,
    pub aux: Option<i32>,
    pub attr_flags: Option<Vec<String>>,
    pub ret: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountAttr {
    pub set: Vec<String>,
    pub clear: Vec<String>,
    pub propagation: Vec<String>,
    pub userns_fd: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attached {
    pub kind: String,
    pub fd: i32,
    pub fs_fd: Option<i32>,
    pub fstype: Option<PathText>,
    pub source: Option<PathText>,
    pub flags: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    pub schema: String,
    pub time: String,
    pub host: String,
    pub outcome: Outcome,
    pub error: Option<ErrorInfo>,
    pub ns: Ns,
    pub syscall: MountSyscall,
    pub source: Option<PathText>,
    pub target: Option<PathText>,
    pub put_old: Option<PathText>,
    pub fstype: Option<PathText>,
    pub key: Option<PathText>,
    pub value: Option<PathText>,
    pub attr: Option<MountAttr>,
    pub attached: Option<Attached>,
    pub process: Process,
    pub boot_id: Option<String>,
    pub cgroup: Option<Cgroup>,
    pub container: Option<Container>,
    pub alert: Option<Alert>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stop {
    pub schema: String,
    pub time: String,
    pub host: String,
    pub reason: String,
    pub records_read: u64,
    pub events_written: u64,
    /// Records lost in the kernel, by record kind.
    pub lost: BTreeMap<String, u64>,
    pub decode_errors: u64,
    pub tables: Tables,
    pub sink_dropped: u64,
    pub sink_failed: u64,
    pub boot_id: Option<String>,
    pub cgroup: Option<Cgroup>,
    pub container: Option<Container>,
    pub alert: Option<Alert>,
}

/// Sizes of the collector's tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tables {
    pub namespaces: u64,
    pub tasks: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    pub schema: String,
    pub time: String,
    pub host: String,
    pub tables: Tables,
    pub records_read: u64,
    pub events_written: u64,
    pub lost: u64,
    pub boot_id: Option<String>,
    pub cgroup: Option<Cgroup>,
    pub container: Option<Container>,
    pub alert: Option<Alert>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    pub how: String,
    #[serde(default)]
    pub flags: Vec<String>,
    pub creator: Option<Process>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    pub kind: String,
    pub pid: Option<u32>,
    pub detail: String,
}

/// The body of `ns_seen`, `ns_destroy` and `ns_alive`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifetime {
    pub schema: String,
    pub time: String,
    pub host: String,
    pub ns: Ns,
    pub key: String,
    pub created: Option<String>,
    pub first_seen: String,
    pub destroyed: Option<String>,
    pub duration_ns: u64,
    pub origin: Origin,
    pub members: u64,
    pub members_joined: u64,
    pub peak_members: u64,
    #[serde(default)]
    pub pins: Vec<Pin>,
    pub precision: Option<String>,
    #[serde(default)]
    pub loss_affected: bool,
    pub mounts: Option<u64>,
    pub boot_id: Option<String>,
    pub cgroup: Option<Cgroup>,
    pub container: Option<Container>,
    pub alert: Option<Alert>,
}

/// Returns the one record that matches `predicate`. Fails the test, with
/// every record, when there is none or more than one.
#[track_caller]
pub fn single<'a>(
    records: &'a [Record],
    expected: &str,
    predicate: impl Fn(&Record) -> bool,
) -> &'a Record {
    let matches: Vec<&Record> = records.iter().filter(|record| predicate(record)).collect();
    match matches.as_slice() {
        [one] => one,
        _ => panic!(
            "expected exactly one record for {expected}, found {}; records:\n{}",
            matches.len(),
            format_records(records)
        ),
    }
}

/// Formats records one per line, for failure messages.
#[must_use]
pub fn format_records(records: &[Record]) -> String {
    let mut text = String::new();
    for record in records {
        let _ = writeln!(text, "{}", record.line);
    }
    if text.is_empty() {
        text.push_str("(none)\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNSHARE_NET: &str = r#"{"schema":"nstrace/1","time":"2026-01-01T00:00:00.000000000Z","event":"ns_create","host":"vm","outcome":"success","ns":{"type":"net","inode":4026532175,"dev":4,"id":4104},"syscall":{"name":"unshare","flags":["CLONE_NEWUTS","CLONE_NEWNET"],"ret":0},"process":{"pid":7139,"tid":7139,"ppid":7042,"uid":0,"gid":0,"comm":"unshare"}}"#;

    #[test]
    fn ns_create_parsed() {
        let record = Record::parse(UNSHARE_NET).unwrap();
        let create = record.ns_create().unwrap();
        assert_eq!(create.ns.inode, Some(4_026_532_175));
        assert_eq!(create.syscall.name, "unshare");
        assert!(record.is_create(7139, "net"));
        assert!(!record.is_create(7139, "uts"));
    }

    #[test]
    fn unknown_field_rejected() {
        let line = UNSHARE_NET.replace(r#""outcome""#, r#""surprise":1,"outcome""#);
        assert!(Record::parse(&line).is_err());
    }
}
