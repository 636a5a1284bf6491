//! A ring buffer too small for the load: every record the kernel could
//! not write is counted, and the counts in the output add up. A test
//! binary of its own, so that no other test makes namespaces meanwhile.

use std::process::Command;

use nstrace_tests::{process::run, record::Event, tracer::Tracer};

const NSHELPER: &str = env!("CARGO_BIN_EXE_nshelper");
const ROUNDS: u64 = 20_000;

#[test]
fn flooded_ring_buffer_counts_losses() {
    // One page: a few records at a time, so most are lost.
    let tracer = Tracer::start(&["--ring-buffer-size", "4096"]);
    let churn = run(Command::new(NSHELPER).args(["churn", &ROUNDS.to_string(), "newuts"]));
    churn.assert_success();
    let helper = churn.pid;
    // The loss counters are read every second.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let records = tracer.stop();

    let written = records
        .iter()
        .filter(|r| r.ns_create().is_some_and(|c| c.process.ppid == helper))
        .count() as u64;
    let stop = records
        .iter()
        .find_map(|r| match &r.event {
            Event::Stop(stop) => Some(stop),
            _ => None,
        })
        .expect("a stop record");
    let lost_syscalls = stop.lost.get("syscall").copied().unwrap_or_default();
    assert!(
        lost_syscalls > 0,
        "a one-page ring buffer lost nothing: {:?}",
        stop.lost
    );
    assert_eq!(
        written + lost_syscalls,
        ROUNDS,
        "{written} unshare records written and {lost_syscalls} lost, for {ROUNDS} calls"
    );

    let mut reported = std::collections::BTreeMap::<String, u64>::new();
    for record in &records {
        if let Event::Loss(value) = &record.event {
            let kind = value["kind"].as_str().expect("loss kind").to_string();
            let count = value["count"].as_u64().expect("loss count");
            *reported.entry(kind).or_default() += count;
        }
    }
    for (kind, total) in &stop.lost {
        assert_eq!(
            reported.get(kind).copied().unwrap_or_default(),
            *total,
            "loss records of kind {kind} add up to the stop record's count"
        );
    }
    assert_eq!(stop.decode_errors, 0);
}
