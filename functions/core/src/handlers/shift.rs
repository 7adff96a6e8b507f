//! `shift-traffic`: route a step's weight to the new version; 100 % promotes.

use std::collections::BTreeMap;

use crate::contracts::{ShiftTrafficInput, ShiftTrafficOutput};
use crate::error::HandlerError;
use crate::notify::{self, NotificationKind};
use crate::ports::Services;
use crate::record::EventKind;
use crate::store;

/// The alias routing for `weight_percent` on the new version: the old version
/// stays the alias's `FunctionVersion` and the new one gets the weight as a
/// fraction; at 100 % the new version becomes `FunctionVersion` with no routing.
pub fn routing_for(
    current: &str,
    target: &str,
    weight_percent: f64,
) -> (String, BTreeMap<String, f64>) {
    if weight_percent >= 100.0 {
        (target.to_string(), BTreeMap::new())
    } else {
        // Lambda takes a fraction; keep five decimals so 10 % is exactly 0.1.
        let fraction = (weight_percent * 1000.0).round() / 100_000.0;
        (
            current.to_string(),
            BTreeMap::from([(target.to_string(), fraction)]),
        )
    }
}

/// Shift the alias to the step's weight and record it.
pub async fn shift_traffic(
    services: &Services,
    input: ShiftTrafficInput,
) -> Result<ShiftTrafficOutput, HandlerError> {
    if !(input.weight_percent > 0.0 && input.weight_percent <= 100.0) {
        return Err(HandlerError::InvalidRequest(format!(
            "weightPercent must be greater than 0 and at most 100, got {}",
            input.weight_percent
        )));
    }
    let (record, _) = store::load_record(services.store.as_ref(), &input.deployment_id).await?;
    if record.status.is_terminal() {
        return Err(HandlerError::InvalidRequest(format!(
            "deployment {} has ended ({:?}); traffic is not shifted",
            record.deployment_id, record.status
        )));
    }
    crate::operator::refuse_if_aborted(&record)?;
    if let (Some(hold), false) = (&record.operator.hold, input.operator_promotion) {
        // The state machine catches this and waits, checking health, until resumed.
        return Err(HandlerError::DeploymentHeld(format!(
            "held by {} since {}: traffic stays at {} % until `shiftgate resume {}`",
            hold.by,
            hold.at.to_rfc3339(),
            record.current_weight_percent,
            record.deployment_id
        )));
    }
    let (version, weights) = routing_for(
        record.current_version(),
        record.target_version(),
        input.weight_percent,
    );
    services
        .aliases
        .update_alias(record.function_name(), record.alias(), &version, &weights)
        .await?;
    let promoted = weights.is_empty();
    let at = services.clock.now();
    let message = if promoted {
        format!("promoted: 100 % on version {}", record.target_version())
    } else {
        format!(
            "shifted: {} % on version {}",
            input.weight_percent,
            record.target_version()
        )
    };
    let updated = store::update_record(services.store.as_ref(), &input.deployment_id, |r| {
        r.current_weight_percent = input.weight_percent;
        r.current_step = Some(input.step_index);
        r.log(at, EventKind::StepShifted, true, message.clone());
    })
    .await?;
    tracing::info!(deployment_id = %input.deployment_id, weight_percent = input.weight_percent, "traffic shifted");
    notify::lifecycle(
        services,
        &updated,
        NotificationKind::StepShifted,
        &message,
        "",
    )
    .await;
    Ok(ShiftTrafficOutput {
        weight_percent: input.weight_percent,
        promoted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{request_json, Harness};

    #[test]
    fn weights_are_fractions_that_keep_the_old_version() {
        let (version, weights) = routing_for("7", "8", 10.0);
        assert_eq!(version, "7");
        assert_eq!(weights, BTreeMap::from([("8".to_string(), 0.1)]));
        let (_, weights) = routing_for("7", "8", 33.3);
        assert_eq!(weights["8"], 0.333);
        let (version, weights) = routing_for("7", "8", 100.0);
        assert_eq!(version, "8");
        assert!(weights.is_empty());
    }

    #[tokio::test]
    async fn shifting_routes_the_weight_then_promotion_clears_routing() {
        let h = Harness::new();
        let id = h
            .prepare(request_json("Canary10Percent5Minutes"))
            .await
            .unwrap()
            .deployment_id;
        shift_traffic(
            &h.services,
            ShiftTrafficInput {
                deployment_id: id.clone(),
                step_index: 0,
                weight_percent: 10.0,
                operator_promotion: false,
            },
        )
        .await
        .unwrap();
        let alias = h.fleet.alias("checkout", "live").unwrap();
        assert_eq!(alias.function_version, "7");
        assert_eq!(
            alias.additional_version_weights,
            BTreeMap::from([("8".to_string(), 0.1)])
        );
        let out = shift_traffic(
            &h.services,
            ShiftTrafficInput {
                deployment_id: id.clone(),
                step_index: 1,
                weight_percent: 100.0,
                operator_promotion: false,
            },
        )
        .await
        .unwrap();
        assert!(out.promoted);
        let alias = h.fleet.alias("checkout", "live").unwrap();
        assert_eq!(alias.function_version, "8");
        assert!(alias.additional_version_weights.is_empty());
        let (record, _) = store::load_record(h.services.store.as_ref(), &id)
            .await
            .unwrap();
        assert_eq!(record.current_weight_percent, 100.0);
        assert_eq!(record.current_step, Some(1));
    }

    #[tokio::test]
    async fn out_of_range_weights_are_refused_without_touching_the_alias() {
        let h = Harness::new();
        let id = h
            .prepare(request_json("AllAtOnce"))
            .await
            .unwrap()
            .deployment_id;
        for weight in [0.0, -5.0, 150.0, f64::NAN] {
            let err = shift_traffic(
                &h.services,
                ShiftTrafficInput {
                    deployment_id: id.clone(),
                    step_index: 0,
                    weight_percent: weight,
                    operator_promotion: false,
                },
            )
            .await
            .unwrap_err();
            assert_eq!(err.error_type(), "InvalidRequest");
        }
        assert!(h.fleet.alias_writes().is_empty());
    }
}
