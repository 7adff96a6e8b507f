//! `operator-wait`: the task behind every wait of the workflow.
//!
//! The state machine invokes it with `lambda:invoke.waitForTaskToken` and the
//! wait's length as the task's timeout, so when nobody acts the wait simply
//! times out into the next health check, as a Wait state would. It records the
//! task token in the deployment record, where `shiftgate abort`, `promote` and
//! `resume` find it to end the wait at once; a command recorded before the
//! wait began is acted on here (see [`crate::operator`]).

use crate::contracts::OperatorWaitInput;
use crate::error::HandlerError;
use crate::operator::{self, WaitEntry};
use crate::ports::Services;

/// Register the wait; returns at once (the workflow keeps waiting on the token).
pub async fn operator_wait(
    services: &Services,
    input: OperatorWaitInput,
) -> Result<serde_json::Value, HandlerError> {
    operator::enter_wait(
        services,
        WaitEntry {
            deployment_id: input.deployment_id,
            step_index: input.step_index,
            task_token: input.task_token,
        },
    )
    .await?;
    Ok(serde_json::json!({}))
}
