//! `request-approval`: open an approval gate. Writes the approval record (the
//! task token and the links' secret hashes, never a secret) and sends each
//! reviewer a personal link, or one shared link when no reviewers are listed.
//!
//! The state machine invokes it with `lambda:invoke.waitForTaskToken` and waits
//! until a decision (see [`crate::approval::decide`]) resumes the task.

use chrono::Duration;

use crate::approval::{self, ApprovalLink, ApprovalRecord, ApprovalStatus, IssuedLink};
use crate::contracts::{RequestApprovalInput, RequestApprovalOutput};
use crate::error::HandlerError;
use crate::notify::{self, NotificationKind};
use crate::ports::{Services, WriteCondition};
use crate::record::{keys, DeploymentRecord, EventKind};
use crate::store;

/// Open an approval gate: write the record (token and secret hashes only) and
/// send each reviewer a personal link, or one shared link without reviewers.
///
/// Safe to retry: when the gate of this step is already open (an earlier
/// attempt whose answer was lost, or a retry of the task with a new token),
/// the pending approval is reused with the new task token, and links go out
/// again only if the earlier attempt did not get them all out — then as fresh
/// links, so no two valid sets exist.
pub async fn request_approval(
    services: &Services,
    input: RequestApprovalInput,
) -> Result<RequestApprovalOutput, HandlerError> {
    let (record, _) = store::load_record(services.store.as_ref(), &input.deployment_id).await?;
    crate::operator::refuse_if_aborted(&record)?;
    let now = services.clock.now();
    let open = approval::all(services.store.as_ref(), &record.deployment_id)
        .await?
        .into_iter()
        .rfind(|a| {
            a.step_index == input.step_index
                && a.status == ApprovalStatus::Pending
                && a.expires_at > now
        });
    if let Some(open) = open {
        return reopen(services, &record, open, input.task_token).await;
    }
    let policy = record.request.approval.clone().unwrap_or_default();
    let approval_id = approval::new_approval_id(input.step_index);
    let (links, issued) = issue_links(services, &record, &approval_id);
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
        links_sent_at: None,
    };
    let key = keys::approval(&record.deployment_id, &approval_id);
    let etag = store::write(
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
    mark_sent(services, approval, etag).await;
    tracing::info!(deployment_id = %record.deployment_id, approval_id = %approval_id, "approval requested");
    Ok(RequestApprovalOutput { approval_id })
}

/// One link per reviewer, or one shared link: what the record keeps and what is sent.
fn issue_links(
    services: &Services,
    record: &DeploymentRecord,
    approval_id: &str,
) -> (Vec<ApprovalLink>, Vec<IssuedLink>) {
    let policy = record.request.approval.clone().unwrap_or_default();
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
    reviewers
        .into_iter()
        .map(|reviewer| approval::issue_link(&base, &record.deployment_id, approval_id, reviewer))
        .unzip()
}

/// The gate of this step is open already: take the new task token, and send
/// fresh links only when the earlier attempt did not get them all out.
async fn reopen(
    services: &Services,
    record: &DeploymentRecord,
    open: ApprovalRecord,
    task_token: String,
) -> Result<RequestApprovalOutput, HandlerError> {
    let key = keys::approval(&record.deployment_id, &open.approval_id);
    let mut retries = store::ConflictRetries::new(&key);
    loop {
        retries.next_attempt()?;
        let Some((mut approval, etag)) =
            store::read::<ApprovalRecord>(services.store.as_ref(), &key).await?
        else {
            return Err(HandlerError::DeploymentNotFound(format!(
                "approval {} of {}",
                open.approval_id, record.deployment_id
            )));
        };
        approval.task_token = task_token.clone();
        let resend = approval.links_sent_at.is_none();
        let issued = if resend {
            let (links, issued) = issue_links(services, record, &approval.approval_id);
            approval.links = links;
            issued
        } else {
            Vec::new()
        };
        let Some(etag) = store::replace(services.store.as_ref(), &key, &approval, etag).await?
        else {
            continue; // decided or reopened meanwhile: judge the new state
        };
        if resend {
            send_links(services, record, &approval, &issued).await?;
            mark_sent(services, approval.clone(), etag).await;
        }
        tracing::info!(deployment_id = %record.deployment_id, approval_id = %approval.approval_id, resent = resend, "approval gate already open: reused");
        return Ok(RequestApprovalOutput {
            approval_id: approval.approval_id,
        });
    }
}

/// Record that every link went out. Best effort: a decision that raced in
/// has changed the record, and a retry then finds it decided, not pending.
async fn mark_sent(services: &Services, mut approval: ApprovalRecord, etag: String) {
    approval.links_sent_at = Some(services.clock.now());
    let key = keys::approval(&approval.deployment_id, &approval.approval_id);
    if let Err(error) = store::write(
        services.store.as_ref(),
        &key,
        &approval,
        WriteCondition::IfMatch(etag),
    )
    .await
    {
        tracing::warn!(approval_id = %approval.approval_id, %error, "could not record that the links went out");
    }
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

    fn gate_input(deployment_id: &str, task_token: &str) -> RequestApprovalInput {
        RequestApprovalInput {
            deployment_id: deployment_id.into(),
            step_index: 1,
            weight_percent: 100.0,
            task_token: task_token.into(),
        }
    }

    fn approval_messages(h: &Harness) -> usize {
        h.notifier
            .published()
            .iter()
            .filter(|n| n.attributes["kind"] == "approval")
            .count()
    }

    #[tokio::test]
    async fn invoked_twice_with_the_same_input_it_opens_one_approval_and_sends_one_set_of_links() {
        // GIVEN a gate already opened for two reviewers
        let h = Harness::new();
        let id = h.gate_for(&["ana@example.com", "bo@example.com"]).await;
        let first = all(h.services.store.as_ref(), &id).await.unwrap();
        assert_eq!(approval_messages(&h), 2);
        // WHEN the same invocation runs again (its answer was lost)
        let again = request_approval(&h.services, gate_input(&id, TOKEN))
            .await
            .unwrap();
        // THEN it answers the same approval, and nothing more is sent or stored
        assert_eq!(again.approval_id, first[0].approval_id);
        let after = all(h.services.store.as_ref(), &id).await.unwrap();
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].links, first[0].links);
        assert_eq!(approval_messages(&h), 2);
    }

    #[tokio::test]
    async fn a_retry_with_a_new_task_token_takes_it_and_a_decision_resumes_that_one() {
        let h = Harness::new();
        let id = h.gate_for(&["ana@example.com"]).await;
        let (_, links) = (id.clone(), h.notifier.published());
        let url = links
            .iter()
            .find(|n| n.attributes["kind"] == "approval")
            .and_then(|n| n.body.split_whitespace().find(|w| w.contains("secret=")))
            .unwrap()
            .to_string();
        // WHEN the task is retried with a new token
        request_approval(&h.services, gate_input(&id, "second-token"))
            .await
            .unwrap();
        // THEN the old link still decides, and the decision resumes the new token
        let approval = all(h.services.store.as_ref(), &id).await.unwrap().remove(0);
        assert_eq!(approval.task_token, "second-token");
        assert_eq!(approval_messages(&h), 1);
        let link = &approval.links[0];
        assert_eq!(link.secret_sha256, hash_secret(secret_of(&url)));
    }

    #[tokio::test]
    async fn links_an_earlier_attempt_did_not_get_out_are_replaced_and_sent_once() {
        // GIVEN an attempt that stored the approval but died before all its
        // links went out (links_sent_at never written)
        let h = Harness::new();
        let id = h.gate_for(&["ana@example.com"]).await;
        let approval = all(h.services.store.as_ref(), &id).await.unwrap().remove(0);
        let key = keys::approval(&id, &approval.approval_id);
        let unsent = ApprovalRecord {
            links_sent_at: None,
            ..approval.clone()
        };
        store::write(
            h.services.store.as_ref(),
            &key,
            &unsent,
            WriteCondition::Always,
        )
        .await
        .unwrap();
        let sent_before = approval_messages(&h);
        // WHEN the task is retried
        request_approval(&h.services, gate_input(&id, "retry-token"))
            .await
            .unwrap();
        // THEN fresh links replace the old ones, go out once, and are marked sent
        let after = all(h.services.store.as_ref(), &id).await.unwrap().remove(0);
        assert_eq!(after.approval_id, approval.approval_id);
        assert_ne!(
            after.links, approval.links,
            "the old secrets no longer open it"
        );
        assert!(after.links_sent_at.is_some());
        assert_eq!(approval_messages(&h), sent_before + 1);
        // AND a further retry sends nothing more
        request_approval(&h.services, gate_input(&id, "retry-token"))
            .await
            .unwrap();
        assert_eq!(approval_messages(&h), sent_before + 1);
    }
}
