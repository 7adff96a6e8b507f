//! Execution events, roughly Step Functions' execution history, delivered to an
//! [`Observer`] as they happen (the CLI prints them; tests record them).

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// One event, stamped with the virtual time at which it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutionEvent {
    /// Virtual time of the event (see [`crate::Clock`]).
    pub at: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened during an execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum EventKind {
    /// The execution started with this input.
    ExecutionStarted {
        /// The execution's name.
        name: String,
        /// The execution input.
        input: Value,
    },
    /// A state was entered (counted as one state transition).
    StateEntered {
        /// The state's name.
        state: String,
        /// The state's raw input.
        input: Value,
    },
    /// A state finished and passes `output` on.
    StateExited {
        /// The state's name.
        state: String,
        /// The state's output.
        output: Value,
    },
    /// A task attempt invokes a function.
    TaskScheduled {
        /// The Task state's name.
        state: String,
        /// The function ARN or name the handler is called with.
        function: String,
        /// The payload sent to the function.
        payload: Value,
    },
    /// A task attempt produced its result.
    TaskSucceeded {
        /// The Task state's name.
        state: String,
        /// The raw result (before ResultSelector/ResultPath).
        result: Value,
    },
    /// A task attempt failed.
    TaskFailed {
        /// The Task state's name.
        state: String,
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
    /// A Retrier matched: the state runs again after `delay_seconds`.
    RetryScheduled {
        /// The state's name.
        state: String,
        /// The error being retried.
        error: String,
        /// Retry number for this retrier, from 1.
        attempt: u32,
        /// Virtual seconds until the retry.
        delay_seconds: f64,
    },
    /// A Catcher matched and routes to `next`.
    ErrorCaught {
        /// The state's name.
        state: String,
        /// The error caught.
        error: String,
        /// The state the Catcher goes to.
        next: String,
    },
    /// A Map iteration started.
    MapIterationStarted {
        /// The Map state's name.
        state: String,
        /// The item index.
        index: usize,
    },
    /// A Map iteration ended; `error` is set when it failed.
    MapIterationEnded {
        /// The Map state's name.
        state: String,
        /// The item index.
        index: usize,
        /// The error name if the iteration failed.
        error: Option<String>,
    },
    /// The execution succeeded.
    ExecutionSucceeded {
        /// The final output.
        output: Value,
    },
    /// The execution failed.
    ExecutionFailed {
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
}

/// Receives execution events. Calls come from the executing tasks, so keep them short.
pub trait Observer: Send + Sync {
    /// Called for every event, in the order they happen on each branch.
    fn on_event(&self, event: &ExecutionEvent);
}

/// Ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopObserver;

impl Observer for NoopObserver {
    fn on_event(&self, _event: &ExecutionEvent) {}
}

impl<F> Observer for F
where
    F: Fn(&ExecutionEvent) + Send + Sync,
{
    fn on_event(&self, event: &ExecutionEvent) {
        self(event)
    }
}

/// Keeps every event in memory (for tests and for printing a summary afterwards).
#[derive(Debug, Default)]
pub struct RecordingObserver {
    events: Mutex<Vec<ExecutionEvent>>,
}

impl RecordingObserver {
    /// A recorder with no events yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the events recorded so far.
    pub fn events(&self) -> Vec<ExecutionEvent> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Observer for RecordingObserver {
    fn on_event(&self, event: &ExecutionEvent) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
    }
}
