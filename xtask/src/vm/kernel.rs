//! Debian's cloud kernels for the guests: finding the newest build that
//! apt lists, downloading its package once and unpacking its `vmlinuz`.

use std::{
    fmt, fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context};
use clap::ValueEnum;

use crate::{command, packages};

/// A kernel series that the guests boot, from Debian 12's archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KernelSeries {
    /// Debian 12's own kernel, `linux-image-6.1.0-NN-cloud-amd64-unsigned`.
    #[value(name = "6.1")]
    Linux6_1,
    /// The bookworm backport, `linux-image-6.12.NNN+deb12-cloud-amd64-unsigned`.
    #[value(name = "6.12")]
    Linux6_12,
}

impl KernelSeries {
    pub const ALL: [Self; 2] = [Self::Linux6_1, Self::Linux6_12];

    /// The version as the command line and the guest's report spell it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Linux6_1 => "6.1",
            Self::Linux6_12 => "6.12",
        }
    }

    /// Package name around the build number: Debian numbers 6.1 builds by
    /// ABI (`6.1.0-57`) and 6.12 builds by upstream patch level (`6.12.118`).
    fn package_affixes(self) -> (&'static str, &'static str) {
        match self {
            Self::Linux6_1 => ("linux-image-6.1.0-", "-cloud-amd64-unsigned"),
            Self::Linux6_12 => ("linux-image-6.12.", "+deb12-cloud-amd64-unsigned"),
        }
    }

    /// Returns the build number in `package`, or `None` when the name is of
    /// another series or flavour.
    fn build_number(self, package: &str) -> Option<u32> {
        let (prefix, suffix) = self.package_affixes();
        package
            .strip_prefix(prefix)?
            .strip_suffix(suffix)?
            .parse()
            .ok()
    }

    /// Picks the package with the highest build number from apt-cache
    /// search output lines (`NAME - DESCRIPTION`).
    fn newest_package(self, search_output: &str) -> Option<String> {
        search_output
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .filter_map(|name| self.build_number(name).map(|number| (number, name)))
            .max()
            .map(|(_, name)| name.to_string())
    }
}

impl fmt::Display for KernelSeries {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.label())
    }
}

/// A kernel image ready to boot.
pub struct Kernel {
    pub package: String,
    pub vmlinuz: PathBuf,
}

/// Returns the newest kernel of `series` that apt lists, downloading and
/// unpacking its package into `cache_dir` unless an earlier run did.
pub fn fetch(series: KernelSeries, cache_dir: &Path) -> anyhow::Result<Kernel> {
    let package = find_package(series)?;
    let package_dir = cache_dir.join(&package);
    let vmlinuz = package_dir.join("vmlinuz");
    if vmlinuz.is_file() {
        eprintln!(
            "xtask: Linux {series}: using {package} from {}",
            vmlinuz.display()
        );
        return Ok(Kernel { package, vmlinuz });
    }

    eprintln!("xtask: Linux {series}: downloading {package} with apt-get download");
    let download_dir = cache_dir.join(format!("{package}.download"));
    if download_dir.exists() {
        fs::remove_dir_all(&download_dir)
            .with_context(|| format!("removing {} failed", download_dir.display()))?;
    }
    fs::create_dir_all(&download_dir)
        .with_context(|| format!("creating {} failed", download_dir.display()))?;
    download(&package, &download_dir)?;
    let deb = find_deb(&download_dir, &package)?;
    let unpacked = download_dir.join("unpacked");
    command::run(Command::new("dpkg").arg("-x").arg(&deb).arg(&unpacked))
        .with_context(|| format!("unpacking {} failed", deb.display()))?;
    let image = find_vmlinuz(&unpacked.join("boot"))
        .with_context(|| format!("{package} contains no boot/vmlinuz-*"))?;

    fs::create_dir_all(&package_dir)
        .with_context(|| format!("creating {} failed", package_dir.display()))?;
    // Copied under a temporary name and renamed, so that an interrupted
    // copy is never taken for a cached kernel.
    let partial = package_dir.join("vmlinuz.partial");
    fs::copy(&image, &partial).with_context(|| format!("copying {} failed", image.display()))?;
    fs::rename(&partial, &vmlinuz)
        .with_context(|| format!("renaming {} failed", partial.display()))?;
    // The package's modules take about 100 MB and the guests load none.
    fs::remove_dir_all(&download_dir)
        .with_context(|| format!("removing {} failed", download_dir.display()))?;
    eprintln!(
        "xtask: Linux {series}: cached {} as {}",
        image.display(),
        vmlinuz.display()
    );
    Ok(Kernel { package, vmlinuz })
}

/// Finds the newest package of `series` in apt's lists, updating the lists
/// once when they have none.
fn find_package(series: KernelSeries) -> anyhow::Result<String> {
    if let Some(package) = search(series)? {
        return Ok(package);
    }
    eprintln!("xtask: apt lists no Linux {series} cloud kernel; updating the package lists");
    packages::update()?;
    search(series)?.with_context(|| {
        let (prefix, suffix) = series.package_affixes();
        format!(
            "apt lists no package named {prefix}N{suffix} after apt-get update; \
             Linux {series} guests need Debian 12 (bookworm) sources, with \
             bookworm-updates and bookworm-security, in /etc/apt/sources.list"
        )
    })
}

fn search(series: KernelSeries) -> anyhow::Result<Option<String>> {
    let (prefix, suffix) = series.package_affixes();
    let pattern = format!(
        "^{}[0-9]+{}$",
        prefix.replace('.', "\\."),
        suffix.replace('+', "\\+")
    );
    let output = command::output(Command::new("apt-cache").args(["search", "--names-only", &pattern]))
        .context("apt-cache search failed; the guests' kernels come from Debian packages, so this needs a Debian or Ubuntu host")?;
    Ok(series.newest_package(&output))
}

/// Runs `apt-get download` in `dir`, updating the package lists and trying
/// once more when the first attempt fails: a build that apt still lists
/// may have left the mirror.
fn download(package: &str, dir: &Path) -> anyhow::Result<()> {
    let attempt = || {
        command::run(
            Command::new("apt-get")
                .args(["download", "-q", package])
                .current_dir(dir),
        )
    };
    if let Err(error) = attempt() {
        eprintln!("xtask: downloading {package} failed ({error:#}); updating the package lists and trying again");
        packages::update()?;
        attempt().with_context(|| format!("downloading the kernel package {package} failed twice; check the network and the apt sources"))?;
    }
    Ok(())
}

fn find_deb(dir: &Path, package: &str) -> anyhow::Result<PathBuf> {
    let entries = fs::read_dir(dir).with_context(|| format!("reading {} failed", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with(&format!("{package}_")) && name.ends_with(".deb") {
            return Ok(path);
        }
    }
    bail!(
        "apt-get download reported success but {} contains no {package}_*.deb",
        dir.display()
    )
}

fn find_vmlinuz(boot: &Path) -> anyhow::Result<PathBuf> {
    let entries =
        fs::read_dir(boot).with_context(|| format!("reading {} failed", boot.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("vmlinuz-"))
        {
            return Ok(path);
        }
    }
    bail!("{} has no vmlinuz-* file", boot.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEARCH_6_1: &str = "\
linux-image-6.1.0-9-cloud-amd64-unsigned - Linux 6.1 for x86-64 cloud
linux-image-6.1.0-57-cloud-amd64-unsigned - Linux 6.1 for x86-64 cloud
linux-image-6.1.0-56-cloud-amd64-unsigned - Linux 6.1 for x86-64 cloud
linux-image-6.1.0-58-cloud-amd64-dbg - Debug symbols
linux-image-6.1.0-60-rt-amd64-unsigned - Linux 6.1 for 64-bit PCs, PREEMPT_RT
";

    #[test]
    fn newest_6_1_build_chosen() {
        assert_eq!(
            KernelSeries::Linux6_1.newest_package(SEARCH_6_1).as_deref(),
            Some("linux-image-6.1.0-57-cloud-amd64-unsigned")
        );
    }

    #[test]
    fn newest_6_12_build_chosen() {
        let output = "\
linux-image-6.12.99+deb12-cloud-amd64-unsigned - Linux 6.12 for x86-64 cloud
linux-image-6.12.118+deb12-cloud-amd64-unsigned - Linux 6.12 for x86-64 cloud
linux-image-6.12.117+deb12-cloud-amd64-unsigned - Linux 6.12 for x86-64 cloud
linux-image-6.12.120+deb12-cloud-amd64 - Linux 6.12 for x86-64 cloud (signed)
";
        assert_eq!(
            KernelSeries::Linux6_12.newest_package(output).as_deref(),
            Some("linux-image-6.12.118+deb12-cloud-amd64-unsigned")
        );
    }

    #[test]
    fn other_series_not_chosen() {
        assert_eq!(KernelSeries::Linux6_12.newest_package(SEARCH_6_1), None);
    }
}
