//! Task tokens for `lambda:invoke.waitForTaskToken` tasks, and the
//! [`Callbacks`] handle that completes them the way `SendTaskSuccess`,
//! `SendTaskFailure` and `SendTaskHeartbeat` do in Step Functions.
//!
//! The handle is cheap to clone and thread-safe, so an approval HTTP server
//! running on another task can resume a waiting execution.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::mpsc;

/// What a waiting task receives through its token.
#[derive(Debug)]
pub(crate) enum Signal {
    Success(Value),
    Failure { error: String, cause: String },
    Heartbeat,
}

#[derive(Debug)]
enum Slot {
    Waiting(mpsc::UnboundedSender<Signal>),
    /// Completed, failed or timed out: further calls get `TaskTimedOut`, as in Step Functions.
    Closed,
}

/// Why a callback was refused; mirrors the Step Functions API errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The token was never issued by this interpreter.
    #[error("TaskDoesNotExist: no task with this token")]
    TaskDoesNotExist,
    /// The task already finished (succeeded, failed, timed out or was cancelled).
    #[error("TaskTimedOut: the task for this token is no longer waiting")]
    TaskTimedOut,
}

/// A clonable handle to complete callback tasks of the interpreter it came from.
#[derive(Debug, Clone, Default)]
pub struct Callbacks {
    slots: Arc<Mutex<HashMap<String, Slot>>>,
}

impl Callbacks {
    /// Resumes the task waiting on `token` with `output` as its result.
    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), CallbackError> {
        self.finish(token, Signal::Success(output))
    }

    /// Fails the task waiting on `token`; `error` is what Retry/Catch match.
    pub fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), CallbackError> {
        self.finish(
            token,
            Signal::Failure {
                error: error.to_string(),
                cause: cause.to_string(),
            },
        )
    }

    /// Resets the `HeartbeatSeconds` timer of the task waiting on `token`.
    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), CallbackError> {
        let slots = self.lock();
        match slots.get(token) {
            None => Err(CallbackError::TaskDoesNotExist),
            Some(Slot::Closed) => Err(CallbackError::TaskTimedOut),
            Some(Slot::Waiting(tx)) => tx
                .send(Signal::Heartbeat)
                .map_err(|_| CallbackError::TaskTimedOut),
        }
    }

    /// Issues a fresh token and the receiver its task waits on.
    pub(crate) fn issue(&self) -> (String, mpsc::UnboundedReceiver<Signal>) {
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().insert(token.clone(), Slot::Waiting(tx));
        (token, rx)
    }

    /// Marks a token finished (the task ended some other way: timeout, error, cancellation).
    pub(crate) fn close(&self, token: &str) {
        if let Some(slot) = self.lock().get_mut(token) {
            *slot = Slot::Closed;
        }
    }

    fn finish(&self, token: &str, signal: Signal) -> Result<(), CallbackError> {
        let mut slots = self.lock();
        let slot = slots
            .get_mut(token)
            .ok_or(CallbackError::TaskDoesNotExist)?;
        match std::mem::replace(slot, Slot::Closed) {
            Slot::Closed => Err(CallbackError::TaskTimedOut),
            // A dropped receiver means the execution stopped waiting (e.g. was cancelled).
            Slot::Waiting(tx) => tx.send(signal).map_err(|_| CallbackError::TaskTimedOut),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        // A panic while holding this short lock cannot leave the map inconsistent.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Closes its token when dropped, so a token never outlives the task attempt
/// that issued it, whichever way the attempt ends.
pub(crate) struct TokenGuard {
    pub callbacks: Callbacks,
    pub token: String,
}

impl Drop for TokenGuard {
    fn drop(&mut self) {
        self.callbacks.close(&self.token);
    }
}
