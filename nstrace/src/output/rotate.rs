//! A record file that is rotated by size.
//!
//! Rotation happens between records: a record is never split across two
//! files, and every record written reaches a file. `FILE` is renamed to
//! `FILE.1`, `FILE.1` to `FILE.2` and so on, and the file past the
//! retention count is deleted. A record larger than the size limit is
//! written alone into a file.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, BufWriter, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

/// Size limit and retention count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// Largest size of a file in bytes, unless one record is larger.
    pub max_bytes: u64,
    /// Rotated files kept beside the current one; 0 deletes each file at
    /// rotation.
    pub keep: u32,
}

/// An append-only file of lines, created with mode 0600, rotated by
/// [`Rotation`] when one is given.
pub struct RecordFile {
    path: PathBuf,
    rotation: Option<Rotation>,
    writer: BufWriter<File>,
    /// Bytes in the current file, including those still buffered.
    size: u64,
}

impl RecordFile {
    /// Opens `path` for appending, creating it with mode 0600 so that only
    /// its owner reads the audit trail.
    pub fn open(path: &Path, rotation: Option<Rotation>) -> io::Result<Self> {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            rotation,
            writer: BufWriter::new(file),
            size,
        })
    }

    /// Writes `record` and a newline, rotating first when the record
    /// would take the file past its size limit.
    pub fn write_line(&mut self, record: &[u8]) -> io::Result<()> {
        let len = record.len() as u64 + 1;
        if let Some(rotation) = self.rotation {
            if self.size > 0 && self.size + len > rotation.max_bytes {
                self.rotate(rotation.keep)?;
            }
        }
        self.writer.write_all(record)?;
        self.writer.write_all(b"\n")?;
        self.size += len;
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    fn rotate(&mut self, keep: u32) -> io::Result<()> {
        self.writer.flush()?;
        if keep == 0 {
            fs::remove_file(&self.path)?;
        } else {
            remove_if_present(&rotated(&self.path, keep))?;
            for index in (1..keep).rev() {
                rename_if_present(&rotated(&self.path, index), &rotated(&self.path, index + 1))?;
            }
            fs::rename(&self.path, rotated(&self.path, 1))?;
        }
        self.writer = BufWriter::new(open_append(&self.path)?);
        self.size = 0;
        log::debug!("output: rotated {}", self.path.display());
        Ok(())
    }
}

/// Path of the `index`-th rotated file, `FILE.index`.
pub fn rotated(path: &Path, index: u32) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{index}"));
    PathBuf::from(name)
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn rename_if_present(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("nstrace-rotate-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn rotation_keeps_every_record_whole() {
        let dir = scratch("whole");
        let path = dir.join("out.jsonl");
        let rotation = Rotation {
            max_bytes: 100,
            keep: 50,
        };
        let mut file = RecordFile::open(&path, Some(rotation)).unwrap();
        for i in 0..40 {
            file.write_line(format!("record-{i:03}-xxxxxxxxxxxxxxxxxxxxx").as_bytes())
                .unwrap();
        }
        file.flush().unwrap();

        let mut lines = Vec::new();
        for index in (1..=50).rev() {
            if let Ok(text) = fs::read_to_string(rotated(&path, index)) {
                assert!(text.len() <= 100, "file {index} has {} bytes", text.len());
                lines.extend(text.lines().map(str::to_string));
            }
        }
        lines.extend(
            fs::read_to_string(&path)
                .unwrap()
                .lines()
                .map(str::to_string),
        );
        let expected: Vec<String> = (0..40)
            .map(|i| format!("record-{i:03}-xxxxxxxxxxxxxxxxxxxxx"))
            .collect();
        assert_eq!(lines, expected);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn retention_deletes_oldest() {
        let dir = scratch("keep");
        let path = dir.join("out.jsonl");
        let rotation = Rotation {
            max_bytes: 10,
            keep: 2,
        };
        let mut file = RecordFile::open(&path, Some(rotation)).unwrap();
        for i in 0..6 {
            file.write_line(format!("line-{i}").as_bytes()).unwrap();
        }
        file.flush().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "line-5\n");
        assert_eq!(fs::read_to_string(rotated(&path, 1)).unwrap(), "line-4\n");
        assert_eq!(fs::read_to_string(rotated(&path, 2)).unwrap(), "line-3\n");
        assert!(!rotated(&path, 3).exists());
        for file in [path.clone(), rotated(&path, 1), rotated(&path, 2)] {
            let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
        fs::remove_dir_all(dir).unwrap();
    }
}
