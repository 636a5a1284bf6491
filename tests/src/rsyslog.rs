//! A private rsyslog receiver: its own configuration, sockets and output
//! file in a scratch directory, listening on loopback only. It never
//! touches the system's rsyslog service, `/dev/log` or `/etc/rsyslog.conf`.

use std::{
    fs,
    net::{TcpListener, TcpStream, UdpSocket},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::{scratch::ScratchDir, tools::require_tool};

/// How long rsyslogd may take to open its inputs.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// How long [`Rsyslog::wait_for_lines`] waits.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);

/// Start of the text of the probe messages sent until rsyslogd writes one.
const PROBE: &str = "nstrace-test-probe";

/// An rsyslogd started by the test, killed by pid on drop. It can be
/// stopped and started again on the same ports, socket and output file.
pub struct Rsyslog {
    /// `None` while stopped.
    child: Option<Child>,
    /// Starts so far, which makes each start's probe text unique.
    starts: u32,
    pub udp_port: u16,
    pub tcp_port: u16,
    pub socket: PathBuf,
    config: PathBuf,
    received: PathBuf,
    dir: ScratchDir,
}

impl Rsyslog {
    /// Writes a configuration and starts rsyslogd in the foreground with
    /// UDP and TCP inputs on 127.0.0.1 and a unix socket in the scratch
    /// directory. Each message is written as `MSGID MSG` on one line.
    #[track_caller]
    #[must_use]
    pub fn start() -> Self {
        require_tool("rsyslogd", "rsyslog");
        let dir = ScratchDir::new("rsyslog");
        let udp_port = free_udp_port();
        let tcp_port = free_tcp_port();
        let socket = dir.path().join("log.sock");
        let received = dir.path().join("received.log");
        let config = dir.path().join("rsyslog.conf");
        let work = dir.path().join("work");
        fs::create_dir(&work).expect("creating the rsyslog work directory failed");
        let text = format!(
            r#"global(workDirectory="{work}" maxMessageSize="256k")
module(load="imudp")
module(load="imtcp")
module(load="imuxsock" SysSock.Use="off")
input(type="imudp" address="127.0.0.1" port="{udp_port}")
input(type="imtcp" address="127.0.0.1" port="{tcp_port}")
input(type="imuxsock" Socket="{socket}" UseSpecialParser="off" ParseHostname="on")
template(name="nstrace_test" type="string" string="%msgid% %msg%\n")
*.* action(type="omfile" file="{received}" template="nstrace_test")
"#,
            work = work.display(),
            socket = socket.display(),
            received = received.display(),
        );
        fs::write(&config, text).expect("writing the rsyslog configuration failed");
        let mut rsyslog = Self {
            child: None,
            starts: 0,
            udp_port,
            tcp_port,
            socket,
            config,
            received,
            dir,
        };
        rsyslog.restart();
        rsyslog
    }

    /// Kills rsyslogd by pid with SIGKILL, as a crash would end it, and
    /// reaps it. Its sockets close, so senders see the receiver gone.
    #[track_caller]
    pub fn stop(&mut self) {
        let mut child = self.child.take().expect("rsyslogd is already stopped");
        // Child::kill sends SIGKILL to this child's pid only.
        child
            .kill()
            .unwrap_or_else(|error| panic!("killing rsyslogd failed: {error}"));
        child
            .wait()
            .unwrap_or_else(|error| panic!("waiting for rsyslogd failed: {error}"));
    }

    /// Starts rsyslogd with the configuration written by
    /// [`Rsyslog::start`], and waits until its inputs are open. Its
    /// output is appended to the same file.
    #[track_caller]
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "rsyslogd is already running");
        let pid_file = self.dir.path().join("rsyslogd.pid");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("rsyslogd.log"))
            .expect("opening the rsyslogd log failed");
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&self.config)
            .arg("-i")
            .arg(&pid_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("duplicating a file handle failed"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("spawning rsyslogd failed: {error}"));
        self.child = Some(child);
        self.starts += 1;
        self.wait_until_ready();
    }

    /// Lines written so far, probe messages left out.
    #[track_caller]
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        let text = match fs::read_to_string(&self.received) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(error) => panic!("reading {} failed: {error}", self.received.display()),
        };
        text.lines()
            .filter(|line| !line.contains(PROBE))
            .map(str::to_string)
            .collect()
    }

    /// Polls until at least `count` lines arrived and returns them. Fails
    /// the test after 15 seconds.
    #[track_caller]
    #[must_use]
    pub fn wait_for_lines(&self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        loop {
            let lines = self.lines();
            if lines.len() >= count {
                return lines;
            }
            assert!(
                Instant::now() < deadline,
                "rsyslogd wrote {} of {count} messages within {DELIVERY_TIMEOUT:?}; received:\n{}{}",
                lines.len(),
                lines.join("\n"),
                self.log_report()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends probe messages over UDP until one is written, which shows
    /// that every input is open: rsyslogd opens them all before it
    /// processes messages.
    #[track_caller]
    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let socket = UdpSocket::bind("127.0.0.1:0").expect("binding a UDP socket failed");
        let text = format!("{PROBE}-start{}.", self.starts);
        let probe = format!("<13>1 - - test - probe - {text}");
        loop {
            let exited = self
                .child
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            if let Some(status) = exited {
                panic!("rsyslogd exited with {status}{}", self.log_report());
            }
            let _ = socket.send_to(probe.as_bytes(), ("127.0.0.1", self.udp_port));
            let written = fs::read_to_string(&self.received).unwrap_or_default();
            if written.contains(&text)
                && self.socket.exists()
                && TcpStream::connect(("127.0.0.1", self.tcp_port)).is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "rsyslogd did not start within {START_TIMEOUT:?}{}",
                self.log_report()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_report(&self) -> String {
        let log = fs::read_to_string(self.dir.path().join("rsyslogd.log")).unwrap_or_default();
        format!("; rsyslogd output:\n{}", log.trim_end())
    }

    #[must_use]
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this child's pid only.
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Returns a UDP port on 127.0.0.1 that was free a moment ago.
fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .map(|address| address.port())
        .expect("finding a free UDP port failed")
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("finding a free TCP port failed")
}
