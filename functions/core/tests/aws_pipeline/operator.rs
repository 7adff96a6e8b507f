//! Operator commands on AWS: `operator-wait` stores the wait's task token with
//! If-Match; `abort` and `promote` record who asked (If-Match), notify, and end
//! that wait with `SendTaskFailure`/`SendTaskSuccess` on the token.

use aws_sdk_sfn::operation::send_task_failure::SendTaskFailureOutput;
use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessOutput;
use aws_sdk_sfn::Client as Sfn;
use aws_smithy_mocks::mock;
use serde_json::json;
use shiftgate_core::contracts::OperatorWaitInput;
use shiftgate_core::handlers::operator_wait;
use shiftgate_core::operator::{act, Command, Promotion, Requested};

use crate::common::*;

const TOKEN: &str = "AQCEAAAAKgAAAAMAAAAAAAAAAwait-token";
const ANA: &str = "arn:aws:sts::123456789012:assumed-role/release/ana";

/// The record of `dep-1` at 10 %, with the wait before its first health check registered.
async fn waiting_record() -> Vec<u8> {
    let prepared = prepared(request_json("Canary10Percent30Minutes"), &[]).await;
    let shifted = put_body(&shift(&prepared, 10.0, 0).await, RECORD);
    let recorder = Recorder::default();
    let script = Script {
        s3: vec![
            s3_get(RECORD, &shifted, "\"rec-3\""),
            s3_put(RECORD, "\"rec-4\""),
        ],
        ..Script::default()
    };
    operator_wait(
        &services(&script, &recorder, started()),
        OperatorWaitInput {
            deployment_id: ID.into(),
            step_index: Some(0),
            task_token: TOKEN.into(),
        },
    )
    .await
    .expect("the wait is registered");
    // Nothing asked yet: the token is stored, under If-Match, and nothing is sent.
    assert_eq!(
        transcript(&recorder),
        lines(&[
            "S3 GetObject deployments/dep-1/record.json",
            "S3 PutObject deployments/dep-1/record.json If-Match: \"rec-3\"",
        ])
    );
    put_body(&recorder, RECORD)
}

#[tokio::test]
async fn abort_records_the_caller_notifies_and_fails_the_waiting_task() {
    let record = waiting_record().await;
    let recorder = Recorder::default();
    let script = Script {
        s3: vec![
            s3_get(RECORD, &record, "\"rec-4\""),
            s3_put(RECORD, "\"rec-5\""),
            s3_list_empty("deployments/dep-1/approvals/"),
        ],
        sns: vec![published()],
        sfn: vec![
            mock!(Sfn::send_task_failure).then_output(|| SendTaskFailureOutput::builder().build())
        ],
        ..Script::default()
    };
    let services = services(&script, &recorder, started());
    let acted = act(
        &services,
        ID,
        Command::Abort {
            reason: Some("orders look wrong".into()),
        },
        ANA,
    )
    .await
    .expect("abort recorded");
    assert!(acted.woke_workflow);
    assert_eq!(
        transcript(&recorder),
        lines(&[
            "S3 GetObject deployments/dep-1/record.json",
            "S3 PutObject deployments/dep-1/record.json If-Match: \"rec-4\"",
            "SNS Publish kind=operator-action",
            "SFN SendTaskFailure",
            "S3 ListObjectsV2 prefix=deployments/dep-1/approvals/",
        ])
    );
    let failure = sent_as(&recorder, "SFN SendTaskFailure")[0].json();
    assert_eq!(
        failure,
        json!({
            "taskToken": TOKEN,
            "error": "DeploymentAborted",
            "cause": format!("aborted by {ANA}: orders look wrong")
        })
    );
    let stored = record_of(&put_body(&recorder, RECORD));
    assert_eq!(stored.operator.abort.unwrap().by, ANA);
}

#[tokio::test]
async fn promote_is_delivered_to_the_waiting_task_once_marked_as_its() {
    let record = waiting_record().await;
    // What the first write leaves: the promotion, not yet handed to a wait.
    let mut promoted = record_of(&record);
    promoted.operator.promote = Some(Promotion {
        requested: Requested {
            by: ANA.into(),
            at: started(),
            reason: None,
        },
        full: true,
        delivered_to: None,
    });
    let promoted = serde_json::to_vec(&promoted).unwrap();
    let recorder = Recorder::default();
    let script = Script {
        s3: vec![
            s3_list_empty("deployments/dep-1/approvals/"),
            s3_get(RECORD, &record, "\"rec-4\""),
            s3_put(RECORD, "\"rec-5\""),
            s3_get(RECORD, &promoted, "\"rec-5\""),
            s3_put(RECORD, "\"rec-6\""),
        ],
        sns: vec![published()],
        sfn: vec![
            mock!(Sfn::send_task_success).then_output(|| SendTaskSuccessOutput::builder().build())
        ],
        ..Script::default()
    };
    let services = services(&script, &recorder, started());
    let acted = act(&services, ID, Command::Promote { full: true }, ANA)
        .await
        .expect("promote recorded");
    assert!(acted.woke_workflow);
    // The promotion is written, then marked as the waiting task's (If-Match on
    // what was just written), and only then sent, so no later wait takes it too.
    assert_eq!(
        transcript(&recorder),
        lines(&[
            "S3 ListObjectsV2 prefix=deployments/dep-1/approvals/",
            "S3 GetObject deployments/dep-1/record.json",
            "S3 PutObject deployments/dep-1/record.json If-Match: \"rec-4\"",
            "SNS Publish kind=operator-action",
            "S3 GetObject deployments/dep-1/record.json",
            "S3 PutObject deployments/dep-1/record.json If-Match: \"rec-5\"",
            "SFN SendTaskSuccess",
        ])
    );
    let success = sent_as(&recorder, "SFN SendTaskSuccess")[0].json();
    assert_eq!(success["taskToken"], TOKEN);
    assert_eq!(success["output"], r#"{"action":"promoteFull"}"#);
    let marked = record_of(&put_body(&recorder, RECORD));
    assert_eq!(
        marked.operator.promote.unwrap().delivered_to.as_deref(),
        Some(TOKEN)
    );
}
