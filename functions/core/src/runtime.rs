//! What every Lambda binary's `main` shares: configuration read once from the
//! environment, tracing set-up, and the AWS services.

use crate::ports::Settings;

/// Configuration of a deployed function, read once in `main`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The stack's bucket (`SHIFTGATE_BUCKET`).
    pub bucket: String,
    /// Settings shared with the handlers.
    pub settings: Settings,
}

impl Config {
    /// Read `SHIFTGATE_BUCKET`, `SHIFTGATE_TOPIC_ARN` and `SHIFTGATE_APPROVAL_URL`.
    pub fn from_env() -> Result<Self, String> {
        let bucket = std::env::var("SHIFTGATE_BUCKET")
            .map_err(|_| "SHIFTGATE_BUCKET is not set".to_string())?;
        let optional = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Ok(Self {
            bucket,
            settings: Settings {
                default_notify_topic_arn: optional("SHIFTGATE_TOPIC_ARN"),
                approval_base_url: optional("SHIFTGATE_APPROVAL_URL"),
            },
        })
    }
}

/// Structured logs without ANSI colours (CloudWatch shows them raw), level
/// from `RUST_LOG` (default info).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Read the configuration and build the AWS services once, for `main`.
pub async fn aws_services() -> Result<crate::ports::Services, lambda_runtime::Error> {
    init_tracing();
    let config = Config::from_env()?;
    let sdk = crate::adapters::aws::load_sdk_config().await;
    Ok(crate::adapters::aws::services_from_config(
        &sdk,
        config.bucket,
        config.settings,
    ))
}
