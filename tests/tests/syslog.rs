//! `--syslog`: every record reaches a real rsyslog intact, over UDP, TCP
//! (octet-counted framing) and a unix datagram socket.

use std::process::Command;

use nstrace_tests::{process::run, rsyslog::Rsyslog, tools::require_tool, tracer::Tracer};
use serde_json::Value;

/// Namespaces created while the tracer sends to syslog.
const ROUNDS: usize = 15;

/// Runs the tracer with `--syslog target` and `--output`, makes namespaces,
/// and checks that rsyslog received exactly the records of the file, in
/// order, each under the MSGID of its kind.
fn check_delivery(rsyslog: &Rsyslog, target: &str) {
    require_tool("unshare", "util-linux");
    let tracer = Tracer::start(&["--syslog", target, "--comm", "unshare"]);
    for _ in 0..ROUNDS {
        run(Command::new("unshare").args(["--net", "--uts", "true"])).assert_success();
    }
    let sent = tracer.stop_lines();
    assert!(
        sent.len() >= 2 + ROUNDS * 2,
        "expected a start, a stop and {} namespace records in the output file, got {}:\n{}",
        ROUNDS * 2,
        sent.len(),
        sent.join("\n")
    );

    let received = rsyslog.wait_for_lines(sent.len());
    assert_eq!(
        received.len(),
        sent.len(),
        "rsyslog received {} messages for {} records; received:\n{}",
        received.len(),
        sent.len(),
        received.join("\n")
    );
    for (line, record) in received.iter().zip(&sent) {
        let (msg_id, message) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("rsyslog line without MSGID: {line}"));
        let message = message.trim_start();
        let expected: Value = serde_json::from_str(record).unwrap();
        let parsed: Value = serde_json::from_str(message).unwrap_or_else(|error| {
            panic!("message is not the JSON record ({error}):\n{message}\nexpected:\n{record}")
        });
        assert_eq!(parsed, expected, "message differs from the record");
        assert_eq!(
            Some(msg_id),
            expected["event"].as_str(),
            "MSGID of {record}"
        );
    }
}

#[test]
fn syslog_udp_delivers_every_record() {
    let rsyslog = Rsyslog::start();
    check_delivery(&rsyslog, &format!("udp:127.0.0.1:{}", rsyslog.udp_port));
}

#[test]
fn syslog_tcp_delivers_every_record() {
    let rsyslog = Rsyslog::start();
    check_delivery(&rsyslog, &format!("tcp:127.0.0.1:{}", rsyslog.tcp_port));
}

#[test]
fn syslog_unix_delivers_every_record() {
    let rsyslog = Rsyslog::start();
    check_delivery(&rsyslog, &format!("unix:{}", rsyslog.socket.display()));
}
