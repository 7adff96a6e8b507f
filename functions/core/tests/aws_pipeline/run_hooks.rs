//! `run-hooks`: the smoke test and each hook invoked with its documented payload.

use serde_json::json;
use shiftgate_core::contracts::{HookPhase, RunHooksInput};
use shiftgate_core::handlers::run_hooks;

use crate::common::*;

#[tokio::test]
async fn before_allow_traffic_smoke_tests_the_new_version_then_invokes_each_hook() {
    // GIVEN a deployment with a smoke test and two beforeAllowTraffic hooks
    let mut request = request_json("AllAtOnce");
    request["smokeTest"] = json!({"payload": {"path": "/health"}});
    request["hooks"] = json!({"beforeAllowTraffic": ["warm-cache", "audit"]});
    let record = prepared(request, &[]).await;
    let recorder = Recorder::default();
    let script = Script {
        s3: vec![
            s3_get(RECORD, &record, "\"rec-1\""),
            s3_get(RECORD, &record, "\"rec-2\""),
            s3_put(RECORD, "\"rec-3\""),
            s3_get(RECORD, &record, "\"rec-3\""),
            s3_put(RECORD, "\"rec-4\""),
            s3_get(RECORD, &record, "\"rec-4\""),
            s3_put(RECORD, "\"rec-5\""),
        ],
        lambda: vec![
            invoked("checkout", json!({"statusCode": 200})),
            invoked("warm-cache", json!({"status": "Succeeded"})),
            invoked("audit", json!(null)),
        ],
        ..Script::default()
    };
    let services = services(&script, &recorder, started());

    // WHEN the beforeAllowTraffic phase runs
    let out = run_hooks(
        &services,
        RunHooksInput {
            deployment_id: ID.into(),
            phase: HookPhase::BeforeAllowTraffic,
            step_index: None,
        },
    )
    .await
    .expect("hooks pass");

    // THEN version 8 itself is invoked first with the smoke payload, then each
    // hook with the documented payload, each result logged on the record
    assert_eq!(out.passed, 3);
    assert_eq!(
        transcript(&recorder),
        lines(&[
            "S3 GetObject deployments/dep-1/record.json",
            "Lambda Invoke checkout Qualifier=8",
            "S3 GetObject deployments/dep-1/record.json",
            "S3 PutObject deployments/dep-1/record.json If-Match: \"rec-2\"",
            "Lambda Invoke warm-cache",
            "S3 GetObject deployments/dep-1/record.json",
            "S3 PutObject deployments/dep-1/record.json If-Match: \"rec-3\"",
            "Lambda Invoke audit",
            "S3 GetObject deployments/dep-1/record.json",
            "S3 PutObject deployments/dep-1/record.json If-Match: \"rec-4\"",
        ])
    );
    let invokes = sent_as(&recorder, "Lambda Invoke");
    for invoke in &invokes {
        assert_eq!(
            invoke.header("X-Amz-Invocation-Type"),
            Some("RequestResponse")
        );
    }
    assert_eq!(invokes[0].json(), json!({"path": "/health"}));
    let hook_payload = json!({
        "deploymentId": ID,
        "phase": "beforeAllowTraffic",
        "functionName": "checkout",
        "alias": "live",
        "currentVersion": "7",
        "targetVersion": "8",
    });
    assert_eq!(invokes[1].json(), hook_payload);
    assert_eq!(invokes[2].json(), hook_payload);
}

#[tokio::test]
async fn before_each_step_hooks_receive_the_step_and_its_weight() {
    // GIVEN explicit steps whose first has its own hook, and a hook for every step
    let mut request = request_json("AllAtOnce");
    request["strategy"] =
        json!({"type": "steps", "steps": [{"weightPercent": 20, "hook": "step-hook"}]});
    request["hooks"] = json!({"beforeEachStep": "warm-cache"});
    let record = prepared(request, &[]).await;
    let recorder = Recorder::default();
    let script = Script {
        s3: vec![
            s3_get(RECORD, &record, "\"rec-1\""),
            s3_get(RECORD, &record, "\"rec-2\""),
            s3_put(RECORD, "\"rec-3\""),
            s3_get(RECORD, &record, "\"rec-3\""),
            s3_put(RECORD, "\"rec-4\""),
        ],
        lambda: vec![
            invoked("warm-cache", json!({})),
            invoked("step-hook", json!({"status": "Succeeded"})),
        ],
        ..Script::default()
    };
    let services = services(&script, &recorder, started());

    // WHEN the hooks before the first step run
    run_hooks(
        &services,
        RunHooksInput {
            deployment_id: ID.into(),
            phase: HookPhase::BeforeEachStep,
            step_index: Some(0),
        },
    )
    .await
    .expect("hooks pass");

    // THEN both hooks get the step index and the weight it shifts to, and no
    // smoke test runs in this phase
    assert_eq!(
        transcript(&recorder),
        lines(&[
            "S3 GetObject deployments/dep-1/record.json",
            "Lambda Invoke warm-cache",
            "S3 GetObject deployments/dep-1/record.json",
            "S3 PutObject deployments/dep-1/record.json If-Match: \"rec-2\"",
            "Lambda Invoke step-hook",
            "S3 GetObject deployments/dep-1/record.json",
            "S3 PutObject deployments/dep-1/record.json If-Match: \"rec-3\"",
        ])
    );
    let invokes = sent_as(&recorder, "Lambda Invoke");
    assert_eq!(
        invokes.iter().map(line).collect::<Vec<_>>(),
        lines(&["Lambda Invoke warm-cache", "Lambda Invoke step-hook"])
    );
    for invoke in &invokes {
        assert_eq!(invoke.query("Qualifier"), None);
        assert_eq!(
            invoke.json(),
            json!({
                "deploymentId": ID,
                "phase": "beforeEachStep",
                "functionName": "checkout",
                "alias": "live",
                "currentVersion": "7",
                "targetVersion": "8",
                "stepIndex": 0,
                "weightPercent": 20.0,
            })
        );
    }
}
