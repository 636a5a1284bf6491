//! Container attribution with real runtimes: records of processes inside
//! a runc or podman container carry its id and runtime, `--container`
//! keeps only them, and a normal container start raises no alert.

use std::process::Command;

use nstrace_tests::{
    container::{Bundle, PodmanContainer, RuncContainer},
    process::{run, Held},
    record::{format_records, Record},
    tools::require_tool,
    tracer::Tracer,
};

/// The container's command: busybox unshare tries to make a uts namespace
/// from inside the container, which fails without `CAP_SYS_ADMIN` but is
/// recorded all the same. The shell stays alive, so a record of the
/// exited unshare is attributed through its parent.
const CONTAINER_ARGS: [&str; 3] = ["sh", "-c", "unshare -u true; exec sleep 30"];

#[track_caller]
fn assert_all_in_container(records: &[&Record], id: &str, runtime: &str) {
    assert!(
        !records.is_empty(),
        "no namespace records for container {id}"
    );
    for record in records {
        let container = record
            .container()
            .unwrap_or_else(|| panic!("a record without container {id} passed:\n{}", record.line));
        assert_eq!(container.id, id, "{}", record.line);
        assert_eq!(container.runtime, runtime, "{}", record.line);
        assert!(
            record.alert().is_none(),
            "a normal container start raised an alert:\n{}",
            record.line
        );
    }
}

/// Returns whether `record` is the creation of a `ns_type` namespace in
/// container `id`.
fn created_in(record: &Record, ns_type: &str, id: &str) -> bool {
    record
        .ns_create()
        .is_some_and(|create| create.ns.is_type(ns_type))
        && record.container().is_some_and(|c| c.id == id)
}

#[test]
fn runc_container_attributed() {
    let bundle = Bundle::new(&CONTAINER_ARGS);
    let container = RuncContainer::new("runc");
    let name = container.name.clone();
    let tracer = Tracer::start(&["--container", &name]);
    let runc = Held::spawn(
        Command::new("runc")
            .args(["run", &name])
            .current_dir(bundle.path()),
    );
    let cgroup_ns = tracer.wait_for(
        &format!("a cgroup namespace in runc container {name}"),
        |r| created_in(r, "cgroup", &name),
    );
    let uts_ns = tracer.wait_for(&format!("a uts namespace in runc container {name}"), |r| {
        created_in(r, "uts", &name)
    });
    let records = tracer.stop();
    drop(runc);

    for record in [&cgroup_ns, &uts_ns] {
        let found = record.container().unwrap();
        assert_eq!(found.runtime, "runc", "{}", record.line);
        assert_eq!(found.pod_uid, None, "{}", record.line);
        let create = record.ns_create().unwrap();
        let cgroup = create
            .cgroup
            .as_ref()
            .expect("cgroup of a container record");
        assert!(
            cgroup.path.ends_with(&format!("/{name}")),
            "{}",
            record.line
        );
    }
    let namespace_records: Vec<&Record> =
        records.iter().filter(|r| r.process().is_some()).collect();
    assert_all_in_container(&namespace_records, &name, "runc");
}

#[test]
fn podman_container_attributed() {
    require_tool("podman", "podman");
    let bundle = Bundle::new(&CONTAINER_ARGS);
    let container = PodmanContainer::import(&bundle.rootfs(), "podman");
    let tracer = Tracer::start(&[]);
    // runc, because crun 1.8 rejects hybrid cgroup hierarchies; explicit
    // limits, because podman's defaults may exceed the hard limits, which
    // root cannot raise without CAP_SYS_RESOURCE.
    let mut command = Command::new("podman");
    command.args([
        "--runtime",
        "runc",
        "run",
        "--detach",
        "--name",
        &container.name,
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=4096:4096",
        &container.image,
    ]);
    command.args(CONTAINER_ARGS);
    let started = run(&mut command);
    started.assert_success();
    let id = started.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "podman printed no container id: {started:?}");
    let record = tracer.wait_for(&format!("a uts namespace in podman container {id}"), |r| {
        created_in(r, "uts", &id)
    });
    let records = tracer.stop();

    assert_eq!(
        record.container().unwrap().runtime,
        "podman",
        "{}",
        record.line
    );
    let in_container: Vec<&Record> = records
        .iter()
        .filter(|r| r.container().is_some_and(|c| c.id == id))
        .collect();
    assert_all_in_container(&in_container, &id, "podman");
    // podman and its network plugins enter the container's net namespace
    // from host threads and return; that must not look like an escape.
    let alerts: Vec<Record> = records
        .iter()
        .filter(|r| r.alert().is_some())
        .cloned()
        .collect();
    assert!(
        alerts.is_empty(),
        "starting a podman container raised alerts:\n{}",
        format_records(&alerts)
    );
}
