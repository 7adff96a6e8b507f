//! `request-approval`: open an approval gate. Writes the approval record (the
//! task token and the links' secret hashes, never a secret) and sends each
//! reviewer a personal link, or one shared link when no reviewers are listed.
//!
//! The state machine invokes it with `lambda:invoke.waitForTaskToken` and waits
//! until a decision (see [`crate::approval::decide`]) resumes the task.

use chrono::Duration;

use crate::approval::{self, ApprovalRecord, ApprovalStatus, IssuedLink};
use crate::contracts::{RequestApprovalInput, RequestApprovalOutput};
use crate::error::HandlerError;
use crate::notify::{self, NotificationKind};
use crate::ports::{Services, WriteCondition};
use crate::record::{keys, DeploymentRecord, EventKind};
use crate::store;

/// Open an approval gate: write the record (token and secret hashes only) and
/// send each reviewer a personal link, or one shared link without reviewers.
pub async fn request_approval(
    services: &Services,
    input: RequestApprovalInput,
) -> Result<RequestApprovalOutput, HandlerError> {
    let (record, _) = store::load_record(services.store.as_ref(), &input.deployment_id).await?;
    let policy = record.request.approval.clone().unwrap_or_default();
    let now = services.clock.now();
    let approval_id = approval::new_approval_id(input.step_index);
    let reviewers: Vec<Option<String>> = if policy.reviewers.is_empty() {
        vec![None]
    } else {
        policy.reviewers.iter().cloned().map(Some).collect()
    };
    let base = services
        .settings
        .approval_base_url
        .clone()
        .unwrap_or_default();
    let (links, issued): (Vec<_>, Vec<_>) = reviewers
        .into_iter()
        .map(|reviewer| approval::issue_link(&base, &record.deployment_id, &approval_id, reviewer))
        .unzip();
    let approval = ApprovalRecord {
        approval_id: approval_id.clone(),
        deployment_id: record.deployment_id.clone(),
        step_index: input.step_index,
        weight_percent: input.weight_percent,
        task_token: input.task_token,
        created_at: now,
        expires_at: now + Duration::seconds(record.request.approval_timeout_seconds() as i64),
        quorum: policy.quorum,
        links,
        decisions: Vec::new(),
        status: ApprovalStatus::Pending,
        workflow_resumed_at: None,
    };
    let key = keys::approval(&record.deployment_id, &approval_id);
    store::write(
        services.store.as_ref(),
        &key,
        &approval,
        WriteCondition::IfAbsent,
    )
    .await?;
    let message = format!(
        "approval {approval_id} requested before {} % ({} of {} needed)",
        input.weight_percent,
        policy.quorum,
        issued.len().max(policy.quorum as usize)
    );
    let record = store::update_record(services.store.as_ref(), &record.deployment_id, |r| {
        r.log(now, EventKind::ApprovalRequested, true, message.clone());
    })
    .await?;
    send_links(services, &record, &approval, &issued).await?;
    tracing::info!(deployment_id = %record.deployment_id, approval_id = %approval_id, "approval requested");
    Ok(RequestApprovalOutput { approval_id })
}

async fn send_links(
    services: &Services,
    record: &DeploymentRecord,
    approval: &ApprovalRecord,
    links: &[IssuedLink],
) -> Result<(), HandlerError> {
    let Some(topic) = notify::topic(services, record) else {
        return Err(HandlerError::InvalidRequest(
            "an approval gate needs a notification topic (notifyTopicArn or the stack's topic)"
                .into(),
        ));
    };
    for link in links {
        let details = format!(
            "The next step moves {} % of traffic to version {}.\nApprovals needed: {}. Links expire at {}.\n\nOpen this link to approve or reject (opening it changes nothing):\n{}\n",
            approval.weight_percent,
            record.target_version(),
            approval.quorum,
            approval.expires_at.to_rfc3339(),
            link.url
        );
        let mut notification = notify::build(
            topic.clone(),
            record,
            NotificationKind::Approval,
            "Approval needed",
            &details,
        );
        if let Some(reviewer) = &link.reviewer {
            notification
                .attributes
                .insert("reviewer".into(), reviewer.clone());
        }
        services.notifier.publish(&notification).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::approval::{all, hash_secret};
    use crate::ports::ObjectStore;
    use crate::testing::{request_json, Harness, TASK_TOKEN};

    const TOKEN: &str = TASK_TOKEN;

    fn secret_of(url: &str) -> &str {
        url.split("secret=").nth(1).unwrap()
    }

    #[tokio::test]
    async fn request_approval_stores_only_hashes_and_writes_each_reviewer() {
        // GIVEN two reviewers
        let h = Harness::new();
        let id = h.gate_for(&["ana@example.com", "bo@example.com"]).await;
        // THEN each gets one message, routed by a `reviewer` attribute
        let sent: Vec<_> = h
            .notifier
            .published()
            .into_iter()
            .filter(|n| n.attributes["kind"] == "approval")
            .collect();
        assert_eq!(sent.len(), 2);
        let approval = all(h.services.store.as_ref(), &id)
            .await
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(approval.task_token, TOKEN);
        assert_eq!(
            approval.expires_at - approval.created_at,
            Duration::minutes(30)
        );
        for (notification, reviewer) in sent.iter().zip(["ana@example.com", "bo@example.com"]) {
            assert_eq!(notification.attributes["reviewer"], reviewer);
            assert_eq!(notification.attributes["deploymentId"], id);
            assert_eq!(notification.attributes["function"], "checkout");
            assert_eq!(notification.attributes["alias"], "live");
            let url = notification
                .body
                .split_whitespace()
                .find(|w| w.contains("secret="))
                .unwrap();
            assert!(!notification.body.contains(TOKEN) && !notification.subject.contains(TOKEN));
            // The secret is 256 random bits and only its SHA-256 is stored,
            // on the link bound to this reviewer.
            let secret = secret_of(url);
            assert_eq!(secret.len(), 64);
            let link = approval
                .links
                .iter()
                .find(|l| l.reviewer.as_deref() == Some(reviewer))
                .unwrap();
            assert_eq!(link.secret_sha256, hash_secret(secret));
            assert!(url.contains(&format!("link={}", link.link_id)));
            for key in h.store.keys() {
                let body = h.store.get(&key).await.unwrap().unwrap().body;
                assert!(
                    !String::from_utf8_lossy(&body).contains(secret),
                    "{key} holds a plain secret"
                );
            }
        }
    }

    #[tokio::test]
    async fn without_reviewers_one_shared_link_is_sent() {
        let h = Harness::new();
        let id = h.gate_for(&[]).await;
        let sent: Vec<_> = h
            .notifier
            .published()
            .into_iter()
            .filter(|n| n.attributes["kind"] == "approval")
            .collect();
        assert_eq!(sent.len(), 1);
        assert!(!sent[0].attributes.contains_key("reviewer"));
        let approval = all(h.services.store.as_ref(), &id)
            .await
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(approval.links.len(), 1);
        assert_eq!(approval.links[0].reviewer, None);
    }

    #[tokio::test]
    async fn the_output_is_the_same_json_as_before_it_was_typed() {
        // GIVEN a deployment with an approval gate
        let h = Harness::new();
        let mut request = request_json("Canary10Percent5Minutes");
        request["approval"] = serde_json::json!({"gates": ["afterCanary"]});
        let id = h.prepare(request).await.unwrap().deployment_id;
        // WHEN the Lambda runs on its JSON event
        let output = crate::handlers::dispatch(
            crate::functions::Function::RequestApproval,
            &h.services,
            serde_json::json!({
                "deploymentId": id,
                "stepIndex": 1,
                "weightPercent": 100,
                "taskToken": TOKEN
            }),
        )
        .await
        .unwrap();
        // THEN it answers `{"approvalId": "step<index>-<8 hex digits>"}` and nothing else
        let object = output.as_object().unwrap();
        assert_eq!(object.len(), 1, "{output}");
        let approval_id = object["approvalId"].as_str().unwrap();
        let random = approval_id.strip_prefix("step1-").unwrap();
        assert!(random.len() == 8 && random.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            serde_json::to_string(&RequestApprovalOutput {
                approval_id: "step1-0a1b2c3d".into()
            })
            .unwrap(),
            r#"{"approvalId":"step1-0a1b2c3d"}"#
        );
    }
}
