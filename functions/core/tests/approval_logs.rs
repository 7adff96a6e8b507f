//! No log line holds the task token or a link secret, whatever a reviewer does.
//!
//! A process of its own (one test, the global subscriber at TRACE) so every
//! line any part of the approval flow writes is captured: a scoped subscriber
//! in the library's parallel unit tests can miss callsites other threads
//! registered first.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use chrono::Duration;
use shiftgate_core::approval_page::handle;
use shiftgate_core::testing::function_url::body_text as text;
use shiftgate_core::testing::{FunctionUrlRequest, Harness, IssuedLink};

const TOKEN: &str = "AQCEAAAAKgAAAAMAAAAAtoken-for-the-log-test";

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
    let h = Harness::new();
    let approval = serde_json::json!({
        "gates": ["beforePromotion"], "reviewers": ["ana", "bo"], "quorum": 2, "timeoutMinutes": 60
    });
    let (_, links) = h.open_gate(approval, TOKEN).await.unwrap();
    assert_eq!(links.len(), 2);

    // WHEN reviewers look, forge, decide, repeat and come back too late
    let look = |link: &IssuedLink| FunctionUrlRequest::get(&link.path).query(&link.query());
    let approve = |link: &IssuedLink, secret: &str| {
        FunctionUrlRequest::post(&link.path).form(&[
            ("link", &link.link),
            ("secret", secret),
            ("decision", "approve"),
            ("comment", "fine"),
        ])
    };
    let mut responses = Vec::new();
    for link in &links {
        responses.push(handle(&h.services, look(link).build()).await);
        let forged = "f".repeat(64);
        responses.push(handle(&h.services, approve(link, &forged).build()).await);
        responses.push(handle(&h.services, approve(link, &link.secret).build()).await);
        responses.push(handle(&h.services, approve(link, &link.secret).build()).await);
    }
    h.clock.advance(Duration::days(1));
    responses.push(handle(&h.services, look(&links[0]).build()).await);
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, [200, 403, 200, 409, 200, 403, 200, 409, 409]);

    // THEN neither the token nor a secret is in any log line or response
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("approval page"), "the capture works: {logs}");
    assert!(logs.contains("approval requested"), "{logs}");
    assert!(!logs.contains(TOKEN), "{logs}");
    for link in &links {
        assert!(!logs.contains(link.secret.as_str()), "{logs}");
    }
    for response in &responses {
        assert!(!text(response).contains(TOKEN));
        assert!(response
            .headers()
            .values()
            .all(|v| !v.to_str().unwrap().contains(TOKEN)));
    }
}
