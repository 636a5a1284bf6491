//! Turns kernel records into namespace events.
//!
//! Pure: records in, events out, no I/O, so that it can be tested with
//! synthetic records and replayed in benchmarks.

mod mount;

use std::{collections::BTreeMap, sync::Arc};

pub use mount::{
    fd_arg, mount_syscall_name, name_slot, path_slot, path_with_directory, relative_dirfd,
    MountContext,
};

use nstrace_common::record::{fd_kind, syscall, ForkRecord, Header, NsSet, SyscallRecord, Task};

use crate::{
    clock::Clock,
    decode::{c_str, Record},
    flags::{clone_flag_names, errno_name, signal_name, split_clone_signal},
    namespace::{NsType, SLOTS},
    output::{
        enrichment::Enrichment,
        event::{
            BeforeAfter, Body, ChildInfo, CreateCall, ErrorInfo, Event, EventKind, NsCreate,
            NsEnter, NsInfo, NsSlot, Outcome, ProcessInfo, SetnsCall, SCHEMA,
        },
    },
};

/// Context shared by every event: host name, clock, and the nsfs device.
#[derive(Clone, Debug)]
pub struct Translator {
    pub clock: Clock,
    pub host: Arc<str>,
    /// Device number of nsfs, the same for every namespace.
    pub nsfs_dev: Option<u64>,
}

impl Translator {
    /// Returns the events that `record` produces, in order.
    pub fn translate(&self, record: &Record) -> Vec<Event> {
        match record {
            Record::Syscall(r) => match r.syscall {
                syscall::UNSHARE => self.unshare(r),
                syscall::CLONE | syscall::CLONE3 => self.clone_failure(r),
                syscall::SETNS => self.setns(r),
                _ => Vec::new(),
            },
            Record::Fork(r) => self.fork(r),
            // Without the collector's context: no directories of relative
            // paths and no join of move_mount with earlier calls.
            Record::Mount(r) => self.mount(r, &MountContext::default()),
            // These feed the namespace state, which emits lifetime events.
            Record::Exec(_) | Record::Exit(_) | Record::NsFree(_) => Vec::new(),
        }
    }

    /// Wraps a body into an event stamped with the record's time.
    pub fn event(&self, kind: EventKind, time_ns: u64, body: Body) -> Event {
        Event {
            schema: SCHEMA,
            time: self.clock.rfc3339(time_ns),
            event: kind,
            host: Arc::clone(&self.host),
            body,
            enrichment: Enrichment::default(),
        }
    }

    pub fn ns_info(&self, ns_type: Option<NsType>, set: &NsSet, slot: usize) -> NsInfo {
        let entry = set.ns[slot];
        NsInfo {
            ns_type,
            inode: (entry.inode != 0).then_some(entry.inode),
            dev: self.nsfs_dev,
            id: (entry.id != 0).then_some(entry.id),
            owner: (entry.owner != 0).then_some(entry.owner),
            parent: (entry.parent != 0).then_some(entry.parent),
        }
    }

    fn unshare(&self, record: &SyscallRecord) -> Vec<Event> {
        let flags = record.args[0];
        let call = CreateCall {
            name: "unshare",
            flags: clone_flag_names(flags),
            exit_signal: None,
            ret: record.ret,
        };
        let error = error_of(record.ret);
        let caller = process(&record.header, &record.task);
        NsType::in_flags(flags)
            .map(|ns_type| {
                let ns = if error.is_some() {
                    NsInfo {
                        ns_type: Some(ns_type),
                        ..NsInfo::default()
                    }
                } else {
                    self.ns_info(Some(ns_type), &record.after, ns_type.changed_slot())
                };
                let body = Body::NsCreate(NsCreate {
                    outcome: outcome(error.as_ref()),
                    error: error.clone(),
                    ns,
                    syscall: call.clone(),
                    process: caller.clone(),
                    child: None,
                });
                self.event(EventKind::NsCreate, record.header.time_ns, body)
            })
            .collect()
    }

    /// A clone that succeeded is reported from its fork record, which has
    /// the child's namespaces; only a failed clone is reported here.
    fn clone_failure(&self, record: &SyscallRecord) -> Vec<Event> {
        let Some(error) = error_of(record.ret) else {
            return Vec::new();
        };
        let (name, flags, exit_signal) = clone_call(record.syscall, record.args[0]);
        let call = CreateCall {
            name,
            flags: clone_flag_names(flags),
            exit_signal,
            ret: record.ret,
        };
        let mut types: Vec<Option<NsType>> = NsType::in_flags(flags).map(Some).collect();
        if types.is_empty() {
            // clone3 with unreadable arguments: the requested types are unknown.
            types.push(None);
        }
        let caller = process(&record.header, &record.task);
        types
            .into_iter()
            .map(|ns_type| {
                let body = Body::NsCreate(NsCreate {
                    outcome: Outcome::Failure,
                    error: Some(error.clone()),
                    ns: NsInfo {
                        ns_type,
                        ..NsInfo::default()
                    },
                    syscall: call.clone(),
                    process: caller.clone(),
                    child: None,
                });
                self.event(EventKind::NsCreate, record.header.time_ns, body)
            })
            .collect()
    }

    fn fork(&self, record: &ForkRecord) -> Vec<Event> {
        if record.clone_syscall == 0 {
            return Vec::new();
        }
        let (name, flags, exit_signal) = clone_call(record.clone_syscall, record.clone_flags);
        let call = CreateCall {
            name,
            flags: clone_flag_names(flags),
            exit_signal,
            // The fork record is written before the call returns; on
            // success clone returns the child's pid.
            ret: i64::from(record.child_tgid),
        };
        let caller = process(&record.header, &record.task);
        NsType::in_flags(flags)
            .map(|ns_type| {
                let body = Body::NsCreate(NsCreate {
                    outcome: Outcome::Success,
                    error: None,
                    ns: self.ns_info(Some(ns_type), &record.child, ns_type.own_slot()),
                    syscall: call.clone(),
                    process: caller.clone(),
                    child: Some(ChildInfo {
                        pid: record.child_tgid,
                        tid: record.child_tid,
                    }),
                });
                self.event(EventKind::NsCreate, record.header.time_ns, body)
            })
            .collect()
    }

    fn setns(&self, record: &SyscallRecord) -> Vec<Event> {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "setns takes an int fd; the upper bits are not part of it"
        )]
        let fd = record.args[0] as i32;
        let nstype = record.args[1];
        let target = record.target;
        let error = error_of(record.ret);
        let succeeded = error.is_none();

        let nstype_types: Vec<NsType> = NsType::in_flags(nstype).collect();
        let (kind_name, types): (&'static str, Vec<Option<NsType>>) = match target.kind {
            fd_kind::NSFS => {
                let nsfs_type = NsType::from_clone_flag(u64::from(target.ns_type))
                    .or_else(|| nstype_types.first().copied());
                ("nsfs", vec![nsfs_type])
            }
            fd_kind::PIDFD => ("pidfd", nstype_types.iter().copied().map(Some).collect()),
            // A pidfd before Linux 6.9 is reported as "other" when the BTF
            // lacks the fields that name anon_inode files. A successful setns
            // on it with several flags is still reported per type.
            fd_kind::OTHER => ("other", nstype_types.iter().copied().map(Some).collect()),
            fd_kind::NOT_OPEN => ("not_open", nstype_types.iter().copied().map(Some).collect()),
            _ => (
                "unreadable",
                nstype_types.iter().copied().map(Some).collect(),
            ),
        };
        let types = if types.is_empty() { vec![None] } else { types };

        let call = SetnsCall {
            name: "setns",
            fd,
            fd_kind: kind_name,
            nstype: clone_flag_names(nstype),
            ret: record.ret,
        };
        let namespaces = BeforeAfter {
            before: slot_map(&record.before),
            after: slot_map(&record.after),
        };
        let caller = process(&record.header, &record.task);
        types
            .into_iter()
            .map(|ns_type| {
                let slot = ns_type.map(NsType::changed_slot);
                let ns = match (ns_type, target.kind) {
                    (_, fd_kind::NSFS) => NsInfo {
                        ns_type,
                        inode: (target.inode != 0).then_some(target.inode),
                        dev: self.nsfs_dev,
                        id: (target.ns_id != 0).then_some(target.ns_id),
                        ..NsInfo::default()
                    },
                    (Some(t), _) if succeeded => {
                        self.ns_info(Some(t), &record.after, t.changed_slot())
                    }
                    _ => NsInfo {
                        ns_type,
                        ..NsInfo::default()
                    },
                };
                let body = Body::NsEnter(NsEnter {
                    outcome: outcome(error.as_ref()),
                    error: error.clone(),
                    ns,
                    syscall: call.clone(),
                    target_pid: (target.kind == fd_kind::PIDFD && target.pid != 0)
                        .then_some(target.pid),
                    before: slot.map(|s| ns_slot(&record.before, s)),
                    after: slot.map(|s| ns_slot(&record.after, s)),
                    namespaces: namespaces.clone(),
                    process: caller.clone(),
                });
                self.event(EventKind::NsEnter, record.header.time_ns, body)
            })
            .collect()
    }
}

/// Returns the call name, its flags without the exit signal, and the exit
/// signal for clone.
fn clone_call(call: u32, raw_flags: u64) -> (&'static str, u64, Option<String>) {
    if call == syscall::CLONE {
        let (flags, signal) = split_clone_signal(raw_flags);
        ("clone", flags, (signal != 0).then(|| signal_name(signal)))
    } else {
        ("clone3", raw_flags, None)
    }
}

fn error_of(ret: i64) -> Option<ErrorInfo> {
    if (-4095..0).contains(&ret) {
        let errno = i32::try_from(-ret).unwrap_or(0);
        Some(ErrorInfo {
            name: errno_name(errno),
            errno,
        })
    } else {
        None
    }
}

fn outcome(error: Option<&ErrorInfo>) -> Outcome {
    if error.is_some() {
        Outcome::Failure
    } else {
        Outcome::Success
    }
}

pub fn process(header: &Header, task: &Task) -> ProcessInfo {
    ProcessInfo {
        pid: header.tgid,
        tid: header.tid,
        ppid: task.ppid,
        uid: task.uid,
        gid: task.gid,
        comm: Arc::from(c_str(&task.comm)),
        ..ProcessInfo::default()
    }
}

fn ns_slot(set: &NsSet, slot: usize) -> NsSlot {
    let entry = set.ns[slot];
    NsSlot {
        inode: entry.inode,
        id: (entry.id != 0).then_some(entry.id),
    }
}

fn slot_map(set: &NsSet) -> BTreeMap<&'static str, u32> {
    SLOTS
        .iter()
        .map(|(name, _)| name)
        .zip(set.ns.iter())
        .filter(|(_, entry)| entry.inode != 0)
        .map(|(name, entry)| (*name, entry.inode))
        .collect()
}
