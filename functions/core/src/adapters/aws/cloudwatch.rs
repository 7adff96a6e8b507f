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
    let name = crate::lambda_name::bare_function_name(function_name);
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

#[cfg(test)]
mod tests {
    use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataInput;
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    use aws_sdk_cloudwatch::types::{CompositeAlarm, MetricAlarm, MetricDataResult, StateValue};
    use aws_sdk_cloudwatch::Client;
    use aws_smithy_mocks::{mock, Rule};
    use chrono::{TimeZone, Utc};

    use super::{client_config, CloudWatchHealth};
    use crate::ports::HealthSource;
    use crate::testing::aws::{mocks, test_sdk_config};

    fn health(rules: &[&Rule]) -> CloudWatchHealth {
        let conf = client_config(&test_sdk_config())
            .interceptor(mocks(rules))
            .build();
        CloudWatchHealth::new(Client::from_conf(conf))
    }

    fn metric_alarm(name: &str, state: StateValue) -> MetricAlarm {
        MetricAlarm::builder()
            .alarm_name(name)
            .state_value(state)
            .build()
    }

    #[tokio::test]
    async fn only_alarms_in_alarm_are_returned() {
        // GIVEN one metric alarm firing, one fine, one composite firing
        let rule = mock!(Client::describe_alarms)
            .match_requests(|r| r.alarm_names().len() == 3 && r.alarm_types().len() == 2)
            .then_output(|| {
                DescribeAlarmsOutput::builder()
                    .metric_alarms(metric_alarm("errors", StateValue::Alarm))
                    .metric_alarms(metric_alarm("latency", StateValue::Ok))
                    .composite_alarms(
                        CompositeAlarm::builder()
                            .alarm_name("overall")
                            .state_value(StateValue::Alarm)
                            .build(),
                    )
                    .build()
            });
        let health = health(&[&rule]);
        let names = ["errors", "latency", "overall"].map(str::to_owned);

        // WHEN asked
        let firing = health.alarms_in_alarm(&names).await.expect("describe");

        // THEN
        assert_eq!(firing, ["errors", "overall"]);
    }

    #[tokio::test]
    async fn more_than_100_alarm_names_take_several_calls() {
        let first = mock!(Client::describe_alarms)
            .match_requests(|r| r.alarm_names().len() == 100)
            .then_output(|| {
                DescribeAlarmsOutput::builder()
                    .metric_alarms(metric_alarm("a0", StateValue::Alarm))
                    .build()
            });
        let second = mock!(Client::describe_alarms)
            .match_requests(|r| r.alarm_names().len() == 20 && r.alarm_names()[0] == "a100")
            .then_output(|| {
                DescribeAlarmsOutput::builder()
                    .metric_alarms(metric_alarm("a100", StateValue::Alarm))
                    .build()
            });
        let health = health(&[&first, &second]);
        let names: Vec<String> = (0..120).map(|i| format!("a{i}")).collect();

        let firing = health.alarms_in_alarm(&names).await.expect("describe");

        assert_eq!(firing, ["a0", "a100"]);
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }

    /// Whether query `id` asks for the Sum of `metric` per minute for version
    /// 8 of `orders` behind `live`, with exactly Lambda's dimension set.
    fn asks_for(input: &GetMetricDataInput, id: &str, metric: &str) -> bool {
        let Some(query) = input
            .metric_data_queries()
            .iter()
            .find(|q| q.id() == Some(id))
        else {
            return false;
        };
        let Some(stat) = query.metric_stat() else {
            return false;
        };
        let Some(m) = stat.metric() else {
            return false;
        };
        let mut dimensions: Vec<(&str, &str)> = m
            .dimensions()
            .iter()
            .map(|d| (d.name().unwrap_or(""), d.value().unwrap_or("")))
            .collect();
        dimensions.sort();
        m.namespace() == Some("AWS/Lambda")
            && m.metric_name() == Some(metric)
            && stat.stat() == Some("Sum")
            && stat.period() == Some(60)
            && dimensions
                == [
                    ("ExecutedVersion", "8"),
                    ("FunctionName", "orders"),
                    ("Resource", "orders:live"),
                ]
    }

    #[tokio::test]
    async fn version_metrics_sum_invocations_and_errors_of_the_executed_version() {
        // GIVEN two pages of per-minute sums
        let start = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
        let end = Utc.with_ymd_and_hms(2025, 1, 1, 12, 5, 0).unwrap();
        let first = mock!(Client::get_metric_data)
            .match_requests(move |r| {
                r.metric_data_queries().len() == 2
                    && asks_for(r, "invocations", "Invocations")
                    && asks_for(r, "errors", "Errors")
                    && r.start_time().map(|t| t.secs()) == Some(start.timestamp())
                    && r.end_time().map(|t| t.secs()) == Some(end.timestamp())
                    && r.next_token().is_none()
            })
            .then_output(|| {
                GetMetricDataOutput::builder()
                    .metric_data_results(
                        MetricDataResult::builder()
                            .id("invocations")
                            .values(3.0)
                            .values(4.0)
                            .build(),
                    )
                    .metric_data_results(
                        MetricDataResult::builder().id("errors").values(1.0).build(),
                    )
                    .next_token("more")
                    .build()
            });
        let second = mock!(Client::get_metric_data)
            .match_requests(|r| r.next_token() == Some("more"))
            .then_output(|| {
                GetMetricDataOutput::builder()
                    .metric_data_results(
                        MetricDataResult::builder()
                            .id("invocations")
                            .values(5.0)
                            .build(),
                    )
                    .metric_data_results(MetricDataResult::builder().id("errors").build())
                    .build()
            });
        let health = health(&[&first, &second]);

        // WHEN the metrics of version 8 are read, given the function's ARN
        let metrics = health
            .version_metrics(
                "arn:aws:lambda:eu-west-1:123456789012:function:orders",
                "live",
                "8",
                start,
                end,
            )
            .await
            .expect("metrics");

        // THEN the sums are added up across values and pages
        assert_eq!(metrics.invocations, 12.0);
        assert_eq!(metrics.errors, 1.0);
    }
}
