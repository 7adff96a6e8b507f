//! `shiftgate approve|reject <id>`: an operator's decision on a deployment's
//! open approval gate, as their IAM identity.

use shiftgate_core::approval::{self, Credential, DecisionRequest};
use shiftgate_core::ports::Settings;

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
pub async fn run(args: DecideArgs, approve: bool) -> Result<String, String> {
    let DecideArgs {
        deployment_id,
        bucket,
        comment,
    } = args;
    let deployment_id = deployment_id.as_str();
    let sdk = shiftgate_core::adapters::aws::load_sdk_config().await;
    let services =
        shiftgate_core::adapters::aws::services_from_config(&sdk, bucket, Settings::default());
    let caller = aws_sdk_sts::Client::new(&sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| format!("cannot tell who you are (sts:GetCallerIdentity): {e}"))?
        .arn
        .ok_or("sts:GetCallerIdentity returned no ARN")?;
    let pending = approval::pending(services.store.as_ref(), deployment_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("deployment {deployment_id} has no open approval"))?;
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
    .map_err(|e| e.to_string())?;
    Ok(format!(
        "{} {} approval {}: now {:?}\n",
        caller,
        if approve { "approved" } else { "rejected" },
        decided.approval_id,
        decided.status
    ))
}
