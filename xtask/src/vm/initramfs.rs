//! The guests' initramfs: busybox, nstrace, the end-to-end test binaries,
//! the real tools they run, and the shared libraries all of these load.

use std::{
    collections::BTreeSet,
    fs,
    os::unix::fs::{symlink, PermissionsExt},
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context};

use crate::command;

use super::test_binaries::TestBinaries;

/// busybox-static's binary, which provides the shell and the commands
/// that /init and the tests run (`sh`, `sleep`, `true`, `mount`).
const BUSYBOX: &str = "/bin/busybox";

/// Programs that the tests run: util-linux's unshare, nsenter, lsns and
/// setpriv, iproute2's ip, and bash. The guests get the host's binaries
/// and their libraries, so that the tests run the same programs as on the
/// host and not busybox's applets of the same names.
pub const HOST_TOOLS: [&str; 6] = ["unshare", "nsenter", "lsns", "setpriv", "ip", "bash"];

const INIT_SCRIPT: &str = include_str!("init.sh");

/// Directories that /init mounts file systems on, which hide whatever the
/// initramfs has there.
const MOUNT_POINTS: [&str; 3] = ["/dev", "/proc", "/sys"];

/// Accounts that exist in every Debian system, so that tools which look up
/// uid 0 or 65534 find them.
const PASSWD: &str =
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const GROUP: &str = "root:x:0:\nnogroup:x:65534:\n";

/// Binaries for the initramfs, besides busybox and the util-linux tools.
pub struct Contents<'a> {
    pub nstrace: &'a Path,
    pub tests: &'a TestBinaries,
}

/// Writes a gzip-compressed newc cpio archive to `archive`, staged in
/// `staging`, which is emptied first.
pub fn build(contents: &Contents, staging: &Path, archive: &Path) -> anyhow::Result<()> {
    if staging.exists() {
        fs::remove_dir_all(staging)
            .with_context(|| format!("removing {} failed", staging.display()))?;
    }
    for dir in [
        "dev", "proc", "sys", "tmp", "run", "root", "etc", "tests", "bin", "sbin", "usr/bin",
        "usr/sbin",
    ] {
        create_dir(&staging.join(dir))?;
    }

    let mut executables = Vec::new();
    executables.push(copy_executable(BUSYBOX, staging, Path::new(BUSYBOX))?);
    for tool in HOST_TOOLS {
        let host_path = find_in_path(tool)?;
        executables.push(copy_executable(
            &host_path,
            staging,
            &Path::new("/usr/bin").join(tool),
        )?);
    }
    executables.push(copy_executable(
        contents.nstrace,
        staging,
        Path::new("/usr/bin/nstrace"),
    )?);
    for test in &contents.tests.tests {
        executables.push(copy_executable(
            &test.path,
            staging,
            &Path::new("/tests").join(&test.name),
        )?);
    }
    // The tests run the helper at the absolute path that cargo compiled
    // into them, so it goes to the same path in the guest.
    let helper = &contents.tests.helper;
    if let Some(mount_point) = MOUNT_POINTS
        .iter()
        .find(|mount_point| helper.starts_with(mount_point))
    {
        bail!(
            "the helper {} would be hidden in the guest, where /init mounts a file system on {mount_point}; build in another directory",
            helper.display()
        );
    }
    executables.push(copy_executable(
        &contents.tests.helper,
        staging,
        &contents.tests.helper,
    )?);

    let mut libraries = BTreeSet::new();
    for executable in &executables {
        libraries.extend(shared_libraries(executable)?);
    }
    for library in &libraries {
        copy_file(library, &staging.join(relative(library)), 0o755)?;
    }
    link_busybox_applets(staging)?;

    write_file(&staging.join("init"), INIT_SCRIPT, 0o755)?;
    write_file(&staging.join("etc/passwd"), PASSWD, 0o644)?;
    write_file(&staging.join("etc/group"), GROUP, 0o644)?;
    fs::set_permissions(staging.join("tmp"), fs::Permissions::from_mode(0o1777))
        .context("setting the mode of tmp failed")?;

    pack(staging, archive)
}

/// Copies `source` to `guest_path` inside `staging` and returns the copy.
fn copy_executable(
    source: impl AsRef<Path>,
    staging: &Path,
    guest_path: &Path,
) -> anyhow::Result<PathBuf> {
    let target = staging.join(relative(guest_path));
    copy_file(source.as_ref(), &target, 0o755)?;
    Ok(target)
}

/// Lists the libraries and the dynamic loader that `ldd` shows for
/// `executable`, none for a static one.
fn shared_libraries(executable: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let output = Command::new("ldd")
        .arg(executable)
        .output()
        .context("running ldd failed; it comes with libc-bin")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        // ldd exits 1 and prints "not a dynamic executable" for busybox-static.
        if String::from_utf8_lossy(&output.stderr).contains("not a dynamic executable")
            || text.contains("not a dynamic executable")
        {
            return Ok(Vec::new());
        }
        bail!("ldd {} failed: {text}", executable.display());
    }
    let mut libraries = Vec::new();
    for line in text.lines() {
        if line.contains("not found") {
            bail!(
                "ldd {}: {}; install the package that provides this library",
                executable.display(),
                line.trim()
            );
        }
        // Lines look like `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6
        // (0x...)` or `/lib64/ld-linux-x86-64.so.2 (0x...)`. The vDSO line
        // has no path.
        if let Some(path) = line.split_whitespace().find(|word| word.starts_with('/')) {
            libraries.push(PathBuf::from(path));
        }
    }
    Ok(libraries)
}

/// Links every busybox applet to /bin/busybox at the path busybox lists
/// for it, except where a real program is already in place.
fn link_busybox_applets(staging: &Path) -> anyhow::Result<()> {
    let list = command::output(Command::new(BUSYBOX).arg("--list-full"))
        .context("`busybox --list-full` failed")?;
    for applet in list.lines() {
        let link = staging.join(applet);
        let name = Path::new(applet).file_name().unwrap_or_default();
        let taken_elsewhere = ["bin", "sbin", "usr/bin", "usr/sbin"]
            .iter()
            .any(|dir| staging.join(dir).join(name).exists());
        if link.exists() || taken_elsewhere {
            continue;
        }
        if let Some(parent) = link.parent() {
            create_dir(parent)?;
        }
        symlink(BUSYBOX, &link).with_context(|| format!("linking {} failed", link.display()))?;
    }
    Ok(())
}

/// Packs `staging` with `cpio -H newc`, owned by root, and gzip.
fn pack(staging: &Path, archive: &Path) -> anyhow::Result<()> {
    let mut pack = Command::new("bash");
    pack.current_dir(staging)
        .arg("-c")
        .arg("set -o pipefail; find . -print | cpio --quiet -o -H newc -R 0:0 | gzip -1 >\"$1\"")
        .arg("bash")
        .arg(archive);
    command::run(&mut pack).context("packing the initramfs failed")?;
    let size = fs::metadata(archive)
        .with_context(|| format!("{} is missing after packing", archive.display()))?
        .len();
    eprintln!(
        "xtask: wrote {} ({} MiB)",
        archive.display(),
        size / (1024 * 1024)
    );
    Ok(())
}

fn find_in_path(tool: &str) -> anyhow::Result<PathBuf> {
    let found = command::output(Command::new("sh").args(["-c", "command -v \"$1\"", "sh", tool]))
        .filter(|path| path.starts_with('/'));
    found.map(PathBuf::from).with_context(|| {
        format!(
            "{tool} not found in PATH; the guests need it, install util-linux, iproute2 and bash"
        )
    })
}

/// `path` without its leading `/`, to join under the staging directory.
fn relative(path: &Path) -> &Path {
    path.strip_prefix("/").unwrap_or(path)
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {} failed", dir.display()))
}

/// Copies `source`, following symlinks, to `target` with `mode`.
fn copy_file(source: &Path, target: &Path, mode: u32) -> anyhow::Result<()> {
    if let Some(parent) = target.parent() {
        create_dir(parent)?;
    }
    fs::copy(source, target).with_context(|| {
        format!(
            "copying {} to {} failed",
            source.display(),
            target.display()
        )
    })?;
    fs::set_permissions(target, fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {} failed", target.display()))
}

fn write_file(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    fs::write(path, text).with_context(|| format!("writing {} failed", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {} failed", path.display()))
}
