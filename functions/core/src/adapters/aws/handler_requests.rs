//! Every handler, end to end through the AWS adapters: the real
//! [`S3ObjectStore`], [`LambdaAliases`], [`LambdaInvoker`], [`SnsNotifier`],
//! [`CloudWatchHealth`] and [`StepFunctionsCallback`] over SDK clients whose
//! answers are scripted with aws-smithy-mocks, and whose requests are recorded
//! as they would go on the wire ([`Recorder`]).
//!
//! Each client's script is sequential: a request the script does not expect
//! next panics, and each test compares the whole transcript, so a missing,
//! extra or reordered request fails. Records served by `GetObject` are the
//! bytes `prepare` itself wrote in an earlier scripted run, never hand-made
//! JSON that could drift from what the handlers really store.
//!
//! CloudWatch speaks RPC v2 CBOR, so its requests are checked on the typed
//! input the SDK serializes (and by the strings in the CBOR body).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_cloudwatch::operation::describe_alarms::{DescribeAlarmsInput, DescribeAlarmsOutput};
use aws_sdk_cloudwatch::operation::get_metric_data::{GetMetricDataInput, GetMetricDataOutput};
use aws_sdk_cloudwatch::types::{MetricAlarm, MetricDataResult, StateValue};
use aws_sdk_cloudwatch::Client as CloudWatch;
use aws_sdk_lambda::operation::get_alias::GetAliasOutput;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_lambda::operation::update_alias::UpdateAliasOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::AliasRoutingConfiguration;
use aws_sdk_lambda::Client as Lambda;
use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client as S3;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_sdk_sns::Client as Sns;
use aws_smithy_mocks::{mock, Rule};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use crate::testing::aws::{mocks, test_sdk_config, Recorder, SentRequest};
use super::{
    cloudwatch, lambda, s3, sfn, sns, CloudWatchHealth, LambdaAliases, LambdaInvoker,
    S3ObjectStore, SnsNotifier, StepFunctionsCallback,
};
use crate::adapters::memory::ManualClock;
use crate::approval::{hash_secret, request_approval, ApprovalRecord};
use crate::contracts::{
    CheckHealthInput, FinalizeInput, HookPhase, Outcome, PrepareInput, RequestApprovalInput,
    RollbackInput, RunHooksInput, ShiftTrafficInput,
};
use crate::testing::{request_json, TOPIC};
use crate::handlers::{check_health, finalize, prepare, rollback, run_hooks, shift_traffic};
use crate::plan::Watch;
use crate::ports::{Services, Settings};
use crate::record::{
    DeploymentRecord, DeploymentStatus, EventKind, Failure, HistoryEntry, LockRecord,
};

const BUCKET: &str = "shiftgate-bucket";
const ID: &str = "dep-1";
const RECORD: &str = "deployments/dep-1/record.json";
const LOCK: &str = "locks/checkout/live.json";
const HISTORY: &str = "history/checkout/live/20261122T120000Z-dep-1.json";
const APPROVAL_BASE: &str = "https://approve.example.invalid/";

const NO_SUCH_KEY: &str = "<Error><Code>NoSuchKey</Code>\
    <Message>The specified key does not exist.</Message></Error>";
const PRECONDITION_FAILED: &str = "<Error><Code>PreconditionFailed</Code>\
    <Message>At least one of the pre-conditions you specified did not hold</Message></Error>";

fn started() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

/// What each client answers, in order. A client without a script refuses
/// every request (the mock interceptor panics on an unmatched request).
#[derive(Default)]
struct Script {
    s3: Vec<Rule>,
    lambda: Vec<Rule>,
    sns: Vec<Rule>,
    cloudwatch: Vec<Rule>,
}

/// `Services` whose ports are the AWS adapters over mocked clients that all
/// report to `recorder`, with a manual clock at `now`.
fn services(script: &Script, recorder: &Recorder, now: DateTime<Utc>) -> Services {
    let sdk = test_sdk_config();
    let rules = |rules: &[Rule]| mocks(&rules.iter().collect::<Vec<_>>());
    let lambda_client = Lambda::from_conf(
        lambda::client_config(&sdk)
            .interceptor(rules(&script.lambda))
            .interceptor(recorder.clone())
            .build(),
    );
    Services {
        store: Arc::new(S3ObjectStore::new(
            S3::from_conf(
                s3::client_config(&sdk)
                    .interceptor(rules(&script.s3))
                    .interceptor(recorder.clone())
                    .build(),
            ),
            BUCKET.to_owned(),
        )),
        aliases: Arc::new(LambdaAliases::new(lambda_client.clone())),
        functions: Arc::new(LambdaInvoker::new(lambda_client)),
        notifier: Arc::new(SnsNotifier::new(Sns::from_conf(
            sns::client_config(&sdk)
                .interceptor(rules(&script.sns))
                .interceptor(recorder.clone())
                .build(),
        ))),
        health: Arc::new(CloudWatchHealth::new(CloudWatch::from_conf(
            cloudwatch::client_config(&sdk)
                .interceptor(rules(&script.cloudwatch))
                .interceptor(recorder.clone())
                .build(),
        ))),
        workflow: Arc::new(StepFunctionsCallback::new(aws_sdk_sfn::Client::from_conf(
            sfn::client_config(&sdk)
                .interceptor(mocks(&[]))
                .interceptor(recorder.clone())
                .build(),
        ))),
        clock: Arc::new(ManualClock::new(now)),
        settings: Settings {
            default_notify_topic_arn: Some(TOPIC.into()),
            approval_base_url: Some(APPROVAL_BASE.into()),
        },
    }
}

// ----- scripted answers ------------------------------------------------------

fn s3_missing(key: &'static str) -> Rule {
    mock!(S3::get_object)
        .match_requests(move |r| r.key() == Some(key))
        .sequence()
        .http_status(404, Some(NO_SUCH_KEY.to_owned()))
        .build()
}

fn s3_get(key: &'static str, body: &[u8], etag: &'static str) -> Rule {
    let body = body.to_vec();
    mock!(S3::get_object)
        .match_requests(move |r| r.key() == Some(key))
        .then_output(move || {
            GetObjectOutput::builder()
                .e_tag(etag)
                .body(ByteStream::from(body.clone()))
                .build()
        })
}

fn s3_put(key: &'static str, etag: &'static str) -> Rule {
    mock!(S3::put_object)
        .match_requests(move |r| r.key() == Some(key))
        .then_output(move || PutObjectOutput::builder().e_tag(etag).build())
}

fn s3_put_under(prefix: &'static str, etag: &'static str) -> Rule {
    mock!(S3::put_object)
        .match_requests(move |r| r.key().is_some_and(|k| k.starts_with(prefix)))
        .then_output(move || PutObjectOutput::builder().e_tag(etag).build())
}

fn s3_put_refused(key: &'static str) -> Rule {
    mock!(S3::put_object)
        .match_requests(move |r| r.key() == Some(key))
        .sequence()
        .http_status(412, Some(PRECONDITION_FAILED.to_owned()))
        .build()
}

fn s3_delete(key: &'static str) -> Rule {
    mock!(S3::delete_object)
        .match_requests(move |r| r.key() == Some(key))
        .then_output(|| DeleteObjectOutput::builder().build())
}

fn version_published(version: &'static str) -> Rule {
    mock!(Lambda::get_function_configuration).then_output(move || {
        GetFunctionConfigurationOutput::builder()
            .version(version)
            .build()
    })
}

fn alias_at(version: &'static str, weights: &'static [(&'static str, f64)]) -> Rule {
    mock!(Lambda::get_alias).then_output(move || {
        let routing = weights
            .iter()
            .fold(AliasRoutingConfiguration::builder(), |b, (v, w)| {
                b.additional_version_weights(*v, *w)
            })
            .build();
        GetAliasOutput::builder()
            .function_version(version)
            .routing_config(routing)
            .revision_id("rev-1")
            .build()
    })
}

fn alias_updated() -> Rule {
    mock!(Lambda::update_alias).then_compute_output(|r| {
        UpdateAliasOutput::builder()
            .set_function_version(r.function_version().map(str::to_owned))
            .set_routing_config(r.routing_config().cloned())
            .revision_id("rev-2")
            .build()
    })
}

fn invoked(function: &'static str, answer: serde_json::Value) -> Rule {
    let answer = answer.to_string();
    mock!(Lambda::invoke)
        .match_requests(move |r| r.function_name() == Some(function))
        .then_output(move || {
            InvokeOutput::builder()
                .status_code(200)
                .payload(Blob::new(answer.clone()))
                .build()
        })
}

fn published() -> Rule {
    mock!(Sns::publish).then_output(|| PublishOutput::builder().message_id("m-1").build())
}

// ----- reading the transcript ------------------------------------------------

/// One line per request, in the order sent: the operation, what it acts on,
/// and the parts that carry meaning (S3 conditions, Lambda qualifiers, SNS
/// routing attributes).
fn transcript(recorder: &Recorder) -> Vec<String> {
    recorder.sent().iter().map(line).collect()
}

fn line(request: &SentRequest) -> String {
    let operation = request.operation();
    let path = request.path();
    let mut line = operation.clone();
    if operation.starts_with("S3 ") {
        line = format!("{line} {}", path.trim_start_matches('/'));
        for condition in ["If-None-Match", "If-Match"] {
            if let Some(value) = request.header(condition) {
                line = format!("{line} {condition}: {value}");
            }
        }
    } else if operation.starts_with("Lambda ") {
        // /2015-03-31/functions/<function>[/aliases/<alias>|/invocations|/configuration]
        let parts: Vec<&str> = path.split('/').collect();
        let function = parts.get(3).copied().unwrap_or_default();
        line = match parts.get(4..6) {
            Some(["aliases", alias]) => format!("{line} {function}:{alias}"),
            _ => format!("{line} {function}"),
        };
        if let Some(qualifier) = request.query("Qualifier") {
            line = format!("{line} Qualifier={qualifier}");
        }
    } else if operation == "SNS Publish" {
        let attributes = request.message_attributes();
        for name in ["kind", "reviewer"] {
            if let Some(value) = attributes.get(name) {
                line = format!("{line} {name}={value}");
            }
        }
    }
    line
}

fn lines(expected: &[&str]) -> Vec<String> {
    expected.iter().map(|l| (*l).to_owned()).collect()
}

/// The requests whose [`line`] starts with `prefix`.
fn sent_as(recorder: &Recorder, prefix: &str) -> Vec<SentRequest> {
    recorder
        .sent()
        .into_iter()
        .filter(|r| line(r).starts_with(prefix))
        .collect()
}

/// The body of the last `PutObject` of `key`, as sent.
fn put_body(recorder: &Recorder, key: &str) -> Vec<u8> {
    sent_as(recorder, &format!("S3 PutObject {key}"))
        .pop()
        .unwrap_or_else(|| panic!("no PutObject of {key}"))
        .body
}

fn record_of(body: &[u8]) -> DeploymentRecord {
    serde_json::from_slice(body).expect("a deployment record")
}

// ----- prepare, the source of every record -----------------------------------

fn prepare_input(request: serde_json::Value, execution: &str) -> PrepareInput {
    PrepareInput {
        request,
        execution_id: Some(format!(
            "arn:aws:states:eu-west-1:123456789012:execution:shiftgate:{execution}"
        )),
    }
}

/// The script of a `prepare` that succeeds on an alias at version 7 with
/// `weights` already routed.
fn prepare_script(weights: &'static [(&'static str, f64)]) -> Script {
    Script {
        s3: vec![
            s3_missing(RECORD),
            s3_put(LOCK, "\"lock-1\""),
            s3_put(RECORD, "\"rec-1\""),
            s3_put(HISTORY, "\"hist-1\""),
        ],
        lambda: vec![version_published("8"), alias_at("7", weights)],
        sns: vec![published()],
        ..Script::default()
    }
}

/// The record `prepare` writes for `request` (deployment `dep-1`, alias at
/// version 7 with `weights`), exactly as it went to S3.
async fn prepared(request: serde_json::Value, weights: &'static [(&'static str, f64)]) -> Vec<u8> {
    let recorder = Recorder::default();
    let services = services(&prepare_script(weights), &recorder, started());
    prepare(&services, prepare_input(request, ID))
        .await
        .expect("prepare succeeds");
    put_body(&recorder, RECORD)
}

#[tokio::test]
async fn prepare_checks_the_version_locks_captures_records_indexes_and_notifies() {
    // GIVEN checkout:live on version 7 with 5 % already routed to version 6
    let recorder = Recorder::default();
    let services = services(&prepare_script(&[("6", 0.05)]), &recorder, started());

    // WHEN a canary of version 8 is prepared by execution dep-1
    let out = prepare(
        &services,
        prepare_input(request_json("Canary10Percent5Minutes"), ID),
    )
    .await
    .expect("prepare succeeds");

    // THEN exactly these requests went out, in this order
    assert_eq!(out.deployment_id, ID);
    assert_eq!(
        transcript(&recorder),
        lines(&[
            "S3 GetObject deployments/dep-1/record.json",
            "Lambda GetFunctionConfiguration checkout Qualifier=8",
            "S3 PutObject locks/checkout/live.json If-None-Match: *",
            "Lambda GetAlias checkout:live",
            "S3 PutObject deployments/dep-1/record.json If-None-Match: *",
            "S3 PutObject history/checkout/live/20261122T120000Z-dep-1.json",
            "SNS Publish kind=started",
        ])
    );
    // Every object goes to the stack's bucket.
    for request in sent_as(&recorder, "S3 ") {
        assert!(
            request.host().starts_with("shiftgate-bucket."),
            "{}",
            request.uri
        );
    }
    // The lock names this deployment.
    let lock: LockRecord =
        serde_json::from_slice(&put_body(&recorder, LOCK)).expect("a lock record");
    assert_eq!(lock.deployment_id, ID);
    assert_eq!(lock.acquired_at, started());
    // The record holds the alias exactly as GetAlias answered, routing included.
    let record = record_of(&put_body(&recorder, RECORD));
    assert_eq!(record.status, DeploymentStatus::InProgress);
    assert_eq!(record.captured_alias.function_version, "7");
    assert_eq!(
        record.captured_alias.additional_version_weights,
        BTreeMap::from([("6".to_owned(), 0.05)])
    );
    // The history entry is the index of this record.
    let entry: HistoryEntry =
        serde_json::from_slice(&put_body(&recorder, HISTORY)).expect("a history entry");
    assert_eq!(
        (
            entry.deployment_id.as_str(),
            entry.previous_version.as_str()
        ),
        (ID, "7")
    );
    assert_eq!(entry.status, DeploymentStatus::InProgress);
    // The notification goes to the stack's topic with routable attributes.
    let publish = &sent_as(&recorder, "SNS Publish")[0];
    assert_eq!(publish.field("TopicArn").as_deref(), Some(TOPIC));
    assert_eq!(
        publish.message_attributes(),
        BTreeMap::from([
            ("alias".to_owned(), "live".to_owned()),
            ("deploymentId".to_owned(), ID.to_owned()),
            ("function".to_owned(), "checkout".to_owned()),
            ("kind".to_owned(), "started".to_owned()),
        ])
    );
}

#[tokio::test]
async fn prepare_is_refused_while_another_deployment_holds_the_alias() {
    // GIVEN dep-0 holds the lock of checkout:live and is still in progress
    let other: Vec<u8> = {
        let mut record = record_of(&prepared(request_json("AllAtOnce"), &[]).await);
        record.deployment_id = "dep-0".into();
        serde_json::to_vec(&record).expect("serializes")
    };
    assert_eq!(record_of(&other).status, DeploymentStatus::InProgress);
    let lock = serde_json::to_vec(&LockRecord {
        deployment_id: "dep-0".into(),
        acquired_at: started() - chrono::Duration::minutes(5),
    })
    .expect("serializes");
    let recorder = Recorder::default();
    let script = Script {
        s3: vec![
            s3_missing(RECORD),
            s3_put_refused(LOCK),
            s3_get(LOCK, &lock, "\"lock-0\""),
            s3_get("deployments/dep-0/record.json", &other, "\"rec-0\""),
        ],
        lambda: vec![version_published("8")],
        ..Script::default()
    };
    let services = services(&script, &recorder, started());

    // WHEN dep-1 is prepared for the same alias
    let err = prepare(
        &services,
        prepare_input(request_json("Canary10Percent5Minutes"), ID),
    )
    .await
    .expect_err("the alias is locked");

    // THEN it fails DeploymentLocked, naming the holder, after reading the
    // lock and its holder's record, and touches neither alias nor record
    assert_eq!(err.error_type(), "DeploymentLocked");
    assert!(err.to_string().contains("dep-0"), "{err}");
    let sent = transcript(&recorder);
    assert_eq!(
        sent,
        lines(&[
            "S3 GetObject deployments/dep-1/record.json",
            "Lambda GetFunctionConfiguration checkout Qualifier=8",
            "S3 PutObject locks/checkout/live.json If-None-Match: *",
            "S3 GetObject locks/checkout/live.json",
            "S3 GetObject deployments/dep-0/record.json",
        ])
    );
    assert!(!sent.iter().any(|l| l.starts_with("Lambda UpdateAlias")));
    assert!(!sent
        .iter()
        .any(|l| l.starts_with("S3 PutObject deployments/")));
}

#[tokio::test]
async fn prepare_releases_its_lock_when_it_fails_after_taking_it() {
    // GIVEN the alias already serves version 8
    let recorder = Recorder::default();
    let lock = serde_json::to_vec(&LockRecord {
        deployment_id: ID.into(),
        acquired_at: started(),
    })
    .expect("serializes");
    let script = Script {
        s3: vec![
            s3_missing(RECORD),
            s3_put(LOCK, "\"lock-1\""),
            s3_get(LOCK, &lock, "\"lock-1\""),
            s3_delete(LOCK),
        ],
        lambda: vec![version_published("8"), alias_at("8", &[])],
        ..Script::default()
    };
    let services = services(&script, &recorder, started());

    // WHEN version 8 is prepared
    let err = prepare(&services, prepare_input(request_json("AllAtOnce"), ID))
        .await
        .expect_err("nothing to deploy");

    // THEN the lock it took is deleted, only if still the version it wrote
    assert_eq!(err.error_type(), "InvalidRequest");
    assert_eq!(
        transcript(&recorder),
        lines(&[
            "S3 GetObject deployments/dep-1/record.json",
            "Lambda GetFunctionConfiguration checkout Qualifier=8",
            "S3 PutObject locks/checkout/live.json If-None-Match: *",
            "Lambda GetAlias checkout:live",
            "S3 GetObject locks/checkout/live.json",
            "S3 DeleteObject locks/checkout/live.json If-Match: \"lock-1\"",
        ])
    );
}

// ----- shift-traffic and rollback --------------------------------------------

/// Run shift-traffic to `weight_percent` on `record`; the first GetObject
/// answers ETag `rec-1`, the read of the update answers `rec-2`.
async fn shift(record: &[u8], weight_percent: f64, step_index: usize) -> Recorder {
    let recorder = Recorder::default();
    let script = Script {
        s3: vec![
            s3_get(RECORD, record, "\"rec-1\""),
            s3_get(RECORD, record, "\"rec-2\""),
            s3_put(RECORD, "\"rec-3\""),
        ],
        lambda: vec![alias_updated()],
        sns: vec![published()],
        ..Script::default()
    };
    let services = services(&script, &recorder, started());
    shift_traffic(
        &services,
        ShiftTrafficInput {
            deployment_id: ID.into(),
            step_index,
            weight_percent,
        },
    )
    .await
    .expect("shift succeeds");
    recorder
}

#[tokio::test]
async fn shifting_ten_percent_routes_a_fraction_beside_the_captured_version() {
    // GIVEN a canary prepared on an alias at version 7
    let record = prepared(request_json("Canary10Percent5Minutes"), &[]).await;

    // WHEN the first step shifts 10 %
    let recorder = shift(&record, 10.0, 0).await;

    // THEN the alias keeps version 7 and routes 0.1 to version 8, and the
    // record is replaced only if it is still the version just read
    assert_eq!(
        transcript(&recorder),
        lines(&[
            "S3 GetObject deployments/dep-1/record.json",
            "Lambda UpdateAlias checkout:live",
            "S3 GetObject deployments/dep-1/record.json",
            "S3 PutObject deployments/dep-1/record.json If-Match: \"rec-2\"",
            "SNS Publish kind=step-shifted",
        ])
    );
    let update = &sent_as(&recorder, "Lambda UpdateAlias")[0];
    assert_eq!(update.method, "PUT");
    assert_eq!(
        update.json(),
        json!({"FunctionVersion": "7", "RoutingConfig": {"AdditionalVersionWeights": {"8": 0.1}}})
    );
    let written = record_of(&put_body(&recorder, RECORD));
    assert_eq!(written.current_weight_percent, 10.0);
    assert_eq!(written.current_step, Some(0));
}

#[tokio::test]
async fn shifting_one_hundred_percent_promotes_and_clears_the_routing() {
    let record = prepared(request_json("Canary10Percent5Minutes"), &[]).await;

    let recorder = shift(&record, 100.0, 1).await;

    let update = &sent_as(&recorder, "Lambda UpdateAlias")[0];
    assert_eq!(
        update.json(),
        json!({"FunctionVersion": "8", "RoutingConfig": {"AdditionalVersionWeights": {}}})
    );
    let put = &sent_as(&recorder, "S3 PutObject deployments/dep-1/record.json")[0];
    assert_eq!(put.header("If-Match"), Some("\"rec-2\""));
    assert_eq!(put.header("If-None-Match"), None);
    assert_eq!(record_of(&put.body).current_weight_percent, 100.0);
}

#[tokio::test]
async fn rollback_restores_a_pre_existing_routing_config_exactly() {
    // GIVEN an alias at version 7 that already routed 5 % to version 6, and a
    // deployment of version 8 that has shifted 10 %
    let prepared = prepared(request_json("Linear10PercentEvery1Minute"), &[("6", 0.05)]).await;
    let shifted = put_body(&shift(&prepared, 10.0, 0).await, RECORD);
    let recorder = Recorder::default();
    let script = Script {
        s3: vec![
            s3_get(RECORD, &shifted, "\"rec-3\""),
            s3_get(RECORD, &shifted, "\"rec-4\""),
            s3_put(RECORD, "\"rec-5\""),
        ],
        lambda: vec![alias_updated()],
        ..Script::default()
    };
    let services = services(&script, &recorder, started());

    // WHEN the deployment rolls back after a failed health check
    rollback(
        &services,
        RollbackInput {
            deployment_id: ID.into(),
            failure: Some(Failure {
                error: "HealthCheckFailed".into(),
                cause: "alarm checkout-errors in ALARM".into(),
            }),
        },
    )
    .await
    .expect("rollback succeeds");

    // THEN the alias gets back version 7 and the 5 % on version 6, nothing else
    assert_eq!(
        transcript(&recorder),
        lines(&[
            "S3 GetObject deployments/dep-1/record.json",
            "Lambda UpdateAlias checkout:live",
            "S3 GetObject deployments/dep-1/record.json",
            "S3 PutObject deployments/dep-1/record.json If-Match: \"rec-4\"",
        ])
    );
    assert_eq!(
        sent_as(&recorder, "Lambda UpdateAlias")[0].json(),
        json!({"FunctionVersion": "7", "RoutingConfig": {"AdditionalVersionWeights": {"6": 0.05}}})
    );
    let written = record_of(&put_body(&recorder, RECORD));
    assert_eq!(written.current_weight_percent, 0.0);
    assert_eq!(
        written.failure.map(|f| f.error).as_deref(),
        Some("HealthCheckFailed")
    );
}

// ----- check-health ----------------------------------------------------------

#[tokio::test]
async fn an_alarm_in_alarm_fails_the_health_check() {
    // GIVEN a deployment watching two alarms and the new version's error rate
    let mut request = request_json("Canary10Percent5Minutes");
    request["alarms"] = json!(["checkout-errors", "checkout-latency"]);
    request["health"] = json!({"maxErrorRate": 0.05, "minInvocations": 5});
    let record = prepared(request, &[]).await;
    let alarms_asked: Arc<Mutex<Vec<DescribeAlarmsInput>>> = Arc::default();
    let metrics_asked: Arc<Mutex<Vec<GetMetricDataInput>>> = Arc::default();
    let (alarms_seen, metrics_seen) = (alarms_asked.clone(), metrics_asked.clone());
    let recorder = Recorder::default();
    let script = Script {
        s3: vec![
            s3_get(RECORD, &record, "\"rec-1\""),
            s3_get(RECORD, &record, "\"rec-2\""),
            s3_put(RECORD, "\"rec-3\""),
        ],
        cloudwatch: vec![
            mock!(CloudWatch::describe_alarms)
                .match_requests(move |r| {
                    alarms_seen.lock().unwrap().push(r.clone());
                    true
                })
                .then_output(|| {
                    DescribeAlarmsOutput::builder()
                        .metric_alarms(
                            MetricAlarm::builder()
                                .alarm_name("checkout-errors")
                                .state_value(StateValue::Alarm)
                                .build(),
                        )
                        .metric_alarms(
                            MetricAlarm::builder()
                                .alarm_name("checkout-latency")
                                .state_value(StateValue::Ok)
                                .build(),
                        )
                        .build()
                }),
            mock!(CloudWatch::get_metric_data)
                .match_requests(move |r| {
                    metrics_seen.lock().unwrap().push(r.clone());
                    true
                })
                .then_output(|| {
                    GetMetricDataOutput::builder()
                        .metric_data_results(
                            MetricDataResult::builder()
                                .id("invocations")
                                .values(100.0)
                                .build(),
                        )
                        .metric_data_results(
                            MetricDataResult::builder().id("errors").values(0.0).build(),
                        )
                        .build()
                }),
        ],
        sns: vec![published()],
        ..Script::default()
    };
    let services = services(&script, &recorder, started());

    // WHEN health is checked after a one-minute wait of the canary step
    let err = check_health(
        &services,
        CheckHealthInput {
            deployment_id: ID.into(),
            step_index: Some(0),
            watch: Watch {
                remaining_seconds: 300,
                wait_seconds: 60,
                interval_seconds: 60,
            },
        },
    )
    .await
    .expect_err("an alarm is in ALARM");

    // THEN the alarm fails the check, after asking for exactly those alarms
    // and for version 8's metrics behind checkout:live over that minute
    assert_eq!(err.error_type(), "HealthCheckFailed");
    assert!(err.to_string().contains("checkout-errors"), "{err}");
    assert_eq!(
        transcript(&recorder),
        lines(&[
            "S3 GetObject deployments/dep-1/record.json",
            "CloudWatch DescribeAlarms",
            "CloudWatch GetMetricData",
            "S3 GetObject deployments/dep-1/record.json",
            "S3 PutObject deployments/dep-1/record.json If-Match: \"rec-2\"",
            "SNS Publish kind=health-failure",
        ])
    );
    let alarms = alarms_asked.lock().unwrap();
    assert_eq!(
        alarms[0].alarm_names(),
        ["checkout-errors", "checkout-latency"]
    );
    let metrics = metrics_asked.lock().unwrap();
    let queries = metrics[0].metric_data_queries();
    assert_eq!(queries.len(), 2);
    for query in queries {
        let metric = query
            .metric_stat()
            .and_then(|s| s.metric())
            .expect("a metric");
        let dimensions: BTreeMap<&str, &str> = metric
            .dimensions()
            .iter()
            .map(|d| (d.name().unwrap_or_default(), d.value().unwrap_or_default()))
            .collect();
        assert_eq!(
            dimensions,
            BTreeMap::from([
                ("ExecutedVersion", "8"),
                ("FunctionName", "checkout"),
                ("Resource", "checkout:live"),
            ])
        );
    }
    let millis = |t: DateTime<Utc>| t.timestamp_millis();
    assert_eq!(
        metrics[0].start_time().map(|t| t.to_millis().unwrap()),
        Some(millis(started() - chrono::Duration::seconds(60)))
    );
    assert_eq!(
        metrics[0].end_time().map(|t| t.to_millis().unwrap()),
        Some(millis(started()))
    );
    // The same names went on the wire (CBOR text strings are plain UTF-8).
    let wire = sent_as(&recorder, "CloudWatch ");
    let carries = |body: &[u8], text: &str| body.windows(text.len()).any(|w| w == text.as_bytes());
    assert!(carries(&wire[0].body, "checkout-latency"));
    assert!(carries(&wire[1].body, "ExecutedVersion"));
    // The failed check is on the record.
    let written = record_of(&put_body(&recorder, RECORD));
    let last = written.timeline.last().expect("an event");
    assert_eq!((last.kind, last.ok), (EventKind::HealthChecked, false));
}

// ----- run-hooks -------------------------------------------------------------

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

// ----- finalize ----------------------------------------------------------------

#[tokio::test]
async fn finalize_records_the_end_releases_the_lock_indexes_and_notifies() {
    // GIVEN a deployment in progress that holds the lock
    let record = prepared(request_json("AllAtOnce"), &[]).await;
    let lock = serde_json::to_vec(&LockRecord {
        deployment_id: ID.into(),
        acquired_at: started(),
    })
    .expect("serializes");
    let ended = started() + chrono::Duration::minutes(12);
    let recorder = Recorder::default();
    let script = Script {
        s3: vec![
            s3_get(RECORD, &record, "\"rec-7\""),
            s3_put(RECORD, "\"rec-8\""),
            s3_get(LOCK, &lock, "\"lock-1\""),
            s3_delete(LOCK),
            s3_put(HISTORY, "\"hist-2\""),
        ],
        sns: vec![published()],
        ..Script::default()
    };
    let services = services(&script, &recorder, ended);

    // WHEN it finalizes as succeeded
    let out = finalize(
        &services,
        FinalizeInput {
            deployment_id: ID.into(),
            outcome: Outcome::Succeeded,
            failure: None,
        },
    )
    .await
    .expect("finalize succeeds");

    // THEN the record ends (If-Match), the lock goes only if it is still the
    // one read (If-Match), the history entry is rewritten, and people hear
    assert_eq!(out.status, DeploymentStatus::Succeeded);
    assert_eq!(
        transcript(&recorder),
        lines(&[
            "S3 GetObject deployments/dep-1/record.json",
            "S3 PutObject deployments/dep-1/record.json If-Match: \"rec-7\"",
            "S3 GetObject locks/checkout/live.json",
            "S3 DeleteObject locks/checkout/live.json If-Match: \"lock-1\"",
            "S3 PutObject history/checkout/live/20261122T120000Z-dep-1.json",
            "SNS Publish kind=succeeded",
        ])
    );
    assert_eq!(
        record_of(&put_body(&recorder, RECORD)).status,
        DeploymentStatus::Succeeded
    );
    let entry: HistoryEntry =
        serde_json::from_slice(&put_body(&recorder, HISTORY)).expect("a history entry");
    assert_eq!(entry.status, DeploymentStatus::Succeeded);
    assert_eq!(entry.ended_at, Some(ended));
}

// ----- request-approval --------------------------------------------------------

#[tokio::test]
async fn request_approval_stores_hashes_and_the_token_and_mails_each_reviewer_a_link() {
    // GIVEN a deployment gated by two reviewers
    let mut request = request_json("Canary10Percent5Minutes");
    request["approval"] =
        json!({"gates": ["beforePromotion"], "reviewers": ["ana@example.com", "bo@example.com"]});
    let record = prepared(request, &[]).await;
    let recorder = Recorder::default();
    let script = Script {
        s3: vec![
            s3_get(RECORD, &record, "\"rec-1\""),
            s3_put_under("deployments/dep-1/approvals/", "\"appr-1\""),
            s3_get(RECORD, &record, "\"rec-2\""),
            s3_put(RECORD, "\"rec-3\""),
        ],
        sns: vec![published(), published()],
        ..Script::default()
    };
    let services = services(&script, &recorder, started());
    let token = "AQCEAAAAKgAAAAMAAAAAAAAAAfake-task-token";

    // WHEN the gate before promotion opens
    let out = request_approval(
        &services,
        RequestApprovalInput {
            deployment_id: ID.into(),
            step_index: 1,
            weight_percent: 100.0,
            task_token: token.into(),
        },
    )
    .await
    .expect("approval requested");

    // THEN the approval record is created (never overwritten), then the
    // timeline, then one message per reviewer routed by a `reviewer` attribute
    let approval_id = out["approvalId"].as_str().expect("an approval id");
    let approval_key = format!("deployments/dep-1/approvals/{approval_id}.json");
    assert_eq!(
        transcript(&recorder),
        lines(&[
            "S3 GetObject deployments/dep-1/record.json",
            &format!("S3 PutObject {approval_key} If-None-Match: *"),
            "S3 GetObject deployments/dep-1/record.json",
            "S3 PutObject deployments/dep-1/record.json If-Match: \"rec-2\"",
            "SNS Publish kind=approval reviewer=ana@example.com",
            "SNS Publish kind=approval reviewer=bo@example.com",
        ])
    );
    let stored_bytes = put_body(&recorder, &approval_key);
    let stored_text = String::from_utf8(stored_bytes.clone()).expect("UTF-8");
    let stored: ApprovalRecord = serde_json::from_slice(&stored_bytes).expect("an approval");
    assert_eq!(stored.task_token, token);
    for publish in sent_as(&recorder, "SNS Publish") {
        let reviewer = publish.message_attributes()["reviewer"].clone();
        let message = publish.field("Message").expect("a message");
        // The link in the message carries the secret ...
        let url = message
            .split_whitespace()
            .find(|w| w.starts_with(APPROVAL_BASE))
            .expect("a link in the message");
        assert!(
            url.starts_with(&format!(
                "{APPROVAL_BASE}approvals/dep-1/{approval_id}?link="
            )),
            "{url}"
        );
        let secret = url.split("&secret=").nth(1).expect("a secret in the link");
        assert_eq!(secret.len(), 64, "{url}");
        // ... the record holds only its hash, on this reviewer's link ...
        let link = stored
            .links
            .iter()
            .find(|l| l.reviewer.as_deref() == Some(reviewer.as_str()))
            .expect("a link per reviewer");
        assert_eq!(link.secret_sha256, hash_secret(secret));
        assert!(url.contains(&format!("?link={}&", link.link_id)), "{url}");
        // ... and the secret itself is nowhere in what was stored.
        assert!(!stored_text.contains(secret), "the secret was stored");
        assert!(stored_text.contains(&hash_secret(secret)));
        // The token never goes out by mail.
        assert!(!message.contains(token));
    }
}
