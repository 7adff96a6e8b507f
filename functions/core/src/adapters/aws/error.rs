//! Turning SDK errors into [`PortError`]s, and teaching the retry policy the
//! throttling answers the SDK does not recognise on its own.

use std::fmt;
use std::marker::PhantomData;

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::config::interceptors::InterceptorContext;
use aws_sdk_lambda::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::ports::PortError;

/// Error codes AWS services use for "slow down". The SDK retries most of these
/// by itself; once its attempts are spent the last error still carries the code,
/// and that is when we report [`PortError::Throttled`].
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "Throttled",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "EC2ThrottledException",
    "KMSThrottling",
    "KMSThrottlingException",
];

/// The parts of a failed call that decide how it maps to a [`PortError`].
#[derive(Debug)]
pub(crate) struct Failure {
    /// The service's error code, when the service answered.
    pub(crate) code: Option<String>,
    /// The service's error message, when it gave one.
    pub(crate) message: Option<String>,
    /// The HTTP status of the last response, when there was one.
    pub(crate) status: Option<u16>,
    /// A one-line description of errors that are not service answers
    /// (timeouts, connection failures, unparseable responses).
    detail: String,
}

/// One readable line for a call that got no service answer: what went wrong
/// and the innermost cause (`Connection refused (os error 111)`), instead of
/// the SDK's nested debug text (`DispatchFailure { … ConnectorError { … } }`).
fn transport_detail<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: std::error::Error + 'static,
{
    let what = match err {
        SdkError::DispatchFailure(_) => {
            "the request could not be sent (is the endpoint reachable?)"
        }
        SdkError::TimeoutError(_) => "the request timed out",
        SdkError::ResponseError(_) => "the response could not be read",
        SdkError::ConstructionFailure(_) => "the request could not be built",
        _ => return DisplayErrorContext(err).to_string(),
    };
    let mut innermost = None;
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        innermost = Some(cause.to_string());
        source = cause.source();
    }
    match innermost {
        Some(cause) => format!("{what}: {cause}"),
        None => what.to_string(),
    }
}

impl Failure {
    /// Takes apart a failed SDK call.
    pub(crate) fn of<E>(err: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let (code, message) = match err {
            SdkError::ServiceError(service) => (
                service.err().code().map(str::to_owned),
                service.err().message().map(str::to_owned),
            ),
            _ => (None, None),
        };
        Self {
            code,
            message,
            status,
            detail: transport_detail(err),
        }
    }

    /// Whether the code is `code`.
    pub(crate) fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// Whether the service asked us to slow down (and retries are spent, since
    /// the retry policy saw this same answer before we did).
    pub(crate) fn is_throttling(&self) -> bool {
        self.status == Some(429)
            || self
                .code
                .as_deref()
                .is_some_and(|code| THROTTLING_CODES.contains(&code))
    }

    /// `"<operation>: <code>: <message>"`, short enough for a record's timeline.
    pub(crate) fn summary(&self, operation: &str) -> String {
        match (&self.code, &self.message) {
            (Some(code), Some(message)) => format!("{operation}: {code}: {message}"),
            (Some(code), None) => format!("{operation}: {code}"),
            _ => format!("{operation}: {}", self.detail),
        }
    }

    /// Like [`Failure::summary`] without the service's message, for services
    /// whose messages may echo secret inputs (task tokens).
    pub(crate) fn code_only(&self, operation: &str) -> String {
        match (&self.code, self.status) {
            (Some(code), _) => format!("{operation}: {code}"),
            (None, Some(status)) => format!("{operation}: HTTP {status}"),
            (None, None) => format!("{operation}: {}", self.detail),
        }
    }

    /// [`PortError::Throttled`] for throttling, [`PortError::Service`] otherwise.
    pub(crate) fn into_port_error(self, operation: &str) -> PortError {
        let summary = self.summary(operation);
        if self.is_throttling() {
            PortError::Throttled(summary)
        } else {
            PortError::Service(summary)
        }
    }
}

/// Retries any HTTP 429 as throttling. The SDK recognises throttling by error
/// code; a 429 whose code it does not know (SNS answers `Throttled`) would
/// otherwise fail on the first attempt.
#[derive(Debug, Default)]
pub(crate) struct TooManyRequests;

impl ClassifyRetry for TooManyRequests {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.response().map(|r| r.status().as_u16()) {
            Some(429) => RetryAction::throttling_error(),
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "shiftgate TooManyRequests"
    }
}

/// Retries an operation error of type `E` as throttling when its code is one of
/// [`THROTTLING_CODES`], whatever the HTTP status.
pub(crate) struct ThrottlingCodes<E>(PhantomData<fn() -> E>);

impl<E> ThrottlingCodes<E> {
    /// The classifier for errors of type `E`.
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<E> fmt::Debug for ThrottlingCodes<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ThrottlingCodes")
    }
}

impl<E> ClassifyRetry for ThrottlingCodes<E>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let code = ctx
            .output_or_error()
            .and_then(Result::err)
            .and_then(|err| err.as_operation_error())
            .and_then(|err| err.downcast_ref::<E>())
            .and_then(|err| err.code());
        match code {
            Some(code) if THROTTLING_CODES.contains(&code) => RetryAction::throttling_error(),
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "shiftgate ThrottlingCodes"
    }
}

/// At most `max` characters of `text`, cut on a character boundary.
pub(crate) fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use aws_config::retry::RetryConfig;
    use aws_config::{BehaviorVersion, Region, SdkConfig};
    use aws_sdk_lambda::config::{Credentials, SharedCredentialsProvider};

    use crate::adapters::aws::s3::client_config;
    use crate::adapters::aws::S3ObjectStore;
    use crate::ports::{ObjectStore, PortError};

    #[tokio::test]
    async fn an_unreachable_endpoint_reads_as_one_line_not_a_debug_dump() {
        // GIVEN a bucket behind an endpoint where nothing listens (port 9: discard)
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            )))
            .endpoint_url("http://127.0.0.1:9")
            .retry_config(RetryConfig::disabled())
            .build();
        let store = S3ObjectStore::new(
            aws_sdk_s3::Client::from_conf(client_config(&sdk).build()),
            "shiftgate".into(),
        );
        // WHEN a record is read
        let error = store.get("deployments/d/record.json").await.unwrap_err();
        // THEN the error says what happened and why, on one line
        let PortError::Service(message) = error else {
            panic!("not a service error: {error:?}");
        };
        assert!(message.contains("could not be sent"), "{message}");
        assert!(message.to_lowercase().contains("refused"), "{message}");
        assert!(
            !message.contains("DispatchFailure") && !message.contains('\n'),
            "{message}"
        );
    }
}
