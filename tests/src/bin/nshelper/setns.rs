//! setns calls on namespace files, pidfds, and files of other kinds.

use std::{
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    process::ExitCode,
};

use nix::errno::Errno;

use crate::{drop_privileges, open, parse_flags, Failure};

pub fn setns_pidfd(args: &[String]) -> Result<ExitCode, Failure> {
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

pub fn setns_fd(args: &[String]) -> Result<ExitCode, Failure> {
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

pub fn setns_badfd(args: &[String]) -> Result<ExitCode, Failure> {
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

pub fn setns_file(args: &[String]) -> Result<ExitCode, Failure> {
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

/// Calls setns on a pipe or a Unix socket, which are no namespace files.
pub fn setns_other(args: &[String]) -> Result<ExitCode, Failure> {
    let [kind] = args else {
        return Err(Failure::Usage(
            "setns-other needs pipe or socket".to_string(),
        ));
    };
    // Both ends of a pipe stay open until setns has returned.
    let fds: Vec<OwnedFd> = match kind.as_str() {
        "pipe" => {
            let mut ends = [0; 2];
            // SAFETY: pipe2 writes two fds to the array of two.
            if unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
                return Err(Failure::Setup(format!("pipe2 failed: {}", Errno::last())));
            }
            // SAFETY: pipe2 returned two new fds that nothing else owns.
            ends.iter()
                .map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) })
                .collect()
        }
        "socket" => {
            // SAFETY: socket takes integers and returns a new fd or -1.
            let fd =
                unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
            if fd < 0 {
                return Err(Failure::Setup(format!("socket failed: {}", Errno::last())));
            }
            // SAFETY: socket returned a new fd that nothing else owns.
            vec![unsafe { OwnedFd::from_raw_fd(fd) }]
        }
        other => {
            return Err(Failure::Usage(format!(
                "invalid kind {other:?}: expected pipe or socket"
            )))
        }
    };
    Ok(setns_and_report(fds[0].as_raw_fd(), 0))
}

/// Calls setns and prints `ok` or the errno name.
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
