//! `finalize` Lambda: record how the deployment ended, release the lock and notify.
//!
//! Thin by design: the logic is `shiftgate_core::handlers::finalize` in shiftgate-core.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shiftgate_core::contracts::FinalizeInput;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = shiftgate_core::runtime::aws_services().await?;
    run(service_fn(|event: LambdaEvent<FinalizeInput>| {
        shiftgate_core::handlers::finalize(&services, event.payload)
    }))
    .await
}
