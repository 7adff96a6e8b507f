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

#[cfg(test)]
mod tests {
    use aws_sdk_sfn::operation::send_task_failure::SendTaskFailureOutput;
    use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessOutput;
    use aws_sdk_sfn::Client;
    use aws_smithy_mocks::{mock, Rule};
    use serde_json::json;

    use super::{client_config, StepFunctionsCallback, MAX_CAUSE_CHARS, MAX_ERROR_CHARS};
    use crate::ports::{PortError, WorkflowCallback};
    use crate::testing::aws::{mocks, test_sdk_config, Recorder};

    fn callback(rules: &[&Rule], recorder: &Recorder) -> StepFunctionsCallback {
        let conf = client_config(&test_sdk_config())
            .interceptor(mocks(rules))
            .interceptor(recorder.clone())
            .build();
        StepFunctionsCallback::new(Client::from_conf(conf))
    }

    #[tokio::test]
    async fn send_task_success_sends_the_token_and_output_as_a_json_string() {
        let recorder = Recorder::default();
        let rule = mock!(Client::send_task_success)
            .match_requests(|r| {
                r.task_token() == Some("token-123")
                    && r.output() == Some(r#"{"approved":true,"by":"ana"}"#)
            })
            .then_output(|| SendTaskSuccessOutput::builder().build());
        let callback = callback(&[&rule], &recorder);

        callback
            .send_task_success("token-123", &json!({"approved": true, "by": "ana"}))
            .await
            .expect("success sent");

        let body = recorder.sent()[0].json();
        assert_eq!(body["taskToken"], "token-123");
        assert_eq!(body["output"], r#"{"approved":true,"by":"ana"}"#);
    }

    #[tokio::test]
    async fn send_task_failure_truncates_error_and_cause() {
        let recorder = Recorder::default();
        let rule = mock!(Client::send_task_failure)
            .match_requests(|r| {
                r.task_token() == Some("token-9")
                    && r.error().map(|e| e.chars().count()) == Some(MAX_ERROR_CHARS)
                    && r.cause().map(|c| c.chars().count()) == Some(MAX_CAUSE_CHARS)
            })
            .then_output(|| SendTaskFailureOutput::builder().build());
        let callback = callback(&[&rule], &recorder);

        callback
            .send_task_failure("token-9", &"E".repeat(300), &"ü".repeat(40_000))
            .await
            .expect("failure sent");

        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_finished_task_is_not_found_and_the_token_stays_out_of_the_error() {
        let recorder = Recorder::default();
        let rule = mock!(Client::send_task_success)
            .sequence()
            .http_status(
                400,
                Some(
                    r#"{"__type":"TaskTimedOut","message":"Task Timed Out: 'secret-token'"}"#
                        .to_owned(),
                ),
            )
            .build();
        let callback = callback(&[&rule], &recorder);

        let result = callback.send_task_success("secret-token", &json!({})).await;

        match result {
            Err(PortError::NotFound(message)) => assert!(!message.contains("secret-token")),
            other => panic!("expected NotFound, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn any_429_is_retried_as_throttling() {
        // GIVEN a 429 whose code the SDK does not know as throttling
        let recorder = Recorder::default();
        let rule = mock!(Client::send_task_success)
            .sequence()
            .http_status(429, Some(r#"{"__type":"SlowDownPlease"}"#.to_owned()))
            .output(|| SendTaskSuccessOutput::builder().build())
            .build();
        let callback = callback(&[&rule], &recorder);

        // WHEN / THEN the second attempt goes through
        callback
            .send_task_success("t", &json!(null))
            .await
            .expect("retried");
        assert_eq!(recorder.sent().len(), 2);
    }
}
