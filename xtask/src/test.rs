//! `cargo xtask test`: unit tests and end-to-end tests against the
//! running kernel, then the end-to-end tests in Debian's kernels under
//! QEMU.

use std::{env, process::Command, time::Duration};

use anyhow::{bail, Context};

use crate::{build, command, packages, toolchain, vm};

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
    // The guests run even when a host test fails, so that one run shows
    // the results on every kernel.
    let host = command::run(&mut tests).context("host tests failed");
    let guests = vm::test(
        &outputs,
        &vm::KernelSeries::ALL,
        Duration::from_secs(vm::DEFAULT_TIMEOUT_SECS),
        &[],
    );
    match (host, guests) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(error), Ok(())) | (Ok(()), Err(error)) => Err(error),
        (Err(host), Err(guests)) => Err(anyhow::anyhow!("{host:#}\n{guests:#}")),
    }
}

/// Builds, then runs the end-to-end tests in guests only, for
/// `cargo xtask vm-test`.
pub fn vm_test(
    kernels: &[vm::KernelSeries],
    timeout: Duration,
    binaries: &[String],
) -> anyhow::Result<()> {
    let tools = toolchain::setup()?;
    let outputs = build::build(&tools)?;
    vm::test(&outputs, kernels, timeout, binaries)
}
