//! `mount` records for the mount syscalls, made by `nshelper mounts` in a
//! mount namespace of its own whose mounts are all private, so nothing
//! reaches the host. Each call the helper reports must appear exactly
//! once, in order, with its paths, flags and the helper's
//! `/proc/PID/ns/mnt` inode.

use std::{
    ffi::{OsStr, OsString},
    fs,
    os::unix::ffi::{OsStrExt, OsStringExt},
    path::{Path, PathBuf},
    process::Command,
};

use nstrace_tests::{
    namespace::{ns_inode, own_ns_inode},
    process::Held,
    record::{format_records, Event, Mount, Outcome, PathText, Record},
    scratch::ScratchDir,
    tracer::Tracer,
    NOBODY,
};

const NSHELPER: &str = env!("CARGO_BIN_EXE_nshelper");
/// Source names that `nshelper mounts` gives its tmpfs mounts.
const TMPFS_SOURCE: &str = "nstrace-tmpfs";
const FSMOUNT_SOURCE: &str = "nstrace-fsmount";
/// `AT_FDCWD`.
const AT_FDCWD: i32 = -100;
/// The longest path the kernel accepts: `PATH_MAX` less the final NUL.
const MAX_PATH: usize = 4095;

/// One mount syscall as the helper reported it.
#[derive(Debug)]
struct Call {
    name: String,
    /// The return value on success, `None` on failure.
    ret: Option<i64>,
    /// The errno name on failure.
    errno: Option<String>,
}

/// A run of `nshelper mounts` under nstrace.
struct MountRun {
    pid: u32,
    mnt_inode: u64,
    calls: Vec<Call>,
    records: Vec<Record>,
}

impl MountRun {
    /// The start record's fields, as JSON.
    fn start(&self) -> &serde_json::Value {
        self.records
            .iter()
            .find_map(|record| match &record.event {
                Event::Start(start) => Some(start),
                _ => None,
            })
            .expect("a start record")
    }

    /// Whether the kernel gives namespaces a 64-bit id (Linux 6.18).
    fn namespace_ids(&self) -> bool {
        self.start()["namespace_ids"]
            .as_bool()
            .expect("namespace_ids in the start record")
    }

    /// Whether the start record lists `feature` as unavailable.
    fn unavailable(&self, feature: &str) -> bool {
        self.start()["unavailable"]
            .as_array()
            .expect("unavailable in the start record")
            .iter()
            .any(|entry| entry.as_str().is_some_and(|text| text.starts_with(feature)))
    }

    /// Mount records by the helper, in output order.
    fn mounts(&self) -> Vec<&Mount> {
        self.records
            .iter()
            .filter_map(Record::mount)
            .filter(|mount| mount.process.pid == self.pid)
            .collect()
    }

    /// Fails the test unless the helper's calls and its mount records
    /// match one to one, in order, with the same results and the helper's
    /// mount namespace. Returns the records.
    #[track_caller]
    fn checked_mounts(&self) -> Vec<&Mount> {
        let mounts = self.mounts();
        let all = format_records(&self.records);
        let names: Vec<&str> = mounts.iter().map(|m| m.syscall.name.as_str()).collect();
        let expected: Vec<&str> = self.calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, expected, "mount records by pid {}:\n{all}", self.pid);
        for (mount, call) in mounts.iter().zip(&self.calls) {
            let line = format!("{mount:?} for {call:?}");
            if let Some(ret) = &call.ret {
                assert_eq!(mount.outcome, Outcome::Success, "{line}");
                assert_eq!(mount.syscall.ret, *ret, "{line}");
                assert_eq!(mount.error, None, "{line}");
            } else {
                assert_eq!(mount.outcome, Outcome::Failure, "{line}");
                let error = mount.error.as_ref().expect("a failed call has an error");
                assert_eq!(Some(&error.name), call.errno.as_ref(), "{line}");
                assert_eq!(mount.syscall.ret, -i64::from(error.errno), "{line}");
            }
            assert!(mount.ns.is_type("mnt"), "{line}");
            assert_eq!(mount.ns.inode, Some(self.mnt_inode), "{line}");
            assert_eq!(
                mount.ns.id.is_some(),
                self.namespace_ids(),
                "a namespace id exactly where the kernel has them (Linux 6.18): {line}"
            );
            assert_eq!(mount.process.tid, self.pid, "{line}");
            assert_eq!(mount.process.comm, "nshelper", "{line}");
        }
        let first = mounts.first().expect("the helper's first call is a mount");
        assert_eq!(
            first.syscall.flags,
            ["MS_REC", "MS_PRIVATE"],
            "the helper first makes / private: {first:?}"
        );
        assert_path(first.target.as_ref(), b"/", "target of the first mount");
        mounts
    }
}

/// Runs `nshelper mounts STEPS` under a tracer started with `tracer_args`.
#[track_caller]
fn run_mounts(tracer_args: &[&str], steps: &[&OsStr]) -> MountRun {
    let tracer = Tracer::start(tracer_args);
    let (pid, mnt_inode, calls, held) = run_helper(steps);
    // A call that fails with ENOSYS does not exist on this kernel, which
    // then has no tracepoint for it either, so it leaves no record.
    let traceable = calls
        .iter()
        .filter(|call| call.errno.as_deref() != Some("ENOSYS"))
        .count();
    tracer.wait_for_count(
        &format!("{traceable} mount calls by pid {pid}"),
        traceable,
        |record| record.is_mount_by(pid),
    );
    let records = tracer.stop();
    drop(held);
    MountRun {
        pid,
        mnt_inode,
        calls,
        records,
    }
}

/// Starts the helper, reads its report and its mount namespace, and
/// returns it still running, so that `/proc/PID` stays readable.
#[track_caller]
fn run_helper(steps: &[&OsStr]) -> (u32, u64, Vec<Call>, Held) {
    let mut held = Held::spawn(Command::new(NSHELPER).arg("mounts").args(steps));
    let pid = held.pid();
    let mut calls = Vec::new();
    loop {
        let line = held.read_line();
        if line == "done" {
            break;
        }
        let words: Vec<&str> = line.split(' ').collect();
        let call = match words.as_slice() {
            [name, "ok", ret] => Call {
                name: (*name).to_string(),
                ret: Some(ret.parse().expect("the return value is a number")),
                errno: None,
            },
            [name, "err", errno] => Call {
                name: (*name).to_string(),
                ret: None,
                errno: Some((*errno).to_string()),
            },
            _ => panic!("unexpected line from nshelper mounts: {line:?}"),
        };
        calls.push(call);
    }
    let mnt_inode = ns_inode(pid, "mnt");
    assert_ne!(
        mnt_inode,
        own_ns_inode("mnt"),
        "nshelper mounts runs in a new mount namespace"
    );
    (pid, mnt_inode, calls, held)
}

/// Fails the test unless `text` is present and stands for exactly
/// `expected`, whole.
#[track_caller]
fn assert_path(text: Option<&PathText>, expected: &[u8], what: &str) {
    let text = text.unwrap_or_else(|| panic!("{what} is missing"));
    assert_eq!(
        text.raw_bytes(),
        expected,
        "{what}: {text:?} expected {:?}",
        String::from_utf8_lossy(expected)
    );
    assert_eq!(text.bytes as usize, expected.len(), "{what}: {text:?}");
    assert!(!text.truncated, "{what}: {text:?}");
    assert!(!text.unreadable, "{what}: {text:?}");
}

fn bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}

/// Creates `name` under `dir` and returns its path.
#[track_caller]
fn make_dir(dir: &Path, name: impl AsRef<OsStr>) -> PathBuf {
    let path = dir.join(name.as_ref());
    fs::create_dir_all(&path)
        .unwrap_or_else(|error| panic!("creating {} failed: {error}", path.display()));
    path
}

fn os(text: &str) -> &OsStr {
    OsStr::new(text)
}

#[test]
fn bind_and_recursive_bind() {
    let scratch = ScratchDir::new("mount-bind");
    let source = make_dir(scratch.path(), "source");
    let plain = make_dir(scratch.path(), "plain");
    let recursive = make_dir(scratch.path(), "recursive");
    let run = run_mounts(
        &[],
        &[
            os("bind"),
            source.as_os_str(),
            plain.as_os_str(),
            os("rbind"),
            source.as_os_str(),
            recursive.as_os_str(),
        ],
    );
    let mounts = run.checked_mounts();
    assert_eq!(mounts.len(), 3);
    let (bind, rbind) = (mounts[1], mounts[2]);
    assert_eq!(bind.syscall.flags, ["MS_BIND"], "{bind:?}");
    assert_path(bind.source.as_ref(), bytes(&source), "bind source");
    assert_path(bind.target.as_ref(), bytes(&plain), "bind target");
    assert_eq!(bind.fstype, None, "a NULL type is absent: {bind:?}");
    assert_eq!(rbind.syscall.flags, ["MS_BIND", "MS_REC"], "{rbind:?}");
    assert_path(rbind.source.as_ref(), bytes(&source), "rbind source");
    assert_path(rbind.target.as_ref(), bytes(&recursive), "rbind target");
    assert_eq!(bind.process.uid, 0);
}

#[test]
fn paths_on_untouched_page_read_at_exit() {
    let scratch = ScratchDir::new("mount-untouched");
    let source = make_dir(scratch.path(), "source");
    let target = make_dir(scratch.path(), "target");
    let run = run_mounts(
        &[],
        &[os("bind-untouched"), source.as_os_str(), target.as_os_str()],
    );
    let mounts = run.checked_mounts();
    let bind = mounts[1];
    assert_eq!(bind.syscall.flags, ["MS_BIND"], "{bind:?}");
    assert_path(bind.source.as_ref(), bytes(&source), "source");
    assert_path(bind.target.as_ref(), bytes(&target), "target");
    for path in [&bind.source, &bind.target] {
        let path = path.as_ref().expect("both paths present");
        assert!(
            path.read_at_exit,
            "a path on a page not yet mapped at syscall entry is read at the exit: {bind:?}"
        );
    }
}

#[test]
fn remount_read_only() {
    let scratch = ScratchDir::new("mount-remount");
    let source = make_dir(scratch.path(), "source");
    let target = make_dir(scratch.path(), "target");
    let run = run_mounts(
        &[],
        &[
            os("bind"),
            source.as_os_str(),
            target.as_os_str(),
            os("remount-ro"),
            target.as_os_str(),
        ],
    );
    let mounts = run.checked_mounts();
    let remount = mounts[2];
    assert_eq!(
        remount.syscall.flags,
        ["MS_RDONLY", "MS_REMOUNT", "MS_BIND"],
        "{remount:?}"
    );
    assert_eq!(remount.source, None, "{remount:?}");
    assert_path(remount.target.as_ref(), bytes(&target), "remount target");
}

#[test]
fn propagation_changes() {
    let scratch = ScratchDir::new("mount-propagation");
    let target = make_dir(scratch.path(), "target");
    let mut steps = vec![os("tmpfs"), target.as_os_str()];
    for kind in ["shared", "slave", "private", "unbindable"] {
        steps.extend([os("propagate"), target.as_os_str(), os(kind)]);
    }
    let run = run_mounts(&[], &steps);
    let mounts = run.checked_mounts();
    assert_eq!(mounts.len(), 6);
    let expected = ["MS_SHARED", "MS_SLAVE", "MS_PRIVATE", "MS_UNBINDABLE"];
    for (mount, flag) in mounts[2..].iter().zip(expected) {
        assert_eq!(mount.syscall.flags, [flag], "{mount:?}");
        assert_path(mount.target.as_ref(), bytes(&target), flag);
        assert_eq!(mount.source, None, "{mount:?}");
        assert_eq!(mount.fstype, None, "{mount:?}");
    }
}

#[test]
fn tmpfs_mount_and_umount2() {
    let scratch = ScratchDir::new("mount-tmpfs");
    let target = make_dir(scratch.path(), "target");
    let run = run_mounts(
        &[],
        &[
            os("tmpfs"),
            target.as_os_str(),
            os("umount"),
            target.as_os_str(),
            os("0"),
            os("tmpfs"),
            target.as_os_str(),
            os("umount"),
            target.as_os_str(),
            os("detach"),
        ],
    );
    let mounts = run.checked_mounts();
    assert_eq!(mounts.len(), 5);

    let tmpfs = mounts[1];
    assert_eq!(tmpfs.syscall.flags, ["MS_NOSUID", "MS_NODEV"], "{tmpfs:?}");
    assert_path(tmpfs.fstype.as_ref(), b"tmpfs", "fstype");
    assert_path(tmpfs.source.as_ref(), TMPFS_SOURCE.as_bytes(), "source");
    assert_eq!(
        tmpfs.source.as_ref().and_then(|s| s.relative_to.as_ref()),
        None,
        "a tmpfs source is not a path: {tmpfs:?}"
    );
    assert_path(tmpfs.target.as_ref(), bytes(&target), "tmpfs target");

    let (plain, detach) = (mounts[2], mounts[4]);
    assert!(plain.syscall.flags.is_empty(), "{plain:?}");
    assert_path(plain.target.as_ref(), bytes(&target), "umount2 target");
    assert_eq!(detach.syscall.flags, ["MNT_DETACH"], "{detach:?}");
}

#[test]
fn new_api_sequence_joined() {
    let scratch = ScratchDir::new("mount-fsmount");
    let target = make_dir(scratch.path(), "target");
    let run = run_mounts(&[], &[os("fsmount"), target.as_os_str()]);
    let mounts = run.checked_mounts();
    let names: Vec<&str> = mounts.iter().map(|m| m.syscall.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "mount",
            "fsopen",
            "fsconfig",
            "fsconfig",
            "fsmount",
            "move_mount"
        ]
    );
    let (fsopen, set_source, create, fsmount, move_mount) =
        (mounts[1], mounts[2], mounts[3], mounts[4], mounts[5]);
    let fs_fd = i32::try_from(fsopen.syscall.ret).unwrap();
    let mount_fd = i32::try_from(fsmount.syscall.ret).unwrap();

    assert_eq!(fsopen.syscall.flags, ["FSOPEN_CLOEXEC"], "{fsopen:?}");
    assert_path(fsopen.fstype.as_ref(), b"tmpfs", "fsopen fstype");

    assert_eq!(set_source.syscall.fd, Some(fs_fd), "{set_source:?}");
    assert_eq!(
        set_source.syscall.command.as_deref(),
        Some("FSCONFIG_SET_STRING"),
        "{set_source:?}"
    );
    assert_path(set_source.key.as_ref(), b"source", "fsconfig key");
    assert_path(
        set_source.value.as_ref(),
        FSMOUNT_SOURCE.as_bytes(),
        "fsconfig value",
    );
    assert_eq!(
        create.syscall.command.as_deref(),
        Some("FSCONFIG_CMD_CREATE"),
        "{create:?}"
    );
    assert_eq!(create.key, None, "{create:?}");
    assert_eq!(create.value, None, "{create:?}");

    assert_eq!(fsmount.syscall.fd, Some(fs_fd), "{fsmount:?}");
    assert_eq!(fsmount.syscall.flags, ["FSMOUNT_CLOEXEC"], "{fsmount:?}");
    assert_eq!(
        fsmount.syscall.attr_flags.as_deref(),
        Some(&["MOUNT_ATTR_NODEV".to_string()][..]),
        "{fsmount:?}"
    );

    assert_eq!(
        move_mount.syscall.flags,
        ["MOVE_MOUNT_F_EMPTY_PATH"],
        "{move_mount:?}"
    );
    assert_path(
        move_mount.target.as_ref(),
        bytes(&target),
        "move_mount target",
    );
    let from = move_mount
        .source
        .as_ref()
        .expect("move_mount has a from path");
    assert_eq!(from.bytes, 0, "{move_mount:?}");
    assert_eq!(
        from.relative_to.as_ref().map(|r| r.dirfd),
        Some(mount_fd),
        "{move_mount:?}"
    );
    let attached = move_mount
        .attached
        .as_ref()
        .unwrap_or_else(|| panic!("move_mount without attached: {move_mount:?}"));
    assert_eq!(attached.kind, "fsmount");
    assert_eq!(attached.fd, mount_fd);
    assert_eq!(attached.fs_fd, Some(fs_fd));
    assert_path(attached.fstype.as_ref(), b"tmpfs", "attached fstype");
    assert_path(
        attached.source.as_ref(),
        FSMOUNT_SOURCE.as_bytes(),
        "attached source",
    );
    assert_eq!(attached.flags, ["MOUNT_ATTR_NODEV"]);
}

#[test]
fn open_tree_clone_attached() {
    let scratch = ScratchDir::new("mount-open-tree");
    let source = make_dir(scratch.path(), "source");
    let target = make_dir(scratch.path(), "target");
    let run = run_mounts(
        &[],
        &[os("open-tree"), source.as_os_str(), target.as_os_str()],
    );
    let mounts = run.checked_mounts();
    let (open_tree, move_mount) = (mounts[1], mounts[2]);
    assert_eq!(open_tree.syscall.name, "open_tree");
    assert_eq!(
        open_tree.syscall.flags,
        ["OPEN_TREE_CLONE", "AT_RECURSIVE", "OPEN_TREE_CLOEXEC"],
        "{open_tree:?}"
    );
    assert_path(open_tree.source.as_ref(), bytes(&source), "open_tree path");

    let tree_fd = i32::try_from(open_tree.syscall.ret).unwrap();
    let attached = move_mount
        .attached
        .as_ref()
        .unwrap_or_else(|| panic!("move_mount without attached: {move_mount:?}"));
    assert_eq!(attached.kind, "open_tree");
    assert_eq!(attached.fd, tree_fd);
    assert_eq!(attached.fs_fd, None);
    assert_path(attached.source.as_ref(), bytes(&source), "attached source");
    assert_eq!(
        attached.flags,
        ["OPEN_TREE_CLONE", "AT_RECURSIVE", "OPEN_TREE_CLOEXEC"]
    );
    assert_path(
        move_mount.target.as_ref(),
        bytes(&target),
        "move_mount target",
    );
}

#[test]
fn open_tree_attr_read_only_copy() {
    let scratch = ScratchDir::new("mount-open-tree-attr");
    let source = make_dir(scratch.path(), "source");
    let target = make_dir(scratch.path(), "target");
    let run = run_mounts(
        &[],
        &[os("open-tree-attr"), source.as_os_str(), target.as_os_str()],
    );
    if run.unavailable("open_tree_attr") {
        // Before Linux 6.15 the call does not exist: the kernel rejects
        // it, and nstrace says at start that it cannot trace it.
        let call = run.calls.get(1).expect("the helper reports open_tree_attr");
        assert_eq!(call.name, "open_tree_attr");
        assert_eq!(call.errno.as_deref(), Some("ENOSYS"), "{call:?}");
        assert!(
            run.mounts()
                .iter()
                .all(|m| m.syscall.name != "open_tree_attr"),
            "a record for an untraceable call"
        );
        return;
    }
    assert!(
        run.calls.get(1).is_some_and(|call| call.ret.is_some()),
        "open_tree_attr (Linux 6.15) failed on this kernel: {:?}",
        run.calls
    );
    let mounts = run.checked_mounts();

    let open_tree = mounts[1];
    assert_eq!(open_tree.syscall.name, "open_tree_attr");
    assert_eq!(
        open_tree.syscall.flags,
        ["OPEN_TREE_CLONE", "OPEN_TREE_CLOEXEC"],
        "{open_tree:?}"
    );
    assert_path(
        open_tree.source.as_ref(),
        bytes(&source),
        "open_tree_attr path",
    );
    let attr = open_tree.attr.as_ref().expect("open_tree_attr has attr");
    assert_eq!(attr.set, ["MOUNT_ATTR_RDONLY"]);
    assert!(attr.clear.is_empty(), "{attr:?}");
    assert!(attr.propagation.is_empty(), "{attr:?}");

    let move_mount = mounts[2];
    let attached = move_mount
        .attached
        .as_ref()
        .unwrap_or_else(|| panic!("move_mount without attached: {move_mount:?}"));
    assert_eq!(attached.kind, "open_tree");
    assert_eq!(
        i64::from(attached.fd),
        open_tree.syscall.ret,
        "{move_mount:?}"
    );
    assert_path(attached.source.as_ref(), bytes(&source), "attached source");
}

#[test]
fn mount_setattr_read_only() {
    let scratch = ScratchDir::new("mount-setattr");
    let source = make_dir(scratch.path(), "source");
    let target = make_dir(scratch.path(), "target");
    let run = run_mounts(
        &[],
        &[
            os("bind"),
            source.as_os_str(),
            target.as_os_str(),
            os("setattr"),
            target.as_os_str(),
        ],
    );
    let mounts = run.checked_mounts();
    let setattr = mounts[2];
    assert_eq!(setattr.syscall.name, "mount_setattr");
    assert_eq!(setattr.syscall.flags, ["AT_RECURSIVE"], "{setattr:?}");
    assert_path(
        setattr.target.as_ref(),
        bytes(&target),
        "mount_setattr path",
    );
    let attr = setattr.attr.as_ref().expect("mount_setattr has attr");
    assert_eq!(attr.set, ["MOUNT_ATTR_RDONLY", "MOUNT_ATTR_NOSUID"]);
    assert!(attr.clear.is_empty(), "{attr:?}");
    assert_eq!(attr.propagation, ["MS_PRIVATE"]);
    assert_eq!(attr.userns_fd, 0);
}

#[test]
fn pivot_root_in_new_namespace() {
    let scratch = ScratchDir::new("mount-pivot");
    let new_root = make_dir(scratch.path(), "new-root");
    let put_old = new_root.join("old");
    let run = run_mounts(
        &[],
        &[
            os("tmpfs"),
            new_root.as_os_str(),
            os("mkdir"),
            put_old.as_os_str(),
            os("pivot-root"),
            new_root.as_os_str(),
            put_old.as_os_str(),
            os("chdir"),
            os("/"),
            os("umount"),
            os("/old"),
            os("detach"),
        ],
    );
    let mounts = run.checked_mounts();
    let names: Vec<&str> = mounts.iter().map(|m| m.syscall.name.as_str()).collect();
    assert_eq!(names, ["mount", "mount", "pivot_root", "umount2"]);

    let pivot = mounts[2];
    assert_eq!(pivot.outcome, Outcome::Success, "{pivot:?}");
    assert!(pivot.syscall.flags.is_empty(), "{pivot:?}");
    assert_path(pivot.target.as_ref(), bytes(&new_root), "new_root");
    assert_path(pivot.put_old.as_ref(), bytes(&put_old), "put_old");

    let umount = mounts[3];
    assert_eq!(umount.syscall.flags, ["MNT_DETACH"], "{umount:?}");
    assert_path(umount.target.as_ref(), b"/old", "umount2 target");
}

#[test]
fn unprivileged_mount_rejected() {
    let scratch = ScratchDir::new("mount-eperm");
    let target = make_dir(scratch.path(), "target");
    let run = run_mounts(
        &[],
        &[os("drop-privileges"), os("tmpfs"), target.as_os_str()],
    );
    let mounts = run.checked_mounts();
    let rejected = mounts[1];
    assert_eq!(rejected.outcome, Outcome::Failure, "{rejected:?}");
    let error = rejected
        .error
        .as_ref()
        .expect("a rejected mount has an error");
    assert_eq!(error.name, "EPERM");
    assert_eq!(error.errno, 1);
    assert_eq!(rejected.process.uid, NOBODY);
    assert_eq!(rejected.process.gid, NOBODY);
    assert_path(rejected.target.as_ref(), bytes(&target), "rejected target");
    assert_path(rejected.fstype.as_ref(), b"tmpfs", "rejected fstype");
}

#[test]
fn hostile_paths_round_trip() {
    let scratch = ScratchDir::new("mount-hostile");
    let source = make_dir(scratch.path(), "source");
    let names: [&[u8]; 6] = [
        b"new\nline",
        b"quote\"d",
        b"back\\slash",
        b"control\x01\x1b[31m\x7f",
        b"invalid\xff\xfeutf8",
        b"tab\tand\r",
    ];
    let targets: Vec<PathBuf> = names
        .iter()
        .map(|name| make_dir(scratch.path(), OsString::from_vec(name.to_vec())))
        .collect();
    let mut steps = Vec::new();
    for target in &targets {
        steps.extend([os("bind"), source.as_os_str(), target.as_os_str()]);
    }
    let run = run_mounts(&[], &steps);

    let mounts = run.checked_mounts();
    assert_eq!(mounts.len(), targets.len() + 1);
    for (mount, target) in mounts[1..].iter().zip(&targets) {
        assert_path(mount.target.as_ref(), bytes(target), "hostile target");
    }

    let invalid = mounts[5].target.as_ref().unwrap();
    assert_eq!(
        invalid.encoding.as_deref(),
        Some("base64"),
        "invalid UTF-8 is base64: {invalid:?}"
    );
    let newline = mounts[1].target.as_ref().unwrap();
    assert_eq!(newline.encoding, None, "{newline:?}");

    // Every output line is one record: no raw newline inside a record.
    let lines: Vec<&str> = run
        .records
        .iter()
        .filter(|record| record.is_mount_by(run.pid))
        .map(|record| record.line.as_str())
        .collect();
    for line in lines {
        assert!(!line.contains('\n'), "{line:?}");
        assert!(
            line.contains(r"new\nline") || !line.contains("new"),
            "{line}"
        );
    }
}

/// Builds a path of exactly `len` bytes under `base` from directories of
/// at most 255 bytes, the longest name the filesystem takes.
fn long_path(base: &Path, len: usize) -> PathBuf {
    let mut path = base.as_os_str().as_bytes().to_vec();
    assert!(path.len() + 2 <= len, "base {} is too long", base.display());
    while path.len() < len {
        let remaining = len - path.len() - 1;
        // Leave room for one more "/x" unless this component ends the path.
        let component = if remaining <= 255 {
            remaining
        } else {
            255.min(remaining - 2)
        };
        path.push(b'/');
        path.extend(std::iter::repeat_n(b'd', component));
    }
    PathBuf::from(OsString::from_vec(path))
}

#[test]
fn long_paths_whole_or_truncated() {
    let scratch = ScratchDir::new("mount-long");
    let source = make_dir(scratch.path(), "source");
    let longest = long_path(scratch.path(), MAX_PATH);
    assert_eq!(bytes(&longest).len(), MAX_PATH);
    fs::create_dir_all(&longest)
        .unwrap_or_else(|error| panic!("creating a {MAX_PATH}-byte path failed: {error}"));
    let too_long = long_path(&longest, MAX_PATH + 105);
    let run = run_mounts(
        &[],
        &[
            os("bind"),
            source.as_os_str(),
            longest.as_os_str(),
            os("bind"),
            source.as_os_str(),
            too_long.as_os_str(),
        ],
    );
    assert_eq!(run.calls[1].ret, Some(0), "{:?}", run.calls);
    assert_eq!(
        run.calls[2].errno.as_deref(),
        Some("ENAMETOOLONG"),
        "{:?}",
        run.calls
    );
    let mounts = run.checked_mounts();
    assert_path(
        mounts[1].target.as_ref(),
        bytes(&longest),
        "4095-byte target",
    );

    let cut = mounts[2]
        .target
        .as_ref()
        .expect("target of the failed bind");
    assert!(cut.truncated, "a longer path is marked truncated: {cut:?}");
    assert_eq!(cut.bytes as usize, MAX_PATH);
    assert_eq!(cut.raw_bytes(), &bytes(&too_long)[..MAX_PATH]);
}

#[test]
fn relative_paths_resolved_late() {
    let scratch = ScratchDir::new("mount-relative");
    make_dir(scratch.path(), "source");
    make_dir(scratch.path(), "target");
    make_dir(scratch.path(), "tree");
    let run = run_mounts(
        &[],
        &[
            os("chdir"),
            scratch.path().as_os_str(),
            os("bind"),
            os("source"),
            os("target"),
            os("open-tree"),
            os("source"),
            os("tree"),
        ],
    );
    let mounts = run.checked_mounts();
    let directory = bytes(scratch.path());

    let bind = mounts[1];
    for (what, text) in [("source", &bind.source), ("target", &bind.target)] {
        let text = text
            .as_ref()
            .unwrap_or_else(|| panic!("bind {what} missing"));
        assert_eq!(text.raw_bytes(), what.as_bytes(), "{bind:?}");
        let relative = text
            .relative_to
            .as_ref()
            .expect("relative_to of a relative path");
        assert_eq!(relative.dirfd, AT_FDCWD, "{bind:?}");
        assert!(relative.resolved_late, "{bind:?}");
        assert_path(
            relative.directory.as_deref(),
            directory,
            "working directory",
        );
    }

    let open_tree = mounts[2];
    let relative = open_tree
        .source
        .as_ref()
        .and_then(|source| source.relative_to.as_ref())
        .unwrap_or_else(|| panic!("open_tree of a relative path: {open_tree:?}"));
    assert_eq!(relative.dirfd, AT_FDCWD);
    assert_path(
        relative.directory.as_deref(),
        directory,
        "open_tree directory",
    );

    let move_mount = mounts[3];
    let to = move_mount.target.as_ref().unwrap();
    assert_eq!(to.raw_bytes(), b"tree");
    assert_eq!(to.relative_to.as_ref().map(|r| r.dirfd), Some(AT_FDCWD));
    // The attached tree names its path as the open_tree record does.
    let attached = move_mount
        .attached
        .as_ref()
        .and_then(|attached| attached.source.as_ref())
        .unwrap_or_else(|| panic!("move_mount without attached source: {move_mount:?}"));
    assert_eq!(attached.raw_bytes(), b"source", "{move_mount:?}");
    assert_path(
        attached
            .relative_to
            .as_ref()
            .and_then(|relative| relative.directory.as_deref()),
        directory,
        "attached directory",
    );
}

#[test]
fn types_option_keeps_mount_events() {
    let scratch = ScratchDir::new("mount-types");
    let source = make_dir(scratch.path(), "source");
    let target = make_dir(scratch.path(), "target");
    let mnt_tracer = Tracer::start(&["--types", "mnt"]);
    let net_tracer = Tracer::start(&["--types", "net"]);
    let (pid, mnt_inode, calls, held) =
        run_helper(&[os("bind"), source.as_os_str(), target.as_os_str()]);
    assert_eq!(calls.len(), 2, "{calls:?}");
    mnt_tracer.wait_for_count(&format!("mounts by pid {pid}"), 2, |record| {
        record.is_mount_by(pid)
    });
    let mnt_records = mnt_tracer.stop();
    let net_records = net_tracer.stop();
    drop(held);

    let bind = mnt_records
        .iter()
        .filter_map(Record::mount)
        .find(|mount| mount.process.pid == pid && mount.syscall.flags == ["MS_BIND"])
        .unwrap_or_else(|| {
            panic!(
                "--types mnt dropped the bind mount:\n{}",
                format_records(&mnt_records)
            )
        });
    assert_eq!(bind.ns.inode, Some(mnt_inode));
    let mount_in_net = net_records
        .iter()
        .filter(|record| record.mount().is_some())
        .count();
    assert_eq!(
        mount_in_net,
        0,
        "--types net let mount records through:\n{}",
        format_records(&net_records)
    );
}

#[test]
fn mount_namespace_lifetime_counts_mounts() {
    let scratch = ScratchDir::new("mount-lifetime");
    let target = make_dir(scratch.path(), "target");
    let tracer = Tracer::start(&[]);
    let (pid, mnt_inode, calls, held) = run_helper(&[
        os("tmpfs"),
        target.as_os_str(),
        os("umount"),
        target.as_os_str(),
        os("0"),
    ]);
    let succeeded = calls.iter().filter(|call| call.ret.is_some()).count() as u64;
    tracer.wait_for_count(
        &format!("{} mount calls by pid {pid}", calls.len()),
        calls.len(),
        |record| record.is_mount_by(pid),
    );
    drop(held);
    // The type is checked too: after the namespace ends, its inode number
    // can go at once to a namespace of another type.
    let destroyed = tracer.wait_for(&format!("mnt {mnt_inode} destroyed"), |record| {
        record.is_destroy_of(mnt_inode) && record.lifetime().is_some_and(|l| l.ns.is_type("mnt"))
    });
    let lifetime = destroyed.lifetime().expect("a lifetime body");
    assert_eq!(lifetime.mounts, Some(succeeded), "{}", destroyed.line);
    assert_eq!(lifetime.origin.how, "unshare", "{}", destroyed.line);
    let _ = tracer.stop();
}
