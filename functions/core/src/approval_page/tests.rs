//! The approval endpoint end to end: requests as a function URL delivers them,
//! against in-memory adapters.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Duration;

use super::*;
use crate::adapters::memory::{Callback, MemoryStore};
use crate::approval::{ApprovalRecord, ApprovalStatus, RESUME_GRACE_SECONDS};
use crate::ports::{Clock, ObjectStore, PortError};
use crate::record::EventKind;
use crate::store;
use crate::testing::function_url::{body_text, form_body};
use crate::testing::{FunctionUrlRequest, Harness, InterleavingStore, IssuedLink as Link};

const TOKEN: &str = "AQCEAAAAKgAAAAMAAAAAAAAAAfaketasktoken0123456789";

/// A deployment of checkout:live 7 → 8 stopped at an approval gate before
/// promotion, and the links its reviewers were sent.
async fn gate(h: &Harness, approval: serde_json::Value) -> (String, Vec<Link>) {
    h.open_gate(approval, TOKEN).await.unwrap()
}

/// A request as a Lambda function URL delivers it.
fn event(method: &str, path: &str, query: &str, body: Option<&str>) -> Request {
    let request = FunctionUrlRequest::new(method, path).query(query);
    match body {
        Some(body) => request.body(body).build(),
        None => request.build(),
    }
}

async fn get(services: &Services, link: &Link) -> Response<Body> {
    handle(services, event("GET", &link.path, &link.query(), None)).await
}

async fn post(
    services: &Services,
    link: &Link,
    decision: &str,
    extra: &[(&str, &str)],
) -> Response<Body> {
    let mut fields = vec![
        ("link", link.link.as_str()),
        ("secret", link.secret.as_str()),
        ("decision", decision),
    ];
    fields.extend_from_slice(extra);
    handle(
        services,
        event("POST", &link.path, "", Some(&form_body(&fields))),
    )
    .await
}

fn text(response: &Response<Body>) -> String {
    body_text(response)
}

fn successes(h: &Harness) -> Vec<serde_json::Value> {
    h.callback
        .calls()
        .into_iter()
        .map(|call| match call {
            Callback::Success(token, output) => {
                assert_eq!(token, TOKEN);
                output
            }
            other => panic!("unexpected callback {other:?}"),
        })
        .collect()
}

/// Every object in the store, byte for byte.
async fn snapshot(store: &MemoryStore) -> Vec<(String, Vec<u8>)> {
    let mut objects = Vec::new();
    for key in store.keys() {
        objects.push((key.clone(), store.get(&key).await.unwrap().unwrap().body));
    }
    objects
}

async fn approval_record(h: &Harness, deployment_id: &str) -> ApprovalRecord {
    crate::approval::all(h.services.store.as_ref(), deployment_id)
        .await
        .unwrap()
        .pop()
        .unwrap()
}

fn reviewers(names: &[&str], quorum: u32) -> serde_json::Value {
    serde_json::json!({
        "gates": ["beforePromotion"],
        "reviewers": names,
        "quorum": quorum,
        "timeoutMinutes": 60
    })
}

#[tokio::test]
async fn get_shows_the_deployment_and_changes_nothing() {
    // GIVEN a gate waiting for ana
    let h = Harness::new();
    let (id, links) = gate(&h, reviewers(&["ana@example.com"], 1)).await;
    let before = snapshot(&h.store).await;
    let sent = h.notifier.published().len();
    // WHEN the link is fetched (as a mail scanner would), twice, and with HEAD
    let page = get(&h.services, &links[0]).await;
    get(&h.services, &links[0]).await;
    handle(
        &h.services,
        event("HEAD", &links[0].path, &links[0].query(), None),
    )
    .await;
    // THEN the page shows the details and the buttons, and nothing changed
    assert_eq!(page.status(), StatusCode::OK);
    let html = text(&page);
    for expected in [
        id.as_str(),
        "checkout:live",
        "7 → 8",
        "<strong>100 %</strong>",
        "0 of 1 needed",
        "2026-11-22 13:00 UTC",
        "No health checks have run yet.",
        "Nobody has decided yet.",
        "ana@example.com",
        "<button type=\"submit\" name=\"decision\" value=\"approve\"",
        "value=\"reject\"",
        "<label for=\"comment\">",
        "<html lang=\"en\">",
        "name=\"viewport\"",
    ] {
        assert!(html.contains(expected), "{expected} missing from {html}");
    }
    assert!(
        !html.contains("name=\"name\""),
        "a personal link asks no name"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
    let headers = page.headers();
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-robots-tag"], "noindex, nofollow");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
    assert_eq!(snapshot(&h.store).await, before);
    assert_eq!(h.notifier.published().len(), sent);
    assert!(h.callback.calls().is_empty());
}

#[tokio::test]
async fn the_page_shows_health_so_far_from_the_timeline() {
    let h = Harness::new();
    let (id, links) = gate(&h, reviewers(&["ana@example.com"], 1)).await;
    let now = h.clock.now();
    store::update_record(h.services.store.as_ref(), &id, |r| {
        r.log(
            now,
            EventKind::HealthChecked,
            true,
            "error rate 0.0 % over 120 requests",
        );
    })
    .await
    .unwrap();
    let html = text(&get(&h.services, &links[0]).await);
    assert!(
        html.contains("error rate 0.0 % over 120 requests"),
        "{html}"
    );
    assert!(html.contains("<span class=\"ok\">OK</span>"));
}

#[tokio::test]
async fn approving_resumes_the_workflow_with_the_decision() {
    // GIVEN a gate waiting for ana
    let h = Harness::new();
    let (id, links) = gate(&h, reviewers(&["ana@example.com"], 1)).await;
    // WHEN ana approves with a comment
    let page = post(
        &h.services,
        &links[0],
        "approve",
        &[("comment", "looks good")],
    )
    .await;
    // THEN the page confirms and the workflow resumes with approved=true
    assert_eq!(page.status(), StatusCode::OK);
    let html = text(&page);
    assert!(html.contains("Your decision was recorded"), "{html}");
    assert!(html.contains("the deployment goes on"), "{html}");
    let approval = approval_record(&h, &id).await;
    assert_eq!(
        successes(&h),
        vec![serde_json::json!({
            "approved": true,
            "decidedBy": ["ana@example.com"],
            "approvalId": approval.approval_id
        })]
    );
    // AND the audit trail says who, from where, with what
    assert_eq!(approval.status, ApprovalStatus::Approved);
    let decision = &approval.decisions[0];
    assert_eq!(decision.reviewer, "ana@example.com");
    assert_eq!(decision.source_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(decision.user_agent.as_deref(), Some("Mozilla/5.0 (test)"));
    assert_eq!(decision.comment.as_deref(), Some("looks good"));
    let (record, _) = store::load_record(h.services.store.as_ref(), &id)
        .await
        .unwrap();
    assert!(record
        .timeline
        .iter()
        .any(|e| e.kind == EventKind::ApprovalDecided && e.message.contains("ana@example.com")));
}

#[tokio::test]
async fn a_second_post_with_the_same_link_gets_409() {
    let h = Harness::new();
    let (_, links) = gate(&h, reviewers(&["ana@example.com"], 1)).await;
    assert_eq!(
        post(&h.services, &links[0], "approve", &[]).await.status(),
        200
    );
    // WHEN the same link posts again (a double click, or a replay)
    let again = post(&h.services, &links[0], "reject", &[]).await;
    // THEN it is refused and the workflow heard only once
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(
        text(&again).contains("This link was used already"),
        "{}",
        text(&again)
    );
    assert_eq!(
        get(&h.services, &links[0]).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(successes(&h).len(), 1);
}

fn racing(h: &Harness) -> (Services, Arc<InterleavingStore>) {
    InterleavingStore::around(&h.services, h.store.clone())
}

#[tokio::test]
async fn two_concurrent_posts_produce_exactly_one_decision() {
    for same_link in [true, false] {
        // GIVEN a gate with quorum 1 and two reviewers
        let h = Harness::new();
        let (id, links) = gate(&h, reviewers(&["ana@example.com", "bo@example.com"], 1)).await;
        let (services, store) = racing(&h);
        let second = if same_link { &links[0] } else { &links[1] };
        // WHEN two decisions race (the same link twice, or both reviewers)
        let (a, b) = tokio::join!(
            post(&services, &links[0], "approve", &[]),
            post(&services, second, "approve", &[])
        );
        // THEN exactly one wins, the other is told it was decided already
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "same link: {same_link}");
        assert!(store.conflicts() >= 1, "the writes raced");
        assert_eq!(successes(&h).len(), 1);
        assert_eq!(approval_record(&h, &id).await.decisions.len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_parallel_posts_on_threads_produce_exactly_one_decision() {
    for _ in 0..5 {
        let h = Harness::new();
        let (id, links) = gate(&h, reviewers(&["ana@example.com", "bo@example.com"], 1)).await;
        let (services, _) = racing(&h);
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let services = services.clone();
                let link = links[i % 2].clone();
                tokio::spawn(async move {
                    post(&services, &link, "approve", &[])
                        .await
                        .status()
                        .as_u16()
                })
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            match task.await.unwrap() {
                200 => ok += 1,
                409 => {}
                other => panic!("unexpected status {other}"),
            }
        }
        assert_eq!(ok, 1);
        assert_eq!(successes(&h).len(), 1);
        assert_eq!(approval_record(&h, &id).await.decisions.len(), 1);
    }
}

#[tokio::test]
async fn an_expired_link_gets_410_and_no_send_task() {
    let h = Harness::new();
    let (id, links) = gate(&h, reviewers(&["ana@example.com"], 1)).await;
    // WHEN the gate's hour has passed
    h.clock.advance(Duration::minutes(61));
    let before = snapshot(&h.store).await;
    let page = post(&h.services, &links[0], "approve", &[]).await;
    // THEN 410, nothing recorded, and the workflow is not called
    assert_eq!(page.status(), StatusCode::GONE);
    assert!(text(&page).contains("expired at 2026-11-22 13:00 UTC"));
    assert_eq!(get(&h.services, &links[0]).await.status(), StatusCode::GONE);
    assert!(h.callback.calls().is_empty());
    assert_eq!(snapshot(&h.store).await, before);
    assert!(approval_record(&h, &id).await.decisions.is_empty());
}

#[tokio::test]
async fn unknown_approvals_links_and_secrets_get_one_403_page() {
    let h = Harness::new();
    let (_, links) = gate(&h, reviewers(&["ana@example.com"], 1)).await;
    let good = &links[0];
    let forged = "f".repeat(64);
    let wrong_secret = Link {
        secret: forged.clone(),
        ..good.clone()
    };
    let wrong_link = Link {
        link: "0123456789abcdef".into(),
        ..good.clone()
    };
    let wrong_approval = Link {
        path: good.path.rsplit_once('/').unwrap().0.to_string() + "/step1-deadbeef",
        ..good.clone()
    };
    let wrong_deployment = Link {
        path: "/approvals/nope/step1-deadbeef".into(),
        ..good.clone()
    };
    let hostile_ids = Link {
        path: "/approvals/..%2F..%2Flocks/x".into(),
        ..good.clone()
    };
    let mut bodies = Vec::new();
    for link in [
        &wrong_secret,
        &wrong_link,
        &wrong_approval,
        &wrong_deployment,
        &hostile_ids,
    ] {
        for response in [
            post(&h.services, link, "approve", &[]).await,
            get(&h.services, link).await,
        ] {
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{link:?}");
            let html = text(&response);
            assert!(!html.contains(&forged), "a forged secret is not reflected");
            bodies.push(html);
        }
    }
    // One and the same page whatever was wrong: nothing helps a guesser.
    bodies.dedup();
    assert_eq!(bodies.len(), 1);
    // A GET without the secret is refused the same way.
    let bare = handle(&h.services, event("GET", &good.path, "", None)).await;
    assert_eq!(text(&bare), bodies[0]);
    assert!(h.callback.calls().is_empty());
}

#[tokio::test]
async fn a_quorum_of_two_needs_two_distinct_reviewers() {
    let h = Harness::new();
    let (_, links) = gate(&h, reviewers(&["ana@example.com", "bo@example.com"], 2)).await;
    let ana = links
        .iter()
        .find(|l| l.reviewer.as_deref() == Some("ana@example.com"))
        .unwrap();
    let bo = links
        .iter()
        .find(|l| l.reviewer.as_deref() == Some("bo@example.com"))
        .unwrap();
    // WHEN ana approves, the gate stays shut
    let first = post(&h.services, ana, "approve", &[]).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert!(
        text(&first).contains("1 of 2 approvals so far"),
        "{}",
        text(&first)
    );
    assert!(h.callback.calls().is_empty());
    // AND ana again does not count twice
    assert_eq!(
        post(&h.services, ana, "approve", &[]).await.status(),
        StatusCode::CONFLICT
    );
    assert!(h.callback.calls().is_empty());
    // WHEN bo approves, the workflow resumes with both names
    assert_eq!(
        post(&h.services, bo, "approve", &[]).await.status(),
        StatusCode::OK
    );
    let outputs = successes(&h);
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["approved"], true);
    assert_eq!(
        outputs[0]["decidedBy"],
        serde_json::json!(["ana@example.com", "bo@example.com"])
    );
}

#[tokio::test]
async fn a_shared_link_counts_each_name_once_however_it_is_typed() {
    let h = Harness::new();
    let shared =
        serde_json::json!({"gates": ["beforePromotion"], "quorum": 2, "timeoutMinutes": 60});
    let (_, links) = gate(&h, shared).await;
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].reviewer, None);
    // The page asks for a name, and a decision without one is incomplete.
    assert!(
        text(&get(&h.services, &links[0]).await).contains("<label for=\"name\">Your name</label>")
    );
    assert_eq!(
        post(&h.services, &links[0], "approve", &[]).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(&h.services, &links[0], "approve", &[("name", "Ana")])
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        post(&h.services, &links[0], "approve", &[("name", "  ana ")])
            .await
            .status(),
        StatusCode::CONFLICT
    );
    assert!(h.callback.calls().is_empty());
    assert_eq!(
        post(&h.services, &links[0], "approve", &[("name", "Bo")])
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        successes(&h)[0]["decidedBy"],
        serde_json::json!(["Ana", "Bo"])
    );
}

#[tokio::test]
async fn a_reject_sends_approved_false() {
    let h = Harness::new();
    let (_, links) = gate(&h, reviewers(&["ana@example.com", "bo@example.com"], 2)).await;
    // WHEN one reviewer rejects, even though the quorum is two
    let page = post(
        &h.services,
        &links[0],
        "reject",
        &[("comment", "error budget spent")],
    )
    .await;
    // THEN the workflow resumes at once with approved=false (the Choice rolls back)
    assert_eq!(page.status(), StatusCode::OK);
    assert!(text(&page).contains("rolls back"));
    let outputs = successes(&h);
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["approved"], false);
    assert_eq!(
        outputs[0]["decidedBy"],
        serde_json::json!([links[0].reviewer.clone().unwrap()])
    );
    // AND a later approval cannot reopen the gate
    assert_eq!(
        post(&h.services, &links[1], "approve", &[]).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(successes(&h).len(), 1);
}

/// The `maxlength` of the form field with `id`.
fn maxlength(html: &str, id: &str) -> usize {
    let start = html.find(&format!("id=\"{id}\"")).expect("the field");
    let tag = &html[start..start + html[start..].find('>').unwrap()];
    let value = tag.split("maxlength=\"").nth(1).expect("a maxlength");
    value[..value.find('"').unwrap()].parse().unwrap()
}

#[tokio::test]
async fn the_form_accepts_exactly_as_much_text_as_the_record_keeps() {
    // GIVEN a shared link, whose page asks for a name and a comment
    let h = Harness::new();
    let shared =
        serde_json::json!({"gates": ["beforePromotion"], "quorum": 1, "timeoutMinutes": 60});
    let (id, links) = gate(&h, shared).await;
    let html = text(&get(&h.services, &links[0]).await);
    let (name_limit, comment_limit) = (maxlength(&html, "name"), maxlength(&html, "comment"));
    assert_eq!(name_limit, crate::approval::MAX_REVIEWER_NAME_CHARS);
    assert_eq!(comment_limit, crate::approval::MAX_COMMENT_CHARS);
    // WHEN a client that ignores `maxlength` sends more than that
    let long_name = "é".repeat(name_limit + 10);
    let long_comment = "ü".repeat(comment_limit + 10);
    let page = post(
        &h.services,
        &links[0],
        "approve",
        &[("name", &long_name), ("comment", &long_comment)],
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK);
    // THEN the record keeps exactly what the page would have let through
    let decision = approval_record(&h, &id).await.decisions.remove(0);
    assert_eq!(decision.reviewer.chars().count(), name_limit);
    assert_eq!(decision.comment.unwrap().chars().count(), comment_limit);
}

#[tokio::test]
async fn script_in_a_comment_or_a_name_is_escaped_on_the_page() {
    let h = Harness::new();
    let shared =
        serde_json::json!({"gates": ["beforePromotion"], "quorum": 2, "timeoutMinutes": 60});
    let (_, links) = gate(&h, shared).await;
    let confirmation = post(
        &h.services,
        &links[0],
        "approve",
        &[
            ("name", "<script>alert('name')</script>"),
            (
                "comment",
                "<script>alert(\"comment\")</script> & <img src=x onerror=alert(1)>",
            ),
        ],
    )
    .await;
    assert_eq!(confirmation.status(), StatusCode::OK);
    let page = get(&h.services, &links[0]).await;
    for html in [text(&confirmation), text(&page)] {
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;alert(&quot;comment&quot;)&lt;/script&gt; &amp; &lt;img")
        );
    }
}

#[tokio::test]
async fn bad_forms_methods_and_paths_are_refused() {
    let h = Harness::new();
    let (_, links) = gate(&h, reviewers(&["ana@example.com"], 1)).await;
    let link = &links[0];
    for body in [
        form_body(&[("secret", &link.secret), ("decision", "approve")]),
        form_body(&[("link", &link.link), ("decision", "approve")]),
        form_body(&[("link", &link.link), ("secret", &link.secret)]),
        form_body(&[
            ("link", &link.link),
            ("secret", &link.secret),
            ("decision", "maybe"),
        ]),
        String::new(),
    ] {
        let response = handle(&h.services, event("POST", &link.path, "", Some(&body))).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let put = handle(&h.services, event("PUT", &link.path, &link.query(), None)).await;
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(put.headers()["allow"], "GET, HEAD, POST");
    let elsewhere = handle(&h.services, event("GET", "/", &link.query(), None)).await;
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    assert!(h.callback.calls().is_empty());
}

/// A workflow whose next calls answer with the given errors, then succeed.
#[derive(Default)]
struct FlakyWorkflow {
    failures: Mutex<Vec<PortError>>,
    calls: Mutex<Vec<serde_json::Value>>,
}

#[async_trait]
impl crate::ports::WorkflowCallback for FlakyWorkflow {
    async fn send_task_success(
        &self,
        _task_token: &str,
        output: &serde_json::Value,
    ) -> Result<(), PortError> {
        self.calls.lock().unwrap().push(output.clone());
        match self.failures.lock().unwrap().pop() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
    async fn send_task_failure(&self, _: &str, _: &str, _: &str) -> Result<(), PortError> {
        unreachable!("decisions resume with SendTaskSuccess")
    }
}

fn flaky(h: &Harness, failures: Vec<PortError>) -> (Services, Arc<FlakyWorkflow>) {
    let workflow = Arc::new(FlakyWorkflow {
        failures: Mutex::new(failures),
        ..Default::default()
    });
    let mut services = h.services.clone();
    services.workflow = workflow.clone();
    (services, workflow)
}

#[tokio::test]
async fn a_lost_reject_is_sent_again_by_the_next_click_after_a_grace_period() {
    // GIVEN a workflow that fails the first callback
    let h = Harness::new();
    let (id, links) = gate(&h, reviewers(&["ana@example.com", "bo@example.com"], 2)).await;
    let (services, workflow) = flaky(&h, vec![PortError::Throttled("slow down".into())]);
    // WHEN ana rejects, the decision is recorded but the workflow did not hear it
    let page = post(&services, &links[0], "reject", &[]).await;
    assert_eq!(page.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        !text(&page).contains("slow down"),
        "no backend detail on the page"
    );
    let approval = approval_record(&h, &id).await;
    assert_eq!(approval.status, ApprovalStatus::Rejected);
    assert_eq!(approval.workflow_resumed_at, None);
    // AND a click at once does not call again (the first call may be in flight)
    assert_eq!(
        post(&services, &links[1], "approve", &[]).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(workflow.calls.lock().unwrap().len(), 1);
    // THEN a click after the grace period sends the reject again, once
    h.clock.advance(Duration::seconds(RESUME_GRACE_SECONDS + 1));
    assert_eq!(
        post(&services, &links[1], "approve", &[]).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        get(&services, &links[0]).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        post(&services, &links[0], "reject", &[]).await.status(),
        StatusCode::CONFLICT
    );
    let calls = workflow.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1]["approved"], false);
    assert_eq!(
        calls[1]["decidedBy"],
        serde_json::json!(["ana@example.com"])
    );
    assert!(approval_record(&h, &id).await.workflow_resumed_at.is_some());
}

#[tokio::test]
async fn a_decision_the_workflow_no_longer_waits_for_gets_410() {
    let h = Harness::new();
    let (_, links) = gate(&h, reviewers(&["ana@example.com"], 1)).await;
    // The task timed out a moment before the link's expiry (clocks differ).
    let (services, _) = flaky(&h, vec![PortError::NotFound("task timed out".into())]);
    let page = post(&services, &links[0], "approve", &[]).await;
    assert_eq!(page.status(), StatusCode::GONE);
}

/// (Log lines are checked in `tests/approval_logs.rs`, a process of its
/// own: a capturing subscriber needs to be the global one to be reliable.)
#[tokio::test]
async fn the_task_token_appears_in_no_response() {
    let h = Harness::new();
    let (id, links) = gate(&h, reviewers(&["ana@example.com", "bo@example.com"], 2)).await;
    let forged = Link {
        secret: "0".repeat(64),
        ..links[0].clone()
    };
    let mut responses = vec![
        get(&h.services, &links[0]).await,
        post(&h.services, &forged, "approve", &[]).await,
        post(&h.services, &links[0], "approve", &[("comment", "ok")]).await,
        post(&h.services, &links[0], "approve", &[]).await,
        post(&h.services, &links[1], "approve", &[]).await,
        get(&h.services, &links[1]).await,
    ];
    h.clock.advance(Duration::days(2));
    responses.push(get(&h.services, &links[0]).await);
    responses.push(handle(&h.services, event("DELETE", &links[0].path, "", None)).await);
    let approval = approval_record(&h, &id).await;
    assert_eq!(approval.status, ApprovalStatus::Approved);

    for response in &responses {
        assert!(!text(response).contains(TOKEN));
        for (name, value) in response.headers() {
            assert!(!value.to_str().unwrap().contains(TOKEN), "{name}");
        }
    }
    assert!(!format!("{approval:?}").contains(TOKEN));
}
