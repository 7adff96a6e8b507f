//! `operator-wait` Lambda: register a wait of the workflow (waitForTaskToken)
//! so operator commands (abort, promote, resume) can end it early.
//!
//! Thin by design: the logic is `shiftgate_core::handlers::operator_wait` in shiftgate-core.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shiftgate_core::contracts::OperatorWaitInput;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = shiftgate_core::runtime::aws_services().await?;
    run(service_fn(|event: LambdaEvent<OperatorWaitInput>| {
        shiftgate_core::handlers::operator_wait(&services, event.payload)
    }))
    .await
}
