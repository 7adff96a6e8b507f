//! Implementations of the ports.
pub mod aws;
