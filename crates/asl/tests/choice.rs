//! Choice rules: every operator group, And/Or/Not, Default and NoChoiceMatched.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use shiftgate_asl::testing::*;

/// Runs a Choice state with one rule and reports whether it matched.
async fn matches(rule: Value, input: Value) -> bool {
    let mut rule = rule;
    rule["Next"] = json!("Yes");
    let def = json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [rule], "Default": "No"},
            "Yes": {"Type": "Pass", "Result": true, "End": true},
            "No": {"Type": "Pass", "Result": false, "End": true}
        }
    });
    output(&run_def(def, input).await).as_bool().unwrap()
}

#[tokio::test(start_paused = true)]
async fn string_operators() {
    let i = json!({"s": "beta", "t": "beta", "u": "alpha", "n": 1});
    assert!(
        matches(
            json!({"Variable": "$.s", "StringEquals": "beta"}),
            i.clone()
        )
        .await
    );
    assert!(
        !matches(
            json!({"Variable": "$.s", "StringEquals": "Beta"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.s", "StringEqualsPath": "$.t"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.u", "StringLessThan": "beta"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.u", "StringLessThanPath": "$.s"}),
            i.clone()
        )
        .await
    );
    assert!(
        !matches(
            json!({"Variable": "$.s", "StringLessThan": "beta"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.s", "StringLessThanEquals": "beta"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.s", "StringLessThanEqualsPath": "$.t"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.s", "StringGreaterThan": "alpha"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.s", "StringGreaterThanPath": "$.u"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.s", "StringGreaterThanEquals": "beta"}),
            i.clone()
        )
        .await
    );
    assert!(
        !matches(
            json!({"Variable": "$.u", "StringGreaterThanEqualsPath": "$.s"}),
            i.clone()
        )
        .await
    );
    // a number never equals a string: a type mismatch is no match, not an error
    assert!(!matches(json!({"Variable": "$.n", "StringEquals": "1"}), i.clone()).await);
}

#[tokio::test(start_paused = true)]
async fn string_matches_with_wildcards_and_escapes() {
    let i = json!({"f": "log-2024.txt", "star": "a*b"});
    assert!(
        matches(
            json!({"Variable": "$.f", "StringMatches": "log-*.txt"}),
            i.clone()
        )
        .await
    );
    assert!(
        !matches(
            json!({"Variable": "$.f", "StringMatches": "log-*.csv"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.star", "StringMatches": "a\\*b"}),
            i.clone()
        )
        .await
    );
    assert!(
        !matches(
            json!({"Variable": "$.f", "StringMatches": "log\\*"}),
            i.clone()
        )
        .await
    );
}

#[tokio::test(start_paused = true)]
async fn numeric_operators() {
    let i = json!({"n": 5, "m": 5.0, "big": 7.5, "s": "5"});
    assert!(matches(json!({"Variable": "$.n", "NumericEquals": 5}), i.clone()).await);
    assert!(
        matches(
            json!({"Variable": "$.n", "NumericEqualsPath": "$.m"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.n", "NumericLessThan": 5.5}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.n", "NumericLessThanPath": "$.big"}),
            i.clone()
        )
        .await
    );
    assert!(!matches(json!({"Variable": "$.n", "NumericLessThan": 5}), i.clone()).await);
    assert!(
        matches(
            json!({"Variable": "$.n", "NumericLessThanEquals": 5}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.n", "NumericLessThanEqualsPath": "$.m"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.big", "NumericGreaterThan": 7}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.big", "NumericGreaterThanPath": "$.n"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.n", "NumericGreaterThanEquals": 5}),
            i.clone()
        )
        .await
    );
    assert!(
        !matches(
            json!({"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.big"}),
            i.clone()
        )
        .await
    );
    assert!(!matches(json!({"Variable": "$.s", "NumericEquals": 5}), i.clone()).await);
}

#[tokio::test(start_paused = true)]
async fn boolean_operators() {
    let i = json!({"b": true, "c": true, "d": false});
    assert!(matches(json!({"Variable": "$.b", "BooleanEquals": true}), i.clone()).await);
    assert!(!matches(json!({"Variable": "$.d", "BooleanEquals": true}), i.clone()).await);
    assert!(
        matches(
            json!({"Variable": "$.b", "BooleanEqualsPath": "$.c"}),
            i.clone()
        )
        .await
    );
    assert!(
        !matches(
            json!({"Variable": "$.b", "BooleanEqualsPath": "$.d"}),
            i.clone()
        )
        .await
    );
}

#[tokio::test(start_paused = true)]
async fn timestamp_operators() {
    let i = json!({
        "t": "2024-05-01T12:00:00Z",
        "same": "2024-05-01T14:00:00+02:00",
        "later": "2024-05-01T12:00:01Z",
        "bad": "2024-05-01 12:00:00"
    });
    assert!(
        matches(
            json!({"Variable": "$.t", "TimestampEquals": "2024-05-01T12:00:00Z"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.t", "TimestampEqualsPath": "$.same"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.t", "TimestampLessThan": "2024-05-01T12:00:01Z"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.t", "TimestampLessThanPath": "$.later"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.t", "TimestampLessThanEquals": "2024-05-01T12:00:00Z"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.t", "TimestampLessThanEqualsPath": "$.same"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.later", "TimestampGreaterThan": "2024-05-01T12:00:00Z"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.later", "TimestampGreaterThanPath": "$.t"}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.t", "TimestampGreaterThanEquals": "2024-05-01T12:00:00Z"}),
            i.clone()
        )
        .await
    );
    assert!(
        !matches(
            json!({"Variable": "$.t", "TimestampGreaterThanEqualsPath": "$.later"}),
            i.clone()
        )
        .await
    );
    assert!(
        !matches(
            json!({"Variable": "$.bad", "TimestampEquals": "2024-05-01T12:00:00Z"}),
            i.clone()
        )
        .await
    );
}

#[tokio::test(start_paused = true)]
async fn type_test_operators() {
    let i = json!({"null": null, "n": 1.5, "s": "x", "b": false, "ts": "2024-05-01T12:00:00Z"});
    assert!(matches(json!({"Variable": "$.null", "IsNull": true}), i.clone()).await);
    assert!(matches(json!({"Variable": "$.n", "IsNull": false}), i.clone()).await);
    assert!(matches(json!({"Variable": "$.n", "IsPresent": true}), i.clone()).await);
    assert!(
        matches(
            json!({"Variable": "$.absent", "IsPresent": false}),
            i.clone()
        )
        .await
    );
    assert!(
        !matches(
            json!({"Variable": "$.absent", "IsPresent": true}),
            i.clone()
        )
        .await
    );
    assert!(matches(json!({"Variable": "$.n", "IsNumeric": true}), i.clone()).await);
    assert!(matches(json!({"Variable": "$.s", "IsNumeric": false}), i.clone()).await);
    assert!(matches(json!({"Variable": "$.s", "IsString": true}), i.clone()).await);
    assert!(matches(json!({"Variable": "$.b", "IsBoolean": true}), i.clone()).await);
    assert!(matches(json!({"Variable": "$.ts", "IsTimestamp": true}), i.clone()).await);
    assert!(matches(json!({"Variable": "$.s", "IsTimestamp": false}), i.clone()).await);
}

#[tokio::test(start_paused = true)]
async fn and_or_not_and_context_variables() {
    let i = json!({"a": 1, "b": "x"});
    let and = json!({"And": [
        {"Variable": "$.a", "NumericEquals": 1},
        {"Variable": "$.b", "StringEquals": "x"}]});
    assert!(matches(and, i.clone()).await);
    let and_false = json!({"And": [
        {"Variable": "$.a", "NumericEquals": 1},
        {"Variable": "$.b", "StringEquals": "y"}]});
    assert!(!matches(and_false, i.clone()).await);
    let or = json!({"Or": [
        {"Variable": "$.a", "NumericEquals": 2},
        {"Not": {"Variable": "$.b", "StringEquals": "y"}}]});
    assert!(matches(or, i.clone()).await);
    assert!(
        !matches(
            json!({"Not": {"Variable": "$.a", "IsPresent": true}}),
            i.clone()
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$$.State.Name", "StringEquals": "C"}),
            i.clone()
        )
        .await
    );
}

#[tokio::test(start_paused = true)]
async fn first_matching_rule_wins_and_no_match_without_default_fails() {
    let def = json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [
                {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
                {"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Small"}
            ], "OutputPath": "$.n"},
            "Big": {"Type": "Pass", "Result": "big", "End": true},
            "Small": {"Type": "Pass", "Result": "small", "End": true}
        }
    });
    assert_eq!(
        output(&run_def(def.clone(), json!({"n": 50})).await),
        json!("big")
    );
    assert_eq!(
        output(&run_def(def.clone(), json!({"n": 5})).await),
        json!("small")
    );
    let (error, _) = failure(&run_def(def, json!({"n": -1})).await);
    assert_eq!(error, "States.NoChoiceMatched");
}

#[tokio::test(start_paused = true)]
async fn missing_variable_is_a_runtime_error() {
    let def = json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.nope", "StringEquals": "x", "Next": "D"}], "Default": "D"},
            "D": {"Type": "Succeed"}
        }
    });
    let (error, cause) = failure(&run_def(def, json!({})).await);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("$.nope") && cause.contains("'C'"), "{cause}");
}
