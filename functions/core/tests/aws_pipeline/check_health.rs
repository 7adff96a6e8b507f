//! `check-health`: alarms and the new version's metrics, asked over the wire.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_cloudwatch::operation::describe_alarms::{DescribeAlarmsInput, DescribeAlarmsOutput};
use aws_sdk_cloudwatch::operation::get_metric_data::{GetMetricDataInput, GetMetricDataOutput};
use aws_sdk_cloudwatch::types::{MetricAlarm, MetricDataResult, StateValue};
use aws_sdk_cloudwatch::Client as CloudWatch;
use aws_smithy_mocks::mock;
use chrono::{DateTime, Utc};
use serde_json::json;
use shiftgate_core::contracts::CheckHealthInput;
use shiftgate_core::handlers::check_health;
use shiftgate_core::plan::Watch;
use shiftgate_core::record::EventKind;

use crate::common::*;

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
