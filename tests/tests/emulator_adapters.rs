//! Every AWS adapter against a real server speaking the AWS protocols (moto):
//! the object store's conditional writes, the lock and the record, the
//! notifier's deliveries, alias routing, alarms and metrics, and task-token
//! callbacks of a real execution. Each test starts its own moto on a free
//! loopback port (see `shiftgate_tests::emulator`).

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StateValue};
use chrono::Utc;
use serde_json::{json, Value};
use shiftgate_core::contracts::{PrepareInput, RollbackInput, ShiftTrafficInput};
use shiftgate_core::error::HandlerError;
use shiftgate_core::handlers;
use shiftgate_core::ports::{Notification, PortError, WriteCondition};
use shiftgate_core::record::{keys, DeploymentStatus};
use shiftgate_core::store;
use shiftgate_tests::emulator::{Emulator, Subscriber};

const BUCKET: &str = "shiftgate-test-bucket";

/// A deployment request for `checkout:live` to `target`, with nothing moto cannot run.
fn request(target: &str) -> Value {
    json!({
        "target": { "functionName": "checkout", "alias": "live", "targetVersion": target },
        "strategy": "Canary10Percent5Minutes"
    })
}

fn prepare_input(id: &str, target: &str) -> PrepareInput {
    PrepareInput {
        request: request(target),
        execution_id: Some(format!(
            "arn:aws:states:us-east-1:123456789012:execution:shiftgate-deployment:{id}"
        )),
    }
}

#[tokio::test]
async fn object_store_conditional_writes_hold_on_s3() {
    let Some(emulator) = Emulator::start("object_store_conditional_writes_hold_on_s3").await else {
        return;
    };
    emulator.clients.create_bucket(BUCKET).await;
    let store = emulator.services(BUCKET, None).store;
    let key = "locks/checkout/live.json";

    // GIVEN an object created only-if-absent
    let first = store
        .put(key, b"{\"v\":1}".to_vec(), WriteCondition::IfAbsent)
        .await
        .expect("create");

    // WHEN it is created again (If-None-Match: *)
    let again = store
        .put(key, b"{\"v\":2}".to_vec(), WriteCondition::IfAbsent)
        .await;
    // THEN S3 refuses and the store reports our own conflict error
    assert!(matches!(again, Err(PortError::Conflict(_))), "{again:?}");

    // WHEN it is replaced with a stale entity tag (If-Match)
    let stale = store
        .put(
            key,
            b"{\"v\":3}".to_vec(),
            WriteCondition::IfMatch("\"0123456789abcdef0123456789abcdef\"".into()),
        )
        .await;
    assert!(matches!(stale, Err(PortError::Conflict(_))), "{stale:?}");

    // WHEN two writers read the same version and both write with If-Match
    let read = store.get(key).await.expect("get").expect("present");
    assert_eq!(read.etag, first);
    assert_eq!(read.body, b"{\"v\":1}");
    let winner = store
        .put(
            key,
            b"{\"v\":4}".to_vec(),
            WriteCondition::IfMatch(read.etag.clone()),
        )
        .await
        .expect("the first writer wins");
    let loser = store
        .put(
            key,
            b"{\"v\":5}".to_vec(),
            WriteCondition::IfMatch(read.etag.clone()),
        )
        .await;
    // THEN the second lost the race as a conflict (no panic, no overwrite)
    assert!(matches!(loser, Err(PortError::Conflict(_))), "{loser:?}");
    let now = store.get(key).await.expect("get").expect("present");
    assert_eq!(now.body, b"{\"v\":4}");
    assert_eq!(now.etag, winner);

    // AND a delete with a stale tag is refused, with the current one it works
    let stale_delete = store.delete(key, Some(&read.etag)).await;
    assert!(
        matches!(stale_delete, Err(PortError::Conflict(_))),
        "{stale_delete:?}"
    );
    store.delete(key, Some(&winner)).await.expect("delete");
    assert!(store.get(key).await.expect("get").is_none());

    // AND listing is lexicographic
    for k in ["history/b.json", "history/a.json", "other/c.json"] {
        store
            .put(k, b"{}".to_vec(), WriteCondition::Always)
            .await
            .expect("put");
    }
    assert_eq!(
        store.list("history/").await.expect("list"),
        ["history/a.json", "history/b.json"]
    );
}

/// A function `checkout` with versions 1..=3 and `live` on 1, plus the bucket.
async fn checkout_with_alias(emulator: &Emulator, weights: &[(&str, f64)]) {
    let role = emulator.moto.role_arn("shiftgate-test").await;
    emulator.clients.create_bucket(BUCKET).await;
    emulator.clients.create_function("checkout", &role, 3).await;
    emulator
        .clients
        .create_alias("checkout", "live", "1", weights)
        .await;
}

#[tokio::test]
async fn lock_and_record_live_in_s3_with_conditional_writes() {
    let Some(emulator) =
        Emulator::start("lock_and_record_live_in_s3_with_conditional_writes").await
    else {
        return;
    };
    checkout_with_alias(&emulator, &[]).await;
    let topic = emulator.clients.create_topic("deployments").await;
    let services = emulator.services(BUCKET, Some(&topic));
    let store = services.store.as_ref();

    // GIVEN a deployment prepared against the emulated account
    let prepared = handlers::prepare(&services, prepare_input("d-one", "3"))
        .await
        .expect("prepare");
    assert_eq!(prepared.deployment_id, "d-one");

    // THEN the record and the lock are objects in the bucket
    let record = emulator
        .clients
        .object_json(BUCKET, &keys::record("d-one"))
        .await
        .expect("record written");
    assert_eq!(record["status"], "InProgress");
    assert_eq!(record["capturedAlias"]["functionVersion"], "1");
    let lock = emulator
        .clients
        .object_json(BUCKET, &keys::lock("checkout", "live"))
        .await
        .expect("lock written");
    assert_eq!(lock["deploymentId"], "d-one");

    // WHEN another deployment of the same alias is prepared
    let second = handlers::prepare(&services, prepare_input("d-two", "2")).await;
    // THEN the lock refuses it and nothing of it is written
    assert!(
        matches!(second, Err(HandlerError::DeploymentLocked { ref holder, .. }) if holder == "d-one"),
        "{second:?}"
    );
    assert!(emulator
        .clients
        .object_json(BUCKET, &keys::record("d-two"))
        .await
        .is_none());

    // AND the lock is re-entrant for its holder's execution, and for it alone
    let holder_execution = prepare_input("d-one", "1").execution_id;
    store::acquire_lock(
        store,
        "checkout",
        "live",
        "d-one",
        holder_execution.as_deref(),
        Utc::now(),
    )
    .await
    .expect("re-entrant");
    let same_id_elsewhere = store::acquire_lock(
        store,
        "checkout",
        "live",
        "d-one",
        Some("arn:aws:states:us-east-1:123456789012:execution:shiftgate-deployment:other"),
        Utc::now(),
    )
    .await;
    assert!(
        matches!(same_id_elsewhere, Err(store::StoreError::Locked { .. })),
        "{same_id_elsewhere:?}"
    );

    // AND a record id cannot be created twice (If-None-Match)
    let (loaded, _) = store::load_record(store, "d-one").await.expect("load");
    let duplicate = store::create_record(store, &loaded).await;
    assert!(
        matches!(duplicate, Err(store::StoreError::IdTaken(_))),
        "{duplicate:?}"
    );

    // AND updates go through If-Match, retried on a lost race
    let updated = store::update_record(store, "d-one", |r| {
        r.current_weight_percent = 42.0;
    })
    .await
    .expect("update");
    assert_eq!(updated.current_weight_percent, 42.0);
    let record = emulator
        .clients
        .object_json(BUCKET, &keys::record("d-one"))
        .await
        .expect("record");
    assert_eq!(record["currentWeightPercent"], 42.0);

    // AND only the holder releases the lock
    store::release_lock(store, "checkout", "live", "d-two")
        .await
        .expect("no-op");
    assert_eq!(
        store::lock_holder(store, "checkout", "live")
            .await
            .expect("holder")
            .map(|l| l.deployment_id),
        Some("d-one".to_owned())
    );
    store::release_lock(store, "checkout", "live", "d-one")
        .await
        .expect("release");
    assert!(store::lock_holder(store, "checkout", "live")
        .await
        .expect("holder")
        .is_none());

    // AND the history index lists it
    store::index_history(store, &updated).await.expect("index");
    let history = store::history(store, "checkout", "live")
        .await
        .expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].deployment_id, "d-one");
    assert_eq!(history[0].status, DeploymentStatus::InProgress);
}

#[tokio::test]
async fn notifications_reach_http_and_sqs_subscribers_with_their_attributes() {
    let Some(emulator) =
        Emulator::start("notifications_reach_http_and_sqs_subscribers_with_their_attributes").await
    else {
        return;
    };
    let clients = &emulator.clients;
    let topic = clients.create_topic("deployments").await;
    // GIVEN an HTTP subscriber for everything, one filtered on kind=rolled-back, and a queue
    let subscriber = Subscriber::start().await;
    for (path, filter) in [
        ("/all", None),
        ("/rolled-back", Some(r#"{"kind":["rolled-back"]}"#)),
    ] {
        let mut subscribe = clients
            .sns
            .subscribe()
            .topic_arn(&topic)
            .protocol("http")
            .endpoint(format!("{}{path}", subscriber.url));
        if let Some(policy) = filter {
            subscribe = subscribe.attributes("FilterPolicy", policy);
        }
        subscribe.send().await.expect("Subscribe http");
    }
    let queue = clients.subscribed_queue(&topic, "deployments").await;
    let notifier = emulator.services(BUCKET, Some(&topic)).notifier;
    let attributes = |kind: &str| -> BTreeMap<String, String> {
        [
            ("deploymentId", "checkout-v8"),
            ("function", "checkout"),
            ("alias", "live"),
            ("kind", kind),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    };

    // WHEN a "started" notification is published
    let message_id = notifier
        .publish(&Notification {
            topic_arn: topic.clone(),
            subject: "checkout:live · deployment started\nv7 → v8".into(),
            body: "Plan: 10 % then 100 %".into(),
            attributes: attributes("started"),
        })
        .await
        .expect("publish");
    assert!(!message_id.is_empty());

    // THEN the queue gets it with every attribute as a String message attribute
    let messages = clients
        .drain_queue(&queue, 1, Duration::from_secs(10))
        .await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let envelope: Value =
        serde_json::from_str(messages[0].body().expect("body")).expect("SNS envelope");
    assert_eq!(envelope["Message"], "Plan: 10 % then 100 %");
    assert_eq!(
        envelope["Subject"],
        "checkout:live · deployment started v7 → v8"
    );
    for (name, value) in attributes("started") {
        assert_eq!(
            envelope["MessageAttributes"][&name]["Type"], "String",
            "{name}"
        );
        assert_eq!(
            envelope["MessageAttributes"][&name]["Value"],
            value.as_str(),
            "{name}"
        );
    }
    // AND the HTTP subscriber for everything gets it
    let received = subscriber.received(1, Duration::from_secs(10)).await;
    let all: Vec<_> = received.iter().filter(|r| r.path == "/all").collect();
    assert_eq!(all.len(), 1, "{received:?}");
    assert_eq!(all[0].body["Type"], "Notification");
    assert_eq!(all[0].body["Message"], "Plan: 10 % then 100 %");
    assert_eq!(all[0].body["TopicArn"], topic.as_str());

    // WHEN a "rolled-back" one follows
    notifier
        .publish(&Notification {
            topic_arn: topic.clone(),
            subject: "checkout:live rolled back".into(),
            body: "alarm checkout-5xx".into(),
            attributes: attributes("rolled-back"),
        })
        .await
        .expect("publish");

    // THEN the filtered subscriber got only that one: the filter policy routed
    // on the attribute, so it reached SNS intact
    let received = subscriber.received(3, Duration::from_secs(10)).await;
    let filtered: Vec<_> = received
        .iter()
        .filter(|r| r.path == "/rolled-back")
        .collect();
    assert_eq!(filtered.len(), 1, "{received:?}");
    assert_eq!(filtered[0].body["Message"], "alarm checkout-5xx");
    let messages = clients
        .drain_queue(&queue, 1, Duration::from_secs(10))
        .await;
    let envelope: Value =
        serde_json::from_str(messages[0].body().expect("body")).expect("envelope");
    assert_eq!(
        envelope["MessageAttributes"]["kind"]["Value"],
        "rolled-back"
    );
}

#[tokio::test]
async fn alias_routing_shifts_promotes_and_rolls_back_exactly() {
    let Some(emulator) =
        Emulator::start("alias_routing_shifts_promotes_and_rolls_back_exactly").await
    else {
        return;
    };
    // GIVEN live on version 1 already routing 5 % to version 2
    checkout_with_alias(&emulator, &[("2", 0.05)]).await;
    let services = emulator.services(BUCKET, None);
    let clients = &emulator.clients;
    let captured = services
        .aliases
        .get_alias("checkout", "live")
        .await
        .expect("GetAlias");
    assert_eq!(captured.function_version, "1");
    assert_eq!(
        captured.additional_version_weights,
        BTreeMap::from([("2".to_owned(), 0.05)])
    );
    assert!(services
        .aliases
        .version_exists("checkout", "3")
        .await
        .expect("exists"));
    assert!(!services
        .aliases
        .version_exists("checkout", "9")
        .await
        .expect("exists"));

    // WHEN a deployment to version 3 shifts 10 %
    handlers::prepare(&services, prepare_input("d-alias", "3"))
        .await
        .expect("prepare");
    let shift = |weight: f64, step: usize| ShiftTrafficInput {
        deployment_id: "d-alias".into(),
        step_index: step,
        weight_percent: weight,
        operator_promotion: false,
    };
    handlers::shift_traffic(&services, shift(10.0, 0))
        .await
        .expect("shift 10");
    // THEN GetAlias shows the old version with the new one at 0.1 — a fraction, not 10
    assert_eq!(
        clients.alias("checkout", "live").await,
        ("1".to_owned(), vec![("3".to_owned(), 0.1)])
    );

    handlers::shift_traffic(&services, shift(50.0, 1))
        .await
        .expect("shift 50");
    assert_eq!(
        clients.alias("checkout", "live").await,
        ("1".to_owned(), vec![("3".to_owned(), 0.5)])
    );

    // WHEN promoted to 100 %
    handlers::shift_traffic(&services, shift(100.0, 2))
        .await
        .expect("promote");
    // THEN the new version is the alias's version and no routing is left
    assert_eq!(
        clients.alias("checkout", "live").await,
        ("3".to_owned(), vec![])
    );

    // WHEN rolled back
    handlers::rollback(
        &services,
        RollbackInput {
            deployment_id: "d-alias".into(),
            failure: None,
        },
    )
    .await
    .expect("rollback");
    // THEN the alias is exactly as captured, its own routing config included
    assert_eq!(
        clients.alias("checkout", "live").await,
        ("1".to_owned(), vec![("2".to_owned(), 0.05)])
    );
}

#[tokio::test]
async fn health_reads_alarm_states_and_metrics_by_executed_version() {
    let Some(emulator) =
        Emulator::start("health_reads_alarm_states_and_metrics_by_executed_version").await
    else {
        return;
    };
    let clients = &emulator.clients;
    let health = emulator.services(BUCKET, None).health;
    let names: Vec<String> = ["checkout-5xx", "checkout-latency", "not-an-alarm"]
        .map(str::to_owned)
        .to_vec();
    clients.create_alarm("checkout-5xx").await;
    clients.create_alarm("checkout-latency").await;

    // GIVEN every alarm OK, THEN none fires
    assert!(health
        .alarms_in_alarm(&names)
        .await
        .expect("alarms")
        .is_empty());
    // WHEN one goes to ALARM, THEN exactly that one is reported
    clients.set_alarm("checkout-5xx", StateValue::Alarm).await;
    assert_eq!(
        health.alarms_in_alarm(&names).await.expect("alarms"),
        ["checkout-5xx"]
    );
    // AND back to OK clears it
    clients.set_alarm("checkout-5xx", StateValue::Ok).await;
    assert!(health
        .alarms_in_alarm(&names)
        .await
        .expect("alarms")
        .is_empty());

    // GIVEN Lambda-shaped metrics for two versions behind checkout:live
    let now = Utc::now();
    let datum = |metric: &str, version: &str, value: f64| {
        let dims = [
            ("FunctionName", "checkout".to_owned()),
            ("Resource", "checkout:live".to_owned()),
            ("ExecutedVersion", version.to_owned()),
        ]
        .map(|(k, v)| Dimension::builder().name(k).value(v).build());
        MetricDatum::builder()
            .metric_name(metric)
            .set_dimensions(Some(dims.to_vec()))
            .value(value)
            .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_millis(
                now.timestamp_millis(),
            ))
            .build()
    };
    clients
        .cloudwatch
        .put_metric_data()
        .namespace("AWS/Lambda")
        .metric_data(datum("Invocations", "8", 40.0))
        .metric_data(datum("Errors", "8", 3.0))
        .metric_data(datum("Invocations", "7", 100.0))
        .metric_data(datum("Errors", "7", 1.0))
        .send()
        .await
        .expect("PutMetricData");

    // WHEN the new version's metrics are read, by name and by ARN
    let start = now - chrono::Duration::minutes(5);
    let end = now + chrono::Duration::minutes(1);
    let v8 = health
        .version_metrics("checkout", "live", "8", start, end)
        .await
        .expect("metrics");
    let by_arn = health
        .version_metrics(
            "arn:aws:lambda:us-east-1:123456789012:function:checkout",
            "live",
            "8",
            start,
            end,
        )
        .await
        .expect("metrics");
    let v7 = health
        .version_metrics("checkout", "live", "7", start, end)
        .await
        .expect("metrics");

    // THEN each version gets only its own counts
    assert_eq!((v8.invocations, v8.errors), (40.0, 3.0));
    assert_eq!(by_arn, v8);
    assert_eq!((v7.invocations, v7.errors), (100.0, 1.0));
}

#[tokio::test]
async fn task_token_callbacks_resume_a_real_execution() {
    let Some(emulator) = Emulator::start("task_token_callbacks_resume_a_real_execution").await
    else {
        return;
    };
    let clients = &emulator.clients;
    let role = emulator.moto.role_arn("shiftgate-sfn").await;
    // moto runs `.waitForTaskToken` for SQS: the token arrives in the queue.
    let (queue, _) = clients.create_queue("approvals").await;
    let definition = json!({
        "StartAt": "Approve",
        "States": { "Approve": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": { "QueueUrl": queue, "MessageBody": { "token.$": "$$.Task.Token" } },
            "End": true
        } }
    });
    let machine = clients
        .sfn
        .create_state_machine()
        .name("approval-gate")
        .definition(definition.to_string())
        .role_arn(role)
        .send()
        .await
        .expect("CreateStateMachine")
        .state_machine_arn()
        .to_owned();
    let workflow = emulator.services(BUCKET, None).workflow;

    let start_and_get_token = |name: &'static str| {
        let clients = clients.clone();
        let machine = machine.clone();
        let queue = queue.clone();
        async move {
            let execution = clients
                .sfn
                .start_execution()
                .state_machine_arn(machine)
                .name(name)
                .input("{}")
                .send()
                .await
                .expect("StartExecution")
                .execution_arn()
                .to_owned();
            let messages = clients
                .drain_queue(&queue, 1, Duration::from_secs(30))
                .await;
            assert_eq!(messages.len(), 1, "one token per execution");
            let body: Value =
                serde_json::from_str(messages[0].body().expect("body")).expect("JSON");
            let token = body["token"].as_str().expect("token").to_owned();
            (execution, token)
        }
    };
    let status = |execution: String| {
        let clients = clients.clone();
        async move {
            for _ in 0..100 {
                let described = clients
                    .sfn
                    .describe_execution()
                    .execution_arn(&execution)
                    .send()
                    .await
                    .expect("DescribeExecution");
                if described.status().as_str() != "RUNNING" {
                    return described;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("execution still running");
        }
    };

    // GIVEN an execution waiting on its task token
    let (approved, token) = start_and_get_token("approved").await;
    // WHEN SendTaskSuccess is sent through the adapter
    workflow
        .send_task_success(
            &token,
            &json!({"approved": true, "decidedBy": ["alice@example.com"]}),
        )
        .await
        .expect("SendTaskSuccess accepted");
    // THEN the execution succeeds with that output
    let described = status(approved).await;
    assert_eq!(described.status().as_str(), "SUCCEEDED");
    let output: Value = serde_json::from_str(described.output().expect("output")).expect("JSON");
    assert_eq!(output["approved"], true);

    // GIVEN another waiting execution, WHEN SendTaskFailure is sent
    let (rejected, token) = start_and_get_token("rejected").await;
    workflow
        .send_task_failure(&token, "ApprovalRejected", "rejected by bob@example.com")
        .await
        .expect("SendTaskFailure accepted");
    // THEN it fails
    assert_eq!(status(rejected).await.status().as_str(), "FAILED");

    // AND a token the service never issued is refused, not accepted
    let forged = workflow.send_task_success("not-a-token", &json!({})).await;
    assert!(forged.is_err(), "{forged:?}");
}
