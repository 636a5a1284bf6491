//! OCI containers for the tests: a busybox root file system, run with
//! runc or podman, and removed again when the test ends, also on failure.

use std::{
    fs,
    os::unix::fs::symlink,
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

use crate::{process::run, scratch::ScratchDir, tools::require_tool};

/// Where Debian's busybox-static installs its binary.
const BUSYBOX: &str = "/bin/busybox";

/// Commands linked to busybox in the root file system.
const APPLETS: [&str; 7] = ["sh", "sleep", "true", "cat", "hostname", "ls", "unshare"];

/// An OCI bundle: `config.json` and a busybox root file system.
pub struct Bundle {
    dir: ScratchDir,
}

impl Bundle {
    /// Creates a root file system with busybox and its applet links, and a
    /// `runc spec` configuration without a terminal that runs `args` in
    /// new pid, net, ipc, uts, mount and cgroup namespaces.
    #[track_caller]
    #[must_use]
    pub fn new(args: &[&str]) -> Self {
        require_tool("runc", "runc");
        assert!(
            Path::new(BUSYBOX).is_file(),
            "{BUSYBOX} not found; install the busybox-static package"
        );
        let dir = ScratchDir::new("bundle");
        let bin = dir.path().join("rootfs/bin");
        fs::create_dir_all(&bin).expect("creating the root file system failed");
        for empty in ["proc", "sys", "dev", "tmp", "etc"] {
            fs::create_dir_all(dir.path().join("rootfs").join(empty))
                .expect("creating the root file system failed");
        }
        fs::copy(BUSYBOX, bin.join("busybox")).expect("copying busybox failed");
        for applet in APPLETS {
            symlink("busybox", bin.join(applet)).expect("linking a busybox applet failed");
        }
        run(Command::new("runc").arg("spec").current_dir(dir.path())).assert_success();
        let path = dir.path().join("config.json");
        let mut config: Value =
            serde_json::from_str(&fs::read_to_string(&path).expect("reading config.json failed"))
                .expect("runc spec wrote invalid JSON");
        config["process"]["terminal"] = Value::Bool(false);
        config["process"]["args"] = args.iter().map(|arg| Value::from(*arg)).collect();
        // runc creates the cgroup namespace from the container's first
        // process, which lives on, unlike the setup process that creates
        // the others.
        config["linux"]["namespaces"]
            .as_array_mut()
            .expect("runc spec wrote linux.namespaces")
            .push(serde_json::json!({"type": "cgroup"}));
        fs::write(&path, config.to_string()).expect("writing config.json failed");
        Self { dir }
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    #[must_use]
    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }
}

/// A runc container name that runs `runc delete --force` on drop, so that
/// its state directory, cgroups and processes go away with the test.
pub struct RuncContainer {
    pub name: String,
}

impl RuncContainer {
    /// Creates a name unique to this test process and `label`.
    #[must_use]
    pub fn new(label: &str) -> Self {
        Self {
            name: format!("nstrace-{label}-{}", std::process::id()),
        }
    }
}

impl Drop for RuncContainer {
    fn drop(&mut self) {
        // A failure here means the container is already gone.
        let _ = Command::new("runc")
            .args(["delete", "--force", &self.name])
            .output();
    }
}

/// A podman image and container that are removed on drop.
pub struct PodmanContainer {
    pub name: String,
    pub image: String,
}

impl PodmanContainer {
    /// Imports `rootfs` as an image named after this test process.
    #[track_caller]
    #[must_use]
    pub fn import(rootfs: &Path, label: &str) -> Self {
        require_tool("podman", "podman");
        require_tool("tar", "tar");
        let name = format!("nstrace-{label}-{}", std::process::id());
        let image = format!("localhost/{name}:1");
        let tarball = rootfs.with_extension("tar");
        run(Command::new("tar")
            .arg("-C")
            .arg(rootfs)
            .arg("-cf")
            .arg(&tarball)
            .arg("."))
        .assert_success();
        run(Command::new("podman")
            .arg("import")
            .arg(&tarball)
            .arg(&image))
        .assert_success();
        Self { name, image }
    }
}

impl Drop for PodmanContainer {
    fn drop(&mut self) {
        // Failures here mean the container or image is already gone.
        let _ = Command::new("podman")
            .args(["rm", "--force", &self.name])
            .output();
        let _ = Command::new("podman")
            .args(["rmi", "--force", &self.image])
            .output();
    }
}
