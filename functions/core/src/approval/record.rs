//! The approval record (`deployments/<id>/approvals/<aid>.json`): where a gate
//! stands, its links (secret hashes only), and every decision with its audit
//! details.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest reviewer name a decision keeps, in characters: a name typed on a
/// shared link is cut to it, and the page's name field has it as `maxlength`.
/// (A browser counts UTF-16 units, never fewer than characters, so the page
/// never accepts more than is kept.)
pub const MAX_REVIEWER_NAME_CHARS: usize = 120;

/// Longest comment a decision keeps, in characters; the page's comment field
/// has it as `maxlength`.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// Longest user agent a decision keeps, in characters (the audit needs the
/// browser, not an unbounded header).
pub const MAX_USER_AGENT_CHARS: usize = 300;

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApprovalStatus {
    /// Waiting for decisions.
    Pending,
    /// The quorum approved.
    Approved,
    /// A reviewer rejected.
    Rejected,
}

/// One personal (or shared) link. The secret itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalLink {
    /// Identifies the link in its URL.
    pub link_id: String,
    /// The reviewer the link belongs to; `None` for a shared link (the page asks for a name).
    pub reviewer: Option<String>,
    /// Hex SHA-256 of the link's secret.
    pub secret_sha256: String,
}

/// One decision, with who, when and from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionEntry {
    /// Who decided (the link's reviewer, the name typed on a shared link, or an IAM ARN).
    pub reviewer: String,
    /// Approve (`true`) or reject.
    pub approve: bool,
    /// Free text from the reviewer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// The client's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// The client's user agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// `link` or `cli`.
    pub via: String,
}

/// The approval record, `deployments/<id>/approvals/<aid>.json`.
///
/// `Debug` is written by hand so the task token never reaches a log line
/// through `{:?}`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRecord {
    /// The approval id.
    pub approval_id: String,
    /// The deployment it gates.
    pub deployment_id: String,
    /// The step waiting behind the gate.
    pub step_index: usize,
    /// The weight that step shifts to.
    pub weight_percent: f64,
    /// The Step Functions task token; never leaves the backend.
    pub task_token: String,
    /// When the gate opened.
    pub created_at: DateTime<Utc>,
    /// When links stop working (the workflow times out the task then too).
    pub expires_at: DateTime<Utc>,
    /// How many distinct approvals open the gate.
    pub quorum: u32,
    /// The links sent out.
    pub links: Vec<ApprovalLink>,
    /// Decisions so far.
    pub decisions: Vec<DecisionEntry>,
    /// Where it stands.
    pub status: ApprovalStatus,
    /// When the workflow accepted the outcome (`SendTaskSuccess`). `None`
    /// after a decision means the call failed and is owed: the next click on
    /// any valid link sends it again (see [`RESUME_GRACE_SECONDS`](super::RESUME_GRACE_SECONDS)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_resumed_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for ApprovalRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApprovalRecord")
            .field("approval_id", &self.approval_id)
            .field("deployment_id", &self.deployment_id)
            .field("step_index", &self.step_index)
            .field("weight_percent", &self.weight_percent)
            .field("task_token", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("quorum", &self.quorum)
            .field("links", &self.links)
            .field("decisions", &self.decisions)
            .field("status", &self.status)
            .field("workflow_resumed_at", &self.workflow_resumed_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_s_debug_output_hides_the_task_token() {
        // GIVEN an approval record holding a task token
        let token = "task-token-that-must-stay-in-the-backend";
        let at = DateTime::UNIX_EPOCH;
        let approval = ApprovalRecord {
            approval_id: "step1-0a1b2c3d".into(),
            deployment_id: "checkout-v8".into(),
            step_index: 1,
            weight_percent: 100.0,
            task_token: token.into(),
            created_at: at,
            expires_at: at,
            quorum: 1,
            links: vec![],
            decisions: vec![],
            status: ApprovalStatus::Pending,
            workflow_resumed_at: None,
        };
        // WHEN it is formatted with `{:?}` THEN the token is not shown
        let shown = format!("{approval:?}");
        assert!(!shown.contains(token) && shown.contains("<redacted>"));
    }
}
