//! Makes namespace system calls that the end-to-end tests trace.
//!
//! The setns subcommands print `ok` or the errno name (such as `EPERM`) on
//! stdout and exit with status 0 when setns succeeded and 1 when it failed;
//! `clone3-fail` does the same for clone3. Usage errors exit with status 2
//! and setup errors with status 3.

mod churn;
mod clone;
mod comm;
mod mounts;
mod setns;
mod threads;
mod vfork;

use std::{fs::File, io::BufRead, process::ExitCode};

use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};

const USAGE: &str = "usage:
  nshelper clone3 FLAGS -- CMD [ARG...]   clone3 with FLAGS; the child execs CMD,
                                         the parent prints the child's pid and waits
  nshelper clone3-fail FLAGS              clone3 with FLAGS, which may also name
                                         fs, vm, sighand and thread; prints the
                                         errno name and checks that no child exists
  nshelper setns-pidfd PID FLAGS          setns on a pidfd of PID
  nshelper setns-fd PATH [NSTYPE] [--uid UID]
                                         setns on PATH opened read-only; with --uid,
                                         switch to that uid and gid after opening
  nshelper setns-badfd FD [NSTYPE]        setns on FD, which must not be open
  nshelper setns-file PATH                setns on a regular file
  nshelper setns-other pipe|socket        setns on a pipe or a Unix socket
  nshelper churn COUNT FLAGS [--uid UID]  COUNT times in turn: fork a child that
                                         calls unshare(FLAGS) and exits; with --uid,
                                         switch to that uid and gid first
  nshelper pid-reuse COUNT                unshare a pid namespace and fork its init,
                                         which COUNT times sets ns_last_pid to 1 and
                                         forks a child (pid 2 there) that calls
                                         unshare(CLONE_NEWUTS) and exits; prints the
                                         init's pid
  nshelper thread-unshare                 unshare uts, start a thread that unshares
                                         uts again and prints its tid; a line on
                                         stdin ends the thread, which prints
                                         `joined`, and a second line ends the process
  nshelper thread-exec CMD [ARG...]       unshare uts, start a thread that prints its
                                         tid and execs CMD
  nshelper vfork-unshare                  unshare uts, start a vfork child that calls
                                         unshare(CLONE_NEWUTS) and _exit, print its
                                         pid after it exited, wait for a stdin line
  nshelper comm-unshare HEX               set the command name to the bytes HEX
                                         (1 to 15 bytes, no NUL), unshare uts,
                                         print `ok`, wait for a stdin line
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

/// Why the helper stopped before its system call.
enum Failure {
    Usage(String),
    Setup(String),
}

fn main() -> ExitCode {
    // Paths of the mounts subcommand may be any bytes, which String cannot
    // hold, so its arguments stay OsString.
    let raw_args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if raw_args.first().is_some_and(|first| first == "mounts") {
        return finish(mounts::run(&raw_args[1..]));
    }
    let args: Vec<String> = match raw_args
        .into_iter()
        .map(std::ffi::OsString::into_string)
        .collect()
    {
        Ok(args) => args,
        Err(arg) => {
            return finish(Err(Failure::Usage(format!(
                "argument {:?} is not valid UTF-8",
                arg.to_string_lossy()
            ))))
        }
    };
    let rest = args.get(1..).unwrap_or_default();
    let result = match args.first().map(String::as_str) {
        Some("clone3") => clone::clone3(rest),
        Some("clone3-fail") => clone::clone3_fail(rest),
        Some("setns-pidfd") => setns::setns_pidfd(rest),
        Some("setns-fd") => setns::setns_fd(rest),
        Some("setns-badfd") => setns::setns_badfd(rest),
        Some("setns-file") => setns::setns_file(rest),
        Some("setns-other") => setns::setns_other(rest),
        Some("churn") => churn::churn(rest),
        Some("pid-reuse") => churn::pid_reuse(rest),
        Some("thread-unshare") => threads::thread_unshare(rest),
        Some("thread-exec") => threads::thread_exec(rest),
        Some("vfork-unshare") => vfork::vfork_unshare(rest),
        Some("comm-unshare") => comm::comm_unshare(rest),
        Some(other) => Err(Failure::Usage(format!("unknown subcommand {other:?}"))),
        None => Err(Failure::Usage("missing subcommand".to_string())),
    };
    finish(result)
}

fn finish(result: Result<ExitCode, Failure>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            eprintln!("nshelper: {message}\n{USAGE}\n{}", mounts::USAGE);
            ExitCode::from(2)
        }
        Err(Failure::Setup(message)) => {
            eprintln!("nshelper: {message}");
            ExitCode::from(3)
        }
    }
}

/// Fails with a usage error unless `args` is empty.
fn no_arguments(subcommand: &str, args: &[String]) -> Result<(), Failure> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(Failure::Usage(format!("{subcommand} takes no arguments")))
    }
}

/// Calls `unshare(CLONE_NEWUTS)` in the calling thread; `who` names the
/// caller in the error.
fn unshare_uts(who: &str) -> Result<(), Failure> {
    // SAFETY: unshare takes flags only.
    if unsafe { libc::unshare(libc::CLONE_NEWUTS) } == 0 {
        Ok(())
    } else {
        Err(Failure::Setup(format!(
            "unshare(CLONE_NEWUTS) in {who} failed: {}",
            nix::errno::Errno::last()
        )))
    }
}

/// Blocks until a line or end of file arrives on stdin.
fn wait_for_line() {
    let mut line = String::new();
    // A read error ends the wait like end of file does.
    let _ = std::io::stdin().lock().read_line(&mut line);
}

/// Parses a `--uid UID` option, the only one `rest` may hold.
fn parse_uid_option(rest: &[String]) -> Result<Option<libc::uid_t>, Failure> {
    match rest {
        [] => Ok(None),
        [option, value] if option == "--uid" => value
            .parse()
            .map(Some)
            .map_err(|_| Failure::Usage(format!("invalid --uid {value:?}"))),
        _ => Err(Failure::Usage(format!("unexpected arguments {rest:?}"))),
    }
}

/// Parses a decimal count.
fn parse_count(text: &str) -> Result<u32, Failure> {
    text.parse()
        .map_err(|_| Failure::Usage(format!("invalid COUNT {text:?}")))
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
