//! Developer tasks for nstrace: `cargo xtask <task>`.
//!
//! `setup` installs what the eBPF build needs, `build` compiles the eBPF
//! object and the collector, and `run` traces. `test` runs every test on
//! the host and then the end-to-end tests in Debian's 6.1 and 6.12 kernels
//! under QEMU. `vm-test` runs only the tests in those kernels. `bench`
//! measures nstrace's cost beside bpftrace and auditd.

mod bench;
mod build;
mod command;
mod packages;
mod run;
mod test;
mod toolchain;
mod vm;

use std::{process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Set-up, build, run, tests and benchmarks of nstrace"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install the eBPF toolchain and bpf-linker if missing.
    Setup,
    /// Build the eBPF object and the release collector binary.
    Build,
    /// Build, then run the tracer as root; arguments after `--` go to nstrace.
    Run {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build, then run the unit and end-to-end tests as root, then the
    /// end-to-end tests in Debian's 6.1 and 6.12 kernels under QEMU;
    /// arguments after `--` go to the host's test binaries.
    Test {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build, then run the end-to-end tests in Debian kernels under QEMU.
    VmTest {
        /// Kernel series to boot.
        #[arg(long, value_enum, default_value = "all")]
        kernel: vm::KernelSelection,
        /// Seconds one guest may run before it is killed and fails.
        #[arg(long, default_value_t = vm::DEFAULT_TIMEOUT_SECS)]
        timeout: u64,
        /// Test binary to run in the guests, such as `mounts`; repeat for
        /// several. Without it, the binaries that `cargo xtask test` runs
        /// there.
        #[arg(long = "binary", value_name = "NAME")]
        binaries: Vec<String>,
    },
    /// Build, then compare the cost of nstrace, bpftrace and auditd on
    /// namespace and unrelated workloads (as root; takes 15-25 minutes).
    Bench(bench::Options),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Setup => toolchain::setup().map(|_| ()),
        Task::Build => toolchain::setup().and_then(|tools| build::build(&tools).map(|_| ())),
        Task::Run { args } => run::run(&args),
        Task::Test { args } => test::test(&args),
        Task::VmTest {
            kernel,
            timeout,
            binaries,
        } => test::vm_test(&kernel.kernels(), Duration::from_secs(timeout), &binaries),
        Task::Bench(options) => bench::bench(&options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
