//! A pid namespace whose pid 2 is reused by one short-lived child after
//! another, each making a uts namespace. A test binary of its own, so
//! that no other test makes namespaces meanwhile.

use std::{process::Command, time::Duration};

use nstrace_tests::{
    lifetimes::{assert_each_destroyed_once, creates_by_id, stop_record, wait_until_all_destroyed},
    process::run,
    record::{single, NsCreate, Outcome},
    tracer::Tracer,
};

const NSHELPER: &str = env!("CARGO_BIN_EXE_nshelper");
const ROUNDS: usize = 1_000;

#[test]
fn pid_two_reused_each_namespace_ends() {
    let tracer = Tracer::start(&[]);
    let finished = run(Command::new(NSHELPER).args(["pid-reuse", &ROUNDS.to_string()]));
    finished.assert_success();
    let helper = finished.pid;
    let init: u32 =
        finished.stdout.trim().parse().unwrap_or_else(|error| {
            panic!("pid-reuse printed no init pid ({error}): {finished:?}")
        });
    let by_init_children = |c: &NsCreate| c.process.ppid == init && c.ns.is_type("uts");
    let by_helper = |c: &NsCreate| c.process.pid == helper && c.ns.is_type("pid");
    wait_until_all_destroyed(&tracer, &by_init_children, Duration::from_secs(60));
    wait_until_all_destroyed(&tracer, &by_helper, Duration::from_secs(10));
    let records = tracer.stop();

    let stop = stop_record(&records);
    assert_eq!(
        stop.lost.values().sum::<u64>(),
        0,
        "records lost in the kernel: {:?}",
        stop.lost
    );
    assert_eq!(stop.decode_errors, 0);

    let creates = creates_by_id(&records, &by_init_children);
    assert_eq!(creates.len(), ROUNDS, "one uts namespace per round");
    let mut pids = std::collections::BTreeSet::new();
    for record in creates.values() {
        let create = record.ns_create().unwrap();
        assert_eq!(create.outcome, Outcome::Success, "{}", record.line);
        assert_eq!(create.syscall.name, "unshare", "{}", record.line);
        assert_ne!(create.process.pid, init, "{}", record.line);
        pids.insert(create.process.pid);
    }
    assert_eq!(
        pids.len(),
        ROUNDS,
        "each child has a pid of its own outside the pid namespace"
    );
    assert_each_destroyed_once(&records, &creates);

    let pid_ns = creates_by_id(&records, &by_helper);
    assert_eq!(pid_ns.len(), 1, "one pid namespace: {pid_ns:#?}");
    assert_each_destroyed_once(&records, &pid_ns);
    let pid_create = single(&records, "pid namespace of the helper", |r| {
        r.ns_create().is_some_and(by_helper)
    });
    assert_eq!(
        pid_create.ns_create().unwrap().syscall.flags,
        ["CLONE_NEWPID"],
        "{}",
        pid_create.line
    );
}
