//! `reconcile` Lambda: the target of the EventBridge rule on the deployment
//! state machine's execution status changes (ABORTED, TIMED_OUT, FAILED).
//!
//! Thin by design: the logic is `shiftgate_core::handlers::reconcile` in shiftgate-core.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shiftgate_core::contracts::ExecutionStatusChange;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = shiftgate_core::runtime::aws_services().await?;
    run(service_fn(|event: LambdaEvent<ExecutionStatusChange>| {
        shiftgate_core::handlers::reconcile(&services, event.payload)
    }))
    .await
}
