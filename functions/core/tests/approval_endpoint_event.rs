//! The approval endpoint's sample event (`events/approval-endpoint.json`) is a
//! function URL request the `approval-endpoint` handler accepts: it parses into
//! the API Gateway v2 payload Lambda function URLs deliver, and the handler
//! answers it with the one "not valid" page (the sample's secret is not real)
//! without changing anything.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::request::LambdaRequest;
use shiftgate_core::adapters::memory::{
    ManualClock, MemoryStore, RecordingCallback, RecordingNotifier, SimulatedFleet,
};
use shiftgate_core::ports::{Services, Settings};

fn sample() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/approval-endpoint.json");
    std::fs::read_to_string(path).expect("events/approval-endpoint.json")
}

#[tokio::test]
async fn the_sample_function_url_event_reaches_the_handler() {
    // GIVEN the sample event and an empty bucket
    let event: ApiGatewayV2httpRequest =
        serde_json::from_str(&sample()).expect("a function URL event");
    assert_eq!(
        event.request_context.http.method,
        lambda_http::http::Method::GET
    );
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
    ));
    let fleet = SimulatedFleet::new(clock.clone());
    let store = Arc::new(MemoryStore::new());
    let callback = Arc::new(RecordingCallback::default());
    let services = Services {
        store: store.clone(),
        aliases: Arc::new(fleet.clone()),
        functions: Arc::new(fleet.clone()),
        notifier: Arc::new(RecordingNotifier::default()),
        health: Arc::new(fleet),
        workflow: callback.clone(),
        clock,
        settings: Settings::default(),
    };
    // WHEN the handler gets it
    let request: lambda_http::Request = LambdaRequest::ApiGatewayV2(event).into();
    let response = shiftgate_core::approval_page::handle(&services, request).await;
    // THEN it answers the not-valid page and nothing changes
    assert_eq!(response.status(), 403);
    assert!(store.keys().is_empty());
    assert!(callback.calls().is_empty());
}
