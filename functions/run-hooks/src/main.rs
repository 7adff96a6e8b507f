//! `run-hooks` Lambda: run the smoke test and the lifecycle hooks of one phase.
//!
//! Thin by design: the logic is `shiftgate_core::handlers::run_hooks` in shiftgate-core.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shiftgate_core::contracts::RunHooksInput;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = shiftgate_core::runtime::aws_services().await?;
    run(service_fn(|event: LambdaEvent<RunHooksInput>| {
        shiftgate_core::handlers::run_hooks(&services, event.payload)
    }))
    .await
}
