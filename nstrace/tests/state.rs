//! The namespace state on synthetic records: creation, membership,
//! exact and inferred destruction, inode reuse, and records that arrive
//! for tasks the state has not seen.

use nstrace::{
    clock::Clock,
    decode::Record,
    output::event::{Body, Event, EventKind, Lifetime},
    state::{
        scan::{Snapshot, TaskSnapshot},
        Precision, Tracker,
    },
    translate::Translator,
};
use nstrace_common::{
    ns::{clone_flag, slot, NS_SLOTS},
    record::{
        kind, syscall, ExecRecord, ExitRecord, ForkRecord, Header, NsFreeRecord, NsSet,
        SyscallRecord, Task, EXEC_FILENAME_LEN,
    },
};

const HOST: u32 = 4_026_531_800;

fn tracker(precision: Precision) -> Tracker {
    let translator = Translator {
        clock: Clock::with_offset(0),
        host: "test".into(),
        nsfs_dev: Some(4),
    };
    Tracker::new(translator, precision)
}

fn host_slots() -> [u32; NS_SLOTS] {
    let mut slots = [0; NS_SLOTS];
    for (index, inode) in slots.iter_mut().enumerate() {
        *inode = HOST + u32::try_from(index).unwrap();
    }
    slots
}

fn set_of(slots: [u32; NS_SLOTS]) -> NsSet {
    let mut set = NsSet::default();
    for (entry, inode) in set.ns.iter_mut().zip(slots) {
        entry.inode = inode;
    }
    set
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

fn unshare(tid: u32, time_ns: u64, flags: u64, after: [u32; NS_SLOTS]) -> Record {
    Record::Syscall(Box::new(SyscallRecord {
        header: header(kind::SYSCALL, time_ns, tid),
        task: Task::default(),
        syscall: syscall::UNSHARE,
        args: [flags, 0, 0, 0],
        before: set_of(host_slots()),
        after: set_of(after),
        ..Default::default()
    }))
}

fn exit(tid: u32, time_ns: u64, slots: [u32; NS_SLOTS]) -> Record {
    Record::Exit(Box::new(ExitRecord {
        header: header(kind::EXIT, time_ns, tid),
        task: Task::default(),
        exit_code: 0,
        group_dead: 1,
        ns: set_of(slots),
    }))
}

fn fork(parent: u32, child: u32, time_ns: u64, slots: [u32; NS_SLOTS]) -> Record {
    Record::Fork(Box::new(ForkRecord {
        header: header(kind::FORK, time_ns, parent),
        child_tgid: child,
        child_tid: child,
        child: set_of(slots),
        ..Default::default()
    }))
}

fn snapshot(tasks: &[(u32, [u32; NS_SLOTS])]) -> Snapshot {
    Snapshot {
        tasks: tasks
            .iter()
            .map(|&(tid, slots)| TaskSnapshot {
                tgid: tid,
                tid,
                slots,
            })
            .collect(),
        ..Snapshot::default()
    }
}

fn lifetimes(events: &[Event], wanted: EventKind) -> Vec<&Lifetime> {
    events
        .iter()
        .filter(|e| e.event == wanted)
        .filter_map(|e| match &e.body {
            Body::Lifetime(lifetime) => Some(lifetime),
            _ => None,
        })
        .collect()
}

fn with_net(inode: u32) -> [u32; NS_SLOTS] {
    let mut slots = host_slots();
    slots[slot::NET] = inode;
    slots
}

#[test]
fn snapshot_gives_ns_seen() {
    let mut state = tracker(Precision::Inferred);
    let events = state.load_snapshot(&snapshot(&[(1, host_slots()), (2, host_slots())]), 10);
    let seen = lifetimes(&events, EventKind::NsSeen);
    // pid and pid_for_children share an inode here, and so do the time slots.
    assert_eq!(seen.len(), NS_SLOTS);
    assert!(seen.iter().all(|l| l.members == 2));
    assert!(seen.iter().all(|l| l.origin.how == "pre_existing"));
    assert_eq!(state.sizes().tasks, 2);
}

#[test]
fn inferred_destroy_after_scan() {
    let mut state = tracker(Precision::Inferred);
    state.load_snapshot(&snapshot(&[(1, host_slots())]), 10);
    let created = state.handle(&unshare(50, 100, clone_flag::NEWNET, with_net(7)));
    assert_eq!(created.len(), 1);
    assert!(state.handle(&exit(50, 200, with_net(7))).is_empty());
    assert!(state.scan_due(300));

    let events = state.apply_scan(&snapshot(&[(1, host_slots())]), 300);
    let destroyed = lifetimes(&events, EventKind::NsDestroy);
    assert_eq!(destroyed.len(), 1);
    assert_eq!(destroyed[0].ns.inode, Some(7));
    assert_eq!(
        destroyed[0].duration_ns, 100,
        "from creation to the last member's exit"
    );
    assert_eq!(destroyed[0].precision, Some("inferred"));
    assert_eq!(destroyed[0].members_joined, 1);
}

#[test]
fn scan_pin_keeps_namespace() {
    let mut state = tracker(Precision::Inferred);
    state.handle(&unshare(50, 100, clone_flag::NEWNET, with_net(7)));
    state.handle(&exit(50, 200, with_net(7)));
    let mut pinned = snapshot(&[(1, host_slots())]);
    pinned.pins.insert(
        7,
        vec![nstrace::output::event::Pin {
            kind: "mount",
            pid: Some(9),
            detail: "/run/netns/x".to_string(),
        }],
    );
    assert!(state.apply_scan(&pinned, 300).is_empty());

    let events = state.apply_scan(&snapshot(&[(1, host_slots())]), 900);
    let destroyed = lifetimes(&events, EventKind::NsDestroy);
    assert_eq!(destroyed.len(), 1);
    assert_eq!(
        destroyed[0].pins[0].detail, "/run/netns/x",
        "the last pin is kept"
    );
    assert_eq!(
        destroyed[0].duration_ns, 800,
        "a pinned namespace ends at the scan that finds no pin"
    );
}

#[test]
fn exact_destroy_from_free_record() {
    let mut state = tracker(Precision::Exact);
    state.handle(&unshare(50, 100, clone_flag::NEWNET, with_net(7)));
    state.handle(&exit(50, 200, with_net(7)));
    assert!(!state.scan_due(300), "no scans in exact mode");
    let free = Record::NsFree(NsFreeRecord {
        header: header(kind::NS_FREE, 250, 0),
        inode: 7,
        _pad: 0,
    });
    let events = state.handle(&free);
    let destroyed = lifetimes(&events, EventKind::NsDestroy);
    assert_eq!(destroyed.len(), 1);
    assert_eq!(destroyed[0].precision, Some("exact"));
    assert_eq!(destroyed[0].duration_ns, 150);
}

#[test]
fn free_of_unknown_inode_ignored() {
    let mut state = tracker(Precision::Exact);
    let free = Record::NsFree(NsFreeRecord {
        header: header(kind::NS_FREE, 250, 0),
        inode: 12345,
        _pad: 0,
    });
    assert!(state.handle(&free).is_empty());
}

#[test]
fn reused_inode_ends_old_namespace() {
    let mut state = tracker(Precision::Inferred);
    state.handle(&unshare(50, 100, clone_flag::NEWNET, with_net(7)));
    state.handle(&exit(50, 200, with_net(7)));
    // Before any scan, another process gets a new namespace with inode 7.
    let events = state.handle(&unshare(60, 300, clone_flag::NEWNET, with_net(7)));
    let destroyed = lifetimes(&events, EventKind::NsDestroy);
    assert_eq!(destroyed.len(), 1, "the old namespace ends: {events:?}");
    assert_eq!(destroyed[0].duration_ns, 100);
    let finals = state.finish(400);
    let alive: Vec<_> = lifetimes(&finals, EventKind::NsAlive)
        .into_iter()
        .filter(|l| l.ns.inode == Some(7))
        .collect();
    assert_eq!(alive.len(), 1);
    assert_eq!(alive[0].members, 1);
    assert_eq!(
        alive[0].duration_ns, 100,
        "the new namespace's own creation time"
    );
}

#[test]
fn exit_of_unknown_task_uses_record() {
    let mut state = tracker(Precision::Inferred);
    state.load_snapshot(&snapshot(&[(1, with_net(7)), (2, with_net(7))]), 10);
    // Task 2 exits; task 3 was never seen and carries its namespaces.
    state.handle(&exit(2, 20, with_net(7)));
    state.handle(&exit(3, 30, with_net(7)));
    let finals = state.finish(40);
    let net = lifetimes(&finals, EventKind::NsAlive)
        .into_iter()
        .find(|l| l.ns.inode == Some(7))
        .expect("net 7 alive");
    assert_eq!(net.members, 1);
}

#[test]
fn clone_child_joins_new_namespace() {
    let mut state = tracker(Precision::Inferred);
    state.load_snapshot(&snapshot(&[(1, host_slots())]), 10);
    let Record::Fork(mut record) = fork(1, 70, 50, with_net(9)) else {
        unreachable!("fork() builds a fork record");
    };
    record.clone_flags = clone_flag::NEWNET;
    record.clone_syscall = syscall::CLONE3;
    let events = state.handle(&Record::Fork(record));
    assert_eq!(events.len(), 1, "one ns_create");
    state.handle(&fork(70, 71, 60, with_net(9)));
    let finals = state.finish(100);
    let net = lifetimes(&finals, EventKind::NsAlive)
        .into_iter()
        .find(|l| l.ns.inode == Some(9))
        .expect("net 9 alive");
    assert_eq!(net.members, 2);
    assert_eq!(net.peak_members, 2);
    assert_eq!(net.origin.how, "clone3");
}

fn exec(tid: u32, old_tid: u32, time_ns: u64) -> Record {
    Record::Exec(Box::new(ExecRecord {
        header: header(kind::EXEC, time_ns, tid),
        task: Task::default(),
        filename_len: 0,
        old_tid,
        filename: [0; EXEC_FILENAME_LEN],
    }))
}

#[test]
fn exec_by_second_thread_joins_nothing() {
    let mut state = tracker(Precision::Inferred);
    state.load_snapshot(&snapshot(&[(1, host_slots())]), 10);
    // Leader 50 unshares net 7 and starts thread 51, which execs: the
    // leader exits first and the thread takes over id 50.
    state.handle(&unshare(50, 100, clone_flag::NEWNET, with_net(7)));
    state.handle(&fork(50, 51, 110, with_net(7)));
    state.handle(&exit(50, 120, with_net(7)));
    state.handle(&exec(50, 51, 130));
    assert_eq!(state.sizes().tasks, 2, "task 1 and task 50");
    state.handle(&exit(50, 200, with_net(7)));
    let events = state.apply_scan(&snapshot(&[(1, host_slots())]), 300);
    let destroyed = lifetimes(&events, EventKind::NsDestroy);
    assert_eq!(destroyed.len(), 1, "{events:?}");
    assert_eq!(destroyed[0].members_joined, 2, "the leader and the thread");
    assert_eq!(destroyed[0].peak_members, 2);
    assert_eq!(destroyed[0].duration_ns, 100);
}

#[test]
fn exec_before_leader_exit_drops_leader() {
    let mut state = tracker(Precision::Inferred);
    state.load_snapshot(&snapshot(&[(1, host_slots())]), 10);
    state.handle(&unshare(50, 100, clone_flag::NEWNET, with_net(7)));
    state.handle(&fork(50, 51, 110, with_net(7)));
    // The leader's exit record was lost: the exec alone must leave one
    // member.
    state.handle(&exec(50, 51, 130));
    let finals = state.finish(140);
    let net = lifetimes(&finals, EventKind::NsAlive)
        .into_iter()
        .find(|l| l.ns.inode == Some(7))
        .expect("net 7 alive");
    assert_eq!(net.members, 1);
    assert_eq!(net.members_joined, 2);
}
