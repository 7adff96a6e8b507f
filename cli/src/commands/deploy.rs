//! `shiftgate deploy <request.json>`: validate a deployment request here, then
//! start the stack's state machine with it.

use std::path::PathBuf;

use shiftgate_core::request::DeploymentRequest;

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
pub async fn run(args: &DeployArgs) -> Result<String, String> {
    let request_text = std::fs::read_to_string(&args.request)
        .map_err(|e| format!("cannot read {}: {e}", args.request.display()))?;
    let request_text = request_text.as_str();
    let state_machine_arn = args.state_machine_arn.as_str();
    let request = DeploymentRequest::from_json(request_text).map_err(|e| e.0)?;
    let plan = request.validate().map_err(|e| e.0)?;
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
    let sdk = shiftgate_core::adapters::aws::load_sdk_config().await;
    let started = aws_sdk_sfn::Client::new(&sdk)
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(&name)
        .input(request_text)
        .send()
        .await
        .map_err(|e| format!("cannot start the deployment: {e}"))?;
    Ok(format!(
        "started deployment {name} ({} steps, {} s planned)\nexecution {}\n",
        plan.steps.len(),
        plan.total_seconds,
        started.execution_arn()
    ))
}
