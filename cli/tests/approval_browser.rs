//! The approval page in a real browser: Debian's headless Chromium, driven by
//! playwright-core (`tests/browser/approve.mjs`), opens the link a reviewer was
//! sent, sees the deployment, clicks Approve and sees the confirmation; the
//! workflow then holds `approved: true`.
//!
//! The page is served by [`approval_server::serve`] in this process, over
//! in-memory services, so the test needs no AWS and no network beyond loopback.
//! Without chromium or playwright-core the test fails under CI (which installs
//! them with scripts/install-browser.sh) and is skipped loudly elsewhere.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shiftgate_cli::local::approval_server;
use shiftgate_core::adapters::memory::Callback;
use shiftgate_core::contracts::{PrepareInput, RequestApprovalInput};
use shiftgate_core::ports::{Settings, SystemClock};
use shiftgate_core::testing::{issued_links, MemoryServices, TOPIC};

const CHROMIUM: &str = "/usr/bin/chromium";
const TOKEN: &str = "browser-test-task-token";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `$SHIFTGATE_CACHE/node/node_modules`, where scripts/install-browser.sh puts playwright-core.
fn node_modules() -> PathBuf {
    let cache = std::env::var_os("SHIFTGATE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/shiftgate")
        });
    cache.join("node/node_modules")
}

/// What is missing to run the browser, if anything.
fn missing_browser_tools(node_modules: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push(format!("{CHROMIUM} (Debian's chromium package)"));
    }
    if Command::new("node").arg("--version").output().is_err() {
        missing.push("node".into());
    }
    if !node_modules.join("playwright-core/package.json").exists() {
        missing.push(format!("playwright-core in {}", node_modules.display()));
    }
    missing
}

/// A browser that has not finished by then is stuck; its output says where.
const BROWSER_DEADLINE: Duration = Duration::from_secs(120);

/// Run `command` with its output captured, killing it past `deadline`.
fn run_with_deadline(mut command: Command, deadline: Duration) -> std::process::Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let started = Instant::now();
    while child
        .try_wait()
        .expect("the child can be waited on")
        .is_none()
    {
        if started.elapsed() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child
        .wait_with_output()
        .expect("the child's output can be read")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_approves_in_headless_chromium() {
    let node_modules = node_modules();
    let missing = missing_browser_tools(&node_modules);
    if !missing.is_empty() {
        let message = format!(
            "browser test needs {}; run scripts/install-browser.sh",
            missing.join(", ")
        );
        if shiftgate_cli::ci::running_under_ci() {
            panic!("{message}");
        }
        // Straight to stderr: libtest would swallow eprintln! of a passing test.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!!!!!!! SKIPPED the approval page browser test: {message} !!!!!!!!!!\n"
        );
        return;
    }

    // GIVEN in-memory services serving the approval page on a free loopback port
    let memory = MemoryServices::builder()
        .clock(Arc::new(SystemClock))
        .settings(Settings {
            default_notify_topic_arn: Some(TOPIC.into()),
            approval_base_url: None,
        })
        .function("checkout", 8, "live", "7")
        .build();
    let (notifier, callback) = (memory.notifier.clone(), memory.callback.clone());
    let mut services = memory.services.clone();
    let (address, server) =
        approval_server::serve(services.clone(), "127.0.0.1:0".parse().unwrap(), None)
            .await
            .unwrap();
    // Links point at the server actually bound, as `shiftgate local` does.
    services.settings.approval_base_url = Some(format!("http://{address}/"));

    // AND a deployment waiting at a gate for ana's approval
    let prepared = shiftgate_core::handlers::prepare(
        &services,
        PrepareInput {
            request: serde_json::json!({
                "target": {"functionName": "checkout", "alias": "live", "targetVersion": "8"},
                "strategy": "Canary10Percent5Minutes",
                "approval": {"gates": ["beforePromotion"], "reviewers": ["ana@example.com"], "timeoutMinutes": 30}
            }),
            execution_id: None,
        },
    )
    .await
    .unwrap();
    shiftgate_core::handlers::request_approval(
        &services,
        RequestApprovalInput {
            deployment_id: prepared.deployment_id.clone(),
            step_index: 1,
            weight_percent: 100.0,
            task_token: TOKEN.into(),
        },
    )
    .await
    .unwrap();
    let url = issued_links(&notifier.published(), &format!("http://{address}/"))
        .into_iter()
        .next()
        .expect("ana was sent a link to the local server")
        .url;

    // WHEN a browser opens the link and clicks Approve
    let script = repo_root().join("tests/browser/approve.mjs");
    let deployment_id = prepared.deployment_id.clone();
    let mut command = Command::new("node");
    command
        .arg(&script)
        .arg(&url)
        .args([
            deployment_id.as_str(),
            "checkout:live",
            "7 → 8",
            "100 %",
            "ana@example.com",
        ])
        .env("NODE_PATH", &node_modules);
    // The browser posts back to the server on this runtime: wait on another thread.
    let output = tokio::task::spawn_blocking(move || run_with_deadline(command, BROWSER_DEADLINE))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    server.shutdown().await;

    // THEN the browser saw the confirmation and the workflow resumed approved
    assert!(
        output.status.success(),
        "browser run failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("browser approval: ok"));
    let calls = callback.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    match &calls[0] {
        Callback::Success(token, output) => {
            assert_eq!(token, TOKEN);
            assert_eq!(output["approved"], true);
            assert_eq!(output["decidedBy"], serde_json::json!(["ana@example.com"]));
        }
        other => panic!("unexpected callback {other:?}"),
    }
    // AND the decision records the browser's address and user agent
    let approval = shiftgate_core::approval::all(services.store.as_ref(), &deployment_id)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let decision = &approval.decisions[0];
    assert_eq!(decision.source_ip.as_deref(), Some("127.0.0.1"));
    assert!(decision
        .user_agent
        .as_deref()
        .is_some_and(|ua| ua.contains("Chrome")));
    assert_eq!(
        decision.comment.as_deref(),
        Some("Approved from headless Chromium")
    );
}
