//! `rollback`: restore the alias exactly as it was captured before the first shift.

use crate::contracts::{RollbackInput, StatusOutput};
use crate::error::HandlerError;
use crate::ports::Services;
use crate::record::EventKind;
use crate::store;

/// Restore the captured alias (version and any routing config it had) and record why.
/// Safe to repeat: restoring twice writes the same alias.
pub async fn rollback(
    services: &Services,
    input: RollbackInput,
) -> Result<StatusOutput, HandlerError> {
    let (record, _) = store::load_record(services.store.as_ref(), &input.deployment_id).await?;
    let captured = &record.captured_alias;
    services
        .aliases
        .update_alias(
            record.function_name(),
            record.alias(),
            &captured.function_version,
            &captured.additional_version_weights,
        )
        .await?;
    let reason = input
        .failure
        .as_ref()
        .map_or_else(|| "requested".to_string(), |f| f.reason());
    let at = services.clock.now();
    let message = format!(
        "rolled back to version {}: {reason}",
        captured.function_version
    );
    let updated = store::update_record(services.store.as_ref(), &input.deployment_id, |r| {
        r.current_weight_percent = 0.0;
        if r.failure.is_none() {
            r.failure = input.failure.clone();
        }
        r.log(at, EventKind::RolledBack, true, message.clone());
    })
    .await?;
    tracing::warn!(deployment_id = %input.deployment_id, "alias restored");
    Ok(StatusOutput {
        deployment_id: updated.deployment_id,
        status: updated.status,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::contracts::ShiftTrafficInput;
    use crate::ports::AliasState;
    use crate::record::Failure;
    use crate::testing::{request_json, Harness};

    #[tokio::test]
    async fn rollback_restores_a_pre_existing_routing_config_exactly() {
        // GIVEN an alias that already routed 5 % to version 6
        let h = Harness::new();
        let before = AliasState {
            function_version: "7".into(),
            additional_version_weights: BTreeMap::from([("6".to_string(), 0.05)]),
            revision_id: None,
        };
        h.fleet.set_alias("checkout", "live", before.clone());
        let id = h
            .prepare(request_json("Linear10PercentEvery1Minute"))
            .await
            .unwrap()
            .deployment_id;
        // WHEN traffic shifted twice and the deployment rolls back
        for (i, w) in [(0, 10.0), (1, 20.0)] {
            crate::handlers::shift_traffic(
                &h.services,
                ShiftTrafficInput {
                    deployment_id: id.clone(),
                    step_index: i,
                    weight_percent: w,
                    operator_promotion: false,
                },
            )
            .await
            .unwrap();
        }
        let failure = Failure {
            error: "HealthCheckFailed".into(),
            cause: "error rate 50 %".into(),
        };
        rollback(
            &h.services,
            RollbackInput {
                deployment_id: id.clone(),
                failure: Some(failure),
            },
        )
        .await
        .unwrap();
        // THEN the alias is exactly as it was, routing config included
        let after = h.fleet.alias("checkout", "live").unwrap();
        assert_eq!(after.function_version, before.function_version);
        assert_eq!(
            after.additional_version_weights,
            before.additional_version_weights
        );
        let (record, _) = store::load_record(h.services.store.as_ref(), &id)
            .await
            .unwrap();
        assert!(record
            .timeline
            .last()
            .unwrap()
            .message
            .contains("HealthCheckFailed: error rate 50 %"));
    }
}
