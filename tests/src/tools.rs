//! Checks that the machine has what the tests need: root and external tools.

use std::{
    env, fs,
    path::{Path, PathBuf},
};

/// Fails the test unless it runs as root, which loading eBPF programs and
/// creating most namespaces require.
#[track_caller]
pub fn require_root() {
    let euid = nix::unistd::geteuid();
    assert!(
        euid.is_root(),
        "these tests must run as root (effective uid is {euid}), for example with sudo"
    );
}

/// Fails the test, with a message that names the package to install,
/// unless `tool` is a file in a directory of `PATH`.
#[track_caller]
pub fn require_tool(tool: &str, package: &str) {
    find_tool(tool, package);
}

/// Path of `tool` in `PATH`; fails the test with the package to install
/// when it is missing.
#[track_caller]
pub fn find_tool(tool: &str, package: &str) -> PathBuf {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{tool} not found in PATH; install the {package} package"))
}

/// Copies `tool` into `dir` as `name`. A process started from the copy
/// has `name` as its comm, so a `--comm` filter matches only the
/// processes of the test that made the copy, not those of tests running
/// beside it.
#[track_caller]
pub fn renamed_tool(tool: &str, package: &str, dir: &Path, name: &str) -> PathBuf {
    let source = find_tool(tool, package);
    let copy = dir.join(name);
    fs::copy(&source, &copy).unwrap_or_else(|error| {
        panic!(
            "copying {} to {} failed: {error}",
            source.display(),
            copy.display()
        )
    });
    copy
}
