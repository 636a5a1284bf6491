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
        match self {
            Format::Native => serde_json::to_vec(event),
            Format::Ecs => serde_json::to_vec(&EcsRecord::new(event)),
        }
    }
}
