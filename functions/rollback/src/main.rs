//! `rollback` Lambda: restore the alias exactly as captured before the first shift.
//!
//! Thin by design: the logic is `shiftgate_core::handlers::rollback` in shiftgate-core.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shiftgate_core::contracts::RollbackInput;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = shiftgate_core::runtime::aws_services().await?;
    run(service_fn(|event: LambdaEvent<RollbackInput>| {
        shiftgate_core::handlers::rollback(&services, event.payload)
    }))
    .await
}
