//! The `--types`, `--pid` and `--comm` options: records that do not match
//! are left out of the output.

use std::process::Command;

use nstrace_tests::{
    process::{run, Held},
    record::{format_records, single},
    tools::require_tool,
    tracer::Tracer,
};

const NSHELPER: &str = env!("CARGO_BIN_EXE_nshelper");

#[test]
fn types_option_keeps_only_net() {
    require_tool("unshare", "util-linux");
    let tracer = Tracer::start(&["--types", "net"]);
    let mut held = Held::spawn(Command::new("unshare").args(["--net", "--uts", "sleep", "30"]));
    let pid = held.pid();
    held.wait_for_new_namespace("net");
    held.wait_for_new_namespace("uts");
    tracer.wait_for(&format!("net created by pid {pid}"), |record| {
        record.is_create(pid, "net")
    });
    let records = tracer.stop();

    single(&records, &format!("net created by pid {pid}"), |record| {
        record.is_create(pid, "net")
    });
    let uts = records
        .iter()
        .filter(|record| record.is_create(pid, "uts"))
        .count();
    assert_eq!(
        uts,
        0,
        "--types net let uts records through:\n{}",
        format_records(&records)
    );
    // Other tests run in parallel, so this covers their records as well.
    let other_types: Vec<_> = records
        .iter()
        .filter(|record| record.ns().is_some_and(|ns| !ns.is_type("net")))
        .cloned()
        .collect();
    assert!(
        other_types.is_empty(),
        "--types net let records of other types through:\n{}",
        format_records(&other_types)
    );
}

#[test]
fn pid_option_keeps_only_that_pid() {
    require_tool("unshare", "util-linux");
    require_tool("sh", "dash or bash");
    // The shell waits for a line on stdin and then execs unshare, so its pid
    // is known before nstrace starts and before the namespace exists.
    let mut target =
        Held::spawn(Command::new("sh").args(["-c", "read line && exec unshare --net sleep 30"]));
    let pid = target.pid();
    let tracer = Tracer::start(&["--pid", &pid.to_string()]);

    let mut bystander = Held::spawn(Command::new("unshare").args(["--net", "sleep", "30"]));
    let bystander_pid = bystander.pid();
    bystander.wait_for_new_namespace("net");
    target.write_stdin("go\n");
    target.wait_for_new_namespace("net");
    tracer.wait_for(&format!("net created by pid {pid}"), |record| {
        record.is_create(pid, "net")
    });
    let records = tracer.stop();

    single(&records, &format!("net created by pid {pid}"), |record| {
        record.is_create(pid, "net")
    });
    let from_bystander = records
        .iter()
        .filter(|record| record.is_create(bystander_pid, "net"))
        .count();
    assert_eq!(
        from_bystander,
        0,
        "--pid {pid} let records of pid {bystander_pid} through:\n{}",
        format_records(&records)
    );
    let from_other_processes: Vec<_> = records
        .iter()
        .filter(|record| {
            let by_pid = record.process().is_some_and(|process| process.pid == pid);
            let child_pid = record
                .ns_create()
                .and_then(|create| create.child.as_ref())
                .is_some_and(|child| child.pid == pid);
            record.process().is_some() && !by_pid && !child_pid
        })
        .cloned()
        .collect();
    assert!(
        from_other_processes.is_empty(),
        "--pid {pid} let records of other processes through:\n{}",
        format_records(&from_other_processes)
    );
}

#[test]
fn comm_option_keeps_only_unshare() {
    require_tool("unshare", "util-linux");
    let tracer = Tracer::start(&["--comm", "unshare"]);
    // nshelper's setns fails, but nstrace records failed calls too, so
    // only the filter keeps this one out.
    let helper = run(Command::new(NSHELPER).args(["setns-badfd", "-1", "newnet"]));
    assert_eq!(helper.stdout.trim(), "EBADF", "{helper:?}");
    let finished = run(Command::new("unshare").args(["-n", "true"]));
    finished.assert_success();
    let pid = finished.pid;
    tracer.wait_for(&format!("net created by pid {pid}"), |record| {
        record.is_create(pid, "net")
    });
    let records = tracer.stop();

    single(&records, &format!("net created by pid {pid}"), |record| {
        record.is_create(pid, "net")
    });
    let from_helper = records
        .iter()
        .filter(|record| record.is_enter_by(helper.pid))
        .count();
    assert_eq!(
        from_helper,
        0,
        "--comm unshare let nshelper's record through:\n{}",
        format_records(&records)
    );
    let other_comms: Vec<_> = records
        .iter()
        .filter(|record| {
            record
                .process()
                .is_some_and(|process| process.comm != "unshare")
        })
        .cloned()
        .collect();
    assert!(
        other_comms.is_empty(),
        "--comm unshare let records of other commands through:\n{}",
        format_records(&other_comms)
    );
}
