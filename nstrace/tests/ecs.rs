//! `--format ecs`: each ECS field carries the native field it maps from.

use nstrace::output::{
    alert::{Alert, Severity, Technique},
    enrichment::{Ancestor, CgroupInfo, ContainerInfo, Enrichment},
    event::{
        BeforeAfter, Body, Event, EventKind, Loss, NsEnter, NsInfo, NsSlot, Outcome, ProcessInfo,
        SetnsCall, SCHEMA,
    },
    format::Format,
    timestamp::Timestamp,
};
use serde_json::{json, Value};

fn setns_event(alert: Option<Alert>) -> Event {
    Event {
        schema: SCHEMA,
        time: Timestamp::from_unix_nanos(1_796_401_570_068_094_109),
        event: EventKind::NsEnter,
        host: "node-7".into(),
        body: Body::NsEnter(NsEnter {
            outcome: Outcome::Success,
            error: None,
            ns: NsInfo {
                ns_type: Some(nstrace::namespace::NsType::Net),
                inode: Some(4_026_531_833),
                dev: Some(4),
                id: Some(4099),
                owner: None,
                parent: None,
            },
            syscall: SetnsCall {
                name: "setns",
                fd: 3,
                fd_kind: "nsfs",
                nstype: vec!["CLONE_NEWNET".into()].into(),
                ret: 0,
            },
            target_pid: None,
            before: Some(NsSlot {
                inode: 4_026_532_175,
                id: None,
            }),
            after: Some(NsSlot {
                inode: 4_026_531_833,
                id: None,
            }),
            namespaces: BeforeAfter::default(),
            process: ProcessInfo {
                pid: 7139,
                tid: 7140,
                ppid: 7042,
                uid: 1000,
                gid: 100,
                comm: "nsenter".into(),
                entity_id: Some("aaaa".to_string()),
                exe: Some("/usr/bin/nsenter".to_string()),
                start_time: Some("2026-12-04T16:26:09Z".to_string()),
                ancestors: vec![
                    Ancestor {
                        pid: 7042,
                        comm: "sh".to_string(),
                        exe: Some("/usr/bin/dash".to_string()),
                        entity_id: "bbbb".to_string(),
                    },
                    Ancestor {
                        pid: 1,
                        comm: "init".to_string(),
                        exe: None,
                        entity_id: "cccc".to_string(),
                    },
                ],
            },
        }),
        enrichment: Enrichment {
            boot_id: Some("0f5c1e52-8f6a-4d3b-9c1e-2a7b3c4d5e6f".to_string()),
            cgroup: Some(CgroupInfo {
                path: "/system.slice/runc-web1.scope".to_string(),
                id: Some(9),
                pid: 7139,
            }),
            container: Some(ContainerInfo {
                id: "web1".to_string(),
                runtime: "runc".to_string(),
                pod_uid: None,
            }),
            alert,
        },
    }
}

fn ecs(event: &Event) -> Value {
    serde_json::from_slice(&Format::Ecs.encode(event).unwrap()).unwrap()
}

#[test]
fn ecs_fields_mapped() {
    let event = setns_event(None);
    let record = ecs(&event);
    let native: Value = serde_json::from_slice(&Format::Native.encode(&event).unwrap()).unwrap();

    assert_eq!(
        record["@timestamp"],
        json!("2026-12-04T16:26:10.068094109Z")
    );
    assert_eq!(record["ecs"]["version"], json!("8.11.0"));
    assert_eq!(record["event"]["kind"], json!("event"));
    assert_eq!(record["event"]["category"], json!(["process"]));
    assert_eq!(record["event"]["type"], json!(["change"]));
    assert_eq!(record["event"]["action"], json!("ns_enter"));
    assert_eq!(record["event"]["outcome"], json!("success"));
    assert_eq!(record["event"]["module"], json!("nstrace"));
    assert_eq!(record["event"]["dataset"], json!("nstrace.namespace"));
    assert_eq!(record["event"].get("severity"), None);
    assert_eq!(record["process"]["pid"], json!(7139));
    assert_eq!(record["process"]["thread"]["id"], json!(7140));
    assert_eq!(record["process"]["name"], json!("nsenter"));
    assert_eq!(record["process"]["executable"], json!("/usr/bin/nsenter"));
    assert_eq!(record["process"]["entity_id"], json!("aaaa"));
    assert_eq!(record["process"]["start"], json!("2026-12-04T16:26:09Z"));
    assert_eq!(record["process"]["parent"]["pid"], json!(7042));
    assert_eq!(record["process"]["parent"]["name"], json!("sh"));
    assert_eq!(
        record["process"]["parent"]["executable"],
        json!("/usr/bin/dash")
    );
    assert_eq!(record["process"]["parent"]["entity_id"], json!("bbbb"));
    assert_eq!(record["user"]["id"], json!("1000"));
    assert_eq!(record["group"]["id"], json!("100"));
    assert_eq!(record["container"]["id"], json!("web1"));
    assert_eq!(record["container"]["runtime"], json!("runc"));
    assert_eq!(record["host"]["name"], json!("node-7"));
    assert_eq!(
        record["host"]["boot"]["id"],
        json!("0f5c1e52-8f6a-4d3b-9c1e-2a7b3c4d5e6f")
    );
    assert_eq!(record.get("rule"), None);
    assert_eq!(record.get("threat"), None);
    assert_eq!(record["nstrace"], native);
}

#[test]
fn ecs_alert_mapped() {
    let alert = Alert {
        rule: "container_escape_setns",
        severity: Severity::Critical,
        technique: Technique {
            id: "T1611",
            name: "Escape to Host",
            tactic: "Privilege Escalation",
        },
        reason: "setns into the host net namespace".to_string(),
    };
    let record = ecs(&setns_event(Some(alert)));
    assert_eq!(record["event"]["kind"], json!("alert"));
    assert_eq!(
        record["event"]["category"],
        json!(["process", "intrusion_detection"])
    );
    assert_eq!(record["event"]["severity"], json!(99));
    assert_eq!(
        record["event"]["reason"],
        json!("setns into the host net namespace")
    );
    assert_eq!(record["rule"]["name"], json!("container_escape_setns"));
    assert_eq!(record["threat"]["framework"], json!("MITRE ATT&CK"));
    assert_eq!(record["threat"]["technique"]["id"], json!(["T1611"]));
    assert_eq!(
        record["threat"]["technique"]["name"],
        json!(["Escape to Host"])
    );
    assert_eq!(
        record["threat"]["tactic"]["name"],
        json!(["Privilege Escalation"])
    );
    assert_eq!(
        record["nstrace"]["alert"]["rule"],
        json!("container_escape_setns")
    );
}

#[test]
fn ecs_loss_has_no_process() {
    let event = Event {
        schema: SCHEMA,
        time: Timestamp::from_unix_nanos(1_796_401_570_000_000_000),
        event: EventKind::Loss,
        host: "node-7".into(),
        body: Body::Loss(Loss {
            kind: "fork",
            count: 3,
            total: 5,
        }),
        enrichment: Enrichment::default(),
    };
    let record = ecs(&event);
    assert_eq!(record["event"]["kind"], json!("metric"));
    assert_eq!(record["event"]["action"], json!("loss"));
    assert_eq!(record["event"].get("outcome"), None);
    assert_eq!(record.get("process"), None);
    assert_eq!(record.get("user"), None);
    assert_eq!(record["host"].get("boot"), None);
    assert_eq!(record["nstrace"]["count"], json!(3));
}
