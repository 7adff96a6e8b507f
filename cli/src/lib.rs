//! The `shiftgate` command line: plan strategies, run deployments locally, and
//! operate deployments on AWS.
//!
//! - [`plan_cmd`]: `shiftgate plan`;
//! - [`local`]: `shiftgate local run` — the project's own state machine run by
//!   the embedded interpreter against the same handlers and local stand-ins.

pub mod local;
pub mod ops;
pub mod plan_cmd;
