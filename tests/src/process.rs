//! Child processes that the tests start.

use std::{
    io::{BufRead, BufReader, Read, Write},
    os::unix::process::{CommandExt, ExitStatusExt},
    process::{Child, ChildStdout, Command, ExitStatus, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use crate::{
    namespace::{ns_path, own_ns_inode, read_ns_inode},
    NOBODY,
};

/// How long [`Held::wait_until`] and [`Held::read_line`] wait.
const HELD_TIMEOUT: Duration = Duration::from_secs(10);

/// A long-running child process that is killed by pid and reaped on drop.
///
/// Its stdin, stdout and stderr are pipes, so a test can release it with
/// [`Held::write_stdin`], read what it prints, and show its stderr when it
/// exits early.
pub struct Held {
    child: Child,
    stdout: Option<BufReader<ChildStdout>>,
    description: String,
}

impl Held {
    /// Spawns `command`.
    #[track_caller]
    pub fn spawn(command: &mut Command) -> Self {
        let description = describe(command);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("spawning {description} failed: {error}"));
        let stdout = child.stdout.take().map(BufReader::new);
        Self {
            child,
            stdout,
            description,
        }
    }

    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes `text` to the process's stdin.
    #[track_caller]
    pub fn write_stdin(&mut self, text: &str) {
        let stdin = self
            .child
            .stdin
            .as_mut()
            .expect("stdin of a held process is a pipe");
        stdin
            .write_all(text.as_bytes())
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|error| {
                panic!("writing to stdin of {} failed: {error}", self.description)
            });
    }

    /// Reads one line from the process's stdout, without the newline.
    /// Fails the test when none arrives within 10 seconds.
    #[track_caller]
    pub fn read_line(&mut self) -> String {
        let mut stdout = self
            .stdout
            .take()
            .expect("stdout of a held process was already handed out");
        let (sender, receiver) = mpsc::channel();
        // A thread does the blocking read, so that the wait is bounded.
        thread::spawn(move || {
            let mut line = String::new();
            let result = stdout.read_line(&mut line).map(|_| line);
            let _ = sender.send((result, stdout));
        });
        match receiver.recv_timeout(HELD_TIMEOUT) {
            Ok((Ok(line), stdout)) if !line.is_empty() => {
                self.stdout = Some(stdout);
                line.trim_end_matches('\n').to_string()
            }
            Ok((Ok(_), _)) => {
                let report = self.exit_report();
                panic!(
                    "{} closed stdout without printing a line{report}",
                    self.description
                )
            }
            Ok((Err(error), _)) => panic!("reading stdout of {} failed: {error}", self.description),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!(
                    "{} printed no line within {HELD_TIMEOUT:?}",
                    self.description
                )
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!(
                    "the thread reading stdout of {} ended without a result",
                    self.description
                )
            }
        }
    }

    /// Polls `condition` until it holds. Fails the test, with the
    /// process's stderr, when the process exits first or 10 seconds pass.
    #[track_caller]
    pub fn wait_until(&mut self, expected: &str, condition: impl Fn() -> bool) {
        let deadline = Instant::now() + HELD_TIMEOUT;
        loop {
            if condition() {
                return;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                let report = self.exit_report();
                panic!("{} exited before {expected}{report}", self.description);
            }
            assert!(
                Instant::now() < deadline,
                "{expected} did not happen within {HELD_TIMEOUT:?} after starting {}",
                self.description
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the process is in a namespace of type `ns_name` other than
    /// the test process's own, which tells that its unshare call returned.
    #[track_caller]
    pub fn wait_for_new_namespace(&mut self, ns_name: &str) {
        let own = own_ns_inode(ns_name);
        let path = ns_path(self.pid(), ns_name);
        self.wait_until(&format!("it entered a new {ns_name} namespace"), || {
            read_ns_inode(&path).is_ok_and(|inode| inode != own)
        });
    }

    /// Exit status and stderr of a process that has exited, for messages.
    fn exit_report(&mut self) -> String {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => describe_status(status),
            _ => "still running".to_string(),
        };
        let mut stderr = String::new();
        if let Some(pipe) = self.child.stderr.as_mut() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        format!(" ({status}); stderr: {:?}", stderr.trim())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this child's pid and does nothing
        // once the child has been reaped, so no other process is hit.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A short-lived process that ran to its end.
#[derive(Debug)]
pub struct Finished {
    pub pid: u32,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub description: String,
}

impl Finished {
    /// Fails the test unless the process exited with status 0.
    #[track_caller]
    pub fn assert_success(&self) {
        assert!(
            self.status.success(),
            "{} failed ({}); stdout: {:?}; stderr: {:?}",
            self.description,
            describe_status(self.status),
            self.stdout.trim(),
            self.stderr.trim()
        );
    }
}

/// Runs `command` to its end with a closed stdin and returns its pid,
/// status and output.
#[track_caller]
pub fn run(command: &mut Command) -> Finished {
    let description = describe(command);
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("spawning {description} failed: {error}"));
    let pid = child.id();
    let output = child
        .wait_with_output()
        .unwrap_or_else(|error| panic!("waiting for {description} failed: {error}"));
    Finished {
        pid,
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        description,
    }
}

/// Sets `command` to run as `nobody` with no supplementary groups.
pub fn as_nobody(command: &mut Command) -> &mut Command {
    // Command clears the supplementary groups when root sets a uid.
    command.uid(NOBODY).gid(NOBODY)
}

fn describe(command: &Command) -> String {
    let mut words = vec![command.get_program().to_string_lossy().into_owned()];
    words.extend(
        command
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned()),
    );
    format!("`{}`", words.join(" "))
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}
