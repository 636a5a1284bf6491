//! Namespace state: turns records into lifetimes.
//!
//! The tracker keeps the live namespaces and the namespaces of each live
//! task. Creation, entry and exit records move tasks between namespaces.
//! A namespace ends when the kernel reports its inode freed (`exact`).
//! Where no hook on the free path attaches, it ends when it has no member
//! task and a scan of `/proc` finds no fd, bind mount or dependent
//! namespace that keeps it alive (`inferred`).

pub mod scan;
mod table;
mod tasks;

use std::sync::Arc;

use nstrace_common::{
    ns::NS_SLOTS,
    record::{mount_syscall, syscall, MountRecord, NsRef, NsSet},
};

use self::{
    scan::Snapshot,
    table::{NsEntry, Table},
    tasks::{distinct, Slots, Tasks},
};
use crate::{
    clock::Clock,
    decode::Record,
    flags::{clone_flag_names, split_clone_signal, FlagNames},
    namespace::{NsType, SLOTS},
    output::event::{
        Body, Event, EventKind, Lifetime, NsInfo, Origin, Pin, ProcessInfo, TableSizes,
    },
    translate::{process, MountContext, Translator},
};

/// Source of namespace destruction times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// A hook on the kernel's free path reports each freed namespace.
    Exact,
    /// From members and pins; see the module documentation.
    Inferred,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::Exact => "exact",
            Precision::Inferred => "inferred",
        }
    }
}

/// Interval between scans of namespaces that a scan found pinned.
const PINNED_RESCAN_NS: u64 = 5_000_000_000;

/// The namespace state.
pub struct Tracker {
    pub translator: Translator,
    pub precision: Precision,
    table: Table,
    tasks: Tasks,
    /// Boot time of the last scan for empty namespaces.
    last_scan_ns: u64,
    /// Set by a umount, which may have released a pinned namespace.
    rescan_requested: bool,
}

impl Tracker {
    pub fn new(translator: Translator, precision: Precision) -> Self {
        Self {
            translator,
            precision,
            table: Table::default(),
            tasks: Tasks::default(),
            last_scan_ns: 0,
            rescan_requested: false,
        }
    }

    pub fn sizes(&self) -> TableSizes {
        TableSizes {
            namespaces: self.table.len() as u64,
            tasks: self.tasks.len() as u64,
        }
    }

    /// Loads the namespaces and tasks that exist at start, and returns a
    /// `ns_seen` event for each namespace.
    pub fn load_snapshot(&mut self, snapshot: &Snapshot, now_ns: u64) -> Vec<Event> {
        for task in &snapshot.tasks {
            for (slot, &inode) in task.slots.iter().enumerate() {
                if inode != 0 && self.table.get(inode).is_none() {
                    self.table
                        .insert(NsEntry::new(SLOTS[slot].1, inode, now_ns, pre_existing()));
                }
            }
            self.move_task(task.tid, task.slots, now_ns);
        }
        for details in snapshot.namespaces.values() {
            if self.table.get(details.inode).is_none() {
                self.table.insert(NsEntry::new(
                    details.ns_type,
                    details.inode,
                    now_ns,
                    pre_existing(),
                ));
            }
            if let Some(entry) = self.table.get_mut(details.inode) {
                entry.id = details.id;
                entry.owner = details.owner;
                entry.parent = details.parent;
                if entry.members.is_empty() {
                    entry.empty_since_ns = Some(now_ns);
                    entry.pins = snapshot
                        .pins
                        .get(&details.inode)
                        .cloned()
                        .unwrap_or_default();
                }
            }
        }
        let mut entries: Vec<&NsEntry> = self.table.values().collect();
        entries.sort_by_key(|e| (e.ns_type, e.inode));
        entries
            .into_iter()
            .map(|entry| self.lifetime_event(EventKind::NsSeen, entry, now_ns, None, None))
            .collect()
    }

    /// Applies one record and returns its events.
    pub fn handle(&mut self, record: &Record) -> Vec<Event> {
        let mut events = self.translator.translate(record);
        match record {
            Record::Syscall(r)
                if r.ret >= 0 && (r.syscall == syscall::UNSHARE || r.syscall == syscall::SETNS) =>
            {
                let time = r.header.time_ns;
                if r.syscall == syscall::UNSHARE {
                    let creator = process(&r.header, &r.task);
                    let flag_names = clone_flag_names(r.args[0]);
                    for ns_type in NsType::in_flags(r.args[0]) {
                        let origin = created("unshare", &flag_names, &creator);
                        self.create(
                            ns_type,
                            &r.after.ns[ns_type.changed_slot()],
                            time,
                            origin,
                            &mut events,
                        );
                    }
                }
                let slots = self.known_slots(&r.after, time, &mut events);
                self.move_task(r.header.tid, slots, time);
            }
            Record::Fork(r) => {
                let time = r.header.time_ns;
                if r.clone_syscall != 0 {
                    let (flags, _) = split_clone_signal(r.clone_flags);
                    let name = if r.clone_syscall == syscall::CLONE {
                        "clone"
                    } else {
                        "clone3"
                    };
                    let creator = process(&r.header, &r.task);
                    let flag_names = clone_flag_names(flags);
                    for ns_type in NsType::in_flags(flags) {
                        let origin = created(name, &flag_names, &creator);
                        self.create(
                            ns_type,
                            &r.child.ns[ns_type.own_slot()],
                            time,
                            origin,
                            &mut events,
                        );
                    }
                }
                let slots = self.known_slots(&r.child, time, &mut events);
                self.move_task(r.child_tid, slots, time);
            }
            Record::Exit(r) => {
                let slots = self
                    .tasks
                    .remove(r.header.tid)
                    .unwrap_or_else(|| inodes(&r.ns));
                for inode in distinct(&slots) {
                    if let Some(entry) = self.table.get_mut(inode) {
                        entry.remove_member(r.header.tid, r.header.time_ns);
                    }
                }
            }
            Record::Exec(r) if r.old_tid != r.header.tid && r.old_tid != 0 => {
                // A non-leader thread exec'd and now has the leader's id. It
                // is the same task, so it joins no namespace.
                if let Some(slots) = self.tasks.remove(r.old_tid) {
                    for inode in distinct(&slots) {
                        if let Some(entry) = self.table.get_mut(inode) {
                            entry.rename_member(r.old_tid, r.header.tid);
                        }
                    }
                    // The leader's exit record normally came first and removed
                    // its entry. If that record was lost, the leader leaves the
                    // namespaces that the thread is not in.
                    if let Some(leader) = self.tasks.set(r.header.tid, slots) {
                        let kept = distinct(&slots);
                        for inode in distinct(&leader).iter().filter(|i| !kept.contains(i)) {
                            if let Some(entry) = self.table.get_mut(*inode) {
                                entry.remove_member(r.header.tid, r.header.time_ns);
                            }
                        }
                    }
                }
            }
            Record::Mount(r) if r.call.ret >= 0 => {
                if let Some(entry) = self.table.get_mut(r.call.mnt_ns.inode) {
                    entry.mounts += 1;
                }
                if r.call.syscall == mount_syscall::UMOUNT {
                    self.rescan_requested = true;
                }
            }
            Record::NsFree(r) => {
                if let Some(entry) = self.table.remove(r.inode) {
                    let time = r.header.time_ns;
                    events.push(self.lifetime_event(
                        EventKind::NsDestroy,
                        &entry,
                        time,
                        Some(time),
                        Some("exact"),
                    ));
                }
            }
            _ => {}
        }
        events
    }

    /// Applies a mount record with its context and returns its events. A
    /// successful call counts toward its mount namespace's `mounts`, and a
    /// successful umount makes a scan due, since it may have removed the
    /// last bind mount that held a namespace.
    pub fn handle_mount(&mut self, record: &MountRecord, context: &MountContext) -> Vec<Event> {
        let events = self.translator.mount(record, context);
        if record.call.ret < 0 {
            return events;
        }
        if let Some(entry) = self.table.get_mut(record.call.mnt_ns.inode) {
            entry.mounts += 1;
        }
        if record.call.syscall == mount_syscall::UMOUNT {
            self.rescan_requested = true;
        }
        events
    }

    /// Returns true when a scan for empty namespaces is due: one emptied
    /// since the last scan, or pinned ones wait for a periodic re-check.
    pub fn scan_due(&self, now_ns: u64) -> bool {
        if self.precision == Precision::Exact {
            return false;
        }
        if self.rescan_requested && self.table.values().any(|e| e.members.is_empty()) {
            return true;
        }
        self.table.values().any(|e| match e.empty_since_ns {
            Some(since) if e.members.is_empty() => {
                since >= self.last_scan_ns
                    || now_ns.saturating_sub(self.last_scan_ns) >= PINNED_RESCAN_NS
            }
            _ => false,
        })
    }

    /// Ends the empty namespaces that nothing in `snapshot` holds, and
    /// returns their `ns_destroy` events (precision `inferred`).
    pub fn apply_scan(&mut self, snapshot: &Snapshot, now_ns: u64) -> Vec<Event> {
        self.last_scan_ns = now_ns;
        self.rescan_requested = false;
        // Tasks the records missed are added from the scan.
        for task in &snapshot.tasks {
            if self.tasks.get(task.tid).is_none() {
                let slots = task.slots;
                for (slot, &inode) in slots.iter().enumerate() {
                    if inode != 0 && self.table.get(inode).is_none() {
                        self.table
                            .insert(NsEntry::new(SLOTS[slot].1, inode, now_ns, unknown()));
                    }
                }
                self.move_task(task.tid, slots, now_ns);
            }
        }
        self.end_unheld(snapshot, now_ns)
    }

    /// Ends the namespaces without members that nothing in `snapshot` holds.
    fn end_unheld(&mut self, snapshot: &Snapshot, now_ns: u64) -> Vec<Event> {
        let mut events = Vec::new();
        for inode in self.table.empty() {
            let mut pins = snapshot.pins.get(&inode).cloned().unwrap_or_default();
            pins.extend(self.dependents(inode));
            if !pins.is_empty() {
                if let Some(entry) = self.table.get_mut(inode) {
                    entry.pins = pins;
                }
                continue;
            }
            if let Some(entry) = self.table.remove(inode) {
                // A namespace that an earlier scan found pinned lost its
                // last pin after that scan, so it ends now. Otherwise it
                // ended when its last member left.
                let destroyed = if entry.pins.is_empty() {
                    entry.empty_since_ns.unwrap_or(now_ns)
                } else {
                    now_ns
                };
                events.push(self.lifetime_event(
                    EventKind::NsDestroy,
                    &entry,
                    destroyed,
                    Some(destroyed),
                    Some("inferred"),
                ));
            }
        }
        events
    }

    /// Rebuilds the state from a fresh scan after the kernel lost records.
    /// Tasks missing from the scan have exited, and tasks in it are put in
    /// the namespaces it shows. Every namespace alive now is marked as
    /// affected by the loss, and those left without members or pins end
    /// with precision `inferred`.
    pub fn resync(&mut self, snapshot: &Snapshot, now_ns: u64) -> Vec<Event> {
        let live: std::collections::HashSet<u32> = snapshot.tasks.iter().map(|t| t.tid).collect();
        for tid in self.tasks.tids() {
            if live.contains(&tid) {
                continue;
            }
            if let Some(slots) = self.tasks.remove(tid) {
                for inode in distinct(&slots) {
                    if let Some(entry) = self.table.get_mut(inode) {
                        entry.remove_member(tid, now_ns);
                    }
                }
            }
        }
        let mut events = Vec::new();
        for task in &snapshot.tasks {
            for (slot, &inode) in task.slots.iter().enumerate() {
                if inode == 0 {
                    continue;
                }
                self.end_if_reused(inode, SLOTS[slot].1, None, false, now_ns, &mut events);
                if self.table.get(inode).is_none() {
                    self.table
                        .insert(NsEntry::new(SLOTS[slot].1, inode, now_ns, unknown()));
                }
            }
            self.move_task(task.tid, task.slots, now_ns);
        }
        for entry in self.table.values_mut() {
            entry.loss_affected = true;
        }
        events.extend(self.end_unheld(snapshot, now_ns));
        events
    }

    /// Returns an `ns_alive` event for every live namespace, at shutdown.
    pub fn finish(&mut self, now_ns: u64) -> Vec<Event> {
        let mut entries = self.table.drain();
        entries.sort_by_key(|e| (e.ns_type, e.inode));
        let precision = Some(self.precision.name());
        entries
            .iter()
            .map(|entry| self.lifetime_event(EventKind::NsAlive, entry, now_ns, None, precision))
            .collect()
    }

    /// Live namespaces that `inode` owns or parents, which keep it alive.
    fn dependents(&self, inode: u32) -> Vec<Pin> {
        self.table
            .values()
            .filter(|e| e.inode != inode && (e.owner == Some(inode) || e.parent == Some(inode)))
            .map(|e| Pin {
                kind: "namespace",
                pid: None,
                detail: format!("{}:[{}]", e.ns_type, e.inode),
            })
            .collect()
    }

    /// Records a namespace created at `time`. An entry for the same inode
    /// is the same namespace when the kernel ids match. Without ids, it is
    /// the same when it still has members, because a scan at start raced
    /// the creation. Otherwise the inode was reused and the old namespace
    /// has ended.
    fn create(
        &mut self,
        ns_type: NsType,
        ns: &NsRef,
        time: u64,
        origin: Origin,
        events: &mut Vec<Event>,
    ) {
        if ns.inode == 0 {
            return;
        }
        let id = (ns.id != 0).then_some(ns.id);
        self.end_if_reused(ns.inode, ns_type, id, true, time, events);
        let mut entry = match self.table.remove(ns.inode) {
            Some(existing) => existing,
            None => NsEntry::new(ns_type, ns.inode, time, origin.clone()),
        };
        entry.origin = origin;
        entry.created_ns = Some(time);
        entry.first_seen_ns = entry.first_seen_ns.min(time);
        apply_ref(&mut entry, ns);
        self.table.insert(entry);
    }

    /// Ends the entry at `inode` when a record shows that the inode now
    /// belongs to another namespace: another type or kernel id, or, for a
    /// creation without ids, an entry left without members.
    fn end_if_reused(
        &mut self,
        inode: u32,
        ns_type: NsType,
        id: Option<u64>,
        creation: bool,
        time: u64,
        events: &mut Vec<Event>,
    ) {
        let Some(existing) = self.table.get(inode) else {
            return;
        };
        let reused = existing.ns_type != ns_type
            || match (existing.id, id) {
                (Some(old), Some(new)) => old != new,
                _ => creation && existing.members.is_empty(),
            };
        if !reused {
            return;
        }
        if let Some(old) = self.table.remove(inode) {
            let ended = old.empty_since_ns.unwrap_or(time).min(time);
            events.push(self.lifetime_event(
                EventKind::NsDestroy,
                &old,
                ended,
                Some(ended),
                Some("inferred"),
            ));
        }
    }

    /// Returns the inodes of `set`, adding entries for namespaces not yet
    /// known (created before start, or by a record that was lost).
    fn known_slots(&mut self, set: &NsSet, time: u64, events: &mut Vec<Event>) -> Slots {
        let slots = inodes(set);
        for (slot, ns) in set.ns.iter().enumerate() {
            if ns.inode == 0 {
                continue;
            }
            let id = (ns.id != 0).then_some(ns.id);
            self.end_if_reused(ns.inode, SLOTS[slot].1, id, false, time, events);
            if let Some(entry) = self.table.get_mut(ns.inode) {
                apply_ref(entry, ns);
            } else {
                let mut entry = NsEntry::new(SLOTS[slot].1, ns.inode, time, unknown());
                apply_ref(&mut entry, ns);
                self.table.insert(entry);
            }
        }
        slots
    }

    /// Moves task `tid` to the namespaces in `slots`.
    fn move_task(&mut self, tid: u32, slots: Slots, time: u64) {
        let old = self
            .tasks
            .set(tid, slots)
            .map(|s| distinct(&s))
            .unwrap_or_default();
        let new = distinct(&slots);
        for inode in old.iter().filter(|i| !new.contains(i)) {
            if let Some(entry) = self.table.get_mut(*inode) {
                entry.remove_member(tid, time);
            }
        }
        for inode in new.iter() {
            if let Some(entry) = self.table.get_mut(*inode) {
                entry.add_member(tid);
            }
        }
    }

    fn lifetime_event(
        &self,
        kind: EventKind,
        entry: &NsEntry,
        time_ns: u64,
        destroyed_ns: Option<u64>,
        precision: Option<&'static str>,
    ) -> Event {
        let clock: &Clock = &self.translator.clock;
        let start = entry.created_ns.unwrap_or(entry.first_seen_ns);
        let body = Body::Lifetime(Lifetime {
            ns: NsInfo {
                ns_type: Some(entry.ns_type),
                inode: Some(entry.inode),
                dev: self.translator.nsfs_dev,
                id: entry.id,
                owner: entry.owner,
                parent: entry.parent,
            },
            key: entry.key(),
            created: entry.created_ns.map(|t| clock.rfc3339(t)),
            first_seen: clock.rfc3339(entry.first_seen_ns),
            destroyed: destroyed_ns.map(|t| clock.rfc3339(t)),
            duration_ns: time_ns.saturating_sub(start),
            origin: entry.origin.clone(),
            members: entry.members.len() as u64,
            members_joined: entry.joined,
            peak_members: entry.peak,
            pins: entry.pins.clone(),
            precision,
            loss_affected: entry.loss_affected,
            mounts: (entry.ns_type == NsType::Mnt).then_some(entry.mounts),
        });
        self.translator.event(kind, time_ns, body)
    }
}

fn inodes(set: &NsSet) -> Slots {
    let mut slots = [0u32; NS_SLOTS];
    for (slot, ns) in slots.iter_mut().zip(set.ns.iter()) {
        *slot = ns.inode;
    }
    slots
}

fn apply_ref(entry: &mut NsEntry, ns: &NsRef) {
    if ns.id != 0 {
        entry.id = Some(ns.id);
    }
    if ns.owner != 0 {
        entry.owner = Some(ns.owner);
    }
    if ns.parent != 0 {
        entry.parent = Some(ns.parent);
    }
}

fn pre_existing() -> Origin {
    Origin {
        how: "pre_existing",
        flags: FlagNames::default(),
        creator: None,
    }
}

fn unknown() -> Origin {
    Origin {
        how: "unknown",
        flags: FlagNames::default(),
        creator: None,
    }
}

fn created(how: &'static str, flags: &FlagNames, creator: &ProcessInfo) -> Origin {
    Origin {
        how,
        flags: Arc::clone(flags),
        creator: Some(creator.clone()),
    }
}
