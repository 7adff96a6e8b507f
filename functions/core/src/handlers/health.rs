//! `check-health`: alarms and the new version's error rate over the interval
//! just waited. The verdict is pure ([`judge`]); the handler gathers signals.

use chrono::Duration;

use crate::contracts::CheckHealthInput;
use crate::error::HandlerError;
use crate::notify::{self, NotificationKind};
use crate::plan::Watch;
use crate::ports::{Services, VersionMetrics};
use crate::record::EventKind;
use crate::request::HealthPolicy;
use crate::store;

/// The verdict of one health check.
#[derive(Debug, Clone, PartialEq)]
pub enum HealthVerdict {
    /// Healthy; the message says what was seen.
    Healthy(String),
    /// Unhealthy; the message says why.
    Unhealthy(String),
}

/// Judge health from the alarms in ALARM and the new version's metrics.
///
/// Any alarm in ALARM fails. The error rate fails when it exceeds the limit
/// and at least `minInvocations` requests were seen (fewer say too little).
pub fn judge(
    alarms_in_alarm: &[String],
    metrics: Option<VersionMetrics>,
    policy: Option<&HealthPolicy>,
) -> HealthVerdict {
    if !alarms_in_alarm.is_empty() {
        return HealthVerdict::Unhealthy(format!("alarm in ALARM: {}", alarms_in_alarm.join(", ")));
    }
    let (Some(metrics), Some(policy)) = (metrics, policy) else {
        return HealthVerdict::Healthy("no alarm in ALARM".into());
    };
    let seen = format!(
        "{} errors in {} invocations",
        metrics.errors, metrics.invocations
    );
    if metrics.invocations < policy.min_invocations as f64 || metrics.invocations <= 0.0 {
        return HealthVerdict::Healthy(format!(
            "{seen} (below {} to judge)",
            policy.min_invocations
        ));
    }
    let rate = metrics.errors / metrics.invocations;
    if rate > policy.max_error_rate {
        HealthVerdict::Unhealthy(format!(
            "error rate {:.1} % ({seen}) above {:.1} %",
            rate * 100.0,
            policy.max_error_rate * 100.0
        ))
    } else {
        HealthVerdict::Healthy(format!("error rate {:.1} % ({seen})", rate * 100.0))
    }
}

/// Check health over the last wait; returns the next watch or fails with
/// `HealthCheckFailed`.
pub async fn check_health(
    services: &Services,
    input: CheckHealthInput,
) -> Result<Watch, HandlerError> {
    let (record, _) = store::load_record(services.store.as_ref(), &input.deployment_id).await?;
    crate::operator::refuse_if_aborted(&record)?;
    let request = &record.request;
    let alarms = if request.alarms.is_empty() {
        Vec::new()
    } else {
        services.health.alarms_in_alarm(&request.alarms).await?
    };
    let end = services.clock.now();
    let metrics = match &request.health {
        Some(_) => {
            let window = Duration::seconds(input.watch.wait_seconds.max(1) as i64);
            Some(
                services
                    .health
                    .version_metrics(
                        record.function_name(),
                        record.alias(),
                        record.target_version(),
                        end - window,
                        end,
                    )
                    .await?,
            )
        }
        None => None,
    };
    let verdict = judge(&alarms, metrics, request.health.as_ref());
    let where_ = match input.step_index {
        Some(i) => format!("step {} at {} %", i + 1, record.current_weight_percent),
        None => "bake".to_string(),
    };
    let held = record.operator.hold.is_some();
    let where_ = if held {
        format!("{where_} (held)")
    } else {
        where_
    };
    let (ok, message) = match &verdict {
        HealthVerdict::Healthy(m) => (true, format!("healthy during {where_}: {m}")),
        HealthVerdict::Unhealthy(m) => (false, format!("unhealthy during {where_}: {m}")),
    };
    let updated = store::update_record(services.store.as_ref(), &input.deployment_id, |r| {
        r.log(end, EventKind::HealthChecked, ok, message.clone());
    })
    .await?;
    if ok && held {
        // A hold stops the step's clock: the same watch again, until resumed.
        Ok(input.watch)
    } else if ok {
        Ok(input.watch.advance())
    } else {
        tracing::warn!(deployment_id = %input.deployment_id, "health check failed");
        notify::lifecycle(
            services,
            &updated,
            NotificationKind::HealthFailure,
            "Health check failed",
            &message,
        )
        .await;
        Err(HandlerError::HealthCheckFailed(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{request_json, Harness};

    fn policy(max: f64, min: u64) -> HealthPolicy {
        HealthPolicy {
            max_error_rate: max,
            min_invocations: min,
        }
    }

    #[test]
    fn verdicts() {
        let m = |i: f64, e: f64| {
            Some(VersionMetrics {
                invocations: i,
                errors: e,
            })
        };
        assert!(matches!(
            judge(&["a".into()], None, None),
            HealthVerdict::Unhealthy(_)
        ));
        assert!(matches!(
            judge(&[], m(100.0, 2.0), Some(&policy(0.01, 10))),
            HealthVerdict::Unhealthy(_)
        ));
        assert!(matches!(
            judge(&[], m(100.0, 1.0), Some(&policy(0.01, 10))),
            HealthVerdict::Healthy(_)
        ));
        // Too few invocations to judge.
        assert!(matches!(
            judge(&[], m(5.0, 5.0), Some(&policy(0.01, 10))),
            HealthVerdict::Healthy(_)
        ));
        assert!(matches!(
            judge(&[], m(0.0, 0.0), Some(&policy(0.0, 0))),
            HealthVerdict::Healthy(_)
        ));
    }

    #[tokio::test]
    async fn failing_requests_on_the_new_version_fail_the_check() {
        let h = Harness::new();
        let mut req = request_json("Canary10Percent5Minutes");
        req["health"] = serde_json::json!({"maxErrorRate": 0.05, "minInvocations": 5});
        let out = h.prepare(req).await.unwrap();
        let id = out.deployment_id;
        crate::handlers::shift_traffic(
            &h.services,
            crate::contracts::ShiftTrafficInput {
                deployment_id: id.clone(),
                step_index: 0,
                weight_percent: 10.0,
                operator_promotion: false,
            },
        )
        .await
        .unwrap();
        let watch = out.steps[0].watch;
        h.clock.advance(Duration::seconds(1));
        for _ in 0..200 {
            h.fleet.serve("checkout", "live").unwrap();
        }
        h.clock.advance(Duration::seconds(59));
        let next = check_health(
            &h.services,
            CheckHealthInput {
                deployment_id: id.clone(),
                step_index: Some(0),
                watch,
            },
        )
        .await
        .unwrap();
        assert_eq!(next.remaining_seconds, 240);
        // The next window sees only requests served after the last check.
        h.fleet.set_failure_rate("checkout", "8", 0.5);
        h.clock.advance(Duration::seconds(1));
        for _ in 0..200 {
            h.fleet.serve("checkout", "live").unwrap();
        }
        h.clock.advance(Duration::seconds(59));
        let err = check_health(
            &h.services,
            CheckHealthInput {
                deployment_id: id.clone(),
                step_index: Some(0),
                watch: next,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.error_type(), "HealthCheckFailed");
        assert!(err.to_string().contains("error rate 50.0 %"), "{err}");
        assert!(h
            .notifier
            .published()
            .iter()
            .any(|n| n.attributes["kind"] == "health-failure"));
    }

    #[tokio::test]
    async fn an_alarm_in_alarm_fails_the_check() {
        let h = Harness::new();
        let mut req = request_json("Canary10Percent5Minutes");
        req["alarms"] = serde_json::json!(["checkout-5xx", "checkout-latency"]);
        let out = h.prepare(req).await.unwrap();
        let input = CheckHealthInput {
            deployment_id: out.deployment_id.clone(),
            step_index: None,
            watch: out.steps[0].watch,
        };
        check_health(&h.services, input.clone()).await.unwrap();
        h.fleet.set_alarm("checkout-latency", true);
        let err = check_health(&h.services, input).await.unwrap_err();
        assert!(err.to_string().contains("checkout-latency"), "{err}");
    }
}
