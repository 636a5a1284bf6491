//! Namespace types and the slots in which a task's namespaces are recorded.

/// Number of namespace slots recorded for a task: the eight namespace
/// types plus the pid and time namespaces that its children will get.
pub const NS_SLOTS: usize = 10;

/// Index of each namespace slot in [`crate::record::NsSet`].
pub mod slot {
    pub const MNT: usize = 0;
    pub const UTS: usize = 1;
    pub const IPC: usize = 2;
    pub const PID: usize = 3;
    pub const PID_FOR_CHILDREN: usize = 4;
    pub const NET: usize = 5;
    pub const USER: usize = 6;
    pub const CGROUP: usize = 7;
    pub const TIME: usize = 8;
    pub const TIME_FOR_CHILDREN: usize = 9;
}

/// `CLONE_NEW*` flag values from `include/uapi/linux/sched.h`.
pub mod clone_flag {
    pub const NEWTIME: u64 = 0x0000_0080;
    pub const NEWNS: u64 = 0x0002_0000;
    pub const NEWCGROUP: u64 = 0x0200_0000;
    pub const NEWUTS: u64 = 0x0400_0000;
    pub const NEWIPC: u64 = 0x0800_0000;
    pub const NEWUSER: u64 = 0x1000_0000;
    pub const NEWPID: u64 = 0x2000_0000;
    pub const NEWNET: u64 = 0x4000_0000;
}
