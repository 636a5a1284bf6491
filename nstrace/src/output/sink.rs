//! Writers of JSON lines to standard output or a file.

use std::{
    fs::{File, OpenOptions},
    io::{self, BufWriter, Write},
    os::unix::fs::OpenOptionsExt,
    path::Path,
};

use super::event::Event;

/// Where records go.
pub struct Sink {
    writer: Box<dyn Write + Send>,
}

impl Sink {
    pub fn stdout() -> Self {
        Self {
            writer: Box::new(BufWriter::new(io::stdout())),
        }
    }

    /// Opens `path` for appending, creating it with mode 0600 so that only
    /// its owner reads the audit trail.
    pub fn file(path: &Path) -> io::Result<Self> {
        let file: File = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        Ok(Self {
            writer: Box::new(BufWriter::new(file)),
        })
    }

    /// Writes one record as a line of JSON.
    pub fn write(&mut self, event: &Event) -> io::Result<()> {
        serde_json::to_writer(&mut self.writer, event)?;
        self.writer.write_all(b"\n")
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}
