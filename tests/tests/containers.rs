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

#[track_caller]
fn assert_all_in_container(records: &[Record], id: &str, runtime: &str) {
    let namespace_records: Vec<&Record> =
        records.iter().filter(|r| r.process().is_some()).collect();
    assert!(
        !namespace_records.is_empty(),
        "no namespace records for container {id}:\n{}",
        format_records(records)
    );
    for record in namespace_records {
        let container = record.container().unwrap_or_else(|| {
            panic!(
                "--container {id} let a record without a container through:\n{}",
                record.line
            )
        });
        assert_eq!(container.id, id, "{}", record.line);
        assert_eq!(container.runtime, runtime, "{}", record.line);
        assert!(
            record.alert().is_none(),
            "a normal container start raised an alert:\n{}",
            record.line
        );
    }
}

#[test]
fn runc_container_attributed() {
    let bundle = Bundle::new(&["sleep", "30"]);
    let container = RuncContainer::new("runc");
    let tracer = Tracer::start(&["--container", &container.name]);
    let mut runc = Held::spawn(
        Command::new("runc")
            .args(["run", &container.name])
            .current_dir(bundle.path()),
    );
    let name = container.name.clone();
    let record = tracer.wait_for(
        &format!("a net namespace created in runc container {name}"),
        |record| {
            record
                .ns_create()
                .is_some_and(|create| create.ns.is_type("net"))
                && record.container().is_some_and(|c| c.id == name)
        },
    );
    runc.wait_until("runc container is running", || {
        run(Command::new("runc").args(["state", &name]))
            .stdout
            .contains("\"running\"")
    });
    let records = tracer.stop();
    drop(runc);

    let found = record.container().unwrap();
    assert_eq!(found.runtime, "runc", "{}", record.line);
    assert_eq!(found.pod_uid, None, "{}", record.line);
    assert_all_in_container(&records, &name, "runc");
    for kind in ["mnt", "uts", "ipc", "net"] {
        assert!(
            records
                .iter()
                .any(|r| r.ns_create().is_some_and(|c| c.ns.is_type(kind))),
            "no {kind} namespace record for the container:\n{}",
            format_records(&records)
        );
    }
}

#[test]
fn podman_container_attributed() {
    require_tool("podman", "podman");
    let bundle = Bundle::new(&["sleep", "30"]);
    let container = PodmanContainer::import(&bundle.rootfs(), "podman");
    let tracer = Tracer::start(&[]);
    // runc, because crun 1.8 rejects hybrid cgroup hierarchies; explicit
    // limits, because podman's defaults may exceed the hard limits, which
    // root cannot raise without CAP_SYS_RESOURCE.
    let started = run(Command::new("podman").args([
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
        "sleep",
        "30",
    ]));
    started.assert_success();
    let id = started.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "podman printed no container id: {started:?}");
    // podman makes the net namespace itself and runc joins it, so the
    // mount namespace is the one created inside the container's cgroup.
    let record = tracer.wait_for(
        &format!("a mount namespace created in podman container {id}"),
        |record| {
            record
                .ns_create()
                .is_some_and(|create| create.ns.is_type("mnt"))
                && record.container().is_some_and(|c| c.id == id)
        },
    );
    let records = tracer.stop();

    assert_eq!(
        record.container().unwrap().runtime,
        "podman",
        "{}",
        record.line
    );
    let in_container: Vec<Record> = records
        .iter()
        .filter(|r| r.container().is_some_and(|c| c.id == id))
        .cloned()
        .collect();
    assert_all_in_container(&in_container, &id, "podman");
}
