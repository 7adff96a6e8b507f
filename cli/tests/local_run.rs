//! `shiftgate local run` end to end: the project's state machine in the
//! embedded interpreter, the real handlers, the simulated fleet and the local
//! approval server. Runs at high speed on real time (the approval server is real
//! HTTP), so each deployment takes well under a second or two.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shiftgate_core::error::WorkflowError;
use std::path::PathBuf;

use shiftgate_cli::local::{self, ApproveMode, LocalRunArgs, RunStatus};
use shiftgate_core::request::DeploymentRequest;

fn repo(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// Options for running `sample` (default: the built-in canary) at 1500x speed.
///
/// The sample is copied into the state directory with a week-long approval
/// wait: at 1500x a 30-minute wait lasts 1.2 s of real time, which a loaded CI
/// machine could let pass before the automatic decision lands, turning an
/// approval into a timeout. The timeout paths have their own test.
fn args(sample: Option<&str>, state_dir: &tempfile::TempDir) -> LocalRunArgs {
    let mut request: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo(sample.unwrap_or("events/request-canary.json"))).unwrap(),
    )
    .unwrap();
    if let Some(approval) = request.get_mut("approval") {
        approval["timeoutMinutes"] = serde_json::json!(7 * 24 * 60);
    }
    let path = state_dir.path().join("request.json");
    std::fs::write(&path, request.to_string()).unwrap();
    LocalRunArgs {
        request: Some(path),
        speed: 1500.0,
        approve: ApproveMode::Auto,
        fail_rate: 0.0,
        fail_hooks: vec![],
        requests_per_second: 10.0,
        json: true,
        state_dir: state_dir.path().to_path_buf(),
        definition: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_canary_rolls_back_to_the_old_version_exactly() {
    // GIVEN the default canary and a new version that fails half its requests
    let dir = tempfile::tempdir().unwrap();
    let mut args = args(None, &dir);
    args.fail_rate = 0.5;
    // WHEN it runs
    let summary = local::run(args).await.unwrap();
    // THEN the health check fails, and the alias is back on version 7 with no routing
    assert_eq!(summary.status, RunStatus::RolledBack, "{summary:?}");
    assert!(
        summary
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("HealthCheckFailed"),
        "{summary:?}"
    );
    let alias = summary.final_alias.unwrap();
    assert_eq!(alias.function_version, "7");
    assert!(alias.additional_version_weights.is_empty());
    assert!(summary.traffic["8"]["errors"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_approval_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = args(None, &dir);
    args.approve = ApproveMode::Reject;
    let summary = local::run(args).await.unwrap();
    assert_eq!(summary.status, RunStatus::RolledBack, "{summary:?}");
    assert!(
        summary
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains(WorkflowError::ApprovalRejected.name()),
        "{summary:?}"
    );
    assert_eq!(summary.final_alias.unwrap().function_version, "7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linear_plan_approved_automatically_ends_on_the_new_version() {
    let dir = tempfile::tempdir().unwrap();
    let summary = local::run(args(Some("events/request-linear.json"), &dir))
        .await
        .unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    let alias = summary.final_alias.unwrap();
    assert_eq!(alias.function_version, "8");
    assert!(
        alias.additional_version_weights.is_empty(),
        "no routing config left: {alias:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planner_counts_the_transitions_the_state_machine_makes() {
    // Every sample request, run to success, costs what `shiftgate plan` says.
    for sample in [
        "events/request-canary.json",
        "events/request-linear.json",
        "events/request-all-at-once.json",
        "events/request-steps.json",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let request =
            DeploymentRequest::from_json(&std::fs::read_to_string(repo(sample)).unwrap()).unwrap();
        let plan = request.validate().unwrap();
        let summary = local::run(args(Some(sample), &dir)).await.unwrap();
        assert_eq!(
            summary.status,
            RunStatus::Succeeded,
            "{sample}: {summary:?}"
        );
        assert_eq!(
            summary.state_transitions, plan.state_transitions,
            "{sample}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_hook_rolls_back_and_a_second_run_finds_the_alias_free() {
    let dir = tempfile::tempdir().unwrap();
    let mut failing = args(Some("events/request-steps.json"), &dir);
    failing.fail_hooks = vec!["checkout-verify-canary".into()];
    let summary = local::run(failing).await.unwrap();
    assert_eq!(summary.status, RunStatus::RolledBack, "{summary:?}");
    assert!(
        summary
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("checkout-verify-canary"),
        "{summary:?}"
    );
    // The same request again in the same state directory: the id is taken, the lock is free.
    let summary = local::run(args(Some("events/request-steps.json"), &dir))
        .await
        .unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(
        summary.deployment_id.as_deref(),
        Some("checkout-v8-steps-2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_options_and_requests_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = args(None, &dir);
    bad.fail_rate = 1.5;
    assert!(local::run(bad)
        .await
        .unwrap_err()
        .to_string()
        .contains("--fail-rate"));
    let request = dir.path().join("bad.json");
    std::fs::write(&request, r#"{"target":{"functionName":"f","alias":"live","targetVersion":"3"},"strategy":"Canary7Percent"}"#).unwrap();
    let mut bad = args(None, &dir);
    bad.request = Some(request);
    let err = local::run(bad).await.unwrap_err().to_string();
    assert!(err.contains("did you mean"), "{err}");
    assert!(!dir.path().join("bucket").exists(), "nothing was written");
}

/// A request whose approval gate times out after `minutes` with `on_timeout`.
fn gated_request(dir: &tempfile::TempDir, on_timeout: &str) -> PathBuf {
    let path = dir.path().join(format!("gate-{on_timeout}.json"));
    let request = serde_json::json!({
        "target": {"functionName": "checkout", "alias": "live", "targetVersion": "8"},
        "strategy": "Canary10Percent5Minutes",
        "approval": {"gates": ["beforePromotion"], "timeoutMinutes": 2, "onTimeout": on_timeout}
    });
    std::fs::write(&path, request.to_string()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_nobody_decides_rolls_back_or_continues_as_configured() {
    // GIVEN gates nobody decides (--approve manual, and nobody opens the link)
    for (on_timeout, expected, version) in [
        ("rollback", RunStatus::RolledBack, "7"),
        ("continue", RunStatus::Succeeded, "8"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = args(None, &dir);
        args.request = Some(gated_request(&dir, on_timeout));
        args.approve = ApproveMode::Manual;
        // WHEN the two-minute wait runs out
        let summary = local::run(args).await.unwrap();
        // THEN onTimeout decides
        assert_eq!(summary.status, expected, "{on_timeout}: {summary:?}");
        assert_eq!(
            summary.final_alias.as_ref().unwrap().function_version,
            version,
            "{on_timeout}"
        );
        if on_timeout == "rollback" {
            assert!(
                summary
                    .cause
                    .as_deref()
                    .unwrap_or_default()
                    .contains(WorkflowError::ApprovalTimedOut.name()),
                "{summary:?}"
            );
        }
    }
}
