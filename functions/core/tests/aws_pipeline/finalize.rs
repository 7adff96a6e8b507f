//! `finalize`: the record ends, the lock goes, history and people hear.

use shiftgate_core::contracts::{FinalizeInput, Outcome};
use shiftgate_core::handlers::finalize;
use shiftgate_core::record::{DeploymentStatus, HistoryEntry, LockRecord};

use crate::common::*;

#[tokio::test]
async fn finalize_records_the_end_releases_the_lock_indexes_and_notifies() {
    // GIVEN a deployment in progress that holds the lock
    let record = prepared(request_json("AllAtOnce"), &[]).await;
    let lock = serde_json::to_vec(&LockRecord {
        deployment_id: ID.into(),
        acquired_at: started(),
        execution_id: None,
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
