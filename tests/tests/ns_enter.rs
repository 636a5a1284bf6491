//! `ns_enter` records for setns, successful and failed, compared with what
//! `/proc/PID/ns` shows for the target and the caller.

use std::{fs, process::Command};

use nstrace_tests::{
    namespace::{ns_dev, ns_inode, ns_path, own_ns_inode},
    process::{run, Held},
    record::{single, ErrorInfo, Outcome, Record},
    scratch::ScratchDir,
    tools::require_tool,
    tracer::Tracer,
    NOBODY,
};

const NSHELPER: &str = env!("CARGO_BIN_EXE_nshelper");

fn enters_by(records: &[Record], pid: u32) -> Vec<&Record> {
    records
        .iter()
        .filter(|record| record.is_enter_by(pid))
        .collect()
}

fn error_info(name: &str, errno: i32) -> ErrorInfo {
    ErrorInfo {
        name: name.to_string(),
        errno,
    }
}

#[test]
fn nsenter_enters_held_net() {
    require_tool("unshare", "util-linux");
    require_tool("nsenter", "util-linux");
    let tracer = Tracer::start(&[]);
    let mut held = Held::spawn(Command::new("unshare").args(["--net", "sleep", "30"]));
    let target = held.pid();
    held.wait_for_new_namespace("net");
    let target_net = ns_inode(target, "net");
    let host_net = own_ns_inode("net");

    let net_path = ns_path(target, "net");
    let finished = run(Command::new("nsenter")
        .arg(format!("--net={}", net_path.display()))
        .arg("true"));
    finished.assert_success();
    let pid = finished.pid;
    tracer.wait_for(&format!("setns by pid {pid}"), |record| {
        record.is_enter_by(pid)
    });
    let records = tracer.stop();

    let record = single(&records, &format!("setns by pid {pid}"), |record| {
        record.is_enter_by(pid)
    });
    let line = &record.line;
    let enter = record.ns_enter().unwrap();
    assert_eq!(enter.outcome, Outcome::Success, "{line}");
    assert_eq!(enter.error, None, "{line}");
    assert_eq!(enter.syscall.name, "setns", "{line}");
    assert_eq!(enter.syscall.fd_kind, "nsfs", "{line}");
    assert_eq!(enter.syscall.nstype, ["CLONE_NEWNET"], "{line}");
    assert_eq!(enter.syscall.ret, 0, "{line}");
    assert!(enter.ns.is_type("net"), "{line}");
    assert_eq!(
        enter.ns.inode,
        Some(target_net),
        "inode of the target's net namespace: {line}"
    );
    assert_eq!(
        enter.ns.dev,
        Some(ns_dev(target, "net")),
        "nsfs device: {line}"
    );
    assert_eq!(enter.target_pid, None, "{line}");
    assert_eq!(
        enter.before.as_ref().map(|slot| slot.inode),
        Some(host_net),
        "{line}"
    );
    assert_eq!(
        enter.after.as_ref().map(|slot| slot.inode),
        Some(target_net),
        "{line}"
    );
    assert_eq!(
        enter.namespaces.before.get("net"),
        Some(&host_net),
        "{line}"
    );
    assert_eq!(
        enter.namespaces.after.get("net"),
        Some(&target_net),
        "{line}"
    );
    assert_eq!(enter.process.comm, "nsenter", "{line}");
    assert_eq!(enter.process.uid, 0, "{line}");
}

#[test]
fn setns_pidfd_enters_net_and_uts() {
    require_tool("unshare", "util-linux");
    let tracer = Tracer::start(&[]);
    let mut held = Held::spawn(Command::new("unshare").args(["--net", "--uts", "sleep", "30"]));
    let target = held.pid();
    held.wait_for_new_namespace("net");
    held.wait_for_new_namespace("uts");

    let finished =
        run(Command::new(NSHELPER).args(["setns-pidfd", &target.to_string(), "newnet,newuts"]));
    finished.assert_success();
    assert_eq!(finished.stdout.trim(), "ok");
    let pid = finished.pid;
    for ns_type in ["net", "uts"] {
        tracer.wait_for(&format!("setns into {ns_type} by pid {pid}"), |record| {
            record
                .ns_enter()
                .is_some_and(|enter| enter.process.pid == pid && enter.ns.is_type(ns_type))
        });
    }
    let records = tracer.stop();

    for ns_type in ["net", "uts"] {
        let record = single(
            &records,
            &format!("setns into {ns_type} by pid {pid}"),
            |record| {
                record
                    .ns_enter()
                    .is_some_and(|enter| enter.process.pid == pid && enter.ns.is_type(ns_type))
            },
        );
        let line = &record.line;
        let enter = record.ns_enter().unwrap();
        let target_inode = ns_inode(target, ns_type);
        assert_eq!(enter.outcome, Outcome::Success, "{line}");
        assert_eq!(enter.syscall.fd_kind, "pidfd", "{line}");
        let mut nstype = enter.syscall.nstype.clone();
        nstype.sort_unstable();
        assert_eq!(nstype, ["CLONE_NEWNET", "CLONE_NEWUTS"], "{line}");
        assert_eq!(enter.syscall.ret, 0, "{line}");
        assert_eq!(
            enter.ns.inode,
            Some(target_inode),
            "inode of the target's {ns_type} namespace: {line}"
        );
        assert_eq!(
            enter.ns.dev,
            Some(ns_dev(target, ns_type)),
            "nsfs device: {line}"
        );
        assert_eq!(
            enter.before.as_ref().map(|slot| slot.inode),
            Some(own_ns_inode(ns_type)),
            "{line}"
        );
        assert_eq!(
            enter.after.as_ref().map(|slot| slot.inode),
            Some(target_inode),
            "{line}"
        );
        assert_eq!(
            enter.namespaces.after.get(ns_type),
            Some(&target_inode),
            "{line}"
        );
        assert_eq!(enter.process.comm, "nshelper", "{line}");
        assert_eq!(enter.target_pid, Some(target), "{line}");
    }
    assert_eq!(
        enters_by(&records, pid).len(),
        2,
        "ns_enter records by pid {pid}: {:#?}",
        enters_by(&records, pid)
    );
}

#[test]
fn setns_bad_fd_fails_ebadf() {
    // An fd of -1, and an fd number that nshelper checks is not open.
    let cases = [("-1", "0", None), ("1000", "newnet", Some("net"))];
    let tracer = Tracer::start(&[]);
    let mut runs = Vec::new();
    for (fd, nstype, ns_type) in cases {
        let finished = run(Command::new(NSHELPER).args(["setns-badfd", fd, nstype]));
        assert_eq!(finished.status.code(), Some(1), "{finished:?}");
        assert_eq!(finished.stdout.trim(), "EBADF", "{finished:?}");
        tracer.wait_for(&format!("setns by pid {}", finished.pid), |record| {
            record.is_enter_by(finished.pid)
        });
        runs.push((fd, ns_type, finished.pid));
    }
    let records = tracer.stop();

    for (fd, ns_type, pid) in runs {
        let record = single(
            &records,
            &format!("setns on fd {fd} by pid {pid}"),
            |record| record.is_enter_by(pid),
        );
        let line = &record.line;
        let enter = record.ns_enter().unwrap();
        assert_eq!(enter.outcome, Outcome::Failure, "{line}");
        assert_eq!(
            enter.error,
            Some(error_info("EBADF", libc::EBADF)),
            "{line}"
        );
        assert_eq!(enter.syscall.fd.to_string(), fd, "{line}");
        assert_eq!(enter.syscall.fd_kind, "not_open", "{line}");
        assert_eq!(enter.syscall.ret, -i64::from(libc::EBADF), "{line}");
        assert_eq!(enter.ns.ns_type.as_deref(), ns_type, "{line}");
        assert_eq!(enter.ns.inode, None, "{line}");
        if let Some(ns_type) = ns_type {
            let own = own_ns_inode(ns_type);
            assert_eq!(
                enter.before.as_ref().map(|slot| slot.inode),
                Some(own),
                "{line}"
            );
            assert_eq!(
                enter.after.as_ref().map(|slot| slot.inode),
                Some(own),
                "a failed setns changed nothing: {line}"
            );
        }
    }
}

#[test]
fn setns_unprivileged_fails_eperm() {
    require_tool("unshare", "util-linux");
    let tracer = Tracer::start(&[]);
    let mut held = Held::spawn(Command::new("unshare").args(["--net", "sleep", "30"]));
    let target = held.pid();
    held.wait_for_new_namespace("net");
    let target_net = ns_inode(target, "net");
    let host_net = own_ns_inode("net");

    // nshelper opens the namespace file as root, then switches to nobody
    // and calls setns without CAP_SYS_ADMIN.
    let net_path = ns_path(target, "net");
    let nobody = NOBODY.to_string();
    let finished = run(Command::new(NSHELPER).args([
        "setns-fd",
        &net_path.to_string_lossy(),
        "newnet",
        "--uid",
        &nobody,
    ]));
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    assert_eq!(finished.stdout.trim(), "EPERM", "{finished:?}");
    let pid = finished.pid;
    tracer.wait_for(&format!("setns by pid {pid}"), |record| {
        record.is_enter_by(pid)
    });
    let records = tracer.stop();

    let record = single(&records, &format!("setns by pid {pid}"), |record| {
        record.is_enter_by(pid)
    });
    let line = &record.line;
    let enter = record.ns_enter().unwrap();
    assert_eq!(enter.outcome, Outcome::Failure, "{line}");
    assert_eq!(
        enter.error,
        Some(error_info("EPERM", libc::EPERM)),
        "{line}"
    );
    assert_eq!(enter.syscall.fd_kind, "nsfs", "{line}");
    assert_eq!(enter.syscall.nstype, ["CLONE_NEWNET"], "{line}");
    assert_eq!(enter.syscall.ret, -i64::from(libc::EPERM), "{line}");
    assert!(enter.ns.is_type("net"), "{line}");
    assert_eq!(
        enter.ns.inode,
        Some(target_net),
        "inode of the namespace the call tried to enter: {line}"
    );
    assert_eq!(
        enter.before.as_ref().map(|slot| slot.inode),
        Some(host_net),
        "{line}"
    );
    assert_eq!(
        enter.after.as_ref().map(|slot| slot.inode),
        Some(host_net),
        "a failed setns changed nothing: {line}"
    );
    assert_eq!(enter.process.uid, NOBODY, "{line}");
    assert_eq!(enter.process.gid, NOBODY, "{line}");
}

#[test]
fn setns_regular_file_fails_einval() {
    let scratch = ScratchDir::new("setns-file");
    let path = scratch.path().join("plain");
    fs::write(&path, "not a namespace\n").expect("writing a regular file failed");
    let tracer = Tracer::start(&[]);

    let finished = run(Command::new(NSHELPER).arg("setns-file").arg(&path));
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    assert_eq!(finished.stdout.trim(), "EINVAL", "{finished:?}");
    let pid = finished.pid;
    tracer.wait_for(&format!("setns by pid {pid}"), |record| {
        record.is_enter_by(pid)
    });
    let records = tracer.stop();

    let record = single(&records, &format!("setns by pid {pid}"), |record| {
        record.is_enter_by(pid)
    });
    let line = &record.line;
    let enter = record.ns_enter().unwrap();
    assert_eq!(enter.outcome, Outcome::Failure, "{line}");
    assert_eq!(
        enter.error,
        Some(error_info("EINVAL", libc::EINVAL)),
        "{line}"
    );
    assert_eq!(enter.syscall.fd_kind, "other", "{line}");
    assert!(enter.syscall.nstype.is_empty(), "{line}");
    assert_eq!(enter.syscall.ret, -i64::from(libc::EINVAL), "{line}");
    assert_eq!(enter.ns.ns_type, None, "{line}");
    assert_eq!(enter.ns.inode, None, "{line}");
    assert_eq!(enter.before, None, "{line}");
    assert_eq!(enter.after, None, "{line}");
}
