//! Workloads for `cargo xtask bench`.
//!
//! Each subcommand repeats one kind of work ITERATIONS times and prints one
//! JSON line on standard output: the workload, the iterations, the
//! operations done (system calls of the measured kind), the elapsed time of
//! the loop alone and the rate. Set-up before the loop is not timed.

mod churn;
mod mount;
mod scratch;
mod setns;
mod syscall_loop;

use std::{process::ExitCode, time::Duration};

use anyhow::{bail, Context};

const USAGE: &str = "usage: nstrace-bench WORKLOAD ITERATIONS [FLAGS]
  churn ITERATIONS [FLAGS]  fork a child that unshares FLAGS (default
                            uts,ipc,net,mnt) and exits, then wait for it
  setns ITERATIONS          setns into a new UTS namespace and back
  mount ITERATIONS          bind mount and unmount a directory in a
                            private mount namespace
  getppid ITERATIONS        call getppid
  read ITERATIONS           read 4 KiB at offset 0 of a regular file";

/// What one workload run did.
pub struct Outcome {
    pub operations: u64,
    pub elapsed: Duration,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("nstrace-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> anyhow::Result<()> {
    let (workload, iterations, rest) = match args {
        [workload, iterations, rest @ ..] => (workload.as_str(), iterations, rest),
        _ => bail!("missing arguments\n{USAGE}"),
    };
    let iterations: u64 = iterations
        .parse()
        .with_context(|| format!("invalid ITERATIONS {iterations:?}\n{USAGE}"))?;
    let outcome = match (workload, rest) {
        ("churn", []) => churn::run(iterations, churn::DEFAULT_FLAGS)?,
        ("churn", [flags]) => churn::run(iterations, flags)?,
        ("setns", []) => setns::run(iterations)?,
        ("mount", []) => mount::run(iterations)?,
        ("getppid", []) => syscall_loop::getppid(iterations),
        ("read", []) => syscall_loop::read(iterations)?,
        _ => bail!("unknown workload or extra arguments: {args:?}\n{USAGE}"),
    };
    let seconds = outcome.elapsed.as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let rate = outcome.operations as f64 / seconds;
    println!(
        "{{\"workload\":\"{workload}\",\"pid\":{},\"iterations\":{iterations},\"operations\":{},\"seconds\":{seconds:.6},\"ops_per_second\":{rate:.1}}}",
        std::process::id(),
        outcome.operations
    );
    Ok(())
}

/// Returns the last OS error with `what` failed.
pub fn os_error(what: &str) -> anyhow::Error {
    anyhow::Error::new(std::io::Error::last_os_error()).context(format!("{what} failed"))
}
