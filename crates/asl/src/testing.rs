//! Test helpers for code that runs definitions: a closure-backed
//! [`TaskHandler`] that records its calls, a virtual clock starting at a fixed
//! instant ([`t0`]), and shortcuts to load and run a definition.
//!
//! Compiled for this crate's tests and behind the `test-util` feature:
//!
//! ```toml
//! shiftgate-asl = { workspace = true, features = ["test-util"] }
//! ```

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::{
    ExecutionEvent, ExecutionOutcome, ExecutionStatus, Interpreter, RecordingObserver, ScaledClock,
    StateMachine, TaskContext, TaskError, TaskHandler,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

type HandlerFn = dyn Fn(&str, Value, &TaskContext) -> Result<Value, TaskError> + Send + Sync;

/// A handler answering with a closure and recording every call.
pub struct FnHandler {
    f: Box<HandlerFn>,
    /// Every call: the function ARN and its payload, in order.
    pub calls: Mutex<Vec<(String, Value)>>,
}

impl FnHandler {
    /// A handler answering every task with `f` (function ARN, payload, context).
    pub fn new(
        f: impl Fn(&str, Value, &TaskContext) -> Result<Value, TaskError> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            f: Box::new(f),
            calls: Mutex::new(Vec::new()),
        })
    }

    /// Every call so far: the function ARN and its payload, in order.
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }

    /// What the closure answers, without recording a call (for a handler that
    /// wraps another).
    pub fn answer(
        &self,
        function_arn: &str,
        payload: Value,
        ctx: &TaskContext,
    ) -> Result<Value, TaskError> {
        (self.f)(function_arn, payload, ctx)
    }
}

#[async_trait]
impl TaskHandler for FnHandler {
    async fn invoke(
        &self,
        function_arn: &str,
        payload: Value,
        ctx: &TaskContext,
    ) -> Result<Value, TaskError> {
        self.calls
            .lock()
            .unwrap()
            .push((function_arn.to_string(), payload.clone()));
        (self.f)(function_arn, payload, ctx)
    }
}

/// The virtual time every test execution starts at.
pub fn t0() -> DateTime<Utc> {
    "2024-05-01T12:00:00Z".parse().unwrap()
}

/// Loads a definition given as a JSON value, with no substitutions.
pub fn load(definition: Value) -> StateMachine {
    StateMachine::from_json(&definition.to_string(), &BTreeMap::new())
        .unwrap_or_else(|e| panic!("definition should load: {e}"))
}

/// The error message a definition is refused with.
pub fn load_err(definition: Value) -> String {
    match StateMachine::from_json(&definition.to_string(), &BTreeMap::new()) {
        Ok(_) => panic!("definition should be refused"),
        Err(e) => e.to_string(),
    }
}

/// An interpreter at real speed (1×) on tokio time, starting at [`t0`].
pub fn interpreter(machine: StateMachine, handler: Arc<dyn TaskHandler>) -> Interpreter {
    Interpreter::new(
        machine,
        handler,
        Arc::new(ScaledClock::starting_at(1.0, t0())),
    )
}

/// Runs an execution and returns its outcome and recorded events.
pub async fn run(
    interpreter: &Interpreter,
    input: Value,
) -> (ExecutionOutcome, Vec<ExecutionEvent>) {
    let observer = Arc::new(RecordingObserver::new());
    let outcome = interpreter.execute(input, "exec-1", observer.clone()).await;
    (outcome, observer.events())
}

/// A handler that must not be called.
pub fn no_tasks() -> Arc<FnHandler> {
    FnHandler::new(|arn, _, _| panic!("unexpected task call to {arn}"))
}

/// Runs a definition without tasks and returns the outcome.
pub async fn run_def(definition: Value, input: Value) -> ExecutionOutcome {
    run(&interpreter(load(definition), no_tasks()), input)
        .await
        .0
}

/// The output of a successful execution, or a panic with the failure.
pub fn output(outcome: &ExecutionOutcome) -> Value {
    match &outcome.status {
        ExecutionStatus::Succeeded { output } => output.clone(),
        ExecutionStatus::Failed { error, cause } => panic!("execution failed: {error}: {cause}"),
    }
}

/// The (error, cause) of a failed execution, or a panic.
pub fn failure(outcome: &ExecutionOutcome) -> (String, String) {
    match &outcome.status {
        ExecutionStatus::Failed { error, cause } => (error.clone(), cause.clone()),
        ExecutionStatus::Succeeded { output } => panic!("execution succeeded with {output}"),
    }
}

/// Seconds of virtual time since [`t0`].
pub fn secs_since_t0(at: DateTime<Utc>) -> f64 {
    (at - t0()).num_milliseconds() as f64 / 1000.0
}

/// A function ARN for definitions under test.
pub const FN_A: &str = "arn:aws:lambda:us-east-1:123456789012:function:a";
