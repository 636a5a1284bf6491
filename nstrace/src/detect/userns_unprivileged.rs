//! Rule `unprivileged_userns_create`: a process with a non-zero uid
//! created a user namespace. Inside it the process has every capability,
//! which opens kernel code paths that need `CAP_SYS_ADMIN` or
//! `CAP_NET_ADMIN` to an unprivileged user; many local privilege
//! escalation exploits start this way.

use super::Rule;
use crate::{
    namespace::NsType,
    output::{
        alert::{Alert, Severity, Technique},
        event::{Body, Event, Outcome},
    },
};

/// MITRE ATT&CK T1068.
pub const TECHNIQUE: Technique = Technique {
    id: "T1068",
    name: "Exploitation for Privilege Escalation",
    tactic: "Privilege Escalation",
};

pub struct UnprivilegedUserNamespace;

impl Rule for UnprivilegedUserNamespace {
    fn name(&self) -> &'static str {
        "unprivileged_userns_create"
    }

    fn check(&mut self, event: &Event) -> Option<Alert> {
        let Body::NsCreate(create) = &event.body else {
            return None;
        };
        if create.ns.ns_type != Some(NsType::User)
            || create.outcome != Outcome::Success
            || create.process.uid == 0
        {
            return None;
        }
        let inode = create
            .ns
            .inode
            .map_or_else(|| "unknown".to_string(), |inode| inode.to_string());
        Some(Alert {
            rule: self.name(),
            severity: Severity::Medium,
            technique: TECHNIQUE,
            reason: format!(
                "uid {} created user namespace user:[{inode}] with {}",
                create.process.uid, create.syscall.name
            ),
        })
    }
}
