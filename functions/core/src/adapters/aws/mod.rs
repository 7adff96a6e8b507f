//! AWS adapters: the ports of [`crate::ports`] implemented with the AWS SDK for Rust.
//!
//! Layout:
//! - [`s3`] — [`S3ObjectStore`], the bucket with conditional writes;
//! - [`lambda`] — [`LambdaAliases`] (alias routing) and [`LambdaInvoker`] (hooks);
//! - [`sns`] — [`SnsNotifier`];
//! - [`cloudwatch`] — [`CloudWatchHealth`] (alarms and per-version metrics);
//! - [`sfn`] — [`StepFunctionsCallback`] (task tokens).
//!
//! Every client is built from one shared [`SdkConfig`] (read once in `main` with
//! [`load_sdk_config`]) so credentials, region, endpoint and the retry policy are
//! the same everywhere. The retry policy matters: Lambda's control plane allows
//! about 15 requests per second per account and region, shared by every caller,
//! so throttling is an expected answer, not an exceptional one.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::ports::{Services, Settings, SystemClock};

pub mod cloudwatch;
mod error;
pub mod lambda;
pub mod s3;
pub mod sfn;
pub mod sns;

pub use cloudwatch::CloudWatchHealth;
pub use lambda::{LambdaAliases, LambdaInvoker};
pub use s3::S3ObjectStore;
pub use sfn::StepFunctionsCallback;
pub use sns::SnsNotifier;

/// Attempts per call, the first included. With [`INITIAL_BACKOFF`] doubling up to
/// [`MAX_BACKOFF`] this rides out roughly half a minute of throttling, long enough
/// for a burst of concurrent deployments to drain through Lambda's shared
/// control-plane budget, short enough to stay well inside a Lambda timeout.
pub const MAX_ATTEMPTS: u32 = 8;

/// The first retry waits up to this long (jittered), then the wait doubles.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(200);

/// No single wait between attempts exceeds this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// The retry policy every client uses: standard mode (exponential backoff with
/// full jitter, throttling and transient errors retried) with [`MAX_ATTEMPTS`].
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(INITIAL_BACKOFF)
        .with_max_backoff(MAX_BACKOFF)
}

/// Reads the environment once (credentials, region, `AWS_ENDPOINT_URL` and the
/// service-specific `AWS_ENDPOINT_URL_<SERVICE>`, so an emulator can be targeted)
/// and applies [`retry_config`].
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .load()
        .await
}

/// Every port backed by AWS, with clients built from `sdk`, records kept in
/// `bucket`, and the wall clock.
pub fn services_from_config(sdk: &SdkConfig, bucket: String, settings: Settings) -> Services {
    let lambda = aws_sdk_lambda::Client::from_conf(lambda::client_config(sdk).build());
    Services {
        store: Arc::new(S3ObjectStore::new(
            aws_sdk_s3::Client::from_conf(s3::client_config(sdk).build()),
            bucket,
        )),
        aliases: Arc::new(LambdaAliases::new(lambda.clone())),
        functions: Arc::new(LambdaInvoker::new(lambda)),
        notifier: Arc::new(SnsNotifier::new(aws_sdk_sns::Client::from_conf(
            sns::client_config(sdk).build(),
        ))),
        health: Arc::new(CloudWatchHealth::new(
            aws_sdk_cloudwatch::Client::from_conf(cloudwatch::client_config(sdk).build()),
        )),
        workflow: Arc::new(StepFunctionsCallback::new(aws_sdk_sfn::Client::from_conf(
            sfn::client_config(sdk).build(),
        ))),
        clock: Arc::new(SystemClock),
        settings,
    }
}

#[cfg(test)]
mod tests {
    use aws_config::retry::RetryMode;

    use super::*;
    use crate::testing::aws::test_sdk_config;

    #[test]
    fn the_retry_policy_is_standard_with_exponential_backoff() {
        let retry = retry_config();
        assert_eq!(retry.mode(), RetryMode::Standard);
        assert_eq!(retry.max_attempts(), MAX_ATTEMPTS);
        assert_eq!(retry.initial_backoff(), INITIAL_BACKOFF);
        assert_eq!(retry.max_backoff(), MAX_BACKOFF);
    }

    #[test]
    fn every_client_keeps_the_shared_retry_policy() {
        let sdk = SdkConfig::builder().retry_config(retry_config()).build();
        let policies = [
            lambda::client_config(&sdk).build().retry_config().cloned(),
            s3::client_config(&sdk).build().retry_config().cloned(),
            sns::client_config(&sdk).build().retry_config().cloned(),
            cloudwatch::client_config(&sdk)
                .build()
                .retry_config()
                .cloned(),
            sfn::client_config(&sdk).build().retry_config().cloned(),
        ];
        for policy in policies {
            assert_eq!(policy, Some(retry_config()));
        }
    }

    #[test]
    fn services_are_built_from_one_config() {
        let services =
            services_from_config(&test_sdk_config(), "bucket".to_owned(), Settings::default());
        assert_eq!(services.settings, Settings::default());
    }
}
