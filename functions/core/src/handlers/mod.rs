//! Handlers: one plain async function per Lambda, over [`Services`].
//!
//! Each takes its typed input and returns its typed output or a
//! [`HandlerError`] whose name the state machine matches on. Each Lambda binary
//! calls its own handler directly; the local interpreter, which runs tasks by
//! function, goes through [`dispatch`].

mod finalize;
mod health;
mod hooks;
mod operator_wait;
mod prepare;
mod reconcile;
mod request_approval;
mod rollback;
mod shift;

pub use finalize::finalize;
pub use health::{check_health, judge, HealthVerdict};
pub use hooks::run_hooks;
pub use operator_wait::operator_wait;
pub use prepare::prepare;
pub use reconcile::{finish_interrupted, reconcile};
pub use request_approval::request_approval;
pub use rollback::rollback;
pub use shift::shift_traffic;

use serde::{de::DeserializeOwned, Serialize};

use crate::error::HandlerError;
use crate::functions::Function;
use crate::ports::Services;

fn parse<T: DeserializeOwned>(
    function: Function,
    payload: serde_json::Value,
) -> Result<T, HandlerError> {
    serde_json::from_value(payload).map_err(|e| {
        HandlerError::InvalidRequest(format!(
            "{} received an invalid event: {e}",
            function.bin_name()
        ))
    })
}

fn reply<T: Serialize>(output: T) -> Result<serde_json::Value, HandlerError> {
    serde_json::to_value(output)
        .map_err(|e| HandlerError::DependencyFailed(format!("output did not serialize: {e}")))
}

/// Run the handler of `function` on a JSON event, as its Lambda would.
pub async fn dispatch(
    function: Function,
    services: &Services,
    payload: serde_json::Value,
) -> Result<serde_json::Value, HandlerError> {
    match function {
        Function::Prepare => reply(prepare(services, parse(function, payload)?).await?),
        Function::RunHooks => reply(run_hooks(services, parse(function, payload)?).await?),
        Function::ShiftTraffic => reply(shift_traffic(services, parse(function, payload)?).await?),
        Function::CheckHealth => reply(check_health(services, parse(function, payload)?).await?),
        Function::Finalize => reply(finalize(services, parse(function, payload)?).await?),
        Function::Rollback => reply(rollback(services, parse(function, payload)?).await?),
        Function::RequestApproval => {
            reply(request_approval(services, parse(function, payload)?).await?)
        }
        Function::OperatorWait => reply(operator_wait(services, parse(function, payload)?).await?),
    }
}
