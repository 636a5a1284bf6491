//! A vfork child that makes a namespace of its own.

use std::process::ExitCode;

use nix::{
    sys::wait::{waitpid, WaitStatus},
    unistd::Pid,
};

use crate::{no_arguments, unshare_uts, wait_for_line, Failure};

/// Stack size of the vfork child, which only makes two system calls.
const CHILD_STACK_BYTES: usize = 64 * 1024;

/// Unshares uts, then starts a vfork child that calls
/// `unshare(CLONE_NEWUTS)` and `_exit`. Prints the child's pid once it exited
/// with status 0, then waits for a stdin line.
///
/// The child is made with `clone(CLONE_VM | CLONE_VFORK | SIGCHLD)`, the
/// flags the kernel's vfork uses, so it shares this process's memory and
/// this thread sleeps until it exits. It runs on a stack of its own, as
/// glibc's `posix_spawn` does, because Rust code cannot return twice from
/// libc's vfork.
pub fn vfork_unshare(args: &[String]) -> Result<ExitCode, Failure> {
    no_arguments("vfork-unshare", args)?;
    unshare_uts("nshelper")?;
    let mut stack = vec![0u8; CHILD_STACK_BYTES];
    // SAFETY: the stack grows down on x86-64 and aarch64, so the child
    // starts at the end of `stack`, which outlives the child because this
    // thread sleeps until the child exits. The child only makes system
    // calls and writes no memory of this process.
    let child = unsafe {
        libc::clone(
            vfork_child,
            stack.as_mut_ptr().add(CHILD_STACK_BYTES).cast(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            std::ptr::null_mut(),
        )
    };
    if child < 0 {
        return Err(Failure::Setup(format!(
            "clone(CLONE_VM | CLONE_VFORK) failed: {}",
            nix::errno::Errno::last()
        )));
    }
    let child = Pid::from_raw(child);
    match waitpid(child, None) {
        Ok(WaitStatus::Exited(_, 0)) => {}
        other => {
            return Err(Failure::Setup(format!(
                "vfork child {child} ended with {other:?}"
            )))
        }
    }
    println!("{child}");
    wait_for_line();
    Ok(ExitCode::SUCCESS)
}

extern "C" fn vfork_child(_: *mut libc::c_void) -> libc::c_int {
    // SAFETY: unshare takes flags only; _exit ends the child without
    // running this process's exit handlers.
    unsafe {
        let status = libc::unshare(libc::CLONE_NEWUTS);
        libc::_exit(i32::from(status != 0))
    }
}
