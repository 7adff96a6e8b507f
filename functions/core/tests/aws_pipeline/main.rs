//! Every handler, end to end through the AWS adapters: the real
//! `S3ObjectStore`, `LambdaAliases`, `LambdaInvoker`, `SnsNotifier`,
//! `CloudWatchHealth` and `StepFunctionsCallback` over SDK clients whose
//! answers are scripted with aws-smithy-mocks, and whose requests are recorded
//! as they would go on the wire (`shiftgate_core::testing::aws`).
//!
//! Each client's script is sequential: a request the script does not expect
//! next panics, and each test compares the whole transcript, so a missing,
//! extra or reordered request fails. Records served by `GetObject` are the
//! bytes `prepare` itself wrote in an earlier scripted run, never hand-made
//! JSON that could drift from what the handlers really store.
//!
//! CloudWatch speaks RPC v2 CBOR, so its requests are checked on the typed
//! input the SDK serializes (and by the strings in the CBOR body).
//!
//! One test binary (links once), one module per handler; `common` holds the
//! scripted answers and transcript helpers they share.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod check_health;
mod finalize;
mod operator;
mod prepare;
mod request_approval;
mod rollback;
mod run_hooks;
mod shift_traffic;
