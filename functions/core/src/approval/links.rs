//! Approval links: random secrets, their SHA-256, the constant-time check of a
//! presented secret, and link URLs.
//!
//! A link carries the approval id, a link id and a random 256-bit secret; only
//! the secret's hash is stored, so the bucket alone cannot decide a gate.

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::record::{ApprovalLink, ApprovalRecord};

/// A link to send: who it is for and its URL (holding the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedLink {
    /// The reviewer as listed in the request, or `None` for a shared link;
    /// the notification routes on it (message attribute `reviewer`).
    pub reviewer: Option<String>,
    /// The full URL, secret included (see [`link_url`]); sent once, in the
    /// notification, and kept nowhere.
    pub url: String,
}

/// Hex SHA-256 of a secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `bytes` random bytes from the thread's CSPRNG, as lowercase hex.
fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// Compare two equal-length strings without an early exit.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The URL of a link: `<base>approvals/<deployment>/<approval>?link=<id>&secret=<secret>`.
pub fn link_url(
    base: &str,
    deployment_id: &str,
    approval_id: &str,
    link_id: &str,
    secret: &str,
) -> String {
    let base = if base.ends_with('/') {
        base.to_string()
    } else {
        format!("{base}/")
    };
    format!("{base}approvals/{deployment_id}/{approval_id}?link={link_id}&secret={secret}")
}

/// A fresh approval id for the gate before step `step_index`:
/// `step<index>-` and 8 random hex digits.
pub fn new_approval_id(step_index: usize) -> String {
    format!("step{step_index}-{}", random_hex(4))
}

/// Issue one link for `reviewer` (`None`: a shared link): what the approval
/// record keeps (the secret's hash) and what is sent (the URL with the secret).
pub fn issue_link(
    base: &str,
    deployment_id: &str,
    approval_id: &str,
    reviewer: Option<String>,
) -> (ApprovalLink, IssuedLink) {
    let link_id = random_hex(8);
    let secret = random_hex(32);
    let link = ApprovalLink {
        link_id: link_id.clone(),
        reviewer: reviewer.clone(),
        secret_sha256: hash_secret(&secret),
    };
    let url = link_url(base, deployment_id, approval_id, &link_id, &secret);
    (link, IssuedLink { reviewer, url })
}

/// The link of `approval` that `link_id` and `secret` prove, if any.
pub fn verify_link<'a>(
    approval: &'a ApprovalRecord,
    link_id: &str,
    secret: &str,
) -> Option<&'a ApprovalLink> {
    let presented = hash_secret(secret);
    approval
        .links
        .iter()
        .find(|l| l.link_id == link_id && constant_time_eq(&l.secret_sha256, &presented))
}
