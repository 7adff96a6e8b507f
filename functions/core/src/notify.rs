//! Lifecycle notifications: subject, body and message attributes, in one place,
//! so every event reads the same and can be routed by filter policies.

use std::collections::BTreeMap;

use crate::ports::{Notification, Services};
use crate::record::DeploymentRecord;

/// What a notification is about (the `kind` message attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// The deployment started.
    Started,
    /// Traffic moved.
    StepShifted,
    /// Reviewers are asked to decide.
    Approval,
    /// A reviewer decided.
    Decision,
    /// A health check failed.
    HealthFailure,
    /// The alias was restored.
    RolledBack,
    /// All traffic is on the new version.
    Succeeded,
    /// The deployment failed without a clean rollback.
    Failed,
    /// An operator aborted, held, resumed or promoted it.
    OperatorAction,
}

impl NotificationKind {
    /// The `kind` attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Started => "started",
            NotificationKind::StepShifted => "step-shifted",
            NotificationKind::Approval => "approval",
            NotificationKind::Decision => "decision",
            NotificationKind::HealthFailure => "health-failure",
            NotificationKind::RolledBack => "rolled-back",
            NotificationKind::Succeeded => "succeeded",
            NotificationKind::Failed => "failed",
            NotificationKind::OperatorAction => "operator-action",
        }
    }
}

/// The standard attributes of a deployment's notifications.
pub fn attributes(record: &DeploymentRecord, kind: NotificationKind) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("deploymentId".to_string(), record.deployment_id.clone()),
        (
            "function".to_string(),
            crate::record::keys::function_key(record.function_name()).to_string(),
        ),
        ("alias".to_string(), record.alias().to_string()),
        ("kind".to_string(), kind.as_str().to_string()),
    ])
}

/// The topic a deployment notifies: the request's, else the stack's.
pub fn topic(services: &Services, record: &DeploymentRecord) -> Option<String> {
    record
        .request
        .notify_topic_arn
        .clone()
        .or_else(|| services.settings.default_notify_topic_arn.clone())
}

/// Build a notification about `record`.
pub fn build(
    topic_arn: String,
    record: &DeploymentRecord,
    kind: NotificationKind,
    headline: &str,
    details: &str,
) -> Notification {
    let target = format!(
        "{}:{} version {} → {}",
        crate::record::keys::function_key(record.function_name()),
        record.alias(),
        record.current_version(),
        record.target_version()
    );
    let subject = format!("[shiftgate] {headline}: {target}");
    let body = format!(
        "{headline}\n\nDeployment: {}\nTarget:     {target}\nWeight:     {} % on version {}\nStatus:     {:?}\n\n{details}\n",
        record.deployment_id,
        record.current_weight_percent,
        record.target_version(),
        record.status,
    );
    Notification {
        topic_arn,
        subject,
        body,
        attributes: attributes(record, kind),
    }
}

/// Publish a lifecycle notification if a topic is configured. Failing to
/// notify never fails a deployment step: it is logged and the step goes on.
pub async fn lifecycle(
    services: &Services,
    record: &DeploymentRecord,
    kind: NotificationKind,
    headline: &str,
    details: &str,
) {
    let Some(topic_arn) = topic(services, record) else {
        return;
    };
    let notification = build(topic_arn, record, kind, headline, details);
    if let Err(error) = services.notifier.publish(&notification).await {
        tracing::warn!(deployment_id = %record.deployment_id, kind = kind.as_str(), %error, "notification not sent");
    }
}
