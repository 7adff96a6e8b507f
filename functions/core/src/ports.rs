//! Ports: the narrow capabilities handlers need from the outside world.
//!
//! Each trait is one capability. AWS adapters (`crate::adapters::aws`) implement
//! them with the AWS SDK for Rust; local adapters (`crate::adapters::fs_store`,
//! `crate::adapters::memory`, and the simulated fleet of `shiftgate local`)
//! implement them on one machine. A handler never knows which it has.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What went wrong talking to a backing service.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// A conditional write lost: the object exists (If-None-Match) or changed (If-Match).
    #[error("conditional write lost: {0}")]
    Conflict(String),
    /// The named resource does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The service throttled us and retries with backoff were exhausted.
    #[error("throttled: {0}")]
    Throttled(String),
    /// Any other failure of the service or the transport.
    #[error("{0}")]
    Service(String),
}

/// The routing state of a Lambda alias, captured before the first shift so a
/// rollback can restore it exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasState {
    /// The version the alias points to (`FunctionVersion`).
    pub function_version: String,
    /// `RoutingConfig.AdditionalVersionWeights`: version → fraction 0.0–1.0.
    #[serde(default)]
    pub additional_version_weights: BTreeMap<String, f64>,
    /// The alias revision when read, for diagnostics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
}

/// Reads and routes a Lambda alias.
#[async_trait]
pub trait AliasControl: Send + Sync {
    /// The alias as it is now.
    async fn get_alias(&self, function_name: &str, alias: &str) -> Result<AliasState, PortError>;
    /// Point the alias at `function_version` and route `additional_version_weights`
    /// (empty: no routing config). Returns the alias as written.
    async fn update_alias(
        &self,
        function_name: &str,
        alias: &str,
        function_version: &str,
        additional_version_weights: &BTreeMap<String, f64>,
    ) -> Result<AliasState, PortError>;
    /// Whether `version` is a published version of the function.
    async fn version_exists(&self, function_name: &str, version: &str) -> Result<bool, PortError>;
}

/// The answer of a synchronously invoked function.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationResult {
    /// `FunctionError` when the function raised (`Unhandled` or `Handled`).
    pub function_error: Option<String>,
    /// The response payload (the error object when the function raised).
    pub payload: serde_json::Value,
}

/// Invokes hook functions and smoke tests synchronously.
#[async_trait]
pub trait FunctionInvoker: Send + Sync {
    /// Invoke `function` (name or ARN) at `qualifier` (version or alias, if any).
    async fn invoke(
        &self,
        function: &str,
        qualifier: Option<&str>,
        payload: &serde_json::Value,
    ) -> Result<InvocationResult, PortError>;
}

/// Condition on an object write, as S3 conditional writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteCondition {
    /// Write whatever is there.
    Always,
    /// Create only: fails with `Conflict` if the key exists (`If-None-Match: *`).
    IfAbsent,
    /// Replace only the version with this ETag (`If-Match`).
    IfMatch(String),
}

impl WriteCondition {
    /// Whether a write under this condition may replace what `key` holds now
    /// (`current`: its ETag, or `None` when absent). The one rule every local
    /// store applies, as S3 does: `Conflict` when the condition does not hold.
    pub fn check(&self, key: &str, current: Option<&str>) -> Result<(), PortError> {
        match (self, current) {
            (WriteCondition::IfAbsent, Some(_)) => {
                Err(PortError::Conflict(format!("{key} already exists")))
            }
            (WriteCondition::IfMatch(_), None) => {
                Err(PortError::Conflict(format!("{key} does not exist")))
            }
            (WriteCondition::IfMatch(expected), Some(found)) if found != expected => {
                Err(PortError::Conflict(format!("{key} changed")))
            }
            _ => Ok(()),
        }
    }

    /// Whether a delete with `if_match` may remove what `key` holds now
    /// (`current`: its ETag, or `None`): deleting nothing always succeeds, as in S3.
    pub fn check_delete(
        key: &str,
        if_match: Option<&str>,
        current: Option<&str>,
    ) -> Result<(), PortError> {
        match (if_match, current) {
            (Some(expected), Some(found)) if found != expected => {
                Err(PortError::Conflict(format!("{key} changed")))
            }
            _ => Ok(()),
        }
    }
}

/// An object read from the store with its entity tag.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObject {
    /// The object's bytes.
    pub body: Vec<u8>,
    /// The entity tag to pass to `WriteCondition::IfMatch`.
    pub etag: String,
}

/// A key-value object store with conditional writes (the stack's S3 bucket).
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// The object at `key`, or `None`.
    async fn get(&self, key: &str) -> Result<Option<StoredObject>, PortError>;
    /// Write `body` at `key` under `condition`; returns the new ETag.
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        condition: WriteCondition,
    ) -> Result<String, PortError>;
    /// Delete `key`; with `if_match`, only that version (`Conflict` otherwise).
    async fn delete(&self, key: &str, if_match: Option<&str>) -> Result<(), PortError>;
    /// Keys under `prefix`, in lexicographic order.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, PortError>;
}

/// A notification about a deployment, for people and for routing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// The SNS topic ARN: the request's `notify.topicArn`, else the stack's topic.
    pub topic_arn: String,
    /// The e-mail subject (SNS limits it to 100 characters).
    pub subject: String,
    /// The plain-text body a person reads.
    pub body: String,
    /// String message attributes for subscription filter policies
    /// (`deploymentId`, `function`, `alias`, `kind`, `reviewer`).
    pub attributes: BTreeMap<String, String>,
}

/// Publishes notifications (SNS).
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Publish one notification; returns the message id.
    async fn publish(&self, notification: &Notification) -> Result<String, PortError>;
}

/// Invocation and error counts of one function version over a window.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionMetrics {
    /// Sum of `Invocations`.
    pub invocations: f64,
    /// Sum of `Errors`.
    pub errors: f64,
}

/// Where health signals come from (CloudWatch).
#[async_trait]
pub trait HealthSource: Send + Sync {
    /// The names among `alarm_names` whose state is ALARM.
    async fn alarms_in_alarm(&self, alarm_names: &[String]) -> Result<Vec<String>, PortError>;
    /// `AWS/Lambda` `Invocations` and `Errors` of `function_name:alias` for
    /// `ExecutedVersion = version` between `start` and `end`.
    async fn version_metrics(
        &self,
        function_name: &str,
        alias: &str,
        version: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<VersionMetrics, PortError>;
}

/// Resumes a workflow task that waits for a task token (Step Functions).
#[async_trait]
pub trait WorkflowCallback: Send + Sync {
    /// `SendTaskSuccess` with `output`.
    async fn send_task_success(
        &self,
        task_token: &str,
        output: &serde_json::Value,
    ) -> Result<(), PortError>;
    /// `SendTaskFailure` with an error name and cause.
    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), PortError>;
}

/// The time, so local runs can use a virtual clock.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Everything a handler may use, behind ports.
#[derive(Clone)]
pub struct Services {
    /// The bucket holding records, approvals, locks and history.
    pub store: Arc<dyn ObjectStore>,
    /// Alias routing of the target function.
    pub aliases: Arc<dyn AliasControl>,
    /// Hooks and smoke tests.
    pub functions: Arc<dyn FunctionInvoker>,
    /// Notifications.
    pub notifier: Arc<dyn Notifier>,
    /// Alarms and metrics.
    pub health: Arc<dyn HealthSource>,
    /// Task-token callbacks.
    pub workflow: Arc<dyn WorkflowCallback>,
    /// The time: the wall clock on AWS, a virtual clock in local runs and tests.
    pub clock: Arc<dyn Clock>,
    /// Settings read once from the environment.
    pub settings: Settings,
}

/// Stack-wide settings every function reads once from its environment in `main`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// The stack's default notification topic, used when a request names none.
    pub default_notify_topic_arn: Option<String>,
    /// Base URL of the approval endpoint (function URL), for approval links.
    pub approval_base_url: Option<String>,
}
