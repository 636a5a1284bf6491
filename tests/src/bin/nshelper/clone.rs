//! clone3 calls: one that starts a command in new namespaces, and one
//! with flag combinations that the kernel rejects.

use std::{ffi::CString, process::ExitCode};

use nix::{
    errno::Errno,
    sys::wait::{waitpid, WaitPidFlag, WaitStatus},
    unistd::Pid,
};

use crate::{parse_flags, Failure};

/// Clone flags other than `CLONE_NEW*` that `clone3-fail` accepts by name.
const OTHER_CLONE_FLAGS: [(&str, libc::c_int); 4] = [
    ("fs", libc::CLONE_FS),
    ("vm", libc::CLONE_VM),
    ("sighand", libc::CLONE_SIGHAND),
    ("thread", libc::CLONE_THREAD),
];

/// `struct clone_args` from `include/uapi/linux/sched.h`, version 2 (88
/// bytes, Linux 5.7 and later).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Calls clone3 with the given namespace flags. The child execs the command
/// and is killed when the parent dies, so a test that kills the parent by
/// pid also ends the child.
pub fn clone3(args: &[String]) -> Result<ExitCode, Failure> {
    let [flags, separator, command @ ..] = args else {
        return Err(Failure::Usage("clone3 needs FLAGS -- CMD".to_string()));
    };
    if separator != "--" || command.is_empty() {
        return Err(Failure::Usage("clone3 needs FLAGS -- CMD".to_string()));
    }
    let flags = parse_flags(flags)?;
    let exec_args: Vec<CString> = command
        .iter()
        .map(|arg| {
            CString::new(arg.as_bytes())
                .map_err(|_| Failure::Usage(format!("argument {arg:?} contains NUL")))
        })
        .collect::<Result<_, _>>()?;
    let mut exec_arg_pointers: Vec<*const libc::c_char> =
        exec_args.iter().map(|arg| arg.as_ptr()).collect();
    exec_arg_pointers.push(std::ptr::null());

    let clone_args = CloneArgs {
        flags: u64::from(flags.cast_unsigned()),
        exit_signal: u64::from(libc::SIGCHLD.cast_unsigned()),
        ..CloneArgs::default()
    };
    // SAFETY: clone_args is a valid struct clone_args of the size passed.
    // Without CLONE_VM the child gets a copy of this single-threaded
    // process, and below it calls only async-signal-safe functions
    // (prctl, execvp, _exit) on memory prepared before the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &raw const clone_args,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if ret == 0 {
        // SAFETY: see above; exec_arg_pointers is a NULL-terminated array of
        // C strings that live until exec.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            libc::execvp(exec_arg_pointers[0], exec_arg_pointers.as_ptr());
            libc::_exit(127);
        }
    }
    if ret < 0 {
        let errno = Errno::last();
        println!("{errno:?}");
        eprintln!("nshelper: clone3 failed: {}", errno.desc());
        return Ok(ExitCode::from(1));
    }

    let child = Pid::from_raw(
        i32::try_from(ret).map_err(|_| Failure::Setup(format!("clone3 returned {ret}")))?,
    );
    println!("{child}");
    let status = waitpid(child, None)
        .map_err(|errno| Failure::Setup(format!("waitpid {child} failed: {errno}")))?;
    Ok(match status {
        WaitStatus::Exited(_, code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        _ => ExitCode::from(1),
    })
}

/// Calls clone3 with flags that the kernel is expected to reject, prints
/// the errno name and exits with status 1, after checking that no child
/// exists. A call that succeeds prints `ok` and exits with status 0.
pub fn clone3_fail(args: &[String]) -> Result<ExitCode, Failure> {
    let [flags] = args else {
        return Err(Failure::Usage("clone3-fail needs FLAGS".to_string()));
    };
    let flags = flags.split(',').try_fold(0, |flags, name| {
        match OTHER_CLONE_FLAGS.iter().find(|(known, _)| *known == name) {
            Some((_, flag)) => Ok(flags | flag),
            None => parse_flags(name).map(|flag| flags | flag),
        }
    })?;
    // clone3 rejects an exit signal together with CLONE_THREAD, which would
    // hide the check that the test is after.
    let exit_signal = if flags & libc::CLONE_THREAD == 0 {
        u64::from(libc::SIGCHLD.cast_unsigned())
    } else {
        0
    };
    let clone_args = CloneArgs {
        flags: u64::from(flags.cast_unsigned()),
        exit_signal,
        ..CloneArgs::default()
    };
    // SAFETY: clone_args is a valid struct clone_args of the size passed.
    // The flags are ones the kernel rejects before it creates a task; should
    // it create one anyway, that task calls the exit system call at once,
    // which ends only itself, also when it shares this process's memory.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &raw const clone_args,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if ret == 0 {
        // SAFETY: SYS_exit ends the calling task and never returns.
        unsafe { libc::syscall(libc::SYS_exit, 0) };
    }
    if ret > 0 {
        println!("ok");
        eprintln!("nshelper: clone3 created task {ret}");
        return Ok(ExitCode::SUCCESS);
    }
    let errno = Errno::last();
    // __WALL also finds children that report no exit signal.
    match waitpid(
        Pid::from_raw(-1),
        Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL),
    ) {
        Err(Errno::ECHILD) => {}
        other => {
            return Err(Failure::Setup(format!(
                "after clone3 failed with {errno:?}, waitpid returned {other:?} instead of ECHILD"
            )))
        }
    }
    println!("{errno:?}");
    Ok(ExitCode::from(1))
}
