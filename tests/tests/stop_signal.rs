//! Stopping by signal. The first SIGTERM writes the final records and a
//! stop record. While that stop is blocked on a sink that takes nothing,
//! a second SIGTERM ends nstrace at once. Without a second signal, the
//! blocked stop gives up after a bounded wait.

use std::{
    fs,
    os::unix::process::ExitStatusExt,
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{kill, Signal},
    unistd::Pid,
};
use nstrace_tests::{
    process::run,
    record::Event,
    scratch::ScratchDir,
    tools::require_root,
    tracer::{nstrace_bin, Tracer},
};

const NSHELPER: &str = env!("CARGO_BIN_EXE_nshelper");

/// How long the stop must keep nstrace running before the second signal.
const BLOCKED_FOR: Duration = Duration::from_secs(1);

/// How long nstrace may take to exit after the second signal.
const SECOND_SIGNAL_EXIT: Duration = Duration::from_secs(2);

/// How long a stop blocked on the sink may last: the output queue's stall
/// timeout (10 s), then 1 s for the writer thread, with room for a slow
/// machine.
const BLOCKED_STOP_EXIT: Duration = Duration::from_secs(25);

/// nstrace with standard output on a pipe that the test never reads, so
/// that the pipe, then the output queue, fill and the stop blocks.
struct UnreadTracer {
    child: Child,
    log: PathBuf,
    _scratch: ScratchDir,
}

impl UnreadTracer {
    /// Starts nstrace, waits for its start-up inventory, and makes enough
    /// namespaces to fill a 64 KiB pipe and a 64-event queue.
    fn start() -> Self {
        require_root();
        let scratch = ScratchDir::new("stop-signal");
        let log = scratch.path().join("nstrace.log");
        let child = Command::new(nstrace_bin())
            .args(["--queue-size", "64"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting nstrace failed");
        let tracer = Self {
            child,
            log,
            _scratch: scratch,
        };
        tracer.wait_for_log("inventory:", Duration::from_secs(30));
        run(Command::new(NSHELPER).args(["churn", "500", "newuts"])).assert_success();
        tracer
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    #[track_caller]
    fn wait_for_log(&self, text: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.log().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no {text:?} in the nstrace log within {timeout:?}:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    #[track_caller]
    fn sigterm(&self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        kill(pid, Signal::SIGTERM).expect("sending SIGTERM to nstrace failed");
    }

    /// Waits at most `timeout` for nstrace to exit; `None` if it still runs.
    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for nstrace failed") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for UnreadTracer {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this child's pid only.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn first_sigterm_writes_stop_record() {
    let records = Tracer::start(&[]).stop();
    let Some(Event::Stop(stop)) = records.last().map(|record| &record.event) else {
        panic!("the last record after SIGTERM is not a stop record");
    };
    assert_eq!(stop.reason, "signal");
    assert_eq!(stop.sink_dropped, 0);
    assert_eq!(stop.sink_failed, 0);
}

#[test]
fn second_sigterm_exits_blocked_stop() {
    let mut tracer = UnreadTracer::start();
    tracer.sigterm();
    tracer.wait_for_log("SIGTERM received, stopping", Duration::from_secs(5));
    let early = tracer.wait_exit(BLOCKED_FOR);
    assert!(
        early.is_none(),
        "nstrace exited with {early:?} within {BLOCKED_FOR:?} of SIGTERM, although its stdout is not read; log:\n{}",
        tracer.log()
    );

    let sent = Instant::now();
    tracer.sigterm();
    let status = tracer.wait_exit(SECOND_SIGNAL_EXIT).unwrap_or_else(|| {
        panic!(
            "nstrace still runs {SECOND_SIGNAL_EXIT:?} after a second SIGTERM; log:\n{}",
            tracer.log()
        )
    });
    let log = tracer.log();
    assert_eq!(
        status.code(),
        Some(128 + Signal::SIGTERM as i32),
        "exit status after the second SIGTERM ({status}, signal {:?}), {:?} after it; log:\n{log}",
        status.signal(),
        sent.elapsed()
    );
    assert!(
        log.contains("second signal (SIGTERM) received, exiting without the final drain"),
        "no warning about the second signal in the log:\n{log}"
    );
    assert!(
        !log.contains("stopped:"),
        "the stop finished before the second signal; log:\n{log}"
    );
}

#[test]
fn blocked_stop_gives_up() {
    let mut tracer = UnreadTracer::start();
    tracer.sigterm();
    let status = tracer.wait_exit(BLOCKED_STOP_EXIT).unwrap_or_else(|| {
        panic!(
            "nstrace still runs {BLOCKED_STOP_EXIT:?} after SIGTERM with an unread stdout; log:\n{}",
            tracer.log()
        )
    });
    let log = tracer.log();
    assert!(
        status.success(),
        "nstrace exited with {status}; log:\n{log}"
    );
    assert!(
        log.contains("during the stop; giving up on"),
        "no line about the abandoned records in the log:\n{log}"
    );
    let stopped = log
        .lines()
        .find(|line| line.contains("stopped:"))
        .unwrap_or_else(|| panic!("no stop line in the log:\n{log}"));
    assert!(
        !stopped.contains(" 0 dropped"),
        "the records that the stop gave up on are not counted as dropped: {stopped}"
    );
}
