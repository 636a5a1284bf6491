//! A temporary directory removed on drop.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::Context;

pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates a directory named for `label` and this process id under the
    /// system temporary directory.
    pub fn new(label: &str) -> anyhow::Result<Self> {
        let path =
            std::env::temp_dir().join(format!("nstrace-bench-{label}-{}", std::process::id()));
        fs::create_dir_all(&path).with_context(|| format!("creating {} failed", path.display()))?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Err(error) = fs::remove_dir_all(&self.path) {
            eprintln!(
                "nstrace-bench: removing {} failed: {error}",
                self.path.display()
            );
        }
    }
}
