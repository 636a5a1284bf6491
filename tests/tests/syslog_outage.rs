//! A syslog receiver that goes away and comes back: nstrace logs the lost
//! connection, reconnects with backoff, and logs the return. Every record
//! of the output file either reached rsyslog or is counted in the stop
//! record's `sink_failed`, and the file itself loses nothing.
//!
//! UDP is not tested here: a datagram sent to a receiver that is down is
//! lost without an error, so no sender can count it.

use std::{
    path::Path,
    process::Command,
    thread,
    time::{Duration, Instant},
};

use nstrace_tests::{
    process::run,
    record::{Event, Record},
    rsyslog::Rsyslog,
    scratch::ScratchDir,
    tools::renamed_tool,
    tracer::Tracer,
};
use serde_json::Value;

/// Namespaces made in each phase: before, during and after the outage.
const ROUNDS: usize = 10;

/// How long the tracer may take to reconnect after rsyslogd is back: the
/// longest backoff wait (5 s) plus the second between loss records,
/// which are the records that trigger an attempt when nothing else comes.
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs the renamed unshare once and returns its pid.
fn make_namespace(unshare: &Path) -> u32 {
    let finished = run(Command::new(unshare).args(["--uts", "true"]));
    finished.assert_success();
    finished.pid
}

/// Polls the tracer's standard error until it contains `text`.
#[track_caller]
fn wait_for_stderr(tracer: &Tracer, text: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !tracer.stderr().contains(text) {
        assert!(
            Instant::now() < deadline,
            "no {text:?} on nstrace's standard error within {timeout:?}:\n{}",
            tracer.stderr()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Returns whether `record` is the `ns_create` record of the process `pid`.
fn is_create_by(record: &Record, pid: u32) -> bool {
    matches!(&record.event, Event::NsCreate(create) if create.process.pid == pid)
}

/// Parses the JSON record of one rsyslog line, `MSGID MSG`.
#[track_caller]
fn received_record(line: &str) -> Value {
    let (_, message) = line
        .split_once(' ')
        .unwrap_or_else(|| panic!("rsyslog line without MSGID: {line}"));
    serde_json::from_str(message.trim_start())
        .unwrap_or_else(|error| panic!("rsyslog line is not a JSON record ({error}): {line}"))
}

/// Makes a namespace every 200 ms until the tracer logs that it is
/// connected to `target` again, and returns the pids. These records may
/// fall in a backoff wait, so they are counted like the others but none
/// is required to arrive.
#[track_caller]
fn wait_for_reconnect(tracer: &Tracer, unshare: &Path, target: &str) -> Vec<u32> {
    let back = format!("connected to {target} again");
    let deadline = Instant::now() + RECONNECT_TIMEOUT;
    let mut pids = Vec::new();
    while !tracer.stderr().contains(&back) {
        assert!(
            Instant::now() < deadline,
            "nstrace did not reconnect to {target} within {RECONNECT_TIMEOUT:?} of the restart:\n{}",
            tracer.stderr()
        );
        pids.push(make_namespace(unshare));
        thread::sleep(Duration::from_millis(200));
    }
    pids
}

/// Marks the output file lines that rsyslog received. The received
/// lines must be the file's records in order, with some left out.
#[track_caller]
fn delivered_lines(lines: &[String], received: &[String]) -> Vec<bool> {
    let file_values: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let mut delivered = vec![false; lines.len()];
    let mut next = 0;
    for line in received {
        let value = received_record(line);
        let offset = file_values[next..]
            .iter()
            .position(|record| *record == value)
            .unwrap_or_else(|| {
                panic!("rsyslog received a record that is not next in the output file: {line}")
            });
        next += offset;
        delivered[next] = true;
        next += 1;
    }
    delivered
}

/// Stops and restarts rsyslogd around a phase of namespaces while the
/// tracer sends to `target`, and checks delivery and counts.
fn check_outage(transport: &str, target: impl Fn(&Rsyslog) -> String) {
    let tools = ScratchDir::new("syslog-outage");
    let comm = format!("out-{transport}");
    let unshare = renamed_tool("unshare", "util-linux", tools.path(), &comm);
    let mut rsyslog = Rsyslog::start();
    let target = target(&rsyslog);
    // No health record may fall between the delivery check and the kill.
    let mut tracer = Tracer::start(&[
        "--syslog",
        &target,
        "--comm",
        &comm,
        "--health-interval",
        "3600",
    ]);

    let before: Vec<u32> = (0..ROUNDS).map(|_| make_namespace(&unshare)).collect();
    for &pid in &before {
        tracer.wait_for("ns_create before the outage", |r| is_create_by(r, pid));
    }
    let _ = rsyslog.wait_for_lines(tracer.lines().len());
    rsyslog.stop();

    let during: Vec<u32> = (0..ROUNDS).map(|_| make_namespace(&unshare)).collect();
    for &pid in &during {
        tracer.wait_for("ns_create during the outage", |r| is_create_by(r, pid));
    }
    wait_for_stderr(
        &tracer,
        &format!("connection to {target} lost"),
        Duration::from_secs(10),
    );
    rsyslog.restart();

    let waiting = wait_for_reconnect(&tracer, &unshare, &target);
    let after: Vec<u32> = (0..ROUNDS).map(|_| make_namespace(&unshare)).collect();
    for &pid in &after {
        tracer.wait_for("ns_create after the outage", |r| is_create_by(r, pid));
    }
    let stderr = tracer.stderr();
    let lines = tracer.terminate();

    // The file has every record of every phase.
    let records: Vec<Record> = lines
        .iter()
        .map(|line| Record::parse(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect();
    for &pid in before.iter().chain(&during).chain(&waiting).chain(&after) {
        let count = records.iter().filter(|r| is_create_by(r, pid)).count();
        assert_eq!(
            count, 1,
            "ns_create records of pid {pid} in the output file"
        );
    }
    let Some(Event::Stop(stop)) = records.last().map(|r| &r.event) else {
        panic!("the last record is not a stop record");
    };
    assert_eq!(stop.sink_dropped, 0, "records dropped from the queue");
    let during_count = u64::try_from(during.len()).unwrap();
    assert!(
        stop.sink_failed >= during_count,
        "{} records counted as failed, fewer than the {during_count} made during the outage",
        stop.sink_failed
    );

    // rsyslog received the file's records in order, less exactly the
    // ones counted as failed. The stop record comes after its own count.
    let failed = usize::try_from(stop.sink_failed).unwrap();
    let expected = lines.len() - failed;
    let received = rsyslog.wait_for_lines(expected);
    assert_eq!(
        received.len(),
        expected,
        "rsyslog received {} messages; the file has {} records, {failed} counted as failed",
        received.len(),
        lines.len()
    );
    let delivered = delivered_lines(&lines, &received);

    let is_delivered = |pid: u32| {
        records
            .iter()
            .zip(&delivered)
            .any(|(record, &sent)| sent && is_create_by(record, pid))
    };
    for &pid in &before {
        assert!(
            is_delivered(pid),
            "ns_create of pid {pid} made before the outage did not reach rsyslog"
        );
    }
    for &pid in &during {
        assert!(
            !is_delivered(pid),
            "ns_create of pid {pid} made while rsyslogd was down reached rsyslog"
        );
    }
    for &pid in &after {
        assert!(
            is_delivered(pid),
            "ns_create of pid {pid} made after the reconnection did not reach rsyslog"
        );
    }
    assert!(
        stderr.contains("records were not sent while it was unavailable"),
        "the reconnection line does not count the records not sent:\n{stderr}"
    );
}

#[test]
fn syslog_tcp_outage_counted() {
    check_outage("tcp", |rsyslog| {
        format!("tcp:127.0.0.1:{}", rsyslog.tcp_port)
    });
}

#[test]
fn syslog_unix_outage_counted() {
    check_outage("unix", |rsyslog| {
        format!("unix:{}", rsyslog.socket.display())
    });
}
