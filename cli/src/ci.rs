//! One rule for "running under CI", shared by the scripts and the tests: the
//! `CI` variable is `true` or `1`. `scripts/lib.sh` has the same rule as
//! `is_ci`; `tests/tests/ci_rule.rs` checks that both agree.
//!
//! Under CI a test whose tools are missing fails instead of skipping, so the
//! suite CI runs is the whole suite.

/// Whether `value` (the `CI` variable, if set) means "running under CI".
pub fn is_ci_value(value: Option<&str>) -> bool {
    matches!(value, Some("true" | "1"))
}

/// Whether this process runs under CI (`CI=true` or `CI=1`).
pub fn running_under_ci() -> bool {
    is_ci_value(std::env::var("CI").ok().as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_true_and_1_mean_ci() {
        for yes in ["true", "1"] {
            assert!(is_ci_value(Some(yes)), "{yes}");
        }
        for no in ["", "false", "0", "TRUE", "yes"] {
            assert!(!is_ci_value(Some(no)), "{no:?}");
        }
        assert!(!is_ci_value(None));
    }
}
