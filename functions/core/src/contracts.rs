//! Payload contracts between the state machine and the functions: what each
//! function receives and returns. Field names are camelCase JSON.

use serde::{Deserialize, Serialize};

use crate::plan::{PlanStep, Watch};
use crate::record::Failure;
use crate::request::OnTimeout;

/// Input of `prepare`: the execution input is the deployment request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepareInput {
    /// The deployment request, unparsed so a malformed one gets a clear error.
    pub request: serde_json::Value,
    /// `$$.Execution.Id`: the execution ARN (or a local run id).
    #[serde(default)]
    pub execution_id: Option<String>,
}

/// Approval settings the state machine reads (`$.approval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalSettings {
    /// Whole seconds (at least 1) a gate waits: the request's
    /// `approval.timeoutMinutes` × 60, or the default; the approval task's
    /// `TimeoutSecondsPath`.
    pub timeout_seconds: u64,
    /// `"rollback"` or `"continue"`: the request's `approval.onTimeout`, or the
    /// default; `OnApprovalTimeout` chooses on it.
    pub on_timeout: OnTimeout,
}

/// Output of `prepare`: the state the workflow carries (small on purpose; the
/// record in S3 holds everything else).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepareOutput {
    /// The deployment id (letters, digits, `-`, `_`; at most 64): the request's
    /// `deploymentId`, else the execution's name. Every later task carries it.
    pub deployment_id: String,
    /// The planned steps, iterated by the Map state.
    pub steps: Vec<PlanStep>,
    /// The bake after 100 %.
    pub bake: Watch,
    /// Approval settings.
    pub approval: ApprovalSettings,
}

/// The lifecycle phase a `run-hooks` call serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HookPhase {
    /// Smoke test, then beforeAllowTraffic hooks.
    BeforeAllowTraffic,
    /// beforeEachStep hooks and the step's own hook.
    BeforeEachStep,
    /// afterAllowTraffic hooks.
    AfterAllowTraffic,
    /// onRollback hooks.
    OnRollback,
}

impl HookPhase {
    /// Every phase, in the order a deployment reaches them: the one list of phases.
    pub const ALL: [HookPhase; 4] = [
        HookPhase::BeforeAllowTraffic,
        HookPhase::BeforeEachStep,
        HookPhase::AfterAllowTraffic,
        HookPhase::OnRollback,
    ];

    /// The name used in payloads and the README.
    pub fn as_str(self) -> &'static str {
        match self {
            HookPhase::BeforeAllowTraffic => "beforeAllowTraffic",
            HookPhase::BeforeEachStep => "beforeEachStep",
            HookPhase::AfterAllowTraffic => "afterAllowTraffic",
            HookPhase::OnRollback => "onRollback",
        }
    }
}

/// Input of `run-hooks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunHooksInput {
    /// The deployment id (letters, digits, `-`, `_`; at most 64): `$.deploymentId`,
    /// as `prepare` returned it.
    pub deployment_id: String,
    /// Which hooks to run.
    pub phase: HookPhase,
    /// The step about to shift (beforeEachStep only).
    #[serde(default)]
    pub step_index: Option<usize>,
}

/// Output of `run-hooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunHooksOutput {
    /// How many hooks (and smoke tests) ran and passed.
    pub passed: usize,
}

/// What a hook function receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookPayload {
    /// The deployment id, as in its record and notifications.
    pub deployment_id: String,
    /// The phase this call serves; its camelCase name (`beforeAllowTraffic`, …).
    pub phase: HookPhase,
    /// The target function as the request named it (name, partial ARN or ARN).
    pub function_name: String,
    /// The alias being moved (the request's `target.alias`).
    pub alias: String,
    /// The published version the alias served when the deployment started
    /// (its `FunctionVersion` as captured by `prepare`).
    pub current_version: String,
    /// The published version traffic moves to (the request's `target.targetVersion`).
    pub target_version: String,
    /// The 0-based index of the step about to shift (beforeEachStep only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_index: Option<usize>,
    /// The weight the step shifts to (beforeEachStep).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_percent: Option<f64>,
}

/// What a hook answers. Anything that is not `{"status":"Failed"}` passes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookAnswer {
    /// `Succeeded` or `Failed` (case-insensitive).
    #[serde(default)]
    pub status: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Input of `shift-traffic`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShiftTrafficInput {
    /// The deployment id (letters, digits, `-`, `_`; at most 64): `$.deploymentId`,
    /// as `prepare` returned it.
    pub deployment_id: String,
    /// The 0-based index of the step shifting, from the Map state's item index.
    pub step_index: usize,
    /// The weight to route to the new version; 100 promotes.
    pub weight_percent: f64,
    /// `true` on the state machine's `PromoteFully` state, after an operator's
    /// `promote --full`: a hold asked for since then applies to the bake
    /// instead of refusing this shift. Absent (false) on every planned step.
    #[serde(default)]
    pub operator_promotion: bool,
}

/// Input of `operator-wait`, the task behind every wait of the workflow
/// (`lambda:invoke.waitForTaskToken` with the wait's seconds as its timeout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperatorWaitInput {
    /// The deployment id (letters, digits, `-`, `_`; at most 64): `$.deploymentId`.
    pub deployment_id: String,
    /// The 0-based index of the step waiting (`$.step.index`); absent while baking.
    #[serde(default)]
    pub step_index: Option<usize>,
    /// The Step Functions task token of this wait (`$$.Task.Token`), opaque;
    /// operator commands end the wait with it.
    pub task_token: String,
}

/// How an operator ended a wait early: the `SendTaskSuccess` output the state
/// machine's choices read as `$.operator.action`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperatorWaitResult {
    /// `promote` (end this step's wait or the bake), `promoteFull` (leave the
    /// step loop for 100 % now) or `resume` (a hold was lifted).
    pub action: String,
}

/// Output of `shift-traffic`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShiftTrafficOutput {
    /// The weight now routed to the new version.
    pub weight_percent: f64,
    /// Whether the alias now points to the new version alone.
    pub promoted: bool,
}

/// Input of `check-health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckHealthInput {
    /// The deployment id (letters, digits, `-`, `_`; at most 64): `$.deploymentId`,
    /// as `prepare` returned it.
    pub deployment_id: String,
    /// The 0-based index of the step being held (absent while baking).
    #[serde(default)]
    pub step_index: Option<usize>,
    /// The watch that just waited; the output is the next one.
    pub watch: Watch,
}

/// The outcome a `finalize` call records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// All traffic on the new version.
    Succeeded,
    /// The alias serves exactly what it served before the deployment.
    RolledBack,
    /// Restoring the alias failed; it needs a person (see the record).
    Failed,
}

/// Input of `finalize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalizeInput {
    /// The deployment id (letters, digits, `-`, `_`; at most 64): `$.deploymentId`,
    /// as `prepare` returned it.
    pub deployment_id: String,
    /// How it ended, chosen by the state machine's path (success or a Catch).
    pub outcome: Outcome,
    /// Why, when it did not succeed.
    #[serde(default)]
    pub failure: Option<Failure>,
}

/// Output of `finalize` and `rollback`: the record's status afterwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusOutput {
    /// The deployment id the call was given.
    pub deployment_id: String,
    /// The record's status after the call, as stored in S3.
    pub status: crate::record::DeploymentStatus,
}

/// Input of `rollback`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackInput {
    /// The deployment id (letters, digits, `-`, `_`; at most 64): `$.deploymentId`,
    /// as `prepare` returned it.
    pub deployment_id: String,
    /// What made it roll back: the `Error`/`Cause` a Catch put at `$.failure`.
    #[serde(default)]
    pub failure: Option<Failure>,
}

/// Input of `request-approval` (invoked with `lambda:invoke.waitForTaskToken`;
/// the state machine's `RequestApproval` task builds it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestApprovalInput {
    /// The deployment id (letters, digits, `-`, `_`; at most 64): `$.deploymentId`,
    /// as `prepare` returned it.
    pub deployment_id: String,
    /// The 0-based index into the plan's steps of the step waiting behind the
    /// gate (`$.step.index`, from `prepare`'s `steps`).
    pub step_index: usize,
    /// Percent of traffic, 0–100, that step will route to the new version
    /// (`$.step.weightPercent`).
    pub weight_percent: f64,
    /// The task token Step Functions issued (`$$.Task.Token`), opaque: kept in
    /// the approval record only, never logged, shown or put in a link.
    pub task_token: String,
}

/// Output of `request-approval`: the approval it opened.
///
/// Step Functions discards it: the task is `lambda:invoke.waitForTaskToken`,
/// so what lands in `$.decision` (`ResultPath`) is the [`ApprovalDecision`]
/// the approval endpoint or the CLI sends with `SendTaskSuccess`. It shows in
/// the Lambda's own invocation result (`cargo lambda invoke`, logs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestApprovalOutput {
    /// The approval id `request-approval` generated: `step<stepIndex>-` and 8
    /// random hex digits (e.g. `step1-0a1b2c3d`). Names the approval record
    /// `deployments/<deploymentId>/approvals/<approvalId>.json` and is the last
    /// path segment of every link to it.
    pub approval_id: String,
}

/// The decision the approval endpoint (or the CLI) sends back with
/// `SendTaskSuccess`; the `RequestApproval` task puts it at `$.decision`, and
/// the `ApprovalDecision` Choice reads `$.decision.approved`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalDecision {
    /// `true` when the quorum approved (the gate opens), `false` when a
    /// reviewer rejected (the deployment rolls back).
    pub approved: bool,
    /// The deciders whose decisions made the outcome, in the order they
    /// decided, as the approval record names them (reviewer, typed name or IAM
    /// ARN): every approver, or the rejecter.
    pub decided_by: Vec<String>,
    /// The approval record's id, `step<index>-` and 8 hex digits (the record is
    /// `deployments/<id>/approvals/<approval id>.json`), as `request-approval`
    /// created it and [`RequestApprovalOutput`] named it.
    pub approval_id: String,
}

/// The EventBridge event Step Functions emits when an execution's status
/// changes (`source: aws.states`, `detail-type: Step Functions Execution Status
/// Change`): the input of `reconcile`. Only the fields it reads are listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionStatusChange {
    /// The EventBridge event id (a UUID); a redelivery carries the same one.
    #[serde(default)]
    pub id: String,
    /// What happened to the execution.
    pub detail: ExecutionStatusDetail,
}

/// The `detail` of an [`ExecutionStatusChange`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStatusDetail {
    /// `arn:aws:states:<region>:<account>:execution:<state machine>:<name>`; a
    /// deployment record stores the ARN of the execution that drives it.
    pub execution_arn: String,
    /// The execution's name: the deployment id unless the request named one.
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED` or `PENDING_REDRIVE`.
    pub status: String,
    /// The execution input (the deployment request) as a JSON string; null when
    /// EventBridge left it out for size (`inputDetails.included` false).
    #[serde(default)]
    pub input: Option<String>,
    /// The error name a failed execution ended with (e.g. `States.Runtime`).
    #[serde(default)]
    pub error: Option<String>,
    /// The cause that came with `error`.
    #[serde(default)]
    pub cause: Option<String>,
}

/// What `reconcile` did about an execution that ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reconciliation {
    /// Nothing was left to do: the execution ended its deployment itself, is
    /// still running, or drives no deployment this stack knows.
    NothingLeft,
    /// The deployment had ended but still held its lock; the lock was released.
    LockReleased,
    /// The execution died before recording its deployment; its lock was released.
    OrphanLockReleased,
    /// The deployment was in progress: the alias was restored exactly, the
    /// onRollback hooks ran and the record says why; the lock was released.
    RolledBack,
    /// The deployment was in progress and restoring the alias failed: the record
    /// says so and a person must look.
    RollbackFailed,
}

/// Output of `reconcile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileOutput {
    /// The deployment the execution drove (the request's `deploymentId`, else the
    /// execution's name).
    pub deployment_id: String,
    /// What was done.
    pub action: Reconciliation,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Hooks;

    #[test]
    fn each_hook_phase_has_one_name_in_payloads_in_requests_and_in_text() {
        let names: Vec<&str> = HookPhase::ALL.iter().map(|p| p.as_str()).collect();
        for phase in HookPhase::ALL {
            assert_eq!(serde_json::to_value(phase).unwrap(), phase.as_str());
        }
        // A request's `hooks` object has exactly one list per phase, under its name.
        let mut hooks = serde_json::Map::new();
        for (n, name) in names.iter().enumerate() {
            hooks.insert(name.to_string(), serde_json::json!([format!("hook-{n}")]));
        }
        let parsed: Hooks = serde_json::from_value(hooks.into()).unwrap();
        for (n, phase) in HookPhase::ALL.into_iter().enumerate() {
            assert_eq!(parsed.for_phase(phase), [format!("hook-{n}")]);
        }
        let written = serde_json::to_value(&parsed).unwrap();
        let mut keys: Vec<&str> = written
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut expected = names.clone();
        expected.sort_unstable();
        assert_eq!(keys, expected);
    }
}
