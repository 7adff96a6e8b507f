//! `prepare` Lambda: validate the request, take the alias lock, capture the alias, plan, record and notify.
//!
//! Thin by design: the logic is `shiftgate_core::handlers::prepare` in shiftgate-core.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shiftgate_core::contracts::PrepareInput;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = shiftgate_core::runtime::aws_services().await?;
    run(service_fn(|event: LambdaEvent<PrepareInput>| {
        shiftgate_core::handlers::prepare(&services, event.payload)
    }))
    .await
}
