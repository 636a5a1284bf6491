//! Odd but legal input: threads that leave namespaces or exec on their
//! own, vfork children, clone flag combinations the kernel rejects, setns
//! on files that are no namespaces, and command names with control bytes
//! and invalid UTF-8.

use std::{fmt::Write as _, fs, process::Command, thread, time::Duration};

use nstrace_tests::{
    namespace::{ns_id, ns_inode, own_ns_inode},
    process::{run, Held},
    record::{format_records, single, ErrorInfo, Event, Lifetime, Outcome, Record},
    tools::require_tool,
    tracer::Tracer,
};

const NSHELPER: &str = env!("CARGO_BIN_EXE_nshelper");

/// How long a namespace that should live is watched for a wrong
/// `ns_destroy`: longer than the collector's one-second scan interval.
const STILL_ALIVE_WAIT: Duration = Duration::from_secs(3);

/// `/proc/PID/ns` names of every namespace a task has.
const NS_NAMES: [&str; 8] = ["mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"];

fn parse_pid(line: &str, what: &str) -> u32 {
    line.trim()
        .parse()
        .unwrap_or_else(|error| panic!("{what}: {line:?} is not a pid: {error}"))
}

/// Returns the one successful `ns_create` of a `ns_type` namespace with `inode`,
/// by process `pid`.
fn created<'a>(records: &'a [Record], pid: u32, ns_type: &str, inode: u64) -> &'a Record {
    single(
        records,
        &format!("ns_create of {ns_type} {inode} by pid {pid}"),
        |r| r.is_create(pid, ns_type) && r.ns().is_some_and(|ns| ns.inode == Some(inode)),
    )
}

/// Returns the kernel's namespace id from an `ns_create` record.
fn id_of(record: &Record) -> u64 {
    record
        .ns()
        .and_then(|ns| ns.id)
        .unwrap_or_else(|| panic!("ns_create without a namespace id: {}", record.line))
}

fn is_alive_of_id(record: &Record, id: u64) -> bool {
    matches!(&record.event, Event::NsAlive(l) if l.ns.id == Some(id))
}

/// Returns the lifetime in the one `ns_destroy` of the namespace with
/// kernel id `id`.
fn destroyed(records: &[Record], id: u64, what: &str) -> Lifetime {
    single(records, &format!("ns_destroy of {what} (id {id})"), |r| {
        r.is_destroy_of_id(id)
    })
    .lifetime()
    .expect("an ns_destroy record has a lifetime body")
    .clone()
}

/// Fails the test when any record is an `ns_destroy` of one of `pid`'s
/// namespaces, given as kernel ids read from `/proc/PID/ns`. Ids, not
/// inodes, because an `ns_destroy` of an earlier namespace with a reused
/// inode may follow the creation of a new one.
#[track_caller]
fn assert_none_destroyed(records: &[Record], namespaces: &[(&str, u64)], pid: u32) {
    for (name, id) in namespaces {
        assert!(
            !records.iter().any(|r| r.is_destroy_of_id(*id)),
            "{name} namespace (id {id}) of live pid {pid} reported destroyed; records:\n{}",
            format_records(records)
        );
    }
}

/// Returns the kernel id of each of `pid`'s namespaces, by type name.
fn namespace_ids(pid: u32) -> Vec<(&'static str, u64)> {
    NS_NAMES
        .iter()
        .map(|name| (*name, ns_id(pid, name)))
        .collect()
}

#[test]
fn thread_exit_ends_only_its_namespace() {
    let tracer = Tracer::start(&[]);
    let mut held = Held::spawn(Command::new(NSHELPER).arg("thread-unshare"));
    let pid = held.pid();
    let tid = parse_pid(&held.read_line(), "tid of the second thread");
    assert_ne!(tid, pid, "the second thread has a tid of its own");
    let process_uts = ns_inode(pid, "uts");
    let thread_uts = ns_inode(format!("{pid}/task/{tid}"), "uts");
    assert_ne!(
        process_uts,
        own_ns_inode("uts"),
        "the main thread unshared uts"
    );
    assert_ne!(thread_uts, process_uts, "the second thread unshared uts");
    let process_namespaces = namespace_ids(pid);

    let thread_create = tracer.wait_for(&format!("uts {thread_uts} created"), |r| {
        r.is_create(pid, "uts") && r.ns().is_some_and(|ns| ns.inode == Some(thread_uts))
    });
    let thread_id = id_of(&thread_create);
    assert_eq!(
        thread_id,
        ns_id(format!("{pid}/task/{tid}"), "uts"),
        "namespace id against the kernel's: {}",
        thread_create.line
    );
    held.write_stdin("\n");
    assert_eq!(held.read_line(), "joined", "the second thread ended");
    tracer.wait_for(
        &format!("ns_destroy of the thread's uts {thread_uts}"),
        |r| r.is_destroy_of_id(thread_id),
    );
    thread::sleep(STILL_ALIVE_WAIT);
    let records = tracer.stop();

    let thread_create = created(&records, pid, "uts", thread_uts);
    let line = &thread_create.line;
    let process = thread_create.process().unwrap();
    assert_eq!(process.pid, pid, "{line}");
    assert_eq!(process.tid, tid, "the thread made the call: {line}");

    let process_create = created(&records, pid, "uts", process_uts);
    let process_id = id_of(process_create);
    assert_eq!(
        process_id,
        ns_id(pid, "uts"),
        "namespace id against the kernel's: {}",
        process_create.line
    );
    assert_eq!(
        process_create.process().unwrap().tid,
        pid,
        "the main thread made the call: {}",
        process_create.line
    );

    let lifetime = destroyed(&records, thread_id, "the thread's uts");
    assert_eq!(lifetime.members, 0, "{lifetime:?}");
    assert_eq!(lifetime.members_joined, 1, "{lifetime:?}");
    assert_eq!(
        lifetime.origin.creator.as_ref().map(|c| c.tid),
        Some(tid),
        "{lifetime:?}"
    );

    assert_none_destroyed(&records, &process_namespaces, pid);
    let alive = single(
        &records,
        &format!("ns_alive of the process's uts {process_uts}"),
        |r| is_alive_of_id(r, process_id),
    );
    let alive = alive.lifetime().unwrap();
    assert_eq!(alive.members, 1, "only the main thread is left: {alive:?}");
    assert_eq!(
        alive.members_joined, 2,
        "the main thread and the second thread joined: {alive:?}"
    );
}

#[test]
fn exec_in_second_thread_keeps_accounting() {
    require_tool("sleep", "coreutils");
    let tracer = Tracer::start(&[]);
    let mut held = Held::spawn(Command::new(NSHELPER).args(["thread-exec", "sleep", "30"]));
    let pid = held.pid();
    let tid = parse_pid(&held.read_line(), "tid of the exec'ing thread");
    assert_ne!(tid, pid, "the exec'ing thread is not the leader");
    let task_dir = format!("/proc/{pid}/task");
    held.wait_until("the second thread exec'd sleep", || {
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let tasks: Vec<String> = fs::read_dir(&task_dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        comm.trim_end() == "sleep" && tasks == [pid.to_string()]
    });
    let uts = ns_inode(pid, "uts");
    assert_ne!(uts, own_ns_inode("uts"), "the main thread unshared uts");
    let create = tracer.wait_for(&format!("uts {uts} created"), |r| {
        r.is_create(pid, "uts") && r.ns().is_some_and(|ns| ns.inode == Some(uts))
    });
    let id = id_of(&create);

    thread::sleep(STILL_ALIVE_WAIT);
    let early = tracer.records();
    assert!(
        !early.iter().any(|r| r.is_destroy_of_id(id)),
        "uts {uts} reported destroyed while sleep (pid {pid}) is in it; records:\n{}",
        format_records(&early)
    );

    drop(held);
    tracer.wait_for(&format!("ns_destroy of uts {uts} after the kill"), |r| {
        r.is_destroy_of_id(id)
    });
    let records = tracer.stop();
    let lifetime = destroyed(&records, id, "uts");
    assert_eq!(lifetime.members, 0, "{lifetime:?}");
    assert_eq!(
        lifetime.members_joined, 2,
        "the leader and the second thread: {lifetime:?}"
    );
    assert!(
        !records.iter().any(|r| is_alive_of_id(r, id)),
        "an ns_alive record for uts {uts}, which ended"
    );
}

#[test]
fn vfork_child_namespace_ends() {
    let tracer = Tracer::start(&[]);
    let mut held = Held::spawn(Command::new(NSHELPER).arg("vfork-unshare"));
    let parent = held.pid();
    let child = parse_pid(&held.read_line(), "pid of the vfork child");
    let parent_uts = ns_inode(parent, "uts");
    assert_ne!(parent_uts, own_ns_inode("uts"), "the parent unshared uts");
    let parent_namespaces = namespace_ids(parent);

    let child_create = tracer.wait_for(&format!("uts created by vfork child {child}"), |r| {
        r.is_create(child, "uts")
    });
    let child_id = id_of(&child_create);
    tracer.wait_for(&format!("ns_destroy of the uts of child {child}"), |r| {
        r.is_destroy_of_id(child_id)
    });
    thread::sleep(STILL_ALIVE_WAIT);
    let records = tracer.stop();

    let child_create = single(&records, &format!("uts created by child {child}"), |r| {
        r.is_create(child, "uts")
    });
    let line = &child_create.line;
    let create = child_create.ns_create().unwrap();
    assert_eq!(create.outcome, Outcome::Success, "{line}");
    assert_eq!(create.syscall.name, "unshare", "{line}");
    assert_eq!(create.process.tid, child, "{line}");
    assert_eq!(create.process.ppid, parent, "{line}");
    assert_ne!(create.ns.inode, Some(parent_uts), "{line}");

    let lifetime = destroyed(&records, child_id, "the vfork child's uts");
    assert_eq!(lifetime.members, 0, "{lifetime:?}");
    assert_eq!(lifetime.members_joined, 1, "{lifetime:?}");

    let parent_creates: Vec<&Record> = records
        .iter()
        .filter(|r| r.ns_create().is_some_and(|c| c.process.pid == parent))
        .collect();
    assert_eq!(
        parent_creates.len(),
        1,
        "only the parent's own unshare: {parent_creates:#?}"
    );
    let parent_id = id_of(created(&records, parent, "uts", parent_uts));
    assert_none_destroyed(&records, &parent_namespaces, parent);
    let alive = single(
        &records,
        &format!("ns_alive of the parent's uts {parent_uts}"),
        |r| is_alive_of_id(r, parent_id),
    );
    let alive = alive.lifetime().unwrap();
    assert_eq!(alive.members, 1, "only the parent is left: {alive:?}");
    assert_eq!(
        alive.members_joined, 2,
        "the parent and the vfork child joined: {alive:?}"
    );
}

#[test]
fn clone3_invalid_flags_fail_einval() {
    // Each case: helper flags, the flag names nstrace reports, and the
    // namespace types requested.
    let cases: [(&str, &[&str], &[&str]); 2] = [
        ("newuser,fs", &["CLONE_FS", "CLONE_NEWUSER"], &["user"]),
        (
            "newpid,thread,sighand,vm",
            &["CLONE_VM", "CLONE_SIGHAND", "CLONE_THREAD", "CLONE_NEWPID"],
            &["pid"],
        ),
    ];
    let tracer = Tracer::start(&[]);
    let mut callers = Vec::new();
    for (flags, _, _) in &cases {
        let finished = run(Command::new(NSHELPER).args(["clone3-fail", flags]));
        assert_eq!(finished.status.code(), Some(1), "{finished:?}");
        assert_eq!(finished.stdout.trim(), "EINVAL", "{finished:?}");
        callers.push(finished.pid);
    }
    for pid in &callers {
        tracer.wait_for(&format!("ns_create by pid {pid}"), |r| {
            r.ns_create().is_some_and(|c| c.process.pid == *pid)
        });
    }
    let records = tracer.stop();

    for ((flags, names, types), pid) in cases.iter().zip(callers) {
        let creates: Vec<&Record> = records
            .iter()
            .filter(|r| r.ns_create().is_some_and(|c| c.process.pid == pid))
            .collect();
        assert_eq!(
            creates.len(),
            types.len(),
            "one ns_create per requested type for clone3 {flags}: {creates:#?}"
        );
        for ns_type in *types {
            let record = single(&records, &format!("{ns_type} by pid {pid}"), |r| {
                r.is_create(pid, ns_type)
            });
            let line = &record.line;
            let create = record.ns_create().unwrap();
            assert_eq!(create.outcome, Outcome::Failure, "{line}");
            assert_eq!(
                create.error,
                Some(ErrorInfo {
                    name: "EINVAL".to_string(),
                    errno: libc::EINVAL
                }),
                "{line}"
            );
            assert_eq!(create.syscall.name, "clone3", "{line}");
            assert_eq!(create.syscall.flags, *names, "{line}");
            assert_eq!(create.syscall.ret, -i64::from(libc::EINVAL), "{line}");
            assert_eq!(create.ns.inode, None, "{line}");
            assert_eq!(create.child, None, "no child: {line}");
        }
    }
}

#[test]
fn setns_pipe_and_socket_fail_einval() {
    let tracer = Tracer::start(&[]);
    let mut callers = Vec::new();
    for kind in ["pipe", "socket"] {
        let finished = run(Command::new(NSHELPER).args(["setns-other", kind]));
        assert_eq!(finished.status.code(), Some(1), "{finished:?}");
        assert_eq!(finished.stdout.trim(), "EINVAL", "{finished:?}");
        callers.push((kind, finished.pid));
    }
    for (_, pid) in &callers {
        tracer.wait_for(&format!("setns by pid {pid}"), |r| r.is_enter_by(*pid));
    }
    let records = tracer.stop();

    for (kind, pid) in callers {
        let record = single(&records, &format!("setns on a {kind} by {pid}"), |r| {
            r.is_enter_by(pid)
        });
        let line = &record.line;
        let enter = record.ns_enter().unwrap();
        assert_eq!(enter.outcome, Outcome::Failure, "{kind}: {line}");
        assert_eq!(
            enter.error,
            Some(ErrorInfo {
                name: "EINVAL".to_string(),
                errno: libc::EINVAL
            }),
            "{kind}: {line}"
        );
        assert_eq!(enter.syscall.fd_kind, "other", "{kind}: {line}");
        assert!(enter.syscall.nstype.is_empty(), "{kind}: {line}");
        assert_eq!(
            enter.syscall.ret,
            -i64::from(libc::EINVAL),
            "{kind}: {line}"
        );
        assert_eq!(enter.ns.ns_type, None, "{kind}: {line}");
        assert_eq!(enter.ns.inode, None, "{kind}: {line}");
        assert_eq!(enter.target_pid, None, "{kind}: {line}");
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

#[test]
fn comm_control_bytes_escaped() {
    // Each case: the command name's bytes, and the JSON text of `comm`
    // that nstrace writes. Invalid UTF-8 becomes U+FFFD, one per invalid
    // sequence, as `String::from_utf8_lossy` decodes it.
    let cases: [(&[u8], &str); 3] = [
        (b"a\nb\"c\\\x1b\t\x7f", "\"a\\nb\\\"c\\\\\\u001b\\t\x7f\""),
        (b"bad\xff\xfe", "\"bad\u{fffd}\u{fffd}\""),
        // Seven two-byte characters and the first byte of an eighth,
        // as a name cut at 15 bytes would end.
        (
            b"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3",
            "\"ééééééé\u{fffd}\"",
        ),
    ];
    let tracer = Tracer::start(&[]);
    let mut helpers = Vec::new();
    for (name, _) in &cases {
        let mut held = Held::spawn(Command::new(NSHELPER).args(["comm-unshare", &hex(name)]));
        assert_eq!(held.read_line(), "ok", "comm-unshare {}", hex(name));
        let mut proc_comm = fs::read(format!("/proc/{}/comm", held.pid()))
            .unwrap_or_else(|error| panic!("reading /proc/{}/comm failed: {error}", held.pid()));
        assert_eq!(
            proc_comm.pop(),
            Some(b'\n'),
            "/proc/PID/comm ends with a newline"
        );
        assert_eq!(
            proc_comm,
            *name,
            "the kernel kept the name as set (hex {})",
            hex(name)
        );
        helpers.push((held, proc_comm));
    }
    for (held, _) in &helpers {
        let pid = held.pid();
        tracer.wait_for(&format!("uts created by pid {pid}"), |r| {
            r.is_create(pid, "uts")
        });
    }
    // stop() parses every line, so a record broken by a control byte
    // fails here.
    let records = tracer.stop();

    for ((held, proc_comm), (_, json)) in helpers.iter().zip(cases) {
        let pid = held.pid();
        let record = single(&records, &format!("uts created by pid {pid}"), |r| {
            r.is_create(pid, "uts")
        });
        let line = &record.line;
        let comm = &record.process().unwrap().comm;
        assert_eq!(
            *comm,
            String::from_utf8_lossy(proc_comm),
            "comm against /proc/{pid}/comm: {line}"
        );
        assert!(
            line.contains(&format!("\"comm\":{json}")),
            "comm written as {json}: {line}"
        );
        assert!(!line.contains('\n'), "one line per record: {line:?}");
    }
}
