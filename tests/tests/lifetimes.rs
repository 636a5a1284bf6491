//! Namespace lifetimes: `ns_destroy` for namespaces that end, pins that
//! keep them alive, owner chains, and namespaces that existed at start.

use std::{
    os::{fd::AsRawFd, unix::fs::MetadataExt},
    process::Command,
    thread,
    time::Duration,
};

use chrono::{DateTime, Utc};
use nstrace_tests::{
    namespace::{ns_inode, own_ns_inode},
    process::{run, Held},
    record::{single, Event, Lifetime, Ns, Record},
    tools::require_tool,
    tracer::Tracer,
};

/// How long a namespace that should live is watched for a wrong
/// `ns_destroy`: longer than the collector's one-second scan interval.
const STILL_ALIVE_WAIT: Duration = Duration::from_secs(3);

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|error| panic!("invalid RFC 3339 time {text:?}: {error}"))
        .with_timezone(&Utc)
}

/// The `lifetime_precision` that the start record announced.
fn announced_precision(tracer: &Tracer) -> String {
    let start = tracer.wait_for("start record", |r| matches!(r.event, Event::Start(_)));
    let Event::Start(value) = &start.event else {
        unreachable!("wait_for returned a start record");
    };
    value["lifetime_precision"]
        .as_str()
        .unwrap_or_else(|| panic!("start record without lifetime_precision: {}", start.line))
        .to_string()
}

fn destroyed<'a>(records: &'a [Record], ns: &Ns, what: &str) -> &'a Lifetime {
    single(
        records,
        &format!("ns_destroy of {what} {:?}", ns.inode),
        |r| r.is_end_of(ns),
    )
    .lifetime()
    .expect("an ns_destroy record has a lifetime body")
}

/// Returns the inode of the parent of the user namespace at `path`, and
/// checks that the parent's parent is the test's own user namespace.
fn parent_user_ns(path: &str) -> u64 {
    /// `NS_GET_PARENT` from `include/uapi/linux/nsfs.h`.
    const NS_GET_PARENT: libc::c_ulong = 0xb702;
    let file =
        std::fs::File::open(path).unwrap_or_else(|error| panic!("opening {path} failed: {error}"));
    let parent = |fd: i32| -> std::fs::File {
        // SAFETY: NS_GET_PARENT takes no argument and returns a new fd or -1.
        let parent = unsafe { libc::ioctl(fd, NS_GET_PARENT) };
        assert!(
            parent >= 0,
            "NS_GET_PARENT failed: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: the ioctl returned a new fd that nothing else owns.
        unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(parent) }
    };
    let outer = parent(file.as_raw_fd());
    let grandparent = parent(outer.as_raw_fd());
    assert_eq!(
        grandparent.metadata().unwrap().ino(),
        own_ns_inode("user"),
        "two levels of user namespaces"
    );
    outer.metadata().unwrap().ino()
}

fn created_ns(records: &[Record], pid: u32, ns_type: &str) -> Ns {
    let record = single(records, &format!("{ns_type} created by pid {pid}"), |r| {
        r.is_create(pid, ns_type)
    });
    record.ns_create().expect("an ns_create record").ns.clone()
}

#[test]
fn short_lived_namespaces_destroyed() {
    require_tool("unshare", "util-linux");
    let tracer = Tracer::start(&[]);
    let precision = announced_precision(&tracer);
    let finished = run(Command::new("unshare").args(["--net", "--uts", "true"]));
    finished.assert_success();
    let exited = Utc::now();
    let pid = finished.pid;
    for ns_type in ["net", "uts"] {
        tracer.wait_for(&format!("{ns_type} of pid {pid} destroyed"), |r| {
            r.lifetime().is_some_and(|l| {
                matches!(r.event, Event::NsDestroy(_))
                    && l.origin.creator.as_ref().is_some_and(|c| c.pid == pid)
                    && l.ns.is_type(ns_type)
            })
        });
    }
    let records = tracer.stop();

    for ns_type in ["net", "uts"] {
        let ns = created_ns(&records, pid, ns_type);
        let inode = ns.inode.expect("a created namespace has an inode");
        let lifetime = destroyed(&records, &ns, ns_type);
        assert!(lifetime.ns.is_type(ns_type), "type: {lifetime:?}");
        assert_eq!(
            lifetime.precision.as_deref(),
            Some(precision.as_str()),
            "precision: {lifetime:?}"
        );
        assert_eq!(lifetime.origin.how, "unshare", "origin: {lifetime:?}");
        assert!(
            lifetime.origin.flags.contains(&"CLONE_NEWNET".to_string()),
            "flags: {lifetime:?}"
        );
        let created = time(lifetime.created.as_deref().expect("created time"));
        let destroyed_at = time(lifetime.destroyed.as_deref().expect("destroyed time"));
        assert!(
            destroyed_at >= created,
            "destroyed before created: {lifetime:?}"
        );
        let duration = (destroyed_at - created).num_nanoseconds().unwrap();
        assert_eq!(
            u64::try_from(duration).unwrap(),
            lifetime.duration_ns,
            "duration: {lifetime:?}"
        );
        assert!(
            destroyed_at <= exited + chrono::Duration::seconds(1),
            "destroyed more than a second after the exit at {exited}: {lifetime:?}"
        );
        assert_eq!(lifetime.members, 0, "members: {lifetime:?}");
        assert_eq!(lifetime.members_joined, 1, "joined: {lifetime:?}");
        assert_eq!(lifetime.peak_members, 1, "peak: {lifetime:?}");
        let alive = records
            .iter()
            .filter(|r| matches!(&r.event, Event::NsAlive(l) if l.ns.inode == Some(inode) && l.ns.id == ns.id))
            .count();
        assert_eq!(alive, 0, "an ns_alive record for a destroyed namespace");
    }
}

/// Deletes a named network namespace on drop, also when a test fails.
struct NetnsGuard(String);

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn netns_bind_mount_keeps_net_alive() {
    require_tool("ip", "iproute2");
    let name = format!("nstrace-test-{}", std::process::id());
    let tracer = Tracer::start(&[]);
    let precision = announced_precision(&tracer);

    let guard = NetnsGuard(name.clone());
    let added = run(Command::new("ip").args(["netns", "add", &name]));
    added.assert_success();
    let inode = std::fs::metadata(format!("/run/netns/{name}"))
        .unwrap_or_else(|error| panic!("/run/netns/{name} after ip netns add: {error}"))
        .ino();
    // Inode numbers are shared by all namespace types and reused at once,
    // so the record is matched by type and creator too.
    let creator = added.pid;
    let created = tracer.wait_for(&format!("net {inode} created by pid {creator}"), |r| {
        r.ns_create().is_some_and(|c| {
            c.ns.inode == Some(inode) && c.ns.is_type("net") && c.process.pid == creator
        })
    });
    let ns = created.ns_create().unwrap().ns.clone();
    thread::sleep(STILL_ALIVE_WAIT);
    let early = tracer.records();
    let ends: Vec<&str> = early
        .iter()
        .filter(|r| r.is_end_of(&ns))
        .map(|r| r.line.as_str())
        .collect();
    assert!(
        ends.is_empty(),
        "net {inode} reported destroyed while /run/netns/{name} holds it:\n{}\ncreated by:\n{}",
        ends.join("\n"),
        created.line
    );

    let deleted = run(Command::new("ip").args(["netns", "del", &name]));
    deleted.assert_success();
    std::mem::forget(guard);
    tracer.wait_for(&format!("net {inode} destroyed after ip netns del"), |r| {
        r.is_end_of(&ns)
    });
    let records = tracer.stop();
    let lifetime = destroyed(&records, &ns, "net");
    assert_eq!(lifetime.precision.as_deref(), Some(precision.as_str()));
    assert_eq!(
        lifetime.origin.how, "unshare",
        "ip netns add unshares the net namespace: {lifetime:?}"
    );
    if precision == "inferred" {
        let mount = format!("/run/netns/{name}");
        assert!(
            lifetime
                .pins
                .iter()
                .any(|p| p.kind == "mount" && p.detail == mount),
            "the bind mount {mount} as the last pin: {lifetime:?}"
        );
    }
}

#[test]
fn open_fd_outlives_last_process() {
    require_tool("unshare", "util-linux");
    require_tool("bash", "bash");
    let tracer = Tracer::start(&[]);
    let mut member = Held::spawn(Command::new("unshare").args(["--ipc", "sleep", "30"]));
    member.wait_for_new_namespace("ipc");
    let inode = ns_inode(member.pid(), "ipc");
    let member_pid = member.pid();
    let created = tracer.wait_for(&format!("ipc {inode} created"), |r| {
        r.is_create(member_pid, "ipc")
    });
    let ns = created.ns_create().unwrap().ns.clone();
    let path = format!("/proc/{}/ns/ipc", member.pid());
    let mut holder = Held::spawn(Command::new("bash").args([
        "-c",
        &format!("exec 3<{path} && echo ready && exec sleep 30"),
    ]));
    assert_eq!(
        holder.read_line().trim(),
        "ready",
        "the fd holder opened {path}"
    );

    drop(member);
    thread::sleep(STILL_ALIVE_WAIT);
    assert!(
        !tracer.records().iter().any(|r| r.is_end_of(&ns)),
        "ipc {inode} reported destroyed while an open fd holds it"
    );

    drop(holder);
    tracer.wait_for(&format!("ipc {inode} destroyed after its fd closed"), |r| {
        r.is_end_of(&ns)
    });
    let records = tracer.stop();
    let lifetime = destroyed(&records, &ns, "ipc");
    assert_eq!(lifetime.members, 0);
    assert_eq!(lifetime.origin.how, "unshare");
}

#[test]
fn nested_user_namespaces_owner_chain() {
    require_tool("unshare", "util-linux");
    require_tool("lsns", "util-linux");
    let tracer = Tracer::start(&["--types", "user"]);
    let mut held = Held::spawn(Command::new("unshare").args([
        "--user",
        "--map-root-user",
        "unshare",
        "--user",
        "--map-root-user",
        "sleep",
        "30",
    ]));
    let pid = held.pid();
    let host_user = own_ns_inode("user");
    held.wait_until("it entered a nested user namespace", || {
        let output = Command::new("lsns")
            .args(["-n", "-o", "NS,ONS", "-t", "user"])
            .output();
        let inner = nstrace_tests::namespace::read_ns_inode(&nstrace_tests::namespace::ns_path(
            pid, "user",
        ));
        match (output, inner) {
            (Ok(output), Ok(inner)) => {
                String::from_utf8_lossy(&output.stdout).lines().any(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    fields.first() == Some(&inner.to_string().as_str())
                        && fields.get(1) != Some(&host_user.to_string().as_str())
                })
            }
            _ => false,
        }
    });
    let inner = ns_inode(pid, "user");
    let outer = parent_user_ns(&format!("/proc/{pid}/ns/user"));
    assert_ne!(
        outer, host_user,
        "the kernel shows the inner namespace owned by the outer one"
    );
    let owners = Command::new("lsns")
        .args(["-n", "-o", "NS,ONS", "-t", "user"])
        .output()
        .expect("lsns runs");
    let owners = String::from_utf8_lossy(&owners.stdout).into_owned();
    assert!(
        owners.lines().any(|line| line.split_whitespace().eq([
            inner.to_string(),
            outer.to_string()
        ]
        .iter()
        .map(String::as_str))),
        "lsns lists user {inner} owned by {outer}:\n{owners}"
    );

    let mut created = Vec::new();
    for (ns, owner) in [(outer, host_user), (inner, outer)] {
        let record = tracer.wait_for(&format!("user {ns} created by pid {pid}"), |r| {
            r.ns_create().is_some_and(|c| {
                c.ns.inode == Some(ns) && c.ns.is_type("user") && c.process.pid == pid
            })
        });
        let create = record.ns_create().unwrap();
        created.push(create.ns.clone());
        assert_eq!(
            create.ns.owner,
            Some(owner),
            "owner of user {ns}: {}",
            record.line
        );
        assert_eq!(create.process.pid, pid, "{}", record.line);
    }
    drop(held);
    for ns in &created {
        tracer.wait_for(&format!("user {:?} destroyed", ns.inode), |r| {
            r.is_end_of(ns)
        });
    }
    let records = tracer.stop();
    assert_eq!(
        destroyed(&records, &created[1], "user").ns.owner,
        Some(outer)
    );
    assert_eq!(
        destroyed(&records, &created[0], "user").ns.owner,
        Some(host_user)
    );
}

#[test]
fn pre_existing_namespace_seen_and_ended() {
    require_tool("unshare", "util-linux");
    let mut held = Held::spawn(Command::new("unshare").args(["--uts", "sleep", "30"]));
    held.wait_for_new_namespace("uts");
    let inode = ns_inode(held.pid(), "uts");

    let tracer = Tracer::start(&[]);
    let seen = tracer.wait_for(
        &format!("ns_seen of uts {inode}"),
        |r| matches!(&r.event, Event::NsSeen(l) if l.ns.inode == Some(inode)),
    );
    let lifetime = seen.lifetime().unwrap();
    assert_eq!(lifetime.origin.how, "pre_existing", "{}", seen.line);
    assert_eq!(lifetime.members, 1, "the sleep process: {}", seen.line);
    assert!(lifetime.created.is_none(), "{}", seen.line);
    assert!(lifetime.ns.is_type("uts"), "{}", seen.line);

    let ns = lifetime.ns.clone();
    drop(held);
    tracer.wait_for(&format!("uts {inode} destroyed"), |r| r.is_end_of(&ns));
    let records = tracer.stop();
    let lifetime = destroyed(&records, &ns, "uts");
    assert_eq!(lifetime.origin.how, "pre_existing");
    assert!(lifetime.created.is_none());
    let first_seen = time(&lifetime.first_seen);
    let destroyed_at = time(lifetime.destroyed.as_deref().unwrap());
    assert!(destroyed_at >= first_seen, "{lifetime:?}");
    assert_eq!(
        u64::try_from((destroyed_at - first_seen).num_nanoseconds().unwrap()).unwrap(),
        lifetime.duration_ns
    );
}
