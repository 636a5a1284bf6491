//! Output: record types, their schemas and formats, and where they are
//! written.

pub mod alert;
pub mod ecs;
pub mod enrichment;
pub mod event;
pub mod format;
pub mod queue;
pub mod rotate;
pub mod schema;
pub mod sink;
pub mod syslog;
pub mod timestamp;
