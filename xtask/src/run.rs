//! `cargo xtask run`: build, then trace.

use std::{os::unix::process::CommandExt, process::Command};

use anyhow::bail;

use crate::{build, command, toolchain};

/// Builds everything and replaces this process with nstrace, run as root
/// (through sudo when this user is not root).
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let tools = toolchain::setup()?;
    let outputs = build::build(&tools)?;
    let mut tracer = if command::is_root() {
        Command::new(&outputs.nstrace)
    } else {
        eprintln!("xtask: nstrace loads eBPF programs and needs root; running it with sudo");
        let mut sudo = Command::new("sudo");
        sudo.arg(&outputs.nstrace);
        sudo
    };
    tracer.args(args);
    eprintln!("xtask: running {}", command::describe(&tracer));
    let error = tracer.exec();
    bail!("starting nstrace failed: {error}")
}
