//! Workloads for `cargo xtask bench`.
//!
//! Each subcommand repeats one kind of work ITERATIONS times and prints one
//! JSON line on standard output: the workload, the iterations, the
//! operations done (system calls of the measured kind), the elapsed time of
//! the loop alone and the rate, and the CPU time the loop used with the
//! rate per CPU-second. Set-up before the loop is not measured.

mod churn;
mod cpu_time;
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
    /// Wall-clock time of the loop.
    pub elapsed: Duration,
    /// User plus system time of the loop, this process's and that of the
    /// children it reaped inside the loop.
    pub cpu: Duration,
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
        ("getppid", []) => syscall_loop::getppid(iterations)?,
        ("read", []) => syscall_loop::read(iterations)?,
        _ => bail!("unknown workload or extra arguments: {args:?}\n{USAGE}"),
    };
    println!("{}", json_line(workload, iterations, &outcome));
    Ok(())
}

/// Formats the result line. A rate over zero time (a loop too short for
/// the clock's resolution) is `null`.
fn json_line(workload: &str, iterations: u64, outcome: &Outcome) -> String {
    let seconds = outcome.elapsed.as_secs_f64();
    let cpu_seconds = outcome.cpu.as_secs_f64();
    let rate = |time: f64| {
        #[allow(clippy::cast_precision_loss)]
        let operations = outcome.operations as f64;
        if time > 0.0 {
            format!("{:.1}", operations / time)
        } else {
            "null".to_string()
        }
    };
    format!(
        "{{\"workload\":\"{workload}\",\"pid\":{},\"iterations\":{iterations},\"operations\":{},\"seconds\":{seconds:.6},\"ops_per_second\":{},\"cpu_seconds\":{cpu_seconds:.6},\"ops_per_cpu_second\":{}}}",
        std::process::id(),
        outcome.operations,
        rate(seconds),
        rate(cpu_seconds),
    )
}

/// Returns the last OS error with `what` failed.
pub fn os_error(what: &str) -> anyhow::Error {
    anyhow::Error::new(std::io::Error::last_os_error()).context(format!("{what} failed"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{json_line, Outcome};

    #[test]
    fn json_line_has_cpu_rate() {
        let outcome = Outcome {
            operations: 100,
            elapsed: Duration::from_secs(2),
            cpu: Duration::from_millis(500),
        };
        let line = json_line("getppid", 100, &outcome);
        assert!(line.contains(r#""ops_per_second":50.0"#), "{line}");
        assert!(line.contains(r#""cpu_seconds":0.500000"#), "{line}");
        assert!(line.contains(r#""ops_per_cpu_second":200.0"#), "{line}");
    }

    #[test]
    fn json_line_zero_cpu_rate_is_null() {
        let outcome = Outcome {
            operations: 1,
            elapsed: Duration::from_micros(3),
            cpu: Duration::ZERO,
        };
        let line = json_line("getppid", 1, &outcome);
        assert!(line.contains(r#""ops_per_cpu_second":null"#), "{line}");
    }
}
