//! The embedded workflow with real Lambda functions: a [`TaskHandler`] that
//! invokes shiftgate's functions through the Lambda Invoke API at an endpoint
//! (`cargo lambda watch`, or any Lambda emulator) instead of calling the
//! handlers in process, and [`run_remote`] to run the embedded definition with it.
//!
//! Errors come back as Step Functions reports them: a function that raised
//! (`FunctionError` set, payload `{"errorType","errorMessage"}`) fails the task
//! with `errorType` as the error name and the payload JSON as the cause, so the
//! definition's `Retry` and `Catch` see exactly what they would see in AWS.

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use serde_json::Value;
use shiftgate_asl::{
    ExecutionOutcome, Interpreter, NoopObserver, Observer, ScaledClock, StateMachine, TaskContext,
    TaskError, TaskHandler,
};
use shiftgate_core::functions::Function;
use shiftgate_core::ports::{FunctionInvoker, PortError, Settings};

use super::{wiring, LocalError, DEFINITION};

/// Invokes shiftgate's functions by their bin names through the Lambda Invoke API.
pub struct RemoteFunctions {
    invoker: Arc<dyn FunctionInvoker>,
}

impl RemoteFunctions {
    /// Functions reached through the Lambda endpoint of `sdk` (set its
    /// `endpoint_url` to the emulator; credentials and Region as for AWS).
    pub fn new(sdk: &SdkConfig) -> Self {
        // The core's Lambda adapter already does Invoke with the shared retry
        // policy and payload decoding; borrowing it keeps one implementation.
        let services = shiftgate_core::adapters::aws::services_from_config(
            sdk,
            String::new(),
            Settings::default(),
        );
        Self {
            invoker: services.functions,
        }
    }

    /// Functions reached through any [`FunctionInvoker`].
    pub fn with_invoker(invoker: Arc<dyn FunctionInvoker>) -> Self {
        Self { invoker }
    }
}

/// The bin name (the function name at the endpoint) of a Task's resource: a
/// local ARN (`…:function:shiftgate-<bin>`), a substitution key, a SAM logical
/// id or a bin name.
pub fn bin_name(resource: &str) -> Option<&'static str> {
    let name = resource
        .strip_prefix(wiring::LOCAL_ARN_PREFIX)
        .and_then(|rest| rest.strip_prefix(":shiftgate-"))
        .unwrap_or(resource);
    Function::from_name(name).map(Function::bin_name)
}

/// How Step Functions names a Lambda service failure (not the function's own error).
fn service_error(error: &PortError) -> &'static str {
    match error {
        PortError::NotFound(_) => "Lambda.ResourceNotFoundException",
        PortError::Throttled(_) => "Lambda.TooManyRequestsException",
        PortError::Conflict(_) | PortError::Service(_) => "Lambda.ServiceException",
    }
}

/// A function's raised error as the task error Step Functions reports.
pub fn function_error(payload: &Value) -> TaskError {
    let error = payload["errorType"]
        .as_str()
        .filter(|name| !name.is_empty())
        .unwrap_or("Lambda.Unknown");
    TaskError::new(error, payload.to_string())
}

#[async_trait]
impl TaskHandler for RemoteFunctions {
    async fn invoke(
        &self,
        function_arn: &str,
        payload: Value,
        _ctx: &TaskContext,
    ) -> Result<Value, TaskError> {
        let name = bin_name(function_arn).ok_or_else(|| {
            TaskError::new(
                "Lambda.ResourceNotFoundException",
                format!("Function not found: {function_arn}"),
            )
        })?;
        let result = self
            .invoker
            .invoke(name, None, &payload)
            .await
            .map_err(|e| TaskError::new(service_error(&e), e.to_string()))?;
        match result.function_error {
            Some(_) => Err(function_error(&result.payload)),
            None => Ok(result.payload),
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
    use shiftgate_core::ports::InvocationResult;

    use super::*;

    struct Answer(InvocationResult);

    fn ctx() -> TaskContext {
        TaskContext {
            state_name: "ShiftTraffic".into(),
            execution_name: "e".into(),
            execution_id: "e".into(),
            task_token: None,
            retry_count: 0,
        }
    }

    #[async_trait]
    impl FunctionInvoker for Answer {
        async fn invoke(
            &self,
            function: &str,
            _qualifier: Option<&str>,
            _payload: &Value,
        ) -> Result<InvocationResult, PortError> {
            assert_eq!(function, "shift-traffic");
            Ok(self.0.clone())
        }
    }

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

    #[tokio::test]
    async fn a_raised_error_becomes_the_task_error_with_the_payload_as_cause() {
        // GIVEN a function that raised HealthCheckFailed
        let payload = json!({"errorType": "HealthCheckFailed", "errorMessage": "alarm"});
        let functions = RemoteFunctions::with_invoker(Arc::new(Answer(InvocationResult {
            function_error: Some("Unhandled".into()),
            payload: payload.clone(),
        })));
        let ctx = ctx();

        // WHEN the interpreter invokes it
        let error = functions
            .invoke(
                &wiring::function_arn(Function::ShiftTraffic),
                json!({}),
                &ctx,
            )
            .await
            .expect_err("raised");

        // THEN the name is errorType and the cause the payload, as Step Functions reports
        assert_eq!(error.error, "HealthCheckFailed");
        assert_eq!(
            serde_json::from_str::<Value>(&error.cause).expect("JSON"),
            payload
        );
    }

    #[tokio::test]
    async fn a_result_is_the_task_output() {
        let functions = RemoteFunctions::with_invoker(Arc::new(Answer(InvocationResult {
            function_error: None,
            payload: json!({"weightPercent": 10}),
        })));
        let out = functions
            .invoke("shift-traffic", json!({}), &ctx())
            .await
            .expect("ok");
        assert_eq!(out, json!({"weightPercent": 10}));
    }
}
