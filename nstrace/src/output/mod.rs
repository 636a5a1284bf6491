//! Output: record types and where they are written.

pub mod event;
pub mod sink;
