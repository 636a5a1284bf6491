//! The stages between translation and output: enrichment, detection and
//! filtering, in that order, so that rules see every event and filters
//! can select by container.

use log::warn;

use crate::{
    clock::Clock,
    decode::Record,
    detect::{Detector, HostNamespaces, HOST_RULES},
    enrich::Enricher,
    filter::Filter,
    output::event::Event,
};

/// Enriches, checks and selects events.
pub struct Pipeline {
    enricher: Enricher,
    detector: Detector,
    filter: Filter,
    /// Features that could not be set up, for the start record.
    unavailable: Vec<String>,
}

impl Pipeline {
    /// Reads the host's namespaces and the boot id, and sets up the rules.
    pub fn new(clock: Clock, filter: Filter) -> Self {
        let mut unavailable = Vec::new();
        let host = match HostNamespaces::read() {
            Ok(host) => Some(host),
            Err(error) => {
                let rules = HOST_RULES.join(" and ");
                warn!("detection: host namespaces unreadable, rules {rules} are off: {error}");
                unavailable.push(format!(
                    "detection rules {rules}: host namespaces unreadable: {error}"
                ));
                None
            }
        };
        let detector = Detector::new(host);
        log::info!("detection rules: {}", detector.rule_names().join(", "));
        Self {
            enricher: Enricher::new(clock),
            detector,
            filter,
            unavailable,
        }
    }

    /// Features that could not be set up.
    pub fn unavailable(&self) -> &[String] {
        &self.unavailable
    }

    /// Lets the stages see a kernel record before its events.
    pub fn observe(&mut self, record: &Record) {
        self.enricher.observe(record);
    }

    /// Enriches `event`, runs the rules on it, and returns whether the
    /// filter keeps it.
    pub fn process(&mut self, event: &mut Event) -> bool {
        self.enricher.enrich(event);
        self.detector.detect(event);
        self.filter.accepts(event)
    }
}
