//! Real output validates against the committed JSON Schemas, in both
//! formats: `schema/nstrace-1.schema.json` and
//! `schema/nstrace-ecs-1.schema.json`.

use std::{fs, path::PathBuf, process::Command};

use nstrace_tests::{
    process::{as_nobody, run, Held},
    tools::require_tool,
    tracer::Tracer,
};
use serde_json::Value;

const NSHELPER: &str = env!("CARGO_BIN_EXE_nshelper");

fn validator(name: &str) -> jsonschema::Validator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../schema")
        .join(name);
    let text = fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {} failed: {error}", path.display()));
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|error| panic!("{} is not a valid schema: {error}", path.display()))
}

/// Makes every kind of namespace record: creation by unshare and clone3,
/// setns that succeeds and fails, and an alert.
fn make_namespaces() {
    require_tool("unshare", "util-linux");
    require_tool("nsenter", "util-linux");
    let mut held = Held::spawn(Command::new("unshare").args(["--net", "--uts", "sleep", "30"]));
    held.wait_for_new_namespace("net");
    let target = format!("--net=/proc/{}/ns/net", held.pid());
    run(Command::new("nsenter").args([target.as_str(), "true"])).assert_success();
    let failed = run(Command::new(NSHELPER).args(["setns-badfd", "-1", "newnet"]));
    assert_eq!(failed.stdout.trim(), "EBADF", "{failed:?}");
    run(Command::new(NSHELPER).args(["clone3", "newipc", "--", "true"])).assert_success();
    run(as_nobody(Command::new("unshare").args(["--user", "true"]))).assert_success();
}

/// Validates each line and returns them parsed.
#[track_caller]
fn validate_all(validator: &jsonschema::Validator, lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("line is not JSON ({error}): {line}"));
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|error| format!("{} at {}", error, error.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "record does not match the schema:\n{line}\n{}",
                errors.join("\n")
            );
            value
        })
        .collect()
}

#[test]
fn native_output_matches_schema() {
    let validator = validator("nstrace-1.schema.json");
    let tracer = Tracer::start(&[]);
    make_namespaces();
    let records = validate_all(&validator, &tracer.stop_lines());

    for kind in ["start", "stop", "ns_create", "ns_enter"] {
        assert!(
            records.iter().any(|r| r["event"] == kind),
            "no {kind} record was validated"
        );
    }
    assert!(
        records.iter().any(|r| r.get("alert").is_some()),
        "no record with an alert was validated"
    );
    assert!(
        records.iter().any(|r| r["outcome"] == "failure"),
        "no failed call was validated"
    );
}

#[test]
fn ecs_output_matches_schema() {
    let validator = validator("nstrace-ecs-1.schema.json");
    let tracer = Tracer::start(&["--format", "ecs"]);
    make_namespaces();
    let records = validate_all(&validator, &tracer.stop_lines());

    for action in ["start", "stop", "ns_create", "ns_enter"] {
        assert!(
            records.iter().any(|r| r["event"]["action"] == action),
            "no {action} record was validated"
        );
    }
    assert!(
        records.iter().any(|r| r["event"]["kind"] == "alert"),
        "no alert record was validated"
    );
}

#[test]
fn schema_rejects_unknown_field() {
    let validator = validator("nstrace-1.schema.json");
    let tracer = Tracer::start(&[]);
    let lines = tracer.stop_lines();
    let mut start: Value = serde_json::from_str(&lines[0]).unwrap();
    assert!(validator.is_valid(&start), "{start}");
    start["surprise"] = Value::from(1);
    assert!(!validator.is_valid(&start), "an unknown field passed");
}
