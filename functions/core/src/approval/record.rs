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

/// Where an approval stands; stored as `"Pending"`, `"Approved"` or
/// `"Rejected"`, and set only by [`tally`](super::tally).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApprovalStatus {
    /// Waiting for decisions.
    Pending,
    /// The quorum approved.
    Approved,
    /// A reviewer rejected.
    Rejected,
}

/// One link as the approval record keeps it (`links[]`): written by
/// `request-approval`, never changed. The secret itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalLink {
    /// 16 random lowercase hex digits; the link's URL carries it as `link=`.
    pub link_id: String,
    /// The reviewer the link belongs to, as listed in the request's
    /// `approval.reviewers` (an e-mail address or a name); `null` for a shared
    /// link, whose page asks for a name.
    pub reviewer: Option<String>,
    /// SHA-256 of the link's secret (the URL's `secret=`, 64 hex digits), as
    /// 64 lowercase hex digits.
    pub secret_sha256: String,
}

/// One decision, with who, when and from where (`decisions[]`, appended by
/// [`decide`](super::decide) in the order taken).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionEntry {
    /// Who decided: the personal link's reviewer, the name typed on a shared
    /// link's page (trimmed, at most [`MAX_REVIEWER_NAME_CHARS`]), or the
    /// operator's IAM ARN from `shiftgate approve`/`reject`.
    pub reviewer: String,
    /// `true` for approve, `false` for reject (the button pressed, or the CLI command).
    pub approve: bool,
    /// The reviewer's comment from the page's form (trimmed) or the CLI's
    /// `--comment`, cut to [`MAX_COMMENT_CHARS`]; absent when none was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When the decision was taken, by the backend's clock (RFC 3339, UTC).
    pub at: DateTime<Utc>,
    /// The client's IP address as the function URL saw it
    /// (`requestContext.http.sourceIp`); absent when unknown (the CLI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// The client's `User-Agent` (the function URL's request context, else the
    /// header; `shiftgate-cli/<version>` from the CLI), cut to
    /// [`MAX_USER_AGENT_CHARS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// How it was decided: `link:<link id>` from the page, or `cli` for an operator.
    pub via: String,
}

/// The approval record, `deployments/<id>/approvals/<aid>.json`.
///
/// `Debug` is written by hand so the task token never reaches a log line
/// through `{:?}`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRecord {
    /// `step<stepIndex>-` and 8 random hex digits, made by `request-approval`
    /// ([`new_approval_id`](super::new_approval_id)); the record's file name.
    pub approval_id: String,
    /// The id of the deployment it gates (the request's `deploymentId` or the
    /// one `prepare` generated); the record lives under its prefix.
    pub deployment_id: String,
    /// Index into the plan's steps of the step waiting behind the gate, from
    /// the state machine (`$.step.index`).
    pub step_index: usize,
    /// Percent of traffic (0–100) that step routes to the new version, from
    /// the state machine (`$.step.weightPercent`).
    pub weight_percent: f64,
    /// The Step Functions task token (`$$.Task.Token`), opaque; used only to
    /// resume the workflow and never leaves the backend.
    pub task_token: String,
    /// When `request-approval` opened the gate (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
    /// `createdAt` plus the request's `approval.timeoutMinutes`: links stop
    /// working then, and the workflow times the task out too.
    pub expires_at: DateTime<Utc>,
    /// Distinct approvals that open the gate: the request's `approval.quorum`.
    pub quorum: u32,
    /// The links sent out, one per reviewer or one shared link.
    pub links: Vec<ApprovalLink>,
    /// Decisions so far, oldest first.
    pub decisions: Vec<DecisionEntry>,
    /// Where it stands, as [`tally`](super::tally) last judged the decisions.
    pub status: ApprovalStatus,
    /// When the workflow accepted the outcome (`SendTaskSuccess`). `None`
    /// after a decision means the call failed and is owed: the next click on
    /// any valid link sends it again (see [`RESUME_GRACE_SECONDS`](super::RESUME_GRACE_SECONDS)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_resumed_at: Option<DateTime<Utc>>,
    /// When every link was published (RFC 3339, UTC); `None` while they are
    /// not all out. A retried `request-approval` for the same gate sends links
    /// again only then, so reviewers never get a second set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links_sent_at: Option<DateTime<Utc>>,
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
            .field("links_sent_at", &self.links_sent_at)
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
            links_sent_at: None,
        };
        // WHEN it is formatted with `{:?}` THEN the token is not shown
        let shown = format!("{approval:?}");
        assert!(!shown.contains(token) && shown.contains("<redacted>"));
    }
}
