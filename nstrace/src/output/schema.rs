//! JSON Schemas (draft 2020-12) of the records, generated from the output
//! types. The committed files `schema/nstrace-1.schema.json` and
//! `schema/nstrace-ecs-1.schema.json` must equal what this module
//! generates; a test compares them.

use schemars::{
    generate::SchemaSettings, transform::RecursiveTransform, JsonSchema, Schema, SchemaGenerator,
};
use serde_json::{json, Map, Value};

use super::{
    ecs::EcsRecord,
    enrichment::Enrichment,
    event::{EventKind, Health, Lifetime, Loss, Mount, NsCreate, NsEnter, Start, Stop, SCHEMA},
};

/// `$id` of the native record schema.
pub const NATIVE_ID: &str = "https://github.com/nstrace/nstrace/schema/nstrace-1.schema.json";

/// `$id` of the ECS record schema.
pub const ECS_ID: &str = "https://github.com/nstrace/nstrace/schema/nstrace-ecs-1.schema.json";

const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// A generator for draft 2020-12 that describes serialized output and
/// rejects properties that the types do not have.
fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .with_transform(RecursiveTransform(close_object))
        .into_generator()
}

/// Sets `additionalProperties: false` on object schemas with fixed
/// properties.
fn close_object(schema: &mut Schema) {
    if schema.get("properties").is_some() && schema.get("additionalProperties").is_none() {
        schema.insert("additionalProperties".to_string(), Value::Bool(false));
    }
}

/// Schema of the records that `--format native` writes.
pub fn native_schema() -> Value {
    let mut generator = generator();
    let variants = record_variants(&mut generator);
    json!({
        "$schema": DRAFT_2020_12,
        "$id": NATIVE_ID,
        "title": "nstrace record, schema nstrace/1",
        "description": "One JSON object per line. The event field selects the other fields. Fields are only ever added within schema nstrace/1.",
        "oneOf": variants,
        "$defs": Value::Object(generator.take_definitions(true)),
    })
}

/// Schema of the records that `--format ecs` writes.
pub fn ecs_schema() -> Value {
    let mut schema = generator().into_root_schema_for::<EcsRecord>().to_value();
    if let Some(object) = schema.as_object_mut() {
        object.insert("$id".to_string(), json!(ECS_ID));
        object.insert(
            "title".to_string(),
            json!("nstrace record in Elastic Common Schema field names"),
        );
    }
    schema
}

/// One object schema per record kind: the common fields, the kind's body
/// and the enrichment, with no other properties allowed.
pub fn record_variants(generator: &mut SchemaGenerator) -> Vec<Value> {
    EventKind::ALL
        .into_iter()
        .map(|kind| {
            let body = match kind {
                EventKind::NsCreate => NsCreate::json_schema(generator),
                EventKind::NsEnter => NsEnter::json_schema(generator),
                EventKind::Start => Start::json_schema(generator),
                EventKind::Stop => Stop::json_schema(generator),
                EventKind::Loss => Loss::json_schema(generator),
                EventKind::Mount => Mount::json_schema(generator),
                EventKind::NsSeen | EventKind::NsDestroy | EventKind::NsAlive => {
                    Lifetime::json_schema(generator)
                }
                EventKind::Health => Health::json_schema(generator),
            };
            let enrichment = Enrichment::json_schema(generator);
            variant(kind, &[body.to_value(), enrichment.to_value()])
        })
        .collect()
}

fn variant(kind: EventKind, parts: &[Value]) -> Value {
    let mut properties = Map::new();
    properties.insert(
        "schema".to_string(),
        json!({"const": SCHEMA, "description": "Schema name and version."}),
    );
    properties.insert(
        "time".to_string(),
        json!({"type": "string", "format": "date-time", "description": "RFC 3339 time in UTC with nanoseconds."}),
    );
    properties.insert(
        "event".to_string(),
        json!({"const": kind.name(), "description": "What happened; selects the other fields."}),
    );
    properties.insert(
        "host".to_string(),
        json!({"type": "string", "description": "Host name of the machine that nstrace runs on."}),
    );
    let mut required: Vec<Value> = ["schema", "time", "event", "host"]
        .into_iter()
        .map(Value::from)
        .collect();
    for part in parts {
        if let Some(part_properties) = part.get("properties").and_then(Value::as_object) {
            properties.extend(part_properties.clone());
        }
        if let Some(part_required) = part.get("required").and_then(Value::as_array) {
            required.extend(part_required.iter().cloned());
        }
    }
    json!({
        "title": kind.name(),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}
