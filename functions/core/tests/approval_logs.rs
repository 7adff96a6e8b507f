//! No log line holds the task token or a link secret, whatever a reviewer does.
//!
//! A process of its own (one test, the global subscriber at TRACE) so every
//! line any part of the approval flow writes is captured: a scoped subscriber
//! in the library's parallel unit tests can miss callsites other threads
//! registered first.

use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use lambda_http::{Body, Request, Response};
use shiftgate_core::adapters::memory::{
    ManualClock, MemoryStore, RecordingCallback, RecordingNotifier, SimulatedFleet,
};
use shiftgate_core::approval_page::handle;
use shiftgate_core::contracts::{PrepareInput, RequestApprovalInput};
use shiftgate_core::ports::{Services, Settings};

const TOKEN: &str = "AQCEAAAAKgAAAAMAAAAAtoken-for-the-log-test";
const BASE: &str = "https://approve.example.invalid";

/// Everything tracing writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A request as a Lambda function URL delivers it.
fn event(method: &str, path: &str, query: &str, body: Option<&str>) -> Request {
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"content-type": "application/x-www-form-urlencoded", "user-agent": "test"},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.2", "userAgent": "test"},
            "stage": "$default",
            "timeEpoch": 0
        },
        "body": body,
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

fn text(response: &Response<Body>) -> String {
    String::from_utf8_lossy(response.body().as_ref()).into_owned()
}

#[tokio::test]
async fn no_log_line_holds_the_task_token_or_a_secret() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();

    // GIVEN a gate for two reviewers with quorum 2
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
    ));
    let fleet = SimulatedFleet::new(clock.clone());
    fleet.add_function("checkout", 8, "live", "7");
    let notifier = Arc::new(RecordingNotifier::default());
    let services = Services {
        store: Arc::new(MemoryStore::new()),
        aliases: Arc::new(fleet.clone()),
        functions: Arc::new(fleet.clone()),
        notifier: notifier.clone(),
        health: Arc::new(fleet),
        workflow: Arc::new(RecordingCallback::default()),
        clock: clock.clone(),
        settings: Settings {
            default_notify_topic_arn: Some("arn:aws:sns:us-east-1:123456789012:shiftgate".into()),
            approval_base_url: Some(format!("{BASE}/")),
        },
    };
    let id = shiftgate_core::handlers::prepare(
        &services,
        PrepareInput {
            request: serde_json::json!({
                "target": {"functionName": "checkout", "alias": "live", "targetVersion": "8"},
                "strategy": "Canary10Percent5Minutes",
                "approval": {"gates": ["beforePromotion"], "reviewers": ["ana", "bo"], "quorum": 2, "timeoutMinutes": 60}
            }),
            execution_id: None,
        },
    )
    .await
    .unwrap()
    .deployment_id;
    shiftgate_core::approval::request_approval(
        &services,
        RequestApprovalInput {
            deployment_id: id.clone(),
            step_index: 1,
            weight_percent: 100.0,
            task_token: TOKEN.into(),
        },
    )
    .await
    .unwrap();
    let links: Vec<(String, String, String)> = notifier
        .published()
        .iter()
        .filter_map(|n| n.body.split_whitespace().find(|w| w.starts_with(BASE)))
        .map(|url| {
            let (path, query) = url[BASE.len()..].split_once('?').unwrap();
            let secret = query.split("secret=").nth(1).unwrap();
            let link = query.split('&').next().unwrap().trim_start_matches("link=");
            (path.to_string(), link.to_string(), secret.to_string())
        })
        .collect();
    assert_eq!(links.len(), 2);

    // WHEN reviewers look, forge, decide, repeat and come back too late
    let form = |link: &str, secret: &str| {
        format!("link={link}&secret={secret}&decision=approve&comment=fine")
    };
    let mut responses = Vec::new();
    for (path, link, secret) in &links {
        let query = format!("link={link}&secret={secret}");
        responses.push(handle(&services, event("GET", path, &query, None)).await);
        let forged = form(link, &"f".repeat(64));
        responses.push(handle(&services, event("POST", path, "", Some(&forged))).await);
        let body = form(link, secret);
        responses.push(handle(&services, event("POST", path, "", Some(&body))).await);
        responses.push(handle(&services, event("POST", path, "", Some(&body))).await);
    }
    clock.advance(Duration::days(1));
    let (path, link, secret) = &links[0];
    let query = format!("link={link}&secret={secret}");
    responses.push(handle(&services, event("GET", path, &query, None)).await);
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, [200, 403, 200, 409, 200, 403, 200, 409, 409]);

    // THEN neither the token nor a secret is in any log line or response
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("approval page"), "the capture works: {logs}");
    assert!(logs.contains("approval requested"), "{logs}");
    assert!(!logs.contains(TOKEN), "{logs}");
    for (_, _, secret) in &links {
        assert!(!logs.contains(secret.as_str()), "{logs}");
    }
    for response in &responses {
        assert!(!text(response).contains(TOKEN));
        assert!(response
            .headers()
            .values()
            .all(|v| !v.to_str().unwrap().contains(TOKEN)));
    }
}
