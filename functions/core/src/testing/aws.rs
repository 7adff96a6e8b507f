//! Test plumbing for the AWS adapters: a shared config that never touches the
//! network, mocked responses (aws-smithy-mocks) and a recorder of the HTTP
//! requests the SDK would have sent, so tests check the wire, not just inputs.
//!
//! [`services`] wires every port to its AWS adapter over such clients, for
//! tests that run whole handlers against scripted AWS answers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_lambda::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_lambda::config::{
    ConfigBag, Credentials, Intercept, RuntimeComponents, SharedCredentialsProvider,
};
use aws_sdk_lambda::error::BoxError;
use aws_smithy_mocks::{create_mock_http_client, MockResponseInterceptor, Rule, RuleMode};
use chrono::{DateTime, Utc};

use crate::adapters::aws::{
    cloudwatch, lambda, retry_config, s3, sfn, sns, CloudWatchHealth, LambdaAliases, LambdaInvoker,
    S3ObjectStore, SnsNotifier, StepFunctionsCallback,
};
use crate::adapters::memory::ManualClock;
use crate::ports::Services;

/// The production retry policy with millisecond backoff, so retry tests are fast.
pub fn test_sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        )))
        .retry_config(retry_config().with_initial_backoff(Duration::from_millis(1)))
        .http_client(create_mock_http_client())
        .build()
}

/// Answers from `rules`, in order.
pub fn mocks(rules: &[&Rule]) -> MockResponseInterceptor {
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::Sequential),
        |interceptor, rule| interceptor.with_rule(rule),
    )
}

/// One HTTP request as it would have gone on the wire.
#[derive(Debug, Clone)]
pub struct SentRequest {
    /// The HTTP method (`GET`, `PUT`, `POST`, …).
    pub method: String,
    /// The whole URI, scheme and host included.
    pub uri: String,
    /// Every header, signing headers included, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl SentRequest {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    /// The body as form fields (the AWS query protocol of SNS and CloudWatch).
    pub fn form(&self) -> Vec<(String, String)> {
        String::from_utf8_lossy(&self.body)
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect()
    }

    /// The value of form field `name`.
    pub fn field(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The host the request goes to (`lambda.eu-west-1.amazonaws.com`).
    pub fn host(&self) -> &str {
        let rest = self.uri.split_once("://").map_or(&*self.uri, |(_, r)| r);
        rest.split(['/', '?']).next().unwrap_or_default()
    }

    /// The decoded path, without the query (`/locks/orders/live.json`).
    pub fn path(&self) -> String {
        let rest = self.uri.split_once("://").map_or(&*self.uri, |(_, r)| r);
        let path = rest.find('/').map_or("", |i| &rest[i..]);
        percent_decode(path.split('?').next().unwrap_or_default())
    }

    /// The decoded value of query parameter `name`.
    pub fn query(&self, name: &str) -> Option<String> {
        let (_, query) = self.uri.split_once('?')?;
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == name).then(|| percent_decode(v))
        })
    }

    /// The SNS `MessageAttributes` of a query-protocol request (`Publish`), as
    /// name → `StringValue`. The SDK numbers entries in hash-map order, so
    /// they are collected by name.
    pub fn message_attributes(&self) -> std::collections::BTreeMap<String, String> {
        let form = self.form();
        let field = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        (1..)
            .map_while(|n| {
                let entry = format!("MessageAttributes.entry.{n}");
                let name = field(&format!("{entry}.Name"))?;
                Some((
                    name,
                    field(&format!("{entry}.Value.StringValue")).unwrap_or_default(),
                ))
            })
            .collect()
    }

    /// Which service and operation this is, read off the wire alone:
    /// `S3 PutObject`, `Lambda UpdateAlias`, `SNS Publish`,
    /// `CloudWatch DescribeAlarms`, `SFN SendTaskSuccess`.
    pub fn operation(&self) -> String {
        let host = self.host();
        let path = self.path();
        let service = host.split('.').find_map(|label| match label {
            "s3" => Some("S3"),
            "lambda" => Some("Lambda"),
            "sns" => Some("SNS"),
            "monitoring" => Some("CloudWatch"),
            "states" => Some("SFN"),
            _ => None,
        });
        let operation = match service {
            // S3 names the operation in `x-id` (GetObject, PutObject, DeleteObject, ...).
            // ListObjectsV2 is the one S3 call here without it: `list-type=2`.
            Some("S3") => self.query("x-id").unwrap_or_else(|| {
                if self.query("list-type").as_deref() == Some("2") {
                    "ListObjectsV2".into()
                } else {
                    format!("{} {path}", self.method)
                }
            }),
            Some("Lambda") => match (self.method.as_str(), path.rsplit('/').nth(1)) {
                _ if path.ends_with("/configuration") => "GetFunctionConfiguration".into(),
                _ if path.ends_with("/invocations") => "Invoke".into(),
                ("GET", Some("aliases")) => "GetAlias".into(),
                ("PUT", Some("aliases")) => "UpdateAlias".into(),
                (method, _) => format!("{method} {path}"),
            },
            // Query protocol: the action is a form field.
            Some("SNS") => self.field("Action").unwrap_or_default(),
            // RPC v2 CBOR: `/service/<service>/operation/<operation>`.
            Some("CloudWatch") => path.rsplit('/').next().unwrap_or_default().to_owned(),
            // AWS JSON 1.0: `X-Amz-Target: AWSStepFunctions.<operation>`.
            _ => self
                .header("X-Amz-Target")
                .and_then(|t| t.rsplit('.').next())
                .unwrap_or_default()
                .to_owned(),
        };
        format!("{} {operation}", service.unwrap_or("SFN"))
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Records every request just before it would be transmitted (after
/// serialization and signing), retries included.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    sent: Arc<Mutex<Vec<SentRequest>>>,
}

impl Recorder {
    /// Everything recorded so far.
    pub fn sent(&self) -> Vec<SentRequest> {
        self.sent.lock().expect("recorder lock").clone()
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let sent = SentRequest {
            method: request.method().to_owned(),
            uri: request.uri().to_owned(),
            headers: request
                .headers()
                .iter()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
            body: request.body().bytes().unwrap_or_default().to_vec(),
        };
        self.sent.lock().expect("recorder lock").push(sent);
        Ok(())
    }
}

/// The bucket [`services`] keeps records in.
pub const BUCKET: &str = "shiftgate-bucket";

/// What each client of [`services`] answers, in order. A client without a
/// script refuses every request (the mock interceptor panics on an unmatched
/// request), so a callback the test did not script fails it.
#[derive(Default)]
pub struct Script {
    /// The bucket's answers.
    pub s3: Vec<Rule>,
    /// Lambda's answers (aliases, versions and invocations share one client).
    pub lambda: Vec<Rule>,
    /// SNS's answers.
    pub sns: Vec<Rule>,
    /// CloudWatch's answers.
    pub cloudwatch: Vec<Rule>,
    /// Step Functions' answers (task-token callbacks).
    pub sfn: Vec<Rule>,
}

/// `Services` whose ports are the AWS adapters over mocked clients that all
/// report to `recorder`, with records in [`BUCKET`], a manual clock at `now`
/// and [`super::stack_settings`].
pub fn services(script: &Script, recorder: &Recorder, now: DateTime<Utc>) -> Services {
    let sdk = test_sdk_config();
    let rules = |rules: &[Rule]| mocks(&rules.iter().collect::<Vec<_>>());
    let lambda_client = aws_sdk_lambda::Client::from_conf(
        lambda::client_config(&sdk)
            .interceptor(rules(&script.lambda))
            .interceptor(recorder.clone())
            .build(),
    );
    Services {
        store: Arc::new(S3ObjectStore::new(
            aws_sdk_s3::Client::from_conf(
                s3::client_config(&sdk)
                    .interceptor(rules(&script.s3))
                    .interceptor(recorder.clone())
                    .build(),
            ),
            BUCKET.to_owned(),
        )),
        aliases: Arc::new(LambdaAliases::new(lambda_client.clone())),
        functions: Arc::new(LambdaInvoker::new(lambda_client)),
        notifier: Arc::new(SnsNotifier::new(aws_sdk_sns::Client::from_conf(
            sns::client_config(&sdk)
                .interceptor(rules(&script.sns))
                .interceptor(recorder.clone())
                .build(),
        ))),
        health: Arc::new(CloudWatchHealth::new(
            aws_sdk_cloudwatch::Client::from_conf(
                cloudwatch::client_config(&sdk)
                    .interceptor(rules(&script.cloudwatch))
                    .interceptor(recorder.clone())
                    .build(),
            ),
        )),
        workflow: Arc::new(StepFunctionsCallback::new(aws_sdk_sfn::Client::from_conf(
            sfn::client_config(&sdk)
                .interceptor(rules(&script.sfn))
                .interceptor(recorder.clone())
                .build(),
        ))),
        clock: Arc::new(ManualClock::new(now)),
        settings: super::stack_settings(),
    }
}
