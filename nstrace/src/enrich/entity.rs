//! Stable process ids that let a reader join records about one process.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// Returns the entity id of a process: the first 16 bytes of
/// SHA-256(`boot_id` `:` `pid` `:` `start_ticks`) in hex. A pid is reused
/// only with another start time, and the boot id changes at every boot,
/// so the id names one process on one host.
pub fn entity_id(boot_id: &str, pid: u32, start_ticks: u64) -> String {
    let digest = Sha256::digest(format!("{boot_id}:{pid}:{start_ticks}"));
    let mut hex = String::with_capacity(32);
    for byte in &digest[..16] {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_id_is_stable_sha256_prefix() {
        // sha256("b:1:2") computed with `printf b:1:2 | sha256sum`.
        assert_eq!(entity_id("b", 1, 2), "3c68ff57bd11293b442707edf8888731");
    }

    #[test]
    fn start_time_changes_id() {
        assert_ne!(entity_id("b", 1, 2), entity_id("b", 1, 3));
    }
}
