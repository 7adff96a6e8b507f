//! Every function binary end to end: the real Lambda binaries run under
//! `cargo lambda watch`, are invoked through the Lambda Invoke API with the
//! sample events of events/ (pointed at resources the test created in moto),
//! and their effect is read back from moto (alias routing, records, locks,
//! notifications).

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::{json, Value};
use shiftgate_core::functions::Function;
use shiftgate_core::record::keys;
use shiftgate_tests::emulator::Emulator;
use shiftgate_tests::lambda_watch::{Invocation, LambdaWatch};

const BUCKET: &str = "shiftgate-binaries";

fn event(name: &str) -> Value {
    serde_json::from_str(&shiftgate_tests::read(&format!("events/{name}.json")))
        .unwrap_or_else(|e| panic!("events/{name}.json: {e}"))
}

fn ok(invocation: &Invocation, function: &str, log: &str) -> Value {
    assert!(
        invocation.function_error.is_none(),
        "{function} raised {}\n{log}",
        invocation.payload
    );
    invocation.payload.clone()
}

/// The SNS envelopes of the notifications in the queue, by their `kind` attribute.
async fn kinds(emulator: &Emulator, queue: &str, at_least: usize) -> Vec<String> {
    let messages = emulator
        .clients
        .drain_queue(queue, at_least, Duration::from_secs(10))
        .await;
    messages
        .iter()
        .map(|m| {
            let envelope: Value =
                serde_json::from_str(m.body().expect("body")).expect("SNS envelope");
            assert_eq!(
                envelope["MessageAttributes"]["deploymentId"]["Value"],
                "checkout-v8"
            );
            envelope["MessageAttributes"]["kind"]["Value"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_binary_runs_under_cargo_lambda_watch_against_moto() {
    const TEST: &str = "every_function_binary_runs_under_cargo_lambda_watch_against_moto";
    let Some(emulator) = Emulator::start(TEST).await else {
        return;
    };
    let clients = &emulator.clients;
    // GIVEN what the sample events refer to: checkout with versions 1..=8 and
    // live on 7, the stack's bucket and topic (with a queue), the alarm
    let role = emulator.moto.role_arn("shiftgate-binaries").await;
    clients.create_bucket(BUCKET).await;
    clients.create_function("checkout", &role, 8).await;
    clients.create_alias("checkout", "live", "7", &[]).await;
    clients.create_alarm("checkout-5xx").await;
    let topic = clients.create_topic("shiftgate").await;
    let queue = clients.subscribed_queue(&topic, "shiftgate").await;
    let mut env = emulator.env();
    env.extend(
        [
            ("SHIFTGATE_BUCKET", BUCKET),
            ("SHIFTGATE_TOPIC_ARN", topic.as_str()),
            (
                "SHIFTGATE_APPROVAL_URL",
                "https://approvals.example.invalid/",
            ),
            ("RUST_LOG", "info"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let mut bins: Vec<&str> = Function::ALL.iter().map(|f| f.bin_name()).collect();
    bins.push("reconcile");
    let Some(watch) = LambdaWatch::start(TEST, &bins, &env, &emulator.sdk).await else {
        return;
    };
    let invoke = |name: &'static str, payload: Value| {
        let watch = &watch;
        async move {
            let started = std::time::Instant::now();
            let answer = watch.invoke(name, &payload).await;
            eprintln!("{name}: {:.2}s", started.elapsed().as_secs_f64());
            answer
        }
    };

    // prepare: the record, the lock and a "started" notification
    let prepared = ok(
        &invoke("prepare", event("prepare")).await,
        "prepare",
        &watch.log_tail(),
    );
    assert_eq!(prepared["deploymentId"], "checkout-v8");
    let record = clients
        .object_json(BUCKET, &keys::record("checkout-v8"))
        .await
        .expect("record");
    assert_eq!(record["status"], "InProgress");
    assert_eq!(record["capturedAlias"]["functionVersion"], "7");
    let lock = clients
        .object_json(BUCKET, &keys::lock("checkout", "live"))
        .await
        .expect("lock");
    assert_eq!(lock["deploymentId"], "checkout-v8");
    assert_eq!(kinds(&emulator, &queue, 1).await, ["started"]);

    // run-hooks: the request has no hooks, so nothing runs and it passes
    let hooks = ok(
        &invoke("run-hooks", event("run-hooks")).await,
        "run-hooks",
        &watch.log_tail(),
    );
    assert_eq!(hooks["passed"], 0, "{hooks}");

    // shift-traffic: 10 % on version 8, as a fraction, in Lambda
    ok(
        &invoke("shift-traffic", event("shift-traffic")).await,
        "shift-traffic",
        &watch.log_tail(),
    );
    assert_eq!(
        clients.alias("checkout", "live").await,
        ("7".to_owned(), vec![("8".to_owned(), 0.1)])
    );

    // check-health: healthy with the alarm OK, HealthCheckFailed once it fires
    ok(
        &invoke("check-health", event("check-health")).await,
        "check-health",
        &watch.log_tail(),
    );
    clients.set_alarm("checkout-5xx", StateValue::Alarm).await;
    let unhealthy = invoke("check-health", event("check-health")).await;
    assert!(
        unhealthy.function_error.is_some(),
        "{:?}",
        unhealthy.payload
    );
    assert_eq!(unhealthy.payload["errorType"], "HealthCheckFailed");
    assert!(
        unhealthy.payload["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("checkout-5xx"),
        "{}",
        unhealthy.payload
    );

    // request-approval: an approval record in the bucket and an "approval" notification
    ok(
        &invoke("request-approval", event("request-approval")).await,
        "request-approval",
        &watch.log_tail(),
    );
    let approvals = clients
        .keys(BUCKET, &keys::approvals_prefix("checkout-v8"))
        .await;
    assert_eq!(approvals.len(), 1, "{approvals:?}");
    let approval = clients
        .object_json(BUCKET, &approvals[0])
        .await
        .expect("approval");
    assert_eq!(
        approval["taskToken"],
        event("request-approval")["taskToken"]
    );
    assert_eq!(approval["deploymentId"], "checkout-v8");

    // reconcile: the execution is stopped here (the sample event says ABORTED);
    // the status change finishes the deployment, and a redelivery does nothing
    let reconciled = ok(
        &invoke("reconcile", event("reconcile")).await,
        "reconcile",
        &watch.log_tail(),
    );
    assert_eq!(reconciled["action"], "RolledBack", "{reconciled}");
    assert_eq!(
        clients.alias("checkout", "live").await,
        ("7".to_owned(), vec![])
    );
    let record = clients
        .object_json(BUCKET, &keys::record("checkout-v8"))
        .await
        .expect("record");
    assert_eq!(record["status"], "RolledBack");
    assert_eq!(record["failure"]["Error"], "ExecutionAborted");
    assert!(clients
        .object_json(BUCKET, &keys::lock("checkout", "live"))
        .await
        .is_none());
    let again = ok(
        &invoke("reconcile", event("reconcile")).await,
        "reconcile",
        &watch.log_tail(),
    );
    assert_eq!(again["action"], "NothingLeft", "{again}");

    // rollback and finalize repeat what reconcile did, and change nothing:
    // rollback: the alias is back exactly as captured
    ok(
        &invoke("rollback", event("rollback")).await,
        "rollback",
        &watch.log_tail(),
    );
    assert_eq!(
        clients.alias("checkout", "live").await,
        ("7".to_owned(), vec![])
    );

    // finalize (the sample's outcome adapted to what happened): the record ends, the lock goes
    let mut finalize = event("finalize");
    finalize["outcome"] = json!("RolledBack");
    finalize["failure"] = event("rollback")["failure"].clone();
    ok(
        &invoke("finalize", finalize).await,
        "finalize",
        &watch.log_tail(),
    );
    let record = clients
        .object_json(BUCKET, &keys::record("checkout-v8"))
        .await
        .expect("record");
    assert_eq!(record["status"], "RolledBack");
    assert!(clients
        .object_json(BUCKET, &keys::lock("checkout", "live"))
        .await
        .is_none());
    assert_eq!(
        clients
            .keys(BUCKET, &keys::history_prefix("checkout", "live"))
            .await
            .len(),
        1
    );

    let kinds = kinds(&emulator, &queue, 3).await;
    for kind in ["step-shifted", "approval", "rolled-back"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} not in {kinds:?}");
    }
}
