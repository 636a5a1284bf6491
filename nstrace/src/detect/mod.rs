//! Detections: rules that read events and tag the suspicious ones with an
//! [`Alert`].
//!
//! Rules decide by namespace identity (inode numbers compared with the
//! host's namespaces), never by process names. A rule sees every event
//! before the output filters, and may keep state across events. Rules for
//! new event kinds implement [`Rule`] and are added in [`Detector::new`].

pub mod container_escape;
pub mod host_namespaces;
pub mod sensitive_mount;
pub mod userns_privileged_op;
pub mod userns_unprivileged;

use crate::output::{alert::Alert, event::Event};
pub use host_namespaces::HostNamespaces;

/// Rules that compare with the host's namespaces, which are off when
/// those cannot be read.
pub const HOST_RULES: [&str; 2] = ["container_escape_setns", "sensitive_host_mount"];

/// A detection rule.
pub trait Rule: Send {
    /// Rule name, the `alert.rule` field of its alerts.
    fn name(&self) -> &'static str;

    /// Returns an alert when `event` matches. Called for every event in
    /// the order the kernel wrote them.
    fn check(&mut self, event: &Event) -> Option<Alert>;
}

/// Runs every rule on every event.
pub struct Detector {
    rules: Vec<Box<dyn Rule>>,
}

impl Detector {
    /// Creates the rules. Rules that compare with the host's namespaces
    /// are left out when those cannot be read.
    pub fn new(host: Option<HostNamespaces>) -> Self {
        let mut rules: Vec<Box<dyn Rule>> = vec![
            Box::new(userns_unprivileged::UnprivilegedUserNamespace),
            Box::new(userns_privileged_op::UserNamespacePrivilegedOp::default()),
        ];
        if let Some(host) = host {
            rules.push(Box::new(container_escape::ContainerEscape::new(
                host.clone(),
            )));
            rules.push(Box::new(sensitive_mount::SensitiveMount::new(host)));
        }
        Self { rules }
    }

    /// Names of the active rules.
    pub fn rule_names(&self) -> Vec<&'static str> {
        self.rules.iter().map(|rule| rule.name()).collect()
    }

    /// Runs the rules and sets `event.enrichment.alert` to the most severe
    /// alert, the earliest rule winning a tie. Every rule sees the event,
    /// so rules with state stay up to date.
    pub fn detect(&mut self, event: &mut Event) {
        let mut best: Option<Alert> = None;
        for rule in &mut self.rules {
            if let Some(alert) = rule.check(event) {
                log::debug!("detection: rule {} matched: {}", alert.rule, alert.reason);
                if best.as_ref().is_none_or(|b| alert.severity > b.severity) {
                    best = Some(alert);
                }
            }
        }
        if best.is_some() {
            event.enrichment.alert = best;
        }
    }
}

/// Events for the rules' unit tests.
#[cfg(test)]
pub(crate) mod test_events {
    use crate::{
        namespace::NsType,
        output::{
            enrichment::Enrichment,
            event::{
                Attached, Body, CreateCall, Event, EventKind, Lifetime, Mount, MountSyscall,
                NsCreate, NsInfo, Origin, Outcome, ProcessInfo, SCHEMA,
            },
            timestamp::Timestamp,
        },
        path_text::PathText,
    };

    /// Inode of the host's mount namespace in [`host`].
    pub const HOST_MNT: u32 = 4_026_531_841;
    /// Inode of the host's user namespace in [`host`].
    pub const HOST_USER: u32 = 4_026_531_837;

    /// Host namespaces with [`HOST_MNT`] and [`HOST_USER`].
    pub fn host() -> super::HostNamespaces {
        super::HostNamespaces::from_inodes([(NsType::Mnt, HOST_MNT), (NsType::User, HOST_USER)])
    }

    pub fn event(kind: EventKind, time: &str, body: Body) -> Event {
        Event {
            schema: SCHEMA,
            time: Timestamp::parse(time),
            event: kind,
            host: "test".into(),
            body,
            enrichment: Enrichment::default(),
        }
    }

    pub fn process(pid: u32) -> ProcessInfo {
        ProcessInfo {
            pid,
            tid: pid,
            comm: "test".into(),
            ..ProcessInfo::default()
        }
    }

    pub fn text(path: &str) -> PathText {
        PathText::new(path.as_bytes(), false)
    }

    /// Builds a successful mount-family call by pid 100 in mount namespace `mnt`,
    /// owned by user namespace `owner`.
    pub fn mount(name: &'static str, flags: &[&str], mnt: u32, owner: u32) -> Mount {
        Mount {
            outcome: Outcome::Success,
            error: None,
            ns: NsInfo {
                ns_type: Some(NsType::Mnt),
                inode: Some(mnt),
                owner: Some(owner),
                ..NsInfo::default()
            },
            syscall: MountSyscall {
                name,
                flags: flags.iter().map(ToString::to_string).collect(),
                fd: None,
                command: None,
                aux: None,
                attr_flags: None,
                ret: 0,
            },
            source: None,
            target: Some(text("/mnt/target")),
            put_old: None,
            fstype: None,
            key: None,
            value: None,
            attr: None,
            attached: None,
            process: process(100),
        }
    }

    /// Builds a `move_mount` in `mnt` of an fd made by `open_tree` or fsmount.
    pub fn move_mount(mnt: u32, attached: Attached) -> Mount {
        let mut mount = mount("move_mount", &["MOVE_MOUNT_F_EMPTY_PATH"], mnt, HOST_USER);
        mount.source = Some(text(""));
        mount.attached = Some(attached);
        mount
    }

    pub fn mount_event(mount: Mount) -> Event {
        event(
            EventKind::Mount,
            "2026-01-01T00:00:01.000000000Z",
            Body::Mount(Box::new(mount)),
        )
    }

    /// Builds a successful `unshare(CLONE_NEWUSER)` by `pid` at `time`.
    pub fn unshare_user(pid: u32, inode: u32, id: Option<u64>, time: &str) -> Event {
        event(
            EventKind::NsCreate,
            time,
            Body::NsCreate(NsCreate {
                outcome: Outcome::Success,
                error: None,
                ns: NsInfo {
                    ns_type: Some(NsType::User),
                    inode: Some(inode),
                    id,
                    owner: Some(HOST_USER),
                    ..NsInfo::default()
                },
                syscall: CreateCall {
                    name: "unshare",
                    flags: vec!["CLONE_NEWUSER".into()].into(),
                    exit_signal: None,
                    ret: 0,
                },
                process: process(pid),
                child: None,
            }),
        )
    }

    /// Builds the `ns_destroy` record of a user namespace created at `created`.
    pub fn destroy_user(inode: u32, id: Option<u64>, created: Option<&str>) -> Event {
        event(
            EventKind::NsDestroy,
            "2026-01-01T00:00:09.000000000Z",
            Body::Lifetime(Lifetime {
                ns: NsInfo {
                    ns_type: Some(NsType::User),
                    inode: Some(inode),
                    id,
                    owner: Some(HOST_USER),
                    ..NsInfo::default()
                },
                key: format!("user:{inode}"),
                created: created.map(Timestamp::parse),
                first_seen: Timestamp::parse(created.unwrap_or("2026-01-01T00:00:00.000000000Z")),
                destroyed: Some(Timestamp::parse("2026-01-01T00:00:09.000000000Z")),
                duration_ns: 1,
                origin: Origin {
                    how: "unshare",
                    flags: Vec::new().into(),
                    creator: None,
                },
                members: 0,
                members_joined: 1,
                peak_members: 1,
                pins: Vec::new(),
                precision: Some("exact"),
                loss_affected: false,
                mounts: None,
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_active_with_host_namespaces() {
        let detector = Detector::new(Some(test_events::host()));
        assert_eq!(
            detector.rule_names(),
            [
                "unprivileged_userns_create",
                "userns_unshare_then_privileged_op",
                "container_escape_setns",
                "sensitive_host_mount",
            ]
        );
        let without_host = Detector::new(None).rule_names();
        for name in HOST_RULES {
            assert!(detector.rule_names().contains(&name), "{name}");
            assert!(!without_host.contains(&name), "{name}");
        }
    }

    #[test]
    fn sensitive_mount_alert_set_on_event() {
        let mut detector = Detector::new(Some(test_events::host()));
        let mut bind = test_events::mount("mount", &["MS_BIND"], 4_026_532_300, 1);
        bind.source = Some(test_events::text("/proc"));
        let mut event = test_events::mount_event(bind);
        detector.detect(&mut event);
        let alert = event.enrichment.alert.expect("an alert");
        assert_eq!(alert.rule, "sensitive_host_mount");
    }
}
