//! 10,000 namespace create and destroy cycles leave the collector's tables
//! where they started. A test binary of its own, so that no other test
//! creates namespaces meanwhile.

use std::process::Command;

use nstrace_tests::{
    process::run,
    record::{Event, Record},
    tracer::Tracer,
};

const NSHELPER: &str = env!("CARGO_BIN_EXE_nshelper");
const ROUNDS: usize = 10_000;

#[test]
fn churn_leaves_tables_flat() {
    let tracer = Tracer::start(&["--health-interval", "1"]);
    let first = tracer.wait_for("first health record", |r| {
        matches!(r.event, Event::Health(_))
    });
    let Event::Health(start) = &first.event else {
        unreachable!()
    };
    let start_tables = start.tables;

    let churn = run(Command::new(NSHELPER).args(["churn", &ROUNDS.to_string(), "newuts,newipc"]));
    churn.assert_success();
    let helper = churn.pid;
    let churned = |r: &Record| -> bool {
        r.lifetime()
            .and_then(|l| l.origin.creator.as_ref())
            .is_some_and(|c| c.ppid == helper)
    };
    // Every namespace the children made must end.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let records = tracer.records();
        let ended = records
            .iter()
            .filter(|r| matches!(r.event, Event::NsDestroy(_)) && churned(r))
            .count();
        if ended >= 2 * ROUNDS {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {ended} of {} churned namespaces destroyed within 120 s",
            2 * ROUNDS
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let records = tracer.stop();

    let created = records
        .iter()
        .filter(|r| r.ns_create().is_some_and(|c| c.process.ppid == helper))
        .count();
    assert_eq!(created, 2 * ROUNDS, "one ns_create per namespace");
    let destroyed = records
        .iter()
        .filter(|r| matches!(r.event, Event::NsDestroy(_)) && churned(r))
        .count();
    assert_eq!(destroyed, 2 * ROUNDS, "one ns_destroy per namespace");
    let alive_churned = records
        .iter()
        .filter(|r| matches!(r.event, Event::NsAlive(_)) && churned(r))
        .count();
    assert_eq!(
        alive_churned, 0,
        "churned namespaces still in the table at stop"
    );

    let stop = records
        .iter()
        .find_map(|r| match &r.event {
            Event::Stop(stop) => Some(stop),
            _ => None,
        })
        .expect("a stop record");
    let others_created = records
        .iter()
        .filter(|r| r.ns_create().is_some_and(|c| c.process.ppid != helper))
        .count() as u64;
    assert!(
        stop.tables.namespaces <= start_tables.namespaces + others_created,
        "namespace table grew from {} to {} with {others_created} other namespaces created",
        start_tables.namespaces,
        stop.tables.namespaces
    );
    let alive = records
        .iter()
        .filter(|r| matches!(r.event, Event::NsAlive(_)))
        .count() as u64;
    assert_eq!(
        alive, stop.tables.namespaces,
        "one ns_alive per live namespace at stop"
    );
    let lost: u64 = stop.lost.values().sum();
    assert_eq!(lost, 0, "records lost in the kernel: {:?}", stop.lost);
}
