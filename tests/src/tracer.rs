//! A running `nstrace` process that writes to a file the test reads.

use std::{
    fs::{self, File},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{kill, Signal},
    unistd::Pid,
};

use crate::{
    record::{format_records, Record},
    scratch::ScratchDir,
    tools::require_root,
};

// The limits below are far above the usual times (well under a second)
// so that a machine busy with parallel builds does not fail the tests.

/// How long nstrace may take to load and attach its programs.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long [`Tracer::wait_for`] waits for a record.
const RECORD_TIMEOUT: Duration = Duration::from_secs(30);

/// How long nstrace may take to drain and exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Path of the nstrace binary: `NSTRACE_BIN`, or the release build in this
/// workspace's `target` directory.
#[must_use]
pub fn nstrace_bin() -> PathBuf {
    match std::env::var_os("NSTRACE_BIN") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/nstrace"),
    }
}

/// An nstrace process. Dropping it kills the process by pid.
pub struct Tracer {
    child: Child,
    output: PathBuf,
    stderr: PathBuf,
    // Holds the output files. Fields drop after `Drop::drop`, so the
    // directory is removed after the process is gone.
    _dir: ScratchDir,
}

impl Tracer {
    /// Starts nstrace with `args` and `--output` to a new file, and waits
    /// until its start record shows that the hooks are attached.
    #[track_caller]
    #[must_use]
    pub fn start(args: &[&str]) -> Self {
        require_root();
        let bin = nstrace_bin();
        assert!(
            bin.is_file(),
            "nstrace binary {} not found; run `cargo xtask build` or set NSTRACE_BIN",
            bin.display()
        );

        let dir = ScratchDir::new("trace");
        let output = dir.path().join("records.jsonl");
        let stderr = dir.path().join("stderr.log");
        let stderr_file = File::create(&stderr)
            .unwrap_or_else(|error| panic!("creating {} failed: {error}", stderr.display()));
        let child = Command::new(&bin)
            .args(args)
            .arg("--output")
            .arg(&output)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr_file)
            .spawn()
            .unwrap_or_else(|error| panic!("spawning {} failed: {error}", bin.display()));
        let mut tracer = Self {
            child,
            output,
            stderr,
            _dir: dir,
        };
        tracer.wait_for_start();
        tracer
    }

    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Path of the file that `--output` names.
    #[must_use]
    pub fn output_path(&self) -> &Path {
        &self.output
    }

    /// Every complete line written so far to the output file, unparsed.
    #[track_caller]
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        let text = match fs::read_to_string(&self.output) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(error) => panic!("reading {} failed: {error}", self.output.display()),
        };
        // The last piece is empty or a line that nstrace is still writing.
        let complete = text.rsplit_once('\n').map_or("", |(lines, _)| lines);
        complete.lines().map(str::to_string).collect()
    }

    /// Every complete line written so far, parsed. Fails the test on a line
    /// that does not parse.
    #[track_caller]
    #[must_use]
    pub fn records(&self) -> Vec<Record> {
        self.lines()
            .iter()
            .map(|line| {
                Record::parse(line).unwrap_or_else(|error| {
                    panic!("nstrace wrote a record that does not match the expected schema ({error}):\n{line}")
                })
            })
            .collect()
    }

    /// Polls the output until a record matches `predicate` and returns it.
    /// Fails the test after 10 seconds with every record seen.
    #[track_caller]
    pub fn wait_for(&self, expected: &str, predicate: impl Fn(&Record) -> bool) -> Record {
        let deadline = Instant::now() + RECORD_TIMEOUT;
        loop {
            let records = self.records();
            if let Some(found) = records.iter().find(|record| predicate(record)) {
                return found.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no record for {expected} within {RECORD_TIMEOUT:?}; records so far:\n{}",
                format_records(&records)
            );
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Polls the output until `count` records match `predicate`. Fails the
    /// test after 10 seconds with every record seen.
    #[track_caller]
    pub fn wait_for_count(
        &self,
        expected: &str,
        count: usize,
        predicate: impl Fn(&Record) -> bool,
    ) {
        let deadline = Instant::now() + RECORD_TIMEOUT;
        loop {
            let records = self.records();
            let found = records.iter().filter(|record| predicate(record)).count();
            if found >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{found} of {count} records for {expected} within {RECORD_TIMEOUT:?}; records so far:\n{}",
                format_records(&records)
            );
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Sends SIGTERM, waits for nstrace to drain and exit, and returns every
    /// record. Fails the test unless nstrace exits with status 0 after a
    /// stop record.
    #[track_caller]
    #[must_use]
    pub fn stop(self) -> Vec<Record> {
        let lines = self.stop_lines();
        lines
            .iter()
            .map(|line| {
                Record::parse(line).unwrap_or_else(|error| {
                    panic!("nstrace wrote a record that does not match the expected schema ({error}):\n{line}")
                })
            })
            .collect()
    }

    /// Sends SIGTERM, waits for nstrace to exit, and returns every line of
    /// the output file, in any `--format`. Fails the test unless nstrace
    /// exits with status 0 after a stop record.
    #[track_caller]
    #[must_use]
    pub fn stop_lines(mut self) -> Vec<String> {
        self.terminate()
    }

    /// Like [`Tracer::stop_lines`], but keeps the output directory until
    /// the tracer is dropped, for tests that read other files in it.
    #[track_caller]
    #[must_use]
    pub fn terminate(&mut self) -> Vec<String> {
        kill(self.nix_pid(), Signal::SIGTERM)
            .unwrap_or_else(|error| panic!("sending SIGTERM to nstrace failed: {error}"));
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(POLL_INTERVAL),
                Ok(None) => panic!(
                    "nstrace did not exit within {STOP_TIMEOUT:?} of SIGTERM{}",
                    self.stderr_report()
                ),
                Err(error) => panic!("waiting for nstrace failed: {error}"),
            }
        };
        assert!(
            status.success(),
            "nstrace exited with {status} after SIGTERM{}",
            self.stderr_report()
        );

        let lines = self.lines();
        let last_is_stop = lines
            .last()
            .is_some_and(|line| record_kind(line).as_deref() == Some("stop"));
        assert!(
            last_is_stop,
            "the last record after SIGTERM is not a stop record; records:\n{}",
            lines.join("\n")
        );
        lines
    }

    #[track_caller]
    fn wait_for_start(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.start_written() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "nstrace exited with {status} before its start record{}",
                    self.stderr_report()
                );
            }
            assert!(
                Instant::now() < deadline,
                "nstrace wrote no start record within {START_TIMEOUT:?}{}",
                self.stderr_report()
            );
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Whether the output file, or a file that `--rotate-size` rotated it
    /// into, has the start record. Records of other tests may rotate it
    /// away before the first poll.
    fn start_written(&self) -> bool {
        let Some(dir) = self.output.parent() else {
            return false;
        };
        let prefix = self
            .output
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let Ok(entries) = fs::read_dir(dir) else {
            return false;
        };
        entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().starts_with(&*prefix))
            .any(|entry| {
                fs::read_to_string(entry.path())
                    .unwrap_or_default()
                    .lines()
                    .any(|line| record_kind(line).as_deref() == Some("start"))
            })
    }

    /// Returns what nstrace has written to standard error so far.
    #[must_use]
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn nix_pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits in pid_t"))
    }

    fn stderr_report(&self) -> String {
        let text = fs::read_to_string(&self.stderr).unwrap_or_default();
        format!("; stderr:\n{}", text.trim_end())
    }
}

/// Kind of a record line in either format: the native `event` field or
/// the ECS `event.action` field.
fn record_kind(line: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let event = value.get("event")?;
    event
        .as_str()
        .or_else(|| event.get("action")?.as_str())
        .map(str::to_string)
}

impl Drop for Tracer {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this child's pid and does nothing
        // once it has been reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
