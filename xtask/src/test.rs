//! `cargo xtask test`: unit tests, then end-to-end tests against the
//! running kernel.

use std::{env, process::Command};

use anyhow::{bail, Context};

use crate::{build, command, packages, toolchain};

/// Debian packages whose programs the end-to-end tests run: unshare,
/// nsenter and setpriv (util-linux), lsns (util-linux), ip (iproute2), a
/// private syslog receiver (rsyslog), OCI containers (runc, podman, and
/// busybox-static for their root file system), and `systemd-analyze`
/// (systemd) for the unit file.
const TEST_PACKAGES: [&str; 7] = [
    "util-linux",
    "iproute2",
    "rsyslog",
    "runc",
    "busybox-static",
    "podman",
    "systemd",
];

pub fn test(args: &[String]) -> anyhow::Result<()> {
    if !command::is_root() {
        bail!("the tests load eBPF programs and create namespaces, so they must run as root");
    }
    let tools = toolchain::setup()?;
    let outputs = build::build(&tools)?;
    packages::ensure(&TEST_PACKAGES, "the end-to-end tests")?;

    let root = build::workspace_root();
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut tests = Command::new(cargo);
    tests
        .current_dir(&root)
        .args(["test", "--release", "--workspace"])
        .env("NSTRACE_EBPF_OBJECT", &outputs.ebpf_object)
        .env("NSTRACE_BIN", &outputs.nstrace)
        .arg("--")
        .args(args);
    command::run(&mut tests).context("tests failed")
}
