//! Output: record types and where they are written.

pub mod event;
pub mod queue;
pub mod sink;
