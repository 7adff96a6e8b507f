//! Implementations of the ports: AWS SDK adapters, a directory-backed store
//! for local runs, and in-memory adapters for tests and the local fleet.

pub mod aws;
pub mod fs_store;
pub mod memory;

use sha2::{Digest, Sha256};

/// The ETag the local stores give an object: the quoted SHA-256 of its bytes, so
/// equal content has an equal tag across processes (S3's are opaque; only
/// equality matters to [`crate::ports::WriteCondition`]).
pub fn content_etag(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Sha256::digest(body)))
}
