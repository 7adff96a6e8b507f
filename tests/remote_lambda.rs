//! The embedded workflow with real Lambda functions: a [`TaskHandler`] that
//! invokes shiftgate's functions through the Lambda Invoke API at an endpoint
//! (`cargo lambda watch`, or any Lambda emulator) instead of calling the
//! handlers in process, and [`run_remote`] to run the embedded definition with it.
//!
//! Errors come back as Step Functions reports them: a function that raised
//! (payload `{"errorType","errorMessage"}`) fails the task with `errorType` as
//! the error name and the payload JSON as the cause, so the definition's
//! `Retry` and `Catch` see exactly what they would see in AWS; failures of the
//! Lambda service itself are `Lambda.*` errors, which the definition retries.

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::SdkConfig;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::primitives::Blob;
use serde_json::Value;
use shiftgate_asl::{
    ExecutionOutcome, Interpreter, NoopObserver, Observer, ScaledClock, StateMachine, TaskContext,
    TaskError, TaskHandler,
};
use shiftgate_core::functions::Function;

use shiftgate_cli::local::{wiring, LocalError, DEFINITION};

/// Invokes shiftgate's functions by their bin names through the Lambda Invoke API.
#[derive(Debug, Clone)]
pub struct RemoteFunctions {
    client: aws_sdk_lambda::Client,
}

impl RemoteFunctions {
    /// Functions reached through the Lambda endpoint of `sdk` (set its
    /// `endpoint_url` to the emulator).
    ///
    /// The client never retries: retrying is the definition's job (its
    /// `Retry` on `Lambda.*` errors, as in Step Functions), and `cargo lambda
    /// watch` answers a raised error with HTTP 500, which an SDK retry would
    /// turn into several runs of a function that already failed.
    pub fn new(sdk: &SdkConfig) -> Self {
        let config = aws_sdk_lambda::config::Builder::from(sdk)
            .retry_config(RetryConfig::disabled())
            .build();
        Self {
            client: aws_sdk_lambda::Client::from_conf(config),
        }
    }
}

/// The bin name (the function name at the endpoint) of a Task's resource: a
/// local ARN (`…:function:shiftgate-<bin>`), a substitution key, a SAM logical
/// id or a bin name.
pub fn bin_name(resource: &str) -> Option<&'static str> {
    wiring::function_of(resource)
        .or_else(|| Function::from_name(resource))
        .map(Function::bin_name)
}

/// A response payload as JSON: `null` when empty, a JSON string when not JSON.
fn payload_json(bytes: &[u8]) -> Value {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// A function's raised error (`{"errorType","errorMessage"}`) as the task
/// error Step Functions reports: `errorType` names it, the payload is the cause.
pub fn function_error(payload: &Value) -> TaskError {
    let error = payload["errorType"]
        .as_str()
        .filter(|name| !name.is_empty())
        .unwrap_or("Lambda.Unknown");
    TaskError::new(error, payload.to_string())
}

/// How Step Functions names a failure of the Invoke call itself.
fn service_error<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    function: &str,
    error: &SdkError<E, R>,
) -> TaskError {
    match error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("ServiceException");
            let name = match code {
                "ResourceNotFoundException" | "TooManyRequestsException" => {
                    format!("Lambda.{code}")
                }
                _ => "Lambda.ServiceException".to_owned(),
            };
            TaskError::new(
                name,
                format!(
                    "Invoke {function}: {code}: {}",
                    service.err().message().unwrap_or_default()
                ),
            )
        }
        other => TaskError::new(
            "Lambda.SdkClientException",
            format!("Invoke {function}: {other:?}"),
        ),
    }
}

#[async_trait]
impl TaskHandler for RemoteFunctions {
    async fn invoke(
        &self,
        function_arn: &str,
        payload: Value,
        _ctx: &TaskContext,
    ) -> Result<Value, TaskError> {
        let name =
            bin_name(function_arn).ok_or_else(|| TaskError::function_not_found(function_arn))?;
        let body = serde_json::to_vec(&payload)
            .map_err(|e| TaskError::new("Lambda.SdkClientException", e.to_string()))?;
        match self
            .client
            .invoke()
            .function_name(name)
            .payload(Blob::new(body))
            .send()
            .await
        {
            Ok(output) => {
                let answer = output
                    .payload()
                    .map(|blob| payload_json(blob.as_ref()))
                    .unwrap_or(Value::Null);
                match output.function_error() {
                    Some(_) => Err(function_error(&answer)),
                    None => Ok(answer),
                }
            }
            Err(error) => {
                // Lambda answers a raised error with 200 and X-Amz-Function-Error;
                // cargo lambda watch answers it with 500 and the same error object.
                if let SdkError::ServiceError(service) = &error {
                    let answer = service.raw().body().bytes().map(payload_json);
                    if let Some(answer) = answer.filter(|a| a["errorType"].is_string()) {
                        return Err(function_error(&answer));
                    }
                }
                Err(service_error(name, &error))
            }
        }
    }
}

/// Run the embedded deployment definition once with `handler` (e.g.
/// [`RemoteFunctions`]) for its Lambda tasks, `speed` times faster than real
/// time for Wait states and timeouts, and `input` (a deployment request) as the
/// execution input.
pub async fn run_remote(
    handler: Arc<dyn TaskHandler>,
    input: Value,
    execution_name: &str,
    speed: f64,
    observer: Option<Arc<dyn Observer>>,
) -> Result<ExecutionOutcome, LocalError> {
    if !(speed.is_finite() && speed > 0.0) {
        return Err(LocalError::Invalid(format!(
            "speed must be a positive number, got {speed}"
        )));
    }
    let machine = StateMachine::from_json(DEFINITION, &wiring::substitutions())
        .map_err(|e| LocalError::Invalid(e.to_string()))?;
    let interpreter = Interpreter::new(machine, handler, Arc::new(ScaledClock::new(speed)));
    Ok(interpreter
        .execute(
            input,
            execution_name,
            observer.unwrap_or_else(|| Arc::new(NoopObserver)),
        )
        .await)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn local_arns_and_names_map_to_bin_names() {
        assert_eq!(
            bin_name(&wiring::function_arn(Function::ShiftTraffic)),
            Some("shift-traffic")
        );
        assert_eq!(bin_name("CheckHealthFunctionArn"), Some("check-health"));
        assert_eq!(bin_name("prepare"), Some("prepare"));
        assert_eq!(
            bin_name("arn:aws:lambda:local:000000000000:function:other"),
            None
        );
    }

    #[test]
    fn a_raised_error_is_named_by_its_error_type_with_the_payload_as_cause() {
        let payload = json!({"errorType": "HealthCheckFailed", "errorMessage": "alarm"});
        let error = function_error(&payload);
        assert_eq!(error.error, "HealthCheckFailed");
        assert_eq!(
            serde_json::from_str::<Value>(&error.cause).expect("JSON"),
            payload
        );
        assert_eq!(function_error(&json!("boom")).error, "Lambda.Unknown");
    }

    #[test]
    fn payloads_decode_as_lambda_returns_them() {
        assert_eq!(payload_json(b""), Value::Null);
        assert_eq!(payload_json(b"{\"a\":1}"), json!({"a": 1}));
        assert_eq!(payload_json(b"plain"), json!("plain"));
    }
}
