//! A private AWS emulator per test: a moto server on a free loopback port,
//! SDK configuration pointing at it, and helpers that create the resources a
//! test needs (bucket, topic, queue, function versions and alias, alarms).
//!
//! Every test starts its own server ([`Moto::start`]) and a [`Drop`] guard
//! kills its process group when the test ends, panics included; no test
//! assumes a server is already running and no port is fixed. When moto is not
//! installed the tests skip loudly, except under CI (`CI` set), where a
//! missing emulator is a failure: CI must never pass by testing nothing.
//!
//! CloudWatch goes through [`CloudWatchBridge`]: the SDK speaks CBOR to it,
//! which moto does not (see `crate::cloudwatch_bridge`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cloudwatch_bridge::CloudWatchBridge;

/// The Region every emulated resource lives in.
pub const REGION: &str = "us-east-1";

/// moto's default account id (ARNs of everything it creates).
pub const ACCOUNT: &str = "123456789012";

/// How long a server may take to answer after it was started; moto imports
/// every service's models at start, which takes a few seconds on 2 cores.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether this run is CI, where missing tools fail instead of skipping
/// ([`shiftgate_cli::ci::running_under_ci`], the rule `scripts/lib.sh` uses too).
pub fn is_ci() -> bool {
    shiftgate_cli::ci::running_under_ci()
}

/// `$SHIFTGATE_CACHE` (default `~/.cache/shiftgate`), where scripts/install-tools.sh puts the venv.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("SHIFTGATE_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/shiftgate"),
    }
}

/// A tool from the project's venv, else from `PATH`.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let venv = cache_dir().join("venv/bin").join(name);
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// Report a missing tool: a failure under CI, a loud skip elsewhere.
/// Returns normally only when the caller should skip.
pub fn missing_tool(name: &str, test: &str) {
    let message = format!(
        "{name} is not installed (looked in {} and on PATH); run `bash scripts/install-tools.sh`",
        cache_dir().join("venv/bin").display()
    );
    if is_ci() {
        panic!("{test}: {message}");
    }
    eprintln!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    eprintln!("!!! SKIPPED {test}: {message}");
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
}

/// A free TCP port on 127.0.0.1, found by binding port 0. Another process
/// could take it before our child binds it; callers retry on a failed start.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("bind a loopback port")
}

/// A child process in its own process group, killed with its group on drop.
#[derive(Debug)]
pub struct ProcessGuard {
    child: Child,
    name: String,
}

impl ProcessGuard {
    /// Start `command` in a new process group. On Linux the child also gets
    /// SIGKILL if this test process dies without unwinding (a harness
    /// timeout), so no emulator outlives its test.
    pub fn spawn(mut command: Command, name: &str) -> std::io::Result<Self> {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
        // SAFETY: prctl is async-signal-safe and touches only the child.
        unsafe {
            command.pre_exec(|| {
                #[cfg(target_os = "linux")]
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn()?;
        Ok(Self {
            child,
            name: name.to_owned(),
        })
    }

    /// The child's process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the child has exited.
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Ask the whole group to stop (SIGTERM), give it `grace`, then SIGKILL the group.
    pub fn stop(&mut self, grace: Duration) {
        let group = -(self.child.id() as i32);
        // SAFETY: plain signal delivery to our own child's process group.
        unsafe { libc::kill(group, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline && !self.exited() {
            std::thread::sleep(Duration::from_millis(50));
        }
        // The group may hold grandchildren (cargo run, function binaries) even
        // when the leader is gone: always kill the group.
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(2));
        eprintln!("stopped {} (process group {})", self.name, self.child.id());
    }
}

/// A running moto server owned by one test.
#[derive(Debug)]
pub struct Moto {
    process: ProcessGuard,
    /// `127.0.0.1:<port>`.
    pub address: String,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// Where the server's output goes (kept for failure reports).
    pub log: PathBuf,
}

impl Moto {
    /// Start moto on a free loopback port, wait until it answers and configure
    /// it (Lambda without Docker, Step Functions executing definitions).
    /// `None` means moto is not installed and the test should return (never under CI).
    pub async fn start(test: &str) -> Option<Moto> {
        let Some(program) = find_tool("moto_server") else {
            missing_tool("moto_server", test);
            return None;
        };
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::try_start(&program, test).await {
                Ok(moto) => {
                    moto.configure().await;
                    return Some(moto);
                }
                Err(error) => last_error = error,
            }
        }
        panic!("moto did not start: {last_error}");
    }

    async fn try_start(program: &std::path::Path, test: &str) -> Result<Moto, String> {
        // moto's own port must be fixed up front: Step Functions executions
        // call the other services back through MOTO_PORT, so `-p 0` would
        // leave them calling port 0.
        let port = free_port();
        let log = std::env::temp_dir().join(format!(
            "shiftgate-moto-{}-{port}.log",
            test.replace("::", "-")
        ));
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut command = Command::new(program);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let mut process = ProcessGuard::spawn(command, "moto_server").map_err(|e| e.to_string())?;
        let address = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            // Any HTTP answer means it is serving (moto answers this one with 201).
            if let Ok((status, _)) = http(&address, "GET", "/moto-api/config", None).await {
                if status > 0 {
                    break;
                }
            }
            if process.exited() {
                let output = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("moto_server exited on port {port}: {output}"));
            }
            if Instant::now() > deadline {
                return Err(format!("moto_server did not answer on port {port} in time"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!(
            "moto_server (pid {}) on http://{address}, log {}",
            process.pid(),
            log.display()
        );
        Ok(Moto {
            process,
            endpoint: format!("http://{address}"),
            address,
            log,
        })
    }

    /// Must happen before any function is created: moto decides per function
    /// whether it would need Docker.
    async fn configure(&self) {
        let config =
            r#"{"lambda":{"use_docker":false},"stepfunctions":{"execute_state_machine":true}}"#;
        let (status, body) = http(&self.address, "POST", "/moto-api/config", Some(config))
            .await
            .expect("configure moto");
        assert!((200..300).contains(&status), "moto config: {status} {body}");
    }

    /// SDK configuration for this server: its endpoint, dummy credentials, the
    /// Region, and shiftgate's retry policy (what the binaries use).
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(REGION))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "emulator",
            ))
            .retry_config(shiftgate_core::adapters::aws::retry_config())
            .load()
            .await
    }

    /// Environment for a process that must talk to this server (a function
    /// binary), with CloudWatch at `cloudwatch_url` (the CBOR bridge).
    pub fn env(&self, cloudwatch_url: &str) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ENDPOINT_URL_CLOUDWATCH", cloudwatch_url),
            ("AWS_REGION", REGION),
            ("AWS_DEFAULT_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// An IAM role for functions and state machines (moto checks it exists).
    /// IAM's query protocol is a plain form POST, so no IAM SDK crate is needed.
    pub async fn role_arn(&self, name: &str) -> String {
        let form = format!(
            "Action=CreateRole&Version=2010-05-08&RoleName={name}&AssumeRolePolicyDocument=%7B%7D"
        );
        let (status, body) = http_with(
            &self.address,
            "POST",
            "/",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
                ),
            ],
            Some(&form),
        )
        .await
        .expect("CreateRole");
        assert_eq!(status, 200, "CreateRole: {body}");
        format!("arn:aws:iam::{ACCOUNT}:role/{name}")
    }

    /// The last lines of the server's log, for assertion messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.process.stop(Duration::from_millis(500));
        // The log is kept only when the test failed, to read what the server saw.
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// Clients of every service a test observes, built from one [`SdkConfig`].
#[derive(Debug, Clone)]
pub struct Clients {
    /// S3 (path-style, as the adapter does with a custom endpoint).
    pub s3: aws_sdk_s3::Client,
    /// Lambda control plane.
    pub lambda: aws_sdk_lambda::Client,
    /// SNS.
    pub sns: aws_sdk_sns::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// CloudWatch.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// Step Functions.
    pub sfn: aws_sdk_sfn::Client,
}

impl Clients {
    /// Clients for `sdk`, CloudWatch's for `cloudwatch_sdk`.
    pub fn new(sdk: &SdkConfig, cloudwatch_sdk: &SdkConfig) -> Self {
        Self {
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(sdk)
                    .force_path_style(true)
                    .build(),
            ),
            lambda: aws_sdk_lambda::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(cloudwatch_sdk),
            sfn: aws_sdk_sfn::Client::new(sdk),
        }
    }

    /// Create a bucket.
    pub async fn create_bucket(&self, bucket: &str) {
        self.s3
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("CreateBucket");
    }

    /// The object at `key` as JSON, or `None`.
    pub async fn object_json(&self, bucket: &str, key: &str) -> Option<serde_json::Value> {
        match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(output) => {
                let bytes = output.body.collect().await.expect("body").into_bytes();
                Some(serde_json::from_slice(&bytes).expect("object is JSON"))
            }
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => None,
            Err(err) => panic!("GetObject {key}: {err:?}"),
        }
    }

    /// Keys under `prefix`.
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let output = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .send()
            .await
            .expect("ListObjectsV2");
        output
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }

    /// A function with published versions `1..=versions` (moto runs no code:
    /// the package is a zip of a placeholder `bootstrap`).
    pub async fn create_function(&self, name: &str, role: &str, versions: u32) {
        let zip = zip_one_file("bootstrap", b"#!/bin/sh\necho placeholder\n");
        self.lambda
            .create_function()
            .function_name(name)
            .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
            .role(role)
            .handler("bootstrap")
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(zip.clone()))
                    .build(),
            )
            .send()
            .await
            .expect("CreateFunction");
        for _ in 0..versions {
            self.lambda
                .update_function_code()
                .function_name(name)
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip.clone()))
                .send()
                .await
                .expect("UpdateFunctionCode");
            self.lambda
                .publish_version()
                .function_name(name)
                .send()
                .await
                .expect("PublishVersion");
        }
    }

    /// Create `alias` on `version`, with extra routing when `weights` is not empty.
    pub async fn create_alias(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        weights: &[(&str, f64)],
    ) {
        let mut request = self
            .lambda
            .create_alias()
            .function_name(function)
            .name(alias)
            .function_version(version);
        if !weights.is_empty() {
            let mut routing = aws_sdk_lambda::types::AliasRoutingConfiguration::builder();
            for (v, w) in weights {
                routing = routing.additional_version_weights(*v, *w);
            }
            request = request.routing_config(routing.build());
        }
        request.send().await.expect("CreateAlias");
    }

    /// The alias as GetAlias reports it: its version and routing weights, sorted.
    pub async fn alias(&self, function: &str, alias: &str) -> (String, Vec<(String, f64)>) {
        let output = self
            .lambda
            .get_alias()
            .function_name(function)
            .name(alias)
            .send()
            .await
            .expect("GetAlias");
        let mut weights: Vec<(String, f64)> = output
            .routing_config()
            .and_then(|r| r.additional_version_weights())
            .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        weights.sort_by(|a, b| a.0.cmp(&b.0));
        (
            output.function_version().unwrap_or_default().to_owned(),
            weights,
        )
    }

    /// A topic; returns its ARN.
    pub async fn create_topic(&self, name: &str) -> String {
        self.sns
            .create_topic()
            .name(name)
            .send()
            .await
            .expect("CreateTopic")
            .topic_arn()
            .expect("topic ARN")
            .to_owned()
    }

    /// A queue; returns its URL and ARN.
    pub async fn create_queue(&self, name: &str) -> (String, String) {
        let url = self
            .sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("CreateQueue")
            .queue_url()
            .expect("queue URL")
            .to_owned();
        let arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("GetQueueAttributes")
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .expect("queue ARN")
            .clone();
        (url, arn)
    }

    /// A queue subscribed to `topic_arn`; returns the queue URL.
    pub async fn subscribed_queue(&self, topic_arn: &str, name: &str) -> String {
        let (url, arn) = self.create_queue(name).await;
        self.sns
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(arn)
            .send()
            .await
            .expect("Subscribe sqs");
        url
    }

    /// Every message body in the queue (received and deleted), waiting up to
    /// `wait` for at least `at_least` of them.
    pub async fn drain_queue(
        &self,
        url: &str,
        at_least: usize,
        wait: Duration,
    ) -> Vec<aws_sdk_sqs::types::Message> {
        let deadline = Instant::now() + wait;
        let mut messages = Vec::new();
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await
                .expect("ReceiveMessage");
            for message in output.messages() {
                if let Some(handle) = message.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("DeleteMessage");
                }
                messages.push(message.clone());
            }
            if messages.len() >= at_least || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A metric alarm on the function's errors, in state OK.
    pub async fn create_alarm(&self, name: &str) {
        self.cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/Lambda")
            .metric_name("Errors")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(
                aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold,
            )
            .send()
            .await
            .expect("PutMetricAlarm");
        self.set_alarm(name, aws_sdk_cloudwatch::types::StateValue::Ok)
            .await;
    }

    /// Force an alarm's state (what CloudWatch does when the metric crosses).
    pub async fn set_alarm(&self, name: &str, state: aws_sdk_cloudwatch::types::StateValue) {
        self.cloudwatch
            .set_alarm_state()
            .alarm_name(name)
            .state_value(state)
            .state_reason("set by the test")
            .send()
            .await
            .expect("SetAlarmState");
    }
}

/// One emulated account for a test: the server, its SDK config and clients.
pub struct Emulator {
    /// The SDK configuration pointing at moto.
    pub sdk: SdkConfig,
    /// The same, with CloudWatch's endpoint at the bridge.
    pub cloudwatch_sdk: SdkConfig,
    /// Clients to arrange and observe.
    pub clients: Clients,
    /// CloudWatch's CBOR to JSON bridge in front of moto.
    pub bridge: CloudWatchBridge,
    /// The server (declared last, so dropped last).
    pub moto: Moto,
}

impl Emulator {
    /// Start a server for `test`; `None` means skip (moto not installed, not CI).
    pub async fn start(test: &str) -> Option<Self> {
        let moto = Moto::start(test).await?;
        let bridge = CloudWatchBridge::start(&moto.address).await;
        let sdk = moto.sdk_config().await;
        let cloudwatch_sdk = sdk.to_builder().endpoint_url(&bridge.url).build();
        let clients = Clients::new(&sdk, &cloudwatch_sdk);
        Some(Self {
            sdk,
            cloudwatch_sdk,
            clients,
            bridge,
            moto,
        })
    }

    /// Environment for a function binary using this emulator.
    pub fn env(&self) -> Vec<(String, String)> {
        self.moto.env(&self.bridge.url)
    }

    /// shiftgate's services on this emulator, built as a Lambda binary builds
    /// them (`services_from_config`), CloudWatch's through the bridge.
    pub fn services(
        &self,
        bucket: &str,
        topic_arn: Option<&str>,
    ) -> shiftgate_core::ports::Services {
        let settings = shiftgate_core::ports::Settings {
            default_notify_topic_arn: topic_arn.map(str::to_owned),
            approval_base_url: Some("https://approvals.example.invalid/".to_owned()),
        };
        let mut services = shiftgate_core::adapters::aws::services_from_config(
            &self.sdk,
            bucket.to_owned(),
            settings.clone(),
        );
        services.health = shiftgate_core::adapters::aws::services_from_config(
            &self.cloudwatch_sdk,
            bucket.to_owned(),
            settings,
        )
        .health;
        services
    }
}

/// A minimal HTTP/1.1 request to `address` (`host:port`) with `Connection: close`;
/// returns the status and body. Enough for moto's own API and our subscribers.
pub async fn http(
    address: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    http_with(
        address,
        method,
        path,
        &[("Content-Type", "application/json")],
        body,
    )
    .await
}

/// [`http`] with explicit headers.
pub async fn http_with(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let body = body.unwrap_or("");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// One HTTP request a [`Subscriber`] received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request path.
    pub path: String,
    /// The body, as JSON when it is JSON.
    pub body: serde_json::Value,
}

/// A tiny HTTP endpoint on 127.0.0.1 for SNS `http` subscriptions: it confirms
/// a subscription when SNS asks (GET of `SubscribeURL`) and records every
/// notification.
pub struct Subscriber {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Subscriber {
    /// Listen on a free loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind subscriber");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let sink = sink.clone();
                tokio::spawn(async move {
                    if let Some(request) = read_request(stream).await {
                        confirm_if_asked(&request.body).await;
                        sink.lock().expect("lock").push(request);
                    }
                });
            }
        });
        Self {
            url,
            received,
            task,
        }
    }

    /// The notifications received so far, waiting up to `wait` for `at_least`.
    pub async fn received(&self, at_least: usize, wait: Duration) -> Vec<Received> {
        let deadline = Instant::now() + wait;
        loop {
            let now = self.received.lock().expect("lock").clone();
            if now.len() >= at_least || Instant::now() > deadline {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(mut stream: tokio::net::TcpStream) -> Option<Received> {
    let mut data = Vec::new();
    let mut buffer = [0u8; 8192];
    let (head_len, content_length) = loop {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buffer[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, length);
        }
    };
    while data.len() < head_len + content_length {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buffer[..n]);
    }
    let head = String::from_utf8_lossy(&data[..head_len]).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let body_text = String::from_utf8_lossy(&data[head_len..]).into_owned();
    let body = serde_json::from_str(&body_text).unwrap_or(serde_json::Value::String(body_text));
    let _ = stream
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await;
    Some(Received { path, body })
}

/// SNS asks an HTTP endpoint to confirm by fetching `SubscribeURL`; we do when
/// that URL is on loopback (an emulator), and never reach anywhere else.
async fn confirm_if_asked(body: &serde_json::Value) {
    if body["Type"] != "SubscriptionConfirmation" {
        return;
    }
    let Some(url) = body["SubscribeURL"].as_str() else {
        return;
    };
    let Some(rest) = url
        .strip_prefix("http://127.0.0.1:")
        .or_else(|| url.strip_prefix("http://localhost:"))
    else {
        return;
    };
    let (port, path) = rest.split_once('/').unwrap_or((rest, ""));
    let _ = http(
        &format!("127.0.0.1:{port}"),
        "GET",
        &format!("/{path}"),
        None,
    )
    .await;
}

/// A zip archive holding one stored (uncompressed) file: what CreateFunction
/// wants, without a zip library.
pub fn zip_one_file(name: &str, content: &[u8]) -> Vec<u8> {
    let crc = crc32(content);
    let size = content.len() as u32;
    let name_len = name.len() as u16;
    let mut out = Vec::new();
    // Local file header.
    out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    // Version needed, flags, method (stored), time, date (1980-01-01).
    out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(content);
    let central_offset = out.len() as u32;
    // Central directory header.
    out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    out.extend_from_slice(&[20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]); // extra, comment, disk, internal attrs
    out.extend_from_slice(&(0o100_755u32 << 16).to_le_bytes()); // external attrs: an executable
    out.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    out.extend_from_slice(name.as_bytes());
    let central_size = out.len() as u32 - central_offset;
    // End of central directory.
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_zip_check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn the_zip_has_its_signatures_in_place() {
        let zip = zip_one_file("bootstrap", b"x");
        assert_eq!(&zip[..4], b"PK\x03\x04");
        assert_eq!(&zip[zip.len() - 22..zip.len() - 18], b"PK\x05\x06");
    }
}
