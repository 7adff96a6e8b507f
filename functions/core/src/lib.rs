//! shiftgate-core: everything shiftgate knows, behind thin Lambda binaries.
//!
//! Layout:
//! - [`strategy`]: the catalogue of deployment strategies and their parsing;
//! - [`plan`]: pure planning of weights, schedule, gates and workflow cost;
//! - [`request`]: the deployment request format and its validation;
//! - [`ports`]: the capabilities handlers need (alias control, object store,
//!   notifier, health source, function invoker, workflow callback, clock);
//! - [`adapters`]: AWS SDK and local implementations of the ports.

pub mod adapters;
pub mod plan;
pub mod ports;
pub mod request;
pub mod strategy;
