//! A flood of user and uts namespaces from one unprivileged user: each
//! namespace has one `ns_create` with that uid and one `ns_destroy`, or
//! the loss counts account for what is missing. A test binary of its own,
//! so that no other test makes namespaces meanwhile.

use std::{process::Command, time::Duration};

use nstrace_tests::{
    lifetimes::{assert_each_destroyed_once, creates_by_id, stop_record, wait_until_all_destroyed},
    process::run,
    record::{NsCreate, Outcome},
    tracer::Tracer,
    NOBODY,
};

const NSHELPER: &str = env!("CARGO_BIN_EXE_nshelper");
const ROUNDS: u64 = 2_000;

#[test]
fn unprivileged_flood_fully_accounted() {
    let limit = std::fs::read_to_string("/proc/sys/user/max_user_namespaces")
        .expect("reading /proc/sys/user/max_user_namespaces failed");
    assert_ne!(
        limit.trim(),
        "0",
        "the kernel allows no user namespaces (/proc/sys/user/max_user_namespaces is 0), so this test cannot run"
    );
    let tracer = Tracer::start(&[]);
    let finished = run(Command::new(NSHELPER).args([
        "churn",
        &ROUNDS.to_string(),
        "newuser,newuts",
        "--uid",
        &NOBODY.to_string(),
    ]));
    finished.assert_success();
    let helper = finished.pid;
    let by_children = |c: &NsCreate| c.process.ppid == helper;
    wait_until_all_destroyed(&tracer, &by_children, Duration::from_secs(120));
    let records = tracer.stop();

    let stop = stop_record(&records);
    assert_eq!(stop.decode_errors, 0);
    // NOTE: the kernel's loss counters count the records of every process,
    // so a loss while other processes make namespaces breaks the sums below.
    let lost_syscalls = stop.lost.get("syscall").copied().unwrap_or_default();
    let creates = creates_by_id(&records, &by_children);
    for ns_type in ["user", "uts"] {
        let written = creates
            .values()
            .filter(|r| r.ns().is_some_and(|ns| ns.is_type(ns_type)))
            .count() as u64;
        assert_eq!(
            written + lost_syscalls,
            ROUNDS,
            "{ns_type}: {written} ns_create records and {lost_syscalls} lost unshare records, for {ROUNDS} calls (losses {:?})",
            stop.lost
        );
    }
    for record in creates.values() {
        let line = &record.line;
        let create = record.ns_create().unwrap();
        assert_eq!(create.outcome, Outcome::Success, "{line}");
        assert_eq!(create.process.uid, NOBODY, "{line}");
        assert_eq!(create.process.gid, NOBODY, "{line}");
        assert_eq!(
            create.syscall.flags,
            ["CLONE_NEWUTS", "CLONE_NEWUSER"],
            "{line}"
        );
    }
    assert_each_destroyed_once(&records, &creates);
}
