//! `shiftgate deploy <request.json>`: validate a deployment request here, then
//! start the stack's state machine with it.

use std::path::PathBuf;

use anyhow::{anyhow, Context as _};
use shiftgate_core::request::DeploymentRequest;

use super::aws::{self, Subject};

/// Options of `shiftgate deploy`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The deployment request (JSON).
    pub request: PathBuf,
    /// The stack's state machine (output StateMachineArn).
    #[arg(long, env = "SHIFTGATE_STATE_MACHINE_ARN")]
    pub state_machine_arn: String,
}

/// `shiftgate deploy <request.json> --state-machine-arn <arn>`: validate here,
/// then start the execution; the execution name becomes the deployment id.
pub async fn run(args: &DeployArgs) -> anyhow::Result<String> {
    let request_text = std::fs::read_to_string(&args.request)
        .with_context(|| format!("reading {}", args.request.display()))?;
    let request_text = request_text.as_str();
    let state_machine_arn = args.state_machine_arn.as_str();
    let request = DeploymentRequest::from_json(request_text)
        .with_context(|| format!("reading {}", args.request.display()))?;
    let plan = request
        .validate()
        .with_context(|| format!("checking {}", args.request.display()))?;
    let name = request.deployment_id.clone().unwrap_or_else(|| {
        let function = shiftgate_core::record::keys::function_key(&request.target.function_name);
        let mut name = format!(
            "{function}-{}-v{}-{}",
            request.target.alias,
            request.target.target_version,
            chrono::Utc::now().format("%Y%m%dT%H%M%S")
        );
        name.retain(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        name.chars().take(64).collect()
    });
    let sdk = aws::sdk_config().await;
    aws::require_region(&sdk)?;
    let started = aws_sdk_sfn::Client::new(&sdk)
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(&name)
        .input(request_text)
        .send()
        .await
        .map_err(|e| {
            anyhow!(aws::explain(
                &e,
                &sdk,
                "Step Functions",
                Subject::StateMachine(state_machine_arn)
            ))
        })
        .with_context(|| format!("starting deployment {name}"))?;
    Ok(format!(
        "started deployment {name} ({} steps, {} s planned)\nexecution {}\n",
        plan.steps.len(),
        plan.total_seconds,
        started.execution_arn()
    ))
}
