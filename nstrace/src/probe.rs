//! Loading the eBPF programs into the running kernel and attaching them.

use std::path::Path;

use anyhow::{bail, Context};
use aya::{
    programs::{BtfTracePoint, FEntry, KProbe, TracePoint},
    Btf as AyaBtf, Ebpf, EbpfLoader,
};
use log::{debug, info, warn};

use crate::{btf::Btf, offsets, output::event::HookStatus, privilege, state::Precision};

/// The eBPF object, built by `cargo xtask build` and embedded at compile
/// time; empty when the build had none.
static EBPF_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/nstrace-ebpf.o"));

/// Syscall tracepoint programs, by tracepoint name in category `syscalls`.
const SYSCALL_HOOKS: [&str; 8] = [
    "sys_enter_clone",
    "sys_exit_clone",
    "sys_enter_clone3",
    "sys_exit_clone3",
    "sys_enter_unshare",
    "sys_exit_unshare",
    "sys_enter_setns",
    "sys_exit_setns",
];

/// Mount syscalls whose `sys_enter_*` and `sys_exit_*` tracepoints have
/// programs, by tracepoint name, with the kernel version that added them.
/// Each is attached where the kernel has it; namespace tracing goes on
/// without them.
const MOUNT_HOOKS: [(&str, &str); 10] = [
    ("mount", "Linux 2.6"),
    ("umount", "Linux 2.6"),
    ("pivot_root", "Linux 2.6"),
    ("fsopen", "Linux 5.2"),
    ("fsconfig", "Linux 5.2"),
    ("fsmount", "Linux 5.2"),
    ("move_mount", "Linux 5.2"),
    ("open_tree", "Linux 5.2"),
    ("mount_setattr", "Linux 5.12"),
    ("open_tree_attr", "Linux 6.15"),
];

/// BTF tracepoint programs and whether tracing can go on without them.
const SCHED_HOOKS: [(&str, bool); 3] = [
    ("sched_process_fork", true),
    ("sched_process_exec", false),
    ("sched_process_exit", false),
];

/// Loaded and attached programs.
pub struct Probe {
    pub ebpf: Ebpf,
    pub hooks: Vec<HookStatus>,
    /// Features this kernel lacks, in words for the start-up record.
    pub unavailable: Vec<String>,
    /// Whether the kernel has a 64-bit id per namespace.
    pub namespace_ids: bool,
    /// Whether a hook on the kernel's free path attached.
    pub precision: Precision,
    /// Keeps the log map open; dropping it would close the map.
    pub logger: Option<aya_log::EbpfLogger<&'static dyn log::Log>>,
}

/// Path of the running kernel's BTF.
pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Loads the programs with offsets from the kernel's BTF (at `btf_path`)
/// and a ring buffer of `ring_buffer_bytes`, then attaches every hook it
/// can.
pub fn load(ring_buffer_bytes: u32, btf_path: &Path) -> anyhow::Result<Probe> {
    if EBPF_OBJECT.is_empty() {
        bail!("this nstrace binary was built without its eBPF object; build it with `cargo xtask build`");
    }
    privilege::check_load()?;
    let btf = Btf::from_file(btf_path).with_context(|| {
        format!(
            "reading kernel BTF from {} failed; nstrace needs a kernel built with CONFIG_DEBUG_INFO_BTF, or a BTF file for this kernel given with --btf",
            btf_path.display()
        )
    })?;
    match aya::sys::is_map_supported(aya::maps::MapType::RingBuf) {
        Ok(true) => {}
        Ok(false) => bail!(
            "this kernel has no BPF ring buffer map (added in Linux 5.8), which nstrace needs"
        ),
        Err(error) => bail!("probing for BPF ring buffer support failed: {error}"),
    }
    let offsets = offsets::resolve(&btf).context("finding kernel struct offsets in BTF failed")?;
    debug!("offsets: {offsets:?}");
    let namespace_ids = offsets.ns_common_ns_id != nstrace_common::offsets::ABSENT;
    let mut unavailable = Vec::new();
    if !namespace_ids {
        unavailable.push(
            "ns_common.ns_id (Linux 6.18): namespaces are told apart by inode and creation time"
                .to_string(),
        );
    }
    if offsets.nsproxy_time == nstrace_common::offsets::ABSENT {
        unavailable.push("time namespaces (Linux 5.6)".to_string());
    }

    raise_memlock_limit();
    ensure_tracefs()?;

    let aya_btf =
        AyaBtf::from_sys_fs().context("reading the kernel's BTF for tp_btf programs failed")?;
    let mut ebpf = EbpfLoader::new()
        .btf(Some(&aya_btf))
        .override_global("OFFSETS", &offsets, true)
        .map_max_entries("EVENTS", ring_buffer_bytes)
        .load(EBPF_OBJECT)
        .context("loading the eBPF object into the kernel failed")?;

    let logger = match aya_log::EbpfLogger::init(&mut ebpf) {
        Ok(logger) => Some(logger),
        Err(error) => {
            warn!("eBPF log: not forwarded: {error}");
            None
        }
    };

    let mut hooks = Vec::new();
    for name in SYSCALL_HOOKS {
        let status = attach_tracepoint(&mut ebpf, name);
        if let Some(error) = &status.error {
            bail!("attaching {} failed: {error}", status.hook);
        }
        hooks.push(status);
    }
    for (call, version) in MOUNT_HOOKS {
        attach_mount_hooks(&mut ebpf, call, version, &mut hooks, &mut unavailable);
    }
    for (name, required) in SCHED_HOOKS {
        let status = attach_btf_tracepoint(&mut ebpf, name, &aya_btf);
        if let Some(error) = &status.error {
            if required {
                bail!("attaching {} failed: {error}", status.hook);
            }
            warn!("{}: not attached: {error}", status.hook);
            unavailable.push(format!("{}: {error}", status.hook));
        }
        hooks.push(status);
    }

    let precision = attach_free_hook(&mut ebpf, &aya_btf, &mut hooks, &mut unavailable);

    Ok(Probe {
        ebpf,
        hooks,
        unavailable,
        namespace_ids,
        precision,
        logger,
    })
}

/// Attaches the hook on `proc_free_inum`, as fentry or else as a kprobe.
/// Without either, destruction is inferred.
fn attach_free_hook(
    ebpf: &mut Ebpf,
    btf: &AyaBtf,
    hooks: &mut Vec<HookStatus>,
    unavailable: &mut Vec<String>,
) -> Precision {
    let fentry = status(
        "fentry/proc_free_inum".to_string(),
        (|| -> anyhow::Result<()> {
            let program: &mut FEntry = ebpf
                .program_mut("proc_free_inum")
                .context("program proc_free_inum not found in the eBPF object")?
                .try_into()?;
            program
                .load("proc_free_inum", btf)
                .context("loading proc_free_inum failed")?;
            program
                .attach()
                .context("attaching proc_free_inum failed")?;
            Ok(())
        })(),
    );
    let attached = fentry.attached;
    hooks.push(fentry);
    if attached {
        return Precision::Exact;
    }
    let kprobe = status(
        "kprobe/proc_free_inum".to_string(),
        (|| -> anyhow::Result<()> {
            let program: &mut KProbe = ebpf
                .program_mut("proc_free_inum_kprobe")
                .context("program proc_free_inum_kprobe not found in the eBPF object")?
                .try_into()?;
            program
                .load()
                .context("loading proc_free_inum_kprobe failed")?;
            program
                .attach("proc_free_inum", 0)
                .context("attaching proc_free_inum_kprobe failed")?;
            Ok(())
        })(),
    );
    let attached = kprobe.attached;
    hooks.push(kprobe);
    if attached {
        return Precision::Exact;
    }
    unavailable.push(
        "fentry and kprobe on proc_free_inum: namespace destruction is inferred from members and pins".to_string(),
    );
    Precision::Inferred
}

fn attach_tracepoint(ebpf: &mut Ebpf, name: &str) -> HookStatus {
    let hook = format!("tracepoint/syscalls/{name}");
    let result = (|| -> anyhow::Result<()> {
        let program: &mut TracePoint = ebpf
            .program_mut(name)
            .with_context(|| format!("program {name} not found in the eBPF object"))?
            .try_into()?;
        program
            .load()
            .with_context(|| format!("loading {name} failed"))?;
        program
            .attach("syscalls", name)
            .with_context(|| format!("attaching {name} failed"))?;
        Ok(())
    })();
    status(hook, result)
}

/// Attaches the entry and exit programs of mount syscall `call` when the
/// kernel has its tracepoints. When it has none, or attaching fails, adds a
/// line to `unavailable`.
fn attach_mount_hooks(
    ebpf: &mut Ebpf,
    call: &str,
    version: &str,
    hooks: &mut Vec<HookStatus>,
    unavailable: &mut Vec<String>,
) {
    let enter = format!("sys_enter_{call}");
    if !tracepoint_exists("syscalls", &enter) {
        info!("tracepoint syscalls/{enter} not found, so {call} calls are not traced");
        unavailable.push(format!(
            "{call} ({version}): no syscall tracepoint, so these calls are not traced"
        ));
        return;
    }
    for name in [enter, format!("sys_exit_{call}")] {
        let status = attach_tracepoint(ebpf, &name);
        if let Some(error) = &status.error {
            warn!("{}: not attached: {error}", status.hook);
            unavailable.push(format!("{}: {error}", status.hook));
        }
        hooks.push(status);
    }
}

/// Returns whether tracefs lists tracepoint `category/name`.
fn tracepoint_exists(category: &str, name: &str) -> bool {
    ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .iter()
        .any(|dir| {
            Path::new(dir)
                .join("events")
                .join(category)
                .join(name)
                .is_dir()
        })
}

fn attach_btf_tracepoint(ebpf: &mut Ebpf, name: &str, btf: &AyaBtf) -> HookStatus {
    let hook = format!("tp_btf/{name}");
    let result = (|| -> anyhow::Result<()> {
        let program: &mut BtfTracePoint = ebpf
            .program_mut(name)
            .with_context(|| format!("program {name} not found in the eBPF object"))?
            .try_into()?;
        program
            .load(name, btf)
            .with_context(|| format!("loading {name} failed"))?;
        program
            .attach()
            .with_context(|| format!("attaching {name} failed"))?;
        Ok(())
    })();
    status(hook, result)
}

fn status(hook: String, result: anyhow::Result<()>) -> HookStatus {
    match result {
        Ok(()) => {
            debug!("{hook}: attached");
            HookStatus {
                hook,
                attached: true,
                error: None,
            }
        }
        Err(error) => HookStatus {
            hook,
            attached: false,
            error: Some(format!("{error:#}")),
        },
    }
}

/// Raises `RLIMIT_MEMLOCK` for kernels before 5.11, which charge BPF maps
/// to it. Later kernels charge the memory cgroup, so failing is harmless
/// there (and expected without `CAP_SYS_RESOURCE`).
fn raise_memlock_limit() {
    let limit = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads the struct and changes only this process.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &raw const limit) } != 0 {
        debug!(
            "memlock: raising RLIMIT_MEMLOCK failed: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Mounts tracefs at `/sys/kernel/tracing` when no tracefs is reachable,
/// because attaching a tracepoint reads its id from there.
fn ensure_tracefs() -> anyhow::Result<()> {
    let candidates = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];
    if candidates
        .iter()
        .any(|dir| Path::new(dir).join("events").is_dir())
    {
        return Ok(());
    }
    let target = candidates[0];
    info!("tracefs: not mounted, mounting it at {target}");
    nix::mount::mount(
        Some("tracefs"),
        target,
        Some("tracefs"),
        nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV | nix::mount::MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .with_context(|| format!("mounting tracefs at {target} failed; mount it by hand with `mount -t tracefs tracefs {target}`"))?;
    Ok(())
}
