//! `rollback`: the alias gets back exactly what `prepare` captured.

use serde_json::json;
use shiftgate_core::contracts::RollbackInput;
use shiftgate_core::handlers::rollback;
use shiftgate_core::record::Failure;

use crate::common::*;

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
