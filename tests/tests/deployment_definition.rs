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

/// What an operator does during a deployment of three steps (10 %, 50 %, 100 %,
/// 120 s of watching each before the last, then 120 s of bake).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Operator {
    /// `abort` 30 s into step 0's first wait.
    Aborts,
    /// `promote` 30 s into step 0's first wait.
    Promotes,
    /// `promote --full` 30 s into step 0's first wait.
    PromotesFully,
    /// `hold` before step 1's shift; `resume` 10 s into the second held wait.
    HoldsThenResumes,
}

fn three_steps() -> Value {
    let watch = json!({"remainingSeconds": 120, "waitSeconds": 60, "intervalSeconds": 60});
    let none = json!({"remainingSeconds": 0, "waitSeconds": 0, "intervalSeconds": 60});
    json!({
        "deploymentId": "d1",
        "steps": [
            {"index": 0, "weightPercent": 10, "approval": false, "watch": watch},
            {"index": 1, "weightPercent": 50, "approval": false, "watch": watch},
            {"index": 2, "weightPercent": 100, "approval": false, "watch": none}
        ],
        "bake": watch,
        "approval": {"timeoutSeconds": 3600, "onTimeout": "rollback"}
    })
}

/// Runs the three-step deployment with fake functions; the fake
/// `operator-wait` plays the operator's command through the task token, as
/// `shiftgate_core::operator` does against Step Functions.
async fn operate(operator: Operator) -> (ExecutionOutcome, Vec<ExecutionEvent>, Arc<FnHandler>) {
    let slot: Arc<OnceLock<Callbacks>> = Arc::new(OnceLock::new());
    let callbacks = slot.clone();
    let waits = Arc::new(Mutex::new(0u32));
    let held_shifts = Arc::new(Mutex::new(0u32));
    let healthy = handler(Scenario::Healthy { approve: true }, slot.clone());
    let handler = FnHandler::new(move |function, payload, ctx| {
        let name = function.rsplit(':').next().unwrap();
        match name {
            "prepare" => Ok(three_steps()),
            "operator-wait" => {
                let token = payload["taskToken"].as_str().unwrap().to_string();
                let n = {
                    let mut waits = waits.lock().unwrap();
                    *waits += 1;
                    *waits
                };
                let callbacks = callbacks.get().unwrap().clone();
                let act = match (operator, n) {
                    (Operator::Aborts, 1) => Some((30, None)),
                    (Operator::Promotes, 1) => Some((30, Some("promote"))),
                    (Operator::PromotesFully, 1) => Some((30, Some("promoteFull"))),
                    // Waits 1–2 are step 0's; 3 and 4 are held before step 1's shift.
                    (Operator::HoldsThenResumes, 4) => Some((10, Some("resume"))),
                    _ => None,
                };
                if let Some((after, action)) = act {
                    tokio::spawn(async move {
                        tokio::time::sleep(std::time::Duration::from_secs(after)).await;
                        match action {
                            Some(action) => callbacks
                                .send_task_success(&token, json!({ "action": action }))
                                .unwrap(),
                            None => callbacks
                                .send_task_failure(&token, "DeploymentAborted", "aborted by ana")
                                .unwrap(),
                        }
                    });
                }
                Ok(json!({}))
            }
            "shift-traffic"
                if operator == Operator::HoldsThenResumes && payload["stepIndex"] == json!(1) =>
            {
                let mut held = held_shifts.lock().unwrap();
                if *held < 2 {
                    *held += 1;
                    return Err(TaskError::new("DeploymentHeld", "held by ana"));
                }
                Ok(json!({"weightPercent": 50, "promoted": false}))
            }
            _ => healthy.answer(function, payload, ctx),
        }
    });
    let interp = interpreter(machine(), handler.clone());
    slot.set(interp.callbacks()).unwrap();
    let (outcome, events) = run(&interp, json!({"function": "orders", "alias": "live"})).await;
    (outcome, events, handler)
}

/// When each task of `state` was scheduled, in seconds since the start.
fn scheduled(events: &[ExecutionEvent], state_name: &str) -> Vec<f64> {
    events
        .iter()
        .filter(
            |e| matches!(&e.kind, EventKind::TaskScheduled { state, .. } if state == state_name),
        )
        .map(|e| secs_since_t0(e.at))
        .collect()
}

/// Names of the task states scheduled, in order.
fn task_order(events: &[ExecutionEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskScheduled { state, .. } => Some(state.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn an_abort_rolls_back_before_the_next_health_check_would_run() {
    // GIVEN a canary at 10 %, whose first health check is due at 60 s
    // WHEN an operator aborts at 30 s
    let (outcome, events, handler) = operate(Operator::Aborts).await;
    // THEN the rollback starts at 30 s and no health check ever ran
    assert_eq!(
        failure(&outcome).0,
        WorkflowError::DeploymentRolledBack.name()
    );
    assert_eq!(scheduled(&events, "Rollback"), vec![30.0]);
    assert!(scheduled(&events, "CheckHealth").is_empty());
    let rollback = &calls_to(&handler, "rollback")[0];
    assert_eq!(rollback["failure"]["Error"], json!("DeploymentAborted"));
    let order = task_order(&events);
    let after_wait = &order[order
        .iter()
        .position(|s| s == "WaitBeforeHealthCheck")
        .unwrap()
        + 1..];
    assert_eq!(
        after_wait,
        ["Rollback", "OnRollbackHooks", "FinalizeRolledBack"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_promote_ends_the_step_at_once_and_the_next_step_follows() {
    // WHEN an operator promotes 30 s into step 0's first wait
    let (outcome, events, handler) = operate(Operator::Promotes).await;
    output(&outcome);
    // THEN step 1's shift comes at 30 s, before the check due at 60 s; the
    // rest of the plan runs as planned (step 1 watched, then 100 %, then bake)
    let weights: Vec<Value> = calls_to(&handler, "shift-traffic")
        .iter()
        .map(|p| p["weightPercent"].clone())
        .collect();
    assert_eq!(weights, vec![json!(10), json!(50), json!(100)]);
    assert_eq!(scheduled(&events, "ShiftTraffic"), vec![0.0, 30.0, 150.0]);
    assert_eq!(scheduled(&events, "CheckHealth"), vec![90.0, 150.0]);
}

#[tokio::test(start_paused = true)]
async fn a_full_promotion_goes_to_100_percent_at_once_then_hooks_and_bake() {
    // WHEN an operator promotes fully 30 s into step 0's first wait
    let (outcome, events, handler) = operate(Operator::PromotesFully).await;
    output(&outcome);
    // THEN the next shift is to 100 % at 30 s (no 50 % step), by PromoteFully
    let shifts = calls_to(&handler, "shift-traffic");
    assert_eq!(shifts.len(), 2);
    assert_eq!(shifts[1]["weightPercent"], json!(100));
    assert_eq!(shifts[1]["stepIndex"], json!(2));
    assert_eq!(shifts[1]["operatorPromotion"], json!(true));
    assert_eq!(scheduled(&events, "PromoteFully"), vec![30.0]);
    assert!(scheduled(&events, "CheckHealth").is_empty());
    // AND the afterAllowTraffic hooks and the whole bake still ran
    let order = task_order(&events);
    let after = &order[order.iter().position(|s| s == "PromoteFully").unwrap() + 1..];
    assert_eq!(after[0], "AfterAllowTraffic");
    assert_eq!(
        scheduled(&events, "CheckHealthWhileBaking"),
        vec![90.0, 150.0]
    );
}

#[tokio::test(start_paused = true)]
async fn a_held_deployment_keeps_its_weight_checking_health_until_resumed() {
    // WHEN step 1's shift finds the deployment held, twice, and the operator
    // resumes 10 s into the second held wait
    let (outcome, events, handler) = operate(Operator::HoldsThenResumes).await;
    output(&outcome);
    // THEN health was checked at the held weight once (after a minute), the
    // resume ended the second wait at once, and the shift went through then
    assert_eq!(scheduled(&events, "HeldBeforeShift"), vec![120.0, 180.0]);
    assert_eq!(scheduled(&events, "CheckHealthWhileHeld"), vec![180.0]);
    assert_eq!(
        scheduled(&events, "ShiftTraffic"),
        vec![0.0, 120.0, 180.0, 190.0, 310.0]
    );
    let held_check = calls_to(&handler, "check-health")
        .into_iter()
        .find(|p| p["watch"]["remainingSeconds"] == json!(60) && p["stepIndex"] == json!(1))
        .unwrap();
    assert_eq!(held_check["watch"]["waitSeconds"], json!(60));
}
