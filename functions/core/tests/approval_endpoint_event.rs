//! The approval endpoint's sample event (`events/approval-endpoint.json`) is a
//! function URL request the `approval-endpoint` handler accepts: it parses into
//! the API Gateway v2 payload Lambda function URLs deliver, and the handler
//! answers it with the one "not valid" page (the sample's secret is not real)
//! without changing anything.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::request::LambdaRequest;
use shiftgate_core::testing::MemoryServices;

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
    let MemoryServices {
        services,
        store,
        callback,
        ..
    } = MemoryServices::builder().build();
    // WHEN the handler gets it
    let request: lambda_http::Request = LambdaRequest::ApiGatewayV2(event).into();
    let response = shiftgate_core::approval_page::handle(&services, request).await;
    // THEN it answers the not-valid page and nothing changes
    assert_eq!(response.status(), 403);
    assert!(store.keys().is_empty());
    assert!(callback.calls().is_empty());
}
