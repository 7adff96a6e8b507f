//! `shiftgate status <id>`: a deployment as a person reads it.

use std::fmt::Write;

use anyhow::Context as _;

use shiftgate_core::approval::{self, ApprovalRecord};
use shiftgate_core::record::DeploymentRecord;
use shiftgate_core::store;

use super::source::Source;

/// Options of `shiftgate status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The deployment id.
    pub deployment_id: String,
    /// Where the records are: the stack's bucket, or a local state directory.
    #[command(flatten)]
    pub source: Source,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
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
    if let Some(operator) = record
        .operator
        .summary()
        .filter(|_| !record.status.is_terminal())
    {
        let _ = writeln!(out, "  {operator}");
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
pub async fn run(args: &StatusArgs) -> anyhow::Result<String> {
    let StatusArgs {
        deployment_id,
        source,
        json,
    } = args;
    let store = source.store().await?;
    let (record, _) = store::load_record(store.as_ref(), deployment_id)
        .await
        .with_context(|| {
            format!(
                "reading deployment {deployment_id} from {}",
                source.describe()
            )
        })?;
    let approvals = approval::all(store.as_ref(), deployment_id)
        .await
        .with_context(|| {
            format!(
                "reading the approvals of deployment {deployment_id} from {}",
                source.describe()
            )
        })?;
    if *json {
        // Task tokens and secret hashes stay out of what operators print and paste.
        let approvals: Vec<serde_json::Value> = approvals
            .iter()
            .map(|a| {
                serde_json::json!({"approvalId": a.approval_id, "status": a.status, "quorum": a.quorum,
                    "expiresAt": a.expires_at, "decisions": a.decisions})
            })
            .collect();
        let mut record = record;
        record.operator = record.operator.without_tokens();
        return Ok(serde_json::json!({"deployment": record, "approvals": approvals}).to_string());
    }
    Ok(render_status(&record, &approvals))
}
