//! Many short-lived namespaces, one after another.

use std::{fs, process::ExitCode};

use nix::{
    sys::wait::{waitpid, WaitStatus},
    unistd::{fork, ForkResult, Pid},
};

use crate::{drop_privileges, parse_count, parse_flags, parse_uid_option, Failure};

/// Writing `1` here makes the next task forked in the writer's pid
/// namespace get pid 2 there, if that pid is free.
const NS_LAST_PID: &str = "/proc/sys/kernel/ns_last_pid";

/// Forks COUNT children in turn, each calling unshare(FLAGS) and exiting;
/// with `--uid`, switches to that uid and gid first.
pub fn churn(args: &[String]) -> Result<ExitCode, Failure> {
    let [count, flags, rest @ ..] = args else {
        return Err(Failure::Usage(
            "churn takes COUNT FLAGS [--uid UID]".to_string(),
        ));
    };
    let count = parse_count(count)?;
    let flags = parse_flags(flags)?;
    if let Some(uid) = parse_uid_option(rest)? {
        drop_privileges(uid)?;
    }
    for round in 0..count {
        let child = fork_unsharer(flags)?;
        wait_for_success(child, round)?;
    }
    println!("ok");
    Ok(ExitCode::SUCCESS)
}

/// Unshares a pid namespace and forks its init, which cycles pid 2 COUNT
/// times: it sets `ns_last_pid` to 1 and forks a child that gets pid 2
/// and calls `unshare(CLONE_NEWUTS)`. Prints the init's pid in the
/// caller's pid namespace, which unshare does not change, and exits with
/// the init's status.
pub fn pid_reuse(args: &[String]) -> Result<ExitCode, Failure> {
    let [count] = args else {
        return Err(Failure::Usage("pid-reuse takes COUNT".to_string()));
    };
    let count = parse_count(count)?;
    // SAFETY: unshare takes flags only.
    if unsafe { libc::unshare(libc::CLONE_NEWPID) } != 0 {
        return Err(Failure::Setup(format!(
            "unshare(CLONE_NEWPID) failed: {}",
            nix::errno::Errno::last()
        )));
    }
    // SAFETY: this process has one thread, so the child may run any code.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let code = match cycle_pid_two(count) {
                Ok(()) => 0,
                Err(Failure::Usage(message) | Failure::Setup(message)) => {
                    eprintln!("nshelper: init of the new pid namespace: {message}");
                    3
                }
            };
            // SAFETY: _exit ends the process without running the parent's
            // exit handlers twice.
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => {
            println!("{child}");
            match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, code)) => {
                    Ok(ExitCode::from(u8::try_from(code).unwrap_or(3)))
                }
                other => Err(Failure::Setup(format!("init {child} ended with {other:?}"))),
            }
        }
        Err(errno) => Err(Failure::Setup(format!("fork failed: {errno}"))),
    }
}

/// Runs the loop of [`pid_reuse`] as pid 1 of the new namespace.
fn cycle_pid_two(count: u32) -> Result<(), Failure> {
    for round in 0..count {
        fs::write(NS_LAST_PID, "1").map_err(|error| {
            Failure::Setup(format!(
                "round {round}: writing 1 to {NS_LAST_PID} failed: {error}"
            ))
        })?;
        let child = fork_unsharer(libc::CLONE_NEWUTS)?;
        if child.as_raw() != 2 {
            return Err(Failure::Setup(format!(
                "round {round}: child got pid {child}, expected 2"
            )));
        }
        wait_for_success(child, round)?;
    }
    Ok(())
}

/// Forks a child that calls unshare(`flags`) and exits with status 0 when
/// that succeeded, else 1.
fn fork_unsharer(flags: libc::c_int) -> Result<Pid, Failure> {
    // SAFETY: the child only calls unshare and _exit, which are
    // async-signal-safe, before it ends.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            // SAFETY: unshare takes flags only; _exit never returns.
            let status = unsafe { libc::unshare(flags) };
            unsafe { libc::_exit(i32::from(status != 0)) };
        }
        Ok(ForkResult::Parent { child }) => Ok(child),
        Err(error) => Err(Failure::Setup(format!("fork failed: {error}"))),
    }
}

fn wait_for_success(child: Pid, round: u32) -> Result<(), Failure> {
    match waitpid(child, None) {
        Ok(WaitStatus::Exited(_, 0)) => Ok(()),
        other => Err(Failure::Setup(format!(
            "round {round}: child ended with {other:?}"
        ))),
    }
}
