//! The project's own `state-machines/deployment.asl.json`, loaded with a
//! substitution for every function of the catalogue
//! ([`shiftgate_core::functions::Function::ALL`]) and run by the embedded
//! interpreter against fake handlers on virtual time.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shiftgate_core::error::WorkflowError;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};
use shiftgate_asl::testing::{failure, interpreter, output, run, secs_since_t0, FnHandler};
use shiftgate_asl::{
    Callbacks, EventKind, ExecutionEvent, ExecutionOutcome, StateMachine, TaskError,
};
use shiftgate_core::functions::Function;
use shiftgate_tests::read;

fn arn(bin_name: &str) -> String {
    format!("arn:aws:lambda:local:000000000000:function:{bin_name}")
}

/// `DefinitionSubstitutions` for `functions`: each substitution key to an ARN
/// ending in the function's bin name.
fn substitutions(functions: impl IntoIterator<Item = Function>) -> BTreeMap<String, String> {
    functions
        .into_iter()
        .map(|f| (f.substitution_key(), arn(f.bin_name())))
        .collect()
}

fn definition() -> String {
    read("state-machines/deployment.asl.json")
}

fn machine() -> StateMachine {
    StateMachine::from_json(&definition(), &substitutions(Function::ALL))
        .unwrap_or_else(|e| panic!("deployment.asl.json should load: {e}"))
}

fn prepare_output() -> Value {
    json!({
        "deploymentId": "d1",
        "steps": [
            {"index": 0, "weightPercent": 10, "approval": false,
             "watch": {"remainingSeconds": 120, "waitSeconds": 60, "intervalSeconds": 60}},
            {"index": 1, "weightPercent": 100, "approval": true,
             "watch": {"remainingSeconds": 0, "waitSeconds": 0, "intervalSeconds": 60}}
        ],
        "bake": {"remainingSeconds": 0, "waitSeconds": 0, "intervalSeconds": 60},
        "approval": {"timeoutSeconds": 3600, "onTimeout": "rollback"}
    })
}

/// How the fake reviewer and health check behave.
#[derive(Clone, Copy)]
enum Scenario {
    Healthy { approve: bool },
    Unhealthy,
    NobodyApproves,
}

/// Fake functions with plausible outputs; the reviewer answers through the callbacks handle.
fn handler(scenario: Scenario, callbacks: Arc<OnceLock<Callbacks>>) -> Arc<FnHandler> {
    FnHandler::new(move |function, payload, _| {
        let name = function.rsplit(':').next().unwrap();
        match name {
            "prepare" => Ok(prepare_output()),
            "check-health" => {
                if matches!(scenario, Scenario::Unhealthy) {
                    return Err(TaskError::new("HealthCheckFailed", "error rate 12% > 1%"));
                }
                let w = &payload["watch"];
                let remaining =
                    w["remainingSeconds"].as_i64().unwrap() - w["waitSeconds"].as_i64().unwrap();
                let interval = w["intervalSeconds"].as_i64().unwrap();
                Ok(json!({
                    "remainingSeconds": remaining,
                    "waitSeconds": interval.min(remaining),
                    "intervalSeconds": interval
                }))
            }
            "request-approval" => {
                if let Scenario::Healthy { approve } = scenario {
                    let token = payload["taskToken"].as_str().expect("the token is passed");
                    callbacks
                        .get()
                        .unwrap()
                        .send_task_success(token, json!({"approved": approve}))
                        .unwrap();
                }
                Ok(json!({"notified": true}))
            }
            _ => Ok(json!({"ok": true})),
        }
    })
}

async fn deploy(scenario: Scenario) -> (ExecutionOutcome, Vec<ExecutionEvent>, Arc<FnHandler>) {
    let slot = Arc::new(OnceLock::new());
    let handler = handler(scenario, slot.clone());
    let interp = interpreter(machine(), handler.clone());
    slot.set(interp.callbacks()).unwrap();
    let (outcome, events) = run(&interp, json!({"function": "orders", "alias": "live"})).await;
    (outcome, events, handler)
}

/// Names of the functions called, in order, with their payloads.
fn calls_to(handler: &FnHandler, name: &str) -> Vec<Value> {
    handler
        .calls()
        .into_iter()
        .filter(|(f, _)| f == &arn(name))
        .map(|(_, p)| p)
        .collect()
}

#[test]
fn every_substitution_is_needed_and_unknown_ones_are_reported() {
    for missing in Function::ALL {
        // GIVEN the real definition and every function of the catalogue but one
        let subs = substitutions(Function::ALL.into_iter().filter(|f| *f != missing));
        // THEN loading fails and names the missing one
        let err = StateMachine::from_json(&definition(), &subs)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("${{{}}}", missing.substitution_key())),
            "{err}"
        );
    }
    // AND with all of them it loads
    assert!(machine()
        .state_names()
        .contains(&"ShiftInSteps".to_string()));
}

#[tokio::test(start_paused = true)]
async fn healthy_deployment_with_approval_succeeds() {
    // GIVEN a healthy new version and a reviewer who approves
    let (outcome, events, handler) = deploy(Scenario::Healthy { approve: true }).await;
    // THEN the execution succeeds with the prepared deployment as output
    let out = output(&outcome);
    assert_eq!(out["deploymentId"], json!("d1"));
    // AND Prepare received the request and the execution id
    let prepare = &calls_to(&handler, "prepare")[0];
    assert_eq!(
        prepare["request"],
        json!({"function": "orders", "alias": "live"})
    );
    assert!(prepare["executionId"]
        .as_str()
        .unwrap()
        .ends_with(":exec-1"));
    // AND traffic moved 10 % then 100 %, after approval of step 1
    let weights: Vec<Value> = calls_to(&handler, "shift-traffic")
        .iter()
        .map(|p| p["weightPercent"].clone())
        .collect();
    assert_eq!(weights, vec![json!(10), json!(100)]);
    let approval = &calls_to(&handler, "request-approval")[0];
    assert_eq!(approval["stepIndex"], json!(1));
    assert_eq!(approval["deploymentId"], json!("d1"));
    // AND health was checked twice during step 0's 120-second watch, 60 s apart
    let checks: Vec<f64> = events
        .iter()
        .filter(
            |e| matches!(&e.kind, EventKind::TaskScheduled { state, .. } if state == "CheckHealth"),
        )
        .map(|e| secs_since_t0(e.at))
        .collect();
    assert_eq!(checks, vec![60.0, 120.0]);
    let finalize = calls_to(&handler, "finalize");
    assert_eq!(
        finalize,
        vec![json!({"deploymentId": "d1", "outcome": "Succeeded"})]
    );
    assert!(calls_to(&handler, "rollback").is_empty());
    // AND every state entered is counted, inside the Map too:
    // 3 before/at the Map + 11 for step 0 + 7 for step 1 + 4 after
    assert_eq!(outcome.state_transitions, 25);
    let entered = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::StateEntered { .. }))
        .count();
    assert_eq!(entered as u64, outcome.state_transitions);
}

#[tokio::test(start_paused = true)]
async fn failed_health_check_rolls_back() {
    // GIVEN a new version whose health check fails
    let (outcome, _, handler) = deploy(Scenario::Unhealthy).await;
    // THEN the deployment ends in DeploymentRolledBack
    let (error, _) = failure(&outcome);
    assert_eq!(error, WorkflowError::DeploymentRolledBack.name());
    // AND Rollback received the HealthCheckFailed error caught at the Map
    let rollback = calls_to(&handler, "rollback");
    assert_eq!(rollback.len(), 1);
    assert_eq!(rollback[0]["failure"]["Error"], json!("HealthCheckFailed"));
    assert_eq!(
        rollback[0]["failure"]["Cause"],
        json!("error rate 12% > 1%")
    );
    // AND step 1 never shifted traffic; finalize recorded the rollback
    assert_eq!(calls_to(&handler, "shift-traffic").len(), 1);
    let finalize = calls_to(&handler, "finalize");
    assert_eq!(finalize[0]["outcome"], json!("RolledBack"));
    let hooks: Vec<Value> = calls_to(&handler, "run-hooks")
        .iter()
        .map(|p| p["phase"].clone())
        .collect();
    assert_eq!(
        hooks,
        vec![
            json!("beforeAllowTraffic"),
            json!("beforeEachStep"),
            json!("onRollback")
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn rejected_approval_rolls_back() {
    let (outcome, _, handler) = deploy(Scenario::Healthy { approve: false }).await;
    assert_eq!(
        failure(&outcome).0,
        WorkflowError::DeploymentRolledBack.name()
    );
    assert_eq!(
        calls_to(&handler, "rollback")[0]["failure"]["Error"],
        json!(WorkflowError::ApprovalRejected.name())
    );
    assert_eq!(calls_to(&handler, "shift-traffic").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn approval_timeout_rolls_back_after_the_approval_window() {
    // GIVEN nobody answers the approval request (timeoutSeconds 3600, onTimeout rollback)
    let (outcome, events, handler) = deploy(Scenario::NobodyApproves).await;
    // THEN the approval times out one virtual hour after it was requested and the deployment rolls back
    assert_eq!(
        failure(&outcome).0,
        WorkflowError::DeploymentRolledBack.name()
    );
    assert_eq!(
        calls_to(&handler, "rollback")[0]["failure"]["Error"],
        json!(WorkflowError::ApprovalTimedOut.name())
    );
    let requested = events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::TaskScheduled { state, .. } if state == "RequestApproval"))
        .unwrap();
    let timed_out = events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::TaskFailed { state, error, .. } if state == "RequestApproval" && error == "States.Timeout"))
        .unwrap();
    assert_eq!((timed_out.at - requested.at).num_seconds(), 3600);
}

/// A healthy, approved deployment where the first call of each function named
/// in `blips` fails with the error given beside it.
async fn deploy_with_blips(
    blips: &'static [(&'static str, &'static str)],
) -> (ExecutionOutcome, Arc<FnHandler>) {
    let slot = Arc::new(OnceLock::new());
    let healthy = handler(Scenario::Healthy { approve: true }, slot.clone());
    let failed_once = Mutex::new(Vec::<String>::new());
    let handler = FnHandler::new(move |function, payload, ctx| {
        let name = function.rsplit(':').next().unwrap();
        if let Some((_, error)) = blips.iter().find(|(f, _)| *f == name) {
            let mut failed = failed_once.lock().unwrap();
            if !failed.iter().any(|f| f == name) {
                failed.push(name.to_string());
                return Err(TaskError::new(*error, "a blip"));
            }
        }
        healthy.answer(function, payload, ctx)
    });
    let interp = interpreter(machine(), handler.clone());
    slot.set(interp.callbacks()).unwrap();
    let (outcome, _) = run(&interp, json!({"function": "orders", "alias": "live"})).await;
    (outcome, handler)
}

#[tokio::test(start_paused = true)]
async fn our_transient_errors_are_retried_and_a_healthy_deployment_succeeds() {
    // GIVEN a healthy deployment whose prepare and health check meet a failing
    // dependency once, and whose shift is throttled once
    let (outcome, handler) = deploy_with_blips(&[
        ("prepare", "DependencyFailed"),
        ("shift-traffic", "Throttled"),
        ("check-health", "DependencyFailed"),
        ("request-approval", "StoreConflict"),
    ])
    .await;
    // THEN each blip was retried, nothing rolled back, and it succeeded
    output(&outcome);
    assert_eq!(calls_to(&handler, "prepare").len(), 2);
    assert_eq!(calls_to(&handler, "shift-traffic").len(), 3);
    assert_eq!(calls_to(&handler, "request-approval").len(), 2);
    assert!(calls_to(&handler, "rollback").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failed_hook_is_a_verdict_and_is_not_retried() {
    // GIVEN a beforeAllowTraffic hook that fails
    let (outcome, handler) = deploy_with_blips(&[("run-hooks", "HookFailed")]).await;
    // THEN the deployment rolls back after one try, before any traffic moved
    assert_eq!(
        failure(&outcome).0,
        WorkflowError::DeploymentRolledBack.name()
    );
    let phases: Vec<Value> = calls_to(&handler, "run-hooks")
        .iter()
        .map(|p| p["phase"].clone())
        .collect();
    assert_eq!(
        phases,
        vec![json!("beforeAllowTraffic"), json!("onRollback")]
    );
    assert!(calls_to(&handler, "shift-traffic").is_empty());
}
