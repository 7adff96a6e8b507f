//! The real Lambda binaries behind a real Lambda Invoke API: `cargo lambda
//! watch` on a free loopback port, started per test and stopped (with the
//! function processes it started) when the test ends.
//!
//! `cargo lambda watch` starts a function on its first invocation with
//! `cargo run --bin <name>` in the workspace. Cargo unifies features over the
//! packages it builds, so that single-package build can differ from
//! `cargo build --workspace` and would otherwise compile the SDK stack again
//! inside the first invocation (and time it out). [`LambdaWatch::start`]
//! therefore builds each binary first with exactly the command the watcher
//! will run (`cargo build --bin <name>`, same profile, same target directory),
//! so the watcher's own `cargo run` only finds everything fresh.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::primitives::Blob;
use serde_json::Value;

use crate::emulator::{find_tool, free_port, http, missing_tool, ProcessGuard};

/// How long the watcher may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A `cargo lambda watch` serving the workspace's function binaries.
pub struct LambdaWatch {
    process: ProcessGuard,
    /// `http://127.0.0.1:<port>`: the Lambda Invoke API endpoint.
    pub endpoint: String,
    /// Where the watcher's and the functions' output goes.
    pub log: std::path::PathBuf,
    /// The SDK configuration of the test with the endpoint set to the watcher.
    pub sdk: SdkConfig,
    client: aws_sdk_lambda::Client,
}

/// The answer of one invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// `X-Amz-Function-Error` (`Unhandled`) when the function raised.
    pub function_error: Option<String>,
    /// The response payload (`{"errorType","errorMessage"}` on error).
    pub payload: Value,
}

/// Build `bins` as `cargo run --bin <name>` would, so the watcher finds them
/// fresh. One command for all of them: they depend on the same crates, so the
/// features unify exactly as in each single-binary build.
pub fn prebuild(bins: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let started = Instant::now();
    let mut command = Command::new(&cargo);
    command.arg("build");
    for bin in bins {
        command.args(["--bin", bin]);
    }
    let status = command
        .current_dir(crate::repo_root())
        .stdin(Stdio::null())
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build of {bins:?} failed");
    eprintln!(
        "cargo build of {} binaries: {:.1}s",
        bins.len(),
        started.elapsed().as_secs_f64()
    );
}

impl LambdaWatch {
    /// Pre-build `bins`, then start `cargo lambda watch` on a free loopback
    /// port with `env` for the functions. `None` means cargo-lambda is not
    /// installed and the test should return (never under CI).
    pub async fn start(
        test: &str,
        bins: &[&str],
        env: &[(String, String)],
        sdk: &SdkConfig,
    ) -> Option<Self> {
        let Some(program) = find_tool("cargo-lambda") else {
            missing_tool("cargo-lambda", test);
            return None;
        };
        prebuild(bins);
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::try_start(&program, test, env, sdk).await {
                Ok(watch) => return Some(watch),
                Err(error) => last_error = error,
            }
        }
        panic!("cargo lambda watch did not start: {last_error}");
    }

    async fn try_start(
        program: &Path,
        test: &str,
        env: &[(String, String)],
        sdk: &SdkConfig,
    ) -> Result<Self, String> {
        let port = free_port();
        let log = std::env::temp_dir().join(format!(
            "shiftgate-watch-{}-{port}.log",
            test.replace("::", "-")
        ));
        let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut command = Command::new(program);
        // Run as a cargo subcommand would be run: `cargo-lambda lambda watch`.
        command
            .args([
                "lambda",
                "watch",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
            ])
            .arg(port.to_string())
            // Other work in the checkout must not restart functions mid-test.
            .arg("--ignore-changes");
        for (key, value) in env {
            command.arg("--env-var").arg(format!("{key}={value}"));
        }
        command
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(crate::repo_root())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let mut process =
            ProcessGuard::spawn(command, "cargo lambda watch").map_err(|e| e.to_string())?;
        let address = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if http(&address, "GET", "/", None).await.is_ok() {
                break;
            }
            if process.exited() {
                let output = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!(
                    "cargo lambda watch exited on port {port}: {output}"
                ));
            }
            if Instant::now() > deadline {
                return Err(format!("cargo lambda watch did not answer on port {port}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let endpoint = format!("http://{address}");
        eprintln!(
            "cargo lambda watch (pid {}) on {endpoint}, log {}",
            process.pid(),
            log.display()
        );
        let sdk = sdk.to_builder().endpoint_url(&endpoint).build();
        // No SDK retries: a retried 500 would run a function that already raised again.
        let client = aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(&sdk)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .build(),
        );
        Ok(Self {
            process,
            endpoint,
            log,
            sdk,
            client,
        })
    }

    /// Invoke `function` (its bin name) through the Lambda Invoke API.
    pub async fn invoke(&self, function: &str, payload: &Value) -> Invocation {
        let result = self
            .client
            .invoke()
            .function_name(function)
            .payload(Blob::new(serde_json::to_vec(payload).expect("payload")))
            .send()
            .await;
        match result {
            Ok(output) => {
                let bytes = output
                    .payload()
                    .map(|b| b.as_ref().to_vec())
                    .unwrap_or_default();
                Invocation {
                    function_error: output.function_error().map(str::to_owned),
                    payload: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                }
            }
            // Lambda answers a raised error with 200 and X-Amz-Function-Error;
            // cargo lambda watch with 500 and the same error object.
            Err(SdkError::ServiceError(service)) if service.raw().status().as_u16() == 500 => {
                let bytes = service.raw().body().bytes().unwrap_or_default();
                Invocation {
                    function_error: Some("Unhandled".to_owned()),
                    payload: serde_json::from_slice(bytes).unwrap_or(Value::Null),
                }
            }
            Err(error) => panic!("Invoke {function}: {error:?}\n{}", self.log_tail()),
        }
    }

    /// The last lines of the watcher's output, for assertion messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for LambdaWatch {
    fn drop(&mut self) {
        // SIGTERM first: the watcher then stops the functions it started.
        self.process.stop(Duration::from_secs(3));
        // The log is kept only when the test failed, to read what the functions logged.
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}
