//! Records in Elastic Common Schema (ECS) field names.
//!
//! The ECS fields carry what ECS has a field for; `nstrace` carries the
//! native record whole, so nothing is lost and `nstrace.*` follows the
//! native schema.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;

use super::event::{Body, Event, EventKind, Outcome};

/// ECS version whose field names and allowed values these records follow.
pub const ECS_VERSION: &str = "8.11.0";

/// One record in ECS field names.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EcsRecord<'a> {
    /// Time of the event, RFC 3339 in UTC with nanoseconds.
    #[serde(rename = "@timestamp")]
    pub timestamp: &'a str,
    pub ecs: Ecs,
    pub event: EcsEvent,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<EcsProcess<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<EcsId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<EcsId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<EcsContainer<'a>>,
    pub host: EcsHost<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<EcsRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threat: Option<EcsThreat>,
    /// The native record, as `--format native` writes it.
    #[schemars(schema_with = "native_record_schema")]
    pub nstrace: &'a Event,
}

/// ECS `ecs.*`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Ecs {
    /// ECS version, `8.11.0`.
    pub version: &'static str,
}

/// ECS `event.*`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EcsEvent {
    /// `event` for namespace records, `alert` when a rule matched, `state`
    /// for start and stop, `metric` for loss.
    pub kind: &'static str,
    /// `process` for namespace records and start and stop, `host` for loss;
    /// `intrusion_detection` is added when a rule matched.
    pub category: Vec<&'static str>,
    /// `change` for namespace records, `start` and `end` for start and
    /// stop, `info` for loss.
    #[serde(rename = "type")]
    pub event_type: Vec<&'static str>,
    /// The native `event` field: `ns_create`, `ns_enter`, `start`, `stop`,
    /// `loss`.
    pub action: &'static str,
    /// `success` or `failure` for namespace records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'static str>,
    /// Always `nstrace`.
    pub module: &'static str,
    /// Always `nstrace.namespace`.
    pub dataset: &'static str,
    /// Alert severity as a number: 21, 47, 73 or 99.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<u8>,
    /// The alert's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// ECS `process.*`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EcsProcess<'a> {
    pub pid: u32,
    pub thread: EcsThread,
    /// Command name (`comm`).
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<&'a str>,
    /// Start time, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<EcsParent<'a>>,
}

/// ECS `process.thread.*`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EcsThread {
    pub id: u32,
}

/// ECS `process.parent.*`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EcsParent<'a> {
    pub pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<&'a str>,
}

/// ECS `user.*` and `group.*`: ids are strings in ECS.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EcsId {
    pub id: String,
}

/// ECS `container.*`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EcsContainer<'a> {
    pub id: &'a str,
    pub runtime: &'a str,
}

/// ECS `host.*`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EcsHost<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot: Option<EcsBoot<'a>>,
}

/// ECS `host.boot.*`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EcsBoot<'a> {
    pub id: &'a str,
}

/// ECS `rule.*`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EcsRule {
    pub name: &'static str,
}

/// ECS `threat.*`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EcsThreat {
    /// Always `MITRE ATT&CK`.
    pub framework: &'static str,
    pub technique: EcsTechnique,
    pub tactic: EcsTactic,
}

/// ECS `threat.technique.*`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EcsTechnique {
    pub id: Vec<&'static str>,
    pub name: Vec<&'static str>,
}

/// ECS `threat.tactic.*`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EcsTactic {
    pub name: Vec<&'static str>,
}

impl<'a> EcsRecord<'a> {
    /// Maps a native record to ECS fields.
    pub fn new(event: &'a Event) -> Self {
        let alert = event.enrichment.alert.as_ref();
        let process = event.body.process();
        Self {
            timestamp: &event.time,
            ecs: Ecs {
                version: ECS_VERSION,
            },
            event: ecs_event(event),
            process: process.map(|p| {
                let parent = p.ancestors.first().filter(|a| a.pid == p.ppid);
                EcsProcess {
                    pid: p.pid,
                    thread: EcsThread { id: p.tid },
                    name: &p.comm,
                    executable: p.exe.as_deref(),
                    entity_id: p.entity_id.as_deref(),
                    start: p.start_time.as_deref(),
                    parent: (p.ppid != 0).then(|| EcsParent {
                        pid: p.ppid,
                        name: parent.map(|a| a.comm.as_str()),
                        executable: parent.and_then(|a| a.exe.as_deref()),
                        entity_id: parent.map(|a| a.entity_id.as_str()),
                    }),
                }
            }),
            user: process.map(|p| EcsId {
                id: p.uid.to_string(),
            }),
            group: process.map(|p| EcsId {
                id: p.gid.to_string(),
            }),
            container: event.enrichment.container.as_ref().map(|c| EcsContainer {
                id: &c.id,
                runtime: &c.runtime,
            }),
            host: EcsHost {
                name: &event.host,
                boot: event.enrichment.boot_id.as_deref().map(|id| EcsBoot { id }),
            },
            rule: alert.map(|a| EcsRule { name: a.rule }),
            threat: alert.map(|a| EcsThreat {
                framework: "MITRE ATT&CK",
                technique: EcsTechnique {
                    id: vec![a.technique.id],
                    name: vec![a.technique.name],
                },
                tactic: EcsTactic {
                    name: vec![a.technique.tactic],
                },
            }),
            nstrace: event,
        }
    }
}

fn ecs_event(event: &Event) -> EcsEvent {
    let alert = event.enrichment.alert.as_ref();
    let (kind, mut category, event_type) = match event.body {
        Body::NsCreate(_) | Body::NsEnter(_) => ("event", vec!["process"], vec!["change"]),
        Body::Start(_) => ("state", vec!["process"], vec!["start"]),
        Body::Stop(_) => ("state", vec!["process"], vec!["end"]),
        Body::Loss(_) | Body::Health(_) => ("metric", vec!["host"], vec!["info"]),
        Body::Mount(_) => ("event", vec!["file"], vec!["change"]),
        Body::Lifetime(_) if event.event == EventKind::NsDestroy => {
            ("event", vec!["process"], vec!["deletion"])
        }
        Body::Lifetime(_) => ("state", vec!["process"], vec!["info"]),
    };
    if alert.is_some() {
        category.push("intrusion_detection");
    }
    EcsEvent {
        kind: if alert.is_some() { "alert" } else { kind },
        category,
        event_type,
        action: EventKind::name(event.event),
        outcome: event.body.outcome().map(|outcome| match outcome {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }),
        module: "nstrace",
        dataset: "nstrace.namespace",
        severity: alert.map(|a| a.severity.score()),
        reason: alert.map(|a| a.reason.clone()),
    }
}

/// Schema of the `nstrace` field: the native record schema, added to the
/// generator's definitions as `NativeRecord`.
fn native_record_schema(generator: &mut SchemaGenerator) -> Schema {
    let variants = super::schema::record_variants(generator);
    generator.definitions_mut().insert(
        "NativeRecord".to_string(),
        serde_json::json!({
            "description": "The native record, as --format native writes it.",
            "oneOf": variants,
        }),
    );
    Schema::new_ref("#/$defs/NativeRecord".to_string())
}
