//! Synthetic ring buffer records shaped like the namespace churn of
//! `cargo xtask bench`, and the collector's per-record work on them. The
//! benchmarks `pipeline` (wall clock) and `pipeline_instructions` (a fixed
//! amount of work, for instruction counts) share this module.
//!
//! Per cycle: a fork, an unshare of four namespaces by the child, the
//! child's exit, the four namespaces freed (exact precision, so the tables
//! stay flat) and a setns by the parent. The periodic `/proc` scans of
//! inferred precision are not part of this.

use nstrace::{
    clock::Clock,
    decode::{decode, to_bytes},
    state::{Precision, Tracker},
    translate::Translator,
};
use nstrace_common::{
    ns::{clone_flag, slot},
    record::{
        fd_kind, kind, syscall, ExitRecord, FdTarget, ForkRecord, Header, NsFreeRecord, NsRef,
        NsSet, SyscallRecord, Task,
    },
};

/// Cycles in one batch of records.
const CYCLES: u32 = 1_000;
const PARENT: u32 = 1_000;
const HOST_INODE: u32 = 4_026_531_830;
const FIRST_NEW_INODE: u32 = 4_026_532_000;
const CHURN_SLOTS: [usize; 4] = [slot::UTS, slot::IPC, slot::NET, slot::MNT];

fn task() -> Task {
    Task {
        ppid: 1,
        uid: 0,
        gid: 0,
        _pad: 0,
        comm: *b"nstrace-bench\0\0\0",
    }
}

fn header(record_kind: u32, time_ns: u64, tid: u32) -> Header {
    Header {
        kind: record_kind,
        cpu: 0,
        time_ns,
        tgid: tid,
        tid,
    }
}

fn host_set() -> NsSet {
    let mut set = NsSet::default();
    for (index, ns) in (0u32..).zip(set.ns.iter_mut()) {
        *ns = NsRef {
            id: u64::from(index) + 1,
            inode: HOST_INODE + index,
            ..NsRef::default()
        };
    }
    set
}

/// Builds the ring buffer entries of `CYCLES` churn cycles.
pub fn records() -> Vec<Vec<u8>> {
    let host = host_set();
    let mut records = Vec::new();
    let mut time_ns = 1_000_000_000;
    let mut next_id = 1_000;
    for cycle in 0..CYCLES {
        let child = 2_000 + cycle;
        time_ns += 10_000;
        records.push(to_bytes(&ForkRecord {
            header: header(kind::FORK, time_ns, PARENT),
            task: task(),
            child_tgid: child,
            child_tid: child,
            child: host,
            ..ForkRecord::default()
        }));

        let mut after = host;
        let mut inodes = Vec::new();
        for (offset, &index) in (0u32..).zip(CHURN_SLOTS.iter()) {
            next_id += 1;
            let inode = FIRST_NEW_INODE + (cycle % 64) * 4 + offset;
            after.ns[index] = NsRef {
                id: next_id,
                inode,
                ..NsRef::default()
            };
            inodes.push(inode);
        }
        time_ns += 10_000;
        records.push(to_bytes(&SyscallRecord {
            header: header(kind::SYSCALL, time_ns, child),
            task: task(),
            syscall: syscall::UNSHARE,
            enter_time_ns: time_ns - 5_000,
            ret: 0,
            args: [
                clone_flag::NEWUTS | clone_flag::NEWIPC | clone_flag::NEWNET | clone_flag::NEWNS,
                0,
                0,
                0,
            ],
            before: host,
            after,
            ..SyscallRecord::default()
        }));

        time_ns += 10_000;
        records.push(to_bytes(&ExitRecord {
            header: header(kind::EXIT, time_ns, child),
            task: task(),
            exit_code: 0,
            group_dead: 1,
            ns: after,
        }));
        for inode in inodes {
            time_ns += 1_000;
            records.push(to_bytes(&NsFreeRecord {
                header: header(kind::NS_FREE, time_ns, 0),
                inode,
                _pad: 0,
            }));
        }

        let newuts = u32::try_from(clone_flag::NEWUTS).expect("CLONE_NEWUTS fits in 32 bits");
        time_ns += 10_000;
        records.push(to_bytes(&SyscallRecord {
            header: header(kind::SYSCALL, time_ns, PARENT),
            task: task(),
            syscall: syscall::SETNS,
            enter_time_ns: time_ns - 2_000,
            ret: 0,
            args: [3, clone_flag::NEWUTS, 0, 0],
            target: FdTarget {
                kind: fd_kind::NSFS,
                ns_type: newuts,
                inode: HOST_INODE + 1,
                pid: 0,
                ns_id: 2,
            },
            before: host,
            after: host,
            ..SyscallRecord::default()
        }));
    }
    records
}

pub fn tracker() -> Tracker {
    let translator = Translator {
        clock: Clock::with_offset(0),
        host: "bench".into(),
        nsfs_dev: Some(4),
    };
    Tracker::new(translator, Precision::Exact)
}

/// Decodes each of `records`, applies it to `tracker` and appends its
/// events to `output` as JSON lines.
pub fn process(tracker: &mut Tracker, records: &[Vec<u8>], output: &mut Vec<u8>) {
    for bytes in records {
        let record = decode(bytes).expect("synthetic records decode");
        for event in tracker.handle(&record) {
            serde_json::to_writer(&mut *output, &event).expect("events serialise");
            output.push(b'\n');
        }
    }
}
