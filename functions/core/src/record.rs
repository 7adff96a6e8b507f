//! The durable records shiftgate keeps in its bucket: the deployment record,
//! the per-alias lock and the history index, with their S3 keys.
//!
//! ```text
//! deployments/<id>/record.json               deployment record (conditional writes)
//! deployments/<id>/approvals/<aid>.json      approval record
//! locks/<function>/<alias>.json              one active deployment per alias
//! history/<function>/<alias>/<time>-<id>.json index for listing
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::operator::OperatorState;
use crate::plan::Plan;
use crate::ports::AliasState;
use crate::request::DeploymentRequest;

/// Where a deployment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeploymentStatus {
    /// Started and not yet ended.
    InProgress,
    /// All traffic is on the new version.
    Succeeded,
    /// The alias was restored to what it was before the deployment.
    RolledBack,
    /// The deployment ended without a clean rollback; an operator must look.
    Failed,
}

impl DeploymentStatus {
    /// Whether the deployment has ended.
    pub fn is_terminal(self) -> bool {
        !matches!(self, DeploymentStatus::InProgress)
    }
}

/// An error as Step Functions reports it to a Catch (`{"Error":…,"Cause":…}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The error name (e.g. `HealthCheckFailed`).
    #[serde(rename = "Error", default)]
    pub error: String,
    /// The cause: a message, or a JSON error object as a string.
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// A Step Functions cause made readable: a Lambda error's cause is the JSON
/// `{"errorType":…,"errorMessage":…}`, which reads as `errorType: errorMessage`;
/// any other cause is returned as it is.
pub fn readable_cause(cause: &str) -> String {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(cause) else {
        return cause.to_string();
    };
    let field = |name: &str| value.get(name).and_then(|v| v.as_str());
    match (field("errorType"), field("errorMessage")) {
        (Some(kind), Some(message)) => format!("{kind}: {message}"),
        (None, Some(message)) => message.to_string(),
        _ => cause.to_string(),
    }
}

impl Failure {
    /// A readable reason: the `errorMessage` inside a Lambda error cause, or the cause.
    pub fn reason(&self) -> String {
        let message = serde_json::from_str::<serde_json::Value>(&self.cause)
            .ok()
            .and_then(|v| {
                v.get("errorMessage")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            });
        match message {
            Some(message) => format!("{}: {message}", self.error),
            None if self.cause.is_empty() => self.error.clone(),
            None => format!("{}: {}", self.error, self.cause),
        }
    }
}

/// What happened, for the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// The deployment was accepted and the alias captured.
    Started,
    /// The smoke test passed or failed.
    SmokeTest,
    /// A hook or smoke test answered (passed or failed).
    Hook,
    /// Reviewers were asked to approve.
    ApprovalRequested,
    /// A reviewer decided.
    ApprovalDecided,
    /// Traffic moved.
    StepShifted,
    /// An operator aborted, held, resumed or promoted the deployment; the
    /// message says who and what.
    OperatorAction,
    /// A health check ran; the event's message holds its verdict and numbers.
    HealthChecked,
    /// The alias was set back to the state captured before the first shift.
    RolledBack,
    /// The deployment reached a terminal status; the lock was released.
    Finished,
}

/// One entry of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What kind of event.
    pub kind: EventKind,
    /// One line a person reads.
    pub message: String,
    /// Whether it went well (a failed hook or check is `false`).
    pub ok: bool,
}

/// The complete, durable record of one deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRecord {
    /// The deployment id (letters, digits, `-`, `_`; at most 64): the request's
    /// `deploymentId`, else the execution's name; the record's key holds it.
    pub deployment_id: String,
    /// The Step Functions execution (or local run) that drives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// The deployment request as `prepare` parsed and accepted it.
    pub request: DeploymentRequest,
    /// The plan `prepare` computed from the request's strategy and options.
    pub plan: Plan,
    /// The alias before the first shift, restored exactly on rollback.
    pub captured_alias: AliasState,
    /// Where the deployment stands.
    pub status: DeploymentStatus,
    /// Share of traffic on the new version now.
    pub current_weight_percent: f64,
    /// The 0-based index of the step `shift-traffic` last completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step: Option<usize>,
    /// Why it failed or rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When the record last changed.
    pub updated_at: DateTime<Utc>,
    /// Everything that happened, in order.
    pub timeline: Vec<TimelineEvent>,
    /// Operator commands in force (abort, hold, promote) and the wait they can
    /// end; see [`crate::operator`]. Absent until an operator acts or the
    /// workflow first waits.
    #[serde(default, skip_serializing_if = "OperatorState::is_empty")]
    pub operator: OperatorState,
}

impl DeploymentRecord {
    /// The function being deployed.
    pub fn function_name(&self) -> &str {
        &self.request.target.function_name
    }

    /// The alias being moved.
    pub fn alias(&self) -> &str {
        &self.request.target.alias
    }

    /// The version traffic moves to.
    pub fn target_version(&self) -> &str {
        &self.request.target.target_version
    }

    /// The version traffic moves from.
    pub fn current_version(&self) -> &str {
        &self.captured_alias.function_version
    }

    /// Append a timeline event.
    pub fn log(
        &mut self,
        at: DateTime<Utc>,
        kind: EventKind,
        ok: bool,
        message: impl Into<String>,
    ) {
        self.timeline.push(TimelineEvent {
            at,
            kind,
            message: message.into(),
            ok,
        });
        self.updated_at = at;
    }
}

/// The per-alias lock: at most one active deployment per alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockRecord {
    /// The deployment id holding the alias (its record is `deployments/<id>/record.json`).
    pub deployment_id: String,
    /// When it took the lock (the taker's clock, UTC).
    pub acquired_at: DateTime<Utc>,
    /// The execution ARN on AWS, or the local run's id, that took the lock: a
    /// retry of that execution may take it again; any other start is refused,
    /// also one that reuses the deployment id. Absent in locks taken outside a
    /// workflow (a direct invocation) and in locks written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
}

/// A line of the history index, for listing deployments of an alias.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The deployment id, as in `deployments/<id>/record.json`.
    pub deployment_id: String,
    /// The published version traffic moved (or was moving) to.
    pub target_version: String,
    /// The version the alias served when the deployment started.
    pub previous_version: String,
    /// Where it stands (as of the last index write).
    pub status: DeploymentStatus,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
}

/// S3 keys, in one place.
pub mod keys {
    use chrono::{DateTime, Utc};

    /// The bare function name keys hold, whatever form the request used (keys
    /// never hold ARNs): see [`crate::lambda_name::bare_function_name`].
    pub fn function_key(function: &str) -> &str {
        crate::lambda_name::bare_function_name(function)
    }

    /// `deployments/<id>/record.json`.
    pub fn record(deployment_id: &str) -> String {
        format!("deployments/{deployment_id}/record.json")
    }

    /// `deployments/<id>/approvals/<aid>.json`.
    pub fn approval(deployment_id: &str, approval_id: &str) -> String {
        format!("deployments/{deployment_id}/approvals/{approval_id}.json")
    }

    /// `deployments/<id>/approvals/`.
    pub fn approvals_prefix(deployment_id: &str) -> String {
        format!("deployments/{deployment_id}/approvals/")
    }

    /// `locks/<function>/<alias>.json`.
    pub fn lock(function: &str, alias: &str) -> String {
        format!("locks/{}/{alias}.json", function_key(function))
    }

    /// `history/<function>/<alias>/`.
    pub fn history_prefix(function: &str, alias: &str) -> String {
        format!("history/{}/{alias}/", function_key(function))
    }

    /// `history/<function>/<alias>/<time>-<id>.json`, sortable by time.
    pub fn history(
        function: &str,
        alias: &str,
        started: DateTime<Utc>,
        deployment_id: &str,
    ) -> String {
        format!(
            "{}{}-{deployment_id}.json",
            history_prefix(function, alias),
            started.format("%Y%m%dT%H%M%SZ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lambda_error_cause_reads_as_its_type_and_message() {
        let cause = r#"{"errorType":"DeploymentLocked","errorMessage":"checkout:live is being deployed by d-1"}"#;
        assert_eq!(
            readable_cause(cause),
            "DeploymentLocked: checkout:live is being deployed by d-1"
        );
        assert_eq!(readable_cause("plain words"), "plain words");
        assert_eq!(readable_cause(r#"{"other":1}"#), r#"{"other":1}"#);
    }

    #[test]
    fn keys_never_hold_arns() {
        assert_eq!(
            keys::lock(
                "arn:aws:lambda:us-east-1:123456789012:function:checkout",
                "live"
            ),
            "locks/checkout/live.json"
        );
        assert_eq!(keys::lock("checkout", "live"), "locks/checkout/live.json");
    }

    #[test]
    fn failure_reason_reads_lambda_error_causes() {
        let failure = Failure {
            error: "HealthCheckFailed".into(),
            cause: r#"{"errorType":"HealthCheckFailed","errorMessage":"alarm checkout-5xx is in ALARM"}"#.into(),
        };
        assert_eq!(
            failure.reason(),
            "HealthCheckFailed: alarm checkout-5xx is in ALARM"
        );
    }
}
