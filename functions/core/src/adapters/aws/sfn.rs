//! [`WorkflowCallback`] on Step Functions: resumes a task waiting on a task
//! token. Task tokens are bearer credentials for the task, so they are never
//! logged and never put into error messages.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sfn::Client;

use super::error::{truncate_chars, Failure, TooManyRequests};
use crate::ports::{PortError, WorkflowCallback};

/// `SendTaskFailure` accepts an error name of at most 256 characters.
pub const MAX_ERROR_CHARS: usize = 256;

/// `SendTaskFailure` accepts a cause of at most 32,768 characters.
pub const MAX_CAUSE_CHARS: usize = 32_768;

/// The client configuration for Step Functions, derived from the shared `sdk` config.
pub(crate) fn client_config(sdk: &SdkConfig) -> aws_sdk_sfn::config::Builder {
    aws_sdk_sfn::config::Builder::from(sdk).retry_classifier(TooManyRequests)
}

/// Task-token callbacks with Step Functions.
#[derive(Debug, Clone)]
pub struct StepFunctionsCallback {
    client: Client,
}

impl StepFunctionsCallback {
    /// A callback using `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// A task that finished, timed out or never existed is [`PortError::NotFound`]:
/// the workflow has moved on without us. Only the code is kept, because the
/// service's message could quote the token.
fn sfn_error(failure: Failure, operation: &str) -> PortError {
    let summary = failure.code_only(operation);
    if failure.is("TaskDoesNotExist") || failure.is("TaskTimedOut") {
        PortError::NotFound(summary)
    } else if failure.is_throttling() {
        PortError::Throttled(summary)
    } else {
        PortError::Service(summary)
    }
}

#[async_trait]
impl WorkflowCallback for StepFunctionsCallback {
    async fn send_task_success(
        &self,
        task_token: &str,
        output: &serde_json::Value,
    ) -> Result<(), PortError> {
        self.client
            .send_task_success()
            .task_token(task_token)
            .output(output.to_string())
            .send()
            .await
            .map_err(|err| sfn_error(Failure::of(&err), "SendTaskSuccess"))?;
        Ok(())
    }

    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), PortError> {
        self.client
            .send_task_failure()
            .task_token(task_token)
            .error(truncate_chars(error, MAX_ERROR_CHARS))
            .cause(truncate_chars(cause, MAX_CAUSE_CHARS))
            .send()
            .await
            .map_err(|err| sfn_error(Failure::of(&err), "SendTaskFailure"))?;
        Ok(())
    }
}
