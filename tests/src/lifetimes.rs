//! Checks that each namespace a group of processes created has exactly one
//! `ns_create` and one `ns_destroy`, matched by the kernel's namespace id
//! because inode numbers are reused at once.

use std::{
    collections::BTreeMap,
    thread,
    time::{Duration, Instant},
};

use crate::{
    record::{format_records, Event, NsCreate, Record},
    tracer::Tracer,
};

/// Collects the `ns_create` records that match `created_by`, by kernel
/// namespace id. Fails the test on a record without an id, such as that of
/// a failed call, and on an id that two records share.
#[track_caller]
pub fn creates_by_id<'a>(
    records: &'a [Record],
    created_by: &impl Fn(&NsCreate) -> bool,
) -> BTreeMap<u64, &'a Record> {
    let mut by_id = BTreeMap::new();
    for record in records {
        let Some(create) = record.ns_create() else {
            continue;
        };
        if !created_by(create) {
            continue;
        }
        let id = create
            .ns
            .id
            .unwrap_or_else(|| panic!("ns_create without a namespace id: {}", record.line));
        if let Some(earlier) = by_id.insert(id, record) {
            panic!(
                "two ns_create records for namespace id {id}:\n{}\n{}",
                earlier.line, record.line
            );
        }
    }
    by_id
}

/// Number of `ns_destroy` records by namespace id.
#[must_use]
pub fn destroys_by_id(records: &[Record]) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for record in records {
        if let Event::NsDestroy(lifetime) = &record.event {
            if let Some(id) = lifetime.ns.id {
                *counts.entry(id).or_default() += 1;
            }
        }
    }
    counts
}

/// Polls the tracer's output until every namespace that `created_by`
/// selects and that was created has an `ns_destroy`. Fails the test after
/// `timeout` with the ids still missing.
#[track_caller]
pub fn wait_until_all_destroyed(
    tracer: &Tracer,
    created_by: &impl Fn(&NsCreate) -> bool,
    timeout: Duration,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let records = tracer.records();
        let creates = creates_by_id(&records, created_by);
        let destroys = destroys_by_id(&records);
        let missing: Vec<u64> = creates
            .keys()
            .filter(|id| !destroys.contains_key(id))
            .copied()
            .collect();
        if !creates.is_empty() && missing.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            let shown: Vec<u64> = missing.iter().take(20).copied().collect();
            panic!(
                "{} of {} namespaces not destroyed within {timeout:?}, ids (first 20) {shown:?}; last records:\n{}",
                missing.len(),
                creates.len(),
                format_records(&records[records.len().saturating_sub(20)..])
            );
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// Fails the test unless every namespace in `creates` has exactly one
/// `ns_destroy` and no `ns_alive` record.
#[track_caller]
pub fn assert_each_destroyed_once(records: &[Record], creates: &BTreeMap<u64, &Record>) {
    let destroys = destroys_by_id(records);
    for (id, create) in creates {
        assert_eq!(
            destroys.get(id).copied().unwrap_or_default(),
            1,
            "ns_destroy records for namespace id {id}, created by:\n{}",
            create.line
        );
        let alive = records
            .iter()
            .any(|r| matches!(&r.event, Event::NsAlive(l) if l.ns.id == Some(*id)));
        assert!(
            !alive,
            "ns_alive at stop for namespace id {id}, created by:\n{}",
            create.line
        );
    }
}

/// Returns the stop record, the last one after a clean stop.
#[track_caller]
#[must_use]
pub fn stop_record(records: &[Record]) -> &crate::record::Stop {
    records
        .iter()
        .rev()
        .find_map(|r| match &r.event {
            Event::Stop(stop) => Some(stop),
            _ => None,
        })
        .expect("a stop record")
}
