//! Makes namespace system calls that the end-to-end tests trace.
//!
//! The setns subcommands print `ok` or the errno name (such as `EPERM`) on
//! stdout and exit with status 0 when setns succeeded and 1 when it failed.
//! Usage errors exit with status 2 and setup errors with status 3.

use std::{ffi::CString, fs::File, os::fd::AsRawFd, process::ExitCode};

use nix::{
    errno::Errno,
    sys::wait::{waitpid, WaitStatus},
    unistd::{setgroups, setresgid, setresuid, Gid, Pid, Uid},
};

const USAGE: &str = "usage:
  nshelper clone3 FLAGS -- CMD [ARG...]   clone3 with FLAGS; the child execs CMD,
                                         the parent prints the child's pid and waits
  nshelper setns-pidfd PID FLAGS          setns on a pidfd of PID
  nshelper setns-fd PATH [NSTYPE] [--uid UID]
                                         setns on PATH opened read-only; with --uid,
                                         switch to that uid and gid after opening
  nshelper setns-badfd FD [NSTYPE]        setns on FD, which must not be open
  nshelper setns-file PATH                setns on a regular file
  nshelper churn COUNT FLAGS              COUNT times in turn: fork a child that
                                         calls unshare(FLAGS) and exits
FLAGS and NSTYPE are comma-separated CLONE_NEW* names in lower case without
the CLONE_ prefix (newns, newuts, newipc, newpid, newnet, newuser, newcgroup,
newtime), or 0 for none.";

/// `CLONE_NEW*` flags by their names on the command line.
const NAMESPACE_FLAGS: [(&str, libc::c_int); 8] = [
    ("newns", libc::CLONE_NEWNS),
    ("newuts", libc::CLONE_NEWUTS),
    ("newipc", libc::CLONE_NEWIPC),
    ("newpid", libc::CLONE_NEWPID),
    ("newnet", libc::CLONE_NEWNET),
    ("newuser", libc::CLONE_NEWUSER),
    ("newcgroup", libc::CLONE_NEWCGROUP),
    ("newtime", libc::CLONE_NEWTIME),
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

/// Why the helper stopped before its system call.
enum Failure {
    Usage(String),
    Setup(String),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("clone3") => clone3(&args[1..]),
        Some("setns-pidfd") => setns_pidfd(&args[1..]),
        Some("setns-fd") => setns_fd(&args[1..]),
        Some("setns-badfd") => setns_badfd(&args[1..]),
        Some("setns-file") => setns_file(&args[1..]),
        Some("churn") => churn(&args[1..]),
        Some(other) => Err(Failure::Usage(format!("unknown subcommand {other:?}"))),
        None => Err(Failure::Usage("missing subcommand".to_string())),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            eprintln!("nshelper: {message}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Setup(message)) => {
            eprintln!("nshelper: {message}");
            ExitCode::from(3)
        }
    }
}

/// Calls clone3 with the given namespace flags. The child execs the command
/// and is killed when the parent dies, so a test that kills the parent by
/// pid also ends the child.
fn clone3(args: &[String]) -> Result<ExitCode, Failure> {
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

fn setns_pidfd(args: &[String]) -> Result<ExitCode, Failure> {
    let [pid, flags] = args else {
        return Err(Failure::Usage("setns-pidfd needs PID FLAGS".to_string()));
    };
    let pid: libc::pid_t = pid
        .parse()
        .map_err(|_| Failure::Usage(format!("invalid PID {pid:?}")))?;
    let flags = parse_flags(flags)?;
    // SAFETY: pidfd_open takes two integers and returns a new fd or -1.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if pidfd < 0 {
        return Err(Failure::Setup(format!(
            "pidfd_open {pid} failed: {}",
            Errno::last()
        )));
    }
    let pidfd =
        i32::try_from(pidfd).map_err(|_| Failure::Setup(format!("pidfd_open returned {pidfd}")))?;
    Ok(setns_and_report(pidfd, flags))
}

fn setns_fd(args: &[String]) -> Result<ExitCode, Failure> {
    let (path, rest) = args
        .split_first()
        .ok_or_else(|| Failure::Usage("setns-fd needs PATH".to_string()))?;
    let mut nstype = 0;
    let mut uid = None;
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        if arg == "--uid" {
            let value = rest
                .next()
                .ok_or_else(|| Failure::Usage("--uid needs a value".to_string()))?;
            let value: libc::uid_t = value
                .parse()
                .map_err(|_| Failure::Usage(format!("invalid --uid {value:?}")))?;
            uid = Some(value);
        } else {
            nstype = parse_flags(arg)?;
        }
    }
    let file = open(path)?;
    if let Some(uid) = uid {
        drop_privileges(uid)?;
    }
    Ok(setns_and_report(file.as_raw_fd(), nstype))
}

fn setns_badfd(args: &[String]) -> Result<ExitCode, Failure> {
    let (fd, nstype) = match args {
        [fd] => (fd, 0),
        [fd, nstype] => (fd, parse_flags(nstype)?),
        _ => return Err(Failure::Usage("setns-badfd needs FD [NSTYPE]".to_string())),
    };
    let fd: libc::c_int = fd
        .parse()
        .map_err(|_| Failure::Usage(format!("invalid FD {fd:?}")))?;
    // SAFETY: F_GETFD only reads the descriptor flags.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1 {
        return Err(Failure::Usage(format!(
            "fd {fd} is open; setns-badfd needs an fd that is not"
        )));
    }
    Ok(setns_and_report(fd, nstype))
}

fn setns_file(args: &[String]) -> Result<ExitCode, Failure> {
    let [path] = args else {
        return Err(Failure::Usage("setns-file needs PATH".to_string()));
    };
    let file = open(path)?;
    let is_file = file
        .metadata()
        .map_err(|error| Failure::Setup(format!("stat of {path} failed: {error}")))?
        .is_file();
    if !is_file {
        return Err(Failure::Usage(format!("{path} is not a regular file")));
    }
    Ok(setns_and_report(file.as_raw_fd(), 0))
}

/// Calls setns and prints `ok` or the errno name.
fn churn(args: &[String]) -> Result<ExitCode, Failure> {
    let [count, flags] = args else {
        return Err(Failure::Usage("churn takes COUNT FLAGS".to_string()));
    };
    let count: u32 = count
        .parse()
        .map_err(|_| Failure::Usage(format!("invalid COUNT {count:?}")))?;
    let flags = parse_flags(flags)?;
    for round in 0..count {
        // SAFETY: the child only calls unshare and _exit, which are
        // async-signal-safe, before it ends.
        match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Child) => {
                // SAFETY: unshare takes flags only; _exit never returns.
                let status = unsafe { libc::unshare(flags) };
                unsafe { libc::_exit(i32::from(status != 0)) };
            }
            Ok(nix::unistd::ForkResult::Parent { child }) => match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, 0)) => {}
                other => {
                    return Err(Failure::Setup(format!(
                        "round {round}: child ended with {other:?}"
                    )));
                }
            },
            Err(error) => return Err(Failure::Setup(format!("fork failed: {error}"))),
        }
    }
    println!("ok");
    Ok(ExitCode::SUCCESS)
}

fn setns_and_report(fd: libc::c_int, nstype: libc::c_int) -> ExitCode {
    // SAFETY: setns takes two integers; an invalid fd only makes it fail.
    let ret = unsafe { libc::setns(fd, nstype) };
    if ret == 0 {
        println!("ok");
        ExitCode::SUCCESS
    } else {
        println!("{:?}", Errno::last());
        ExitCode::from(1)
    }
}

fn open(path: &str) -> Result<File, Failure> {
    File::open(path).map_err(|error| Failure::Setup(format!("opening {path} failed: {error}")))
}

/// Switches to `uid` and the group with the same number, with no
/// supplementary groups, dropping every capability.
fn drop_privileges(uid: libc::uid_t) -> Result<(), Failure> {
    let gid = Gid::from_raw(uid);
    let uid = Uid::from_raw(uid);
    setgroups(&[]).map_err(|errno| Failure::Setup(format!("setgroups failed: {errno}")))?;
    setresgid(gid, gid, gid)
        .map_err(|errno| Failure::Setup(format!("setresgid {gid} failed: {errno}")))?;
    setresuid(uid, uid, uid)
        .map_err(|errno| Failure::Setup(format!("setresuid {uid} failed: {errno}")))?;
    Ok(())
}

/// Parses `newpid,newns` into `CLONE_NEWPID | CLONE_NEWNS`; `0` is none.
fn parse_flags(text: &str) -> Result<libc::c_int, Failure> {
    if text == "0" {
        return Ok(0);
    }
    text.split(',').try_fold(0, |flags, name| {
        NAMESPACE_FLAGS
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, flag)| flags | flag)
            .ok_or_else(|| Failure::Usage(format!("unknown namespace flag {name:?}")))
    })
}
