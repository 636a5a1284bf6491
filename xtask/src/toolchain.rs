//! Finding, or installing, a Rust toolchain that builds for the BPF
//! target, and bpf-linker.
//!
//! Two toolchains work. A rustup nightly with the `rust-src` component
//! builds `core` for BPF with `-Z build-std=core`. Without rust-src,
//! Debian's `rustc-web` (Rust 1.96, LLVM 22) works, since its package
//! `libstd-rust-web-dev-bpf` ships a prebuilt `core` for bpfel and bpfeb;
//! aya-ebpf uses an unstable feature, so that build sets `RUSTC_BOOTSTRAP`.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context};

use crate::{command, packages};

/// Debian packages for building the eBPF object with Debian's rustc, and
/// bpf-linker against Debian's LLVM.
const DEBIAN_BPF_PACKAGES: [&str; 7] = [
    "rustc-web",
    "cargo-web",
    "libstd-rust-web-dev-bpf",
    "llvm-22-dev",
    "libpolly-22-dev",
    "libzstd-dev",
    "zlib1g-dev",
];

/// bpf-linker release that builds against LLVM 22.
const BPF_LINKER_VERSION: &str = "0.13.0";

/// Toolchain that builds the eBPF object.
#[derive(Clone, Debug)]
pub enum Toolchain {
    /// rustup's nightly with rust-src: `cargo +nightly -Z build-std=core`.
    Nightly,
    /// Debian's rustc and cargo, with a prebuilt `core` for BPF.
    Debian { rustc: PathBuf, cargo: PathBuf },
}

/// Tools that the builds need.
#[derive(Clone, Debug)]
pub struct Tools {
    pub toolchain: Toolchain,
    /// Folder holding bpf-linker, put first on PATH for the eBPF build.
    pub linker_dir: PathBuf,
}

impl Toolchain {
    pub fn describe(&self) -> String {
        match self {
            Toolchain::Nightly => "rustup nightly with rust-src (-Z build-std=core)".to_string(),
            Toolchain::Debian { rustc, .. } => {
                let version =
                    command::output(Command::new(rustc).arg("--version")).unwrap_or_default();
                format!(
                    "Debian's {version} at {} with its prebuilt BPF core",
                    rustc.display()
                )
            }
        }
    }
}

/// Finds a toolchain and bpf-linker, installing them when missing.
pub fn setup() -> anyhow::Result<Tools> {
    let toolchain = if let Some(toolchain) = find_toolchain() {
        toolchain
    } else {
        eprintln!("xtask: no Rust toolchain that builds for bpfel-unknown-none was found");
        packages::install(&DEBIAN_BPF_PACKAGES, "building the eBPF object")?;
        find_toolchain().context(
            "Debian's rustc-web was installed but /usr/bin/rustc has no core library for bpfel-unknown-none",
        )?
    };
    eprintln!("xtask: eBPF toolchain: {}", toolchain.describe());
    let linker_dir = ensure_bpf_linker(&toolchain)?;
    Ok(Tools {
        toolchain,
        linker_dir,
    })
}

fn find_toolchain() -> Option<Toolchain> {
    if nightly_has_rust_src() {
        return Some(Toolchain::Nightly);
    }
    let rustc = PathBuf::from("/usr/bin/rustc");
    let cargo = PathBuf::from("/usr/bin/cargo");
    if rustc.exists() && cargo.exists() {
        let sysroot = command::output(Command::new(&rustc).args(["--print", "sysroot"]))?;
        let core = Path::new(&sysroot).join("lib/rustlib/bpfel-unknown-none/lib");
        if core.is_dir() {
            return Some(Toolchain::Debian { rustc, cargo });
        }
    }
    None
}

fn nightly_has_rust_src() -> bool {
    let Some(sysroot) = command::output(
        Command::new("rustc")
            .args(["+nightly", "--print", "sysroot"])
            .env_remove("RUSTUP_TOOLCHAIN"),
    ) else {
        return false;
    };
    Path::new(&sysroot)
        .join("lib/rustlib/src/rust/library/core/Cargo.toml")
        .exists()
}

/// Cargo's folder of installed binaries.
fn cargo_bin_dir() -> PathBuf {
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from("/root/.cargo"));
    home.join("bin")
}

fn ensure_bpf_linker(toolchain: &Toolchain) -> anyhow::Result<PathBuf> {
    let bin = cargo_bin_dir();
    if bin.join("bpf-linker").exists() {
        return Ok(bin);
    }
    if let Some(found) = command::output(Command::new("sh").args(["-c", "command -v bpf-linker"])) {
        if let Some(dir) = Path::new(&found).parent() {
            return Ok(dir.to_path_buf());
        }
    }
    eprintln!("xtask: bpf-linker not found; installing bpf-linker {BPF_LINKER_VERSION} with cargo install");
    let mut install = Command::new("cargo");
    install.args(["install", "bpf-linker", "--version", BPF_LINKER_VERSION]);
    match toolchain {
        Toolchain::Debian { .. } => {
            // The crate's default LLVM comes as a download this build cannot
            // rely on, so link against Debian's LLVM 22 instead.
            packages::ensure(
                &[
                    "llvm-22-dev",
                    "libpolly-22-dev",
                    "libzstd-dev",
                    "zlib1g-dev",
                ],
                "building bpf-linker",
            )?;
            install
                .args(["--no-default-features", "--features", "llvm-22"])
                .env("LLVM_PREFIX", "/usr/lib/llvm-22");
        }
        Toolchain::Nightly => {}
    }
    command::run(&mut install).context("installing bpf-linker failed")?;
    if !bin.join("bpf-linker").exists() {
        bail!("bpf-linker was installed but is not in {}", bin.display());
    }
    Ok(bin)
}
