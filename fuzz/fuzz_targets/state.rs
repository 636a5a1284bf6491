//! The namespace state on arbitrary record sequences: every record is
//! encoded, decoded, applied with `Tracker::handle`, and each event is
//! serialised to JSON. Scans and resyncs after a loss are mixed in.
//!
//! Most records are shaped: tids, inodes and ids come from small ranges,
//! so that the same task and namespace recur and inodes are reused across
//! types. Raw records take every field from the input.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nstrace::{
    clock::Clock,
    decode::{decode, to_bytes},
    namespace::NsType,
    output::event::{Body, Event, Pin},
    state::{
        scan::{NsDetails, Snapshot, TaskSnapshot},
        Precision, Tracker,
    },
    translate::Translator,
};
use nstrace_common::{
    ns::NS_SLOTS,
    record::{
        kind, ExecRecord, ExitRecord, ForkRecord, Header, NsFreeRecord, NsRef, NsSet,
        SyscallRecord, Task, EXEC_FILENAME_LEN,
    },
};

/// First inode of the small range that shaped records use.
const BASE_INODE: u32 = 4_026_532_000;

#[derive(Arbitrary, Debug)]
struct Input {
    exact: bool,
    start: Vec<ShapedTask>,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Shaped(Shaped),
    /// Record bytes taken as they come, with a valid kind.
    Raw {
        kind: u8,
        bytes: Vec<u8>,
    },
    Scan(Vec<ShapedTask>, Vec<u8>),
    Resync(Vec<ShapedTask>, Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct ShapedTask {
    tid: u8,
    slots: [u8; NS_SLOTS],
}

#[derive(Arbitrary, Debug)]
struct Shaped {
    kind: u8,
    tid: u8,
    tgid: u8,
    other_tid: u8,
    time_step: u16,
    syscall: u8,
    ret: i16,
    /// Bits select `CLONE_NEW*` flags in `NsType::ALL` order.
    ns_flags: u8,
    extra_flags: u64,
    before: [u8; NS_SLOTS],
    after: [u8; NS_SLOTS],
    ids: [u8; NS_SLOTS],
    owners: [u8; NS_SLOTS],
    fd_kind: u8,
    target: u8,
    comm: [u8; 16],
}

fn inode(value: u8) -> u32 {
    match value % 24 {
        0 => 0,
        n => BASE_INODE + u32::from(n),
    }
}

fn ns_set(inodes: &[u8; NS_SLOTS], ids: &[u8; NS_SLOTS], owners: &[u8; NS_SLOTS]) -> NsSet {
    let mut set = NsSet::default();
    for (index, entry) in set.ns.iter_mut().enumerate() {
        *entry = NsRef {
            id: u64::from(ids[index] % 8),
            inode: inode(inodes[index]),
            owner: inode(owners[index]),
            parent: 0,
            _pad: 0,
        };
    }
    set
}

fn ns_flags(bits: u8, extra: u64) -> u64 {
    let mut flags = extra & !0xff;
    for (index, ns_type) in NsType::ALL.iter().enumerate() {
        if bits & (1 << index) != 0 {
            flags |= ns_type.clone_flag();
        }
    }
    flags
}

/// Encodes a shaped record as the eBPF programs would write it.
fn encode(shaped: &Shaped, time_ns: u64) -> Vec<u8> {
    let record_kind = u32::from(shaped.kind % 5) + 1;
    let header = Header {
        kind: record_kind,
        cpu: 0,
        time_ns,
        tgid: u32::from(shaped.tgid % 8) + 100,
        tid: u32::from(shaped.tid % 12) + 100,
    };
    let task = Task {
        ppid: 1,
        uid: 0,
        gid: 0,
        _pad: 0,
        comm: shaped.comm,
    };
    let other_tid = u32::from(shaped.other_tid % 12) + 100;
    let flags = ns_flags(shaped.ns_flags, shaped.extra_flags);
    let before = ns_set(&shaped.before, &shaped.ids, &shaped.owners);
    let after = ns_set(&shaped.after, &shaped.ids, &shaped.owners);
    match record_kind {
        kind::SYSCALL => {
            let mut record = SyscallRecord {
                header,
                task,
                syscall: u32::from(shaped.syscall % 5),
                ret: i64::from(shaped.ret),
                before,
                after,
                ..SyscallRecord::default()
            };
            record.args[0] = flags;
            record.args[1] = ns_flags(shaped.target, 0);
            record.target.kind = u32::from(shaped.fd_kind % 6);
            record.target.inode = inode(shaped.target);
            record.target.ns_id = u64::from(shaped.target % 8);
            record.target.ns_type = u32::try_from(ns_flags(shaped.target, 0)).unwrap_or(0);
            record.target.pid = other_tid;
            to_bytes(&record)
        }
        kind::FORK => to_bytes(&ForkRecord {
            header,
            task,
            child_tgid: if shaped.extra_flags & 1 == 0 {
                other_tid
            } else {
                header.tgid
            },
            child_tid: other_tid,
            clone_flags: flags,
            clone_syscall: u32::from(shaped.syscall % 3),
            _pad: 0,
            child: after,
        }),
        kind::EXEC => to_bytes(&ExecRecord {
            header,
            task,
            filename_len: u32::from(shaped.target),
            old_tid: other_tid,
            filename: [b'x'; EXEC_FILENAME_LEN],
        }),
        kind::EXIT => to_bytes(&ExitRecord {
            header,
            task,
            exit_code: u32::from(shaped.syscall),
            group_dead: u32::from(shaped.fd_kind & 1),
            ns: before,
        }),
        _ => to_bytes(&NsFreeRecord {
            header,
            inode: inode(shaped.target),
            _pad: 0,
        }),
    }
}

fn snapshot(tasks: &[ShapedTask], pinned: &[u8]) -> Snapshot {
    let mut snapshot = Snapshot::default();
    for task in tasks {
        let mut slots = [0u32; NS_SLOTS];
        for (slot, &value) in slots.iter_mut().zip(task.slots.iter()) {
            *slot = inode(value);
        }
        let tid = u32::from(task.tid % 12) + 100;
        snapshot.tasks.push(TaskSnapshot {
            tgid: tid,
            tid,
            slots,
        });
    }
    for &value in pinned {
        let pinned_inode = inode(value);
        if pinned_inode == 0 {
            continue;
        }
        snapshot.pins.entry(pinned_inode).or_default().push(Pin {
            kind: "fd",
            pid: Some(1),
            detail: "3".to_string(),
        });
        let ns_type = NsType::ALL[usize::from(value) % NsType::ALL.len()];
        snapshot.namespaces.insert(
            pinned_inode,
            NsDetails {
                ns_type,
                inode: pinned_inode,
                id: Some(u64::from(value % 8)),
                owner: Some(inode(value / 3)),
                parent: None,
            },
        );
    }
    snapshot
}

/// Checks that each event is one line of JSON and that no namespace ends
/// before it began. Record times never decrease here, so an end before the
/// start is an error of the state, not of the input.
fn check(events: &[Event]) {
    for event in events {
        let line = serde_json::to_string(event).expect("an event serialises");
        assert!(!line.contains('\n'), "a record spans lines: {line}");
        let value: serde_json::Value = serde_json::from_str(&line).expect("the output is JSON");
        assert!(value.get("event").is_some(), "{line}");
        if let Body::Lifetime(lifetime) = &event.body {
            // RFC 3339 times of one format and year compare as text.
            if let Some(destroyed) = &lifetime.destroyed {
                let start = lifetime.created.as_ref().unwrap_or(&lifetime.first_seen);
                assert!(destroyed >= start, "destroyed before it began: {line}");
            }
        }
    }
}

fuzz_target!(|input: Input| {
    let translator = Translator {
        clock: Clock::with_offset(1_700_000_000_000_000_000),
        host: "fuzz".to_string(),
        nsfs_dev: Some(4),
    };
    let precision = if input.exact {
        Precision::Exact
    } else {
        Precision::Inferred
    };
    let mut tracker = Tracker::new(translator, precision);
    let mut time_ns: u64 = 1_000;
    check(&tracker.load_snapshot(&snapshot(&input.start, &[]), time_ns));

    for op in &input.ops {
        let events = match op {
            Op::Shaped(shaped) => {
                time_ns = time_ns.saturating_add(u64::from(shaped.time_step));
                let record = decode(&encode(shaped, time_ns)).expect("a shaped record decodes");
                tracker.handle(&record)
            }
            Op::Raw { kind, bytes } => {
                let mut bytes = bytes.clone();
                let record_kind = u32::from(*kind % 5) + 1;
                if bytes.len() >= 4 {
                    bytes[..4].copy_from_slice(&record_kind.to_ne_bytes());
                }
                // `Header::time_ns` is at offset 8. It is set so that times
                // never decrease.
                if bytes.len() >= 16 {
                    bytes[8..16].copy_from_slice(&time_ns.to_ne_bytes());
                }
                match decode(&bytes) {
                    Ok(record) => tracker.handle(&record),
                    Err(_) => Vec::new(),
                }
            }
            Op::Scan(tasks, pinned) => {
                if tracker.scan_due(time_ns) {
                    tracker.apply_scan(&snapshot(tasks, pinned), time_ns)
                } else {
                    Vec::new()
                }
            }
            Op::Resync(tasks, pinned) => tracker.resync(&snapshot(tasks, pinned), time_ns),
        };
        check(&events);
    }

    let live = tracker.sizes().namespaces;
    let alive = tracker.finish(time_ns);
    check(&alive);
    assert_eq!(alive.len() as u64, live, "one ns_alive per live namespace");
    assert_eq!(tracker.sizes().namespaces, 0);
});
