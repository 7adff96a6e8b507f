//! The `shiftgate` command line: plan strategies, run deployments locally, and
//! operate deployments on AWS.
//!
//! - [`commands`]: one module per command (`plan`, `status`, `history`,
//!   `approve`/`reject`, `deploy`);
//! - [`local`]: `shiftgate local run` — the project's own state machine run by
//!   the embedded interpreter against the same handlers and local stand-ins,
//!   with the approval page served on 127.0.0.1;
//! - [`ci`]: the one rule for "running under CI", for the tests.

pub mod ci;
pub mod commands;
pub mod local;
