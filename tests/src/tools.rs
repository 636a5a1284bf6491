//! Checks that the machine has what the tests need: root and external tools.

use std::env;

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
    let path = env::var_os("PATH").unwrap_or_default();
    let found = env::split_paths(&path).any(|dir| dir.join(tool).is_file());
    assert!(
        found,
        "{tool} not found in PATH; install the {package} package"
    );
}
