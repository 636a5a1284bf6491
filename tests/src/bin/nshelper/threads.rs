//! Threads that change namespaces or exec while their process lives on.

use std::{ffi::CString, process::ExitCode, thread};

use nix::errno::Errno;

use crate::{no_arguments, unshare_uts, wait_for_line, Failure};

/// Unshares uts in the main thread, then starts a thread that unshares
/// uts again, prints its tid and ends at the first stdin line. The main
/// thread prints `joined` after it ended and exits at the next line.
pub fn thread_unshare(args: &[String]) -> Result<ExitCode, Failure> {
    no_arguments("thread-unshare", args)?;
    unshare_uts("the main thread")?;
    let worker = thread::spawn(|| -> Result<(), Failure> {
        unshare_uts("the second thread")?;
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        println!("{tid}");
        wait_for_line();
        Ok(())
    });
    worker
        .join()
        .map_err(|_| Failure::Setup("the second thread panicked".to_string()))??;
    println!("joined");
    wait_for_line();
    Ok(ExitCode::SUCCESS)
}

/// Unshares uts in the main thread, then starts a thread that prints its
/// tid and execs CMD. The kernel ends the main thread during the exec and
/// gives the exec'ing thread the process's pid.
pub fn thread_exec(args: &[String]) -> Result<ExitCode, Failure> {
    if args.is_empty() {
        return Err(Failure::Usage("thread-exec needs CMD".to_string()));
    }
    let command: Vec<CString> = args
        .iter()
        .map(|arg| {
            CString::new(arg.as_bytes())
                .map_err(|_| Failure::Usage(format!("argument {arg:?} contains NUL")))
        })
        .collect::<Result<_, _>>()?;
    unshare_uts("the main thread")?;
    let worker = thread::spawn(move || {
        let mut pointers: Vec<*const libc::c_char> =
            command.iter().map(|arg| arg.as_ptr()).collect();
        pointers.push(std::ptr::null());
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        println!("{tid}");
        // SAFETY: pointers is a NULL-terminated array of C strings that
        // live until exec.
        unsafe { libc::execvp(pointers[0], pointers.as_ptr()) };
        eprintln!(
            "nshelper: exec in the second thread failed: {}",
            Errno::last()
        );
        // SAFETY: _exit ends the whole process, which has nothing to flush.
        unsafe { libc::_exit(3) }
    });
    // A successful exec replaces the process, so join returns only if the
    // thread ended some other way.
    let _ = worker.join();
    Err(Failure::Setup(
        "the second thread ended without exec".to_string(),
    ))
}
