//! Rule `userns_unshare_then_setns`: a process called setns from inside a
//! user namespace that was made with `unshare`, or into such a user
//! namespace. Having unshared a user namespace, a process holds
//! `CAP_SYS_ADMIN` over the namespaces that user namespace owns, and
//! setns is how it uses them.

use std::collections::{HashMap, VecDeque};

use super::Rule;
use crate::{
    namespace::NsType,
    output::{
        alert::{Alert, Severity, Technique},
        event::{Body, Event, Outcome},
    },
};

/// MITRE ATT&CK T1068.
pub const TECHNIQUE: Technique = super::userns_unprivileged::TECHNIQUE;

/// User namespaces remembered; the oldest are forgotten first.
const MAX_REMEMBERED: usize = 4096;

/// Remembers user namespaces created by unshare, by inode.
///
/// NOTE: the kernel reuses a namespace inode as soon as the namespace is
/// freed, and nstrace does not yet trace namespaces being freed. So a
/// later user namespace with a remembered inode also matches, until
/// [`MAX_REMEMBERED`] newer ones push it out.
#[derive(Default)]
pub struct UserNamespaceSetns {
    /// Creating pid by user namespace inode.
    created: HashMap<u32, u32>,
    order: VecDeque<u32>,
}

impl UserNamespaceSetns {
    fn remember(&mut self, inode: u32, pid: u32) {
        if self.created.insert(inode, pid).is_none() {
            self.order.push_back(inode);
        }
        while self.order.len() > MAX_REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.created.remove(&old);
            }
        }
    }
}

impl Rule for UserNamespaceSetns {
    fn name(&self) -> &'static str {
        "userns_unshare_then_setns"
    }

    fn check(&mut self, event: &Event) -> Option<Alert> {
        match &event.body {
            Body::NsCreate(create) => {
                if create.ns.ns_type == Some(NsType::User)
                    && create.outcome == Outcome::Success
                    && create.syscall.name == "unshare"
                {
                    if let Some(inode) = create.ns.inode {
                        self.remember(inode, create.process.pid);
                    }
                }
                None
            }
            Body::NsEnter(enter) => {
                let caller_userns = enter.namespaces.before.get(NsType::User.name()).copied();
                let target_userns = enter
                    .ns
                    .inode
                    .filter(|_| enter.ns.ns_type == Some(NsType::User));
                let (userns, creator, how) = if let Some((inode, pid)) =
                    caller_userns.and_then(|inode| Some((inode, *self.created.get(&inode)?)))
                {
                    (inode, pid, "from inside")
                } else {
                    let inode = target_userns?;
                    (inode, *self.created.get(&inode)?, "into")
                };
                let ns = enter.ns.ns_type.map_or("unknown", NsType::name);
                Some(Alert {
                    rule: self.name(),
                    severity: Severity::High,
                    technique: TECHNIQUE,
                    reason: format!(
                        "setns on a {ns} namespace {how} user namespace user:[{userns}], which pid {creator} created with unshare"
                    ),
                })
            }
            Body::Mount(_)
            | Body::Lifetime(_)
            | Body::Health(_)
            | Body::Start(_)
            | Body::Stop(_)
            | Body::Loss(_) => None,
        }
    }
}
