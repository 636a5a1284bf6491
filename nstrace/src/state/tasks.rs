//! The namespaces each live task is in.

use std::ops::Deref;

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

/// Distinct non-zero inodes of one task's slots, in slot order, kept
/// inline because this runs for every fork, unshare, setns and exit.
#[derive(Clone, Copy, Debug, Default)]
pub struct Inodes {
    inodes: [u32; NS_SLOTS],
    len: usize,
}

impl Deref for Inodes {
    type Target = [u32];

    fn deref(&self) -> &[u32] {
        &self.inodes[..self.len]
    }
}

impl IntoIterator for Inodes {
    type Item = u32;
    type IntoIter = std::iter::Take<std::array::IntoIter<u32, NS_SLOTS>>;

    fn into_iter(self) -> Self::IntoIter {
        self.inodes.into_iter().take(self.len)
    }
}

/// Returns the distinct non-zero inodes of `slots`, so that a task counts
/// once as a member of a namespace that fills two of its slots.
pub fn distinct(slots: &Slots) -> Inodes {
    let mut distinct = Inodes::default();
    for &inode in slots {
        if inode != 0 && !distinct.contains(&inode) {
            distinct.inodes[distinct.len] = inode;
            distinct.len += 1;
        }
    }
    distinct
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_skips_zeros_and_repeats() {
        let slots = [7, 3, 7, 0, 0, 9, 3, 0, 5, 5];
        let inodes = distinct(&slots);
        assert_eq!(&*inodes, [7, 3, 9, 5]);
        assert_eq!(inodes.into_iter().collect::<Vec<_>>(), [7, 3, 9, 5]);
    }

    #[test]
    fn distinct_of_empty_slots() {
        assert!(distinct(&[0; NS_SLOTS]).is_empty());
    }
}
