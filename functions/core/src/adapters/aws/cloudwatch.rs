//! [`HealthSource`] on CloudWatch: alarm states (`DescribeAlarms`) and the
//! invocation and error counts of one version behind a weighted alias
//! (`GetMetricData`).

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{
    AlarmType, Dimension, Metric, MetricDataQuery, MetricStat, StateValue,
};
use aws_sdk_cloudwatch::Client;
use chrono::{DateTime, Utc};

use super::error::{Failure, TooManyRequests};
use crate::ports::{HealthSource, PortError, VersionMetrics};

/// `DescribeAlarms` accepts at most 100 alarm names per call.
const MAX_ALARM_NAMES_PER_CALL: usize = 100;

/// Lambda publishes invocation metrics every minute.
const PERIOD_SECONDS: i32 = 60;

const INVOCATIONS_ID: &str = "invocations";
const ERRORS_ID: &str = "errors";

/// The client configuration for CloudWatch, derived from the shared `sdk` config.
pub(crate) fn client_config(sdk: &SdkConfig) -> aws_sdk_cloudwatch::config::Builder {
    aws_sdk_cloudwatch::config::Builder::from(sdk).retry_classifier(TooManyRequests)
}

/// Alarms and per-version metrics from CloudWatch.
#[derive(Debug, Clone)]
pub struct CloudWatchHealth {
    client: Client,
}

impl CloudWatchHealth {
    /// A health source using `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// The bare function name the `FunctionName` dimension carries, also when we
/// were given a function ARN (`arn:aws:lambda:<region>:<account>:function:<name>`).
fn bare_function_name(function: &str) -> &str {
    if function.starts_with("arn:") {
        function.split(':').nth(6).unwrap_or(function)
    } else {
        function
    }
}

/// The dimensions of one version's metrics behind an alias.
///
/// Lambda publishes `ExecutedVersion` only together with `FunctionName` and
/// `Resource` (`<function>:<alias>`): "By Executed Version (ExecutedVersion) –
/// View metrics for a combination of alias and version" (Lambda Developer
/// Guide, "Working with Lambda function metrics",
/// https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html); the
/// dimension sets CloudWatch lists for AWS/Lambda are {FunctionName},
/// {FunctionName, Resource} and {ExecutedVersion, FunctionName, Resource}.
/// CloudWatch matches dimension sets exactly, so all three must be sent.
fn version_dimensions(function_name: &str, alias: &str, version: &str) -> Vec<Dimension> {
    let name = bare_function_name(function_name);
    [
        ("FunctionName", name.to_owned()),
        ("Resource", format!("{name}:{alias}")),
        ("ExecutedVersion", version.to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| Dimension::builder().name(key).value(value).build())
    .collect()
}

fn sum_query(id: &str, metric_name: &str, dimensions: &[Dimension]) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace("AWS/Lambda")
                        .metric_name(metric_name)
                        .set_dimensions(Some(dimensions.to_vec()))
                        .build(),
                )
                .period(PERIOD_SECONDS)
                .stat("Sum")
                .build(),
        )
        .return_data(true)
        .build()
}

fn aws_time(time: DateTime<Utc>) -> AwsDateTime {
    AwsDateTime::from_millis(time.timestamp_millis())
}

#[async_trait]
impl HealthSource for CloudWatchHealth {
    async fn alarms_in_alarm(&self, alarm_names: &[String]) -> Result<Vec<String>, PortError> {
        let mut firing = Vec::new();
        for names in alarm_names.chunks(MAX_ALARM_NAMES_PER_CALL) {
            let mut pages = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(names.to_vec()))
                // Both kinds: a request may name a composite alarm, and
                // DescribeAlarms returns only metric alarms unless asked.
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|err| Failure::of(&err).into_port_error("DescribeAlarms"))?;
                let metric = page
                    .metric_alarms()
                    .iter()
                    .filter(|a| a.state_value() == Some(&StateValue::Alarm))
                    .filter_map(|a| a.alarm_name());
                let composite = page
                    .composite_alarms()
                    .iter()
                    .filter(|a| a.state_value() == Some(&StateValue::Alarm))
                    .filter_map(|a| a.alarm_name());
                firing.extend(metric.chain(composite).map(str::to_owned));
            }
        }
        Ok(firing)
    }

    async fn version_metrics(
        &self,
        function_name: &str,
        alias: &str,
        version: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<VersionMetrics, PortError> {
        let dimensions = version_dimensions(function_name, alias, version);
        let mut pages = self
            .client
            .get_metric_data()
            .metric_data_queries(sum_query(INVOCATIONS_ID, "Invocations", &dimensions))
            .metric_data_queries(sum_query(ERRORS_ID, "Errors", &dimensions))
            .start_time(aws_time(start))
            .end_time(aws_time(end))
            .into_paginator()
            .send();
        let mut metrics = VersionMetrics::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| Failure::of(&err).into_port_error("GetMetricData"))?;
            for result in page.metric_data_results() {
                let sum: f64 = result.values().iter().sum();
                match result.id() {
                    Some(INVOCATIONS_ID) => metrics.invocations += sum,
                    Some(ERRORS_ID) => metrics.errors += sum,
                    _ => {}
                }
            }
        }
        Ok(metrics)
    }
}
