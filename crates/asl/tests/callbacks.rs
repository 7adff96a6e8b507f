//! `lambda:invoke.waitForTaskToken`: success, failure, timeout, heartbeat and
//! unknown tokens, completed from another task as the approval server would.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use shiftgate_asl::testing::*;
use shiftgate_asl::{CallbackError, EventKind, Interpreter, TaskError};
use tokio::sync::mpsc;

/// A definition whose only task waits for its token, with optional timeouts.
fn waiting(extra: Value) -> Value {
    let mut task = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": FN_A, "Payload": {"token.$": "$$.Task.Token", "step.$": "$.step"}},
        "ResultPath": "$.decision",
        "End": true
    });
    for (k, v) in extra.as_object().unwrap() {
        task[k] = v.clone();
    }
    json!({"StartAt": "Approve", "States": {"Approve": task}})
}

/// An interpreter whose handler forwards each task token to the returned receiver.
fn with_token_channel(
    def: Value,
) -> (Interpreter, mpsc::UnboundedReceiver<String>, Arc<FnHandler>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handler = FnHandler::new(move |_, payload, ctx| {
        assert_eq!(ctx.task_token.as_deref(), payload["token"].as_str());
        tx.send(payload["token"].as_str().unwrap().to_string())
            .unwrap();
        // The function's own output is ignored for callback tasks.
        Ok(json!("ignored"))
    });
    (interpreter(load(def), handler.clone()), rx, handler)
}

#[tokio::test(start_paused = true)]
async fn send_task_success_resumes_with_the_given_output() {
    // GIVEN an execution waiting on its token
    let (interp, mut tokens, handler) = with_token_channel(waiting(json!({})));
    let callbacks = interp.callbacks();
    let approver = tokio::spawn(async move {
        let token = tokens.recv().await.unwrap();
        tokio::time::sleep(Duration::from_secs(42)).await;
        // WHEN another task approves after 42 s
        callbacks
            .send_task_success(&token, json!({"approved": true}))
            .unwrap();
        // THEN a second completion of the same token is refused
        assert_eq!(
            callbacks.send_task_success(&token, json!({})),
            Err(CallbackError::TaskTimedOut)
        );
    });
    let (outcome, events) = run(&interp, json!({"step": 1})).await;
    approver.await.unwrap();
    // THEN the result is the output given to send_task_success
    assert_eq!(
        output(&outcome),
        json!({"step": 1, "decision": {"approved": true}})
    );
    assert_eq!(secs_since_t0(events.last().unwrap().at), 42.0);
    assert_eq!(handler.calls()[0].1["step"], json!(1));
}

#[tokio::test(start_paused = true)]
async fn send_task_failure_fails_the_task_with_that_error() {
    // GIVEN a callback task whose rejection is caught
    let mut def = waiting(
        json!({"Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.why", "Next": "Done"}]}),
    );
    def["States"]["Approve"]
        .as_object_mut()
        .unwrap()
        .remove("End");
    def["States"]["Approve"]["Next"] = json!("Done");
    def["States"]["Done"] = json!({"Type": "Succeed"});
    let (interp, mut tokens2, _) = with_token_channel(def);
    let callbacks = interp.callbacks();
    tokio::spawn(async move {
        let token = tokens2.recv().await.unwrap();
        callbacks
            .send_task_failure(&token, "Rejected", "by alice")
            .unwrap();
    });
    // WHEN a reviewer rejects
    let (outcome, _) = run(&interp, json!({"step": 2})).await;
    // THEN the task fails with the given error, which Catch routes
    assert_eq!(
        output(&outcome),
        json!({"step": 2, "why": {"Error": "Rejected", "Cause": "by alice"}})
    );
}

#[tokio::test(start_paused = true)]
async fn no_callback_before_timeout_is_states_timeout_and_later_callbacks_are_refused() {
    // GIVEN TimeoutSecondsPath from the input and nobody answering
    let (interp, mut tokens, _) =
        with_token_channel(waiting(json!({"TimeoutSecondsPath": "$.timeout"})));
    let (outcome, events) = run(&interp, json!({"step": 1, "timeout": 3600})).await;
    // THEN the task fails with States.Timeout after one virtual hour
    assert_eq!(failure(&outcome).0, "States.Timeout");
    assert_eq!(secs_since_t0(events.last().unwrap().at), 3600.0);
    // AND the token is dead afterwards
    let token = tokens.recv().await.unwrap();
    assert_eq!(
        interp.callbacks().send_task_success(&token, json!({})),
        Err(CallbackError::TaskTimedOut)
    );
    assert_eq!(
        interp.callbacks().send_task_heartbeat(&token),
        Err(CallbackError::TaskTimedOut)
    );
}

#[tokio::test(start_paused = true)]
async fn heartbeats_keep_the_task_alive_until_they_stop() {
    // GIVEN HeartbeatSeconds 10 and an approver that heartbeats twice, 8 s apart, then goes silent
    let (interp, mut tokens, _) = with_token_channel(waiting(json!({"HeartbeatSeconds": 10})));
    let callbacks = interp.callbacks();
    tokio::spawn(async move {
        let token = tokens.recv().await.unwrap();
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_secs(8)).await;
            callbacks.send_task_heartbeat(&token).unwrap();
        }
    });
    let (outcome, events) = run(&interp, json!({"step": 1})).await;
    // THEN the task fails with States.HeartbeatTimeout 10 s after the last heartbeat (t=16)
    assert_eq!(failure(&outcome).0, "States.HeartbeatTimeout");
    assert_eq!(secs_since_t0(events.last().unwrap().at), 26.0);
}

#[tokio::test(start_paused = true)]
async fn unknown_tokens_are_refused() {
    let (interp, _tokens, _) = with_token_channel(waiting(json!({})));
    let callbacks = interp.callbacks();
    assert_eq!(
        callbacks.send_task_success("nope", json!({})),
        Err(CallbackError::TaskDoesNotExist)
    );
    assert_eq!(
        callbacks.send_task_failure("nope", "E", "c"),
        Err(CallbackError::TaskDoesNotExist)
    );
    assert_eq!(
        callbacks.send_task_heartbeat("nope"),
        Err(CallbackError::TaskDoesNotExist)
    );
}

#[tokio::test(start_paused = true)]
async fn success_sent_before_the_function_returns_is_not_lost() {
    // GIVEN a function that completes its own token synchronously (an auto-approver)
    let def = waiting(json!({}));
    let slot: Arc<std::sync::OnceLock<shiftgate_asl::Callbacks>> = Arc::default();
    let inner = slot.clone();
    let handler = FnHandler::new(move |_, payload, _| {
        let token = payload["token"].as_str().unwrap();
        inner
            .get()
            .unwrap()
            .send_task_success(token, json!("auto"))
            .unwrap();
        Ok(Value::Null)
    });
    let interp = interpreter(load(def), handler);
    slot.set(interp.callbacks()).unwrap();
    let (outcome, events) = run(&interp, json!({"step": 0})).await;
    assert_eq!(output(&outcome)["decision"], json!("auto"));
    assert!(events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::TaskSucceeded { result, .. } if result == "auto")));
}

#[tokio::test(start_paused = true)]
async fn function_error_fails_a_callback_task_without_waiting() {
    let handler = FnHandler::new(|_, _, _| Err(TaskError::new("Lambda.ServiceException", "503")));
    let (outcome, _) = run(
        &interpreter(load(waiting(json!({}))), handler),
        json!({"step": 0}),
    )
    .await;
    assert_eq!(failure(&outcome).0, "Lambda.ServiceException");
}
