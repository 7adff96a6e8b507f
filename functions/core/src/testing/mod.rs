//! Test helpers, kept once for every test that drives shiftgate: this crate's
//! unit tests, its integration tests (`functions/core/tests/`) and the cli's.
//!
//! Compiled only for this crate's own tests and behind the `test-util`
//! feature, as the AWS SDK crates do; a production build never contains it.
//! Another crate opts in from its `[dev-dependencies]`:
//!
//! ```toml
//! shiftgate-core = { workspace = true, features = ["test-util"] }
//! ```
//!
//! Layout:
//! - [`memory`]: [`MemoryServices`] (every port in memory, built by
//!   [`MemoryServicesBuilder`]) and [`Harness`] (the handlers' fixed scene:
//!   `checkout:live` on version 7 of 8, a manual clock at [`start`], and
//!   [`Harness::open_gate`] to stop a deployment at an approval gate);
//! - [`function_url`]: [`FunctionUrlRequest`], a request as a Lambda function
//!   URL delivers it to the approval endpoint;
//! - [`links`]: [`IssuedLink`], the approval links reviewers were sent, read
//!   back out of the published notifications;
//! - [`racing`]: [`InterleavingStore`], so concurrent tasks really race;
//! - [`aws`]: SDK clients that never touch the network: scripted answers
//!   (aws-smithy-mocks), a [`aws::Recorder`] of the requests as they would go on
//!   the wire, and [`aws::services`], every port an AWS adapter over them.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod aws;
pub mod function_url;
pub mod links;
pub mod memory;
pub mod racing;

use chrono::{DateTime, TimeZone, Utc};

use crate::ports::Settings;

pub use function_url::FunctionUrlRequest;
pub use links::{issued_links, IssuedLink};
pub use memory::{Harness, MemoryServices, MemoryServicesBuilder, TASK_TOKEN};
pub use racing::InterleavingStore;

/// The stack's notification topic in tests.
pub const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:shiftgate";

/// Where approval links point in tests (the approval endpoint's function URL).
pub const APPROVAL_BASE_URL: &str = "https://approve.example.invalid/";

/// The instant the tests' manual clocks start at: 2026-11-22 12:00:00 UTC.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
        .single()
        .expect("a valid instant")
}

/// The settings of a stack with a notification topic ([`TOPIC`]) and an
/// approval endpoint ([`APPROVAL_BASE_URL`]).
pub fn stack_settings() -> Settings {
    Settings {
        default_notify_topic_arn: Some(TOPIC.into()),
        approval_base_url: Some(APPROVAL_BASE_URL.into()),
    }
}

/// A request for `checkout:live`, version 7 → 8, with the given strategy.
pub fn request_json(strategy: &str) -> serde_json::Value {
    serde_json::json!({
        "target": {"functionName": "checkout", "alias": "live", "targetVersion": "8"},
        "strategy": strategy,
    })
}
