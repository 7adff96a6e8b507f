//! The decision engine: who may decide, how decisions tally against the
//! quorum, the conditional write that lets exactly one of racing decisions
//! win, and resuming the workflow with the outcome (again, if a first
//! callback was lost).

use chrono::{DateTime, Duration, Utc};

use super::links::verify_link;
use super::record::{
    ApprovalRecord, ApprovalStatus, DecisionEntry, MAX_COMMENT_CHARS, MAX_REVIEWER_NAME_CHARS,
    MAX_USER_AGENT_CHARS,
};
use crate::contracts::ApprovalDecision;
use crate::error::HandlerError;
use crate::notify::{self, NotificationKind};
use crate::ports::{PortError, Services, WriteCondition};
use crate::record::{keys, EventKind};
use crate::store::{self, StoreError};

/// How long after a decision its callback counts as in flight rather than
/// lost: a retry sooner could resume the workflow twice.
pub const RESUME_GRACE_SECONDS: i64 = 30;

/// The identity a decision counts under: names typed on a shared link vary in
/// case and spacing, and "Ana" twice must not make a quorum of two.
fn identity(reviewer: &str) -> String {
    reviewer.trim().to_lowercase()
}

/// A decision as submitted, by the approval page's form or the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRequest {
    /// The deployment id: the link's path segment after `approvals/`, or the
    /// CLI's argument. Unchecked input: [`load`] refuses anything but
    /// `[A-Za-z0-9_-]{1,80}`.
    pub deployment_id: String,
    /// The approval id: the link's last path segment, or the CLI's pending
    /// approval. Checked like `deployment_id`.
    pub approval_id: String,
    /// How the decider proved who they are.
    pub credential: Credential,
    /// `true` to approve, `false` to reject.
    pub approve: bool,
    /// The decider's comment, if any; stored cut to [`MAX_COMMENT_CHARS`].
    pub comment: Option<String>,
    /// The client's IP address, if known (the function URL's request context).
    pub source_ip: Option<String>,
    /// The client's user agent, if known; stored cut to [`MAX_USER_AGENT_CHARS`].
    pub user_agent: Option<String>,
}

/// How a decider proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A link's id and secret; `name` is what a shared link's page asked for.
    Link {
        /// The link's id (16 hex digits), from the form's `link` field.
        link_id: String,
        /// The link's secret (64 hex digits), from the form's `secret` field;
        /// checked against the stored hash, never stored or logged.
        secret: String,
        /// The name typed on a shared link's page; ignored for a personal link,
        /// whose reviewer is the link's. Stored trimmed, cut to
        /// [`MAX_REVIEWER_NAME_CHARS`].
        name: Option<String>,
    },
    /// An IAM-authenticated operator (the CLI), by caller ARN.
    Operator(String),
}

/// Why a decision was not taken. Each maps to an HTTP status on the page.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecisionError {
    /// Unknown approval, link or secret (404/403: no detail that helps guessing).
    #[error("this link is not valid")]
    NotValid,
    /// The approval was decided already, or this reviewer decided already (409).
    #[error("{0}")]
    AlreadyDecided(String),
    /// The link expired (410).
    #[error("this approval expired at {0}")]
    Expired(DateTime<Utc>),
    /// Something is missing from the form (400).
    #[error("{0}")]
    BadRequest(String),
    /// The backend failed (500).
    #[error("the decision could not be recorded: {0}")]
    Backend(String),
}

impl From<HandlerError> for DecisionError {
    fn from(error: HandlerError) -> Self {
        match error {
            HandlerError::DeploymentNotFound(_) => DecisionError::NotValid,
            other => DecisionError::Backend(other.to_string()),
        }
    }
}

impl From<StoreError> for DecisionError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::RecordNotFound(_) => DecisionError::NotValid,
            StoreError::KeptChanging { .. } => {
                DecisionError::Backend("too many concurrent decisions; try again".into())
            }
            other => DecisionError::Backend(other.to_string()),
        }
    }
}

impl From<PortError> for DecisionError {
    fn from(error: PortError) -> Self {
        DecisionError::Backend(error.to_string())
    }
}

/// Load an approval record for display (no secret needed to look, but the
/// caller must check the link with [`verify_link`] before showing details).
pub async fn load(
    services: &Services,
    deployment_id: &str,
    approval_id: &str,
) -> Result<(ApprovalRecord, String), DecisionError> {
    let valid_id = |s: &str| {
        !s.is_empty()
            && s.len() <= 80
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if !valid_id(deployment_id) || !valid_id(approval_id) {
        return Err(DecisionError::NotValid);
    }
    store::read::<ApprovalRecord>(
        services.store.as_ref(),
        &keys::approval(deployment_id, approval_id),
    )
    .await?
    .ok_or(DecisionError::NotValid)
}

/// How many distinct reviewers approved among `decisions` (counted by
/// identity, so "Ana" and " ana" are one).
pub fn approvers(decisions: &[DecisionEntry]) -> usize {
    let mut approvers: Vec<String> = decisions
        .iter()
        .filter(|d| d.approve)
        .map(|d| identity(&d.reviewer))
        .collect();
    approvers.sort_unstable();
    approvers.dedup();
    approvers.len()
}

/// Where the approval stands after `decisions`.
pub fn tally(quorum: u32, decisions: &[DecisionEntry]) -> ApprovalStatus {
    if decisions.iter().any(|d| !d.approve) {
        return ApprovalStatus::Rejected;
    }
    if approvers(decisions) >= quorum as usize {
        ApprovalStatus::Approved
    } else {
        ApprovalStatus::Pending
    }
}

/// Take a decision. Exactly one of racing decisions on the same state wins:
/// the write is conditional on the ETag read, and a loser re-reads and is
/// judged again against the new state.
pub async fn decide(
    services: &Services,
    request: DecisionRequest,
) -> Result<ApprovalRecord, DecisionError> {
    let key = keys::approval(&request.deployment_id, &request.approval_id);
    let mut retries = store::ConflictRetries::new(&key);
    loop {
        retries.next_attempt()?;
        let (mut approval, etag) =
            load(services, &request.deployment_id, &request.approval_id).await?;
        let proven = match &request.credential {
            Credential::Link {
                link_id, secret, ..
            } => verify_link(&approval, link_id, secret).is_some(),
            Credential::Operator(_) => true,
        };
        if !proven {
            return Err(DecisionError::NotValid);
        }
        // A decided gate whose callback failed would otherwise wait for its
        // timeout, and `onTimeout: continue` would then turn a reject into a go.
        if approval.status != ApprovalStatus::Pending && approval.workflow_resumed_at.is_none() {
            resume_owed_workflow(services, &approval, &etag).await?;
        }
        let (reviewer, via) = match &request.credential {
            Credential::Link {
                link_id,
                secret,
                name,
            } => {
                let link =
                    verify_link(&approval, link_id, secret).ok_or(DecisionError::NotValid)?;
                let reviewer = match (&link.reviewer, name) {
                    (Some(reviewer), _) => reviewer.clone(),
                    (None, Some(name)) if !name.trim().is_empty() => {
                        name.trim().chars().take(MAX_REVIEWER_NAME_CHARS).collect()
                    }
                    (None, _) => {
                        return Err(DecisionError::BadRequest("please give your name".into()))
                    }
                };
                // A personal link decides once; a shared link once per name.
                let used = approval.decisions.iter().any(|d| {
                    d.via == format!("link:{link_id}")
                        && (link.reviewer.is_some() || identity(&d.reviewer) == identity(&reviewer))
                });
                if used {
                    return Err(DecisionError::AlreadyDecided(
                        "This link was used already: its decision is recorded.".into(),
                    ));
                }
                (reviewer, format!("link:{link_id}"))
            }
            Credential::Operator(arn) => (arn.clone(), "cli".to_string()),
        };
        if approval.status != ApprovalStatus::Pending {
            let outcome = if approval.status == ApprovalStatus::Approved {
                "approved"
            } else {
                "rejected"
            };
            return Err(DecisionError::AlreadyDecided(format!(
                "This deployment was already {outcome}."
            )));
        }
        let now = services.clock.now();
        if now > approval.expires_at {
            return Err(DecisionError::Expired(approval.expires_at));
        }
        if approval
            .decisions
            .iter()
            .any(|d| identity(&d.reviewer) == identity(&reviewer))
        {
            return Err(DecisionError::AlreadyDecided(format!(
                "{reviewer} has decided already."
            )));
        }
        approval.decisions.push(DecisionEntry {
            reviewer: reviewer.clone(),
            approve: request.approve,
            comment: request
                .comment
                .clone()
                .map(|c| c.chars().take(MAX_COMMENT_CHARS).collect()),
            at: now,
            source_ip: request.source_ip.clone(),
            user_agent: request
                .user_agent
                .clone()
                .map(|u| u.chars().take(MAX_USER_AGENT_CHARS).collect()),
            via,
        });
        approval.status = tally(approval.quorum, &approval.decisions);
        let Some(etag) = store::replace(services.store.as_ref(), &key, &approval, etag).await?
        else {
            continue; // decided or reopened meanwhile: judge the new state
        };
        after_decision(
            services,
            &mut approval,
            etag,
            &reviewer,
            request.approve,
            request.comment.as_deref(),
        )
        .await?;
        return Ok(approval);
    }
}

/// An operator's decision on a deployment's open approval gate, as `operator`
/// (an IAM ARN, or `local:<user>@<host>`): what `shiftgate approve|reject` does
/// against the stack's bucket and against a local run alike.
pub async fn decide_as_operator(
    services: &Services,
    deployment_id: &str,
    operator: &str,
    approve: bool,
    comment: Option<String>,
) -> Result<ApprovalRecord, DecisionError> {
    let open = super::pending(services.store.as_ref(), deployment_id)
        .await?
        .ok_or_else(|| {
            DecisionError::BadRequest(format!("deployment {deployment_id} has no open approval"))
        })?;
    decide(
        services,
        DecisionRequest {
            deployment_id: deployment_id.to_string(),
            approval_id: open.approval_id,
            credential: Credential::Operator(operator.to_string()),
            approve,
            comment,
            source_ip: None,
            user_agent: Some(format!("shiftgate-cli/{}", env!("CARGO_PKG_VERSION"))),
        },
    )
    .await
}

/// What `SendTaskSuccess` carries for a decided approval.
fn decision_output(approval: &ApprovalRecord) -> serde_json::Value {
    let approved = approval.status == ApprovalStatus::Approved;
    let decision = ApprovalDecision {
        approved,
        decided_by: approval
            .decisions
            .iter()
            .filter(|d| d.approve == approved)
            .map(|d| d.reviewer.clone())
            .collect(),
        approval_id: approval.approval_id.clone(),
    };
    // A struct of a bool, strings and a list of strings: serde_json always writes it.
    serde_json::to_value(&decision).unwrap_or_default()
}

/// Tell the workflow the outcome and note that it heard it. A task that is
/// no longer waiting (timed out) makes the decision too late: 410.
async fn resume_workflow(
    services: &Services,
    approval: &mut ApprovalRecord,
    etag: String,
) -> Result<(), DecisionError> {
    match services
        .workflow
        .send_task_success(&approval.task_token, &decision_output(approval))
        .await
    {
        Ok(()) => {}
        Err(PortError::NotFound(_)) => return Err(DecisionError::Expired(approval.expires_at)),
        Err(other) => return Err(other.into()),
    }
    approval.workflow_resumed_at = Some(services.clock.now());
    let key = keys::approval(&approval.deployment_id, &approval.approval_id);
    // Only another resume can have written since; either way the workflow heard.
    if let Err(error) = store::write(
        services.store.as_ref(),
        &key,
        &*approval,
        WriteCondition::IfMatch(etag),
    )
    .await
    {
        tracing::warn!(deployment_id = %approval.deployment_id, approval_id = %approval.approval_id, %error, "workflow resumed but not noted");
    }
    Ok(())
}

/// Send a decided approval's callback again if it is owed, once its first
/// attempt is past [`RESUME_GRACE_SECONDS`]; a task that stopped waiting is settled.
async fn resume_owed_workflow(
    services: &Services,
    approval: &ApprovalRecord,
    etag: &str,
) -> Result<(), DecisionError> {
    let decided_at = approval.decisions.iter().map(|d| d.at).max();
    let now = services.clock.now();
    if decided_at.is_some_and(|at| now < at + Duration::seconds(RESUME_GRACE_SECONDS)) {
        return Ok(());
    }
    tracing::warn!(deployment_id = %approval.deployment_id, approval_id = %approval.approval_id, "sending an owed workflow callback again");
    match resume_workflow(services, &mut approval.clone(), etag.to_string()).await {
        Ok(()) | Err(DecisionError::Expired(_)) => Ok(()),
        Err(other) => Err(other),
    }
}

/// After a recorded decision: resume the workflow if the gate is decided,
/// then tell the timeline and the topic.
async fn after_decision(
    services: &Services,
    approval: &mut ApprovalRecord,
    etag: String,
    reviewer: &str,
    approve: bool,
    comment: Option<&str>,
) -> Result<(), DecisionError> {
    // The approval record is the decision and its audit trail. The timeline
    // gets it before the workflow resumes, so it reads in causal order: the
    // decision, then the shift it let through (never "promoted" first).
    let verb = if approve { "approved" } else { "rejected" };
    let comment = comment.map(|c| format!(": \"{c}\"")).unwrap_or_default();
    let message = format!("{reviewer} {verb} {}{comment}", approval.approval_id);
    let at = services.clock.now();
    let updated = store::update_record(services.store.as_ref(), &approval.deployment_id, |r| {
        r.log(at, EventKind::ApprovalDecided, approve, message.clone());
    })
    .await;
    if approval.status != ApprovalStatus::Pending {
        resume_workflow(services, approval, etag).await?;
    }
    match updated {
        Ok(record) => {
            notify::lifecycle(
                services,
                &record,
                NotificationKind::Decision,
                &format!("Deployment {verb} by {reviewer}"),
                &message,
            )
            .await
        }
        Err(error) => {
            tracing::warn!(deployment_id = %approval.deployment_id, approval_id = %approval.approval_id, %error, "decision not added to the timeline")
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::pending;
    use crate::testing::{Harness, TASK_TOKEN};

    const TOKEN: &str = TASK_TOKEN;

    #[tokio::test]
    async fn an_operator_decides_as_their_iam_identity() {
        // GIVEN an open gate
        let h = Harness::new();
        let id = h.gate_for(&["alice@example.com"]).await;
        let open = pending(h.services.store.as_ref(), &id)
            .await
            .unwrap()
            .unwrap();
        // WHEN an operator rejects through the CLI path
        let operator = "arn:aws:sts::123456789012:assumed-role/release/ana";
        let decided = decide(
            &h.services,
            DecisionRequest {
                deployment_id: id.clone(),
                approval_id: open.approval_id.clone(),
                credential: Credential::Operator(operator.into()),
                approve: false,
                comment: Some("p99 regressed".into()),
                source_ip: None,
                user_agent: Some("shiftgate-cli/0.1.0".into()),
            },
        )
        .await
        .unwrap();
        // THEN the decision carries the caller's ARN, the workflow hears the reject,
        // and no gate is open any more
        assert_eq!(decided.status, ApprovalStatus::Rejected);
        assert_eq!(decided.decisions[0].reviewer, operator);
        assert_eq!(decided.decisions[0].via, "cli");
        let calls = h.callback.calls();
        assert!(
            matches!(&calls[..], [crate::adapters::memory::Callback::Success(token, output)]
            if token == TOKEN && output["approved"] == false)
        );
        assert!(pending(h.services.store.as_ref(), &id)
            .await
            .unwrap()
            .is_none());
    }

    #[test]
    fn tally_counts_distinct_approvers_and_any_reject_rejects() {
        let at = chrono::DateTime::UNIX_EPOCH;
        let entry = |reviewer: &str, approve: bool| DecisionEntry {
            reviewer: reviewer.into(),
            approve,
            comment: None,
            at,
            source_ip: None,
            user_agent: None,
            via: "link:x".into(),
        };
        assert_eq!(tally(2, &[entry("Ana", true)]), ApprovalStatus::Pending);
        assert_eq!(
            tally(2, &[entry("Ana", true), entry(" ana", true)]),
            ApprovalStatus::Pending
        );
        assert_eq!(
            tally(2, &[entry("Ana", true), entry("Bo", true)]),
            ApprovalStatus::Approved
        );
        assert_eq!(
            tally(1, &[entry("Ana", true), entry("Bo", false)]),
            ApprovalStatus::Rejected
        );
    }
}
