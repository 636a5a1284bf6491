//! Installing Debian packages.

use std::{path::Path, process::Command, sync::Once};

use anyhow::{bail, Context};

use crate::command;

static APT_UPDATE: Once = Once::new();

/// Installs `packages` with apt-get, saying why; fails with the package
/// names when this machine has no apt-get or the user is not root.
pub fn install(packages: &[&str], reason: &str) -> anyhow::Result<()> {
    if packages.is_empty() {
        return Ok(());
    }
    let list = packages.join(" ");
    if !Path::new("/usr/bin/apt-get").exists() {
        bail!("{reason} needs the Debian packages {list}, and this machine has no apt-get; install them by hand");
    }
    if !command::is_root() {
        bail!("{reason} needs the Debian packages {list}; run as root, or install them with `sudo apt-get install {list}`");
    }
    eprintln!("xtask: installing Debian packages for {reason}: {list}");
    update()?;
    command::run(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .with_context(|| format!("installing {list} failed"))
}

/// Runs `apt-get update` unless this process already ran it.
pub fn update() -> anyhow::Result<()> {
    let mut update_result = Ok(());
    APT_UPDATE.call_once(|| {
        update_result = command::run(Command::new("apt-get").args(["update", "-q"]));
    });
    update_result.context("apt-get update failed")
}

/// Returns the subset of `packages` that dpkg does not list as installed.
pub fn missing(packages: &[&'static str]) -> Vec<&'static str> {
    packages
        .iter()
        .copied()
        .filter(|package| {
            command::output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
                .is_none_or(|status| !status.ends_with("installed"))
        })
        .collect()
}

/// Installs the packages among `packages` that are missing.
pub fn ensure(packages: &[&'static str], reason: &str) -> anyhow::Result<()> {
    install(&missing(packages), reason)
}
