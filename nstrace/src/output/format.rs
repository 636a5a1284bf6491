//! Record formats: the native schema or Elastic Common Schema names.

use clap::ValueEnum;

use super::{ecs::EcsRecord, event::Event};

/// Record format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// nstrace's own schema, `nstrace/1`.
    #[default]
    Native,
    /// Elastic Common Schema field names, with the native record under
    /// `nstrace`.
    Ecs,
}

impl Format {
    /// Encodes one record as JSON, without a line end.
    pub fn encode(self, event: &Event) -> serde_json::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.encode_into(&mut out, event)?;
        Ok(out)
    }

    /// Appends one record to `out` as JSON, without a line end, so that a
    /// writer can reuse one buffer for every record.
    pub fn encode_into(self, out: &mut Vec<u8>, event: &Event) -> serde_json::Result<()> {
        match self {
            Format::Native => serde_json::to_writer(out, event),
            Format::Ecs => serde_json::to_writer(out, &EcsRecord::new(event)),
        }
    }
}
