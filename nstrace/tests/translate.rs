//! The record-to-event stage on synthetic records.

use nstrace::{
    clock::Clock,
    decode::Record,
    namespace::NsType,
    output::event::{Body, Event, EventKind, Outcome},
    translate::Translator,
};
use nstrace_common::{
    ns::{clone_flag, slot},
    record::{fd_kind, kind, syscall, FdTarget, ForkRecord, Header, NsSet, SyscallRecord, Task},
};

const HOST_INODE: u32 = 4_026_531_840;

fn translator() -> Translator {
    Translator {
        clock: Clock::with_offset(1_700_000_000_000_000_000),
        host: "test-host".into(),
        nsfs_dev: Some(4),
    }
}

fn host_set() -> NsSet {
    let mut set = NsSet::default();
    for (index, entry) in set.ns.iter_mut().enumerate() {
        entry.inode = HOST_INODE + u32::try_from(index).unwrap();
        entry.id = 1 + u64::try_from(index).unwrap();
    }
    set
}

fn task() -> Task {
    Task {
        ppid: 1,
        uid: 1000,
        gid: 1000,
        _pad: 0,
        comm: *b"unshare\0\0\0\0\0\0\0\0\0",
    }
}

fn header(record_kind: u32) -> Header {
    Header {
        kind: record_kind,
        cpu: 0,
        time_ns: 7,
        tgid: 500,
        tid: 501,
    }
}

fn syscall_record(call: u32, args: [u64; 4], ret: i64) -> SyscallRecord {
    SyscallRecord {
        header: header(kind::SYSCALL),
        task: task(),
        syscall: call,
        ret,
        args,
        before: host_set(),
        after: host_set(),
        ..Default::default()
    }
}

fn json(event: &Event) -> serde_json::Value {
    serde_json::to_value(event).unwrap()
}

#[test]
fn unshare_reports_each_new_namespace() {
    let mut record = syscall_record(
        syscall::UNSHARE,
        [clone_flag::NEWNET | clone_flag::NEWPID, 0, 0, 0],
        0,
    );
    record.after.ns[slot::NET].inode = 4_026_532_100;
    record.after.ns[slot::NET].id = 900;
    record.after.ns[slot::PID_FOR_CHILDREN].inode = 4_026_532_101;

    let events = translator().translate(&Record::Syscall(Box::new(record)));
    assert_eq!(events.len(), 2);
    let pid = json(&events[0]);
    let net = json(&events[1]);
    assert_eq!(pid["event"], "ns_create");
    assert_eq!(pid["ns"]["type"], "pid");
    assert_eq!(pid["ns"]["inode"], 4_026_532_101u32);
    assert_eq!(net["ns"]["type"], "net");
    assert_eq!(net["ns"]["inode"], 4_026_532_100u32);
    assert_eq!(net["ns"]["id"], 900);
    assert_eq!(net["ns"]["dev"], 4);
    assert_eq!(net["syscall"]["name"], "unshare");
    assert_eq!(
        net["syscall"]["flags"],
        serde_json::json!(["CLONE_NEWPID", "CLONE_NEWNET"])
    );
    assert_eq!(net["process"]["pid"], 500);
    assert_eq!(net["process"]["tid"], 501);
    assert_eq!(net["process"]["comm"], "unshare");
    assert_eq!(net["schema"], "nstrace/1");
    assert_eq!(net["host"], "test-host");
    assert_eq!(net["time"], "2023-11-14T22:13:20.000000007Z");
}

#[test]
fn failed_unshare_reports_errno() {
    let record = syscall_record(syscall::UNSHARE, [clone_flag::NEWUSER, 0, 0, 0], -1);
    let events = translator().translate(&Record::Syscall(Box::new(record)));
    assert_eq!(events.len(), 1);
    let event = json(&events[0]);
    assert_eq!(event["outcome"], "failure");
    assert_eq!(event["error"]["name"], "EPERM");
    assert_eq!(event["error"]["errno"], 1);
    assert_eq!(event["ns"]["type"], "user");
    assert!(event["ns"].get("inode").is_none());
}

#[test]
fn clone_reported_from_fork_record() {
    let mut child = host_set();
    child.ns[slot::PID].inode = 4_026_532_200;
    child.ns[slot::MNT].inode = 4_026_532_201;
    let record = ForkRecord {
        header: header(kind::FORK),
        task: task(),
        child_tgid: 600,
        child_tid: 600,
        clone_flags: clone_flag::NEWPID | clone_flag::NEWNS | 0x11,
        clone_syscall: syscall::CLONE,
        child,
        ..Default::default()
    };
    let events = translator().translate(&Record::Fork(Box::new(record)));
    assert_eq!(events.len(), 2);
    let mnt = json(&events[0]);
    let pid = json(&events[1]);
    assert_eq!(mnt["ns"]["type"], "mnt");
    assert_eq!(mnt["ns"]["inode"], 4_026_532_201u32);
    assert_eq!(pid["ns"]["type"], "pid");
    assert_eq!(pid["ns"]["inode"], 4_026_532_200u32);
    assert_eq!(pid["child"]["pid"], 600);
    assert_eq!(pid["syscall"]["name"], "clone");
    assert_eq!(pid["syscall"]["exit_signal"], "SIGCHLD");
    assert_eq!(
        pid["syscall"]["flags"],
        serde_json::json!(["CLONE_NEWNS", "CLONE_NEWPID"])
    );
}

#[test]
fn fork_without_namespace_flags_is_silent() {
    let record = ForkRecord {
        header: header(kind::FORK),
        child_tgid: 600,
        child_tid: 600,
        ..Default::default()
    };
    assert!(translator()
        .translate(&Record::Fork(Box::new(record)))
        .is_empty());
}

#[test]
fn successful_clone_exit_is_silent() {
    let record = syscall_record(syscall::CLONE3, [clone_flag::NEWNET, 88, 0, 0], 600);
    assert!(translator()
        .translate(&Record::Syscall(Box::new(record)))
        .is_empty());
}

#[test]
fn failed_clone3_reports_each_type() {
    let record = syscall_record(
        syscall::CLONE3,
        [clone_flag::NEWNET | clone_flag::NEWTIME, 88, 0, 0],
        -22,
    );
    let events = translator().translate(&Record::Syscall(Box::new(record)));
    let types: Vec<_> = events
        .iter()
        .map(|e| json(e)["ns"]["type"].clone())
        .collect();
    assert_eq!(types, vec!["net", "time"]);
    assert_eq!(json(&events[0])["error"]["name"], "EINVAL");
    assert_eq!(json(&events[0])["syscall"]["name"], "clone3");
}

#[test]
fn setns_nsfs_success() {
    let mut record = syscall_record(syscall::SETNS, [3, clone_flag::NEWNET, 0, 0], 0);
    record.target = FdTarget {
        kind: fd_kind::NSFS,
        ns_type: u32::try_from(clone_flag::NEWNET).unwrap(),
        inode: 4_026_532_300,
        pid: 0,
        ns_id: 77,
    };
    record.after.ns[slot::NET].inode = 4_026_532_300;
    let events = translator().translate(&Record::Syscall(Box::new(record)));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, EventKind::NsEnter);
    let event = json(&events[0]);
    assert_eq!(event["outcome"], "success");
    assert_eq!(event["ns"]["type"], "net");
    assert_eq!(event["ns"]["inode"], 4_026_532_300u32);
    assert_eq!(event["ns"]["id"], 77);
    assert_eq!(event["syscall"]["fd"], 3);
    assert_eq!(event["syscall"]["fd_kind"], "nsfs");
    assert_eq!(event["before"]["inode"], HOST_INODE + 5);
    assert_eq!(event["after"]["inode"], 4_026_532_300u32);
    assert_eq!(event["namespaces"]["after"]["net"], 4_026_532_300u32);
    assert_eq!(event["namespaces"]["before"]["net"], HOST_INODE + 5);
}

#[test]
fn setns_pidfd_reports_each_flag() {
    let mut record = syscall_record(
        syscall::SETNS,
        [5, clone_flag::NEWNET | clone_flag::NEWUTS, 0, 0],
        0,
    );
    record.target = FdTarget {
        kind: fd_kind::PIDFD,
        pid: 4242,
        ..Default::default()
    };
    record.after.ns[slot::NET].inode = 4_026_532_400;
    record.after.ns[slot::UTS].inode = 4_026_532_401;
    let events = translator().translate(&Record::Syscall(Box::new(record)));
    assert_eq!(events.len(), 2);
    let uts = json(&events[0]);
    let net = json(&events[1]);
    assert_eq!(uts["ns"]["inode"], 4_026_532_401u32);
    assert_eq!(net["ns"]["inode"], 4_026_532_400u32);
    assert_eq!(net["target_pid"], 4242);
    assert_eq!(net["syscall"]["fd_kind"], "pidfd");
}

#[test]
fn setns_bad_fd_reports_ebadf() {
    let mut record = syscall_record(syscall::SETNS, [u64::from(u32::MAX), 0, 0, 0], -9);
    record.target.kind = fd_kind::NOT_OPEN;
    let events = translator().translate(&Record::Syscall(Box::new(record)));
    assert_eq!(events.len(), 1);
    let event = json(&events[0]);
    assert_eq!(event["outcome"], "failure");
    assert_eq!(event["error"]["name"], "EBADF");
    assert_eq!(event["syscall"]["fd"], -1);
    assert_eq!(event["syscall"]["fd_kind"], "not_open");
    assert!(event["ns"].get("type").is_none());
    match &events[0].body {
        Body::NsEnter(enter) => assert_eq!(enter.outcome, Outcome::Failure),
        other => panic!("expected an ns_enter body, got {other:?}"),
    }
}

#[test]
fn pid_type_uses_children_slot() {
    assert_eq!(NsType::Pid.changed_slot(), slot::PID_FOR_CHILDREN);
}
