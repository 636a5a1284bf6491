//! The `alert` block that a detection rule adds to a record.

use schemars::JsonSchema;
use serde::Serialize;

/// A detection: which rule matched, how severe it is, and the MITRE
/// ATT&CK technique it indicates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Alert {
    /// Rule name, such as `container_escape_setns`.
    pub rule: &'static str,
    /// Urgency of the alert.
    pub severity: Severity,
    /// MITRE ATT&CK technique.
    pub technique: Technique,
    /// Explanation in one sentence, with the namespace inodes involved.
    pub reason: String,
}

/// Alert severity, from least to most urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Name as it appears in records.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// ECS `event.severity` value: 21, 47, 73 or 99, the risk scores that
    /// Elastic's prebuilt detection rules give these severities.
    pub fn score(self) -> u8 {
        match self {
            Severity::Low => 21,
            Severity::Medium => 47,
            Severity::High => 73,
            Severity::Critical => 99,
        }
    }
}

/// A MITRE ATT&CK technique.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Technique {
    /// Technique id, such as `T1611`.
    pub id: &'static str,
    /// Technique name, such as `Escape to Host`.
    pub name: &'static str,
    /// Tactic name, such as `Privilege Escalation`.
    pub tactic: &'static str,
}
