//! One rule for "running under CI": `scripts/lib.sh`'s `is_ci` and
//! [`shiftgate_cli::ci::is_ci_value`] agree on every value of `CI`, set or not.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use shiftgate_cli::ci::is_ci_value;
use shiftgate_tests::repo_root;

/// What `is_ci` in scripts/lib.sh says with `CI` set to `value` (or unset).
fn script_says(value: Option<&str>) -> bool {
    let mut bash = Command::new("bash");
    bash.arg("-c")
        .arg("source scripts/lib.sh && is_ci")
        .current_dir(repo_root());
    match value {
        Some(value) => bash.env("CI", value),
        None => bash.env_remove("CI"),
    };
    let status = bash.status().expect("bash runs");
    status.success()
}

#[test]
fn the_scripts_and_the_tests_share_one_rule() {
    for value in [
        None,
        Some(""),
        Some("true"),
        Some("1"),
        Some("false"),
        Some("0"),
        Some("TRUE"),
        Some("yes"),
    ] {
        assert_eq!(
            script_says(value),
            is_ci_value(value),
            "CI={value:?}: scripts/lib.sh and shiftgate_cli::ci disagree"
        );
    }
    // AND the rule itself: only `true` and `1` mean CI
    assert!(is_ci_value(Some("true")) && is_ci_value(Some("1")));
    assert!(!is_ci_value(None) && !is_ci_value(Some("false")));
}
