//! What a person sees when AWS cannot be used: the built `shiftgate` binary
//! run against an endpoint where nothing listens (127.0.0.1:9, the discard
//! port) prints one line that says the endpoint cannot be reached and what to
//! do, and exits non-zero — no SDK debug dump, no bare `dispatch failure`.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// `shiftgate <args>` with dummy credentials and Region, every AWS request
/// sent to `endpoint`, and no profile or instance metadata consulted.
fn shiftgate(endpoint: &str, args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().expect("a temporary HOME");
    Command::new(env!("CARGO_BIN_EXE_shiftgate"))
        .args(args)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("SHIFTGATE_BUCKET")
        .env("HOME", home.path())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "dummy")
        .env("AWS_SECRET_ACCESS_KEY", "dummy")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("the shiftgate binary runs")
}

fn assert_one_readable_line_about(output: &std::process::Output, endpoint: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "must fail: {stderr}");
    assert!(output.stdout.is_empty(), "nothing on stdout");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    let line = lines[0];
    assert!(line.contains("cannot reach the endpoint"), "{line}");
    assert!(line.contains(endpoint), "names the endpoint: {line}");
    assert!(
        line.contains("AWS_ENDPOINT_URL"),
        "names the setting: {line}"
    );
    for debug in [
        "dispatch failure",
        "DispatchFailure",
        "ConnectorError",
        "{ ",
    ] {
        assert!(!line.contains(debug), "no SDK debug text ({debug}): {line}");
    }
}

#[test]
fn status_against_an_unreachable_endpoint_prints_one_line_that_says_so() {
    // GIVEN an endpoint where nothing listens
    let endpoint = "http://127.0.0.1:9";
    // WHEN a person asks for a deployment's status from the stack's bucket
    let output = shiftgate(endpoint, &["status", "x", "--bucket", "b"]);
    // THEN one line says the endpoint cannot be reached, and the exit code is not 0
    assert_one_readable_line_about(&output, endpoint);
}

#[test]
fn history_and_approve_say_the_same() {
    let endpoint = "http://127.0.0.1:9";
    assert_one_readable_line_about(
        &shiftgate(endpoint, &["history", "checkout", "live", "--bucket", "b"]),
        endpoint,
    );
    assert_one_readable_line_about(
        &shiftgate(endpoint, &["approve", "x", "--bucket", "b"]),
        endpoint,
    );
}
