//! `shift-traffic` Lambda: route a step's weight to the new version (100 % promotes).
//!
//! Thin by design: the logic is `shiftgate_core::handlers::shift_traffic` in shiftgate-core.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shiftgate_core::contracts::ShiftTrafficInput;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = shiftgate_core::runtime::aws_services().await?;
    run(service_fn(|event: LambdaEvent<ShiftTrafficInput>| {
        shiftgate_core::handlers::shift_traffic(&services, event.payload)
    }))
    .await
}
