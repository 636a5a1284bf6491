//! The deployment files under `deploy/` pass their linters: the systemd
//! unit passes `systemd-analyze verify`, and the Kubernetes manifest
//! parses as YAML and has the structure that an nstrace `DaemonSet` needs.

use std::{fs, path::PathBuf, process::Command};

use nstrace_tests::{process::run, scratch::ScratchDir, tools::require_tool, tracer::nstrace_bin};
use serde::Deserialize;
use serde_json::Value;

fn deploy_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(name)
}

/// Runs `systemd-analyze verify` on a copy of `unit` whose nstrace path is
/// the built binary, since verify rejects an `ExecStart` that does not
/// exist. Returns its stderr; verify prints unknown keys and bad values
/// there, some with exit status 0.
fn verify_unit(unit: &str) -> String {
    require_tool("systemd-analyze", "systemd");
    let bin = nstrace_bin();
    assert!(
        bin.is_file(),
        "nstrace binary {} not found; run `cargo xtask build`",
        bin.display()
    );
    let dir = ScratchDir::new("unit");
    let copy = dir.path().join("nstrace.service");
    fs::write(
        &copy,
        unit.replace("/usr/local/bin/nstrace", bin.to_str().unwrap()),
    )
    .unwrap();
    let verify = run(Command::new("systemd-analyze").arg("verify").arg(&copy));
    verify.assert_success();
    verify.stderr
}

#[test]
fn systemd_unit_verifies() {
    let unit = fs::read_to_string(deploy_path("nstrace.service")).unwrap();
    let warnings = verify_unit(&unit);
    assert!(
        warnings.trim().is_empty(),
        "systemd-analyze verify: {warnings}"
    );
    assert!(unit.contains("ExecStart=/usr/local/bin/nstrace "), "{unit}");
}

#[test]
fn systemd_verify_reports_unknown_key() {
    let unit = fs::read_to_string(deploy_path("nstrace.service")).unwrap();
    let broken = unit.replace("[Service]\n", "[Service]\nFrobnicate=yes\n");
    let warnings = verify_unit(&broken);
    assert!(
        warnings.contains("Frobnicate"),
        "verify did not report the unknown key: {warnings:?}"
    );
}

fn manifests() -> Vec<Value> {
    let path = deploy_path("kubernetes/nstrace-daemonset.yaml");
    let text = fs::read_to_string(&path).unwrap();
    serde_norway::Deserializer::from_str(&text)
        .map(|document| {
            Value::deserialize(document)
                .unwrap_or_else(|error| panic!("{} is not valid YAML: {error}", path.display()))
        })
        .collect()
}

#[test]
fn daemonset_structure() {
    let documents = manifests();
    let kinds: Vec<&str> = documents
        .iter()
        .map(|d| d["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["Namespace", "DaemonSet"]);
    for document in &documents {
        assert!(document["apiVersion"].is_string(), "{document}");
        assert!(document["metadata"]["name"].is_string(), "{document}");
    }
    let daemonset = &documents[1];
    assert_eq!(daemonset["apiVersion"], "apps/v1");
    assert_eq!(
        daemonset["metadata"]["namespace"],
        documents[0]["metadata"]["name"]
    );

    let selector = &daemonset["spec"]["selector"]["matchLabels"];
    let labels = &daemonset["spec"]["template"]["metadata"]["labels"];
    assert!(
        selector.is_object(),
        "DaemonSet has no spec.selector.matchLabels"
    );
    for (key, value) in selector.as_object().unwrap() {
        assert_eq!(
            &labels[key], value,
            "pod template label {key} does not match the selector"
        );
    }

    let pod = &daemonset["spec"]["template"]["spec"];
    assert_eq!(
        pod["hostPID"], true,
        "nstrace needs the host's pid namespace"
    );
    let containers = pod["containers"]
        .as_array()
        .expect("spec.template.spec.containers");
    assert_eq!(containers.len(), 1);
    let container = &containers[0];
    assert!(container["image"].is_string(), "{container}");
    let capabilities: Vec<&str> = container["securityContext"]["capabilities"]["add"]
        .as_array()
        .expect("securityContext.capabilities.add")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for needed in ["BPF", "PERFMON", "SYS_ADMIN"] {
        assert!(
            capabilities.contains(&needed),
            "capability {needed} missing: {capabilities:?}"
        );
    }

    let volumes: Vec<&str> = pod["volumes"]
        .as_array()
        .expect("spec.template.spec.volumes")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    for mount in container["volumeMounts"].as_array().expect("volumeMounts") {
        let name = mount["name"].as_str().unwrap();
        assert!(volumes.contains(&name), "volumeMount {name} has no volume");
    }
    let btf = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["mountPath"] == "/sys/kernel/btf");
    assert!(btf, "the kernel's BTF is not mounted");
}

#[test]
fn daemonset_args_accepted_by_nstrace() {
    let documents = manifests();
    let container = &documents[1]["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .expect("container args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // --help after the arguments makes clap check them and exit without
    // tracing; an unknown option fails instead.
    let check = run(Command::new(nstrace_bin()).args(&args).arg("--help"));
    check.assert_success();
}
