//! Least privilege, clear errors for what a machine lacks, and a restart
//! after SIGKILL.

use std::{os::unix::fs::PermissionsExt, process::Command};

use nstrace_tests::{
    namespace::ns_inode,
    process::{run, Held},
    record::Event,
    tools::require_tool,
    tracer::{nstrace_bin, Tracer},
};

/// Capability bit numbers from `include/uapi/linux/capability.h`.
const CAP_SYS_ADMIN: u32 = 21;
const CAP_BPF: u32 = 39;
const CAP_PERFMON: u32 = 38;

fn capability_mask(pid: u32, field: &str) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("reading /proc/PID/status");
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .unwrap_or_else(|| panic!("{field} missing from /proc/{pid}/status"));
    u64::from_str_radix(line[field.len()..].trim(), 16).expect("a hex capability mask")
}

#[test]
fn capabilities_dropped_after_attach() {
    require_tool("unshare", "util-linux");
    let tracer = Tracer::start(&[]);
    // The drop follows the start-up inventory, which follows the start record.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while capability_mask(tracer.pid(), "CapEff:") & (1 << CAP_SYS_ADMIN) != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "CAP_SYS_ADMIN still effective after 10 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    for field in ["CapEff:", "CapPrm:", "CapBnd:"] {
        let mask = capability_mask(tracer.pid(), field);
        assert_eq!(
            mask & (1 << CAP_SYS_ADMIN),
            0,
            "{field} {mask:x} keeps CAP_SYS_ADMIN"
        );
        assert_eq!(
            mask & (1 << CAP_PERFMON),
            0,
            "{field} {mask:x} keeps CAP_PERFMON"
        );
        assert_ne!(
            mask & (1 << CAP_BPF),
            0,
            "{field} {mask:x} lost CAP_BPF, needed for the loss counters"
        );
    }
    // Tracing and lifetimes still work without them.
    let finished = run(Command::new("unshare").args(["--net", "true"]));
    finished.assert_success();
    let pid = finished.pid;
    let created = tracer.wait_for("net created after the drop", |r| r.is_create(pid, "net"));
    let ns = created.ns_create().unwrap().ns.clone();
    tracer.wait_for("net destroyed after the drop", |r| r.is_end_of(&ns));
    let _ = tracer.stop();
}

#[test]
fn output_file_created_private() {
    let directory = std::env::temp_dir().join(format!("nstrace-mode-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("out.jsonl");
    let status = Command::new(nstrace_bin())
        .args(["--duration", "0.5", "--output"])
        .arg(&path)
        .status()
        .expect("running nstrace");
    let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777);
    let _ = std::fs::remove_dir_all(&directory);
    assert!(
        status.success(),
        "nstrace --duration 0.5 exited with {status}"
    );
    assert_eq!(mode.expect("the output file exists"), 0o600);
}

#[test]
fn missing_capabilities_named() {
    require_tool("setpriv", "util-linux");
    let output = Command::new("setpriv")
        .args([
            "--bounding-set=-bpf,-perfmon,-sys_admin",
            "--inh-caps=-all",
            "--",
        ])
        .arg(nstrace_bin())
        .output()
        .expect("running nstrace under setpriv");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "nstrace ran without CAP_BPF; stderr: {stderr}"
    );
    assert!(
        stderr.contains("CAP_BPF"),
        "the error names CAP_BPF: {stderr}"
    );
    assert!(
        stderr.contains("CAP_PERFMON"),
        "the error names CAP_PERFMON: {stderr}"
    );
    assert!(output.stdout.is_empty(), "no records without capabilities");
}

#[test]
fn missing_btf_named() {
    let missing = "/nonexistent/nstrace-test/vmlinux";
    let output = Command::new(nstrace_bin())
        .args(["--btf", missing])
        .output()
        .expect("running nstrace");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "nstrace ran without BTF; stderr: {stderr}"
    );
    assert!(
        stderr.contains(missing),
        "the error names the file: {stderr}"
    );
    assert!(
        stderr.contains("CONFIG_DEBUG_INFO_BTF"),
        "the error says what the kernel lacks: {stderr}"
    );
}

#[test]
fn invalid_flags_rejected() {
    for args in [
        &["--types", "network"][..],
        &["--duration", "-1"][..],
        &["--ring-buffer-size", "1000"][..],
        &["--no-such-flag"][..],
    ] {
        let output = Command::new(nstrace_bin())
            .args(args)
            .output()
            .expect("running nstrace");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: exit status; stderr: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{args:?}: no records");
        assert!(!stderr.trim().is_empty(), "{args:?}: an error message");
    }
}

#[test]
fn restart_after_sigkill_sees_existing() {
    require_tool("unshare", "util-linux");
    let first = Tracer::start(&[]);
    let mut held = Held::spawn(Command::new("unshare").args(["--uts", "sleep", "30"]));
    held.wait_for_new_namespace("uts");
    let inode = ns_inode(held.pid(), "uts");
    let created = first.wait_for(&format!("uts {inode} created"), |r| {
        r.is_create(held.pid(), "uts")
    });
    // Inode, type and, where the kernel has one, the namespace id.
    let ns = created.ns_create().unwrap().ns.clone();
    let same = |other: &nstrace_tests::record::Ns| {
        other.inode == ns.inode
            && other.ns_type == ns.ns_type
            && (ns.id.is_none() || other.id == ns.id)
    };
    // Dropping the handle kills the tracer with SIGKILL.
    drop(first);

    let second = Tracer::start(&[]);
    second.wait_for(
        &format!("ns_seen of uts {inode}"),
        |r| matches!(&r.event, Event::NsSeen(l) if same(&l.ns)),
    );
    drop(held);
    second.wait_for(&format!("uts {inode} destroyed"), |r| r.is_end_of(&ns));
    let records = second.stop();
    let created_again = records
        .iter()
        .filter(|r| r.ns_create().is_some_and(|c| same(&c.ns)))
        .count();
    assert_eq!(
        created_again, 0,
        "a namespace from before the restart reported as new"
    );
    let seen = records
        .iter()
        .filter(|r| matches!(&r.event, Event::NsSeen(l) if same(&l.ns)))
        .count();
    assert_eq!(seen, 1);
    let destroyed = records.iter().find(|r| r.is_end_of(&ns)).unwrap();
    assert_eq!(
        destroyed.lifetime().unwrap().origin.how,
        "pre_existing",
        "{}",
        destroyed.line
    );
}
