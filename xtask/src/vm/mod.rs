//! End-to-end tests inside Debian's 6.1 and 6.12 kernels under QEMU.
//!
//! The host kernel may lack program types or hooks that these kernels
//! have, so the same nstrace binary and test binaries also run in guests.
//! One initramfs contains them all, each kernel boots it once, and /init
//! reports the test counts on the serial console.

mod boot;
mod initramfs;
mod kernel;
mod report;
mod test_binaries;

use std::{fmt::Write as _, path::Path, time::Duration};

use anyhow::{bail, Context};
use clap::ValueEnum;

pub use kernel::KernelSeries;

use crate::{build, packages};

/// Debian packages for booting the guests and building their initramfs.
const VM_PACKAGES: [&str; 6] = [
    "qemu-system-x86",
    "busybox-static",
    "cpio",
    "util-linux",
    "iproute2",
    "bash",
];

/// Default time one guest may take from boot to power-off. A guest run of
/// the 34 end-to-end tests took 6 to 9 minutes under TCG on a busy 2-core
/// host.
pub const DEFAULT_TIMEOUT_SECS: u64 = 1500;

/// Kernel series that `cargo xtask vm-test` boots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KernelSelection {
    #[value(name = "6.1")]
    Linux6_1,
    #[value(name = "6.12")]
    Linux6_12,
    All,
}

impl KernelSelection {
    pub fn kernels(self) -> Vec<KernelSeries> {
        match self {
            Self::Linux6_1 => vec![KernelSeries::Linux6_1],
            Self::Linux6_12 => vec![KernelSeries::Linux6_12],
            Self::All => KernelSeries::ALL.to_vec(),
        }
    }
}

/// Runs the end-to-end tests in one guest per kernel in `kernels` and
/// fails unless every guest reports every test passed within `timeout`.
/// `binaries` names the test binaries to run; when empty, those of
/// [`test_binaries::GUEST_TESTS`].
pub fn test(
    outputs: &build::Outputs,
    kernels: &[KernelSeries],
    timeout: Duration,
    binaries: &[String],
) -> anyhow::Result<()> {
    packages::ensure(&VM_PACKAGES, "the guest tests under QEMU")?;
    let root = build::workspace_root();
    let vm_dir = root.join("target/vm");
    let selected: Vec<&str> = if binaries.is_empty() {
        test_binaries::GUEST_TESTS.to_vec()
    } else {
        binaries.iter().map(String::as_str).collect()
    };
    let tests = test_binaries::build(&root, &outputs.ebpf_object, &selected)?;
    let expected: usize = tests.tests.iter().map(|test| test.test_count).sum();

    let initramfs = vm_dir.join("initramfs.cpio.gz");
    initramfs::build(
        &initramfs::Contents {
            nstrace: &outputs.nstrace,
            tests: &tests,
        },
        &vm_dir.join("initramfs"),
        &initramfs,
    )?;

    let mut summary = String::new();
    let mut failures = Vec::new();
    for &series in kernels {
        match run_guest(series, &vm_dir, &initramfs, expected, timeout) {
            Ok(line) => {
                let _ = writeln!(summary, "xtask: {line}");
            }
            Err(error) => {
                let _ = writeln!(summary, "xtask: Linux {series}: FAILED: {error:#}");
                failures.push(series.label());
            }
        }
    }
    eprint!("{summary}");
    if !failures.is_empty() {
        bail!("guest tests failed on Linux {}", failures.join(" and "));
    }
    Ok(())
}

/// Boots one guest and returns its summary line, or an error naming what
/// went wrong: no kernel, no report, a timeout or failed tests.
fn run_guest(
    series: KernelSeries,
    vm_dir: &Path,
    initramfs: &Path,
    expected: usize,
    timeout: Duration,
) -> anyhow::Result<String> {
    let kernel = kernel::fetch(series, &vm_dir.join("kernels"))
        .with_context(|| format!("fetching the Linux {series} kernel failed"))?;
    let outcome = boot::run(&boot::Boot {
        label: series.label(),
        kernel: &kernel.vmlinuz,
        initramfs,
        parameters: &[format!("nstrace_kernel={series}")],
        console_log: vm_dir.join(format!("console-{series}.log")),
        timeout,
    })?;
    for line in report::binary_lines(&outcome.console) {
        eprintln!("xtask: Linux {series}: {line}");
    }
    let seconds = outcome.elapsed.as_secs();
    if outcome.timed_out {
        bail!(
            "{} did not power off within {} s; the console is in target/vm/console-{series}.log",
            kernel.package,
            timeout.as_secs()
        );
    }
    let result = report::parse_result(&outcome.console).with_context(|| {
        format!(
            "{} exited after {seconds} s without a NSTRACE-GUEST-RESULT line; the console is in target/vm/console-{series}.log",
            kernel.package
        )
    })?;
    if result.kernel != series.label() {
        bail!(
            "the guest reported kernel={} but Linux {series} was booted",
            result.kernel
        );
    }
    let counts = format!(
        "{} passed, {} failed of {expected} tests in {seconds} s ({})",
        result.passed, result.failed, kernel.package
    );
    if result.failed > 0 || result.passed != expected {
        bail!("{counts}");
    }
    Ok(format!("Linux {series}: {counts}"))
}
