//! Selection of the events to write.

use std::collections::HashSet;

use crate::{
    namespace::NsType,
    output::event::{Body, Event, Lifetime, Outcome},
};

/// Conditions an event must meet to be written. An empty set accepts all.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub types: HashSet<NsType>,
    pub pids: HashSet<u32>,
    pub comms: HashSet<String>,
    /// Command names whose records are left out.
    pub exclude_comms: HashSet<String>,
    pub uids: HashSet<u32>,
    /// Container ids, or prefixes of them, whose records are kept.
    pub containers: Vec<String>,
    /// Keep only calls that failed.
    pub failed_only: bool,
}

impl Filter {
    /// Returns true when `event` passes. Records without a process or a
    /// namespace (start, stop, loss) always pass. The container condition
    /// reads the enrichment, so it applies to enriched events.
    pub fn accepts(&self, event: &Event) -> bool {
        let (ns_type, process, child_pid) = match &event.body {
            Body::NsCreate(e) => (e.ns.ns_type, &e.process, e.child.as_ref().map(|c| c.pid)),
            Body::NsEnter(e) => (e.ns.ns_type, &e.process, None),
            Body::Mount(e) => (e.ns.ns_type, &e.process, None),
            Body::Lifetime(e) => {
                return self.accepts_lifetime(e);
            }
            Body::Start(_) | Body::Stop(_) | Body::Loss(_) | Body::Health(_) => return true,
        };
        if !self.types.is_empty() && !ns_type.is_some_and(|t| self.types.contains(&t)) {
            return false;
        }
        if !self.pids.is_empty()
            && !self.pids.contains(&process.pid)
            && !child_pid.is_some_and(|pid| self.pids.contains(&pid))
        {
            return false;
        }
        if !self.comms.is_empty() && !self.comms.contains(&*process.comm) {
            return false;
        }
        if self.exclude_comms.contains(&*process.comm) {
            return false;
        }
        if !self.uids.is_empty() && !self.uids.contains(&process.uid) {
            return false;
        }
        if self.failed_only && event.body.outcome() != Some(Outcome::Failure) {
            return false;
        }
        if !self.containers.is_empty() {
            let Some(container) = &event.enrichment.container else {
                return false;
            };
            if !self
                .containers
                .iter()
                .any(|wanted| container.id.starts_with(wanted.as_str()))
            {
                return false;
            }
        }
        true
    }

    /// Lifetime records pass the type filter by their namespace, and the
    /// pid and comm filters by the process that created the namespace.
    fn accepts_lifetime(&self, lifetime: &Lifetime) -> bool {
        if !self.types.is_empty() && !lifetime.ns.ns_type.is_some_and(|t| self.types.contains(&t)) {
            return false;
        }
        if self.pids.is_empty() && self.comms.is_empty() {
            return true;
        }
        let Some(creator) = &lifetime.origin.creator else {
            return false;
        };
        (self.pids.is_empty() || self.pids.contains(&creator.pid))
            && (self.comms.is_empty() || self.comms.contains(&*creator.comm))
    }
}
