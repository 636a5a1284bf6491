//! Rule `userns_unshare_then_privileged_op`: a process used the
//! privileges that an unshared user namespace gives. Having unshared a
//! user namespace, a process has `CAP_SYS_ADMIN` over the namespaces
//! that user namespace owns, and uses it:
//!
//! - with setns, from inside such a user namespace or into one, or
//! - with mounts in a mount namespace that such a user namespace owns,
//!   which opens the file system code that local privilege escalation
//!   exploits go through (overlayfs, fsconfig parsing, FUSE).
//!
//! Mounts are the successful calls that attach, configure or move
//! mounts: mount, `move_mount`, `pivot_root`, `mount_setattr` and fsopen
//! (the entry to fsconfig's parsers). Calls that only change propagation
//! (`mount --make-rprivate /`, which `unshare --mount` makes first) are
//! left out, and so are umount2, fsconfig, fsmount and `open_tree`, which
//! attach nothing by themselves.
//!
//! A user namespace made by clone or clone3 is not remembered, nor is one
//! whose creation nstrace did not see. A mount counts when its mount
//! namespace's owner is such a user namespace itself, not a descendant.
//! Where the kernel's BTF does not give the owner of a mount namespace
//! (mount records without `ns.owner`), mounts are not checked.

use std::collections::{HashMap, VecDeque};

use super::Rule;
use crate::{
    namespace::NsType,
    output::{
        alert::{Alert, Severity, Technique},
        event::{Body, Event, EventKind, Lifetime, Mount, Outcome},
        timestamp::Timestamp,
    },
};

/// MITRE ATT&CK T1068.
pub const TECHNIQUE: Technique = super::userns_unprivileged::TECHNIQUE;

/// User namespaces remembered; the oldest are forgotten first.
const MAX_REMEMBERED: usize = 4096;

/// Mount flags that set a propagation type.
const PROPAGATION: [&str; 4] = ["MS_PRIVATE", "MS_SHARED", "MS_SLAVE", "MS_UNBINDABLE"];
/// Flags that a call which only changes propagation may carry besides.
const PROPAGATION_MODIFIERS: [&str; 2] = ["MS_REC", "MS_SILENT"];

/// A user namespace created with unshare.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Unshared {
    /// The creating process.
    creator: u32,
    /// The kernel's namespace id, where the kernel has one.
    id: Option<u64>,
    /// Time of the `ns_create` record, which is the `created` time of the
    /// namespace's lifetime records.
    created: Timestamp,
}

impl Unshared {
    /// Returns whether the `ns_destroy` record `lifetime` ends this namespace and
    /// not an earlier one with the same inode. The kernel reuses an inode
    /// as soon as its namespace is freed, and a destruction found by a
    /// scan can be reported after a new namespace took the inode.
    fn ended_by(&self, lifetime: &Lifetime) -> bool {
        match (self.id, lifetime.ns.id) {
            (Some(id), Some(ended)) => id == ended,
            _ => lifetime.created == Some(self.created),
        }
    }
}

/// Remembers user namespaces created by unshare, by inode, until their
/// `ns_destroy` record arrives. At most [`MAX_REMEMBERED`] are kept; when
/// more are alive, the oldest are forgotten, so that later calls in them
/// no longer match.
#[derive(Default)]
pub struct UserNamespacePrivilegedOp {
    created: HashMap<u32, Unshared>,
    /// Inodes of `created`, oldest first.
    order: VecDeque<u32>,
}

impl UserNamespacePrivilegedOp {
    fn remember(&mut self, inode: u32, unshared: Unshared) {
        // A new namespace with a remembered inode replaces the old one,
        // whose destruction record may still come, and becomes the newest.
        if self.created.insert(inode, unshared).is_some() {
            self.order.retain(|&old| old != inode);
        }
        self.order.push_back(inode);
        while self.order.len() > MAX_REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.created.remove(&old);
            }
        }
    }

    fn forget(&mut self, lifetime: &Lifetime) {
        let Some(inode) = lifetime.ns.inode else {
            return;
        };
        if self
            .created
            .get(&inode)
            .is_some_and(|unshared| unshared.ended_by(lifetime))
        {
            self.created.remove(&inode);
            self.order.retain(|&old| old != inode);
        }
    }

    /// Number of user namespaces remembered, for tests.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.created.len()
    }

    fn check_setns(&self, enter: &crate::output::event::NsEnter) -> Option<Alert> {
        let caller_userns = enter.namespaces.before.get(NsType::User.name()).copied();
        let target_userns = enter
            .ns
            .inode
            .filter(|_| enter.ns.ns_type == Some(NsType::User));
        let (userns, creator, how) = if let Some((inode, unshared)) =
            caller_userns.and_then(|inode| Some((inode, self.created.get(&inode)?)))
        {
            (inode, unshared.creator, "from inside")
        } else {
            let inode = target_userns?;
            (inode, self.created.get(&inode)?.creator, "into")
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

    fn check_mount(&self, mount: &Mount) -> Option<Alert> {
        if mount.outcome != Outcome::Success || !changes_mounts(mount) {
            return None;
        }
        let owner = mount.ns.owner?;
        let unshared = self.created.get(&owner)?;
        let mnt = mount
            .ns
            .inode
            .map_or_else(|| "unknown".to_string(), |inode| inode.to_string());
        let flags = if mount.syscall.flags.is_empty() {
            String::new()
        } else {
            format!(" ({})", mount.syscall.flags.join("|"))
        };
        Some(Alert {
            rule: self.name(),
            severity: Severity::High,
            technique: TECHNIQUE,
            reason: format!(
                "{}{flags} in mount namespace mnt:[{mnt}], owned by user namespace user:[{owner}], which pid {} created with unshare",
                mount.syscall.name, unshared.creator
            ),
        })
    }
}

/// Returns whether a mount record is one of the calls that the rule counts as a
/// mount; see the module documentation.
fn changes_mounts(mount: &Mount) -> bool {
    match mount.syscall.name {
        "mount" => !propagation_only(&mount.syscall.flags),
        // Without the attributes (unreadable), the call may change any.
        "mount_setattr" => mount
            .attr
            .as_ref()
            .is_none_or(|attr| !attr.set.is_empty() || !attr.clear.is_empty()),
        "move_mount" | "pivot_root" | "fsopen" => true,
        _ => false,
    }
}

/// Returns whether mount(2) flags name a propagation type and nothing else but
/// `MS_REC` and `MS_SILENT`. Unnamed bits, shown in hex, count as more.
pub fn propagation_only(flags: &[String]) -> bool {
    flags
        .iter()
        .any(|flag| PROPAGATION.contains(&flag.as_str()))
        && flags.iter().all(|flag| {
            PROPAGATION.contains(&flag.as_str()) || PROPAGATION_MODIFIERS.contains(&flag.as_str())
        })
}

impl Rule for UserNamespacePrivilegedOp {
    fn name(&self) -> &'static str {
        "userns_unshare_then_privileged_op"
    }

    fn check(&mut self, event: &Event) -> Option<Alert> {
        match &event.body {
            Body::NsCreate(create) => {
                if create.ns.ns_type == Some(NsType::User)
                    && create.outcome == Outcome::Success
                    && create.syscall.name == "unshare"
                {
                    if let Some(inode) = create.ns.inode {
                        let unshared = Unshared {
                            creator: create.process.pid,
                            id: create.ns.id,
                            created: event.time,
                        };
                        self.remember(inode, unshared);
                    }
                }
                None
            }
            Body::NsEnter(enter) => self.check_setns(enter),
            Body::Mount(mount) => self.check_mount(mount),
            Body::Lifetime(lifetime) => {
                if event.event == EventKind::NsDestroy && lifetime.ns.ns_type == Some(NsType::User)
                {
                    self.forget(lifetime);
                }
                None
            }
            Body::Health(_) | Body::Start(_) | Body::Stop(_) | Body::Loss(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        detect::test_events::{destroy_user, mount, mount_event, unshare_user, HOST_USER},
        output::event::{BeforeAfter, MountAttrInfo, NsEnter, NsInfo, SetnsCall},
    };

    const USERNS: u32 = 4_026_532_400;
    const MNT: u32 = 4_026_532_401;
    const CREATED: &str = "2026-01-01T00:00:00.000000001Z";

    fn rule_with_userns(id: Option<u64>) -> UserNamespacePrivilegedOp {
        let mut rule = UserNamespacePrivilegedOp::default();
        assert_eq!(rule.check(&unshare_user(42, USERNS, id, CREATED)), None);
        assert_eq!(rule.remembered(), 1);
        rule
    }

    fn tmpfs_in(owner: u32) -> Event {
        let mut tmpfs = mount("mount", &[], MNT, owner);
        tmpfs.source = Some(crate::path_text::PathText::new(b"none", false));
        tmpfs.fstype = Some(crate::path_text::PathText::new(b"tmpfs", false));
        mount_event(tmpfs)
    }

    fn setns_from(userns: u32) -> Event {
        let mut before = std::collections::BTreeMap::new();
        before.insert("user", userns);
        crate::detect::test_events::event(
            EventKind::NsEnter,
            "2026-01-01T00:00:02.000000000Z",
            Body::NsEnter(NsEnter {
                outcome: Outcome::Success,
                error: None,
                ns: NsInfo {
                    ns_type: Some(NsType::Net),
                    inode: Some(4_026_532_500),
                    ..NsInfo::default()
                },
                syscall: SetnsCall {
                    name: "setns",
                    fd: 3,
                    fd_kind: "nsfs",
                    nstype: Vec::new().into(),
                    ret: 0,
                },
                target_pid: None,
                before: None,
                after: None,
                namespaces: BeforeAfter {
                    before,
                    after: std::collections::BTreeMap::new(),
                },
                process: crate::detect::test_events::process(42),
            }),
        )
    }

    #[test]
    fn mount_in_unshared_userns_alerts() {
        let mut rule = rule_with_userns(Some(7));
        let alert = rule.check(&tmpfs_in(USERNS)).expect("an alert");
        assert_eq!(alert.rule, "userns_unshare_then_privileged_op");
        assert_eq!(alert.severity, Severity::High);
        assert_eq!(alert.technique.id, "T1068");
        assert!(
            alert.reason.contains(&format!("user:[{USERNS}]")),
            "{}",
            alert.reason
        );
        assert!(alert.reason.contains("pid 42"), "{}", alert.reason);
        assert!(alert.reason.starts_with("mount in"), "{}", alert.reason);
    }

    #[test]
    fn setns_from_unshared_userns_alerts() {
        let mut rule = rule_with_userns(Some(7));
        let alert = rule.check(&setns_from(USERNS)).expect("an alert");
        assert!(alert.reason.contains("from inside"), "{}", alert.reason);
        assert_eq!(rule.check(&setns_from(HOST_USER)), None);
    }

    #[test]
    fn mount_in_host_owned_namespace_ignored() {
        let mut rule = rule_with_userns(Some(7));
        assert_eq!(rule.check(&tmpfs_in(HOST_USER)), None);
    }

    #[test]
    fn propagation_and_other_calls_ignored() {
        let mut rule = rule_with_userns(Some(7));
        let private = mount("mount", &["MS_REC", "MS_PRIVATE"], MNT, USERNS);
        assert_eq!(rule.check(&mount_event(private)), None);
        for name in ["umount2", "fsconfig", "fsmount", "open_tree"] {
            let call = mount(name, &[], MNT, USERNS);
            assert_eq!(rule.check(&mount_event(call)), None, "{name}");
        }
        let mut propagation = mount("mount_setattr", &["AT_RECURSIVE"], MNT, USERNS);
        propagation.attr = Some(MountAttrInfo {
            set: Vec::new(),
            clear: Vec::new(),
            propagation: vec!["MS_PRIVATE".to_string()],
            userns_fd: 0,
        });
        assert_eq!(rule.check(&mount_event(propagation.clone())), None);
        if let Some(attr) = propagation.attr.as_mut() {
            attr.set.push("MOUNT_ATTR_RDONLY".to_string());
        }
        assert!(rule.check(&mount_event(propagation)).is_some());
        for name in ["move_mount", "pivot_root", "fsopen"] {
            let call = mount(name, &[], MNT, USERNS);
            assert!(rule.check(&mount_event(call)).is_some(), "{name}");
        }
        let bind = mount("mount", &["MS_BIND", "MS_REC"], MNT, USERNS);
        assert!(rule.check(&mount_event(bind)).is_some());
        let unnamed = mount("mount", &["MS_PRIVATE", "0x80000000"], MNT, USERNS);
        assert!(rule.check(&mount_event(unnamed)).is_some());
    }

    #[test]
    fn failed_mount_ignored() {
        let mut rule = rule_with_userns(Some(7));
        let mut failed = mount("mount", &[], MNT, USERNS);
        failed.outcome = Outcome::Failure;
        assert_eq!(rule.check(&mount_event(failed)), None);
    }

    #[test]
    fn destroy_by_id_forgets() {
        let mut rule = rule_with_userns(Some(7));
        assert_eq!(
            rule.check(&destroy_user(USERNS, Some(7), Some(CREATED))),
            None
        );
        assert_eq!(rule.remembered(), 0);
        assert_eq!(rule.check(&tmpfs_in(USERNS)), None);
        assert_eq!(rule.check(&setns_from(USERNS)), None);
    }

    #[test]
    fn destroy_of_earlier_namespace_with_same_inode_kept() {
        // The new namespace took the inode before the old one's end was
        // reported.
        let mut rule = rule_with_userns(Some(7));
        assert_eq!(rule.check(&destroy_user(USERNS, Some(6), None)), None);
        assert_eq!(rule.remembered(), 1);
        assert!(rule.check(&tmpfs_in(USERNS)).is_some());
    }

    #[test]
    fn destroy_without_ids_matched_by_creation_time() {
        let mut rule = rule_with_userns(None);
        let earlier = "2025-12-31T23:59:59.000000000Z";
        assert_eq!(rule.check(&destroy_user(USERNS, None, Some(earlier))), None);
        assert_eq!(rule.remembered(), 1);
        assert_eq!(rule.check(&destroy_user(USERNS, None, None)), None);
        assert_eq!(rule.remembered(), 1);
        assert_eq!(rule.check(&destroy_user(USERNS, None, Some(CREATED))), None);
        assert_eq!(rule.remembered(), 0);
    }

    #[test]
    fn other_lifetime_records_ignored() {
        let mut rule = rule_with_userns(Some(7));
        let mut alive = destroy_user(USERNS, Some(7), Some(CREATED));
        alive.event = EventKind::NsAlive;
        assert_eq!(rule.check(&alive), None);
        assert_eq!(rule.remembered(), 1);
    }

    #[test]
    fn reused_inode_replaces_entry() {
        let mut rule = rule_with_userns(Some(7));
        let later = "2026-01-01T00:00:05.000000000Z";
        assert_eq!(rule.check(&unshare_user(43, USERNS, Some(8), later)), None);
        assert_eq!(rule.remembered(), 1);
        assert_eq!(rule.order.len(), 1);
        let alert = rule.check(&tmpfs_in(USERNS)).expect("an alert");
        assert!(alert.reason.contains("pid 43"), "{}", alert.reason);
        // The old namespace's end, reported late, leaves the new one.
        assert_eq!(
            rule.check(&destroy_user(USERNS, Some(7), Some(CREATED))),
            None
        );
        assert_eq!(rule.remembered(), 1);
    }

    #[test]
    fn oldest_forgotten_beyond_limit() {
        let mut rule = UserNamespacePrivilegedOp::default();
        let count = u32::try_from(MAX_REMEMBERED).unwrap() + 10;
        for offset in 0..count {
            rule.check(&unshare_user(1, USERNS + offset, None, CREATED));
        }
        assert_eq!(rule.remembered(), MAX_REMEMBERED);
        assert_eq!(rule.order.len(), MAX_REMEMBERED);
        assert_eq!(rule.check(&tmpfs_in(USERNS)), None);
        assert!(rule.check(&tmpfs_in(USERNS + count - 1)).is_some());
    }
}
