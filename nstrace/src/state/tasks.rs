//! The namespaces each live task is in.

use nstrace_common::ns::NS_SLOTS;
use rustc_hash::FxHashMap;

/// A task's namespace inodes by slot (see `nstrace_common::ns::slot`).
pub type Slots = [u32; NS_SLOTS];

/// Live tasks by thread id. The kernel assigns the ids, so the fast
/// non-keyed Fx hash is safe from chosen collisions.
#[derive(Debug, Default)]
pub struct Tasks {
    slots: FxHashMap<u32, Slots>,
}

impl Tasks {
    pub fn get(&self, tid: u32) -> Option<&Slots> {
        self.slots.get(&tid)
    }

    /// Sets a task's namespaces; returns the previous ones.
    pub fn set(&mut self, tid: u32, slots: Slots) -> Option<Slots> {
        self.slots.insert(tid, slots)
    }

    pub fn remove(&mut self, tid: u32) -> Option<Slots> {
        self.slots.remove(&tid)
    }

    /// Thread ids of all live tasks.
    pub fn tids(&self) -> Vec<u32> {
        self.slots.keys().copied().collect()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }
}

/// Returns the distinct non-zero inodes of `slots`, so that a task counts
/// once as a member of a namespace that fills two of its slots.
pub fn distinct(slots: &Slots) -> Vec<u32> {
    let mut inodes: Vec<u32> = slots.iter().copied().filter(|&inode| inode != 0).collect();
    inodes.sort_unstable();
    inodes.dedup();
    inodes
}
