//! Whole deployments through the real binaries: the embedded interpreter runs
//! `state-machines/deployment.asl.json` and invokes each Lambda task through
//! the Lambda Invoke API of `cargo lambda watch`
//! (`shiftgate_tests::remote_lambda`), while the binaries use moto for S3, SNS,
//! Lambda aliases and CloudWatch. The request has no hooks, smoke test or
//! approval: moto cannot run Lambda code for them.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::{json, Value};
use shiftgate_asl::ExecutionStatus;
use shiftgate_core::error::WorkflowError;
use shiftgate_core::functions::Function;
use shiftgate_core::record::keys;
use shiftgate_tests::emulator::Emulator;
use shiftgate_tests::lambda_watch::LambdaWatch;
use shiftgate_tests::remote_lambda::{run_remote, RemoteFunctions};

const BUCKET: &str = "shiftgate-deployments";

/// Wait states and intervals run this many times faster than real time: the
/// one-minute canary takes six real seconds, with a health check every second.
const SPEED: f64 = 10.0;

/// A canary of checkout:live to version 3: 10 % for a minute, then 100 %,
/// health checked every 10 (virtual) seconds on one alarm.
fn canary_request() -> Value {
    json!({
        "target": { "functionName": "checkout", "alias": "live", "targetVersion": "3" },
        "strategy": { "type": "canary", "percent": 10, "intervalMinutes": 1 },
        "healthCheckIntervalSeconds": 10,
        "alarms": ["checkout-5xx"]
    })
}

/// moto with checkout (versions 1..=3, live on 1 routing 5 % to 2, the alias
/// a rollback must restore exactly), the bucket, topic and alarm; and the
/// binaries under cargo lambda watch. `None`: tools missing, skip.
async fn arrange(test: &str) -> Option<(Emulator, LambdaWatch)> {
    let emulator = Emulator::start(test).await?;
    let clients = &emulator.clients;
    let role = emulator.moto.role_arn("shiftgate-deployment").await;
    clients.create_bucket(BUCKET).await;
    clients.create_function("checkout", &role, 3).await;
    clients
        .create_alias("checkout", "live", "1", &[("2", 0.05)])
        .await;
    clients.create_alarm("checkout-5xx").await;
    let topic = clients.create_topic("shiftgate").await;
    let mut env = emulator.env();
    env.extend(
        [
            ("SHIFTGATE_BUCKET", BUCKET),
            ("SHIFTGATE_TOPIC_ARN", topic.as_str()),
            ("RUST_LOG", "info"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let bins: Vec<&str> = Function::ALL.iter().map(|f| f.bin_name()).collect();
    let watch = LambdaWatch::start(test, &bins, &env, &emulator.sdk).await?;
    Some((emulator, watch))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_through_the_real_binaries_succeeds() {
    const TEST: &str = "a_canary_through_the_real_binaries_succeeds";
    let Some((emulator, watch)) = arrange(TEST).await else {
        return;
    };

    // WHEN the deployment runs with every Lambda task invoked through the Invoke API
    let started = Instant::now();
    let outcome = run_remote(
        Arc::new(RemoteFunctions::new(&watch.sdk)),
        canary_request(),
        "canary-ok",
        SPEED,
        None,
    )
    .await
    .expect("runs");
    eprintln!("deployment took {:.1}s", started.elapsed().as_secs_f64());

    // THEN it succeeds, all traffic is on version 3 with no routing left
    assert!(
        matches!(outcome.status, ExecutionStatus::Succeeded { .. }),
        "{:?}\n{}",
        outcome.status,
        watch.log_tail()
    );
    assert_eq!(
        emulator.clients.alias("checkout", "live").await,
        ("3".to_owned(), vec![])
    );
    // AND the record says so and the lock is released
    let record = emulator
        .clients
        .object_json(BUCKET, &keys::record("canary-ok"))
        .await
        .expect("record");
    assert_eq!(record["status"], "Succeeded");
    assert!(emulator
        .clients
        .object_json(BUCKET, &keys::lock("checkout", "live"))
        .await
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_through_the_real_binaries_rolls_back_when_an_alarm_fires() {
    const TEST: &str = "a_canary_through_the_real_binaries_rolls_back_when_an_alarm_fires";
    let Some((emulator, watch)) = arrange(TEST).await else {
        return;
    };

    // WHEN the deployment runs …
    let functions = Arc::new(RemoteFunctions::new(&watch.sdk));
    let deployment = tokio::spawn(run_remote(
        functions,
        canary_request(),
        "canary-alarm",
        SPEED,
        None,
    ));
    // … and the alarm fires once the canary's 10 % is live in Lambda
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (version, weights) = emulator.clients.alias("checkout", "live").await;
        if version == "1" && weights == [("3".to_owned(), 0.1)] {
            break;
        }
        assert!(
            Instant::now() < deadline && !deployment.is_finished(),
            "the canary never shifted: {version} {weights:?}\n{}",
            watch.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    emulator
        .clients
        .set_alarm("checkout-5xx", StateValue::Alarm)
        .await;
    let outcome = deployment.await.expect("joins").expect("runs");

    // THEN the execution ends rolled back …
    match &outcome.status {
        ExecutionStatus::Failed { error, .. } => {
            assert_eq!(error, WorkflowError::DeploymentRolledBack.name())
        }
        other => panic!("expected a rollback, got {other:?}\n{}", watch.log_tail()),
    }
    // … with the alias exactly as captured: version 1, 5 % still on version 2
    assert_eq!(
        emulator.clients.alias("checkout", "live").await,
        ("1".to_owned(), vec![("2".to_owned(), 0.05)])
    );
    // AND the record names the alarm, and the lock is released
    let record = emulator
        .clients
        .object_json(BUCKET, &keys::record("canary-alarm"))
        .await
        .expect("record");
    assert_eq!(record["status"], "RolledBack");
    assert!(
        record["failure"].to_string().contains("checkout-5xx"),
        "{}",
        record["failure"]
    );
    assert!(emulator
        .clients
        .object_json(BUCKET, &keys::lock("checkout", "live"))
        .await
        .is_none());
}
