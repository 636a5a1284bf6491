//! The table of live namespaces.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::{
    namespace::NsType,
    output::event::{Origin, Pin},
};

/// State of one live namespace.
#[derive(Clone, Debug)]
pub struct NsEntry {
    pub ns_type: NsType,
    pub inode: u32,
    /// The kernel's 64-bit namespace id, where it has one.
    pub id: Option<u64>,
    pub owner: Option<u32>,
    pub parent: Option<u32>,
    /// `CLOCK_BOOTTIME` nanoseconds of creation; `None` when it existed
    /// before nstrace started or its creation was not seen.
    pub created_ns: Option<u64>,
    /// `CLOCK_BOOTTIME` nanoseconds when nstrace first knew of it.
    pub first_seen_ns: u64,
    pub origin: Origin,
    /// Thread ids of the member tasks.
    pub members: FxHashSet<u32>,
    pub joined: u64,
    pub peak: u64,
    /// When the last member left, while it has none.
    pub empty_since_ns: Option<u64>,
    /// Pins found by the last scan, while it has no members.
    pub pins: Vec<Pin>,
    /// Whether records were lost while it lived, so that its members,
    /// times or end may be off.
    pub loss_affected: bool,
    /// Successful mount-family calls made inside it (mount namespaces).
    pub mounts: u64,
}

impl NsEntry {
    pub fn new(ns_type: NsType, inode: u32, first_seen_ns: u64, origin: Origin) -> Self {
        Self {
            ns_type,
            inode,
            id: None,
            owner: None,
            parent: None,
            created_ns: None,
            first_seen_ns,
            origin,
            members: FxHashSet::default(),
            joined: 0,
            peak: 0,
            empty_since_ns: None,
            pins: Vec::new(),
            loss_affected: false,
            mounts: 0,
        }
    }

    /// Adds a member task; `joined` counts it when it is new.
    pub fn add_member(&mut self, tid: u32) {
        if self.members.insert(tid) {
            self.joined += 1;
            self.peak = self.peak.max(self.members.len() as u64);
        }
        self.empty_since_ns = None;
        self.pins.clear();
    }

    /// Removes a member task; returns true when that left it empty.
    pub fn remove_member(&mut self, tid: u32, now_ns: u64) -> bool {
        if self.members.remove(&tid) && self.members.is_empty() {
            self.empty_since_ns = Some(now_ns);
            return true;
        }
        false
    }

    /// Replaces member `old` by `new`, the same task under another thread
    /// id, without counting a join.
    pub fn rename_member(&mut self, old: u32, new: u32) {
        if self.members.remove(&old) {
            self.members.insert(new);
        }
    }

    /// Returns a key unique on this boot: the kernel id, else the inode and
    /// the creation or first-seen time.
    pub fn key(&self) -> String {
        let mut digits = itoa::Buffer::new();
        let mut key = String::with_capacity(48);
        key.push_str(self.ns_type.name());
        if let Some(id) = self.id {
            key.push_str(":id:");
            key.push_str(digits.format(id));
        } else {
            key.push(':');
            key.push_str(digits.format(self.inode));
            key.push('@');
            key.push_str(digits.format(self.created_ns.unwrap_or(self.first_seen_ns)));
        }
        key
    }
}

/// Live namespaces by inode. The kernel gives each live namespace of any
/// type its own inode number, so the inode is a key while it lives. The
/// kernel assigns the inodes, so the non-keyed Fx hash is safe from chosen
/// collisions.
#[derive(Debug, Default)]
pub struct Table {
    entries: FxHashMap<u32, NsEntry>,
}

impl Table {
    pub fn get(&self, inode: u32) -> Option<&NsEntry> {
        self.entries.get(&inode)
    }

    pub fn get_mut(&mut self, inode: u32) -> Option<&mut NsEntry> {
        self.entries.get_mut(&inode)
    }

    pub fn insert(&mut self, entry: NsEntry) {
        self.entries.insert(entry.inode, entry);
    }

    pub fn remove(&mut self, inode: u32) -> Option<NsEntry> {
        self.entries.remove(&inode)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut NsEntry> {
        self.entries.values_mut()
    }

    pub fn values(&self) -> impl Iterator<Item = &NsEntry> {
        self.entries.values()
    }

    /// Inodes of namespaces without members.
    pub fn empty(&self) -> Vec<u32> {
        self.entries
            .values()
            .filter(|e| e.members.is_empty())
            .map(|e| e.inode)
            .collect()
    }

    /// Removes and returns every entry, for the final records.
    pub fn drain(&mut self) -> Vec<NsEntry> {
        self.entries.drain().map(|(_, entry)| entry).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> NsEntry {
        let origin = Origin {
            how: "unknown",
            flags: crate::flags::FlagNames::default(),
            creator: None,
        };
        NsEntry::new(NsType::Net, 4_026_532_001, 1_500, origin)
    }

    #[test]
    fn key_uses_kernel_id() {
        let mut entry = entry();
        entry.id = Some(8_193);
        assert_eq!(entry.key(), "net:id:8193");
    }

    #[test]
    fn key_without_id_uses_inode_and_time() {
        let mut entry = entry();
        assert_eq!(entry.key(), "net:4026532001@1500");
        entry.created_ns = Some(u64::MAX);
        assert_eq!(entry.key(), "net:4026532001@18446744073709551615");
    }
}
