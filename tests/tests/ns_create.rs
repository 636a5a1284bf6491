//! `ns_create` records for unshare and clone3, compared with what
//! `/proc/PID/ns` shows for the process that is in the new namespaces.

use std::{fs, process::Command};

use nstrace_tests::{
    namespace::{ns_dev, ns_inode, ns_path, own_ns_inode, read_ns_inode},
    process::{as_nobody, run, Held},
    record::{single, Outcome, Record},
    tools::require_tool,
    tracer::Tracer,
    NOBODY,
};

const NSHELPER: &str = env!("CARGO_BIN_EXE_nshelper");

/// Flag names of a record, sorted, so that tests do not depend on the order
/// nstrace lists them in.
fn sorted(flags: &[String]) -> Vec<&str> {
    let mut flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    flags.sort_unstable();
    flags
}

fn creates_by(records: &[Record], pid: u32) -> Vec<&Record> {
    records
        .iter()
        .filter(|record| {
            record
                .ns_create()
                .is_some_and(|create| create.process.pid == pid)
        })
        .collect()
}

#[test]
fn unshare_creates_net_uts_ipc() {
    require_tool("unshare", "util-linux");
    let tracer = Tracer::start(&[]);
    // unshare execs sleep, so the spawned pid is the pid in the namespaces.
    let mut held =
        Held::spawn(Command::new("unshare").args(["--net", "--uts", "--ipc", "sleep", "30"]));
    let pid = held.pid();
    for ns_type in ["net", "uts", "ipc"] {
        held.wait_for_new_namespace(ns_type);
    }
    for ns_type in ["net", "uts", "ipc"] {
        tracer.wait_for(&format!("{ns_type} created by pid {pid}"), |record| {
            record.is_create(pid, ns_type)
        });
    }
    let records = tracer.stop();

    for ns_type in ["net", "uts", "ipc"] {
        let record = single(
            &records,
            &format!("{ns_type} created by pid {pid}"),
            |record| record.is_create(pid, ns_type),
        );
        let line = &record.line;
        let create = record.ns_create().unwrap();
        assert_eq!(create.outcome, Outcome::Success, "{line}");
        assert_eq!(create.error, None, "{line}");
        assert_eq!(
            create.ns.inode,
            Some(ns_inode(pid, ns_type)),
            "inode of {ns_type}: {line}"
        );
        assert_eq!(
            create.ns.dev,
            Some(ns_dev(pid, ns_type)),
            "nsfs device: {line}"
        );
        assert_eq!(create.syscall.name, "unshare", "{line}");
        assert_eq!(
            sorted(&create.syscall.flags),
            ["CLONE_NEWIPC", "CLONE_NEWNET", "CLONE_NEWUTS"],
            "{line}"
        );
        assert_eq!(create.syscall.ret, 0, "{line}");
        assert_eq!(create.process.tid, pid, "{line}");
        assert_eq!(create.process.ppid, std::process::id(), "{line}");
        assert_eq!(create.process.uid, 0, "{line}");
        assert_eq!(create.process.comm, "unshare", "{line}");
        assert_eq!(create.child, None, "{line}");
    }
    assert_eq!(
        creates_by(&records, pid).len(),
        3,
        "ns_create records by pid {pid}: {:#?}",
        creates_by(&records, pid)
    );
}

#[test]
fn clone3_creates_pid_and_mnt() {
    let tracer = Tracer::start(&[]);
    let mut held =
        Held::spawn(Command::new(NSHELPER).args(["clone3", "newpid,newns", "--", "sleep", "30"]));
    let parent = held.pid();
    let line = held.read_line();
    let child: u32 = line
        .parse()
        .unwrap_or_else(|_| panic!("nshelper printed {line:?}, expected the child pid"));
    for ns_type in ["pid", "mnt"] {
        tracer.wait_for(&format!("{ns_type} created by pid {parent}"), |record| {
            record.is_create(parent, ns_type)
        });
    }
    let records = tracer.stop();

    for ns_type in ["pid", "mnt"] {
        let record = single(
            &records,
            &format!("{ns_type} created by pid {parent}"),
            |record| record.is_create(parent, ns_type),
        );
        let line = &record.line;
        let create = record.ns_create().unwrap();
        assert_eq!(create.outcome, Outcome::Success, "{line}");
        assert_eq!(create.syscall.name, "clone3", "{line}");
        assert_eq!(
            sorted(&create.syscall.flags),
            ["CLONE_NEWNS", "CLONE_NEWPID"],
            "{line}"
        );
        assert_eq!(
            create.syscall.exit_signal, None,
            "clone3 has no exit signal in its flags: {line}"
        );
        assert_eq!(create.syscall.ret, i64::from(child), "{line}");
        let record_child = create
            .child
            .as_ref()
            .unwrap_or_else(|| panic!("no child in {line}"));
        assert_eq!(record_child.pid, child, "{line}");
        assert_eq!(record_child.tid, child, "{line}");
        assert_eq!(
            create.ns.inode,
            Some(ns_inode(child, ns_type)),
            "inode of {ns_type} of pid {child}: {line}"
        );
        assert_eq!(
            create.ns.dev,
            Some(ns_dev(child, ns_type)),
            "nsfs device: {line}"
        );
        assert_ne!(create.ns.inode, Some(own_ns_inode(ns_type)), "{line}");
        assert_eq!(create.process.comm, "nshelper", "{line}");
    }
    assert_eq!(
        creates_by(&records, parent).len(),
        2,
        "ns_create records by pid {parent}: {:#?}",
        creates_by(&records, parent)
    );
}

#[test]
fn unprivileged_unshare_user() {
    require_tool("unshare", "util-linux");
    let limit = fs::read_to_string("/proc/sys/user/max_user_namespaces")
        .expect("reading /proc/sys/user/max_user_namespaces failed");
    assert_ne!(
        limit.trim(),
        "0",
        "the kernel allows no user namespaces (/proc/sys/user/max_user_namespaces is 0), so this test cannot run"
    );
    let tracer = Tracer::start(&[]);
    let mut held = Held::spawn(as_nobody(&mut Command::new("unshare")).args([
        "--user",
        "--map-root-user",
        "sleep",
        "30",
    ]));
    let pid = held.pid();
    // A kernel that rejects unprivileged user namespaces makes unshare exit,
    // and wait_until fails with this text and unshare's stderr.
    let host_user = own_ns_inode("user");
    let user_path = ns_path(pid, "user");
    held.wait_until(
        "uid 65534 was in a new user namespace (the kernel may reject unprivileged user namespaces)",
        || read_ns_inode(&user_path).is_ok_and(|inode| inode != host_user),
    );
    tracer.wait_for(&format!("user created by pid {pid}"), |record| {
        record.is_create(pid, "user")
    });
    let records = tracer.stop();

    let record = single(&records, &format!("user created by pid {pid}"), |record| {
        record.is_create(pid, "user")
    });
    let line = &record.line;
    let create = record.ns_create().unwrap();
    assert_eq!(create.outcome, Outcome::Success, "{line}");
    assert_eq!(create.ns.inode, Some(ns_inode(pid, "user")), "{line}");
    assert_eq!(create.ns.dev, Some(ns_dev(pid, "user")), "{line}");
    assert_eq!(create.syscall.name, "unshare", "{line}");
    assert_eq!(create.syscall.flags, ["CLONE_NEWUSER"], "{line}");
    assert_eq!(create.process.uid, NOBODY, "{line}");
    assert_eq!(create.process.gid, NOBODY, "{line}");
    assert_eq!(create.process.comm, "unshare", "{line}");
    assert_eq!(
        creates_by(&records, pid).len(),
        1,
        "ns_create records by pid {pid}: {:#?}",
        creates_by(&records, pid)
    );
}

#[test]
fn short_lived_unshare_net() {
    require_tool("unshare", "util-linux");
    let tracer = Tracer::start(&[]);
    let host_net = own_ns_inode("net");
    let finished = run(Command::new("unshare").args(["-n", "true"]));
    finished.assert_success();
    let pid = finished.pid;
    tracer.wait_for(&format!("net created by pid {pid}"), |record| {
        record.is_create(pid, "net")
    });
    let records = tracer.stop();

    let record = single(&records, &format!("net created by pid {pid}"), |record| {
        record.is_create(pid, "net")
    });
    let line = &record.line;
    let create = record.ns_create().unwrap();
    assert_eq!(create.outcome, Outcome::Success, "{line}");
    let inode = create
        .ns
        .inode
        .unwrap_or_else(|| panic!("no inode in {line}"));
    assert_ne!(
        inode, host_net,
        "the new net namespace has the host's inode: {line}"
    );
    assert_eq!(
        create.ns.dev,
        Some(ns_dev("self", "net")),
        "nsfs device: {line}"
    );
    assert_eq!(create.syscall.flags, ["CLONE_NEWNET"], "{line}");
    assert_eq!(create.process.comm, "unshare", "{line}");
    assert_eq!(create.process.ppid, std::process::id(), "{line}");
    assert_eq!(
        creates_by(&records, pid).len(),
        1,
        "ns_create records by pid {pid}: {:#?}",
        creates_by(&records, pid)
    );
}
