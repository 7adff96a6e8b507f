//! `prepare`: version check, lock, captured alias, record, history, notice.

use std::collections::BTreeMap;

use shiftgate_core::handlers::prepare;
use shiftgate_core::record::{DeploymentStatus, HistoryEntry, LockRecord};
use shiftgate_core::testing::TOPIC;

use crate::common::*;

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
            "Lambda GetFunctionConfiguration checkout Qualifier=8",
            "S3 PutObject locks/checkout/live.json If-None-Match: *",
            "S3 GetObject deployments/dep-1/record.json",
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
        execution_id: None,
    })
    .expect("serializes");
    let recorder = Recorder::default();
    let script = Script {
        s3: vec![
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
    let script = Script {
        s3: vec![
            s3_put(LOCK, "\"lock-1\""),
            s3_missing(RECORD),
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
            "Lambda GetFunctionConfiguration checkout Qualifier=8",
            "S3 PutObject locks/checkout/live.json If-None-Match: *",
            "S3 GetObject deployments/dep-1/record.json",
            "Lambda GetAlias checkout:live",
            "S3 DeleteObject locks/checkout/live.json If-Match: \"lock-1\"",
        ])
    );
}
