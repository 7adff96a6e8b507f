//! Retry timing on the virtual clock, Catch, error-name wildcards and task timeouts.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use shiftgate_asl::testing::*;
use shiftgate_asl::{EventKind, ExecutionEvent, TaskError};

/// Virtual seconds (since t0) at which each task attempt was scheduled.
fn attempt_times(events: &[ExecutionEvent]) -> Vec<f64> {
    events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::TaskScheduled { .. }))
        .map(|e| secs_since_t0(e.at))
        .collect()
}

fn task(retry: Value, catch: Value) -> Value {
    json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": FN_A, "Retry": retry, "Catch": catch, "ResultPath": "$.r", "End": true},
            "Caught": {"Type": "Pass", "End": true}
        }
    })
}

/// A handler failing with `error` the first `failures` times, then echoing its retry count.
fn flaky(error: &'static str, failures: u32) -> Arc<FnHandler> {
    let n = AtomicU32::new(0);
    FnHandler::new(move |_, _, ctx| {
        if n.fetch_add(1, Ordering::SeqCst) < failures {
            Err(TaskError::new(error, "flaky"))
        } else {
            Ok(json!({"retryCount": ctx.retry_count}))
        }
    })
}

#[tokio::test(start_paused = true)]
async fn retry_backoff_runs_on_virtual_time() {
    // GIVEN IntervalSeconds 2, BackoffRate 2, MaxAttempts 3 and a task failing three times
    let def = task(
        json!([{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "BackoffRate": 2, "MaxAttempts": 3}]),
        json!([]),
    );
    let (outcome, events) = run(&interpreter(load(def), flaky("Flaky", 3)), json!({})).await;
    // THEN attempts happen at t = 0, 2, 6, 14 and the fourth succeeds
    assert_eq!(attempt_times(&events), vec![0.0, 2.0, 6.0, 14.0]);
    assert_eq!(output(&outcome)["r"], json!({"retryCount": 3}));
    let delays: Vec<f64> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::RetryScheduled { delay_seconds, .. } => Some(*delay_seconds),
            _ => None,
        })
        .collect();
    assert_eq!(delays, vec![2.0, 4.0, 8.0]);
}

#[tokio::test(start_paused = true)]
async fn max_delay_seconds_caps_the_backoff_and_defaults_apply() {
    // GIVEN a cap of 5 s: delays 2, 4, 5, 5
    let def = task(
        json!([{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 4, "MaxDelaySeconds": 5}]),
        json!([]),
    );
    let (_, events) = run(&interpreter(load(def), flaky("X", 4)), json!({})).await;
    assert_eq!(attempt_times(&events), vec![0.0, 2.0, 6.0, 11.0, 16.0]);

    // GIVEN all defaults (1 s, ×2, 3 attempts) and a task that always fails
    let def = task(json!([{"ErrorEquals": ["X"]}]), json!([]));
    let (outcome, events) = run(&interpreter(load(def), flaky("X", 99)), json!({})).await;
    assert_eq!(attempt_times(&events), vec![0.0, 1.0, 3.0, 7.0]);
    assert_eq!(failure(&outcome).0, "X");
}

#[tokio::test(start_paused = true)]
async fn max_attempts_zero_never_retries_and_first_matching_retrier_wins() {
    // GIVEN a first retrier with MaxAttempts 0 for X, and a later States.ALL retrier
    let def = task(
        json!([
            {"ErrorEquals": ["X"], "MaxAttempts": 0},
            {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}
        ]),
        json!([]),
    );
    let (outcome, events) = run(&interpreter(load(def), flaky("X", 1)), json!({})).await;
    // THEN X is not retried at all (the later retrier does not apply)
    assert_eq!(attempt_times(&events), vec![0.0]);
    assert_eq!(failure(&outcome), ("X".into(), "flaky".into()));
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_fall_through_to_catch_with_result_path() {
    let def = task(
        json!([{"ErrorEquals": ["X"], "MaxAttempts": 1}]),
        json!([{"ErrorEquals": ["X"], "ResultPath": "$.failure", "Next": "Caught"}]),
    );
    let (outcome, events) = run(&interpreter(load(def), flaky("X", 99)), json!({"keep": 1})).await;
    assert_eq!(attempt_times(&events).len(), 2);
    assert_eq!(
        output(&outcome),
        json!({"keep": 1, "failure": {"Error": "X", "Cause": "flaky"}})
    );
    assert!(events.iter().any(|e| matches!(&e.kind,
        EventKind::ErrorCaught { state, error, next } if state == "T" && error == "X" && next == "Caught")));
}

#[tokio::test(start_paused = true)]
async fn catch_without_result_path_replaces_the_input_and_unmatched_errors_fail() {
    let def = task(
        json!([]),
        json!([{"ErrorEquals": ["Y", "X"], "Next": "Caught"}]),
    );
    let (outcome, _) = run(
        &interpreter(load(def.clone()), flaky("X", 1)),
        json!({"keep": 1}),
    )
    .await;
    assert_eq!(output(&outcome), json!({"Error": "X", "Cause": "flaky"}));
    let (outcome, _) = run(&interpreter(load(def), flaky("Z", 1)), json!({})).await;
    assert_eq!(failure(&outcome).0, "Z");
}

#[tokio::test(start_paused = true)]
async fn task_timeout_is_states_timeout_and_task_failed_does_not_match_it() {
    // GIVEN a task that takes 100 s and TimeoutSeconds 10
    let slow = Arc::new(SlowHandler(100));
    let def = json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": FN_A, "TimeoutSeconds": 10,
                  "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 3}],
                  "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.e", "Next": "Caught"}],
                  "End": true},
            "Caught": {"Type": "Pass", "End": true}
        }
    });
    let (outcome, events) = run(&interpreter(load(def), slow), json!({})).await;
    // THEN it times out at t=10 without retries (TaskFailed excludes Timeout) and is caught
    assert_eq!(output(&outcome)["e"]["Error"], json!("States.Timeout"));
    assert_eq!(attempt_times(&events), vec![0.0]);
    assert_eq!(secs_since_t0(events.last().unwrap().at), 10.0);
}

#[tokio::test(start_paused = true)]
async fn timeout_seconds_path_reads_the_input() {
    let def = json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": FN_A, "TimeoutSecondsPath": "$.limit", "End": true}}
    });
    let (outcome, events) = run(
        &interpreter(load(def.clone()), Arc::new(SlowHandler(100))),
        json!({"limit": 30}),
    )
    .await;
    assert_eq!(failure(&outcome).0, "States.Timeout");
    assert_eq!(secs_since_t0(events.last().unwrap().at), 30.0);
    let (outcome, _) = run(
        &interpreter(load(def), Arc::new(SlowHandler(20))),
        json!({"limit": 30}),
    )
    .await;
    assert_eq!(output(&outcome), json!({"slept": 20}));
}

#[tokio::test(start_paused = true)]
async fn states_all_catches_task_errors_but_never_states_runtime() {
    // GIVEN a Task whose OutputPath fails at run time, with Retry and Catch on States.ALL
    let def = json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": FN_A, "OutputPath": "$.missing",
                  "Retry": [{"ErrorEquals": ["States.ALL"]}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                  "End": true},
            "Caught": {"Type": "Pass", "End": true}
        }
    });
    let handler = FnHandler::new(|_, _, _| Ok(json!({})));
    let (outcome, events) = run(&interpreter(load(def), handler.clone()), json!({})).await;
    // THEN States.Runtime is terminal: no retry, no catch
    assert_eq!(failure(&outcome).0, "States.Runtime");
    assert_eq!(handler.calls().len(), 1);
    assert!(!events
        .iter()
        .any(|e| matches!(e.kind, EventKind::ErrorCaught { .. })));
}

#[tokio::test(start_paused = true)]
async fn execution_timeout_seconds_fails_the_execution() {
    let def = json!({"TimeoutSeconds": 5, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}});
    let (outcome, events) = run(&interpreter(load(def), no_tasks()), json!({})).await;
    assert_eq!(failure(&outcome).0, "States.Timeout");
    assert_eq!(secs_since_t0(events.last().unwrap().at), 5.0);
}

/// A handler taking `.0` seconds (the tests run the clock at 1×) before answering.
struct SlowHandler(u64);

#[async_trait::async_trait]
impl shiftgate_asl::TaskHandler for SlowHandler {
    async fn invoke(
        &self,
        _arn: &str,
        _payload: Value,
        _ctx: &shiftgate_asl::TaskContext,
    ) -> Result<Value, TaskError> {
        tokio::time::sleep(std::time::Duration::from_secs(self.0)).await;
        Ok(json!({"slept": self.0}))
    }
}
