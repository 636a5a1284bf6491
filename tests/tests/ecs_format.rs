//! `--format ecs` on real records: the ECS fields hold what the kernel and
//! `/proc` show for the calling process.

use std::process::Command;

use nstrace_tests::{
    namespace::ns_inode,
    process::{as_nobody, Held},
    tools::require_tool,
    tracer::Tracer,
    NOBODY,
};
use serde_json::Value;

#[test]
fn ecs_record_fields_match_process() {
    require_tool("unshare", "util-linux");
    require_tool("sh", "dash or bash");
    let tracer = Tracer::start(&["--format", "ecs"]);
    // The shell stays alive so that /proc shows it while nstrace reads it.
    let mut held = Held::spawn(as_nobody(Command::new("unshare").args([
        "--user",
        "sh",
        "-c",
        "read line",
    ])));
    let pid = held.pid();
    held.wait_for_new_namespace("user");
    let inode = ns_inode(pid, "user");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let record = loop {
        let found = tracer.lines().into_iter().find_map(|line| {
            let value: Value = serde_json::from_str(&line).ok()?;
            (value["event"]["action"] == "ns_create" && value["process"]["pid"] == pid)
                .then_some(value)
        });
        if let Some(found) = found {
            break found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no ECS ns_create record for pid {pid}:\n{}",
            tracer.lines().join("\n")
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    held.write_stdin("done\n");
    let _ = tracer.stop_lines();

    let hostname = nix::unistd::gethostname().unwrap();
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    assert_eq!(record["ecs"]["version"], "8.11.0");
    assert_eq!(record["event"]["kind"], "alert", "{record}");
    assert_eq!(record["event"]["category"][0], "process");
    assert_eq!(record["event"]["type"][0], "change");
    assert_eq!(record["event"]["outcome"], "success");
    assert_eq!(record["process"]["pid"], pid);
    assert_eq!(record["process"]["thread"]["id"], pid);
    assert_eq!(record["process"]["name"], "unshare");
    assert_eq!(record["process"]["parent"]["pid"], std::process::id());
    assert_eq!(
        record["process"]["parent"]["executable"],
        std::env::current_exe().unwrap().to_str().unwrap()
    );
    assert_eq!(record["user"]["id"], NOBODY.to_string());
    assert_eq!(record["group"]["id"], NOBODY.to_string());
    assert_eq!(record["host"]["name"], hostname.to_str().unwrap());
    assert_eq!(record["host"]["boot"]["id"], boot_id.trim());
    assert_eq!(record["rule"]["name"], "unprivileged_userns_create");
    assert_eq!(record["threat"]["technique"]["id"][0], "T1068");
    assert_eq!(record["nstrace"]["ns"]["inode"], inode);
    assert_eq!(record["nstrace"]["process"]["pid"], pid);
    assert!(record["@timestamp"].is_string(), "{record}");
}
