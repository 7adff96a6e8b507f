//! One module per `shiftgate` command; `main.rs` only parses and dispatches.
//!
//! - [`plan`]: `shiftgate plan`, the schedule a strategy makes (no AWS);
//! - [`status`], [`history`]: a deployment's records, from the stack's bucket
//!   or the local state directory ([`source`]);
//! - [`aws`]: the shared SDK config, and SDK failures told as one line a
//!   person can act on;
//! - [`decide`]: `approve` / `reject` an open approval gate as yourself;
//! - [`operate`]: `abort`, `hold`, `resume`, `promote` a deployment in flight;
//! - [`deploy`]: validate a request and start the state machine.
//!
//! `shiftgate local run` lives in [`crate::local`].

pub mod aws;
pub mod decide;
pub mod deploy;
pub mod history;
pub mod operate;
pub mod plan;
pub mod source;
pub mod status;
