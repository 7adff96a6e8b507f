//! `request-approval` Lambda: open an approval gate: record, links and notification.
//!
//! Thin by design: the logic is `shiftgate_core::handlers::request_approval` in shiftgate-core.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shiftgate_core::contracts::RequestApprovalInput;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = shiftgate_core::runtime::aws_services().await?;
    run(service_fn(|event: LambdaEvent<RequestApprovalInput>| {
        shiftgate_core::handlers::request_approval(&services, event.payload)
    }))
    .await
}
