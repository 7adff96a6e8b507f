//! `request-approval`: hashes and the token stored, one link mailed per reviewer.

use serde_json::json;
use shiftgate_core::approval::{hash_secret, ApprovalRecord};
use shiftgate_core::contracts::RequestApprovalInput;
use shiftgate_core::handlers::request_approval;
use shiftgate_core::testing::APPROVAL_BASE_URL as APPROVAL_BASE;

use crate::common::*;

#[tokio::test]
async fn request_approval_stores_hashes_and_the_token_and_mails_each_reviewer_a_link() {
    // GIVEN a deployment gated by two reviewers
    let mut request = request_json("Canary10Percent5Minutes");
    request["approval"] =
        json!({"gates": ["beforePromotion"], "reviewers": ["ana@example.com", "bo@example.com"]});
    let record = prepared(request, &[]).await;
    let recorder = Recorder::default();
    let script = Script {
        s3: vec![
            s3_get(RECORD, &record, "\"rec-1\""),
            s3_list_empty("deployments/dep-1/approvals/"),
            s3_put_under("deployments/dep-1/approvals/", "\"appr-1\""),
            s3_get(RECORD, &record, "\"rec-2\""),
            s3_put(RECORD, "\"rec-3\""),
            s3_put_under("deployments/dep-1/approvals/", "\"appr-2\""),
        ],
        sns: vec![published(), published()],
        ..Script::default()
    };
    let services = services(&script, &recorder, started());
    let token = "AQCEAAAAKgAAAAMAAAAAAAAAAfake-task-token";

    // WHEN the gate before promotion opens
    let out = request_approval(
        &services,
        RequestApprovalInput {
            deployment_id: ID.into(),
            step_index: 1,
            weight_percent: 100.0,
            task_token: token.into(),
        },
    )
    .await
    .expect("approval requested");

    // THEN no gate of this step is open yet, so the approval record is created
    // (never overwritten), then the timeline, then one message per reviewer
    // routed by a `reviewer` attribute, then the record says the links are out
    let approval_id = &out.approval_id;
    let approval_key = format!("deployments/dep-1/approvals/{approval_id}.json");
    assert_eq!(
        transcript(&recorder),
        lines(&[
            "S3 GetObject deployments/dep-1/record.json",
            "S3 ListObjectsV2 prefix=deployments/dep-1/approvals/",
            &format!("S3 PutObject {approval_key} If-None-Match: *"),
            "S3 GetObject deployments/dep-1/record.json",
            "S3 PutObject deployments/dep-1/record.json If-Match: \"rec-2\"",
            "SNS Publish kind=approval reviewer=ana@example.com",
            "SNS Publish kind=approval reviewer=bo@example.com",
            &format!("S3 PutObject {approval_key} If-Match: \"appr-1\""),
        ])
    );
    let stored_bytes = put_body(&recorder, &approval_key);
    let stored_text = String::from_utf8(stored_bytes.clone()).expect("UTF-8");
    let stored: ApprovalRecord = serde_json::from_slice(&stored_bytes).expect("an approval");
    assert_eq!(stored.task_token, token);
    assert!(stored.links_sent_at.is_some());
    for publish in sent_as(&recorder, "SNS Publish") {
        let reviewer = publish.message_attributes()["reviewer"].clone();
        let message = publish.field("Message").expect("a message");
        // The link in the message carries the secret ...
        let url = message
            .split_whitespace()
            .find(|w| w.starts_with(APPROVAL_BASE))
            .expect("a link in the message");
        assert!(
            url.starts_with(&format!(
                "{APPROVAL_BASE}approvals/dep-1/{approval_id}?link="
            )),
            "{url}"
        );
        let secret = url.split("&secret=").nth(1).expect("a secret in the link");
        assert_eq!(secret.len(), 64, "{url}");
        // ... the record holds only its hash, on this reviewer's link ...
        let link = stored
            .links
            .iter()
            .find(|l| l.reviewer.as_deref() == Some(reviewer.as_str()))
            .expect("a link per reviewer");
        assert_eq!(link.secret_sha256, hash_secret(secret));
        assert!(url.contains(&format!("?link={}&", link.link_id)), "{url}");
        // ... and the secret itself is nowhere in what was stored.
        assert!(!stored_text.contains(secret), "the secret was stored");
        assert!(stored_text.contains(&hash_secret(secret)));
        // The token never goes out by mail.
        assert!(!message.contains(token));
    }
}
