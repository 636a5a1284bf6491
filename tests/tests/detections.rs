//! Detection rules, each reproduced with real tools, and benign cases
//! that must not raise an alert.
//!
//! Mounts are made in new mount namespaces whose mounts are private, onto
//! scratch directories, so that the host sees none of them; the one
//! exception binds a scratch directory onto another in the test's own
//! mount namespace and undoes it at once. Tests run in parallel, so each
//! counts only the records of the processes it started, by pid.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use nstrace_tests::{
    namespace::own_ns_inode,
    process::{as_nobody, run, Held},
    record::{format_records, Record},
    scratch::ScratchDir,
    tools::require_tool,
    tracer::Tracer,
};

const NSHELPER: &str = env!("CARGO_BIN_EXE_nshelper");

/// Fails the test unless the records of `pid` include one with an alert
/// of `rule`; returns that record.
#[track_caller]
fn alert_of(tracer: &Tracer, pid: u32, rule: &str) -> Record {
    tracer.wait_for(
        &format!("alert {rule} on a record of pid {pid}"),
        |record| {
            record.process().is_some_and(|p| p.pid == pid)
                && record.alert().is_some_and(|alert| alert.rule == rule)
        },
    )
}

/// Fails the test when any record of `pid` has an alert.
#[track_caller]
fn assert_no_alert(records: &[Record], pid: u32) {
    let alerted: Vec<Record> = records
        .iter()
        .filter(|record| record.process().is_some_and(|p| p.pid == pid))
        .filter(|record| record.alert().is_some())
        .cloned()
        .collect();
    assert!(
        alerted.is_empty(),
        "benign calls of pid {pid} raised alerts:\n{}",
        format_records(&alerted)
    );
}

#[test]
fn escape_rule_fires_on_setns_to_host() {
    require_tool("unshare", "util-linux");
    require_tool("nsenter", "util-linux");
    let tracer = Tracer::start(&[]);
    // A process in its own mount, uts, ipc and net namespaces, as in a
    // container, enters the host's net namespace through /proc/2/ns/net.
    let escape = run(Command::new("unshare").args([
        "--mount",
        "--uts",
        "--ipc",
        "--net",
        "nsenter",
        "--net=/proc/2/ns/net",
        "true",
    ]));
    escape.assert_success();
    let record = alert_of(&tracer, escape.pid, "container_escape_setns");
    let _ = tracer.stop();

    let alert = record.alert().unwrap();
    assert_eq!(alert.severity, "critical", "{}", record.line);
    assert_eq!(alert.technique.id, "T1611", "{}", record.line);
    let enter = record.ns_enter().expect("the alert is on the setns record");
    assert_eq!(enter.ns.inode, Some(own_ns_inode("net")), "{}", record.line);
}

#[test]
fn escape_rule_ignores_host_process() {
    require_tool("nsenter", "util-linux");
    let tracer = Tracer::start(&[]);
    // The caller is in every host namespace already.
    let host = run(Command::new("nsenter").args(["--net=/proc/2/ns/net", "true"]));
    host.assert_success();
    tracer.wait_for(&format!("setns by pid {}", host.pid), |record| {
        record.is_enter_by(host.pid)
    });
    let records = tracer.stop();
    assert_no_alert(&records, host.pid);
}

#[test]
fn escape_rule_ignores_return_to_host_net() {
    require_tool("unshare", "util-linux");
    require_tool("nsenter", "util-linux");
    let tracer = Tracer::start(&[]);
    // Only the net namespace differs from the host's, as for a podman or
    // CNI thread that set up a container's network and returns.
    let back =
        run(Command::new("unshare").args(["--net", "nsenter", "--net=/proc/2/ns/net", "true"]));
    back.assert_success();
    tracer.wait_for(&format!("setns by pid {}", back.pid), |record| {
        record.is_enter_by(back.pid)
    });
    let records = tracer.stop();
    assert_no_alert(&records, back.pid);
}

#[test]
fn unprivileged_userns_rule_fires() {
    require_tool("unshare", "util-linux");
    let tracer = Tracer::start(&[]);
    let userns = run(as_nobody(Command::new("unshare").args(["--user", "true"])));
    userns.assert_success();
    let record = alert_of(&tracer, userns.pid, "unprivileged_userns_create");
    let _ = tracer.stop();

    let alert = record.alert().unwrap();
    assert_eq!(alert.severity, "medium", "{}", record.line);
    assert_eq!(alert.technique.id, "T1068", "{}", record.line);
    assert!(record.is_create(userns.pid, "user"), "{}", record.line);
}

#[test]
fn root_unshare_raises_no_alert() {
    require_tool("unshare", "util-linux");
    let tracer = Tracer::start(&[]);
    let net = run(Command::new("unshare").args(["-n", "true"]));
    net.assert_success();
    let user = run(Command::new("unshare").args(["--user", "true"]));
    user.assert_success();
    tracer.wait_for(&format!("net created by pid {}", net.pid), |record| {
        record.is_create(net.pid, "net")
    });
    tracer.wait_for(&format!("user created by pid {}", user.pid), |record| {
        record.is_create(user.pid, "user")
    });
    let records = tracer.stop();
    assert_no_alert(&records, net.pid);
    assert_no_alert(&records, user.pid);
}

#[test]
fn userns_rule_fires_on_setns_inside_unshared_userns() {
    require_tool("unshare", "util-linux");
    require_tool("nsenter", "util-linux");
    let tracer = Tracer::start(&[]);
    // unshare makes a user namespace that owns a new net namespace, then
    // execs nsenter, which calls setns from inside that user namespace.
    let setns = run(Command::new("unshare").args([
        "--user",
        "--map-root-user",
        "--net",
        "nsenter",
        "--net=/proc/self/ns/net",
        "true",
    ]));
    setns.assert_success();
    let record = alert_of(&tracer, setns.pid, "userns_unshare_then_privileged_op");
    let records = tracer.stop();

    let alert = record.alert().unwrap();
    assert_eq!(alert.severity, "high", "{}", record.line);
    assert!(record.ns_enter().is_some(), "{}", record.line);
    let created = records
        .iter()
        .find(|r| r.is_create(setns.pid, "user"))
        .unwrap_or_else(|| {
            panic!(
                "no user namespace record of pid {}:\n{}",
                setns.pid,
                format_records(&records)
            )
        });
    let userns = created.ns().unwrap().inode.unwrap();
    assert!(
        alert.reason.contains(&userns.to_string()),
        "{}",
        record.line
    );
}

#[test]
fn plain_setns_raises_no_userns_alert() {
    require_tool("unshare", "util-linux");
    require_tool("nsenter", "util-linux");
    let tracer = Tracer::start(&[]);
    // A net namespace without a user namespace: root enters it.
    let setns =
        run(Command::new("unshare").args(["--net", "nsenter", "--net=/proc/self/ns/net", "true"]));
    setns.assert_success();
    tracer.wait_for(&format!("setns by pid {}", setns.pid), |record| {
        record.is_enter_by(setns.pid)
    });
    let records = tracer.stop();
    assert_no_alert(&records, setns.pid);
}

/// Creates `name` under `dir` and returns its path.
#[track_caller]
fn make_dir(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    fs::create_dir_all(&path)
        .unwrap_or_else(|error| panic!("creating {} failed: {error}", path.display()));
    path
}

/// `unshare --mount --propagation private` followed by `args`: the command
/// runs in a new mount namespace whose mounts are all private, so that
/// nothing it mounts reaches the host's, and the namespace ends with it.
fn in_private_mount_ns(args: &[&str]) -> Command {
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private"])
        .args(args);
    command
}

/// Returns whether `record` is a successful mount(2) record by `pid` whose file
/// system type is `fstype`.
fn is_mount_of_type(record: &Record, pid: u32, fstype: &str) -> bool {
    record.mount().is_some_and(|mount| {
        mount.process.pid == pid
            && mount.syscall.name == "mount"
            && mount.fstype.as_ref().is_some_and(|t| t.value == fstype)
    })
}

/// Binds `source` onto a scratch directory in a private mount namespace,
/// and returns the record with the `sensitive_host_mount` alert.
#[track_caller]
fn sensitive_bind(source: &str) -> Record {
    require_tool("unshare", "util-linux");
    require_tool("mount", "mount");
    let scratch = ScratchDir::new("sensitive-bind");
    let target = make_dir(scratch.path(), "target");
    let tracer = Tracer::start(&[]);
    let bind = run(&mut in_private_mount_ns(&[
        "mount",
        "--bind",
        source,
        target.to_str().expect("scratch paths are UTF-8"),
    ]));
    bind.assert_success();
    let record = alert_of(&tracer, bind.pid, "sensitive_host_mount");
    let _ = tracer.stop();

    let alert = record.alert().unwrap();
    assert_eq!(alert.severity, "high", "{}", record.line);
    assert_eq!(alert.technique.id, "T1611", "{}", record.line);
    let mount = record.mount().expect("the alert is on the mount record");
    assert_eq!(mount.syscall.flags, ["MS_BIND"], "{}", record.line);
    assert_eq!(
        mount.source.as_ref().map(|s| s.value.as_str()),
        Some(source),
        "{}",
        record.line
    );
    assert_ne!(
        mount.ns.inode,
        Some(own_ns_inode("mnt")),
        "the bind was made in a new mount namespace: {}",
        record.line
    );
    assert!(alert.reason.contains(source), "{}", record.line);
    record
}

#[test]
fn sensitive_mount_rule_fires_on_proc_bind() {
    sensitive_bind("/proc");
}

#[test]
fn sensitive_mount_rule_fires_on_root_bind() {
    sensitive_bind("/");
}

#[test]
fn sensitive_mount_rule_fires_on_open_tree_clone() {
    // The new mount API: open_tree(OPEN_TREE_CLONE) of /sys and move_mount
    // of the copy onto a scratch directory, in the helper's own mount
    // namespace with private mounts.
    let scratch = ScratchDir::new("sensitive-tree");
    let target = make_dir(scratch.path(), "target");
    let tracer = Tracer::start(&[]);
    let mut helper = Held::spawn(
        Command::new(NSHELPER)
            .args(["mounts", "open-tree", "/sys"])
            .arg(&target),
    );
    let pid = helper.pid();
    let mut lines = Vec::new();
    loop {
        let line = helper.read_line();
        if line == "done" {
            break;
        }
        lines.push(line);
    }
    assert!(
        lines.iter().any(|line| line.starts_with("move_mount ok")),
        "the helper's move_mount failed: {lines:?}"
    );
    let record = alert_of(&tracer, pid, "sensitive_host_mount");
    let _ = tracer.stop();
    drop(helper);

    let mount = record.mount().expect("the alert is on a mount record");
    assert_eq!(mount.syscall.name, "move_mount", "{}", record.line);
    let attached = mount.attached.as_ref().expect("move_mount names the tree");
    assert_eq!(attached.kind, "open_tree", "{}", record.line);
    let alert = record.alert().unwrap();
    assert!(alert.reason.contains("/sys"), "{}", record.line);
}

/// Options of a cgroup v1 hierarchy that the host has mounted, such as
/// `pids`, from `/proc/self/mounts`, without the generic mount options.
fn host_cgroup_v1_options() -> Option<String> {
    const GENERIC: [&str; 10] = [
        "rw",
        "ro",
        "relatime",
        "noatime",
        "nodiratime",
        "strictatime",
        "lazytime",
        "nosuid",
        "nodev",
        "noexec",
    ];
    let mounts = fs::read_to_string("/proc/self/mounts").expect("reading /proc/self/mounts");
    let hierarchies: Vec<String> = mounts
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            (fields.get(2) == Some(&"cgroup")).then(|| {
                fields[3]
                    .split(',')
                    .filter(|option| !GENERIC.contains(option))
                    .collect::<Vec<_>>()
                    .join(",")
            })
        })
        .filter(|options| !options.is_empty() && !options.contains("release_agent="))
        .collect();
    hierarchies
        .iter()
        .find(|options| *options == "pids")
        .or_else(|| hierarchies.first())
        .cloned()
}

#[test]
fn sensitive_mount_rule_fires_on_writable_cgroup_v1_only() {
    require_tool("unshare", "util-linux");
    require_tool("mount", "mount");
    // Mounting a hierarchy that the host already has adds a mount of the
    // same hierarchy in the private namespace and changes no cgroup; a new
    // hierarchy would show in every process's /proc/PID/cgroup.
    let options = host_cgroup_v1_options().expect(
        "this test mounts a cgroup v1 hierarchy that the host already has, \
         but none is mounted here (cgroup v2 only)",
    );
    let scratch = ScratchDir::new("sensitive-cgroup");
    let writable = make_dir(scratch.path(), "writable");
    let read_only = make_dir(scratch.path(), "read-only");
    let tracer = Tracer::start(&[]);
    let rw = run(&mut in_private_mount_ns(&[
        "mount",
        "-t",
        "cgroup",
        "-o",
        &options,
        "cgroup",
        writable.to_str().expect("scratch paths are UTF-8"),
    ]));
    rw.assert_success();
    let ro_options = format!("ro,{options}");
    let ro = run(&mut in_private_mount_ns(&[
        "mount",
        "-t",
        "cgroup",
        "-o",
        &ro_options,
        "cgroup",
        read_only.to_str().expect("scratch paths are UTF-8"),
    ]));
    ro.assert_success();
    let record = alert_of(&tracer, rw.pid, "sensitive_host_mount");
    tracer.wait_for(&format!("read-only cgroup mount by pid {}", ro.pid), |r| {
        is_mount_of_type(r, ro.pid, "cgroup")
    });
    let records = tracer.stop();

    assert!(
        record.alert().unwrap().reason.contains("release_agent"),
        "{}",
        record.line
    );
    assert_no_alert(&records, ro.pid);
}

#[test]
fn sensitive_mount_rule_ignores_tmpfs_in_new_namespace() {
    require_tool("unshare", "util-linux");
    require_tool("mount", "mount");
    let scratch = ScratchDir::new("benign-tmpfs");
    let target = make_dir(scratch.path(), "target");
    let tracer = Tracer::start(&[]);
    let tmpfs = run(&mut in_private_mount_ns(&[
        "mount",
        "-t",
        "tmpfs",
        "nstrace-tmpfs",
        target.to_str().expect("scratch paths are UTF-8"),
    ]));
    tmpfs.assert_success();
    tracer.wait_for(&format!("tmpfs mount by pid {}", tmpfs.pid), |record| {
        is_mount_of_type(record, tmpfs.pid, "tmpfs")
    });
    let records = tracer.stop();
    assert_no_alert(&records, tmpfs.pid);
}

/// Unmounts a bind mount in the test's own mount namespace on drop, also
/// when the test fails.
struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        // A failure leaves a bind of one scratch directory onto another,
        // which the scratch directory's removal then fails on.
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn sensitive_mount_rule_ignores_scratch_bind_in_host_namespace() {
    require_tool("mount", "mount");
    require_tool("umount", "mount");
    // A bind mount in the test's own mount namespace (the host's when the
    // tests run on the host) of one scratch directory onto another: no
    // host path is mounted, and the bind is undone at once. A bind of a
    // host path such as /proc in the host namespace is left to the unit
    // tests, so that the host never sees one.
    let scratch = ScratchDir::new("benign-host-bind");
    let source = make_dir(scratch.path(), "source");
    let target = make_dir(scratch.path(), "target");
    let tracer = Tracer::start(&[]);
    let bind = run(Command::new("mount")
        .arg("--bind")
        .arg(&source)
        .arg(&target));
    let _unmount = bind.status.success().then(|| Unmount(&target));
    bind.assert_success();
    let record = tracer.wait_for(&format!("bind mount by pid {}", bind.pid), |record| {
        record.is_mount_by(bind.pid)
    });
    let records = tracer.stop();
    assert_eq!(
        record.ns().and_then(|ns| ns.inode),
        Some(own_ns_inode("mnt")),
        "{}",
        record.line
    );
    assert_no_alert(&records, bind.pid);
}

#[test]
fn userns_rule_fires_on_mount_inside_unshared_userns() {
    require_tool("unshare", "util-linux");
    require_tool("mount", "mount");
    let scratch = ScratchDir::new("userns-mount");
    let target = make_dir(scratch.path(), "target");
    let tracer = Tracer::start(&[]);
    // unshare makes a user namespace and a mount namespace it owns, makes
    // its mounts private, then execs mount, which mounts a tmpfs in that
    // private namespace.
    let mount = run(Command::new("unshare").args([
        "--user",
        "--map-root-user",
        "--mount",
        "mount",
        "-t",
        "tmpfs",
        "nstrace-tmpfs",
        target.to_str().expect("scratch paths are UTF-8"),
    ]));
    mount.assert_success();
    let record = alert_of(&tracer, mount.pid, "userns_unshare_then_privileged_op");
    let records = tracer.stop();

    let alert = record.alert().unwrap();
    assert_eq!(alert.severity, "high", "{}", record.line);
    assert_eq!(alert.technique.id, "T1068", "{}", record.line);
    let call = record.mount().expect("the alert is on the mount record");
    assert_eq!(
        call.fstype.as_ref().map(|t| t.value.as_str()),
        Some("tmpfs"),
        "the propagation change raises no alert; the tmpfs mount does: {}",
        record.line
    );
    let created = records
        .iter()
        .find(|r| r.is_create(mount.pid, "user"))
        .unwrap_or_else(|| {
            panic!(
                "no user namespace record of pid {}:\n{}",
                mount.pid,
                format_records(&records)
            )
        });
    let userns = created.ns().unwrap().inode.unwrap();
    assert_eq!(call.ns.owner, Some(userns), "{}", record.line);
    assert!(
        alert.reason.contains(&format!("user:[{userns}]")),
        "{}",
        record.line
    );
}

#[test]
fn userns_rule_ignores_propagation_change_and_mounts_without_userns() {
    require_tool("unshare", "util-linux");
    require_tool("mount", "mount");
    let scratch = ScratchDir::new("userns-benign");
    let target = make_dir(scratch.path(), "target");
    let tracer = Tracer::start(&[]);
    // A user namespace whose only mount call is the propagation change
    // that `unshare --mount` makes.
    let private =
        run(Command::new("unshare").args(["--user", "--map-root-user", "--mount", "true"]));
    private.assert_success();
    // A tmpfs mount in a new mount namespace of root's, with no user
    // namespace.
    let tmpfs = run(&mut in_private_mount_ns(&[
        "mount",
        "-t",
        "tmpfs",
        "nstrace-tmpfs",
        target.to_str().expect("scratch paths are UTF-8"),
    ]));
    tmpfs.assert_success();
    tracer.wait_for(&format!("mount by pid {}", private.pid), |record| {
        record.is_mount_by(private.pid)
    });
    tracer.wait_for(&format!("tmpfs mount by pid {}", tmpfs.pid), |record| {
        is_mount_of_type(record, tmpfs.pid, "tmpfs")
    });
    let records = tracer.stop();
    assert_no_alert(&records, private.pid);
    assert_no_alert(&records, tmpfs.pid);
}
