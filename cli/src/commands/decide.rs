//! `shiftgate approve|reject <id>`: an operator's decision on a deployment's
//! open approval gate, as their IAM identity (`--bucket`), or as
//! `local:<user>@<host>` on a running local run (`--state-dir`).

use anyhow::Context as _;
use shiftgate_core::approval;

use super::operate::{caller, Caller};
use super::source::Source;
use crate::local::control::{self, ControlAction, ControlRequest};

/// Options of `shiftgate approve` and `shiftgate reject`.
#[derive(Debug, clap::Args)]
pub struct DecideArgs {
    /// The deployment id.
    pub deployment_id: String,
    /// Where the deployment's records live.
    #[command(flatten)]
    pub source: Source,
    /// Why.
    #[arg(long)]
    pub comment: Option<String>,
}

/// `shiftgate approve|reject <id>`: a decision recorded with the caller's
/// identity on the deployment's open approval.
pub async fn run(args: DecideArgs, approve: bool) -> anyhow::Result<String> {
    let DecideArgs {
        deployment_id,
        source,
        comment,
    } = args;
    let id = deployment_id.as_str();
    match caller(&source).await? {
        Caller::Aws { services, arn } => {
            let decided = approval::decide_as_operator(&services, id, &arn, approve, comment)
                .await
                .with_context(|| {
                    format!(
                        "recording your decision on deployment {id} in {}",
                        source.describe()
                    )
                })?;
            Ok(format!(
                "{arn} {} approval {}: now {:?}\n",
                if approve { "approved" } else { "rejected" },
                decided.approval_id,
                decided.status
            ))
        }
        Caller::Local { actor } => {
            let request = ControlRequest {
                deployment_id: deployment_id.clone(),
                action: if approve {
                    ControlAction::Approve
                } else {
                    ControlAction::Reject
                },
                actor,
                reason: comment,
            };
            control::send(&source.state_dir, &request).await
        }
    }
}
