//! `shiftgate abort|hold|resume|promote <id>`: steer a deployment in flight.
//!
//! Against the stack (`--bucket`), the command is recorded in the deployment
//! record as the caller's IAM identity and the waiting workflow task is ended
//! with `SendTaskSuccess`/`SendTaskFailure` (see `shiftgate_core::operator`).
//! Against a local state directory, the running `shiftgate local run` that
//! drives the deployment carries it out ([`crate::local::control`]).

use anyhow::{anyhow, Context as _};
use shiftgate_core::operator::{self, Command};
use shiftgate_core::ports::Services;

use super::aws::{self, Subject};
use super::source::{aws_services, Source};
use crate::local::control::{self, ControlAction, ControlRequest};

/// Options of `shiftgate abort`.
#[derive(Debug, clap::Args)]
pub struct AbortArgs {
    /// The deployment id.
    pub deployment_id: String,
    /// Where the deployment's records live.
    #[command(flatten)]
    pub source: Source,
    /// Why, for the record and the notification.
    #[arg(long)]
    pub reason: Option<String>,
}

/// Options of `shiftgate hold` and `shiftgate resume`.
#[derive(Debug, clap::Args)]
pub struct HoldArgs {
    /// The deployment id.
    pub deployment_id: String,
    /// Where the deployment's records live.
    #[command(flatten)]
    pub source: Source,
}

/// Options of `shiftgate promote`.
#[derive(Debug, clap::Args)]
pub struct PromoteArgs {
    /// The deployment id.
    pub deployment_id: String,
    /// Where the deployment's records live.
    #[command(flatten)]
    pub source: Source,
    /// Skip every remaining step: 100 % now (the afterAllowTraffic hooks and
    /// the bake still run; promote again during the bake to end it).
    #[arg(long)]
    pub full: bool,
}

/// Who runs a command, with what to act through.
pub enum Caller {
    /// On AWS: the stack's services and the caller's IAM ARN.
    Aws {
        /// Every AWS-backed port, records in the stack's bucket.
        services: Services,
        /// `sts:GetCallerIdentity`'s ARN.
        arn: String,
    },
    /// Against a local run: `local:<user>@<host>`.
    Local {
        /// The caller as the record keeps them.
        actor: String,
    },
}

/// The caller of a command against `source`.
pub async fn caller(source: &Source) -> anyhow::Result<Caller> {
    let Some(bucket) = &source.bucket else {
        return Ok(Caller::Local {
            actor: control::local_actor(),
        });
    };
    let services = aws_services(bucket).await?;
    let sdk = aws::sdk_config().await;
    let arn = aws_sdk_sts::Client::new(&sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            anyhow!(aws::explain(
                &e,
                &sdk,
                "STS",
                Subject::Other("sts:GetCallerIdentity")
            ))
        })
        .context("telling who you are (sts:GetCallerIdentity)")?
        .arn
        .context("sts:GetCallerIdentity returned no ARN")?;
    Ok(Caller::Aws { services, arn })
}

/// Carry out `command` on `deployment_id` in `source`; one line saying what happened.
pub async fn run(deployment_id: &str, source: &Source, command: Command) -> anyhow::Result<String> {
    match caller(source).await? {
        Caller::Aws { services, arn } => {
            let acted = operator::act(&services, deployment_id, command.clone(), &arn)
                .await
                .with_context(|| {
                    format!(
                        "shiftgate {} {deployment_id} in {}",
                        command.name(),
                        source.describe()
                    )
                })?;
            Ok(control::describe(deployment_id, &acted))
        }
        Caller::Local { actor } => {
            let (action, reason) = match command {
                Command::Abort { reason } => (ControlAction::Abort, reason),
                Command::Hold => (ControlAction::Hold, None),
                Command::Resume => (ControlAction::Resume, None),
                Command::Promote { full: false } => (ControlAction::Promote, None),
                Command::Promote { full: true } => (ControlAction::PromoteFull, None),
            };
            let request = ControlRequest {
                deployment_id: deployment_id.to_string(),
                action,
                actor,
                reason,
            };
            control::send(&source.state_dir, &request).await
        }
    }
}
