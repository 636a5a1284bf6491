//! Record destinations: standard output, a file, a syslog receiver, or a
//! file and a syslog receiver at once.

use std::{
    io::{self, BufWriter, Write},
    path::PathBuf,
};

use super::{
    event::Event,
    format::Format,
    rotate::{RecordFile, Rotation},
    syslog::{transport::Target, SyslogWriter},
};

/// Output settings from the command line.
#[derive(Clone, Debug, Default)]
pub struct SinkConfig {
    pub format: Format,
    /// Write to this file instead of standard output.
    pub file: Option<PathBuf>,
    pub rotation: Option<Rotation>,
    /// Send to this syslog receiver, instead of standard output.
    pub syslog: Option<Target>,
}

/// One place records go.
enum Destination {
    Stdout(BufWriter<io::Stdout>),
    File(RecordFile),
    Syslog(SyslogWriter),
}

/// Encodes each record once and writes it to every destination.
pub struct Sink {
    format: Format,
    destinations: Vec<Destination>,
    /// The record being written, reused so that each record does not
    /// allocate its own buffer.
    json: Vec<u8>,
}

impl Sink {
    /// Opens the file and connects to the syslog receiver that `config`
    /// names; standard output when it names neither. `hostname` is the
    /// syslog HOSTNAME field.
    pub fn open(config: &SinkConfig, hostname: &str) -> anyhow::Result<Self> {
        use anyhow::Context;

        let mut destinations = Vec::new();
        if let Some(path) = &config.file {
            let file = RecordFile::open(path, config.rotation)
                .with_context(|| format!("opening output file {} failed", path.display()))?;
            destinations.push(Destination::File(file));
        }
        if let Some(target) = &config.syslog {
            let writer = SyslogWriter::open(target.clone(), hostname.to_string())
                .with_context(|| format!("connecting to syslog receiver {target} failed"))?;
            destinations.push(Destination::Syslog(writer));
        }
        if destinations.is_empty() {
            destinations.push(Destination::Stdout(BufWriter::new(io::stdout())));
        }
        Ok(Self {
            format: config.format,
            destinations,
            json: Vec::with_capacity(1024),
        })
    }

    /// Writes one record in the configured format to every destination.
    /// A destination that fails does not keep the record from the others;
    /// the first error is returned, and the caller counts the record as
    /// failed.
    pub fn write(&mut self, event: &Event) -> io::Result<()> {
        self.json.clear();
        self.format.encode_into(&mut self.json, event)?;
        let json = &self.json;
        let mut result = Ok(());
        for destination in &mut self.destinations {
            let written = match destination {
                Destination::Stdout(writer) => writer
                    .write_all(json)
                    .and_then(|()| writer.write_all(b"\n")),
                Destination::File(file) => file.write_line(json),
                Destination::Syslog(writer) => writer.write(event, json),
            };
            if result.is_ok() {
                result = written;
            }
        }
        result
    }

    pub fn flush(&mut self) -> io::Result<()> {
        for destination in &mut self.destinations {
            match destination {
                Destination::Stdout(writer) => writer.flush()?,
                Destination::File(file) => file.flush()?,
                Destination::Syslog(_) => {}
            }
        }
        Ok(())
    }
}
