//! Detection rules, each reproduced with real tools, and benign cases
//! that must not raise an alert.

use std::process::Command;

use nstrace_tests::{
    namespace::own_ns_inode,
    process::{as_nobody, run},
    record::{format_records, Record},
    tools::require_tool,
    tracer::Tracer,
};

/// Fails the test unless the records of `pid` include one with an alert
/// of `rule`; returns that record.
#[track_caller]
fn alert_of(tracer: &Tracer, pid: u32, rule: &str) -> Record {
    tracer.wait_for(
        &format!("alert {rule} on a record of pid {pid}"),
        |record| {
            record.process().is_some_and(|p| p.pid == pid)
                && record.alert().is_some_and(|alert| alert.rule == rule)
        },
    )
}

/// Fails the test when any record of `pid` has an alert.
#[track_caller]
fn assert_no_alert(records: &[Record], pid: u32) {
    let alerted: Vec<Record> = records
        .iter()
        .filter(|record| record.process().is_some_and(|p| p.pid == pid))
        .filter(|record| record.alert().is_some())
        .cloned()
        .collect();
    assert!(
        alerted.is_empty(),
        "benign calls of pid {pid} raised alerts:\n{}",
        format_records(&alerted)
    );
}

#[test]
fn escape_rule_fires_on_setns_to_host() {
    require_tool("unshare", "util-linux");
    require_tool("nsenter", "util-linux");
    let tracer = Tracer::start(&[]);
    // A process in its own mount, uts, ipc and net namespaces, as in a
    // container, enters the host's net namespace through /proc/2/ns/net.
    let escape = run(Command::new("unshare").args([
        "--mount",
        "--uts",
        "--ipc",
        "--net",
        "nsenter",
        "--net=/proc/2/ns/net",
        "true",
    ]));
    escape.assert_success();
    let record = alert_of(&tracer, escape.pid, "container_escape_setns");
    let _ = tracer.stop();

    let alert = record.alert().unwrap();
    assert_eq!(alert.severity, "critical", "{}", record.line);
    assert_eq!(alert.technique.id, "T1611", "{}", record.line);
    let enter = record.ns_enter().expect("the alert is on the setns record");
    assert_eq!(enter.ns.inode, Some(own_ns_inode("net")), "{}", record.line);
}

#[test]
fn escape_rule_ignores_host_process() {
    require_tool("nsenter", "util-linux");
    let tracer = Tracer::start(&[]);
    // The caller is in every host namespace already.
    let host = run(Command::new("nsenter").args(["--net=/proc/2/ns/net", "true"]));
    host.assert_success();
    tracer.wait_for(&format!("setns by pid {}", host.pid), |record| {
        record.is_enter_by(host.pid)
    });
    let records = tracer.stop();
    assert_no_alert(&records, host.pid);
}

#[test]
fn escape_rule_ignores_return_to_host_net() {
    require_tool("unshare", "util-linux");
    require_tool("nsenter", "util-linux");
    let tracer = Tracer::start(&[]);
    // Only the net namespace differs from the host's, as for a podman or
    // CNI thread that set up a container's network and returns.
    let back =
        run(Command::new("unshare").args(["--net", "nsenter", "--net=/proc/2/ns/net", "true"]));
    back.assert_success();
    tracer.wait_for(&format!("setns by pid {}", back.pid), |record| {
        record.is_enter_by(back.pid)
    });
    let records = tracer.stop();
    assert_no_alert(&records, back.pid);
}

#[test]
fn unprivileged_userns_rule_fires() {
    require_tool("unshare", "util-linux");
    let tracer = Tracer::start(&[]);
    let userns = run(as_nobody(Command::new("unshare").args(["--user", "true"])));
    userns.assert_success();
    let record = alert_of(&tracer, userns.pid, "unprivileged_userns_create");
    let _ = tracer.stop();

    let alert = record.alert().unwrap();
    assert_eq!(alert.severity, "medium", "{}", record.line);
    assert_eq!(alert.technique.id, "T1068", "{}", record.line);
    assert!(record.is_create(userns.pid, "user"), "{}", record.line);
}

#[test]
fn root_unshare_raises_no_alert() {
    require_tool("unshare", "util-linux");
    let tracer = Tracer::start(&[]);
    let net = run(Command::new("unshare").args(["-n", "true"]));
    net.assert_success();
    let user = run(Command::new("unshare").args(["--user", "true"]));
    user.assert_success();
    tracer.wait_for(&format!("net created by pid {}", net.pid), |record| {
        record.is_create(net.pid, "net")
    });
    tracer.wait_for(&format!("user created by pid {}", user.pid), |record| {
        record.is_create(user.pid, "user")
    });
    let records = tracer.stop();
    assert_no_alert(&records, net.pid);
    assert_no_alert(&records, user.pid);
}

#[test]
fn userns_setns_rule_fires() {
    require_tool("unshare", "util-linux");
    require_tool("nsenter", "util-linux");
    let tracer = Tracer::start(&[]);
    // unshare makes a user namespace that owns a new net namespace, then
    // execs nsenter, which calls setns from inside that user namespace.
    let setns = run(Command::new("unshare").args([
        "--user",
        "--map-root-user",
        "--net",
        "nsenter",
        "--net=/proc/self/ns/net",
        "true",
    ]));
    setns.assert_success();
    let record = alert_of(&tracer, setns.pid, "userns_unshare_then_setns");
    let records = tracer.stop();

    let alert = record.alert().unwrap();
    assert_eq!(alert.severity, "high", "{}", record.line);
    assert!(record.ns_enter().is_some(), "{}", record.line);
    let created = records
        .iter()
        .find(|r| r.is_create(setns.pid, "user"))
        .unwrap_or_else(|| {
            panic!(
                "no user namespace record of pid {}:\n{}",
                setns.pid,
                format_records(&records)
            )
        });
    let userns = created.ns().unwrap().inode.unwrap();
    assert!(
        alert.reason.contains(&userns.to_string()),
        "{}",
        record.line
    );
}

#[test]
fn plain_setns_raises_no_userns_alert() {
    require_tool("unshare", "util-linux");
    require_tool("nsenter", "util-linux");
    let tracer = Tracer::start(&[]);
    // A net namespace without a user namespace: root enters it.
    let setns =
        run(Command::new("unshare").args(["--net", "nsenter", "--net=/proc/self/ns/net", "true"]));
    setns.assert_success();
    tracer.wait_for(&format!("setns by pid {}", setns.pid), |record| {
        record.is_enter_by(setns.pid)
    });
    let records = tracer.stop();
    assert_no_alert(&records, setns.pid);
}
