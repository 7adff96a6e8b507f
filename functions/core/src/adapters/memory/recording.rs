//! Notifier and workflow callback that keep what they were given, for assertions.

use std::sync::Mutex;

use async_trait::async_trait;

use super::locked;
use crate::ports::{Notification, Notifier, PortError, WorkflowCallback};

/// A [`Notifier`] that keeps what it was asked to publish.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    published: Mutex<Vec<Notification>>,
}

impl RecordingNotifier {
    /// Everything published so far.
    pub fn published(&self) -> Vec<Notification> {
        locked(&self.published).clone()
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn publish(&self, notification: &Notification) -> Result<String, PortError> {
        let mut published = locked(&self.published);
        published.push(notification.clone());
        Ok(format!("message-{}", published.len()))
    }
}

/// A task-token callback as the workflow received it.
#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    /// `SendTaskSuccess(token, output)`.
    Success(String, serde_json::Value),
    /// `SendTaskFailure(token, error, cause)`.
    Failure(String, String, String),
}

/// A [`WorkflowCallback`] that keeps the callbacks it received.
///
/// A token marked [`closed`](RecordingCallback::close) answers as Step
/// Functions does for a task that is no longer waiting (`TaskTimedOut`, as
/// `PortError::NotFound`), and the call is not kept.
#[derive(Debug, Default)]
pub struct RecordingCallback {
    calls: Mutex<Vec<Callback>>,
    closed: Mutex<std::collections::BTreeSet<String>>,
}

impl RecordingCallback {
    /// Every callback so far.
    pub fn calls(&self) -> Vec<Callback> {
        locked(&self.calls).clone()
    }

    /// The task waiting on `token` has ended (timed out, say): later calls fail.
    pub fn close(&self, token: &str) {
        locked(&self.closed).insert(token.to_string());
    }

    fn accept(&self, token: &str, call: Callback) -> Result<(), PortError> {
        if locked(&self.closed).contains(token) {
            return Err(PortError::NotFound(
                "TaskTimedOut: the task is no longer waiting".into(),
            ));
        }
        locked(&self.calls).push(call);
        Ok(())
    }
}

#[async_trait]
impl WorkflowCallback for RecordingCallback {
    async fn send_task_success(
        &self,
        task_token: &str,
        output: &serde_json::Value,
    ) -> Result<(), PortError> {
        self.accept(
            task_token,
            Callback::Success(task_token.into(), output.clone()),
        )
    }

    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), PortError> {
        self.accept(
            task_token,
            Callback::Failure(task_token.into(), error.into(), cause.into()),
        )
    }
}
