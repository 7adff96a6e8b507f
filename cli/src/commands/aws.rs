//! The AWS side of the operator commands: one shared `SdkConfig`, the stack's
//! bucket checked before it is read, and SDK failures told as one line a person
//! can act on.
//!
//! The common failures (endpoint unreachable, no Region, no or rejected or
//! expired credentials, access denied, no such bucket, bucket in another
//! Region) get a sentence that says what to do; anything else is printed with
//! its full context (service, code, message, request id) by
//! [`DisplayErrorContext`], never as a bare `service error` or
//! `dispatch failure`.

use std::error::Error as StdError;

use aws_config::retry::RetryConfig;
use aws_config::SdkConfig;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// The SDK configuration every operator command uses: the environment read
/// once, with shiftgate-core's retry policy.
pub async fn sdk_config() -> SdkConfig {
    shiftgate_core::adapters::aws::load_sdk_config().await
}

/// Checks that `bucket` can be read with `sdk` before any record is, so the
/// usual mistakes (no endpoint, wrong Region, bad credentials, wrong bucket
/// name) are reported once, plainly, instead of through the record store.
///
/// One `HeadBucket` (which needs only the `s3:ListBucket` the commands need
/// anyway), retried once: a person waiting at a terminal should hear about a
/// dead endpoint in seconds, not after the full retry budget the Lambda
/// functions ride out throttling with.
pub async fn check_bucket(sdk: &SdkConfig, bucket: &str) -> anyhow::Result<()> {
    require_region(sdk)?;
    let mut config = aws_sdk_s3::config::Builder::from(sdk)
        .retry_config(RetryConfig::standard().with_max_attempts(2));
    // As shiftgate-core's S3 adapter: emulators answer on one host name.
    if sdk.endpoint_url().is_some() {
        config = config.force_path_style(true);
    }
    let client = aws_sdk_s3::Client::from_conf(config.build());
    match client.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(error) => Err(anyhow::anyhow!(explain(
            &error,
            sdk,
            "S3",
            Subject::Bucket(bucket)
        ))),
    }
}

/// Fails with what to do when neither a Region nor an endpoint is configured.
pub fn require_region(sdk: &SdkConfig) -> anyhow::Result<()> {
    if sdk.region().is_none() && sdk.endpoint_url().is_none() {
        anyhow::bail!(
            "no AWS Region is set: set AWS_REGION (the stack's Region), or a region in your AWS profile"
        );
    }
    Ok(())
}

/// What a failed call was about, for the sentence that explains it.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// The stack's bucket (`--bucket`).
    Bucket(&'a str),
    /// The stack's state machine (`--state-machine-arn`).
    StateMachine(&'a str),
    /// Anything else, named for the message.
    Other(&'a str),
}

/// One line that says what went wrong with a call to `service` and what to do.
pub fn explain<E>(
    error: &SdkError<E, HttpResponse>,
    sdk: &SdkConfig,
    service: &str,
    subject: Subject<'_>,
) -> String
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    if !matches!(error, SdkError::ServiceError(_)) && mentions_credentials(error) {
        return format!(
            "no usable AWS credentials ({}): set AWS_PROFILE, or AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, or log in again (e.g. `aws sso login`)",
            innermost(error).trim_end_matches('.')
        );
    }
    match error {
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
            let how = if failure.is_timeout() {
                "timed out".to_owned()
            } else {
                innermost(error)
            };
            unreachable(sdk, service, &how)
        }
        SdkError::TimeoutError(_) => unreachable(sdk, service, "timed out"),
        SdkError::ServiceError(answer) => {
            let raw = answer.raw();
            let status = raw.status().as_u16();
            let code = answer.err().code().unwrap_or_default();
            let request_id = raw
                .headers()
                .get("x-amzn-requestid")
                .or_else(|| raw.headers().get("x-amz-request-id"))
                .map(|id| format!(", request id {id}"))
                .unwrap_or_default();
            let said = match (code, answer.err().message()) {
                ("", _) => format!("{service} answered HTTP {status}{request_id}"),
                (code, Some(message)) => {
                    format!("{service} answered {code}: {message}{request_id}")
                }
                (code, None) => format!("{service} answered {code}{request_id}"),
            };
            let bucket_region = raw.headers().get("x-amz-bucket-region");
            let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
            match (code, status, subject) {
                (_, 301, Subject::Bucket(bucket))
                | ("PermanentRedirect", _, Subject::Bucket(bucket))
                | ("AuthorizationHeaderMalformed", _, Subject::Bucket(bucket))
                    if bucket_region.is_some_and(|r| r != region) =>
                {
                    let elsewhere = bucket_region.unwrap_or_default();
                    format!(
                        "bucket {bucket} is in Region {elsewhere}, not {region}: \
                         set AWS_REGION={elsewhere} ({said})"
                    )
                }
                (
                    "InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "InvalidClientTokenId"
                    | "UnrecognizedClientException"
                    | "InvalidSignatureException"
                    | "AuthFailure",
                    _,
                    _,
                ) => format!(
                    "AWS rejected your credentials: check AWS_PROFILE, or AWS_ACCESS_KEY_ID and \
                     AWS_SECRET_ACCESS_KEY ({said})"
                ),
                (
                    "ExpiredToken"
                    | "ExpiredTokenException"
                    | "RequestExpired"
                    | "TokenRefreshRequired",
                    _,
                    _,
                ) => format!(
                    "your AWS credentials have expired: log in again (e.g. `aws sso login`) or \
                     refresh AWS_SESSION_TOKEN ({said})"
                ),
                ("NoSuchBucket" | "NotFound", _, Subject::Bucket(bucket))
                | ("", 404, Subject::Bucket(bucket)) => format!(
                    "bucket {bucket} does not exist{}: check --bucket (or SHIFTGATE_BUCKET; \
                     the stack output BucketName) and AWS_REGION ({said})",
                    in_region(&region)
                ),
                ("StateMachineDoesNotExist" | "InvalidArn", _, Subject::StateMachine(arn)) => {
                    format!(
                        "state machine {arn} was not found: check --state-machine-arn (or \
                         SHIFTGATE_STATE_MACHINE_ARN; the stack output StateMachineArn) and \
                         AWS_REGION ({said})"
                    )
                }
                ("AccessDenied" | "AccessDeniedException" | "Forbidden", _, subject)
                | ("", 403, subject) => format!(
                    "access denied to {}: use an identity allowed to read it, or check \
                     AWS_PROFILE / AWS_ACCESS_KEY_ID ({said})",
                    subject.describe()
                ),
                _ => format!("{said}: {}", DisplayErrorContext(error)),
            }
        }
        _ => DisplayErrorContext(error).to_string(),
    }
}

impl Subject<'_> {
    fn describe(self) -> String {
        match self {
            Subject::Bucket(bucket) => format!("bucket {bucket}"),
            Subject::StateMachine(arn) => format!("state machine {arn}"),
            Subject::Other(what) => what.to_owned(),
        }
    }
}

fn in_region(region: &str) -> String {
    if region.is_empty() {
        String::new()
    } else {
        format!(" in {region}")
    }
}

/// "cannot reach …": where the requests went, why they did not arrive, and
/// which setting chose the place.
fn unreachable(sdk: &SdkConfig, service: &str, how: &str) -> String {
    match sdk.endpoint_url() {
        Some(url) => format!(
            "cannot reach the endpoint {url} set by AWS_ENDPOINT_URL ({how}): start the \
             service there, or unset AWS_ENDPOINT_URL to use AWS"
        ),
        None => {
            let region = sdk
                .region()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "(no Region)".to_owned());
            format!(
                "cannot reach {service} in Region {region} ({how}): check your network \
                 connection and that AWS_REGION names a real Region"
            )
        }
    }
}

/// The first line of the message at the bottom of an error's source chain
/// ("Connection refused (os error 111)"), which says more than the layers
/// above it; the credential chain's report of every provider it tried is cut
/// to its headline.
fn innermost(error: &(dyn StdError + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    let text = current.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.trim_end_matches("Attempted:").trim_end().to_owned()
}

/// Whether the SDK failed before sending because it had no credentials to sign with.
fn mentions_credentials(error: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("no credentials") || text.contains("credentials provider") {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::head_bucket::HeadBucketError;
    use aws_sdk_s3::primitives::SdkBody;

    use super::*;

    fn sdk(region: &str) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .build()
    }

    /// What S3 would answer: `status`, an error `code` (HEAD answers have none)
    /// and extra headers.
    fn answer(
        status: u16,
        code: Option<&str>,
        headers: &[(&'static str, &'static str)],
    ) -> SdkError<HeadBucketError, HttpResponse> {
        let mut meta = ErrorMetadata::builder();
        if let Some(code) = code {
            meta = meta.code(code).message("from the service");
        }
        let mut raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        raw.headers_mut().insert("x-amz-request-id", "REQ123");
        for (name, value) in headers {
            raw.headers_mut().insert(*name, *value);
        }
        SdkError::service_error(HeadBucketError::generic(meta.build()), raw)
    }

    fn explained(error: &SdkError<HeadBucketError, HttpResponse>) -> String {
        explain(error, &sdk("us-east-1"), "S3", Subject::Bucket("records"))
    }

    #[test]
    fn a_bucket_in_another_region_says_which_region_to_set() {
        // GIVEN S3 redirecting a HEAD of the bucket to eu-west-1
        let error = answer(301, None, &[("x-amz-bucket-region", "eu-west-1")]);
        // THEN the message names the bucket's Region and the setting to change
        let message = explained(&error);
        assert!(
            message.starts_with(
                "bucket records is in Region eu-west-1, not us-east-1: set AWS_REGION=eu-west-1"
            ),
            "{message}"
        );
    }

    #[test]
    fn rejected_and_expired_credentials_say_what_to_do() {
        let rejected = explained(&answer(403, Some("InvalidAccessKeyId"), &[]));
        assert!(
            rejected.starts_with("AWS rejected your credentials"),
            "{rejected}"
        );
        assert!(
            rejected.contains("InvalidAccessKeyId") && rejected.contains("REQ123"),
            "{rejected}"
        );
        let expired = explained(&answer(400, Some("ExpiredToken"), &[]));
        assert!(
            expired.starts_with("your AWS credentials have expired: log in again"),
            "{expired}"
        );
    }

    #[test]
    fn a_missing_bucket_and_a_denied_one_are_told_apart() {
        let missing = explained(&answer(404, None, &[]));
        assert!(
            missing.starts_with("bucket records does not exist in us-east-1: check --bucket"),
            "{missing}"
        );
        let denied = explained(&answer(403, None, &[]));
        assert!(
            denied.starts_with("access denied to bucket records"),
            "{denied}"
        );
    }

    #[test]
    fn other_answers_keep_their_full_context_on_one_line() {
        // GIVEN an error this module has no sentence for
        let message = explained(&answer(500, Some("InternalError"), &[]));
        // THEN service, code, message and request id are all there, on one line
        assert!(
            message.starts_with("S3 answered InternalError: from the service, request id REQ123"),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
    }
}
