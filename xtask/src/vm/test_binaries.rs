//! The end-to-end test binaries and the helper binary they run, as cargo
//! builds them for the host.

use std::{
    env,
    io::BufRead,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{bail, Context};
use serde_json::Value;

use crate::command;

/// Test binaries that run in the guests: creation, entry, filters,
/// lifetimes and mounts, each checked on Linux 6.1 and 6.12. The others
/// run on the host only, and the build prints which. The SIEM tests need
/// rsyslog, runc, podman and systemd-analyze, which the guests do not have.
///
/// NOTE: `hostile`, `flood` and `pid_reuse` match by namespace id (Linux
/// 6.18); `overload`, `robustness` and `slow_sink` have not been run in a
/// guest yet.
pub const GUEST_TESTS: [&str; 6] = [
    "churn",
    "filters",
    "lifetimes",
    "mounts",
    "ns_create",
    "ns_enter",
];

/// Name of the helper binary that the end-to-end tests run.
const HELPER_NAME: &str = "nshelper";

/// One integration test target of the `tests` crate.
pub struct TestBinary {
    /// The target name, such as `ns_create` for `tests/tests/ns_create.rs`.
    pub name: String,
    pub path: PathBuf,
    /// Number of tests that `--list` shows.
    pub test_count: usize,
}

pub struct TestBinaries {
    pub tests: Vec<TestBinary>,
    /// The helper, whose path is compiled into the tests through
    /// `CARGO_BIN_EXE_nshelper`.
    pub helper: PathBuf,
}

/// Builds the workspace's tests without running them and returns the
/// end-to-end ones named in `selected`. `ebpf_object` is needed because
/// the collector crate, whose unit tests are part of the same build,
/// embeds it.
pub fn build(root: &Path, ebpf_object: &Path, selected: &[&str]) -> anyhow::Result<TestBinaries> {
    let manifest = root.join("tests/Cargo.toml");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    // The same package selection and profile as the host test run, so that
    // cargo reuses its build instead of building with other features.
    build
        .current_dir(root)
        .args([
            "test",
            "--release",
            "--workspace",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .env("NSTRACE_EBPF_OBJECT", ebpf_object)
        .stdout(Stdio::piped());
    eprintln!("xtask: running {}", command::describe(&build));
    let mut child = build
        .spawn()
        .with_context(|| format!("starting {} failed", command::describe(&build)))?;
    let stdout = child
        .stdout
        .take()
        .context("cargo's stdout is not a pipe")?;

    let mut tests = Vec::new();
    let mut helper = None;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.context("reading cargo's output failed")?;
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let Some(artifact) = Artifact::parse(&message) else {
            continue;
        };
        if artifact.manifest_path != manifest {
            continue;
        }
        if artifact.kind == "test" && artifact.is_test_profile {
            if !selected.contains(&artifact.name.as_str()) {
                eprintln!("xtask: {} is not run in the guests", artifact.name);
                continue;
            }
            tests.push((artifact.name, artifact.executable));
        } else if artifact.kind == "bin"
            && !artifact.is_test_profile
            && artifact.name == HELPER_NAME
        {
            helper = Some(artifact.executable);
        }
    }
    let status = child.wait().context("waiting for cargo failed")?;
    if !status.success() {
        bail!("building the tests failed with {status}");
    }
    let helper = helper.with_context(|| {
        format!(
            "cargo built no {HELPER_NAME} binary for {}",
            manifest.display()
        )
    })?;
    let unknown: Vec<&str> = selected
        .iter()
        .copied()
        .filter(|name| !tests.iter().any(|(built, _)| built == name))
        .collect();
    if !unknown.is_empty() {
        bail!(
            "no test binary named {} in {}",
            unknown.join(", "),
            manifest.display()
        );
    }
    tests.sort();

    let tests = tests
        .into_iter()
        .map(|(name, path)| {
            let test_count = count_tests(&path)?;
            Ok(TestBinary {
                name,
                path,
                test_count,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(TestBinaries { tests, helper })
}

/// The fields of a `compiler-artifact` message that select the binaries.
struct Artifact {
    manifest_path: PathBuf,
    name: String,
    kind: String,
    is_test_profile: bool,
    executable: PathBuf,
}

impl Artifact {
    fn parse(message: &Value) -> Option<Self> {
        if message["reason"] != "compiler-artifact" {
            return None;
        }
        let target = &message["target"];
        Some(Self {
            manifest_path: PathBuf::from(message["manifest_path"].as_str()?),
            name: target["name"].as_str()?.to_string(),
            kind: target["kind"].get(0)?.as_str()?.to_string(),
            is_test_profile: message["profile"]["test"].as_bool()?,
            executable: PathBuf::from(message["executable"].as_str()?),
        })
    }
}

/// Counts the tests in a libtest binary, so that a test that the guest
/// never ran shows up as missing.
fn count_tests(binary: &Path) -> anyhow::Result<usize> {
    let mut list = Command::new(binary);
    list.args(["--list", "--format", "terse"]);
    let output = command::output(&mut list)
        .with_context(|| format!("{} failed", command::describe(&list)))?;
    Ok(output
        .lines()
        .filter(|line| line.ends_with(": test"))
        .count())
}
