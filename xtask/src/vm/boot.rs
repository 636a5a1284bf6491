//! Booting a guest under QEMU and following its serial console.

use std::{
    fs::{self, File},
    io::{Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::Context;

use crate::command;

/// Guest memory in MiB. The initramfs unpacks into it: about 75 MiB, most
/// of it debug information of nstrace and the test binaries.
const MEMORY_MIB: &str = "2048";

/// How often the console file is read while the guest runs.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// One guest run.
pub struct Boot<'a> {
    /// Prefix of every console line printed on the host.
    pub label: &'a str,
    pub kernel: &'a Path,
    pub initramfs: &'a Path,
    /// Extra kernel command line words. The kernel passes `key=value` words
    /// that it does not know to /init as environment variables.
    pub parameters: &'a [String],
    /// File that receives the serial console.
    pub console_log: PathBuf,
    pub timeout: Duration,
}

/// End of a guest run: the console output and whether it timed out.
pub struct Outcome {
    /// The whole console output, with `\r` removed.
    pub console: String,
    pub elapsed: Duration,
    pub timed_out: bool,
}

/// Boots the guest with TCG and prints its console lines on standard error
/// as they arrive. Waits for QEMU to exit, and kills a guest that is still
/// running after `timeout`.
pub fn run(boot: &Boot) -> anyhow::Result<Outcome> {
    let mut append = String::from("console=ttyS0 panic=-1 quiet");
    for parameter in boot.parameters {
        append.push(' ');
        append.push_str(parameter);
    }
    if boot.console_log.exists() {
        fs::remove_file(&boot.console_log)
            .with_context(|| format!("removing {} failed", boot.console_log.display()))?;
    }
    let mut qemu = Command::new("qemu-system-x86_64");
    // TCG, not KVM, because Debian's 6.1 and 6.12 cloud kernels hung at
    // boot under KVM on a 6.18 host, and TCG needs no /dev/kvm.
    qemu.args(["-accel", "tcg", "-m", MEMORY_MIB, "-smp", "2"])
        .args(["-nodefaults", "-display", "none", "-no-reboot"])
        .arg("-serial")
        .arg(format!("file:{}", boot.console_log.display()))
        .arg("-kernel")
        .arg(boot.kernel)
        .arg("-initrd")
        .arg(boot.initramfs)
        .arg("-append")
        .arg(&append)
        .stdin(Stdio::null());
    eprintln!("xtask: running {}", command::describe(&qemu));
    let started = Instant::now();
    let mut child = qemu
        .spawn()
        .context("starting qemu-system-x86_64 failed; it comes with the qemu-system-x86 package")?;

    let mut console = ConsoleFollower::new(&boot.console_log, boot.label);
    let timed_out = loop {
        let exited = child
            .try_wait()
            .context("waiting for qemu-system-x86_64 failed")?;
        console.print_new()?;
        if let Some(status) = exited {
            console.finish()?;
            if !status.success() {
                eprintln!("[{}] qemu-system-x86_64 exited with {status}", boot.label);
            }
            break false;
        }
        if started.elapsed() >= boot.timeout {
            // Child::kill sends SIGKILL to this child's pid only.
            child.kill().context("killing qemu-system-x86_64 failed")?;
            child
                .wait()
                .context("waiting for the killed qemu-system-x86_64 failed")?;
            console.finish()?;
            break true;
        }
        thread::sleep(POLL_INTERVAL);
    };
    Ok(Outcome {
        console: console.text,
        elapsed: started.elapsed(),
        timed_out,
    })
}

/// Reads a growing console file and prints each complete line once.
struct ConsoleFollower<'a> {
    path: &'a Path,
    label: &'a str,
    offset: u64,
    partial: Vec<u8>,
    text: String,
}

impl<'a> ConsoleFollower<'a> {
    fn new(path: &'a Path, label: &'a str) -> Self {
        Self {
            path,
            label,
            offset: 0,
            partial: Vec::new(),
            text: String::new(),
        }
    }

    fn print_new(&mut self) -> anyhow::Result<()> {
        // QEMU creates the file when it starts, so it may not exist yet.
        let Ok(mut file) = File::open(self.path) else {
            return Ok(());
        };
        file.seek(SeekFrom::Start(self.offset))
            .with_context(|| format!("seeking in {} failed", self.path.display()))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .with_context(|| format!("reading {} failed", self.path.display()))?;
        self.offset += bytes.len() as u64;
        self.partial.extend_from_slice(&bytes);
        while let Some(end) = self.partial.iter().position(|&byte| byte == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            self.emit(&line[..end]);
        }
        Ok(())
    }

    /// Prints what is left after QEMU has exited, including a last line
    /// without a newline.
    fn finish(&mut self) -> anyhow::Result<()> {
        self.print_new()?;
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.emit(&line);
        }
        Ok(())
    }

    fn emit(&mut self, line: &[u8]) {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches('\r');
        eprintln!("[{}] {line}", self.label);
        self.text.push_str(line);
        self.text.push('\n');
    }
}
