//! A sink that does not keep up never stalls the ring buffer reader:
//! events beyond the output queue are dropped and counted, and the
//! kernel loses nothing. A test binary of its own, because it floods.

use std::{
    fs,
    io::Read,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{kill, Signal},
    unistd::Pid,
};
use nstrace_tests::{
    process::run,
    record::{Event, Record},
    scratch::ScratchDir,
    tracer::nstrace_bin,
};

const NSHELPER: &str = env!("CARGO_BIN_EXE_nshelper");

/// Waits until nstrace's log shows that the start-up inventory is done.
fn wait_for_log(path: &std::path::Path, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = fs::read_to_string(path).unwrap_or_default();
        if log.contains(text) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {text:?} in the nstrace log within 30 s:\n{log}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn unread_stdout_drops_in_queue_not_kernel() {
    let scratch = ScratchDir::new("slow-stdout");
    let log = scratch.path().join("nstrace.log");
    let mut tracer = Command::new(nstrace_bin())
        .args(["--queue-size", "256"])
        .stdout(Stdio::piped())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .expect("starting nstrace");
    wait_for_log(&log, "inventory:");

    // Nobody reads stdout: the pipe fills, then the queue.
    let churn = run(Command::new(NSHELPER).args(["churn", "5000", "newuts"]));
    churn.assert_success();
    thread::sleep(Duration::from_secs(2));
    kill(
        Pid::from_raw(i32::try_from(tracer.id()).unwrap()),
        Signal::SIGTERM,
    )
    .unwrap();

    let mut output = String::new();
    tracer
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    let status = tracer.wait().unwrap();
    let stderr = fs::read_to_string(&log).unwrap_or_default();
    assert!(
        status.success(),
        "nstrace exited with {status}; log:\n{stderr}"
    );

    let records: Vec<Record> = output
        .lines()
        .map(|line| Record::parse(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let Some(Event::Stop(stop)) = records.last().map(|r| &r.event) else {
        panic!("the last record is not a stop record; log:\n{stderr}");
    };
    assert!(
        stop.lost.values().all(|&n| n == 0),
        "the kernel lost records: {:?}",
        stop.lost
    );
    assert!(
        stop.sink_dropped > 0,
        "a 256-event queue behind an unread pipe dropped nothing"
    );
    assert_eq!(stop.sink_failed, 0);
    assert_eq!(
        stop.events_written,
        records.len() as u64 - 1,
        "events_written counts the lines before the stop record"
    );
}

/// Mounts a small tmpfs and unmounts it on drop.
struct SmallTmpfs(std::path::PathBuf);

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

#[test]
fn full_disk_counts_failed_writes() {
    let scratch = ScratchDir::new("full-disk");
    let mount_point = scratch.path().join("disk");
    fs::create_dir(&mount_point).unwrap();
    nix::mount::mount(
        Some("tmpfs"),
        &mount_point,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=64k"),
    )
    .expect("mounting a 64 KiB tmpfs");
    let disk = SmallTmpfs(mount_point.clone());
    let log = scratch.path().join("nstrace.log");
    let mut tracer = Command::new(nstrace_bin())
        .arg("--output")
        .arg(mount_point.join("out.jsonl"))
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .expect("starting nstrace");
    wait_for_log(&log, "inventory:");

    let churn = run(Command::new(NSHELPER).args(["churn", "2000", "newuts"]));
    churn.assert_success();
    thread::sleep(Duration::from_secs(2));
    kill(
        Pid::from_raw(i32::try_from(tracer.id()).unwrap()),
        Signal::SIGTERM,
    )
    .unwrap();
    let status = tracer.wait().unwrap();
    let stderr = fs::read_to_string(&log).unwrap_or_default();
    drop(disk);

    assert!(
        status.success(),
        "nstrace exited with {status} on a full disk; log:\n{stderr}"
    );
    assert!(
        stderr.contains("writing a record failed"),
        "the write failure is logged:\n{stderr}"
    );
    let stopped = stderr
        .lines()
        .find(|line| line.contains("stopped:"))
        .unwrap_or_else(|| panic!("no stop line in the log:\n{stderr}"));
    assert!(
        stopped.contains(", 0 lost in the kernel"),
        "the kernel lost records: {stopped}"
    );
    assert!(
        !stopped.contains(" 0 failed in the output"),
        "no failed writes counted: {stopped}"
    );
}
