//! The glue between the embedded interpreter and shiftgate-core: the virtual
//! clock both share, the in-process "Lambda service" that runs handlers by
//! ARN, and task-token callbacks routed back into the interpreter.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use shiftgate_asl::{Callbacks, Clock as AslClock, TaskContext, TaskError, TaskHandler};
use shiftgate_core::functions::Function;
use shiftgate_core::handlers;
use shiftgate_core::ports::{Clock, PortError, Services, WorkflowCallback};

/// Account and Region of the local stand-ins' ARNs.
pub const LOCAL_ARN_PREFIX: &str = "arn:aws:lambda:local:000000000000:function";

/// The local ARN of one of shiftgate's functions.
pub fn function_arn(function: Function) -> String {
    format!("{LOCAL_ARN_PREFIX}:shiftgate-{}", function.bin_name())
}

/// The function a local ARN names (the inverse of [`function_arn`]).
pub fn function_of(arn: &str) -> Option<Function> {
    arn.strip_prefix(LOCAL_ARN_PREFIX)
        .and_then(|rest| rest.strip_prefix(":shiftgate-"))
        .and_then(Function::from_name)
}

/// `DefinitionSubstitutions` for the local run: every function by its local ARN.
pub fn substitutions() -> BTreeMap<String, String> {
    Function::ALL
        .into_iter()
        .map(|f| (f.substitution_key(), function_arn(f)))
        .collect()
}

/// The interpreter's virtual clock, seen through shiftgate-core's `Clock` port,
/// so records, metrics and Wait states all live on the same time line.
pub struct SharedClock(pub Arc<dyn AslClock>);

impl Clock for SharedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
}

/// Runs shiftgate's handlers in process for the interpreter's Task states,
/// answering as the Lambda service would (errors as `errorType`/`errorMessage`).
pub struct InProcessFunctions {
    /// The services the handlers use.
    pub services: Services,
}

#[async_trait]
impl TaskHandler for InProcessFunctions {
    async fn invoke(
        &self,
        function_arn: &str,
        payload: Value,
        _ctx: &TaskContext,
    ) -> Result<Value, TaskError> {
        let function =
            function_of(function_arn).ok_or_else(|| TaskError::function_not_found(function_arn))?;
        handlers::dispatch(function, &self.services, payload)
            .await
            .map_err(|error| {
                let cause =
                    json!({"errorType": error.error_type(), "errorMessage": error.to_string()});
                TaskError::new(error.error_type(), cause.to_string())
            })
    }
}

/// `SendTaskSuccess`/`SendTaskFailure` into the interpreter that issued the token.
/// The interpreter is built after the services, so the handle is set later.
#[derive(Clone, Default)]
pub struct InterpreterCallback {
    callbacks: Arc<OnceLock<Callbacks>>,
}

impl InterpreterCallback {
    /// Connect to the interpreter's callbacks.
    pub fn connect(&self, callbacks: Callbacks) {
        let _ = self.callbacks.set(callbacks);
    }

    fn handle(&self) -> Result<&Callbacks, PortError> {
        self.callbacks
            .get()
            .ok_or_else(|| PortError::Service("the local workflow is not running".into()))
    }
}

#[async_trait]
impl WorkflowCallback for InterpreterCallback {
    async fn send_task_success(&self, task_token: &str, output: &Value) -> Result<(), PortError> {
        self.handle()?
            .send_task_success(task_token, output.clone())
            .map_err(|e| PortError::Service(e.to_string()))
    }

    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), PortError> {
        self.handle()?
            .send_task_failure(task_token, error, cause)
            .map_err(|e| PortError::Service(e.to_string()))
    }
}
