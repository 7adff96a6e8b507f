//! Approval gates: the approval record, link secrets, and the decision logic
//! the approval endpoint and the CLI share. `request-approval`, which opens a
//! gate, is [`crate::handlers::request_approval`]; the page behind a link is
//! [`crate::approval_page`].
//!
//! Security model: a link carries the approval id, a link id and a random
//! 256-bit secret; S3 stores only the secret's SHA-256. GET never decides;
//! a decision is a POST with the secret, written with If-Match so exactly one
//! of two racing decisions wins. Each reviewer's link decides once. The task
//! token stays in the approval record and is used only to call the workflow.
//!
//! Layout:
//! - [`record`]: the approval record, its links and decisions;
//! - [`links`]: secrets, their hashes, link URLs and checking a presented link;
//! - [`decision`]: taking a decision, tallying the quorum, resuming the workflow;
//! - [`queries`]: a deployment's open approval and all its approvals.
//!
//! Everything public is re-exported here, so `crate::approval::X` names it.

pub mod decision;
pub mod links;
pub mod queries;
pub mod record;

pub use decision::{
    approvers, decide, decide_as_operator, load, tally, Credential, DecisionError, DecisionRequest,
    RESUME_GRACE_SECONDS,
};
pub use links::{hash_secret, issue_link, link_url, new_approval_id, verify_link, IssuedLink};
pub use queries::{all, pending};
pub use record::{
    ApprovalLink, ApprovalRecord, ApprovalStatus, DecisionEntry, MAX_COMMENT_CHARS,
    MAX_REVIEWER_NAME_CHARS, MAX_USER_AGENT_CHARS,
};
