//! Building the eBPF object and the collector.

use std::{
    env,
    ffi::OsString,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context};

use crate::{
    command,
    toolchain::{Toolchain, Tools},
};

/// BPF target of the programs (little-endian hosts).
const BPF_TARGET: &str = "bpfel-unknown-none";

/// Paths of the build outputs.
pub struct Outputs {
    pub ebpf_object: PathBuf,
    pub nstrace: PathBuf,
}

/// The workspace root: the parent of this crate's folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one folder below the workspace root")
        .to_path_buf()
}

/// Builds the eBPF object, then the release collector with the object
/// embedded.
pub fn build(tools: &Tools) -> anyhow::Result<Outputs> {
    let root = workspace_root();
    let ebpf_object = build_ebpf(tools, &root)?;

    let mut cargo = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "--package",
            "nstrace",
            "--bin",
            "nstrace",
        ])
        .env("NSTRACE_EBPF_OBJECT", &ebpf_object);
    command::run(&mut cargo).context("building the collector failed")?;
    let nstrace = root.join("target/release/nstrace");
    eprintln!(
        "xtask: built {} with {} embedded",
        nstrace.display(),
        ebpf_object.display()
    );
    Ok(Outputs {
        ebpf_object,
        nstrace,
    })
}

fn build_ebpf(tools: &Tools, root: &Path) -> anyhow::Result<PathBuf> {
    let target_dir = root.join("target/ebpf");
    let mut cargo = match &tools.toolchain {
        Toolchain::Nightly => {
            let mut cargo = Command::new("cargo");
            cargo.args(["+nightly", "build", "-Z", "build-std=core"]);
            cargo
        }
        Toolchain::Debian {
            rustc,
            cargo: cargo_path,
        } => {
            let mut cargo = Command::new(cargo_path);
            cargo.arg("build").env("RUSTC", rustc);
            // aya-ebpf uses the unstable asm_experimental_arch feature,
            // which a stable-channel rustc allows only with this set.
            cargo.env("RUSTC_BOOTSTRAP", "1");
            cargo
        }
    };
    // Settings that the outer cargo and rustup set for xtask itself would
    // point the inner build at the wrong compiler.
    for name in [
        "RUSTUP_TOOLCHAIN",
        "RUSTC_WRAPPER",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
    ] {
        cargo.env_remove(name);
    }
    if matches!(tools.toolchain, Toolchain::Nightly) {
        cargo.env_remove("RUSTC");
    }
    cargo
        .current_dir(root.join("nstrace-ebpf"))
        .args(["--release", "--target", BPF_TARGET])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("PATH", path_with(&tools.linker_dir));
    command::run(&mut cargo).context("building the eBPF object failed")?;

    let object = target_dir.join(BPF_TARGET).join("release/nstrace-ebpf");
    if !object.exists() {
        bail!(
            "the eBPF build succeeded but {} is missing",
            object.display()
        );
    }
    Ok(object)
}

/// PATH with `dir` first, so that rustc finds bpf-linker.
fn path_with(dir: &Path) -> OsString {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(path) = env::var_os("PATH") {
        paths.extend(env::split_paths(&path));
    }
    env::join_paths(paths).unwrap_or_default()
}
