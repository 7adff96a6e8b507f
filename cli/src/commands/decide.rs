//! `shiftgate approve|reject <id>`: an operator's decision on a deployment's
//! open approval gate, as their IAM identity.

use anyhow::{anyhow, Context as _};
use shiftgate_core::approval::{self, Credential, DecisionRequest};

use super::aws::{self, Subject};
use super::source::aws_services;

/// Options of `shiftgate approve` and `shiftgate reject`.
#[derive(Debug, clap::Args)]
pub struct DecideArgs {
    /// The deployment id.
    pub deployment_id: String,
    /// The stack's bucket (output BucketName).
    #[arg(long, env = "SHIFTGATE_BUCKET")]
    pub bucket: String,
    /// Why.
    #[arg(long)]
    pub comment: Option<String>,
}

/// `shiftgate approve|reject <id>`: an IAM-authenticated decision, recorded
/// with the caller's ARN, on the deployment's open approval.
pub async fn run(args: DecideArgs, approve: bool) -> anyhow::Result<String> {
    let DecideArgs {
        deployment_id,
        bucket,
        comment,
    } = args;
    let deployment_id = deployment_id.as_str();
    let services = aws_services(&bucket).await?;
    let sdk = aws::sdk_config().await;
    let caller = aws_sdk_sts::Client::new(&sdk)
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
    let pending = approval::pending(services.store.as_ref(), deployment_id)
        .await
        .with_context(|| {
            format!("reading the approvals of deployment {deployment_id} from bucket {bucket}")
        })?
        .with_context(|| format!("deployment {deployment_id} has no open approval"))?;
    let decided = approval::decide(
        &services,
        DecisionRequest {
            deployment_id: deployment_id.to_string(),
            approval_id: pending.approval_id.clone(),
            credential: Credential::Operator(caller.clone()),
            approve,
            comment,
            source_ip: None,
            user_agent: Some(format!("shiftgate-cli/{}", env!("CARGO_PKG_VERSION"))),
        },
    )
    .await
    .with_context(|| {
        format!(
            "recording your decision on approval {} of deployment {deployment_id}",
            pending.approval_id
        )
    })?;
    Ok(format!(
        "{} {} approval {}: now {:?}\n",
        caller,
        if approve { "approved" } else { "rejected" },
        decided.approval_id,
        decided.status
    ))
}
