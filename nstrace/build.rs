//! Embeds the eBPF object that `cargo xtask build` compiles.
//!
//! The object is taken from `NSTRACE_EBPF_OBJECT` when set (a missing file
//! is then an error), else from the default output path of the eBPF
//! build. Without either, the binary is built with an empty object and
//! reports at start that it cannot trace.

use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=NSTRACE_EBPF_OBJECT");
    let out =
        PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("nstrace-ebpf.o");
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let default = manifest.join("../target/ebpf/bpfel-unknown-none/release/nstrace-ebpf");

    let (source, explicit) = match env::var_os("NSTRACE_EBPF_OBJECT") {
        Some(path) => (PathBuf::from(path), true),
        None => (default, false),
    };
    println!("cargo:rerun-if-changed={}", source.display());
    match fs::read(&source) {
        Ok(bytes) => fs::write(&out, bytes).expect("writing the eBPF object to OUT_DIR"),
        Err(error) if explicit => {
            panic!("NSTRACE_EBPF_OBJECT={}: {error}", source.display());
        }
        Err(_) => {
            println!(
                "cargo:warning=eBPF object not found at {}; this build cannot trace. Run `cargo xtask build`.",
                source.display()
            );
            fs::write(&out, []).expect("writing an empty eBPF object to OUT_DIR");
        }
    }
}
