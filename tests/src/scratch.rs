//! Scratch directories for files that one test writes.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A new directory under the system temporary directory, removed with its
/// contents on drop.
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates a directory whose name contains `label`, the test process id
    /// and a counter, so that tests running in parallel never share one.
    #[track_caller]
    pub fn new(label: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "nstrace-test-{label}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        fs::create_dir(&path)
            .unwrap_or_else(|error| panic!("creating {} failed: {error}", path.display()));
        Self { path }
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // A failure here leaves a directory in the temporary directory and
        // must not hide the test's own result.
        let _ = fs::remove_dir_all(&self.path);
    }
}
