//! Rule `container_escape_setns`: a process calls setns on a host
//! namespace while it is in a non-host namespace of another type. A
//! process in a container that reaches the host's `/proc/PID/ns/*` (a
//! privileged container, a shared pid namespace) escapes this way, for
//! example with `nsenter -t 1 -a`.
//!
//! A process whose only non-host namespace is of the target's type is
//! returning home, not escaping: podman and CNI plugins enter a
//! container's net namespace from a host thread and setns back.

use super::{HostNamespaces, Rule};
use crate::{
    namespace::NsType,
    output::{
        alert::{Alert, Severity, Technique},
        event::{Body, Event, Outcome},
    },
};

/// MITRE ATT&CK T1611.
pub const TECHNIQUE: Technique = Technique {
    id: "T1611",
    name: "Escape to Host",
    tactic: "Privilege Escalation",
};

pub struct ContainerEscape {
    host: HostNamespaces,
}

impl ContainerEscape {
    pub fn new(host: HostNamespaces) -> Self {
        Self { host }
    }
}

impl Rule for ContainerEscape {
    fn name(&self) -> &'static str {
        "container_escape_setns"
    }

    fn check(&mut self, event: &Event) -> Option<Alert> {
        let Body::NsEnter(enter) = &event.body else {
            return None;
        };
        let ns_type = enter.ns.ns_type?;
        let target = enter.ns.inode?;
        if !self.host.contains(ns_type, target) {
            return None;
        }
        // Entering the namespace the caller is already in changes nothing.
        if enter
            .before
            .as_ref()
            .is_some_and(|slot| slot.inode == target)
        {
            return None;
        }
        // The caller's own namespaces of the other types, not those for
        // its children.
        let foreign: Vec<String> = NsType::ALL
            .into_iter()
            .filter(|&own_type| own_type != ns_type)
            .filter_map(|own_type| {
                let inode = *enter.namespaces.before.get(own_type.name())?;
                (!self.host.contains(own_type, inode)).then(|| format!("{own_type}:[{inode}]"))
            })
            .collect();
        if foreign.is_empty() {
            return None;
        }
        let severity = match enter.outcome {
            Outcome::Success => Severity::Critical,
            Outcome::Failure => Severity::High,
        };
        Some(Alert {
            rule: self.name(),
            severity,
            technique: TECHNIQUE,
            reason: format!(
                "setns into the host {ns_type} namespace {ns_type}:[{target}] by a process in non-host namespaces {}",
                foreign.join(" ")
            ),
        })
    }
}
