//! `check-health` Lambda: judge alarms and the new version's error rate.
//!
//! Thin by design: the logic is `shiftgate_core::handlers::check_health` in shiftgate-core.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shiftgate_core::contracts::CheckHealthInput;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = shiftgate_core::runtime::aws_services().await?;
    run(service_fn(|event: LambdaEvent<CheckHealthInput>| {
        shiftgate_core::handlers::check_health(&services, event.payload)
    }))
    .await
}
