//! Detections: rules that read events and tag the suspicious ones with an
//! [`Alert`].
//!
//! Rules decide by namespace identity (inode numbers compared with the
//! host's namespaces), never by process names. A rule sees every event
//! before the output filters, and may keep state across events. Rules for
//! new event kinds implement [`Rule`] and are added in [`Detector::new`].

pub mod container_escape;
pub mod host_namespaces;
pub mod userns_setns;
pub mod userns_unprivileged;

use crate::output::{alert::Alert, event::Event};
pub use host_namespaces::HostNamespaces;

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
            Box::new(userns_setns::UserNamespaceSetns::default()),
        ];
        if let Some(host) = host {
            rules.push(Box::new(container_escape::ContainerEscape::new(host)));
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
