//! Namespace types as `lsns` names them, with their `CLONE_NEW*` flags.

use nstrace_common::ns::{clone_flag, slot, NS_SLOTS};
use schemars::JsonSchema;
use serde::Serialize;

/// `/proc/PID/ns` file names of the slots in a task's namespace set, by
/// slot index (see `nstrace_common::ns::slot`), with each slot's type.
pub const SLOTS: [(&str, NsType); NS_SLOTS] = [
    ("mnt", NsType::Mnt),
    ("uts", NsType::Uts),
    ("ipc", NsType::Ipc),
    ("pid", NsType::Pid),
    ("pid_for_children", NsType::Pid),
    ("net", NsType::Net),
    ("user", NsType::User),
    ("cgroup", NsType::Cgroup),
    ("time", NsType::Time),
    ("time_for_children", NsType::Time),
];

/// A namespace type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NsType {
    Mnt,
    Uts,
    Ipc,
    Pid,
    Net,
    User,
    Cgroup,
    Time,
}

impl NsType {
    /// Every type, in the order `lsns` lists them.
    pub const ALL: [NsType; 8] = [
        NsType::Mnt,
        NsType::Uts,
        NsType::Ipc,
        NsType::Pid,
        NsType::Net,
        NsType::User,
        NsType::Cgroup,
        NsType::Time,
    ];

    /// Name as `lsns` and `/proc/PID/ns` spell it.
    pub fn name(self) -> &'static str {
        match self {
            NsType::Mnt => "mnt",
            NsType::Uts => "uts",
            NsType::Ipc => "ipc",
            NsType::Pid => "pid",
            NsType::Net => "net",
            NsType::User => "user",
            NsType::Cgroup => "cgroup",
            NsType::Time => "time",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The `CLONE_NEW*` flag that creates or selects this type.
    pub fn clone_flag(self) -> u64 {
        match self {
            NsType::Mnt => clone_flag::NEWNS,
            NsType::Uts => clone_flag::NEWUTS,
            NsType::Ipc => clone_flag::NEWIPC,
            NsType::Pid => clone_flag::NEWPID,
            NsType::Net => clone_flag::NEWNET,
            NsType::User => clone_flag::NEWUSER,
            NsType::Cgroup => clone_flag::NEWCGROUP,
            NsType::Time => clone_flag::NEWTIME,
        }
    }

    /// The type whose `CLONE_NEW*` flag is exactly `flag`.
    pub fn from_clone_flag(flag: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.clone_flag() == flag)
    }

    /// The types whose flags are set in `flags`, in [`NsType::ALL`] order.
    pub fn in_flags(flags: u64) -> impl Iterator<Item = NsType> {
        Self::ALL
            .into_iter()
            .filter(move |t| flags & t.clone_flag() != 0)
    }

    /// Slot of the task's own namespace of this type.
    pub fn own_slot(self) -> usize {
        match self {
            NsType::Mnt => slot::MNT,
            NsType::Uts => slot::UTS,
            NsType::Ipc => slot::IPC,
            NsType::Pid => slot::PID,
            NsType::Net => slot::NET,
            NsType::User => slot::USER,
            NsType::Cgroup => slot::CGROUP,
            NsType::Time => slot::TIME,
        }
    }

    /// Slot that `unshare` and `setns` change for this type: for pid and
    /// time the namespace the task's future children get, since the task
    /// itself never moves to another pid or time namespace.
    pub fn changed_slot(self) -> usize {
        match self {
            NsType::Pid => slot::PID_FOR_CHILDREN,
            NsType::Time => slot::TIME_FOR_CHILDREN,
            other => other.own_slot(),
        }
    }
}

impl std::fmt::Display for NsType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for ns_type in NsType::ALL {
            assert_eq!(NsType::from_name(ns_type.name()), Some(ns_type));
        }
        assert_eq!(NsType::from_name("network"), None);
    }

    #[test]
    fn flags_select_types() {
        let types: Vec<_> =
            NsType::in_flags(clone_flag::NEWNET | clone_flag::NEWUSER | 0x11).collect();
        assert_eq!(types, vec![NsType::Net, NsType::User]);
        assert_eq!(
            NsType::from_clone_flag(clone_flag::NEWNS),
            Some(NsType::Mnt)
        );
    }

    #[test]
    fn pid_and_time_change_children_slot() {
        assert_eq!(NsType::Pid.changed_slot(), slot::PID_FOR_CHILDREN);
        assert_eq!(NsType::Time.changed_slot(), slot::TIME_FOR_CHILDREN);
        assert_eq!(NsType::Net.changed_slot(), slot::NET);
    }
}
