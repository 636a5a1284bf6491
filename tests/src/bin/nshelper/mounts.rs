//! The `mounts` subcommand: makes mount syscalls in a new mount namespace.
//!
//! It calls `unshare(CLONE_NEWNS)` and makes every mount in the new namespace
//! private (`mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)`), so that
//! nothing propagates to the namespace it came from. Then it runs the
//! steps. It prints one line per mount syscall, `NAME ok RET` or
//! `NAME err ERRNO`, then `done`, and waits until stdin reaches end of
//! file or a line, so that the caller can read `/proc/PID/ns/mnt`. Paths
//! are taken as raw bytes, so they may hold any byte but NUL.

use std::{
    ffi::{CString, OsString},
    io::BufRead,
    os::unix::ffi::OsStrExt,
    process::ExitCode,
};

use nix::errno::Errno;

use super::{drop_privileges, Failure};

pub const USAGE: &str =
    "  nshelper mounts STEP...                 mount syscalls in a new mount namespace;
                                         STEP is one of:
      bind SRC DST | rbind SRC DST | remount-ro DST | tmpfs DST
      bind-untouched SRC DST
                           bind mount with both paths on a file page not yet mapped
      propagate DST private|shared|slave|unbindable
      fsmount DST          fsopen tmpfs, fsconfig source, create, fsmount, move_mount
      open-tree SRC DST    open_tree(OPEN_TREE_CLONE | AT_RECURSIVE), move_mount
      open-tree-attr SRC DST
                           open_tree_attr(OPEN_TREE_CLONE) read-only, move_mount
      setattr DST          mount_setattr(AT_RECURSIVE) read-only, nosuid, private
      pivot-root NEW OLD | umount DST 0|detach | mkdir DIR | chdir DIR
      drop-privileges      switch to uid and gid 65534";

/// `FSCONFIG_*` commands and other values from `include/uapi/linux/mount.h`.
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const OPEN_TREE_CLONE: libc::c_uint = 1;
/// `__NR_open_tree_attr` (Linux 6.15), the same on every architecture.
const SYS_OPEN_TREE_ATTR: libc::c_long = 467;

/// The source name of the tmpfs mounts, as `mount` and fsconfig set it.
pub const TMPFS_SOURCE: &str = "nstrace-tmpfs";
pub const FSMOUNT_SOURCE: &str = "nstrace-fsmount";

/// `struct mount_attr`, first version.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

pub fn run(args: &[OsString]) -> Result<ExitCode, Failure> {
    // SAFETY: unshare takes an integer and changes only this process.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return Err(Failure::Setup(format!(
            "unshare(CLONE_NEWNS) failed: {}",
            Errno::last()
        )));
    }
    let root = c_path(b"/")?;
    let status = mount(None, Some(&root), None, libc::MS_REC | libc::MS_PRIVATE);
    if !report("mount", status) {
        return Err(Failure::Setup("making / private failed".to_string()));
    }

    let mut rest = args;
    while let Some((step, tail)) = rest.split_first() {
        rest = run_step(step.as_bytes(), tail)?;
    }
    println!("done");
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    Ok(ExitCode::SUCCESS)
}

/// Runs one step with its arguments from `args`, and returns the rest.
fn run_step<'a>(step: &[u8], args: &'a [OsString]) -> Result<&'a [OsString], Failure> {
    let arity = match step {
        b"drop-privileges" => 0,
        b"remount-ro" | b"tmpfs" | b"fsmount" | b"setattr" | b"mkdir" | b"chdir" => 1,
        b"bind" | b"bind-untouched" | b"rbind" | b"propagate" | b"open-tree"
        | b"open-tree-attr" | b"pivot-root" | b"umount" => 2,
        other => {
            return Err(Failure::Usage(format!(
                "unknown mounts step {:?}",
                String::from_utf8_lossy(other)
            )))
        }
    };
    if args.len() < arity {
        return Err(Failure::Usage(format!(
            "mounts step {:?} needs {arity} arguments",
            String::from_utf8_lossy(step)
        )));
    }
    let (own, remaining) = args.split_at(arity);
    let paths: Vec<CString> = own
        .iter()
        .map(|arg| c_path(arg.as_bytes()))
        .collect::<Result<_, _>>()?;
    match (step, paths.as_slice()) {
        (b"bind", [source, target]) => {
            report(
                "mount",
                mount(Some(source), Some(target), None, libc::MS_BIND),
            );
        }
        (b"bind-untouched", [source, target]) => bind_from_untouched_page(source, target)?,
        (b"rbind", [source, target]) => {
            let flags = libc::MS_BIND | libc::MS_REC;
            report("mount", mount(Some(source), Some(target), None, flags));
        }
        (b"remount-ro", [target]) => {
            let flags = libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY;
            report("mount", mount(None, Some(target), None, flags));
        }
        (b"tmpfs", [target]) => {
            let source = c_path(TMPFS_SOURCE.as_bytes())?;
            let fstype = c_path(b"tmpfs")?;
            let flags = libc::MS_NOSUID | libc::MS_NODEV;
            report(
                "mount",
                mount(Some(&source), Some(target), Some(&fstype), flags),
            );
        }
        (b"propagate", [target, kind]) => {
            let flags = match kind.as_bytes() {
                b"private" => libc::MS_PRIVATE,
                b"shared" => libc::MS_SHARED,
                b"slave" => libc::MS_SLAVE,
                b"unbindable" => libc::MS_UNBINDABLE,
                _ => return Err(Failure::Usage(format!("unknown propagation {kind:?}"))),
            };
            report("mount", mount(None, Some(target), None, flags));
        }
        (b"fsmount", [target]) => new_mount_api(target)?,
        (b"open-tree", [source, target]) => open_tree_and_move(source, target),
        (b"open-tree-attr", [source, target]) => open_tree_attr_and_move(source, target),
        (b"setattr", [target]) => mount_setattr(target),
        (b"pivot-root", [new_root, put_old]) => {
            // SAFETY: both are NUL-terminated strings that outlive the call.
            let ret =
                unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) };
            report("pivot_root", ret);
        }
        (b"umount", [target, flags]) => {
            let flags = match flags.as_bytes() {
                b"0" => 0,
                b"detach" => libc::MNT_DETACH,
                _ => return Err(Failure::Usage(format!("unknown umount flags {flags:?}"))),
            };
            // SAFETY: target is a NUL-terminated string.
            let ret = unsafe { libc::umount2(target.as_ptr(), flags) };
            report("umount2", i64::from(ret));
        }
        (b"mkdir", [dir]) => {
            // SAFETY: dir is a NUL-terminated string.
            if unsafe { libc::mkdir(dir.as_ptr(), 0o755) } != 0 {
                return Err(Failure::Setup(format!(
                    "mkdir {dir:?} failed: {}",
                    Errno::last()
                )));
            }
        }
        (b"chdir", [dir]) => {
            // SAFETY: dir is a NUL-terminated string.
            if unsafe { libc::chdir(dir.as_ptr()) } != 0 {
                return Err(Failure::Setup(format!(
                    "chdir {dir:?} failed: {}",
                    Errno::last()
                )));
            }
        }
        (b"drop-privileges", []) => drop_privileges(nstrace_tests::NOBODY)?,
        _ => unreachable!("arity checked above"),
    }
    Ok(remaining)
}

/// Calls `mount(source, target, NULL, MS_BIND)` with both paths on a
/// file page that this process has not touched, so the page is not mapped
/// at syscall entry. The kernel maps it when it copies the paths.
fn bind_from_untouched_page(source: &CString, target: &CString) -> Result<(), Failure> {
    let setup = |what: &str, error: &dyn std::fmt::Display| {
        Failure::Setup(format!("bind-untouched: {what} failed: {error}"))
    };
    let mut bytes = source.as_bytes_with_nul().to_vec();
    let target_offset = bytes.len();
    bytes.extend_from_slice(target.as_bytes_with_nul());
    let path = std::env::temp_dir().join(format!("nshelper-paths-{}", std::process::id()));
    std::fs::write(&path, &bytes).map_err(|error| setup("writing the paths file", &error))?;
    let file = std::fs::File::open(&path);
    let _ = std::fs::remove_file(&path);
    let file = file.map_err(|error| setup("opening the paths file", &error))?;
    // SAFETY: a new private read-only mapping of a file this process owns;
    // nothing else is mapped at the address the kernel picks.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes.len(),
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            std::os::fd::AsRawFd::as_raw_fd(&file),
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(setup("mmap", &Errno::last()));
    }
    let source_ptr = base.cast::<libc::c_char>();
    let target_ptr = source_ptr.wrapping_add(target_offset);
    // SAFETY: both pointers are NUL-terminated strings inside the mapping,
    // which stays mapped until after the call.
    let ret = unsafe {
        libc::mount(
            source_ptr,
            target_ptr,
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    report("mount", i64::from(ret));
    // SAFETY: the mapping made above, no longer used.
    unsafe { libc::munmap(base, bytes.len()) };
    Ok(())
}

/// Calls `fsopen("tmpfs")`, `fsconfig` to set the source, `fsconfig` to
/// create, `fsmount` and `move_mount` onto `target`, stopping at the first
/// failed call.
fn new_mount_api(target: &CString) -> Result<(), Failure> {
    let tmpfs = c_path(b"tmpfs")?;
    let key = c_path(b"source")?;
    let value = c_path(FSMOUNT_SOURCE.as_bytes())?;
    // SAFETY: each call gets NUL-terminated strings that outlive it and
    // integer arguments; a failure only returns -1.
    let fs_fd = unsafe { libc::syscall(libc::SYS_fsopen, tmpfs.as_ptr(), FSOPEN_CLOEXEC) };
    if !report("fsopen", fs_fd) {
        return Ok(());
    }

    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs_fd,
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0,
        )
    };
    if !report("fsconfig", ret) {
        return Ok(());
    }

    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs_fd,
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    if !report("fsconfig", ret) {
        return Ok(());
    }

    let mount_fd =
        unsafe { libc::syscall(libc::SYS_fsmount, fs_fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV) };
    if !report("fsmount", mount_fd) {
        return Ok(());
    }

    move_mount(mount_fd, target);
    Ok(())
}

/// Calls `open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC
/// | AT_RECURSIVE)`, then `move_mount` of the tree onto `target`.
fn open_tree_and_move(source: &CString, target: &CString) {
    let flags =
        OPEN_TREE_CLONE | libc::O_CLOEXEC.cast_unsigned() | libc::AT_RECURSIVE.cast_unsigned();
    // SAFETY: source is a NUL-terminated string; the rest are integers.
    let tree_fd =
        unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, source.as_ptr(), flags) };
    if report("open_tree", tree_fd) {
        move_mount(tree_fd, target);
    }
}

/// Calls `open_tree_attr(AT_FDCWD, source, OPEN_TREE_CLONE |
/// OPEN_TREE_CLOEXEC, {attr_set: MOUNT_ATTR_RDONLY}, 32)`, then `move_mount`
/// of the read-only copy onto `target`.
fn open_tree_attr_and_move(source: &CString, target: &CString) {
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC.cast_unsigned();
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: source is NUL-terminated and attr is a valid struct
    // mount_attr of the size passed.
    let tree_fd = unsafe {
        libc::syscall(
            SYS_OPEN_TREE_ATTR,
            libc::AT_FDCWD,
            source.as_ptr(),
            flags,
            &raw const attr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if report("open_tree_attr", tree_fd) {
        move_mount(tree_fd, target);
    }
}

/// Calls `move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)`.
fn move_mount(fd: libc::c_long, target: &CString) {
    let empty = c"";
    // SAFETY: both strings are NUL-terminated and outlive the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            fd,
            empty.as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    report("move_mount", ret);
}

/// Calls `mount_setattr(AT_FDCWD, target, AT_RECURSIVE)` setting read-only
/// and nosuid and making the mounts private.
fn mount_setattr(target: &CString) {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID,
        attr_clr: 0,
        propagation: libc::MS_PRIVATE,
        userns_fd: 0,
    };
    // SAFETY: target is NUL-terminated and attr is a valid struct
    // mount_attr of the size passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::AT_RECURSIVE,
            &raw const attr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    report("mount_setattr", ret);
}

fn mount(
    source: Option<&CString>,
    target: Option<&CString>,
    fstype: Option<&CString>,
    flags: libc::c_ulong,
) -> i64 {
    let pointer = |text: Option<&CString>| text.map_or(std::ptr::null(), |text| text.as_ptr());
    // SAFETY: each pointer is NULL or a NUL-terminated string that outlives
    // the call; data is NULL.
    let ret = unsafe {
        libc::mount(
            pointer(source),
            pointer(target),
            pointer(fstype),
            flags,
            std::ptr::null(),
        )
    };
    i64::from(ret)
}

/// Prints `NAME ok RET` or `NAME err ERRNO` and returns whether the call
/// succeeded.
fn report(name: &str, ret: i64) -> bool {
    if ret < 0 {
        println!("{name} err {:?}", Errno::last());
        false
    } else {
        println!("{name} ok {ret}");
        true
    }
}

fn c_path(bytes: &[u8]) -> Result<CString, Failure> {
    CString::new(bytes).map_err(|_| Failure::Usage("a path contains NUL".to_string()))
}
