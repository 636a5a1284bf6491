//! Capability checks before loading, and dropping what is no longer
//! needed once the programs are attached.

use anyhow::{bail, Context};
use caps::{CapSet, Capability, CapsHashSet};
use log::info;

/// Capabilities kept after attach: `CAP_BPF` to read the loss counters
/// through the bpf syscall, `CAP_SYS_PTRACE` and `CAP_DAC_READ_SEARCH` to
/// read the namespace links and fds of other users' processes in `/proc`.
const KEPT: [Capability; 3] = [
    Capability::CAP_BPF,
    Capability::CAP_SYS_PTRACE,
    Capability::CAP_DAC_READ_SEARCH,
];

/// Fails with the missing capabilities when this process cannot load and
/// attach the programs: it needs `CAP_BPF` and `CAP_PERFMON`, or
/// `CAP_SYS_ADMIN`, and `CAP_SYS_ADMIN` to mount tracefs if it is missing.
pub fn check_load() -> anyhow::Result<()> {
    let effective = caps::read(None, CapSet::Effective)
        .context("reading this process's capabilities failed")?;
    if effective.contains(&Capability::CAP_SYS_ADMIN) {
        return Ok(());
    }
    let missing: Vec<String> = [Capability::CAP_BPF, Capability::CAP_PERFMON]
        .into_iter()
        .filter(|cap| !effective.contains(cap))
        .map(|cap| cap.to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "missing capabilities {}: loading eBPF programs needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN; run nstrace as root",
            missing.join(", ")
        );
    }
    Ok(())
}

/// Drops every capability but [`KEPT`] from the effective, permitted,
/// inheritable and bounding sets, and sets `no_new_privs`.
pub fn drop_after_attach() -> anyhow::Result<()> {
    let permitted = caps::read(None, CapSet::Permitted)
        .context("reading this process's capabilities failed")?;
    let kept: CapsHashSet = KEPT
        .into_iter()
        .filter(|cap| permitted.contains(cap))
        .collect();
    for cap in caps::all() {
        if !kept.contains(&cap) && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, cap)
                .with_context(|| format!("dropping {cap} from the bounding set failed"))?;
        }
    }
    caps::set(None, CapSet::Inheritable, &CapsHashSet::new())
        .context("clearing inheritable capabilities failed")?;
    caps::set(None, CapSet::Effective, &kept).context("setting effective capabilities failed")?;
    caps::set(None, CapSet::Permitted, &kept).context("setting permitted capabilities failed")?;
    // SAFETY: prctl with PR_SET_NO_NEW_PRIVS only sets a flag on this process.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        bail!(
            "setting no_new_privs failed: {}",
            std::io::Error::last_os_error()
        );
    }
    let mut names: Vec<String> = kept.iter().map(ToString::to_string).collect();
    names.sort();
    info!(
        "privileges: dropped all capabilities but {}",
        names.join(", ")
    );
    Ok(())
}
