//! Operator commands against a deployment's records: `status`, `history`,
//! `approve`, `reject` and `deploy`. With `--bucket` they read the stack's S3
//! bucket (and call AWS); otherwise the local state directory of `shiftgate local`.

use std::fmt::Write;
use std::path::PathBuf;
use std::sync::Arc;

use shiftgate_core::adapters::fs_store::FsObjectStore;
use shiftgate_core::approval::{self, ApprovalRecord, Credential, DecisionRequest};
use shiftgate_core::ports::{ObjectStore, Services, Settings};
use shiftgate_core::record::{DeploymentRecord, HistoryEntry};
use shiftgate_core::request::DeploymentRequest;
use shiftgate_core::store;

/// Where records live.
#[derive(Debug, Clone, clap::Args)]
pub struct Source {
    /// The stack's bucket (AWS). Without it, the local state directory is read.
    #[arg(long, env = "SHIFTGATE_BUCKET")]
    pub bucket: Option<String>,
    /// The local state directory (`shiftgate local`).
    #[arg(long, default_value = ".shiftgate")]
    pub state_dir: PathBuf,
}

impl Source {
    /// The object store behind this source.
    pub async fn store(&self) -> Result<Arc<dyn ObjectStore>, String> {
        match &self.bucket {
            Some(bucket) => Ok(aws_services(bucket).await.store),
            None => {
                let root = self.state_dir.join("bucket");
                if !root.exists() {
                    return Err(format!(
                        "no local state in {} (run `shiftgate local run` first, or pass --bucket)",
                        self.state_dir.display()
                    ));
                }
                Ok(Arc::new(
                    FsObjectStore::new(root).map_err(|e| e.to_string())?,
                ))
            }
        }
    }
}

async fn aws_services(bucket: &str) -> Services {
    let sdk = shiftgate_core::adapters::aws::load_sdk_config().await;
    shiftgate_core::adapters::aws::services_from_config(
        &sdk,
        bucket.to_string(),
        Settings::default(),
    )
}

/// A deployment and its approvals as a person reads them: status, plan
/// position, timeline and every decision with who, when and from where.
pub fn render_status(record: &DeploymentRecord, approvals: &[ApprovalRecord]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "deployment {}  {:?}",
        record.deployment_id, record.status
    );
    let _ = writeln!(
        out,
        "  {}:{}  version {} → {}  now {} % on {}",
        record.function_name(),
        record.alias(),
        record.current_version(),
        record.target_version(),
        record.current_weight_percent,
        record.target_version()
    );
    let step = record.current_step.map_or(0, |s| s + 1);
    let _ = writeln!(
        out,
        "  step {step} of {}  started {}",
        record.plan.steps.len(),
        record.created_at.to_rfc3339()
    );
    if let Some(failure) = &record.failure {
        let _ = writeln!(out, "  reason: {}", failure.reason());
    }
    let _ = writeln!(out, "timeline:");
    for event in &record.timeline {
        let mark = if event.ok { " " } else { "✗" };
        let _ = writeln!(
            out,
            "  {} {mark} {}",
            event.at.format("%Y-%m-%d %H:%M:%S"),
            event.message
        );
    }
    for approval in approvals {
        let _ = writeln!(
            out,
            "approval {} before {} %: {:?} ({} needed, expires {})",
            approval.approval_id,
            approval.weight_percent,
            approval.status,
            approval.quorum,
            approval.expires_at.to_rfc3339()
        );
        for d in &approval.decisions {
            let verb = if d.approve { "approved" } else { "rejected" };
            let _ = writeln!(
                out,
                "  {} {} {verb} via {} from {} ({}){}",
                d.at.format("%Y-%m-%d %H:%M:%S"),
                d.reviewer,
                d.via,
                d.source_ip.as_deref().unwrap_or("-"),
                d.user_agent.as_deref().unwrap_or("-"),
                d.comment
                    .as_deref()
                    .map(|c| format!(": \"{c}\""))
                    .unwrap_or_default()
            );
        }
    }
    out
}

/// `shiftgate status <id>`.
pub async fn status(source: &Source, deployment_id: &str, json: bool) -> Result<String, String> {
    let store = source.store().await?;
    let (record, _) = store::load_record(store.as_ref(), deployment_id)
        .await
        .map_err(|e| e.to_string())?;
    let approvals = approval::all(store.as_ref(), deployment_id)
        .await
        .map_err(|e| e.to_string())?;
    if json {
        // Task tokens and secret hashes stay out of what operators print and paste.
        let approvals: Vec<serde_json::Value> = approvals
            .iter()
            .map(|a| {
                serde_json::json!({"approvalId": a.approval_id, "status": a.status, "quorum": a.quorum,
                    "expiresAt": a.expires_at, "decisions": a.decisions})
            })
            .collect();
        return Ok(serde_json::json!({"deployment": record, "approvals": approvals}).to_string());
    }
    Ok(render_status(&record, &approvals))
}

/// `shiftgate history <function> <alias>`.
pub async fn history(
    source: &Source,
    function: &str,
    alias: &str,
    json: bool,
) -> Result<String, String> {
    let store = source.store().await?;
    let entries: Vec<HistoryEntry> = store::history(store.as_ref(), function, alias)
        .await
        .map_err(|e| e.to_string())?;
    if json {
        return Ok(serde_json::to_string(&entries).expect("history serializes"));
    }
    if entries.is_empty() {
        return Ok(format!("no deployments of {function}:{alias}\n"));
    }
    let mut out = String::new();
    for e in entries {
        let _ = writeln!(
            out,
            "{}  {:<40}  {} → {}  {:?}",
            e.started_at.format("%Y-%m-%d %H:%M:%S"),
            e.deployment_id,
            e.previous_version,
            e.target_version,
            e.status
        );
    }
    Ok(out)
}

/// `shiftgate approve|reject <id>`: an IAM-authenticated decision, recorded
/// with the caller's ARN, on the deployment's open approval.
pub async fn decide(
    bucket: &str,
    deployment_id: &str,
    approve: bool,
    comment: Option<String>,
) -> Result<String, String> {
    let sdk = shiftgate_core::adapters::aws::load_sdk_config().await;
    let services = shiftgate_core::adapters::aws::services_from_config(
        &sdk,
        bucket.to_string(),
        Settings::default(),
    );
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

/// `shiftgate deploy <request.json> --state-machine-arn <arn>`: validate here,
/// then start the execution; the execution name becomes the deployment id.
pub async fn deploy(request_text: &str, state_machine_arn: &str) -> Result<String, String> {
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
