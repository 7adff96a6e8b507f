//! Implementations of the ports: AWS SDK adapters, a directory-backed store
//! for local runs, and in-memory adapters for tests and the local fleet.

pub mod aws;
pub mod fs_store;
pub mod memory;
