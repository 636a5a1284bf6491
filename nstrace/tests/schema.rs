//! The committed JSON Schemas equal the ones generated from the output
//! types. After changing a record type, regenerate them with
//! `NSTRACE_WRITE_SCHEMA=1 cargo test -p nstrace --test schema`.

use std::{fs, path::PathBuf};

use nstrace::output::schema::{ecs_schema, native_schema};
use serde_json::Value;

fn schema_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../schema")
        .join(name)
}

fn check_committed(name: &str, generated: &Value) {
    let path = schema_path(name);
    let text = serde_json::to_string_pretty(generated).unwrap() + "\n";
    if std::env::var("NSTRACE_WRITE_SCHEMA").is_ok_and(|value| value == "1") {
        fs::write(&path, &text).unwrap();
    }
    let committed = fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {} failed: {error}", path.display()));
    assert!(
        committed == text,
        "{} differs from the schema generated from the output types; regenerate it with NSTRACE_WRITE_SCHEMA=1 cargo test -p nstrace --test schema",
        path.display()
    );
}

#[test]
fn native_schema_committed() {
    check_committed("nstrace-1.schema.json", &native_schema());
}

#[test]
fn ecs_schema_committed() {
    check_committed("nstrace-ecs-1.schema.json", &ecs_schema());
}

#[test]
fn native_schema_has_one_variant_per_event() {
    let schema = native_schema();
    let events: Vec<&str> = schema["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variant| variant["properties"]["event"]["const"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "ns_create",
            "ns_enter",
            "mount",
            "ns_seen",
            "ns_destroy",
            "ns_alive",
            "start",
            "stop",
            "loss",
            "health"
        ]
    );
}

#[test]
fn every_native_field_documented() {
    let schema = native_schema();
    let mut undocumented = Vec::new();
    for variant in schema["oneOf"].as_array().unwrap() {
        collect_undocumented(&schema, variant, "", &mut undocumented, 0);
    }
    undocumented.sort();
    undocumented.dedup();
    assert!(
        undocumented.is_empty(),
        "fields without a description: {undocumented:?}"
    );
}

/// Adds the paths of properties without a `description` to `out`,
/// following `$ref`s into `$defs` down to a few levels, since a type can
/// contain itself (a path's `relative_to` holds a path).
fn collect_undocumented(
    root: &Value,
    schema: &Value,
    path: &str,
    out: &mut Vec<String>,
    depth: u32,
) {
    if depth > 6 {
        return;
    }
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, property) in properties {
        let field = format!("{path}{name}");
        if property.get("description").is_none() {
            out.push(field.clone());
        }
        for target in referenced(root, property) {
            collect_undocumented(root, target, &format!("{field}."), out, depth + 1);
        }
    }
}

/// Schemas that `schema` refers to directly or through `anyOf`, `oneOf`
/// and `items`.
fn referenced<'a>(root: &'a Value, schema: &'a Value) -> Vec<&'a Value> {
    let mut found = Vec::new();
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        if let Some(name) = reference.strip_prefix("#/$defs/") {
            found.push(&root["$defs"][name]);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            for option in options {
                found.extend(referenced(root, option));
            }
        }
    }
    if let Some(items) = schema.get("items") {
        found.extend(referenced(root, items));
    }
    found
}
