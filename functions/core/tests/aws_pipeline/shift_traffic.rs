//! `shift-traffic`: the alias routes the step's weight; the record follows.

use serde_json::json;

use crate::common::*;

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
